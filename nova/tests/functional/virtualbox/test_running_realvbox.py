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

"""The driver on real VirtualBox 7.2 with real running guests.

tools/real-vbox/provision.sh makes VMs start in the chroot (driverless
mode, VirtualBox's instruction interpreter) and tools/tinyguest builds the
guest: a boot sector that prints the VM's UUID (SMBIOS) to the console log
and powers off on the ACPI power button, or ignores it. What the guest
prints proves what happened inside the VM: which VM booted, how many times,
whether it saw the power button.
"""

import importlib.util
import os
import shutil
import signal
import socket
import struct
import subprocess
import time
from unittest import mock
import uuid as uuidlib

from nova.compute import power_state
from nova import exception
from nova.network import model as network_model
from nova import objects
from nova import test
from nova.tests.functional.virtualbox import test_lifecycle
from nova.tests.functional.virtualbox import vbox_fixtures
from nova.tests.functional.virtualbox import vbox_harness
from nova.tests.unit.virt.virtualbox import test_migrationops
from nova.virt import event as virtevent
from nova.virt.virtualbox import eventops
from nova.virt.virtualbox import parsers
from nova.virt.virtualbox import snapshotops

GUEST_WAIT_SECONDS = 60


def load_tinyguest():
    """tools/tinyguest/build.py as a module (None without the source
    tree)."""
    folder = vbox_harness.source_dir()
    if folder is None:
        return None
    path = os.path.join(folder, 'tools', 'tinyguest', 'build.py')
    spec = importlib.util.spec_from_file_location('tinyguest_build', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TinyGuestBase(test_lifecycle._DriverBase):
    """The lifecycle's driver on real VirtualBox, its cached base image
    the tiny guest (skipped without the source tree)."""

    backend = vbox_fixtures.RealVBoxFixture

    def setUp(self):
        self.guest = load_tinyguest()
        super().setUp()
        self.flags(wait_soft_reboot_seconds=30, group='virtualbox')

    def _make_base(self, size_mb=None, ignore_acpi=False, image_id=None):
        """The tiny guest as the image cache leaves a base image."""
        if self.guest is None:
            self.skipTest('the source tree (tools/tinyguest) is not found: '
                          'set NOVA_VIRTUALBOX_SRC')
        image_id = image_id or self.image_id
        path = self.driver._pathutils.cached_image_path(image_id)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        raw = path + '.raw'
        try:
            self.guest.write_image(raw, ignore_acpi=ignore_acpi)
        except self.guest.BuildError as err:
            self.skipTest(str(err))
        self._vbm('convertfromraw', raw, path, '--format', 'VDI')
        os.unlink(raw)
        self._vbm('closemedium', 'disk', path)
        self.addCleanup(self._forget_base, path)
        return path


class RunningVMRealVBoxTestCase(TinyGuestBase, test_lifecycle._LifecycleBase,
                                test.NoDBTestCase):

    def _instance(self, **fields):
        instance = super()._instance(**fields)
        self.addCleanup(self._no_vm_process_left, instance)
        return instance

    def _no_vm_process_left(self, instance):
        for pid in vbox_harness.vm_processes(instance.uuid):
            os.kill(pid, signal.SIGKILL)

    # -- what the guest shows ---------------------------------------------

    def _lines(self, instance):
        """The console output (this boot's and the one before) by line."""
        return [line for line in self.driver.get_console_output(
            self.ctx, instance).splitlines() if line]

    def _until(self, condition, failure, seconds=GUEST_WAIT_SECONDS):
        """Poll ``condition`` until it holds; fail with ``failure()``
        after ``seconds``."""
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                self.fail(failure())
            time.sleep(0.1)

    def _wait(self, instance, check, what):
        self._until(lambda: check(self._lines(instance)),
                    lambda: '%s: not seen in the console of %s: %r' % (
                        what, instance.uuid, self._lines(instance)))

    def _wait_lines(self, instance, *expected):
        self._wait(instance, lambda lines: lines == list(expected),
                   expected)

    def _wait_new_boot(self, instance, vm_process):
        """Wait for the banner printed by a VM process other than
        ``vm_process`` (the VM was powered off and started again)."""
        self._until(lambda: vbox_harness.vm_processes(instance.uuid) not in
                    ([], [vm_process]),
                    lambda: 'the VM process of %s was not replaced' %
                    instance.uuid)
        self._wait(instance, lambda lines: lines[-1:] == [self.B(instance)],
                   'a new boot')

    def _reboot(self, instance, reboot_type):
        """Reboot and wait for the boot in the VM process that follows
        (every reboot is a new VM process: soft and hard alike)."""
        before = self._vm_process(instance)
        self.driver.reboot(self.ctx, instance, [], reboot_type)
        self._wait_new_boot(instance, before)

    def B(self, instance):
        """The banner the guest prints when it boots in ``instance``."""
        return self.guest.BANNER + instance.uuid

    def _power(self, instance, use_cache=False):
        return self.driver.get_info(instance, use_cache=use_cache).state

    def _image_of(self, image_id):
        return objects.ImageMeta.from_dict({
            'id': image_id, 'disk_format': 'vdi',
            'container_format': 'bare', 'properties': {}})

    def _booted(self, image_id=None, **fields):
        image_id = image_id or self.image_id
        instance = self._instance(image_ref=image_id, os_type=None,
                                  **fields)
        self._spawn(instance, image=self._image_of(image_id))
        self._wait_lines(instance, self.B(instance))
        return instance

    def _vm_process(self, instance):
        [pid] = vbox_harness.vm_processes(instance.uuid)
        return pid

    def _wait_no_vm_process(self, instance):
        self._until(lambda: not vbox_harness.vm_processes(instance.uuid),
                    lambda: 'the VM process of %s is still there' %
                    instance.uuid)

    # -- spawn, power states, destroy -------------------------------------

    def test_spawn_boots_the_guest_and_destroy_stops_it(self):
        hdds = self._hdds()
        instance = self._booted()
        self.assertEqual(power_state.RUNNING, self._power(instance))
        self.assertEqual(power_state.RUNNING, self._power(instance, True))
        self._vm_process(instance)
        self.driver.destroy(self.ctx, instance, [])
        self.assert_nothing_left(instance, hdds)
        self.assertEqual([], vbox_harness.vm_processes(instance.uuid))

    def test_pause_suspend_and_back_keep_the_guest_running(self):
        instance = self._booted()
        self.driver.pause(instance)
        self.assertEqual(power_state.PAUSED, self._power(instance))
        self.assertEqual(power_state.PAUSED, self._power(instance, True))
        self.driver.unpause(instance)
        self.assertEqual(power_state.RUNNING, self._power(instance))
        self.driver.suspend(self.ctx, instance)
        self.assertEqual(power_state.SUSPENDED, self._power(instance))
        self.assertEqual(power_state.SUSPENDED, self._power(instance, True))
        self._wait_no_vm_process(instance)
        self.driver.resume(self.ctx, instance, [])
        self.assertEqual(power_state.RUNNING, self._power(instance))
        # Restored, not rebooted: the guest goes on from where it was and
        # still answers the power button.
        self.driver.power_off(instance, timeout=30, retry_interval=10)
        self._wait_lines(instance, self.B(instance), self.guest.POWERING_OFF)

    def test_a_restarted_compute_reads_running_and_paused_from_vm_logs(self):
        instance = self._booted()
        vbox = self.driver._vbox

        def first_sync():
            """The state nova-compute's first power sync after a restart
            gets (a cache that knows no VM yet), and its showvminfo calls."""
            cache = eventops.StateCache(vbox, self.driver._pathutils)
            with mock.patch.object(vbox, 'show_vm_info',
                                   wraps=vbox.show_vm_info) as asked:
                cache.count_instances()
                return cache.get_info(instance).state, asked.call_count
        self.assertEqual((power_state.RUNNING, 0), first_sync())
        self.driver.pause(instance)
        self.assertEqual((power_state.PAUSED, 0), first_sync())

    def test_soft_power_off_and_reboot_are_answered_by_the_guest(self):
        instance = self._booted()
        started = time.monotonic()
        self.driver.power_off(instance, timeout=30, retry_interval=10)
        self.assertLess(time.monotonic() - started, 10)
        self.assertEqual(power_state.SHUTDOWN, self._power(instance))
        B = self.B(instance)
        self._wait_lines(instance, B, self.guest.POWERING_OFF)
        self.driver.power_on(self.ctx, instance, [])
        self._wait_lines(instance, B, self.guest.POWERING_OFF, B)
        self._reboot(instance, 'SOFT')
        self._wait_lines(instance, B, self.guest.POWERING_OFF, B)
        self.assertEqual(power_state.RUNNING, self._power(instance))

    def test_a_guest_ignoring_acpi_is_powered_off_after_the_timeout(self):
        self.flags(wait_soft_reboot_seconds=2, group='virtualbox')
        image_id = str(uuidlib.uuid4())
        self._make_base(ignore_acpi=True, image_id=image_id)
        instance = self._booted(image_id=image_id)
        B = self.B(instance)
        started = time.monotonic()
        self.driver.power_off(instance, timeout=2, retry_interval=1)
        self.assertGreaterEqual(time.monotonic() - started, 2)
        self.assertEqual(power_state.SHUTDOWN, self._power(instance))
        lines = self._lines(instance)
        self.assertEqual(B, lines[0])
        self.assertGreaterEqual(len(lines), 2)
        self.assertEqual({self.guest.IGNORED}, set(lines[1:]))
        self.driver.power_on(self.ctx, instance, [])
        self._wait(instance, lambda lines: lines[-1:] == [B], 'a boot')
        # Soft reboot: ignored, then the hard one, a power cycle.
        self._reboot(instance, 'SOFT')
        self._wait_lines(instance, B, self.guest.IGNORED, B)
        self.assertEqual(power_state.RUNNING, self._power(instance))

    def test_hard_reboot_restarts_the_guest(self):
        instance = self._booted()
        # A power cycle: a new VM process, no ACPI.
        self._reboot(instance, 'HARD')
        self._wait_lines(instance, self.B(instance), self.B(instance))
        self.assertEqual(power_state.RUNNING, self._power(instance))

    def test_hard_reboot_after_a_resume_boots_the_guest(self):
        # VirtualBox's reset of a VM restored from a saved state left its
        # BIOS hung (contract scenario 15-running-vm).
        instance = self._booted()
        self.driver.suspend(self.ctx, instance)
        self.driver.resume(self.ctx, instance, [])
        self.driver.reboot(self.ctx, instance, [], 'HARD')
        self._wait(instance, lambda lines: lines[-1:] == [self.B(instance)]
                   and len(lines) == 2, 'a boot after the reboot')
        self.assertEqual(power_state.RUNNING, self._power(instance))

    # -- images, disks, NICs -----------------------------------------------

    def test_snapshot_of_a_running_vm_boots_as_a_new_server(self):
        instance = self._booted()
        image_id = str(uuidlib.uuid4())
        uploaded = self.driver._pathutils.cached_image_path(image_id)
        self.addCleanup(self._forget_base, uploaded)

        def upload(ctx, upload_id, meta, data, purge_props):
            self.assertEqual('vdi', meta['disk_format'])
            with open(uploaded, 'wb') as f:
                shutil.copyfileobj(data, f)
        self.driver._snapshotops._image_api = mock.Mock()
        self.driver._snapshotops._image_api.update.side_effect = upload
        self.driver.snapshot(self.ctx, instance, image_id, mock.Mock())
        # The live snapshot that froze the disk is gone; the VM runs on.
        self.assertEqual([],
                         snapshotops.snapshot_names(self._info(instance)))
        self.assertEqual(power_state.RUNNING, self._power(instance))
        # The copy boots, as itself.
        self._booted(image_id=image_id)

    def test_volume_hot_plug_on_a_running_vm(self):
        instance = self._booted()
        path, bdm = self._file_volume()
        info = bdm['connection_info']
        self.driver.attach_volume(self.ctx, info, instance, '/dev/sdb')
        vm = self._info(instance)
        self.assertEqual(path, vm['SATA-1-0'])
        self.assertEqual('on', vm['SATA-hot-pluggable-1-0'])
        medium = parsers.parse_medium_info(
            self._vbm('showmediuminfo', 'disk', path))
        self.assertEqual('writethrough', medium['Type'])
        self.driver.detach_volume(self.ctx, info, instance, '/dev/sdb')
        self.assertIn(self._info(instance).get('SATA-1-0'), (None, 'none'))
        self.assertEqual(power_state.RUNNING, self._power(instance))
        self.driver.destroy(self.ctx, instance, [])
        self.assertTrue(os.path.exists(path))

    def test_boot_from_a_volume_holding_the_guest(self):
        # A Cinder volume file with the guest on it.
        path = os.path.join(self.instances, 'boot-volume.vdi')
        self._vbm('clonemedium', 'disk', self.base, path, '--format', 'VDI')
        self._vbm('closemedium', 'disk', path)
        self.addCleanup(self._close_volume, path)
        bdm = {'connection_info': {'driver_volume_type': 'local',
                                   'data': {'device_path': path,
                                            'volume_id': 'boot-volume'}},
               'mount_device': '/dev/sda', 'boot_index': 0}
        bdi = {'block_device_mapping': [bdm]}
        instance = self._instance(os_type=None)
        self._spawn(instance, bdi=bdi)
        self._wait_lines(instance, self.B(instance))
        self.driver.destroy(self.ctx, instance, [], block_device_info=bdi)
        self.assertTrue(os.path.exists(path))

    def test_iso_image_boots_from_the_dvd(self):
        if not shutil.which('genisoimage'):
            self.skipTest('genisoimage is not installed')
        iso, image = self._iso_image()
        # The guest as an El Torito "no emulation" boot image: the BIOS
        # loads it at 0x7c00 as it does a disk's boot sector.
        tree = os.path.join(self.instances, 'iso-tree')
        os.makedirs(tree)
        with open(os.path.join(tree, 'boot.img'), 'wb') as f:
            f.write(self.guest.boot_sector().ljust(2048, b'\0'))
        subprocess.run(['genisoimage', '-quiet', '-o', iso, '-b', 'boot.img',
                        '-no-emul-boot', '-boot-load-size', '4', tree],
                       check=True)
        instance = self._instance(os_type=None, flavor=objects.Flavor(
            memory_mb=64, vcpus=1, root_gb=1, ephemeral_gb=0, swap=0,
            extra_specs={}))
        self._spawn(instance, image=image)
        self._wait_lines(instance, self.B(instance))

    def test_ephemeral_swap_and_disk_limit_on_a_running_vm(self):
        instance = self._booted(flavor=objects.Flavor(
            memory_mb=64, vcpus=1, root_gb=0, ephemeral_gb=1, swap=64,
            extra_specs={'quota:disk_total_bytes_sec': '10485760'}))
        vm = self._info(instance)
        paths = self.driver._pathutils
        self.assertEqual(paths.ephemeral_disk_path(instance), vm['SATA-1-0'])
        self.assertEqual(paths.swap_disk_path(instance), vm['SATA-2-0'])
        self.assertEqual(
            'BandwidthGroup0="nova-disk",Disk,10485760\n',
            self._vbm('bandwidthctl', instance.uuid, 'list',
                      '--machinereadable'))
        self.driver.destroy(self.ctx, instance, [])

    def _vif(self):
        network = network_model.Network(id=str(uuidlib.uuid4()),
                                        label='private', bridge='br-int')
        return network_model.VIF(id=str(uuidlib.uuid4()),
                                 address='fa:16:3e:00:00:01',
                                 network=network, type='ovs', active=True)

    def test_detach_interface_from_a_running_vm(self):
        vif = self._vif()
        instance = self._instance()
        self.driver.spawn(self.ctx, instance, self._image(), [], None, {},
                          network_info=network_model.NetworkInfo([vif]))
        self._wait_lines(instance, self.B(instance))
        self.assertEqual('nat', self._info(instance)['nic1'])
        self.driver.detach_interface(self.ctx, instance, vif)
        vm = self._info(instance)
        self.assertEqual('null', vm['nic1'])
        self.assertEqual('off', vm['cableconnected1'])
        self.assertEqual(power_state.RUNNING, self._power(instance))

    def test_resize_of_a_running_vm_on_the_same_host(self):
        instance = self._booted()
        flavor = objects.Flavor(memory_mb=128, vcpus=2, root_gb=1,
                                ephemeral_gb=0, swap=0, extra_specs={})
        self.flags(my_ip='10.0.0.1')
        disk_info = self.driver.migrate_disk_and_power_off(
            self.ctx, instance, '10.0.0.1', flavor, [], timeout=30,
            retry_interval=10)
        self._wait_lines(instance, self.B(instance), self.guest.POWERING_OFF)
        instance.old_flavor = instance.flavor
        instance.flavor = flavor
        migration = test_migrationops.Migration('laptop', 'laptop')
        self.driver.finish_migration(
            self.ctx, migration, instance, disk_info, [], self._image(),
            True, None, power_on=True)
        self._wait_lines(instance, self.B(instance), self.guest.POWERING_OFF,
                         self.B(instance))
        vm = self._info(instance)
        self.assertEqual((128, 2), (vm['memory'], vm['cpus']))
        self.driver.confirm_migration(self.ctx, migration, instance, [])
        self.assertEqual(power_state.RUNNING, self._power(instance))

    def test_rescue_boots_the_rescue_disk_and_unrescue_the_root(self):
        instance = self._booted()
        before = self._vm_process(instance)
        self.driver.rescue(self.ctx, instance, [], self._image(), 'pw',
                           None, None)
        self._wait_new_boot(instance, before)
        vm = self._info(instance)
        self.assertTrue(vm['SATA-0-0'].endswith('/rescue.vdi'))
        self.assertEqual(power_state.RUNNING, self._power(instance))
        before = self._vm_process(instance)
        self.driver.unrescue(self.ctx, instance)
        self._wait_new_boot(instance, before)
        self.assertEqual(self.driver._pathutils.root_disk_path(instance),
                         self._info(instance)['SATA-0-0'])

    # -- consoles ------------------------------------------------------------

    def test_vnc_console_speaks_rfb(self):
        self.flags(remote_display=True, vrde_module='VNC',
                   vrde_port='15900-15999', vrde_unique_port=True,
                   vrde_address='127.0.0.1', group='virtualbox')
        instance = self._booted()
        console = self.driver.get_vnc_console(self.ctx, instance)
        self.assertEqual('127.0.0.1', console.host)
        with socket.create_connection((console.host, console.port),
                                      timeout=10) as conn:
            version = conn.recv(12)
        self.assertRegex(version, rb'^RFB 003\.00[38]\n$')
        # The relay's port belongs to the instance: gone with it.
        self.driver.destroy(self.ctx, instance, [])
        self.assertRaises(ConnectionRefusedError, socket.create_connection,
                          (console.host, console.port), timeout=10)

    def test_vnc_console_as_novas_proxy_sees_it(self):
        # VirtualBox's VNC server offers only VNC Authentication; the
        # driver's relay answers it and offers Nova's proxy "None".
        self.flags(remote_display=True, vrde_module='VNC',
                   vrde_port='15900-15999', vrde_unique_port=True,
                   vrde_address='127.0.0.1', group='virtualbox')
        instance = self._booted()
        self.addCleanup(self.driver._consoleops.close_vnc_consoles)
        console = self.driver.get_vnc_console(self.ctx, instance)
        self.assertEqual('127.0.0.1', console.host)
        with socket.create_connection((console.host, console.port),
                                      timeout=10) as conn:
            conn.settimeout(10)

            def recv(count):
                data = b''
                while len(data) < count:
                    chunk = conn.recv(count - len(data))
                    self.assertTrue(chunk, 'closed after %r' % data)
                    data += chunk
                return data
            self.assertEqual(b'RFB 003.008\n', recv(12))
            conn.sendall(b'RFB 003.008\n')
            count = recv(1)[0]
            self.assertIn(1, recv(count))
            conn.sendall(b'\x01')
            self.assertEqual(0, struct.unpack('!I', recv(4))[0])
            conn.sendall(b'\x01')  # ClientInit, shared
            width, height = struct.unpack('!HH', recv(4))
            recv(16)  # pixel format
            recv(struct.unpack('!I', recv(4))[0])  # the name
        self.assertGreater(width, 0)
        self.assertGreater(height, 0)
        # Nova's proxy asks again to validate the port: the same relay.
        self.assertEqual(console.port, self.driver.get_vnc_console(
            self.ctx, instance).port)

    # -- outside Nova --------------------------------------------------------

    def test_lifecycle_events_for_changes_made_outside_nova(self):
        events = []
        self.driver.register_event_listener(
            lambda event: events.append((event.get_instance_uuid(),
                                         event.get_transition())))
        self.driver._events.poller.stop()
        self.driver._events.poller.start(1)
        self.addCleanup(self.driver._events.poller.stop)
        instance = self._booted()

        def outside(*args, expected):
            del events[:]
            self._vbm(*args)
            self._until(lambda: (instance.uuid, expected) in events,
                        lambda: 'no %s event after %s: %s' % (
                            expected, args, events), seconds=20)
        outside('controlvm', instance.uuid, 'pause',
                expected=virtevent.EVENT_LIFECYCLE_PAUSED)
        outside('controlvm', instance.uuid, 'resume',
                expected=virtevent.EVENT_LIFECYCLE_RESUMED)
        outside('controlvm', instance.uuid, 'poweroff',
                expected=virtevent.EVENT_LIFECYCLE_STOPPED)
        outside('startvm', instance.uuid, '--type', 'headless',
                expected=virtevent.EVENT_LIFECYCLE_STARTED)

    def test_a_killed_vm_process_leaves_an_instance_nova_can_start(self):
        instance = self._booted()
        for pid in vbox_harness.vm_processes(instance.uuid):
            os.kill(pid, signal.SIGKILL)
        self._until(lambda: self._power(instance) == power_state.SHUTDOWN,
                    lambda: 'still %s' % self._info(instance)['VMState'],
                    seconds=30)
        self.assertEqual('aborted', self._info(instance)['VMState'])
        self.driver.power_on(self.ctx, instance, [])
        self._wait_lines(instance, self.B(instance), self.B(instance))

    def test_a_users_own_running_vm_is_never_touched(self):
        own = 'user-vm-%s' % uuidlib.uuid4().hex[:8]
        self._vbm('createvm', '--name', own, '--basefolder', self.instances,
                  '--register')
        self.addCleanup(self.vbm.run, 'unregistervm', own, '--delete')
        self.addCleanup(self.vbm.run, 'controlvm', own, 'poweroff')
        self._vbm('startvm', own, '--type', 'headless')
        instance = self._booted()
        self.assertEqual([instance.name], self.driver.list_instances())
        self.driver.power_off(instance, timeout=30, retry_interval=10)
        self.driver.destroy(self.ctx, instance, [])
        self.driver._recovery.recover()
        info = parsers.parse_machine_readable(
            self._vbm('showvminfo', own, '--machinereadable'))
        self.assertEqual('running', info['VMState'], self._log_tail(info))

    def _log_tail(self, info):
        try:
            with open(os.path.join(info['LogFldr'], 'VBox.log')) as f:
                return ''.join(f.readlines()[-40:])
        except OSError as err:
            return str(err)

    def test_a_failed_start_is_a_clear_nova_error(self):
        instance = self._instance()
        # VirtualBox cannot open the console log: a real startvm failure.
        os.makedirs(self.driver._pathutils.console_log_path(instance))
        err = self.assertRaises(exception.InstancePowerOnFailure,
                                self._spawn, instance)
        self.assertIn('VERR_IS_A_DIRECTORY', str(err))
        self.assertFalse(self._registered(instance))
