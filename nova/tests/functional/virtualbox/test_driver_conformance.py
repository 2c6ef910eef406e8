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

"""Nova's generic virt driver suite against VBoxDriver on the simulator.

Nova's _VirtDriverTestCase turns NotImplementedError into a pass, so it
proves what is implemented works, not that everything is: the README's
feature table says what is missing.

Where the suite's inputs are libvirt's own (a 'fake' volume type at
/dev/sda, which is the root disk here; an ssh copy to another host), the
same flow runs below with inputs this driver takes: a local file volume at
the next free device name (/dev/sdd: sdb and sdc hold the suite flavor's
ephemeral and swap disks).
"""

import os
import subprocess

import fixtures

from nova import context as nova_context
from nova import test
from nova.tests.functional.virtualbox import vbox_fixtures
from nova.tests.unit.virt import test_virt_drivers

# The image the suite's instances boot from (nova.tests.unit.utils).
SUITE_IMAGE_ID = 'cedef40a-ed67-4d10-800e-17455edce175'


class VBoxDriverConformanceTestCase(test_virt_drivers._VirtDriverTestCase,
                                    test.TestCase):

    driver_module = 'nova.virt.virtualbox.VBoxDriver'

    def setUp(self):
        self.sim = self.useFixture(vbox_fixtures.SimulatorFixture(
            acpi_delay='0.05'))
        super().setUp()
        # VRDE through the VNC extension pack, so get_vnc_console has a
        # console to give (its relay; the simulator has no screen behind).
        self.flags(vboxmanage_cmd=self.sim.command, retry_interval=0.05,
                   wait_soft_reboot_seconds=2, remote_display=True,
                   vrde_module='VNC', vrde_unique_port=True,
                   vrde_port='5900-5999', group='virtualbox')
        # The suite's image is 'ami' with no bytes; give it a real raw disk.
        tmp = self.useFixture(fixtures.TempDir()).path
        raw = os.path.join(tmp, 'disk.raw')
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'raw', raw, '16M'],
                       check=True)
        with open(raw, 'rb') as f:
            self.image_service._imagedata[SUITE_IMAGE_ID] = f.read()
        image = self.image_service.show(nova_context.get_admin_context(),
                                        SUITE_IMAGE_ID)
        image['disk_format'] = 'raw'
        image['container_format'] = 'bare'
        image['size'] = 16 * 1024 * 1024
        self.image_service.images[SUITE_IMAGE_ID].update(image)

    # Live migration is not supported; these two assume libvirt internals.
    def test_live_migration(self):
        self.skipTest('live migration is not supported by VirtualBox driver')

    def test_live_migration_force_complete(self):
        self.skipTest('live migration is not supported by VirtualBox driver')

    def test_migrate_disk_and_power_off(self):
        # The suite migrates to another host ('dest_host'), which copies the
        # disk over ssh (as libvirt's does); the copy is unit-tested and
        # same-host resize runs through Nova in test_servers_*.
        self.skipTest('cross-host copy needs ssh to another host')

    def _file_volume(self):
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'volume.vdi')
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'vdi', path, '8M'],
                       check=True)
        return {'driver_volume_type': 'local', 'serial': 'fake_serial',
                'data': {'device_path': path}}

    def test_attach_detach_volume(self):
        instance_ref, network_info = self._get_running_instance()
        connection_info = self._file_volume()
        self.assertIsNone(self.connection.attach_volume(
            None, connection_info, instance_ref, '/dev/sdd'))
        self.assertIsNone(self.connection.detach_volume(
            None, connection_info, instance_ref, '/dev/sdd'))

    def test_attach_detach_different_power_states(self):
        instance_ref, network_info = self._get_running_instance()
        connection_info = self._file_volume()
        self.connection.power_off(instance_ref)
        self.connection.attach_volume(None, connection_info, instance_ref,
                                      '/dev/sdd')
        self.connection.power_on(self.ctxt, instance_ref, network_info)
        self.connection.power_off(instance_ref)
        self.connection.detach_volume(None, connection_info, instance_ref,
                                      '/dev/sdd')

    def test_swap_volume(self):
        instance_ref, network_info = self._get_running_instance()
        connection_info = self._file_volume()
        self.connection.power_off(instance_ref)
        self.connection.attach_volume(None, connection_info, instance_ref,
                                      '/dev/sdd')
        self.assertRaises(NotImplementedError, self.connection.swap_volume,
                          None, connection_info, self._file_volume(),
                          instance_ref, '/dev/sdd', 2)
