#!/usr/bin/env python3
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

"""Does VirtualBox hold exactly what Nova's instances should have?

Compares, for the driver's instances path and image cache:

* registered VMs whose settings file lies in the instances path against the
  instances expected (by UUID, and each at its VM folder);
* the VM folders under ``<instances>/<vm_group>`` against the expected
  instance names;
* the media VirtualBox has registered (``list hdds``) under the instances
  path or the image cache against the disks of the expected VMs (their
  attachments, anything in their folders, and the parent chains of those),
  the cached bases and their pins;
* the VRDE ports held in the VM folders (``vrde.port``, see consoleops)
  against the expected VMs: no port held twice, none held by a folder of no
  instance, and with ``[virtualbox] vrde_unique_port`` one per instance;
* leftovers in the image cache: temporary files of a fetch or conversion;
* VirtualBox snapshots of Nova's VMs other than a pending resize's.

Usable from tests::

    problems = check_consistency.check(vbox, pathutils, expected)

where ``expected`` lists instances (anything with ``uuid`` and ``name``) or
``(uuid, name)`` pairs; an empty list of problems means consistent.

And as a command (on a compute host, with nova-compute's configuration)::

    python tools/check_consistency.py --config-file /etc/nova/nova.conf \
        [--expect UUID:NAME ...]

Without ``--expect`` every registered VM of the instances path counts as
expected, so the command reports what is orphaned around them (folders,
media, ports). Exit status 0 when consistent, 1 otherwise.
"""

import argparse
import os
import re
import sys

# One "<controller>-<port>-<device>" attachment key of showvminfo
# --machinereadable ("SATA-0-0"); its "-ImageUUID-" twin holds the UUID.
_ATTACHMENT_KEY = re.compile(r'^.+-\d+-\d+$')
# The snapshot of a same-host resize lives until confirm or revert
# (migrationops.RESIZE_SNAPSHOT); any other is a leftover.
RESIZE_SNAPSHOTS = ('nova-resize',)


def _pairs(expected):
    pairs = {}
    for item in expected:
        if isinstance(item, (tuple, list)):
            uuid, name = item
        else:
            uuid, name = item.uuid, item.name
        pairs[str(uuid)] = str(name)
    return pairs


def _inside(path, folder):
    if not path or not folder:
        return False
    path = os.path.realpath(path)
    folder = os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _read_port(path):
    try:
        with open(path, encoding='ascii') as f:
            return int(f.read().strip())
    except (OSError, ValueError, UnicodeDecodeError):
        return None


class Report(object):
    """What was seen, and the problems found."""

    def __init__(self):
        self.problems = []
        self.vms = {}        # uuid -> name of the registered VMs of Nova
        self.folders = []    # VM folder names
        self.media = []      # locations of our registered media
        self.ports = {}      # port -> [folder names]
        self.snapshots = []  # (instance name, snapshot name)

    def problem(self, text, *args):
        self.problems.append(text % args if args else text)

    def __bool__(self):
        return not self.problems

    def summary(self):
        return ('%d VMs, %d VM folders, %d media, %d VRDE ports; '
                '%d problems' % (len(self.vms), len(self.folders),
                                 len(self.media), len(self.ports),
                                 len(self.problems)))


