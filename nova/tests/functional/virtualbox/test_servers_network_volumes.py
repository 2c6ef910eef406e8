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

"""Ports and volumes of servers through Nova's API onto the simulator.

NeutronFixture binds ports with vif_type ovs; VirtualBox does not care (a
NIC needs the port's MAC and the mapping of its network). CinderFixture's
connections are of the 'fake' type: the tests give their volumes 'local'
connections to real VDI files made by qemu-img, which the driver attaches.
"""

import os
import re
import subprocess

import fixtures

from nova.tests.fixtures import cinder as cinder_fixture
from nova.tests.fixtures import neutron as neutron_fixture
from nova.tests.functional.api import client
from nova.tests.functional.virtualbox import test_servers

HDD_SLOT = re.compile(r'^SATA-(\d+)-(\d+)$')


class VBoxServersNetworkVolumesTestCase(test_servers.VBoxServersTestBase):

    def setUp(self):
        super().setUp()
        self.volume_dir = self.useFixture(fixtures.TempDir()).path
        # Each test's own connection table (the class one is shared).
        self.cinder.VOLUME_CONNECTION_INFO = dict(
            cinder_fixture.CinderFixture.VOLUME_CONNECTION_INFO)

    # -- helpers --------------------------------------------------------------

    def _volume(self, volume_id, name):
        """A 'local' connection to a real VDI for ``volume_id``."""
        path = os.path.join(self.volume_dir, name + '.vdi')
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'vdi', path,
                        '32M'], check=True)
        self.cinder.VOLUME_CONNECTION_INFO[volume_id] = {
            'driver_volume_type': 'local',
            'data': {'device_path': path},
        }
        return path

    def _disks(self, server):
        """{(port, device): location} of the SATA controller."""
        info = self.vbox.show_vm_info(server['id'])
        disks = {}
        for key, value in info.items():
            match = HDD_SLOT.match(key)
            if match and value not in ('none', 'emptydrive'):
                disks[(int(match.group(1)), int(match.group(2)))] = value
        return info, disks

    def _slot_of(self, server, path):
        info, disks = self._disks(server)
        for (port, device), location in disks.items():
            if os.path.abspath(location) == os.path.abspath(path):
                return info, port, device
        return info, None, None

    def _detach_volume(self, server, volume_id):
        self.api.delete_server_volume(server['id'], volume_id)
        self._wait_for_volume_detach(server['id'], volume_id)

    # -- ports ----------------------------------------------------------------

    def test_two_ports_become_two_nics(self):
        self.flags(physical_network_mappings=['private:intnet:labnet'],
                   group='virtualbox')
        port_1 = neutron_fixture.NeutronFixture.port_1
        port_2 = self.neutron.create_port()['port']
        server = self._boot(networks=[{'port': port_1['id']},
                                      {'port': port_2['id']}])
        info = self.vbox.show_vm_info(server['id'])
        for number, port in ((1, port_1), (2, port_2)):
            self.assertEqual('intnet', info['nic%d' % number])
            self.assertEqual('labnet', info['intnet%d' % number])
            self.assertEqual(port['mac_address'].replace(':', '').upper(),
                             info['macaddress%d' % number])
        self.assertEqual('none', info['nic3'])
        # Nova sees both ports, bound and active.
        ports = self.api.get_port_interfaces(server['id'])
        self.assertEqual(
            sorted([port_1['mac_address'], port_2['mac_address']]),
            sorted(p['mac_addr'] for p in ports))
        self._delete_server(server)
        self._assert_nothing_left()

    def test_unmapped_network_gets_the_default_nat(self):
        port_1 = neutron_fixture.NeutronFixture.port_1
        server = self._boot(networks=[{'port': port_1['id']}])
        info = self.vbox.show_vm_info(server['id'])
        self.assertEqual('nat', info['nic1'])
        self.assertEqual('FA163E4C2C30', info['macaddress1'])
        self._delete_server(server)

    def _assert_attach_refused(self, server, port):
        """Nova refuses on the capability: a 400, the VM untouched."""
        before = self.vbox.show_vm_info(server['id'])
        err = self.assertRaises(
            client.OpenStackApiException, self.api.attach_interface,
            server['id'], {'interfaceAttachment': {'port_id': port['id']}})
        self.assertEqual(400, err.response.status_code)
        self.assertIn('not supported', str(err))
        self.assertEqual(before, self.vbox.show_vm_info(server['id']))

    def test_attach_port_is_a_400_detach_disconnects_or_removes(self):
        port_1 = neutron_fixture.NeutronFixture.port_1
        port_2 = self.neutron.create_port()['port']
        port_3 = self.neutron.create_port()['port']
        server = self._boot(networks=[{'port': port_1['id']},
                                      {'port': port_2['id']}])
        self._assert_attach_refused(server, port_3)
        self._detach_interface(server, port_2['id'])
        info = self.vbox.show_vm_info(server['id'])
        self.assertEqual(('null', 'off'),
                         (info['nic2'], info['cableconnected2']))
        server = self._stop_server(server)
        self._assert_attach_refused(server, port_3)
        self._detach_interface(server, port_1['id'])
        self.assertEqual('none', self.vbox.show_vm_info(server['id'])['nic1'])
        self.assertEqual([], self.api.get_port_interfaces(server['id']))
        self._delete_server(server)
        self._assert_nothing_left()

    # -- volumes --------------------------------------------------------------

    def _attach_check_detach(self, server, volume_id, path):
        self._attach_volume(server, volume_id)
        info, port, device = self._slot_of(server, path)
        self.assertIsNotNone(port, 'volume not attached: %s' % info)
        self.assertNotEqual(0, port)  # the root disk's
        self.assertEqual('on', info['SATA-hot-pluggable-%d-%d' %
                                    (port, device)])
        self._detach_volume(server, volume_id)
        info, port, _device = self._slot_of(server, path)
        self.assertIsNone(port, 'volume still attached: %s' % info)
        self.assertTrue(os.path.exists(path))
        # The medium was closed: VirtualBox no longer knows the file.
        self.assertNotIn(path, self.vbox.run('list', 'hdds').stdout)

    def test_attach_detach_volume_stopped_and_running(self):
        volume_id = '1b3bb5b3-3b5e-4d5b-9b8b-6a1e4f0a7c11'
        path = self._volume(volume_id, 'data')
        server = self._boot()
        self._stop_server(server)
        self._attach_check_detach(server, volume_id, path)
        self._start_server(server)
        self.assertEqual('running', self._vm_state(server))
        self._attach_check_detach(server, volume_id, path)
        # Attached while running, stays across a stop and start; then leaves
        # the running VM (hot-plugged disks are hot-pluggable).
        self._attach_volume(server, volume_id)
        self._stop_server(server)
        self._start_server(server)
        self.assertIsNotNone(self._slot_of(server, path)[1])
        self._detach_volume(server, volume_id)
        self.assertIsNone(self._slot_of(server, path)[1])
        self._delete_server(server)
        self._assert_nothing_left()
        self.assertTrue(os.path.exists(path))

    def test_delete_with_volume_keeps_the_volume_file(self):
        volume_id = '6a0e3c1e-51f4-4b83-a4a6-1f1d1f3d2b22'
        path = self._volume(volume_id, 'kept')
        server = self._boot()
        self._attach_volume(server, volume_id)
        self._delete_server(server)
        self._assert_nothing_left()
        self.assertTrue(os.path.exists(path))
        self.assertNotIn(path, self.vbox.run('list', 'hdds').stdout)

    def test_boot_from_volume(self):
        volume_id = cinder_fixture.CinderFixture.IMAGE_BACKED_VOL
        path = self._volume(volume_id, 'root')
        server = self._build_server(networks='none')
        server.pop('imageRef')
        server['block_device_mapping_v2'] = [{
            'source_type': 'volume', 'destination_type': 'volume',
            'boot_index': 0, 'uuid': volume_id}]
        server = self.api.post_server({'server': server})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual('running', self._vm_state(server))
        info, disks = self._disks(server)
        self.assertEqual({(0, 0): path}, disks)
        # No root disk from an image: nothing cached, no disk file of the
        # instance's own.
        cache = os.path.join(self.instances_path, '_base')
        self.assertEqual([], os.listdir(cache) if os.path.isdir(cache)
                         else [])
        own = [f for f in os.listdir(os.path.dirname(info['CfgFile']))
               if f.endswith(('.vdi', '.vmdk', '.vhd'))]
        self.assertEqual([], own)
        self._delete_server(server)
        self._assert_nothing_left()
        self.assertTrue(os.path.exists(path))
