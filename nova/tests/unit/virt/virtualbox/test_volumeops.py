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

import os
import stat
from unittest import mock

import fixtures

from nova import exception
from nova.tests.unit.virt.virtualbox import test_base
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import pathutils
from nova.virt.virtualbox import vboxmanage
from nova.virt.virtualbox import volumeops

IQN = 'iqn.2010-10.org.openstack:volume-5c7a'
SECRET = 'Chap-Secret-42'
UUID = '4fd89640-4231-4c44-a7b5-a3c7ca859849'
MEDIUM = '6e00c118-bc47-4956-ba39-5df821195b23'


def iscsi_info(chap=True, lun=1, portal='192.0.2.10:3260'):
    data = {'target_portal': portal, 'target_iqn': IQN, 'target_lun': lun,
            'volume_id': 'vol-1', 'target_discovered': False}
    if chap:
        data.update(auth_method='CHAP', auth_username='user',
                    auth_password=SECRET)
    return {'driver_volume_type': 'iscsi', 'data': data, 'serial': 'vol-1'}


def vm_info(state='poweroff', slots=None, ctl=('SATA', 'IntelAhci')):
    """showvminfo as parsed, with {(port, device): (location, uuid, hot)}."""
    info = {'VMState': state, 'UUID': UUID,
            'storagecontrollername0': ctl[0],
            'storagecontrollertype0': ctl[1],
            'storagecontrollermaxportcount0': 30 if ctl[1] == 'IntelAhci'
            else 2}
    for (port, device), (location, medium, hot) in (slots or {}).items():
        info['%s-%d-%d' % (ctl[0], port, device)] = location
        if medium:
            info['%s-ImageUUID-%d-%d' % (ctl[0], port, device)] = medium
            info['%s-hot-pluggable-%d-%d' % (ctl[0], port, device)] = hot
    return info


class VolumeTestBase(test_base.VBoxTestCase):

    def setUp(self):
        super().setUp()
        self.ops = volumeops.VolumeOps(self.vbox, pathutils.PathUtils())
        self.instance = test_base.FakeInstance()
        self.flags(iscsi_initiator_name='iqn.1994-05.com.example:laptop',
                   group='virtualbox')
        self.vbox.run.return_value = vboxmanage.Result('', '')


class HelpersTestCase(test_base.VBoxTestCase):

    def test_device_names_map_to_ports(self):
        for name, port in (('/dev/sda', 0), ('/dev/sdb', 1), ('sdc', 2),
                           ('/dev/vdd', 3), ('/dev/sdz', 25),
                           ('/dev/sdaa', 26), ('/dev/xvdb', 1)):
            self.assertEqual((port, 0), volumeops.slot_for_device(name))
        self.assertEqual((0, 1), volumeops.slot_for_device('/dev/hdb',
                                                           'PIIX4', 2))
        self.assertEqual((1, 1), volumeops.slot_for_device('/dev/hdd',
                                                           'PIIX4', 2))
        self.assertRaises(exception.TooManyDiskDevices,
                          volumeops.slot_for_device, '/dev/hde', 'PIIX4', 2)
        self.assertRaises(exception.TooManyDiskDevices,
                          volumeops.slot_for_device, '/dev/sdae')
        self.assertRaises(exception.InvalidDevicePath,
                          volumeops.slot_for_device, '/dev/nvme0n1')

    def test_portals(self):
        self.assertEqual(('10.0.0.1', '3260'),
                         volumeops.parse_portal('10.0.0.1:3260'))
        self.assertEqual(('fd00::1', '3261'),
                         volumeops.parse_portal('[fd00::1]:3261'))
        self.assertEqual(('host', '3260'), volumeops.parse_portal('host'))
        self.assertRaises(exception.InvalidConnectionInfo,
                          volumeops.parse_portal, 'h:port')

    def test_file_formats(self):
        folder = self.useFixture(fixtures.TempDir()).path

        def write(name, data, size=4096):
            path = os.path.join(folder, name)
            with open(path, 'wb') as f:
                f.write(data.ljust(size, b'\0'))
            return path
        vdi = b'<<< Oracle VM VirtualBox Disk Image >>>\n'.ljust(64, b'\0')
        self.assertEqual('VDI', volumeops.file_format(
            write('a.vdi', vdi + b'\x7f\x10\xda\xbe')))
        self.assertEqual('VMDK', volumeops.file_format(write('b', b'KDMV')))
        self.assertEqual('VHD', volumeops.file_format(
            write('c', b'conectix')))
        self.assertEqual('VHD', volumeops.file_format(
            write('d', b'\0' * 3584 + b'conectix')))
        self.assertEqual('QCOW', volumeops.file_format(
            write('e', b'QFI\xfb')))
        self.assertEqual('RAW', volumeops.file_format(write('f', b'')))


