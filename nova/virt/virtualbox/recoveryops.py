# Copyright 2026 The nova-virtualbox authors
#
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""What a killed nova-compute left half-made, found and cleaned at start.

A spawn or destroy writes a journal entry first (``<instances>/
.virtualbox-journal/<host>/<op>-<uuid>``, holding the VM name and the
host) and removes it when it returns or raises (a failed spawn has rolled
itself back). An entry found at ``init_host`` means the process died
inside that operation: the VM is destroyed (powered off, unregistered,
its folder with the driver's disks removed, VRDE port freed with it; a
volume it still attached is only forgotten, never deleted). The instance
itself is Nova's business: ``_init_instance`` puts an instance that was
building into ERROR and finishes a delete that was in progress, both of
which end in ``destroy``, which finds nothing left and succeeds.

The journal is per compute host (``CONF.host``) because the instances
path may be shared (NFS) by several hosts, each with its own VirtualBox:
only the host that ran an operation knows whether it still runs, and a
destroy run from another host would remove the folder of a VM that host
does not have. A host recovers its own entries only. Entries of the
layout before (``.virtualbox-journal/<op>-<uuid>``) are recovered by the
host whose VirtualBox has the VM registered, and otherwise left with a
warning (see ``_recover_legacy``).

Without a journal entry the driver cleans alone only what no instance can
own:

* a folder in the VM folder (``<instances>/<vm_group>``) with no settings
  file, no VM registered under its name and nothing in it but files the
  driver makes (console log, VRDE port and password, config drive, Logs,
  Snapshots), older than ``ORPHAN_MIN_AGE`` and named by no host's
  journal: what a destroy that removed the VM but not its folder leaves.
  A VM registered with any host's VirtualBox keeps its settings file in its
  folder, so another host's VM is never such a folder; one named in
  another host's journal is that host's to recover (it may still be
  working on it);
* media VirtualBox keeps registered under the instances path or the image
  cache whose file is gone (``inaccessible``): closed.

