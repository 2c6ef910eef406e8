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

"""Resize and cold migration.

Same host (the VM's UUID is the instance's, so there is one VM): the VM is
powered off and an offline VirtualBox snapshot ``nova-resize`` records it
whole - settings and root disk, which VirtualBox freezes; the guest writes
to a differencing image from then on. finish_migration sets the new memory
and vCPUs (one ``modifyvm``) and grows the root disk. That disk is then a
differencing image (the snapshot's), and real VirtualBox 7.2 cannot
``clonemedium`` a grown differencing disk (VERR_INVALID_PARAMETER): the
instance could never be snapshotted or migrated again. So it is not grown
in place but replaced: ``clonemedium`` flattens it (same size: that works)
into ``root.resized.<uuid of the frozen disk>.vdi``, ``modifymedium
--resize`` grows the copy, ``storageattach`` puts it in the old one's
place and the old differencing image is closed and deleted. The frozen
disk keeps no child; the snapshot still holds it.

A revert is ``snapshot restore`` + ``snapshot delete``: the original
settings and the original root disk content and capacity come back; the
grown copy is closed and deleted. A confirm is ``snapshot delete``: real
VirtualBox deletes a frozen differencing disk that has no child any more
and keeps a frozen base (a full copy), which the driver then deletes. In
both, real VirtualBox may leave the root disk in ``Snapshots/`` (it merges
a frozen differencing disk INTO its child) or under the grown copy's name,
so the disk is found by its attachment (``snapshotops.root_attachment``)
and moved back to ``root.vdi`` (unless the VM runs, which a move needs it
not to).

Nova's revert calls ``destroy`` at the destination before
finish_revert_migration at the source; on the same host both are this VM,
so the driver's destroy must keep it (``keeps_vm_on_revert``), as VMware's
driver does for its in-place resize.

Other host (as Hyper-V's driver does it): the source powers its VM off,
copies its disks and detaches its volumes, so that Nova can terminate
their connections; the VM stays otherwise untouched until confirm (which
destroys it: the VM folder goes, no volume) or revert (which attaches the
volumes again and starts it). The root disk (unless a volume is the root)
and the ephemeral disks are each flattened to a standalone VDI
(``clonemedium``) and copied with Nova's remote filesystem helpers (ssh or
rsync, [libvirt] remote_filesystem_transport) to the same path under the
destination's instances path, which builds a VM around them through
vmops' spawn, with the NICs and volumes Nova gives it. Swap is not copied:
the destination makes a new one. A VirtualBox snapshot holds part of every
disk, so a VM that has one is refused before anything changes.

Shrinking a root disk is refused before anything changes
(InstanceFaultRollback wrapping ResizeError, as libvirt does).
"""

import os

from oslo_concurrency import lockutils
from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import excutils

from nova.compute import task_states
from nova import exception
from nova.i18n import _
from nova.virt import driver
from nova.virt.libvirt.volume import remotefs
from nova.virt.virtualbox import constants
from nova.virt.virtualbox import disklayout
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import pathutils
from nova.virt.virtualbox import snapshotops
from nova.virt.virtualbox import vboxmanage
from nova.virt.virtualbox import vmops
from nova.virt.virtualbox import volumeops

import nova.conf

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

RESIZE_SNAPSHOT = 'nova-resize'
# The flattened disks on their way to another host, under the instances
# path (<instance uuid>.<disk file name>); removed once copied.
MIGRATE_DIR_NAME = '_migrating'
# The states in which VirtualBox restores a snapshot as it is.
STOPPED_STATES = (constants.STATE_POWEROFF, constants.STATE_ABORTED)


class _MigratedRootDisk(object):
    """An image cache stand-in for vmops' spawn at a migration's
    destination: the root disk is the one copied from the source, grown to
    the flavor's size."""

    def __init__(self, vbox, path_utils):
        self._vbox = vbox
        self._pathutils = path_utils

    def create_root_disk(self, context, instance, image_meta, root_gb):
        path = self._pathutils.root_disk_path(instance)
        if not os.path.exists(path):
            raise exception.ResizeError(reason=_(
                'the root disk %s did not arrive from the source host')
                % path)
        if root_gb:
            capacity = self._vbox.show_medium_info(path)['capacity_mb']
            if capacity and root_gb * 1024 > capacity:
                self._vbox.grow_medium(path, root_gb)
        return path


