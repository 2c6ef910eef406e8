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

"""vboxnet: the agent's readers of real VBoxManage 7.2 output (verbatim
transcripts in transcripts/) and the dhcpserver lines it builds."""

import os

import testtools

from networking_virtualbox.agent import vboxnet

TRANSCRIPTS = os.path.join(os.path.dirname(__file__), '..', 'transcripts')
NET = '0b6c5d3e-1111-2222-3333-444455556666'


def transcript(name):
    with open(os.path.join(TRANSCRIPTS, name)) as handle:
        return handle.read()


class ParseVmsLongTestCase(testtools.TestCase):
    """list vms --long of real 7.2.22: a Nova VM with every attachment
    kind and a user's VM outside the group."""

    def setUp(self):
        super().setUp()
        self.vms = vboxnet.parse_vms_long(transcript('list-vms-long.txt'))

    def test_vms_groups_states(self):
        self.assertEqual(['nvb-test-a', 'nvb-test-user'],
                         [vm['name'] for vm in self.vms])
        self.assertEqual(['/nova'], self.vms[0]['groups'])
        self.assertEqual('e311aa04-e6a6-4505-a18e-b60ff0dd4e5a',
                         self.vms[0]['uuid'])
        self.assertEqual('powered off', self.vms[0]['state'])
        self.assertFalse(self.vms[0]['running'])

    def test_nics_with_neutron_macs_attachments_and_cables(self):
        nics = {n.number: n for n in self.vms[0]['nics']}
        self.assertEqual(sorted(nics), [1, 2, 3, 4, 5, 6])
        self.assertEqual(('fa:16:3e:00:00:01', 'intnet', NET, True),
                         (nics[1].mac, nics[1].mode, nics[1].network,
                          nics[1].cable))
        self.assertEqual(('natnetwork', 'nvb-test-natx', False),
                         (nics[2].mode, nics[2].network, nics[2].cable))
        self.assertEqual(('nat', None), (nics[3].mode, nics[3].network))
        # A NIC attached to nothing (a port detached from a running VM).
        self.assertEqual('none', nics[4].mode)
        self.assertEqual(('hostonly', 'vboxnet0'),
                         (nics[5].mode, nics[5].network))
        self.assertEqual(('bridged', 'eth0.42'),
                         (nics[6].mode, nics[6].network))
        self.assertEqual({'e311aa04-e6a6-4505-a18e-b60ff0dd4e5a'},
                         {n.vm_uuid for n in nics.values()})

    def test_running_vm_takes_controlvm(self):
        text = transcript('list-vms-long.txt').replace(
            'powered off (since', 'running (since', 1)
        vm = vboxnet.parse_vms_long(text)[0]
        self.assertEqual('running', vm['state'])
        self.assertTrue(all(n.running for n in vm['nics']))

    def test_shared_folder_name_line_is_not_a_vm(self):
        text = transcript('list-vms-long.txt').replace(
            'NIC 7:', "Name: 'share', Host path: '/tmp' (machine mapping), "
            "writable\nNIC 7:", 1)
        self.assertEqual(2, len(vboxnet.parse_vms_long(text)))

    def test_warning_block_stripped_by_the_callers_reader(self):
        text = 'WARNING: no vboxdrv\n\n' + transcript('list-vms-long.txt')
        vms = vboxnet.parse_vms_long(text, lambda t: t.split('\n\n', 1)[1])
        self.assertEqual(2, len(vms))

    def test_empty(self):
        self.assertEqual([], vboxnet.parse_vms_long(''))


