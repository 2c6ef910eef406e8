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

"""The Neutron half's VirtualBox commands on the real VBoxManage 7.2.

Every ``modifyvm --nic*`` line the Nova driver builds for a port bound
``vbox``, and every ``list``, ``modifyvm --cable-connected``,
``dhcpserver`` and ``natnetwork`` line neutron-virtualbox-agent builds, run
on real VirtualBox, which must accept them and then show what was asked.
No VM runs here with an internal network, NAT network, bridged or host-only
NIC (VERR_SUP_DRIVERLESS at startvm), so the VM stays powered off: this
proves configuration, not traffic. The agent's test needs Neutron (the
agent's loop) and is skipped without it.
"""

import uuid

from nova.network import model as network_model
from nova import test
from nova.tests.functional.virtualbox import vbox_fixtures
from nova.tests.unit.virt.virtualbox import test_base
from nova.virt.virtualbox import conf as vbox_conf
from nova.virt.virtualbox import constants
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import parsers
from nova.virt.virtualbox import vboxmanage
from nova.virt.virtualbox import vif as vbox_vif

import nova.conf

CONF = nova.conf.CONF
vbox_conf.register_opts(CONF)


def vbox_vif_of(number, attachment, network, net_id):
    vif = network_model.VIF(
        id='port-%d' % number, address='fa:16:3e:7e:00:%02x' % number,
        network=network_model.Network(id=net_id, label='private'),
        type=constants.VIF_TYPE_VBOX, active=False,
        details={constants.VIF_DETAILS_VBOX_ATTACHMENT: attachment,
                 constants.VIF_DETAILS_VBOX_NETWORK: network,
                 'port_filter': False, 'connectivity': 'l2'})
    return vif


class NeutronRealVBoxTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        real = self.useFixture(vbox_fixtures.RealVBoxFixture())
        self.vbox = vboxmanage.VBoxManage(real.command, retry_interval=0.2)
        self.net_id = str(uuid.uuid4())
        self.natnet = 'nvb-test-nat-%s' % uuid.uuid4().hex[:8]
        self.name = 'nvb-test-%s' % uuid.uuid4().hex[:8]
        self.vbox.run('createvm', '--name', self.name, '--groups', '/nova',
                      '--basefolder', real.workdir, '--register')
        self.addCleanup(self._quietly, 'unregistervm', self.name, '--delete')
        self.addCleanup(self._quietly, 'natnetwork', 'remove', '--netname',
                        self.natnet)
        for network in (self.net_id, self.natnet):
            self.addCleanup(self._quietly, 'dhcpserver', 'remove',
                            '--network=%s' % network)
        self.instance = test_base.FakeInstance(uuid=self.name)
        self.vifs = network_model.NetworkInfo([
            vbox_vif_of(1, 'intnet', self.net_id, self.net_id),
            vbox_vif_of(2, 'natnetwork', self.natnet, str(uuid.uuid4())),
            vbox_vif_of(3, 'bridged', 'eth0.42', str(uuid.uuid4())),
            vbox_vif_of(4, 'hostonly', 'vboxnet0', str(uuid.uuid4()))])

    def _quietly(self, *args):
        try:
            self.vbox.run(*args, retry=False)
        except vbox_exc.VBoxError:
            pass

    def _configure_nics(self):
        vifops = vbox_vif.VIFOps(self.vbox)
        args = vifops.nic_args(self.instance, self.vifs, None)
        self.vbox.run('modifyvm', self.name, *args)

    def _subnets(self, network_ids):
        return [{'id': 'sub-%s' % net, 'network_id': net,
                 'cidr': '10.77.0.0/24', 'gateway_ip': '10.77.0.1',
                 'enable_dhcp': True,
                 'dns_nameservers': ['8.8.8.8', '1.1.1.1'],
                 'allocation_pools': [{'start': '10.77.0.10',
                                       'end': '10.77.0.254'}]}
                for net in network_ids]

    def _details(self, vif, ip):
        return {'device': vif['address'], 'port_id': vif['id'],
                'network_id': vif['network']['id'],
                'admin_state_up': True,
                'fixed_ips': [{'subnet_id': 'sub-%s' % vif['network']['id'],
                               'ip_address': ip}]}

    def test_nova_nics_for_vbox_bindings(self):
        self._configure_nics()
        info = self.vbox.show_vm_info(self.name)
        self.assertEqual(('intnet', self.net_id, 'FA163E7E0001', 'on'),
                         (info['nic1'], info['intnet1'],
                          info['macaddress1'], info['cableconnected1']))
        self.assertEqual(('natnetwork', 'FA163E7E0002'),
                         (info['nic2'], info['macaddress2']))
        self.assertEqual(('bridged', 'eth0.42'),
                         (info['nic3'], info['bridgeadapter3']))
        self.assertEqual(('hostonly', 'vboxnet0'),
                         (info['nic4'], info['hostonlyadapter4']))
        self.assertEqual('none', info['nic5'])

    def test_agent_sweep_cable_dhcp_and_nat_network(self):
        try:
            from networking_virtualbox.agent import vbox_agent
        except ImportError as err:
            self.skipTest('Neutron is not installed (%s)' % err)
        self._configure_nics()
        mgr = vbox_agent.VBoxManager(
            self.vbox, {}, ['vxlan'], vm_group='/nova', host='h1')
        mgr.get_subnets = self._subnets
        calls = self.vbox.call_count
        nics = mgr.sweep()
        self.assertEqual(1, self.vbox.call_count - calls)
        mine = {mac: nic for mac, nic in nics.items()
                if nic.vm_name == self.name}
        self.assertEqual(
            {'fa:16:3e:7e:00:01': ('intnet', self.net_id),
             'fa:16:3e:7e:00:02': ('natnetwork', self.natnet),
             'fa:16:3e:7e:00:03': ('bridged', 'eth0.42'),
             'fa:16:3e:7e:00:04': ('hostonly', 'vboxnet0')},
            {mac: (nic.mode, nic.network) for mac, nic in mine.items()})

        # Admin state down: the stopped VM's cable, in its settings.
        mgr.ensure_port_admin_state('fa:16:3e:7e:00:01', False)
        self.assertEqual('off', self.vbox.show_vm_info(self.name)[
            'cableconnected1'])
        mgr.ensure_port_admin_state('fa:16:3e:7e:00:01', True)
        self.assertEqual('on', self.vbox.show_vm_info(self.name)[
            'cableconnected1'])

        # DHCP: a new internal network's server, the missing NAT network.
        mgr.sync_dhcp([self._details(self.vifs[0], '10.77.0.11'),
                       self._details(self.vifs[1], '10.77.0.12')])
        natnets = parsers.parse_colon_blocks(
            self.vbox.run('list', 'natnets').stdout)
        self.assertIn(('10.77.0.0/24', 'Yes'), [
            (b.get('Network'), b.get('DHCP Server')) for b in natnets
            if b.get('Name') == self.natnet])
        servers = mgr._dhcp_servers()
        intnet = servers[self.net_id]
        self.assertEqual(('10.77.0.2', '255.255.255.0', '10.77.0.10',
                          '10.77.0.254', True),
                         (intnet.server_ip, intnet.netmask, intnet.lower_ip,
                          intnet.upper_ip, intnet.enabled))
        self.assertEqual({1: '255.255.255.0', 3: '10.77.0.1',
                          6: '8.8.8.8 1.1.1.1'}, intnet.options)
        self.assertEqual({'fa:16:3e:7e:00:01': '10.77.0.11'}, intnet.fixed)
        self.assertEqual({'fa:16:3e:7e:00:02': '10.77.0.12'},
                         servers[self.natnet].fixed)

        # An existing server: only what changed (the address of the MAC,
        # the subnet's DNS); the same again is no call.
        subnets = self._subnets

        def changed(network_ids):
            result = subnets(network_ids)
            for subnet in result:
                subnet['dns_nameservers'] = ['9.9.9.9']
            return result
        mgr.get_subnets = changed
        mgr.sync_dhcp([self._details(self.vifs[0], '10.77.0.21')])
        intnet = mgr._dhcp_servers()[self.net_id]
        self.assertEqual('9.9.9.9', intnet.options[6])
        self.assertEqual({'fa:16:3e:7e:00:01': '10.77.0.21'}, intnet.fixed)
        calls = self.vbox.call_count
        mgr.sync_dhcp([self._details(self.vifs[0], '10.77.0.21')])
        self.assertEqual(1, self.vbox.call_count - calls)  # the list only

        # The ports leave: the NAT network's entry goes, and the internal
        # network's server once no NIC uses it.
        self.vbox.run('modifyvm', self.name, '--nic1', 'none')
        mgr.sweep()
        mgr.forget_dhcp(['fa:16:3e:7e:00:01', 'fa:16:3e:7e:00:02'])
        servers = mgr._dhcp_servers()
        self.assertNotIn(self.net_id, servers)
        self.assertEqual({}, servers[self.natnet].fixed)
