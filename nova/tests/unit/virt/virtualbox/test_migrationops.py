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

import inspect
import os
import shutil
from unittest import mock

import fixtures
from oslo_serialization import jsonutils

from nova.compute import task_states
from nova import exception
from nova.tests.unit.virt.virtualbox import test_base
from nova.tests.unit.virt.virtualbox import test_snapshotops
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import migrationops
from nova.virt.virtualbox import pathutils
from nova.virt.virtualbox import vboxmanage
from nova.virt.virtualbox import vmops
from nova.virt.virtualbox import volumeops

LONG = vboxmanage.TIMEOUT_LONG
failure = test_snapshotops.failure

GIB = 1024 ** 3


class Flavor(object):
    def __init__(self, root_gb=1, memory_mb=512, vcpus=1, ephemeral_gb=0):
        self.root_gb = root_gb
        self.memory_mb = memory_mb
        self.vcpus = vcpus
        self.ephemeral_gb = ephemeral_gb


class Migration(object):
    def __init__(self, source='h1', dest='h1'):
        self.source_compute = source
        self.dest_compute = dest


class FakeRemoteFilesystem(object):
    """Nova's RemoteFilesystem onto a local folder standing for the other
    hosts: ``HOST:/a/b`` is ``<root>/HOST/a/b``."""

    def __init__(self, root):
        self.root = root

    def path(self, host, path):
        return os.path.join(self.root, host, path.lstrip('/'))

    def create_dir(self, host, path, on_execute=None, on_completion=None):
        os.makedirs(self.path(host, path), exist_ok=True)

    def remove_dir(self, host, path, on_execute=None, on_completion=None):
        shutil.rmtree(self.path(host, path), ignore_errors=True)

    def copy_file(self, src, dst, on_execute=None, on_completion=None,
                  compression=True):
        host, _sep, path = dst.partition(':')
        shutil.copyfile(src, self.path(host, path))


class CopyingFakeVBox(test_snapshotops.FakeVBox):
    """clonemedium copies its source's bytes (a flat copy of a disk
    without snapshots holds what the disk holds)."""

    def run(self, *args, **kwargs):
        result = super().run(*args, **kwargs)
        if args[0] == 'clonemedium' and os.path.exists(args[2]):
            shutil.copyfile(args[2], args[3])
        return result


def volume_bdm(number, boot_index=None):
    """A file volume vol-N at /dev/sdX (N=0: sda, 1: sdb, ...)."""
    connection_info = {'driver_volume_type': 'local',
                       'data': {'device_path': '/cinder/volume-%d' % number,
                                'volume_id': 'vol-%d' % number}}
    return {'connection_info': connection_info,
            'mount_device': '/dev/sd%s' % 'abcdefgh'[number],
            'boot_index': boot_index}


