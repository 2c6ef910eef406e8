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

"""Snapshot, resize and rescue configurations on the real VBoxManage 7.2.

No VM can start there, so the VMs stay powered off: the snapshot's frozen
clone uses an offline VirtualBox snapshot (real VirtualBox refuses --live
for a VM that is not running), and power on/off is mocked for rescue.
"""

import os
import shutil
import subprocess
from unittest import mock
import uuid

from nova import objects
from nova import test
from nova.tests.functional.virtualbox import vbox_fixtures
from nova.tests.unit.virt.virtualbox import test_base
from nova.tests.unit.virt.virtualbox import test_migrationops
from nova.virt.virtualbox import conf as vbox_conf
from nova.virt.virtualbox import configdrive
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import migrationops
from nova.virt.virtualbox import pathutils
from nova.virt.virtualbox import rescueops
from nova.virt.virtualbox import snapshotops
from nova.virt.virtualbox import vboxmanage
from nova.virt.virtualbox import vmops

import nova.conf

CONF = nova.conf.CONF
vbox_conf.register_opts(CONF)
Flavor = test_migrationops.Flavor
Migration = test_migrationops.Migration


class SnapshotResizeRescueRealVBoxTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        real = self.useFixture(vbox_fixtures.RealVBoxFixture())
        self.work = real.workdir
        self.instances = os.path.join(self.work, 'instances')
        self.flags(instances_path=self.instances, my_ip='10.0.0.1',
                   host='h1')
        self.flags(vboxmanage_cmd=real.command, retry_interval=0.2,
                   group='virtualbox')
        self.vbox = vboxmanage.VBoxManage(real.command)
        self.pathutils = pathutils.PathUtils()
        self.base = os.path.join(self.work, 'base.vdi')
        self.vbox.run('createmedium', 'disk', '--filename', self.base,
                      '--size', '64', '--format', 'VDI')
        self.addCleanup(self._close, self.base)
        self.instance = test_base.FakeInstance(
            uuid=str(uuid.uuid4()),
            name='nova-rt-snap-%s' % uuid.uuid4().hex[:8],
            flavor=Flavor(root_gb=1, memory_mb=256, vcpus=1),
            project_id='p', os_type=None, task_state=None)
        self.root = self.pathutils.root_disk_path(self.instance)
        self._make_vm()

    def _close(self, path):
        try:
            self.vbox.run('closemedium', 'disk', path, '--delete')
        except vbox_exc.VBoxError:
            pass

    def _make_vm(self):
        inst = self.instance
        self.vbox.run('createvm', '--name', inst.name, '--uuid', inst.uuid,
                      '--ostype', 'Linux_64', '--basefolder', self.instances,
                      '--register')
        self.addCleanup(self._destroy)
        self.vbox.run('createmedium', 'disk', '--filename', self.root,
                      '--diffparent', self.base, '--format', 'VDI')
        self.vbox.run('storagectl', inst.uuid, '--name', 'SATA', '--add',
                      'sata', '--controller', 'IntelAhci', '--portcount',
                      '4', '--bootable', 'on')
        self.vbox.run('storageattach', inst.uuid, '--storagectl', 'SATA',
                      '--port', '0', '--device', '0', '--type', 'hdd',
                      '--medium', self.root)
        self.vbox.run('modifyvm', inst.uuid, '--memory', '256', '--cpus',
                      '1')

    def _destroy(self):
        try:
            self.vbox.run('unregistervm', self.instance.uuid, '--delete')
        except vbox_exc.VBoxError:
            pass

    def _vm(self):
        return self.vbox.show_vm_info(self.instance.uuid)

    def _root(self):
        info = self.vbox.show_medium_info(
            snapshotops.root_attachment(self._vm())[1])
        return info['UUID'], info['capacity_mb']

    def _snapshots(self):
        return snapshotops.snapshot_names(self._vm())

    # -- snapshot ---------------------------------------------------------

    def test_frozen_clone_is_standalone_and_leaves_no_snapshot(self):
        ops = snapshotops.SnapshotOps(self.vbox, self.pathutils, mock.Mock())
        target = os.path.join(self.work, 'image.vdi')
        ops.capture_frozen(self.instance, self.root, target, 'nova-image-x',
                           live=False)
        info = self.vbox.show_medium_info(target)
        self.assertIsNone(info['parent_uuid'])
        self.assertEqual(64, info['capacity_mb'])
        self.assertEqual([], self._snapshots())
        # Deleting the snapshot merges root.vdi INTO the differencing image
        # VirtualBox made at the take: the disk now lives in Snapshots/
        # (its content is the same; the modules look the disk up by its
        # attachment, never by the name root.vdi).
        attached = snapshotops.root_attachment(self._vm())[1]
        self.assertIn('/Snapshots/', attached)
        self.assertFalse(os.path.exists(self.root))
        self.assertEqual(64, self.vbox.show_medium_info(attached)[
            'capacity_mb'])
        ops.remove_clone(target)
        self.assertFalse(os.path.exists(target))

    def test_live_flag_is_refused_for_a_vm_that_is_not_running(self):
        ops = snapshotops.SnapshotOps(self.vbox, self.pathutils, mock.Mock())
        self.assertRaises(vbox_exc.VBoxInvalidVMState, ops.take_snapshot,
                          self.instance, 'x', live=True)
        self.assertEqual([], self._snapshots())

    def test_snapshot_of_a_stopped_vm_uploads_a_flat_vdi(self):
        image_api = mock.Mock()
        seen = []
        image_api.update.side_effect = (
            lambda ctx, image_id, meta, data, purge_props: seen.append(
                (meta['disk_format'], data.read(64))))
        ops = snapshotops.SnapshotOps(self.vbox, self.pathutils, image_api)
        ops.snapshot('ctx', self.instance, 'img-1', mock.Mock())
        [(fmt, head)] = seen
        self.assertEqual('vdi', fmt)
        self.assertIn(b'VirtualBox Disk Image', head)
        # The flat copy is gone; its folder stays for other snapshots.
        self.assertEqual([], os.listdir(os.path.join(self.instances,
                                                     '_snapshots')))

    def test_grown_differencing_disk_cannot_be_cloned(self):
        # A VirtualBox 7.2 limit the snapshot documents: the clone fails
        # and nothing is left behind.
        self.vbox.run('modifymedium', 'disk', self.root, '--resize', '128')
        ops = snapshotops.SnapshotOps(self.vbox, self.pathutils, mock.Mock())
        target = os.path.join(self.work, 'image.vdi')
        self.assertRaises(vbox_exc.VBoxManageError, ops.clone_flat,
                          self.root, target)
        self.assertFalse(os.path.exists(target))

    # -- resize -----------------------------------------------------------

    def _migration_ops(self):
        return migrationops.MigrationOps(
            self.vbox, vmops.VMOps(self.vbox, self.pathutils,
                                   image_cache=mock.Mock()),
            self.pathutils)

    def _resize(self, ops):
        ops.migrate_disk_and_power_off('ctx', self.instance, '10.0.0.1',
                                       Flavor(root_gb=2), None)
        self.assertEqual(['nova-resize'], self._snapshots())
        self.instance.old_flavor = self.instance.flavor
        self.instance.flavor = Flavor(root_gb=2, memory_mb=512, vcpus=2)
        ops.finish_migration('ctx', Migration(), self.instance,
                             '{"same_host": true}', None, None, True,
                             power_on=False)
        vm = self._vm()
        self.assertEqual((512, 2), (vm['memory'], vm['cpus']))
        self.assertEqual(2048, self._root()[1])

    def test_resize_then_revert_restores_the_original(self):
        original = self._root()
        ops = self._migration_ops()
        self._resize(ops)
        self.instance.task_state = 'resize_reverting'
        self.assertTrue(ops.keeps_vm_on_revert(self.instance))
        ops.finish_revert_migration('ctx', self.instance, None, Migration(),
                                    power_on=False)
        vm = self._vm()
        self.assertEqual((256, 1), (vm['memory'], vm['cpus']))
        self.assertEqual(original, self._root())
        self.assertEqual(self.root, vm['SATA-0-0'])
        self.assertEqual([], self._snapshots())

    def test_resize_then_confirm_keeps_the_grown_disk_at_root_vdi(self):
        ops = self._migration_ops()
        self._resize(ops)
        ops.confirm_migration('ctx', Migration(), self.instance, None)
        vm = self._vm()
        self.assertEqual([], self._snapshots())
        self.assertEqual(self.root, vm['SATA-0-0'])
        self.assertEqual(2048, self._root()[1])

    def test_shrinking_a_disk_is_refused_by_virtualbox_too(self):
        self.vbox.run('modifymedium', 'disk', self.root, '--resize', '128')
        self.assertRaises(vbox_exc.VBoxManageError, self.vbox.run,
                          'modifymedium', 'disk', self.root, '--resize',
                          '64')

    # -- rescue -----------------------------------------------------------

    def test_rescue_layout_and_unrescue(self):
        objects.register_all()
        rescue_base = os.path.join(self.work, 'rescue-base.vdi')
        self.vbox.run('createmedium', 'disk', '--filename', rescue_base,
                      '--size', '32', '--format', 'VDI')
        self.addCleanup(self._close, rescue_base)
        cache = mock.Mock()
        cache.get_cached_image.return_value = rescue_base
        cache.is_iso.return_value = False
        ops = rescueops.RescueOps(self.vbox, mock.Mock(), cache,
                                  self.pathutils, mock.Mock())
        # No config drive (what configdrive.required_by reads): the
        # rescue boot gets none either.
        self.instance.config_drive = ''
        self.instance.image_meta = objects.ImageMeta.from_dict({})
        before = self._vm()
        meta = objects.ImageMeta.from_dict({'id': str(uuid.uuid4())})
        ops.rescue('ctx', self.instance, None, meta, 'pw', None, None)
        vm = self._vm()
        self.assertTrue(vm['SATA-0-0'].endswith('/rescue.vdi'))
        self.assertEqual(self.root, vm['SATA-1-0'])
        ops.unrescue('ctx', self.instance)
        after = self._vm()
        for key, value in before.items():
            if str(key).startswith('SATA') or str(key).startswith('boot'):
                self.assertEqual(value, after.get(key), key)
        self.assertFalse(os.path.exists(os.path.join(
            self.pathutils.instance_dir(self.instance), 'rescue.vdi')))

    def _make_iso(self, path):
        source = os.path.join(self.work, 'iso-source')
        os.makedirs(source, exist_ok=True)
        subprocess.run(['genisoimage', '-quiet', '-o', path, source],
                       check=True)
        return path

    def _forget_vm_then_dvds(self, *isos):
        # Unregistering leaves DVD images registered (see vmops'
        # _forget_config_drive); a medium in use cannot be closed.
        self._destroy()
        for iso in isos:
            try:
                self.vbox.run('closemedium', 'dvd', iso)
            except vbox_exc.VBoxError:
                pass

    def test_rescue_config_drive_takes_the_dvd_slot_until_unrescue(self):
        if not shutil.which('genisoimage'):
            self.skipTest('genisoimage is not installed')
        objects.register_all()
        rescue_base = os.path.join(self.work, 'rescue-base.vdi')
        self.vbox.run('createmedium', 'disk', '--filename', rescue_base,
                      '--size', '32', '--format', 'VDI')
        self.addCleanup(self._close, rescue_base)
        drive = configdrive.ConfigDrive(self.vbox, self.pathutils)
        own_iso = self._make_iso(drive.path(self.instance))
        rescue_iso = drive.rescue_path(self.instance)
        self.addCleanup(self._forget_vm_then_dvds, own_iso, rescue_iso)
        # The config drive where vmops puts it: IDE port 1, device 1.
        self.vbox.run('storagectl', self.instance.uuid, '--name', 'IDE',
                      '--add', 'ide', '--controller', 'PIIX4',
                      '--portcount', '2', '--bootable', 'on')
        drive.attach(self.instance, 'IDE', 1, 1)
        cache = mock.Mock()
        cache.get_cached_image.return_value = rescue_base
        cache.is_iso.return_value = False
        ops = rescueops.RescueOps(self.vbox, mock.Mock(), cache,
                                  self.pathutils, mock.Mock(), drive)
        meta = objects.ImageMeta.from_dict({'id': str(uuid.uuid4())})

        def build_rescue_iso(*args, **kwargs):
            return self._make_iso(rescue_iso)
        # Nova's InstanceMetadata needs a full Instance; the unit tests
        # prove what ConfigDrive puts in the ISO, any ISO does here.
        with mock.patch.object(drive, 'create', side_effect=build_rescue_iso):
            ops.rescue('ctx', self.instance, None, meta, 'pw', None, None)
        self.assertEqual(rescue_iso, self._vm()['IDE-1-1'])
        ops.unrescue('ctx', self.instance)
        self.assertEqual(own_iso, self._vm()['IDE-1-1'])
        self.assertFalse(os.path.exists(rescue_iso))
        self.assertNotIn(rescue_iso, self.vbox.run('list', 'dvds').stdout)