class MigrationOps(object):

    def __init__(self, vbox, vm_ops, path_utils=None, snapshot_ops=None,
                 vm_ops_factory=None, remote_fs=None, volume_ops=None):
        """:param vm_ops_factory: callable(image_cache, reuse_disks) -> a
            VMOps building VMs with that image cache (the driver passes
            one wiring its NIC and console builders in); used at a
            migration's destination, where it attaches the disks copied
            from the source rather than new ones.
        :param volume_ops: the VolumeOps connecting the instance's volumes
            to its VM (default: vm_ops')."""
        self._vbox = vbox
        self._vmops = vm_ops
        self._pathutils = path_utils or pathutils.PathUtils()
        self._snapshotops = snapshot_ops or snapshotops.SnapshotOps(
            vbox, self._pathutils)
        self._volumeops = volume_ops or vm_ops._volumeops
        self._vm_ops_factory = vm_ops_factory or (
            lambda cache, reuse_disks=False: vmops.VMOps(
                self._vbox, self._pathutils, image_cache=cache,
                volume_ops=self._volumeops, reuse_disks=reuse_disks))
        self._remotefs = remote_fs

    @staticmethod
    def _lock(instance):
        return lockutils.lock(pathutils.lock_name(instance))

    def _vm_info(self, instance):
        return self._vbox.show_instance_info(instance)

    def _remote(self):
        if self._remotefs is None:
            self._remotefs = remotefs.RemoteFilesystem()
        return self._remotefs

    @staticmethod
    def is_local(host):
        """Whether Nova's migration destination (the destination's my_ip)
        is this host. Not every loopback address: compute hosts sharing a
        machine each have their own (127.0.0.1, 127.0.0.2)."""
        return host in (CONF.my_ip, CONF.host)

    # -- source: migrate_disk_and_power_off ---------------------------------

    def migrate_disk_and_power_off(self, context, instance, dest, flavor,
                                   network_info, block_device_info=None,
                                   timeout=0, retry_interval=0):
        if flavor.root_gb < instance.flavor.root_gb:
            raise exception.InstanceFaultRollback(
                exception.ResizeError(reason=_(
                    'Unable to resize disk down: the root disk is '
                    '%(old)d GB and the new flavor has %(new)d GB; '
                    'VirtualBox cannot shrink a disk.') % {
                        'old': instance.flavor.root_gb,
                        'new': flavor.root_gb}))
        same_host = self.is_local(dest)
        if not same_host:
            self._refuse_snapshots(instance)
            # Fail early, before the guest stops, when the destination
            # cannot be reached.
            try:
                self._remote().create_dir(
                    dest, self._pathutils.instance_dir(instance))
            except Exception as err:
                raise exception.InstanceFaultRollback(
                    exception.ResizeError(reason=_(
                        'cannot reach %(dest)s to copy the disk: '
                        '%(err)s') % {'dest': dest, 'err': err}))
        self._vmops.power_off(instance, timeout, retry_interval)
        with self._lock(instance):
            info = self._vm_info(instance)
            if same_host:
                if RESIZE_SNAPSHOT in snapshotops.snapshot_names(info):
                    LOG.warning('Keeping the %s snapshot of an earlier '
                                'resize that did not finish',
                                RESIZE_SNAPSHOT, instance=instance)
                else:
                    self._snapshotops.take_snapshot(instance,
                                                    RESIZE_SNAPSHOT)
            else:
                self._copy_disks(instance, info, dest, block_device_info)
                # Nova terminates this host's volume connections next:
                # the VM lets go of the volumes first.
                for bdm in volumeops.VolumeOps.volumes(block_device_info):
                    self._volumeops.detach_volume(bdm['connection_info'],
                                                  instance,
                                                  bdm['mount_device'])
        return jsonutils.dumps({'same_host': same_host})

    def _refuse_snapshots(self, instance):
        """A VirtualBox snapshot holds part of every disk of the VM (its
        frozen images), so no disk can be flattened and copied alone."""
        names = snapshotops.snapshot_names(self._vm_info(instance))
        if names:
            raise exception.InstanceFaultRollback(
                exception.ResizeError(reason=_(
                    'the VM has VirtualBox snapshots (%s), which hold part '
                    'of its disks: they cannot be copied to another host. '
                    'Delete the snapshots (VBoxManage snapshot) and try '
                    'again.') % ', '.join(names)))

    def _disks_to_copy(self, instance, info, block_device_info):
        """[(disk to flatten, its path at the destination)]: the root disk
        unless a volume is the root, and the ephemeral disks in the VM
        folder, numbered as vmops' spawn numbers them (those of
        block_device_info, else the flavor's one). Swap is not copied:
        the destination makes a new one."""
        disks = []
        if volumeops.VolumeOps.boot_volume(block_device_info) is None:
            root = snapshotops.root_attachment(info)
            if root is None:
                raise exception.ResizeError(
                    reason=_('the VM has no root disk'))
            disks.append((root[1], self._pathutils.root_disk_path(instance)))
        ephemerals = driver.block_device_info_get_ephemerals(
            block_device_info)
        for index in range(max(len(ephemerals), 1)):
            path = self._pathutils.ephemeral_disk_path(instance, index)
            if os.path.exists(path):
                disks.append((path, path))
        return disks

    def _copy_disks(self, instance, info, dest, block_device_info):
        """Flatten each disk the destination needs into a standalone VDI
        and copy it there; on failure the destination's VM folder goes."""
        try:
            for disk, target in self._disks_to_copy(instance, info,
                                                    block_device_info):
                self._copy_disk(instance, disk, target, dest)
        except Exception:
            with excutils.save_and_reraise_exception():
                try:
                    self._remote().remove_dir(
                        dest, self._pathutils.instance_dir(instance))
                except Exception:
                    LOG.warning('Could not remove %(dir)s on %(dest)s',
                                {'dir': self._pathutils.instance_dir(
                                    instance), 'dest': dest},
                                instance=instance)

    def _flat_copy_path(self, instance, target):
        return os.path.join(self._pathutils.instances_dir(),
                            MIGRATE_DIR_NAME, '%s.%s' % (
                                instance.uuid, os.path.basename(target)))

    def _copy_disk(self, instance, disk, target, dest):
        flat = self._flat_copy_path(instance, target)
        self._pathutils.ensure_dir(os.path.dirname(flat))
        try:
            self._snapshotops.clone_flat(disk, flat)
            self._remote().copy_file(flat, '%s:%s' % (dest, target))
        finally:
            self._snapshotops.remove_clone(flat)

    # -- destination: finish_migration -------------------------------------

    def finish_migration(self, context, migration, instance, disk_info,
                         network_info, image_meta, resize_instance,
                         block_device_info=None, power_on=True):
        details = jsonutils.loads(disk_info) if disk_info else {}
        same_host = details.get(
            'same_host',
            migration.source_compute == migration.dest_compute)
        if same_host:
            with self._lock(instance):
                self._resize_in_place(instance, resize_instance)
        else:
            builder = self._vm_ops_factory(
                _MigratedRootDisk(self._vbox, self._pathutils),
                reuse_disks=True)
            builder.spawn(context, instance, image_meta,
                          network_info=network_info,
                          block_device_info=block_device_info,
                          power_on=False)
        if power_on:
            self._vmops.power_on(instance)
        LOG.info('Resized/migrated (%s)', 'same host' if same_host else
                 'from %s' % migration.source_compute, instance=instance)

    def _resize_in_place(self, instance, resize_instance):
        flavor = instance.flavor
        info = self._vm_info(instance)
        try:
            self._vbox.run('modifyvm', instance.uuid,
                           '--memory', str(flavor.memory_mb),
                           '--cpus', str(flavor.vcpus))
            root = snapshotops.root_attachment(info)
            limit = self._resize_disk_limit(instance, root)
            if resize_instance and flavor.root_gb and root is not None:
                medium = self._vbox.show_medium_info(root[1])
                capacity = medium['capacity_mb']
                if capacity and flavor.root_gb * 1024 > capacity:
                    if medium.get('parent_uuid'):
                        self._replace_by_grown_copy(instance, root, medium,
                                                    flavor.root_gb, limit)
                    else:
                        self._vbox.grow_medium(root[1], flavor.root_gb)
        except Exception:
            with excutils.save_and_reraise_exception():
                LOG.error('Resize failed; putting the VM back as it was '
                          '(the %s snapshot stays for a revert)',
                          RESIZE_SNAPSHOT, instance=instance)
                try:
                    self._vbox.run('snapshot', instance.uuid, 'restore',
                                   RESIZE_SNAPSHOT,
                                   timeout=vboxmanage.TIMEOUT_LONG)
                except vbox_exc.VBoxError:
                    LOG.exception('Could not restore the %s snapshot',
                                  RESIZE_SNAPSHOT, instance=instance)
                else:
                    self._remove_grown_copies(instance, keep=None)

    def _resize_disk_limit(self, instance, root):
        """The new flavor's disk bytes/s limit (disklayout.disk_bytes_limit) on
        the root disk's bandwidth group: ``bandwidthctl set`` when the VM
        has the group, else ``add`` and a storageattach putting the root
        disk in it; without a limit any group is taken off the root disk
        and removed. No call when neither flavor limits the disk. (The
        resize snapshot keeps the old group for a revert.)

        :returns: the new limit, or None.
        """
        # Only what the instance has loaded: a lazy load needs a context
        # the driver does not have (and Nova sets old_flavor for a resize).
        is_set = getattr(instance, 'obj_attr_is_set', None)
        old_flavor = (None if is_set and not is_set('old_flavor') else
                      getattr(instance, 'old_flavor', None))
        old = disklayout.disk_bytes_limit(old_flavor) if old_flavor else None
        new = disklayout.disk_bytes_limit(instance.flavor, instance)
        if not old and not new:
            return None
        group = disklayout.DISK_BANDWIDTH_GROUP
        listing = self._vbox.run('bandwidthctl', instance.uuid, 'list',
                                 '--machinereadable').stdout
        exists = any(line.split('=', 1)[1].split(',')[0].strip('"') == group
                     for line in listing.splitlines()
                     if line.startswith('BandwidthGroup') and '=' in line)
        if new and exists:
            self._vbox.run('bandwidthctl', instance.uuid, 'set', group,
                           '--limit', disklayout.bandwidth_limit_arg(new))
            return new
        if new and root is None:
            LOG.warning('No root disk to limit (boot volume?); the disk '
                        'I/O limit of the flavor is not applied',
                        instance=instance)
            return None
        if new:
            self._vmops.add_bandwidth_group(instance, new)
        elif not exists:
            return None
        if root is not None:
            self._vbox.run('storageattach', instance.uuid, '--storagectl',
                           root[0], '--port', '0', '--device', '0',
                           '--bandwidthgroup', group if new else 'none')
        if not new:
            self._vbox.run('bandwidthctl', instance.uuid, 'remove', group)
        return new

    def _replace_by_grown_copy(self, instance, root, medium, root_gb,
                               limit=None):
        """Put a flattened copy of the differencing root disk, grown to
        ``root_gb``, in its place (a grown differencing disk could not be
        cloned by real VirtualBox any more) and delete the old one. With
        a disk ``limit`` the copy goes in the disk bandwidth group."""
        controller, path, _uuid = root
        grown = self._pathutils.resized_root_disk_path(
            instance, medium['parent_uuid'])
        if os.path.exists(grown):
            LOG.warning('Replacing %s, left by a resize that did not '
                        'finish', grown, instance=instance)
            self._snapshotops.remove_clone(grown)
        self._snapshotops.clone_flat(path, grown)
        try:
            self._vbox.grow_medium(grown, root_gb)
            self._vbox.run('storageattach', instance.uuid, '--storagectl',
                           controller, '--port', '0', '--device', '0',
                           '--type', constants.DEVICE_HDD, '--medium', grown,
                           *(('--bandwidthgroup',
                              disklayout.DISK_BANDWIDTH_GROUP)
                             if limit else ()))
        except Exception:
            with excutils.save_and_reraise_exception():
                self._snapshotops.remove_clone(grown)
        # The guest's differencing image since the snapshot, now
        # detached: nothing else uses it.
        try:
            self._vbox.close_medium(path, delete=True)
        except vbox_exc.VBoxError as err:
            LOG.warning('Could not delete the replaced root disk %(path)s: '
                        '%(err)s', {'path': path, 'err': err},
                        instance=instance)

    def _remove_grown_copies(self, instance, keep):
        """Close and delete the grown copies a resize left in the VM
        folder, except the disk at ``keep``."""
        folder = self._pathutils.instance_dir(instance)
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return
        for name in sorted(names):
            path = os.path.join(folder, name)
            if path != keep and self._pathutils.replaced_by_resize(path):
                self._snapshotops.remove_clone(path)

    # -- confirm ------------------------------------------------------------

    def confirm_migration(self, context, migration, instance, network_info):
        if migration.source_compute != migration.dest_compute:
            # The source host's VM: the instance lives on elsewhere. The
            # destroy deletes the VM folder only, never a volume.
            self._vmops.destroy(instance, destroy_disks=True)
            self._remove_flat_copies(instance)
            return
        with self._lock(instance):
            info = self._vm_info(instance)
            if RESIZE_SNAPSHOT not in snapshotops.snapshot_names(info):
                LOG.info('No %s snapshot; nothing to confirm',
                         RESIZE_SNAPSHOT, instance=instance)
                return
            self._snapshotops.delete_snapshot(instance, RESIZE_SNAPSHOT)
            root = snapshotops.root_attachment(info)
            frozen = self._pathutils.replaced_by_resize(
                root[1] if root else None)
            if frozen:
                self._remove_frozen_base(instance, frozen)
            self._keep_root_disk_name(instance)

    def _remove_flat_copies(self, instance):
        """The instance's flat copies a migration left in _migrating/ (a
        copy cut short by a crash of this host)."""
        folder = os.path.join(self._pathutils.instances_dir(),
                              MIGRATE_DIR_NAME)
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return
        for name in sorted(names):
            if name.startswith(instance.uuid + '.'):
                self._snapshotops.remove_clone(os.path.join(folder, name))

    def _remove_frozen_base(self, instance, frozen_uuid):
        """After the confirm's snapshot delete: the disk the grown copy
        replaced. VirtualBox deleted it if it was differencing (it had no
        child); a base (full copy) stays registered, unused."""
        for block in self._vbox.list_hdds():
            if block.get('UUID') == frozen_uuid:
                LOG.info('Deleting the root disk from before the resize, '
                         '%s', block.get('Location'), instance=instance)
                self._vbox.close_medium(
                    block.get('Location') or frozen_uuid, delete=True)
                return

    def _keep_root_disk_name(self, instance):
        """Put the root disk back at root.vdi when VirtualBox kept the
        merge's result in Snapshots/ or it is a resize's grown copy. Not
        while the VM runs (Nova confirms a resize of a running server):
        VirtualBox moves no medium of a VM with an open session, and the
        disk stays in the VM folder, found by its attachment."""
        info = self._vm_info(instance)
        root = snapshotops.root_attachment(info)
        wanted = self._pathutils.root_disk_path(instance)
        if (root is None or root[1] == wanted or os.path.exists(wanted) or
                info.get('VMState') not in STOPPED_STATES):
            return
        self._vbox.run('modifymedium', 'disk', root[2] or root[1],
                       '--move', wanted, timeout=vboxmanage.TIMEOUT_LONG)

    # -- revert -------------------------------------------------------------

    def keeps_vm_on_revert(self, instance):
        """Whether destroy must leave the VM alone: Nova reverts a resize
        on this same host, whose VM finish_revert_migration restores."""
        if getattr(instance, 'task_state', None) != \
                task_states.RESIZE_REVERTING:
            return False
        try:
            info = self._vbox.show_vm_info(instance.uuid)
        except vbox_exc.VBoxObjectNotFound:
            return False
        return RESIZE_SNAPSHOT in snapshotops.snapshot_names(info)

    def finish_revert_migration(self, context, instance, network_info,
                                migration, block_device_info=None,
                                power_on=True):
        if migration.source_compute != migration.dest_compute:
            # The source's VM, as migrate_disk_and_power_off left it: it
            # gets back the volumes it let go of.
            for bdm in volumeops.VolumeOps.volumes(block_device_info):
                self._volumeops.attach_volume(bdm['connection_info'],
                                              instance, bdm['mount_device'])
        # Nova's revert does not stop the resized guest (the driver's
        # destroy keeps this VM, see keeps_vm_on_revert) and VirtualBox
        # restores no snapshot of a running, paused or saved VM
        # (VBOX_E_INVALID_VM_STATE): its state since the resize is thrown
        # away anyway, so it is powered off hard first.
        # (Nova holds the instance in task_state resize_reverting: the
        # info read before the lock stays true unless the VM is stopped.)
        info = self._vm_info(instance)
        if (RESIZE_SNAPSHOT in snapshotops.snapshot_names(info) and
                info.get('VMState') not in STOPPED_STATES):
            self._vmops.power_off(instance)
            info = None
        with self._lock(instance):
            if info is None:
                info = self._vm_info(instance)
            if RESIZE_SNAPSHOT in snapshotops.snapshot_names(info):
                self._vbox.run('snapshot', instance.uuid, 'restore',
                               RESIZE_SNAPSHOT,
                               timeout=vboxmanage.TIMEOUT_LONG)
                self._snapshotops.delete_snapshot(instance, RESIZE_SNAPSHOT)
                root = snapshotops.root_attachment(info)
                if root and self._pathutils.replaced_by_resize(root[1]):
                    # The grown copy, detached by the restore.
                    self._snapshotops.remove_clone(root[1])
                self._keep_root_disk_name(instance)
                if block_device_info is not None:
                    self._volumeops.keep_only_volumes_of(instance,
                                                         block_device_info)
        if power_on:
            self._vmops.power_on(instance)
        LOG.info('Resize reverted', instance=instance)