class ConnectorTestCase(VolumeTestBase):

    def test_connector(self):
        self.flags(my_ip='192.0.2.5', host='laptop')
        connector = self.ops.get_volume_connector(self.instance)
        self.assertEqual('192.0.2.5', connector['ip'])
        self.assertEqual('laptop', connector['host'])
        self.assertEqual('iqn.1994-05.com.example:laptop',
                         connector['initiator'])
        self.assertFalse(connector['multipath'])
        self.assertIn('os_type', connector)
        self.assertIn('platform', connector)
        self.vbox.run.assert_not_called()

    def test_initiator_from_open_iscsi_file(self):
        self.flags(iscsi_initiator_name=None, group='virtualbox')
        folder = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(folder, 'initiatorname.iscsi')
        with open(path, 'w') as f:
            f.write('## DO NOT EDIT\nInitiatorName=iqn.1993-08.org.debian:'
                    '01:abc\n')
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.virtualbox.volumeops.INITIATOR_FILE', path))
        self.assertEqual('iqn.1993-08.org.debian:01:abc',
                         self.ops.initiator_name())

    def test_generated_initiator_is_stable(self):
        self.flags(iscsi_initiator_name=None, group='virtualbox')
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.virtualbox.volumeops.INITIATOR_FILE',
            os.path.join(self.instances_path, 'missing')))
        first = self.ops.initiator_name()
        self.assertTrue(first.startswith(volumeops.INITIATOR_PREFIX))
        self.assertEqual(first, volumeops.VolumeOps(
            self.vbox).initiator_name())
        self.assertTrue(os.path.isfile(os.path.join(
            self.instances_path, volumeops.GENERATED_INITIATOR_FILE)))