class MigrationOpsTestCase(test_base.VBoxTestCase):

    def setUp(self):
        super().setUp()
        self.flags(my_ip='10.0.0.1', host='h1')
        self.pathutils = pathutils.PathUtils()
        self.vmops = mock.create_autospec(vmops.VMOps, instance=True)
        self.volumeops = mock.create_autospec(volumeops.VolumeOps,
                                              instance=True)
        self.remote = FakeRemoteFilesystem(
            self.useFixture(fixtures.TempDir()).path)
        self.remotefs = mock.Mock(wraps=self.remote)
        self.built = mock.create_autospec(vmops.VMOps, instance=True)
        self.caches = []

        def factory(cache, reuse_disks=False):
            self.caches.append((cache, reuse_disks))
            return self.built
        self.ops = migrationops.MigrationOps(
            self.vbox, self.vmops, self.pathutils, vm_ops_factory=factory,
            remote_fs=self.remotefs, volume_ops=self.volumeops)
        self.instance = test_base.FakeInstance(
            flavor=Flavor(root_gb=2, memory_mb=1024, vcpus=2),
            old_flavor=Flavor(), task_state=None)
        self.uuid = self.instance.uuid
        self.root = self.pathutils.root_disk_path(self.instance)
        self.info = test_snapshotops.vm_info('poweroff', root=self.root)
        self.vbox.show_vm_info.return_value = self.info
        self.vbox.show_medium_info.return_value = {'capacity_mb': 1024}

    def with_resize_snapshot(self):
        self.info.update(SnapshotName='nova-resize', SnapshotUUID='s')

    # -- migrate_disk_and_power_off ---------------------------------------

    def test_shrink_is_refused_before_anything(self):
        self.instance.flavor = Flavor(root_gb=2)
        err = self.assertRaises(
            exception.InstanceFaultRollback,
            self.ops.migrate_disk_and_power_off, 'ctx', self.instance,
            '10.0.0.1', Flavor(root_gb=1), None)
        self.assertIsInstance(err.inner_exception, exception.ResizeError)
        self.assertIn('resize disk down', str(err.inner_exception))
        self.vmops.power_off.assert_not_called()
        self.vbox.run.assert_not_called()

    def test_same_host_powers_off_and_takes_the_resize_snapshot(self):
        self.instance.flavor = Flavor(root_gb=1)
        for dest in ('10.0.0.1', 'h1'):
            self.vbox.reset_mock()
            self.vmops.reset_mock()
            disk_info = self.ops.migrate_disk_and_power_off(
                'ctx', self.instance, dest, Flavor(root_gb=1), None,
                timeout=30, retry_interval=5)
            self.assertEqual({'same_host': True}, jsonutils.loads(disk_info))
            self.vmops.power_off.assert_called_once_with(self.instance, 30,
                                                         5)
            self.vbox.run.assert_called_once_with(
                'snapshot', self.uuid, 'take', 'nova-resize', timeout=LONG,
                undo=mock.ANY)
            self.remotefs.create_dir.assert_not_called()

    def test_another_loopback_address_is_another_host(self):
        # Two compute hosts on one machine (the all-in-one's two-host
        # test): 127.0.0.1 is the other one's my_ip.
        self.flags(my_ip='127.0.0.2', host='second')
        self.assertFalse(self.ops.is_local('127.0.0.1'))
        self.assertFalse(self.ops.is_local('localhost'))
        self.assertTrue(self.ops.is_local('127.0.0.2'))

    def test_same_host_keeps_an_earlier_resize_snapshot(self):
        self.with_resize_snapshot()
        self.ops.migrate_disk_and_power_off('ctx', self.instance, 'h1',
                                            Flavor(root_gb=3), None)
        self.vbox.run.assert_not_called()

    def test_missing_vm(self):
        self.vbox.show_vm_info.side_effect = failure(
            vbox_exc.VBoxObjectNotFound)
        self.assertRaises(exception.InstanceNotFound,
                          self.ops.migrate_disk_and_power_off, 'ctx',
                          self.instance, 'h1', Flavor(root_gb=3), None)

    def test_other_host_copies_a_flattened_root_disk(self):
        fake = test_snapshotops.FakeVBox(self.vbox)
        disk_info = self.ops.migrate_disk_and_power_off(
            'ctx', self.instance, '10.0.0.2', Flavor(root_gb=3), None)
        self.assertEqual({'same_host': False}, jsonutils.loads(disk_info))
        vm_dir = self.pathutils.instance_dir(self.instance)
        self.remotefs.create_dir.assert_called_once_with('10.0.0.2', vm_dir)
        flat = os.path.join(self.instances_path, '_migrating',
                            self.uuid + '.root.vdi')
        self.assertEqual([
            mock.call('clonemedium', 'disk', self.root, flat, '--format',
                      'VDI', timeout=LONG, undo=mock.ANY),
            mock.call('closemedium', 'disk', flat, '--delete'),
        ], self.vbox.run.call_args_list)
        self.remotefs.copy_file.assert_called_once_with(
            flat, '10.0.0.2:' + self.root)
        self.vmops.power_off.assert_called_once_with(self.instance, 0, 0)
        self.assertFalse(os.path.exists(flat))
        self.assertIsNotNone(fake)

    def test_unreachable_destination_is_a_rollback_before_power_off(self):
        self.remotefs.create_dir.side_effect = OSError('no route')
        err = self.assertRaises(
            exception.InstanceFaultRollback,
            self.ops.migrate_disk_and_power_off, 'ctx', self.instance,
            '10.0.0.2', Flavor(root_gb=3), None)
        self.assertIsInstance(err.inner_exception, exception.ResizeError)
        self.vmops.power_off.assert_not_called()

    def test_copy_failure_removes_the_remote_folder_and_the_clone(self):
        test_snapshotops.FakeVBox(self.vbox)
        self.remotefs.copy_file.side_effect = OSError('disk full')
        self.assertRaises(OSError, self.ops.migrate_disk_and_power_off,
                          'ctx', self.instance, '10.0.0.2',
                          Flavor(root_gb=3), None)
        self.remotefs.remove_dir.assert_called_once_with(
            '10.0.0.2', self.pathutils.instance_dir(self.instance))
        self.assert_no_flat_copies()

    def assert_no_flat_copies(self):
        # Their folder may stay, empty: other migrations' copies share it.
        folder = os.path.join(self.instances_path, '_migrating')
        self.assertEqual([], os.listdir(folder) if os.path.exists(folder)
                         else [])

    def test_clone_failure_removes_the_remote_folder(self):
        test_snapshotops.FakeVBox(self.vbox, {'clonemedium': failure()})
        self.assertRaises(vbox_exc.VBoxManageError,
                          self.ops.migrate_disk_and_power_off, 'ctx',
                          self.instance, '10.0.0.2', Flavor(root_gb=3), None)
        self.remotefs.copy_file.assert_not_called()
        self.remotefs.remove_dir.assert_called_once()

    def _vm_folder_disks(self, **contents):
        """Files in the VM folder: name -> bytes."""
        vm_dir = self.pathutils.instance_dir(self.instance)
        os.makedirs(vm_dir, exist_ok=True)
        for name, data in contents.items():
            with open(os.path.join(vm_dir, name), 'wb') as f:
                f.write(data)

    def _arrived(self, path, host='10.0.0.2'):
        """The bytes of ``path`` at ``host``, None when absent."""
        try:
            with open(self.remote.path(host, path), 'rb') as f:
                return f.read()
        except FileNotFoundError:
            return None

    def test_other_host_copies_the_ephemeral_disks_of_block_device_info(self):
        CopyingFakeVBox(self.vbox)
        self._vm_folder_disks(**{'root.vdi': b'root', 'ephemeral.vdi': b'e0',
                                 'ephemeral1.vdi': b'e1',
                                 'swap.vdi': b'swap'})
        bdi = {'ephemerals': [{'device_name': '/dev/sdb', 'size': 1},
                              {'device_name': '/dev/sdc', 'size': 2}]}
        self.ops.migrate_disk_and_power_off('ctx', self.instance, '10.0.0.2',
                                            Flavor(root_gb=3), None, bdi)
        path = self.pathutils.ephemeral_disk_path
        self.assertEqual(b'root', self._arrived(self.root))
        self.assertEqual(b'e0', self._arrived(path(self.instance, 0)))
        self.assertEqual(b'e1', self._arrived(path(self.instance, 1)))
        # A fresh swap disk will do at the destination.
        self.assertIsNone(self._arrived(
            self.pathutils.swap_disk_path(self.instance)))
        # The flat copies are gone; the source's disks stay for a revert.
        self.assert_no_flat_copies()
        self.assertTrue(os.path.exists(path(self.instance, 1)))

    def test_other_host_copies_the_ephemeral_disk_of_the_flavor(self):
        CopyingFakeVBox(self.vbox)
        self.instance.flavor = Flavor(root_gb=2, ephemeral_gb=1)
        self._vm_folder_disks(**{'root.vdi': b'root',
                                 'ephemeral.vdi': b'data'})
        self.ops.migrate_disk_and_power_off('ctx', self.instance, '10.0.0.2',
                                            Flavor(root_gb=3), None)
        self.assertEqual(b'data', self._arrived(
            self.pathutils.ephemeral_disk_path(self.instance)))

    def test_other_host_detaches_the_volumes_once_powered_off(self):
        test_snapshotops.FakeVBox(self.vbox)
        bdi = {'block_device_mapping': [volume_bdm(1), volume_bdm(2)]}
        events = mock.Mock()
        events.attach_mock(self.vmops.power_off, 'power_off')
        events.attach_mock(self.volumeops.detach_volume, 'detach_volume')
        self.ops.migrate_disk_and_power_off('ctx', self.instance, '10.0.0.2',
                                            Flavor(root_gb=3), None, bdi)
        self.assertEqual('power_off', events.mock_calls[0][0])
        detached = [(c.args[0]['data']['volume_id'], c.args[1], c.args[2])
                    for c in self.volumeops.detach_volume.call_args_list]
        self.assertEqual([('vol-1', self.instance, '/dev/sdb'),
                          ('vol-2', self.instance, '/dev/sdc')], detached)

    def test_same_host_keeps_the_volumes_attached(self):
        bdi = {'block_device_mapping': [volume_bdm(1)]}
        self.ops.migrate_disk_and_power_off('ctx', self.instance, 'h1',
                                            Flavor(root_gb=3), None, bdi)
        self.volumeops.detach_volume.assert_not_called()

    def test_copy_failure_keeps_the_volumes_attached(self):
        test_snapshotops.FakeVBox(self.vbox)
        self.remotefs.copy_file.side_effect = OSError('disk full')
        bdi = {'block_device_mapping': [volume_bdm(1)]}
        self.assertRaises(OSError, self.ops.migrate_disk_and_power_off,
                          'ctx', self.instance, '10.0.0.2',
                          Flavor(root_gb=3), None, bdi)
        self.volumeops.detach_volume.assert_not_called()

    def test_boot_from_volume_copies_no_root_disk(self):
        # Port 0 holds the boot volume: Cinder's, never copied.
        boot = volume_bdm(0, boot_index=0)
        self.info['SATA-0-0'] = '/cinder/volume-0'
        test_snapshotops.FakeVBox(self.vbox)
        self.ops.migrate_disk_and_power_off(
            'ctx', self.instance, '10.0.0.2', Flavor(root_gb=3), None,
            {'block_device_mapping': [boot]})
        self.assertNotIn('clonemedium',
                         [c.args[0] for c in self.vbox.run.call_args_list])
        self.assertIsNone(self._arrived(self.root))
        self.volumeops.detach_volume.assert_called_once_with(
            boot['connection_info'], self.instance, '/dev/sda')

    def test_other_host_refuses_a_vm_with_snapshots_before_power_off(self):
        # A snapshot holds part of each disk: no disk can be copied alone.
        self.info.update(SnapshotName='nova-resize', SnapshotUUID='s')
        err = self.assertRaises(
            exception.InstanceFaultRollback,
            self.ops.migrate_disk_and_power_off, 'ctx', self.instance,
            '10.0.0.2', Flavor(root_gb=3), None)
        self.assertIsInstance(err.inner_exception, exception.ResizeError)
        self.assertIn('nova-resize', str(err.inner_exception))
        self.vmops.power_off.assert_not_called()
        self.remotefs.create_dir.assert_not_called()
        self.vbox.run.assert_not_called()

    # -- finish_migration --------------------------------------------------

    def _finish(self, same_host=True, resize_instance=True, power_on=True):
        self.ops.finish_migration(
            'ctx', Migration(), self.instance,
            jsonutils.dumps({'same_host': same_host}), None, 'meta',
            resize_instance, None, power_on)

    def test_finish_same_host_one_modifyvm_and_grows_the_disk(self):
        self._finish()
        self.assertEqual([
            mock.call('modifyvm', self.uuid, '--memory', '1024',
                      '--cpus', '2'),
            mock.call('modifymedium', 'disk', self.root, '--resizebyte',
                      str(2 * GIB),
                      timeout=LONG),
        ], self.vbox.run.call_args_list)
        self.vmops.power_on.assert_called_once_with(self.instance)

    def _grown_copy_setup(self):
        # After the nova-resize snapshot the root disk is the differencing
        # image VirtualBox made in Snapshots/, child of the frozen disk.
        vm_dir = self.pathutils.instance_dir(self.instance)
        self.current = os.path.join(vm_dir, 'Snapshots', '{d1}.vdi')
        self.info.update({'SATA-0-0': self.current,
                          'SATA-ImageUUID-0-0': 'd1'})
        self.vbox.show_medium_info.return_value = {
            'capacity_mb': 1024, 'parent_uuid': 'frozen-uuid'}
        self.grown = os.path.join(vm_dir, 'root.resized.frozen-uuid.vdi')
        os.makedirs(os.path.dirname(self.current))
        open(self.current, 'w').close()
        return test_snapshotops.FakeVBox(self.vbox)

    def test_finish_replaces_a_differencing_disk_by_a_grown_copy(self):
        # Real VirtualBox cannot clone a grown differencing disk: the
        # disk is flattened, the copy grown and attached in its place.
        self._grown_copy_setup()
        self._finish()
        self.vbox.show_medium_info.assert_called_once_with(self.current)
        self.assertEqual([
            mock.call('modifyvm', self.uuid, '--memory', '1024',
                      '--cpus', '2'),
            mock.call('clonemedium', 'disk', self.current, self.grown,
                      '--format', 'VDI', timeout=LONG, undo=mock.ANY),
            mock.call('modifymedium', 'disk', self.grown, '--resizebyte',
                      str(2 * GIB), timeout=LONG),
            mock.call('storageattach', self.uuid, '--storagectl', 'SATA',
                      '--port', '0', '--device', '0', '--type', 'hdd',
                      '--medium', self.grown),
            mock.call('closemedium', 'disk', self.current, '--delete'),
        ], self.vbox.run.call_args_list)
        self.assertTrue(os.path.exists(self.grown))
        self.assertFalse(os.path.exists(self.current))
        self.vmops.power_on.assert_called_once_with(self.instance)

    def test_finish_grown_copy_failure_restores_and_leaves_no_copy(self):
        fake = self._grown_copy_setup()
        fake.fail['storageattach'] = failure()
        self.assertRaises(vbox_exc.VBoxManageError, self._finish)
        calls = self.vbox.run.call_args_list
        self.assertEqual(
            [mock.call('closemedium', 'disk', self.grown, '--delete'),
             mock.call('snapshot', self.uuid, 'restore', 'nova-resize',
                       timeout=LONG)], calls[-2:])
        self.assertNotIn(mock.call('closemedium', 'disk', self.current,
                                   '--delete'), calls)
        self.assertFalse(os.path.exists(self.grown))
        self.vmops.power_on.assert_not_called()

    def test_finish_replaces_a_stale_grown_copy(self):
        self._grown_copy_setup()
        open(self.grown, 'w').close()
        self._finish()
        self.assertEqual(
            [mock.call('closemedium', 'disk', self.grown, '--delete'),
             mock.call('clonemedium', 'disk', self.current, self.grown,
                       '--format', 'VDI', timeout=LONG, undo=mock.ANY)],
            self.vbox.run.call_args_list[1:3])

    def test_finish_same_disk_size_does_not_resize(self):
        self.vbox.show_medium_info.return_value = {'capacity_mb': 2048}
        self._finish(power_on=False)
        self.assertEqual(['modifyvm'],
                         [c.args[0] for c in self.vbox.run.call_args_list])
        self.vmops.power_on.assert_not_called()

    def test_finish_without_disk_resize(self):
        self._finish(resize_instance=False)
        self.vbox.show_medium_info.assert_not_called()

    def test_finish_failure_restores_the_original_vm(self):
        test_snapshotops.FakeVBox(self.vbox, {'modifymedium': failure()})
        self.assertRaises(vbox_exc.VBoxManageError, self._finish)
        self.assertEqual(
            mock.call('snapshot', self.uuid, 'restore', 'nova-resize',
                      timeout=LONG), self.vbox.run.call_args_list[-1])
        self.vmops.power_on.assert_not_called()

    def test_finish_same_host_from_the_migration_without_disk_info(self):
        self.ops.finish_migration('ctx', Migration('h1', 'h1'),
                                  self.instance, '', None, 'meta', False)
        self.assertEqual('modifyvm', self.vbox.run.call_args[0][0])

    # -- finish_migration: the flavor's disk limit (bandwidth group) -------

    def _limits(self, old=None, new=None, group=None):
        """Disk bytes/s limits of the old and new flavors; ``group``: the
        VM's nova-disk group limit bandwidthctl lists (None: none)."""
        for flavor, limit in ((self.instance.old_flavor, old),
                              (self.instance.flavor, new)):
            flavor.extra_specs = (
                {'quota:disk_total_bytes_sec': str(limit)} if limit else {})
        listing = ('BandwidthGroup0="nova-disk",Disk,%d\n' % group
                   if group else '')
        fake = test_snapshotops.FakeVBox(self.vbox)

        def run(*args, **kwargs):
            if args[:3] == ('bandwidthctl', self.uuid, 'list'):
                return vboxmanage.Result(listing, '')
            return fake.run(*args, **kwargs)
        self.vbox.run.side_effect = run

    def _bandwidth_calls(self):
        return [c for c in self.vbox.run.call_args_list
                if c.args[0] in ('bandwidthctl', 'storageattach')]

    def test_finish_new_limit_adds_the_group_to_the_root_disk(self):
        self._limits(new=1048576)
        self._finish()
        self.assertEqual([
            mock.call('modifyvm', self.uuid, '--memory', '1024',
                      '--cpus', '2'),
            mock.call('bandwidthctl', self.uuid, 'list',
                      '--machinereadable'),
            mock.call('storageattach', self.uuid, '--storagectl', 'SATA',
                      '--port', '0', '--device', '0',
                      '--bandwidthgroup', 'nova-disk'),
            mock.call('modifymedium', 'disk', self.root, '--resizebyte',
                      str(2 * GIB),
                      timeout=LONG),
        ], self.vbox.run.call_args_list)
        self.vmops.add_bandwidth_group.assert_called_once_with(
            self.instance, 1048576)

    def test_finish_changed_limit_sets_the_group(self):
        self._limits(old=1048576, new=2097152, group=1048576)
        self._finish()
        self.assertEqual([
            mock.call('bandwidthctl', self.uuid, 'list',
                      '--machinereadable'),
            mock.call('bandwidthctl', self.uuid, 'set', 'nova-disk',
                      '--limit', '2048K'),
        ], self._bandwidth_calls())

    def test_finish_without_limit_removes_the_group(self):
        self._limits(old=1048576, group=1048576)
        self._finish()
        self.assertEqual([
            mock.call('bandwidthctl', self.uuid, 'list',
                      '--machinereadable'),
            mock.call('storageattach', self.uuid, '--storagectl', 'SATA',
                      '--port', '0', '--device', '0',
                      '--bandwidthgroup', 'none'),
            mock.call('bandwidthctl', self.uuid, 'remove', 'nova-disk'),
        ], self._bandwidth_calls())

    def test_finish_old_limit_but_no_group_does_nothing_more(self):
        self._limits(old=1048576)
        self._finish()
        self.assertEqual([
            mock.call('bandwidthctl', self.uuid, 'list',
                      '--machinereadable'),
        ], self._bandwidth_calls())

    def test_finish_grown_copy_joins_the_group(self):
        self._grown_copy_setup()
        self._limits(old=1048576, new=1048576, group=1048576)
        self._finish()
        self.assertIn(
            mock.call('storageattach', self.uuid, '--storagectl', 'SATA',
                      '--port', '0', '--device', '0', '--type', 'hdd',
                      '--medium', self.grown,
                      '--bandwidthgroup', 'nova-disk'),
            self.vbox.run.call_args_list)

    def _finish_other_host(self, network_info=None, bdi=None):
        self.ops.finish_migration(
            'ctx', Migration('h2', 'h1'), self.instance,
            jsonutils.dumps({'same_host': False}), network_info, 'meta',
            True, bdi, True)

    def test_finish_other_host_gives_the_new_vm_the_nics_and_volumes(self):
        network_info = [{'id': 'port-1', 'address': 'fa:16:3e:00:00:01'}]
        bdi = {'block_device_mapping': [volume_bdm(1)]}
        self._finish_other_host(network_info, bdi)
        [call] = self.built.spawn.call_args_list
        spawn = inspect.signature(vmops.VMOps.spawn).bind(
            self.built, *call.args, **call.kwargs)
        spawn.apply_defaults()
        self.assertIs(self.instance, spawn.arguments['instance'])
        self.assertEqual('meta', spawn.arguments['image_meta'])
        self.assertIs(network_info, spawn.arguments['network_info'])
        self.assertIs(bdi, spawn.arguments['block_device_info'])
        self.assertIsNone(spawn.arguments['injected_files'])
        self.assertIsNone(spawn.arguments['admin_password'])
        # Built stopped, started once built.
        self.assertFalse(spawn.arguments['power_on'])
        self.vmops.power_on.assert_called_once_with(self.instance)

    def test_finish_other_host_builder_keeps_the_copied_disks(self):
        self._finish_other_host()
        [(_cache, reuse_disks)] = self.caches
        self.assertTrue(reuse_disks)

    def test_finish_other_host_grows_the_copied_root_disk(self):
        self._finish_other_host()
        [(cache, _reuse)] = self.caches
        os.makedirs(os.path.dirname(self.root))
        open(self.root, 'w').close()
        self.assertEqual(self.root, cache.create_root_disk(
            'ctx', self.instance, 'meta', 2))
        self.vbox.run.assert_called_once_with(
            'modifymedium', 'disk', self.root, '--resizebyte', str(2 * GIB),
            timeout=LONG)

    def test_finish_other_host_without_the_disk(self):
        self._finish(same_host=False)
        [(cache, _reuse)] = self.caches
        self.assertRaises(exception.ResizeError, cache.create_root_disk,
                          'ctx', self.instance, 'meta', 2)

    # -- confirm -----------------------------------------------------------

    def test_confirm_same_host_deletes_the_resize_snapshot(self):
        self.with_resize_snapshot()
        os.makedirs(os.path.dirname(self.root))
        open(self.root, 'w').close()
        self.ops.confirm_migration('ctx', Migration(), self.instance, None)
        self.vbox.run.assert_called_once_with(
            'snapshot', self.uuid, 'delete', 'nova-resize', timeout=LONG)
        self.vmops.destroy.assert_not_called()

    def test_confirm_moves_the_merged_disk_back_to_root_vdi(self):
        # Real VirtualBox merges the frozen root.vdi into its child.
        merged = os.path.join(self.pathutils.instance_dir(self.instance),
                              'Snapshots', '{c}.vdi')
        self.with_resize_snapshot()
        self.vbox.show_vm_info.side_effect = [
            self.info, test_snapshotops.vm_info(
                'poweroff', root=merged, **{'SATA-ImageUUID-0-0': 'c'})]
        self.ops.confirm_migration('ctx', Migration(), self.instance, None)
        self.assertEqual(mock.call('modifymedium', 'disk', 'c', '--move',
                                   self.root, timeout=LONG),
                         self.vbox.run.call_args)

    def test_confirm_of_a_running_vm_leaves_the_merged_disk_in_place(self):
        # Real VirtualBox refuses to move a medium of a running VM.
        merged = os.path.join(self.pathutils.instance_dir(self.instance),
                              'Snapshots', '{c}.vdi')
        self.with_resize_snapshot()
        self.vbox.show_vm_info.side_effect = [
            self.info, test_snapshotops.vm_info(
                'running', root=merged, **{'SATA-ImageUUID-0-0': 'c'})]
        self.ops.confirm_migration('ctx', Migration(), self.instance, None)
        self.vbox.run.assert_called_once_with(
            'snapshot', self.uuid, 'delete', 'nova-resize', timeout=LONG)

    def test_confirm_of_a_grown_copy_deletes_a_frozen_base(self):
        # The frozen disk was a full copy (a base): VirtualBox keeps it
        # at the snapshot delete. The copy then moves to root.vdi.
        vm_dir = self.pathutils.instance_dir(self.instance)
        grown = os.path.join(vm_dir, 'root.resized.frozen-uuid.vdi')
        self.with_resize_snapshot()
        self.info.update({'SATA-0-0': grown, 'SATA-ImageUUID-0-0': 'g'})
        self.vbox.list_hdds.return_value = [
            {'UUID': 'frozen-uuid', 'Location': self.root},
            {'UUID': 'g', 'Location': grown}]
        test_snapshotops.FakeVBox(self.vbox)
        os.makedirs(vm_dir)
        open(self.root, 'w').close()
        self.ops.confirm_migration('ctx', Migration(), self.instance, None)
        self.assertEqual([
            mock.call('snapshot', self.uuid, 'delete', 'nova-resize',
                      timeout=LONG),
            mock.call('closemedium', 'disk', self.root, '--delete'),
            mock.call('modifymedium', 'disk', 'g', '--move', self.root,
                      timeout=LONG),
        ], self.vbox.run.call_args_list)

    def test_confirm_of_a_grown_copy_whose_frozen_disk_is_gone(self):
        # A differencing frozen disk: VirtualBox deleted it (no child).
        vm_dir = self.pathutils.instance_dir(self.instance)
        grown = os.path.join(vm_dir, 'root.resized.frozen-uuid.vdi')
        self.with_resize_snapshot()
        self.info.update({'SATA-0-0': grown, 'SATA-ImageUUID-0-0': 'g'})
        self.vbox.list_hdds.return_value = [{'UUID': 'g',
                                             'Location': grown}]
        self.ops.confirm_migration('ctx', Migration(), self.instance, None)
        self.assertEqual(['snapshot', 'modifymedium'],
                         [c.args[0] for c in self.vbox.run.call_args_list])

    def test_confirm_without_snapshot_does_nothing(self):
        self.ops.confirm_migration('ctx', Migration(), self.instance, None)
        self.vbox.run.assert_not_called()

    def test_confirm_at_the_source_of_a_migration_destroys_its_vm(self):
        self.ops.confirm_migration('ctx', Migration('h1', 'h2'),
                                   self.instance, None)
        self.vmops.destroy.assert_called_once_with(self.instance,
                                                   destroy_disks=True)
        self.vbox.run.assert_not_called()

    def test_confirm_at_the_source_removes_its_flat_copies(self):
        # Left by a migration whose host died while copying.
        folder = os.path.join(self.instances_path, '_migrating')
        os.makedirs(folder)
        ours = os.path.join(folder, self.uuid + '.ephemeral.vdi')
        other = os.path.join(folder, 'c0ffee00-0000-4000-8000-000000000000'
                                     '.root.vdi')
        for path in (ours, other):
            open(path, 'w').close()
        test_snapshotops.FakeVBox(self.vbox)
        self.ops.confirm_migration('ctx', Migration('h1', 'h2'),
                                   self.instance, None)
        self.assertFalse(os.path.exists(ours))
        self.assertTrue(os.path.exists(other))
        self.vmops.destroy.assert_called_once_with(self.instance,
                                                   destroy_disks=True)

    # -- revert ------------------------------------------------------------

    def test_revert_restores_and_deletes_the_snapshot(self):
        self.with_resize_snapshot()
        self.ops.finish_revert_migration('ctx', self.instance, None,
                                         Migration())
        self.assertEqual([
            mock.call('snapshot', self.uuid, 'restore', 'nova-resize',
                      timeout=LONG),
            mock.call('snapshot', self.uuid, 'delete', 'nova-resize',
                      timeout=LONG),
        ], self.vbox.run.call_args_list)
        self.vmops.power_on.assert_called_once_with(self.instance)

    def test_revert_of_a_running_resized_vm_powers_it_off_first(self):
        # Nova's revert leaves the resized guest running (destroy keeps
        # the VM); VirtualBox restores no snapshot of a running VM.
        running = test_snapshotops.vm_info('running', root=self.root,
                                           SnapshotName='nova-resize')
        self.with_resize_snapshot()
        self.vbox.show_vm_info.side_effect = [running, self.info, self.info]
        calls = mock.Mock()
        calls.attach_mock(self.vmops.power_off, 'power_off')
        calls.attach_mock(self.vbox.run, 'run')
        self.ops.finish_revert_migration('ctx', self.instance, None,
                                         Migration())
        self.assertEqual([
            mock.call.power_off(self.instance),
            mock.call.run('snapshot', self.uuid, 'restore', 'nova-resize',
                          timeout=LONG),
            mock.call.run('snapshot', self.uuid, 'delete', 'nova-resize',
                          timeout=LONG),
        ], calls.mock_calls)
        self.vmops.power_on.assert_called_once_with(self.instance)

    def test_revert_of_a_stopped_resized_vm_does_not_power_it_off(self):
        self.with_resize_snapshot()
        self.ops.finish_revert_migration('ctx', self.instance, None,
                                         Migration())
        self.vmops.power_off.assert_not_called()

    def test_revert_of_a_grown_copy_deletes_it(self):
        vm_dir = self.pathutils.instance_dir(self.instance)
        grown = os.path.join(vm_dir, 'root.resized.frozen-uuid.vdi')
        resized = test_snapshotops.vm_info('poweroff', root=grown,
                                           SnapshotName='nova-resize')
        restored = test_snapshotops.vm_info('poweroff', root=self.root)
        self.vbox.show_vm_info.side_effect = [resized, restored]
        test_snapshotops.FakeVBox(self.vbox)
        os.makedirs(vm_dir)
        open(grown, 'w').close()
        self.ops.finish_revert_migration('ctx', self.instance, None,
                                         Migration())
        self.assertEqual([
            mock.call('snapshot', self.uuid, 'restore', 'nova-resize',
                      timeout=LONG),
            mock.call('snapshot', self.uuid, 'delete', 'nova-resize',
                      timeout=LONG),
            mock.call('closemedium', 'disk', grown, '--delete'),
        ], self.vbox.run.call_args_list)
        self.assertFalse(os.path.exists(grown))

    def test_revert_moves_a_merged_disk_back_to_root_vdi(self):
        # Real VirtualBox may merge the frozen disk into the child the
        # restore made, in Snapshots/.
        merged = os.path.join(self.pathutils.instance_dir(self.instance),
                              'Snapshots', '{c}.vdi')
        self.with_resize_snapshot()
        self.vbox.show_vm_info.side_effect = [
            self.info, test_snapshotops.vm_info(
                'poweroff', root=merged, **{'SATA-ImageUUID-0-0': 'c'})]
        self.ops.finish_revert_migration('ctx', self.instance, None,
                                         Migration(), power_on=False)
        self.assertEqual(mock.call('modifymedium', 'disk', 'c', '--move',
                                   self.root, timeout=LONG),
                         self.vbox.run.call_args)

    def test_revert_of_a_stopped_instance_stays_off(self):
        self.with_resize_snapshot()
        self.ops.finish_revert_migration('ctx', self.instance, None,
                                         Migration(), power_on=False)
        self.vmops.power_on.assert_not_called()

    def test_revert_at_the_source_of_a_migration_starts_the_vm(self):
        self.ops.finish_revert_migration('ctx', self.instance, None,
                                         Migration('h1', 'h2'))
        self.vbox.run.assert_not_called()
        self.vmops.power_on.assert_called_once_with(self.instance)

    def test_revert_at_the_source_reattaches_the_volumes_then_starts(self):
        bdi = {'block_device_mapping': [volume_bdm(1), volume_bdm(2)]}
        events = mock.Mock()
        events.attach_mock(self.volumeops.attach_volume, 'attach_volume')
        events.attach_mock(self.vmops.power_on, 'power_on')
        self.ops.finish_revert_migration('ctx', self.instance, None,
                                         Migration('h1', 'h2'), bdi)
        self.assertEqual(
            [('attach_volume', 'vol-1', '/dev/sdb'),
             ('attach_volume', 'vol-2', '/dev/sdc'), ('power_on',)],
            [(name,) + ((args[0]['data']['volume_id'], args[2])
                        if name == 'attach_volume' else ())
             for name, args, _kwargs in events.mock_calls])
        self.assertIs(self.instance,
                      self.volumeops.attach_volume.call_args.args[1])

    def test_revert_on_the_same_host_attaches_no_volume(self):
        # The VM kept its volumes; the snapshot restore keeps them too.
        self.with_resize_snapshot()
        self.ops.finish_revert_migration(
            'ctx', self.instance, None, Migration(),
            {'block_device_mapping': [volume_bdm(1)]})
        self.volumeops.attach_volume.assert_not_called()

    def test_revert_restore_failure_keeps_the_snapshot(self):
        self.with_resize_snapshot()
        test_snapshotops.FakeVBox(self.vbox,
                                  {'snapshot restore': failure()})
        self.assertRaises(vbox_exc.VBoxManageError,
                          self.ops.finish_revert_migration, 'ctx',
                          self.instance, None, Migration())
        self.assertEqual(1, self.vbox.run.call_count)
        self.vmops.power_on.assert_not_called()

    def test_keeps_vm_on_revert(self):
        self.assertFalse(self.ops.keeps_vm_on_revert(self.instance))
        self.instance.task_state = task_states.RESIZE_REVERTING
        self.assertFalse(self.ops.keeps_vm_on_revert(self.instance))
        self.with_resize_snapshot()
        self.assertTrue(self.ops.keeps_vm_on_revert(self.instance))
        self.vbox.show_vm_info.side_effect = failure(
            vbox_exc.VBoxObjectNotFound)
        self.assertFalse(self.ops.keeps_vm_on_revert(self.instance))
