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

"""Servers whose ports Neutron's virtualbox mechanism driver bound, through
Nova's API onto the simulator.

NeutronFixture stands in for neutron-server: its ports are given the
binding the virtualbox driver makes (vif_type vbox, the attachment in
vif_details) and status DOWN, as Neutron leaves a port until its agent
reports it. The test then does what neutron-virtualbox-agent and Neutron
do: one ``list vms --long`` finds the NICs by MAC (the agent's own reader,
networking_virtualbox.agent.vboxnet), and network-vif-plugged goes to
Nova's external events API. Nova must wait for it (vif_plugging_is_fatal,
the default) and fail the build without it.
"""

import time

from nova.tests.fixtures import neutron as neutron_fixture
from nova.tests.functional.virtualbox import test_servers
from nova.virt.virtualbox import constants

NET_A = '3cb9bc59-5699-4588-a4b1-b87f96708bc6'


class VBoxBoundPortsTestCase(test_servers.VBoxServersTestBase):

    def setUp(self):
        super().setUp()
        self.flags(vif_plugging_timeout=60, vif_plugging_is_fatal=True)

    def _vbox_port(self, port, attachment, network):
        """The port as the virtualbox mechanism driver binds it."""
        stored = self.neutron._ports[port['id']]
        stored['binding:vif_type'] = constants.VIF_TYPE_VBOX
        stored['binding:vif_details'] = {
            'port_filter': False, 'connectivity': 'l2',
            constants.VIF_DETAILS_VBOX_ATTACHMENT: attachment,
            constants.VIF_DETAILS_VBOX_NETWORK: network}
        stored['status'] = 'DOWN'
        return stored

    def _agent_sees(self, server, macs, timeout=60):
        """Sweep as the agent does until the VM has NICs with these MACs:
        {mac: Nic}."""
        from networking_virtualbox.agent import vboxnet
        deadline = time.monotonic() + timeout
        while True:
            out = self.vbox.run('list', 'vms', '--long').stdout
            nics = {nic.mac: nic
                    for vm in vboxnet.parse_vms_long(out)
                    if vm['uuid'] == server['id'] and '/nova' in vm['groups']
                    for nic in vm['nics']}
            if set(macs) <= set(nics):
                return nics
            self.assertLess(time.monotonic(), deadline,
                            'the agent never saw NICs %s' % macs)
            time.sleep(0.2)

    def test_nics_where_the_binding_says_and_spawn_waits_for_the_agent(self):
        port_1 = self._vbox_port(neutron_fixture.NeutronFixture.port_1,
                                 'intnet', NET_A)
        port_2 = self._vbox_port(self.neutron.create_port()['port'],
                                 'natnetwork', 'NatNetwork')
        server = self._boot(networks=[{'port': port_1['id']},
                                      {'port': port_2['id']}],
                            expected_state='BUILD')
        nics = self._agent_sees(server, [port_1['mac_address'],
                                         port_2['mac_address']])
        self.assertEqual(('intnet', NET_A),
                         (nics[port_1['mac_address']].mode,
                          nics[port_1['mac_address']].network))
        self.assertEqual(('natnetwork', 'NatNetwork'),
                         (nics[port_2['mac_address']].mode,
                          nics[port_2['mac_address']].network))
        # Nova waits for Neutron: still building with the NICs made.
        time.sleep(1)
        self.assertEqual('BUILD', self._show_server(server)['status'])
        self.admin_api.create_server_external_events([
            {'name': 'network-vif-plugged', 'server_uuid': server['id'],
             'tag': port['id'], 'status': 'completed'}
            for port in (port_1, port_2)])
        server = self._wait_for_state_change(server, 'ACTIVE',
                                             max_retries=120)
        self.assertEqual('running', self._vm_state(server))
        self._delete_server(server)
        self._assert_nothing_left()

    def test_no_network_vif_plugged_fails_the_build(self):
        self.flags(vif_plugging_timeout=3)
        port_1 = self._vbox_port(neutron_fixture.NeutronFixture.port_1,
                                 'intnet', NET_A)
        server = self._boot(networks=[{'port': port_1['id']}],
                            expected_state='BUILD')
        # The spawn and the 3 s wait, on a loaded machine: up to a minute.
        server = self._wait_for_state_change(server, 'ERROR',
                                             max_retries=120)
        # Nova's words for VirtualInterfaceCreateException at build time,
        # as with libvirt.
        self.assertIn('Failed to allocate the network(s)',
                      server['fault']['message'])
        self._delete_server(server)
        self._assert_nothing_left()
