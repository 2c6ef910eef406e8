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

import contextlib
import os
import shutil
import threading
import time
from unittest import mock

import fixtures

from nova import exception
from nova import objects
from nova.tests.unit.virt.virtualbox import test_base
from nova.virt.virtualbox import constants
from nova.virt.virtualbox import disklayout
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import parsers
from nova.virt.virtualbox import pathutils
from nova.virt.virtualbox import vboxmanage
from nova.virt.virtualbox import vmops

UUID = '4fd89640-4231-4c44-a7b5-a3c7ca859849'
IMAGE_ID = '8b2e5b6e-8c4b-4a4e-9a11-1d6f0c3e2f11'


def _error(cls, text='VBoxManage said no'):
    return cls(command='x', exit_code=1, messages=[text])


def not_running():
    return _error(vbox_exc.VBoxInvalidVMState,
                  "Machine 'x' is not currently running.")


def not_found():
    return _error(vbox_exc.VBoxObjectNotFound,
                  "Could not find a registered machine named 'x'")


class FakeClock(object):
    """time.monotonic/time.sleep of vmops: sleeping moves the clock."""

    def __init__(self, test):
        self.now = 1000.0
        self.sleeps = []
        test.useFixture(fixtures.MonkeyPatch(
            'nova.virt.virtualbox.vmops.time.monotonic', self.monotonic))
        test.useFixture(fixtures.MonkeyPatch(
            'nova.virt.virtualbox.vmops.time.sleep', self.sleep))

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class VMOpsTestBase(test_base.VBoxTestCase):

    def setUp(self):
        super().setUp()
        self.flags(retry_interval=1, group='virtualbox')
        self.pathutils = pathutils.PathUtils()
        self.imagecache = mock.Mock()
        self.console = mock.Mock()
        self.console.vrde_args.return_value = ['--vrde', 'off']
        self.console.serial_args.return_value = ['--uart1', '0x3F8', '4']
        self.configdrive = mock.Mock()
        self.configdrive.create.return_value = None
        self.vmops = vmops.VMOps(self.vbox, self.pathutils,
                                 image_cache=self.imagecache,
                                 console_ops=self.console,
                                 config_drive=self.configdrive)
        self.instance = test_base.FakeInstance(
            uuid=UUID, display_name='web "one"\nsecond line',
            image_ref=IMAGE_ID, system_metadata={},
            flavor=objects.Flavor(memory_mb=512, vcpus=2, root_gb=3,
                                  ephemeral_gb=0, swap=0))
        self.vm_dir = self.pathutils.instance_dir(self.instance)
        self.root = self.pathutils.root_disk_path(self.instance)
        self.states = []

    def image(self, **properties):
        return objects.ImageMeta.from_dict({'id': IMAGE_ID,
                                            'disk_format': 'vdi',
                                            'properties': properties})

    def make_vm_files(self):
        """What createvm makes: the VM folder with its settings file."""
        os.makedirs(self.vm_dir, exist_ok=True)
        open(os.path.join(self.vm_dir, self.instance.name + '.vbox'),
             'w').close()

    def set_states(self, *states):
        """showvminfo answers these VMStates in turn (the last repeats)."""
        self.states = list(states)

        def show(vm):
            state = self.states.pop(0) if len(self.states) > 1 else (
                self.states[0])
            return {'VMState': state, 'UUID': UUID}
        self.vbox.show_vm_info.side_effect = show

    def commands(self):
        return [c[0] for c in self.vbox.run.call_args_list]

    def fail_on(self, command, error):
        """vbox.run raises ``error`` for the first call of ``command``
        (e.g. 'startvm' or 'controlvm poweroff')."""
        words = command.split()

        def run(*args, **kwargs):
            if args[0] == 'createvm':
                self.make_vm_files()
            if (list(args[:1]) + list(args[2:2 + len(words) - 1]) == words
                    and not getattr(run, 'fired', False)):
                run.fired = True
                raise error
            return vboxmanage.Result('', '')
        self.vbox.run.side_effect = run


class ListingAndInfoTestCase(VMOpsTestBase):

    def _make_nova_vm(self, name):
        vm_dir = self.pathutils.ensure_dir(self.pathutils.vm_dir(name))
        open(os.path.join(vm_dir, name + '.vbox'), 'w').close()

    def test_listing_skips_the_users_own_vms(self):
        self._make_nova_vm('instance-00000001')
        self._make_nova_vm('instance-00000002')
        self.vbox.list_vms.return_value = [
            ('instance-00000001', 'u1'), ('my ubuntu', 'u2'),
            ('instance-00000002', 'u3'), ('instance-00000009', 'u4')]
        self.assertEqual(['instance-00000001', 'instance-00000002'],
                         self.vmops.list_instances())
        self.assertEqual(['u1', 'u3'], self.vmops.list_instance_uuids())
        self.assertEqual(2, self.vbox.list_vms.call_count)

    def test_instance_exists(self):
        self.set_states('poweroff')
        self.assertTrue(self.vmops.instance_exists(self.instance))
        self.vbox.show_vm_info.side_effect = not_found()
        self.assertFalse(self.vmops.instance_exists(self.instance))

    def test_every_documented_vmstate_is_mapped(self):
        # VBoxManageInfo.cpp's list; there is no "stuck".
        documented = (
            'poweroff saved teleported aborted aborted-saved running paused '
            'gurumeditation teleporting livesnapshotting starting stopping '
            'saving restoring teleportingpausedvm teleportingin '
            'deletingsnapshotlive deletingsnapshotlivepaused '
            'onlinesnapshotting restoringsnapshot deletingsnapshot settingup '
            'snapshotting unknown').split()
        self.assertEqual(sorted(documented),
                         sorted(constants.POWER_STATE_MAP))

    def test_diagnostics_of_the_real_showvminfo(self):
        info = parsers.parse_machine_readable(
            self.stdout_of('110-showvminfo-m1-mr.txt'))
        info.update({'VMState': 'running', 'SATA-0-0': '/vms/m1/root.vdi',
                     'SATA-ImageUUID-0-0': 'abc'})
        self.vbox.show_vm_info.return_value = info
        with mock.patch.object(vmops.time, 'time',
                               return_value=1795996108.0 + 60):
            diags = self.vmops.get_diagnostics(self.instance)
        self.assertEqual('running', diags['state'])
        self.assertEqual(1024, diags['memory_mb'])
        self.assertEqual(1, diags['cpus'])
        self.assertEqual('/vms/m1/root.vdi', diags['disk_SATA-0-0'])
        self.assertNotIn('disk_SATA-ImageUUID-0-0', diags)
        self.assertNotIn('disk_SATA-1-0', diags)
        self.assertEqual('nat', diags['nic1'])
        self.assertEqual('0800278CE32A', diags['nic1_mac'])
        self.assertNotIn('nic2', diags)
        self.assertIsInstance(diags['uptime'], int)
        self.vbox.run.assert_not_called()

    def test_diagnostics_of_a_stopped_vm_have_no_uptime(self):
        self.vbox.show_vm_info.return_value = (
            parsers.parse_machine_readable(
                self.stdout_of('110-showvminfo-m1-mr.txt')))
        diags = self.vmops.get_diagnostics(self.instance)
        self.assertEqual('poweroff', diags['state'])
        self.assertNotIn('uptime', diags)