def inspect(vbox, path_utils, expected=None, conf=None,
            allowed_snapshots=RESIZE_SNAPSHOTS):
    """Compare VirtualBox and the disk with ``expected``.

    :param vbox: a nova.virt.virtualbox.vboxmanage.VBoxManage.
    :param path_utils: a nova.virt.virtualbox.pathutils.PathUtils.
    :param expected: instances or (uuid, name) pairs that should exist;
        None: every registered VM of the instances path.
    :param conf: oslo.config CONF with the [virtualbox] options (for the
        VRDE settings); None: nova.conf.CONF.
    :param allowed_snapshots: VirtualBox snapshot names a Nova VM may have
        (default: the one of a same-host resize waiting for its confirm).
    :returns: a :class:`Report`.
    """
    from nova.virt.virtualbox import exception as vbox_exc

    if conf is None:
        import nova.conf
        conf = nova.conf.CONF
    report = Report()
    instances_dir = path_utils.instances_dir()
    vms_dir = path_utils.vms_dir()
    cache_dir = path_utils.image_cache_dir()

    # -- registered VMs ---------------------------------------------------
    infos = {}
    for name, uuid in vbox.list_vms():
        try:
            info = vbox.show_vm_info(uuid)
        except vbox_exc.VBoxObjectNotFound:
            continue  # unregistered meanwhile
        cfg = info.get('CfgFile', '')
        if _inside(cfg, instances_dir) or path_utils.is_nova_vm(name):
            report.vms[uuid] = name
            infos[uuid] = info
    want = (_pairs(expected) if expected is not None
            else dict(report.vms))
    for uuid, name in sorted(report.vms.items()):
        if uuid not in want:
            report.problem('VM %s (%s) is registered but no instance '
                           'should exist (settings file %s)', name, uuid,
                           infos[uuid].get('CfgFile'))
    for uuid, name in sorted(want.items()):
        if uuid not in report.vms:
            report.problem('instance %s (%s) has no registered VM', name,
                           uuid)
            continue
        cfg = infos[uuid].get('CfgFile', '')
        wanted_cfg = os.path.join(path_utils.vm_dir(name), name + '.vbox')
        if os.path.realpath(cfg) != os.path.realpath(wanted_cfg):
            report.problem('VM of instance %s (%s) has its settings at %s, '
                           'not %s', name, uuid, cfg, wanted_cfg)
        if report.vms[uuid] != name:
            report.problem('VM %s is named %r, not %r', uuid,
                           report.vms[uuid], name)

    # -- VirtualBox snapshots of Nova's VMs --------------------------------
    for uuid in sorted(want):
        for key, value in sorted(infos.get(uuid, {}).items()):
            if not (isinstance(key, str) and key.startswith('SnapshotName')):
                continue
            report.snapshots.append((want[uuid], value))
            if value not in allowed_snapshots:
                report.problem('VM of instance %s has a VirtualBox snapshot '
                               '%r that no operation in progress explains',
                               want[uuid], value)

    # -- VM folders --------------------------------------------------------
    names = set(want.values())
    try:
        entries = sorted(os.listdir(vms_dir))
    except FileNotFoundError:
        entries = []
    for entry in entries:
        path = os.path.join(vms_dir, entry)
        if not os.path.isdir(path):
            report.problem('stray file %s in the VM folders', path)
            continue
        report.folders.append(entry)
        if entry not in names:
            report.problem('VM folder %s belongs to no instance (%s)', path,
                           ', '.join(sorted(os.listdir(path))) or 'empty')
    for name in sorted(names):
        if name not in report.folders:
            report.problem('instance %s has no VM folder %s', name,
                           path_utils.vm_dir(name))

    # -- media ---------------------------------------------------------------
    blocks = vbox.list_hdds()
    by_uuid = {b.get('UUID'): b for b in blocks}
    ours = [b for b in blocks
            if _inside(b.get('Location'), instances_dir) or
            _inside(b.get('Location'), cache_dir)]
    report.media = [b.get('Location') for b in ours]
    allowed = set()
    folders = [path_utils.vm_dir(name) for name in names]
    for uuid in want:
        for key, value in infos.get(uuid, {}).items():
            if (isinstance(key, str) and _ATTACHMENT_KEY.match(key) and
                    isinstance(value, str) and value.startswith(os.sep)):
                allowed.add(os.path.realpath(value))
                if not os.path.exists(value):
                    report.problem('disk %s of instance %s is missing',
                                   value, want[uuid])
    for block in ours:
        location = block.get('Location')
        if any(_inside(location, folder) for folder in folders):
            allowed.add(os.path.realpath(location))
        elif _inside(location, cache_dir):
            base = os.path.basename(location)
            if base.endswith('.vdi') and not base.startswith('.'):
                allowed.add(os.path.realpath(location))
    # Parents of what is allowed (a linked clone's base, snapshots).
    for block in ours:
        if os.path.realpath(block.get('Location')) not in allowed:
            continue
        parent = by_uuid.get(block.get('Parent UUID'))
        while parent is not None:
            allowed.add(os.path.realpath(parent.get('Location')))
            parent = by_uuid.get(parent.get('Parent UUID'))
    for block in ours:
        location = block.get('Location')
        if os.path.realpath(location) not in allowed:
            report.problem('medium %s (%s) is registered but belongs to no '
                           'instance and is not a cached image', location,
                           block.get('UUID'))
        elif not os.path.exists(location):
            report.problem('medium %s (%s) is registered but its file is '
                           'gone', location, block.get('UUID'))

    # -- the image cache -----------------------------------------------------
    try:
        cached = sorted(os.listdir(cache_dir))
    except FileNotFoundError:
        cached = []
    for entry in cached:
        if entry.startswith('.') and '.part' in entry:
            report.problem('temporary file %s left in the image cache',
                           os.path.join(cache_dir, entry))
        elif entry.endswith('.pin.vdi'):
            base = entry[:-len('.pin.vdi')] + '.vdi'
            if base not in cached:
                report.problem('pin %s without its base image',
                               os.path.join(cache_dir, entry))

    # -- VRDE ports ----------------------------------------------------------
    for entry in report.folders:
        port = _read_port(os.path.join(vms_dir, entry, 'vrde.port'))
        if port is not None:
            report.ports.setdefault(port, []).append(entry)
    for port, holders in sorted(report.ports.items()):
        if len(holders) > 1:
            report.problem('VRDE port %d held by several VM folders: %s',
                           port, ', '.join(holders))
        for holder in holders:
            if holder not in names:
                report.problem('VRDE port %d held by %s, which is no '
                               'instance', port, holder)
    vbox_conf = conf.virtualbox
    if vbox_conf.remote_display and vbox_conf.vrde_unique_port:
        holding = {h for hs in report.ports.values() for h in hs}
        for uuid, name in sorted(want.items()):
            if name not in holding:
                report.problem('instance %s holds no VRDE port', name)
                continue
            port = next(p for p, hs in report.ports.items() if name in hs)
            vm_ports = infos.get(uuid, {}).get('vrdeports')
            if vm_ports is not None and str(vm_ports) != str(port):
                report.problem('instance %s holds VRDE port %d but its VM '
                               'is set to %s', name, port, vm_ports)
    return report