Everything else is left to Nova and logged: a registered VM of Nova's whose
instance is gone is reaped by ``_cleanup_running_deleted_instances`` (it
sees it through ``list_instance_uuids``); a settings file that VirtualBox
does not know (a VM unregistered without deleting its disks, or a lost
VirtualBox registry) may hold an instance's only disk and is never removed
here.
"""

import os
import time

from oslo_log import log as logging
from oslo_serialization import jsonutils

from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import parsers
from nova.virt.virtualbox import snapshotops

import nova.conf

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

JOURNAL_DIR = '.virtualbox-journal'
SPAWN = 'spawn'
DESTROY = 'destroy'
# A Glance snapshot: what it leaves is a live VirtualBox snapshot on a VM
# that lives on (the flat copy is swept by snapshotops by its age).
SNAPSHOT = 'snapshot'
OPERATIONS = (SPAWN, DESTROY, SNAPSHOT)
# A VM folder younger than this is left alone (someone may be making it).
ORPHAN_MIN_AGE = 600
# What the driver itself puts in a VM folder besides the settings file and
# disks (see pathutils).
DRIVER_FILES = frozenset(['console.log', 'configdrive.iso',
                          'configdrive-rescue.iso', 'rescue.json',
                          'vrde.port', 'vrde.password', 'Logs', 'Snapshots'])
INACCESSIBLE = 'inaccessible'


class _Entry(object):
    """A journal entry: the operation a process was inside, on which VM,
    and the host that ran it (None for an entry of the layout before
    per-host journals, which held the VM name only)."""

    def __init__(self, path, operation, uuid, name, host):
        self.path = path
        self.operation = operation
        self.uuid = uuid
        self.name = name
        self.host = host


class _Leftover(object):
    """The part of an instance that destroy needs: its UUID and name."""

    def __init__(self, uuid, name):
        self.uuid = uuid
        self.name = name

    def get(self, key, default=None):
        return getattr(self, key, default)


def _inside(path, folder):
    path = os.path.realpath(path)
    folder = os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


class RecoveryOps(object):

    def __init__(self, vbox, path_utils, vm_ops, clock=time.time,
                 snapshot_ops=None):
        self._vbox = vbox
        self._pathutils = path_utils
        self._vmops = vm_ops
        self._clock = clock
        self._snapshotops = snapshot_ops or snapshotops.SnapshotOps(
            vbox, path_utils)

    # -- the journal ----------------------------------------------------------

    def journal_root(self):
        """The folder of every host's journal on this instances path, and
        of the entries written before journals were per host."""
        return os.path.join(self._pathutils.instances_dir(), JOURNAL_DIR)

    def journal_dir(self):
        """This host's journal."""
        return os.path.join(self.journal_root(), CONF.host)

    def _entry(self, operation, uuid):
        return os.path.join(self.journal_dir(), '%s-%s' % (operation, uuid))

    def journal(self, operation, instance):
        """Context manager: the entry lives while ``operation`` runs and
        stays only when the process dies inside it."""
        return _Journal(self, operation, instance)

    def _write(self, operation, instance):
        self._pathutils.ensure_dir(self.journal_dir())
        path = self._entry(operation, instance.uuid)
        with open(path + '.tmp', 'w') as handle:
            handle.write(jsonutils.dumps({'name': instance.name,
                                          'host': CONF.host}))
        os.replace(path + '.tmp', path)

    def _remove(self, operation, uuid):
        self._pathutils.remove_file(self._entry(operation, uuid))

    def _entries(self, folder, own=False):
        """[_Entry] in ``folder``. A half-written entry (.tmp) is removed
        when the folder is this host's (``own``): only a dead process of
        this host can have left it there."""
        try:
            names = sorted(os.listdir(folder))
        except FileNotFoundError:
            return []
        found = []
        for entry in names:
            path = os.path.join(folder, entry)
            operation, _sep, uuid = entry.partition('-')
            if entry.endswith('.tmp'):
                if own:
                    self._pathutils.remove_file(path)
                continue
            if operation not in OPERATIONS or not os.path.isfile(path):
                continue
            try:
                with open(path) as f:
                    text = f.read().strip()
            except OSError:
                continue
            try:
                record = jsonutils.loads(text)
            except ValueError:
                record = None
            if isinstance(record, dict):
                name, host = record.get('name'), record.get('host')
            else:
                name, host = text, None  # the layout before: the name only
            found.append(_Entry(path, operation, uuid, name, host))
        return found

    def _journaled_vm_names(self):
        """The VMs named by any entry on this instances path: this host's,
        other hosts' and those of the layout before."""
        root = self.journal_root()
        try:
            folders = [root] + [os.path.join(root, name)
                                for name in os.listdir(root)]
        except FileNotFoundError:
            return set()
        return set(entry.name for folder in folders
                   if os.path.isdir(folder)
                   for entry in self._entries(folder))

    # -- recovery at start ----------------------------------------------------

    def recover(self):
        """Clean what a killed process left; returns what it did as
        {'vms': [uuid], 'folders': [path], 'media': [path]}."""
        done = {'vms': [], 'folders': [], 'media': []}
        for entry in self._entries(self.journal_dir(), own=True):
            if entry.host != CONF.host:
                LOG.warning('Journal entry %(path)s names the host '
                            '%(host)s, not this one; left alone',
                            {'path': entry.path, 'host': entry.host})
                continue
            if self._recover_entry(entry):
                done['vms'].append(entry.uuid)
        # Recovery never keeps nova-compute from starting.
        for key, step in (('vms', self._recover_legacy),
                          ('folders', self._remove_orphan_folders),
                          ('media', self._close_inaccessible_media)):
            try:
                done[key] += step()
            except Exception:
                LOG.exception('Looking for leftovers (%s) failed; going on',
                              key)
        if any(done.values()):
            LOG.info('Recovered at start: %(vms)d half-made VMs removed, '
                     '%(folders)d orphan folders removed, %(media)d '
                     'missing media closed',
                     {key: len(value) for key, value in done.items()})
        return done

    def _recover_entry(self, entry):
        """Destroy what the operation of ``entry`` left, then drop the
        entry; whether that worked."""
        LOG.warning('nova-compute stopped during the %(op)s of VM '
                    '%(name)s (%(uuid)s); removing what it left',
                    {'op': entry.operation, 'name': entry.name,
                     'uuid': entry.uuid})
        leftover = _Leftover(entry.uuid, entry.name)
        try:
            if entry.operation == SNAPSHOT:
                # The VM is the instance's and stays.
                self._snapshotops.delete_live_snapshots(leftover)
            else:
                self._vmops.destroy(leftover, True)
        except Exception:
            LOG.exception('Removing what the %(op)s of VM %(uuid)s left '
                          'failed; Nova deletes it with its instance',
                          {'op': entry.operation, 'uuid': entry.uuid})
            return False
        self._pathutils.remove_file(entry.path)
        return True

    def _recover_legacy(self):
        """Entries written before journals were per host.

        On an instances path of one host they are that host's, but on a
        shared one they may be another host's, which may even be inside
        that operation still (a rolling upgrade: it runs the old layout),
        and destroying from here would remove its VM's folder. A VM is
        registered with one host's VirtualBox only, so an entry whose VM
        this host has registered is its own and is recovered; any other
        is left with a warning, for the operator (what remains of its VM
        goes when Nova deletes the instance on its host).
        """
        entries = self._entries(self.journal_root())
        if not entries:
            return []
        registered_here = set(uuid for _name, uuid in self._vbox.list_vms())
        recovered = []
        for entry in entries:
            if entry.uuid not in registered_here:
                LOG.warning('Journal entry %(path)s (%(op)s of VM %(name)s,'
                            ' %(uuid)s) predates per-host journals and its '
                            'VM is not registered here: it may be another '
                            'host\'s, so it is left alone. Remove it once '
                            'no host is in that operation.',
                            {'path': entry.path, 'op': entry.operation,
                             'name': entry.name, 'uuid': entry.uuid})
                continue
            if self._recover_entry(entry):
                recovered.append(entry.uuid)
        return recovered

    def _remove_orphan_folders(self):
        vms_dir = self._pathutils.vms_dir()
        if os.path.realpath(vms_dir) == os.path.realpath(
                self._pathutils.instances_dir()):
            return []  # vm_group "/": the folder holds other things too
        try:
            entries = os.listdir(vms_dir)
        except FileNotFoundError:
            return []
        registered = set(name for name, _uuid in self._vbox.list_vms())
        removed = []
        for name in sorted(entries):
            folder = os.path.join(vms_dir, name)
            if name in registered or not os.path.isdir(folder):
                continue
            if os.path.exists(os.path.join(folder, name + '.vbox')):
                LOG.warning('VM folder %s has a settings file VirtualBox '
                            'does not know; left for Nova (deleting its '
                            'instance removes it)', folder)
                continue
            contents = set(os.listdir(folder))
            if not contents <= DRIVER_FILES:
                LOG.warning('VM folder %(folder)s has no VM but holds '
                            '%(files)s; left alone',
                            {'folder': folder,
                             'files': ', '.join(sorted(
                                 contents - DRIVER_FILES))})
                continue
            if self._clock() - os.path.getmtime(folder) < ORPHAN_MIN_AGE:
                continue
            # Read last, just before removing: a host writes its entry
            # before it makes or removes anything of the VM.
            if name in self._journaled_vm_names():
                LOG.info('VM folder %s has no VM but a journal entry '
                         'names it; left to the host of that entry',
                         folder)
                continue
            LOG.info('Removing %s: the folder of a VM that is gone', folder)
            self._pathutils.remove_tree(folder)
            removed.append(folder)
        return removed

    def _close_inaccessible_media(self):
        ours = [self._pathutils.instances_dir(),
                self._pathutils.image_cache_dir()]
        closed = []
        for device, listing in (('disk', self._vbox.list_hdds),
                                ('dvd', self._list_dvds)):
            for medium in listing():
                location = medium.get('Location', '')
                if (medium.get('State') != INACCESSIBLE or
                        not medium.get('UUID') or
                        not any(_inside(location, folder)
                                for folder in ours) or
                        os.path.exists(location)):
                    continue
                try:
                    if not self._vbox.close_medium(medium['UUID'],
                                                   device=device):
                        continue
                except vbox_exc.VBoxManageError as err:
                    LOG.warning('Could not close the missing medium %(path)s:'
                                ' %(err)s', {'path': location, 'err': err})
                    continue
                LOG.info('Closed the missing medium %s', location)
                closed.append(location)
        return closed

    def _list_dvds(self):
        return parsers.parse_colon_blocks(
            self._vbox.run('list', 'dvds').stdout)


class _Journal(object):

    def __init__(self, recovery, operation, instance):
        self._recovery = recovery
        self._operation = operation
        self._instance = instance

    def __enter__(self):
        self._recovery._write(self._operation, self._instance)

    def __exit__(self, exc_type, exc, tb):
        # Returned or raised: the operation cleaned up after itself. A
        # BaseException that is not an Exception (the process or thread
        # being killed) leaves the entry for the next start.
        if exc_type is None or issubclass(exc_type, Exception):
            self._recovery._remove(self._operation, self._instance.uuid)
        return False