class ParseDhcpServersTestCase(testtools.TestCase):

    def test_real_listing(self):
        servers = vboxnet.parse_dhcp_servers(
            transcript('list-dhcpservers.txt'))
        self.assertEqual({'HostInterfaceNetworking-vboxnet0', NET},
                         set(servers))
        server = servers[NET]
        self.assertEqual(('10.0.0.2', '255.255.255.0', '10.0.0.10',
                          '10.0.0.254', True),
                         (server.server_ip, server.netmask, server.lower_ip,
                          server.upper_ip, server.enabled))
        self.assertEqual({1: '255.255.255.0', 3: '10.0.0.1',
                          6: '8.8.8.8 1.1.1.1'}, server.options)
        self.assertEqual({'fa:16:3e:00:00:01': '10.0.0.11'}, server.fixed)
        self.assertEqual({}, servers['HostInterfaceNetworking-vboxnet0']
                         .fixed)

    def test_none(self):
        self.assertEqual({}, vboxnet.parse_dhcp_servers(''))


def subnet(**kwargs):
    values = {'id': 's1', 'network_id': NET, 'cidr': '10.0.0.0/24',
              'gateway_ip': '10.0.0.1', 'enable_dhcp': True,
              'dns_nameservers': ['8.8.8.8'],
              'allocation_pools': [{'start': '10.0.0.10',
                                    'end': '10.0.0.254'}]}
    values.update(kwargs)
    return values


class DhcpSettingsTestCase(testtools.TestCase):

    def test_server_outside_the_pools_and_not_the_gateway(self):
        settings = vboxnet.dhcp_settings(subnet())
        self.assertEqual(('10.0.0.2', '255.255.255.0', '10.0.0.10',
                          '10.0.0.254'),
                         (settings.server_ip, settings.netmask,
                          settings.lower_ip, settings.upper_ip))
        self.assertEqual({3: '10.0.0.1', 6: '8.8.8.8'}, settings.options)

    def test_server_in_a_gap_between_pools(self):
        settings = vboxnet.dhcp_settings(subnet(
            gateway_ip='10.0.0.1', allocation_pools=[
                {'start': '10.0.0.2', 'end': '10.0.0.99'},
                {'start': '10.0.0.101', 'end': '10.0.0.254'}]))
        self.assertEqual('10.0.0.100', settings.server_ip)

    def test_server_above_the_pool(self):
        settings = vboxnet.dhcp_settings(subnet(
            gateway_ip=None, dns_nameservers=[], allocation_pools=[
                {'start': '10.0.0.1', 'end': '10.0.0.200'}]))
        self.assertEqual('10.0.0.201', settings.server_ip)
        self.assertEqual({}, settings.options)

    def test_pools_covering_everything_give_up_their_last_address(self):
        settings = vboxnet.dhcp_settings(subnet(allocation_pools=[
            {'start': '10.0.0.2', 'end': '10.0.0.254'}]))
        self.assertEqual(('10.0.0.254', '10.0.0.2', '10.0.0.253'),
                         (settings.server_ip, settings.lower_ip,
                          settings.upper_ip))

    def test_several_dns_servers_in_one_option(self):
        settings = vboxnet.dhcp_settings(subnet(
            dns_nameservers=['8.8.8.8', '1.1.1.1']))
        self.assertEqual('8.8.8.8 1.1.1.1', settings.options[6])

    def test_no_server_for_ipv6_or_dhcp_off(self):
        self.assertIsNone(vboxnet.dhcp_settings(subnet(
            cidr='fd00::/64', gateway_ip='fd00::1', allocation_pools=[])))
        self.assertIsNone(vboxnet.dhcp_settings(subnet(enable_dhcp=False)))

    def test_large_subnet_is_quick(self):
        # Gaps are walked, not every address of a /8.
        settings = vboxnet.dhcp_settings(subnet(
            cidr='10.0.0.0/8', gateway_ip='10.0.0.1', allocation_pools=[
                {'start': '10.0.0.2', 'end': '10.255.255.254'}]))
        self.assertEqual('10.255.255.254', settings.server_ip)


class DhcpServerArgsTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.wanted = vboxnet.dhcp_settings(subnet())
        self.existing = vboxnet.parse_dhcp_servers(
            transcript('list-dhcpservers.txt'))[NET]

    def test_add_carries_globals_options_and_fixed_addresses(self):
        args = vboxnet.dhcpserver_args(
            '--network=n1', None, self.wanted,
            {'fa:16:3e:00:00:02': '10.0.0.12',
             'fa:16:3e:00:00:01': '10.0.0.11'})
        self.assertEqual(
            ['dhcpserver', 'add', '--network=n1', '--server-ip=10.0.0.2',
             '--netmask=255.255.255.0', '--lower-ip=10.0.0.10',
             '--upper-ip=10.0.0.254', '--enable',
             '--set-opt=3', '10.0.0.1', '--set-opt=6', '8.8.8.8',
             '--mac-address=fa:16:3e:00:00:01', '--fixed-address=10.0.0.11',
             '--mac-address=fa:16:3e:00:00:02', '--fixed-address=10.0.0.12'],
            args)

    def test_modify_only_what_differs(self):
        # The real server has DNS "8.8.8.8 1.1.1.1" and MAC ...01 at .11.
        args = vboxnet.dhcpserver_args(
            '--network=%s' % NET, self.existing, self.wanted,
            {'fa:16:3e:00:00:01': '10.0.0.11',
             'fa:16:3e:00:00:02': '10.0.0.12'})
        self.assertEqual(
            ['dhcpserver', 'modify', '--network=%s' % NET,
             '--set-opt=6', '8.8.8.8',
             '--mac-address=fa:16:3e:00:00:02', '--fixed-address=10.0.0.12'],
            args)

    def test_nothing_to_change_is_no_call(self):
        wanted = self.wanted._replace(options=dict(self.existing.options))
        self.assertIsNone(vboxnet.dhcpserver_args(
            '--network=%s' % NET, self.existing, wanted,
            {'fa:16:3e:00:00:01': '10.0.0.11'}))

    def test_gateway_removed_from_the_subnet_deletes_option_3(self):
        wanted = self.wanted._replace(options={6: '8.8.8.8 1.1.1.1'})
        args = vboxnet.dhcpserver_args('--network=%s' % NET, self.existing,
                                       wanted, {})
        self.assertEqual(['dhcpserver', 'modify', '--network=%s' % NET,
                          '--del-opt=3'], args)

    def test_remove_a_mac(self):
        args = vboxnet.dhcpserver_args(
            '--network=%s' % NET, self.existing, None, {},
            remove=['fa:16:3e:00:00:01', 'fa:16:3e:00:00:99'])
        self.assertEqual(['dhcpserver', 'modify', '--network=%s' % NET,
                          '--mac-address=fa:16:3e:00:00:01',
                          '--remove-config'], args)

    def test_changed_address_of_a_mac(self):
        args = vboxnet.dhcpserver_args(
            '--network=%s' % NET, self.existing, None,
            {'fa:16:3e:00:00:01': '10.0.0.50'})
        self.assertEqual(['dhcpserver', 'modify', '--network=%s' % NET,
                          '--mac-address=fa:16:3e:00:00:01',
                          '--fixed-address=10.0.0.50'], args)


class DhcpServerOfTestCase(testtools.TestCase):

    def test_per_attachment(self):
        nic = vboxnet.Nic('u', 'vm', 1, 'fa:16:3e:00:00:01', 'intnet', NET,
                          True, False)
        self.assertEqual((NET, '--network=%s' % NET),
                         vboxnet.dhcp_server_of(nic))
        self.assertEqual(('Nat', '--network=Nat'), vboxnet.dhcp_server_of(
            nic._replace(mode='natnetwork', network='Nat')))
        self.assertEqual(('HostInterfaceNetworking-vboxnet0',
                          '--interface=vboxnet0'),
                         vboxnet.dhcp_server_of(
                             nic._replace(mode='hostonly',
                                          network='vboxnet0')))
        for mode in ('bridged', 'hostonlynet', 'nat'):
            self.assertIsNone(vboxnet.dhcp_server_of(
                nic._replace(mode=mode)))