class SpawnTestCase(VMOpsTestBase):

    def setUp(self):
        super().setUp()
        self.imagecache.create_root_disk.return_value = self.root
        self.fail_on('nothing', None)

    def spawn(self, image=None, **kwargs):
        self.vmops.spawn(mock.sentinel.context, self.instance,
                         image or self.image(), **kwargs)

    def expected_commands(self, ostype='Linux_64', firmware='bios',
                          rtc='on', bus=('sata', 'IntelAhci', 'SATA', 30)):
        return [
            ('createvm', '--name', 'instance-0000002a', '--uuid', UUID,
             '--ostype', ostype, '--basefolder', self.instances_path,
             '--groups', '/nova', '--register'),
            ('modifyvm', UUID, '--memory', '512', '--cpus', '2',
             '--ioapic', 'on', '--rtc-use-utc', rtc,
             '--firmware', firmware,
             '--boot1', 'disk', '--boot2', 'dvd', '--boot3', 'none',
             '--boot4', 'none', '--bioslogofadein', 'off',
             '--bioslogofadeout', 'off', '--bioslogodisplaytime', '0',
             '--biosbootmenu', 'disabled',
             '--description=web "one" second line',
             '--nic1', 'none', '--vrde', 'off', '--uart1', '0x3F8', '4'),
            ('storagectl', UUID, '--name', bus[2], '--add', bus[0],
             '--controller', bus[1], '--portcount', str(bus[3]),
             '--bootable', 'on'),
            ('storageattach', UUID, '--storagectl', bus[2], '--port', '0',
             '--device', '0', '--type', 'hdd', '--medium', self.root),
            ('startvm', UUID, '--type', 'headless'),
        ]

    def test_spawn_runs_five_calls_plus_the_image_cache(self):
        self.spawn()
        self.assertEqual(self.expected_commands(), self.commands())
        self.assertEqual({'undo': mock.ANY},
                         self.vbox.run.call_args_list[0][1])
        self.imagecache.create_root_disk.assert_called_once_with(
            mock.sentinel.context, self.instance, mock.ANY, 3)
        self.vbox.show_vm_info.assert_not_called()
        self.assertTrue(os.path.isdir(self.vm_dir))

    def test_spawn_powered_off(self):
        self.spawn(power_on=False)
        self.assertEqual(self.expected_commands()[:-1], self.commands())

    def test_image_properties(self):
        self.instance.system_metadata = {
            'image_hw_vbox_os_type': 'Windows2019_64'}
        self.spawn(self.image(hw_firmware_type='uefi', hw_disk_bus='ide'))
        self.assertEqual(
            self.expected_commands(ostype='Windows2019_64', firmware='efi',
                                   rtc='off',
                                   bus=('ide', 'PIIX4', 'IDE', 2)),
            self.commands())

    def test_os_type_sources(self):
        image = self.image(os_type='linux')
        self.assertEqual('Linux_64', self.vmops._os_type(self.instance,
                                                         image))
        self.instance.system_metadata = {'image_os_type': 'Ubuntu_64'}
        self.assertEqual('Ubuntu_64', self.vmops._os_type(self.instance,
                                                          image))
        self.instance.system_metadata = {'image_os_type': 'Windows'}
        self.assertEqual('Windows2019_64',
                         self.vmops._os_type(self.instance, image))
        self.instance.system_metadata = {}
        self.flags(os_type='Debian_64', group='virtualbox')
        self.assertEqual('Debian_64', self.vmops._os_type(self.instance,
                                                          self.image()))

    def test_default_bus_from_config(self):
        self.flags(storage_bus='scsi', group='virtualbox')
        self.spawn()
        self.assertEqual(self.expected_commands(
            bus=('scsi', 'LsiLogic', 'SCSI', 16)), self.commands())

    def test_unknown_disk_bus_fails_before_any_call(self):
        self.assertRaises(exception.ImageUnacceptable, self.spawn,
                          self.image(hw_disk_bus='usb'))
        self.vbox.run.assert_not_called()

    def test_default_helpers(self):
        ops = vmops.VMOps(self.vbox, self.pathutils)
        self.assertIsInstance(ops._imagecache, vmops.imagecache.ImageCache)
        self.assertIsInstance(ops._console, vmops.consoleops.ConsoleOps)
        self.assertIsInstance(ops._configdrive,
                              vmops.configdrive.ConfigDrive)
        self.assertIsInstance(ops._volumeops, vmops.volumeops.VolumeOps)
        self.assertIsNone(ops._vif)
        self.assertIsNone(ops._virtapi)

    def test_config_drive_goes_in_a_dvd_drive(self):
        iso = self.pathutils.config_drive_path(self.instance)
        self.configdrive.create.return_value = iso
        self.vmops.spawn('ctx', self.instance, self.image(),
                         injected_files=['f'], admin_password='pw',
                         network_info='nw')
        self.configdrive.create.assert_called_once_with(
            'ctx', self.instance, ['f'], 'pw', 'nw')
        # Not on the SATA controller, whose ports are Nova's device
        # names: on the secondary channel of an IDE controller of its own.
        self.assertEqual(
            ('storagectl', UUID, '--name', 'IDE', '--add', 'ide',
             '--controller', 'PIIX4', '--portcount', '2', '--bootable',
             'on'), self.commands()[-2])
        self.configdrive.attach.assert_called_once_with(
            self.instance, 'IDE', 1, 1, path=iso)
        self.assertEqual('startvm', self.commands()[-1][0])

    def test_config_drive_failure_rolls_back(self):
        self.configdrive.create.side_effect = exception.ConfigDriveMountFailed(
            operation='x', error='y')
        self.assertRaises(exception.ConfigDriveMountFailed, self.vmops.spawn,
                          None, self.instance, self.image())
        self.assertEqual(('unregistervm', UUID),
                         self.commands()[-1])
        self.assertFalse(os.path.exists(self.vm_dir))

    def test_builders_of_other_modules_go_into_the_one_modifyvm(self):
        vif = mock.MagicMock()
        vif.nic_args.return_value = ['--nic1', 'nat']
        self.vmops._vif = vif
        image = self.image()
        self.vmops.spawn(None, self.instance, image, network_info='nw')
        modifyvm = self.commands()[1]
        self.assertEqual(('--nic1', 'nat', '--vrde', 'off', '--uart1',
                          '0x3F8', '4'), modifyvm[-7:])
        self.console.vrde_args.assert_called_once_with(self.instance)
        self.assertEqual(1, [c[0] for c in self.commands()].count(
            'modifyvm'))
        vif.nic_args.assert_called_once_with(self.instance, 'nw', image)

    def test_description_is_one_printable_line(self):
        self.assertEqual('a "b" c d', vmops.sanitize_description(
            'a "b"\n\tc\x00d'))
        self.assertEqual('', vmops.sanitize_description(None))
        self.assertEqual(255, len(vmops.sanitize_description('x' * 999)))

    def test_description_starting_with_a_dash_stays_a_value(self):
        self.instance.display_name = '--register'
        self.spawn()
        self.assertIn('--description=--register', self.commands()[1])

    # -- failures and rollback ---------------------------------------------

    def assert_nothing_left(self):
        self.assertFalse(os.path.exists(self.vm_dir))

    def test_createvm_fails_nothing_to_undo(self):
        self.fail_on('createvm', _error(vbox_exc.VBoxManageError))
        self.assertRaises(vbox_exc.VBoxManageError, self.spawn)
        self.assertEqual(['createvm'], [c[0] for c in self.commands()])
        self.assert_nothing_left()

    def _createvm_undo(self):
        self.spawn()
        return self.vbox.run.call_args_list[0][1]['undo']

    def test_createvm_retry_undoes_nothing_when_nothing_was_made(self):
        undo = self._createvm_undo()
        shutil.rmtree(self.vm_dir, ignore_errors=True)
        self.vbox.run.reset_mock()
        undo()
        self.vbox.run.assert_not_called()

    def test_createvm_retry_undoes_a_late_failure(self):
        undo = self._createvm_undo()
        self.vbox.run.reset_mock()
        self.vbox.run.side_effect = not_found()  # not registered after all
        self.make_vm_files()
        settings = os.path.join(self.vm_dir, self.instance.name + '.vbox')
        undo()
        self.assertEqual([('unregistervm', UUID)],
                         self.commands())
        self.assertFalse(os.path.exists(settings))

    def test_unknown_os_type_is_an_image_error(self):
        self.fail_on('createvm', _error(
            vbox_exc.VBoxManageError, 'Unknown or invalid guest OS type '
            'given.'))
        self.instance.system_metadata = {'image_hw_vbox_os_type': 'Amiga'}
        err = self.assertRaises(exception.ImageUnacceptable, self.spawn)
        self.assertIn('Amiga', str(err))
        self.assert_nothing_left()

    def test_existing_vm_is_left_alone(self):
        self.make_vm_files()
        self.vbox.run.side_effect = _error(
            vbox_exc.VBoxAlreadyExists, "Machine settings file '%s' "
            "already exists" % self.vm_dir)
        self.assertRaises(exception.InstanceExists, self.spawn)
        self.assertEqual(['createvm'], [c[0] for c in self.commands()])
        self.assertTrue(os.path.exists(self.vm_dir))

    def _fail_step(self, command):
        self.fail_on(command, _error(vbox_exc.VBoxManageError))
        self.assertRaises(vbox_exc.VBoxManageError, self.spawn)
        self.assert_nothing_left()
        return self.commands()

    def test_modifyvm_fails(self):
        self.assertEqual(
            ['createvm', 'modifyvm', 'unregistervm'],
            [c[0] for c in self._fail_step('modifyvm')])
        self.assertEqual(('unregistervm', UUID),
                         self.commands()[-1])
        self.imagecache.create_root_disk.assert_not_called()

    def test_root_disk_fails(self):
        self.imagecache.create_root_disk.side_effect = (
            exception.FlavorDiskSmallerThanImage(flavor_size=1,
                                                 image_size=2))
        self.assertRaises(exception.FlavorDiskSmallerThanImage, self.spawn)
        self.assertEqual(
            [('closemedium', 'disk', self.root, '--delete'),
             ('unregistervm', UUID)], self.commands()[2:])
        self.assert_nothing_left()

    def test_storagectl_fails(self):
        self.assertEqual(
            ['createvm', 'modifyvm', 'storagectl', 'closemedium',
             'unregistervm'],
            [c[0] for c in self._fail_step('storagectl')])

    def test_storageattach_fails(self):
        self.assertEqual(
            ['createvm', 'modifyvm', 'storagectl', 'storageattach',
             'closemedium', 'unregistervm'],
            [c[0] for c in self._fail_step('storageattach')])

    def test_startvm_fails_with_a_clear_error(self):
        self.fail_on('startvm', _error(
            vbox_exc.VBoxManageError, "The virtual machine 'x' has "
            "terminated unexpectedly during startup with exit code 1"))
        logs = os.path.join(self.vm_dir, 'Logs')

        def root_disk(*args):
            os.makedirs(logs)
            with open(os.path.join(logs, 'VBox.log'), 'w') as f:
                f.write('line 1\nSUP_IOCTL failed: no vboxdrv\n')
            return self.root
        self.imagecache.create_root_disk.side_effect = root_disk
        err = self.assertRaises(exception.InstancePowerOnFailure, self.spawn)
        self.assertIn('terminated unexpectedly', str(err))
        self.assertIn('no vboxdrv', str(err))
        # The disk is attached: it goes with the VM and its folder.
        self.assertEqual(['startvm', 'unregistervm'],
                         [c[0] for c in self.commands()[-2:]])
        self.assert_nothing_left()

    def test_a_failing_rollback_step_does_not_stop_the_others(self):
        def run(*args, **kwargs):
            if args[0] == 'createvm':
                self.make_vm_files()
            if args[0] in ('storageattach', 'closemedium', 'unregistervm'):
                raise _error(vbox_exc.VBoxManageError, args[0] + ' broke')
            return vboxmanage.Result('', '')
        self.vbox.run.side_effect = run
        err = self.assertRaises(vbox_exc.VBoxManageError, self.spawn)
        self.assertIn('storageattach broke', str(err))
        self.assertEqual(['closemedium', 'unregistervm'],
                         [c[0] for c in self.commands()[-2:]])
        self.assert_nothing_left()

    def test_rollback_powers_off_a_vm_still_locked(self):
        calls = []

        def run(*args, **kwargs):
            calls.append(args[0])
            if args[0] == 'createvm':
                self.make_vm_files()
            if args[0] == 'startvm':
                raise vbox_exc.VBoxManageTimeout(command='startvm',
                                                 timeout=60)
            if args[0] == 'unregistervm' and calls.count(args[0]) == 1:
                raise _error(vbox_exc.VBoxTransientError, 'is already '
                             'locked')
            return vboxmanage.Result('', '')
        self.vbox.run.side_effect = run
        self.assertRaises(vbox_exc.VBoxManageTimeout, self.spawn)
        self.assertEqual(
            [('unregistervm', UUID),
             ('controlvm', UUID, 'poweroff'),
             ('unregistervm', UUID)], self.commands()[-3:])
        self.assert_nothing_left()