class AttachTestCase(VolumeTestBase):

    def _capture_password_file(self):
        """Record the password file's content and mode when VBoxManage
        runs, as VBoxManage would read it."""
        seen = {}

        def run(*args, **kwargs):
            if '--passwordfile' in args:
                path = args[args.index('--passwordfile') + 1]
                with open(path) as f:
                    seen['content'] = f.read()
                seen['mode'] = stat.S_IMODE(os.stat(path).st_mode)
                seen['path'] = path
            return vboxmanage.Result('iSCSI disk created. UUID: %s\n'
                                     % MEDIUM, '')
        self.vbox.run.side_effect = run
        return seen

    def test_iscsi_attach_on_stopped_vm(self):
        self.vbox.show_vm_info.return_value = vm_info(
            slots={(0, 0): ('/x/root.vdi', 'r00t', 'off')})
        seen = self._capture_password_file()
        self.ops.attach_volume(iscsi_info(), self.instance, '/dev/sdb')
        args = self.vbox.run.call_args[0]
        self.assertEqual((
            'storageattach', UUID, '--storagectl', 'SATA', '--port', '1',
            '--device', '0', '--type', 'hdd', '--medium', 'iscsi',
            '--server', '192.0.2.10', '--tport', '3260', '--target', IQN,
            '--lun', '1', '--initiator', 'iqn.1994-05.com.example:laptop',
            '--username', 'user', '--mtype', 'writethrough',
            '--hotpluggable', 'on', '--passwordfile', seen['path']), args)
        self.assertEqual({'undo': mock.ANY}, self.vbox.run.call_args[1])
        self.assertEqual(SECRET, seen['content'])
        self.assertEqual(0o600, seen['mode'])
        self.assertFalse(os.path.exists(seen['path']))
        self.assertNotIn(SECRET, ' '.join(args))

    def test_retry_after_a_transient_failure_empties_the_slot_first(self):
        self.vbox.show_vm_info.return_value = vm_info()
        self.ops.attach_volume(iscsi_info(), self.instance, '/dev/sdb')
        undo = self.vbox.run.call_args[1]['undo']
        self.vbox.run.reset_mock()
        self.vbox.run.side_effect = [None, vbox_exc.VBoxObjectNotFound(
            command='storageattach', exit_code=1)]
        undo()  # the failed attempt had attached the volume
        undo()  # it had not: nothing to empty, no error
        empty = ('storageattach', UUID, '--storagectl', 'SATA', '--port',
                 '1', '--device', '0', '--medium', 'none')
        self.assertEqual([mock.call(*empty)] * 2,
                         self.vbox.run.call_args_list)

    def test_secret_never_logged_even_on_failure(self):
        logger = self.useFixture(fixtures.FakeLogger(level='DEBUG'))
        self.vbox.show_vm_info.return_value = vm_info()
        self.vbox.run.side_effect = vbox_exc.VBoxManageError(
            command='storageattach', exit_code=1, messages=['bad'])
        self.assertRaises(exception.VolumeAttachFailed,
                          self.ops.attach_volume, iscsi_info(),
                          self.instance, '/dev/sdb')
        self.assertNotIn(SECRET, logger.output)

    def test_real_wrapper_logs_no_secret(self):
        # Through the real VBoxManage wrapper with a stand-in command.
        logger = self.useFixture(fixtures.FakeLogger(level='DEBUG'))
        ops = volumeops.VolumeOps(vboxmanage.VBoxManage(
            command='echo iSCSI disk created. UUID: ' + MEDIUM))
        with mock.patch.object(ops._vbox, 'show_vm_info',
                               return_value=vm_info()):
            ops.attach_volume(iscsi_info(), self.instance, '/dev/sdc')
        self.assertIn('storageattach', logger.output)
        self.assertNotIn(SECRET, logger.output)

    def test_iscsi_without_chap(self):
        self.vbox.show_vm_info.return_value = vm_info()
        self.ops.attach_volume(iscsi_info(chap=False, lun=0,
                                          portal='[fd00::9]:3261'),
                               self.instance, '/dev/sdd')
        args = self.vbox.run.call_args[0]
        self.assertNotIn('--username', args)
        self.assertNotIn('--passwordfile', args)
        self.assertIn('fd00::9', args)
        self.assertEqual('3', args[args.index('--port') + 1])
        self.assertEqual('3261', args[args.index('--tport') + 1])

    def test_stale_iscsi_medium_is_closed_and_attach_retried(self):
        self.vbox.show_vm_info.return_value = vm_info()
        stale = ("Cannot register the hard disk '192.0.2.10|%s|1' {%s} "
                 "because a hard disk '192.0.2.10|%s|1' with UUID {%s} "
                 "already exists" % (IQN, UUID, IQN, MEDIUM))
        self.vbox.run.side_effect = [
            vbox_exc.VBoxAlreadyExists(command='storageattach', exit_code=1,
                                       messages=[stale]),
            vboxmanage.Result('', ''), vboxmanage.Result('', '')]
        self.ops.attach_volume(iscsi_info(chap=False), self.instance,
                               '/dev/sdb')
        calls = self.vbox.run.call_args_list
        self.assertEqual(('closemedium', 'disk', MEDIUM), calls[1][0])
        self.assertEqual(calls[0], calls[2])

    def test_attach_to_running_vm_hotplugs_on_sata(self):
        self.vbox.show_vm_info.return_value = vm_info(state='running')
        self.ops.attach_volume(iscsi_info(chap=False), self.instance,
                               '/dev/sdb')
        args = self.vbox.run.call_args[0]
        # VirtualBox marks a disk hot-plugged into a running VM itself and
        # refuses --hotpluggable while the VM runs.
        self.assertNotIn('--hotpluggable', args)

    def test_attach_to_running_vm_on_ide_is_refused(self):
        self.vbox.show_vm_info.return_value = vm_info(
            state='running', ctl=('IDE', 'PIIX4'))
        err = self.assertRaises(exception.VolumeAttachFailed,
                                self.ops.attach_volume, iscsi_info(),
                                self.instance, '/dev/hdb')
        self.assertIn('cannot hot-plug', str(err))
        self.vbox.run.assert_not_called()

    def test_port_taken_by_something_else(self):
        self.vbox.show_vm_info.return_value = vm_info(
            slots={(1, 0): ('/x/configdrive.iso', 'cd', 'off')})
        err = self.assertRaises(exception.VolumeAttachFailed,
                                self.ops.attach_volume, iscsi_info(),
                                self.instance, '/dev/sdb')
        self.assertIn('configdrive.iso', str(err))
        self.vbox.run.assert_not_called()

    def test_attach_twice_is_a_no_op(self):
        self.vbox.show_vm_info.return_value = vm_info(
            slots={(1, 0): ('192.0.2.10|%s|1' % IQN, MEDIUM, 'on')})
        self.ops.attach_volume(iscsi_info(), self.instance, '/dev/sdb')
        self.vbox.run.assert_not_called()

    def test_unsupported_connection_types(self):
        self.vbox.show_vm_info.return_value = vm_info()
        self.assertRaises(exception.VolumeDriverNotFound,
                          self.ops.attach_volume,
                          {'driver_volume_type': 'rbd', 'data': {}},
                          self.instance, '/dev/sdb')
        self.assertRaises(exception.VolumeAttachFailed,
                          self.ops.attach_volume, iscsi_info(),
                          self.instance, '/dev/sdb', encryption={'x': 1})

    def test_missing_vm(self):
        self.vbox.show_vm_info.side_effect = vbox_exc.VBoxObjectNotFound(
            command='showvminfo', exit_code=1)
        self.assertRaises(exception.InstanceNotFound, self.ops.attach_volume,
                          iscsi_info(), self.instance, '/dev/sdb')