def check(vbox, path_utils, expected=None, conf=None,
          allowed_snapshots=RESIZE_SNAPSHOTS):
    """The problems :func:`inspect` finds (empty: consistent)."""
    return inspect(vbox, path_utils, expected, conf,
                   allowed_snapshots).problems


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Check that VirtualBox and the instances path hold '
                    'exactly what Nova\'s instances should have.')
    parser.add_argument('--config-file', action='append', default=[],
                        help='nova-compute configuration file(s)')
    parser.add_argument('--expect', action='append', metavar='UUID:NAME',
                        help='an instance that should exist (repeat); '
                             'default: every registered VM of the '
                             'instances path')
    parser.add_argument('--instances-path',
                        help='override [DEFAULT] instances_path')
    parser.add_argument('--vboxmanage-cmd',
                        help='override [virtualbox] vboxmanage_cmd')
    args = parser.parse_args(argv)

    import nova.conf
    from nova.virt.virtualbox import conf as vbox_conf
    from nova.virt.virtualbox import pathutils
    from nova.virt.virtualbox import vboxmanage

    conf = nova.conf.CONF
    vbox_conf.register_opts(conf)
    conf([], project='nova', default_config_files=args.config_file)
    if args.instances_path:
        conf.set_override('instances_path', args.instances_path)
    if args.vboxmanage_cmd:
        conf.set_override('vboxmanage_cmd', args.vboxmanage_cmd,
                          group='virtualbox')
    expected = None
    if args.expect:
        expected = []
        for item in args.expect:
            uuid, sep, name = item.partition(':')
            if not sep or not name:
                parser.error('--expect wants UUID:NAME, not %r' % item)
            expected.append((uuid, name))
    vbox = vboxmanage.VBoxManage.from_conf(conf)
    report = inspect(vbox, pathutils.PathUtils(), expected, conf)
    for problem in report.problems:
        print('PROBLEM: %s' % problem)
    print(report.summary())
    return 0 if report else 1


if __name__ == '__main__':
    sys.exit(main())