class DiskBandwidthTestCase(VMOpsTestBase):
    """quota:disk_*_bytes_sec of the flavor: one disk bandwidth group on
    the root disk's attachment; nothing without them."""

    def setUp(self):
        super().setUp()
        self.imagecache.create_root_disk.return_value = self.root
        self.fail_on('nothing', None)

    spawn = SpawnTestCase.spawn
    expected_commands = SpawnTestCase.expected_commands

    def limited(self, **specs):
        self.instance.flavor.extra_specs = {
            'quota:' + key: value for key, value in specs.items()}

    def expected(self, limit):
        commands = self.expected_commands()
        commands[3] = commands[3] + ('--bandwidthgroup', 'nova-disk')
        commands.insert(3, ('bandwidthctl', UUID, 'add', 'nova-disk',
                            '--type', 'disk', '--limit', limit))
        return commands

    def test_total_bytes_limit_adds_the_group_before_the_root_disk(self):
        self.limited(disk_total_bytes_sec='10485760',
                     disk_read_bytes_sec='1024')
        self.spawn()
        self.assertEqual(self.expected('10240K'), self.commands())
        self.assertEqual({'undo': mock.ANY},
                         self.vbox.run.call_args_list[3][1])

    def test_read_and_write_limits_take_the_smaller(self):
        self.limited(disk_read_bytes_sec='20971520',
                     disk_write_bytes_sec='5242880')
        self.spawn(power_on=False)
        self.assertEqual(self.expected('5120K')[:-1], self.commands())

    def test_one_direction_alone(self):
        self.limited(disk_write_bytes_sec='3000000')
        self.spawn()
        # Whole KiB, rounded down.
        self.assertEqual(self.expected('2929K'), self.commands())

    def test_tiny_limit_is_one_kib(self):
        self.limited(disk_read_bytes_sec='100')
        self.spawn()
        self.assertEqual(self.expected('1K'), self.commands())

    def test_no_limit_no_call(self):
        for specs in ({}, {'disk_total_bytes_sec': '0'},
                      {'vif_inbound_average': '100'}):
            self.vbox.run.reset_mock()
            self.limited(**specs)
            self.spawn()
            self.assertEqual(self.expected_commands(), self.commands())

    def test_iops_limits_are_logged_and_ignored(self):
        self.limited(disk_total_iops_sec='500', disk_read_iops_sec='100')
        with mock.patch.object(disklayout.LOG, 'warning') as warning:
            self.spawn()
        self.assertEqual(self.expected_commands(), self.commands())
        warning.assert_called_once_with(
            'VirtualBox cannot limit disk IOPS; ignoring %s',
            'quota:disk_total_iops_sec, quota:disk_read_iops_sec',
            instance=self.instance)

    def test_without_root_disk_no_group(self):
        # An ISO image with root_gb 0 (a boot volume likewise): only the
        # root disk joins the group.
        self.limited(disk_total_bytes_sec='10485760')
        self.imagecache.create_root_disk.return_value = None
        self.spawn(power_on=False)
        self.assertNotIn('bandwidthctl', [c[0] for c in self.commands()])

    def test_invalid_limit(self):
        self.limited(disk_total_bytes_sec='fast')
        self.assertRaises(exception.InvalidInput, self.spawn)