class FileVolumeTestCase(VolumeTestBase):

    def setUp(self):
        super().setUp()
        self.folder = self.useFixture(fixtures.TempDir()).path
        self.raw = os.path.join(self.folder, 'volume-vol-2')
        with open(self.raw, 'wb') as f:
            f.truncate(1024 * 1024)
        self.vbox.show_vm_info.return_value = vm_info()

    def local(self, path=None, **data):
        data.setdefault('device_path', path or self.raw)
        data.setdefault('volume_id', 'vol-2')
        return {'driver_volume_type': 'local', 'data': data}

    def test_raw_file_goes_through_a_vmdk_descriptor(self):
        self.ops.attach_volume(self.local(), self.instance, '/dev/sdb')
        descriptor = self.ops.descriptor_path(self.instance, self.local())
        args = self.vbox.run.call_args[0]
        self.assertEqual(descriptor, args[args.index('--medium') + 1])
        with open(descriptor) as f:
            text = f.read()
        self.assertIn('RW 2048 FLAT "%s" 0' % self.raw, text)
        self.assertIn('createType="monolithicFlat"', text)

    def test_vdi_file_attached_as_is(self):
        vdi = os.path.join(self.folder, 'v.vdi')
        with open(vdi, 'wb') as f:
            f.write(b'\0' * 64 + b'\x7f\x10\xda\xbe' + b'\0' * 4000)
        self.ops.attach_volume(self.local(vdi), self.instance, '/dev/sdb')
        args = self.vbox.run.call_args[0]
        self.assertEqual(vdi, args[args.index('--medium') + 1])

    def test_nfs_share_that_is_a_local_folder(self):
        info = {'driver_volume_type': 'nfs',
                'data': {'export': '127.0.0.1:%s' % self.folder,
                         'name': 'volume-vol-2', 'volume_id': 'vol-2'}}
        self.ops.attach_volume(info, self.instance, '/dev/sdb')
        self.assertIn('--medium', self.vbox.run.call_args[0])
        info['data']['export'] = 'filer:/nowhere'
        err = self.assertRaises(exception.VolumeAttachFailed,
                                self.ops.attach_volume, info,
                                self.instance, '/dev/sdc')
        self.assertIn('mount it', str(err))

    def test_bad_files(self):
        qcow = os.path.join(self.folder, 'q')
        with open(qcow, 'wb') as f:
            f.write(b'QFI\xfb' + b'\0' * 1000)
        for path, text in ((qcow, 'qcow2'),
                           (os.path.join(self.folder, 'none'), 'not a file'),
                           ('/dev', 'not a file')):
            err = self.assertRaises(exception.VolumeAttachFailed,
                                    self.ops.attach_volume,
                                    self.local(path), self.instance,
                                    '/dev/sdb')
            self.assertIn(text, str(err))
        odd = os.path.join(self.folder, 'odd')
        with open(odd, 'wb') as f:
            f.write(b'x' * 1000)
        self.assertRaises(exception.VolumeAttachFailed,
                          self.ops.attach_volume, self.local(odd),
                          self.instance, '/dev/sdb')

    def test_detach_file_volume_closes_and_removes_descriptor(self):
        descriptor = self.ops.descriptor_path(self.instance, self.local())
        os.makedirs(os.path.dirname(descriptor))
        open(descriptor, 'w').close()
        self.vbox.show_vm_info.return_value = vm_info(
            slots={(1, 0): (descriptor, MEDIUM, 'on')})
        self.ops.detach_volume(self.local(), self.instance, '/dev/sdb')
        self.assertEqual([
            mock.call('storageattach', UUID, '--storagectl', 'SATA',
                      '--port', '1', '--device', '0', '--medium', 'none'),
            mock.call('closemedium', 'disk', MEDIUM),
        ], self.vbox.run.call_args_list)
        self.assertFalse(os.path.exists(descriptor))
        self.assertTrue(os.path.exists(self.raw))


