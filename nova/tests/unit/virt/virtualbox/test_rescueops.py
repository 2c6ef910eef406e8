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

import json
import logging
import os
import shutil
from unittest import mock

import fixtures

from nova import context as nova_context
from nova import exception
from nova import objects
from nova.tests.unit.virt.virtualbox import test_base
from nova.tests.unit.virt.virtualbox import test_configdrive
from nova.tests.unit.virt.virtualbox import test_snapshotops
from nova.virt.virtualbox import configdrive
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import imagecache
from nova.virt.virtualbox import pathutils
from nova.virt.virtualbox import rescueops
from nova.virt.virtualbox import vboxmanage
from nova.virt.virtualbox import vmops

failure = test_snapshotops.failure
RESCUE_IMAGE = 'a1b2c3d4-0000-4000-8000-00000000000e'


def rescue_collaborators():
    """Path utils, a mocked VMOps and an image cache holding a rescue
    disk image."""
    vm_ops = mock.create_autospec(vmops.VMOps, instance=True)
    cache = mock.create_autospec(imagecache.ImageCache, instance=True)
    cache.get_cached_image.return_value = '/cache/rescue.vdi'
    cache.is_iso.return_value = False
    return pathutils.PathUtils(), vm_ops, cache


class RescueOpsTestCase(test_base.VBoxTestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.pathutils, self.vmops, self.cache = rescue_collaborators()
        self.image_api = mock.Mock()
        self.ops = rescueops.RescueOps(self.vbox, self.vmops, self.cache,
                                       self.pathutils, self.image_api)
        # No config drive: rescue builds none either.
        self.instance = test_base.FakeInstance(
            image_ref='img-1', config_drive='', launched_at='2026-01-01',
            image_meta=objects.ImageMeta.from_dict({}))
        self.uuid = self.instance.uuid
        self.vm_dir = self.pathutils.ensure_dir(
            self.pathutils.instance_dir(self.instance))
        self.root = os.path.join(self.vm_dir, 'root.vdi')
        self.rescue_disk = os.path.join(self.vm_dir, 'rescue.vdi')
        self.state_file = os.path.join(self.vm_dir, 'rescue.json')
        # A config drive on port 1: the root disk goes to port 2.
        self.vbox.show_vm_info.return_value = test_snapshotops.vm_info(
            'running', root=self.root, **{'SATA-1-0': '/x/configdrive.iso',
                                          'SATA-2-0': 'none'})
        self.meta = objects.ImageMeta.from_dict({'id': RESCUE_IMAGE})

    def attach(self, port, medium):
        return mock.call('storageattach', self.uuid, '--storagectl', 'SATA',
                         '--port', str(port), '--device', '0', '--type',
                         'hdd', '--medium', medium)

    def _rescue(self, meta=None):
        self.ops.rescue('ctx', self.instance, None, meta or self.meta, 'pw',
                        None, None)

    def test_rescue_boots_the_rescue_disk_with_the_root_second(self):
        test_snapshotops.FakeVBox(self.vbox)
        self._rescue()
        self.cache.get_cached_image.assert_called_once_with(
            'ctx', self.instance, self.meta)
        self.assertEqual([
            mock.call('clonemedium', 'disk', '/cache/rescue.vdi',
                      self.rescue_disk, '--format', 'VDI',
                      timeout=vboxmanage.TIMEOUT_LONG, undo=mock.ANY),
            self.attach(0, self.rescue_disk),
            self.attach(2, self.root),
        ], self.vbox.run.call_args_list)
        self.vmops.power_off.assert_called_once_with(self.instance)
        self.vmops.power_on.assert_called_once_with(self.instance)
        with open(self.state_file) as f:
            self.assertEqual({'controller': 'SATA', 'root': self.root,
                              'root_port': 2}, json.load(f))

    def test_rescue_without_image_uses_the_instance_image(self):
        test_snapshotops.FakeVBox(self.vbox)
        with mock.patch.object(objects.ImageMeta, 'from_image_ref',
                               return_value=self.meta) as from_ref:
            self._rescue(objects.ImageMeta.from_dict({}))
        from_ref.assert_called_once_with('ctx', self.image_api, 'img-1')
        self.cache.get_cached_image.assert_called_once_with(
            'ctx', self.instance, self.meta)

    def test_iso_rescue_image_is_refused(self):
        self.cache.is_iso.return_value = True
        self.assertRaises(exception.ImageUnacceptable, self._rescue)
        self.vmops.power_off.assert_not_called()

    def test_rescue_twice_is_refused(self):
        open(self.state_file, 'w').close()
        self.assertRaises(exception.InstanceNotRescuable, self._rescue)
        self.vmops.power_off.assert_not_called()

    def test_rescue_of_a_missing_vm(self):
        self.vbox.show_vm_info.side_effect = failure(
            vbox_exc.VBoxObjectNotFound)
        self.assertRaises(exception.InstanceNotFound, self._rescue)

    def test_clone_failure_leaves_nothing(self):
        test_snapshotops.FakeVBox(self.vbox, {'clonemedium': failure()})
        self.assertRaises(vbox_exc.VBoxManageError, self._rescue)
        self.assertEqual(1, self.vbox.run.call_count)
        self.assertFalse(os.path.exists(self.state_file))
        self.vmops.power_on.assert_not_called()

    def test_root_attach_failure_puts_the_root_back(self):
        fake = test_snapshotops.FakeVBox(self.vbox)

        def run(*args, **kwargs):
            if args[0] == 'storageattach' and args[5] == '2':
                raise failure()
            return fake.run(*args, **kwargs)
        self.vbox.run.side_effect = run
        self.assertRaises(vbox_exc.VBoxManageError, self._rescue)
        self.assertEqual([self.attach(0, self.root),
                          mock.call('closemedium', 'disk', self.rescue_disk,
                                    '--delete')],
                         self.vbox.run.call_args_list[-2:])
        self.assertFalse(os.path.exists(self.rescue_disk))
        self.assertFalse(os.path.exists(self.state_file))

    def test_unrescue_restores_the_layout_and_deletes_the_rescue_disk(self):
        test_snapshotops.FakeVBox(self.vbox)
        self._rescue()
        self.vbox.reset_mock()
        self.vmops.reset_mock()
        self.ops.unrescue('ctx', self.instance)
        self.assertEqual([
            mock.call('storageattach', self.uuid, '--storagectl', 'SATA',
                      '--port', '2', '--device', '0', '--medium', 'none'),
            self.attach(0, self.root),
            mock.call('closemedium', 'disk', self.rescue_disk, '--delete'),
        ], self.vbox.run.call_args_list)
        self.assertFalse(os.path.exists(self.state_file))
        self.assertFalse(os.path.exists(self.rescue_disk))
        self.vmops.power_off.assert_called_once_with(self.instance)
        self.vmops.power_on.assert_called_once_with(self.instance)

    def test_unrescue_of_an_instance_not_in_rescue(self):
        self.ops.unrescue('ctx', self.instance)
        self.vbox.run.assert_not_called()
        self.vmops.power_off.assert_not_called()

    def test_free_port(self):
        self.assertEqual(1, rescueops.RescueOps._free_port(
            {'SATA-0-0': '/r', 'SATA-1-0': 'none'}, 'SATA'))
        self.assertEqual(3, rescueops.RescueOps._free_port(
            {'SATA-0-0': '/r', 'SATA-1-0': '/a', 'SATA-2-0': '/b',
             'SATA-ImageUUID-0-0': 'u', 'IDE-3-0': 'x'}, 'SATA'))


class RescueConfigDriveTestCase(test_base.VBoxTestCase):
    """Rescue of an instance with a config drive: the rescue boot gets a
    config drive of its own carrying the rescue password."""

    PASSWORD = 'R3scue-S3cret!'

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.log = self.useFixture(fixtures.FakeLogger(
            name='nova', level=logging.DEBUG, format='%(message)s'))
        self.useFixture(test_configdrive.mock_security_groups())
        # Nova reads the block device mappings from its database.
        self.useFixture(fixtures.MockPatch(
            'nova.objects.BlockDeviceMappingList.get_by_instance_uuid',
            return_value=objects.BlockDeviceMappingList(objects=[])))
        self.pathutils, self.vmops, self.cache = rescue_collaborators()
        self.ops = rescueops.RescueOps(self.vbox, self.vmops, self.cache,
                                       self.pathutils, mock.Mock())
        self.instance = test_configdrive.metadata_instance(
            nova_context.RequestContext('user', 'project'))
        self.uuid = self.instance.uuid
        self.vm_dir = self.pathutils.ensure_dir(
            self.pathutils.instance_dir(self.instance))
        self.root = os.path.join(self.vm_dir, 'root.vdi')
        self.rescue_disk = os.path.join(self.vm_dir, 'rescue.vdi')
        self.state_file = os.path.join(self.vm_dir, 'rescue.json')
        self.config_drive = os.path.join(self.vm_dir, 'configdrive.iso')
        self.rescue_drive = os.path.join(self.vm_dir,
                                         'configdrive-rescue.iso')
        with open(self.config_drive, 'wb') as f:
            f.write(b'the instance config drive')
        # As vmops builds it: a SATA root disk and the config drive on port
        # 1, device 1 of the IDE controller.
        self.vbox.show_vm_info.return_value = test_snapshotops.vm_info(
            'running', root=self.root, **{
                'storagecontrollername1': 'IDE', 'IDE-0-0': 'none',
                'IDE-0-1': 'none', 'IDE-1-0': 'none',
                'IDE-1-1': self.config_drive})
        self.meta = objects.ImageMeta.from_dict({'id': RESCUE_IMAGE})
        self.fake = test_snapshotops.FakeVBox(self.vbox)

    def fake_iso_builder(self):
        """Nova's ISO builder writing a stand-in (no genisoimage needed)."""
        def make_drive(path):
            with open(path, 'wb') as f:
                f.write(b'rescue config drive')
        self.useFixture(fixtures.MockPatch(
            'nova.virt.configdrive.ConfigDriveBuilder.make_drive',
            side_effect=make_drive))

    def dvd(self, medium, controller='IDE', port=1, device=1):
        return mock.call('storageattach', self.uuid, '--storagectl',
                         controller, '--port', str(port), '--device',
                         str(device), '--type', 'dvddrive', '--medium',
                         medium)

    def hdd(self, port, medium):
        return mock.call('storageattach', self.uuid, '--storagectl', 'SATA',
                         '--port', str(port), '--device', '0', '--type',
                         'hdd', '--medium', medium)

    def _rescue(self):
        self.ops.rescue('ctx', self.instance, test_configdrive.network_info(),
                        self.meta, self.PASSWORD, None, None)

    def test_rescue_boots_with_a_config_drive_holding_the_password(self):
        if not shutil.which('genisoimage'):
            self.skipTest('genisoimage is not installed (apt-get install '
                          'genisoimage)')
        self._rescue()
        self.assertEqual([
            mock.call('clonemedium', 'disk', '/cache/rescue.vdi',
                      self.rescue_disk, '--format', 'VDI',
                      timeout=vboxmanage.TIMEOUT_LONG, undo=mock.ANY),
            self.dvd(self.rescue_drive),
            self.hdd(0, self.rescue_disk),
            self.hdd(1, self.root),
        ], self.vbox.run.call_args_list)
        files, label = test_configdrive.read_iso9660(self.rescue_drive)
        self.assertEqual('config-2', label)
        meta = json.loads(files['openstack/latest/meta_data.json'])
        self.assertEqual(self.PASSWORD, meta['admin_pass'])
        self.assertEqual(self.uuid, meta['uuid'])
        # The instance's own config drive is kept for unrescue, unchanged.
        with open(self.config_drive, 'rb') as f:
            self.assertEqual(b'the instance config drive', f.read())
        # The ISO file carries the password; no log line or command does.
        self.assertNotIn(self.PASSWORD, str(self.vbox.mock_calls))
        self.assertNotIn(self.PASSWORD, self.log.output)
        with open(self.state_file) as f:
            self.assertNotIn(self.PASSWORD, f.read())

    def test_unrescue_puts_the_config_drive_back(self):
        self.fake_iso_builder()
        self._rescue()
        self.assertTrue(os.path.exists(self.rescue_drive))
        self.vbox.reset_mock()
        self.vbox.run.side_effect = self.fake.run
        self.ops.unrescue('ctx', self.instance)
        self.assertEqual([
            mock.call('storageattach', self.uuid, '--storagectl', 'SATA',
                      '--port', '1', '--device', '0', '--medium', 'none'),
            self.hdd(0, self.root),
            mock.call('closemedium', 'disk', self.rescue_disk, '--delete'),
            self.dvd(self.config_drive),
            mock.call('closemedium', 'dvd', self.rescue_drive),
        ], self.vbox.run.call_args_list)
        self.assertFalse(os.path.exists(self.rescue_drive))
        self.assertFalse(os.path.exists(self.state_file))
        self.assertTrue(os.path.exists(self.config_drive))

    def test_rescue_adds_a_missing_dvd_controller_and_unrescue_removes_it(
            self):
        # A VM built without a config drive on IDE (an older driver).
        self.vbox.show_vm_info.return_value = test_snapshotops.vm_info(
            'running', root=self.root)
        self.fake_iso_builder()
        self._rescue()
        self.assertEqual([
            mock.call('storagectl', self.uuid, '--name', 'IDE', '--add',
                      'ide', '--controller', 'PIIX4', '--portcount', '2',
                      '--bootable', 'on'),
            self.dvd(self.rescue_drive),
        ], self.vbox.run.call_args_list[1:3])
        self.vbox.reset_mock()
        self.vbox.run.side_effect = self.fake.run
        self.ops.unrescue('ctx', self.instance)
        self.assertEqual([
            mock.call('storagectl', self.uuid, '--name', 'IDE', '--remove'),
            mock.call('closemedium', 'dvd', self.rescue_drive),
        ], self.vbox.run.call_args_list[-2:])
        self.assertFalse(os.path.exists(self.rescue_drive))

    def test_rescue_failure_puts_the_config_drive_back(self):
        self.fake_iso_builder()

        def run(*args, **kwargs):
            # The root disk's move to port 1 of SATA, the last step.
            if args[0] == 'storageattach' and args[3:6] == ('SATA',
                                                            '--port', '1'):
                raise test_snapshotops.failure()
            return self.fake.run(*args, **kwargs)
        self.vbox.run.side_effect = run
        self.assertRaises(vbox_exc.VBoxManageError, self._rescue)
        self.assertEqual([
            self.hdd(0, self.root),
            self.dvd(self.config_drive),
            mock.call('closemedium', 'dvd', self.rescue_drive),
            mock.call('closemedium', 'disk', self.rescue_disk, '--delete'),
        ], self.vbox.run.call_args_list[-4:])
        self.assertFalse(os.path.exists(self.rescue_drive))
        self.assertFalse(os.path.exists(self.state_file))
        self.assertTrue(os.path.exists(self.config_drive))

    def test_config_drive_build_failure_leaves_the_vm_alone(self):
        self.useFixture(fixtures.MockPatch(
            'nova.virt.configdrive.ConfigDriveBuilder.make_drive',
            side_effect=OSError('genisoimage: not found')))
        self.assertRaises(configdrive.ConfigDriveBuildFailed, self._rescue)
        self.vmops.power_off.assert_not_called()
        self.vbox.run.assert_not_called()
        self.assertFalse(os.path.exists(self.rescue_drive))

    def test_power_off_failure_deletes_the_rescue_drive(self):
        self.fake_iso_builder()
        self.vmops.power_off.side_effect = exception.InstancePowerOffFailure(
            reason='boom')
        self.assertRaises(exception.InstancePowerOffFailure, self._rescue)
        self.vbox.run.assert_not_called()
        self.assertFalse(os.path.exists(self.rescue_drive))