class SpawnDisksTestCase(VMOpsTestBase):
    """Call budget, ISO images, ephemeral and swap disks, volumes and the
    wait for Neutron's events."""

    def setUp(self):
        super().setUp()
        self.iso = os.path.join(self.instances_path, '_base',
                                IMAGE_ID + '.iso')

        def root_disk(context, instance, image_meta, root_gb):
            # What the image cache runs for a linked clone of a cached
            # base: one createmedium.
            self.vbox.run('createmedium', 'disk', '--filename', self.root,
                          '--diffparent', 'base.vdi', '--format', 'VDI',
                          undo=mock.ANY)
            return self.root
        self.imagecache.create_root_disk.side_effect = root_disk
        self.imagecache.get_cached_image.return_value = self.iso
        self.fail_on('nothing', None)

    def spawn(self, image=None, bdi=None, **kwargs):
        self.vmops.spawn(mock.sentinel.context, self.instance,
                         image or self.image(), block_device_info=bdi,
                         **kwargs)

    def iso_image(self):
        return objects.ImageMeta.from_dict({'id': IMAGE_ID,
                                            'disk_format': 'iso',
                                            'properties': {}})

    def names(self):
        return [c[0] for c in self.commands()]

    def attach(self, port, medium, device=0, kind='hdd', ctl='SATA'):
        return ('storageattach', UUID, '--storagectl', ctl, '--port',
                str(port), '--device', str(device), '--type', kind,
                '--medium', medium)

    def create(self, path, size_mb):
        return ('createmedium', 'disk', '--filename', path, '--size',
                str(size_mb), '--format', 'VDI')

    def volume_file(self, name='vol.vdi'):
        """A file volume (VDI header) Cinder's local driver would give."""
        path = os.path.join(self.instances_path, name)
        with open(path, 'wb') as f:
            f.write(b'\0' * 64 + b'\x7f\x10\xda\xbe' + b'\0' * 444)
        return path

    def volume_bdm(self, path, device, boot_index=None, vol='v1'):
        return {'connection_info': {'driver_volume_type': 'local',
                                    'data': {'device_path': path,
                                             'volume_id': vol}},
                'mount_device': device, 'boot_index': boot_index}

    # -- the budget ---------------------------------------------------------

    def test_cached_image_without_extras_is_six_calls(self):
        self.spawn()
        self.assertEqual(['createvm', 'modifyvm', 'createmedium',
                          'storagectl', 'storageattach', 'startvm'],
                         self.names())
        self.vbox.show_vm_info.assert_not_called()
        self.imagecache.get_cached_image.assert_not_called()

    def test_sata_has_thirty_ports_root_disk_on_port_0(self):
        self.spawn()
        self.assertEqual(('storagectl', UUID, '--name', 'SATA', '--add',
                          'sata', '--controller', 'IntelAhci',
                          '--portcount', '30', '--bootable', 'on'),
                         self.commands()[3])
        self.assertEqual(self.attach(0, self.root), self.commands()[4])

    # -- ISO images ---------------------------------------------------------

    def test_iso_boots_from_a_dvd_with_the_blank_disk_attached(self):
        self.spawn(self.iso_image())
        self.assertEqual(['createvm', 'modifyvm', 'createmedium',
                          'storagectl', 'storageattach', 'storagectl',
                          'storageattach', 'startvm'], self.names())
        modifyvm = self.commands()[1]
        boot = modifyvm.index('--boot1')
        self.assertEqual(('--boot1', 'dvd', '--boot2', 'disk'),
                         modifyvm[boot:boot + 4])
        self.assertEqual(self.attach(0, self.root), self.commands()[4])
        self.assertEqual(('storagectl', UUID, '--name', 'IDE', '--add',
                          'ide', '--controller', 'PIIX4', '--portcount',
                          '2', '--bootable', 'on'), self.commands()[5])
        self.assertEqual(self.attach(1, self.iso, kind='dvddrive',
                                     ctl='IDE'), self.commands()[6])

    def test_iso_with_root_gb_0_has_no_disk(self):
        self.imagecache.create_root_disk.side_effect = None
        self.imagecache.create_root_disk.return_value = None
        self.spawn(self.iso_image())
        self.assertEqual(['createvm', 'modifyvm', 'storagectl',
                          'storagectl', 'storageattach', 'startvm'],
                         self.names())
        self.assertEqual(self.attach(1, self.iso, kind='dvddrive',
                                     ctl='IDE'), self.commands()[4])

    def test_iso_and_config_drive_share_one_dvd_controller(self):
        cd = self.pathutils.config_drive_path(self.instance)
        self.configdrive.create.return_value = cd
        self.spawn(self.iso_image())
        self.assertEqual(2, self.names().count('storagectl'))
        self.configdrive.attach.assert_called_once_with(
            self.instance, 'IDE', 1, 1, path=cd)

    def test_iso_on_an_ide_root_bus_needs_no_second_controller(self):
        image = self.iso_image()
        image.properties = objects.ImageMetaProps(hw_disk_bus='ide')
        self.spawn(image)
        self.assertEqual(1, self.names().count('storagectl'))
        self.assertEqual(self.attach(0, self.root, ctl='IDE'),
                         self.commands()[4])
        self.assertEqual(self.attach(1, self.iso, kind='dvddrive',
                                     ctl='IDE'), self.commands()[5])

    def test_a_cache_without_the_iso_is_refused_and_rolled_back(self):
        self.imagecache.get_cached_image.return_value = '/cache/x.vdi'
        self.assertRaises(exception.ImageUnacceptable, self.spawn,
                          self.iso_image())
        self.assertEqual('unregistervm', self.names()[-1])
        self.assertFalse(os.path.exists(self.vm_dir))

    # -- ephemeral and swap -------------------------------------------------

    def test_flavor_ephemeral_and_swap(self):
        self.instance.flavor.ephemeral_gb = 2
        self.instance.flavor.swap = 512
        self.spawn()
        eph = self.pathutils.ephemeral_disk_path(self.instance)
        swap = self.pathutils.swap_disk_path(self.instance)
        self.assertEqual(os.path.join(self.vm_dir, 'ephemeral.vdi'), eph)
        self.assertEqual(os.path.join(self.vm_dir, 'swap.vdi'), swap)
        self.assertEqual([self.create(eph, 2048), self.attach(1, eph),
                          self.create(swap, 512), self.attach(2, swap),
                          ('startvm', UUID, '--type', 'headless')],
                         self.commands()[5:])
        # Dynamic, normal (not immutable: the data lasts), not repeated.
        self.assertNotIn('modifymedium', self.names())
        self.assertNotIn('--mtype', sum(self.commands(), ()))
        self.assertEqual({'undo': mock.ANY},
                         self.vbox.run.call_args_list[5][1])
        self.assertEqual(10, len(self.commands()))

    def test_nova_named_ephemerals_and_swap_go_to_their_ports(self):
        bdi = {'ephemerals': [{'device_name': '/dev/sdb', 'size': 1},
                              {'device_name': '/dev/sdd', 'size': 2}],
               'swap': {'device_name': '/dev/sdc', 'swap_size': 256}}
        self.instance.flavor.ephemeral_gb = 3
        self.instance.flavor.swap = 256
        self.spawn(bdi=bdi)
        eph0 = self.pathutils.ephemeral_disk_path(self.instance)
        eph1 = self.pathutils.ephemeral_disk_path(self.instance, 1)
        swap = self.pathutils.swap_disk_path(self.instance)
        self.assertEqual(os.path.join(self.vm_dir, 'ephemeral1.vdi'), eph1)
        self.assertEqual([self.create(eph0, 1024), self.attach(1, eph0),
                          self.create(eph1, 2048), self.attach(3, eph1),
                          self.create(swap, 256), self.attach(2, swap)],
                         self.commands()[5:11])

    def test_flavor_disks_skip_the_ports_of_volumes(self):
        vol = self.volume_file()
        self.instance.flavor.ephemeral_gb = 1
        self.instance.flavor.swap = 64
        self.spawn(bdi={'block_device_mapping': [
            self.volume_bdm(vol, '/dev/sdb')]})
        eph = self.pathutils.ephemeral_disk_path(self.instance)
        swap = self.pathutils.swap_disk_path(self.instance)
        self.assertIn(self.attach(2, eph), self.commands())
        self.assertIn(self.attach(3, swap), self.commands())

    def test_two_devices_on_one_port_fail_before_any_call(self):
        vol = self.volume_file()
        bdi = {'block_device_mapping': [self.volume_bdm(vol, '/dev/sdb')],
               'ephemerals': [{'device_name': '/dev/sdb', 'size': 1}]}
        err = self.assertRaises(exception.InvalidBDM, self.spawn, bdi=bdi)
        self.assertIn('/dev/sdb', str(err))
        self.vbox.run.assert_not_called()

    def test_a_volume_on_the_root_disk_port_fails_before_any_call(self):
        bdi = {'block_device_mapping': [
            self.volume_bdm(self.volume_file(), '/dev/sda')]}
        self.assertRaises(exception.InvalidBDM, self.spawn, bdi=bdi)
        self.vbox.run.assert_not_called()

    def test_beyond_the_ports_fails_before_any_call(self):
        bdi = {'ephemerals': [{'device_name': '/dev/sdae', 'size': 1}]}
        self.assertRaises(exception.TooManyDiskDevices, self.spawn, bdi=bdi)
        self.vbox.run.assert_not_called()

    def test_ide_root_keeps_the_dvd_slots(self):
        self.configdrive.required.return_value = True
        self.instance.flavor.ephemeral_gb = 1
        self.instance.flavor.swap = 64
        image = self.iso_image()
        image.properties = objects.ImageMetaProps(hw_disk_bus='ide')
        # hda root, hdb ephemeral; hdc/hdd are the DVDs': no room for swap.
        self.assertRaises(exception.TooManyDiskDevices, self.spawn, image)
        self.vbox.run.assert_not_called()
        self.instance.flavor.swap = 0
        self.spawn(image)
        eph = self.pathutils.ephemeral_disk_path(self.instance)
        self.assertIn(self.attach(0, eph, device=1, ctl='IDE'),
                      self.commands())

    def test_ide_root_without_dvds_uses_all_four_slots(self):
        self.configdrive.required.return_value = False
        self.instance.flavor.ephemeral_gb = 1
        self.instance.flavor.swap = 64
        self.spawn(self.image(hw_disk_bus='ide'))
        swap = self.pathutils.swap_disk_path(self.instance)
        self.assertIn(self.attach(1, swap, device=0, ctl='IDE'),
                      self.commands())

    def test_ephemeral_failure_removes_it_and_the_vm(self):
        self.instance.flavor.ephemeral_gb = 1
        calls = []

        def run(*args, **kwargs):
            calls.append(args)
            if args[0] == 'createvm':
                self.make_vm_files()
            if args[0] == 'createmedium' and '--size' in args:
                raise _error(vbox_exc.VBoxManageError, 'disk full')
            return vboxmanage.Result('', '')
        self.vbox.run.side_effect = run
        self.assertRaises(vbox_exc.VBoxManageError, self.spawn)
        eph = self.pathutils.ephemeral_disk_path(self.instance)
        self.assertEqual([('closemedium', 'disk', eph, '--delete'),
                          ('unregistervm', UUID)],
                         self.commands()[-2:])
        self.assertFalse(os.path.exists(self.vm_dir))

    # -- volumes ------------------------------------------------------------

    def test_volumes_attached_after_the_controller(self):
        vol = self.volume_file()
        self.spawn(bdi={'block_device_mapping': [
            self.volume_bdm(vol, '/dev/sdc')]})
        self.assertEqual(['createvm', 'modifyvm', 'createmedium',
                          'storagectl', 'storageattach', 'storageattach',
                          'startvm'], self.names())
        self.assertEqual(self.attach(2, vol) + ('--mtype', 'writethrough',
                                                '--hotpluggable', 'on'),
                         self.commands()[5])

    def test_boot_from_volume_makes_no_root_disk(self):
        vol = self.volume_file()
        self.spawn(bdi={'block_device_mapping': [
            self.volume_bdm(vol, '/dev/sda', boot_index=0)]})
        self.imagecache.create_root_disk.assert_not_called()
        self.assertEqual(['createvm', 'modifyvm', 'storagectl',
                          'storageattach', 'startvm'], self.names())
        self.assertEqual(self.attach(0, vol) + ('--mtype', 'writethrough'),
                         self.commands()[3])

    def test_boot_from_volume_with_an_empty_image_meta(self):
        vol = self.volume_file()
        self.vmops.spawn(None, self.instance, objects.ImageMeta.from_dict(
            {}), block_device_info={'block_device_mapping': [
                self.volume_bdm(vol, '/dev/sda', boot_index=0)]})
        self.assertEqual(self.attach(0, vol) + ('--mtype', 'writethrough'),
                         self.commands()[3])

    def vm_info_with(self, vol):
        return {'VMState': 'poweroff', 'UUID': UUID,
                'storagecontrollername0': 'SATA',
                'storagecontrollertype0': 'IntelAhci',
                'storagecontrollermaxportcount0': '30',
                'SATA-0-0': self.root, 'SATA-ImageUUID-0-0': 'root-uuid',
                'SATA-1-0': vol, 'SATA-ImageUUID-1-0': 'vol-uuid',
                'SATA-hot-pluggable-1-0': 'on'}

    def test_failed_start_stops_and_unregisters_without_deleting(self):
        vol = self.volume_file()
        self.vbox.show_vm_info.return_value = self.vm_info_with(vol)
        self.fail_on('startvm', _error(vbox_exc.VBoxManageError, 'no'))
        self.assertRaises(exception.InstancePowerOnFailure, self.spawn,
                          bdi={'block_device_mapping': [
                              self.volume_bdm(vol, '/dev/sdb')]})
        self.assertEqual(
            [('startvm', UUID, '--type', 'headless'),
             ('controlvm', UUID, 'poweroff'),
             ('unregistervm', UUID)], self.commands()[-3:])
        self.assertTrue(os.path.exists(vol))
        self.assertFalse(os.path.exists(self.vm_dir))

    def test_failed_volume_attach_detaches_those_attached(self):
        vol = self.volume_file()
        self.vbox.show_vm_info.return_value = {
            'VMState': 'poweroff', 'storagecontrollername0': 'SATA'}
        calls = []

        def run(*args, **kwargs):
            calls.append(args)
            if args[0] == 'createvm':
                self.make_vm_files()
            if args[0] == 'storageattach' and args[5] == '1':
                raise _error(vbox_exc.VBoxManageError, 'no such file')
            return vboxmanage.Result('', '')
        self.vbox.run.side_effect = run
        self.assertRaises(exception.VolumeAttachFailed, self.spawn,
                          bdi={'block_device_mapping': [
                              self.volume_bdm(vol, '/dev/sdb')]})
        # The VM goes; unregistervm forgets the volume, deletes nothing.
        self.assertEqual(('unregistervm', UUID), self.commands()[-1])
        self.assertTrue(os.path.exists(vol))

    # -- Neutron's events ---------------------------------------------------

    def test_start_waits_for_vif_plugged_events(self):
        events = []
        vif = mock.Mock()
        vif.nic_args.return_value = []

        @contextlib.contextmanager
        def wait(virtapi, instance, network_info):
            events.append(('wait', virtapi, instance, network_info,
                           len(self.commands())))
            yield
            events.append(('done', len(self.commands())))
        vif.wait_for_vif_plugged.side_effect = wait
        self.vmops._vif = vif
        self.vmops._virtapi = mock.sentinel.virtapi
        self.spawn(network_info='nw')
        self.assertEqual(
            [('wait', mock.sentinel.virtapi, self.instance, 'nw', 5),
             ('done', 6)], events)
        self.assertEqual('startvm', self.names()[5])

    def test_powered_off_spawn_waits_for_nothing(self):
        vif = mock.MagicMock()
        vif.nic_args.return_value = []
        self.vmops._vif = vif
        self.spawn(power_on=False)
        vif.wait_for_vif_plugged.assert_not_called()