class DetachTestCase(VolumeTestBase):

    def test_detach_iscsi_closes_the_medium(self):
        self.vbox.show_vm_info.return_value = vm_info(
            slots={(2, 0): ('192.0.2.10|%s|1' % IQN, MEDIUM, 'on')})
        self.ops.detach_volume(iscsi_info(), self.instance, '/dev/sdc')
        self.assertEqual([
            mock.call('storageattach', UUID, '--storagectl', 'SATA',
                      '--port', '2', '--device', '0', '--medium', 'none'),
            mock.call('closemedium', 'disk', MEDIUM),
        ], self.vbox.run.call_args_list)

    def test_detach_finds_the_volume_on_another_port(self):
        self.vbox.show_vm_info.return_value = vm_info(
            slots={(4, 0): ('192.0.2.10|%s|1' % IQN, MEDIUM, 'on')})
        self.ops.detach_volume(iscsi_info(), self.instance, '/dev/sdb')
        self.assertEqual('4', self.vbox.run.call_args_list[0][0][5])

    def test_two_luns_of_one_target_are_two_volumes(self):
        # LUN 0 of the target sits at sdb's port; the volume is LUN 1.
        self.vbox.show_vm_info.return_value = vm_info(
            slots={(1, 0): ('192.0.2.10|%s' % IQN, 'lun0', 'on'),
                   (3, 0): ('192.0.2.10|%s|1' % IQN, 'lun1', 'on')})
        self.ops.detach_volume(iscsi_info(), self.instance, '/dev/sdb')
        self.assertEqual(('storageattach', UUID, '--storagectl', 'SATA',
                          '--port', '3', '--device', '0', '--medium', 'none'),
                         self.vbox.run.call_args_list[0][0])
        self.assertEqual(('closemedium', 'disk', 'lun1'),
                         self.vbox.run.call_args_list[1][0])
        # Attaching LUN 1 where LUN 0 is: refused, not taken for it.
        self.vbox.run.reset_mock()
        self.vbox.show_vm_info.return_value = vm_info(
            slots={(1, 0): ('192.0.2.10|%s' % IQN, 'lun0', 'on')})
        self.assertRaises(exception.VolumeAttachFailed,
                          self.ops.attach_volume, iscsi_info(),
                          self.instance, '/dev/sdb')
        self.vbox.run.assert_not_called()

    def test_other_portal_is_another_volume(self):
        self.vbox.show_vm_info.return_value = vm_info(
            slots={(1, 0): ('192.0.2.99|%s|1' % IQN, MEDIUM, 'on')})
        self.ops.detach_volume(iscsi_info(), self.instance, '/dev/sdb')
        self.vbox.run.assert_not_called()

    def test_detach_from_running_vm_needs_hotpluggable(self):
        self.vbox.show_vm_info.return_value = vm_info(
            state='running',
            slots={(1, 0): ('192.0.2.10|%s|1' % IQN, MEDIUM, 'off')})
        err = self.assertRaises(exception.VolumeDetachFailed,
                                self.ops.detach_volume, iscsi_info(),
                                self.instance, '/dev/sdb')
        self.assertIn('hot-pluggable', str(err))
        self.vbox.run.assert_not_called()
        self.vbox.show_vm_info.return_value = vm_info(
            state='running',
            slots={(1, 0): ('192.0.2.10|%s|1' % IQN, MEDIUM, 'on')})
        self.ops.detach_volume(iscsi_info(), self.instance, '/dev/sdb')
        self.assertEqual(2, self.vbox.run.call_count)

    def test_detach_of_absent_volume_or_vm_is_quiet(self):
        self.vbox.show_vm_info.return_value = vm_info()
        self.ops.detach_volume(iscsi_info(), self.instance, '/dev/sdb')
        self.vbox.show_vm_info.side_effect = vbox_exc.VBoxObjectNotFound(
            command='showvminfo', exit_code=1)
        self.ops.detach_volume(iscsi_info(), self.instance, '/dev/sdb')
        self.vbox.run.assert_not_called()

    def test_close_failure_is_only_logged(self):
        self.vbox.show_vm_info.return_value = vm_info(
            slots={(1, 0): ('192.0.2.10|%s|1' % IQN, MEDIUM, 'on')})
        self.vbox.run.side_effect = [
            vboxmanage.Result('', ''),
            vbox_exc.VBoxObjectInUse(command='closemedium', exit_code=1)]
        self.ops.detach_volume(iscsi_info(), self.instance, '/dev/sdb')

    def test_storageattach_failure(self):
        self.vbox.show_vm_info.return_value = vm_info(
            slots={(1, 0): ('192.0.2.10|%s|1' % IQN, MEDIUM, 'on')})
        self.vbox.run.side_effect = vbox_exc.VBoxManageError(
            command='storageattach', exit_code=1, messages=['locked'])
        self.assertRaises(exception.VolumeDetachFailed,
                          self.ops.detach_volume, iscsi_info(),
                          self.instance, '/dev/sdb')


class SpawnDestroyTestCase(VolumeTestBase):

    def bdi(self):
        root = {'connection_info': iscsi_info(chap=False, lun=0),
                'mount_device': '/dev/sda', 'boot_index': 0,
                'disk_bus': 'sata'}
        data = iscsi_info(chap=False)
        data['data']['target_iqn'] = IQN + '-data'
        other = {'connection_info': data, 'mount_device': '/dev/sdc',
                 'boot_index': None}
        return {'block_device_mapping': [other, root],
                'root_device_name': '/dev/sda'}

    def test_boot_from_volume(self):
        self.assertEqual('/dev/sda', volumeops.VolumeOps.boot_volume(
            self.bdi())['mount_device'])
        self.assertIsNone(volumeops.VolumeOps.boot_volume(
            {'block_device_mapping': []}))
        attached = self.ops.attach_volumes_for_spawn(self.instance,
                                                     self.bdi())
        self.assertEqual([('vol-1', 'SATA', 0, 0), ('vol-1', 'SATA', 2, 0)],
                         attached)
        first, second = self.vbox.run.call_args_list
        self.assertNotIn('--hotpluggable', first[0])
        self.assertEqual('0', first[0][first[0].index('--port') + 1])
        self.assertIn('--hotpluggable', second[0])
        self.vbox.show_vm_info.assert_not_called()

    def test_keep_only_volumes_of_detaches_the_unmapped_ones(self):
        folder = self.ops._pathutils.instance_dir(self.instance)
        cache = self.ops._pathutils.image_cache_dir()
        self.vbox.show_vm_info.return_value = vm_info(slots={
            (0, 0): (os.path.join(folder, 'root.vdi'), 'root', 'off'),
            (1, 0): ('192.0.2.10|%s|1' % IQN, 'mapped', 'on'),
            (2, 0): ('192.0.2.10|%s-gone' % IQN, 'gone', 'on'),
            (3, 0): (os.path.join(cache, 'image.iso'), 'iso', 'off')})
        self.ops.keep_only_volumes_of(self.instance, {
            'block_device_mapping': [{'connection_info': iscsi_info(),
                                      'mount_device': '/dev/sdb'}]})
        self.assertEqual(
            [('storageattach', UUID, '--storagectl', 'SATA', '--port', '2',
              '--device', '0', '--medium', 'none'),
             ('closemedium', 'disk', 'gone')],
            [c[0] for c in self.vbox.run.call_args_list])

    def test_extend_is_not_supported(self):
        self.assertRaises(exception.ExtendVolumeNotSupported,
                          self.ops.extend_volume, iscsi_info(),
                          self.instance, 2 ** 30)