class DestroyTestCase(VMOpsTestBase):

    def test_destroy_running_vm_two_calls(self):
        self.make_vm_files()
        self.vmops.destroy(self.instance)
        self.assertEqual([('controlvm', UUID, 'poweroff'),
                          ('unregistervm', UUID)],
                         self.commands())
        self.assertFalse(os.path.exists(self.vm_dir))

    def test_destroy_closes_the_config_drive(self):
        self.make_vm_files()
        iso = self.vmops._pathutils.config_drive_path(self.instance)
        open(iso, 'w').close()
        self.vmops.destroy(self.instance)
        self.assertEqual([('controlvm', UUID, 'poweroff'),
                          ('unregistervm', UUID),
                          ('closemedium', 'dvd', iso)],
                         self.commands())
        self.assertFalse(os.path.exists(self.vm_dir))

    def test_destroy_of_a_rescued_vm_closes_both_config_drives(self):
        self.make_vm_files()
        isos = [self.vmops._pathutils.config_drive_path(self.instance),
                self.vmops._pathutils.rescue_config_drive_path(
                    self.instance)]
        for iso in isos:
            open(iso, 'w').close()
        self.vmops.destroy(self.instance)
        self.assertEqual([('closemedium', 'dvd', iso) for iso in isos],
                         self.commands()[2:])
        self.assertFalse(os.path.exists(self.vm_dir))

    def test_destroy_stopped_vm(self):
        self.make_vm_files()
        self.fail_on('controlvm poweroff', not_running())
        self.vmops.destroy(self.instance)
        self.assertEqual(['controlvm', 'unregistervm'],
                         [c[0] for c in self.commands()])
        self.assertFalse(os.path.exists(self.vm_dir))

    def test_destroy_when_the_vm_process_dies_during_the_power_off(self):
        # Real 7.2, CI: the VM process hit an assertion in the VNC server
        # while it was being powered off; VBoxManage said "The VM session
        # was aborted" and the VM was aborted, i.e. stopped.
        self.make_vm_files()
        self.fail_on('controlvm poweroff', _error(vbox_exc.VBoxManageError))
        self.set_states('aborted')
        self.vmops.destroy(self.instance)
        self.assertEqual(['controlvm', 'unregistervm'],
                         [c[0] for c in self.commands()])
        self.assertFalse(os.path.exists(self.vm_dir))

    def test_destroy_keeps_the_vm_when_it_still_runs_after_a_failure(self):
        self.make_vm_files()
        self.fail_on('controlvm poweroff', _error(vbox_exc.VBoxManageError))
        self.set_states('running')
        self.assertRaises(vbox_exc.VBoxManageError, self.vmops.destroy,
                          self.instance)
        self.assertEqual(['controlvm'], [c[0] for c in self.commands()])
        self.assertTrue(os.path.exists(self.vm_dir))

    def test_destroy_is_idempotent(self):
        self.make_vm_files()
        self.vbox.run.side_effect = not_found()
        self.vmops.destroy(self.instance)
        self.assertFalse(os.path.exists(self.vm_dir))
        self.vbox.run.reset_mock()
        self.vmops.destroy(self.instance)
        self.vmops.cleanup(self.instance)
        self.vbox.run.assert_not_called()

    def test_destroy_never_deletes_a_volume(self):
        """With the mapping or without, the VM is unregistered without
        --delete: VirtualBox forgets the volume, only the VM folder goes."""
        for bdi in ({'block_device_mapping': [{
                'connection_info': {'driver_volume_type': 'local',
                                    'data': {'device_path': 'vol'}},
                'mount_device': '/dev/sdb', 'boot_index': None}]}, None):
            self.vbox.run.reset_mock()
            self.make_vm_files()
            vol = os.path.join(self.instances_path, 'vol.vdi')
            open(vol, 'w').close()
            self.vmops.destroy(self.instance, block_device_info=bdi)
            self.assertEqual([('controlvm', UUID, 'poweroff'),
                              ('unregistervm', UUID)], self.commands())
            self.assertTrue(os.path.exists(vol))
            self.assertFalse(os.path.exists(self.vm_dir))

    def test_destroy_without_volumes_asks_nothing(self):
        self.make_vm_files()
        self.vmops.destroy(self.instance, block_device_info={
            'block_device_mapping': [], 'ephemerals': [],
            'swap': None, 'root_device_name': '/dev/sda'})
        self.assertEqual(['controlvm', 'unregistervm'],
                         [c[0] for c in self.commands()])
        self.vbox.show_vm_info.assert_not_called()

    def test_cleanup_passes_the_volumes_on(self):
        with mock.patch.object(self.vmops, 'destroy') as destroy:
            self.vmops.cleanup(self.instance, False, mock.sentinel.bdi)
        destroy.assert_called_once_with(self.instance, False,
                                        mock.sentinel.bdi)

    def test_destroy_keeping_disks(self):
        self.make_vm_files()
        self.vmops.destroy(self.instance, destroy_disks=False)
        self.assertEqual(('unregistervm', UUID), self.commands()[-1])
        self.assertTrue(os.path.exists(self.vm_dir))

    def test_destroy_a_saved_vm_that_virtualbox_refuses(self):
        self.make_vm_files()
        calls = []

        def run(*args, **kwargs):
            calls.append(args[0])
            if args[0] == 'controlvm':
                raise not_running()
            if args[0] == 'unregistervm' and calls.count(args[0]) == 1:
                raise _error(vbox_exc.VBoxInvalidVMState, 'saved')
            return vboxmanage.Result('', '')
        self.vbox.run.side_effect = run
        self.set_states('saved')
        self.vmops.destroy(self.instance)
        self.assertEqual(['controlvm', 'unregistervm', 'controlvm',
                          'discardstate', 'unregistervm'], calls)

    def test_a_vm_not_in_our_folder_is_not_touched(self):
        other = os.path.join(self.instances_path, 'elsewhere')
        os.makedirs(other)
        self.vmops.destroy(self.instance)
        self.vbox.run.assert_not_called()
        self.assertTrue(os.path.isdir(other))


class PowerTestCase(VMOpsTestBase):

    def setUp(self):
        super().setUp()
        self.clock = FakeClock(self)
        self.vbox.run.return_value = vboxmanage.Result('', '')

    def test_hard_power_off_one_call(self):
        self.vmops.power_off(self.instance)
        self.assertEqual([('controlvm', UUID, 'poweroff')], self.commands())

    def test_hard_power_off_of_a_stopped_vm(self):
        self.vbox.run.side_effect = [not_running()]
        self.set_states('poweroff')
        self.vmops.power_off(self.instance)
        self.assertEqual(1, len(self.commands()))

    def test_hard_power_off_of_a_saved_vm_discards_the_state(self):
        self.vbox.run.side_effect = [not_running(), None]
        self.set_states('saved')
        self.vmops.power_off(self.instance)
        self.assertEqual(('discardstate', UUID), self.commands()[-1])

    def test_power_off_of_a_missing_vm(self):
        self.vbox.run.side_effect = not_found()
        self.assertRaises(exception.InstanceNotFound, self.vmops.power_off,
                          self.instance)

    def test_power_off_failure(self):
        self.vbox.run.side_effect = _error(vbox_exc.VBoxManageError)
        self.set_states('running')  # still running after the failure
        self.assertRaises(exception.InstancePowerOffFailure,
                          self.vmops.power_off, self.instance)

    def test_clean_shutdown_within_the_timeout(self):
        self.set_states('running', 'running', 'running', 'poweroff')
        self.vmops.power_off(self.instance, timeout=30, retry_interval=10)
        self.assertEqual([('controlvm', UUID, 'acpipowerbutton')],
                         self.commands())
        self.assertEqual([1, 1, 1], self.clock.sleeps)

    def test_clean_shutdown_presses_again_every_retry_interval(self):
        self.set_states('running', 'running')
        self.vmops.power_off(self.instance, timeout=5, retry_interval=2)
        self.assertEqual(['acpipowerbutton'] * 3 + ['poweroff'],
                         [c[2] for c in self.commands()])
        self.assertEqual(5, sum(self.clock.sleeps))

    def test_clean_shutdown_timeout_falls_back_to_hard(self):
        self.set_states('running')
        self.vmops.power_off(self.instance, timeout=3)
        self.assertEqual(['acpipowerbutton', 'poweroff'],
                         [c[2] for c in self.commands()])
        self.assertEqual(3, sum(self.clock.sleeps))

    def test_clean_shutdown_of_a_paused_vm_is_hard(self):
        self.set_states('paused')
        self.vmops.power_off(self.instance, timeout=30)
        self.assertEqual(['poweroff'], [c[2] for c in self.commands()])

    def test_power_off_waits_out_a_passing_state(self):
        self.set_states('starting', 'starting', 'running', 'poweroff')
        self.vmops.power_off(self.instance, timeout=30)
        self.assertEqual(['acpipowerbutton'], [c[2] for c in self.commands()])

    def test_a_vm_stuck_in_a_passing_state_is_bounded(self):
        self.set_states('stopping')
        self.vmops.power_off(self.instance, timeout=30)
        self.assertEqual(vmops.SETTLE_TIMEOUT, sum(self.clock.sleeps))

    def test_power_on_from_each_state(self):
        cases = {
            'running': [],
            'paused': [('controlvm', UUID, 'resume')],
            'poweroff': [('startvm', UUID, '--type', 'headless')],
            'aborted': [('startvm', UUID, '--type', 'headless')],
            'saved': [('startvm', UUID, '--type', 'headless')],
            'gurumeditation': [('controlvm', UUID, 'poweroff'),
                               ('startvm', UUID, '--type', 'headless')],
        }
        for state, expected in cases.items():
            self.vbox.run.reset_mock()
            self.set_states(state)
            self.vmops.power_on(self.instance)
            self.assertEqual(expected, self.commands(), state)

    def test_power_on_failure(self):
        self.set_states('poweroff')
        self.vbox.run.side_effect = _error(vbox_exc.VBoxManageError)
        self.assertRaises(exception.InstancePowerOnFailure,
                          self.vmops.power_on, self.instance)

    def test_power_on_of_a_missing_vm(self):
        self.vbox.show_vm_info.side_effect = not_found()
        self.assertRaises(exception.InstanceNotFound, self.vmops.power_on,
                          self.instance)

    def test_resume_state_on_host_boot_and_restore_start_it(self):
        for method in (self.vmops.resume_state_on_host_boot,
                       self.vmops.restore, self.vmops.resume):
            self.vbox.run.reset_mock()
            self.set_states('poweroff')
            method(self.instance)
            self.assertEqual([('startvm', UUID, '--type', 'headless')],
                             self.commands())

    def test_resume_failure(self):
        self.set_states('saved')
        self.vbox.run.side_effect = _error(vbox_exc.VBoxManageError)
        self.assertRaises(exception.InstanceResumeFailure,
                          self.vmops.resume, self.instance)

    def test_soft_delete_powers_off(self):
        self.vmops.soft_delete(self.instance)
        self.assertEqual([('controlvm', UUID, 'poweroff')], self.commands())

    def test_pause_unpause_suspend(self):
        self.vmops.pause(self.instance)
        self.vmops.unpause(self.instance)
        self.vmops.suspend(self.instance)
        self.assertEqual(['pause', 'resume', 'savestate'],
                         [c[2] for c in self.commands()])
        self.assertEqual({'timeout': vboxmanage.TIMEOUT_LONG},
                         self.vbox.run.call_args_list[2][1])

    def test_pause_of_a_stopped_vm(self):
        self.vbox.run.side_effect = not_running()
        self.set_states('poweroff')
        err = self.assertRaises(exception.InstanceInvalidState,
                                self.vmops.pause, self.instance)
        self.assertIn('poweroff', str(err))

    def test_unpause_of_a_running_vm_is_fine(self):
        self.vbox.run.side_effect = _error(vbox_exc.VBoxInvalidVMState)
        self.set_states('running')
        self.vmops.unpause(self.instance)
        self.set_states('poweroff')
        self.assertRaises(exception.InstanceInvalidState,
                          self.vmops.unpause, self.instance)

    def test_suspend_failure(self):
        self.vbox.run.side_effect = _error(vbox_exc.VBoxManageError)
        self.set_states('running')
        self.assertRaises(exception.InstanceSuspendFailure,
                          self.vmops.suspend, self.instance)
        self.vbox.run.side_effect = _error(vbox_exc.VBoxManageError)
        self.assertRaises(vbox_exc.VBoxManageError, self.vmops.unpause,
                          self.instance)

    def test_suspend_failed_after_the_state_was_saved(self):
        # Real 7.2.22 can fail savestate while saving the VM's settings,
        # after the state is saved: the VM is suspended.
        self.vbox.run.side_effect = _error(vbox_exc.VBoxManageError)
        self.set_states('saved')
        self.vmops.suspend(self.instance)
        self.assertEqual(['savestate'], [c[2] for c in self.commands()])


class RebootTestCase(VMOpsTestBase):

    def setUp(self):
        super().setUp()
        self.clock = FakeClock(self)
        self.vbox.run.return_value = vboxmanage.Result('', '')
        self.flags(wait_soft_reboot_seconds=10, group='virtualbox')

    def test_soft_reboot(self):
        self.set_states('running', 'running', 'poweroff')
        self.vmops.reboot(self.instance, 'SOFT')
        self.assertEqual([('controlvm', UUID, 'acpipowerbutton'),
                          ('startvm', UUID, '--type', 'headless')],
                         self.commands())

    def test_soft_reboot_timeout_falls_back_to_hard(self):
        self.set_states('running')
        self.vmops.reboot(self.instance, 'SOFT')
        self.assertEqual([('controlvm', UUID, 'acpipowerbutton'),
                          ('controlvm', UUID, 'poweroff'),
                          ('startvm', UUID, '--type', 'headless')],
                         self.commands())
        self.assertEqual(10, sum(self.clock.sleeps))

    def test_soft_reboot_of_a_stopped_vm_starts_it(self):
        self.set_states('poweroff')
        self.vbox.run.side_effect = [not_running(), None]
        self.vmops.reboot(self.instance, 'SOFT')
        self.assertEqual([('controlvm', UUID, 'poweroff'),
                          ('startvm', UUID, '--type', 'headless')],
                         self.commands())

    def test_hard_reboot_from_each_state(self):
        # A power cycle, never "controlvm reset" (which hangs a VM restored
        # from a saved state); a VM not running answers the poweroff with
        # "not currently running".
        poweroff = ('controlvm', UUID, 'poweroff')
        start = ('startvm', UUID, '--type', 'headless')
        cases = {
            'running': (None, [poweroff, start]),
            'paused': (None, [poweroff, start]),
            'gurumeditation': (None, [poweroff, start]),
            'poweroff': (not_running(), [poweroff, start]),
            'aborted': (not_running(), [poweroff, start]),
            'saved': (not_running(), [poweroff, ('discardstate', UUID),
                                      start]),
        }
        for state, (answer, expected) in cases.items():
            self.vbox.run.reset_mock()
            self.vbox.run.side_effect = [answer, None, None]
            self.set_states(state)
            self.vmops.reboot(self.instance, 'HARD')
            self.assertEqual(expected, self.commands(), state)

    def test_reboot_failure(self):
        self.set_states('poweroff')
        self.vbox.run.side_effect = _error(vbox_exc.VBoxManageError,
                                           'cannot start')
        err = self.assertRaises(exception.InstanceRebootFailure,
                                self.vmops.reboot, self.instance, 'HARD')
        self.assertIn('cannot start', str(err))


class LockingTestCase(VMOpsTestBase):

    def test_every_operation_holds_the_instance_lock(self):
        self.make_vm_files()
        self.set_states('running')
        self.imagecache.create_root_disk.return_value = self.root
        self.vbox.run.return_value = vboxmanage.Result('', '')
        calls = [
            lambda: self.vmops.spawn(None, self.instance, self.image()),
            lambda: self.vmops.destroy(self.instance),
            lambda: self.vmops.power_off(self.instance),
            lambda: self.vmops.power_on(self.instance),
            lambda: self.vmops.reboot(self.instance, 'HARD'),
            lambda: self.vmops.pause(self.instance),
            lambda: self.vmops.unpause(self.instance),
            lambda: self.vmops.suspend(self.instance),
            lambda: self.vmops.resume(self.instance),
            lambda: self.vmops.soft_delete(self.instance),
            lambda: self.vmops.restore(self.instance),
            lambda: self.vmops.resume_state_on_host_boot(self.instance),
        ]
        with mock.patch.object(vmops.lockutils, 'lock') as lock:
            for call in calls:
                lock.reset_mock()
                call()
                lock.assert_called_once_with('vbox-instance-' + UUID)

    def _slow_poweroff(self, started, release):
        def run(*args, **kwargs):
            if args[0] == 'controlvm' and args[1] == UUID:
                started.set()
                release.wait(10)
            return vboxmanage.Result('', '')
        self.vbox.run.side_effect = run

    def test_same_instance_waits_other_instances_do_not(self):
        started, release = threading.Event(), threading.Event()
        self._slow_poweroff(started, release)
        other = test_base.FakeInstance(
            uuid='9e4b8a1c-0000-4000-8000-000000000001',
            name='instance-0000002b')
        first = threading.Thread(target=self.vmops.power_off,
                                 args=(self.instance,))
        first.start()
        self.assertTrue(started.wait(10))
        # Another instance goes through while the first is held up.
        self.vmops.power_off(other)
        second_done = threading.Event()

        def second():
            self.vmops.pause(self.instance)
            second_done.set()
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.2)
        self.assertFalse(second_done.is_set())
        release.set()
        first.join(10)
        thread.join(10)
        self.assertTrue(second_done.is_set())
        self.assertEqual([('controlvm', UUID, 'poweroff'),
                          ('controlvm', other.uuid, 'poweroff'),
                          ('controlvm', UUID, 'pause')], self.commands())
