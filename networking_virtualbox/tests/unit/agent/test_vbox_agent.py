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

"""The agent with a fake VBoxManage that answers from real 7.2 transcripts
and records every call: what it reports to Neutron, what it changes in
VirtualBox, and what a sweep costs."""

import collections
import sys
from unittest import mock

import fixtures

import netaddr
from neutron_lib.agent import topics
from neutron_lib.api.definitions import portbindings
from neutron_lib import context as n_context
from neutron_lib.plugins import directory
from oslo_config import cfg
import testtools

from neutron.agent import rpc as agent_rpc
from neutron.api.rpc.handlers import resources_rpc
from neutron.objects import subnet as subnet_obj
from neutron.tests import base as n_base
from neutron.tests.common import helpers
from neutron.tests.common import test_db_base_plugin_v2 as test_plugin

from networking_virtualbox.agent import novawrapper
from networking_virtualbox.agent import vbox_agent
from networking_virtualbox import config
from networking_virtualbox import constants
from networking_virtualbox.tests.unit.agent import test_vboxnet
from networking_virtualbox.tests.unit.ml2 import test_mech_virtualbox

NET = test_vboxnet.NET
VM = 'e311aa04-e6a6-4505-a18e-b60ff0dd4e5a'
Result = collections.namedtuple('Result', ['stdout', 'stderr'])


class FakeVBox(object):
    """Answers list commands from texts, records every call."""

    def __init__(self, vms=None, dhcpservers='', natnets=''):
        self.outputs = {
            ('list', 'vms', '--long'): (
                test_vboxnet.transcript('list-vms-long.txt')
                if vms is None else vms),
            ('list', 'dhcpservers'): dhcpservers,
            ('list', 'natnets'): natnets,
        }
        self.calls = []
        self.fail = {}

    def run(self, *args, **kwargs):
        self.calls.append(list(args))
        if args[:2] in self.fail:
            raise self.fail[args[:2]]
        return Result(self.outputs.get(tuple(args), ''), '')

    def changes(self):
        return [c for c in self.calls if c[0] != 'list']


def details(mac, ip='10.0.0.11', subnet_id='s1', admin=True):
    return {'device': mac, 'port_id': 'port-' + mac[-2:], 'network_id': NET,
            'network_type': 'vxlan', 'physical_network': None,
            'segmentation_id': 5, 'admin_state_up': admin,
            'device_owner': 'compute:nova',
            'fixed_ips': [{'subnet_id': subnet_id, 'ip_address': ip}]}


def manager(vbox, **kwargs):
    mgr = vbox_agent.VBoxManager(
        vbox, constants.parse_mappings(['public:natnetwork:nvb-test-natx']),
        ['vxlan'], host='host1', **kwargs)
    mgr.get_subnets = mock.Mock(return_value=[test_vboxnet.subnet()])
    return mgr


def many_vms_text(count):
    """`list vms --long` of ``count`` Nova VMs, each the transcript's VM
    with its six NICs under new MACs and UUIDs."""
    block = test_vboxnet.transcript('list-vms-long.txt').split(
        'Name:                        nvb-test-user')[0]
    blocks = []
    for index in range(count):
        text = block.replace(VM, '%08x-0000-4000-8000-000000000000' % index)
        for nic in range(1, 7):
            text = text.replace('FA163E00000%d' % nic,
                                'FA163E%04X%02X' % (index, nic))
        blocks.append(text)
    return ''.join(blocks)


class SweepTestCase(testtools.TestCase):

    def test_ports_are_the_nics_of_novas_vms(self):
        vbox = FakeVBox()
        mgr = manager(vbox)
        # NIC 4 is attached to nothing (detached port); the user's VM is
        # outside /nova.
        self.assertEqual({'fa:16:3e:00:00:01', 'fa:16:3e:00:00:02',
                          'fa:16:3e:00:00:03', 'fa:16:3e:00:00:05',
                          'fa:16:3e:00:00:06'}, mgr.get_all_devices())
        self.assertEqual([['list', 'vms', '--long']], vbox.calls)

    def test_one_call_per_sweep_at_1_20_50_vms(self):
        for count in (1, 20, 50):
            vbox = FakeVBox(vms=many_vms_text(count))
            mgr = manager(vbox)
            mgr.sweep()
            self.assertEqual(5 * count, len(mgr.get_all_devices()))
            mgr.get_all_devices()
            self.assertEqual(1, len(vbox.calls), count)

    def test_inaccessible_vms_do_not_stop_the_sweep(self):
        # Real 7.2.22 with two registered VMs whose settings files are
        # gone: exit 0, an error per VM on stderr, "<inaccessible!>" blocks
        # on stdout beside the other VMs.
        stdout = (test_vboxnet.transcript('list-vms-long.txt') +
                  test_vboxnet.transcript('list-vms-long-inaccessible.txt'))
        error = novawrapper.vboxmanage.classify_error(
            'list vms --long', 0, test_vboxnet.transcript(
                'list-vms-long-inaccessible.stderr.txt'), stdout)
        vbox = FakeVBox()
        vbox.fail[('list', 'vms')] = error
        self.assertEqual(5, len(manager(vbox).get_all_devices()))

    def test_other_listing_failures_are_raised(self):
        vbox = FakeVBox()
        vbox.fail[('list', 'vms')] = novawrapper.vboxmanage.classify_error(
            'list vms --long', 1, 'VBoxManage: error: Failed to create the '
            'VirtualBox object!\n', '')
        self.assertRaises(novawrapper.vbox_exc.VBoxManageError,
                          manager(vbox).get_all_devices)

    def test_plugged_means_the_nic_exists(self):
        mgr = manager(FakeVBox())
        mgr.sweep()
        self.assertTrue(mgr.plug_interface(NET, mock.Mock(),
                                           'fa:16:3e:00:00:01',
                                           'compute:nova'))
        self.assertFalse(mgr.plug_interface(NET, mock.Mock(),
                                            'fa:16:3e:00:00:77',
                                            'compute:nova'))


class AdminStateTestCase(testtools.TestCase):

    def test_stopped_vm_cable_in_its_settings(self):
        vbox = FakeVBox()
        mgr = manager(vbox)
        mgr.sweep()
        mgr.ensure_port_admin_state('fa:16:3e:00:00:01', False)
        mgr.ensure_port_admin_state('fa:16:3e:00:00:02', True)
        self.assertEqual([['modifyvm', VM, '--cable-connected1', 'off'],
                          ['modifyvm', VM, '--cable-connected2', 'on']],
                         vbox.changes())
        # Known now: the same state again costs nothing.
        mgr.ensure_port_admin_state('fa:16:3e:00:00:01', False)
        self.assertEqual(2, len(vbox.changes()))

    def test_cable_as_it_should_be_is_no_call(self):
        vbox = FakeVBox()
        mgr = manager(vbox)
        mgr.sweep()
        mgr.ensure_port_admin_state('fa:16:3e:00:00:01', True)
        mgr.ensure_port_admin_state('fa:16:3e:00:00:02', False)
        self.assertEqual([], vbox.changes())

    def test_running_vm_link_state(self):
        vbox = FakeVBox(vms=test_vboxnet.transcript(
            'list-vms-long.txt').replace('powered off (since',
                                         'running (since', 1))
        mgr = manager(vbox)
        mgr.sweep()
        mgr.ensure_port_admin_state('fa:16:3e:00:00:05', False)
        self.assertEqual([['controlvm', VM, 'setlinkstate5', 'off']],
                         vbox.changes())

    def test_vm_stopped_since_the_sweep(self):
        vbox = FakeVBox(vms=test_vboxnet.transcript(
            'list-vms-long.txt').replace('powered off (since',
                                         'running (since', 1))
        vbox.fail[('controlvm', VM)] = novawrapper.vbox_exc.VBoxInvalidVMState(
            command='controlvm', exit_code=1, code_name=None,
            messages=['not running'], stderr='')
        mgr = manager(vbox)
        mgr.sweep()
        mgr.ensure_port_admin_state('fa:16:3e:00:00:05', False)
        self.assertEqual(['modifyvm', VM, '--cable-connected5', 'off'],
                         vbox.changes()[-1])


class DhcpTestCase(testtools.TestCase):

    def test_new_server_with_the_ports_addresses_in_one_call(self):
        vbox = FakeVBox()
        mgr = manager(vbox)
        mgr.sweep()
        mgr.sync_dhcp([details('fa:16:3e:00:00:01', '10.0.0.11'),
                       details('fa:16:3e:00:00:06', '10.0.0.16'),
                       {'device': 'fa:16:3e:00:00:99'}])
        # NIC 6 is bridged: its LAN serves it; the unknown device is not a
        # port. The subnets of the network come in one RPC.
        mgr.get_subnets.assert_called_once_with([NET])
        self.assertEqual(
            [['dhcpserver', 'add', '--network=' + NET,
              '--server-ip=10.0.0.2', '--netmask=255.255.255.0',
              '--lower-ip=10.0.0.10', '--upper-ip=10.0.0.254', '--enable',
              '--set-opt=3', '10.0.0.1', '--set-opt=6', '8.8.8.8',
              '--mac-address=fa:16:3e:00:00:01',
              '--fixed-address=10.0.0.11']], vbox.changes())
        self.assertIn(['list', 'dhcpservers'], vbox.calls)

    def test_existing_server_gets_only_the_new_address(self):
        vbox = FakeVBox(dhcpservers=test_vboxnet.transcript(
            'list-dhcpservers.txt'))
        mgr = manager(vbox)
        mgr.get_subnets.return_value = [test_vboxnet.subnet(
            dns_nameservers=['8.8.8.8', '1.1.1.1'])]
        mgr.sweep()
        mgr.sync_dhcp([details('fa:16:3e:00:00:01', '10.0.0.11')])
        self.assertEqual([], vbox.changes())
        mgr.sync_dhcp([details('fa:16:3e:00:00:05', '10.0.0.15')])
        # NIC 5 is on host-only vboxnet0, whose server VirtualBox made.
        self.assertEqual(
            [['dhcpserver', 'modify', '--interface=vboxnet0',
              '--server-ip=10.0.0.2', '--lower-ip=10.0.0.10',
              '--upper-ip=10.0.0.254', '--set-opt=3', '10.0.0.1',
              '--set-opt=6', '8.8.8.8 1.1.1.1',
              '--mac-address=fa:16:3e:00:00:05',
              '--fixed-address=10.0.0.15']], vbox.changes())

    def test_missing_nat_network_is_created_with_the_subnet(self):
        vbox = FakeVBox()
        mgr = manager(vbox)
        mgr.sweep()
        mgr.sync_dhcp([details('fa:16:3e:00:00:02', '10.0.0.12')])
        self.assertEqual(
            ['natnetwork', 'add', '--netname', 'nvb-test-natx', '--network',
             '10.0.0.0/24', '--enable', '--dhcp', 'on'], vbox.changes()[0])
        self.assertEqual(['dhcpserver', 'add', '--network=nvb-test-natx'],
                         vbox.changes()[1][:3])

    def test_existing_nat_network_is_left_alone(self):
        vbox = FakeVBox(natnets='Name:         nvb-test-natx\n'
                                'Network:      10.0.0.0/24\n')
        mgr = manager(vbox)
        mgr.sweep()
        mgr.sync_dhcp([details('fa:16:3e:00:00:02', '10.0.0.12')])
        self.assertEqual('dhcpserver', vbox.changes()[0][0])
        self.assertEqual(1, len(vbox.changes()))

    def test_ipv6_only_port_and_dhcp_off(self):
        vbox = FakeVBox()
        mgr = manager(vbox)
        mgr.get_subnets.return_value = [test_vboxnet.subnet(
            cidr='fd00::/64', gateway_ip=None, allocation_pools=[])]
        mgr.sweep()
        mgr.sync_dhcp([details('fa:16:3e:00:00:01', 'fd00::5')])
        self.assertEqual([], vbox.changes())
        off = manager(vbox, manage_dhcp=False)
        off.sweep()
        off.sync_dhcp([details('fa:16:3e:00:00:01')])
        off.forget_dhcp(['fa:16:3e:00:00:01'])
        self.assertEqual([], vbox.changes())

    def test_forget_removes_the_address(self):
        listing = test_vboxnet.transcript('list-dhcpservers.txt')
        vbox = FakeVBox(dhcpservers=listing)
        mgr = manager(vbox)
        mgr.sweep()
        # The port's NIC still uses the network: only its entry goes.
        mgr.forget_dhcp(['fa:16:3e:00:00:01'])
        self.assertEqual([['dhcpserver', 'modify', '--network=' + NET,
                           '--mac-address=fa:16:3e:00:00:01',
                           '--remove-config']], vbox.changes())

    def test_forget_removes_the_server_of_a_network_with_no_port_left(self):
        vbox = FakeVBox(vms='', dhcpservers=test_vboxnet.transcript(
            'list-dhcpservers.txt'))
        mgr = manager(vbox)
        mgr.sweep()
        mgr.forget_dhcp(['fa:16:3e:00:00:01', 'fa:16:3e:00:00:09'])
        self.assertEqual([['dhcpserver', 'remove', '--network=' + NET]],
                         vbox.changes())

    def test_forget_never_removes_a_host_only_server(self):
        listing = test_vboxnet.transcript('list-dhcpservers.txt').replace(
            'Individual Configs:   None',
            'Individual Config:    MAC fa:16:3e:00:00:05\n'
            '    Fixed Address:    192.168.56.105', 1)
        vbox = FakeVBox(vms='', dhcpservers=listing)
        mgr = manager(vbox)
        mgr.sweep()
        mgr.forget_dhcp(['fa:16:3e:00:00:05'])
        self.assertEqual([['dhcpserver', 'modify', '--interface=vboxnet0',
                           '--mac-address=fa:16:3e:00:00:05',
                           '--remove-config']], vbox.changes())


class ConfigurationsTestCase(testtools.TestCase):

    def test_reported_to_neutron(self):
        mgr = manager(FakeVBox())
        self.assertEqual(
            {constants.CONF_MAPPINGS: {'public': {
                'mode': 'natnetwork', 'target': 'nvb-test-natx'}},
             constants.CONF_TENANT_TYPES: ['vxlan'],
             constants.CONF_DHCP: True, constants.CONF_VM_GROUP: '/nova'},
            mgr.get_agent_configurations())
        self.assertEqual('virtualbox-host1', mgr.get_agent_id())
        self.assertIn([topics.PORT, topics.UPDATE], mgr.get_rpc_consumers())


class AgentLoopTestCase(n_base.BaseTestCase):
    """Neutron's common loop with ours: one sweep per iteration, DHCP
    before the ports go up, up/down reported by NIC presence."""

    def setUp(self):
        super().setUp()
        self.vbox = FakeVBox()
        self.mgr = manager(self.vbox)
        self.loop = vbox_agent.VBoxAgentLoop(self.mgr, 2, 10,
                                             constants.AGENT_TYPE,
                                             constants.AGENT_BINARY)
        self.loop.context = mock.sentinel.context
        self.loop.agent_id = 'virtualbox-host1'
        self.loop.plugin_rpc = mock.Mock()
        self.loop.rpc_callbacks = vbox_agent.VBoxRPCCallBack(
            mock.sentinel.context, self.loop, mock.Mock())
        self.loop.ext_manager = mock.Mock()
        self.loop.sg_agent = mock.Mock()
        self.loop.network_ports = collections.defaultdict(list)

    def test_scan_sweeps_once(self):
        info = self.loop.scan_devices(previous=None, sync=True)
        self.assertEqual(5, len(info['added']))
        self.assertEqual([['list', 'vms', '--long']], self.vbox.calls)

    def test_ports_up_after_their_dhcp_entry(self):
        self.mgr.sweep()
        order = mock.Mock()
        self.loop.plugin_rpc = order.rpc
        order.rpc.get_devices_details_list.return_value = [
            details('fa:16:3e:00:00:01'),
            details('fa:16:3e:00:00:02', admin=False)]
        with mock.patch.object(self.mgr, 'sync_dhcp', order.sync_dhcp):
            resync = self.loop.treat_devices_added_updated(
                {'fa:16:3e:00:00:01', 'fa:16:3e:00:00:02'})
        self.assertFalse(resync)
        names = [c[0] for c in order.mock_calls]
        self.assertEqual('sync_dhcp', names[1])
        self.assertIn('rpc.update_device_up', names)
        order.rpc.update_device_up.assert_called_once_with(
            mock.sentinel.context, 'fa:16:3e:00:00:01', 'virtualbox-host1',
            cfg.CONF.host)
        # Admin down: not reported up, cable already off: no call.
        self.assertEqual([], self.vbox.changes())

    def test_admin_down_port_cable_pulled(self):
        self.mgr.sweep()
        self.mgr.manage_dhcp = False
        self.loop.plugin_rpc.get_devices_details_list.return_value = [
            details('fa:16:3e:00:00:01', admin=False)]
        self.loop.treat_devices_added_updated({'fa:16:3e:00:00:01'})
        self.assertEqual([['modifyvm', VM, '--cable-connected1', 'off']],
                         self.vbox.changes())
        self.loop.plugin_rpc.update_device_up.assert_not_called()

    def test_dhcp_failure_asks_for_a_resync_but_ports_go_up(self):
        self.mgr.sweep()
        self.loop.plugin_rpc.get_devices_details_list.return_value = [
            details('fa:16:3e:00:00:01')]
        self.vbox.fail[('dhcpserver', 'add')] = RuntimeError('boom')
        self.assertTrue(self.loop.treat_devices_added_updated(
            {'fa:16:3e:00:00:01'}))
        self.loop.plugin_rpc.update_device_up.assert_called_once()

    def test_removed_ports_down_and_dhcp_forgotten(self):
        self.mgr.sweep()
        self.loop.plugin_rpc.update_device_down.return_value = {
            'exists': True}
        with mock.patch.object(self.mgr, 'forget_dhcp') as forget:
            self.loop.treat_devices_removed({'fa:16:3e:00:00:09'})
        forget.assert_called_once_with({'fa:16:3e:00:00:09'})
        self.loop.plugin_rpc.update_device_down.assert_called_once()

    def test_loop_ends_after_stop(self):
        # Neutron's loop never ends by itself: a SIGTERM would wait for the
        # launcher's graceful shutdown timeout.
        self.loop.connection = None
        self.loop.sg_plugin_rpc = mock.Mock()
        self.loop.state_rpc = mock.Mock()
        self.loop.plugin_rpc.get_devices_details_list.return_value = []
        with mock.patch.object(vbox_agent.service.Service, 'stop'):
            self.loop.stop()
        self.loop.fullsync = False
        self.loop.daemon_loop()
        self.assertEqual([], self.vbox.calls)

    def test_port_update_marks_its_mac(self):
        self.loop.rpc_callbacks.port_update(
            None, port={'id': 'p', 'mac_address': 'fa:16:3e:00:00:01'})
        callbacks = self.loop.rpc_callbacks
        self.assertEqual({'fa:16:3e:00:00:01'},
                         callbacks.get_and_clear_updated_devices())

    def test_subnets_in_one_bulk_pull(self):
        sid = '5b1e0c4e-0000-4000-8000-000000000001'
        subnet = subnet_obj.Subnet(
            id=sid, network_id=NET, cidr=netaddr.IPNetwork('10.0.0.0/24'),
            gateway_ip=netaddr.IPAddress('10.0.0.1'), enable_dhcp=True,
            ip_version=4,
            dns_nameservers=[subnet_obj.DNSNameServer(
                address='9.9.9.9', order=1, subnet_id=sid),
                subnet_obj.DNSNameServer(address='8.8.8.8', order=0,
                                         subnet_id=sid)],
            allocation_pools=[subnet_obj.IPAllocationPool(
                start=netaddr.IPAddress('10.0.0.10'),
                end=netaddr.IPAddress('10.0.0.254'), subnet_id=sid)])
        self.loop._pull_rpc = mock.Mock()
        self.loop._pull_rpc.bulk_pull.return_value = [subnet]
        self.assertEqual(
            [{'id': sid, 'network_id': NET, 'cidr': '10.0.0.0/24',
              'gateway_ip': '10.0.0.1', 'enable_dhcp': True,
              'dns_nameservers': ['8.8.8.8', '9.9.9.9'],
              'allocation_pools': [{'start': '10.0.0.10',
                                    'end': '10.0.0.254'}]}],
            self.loop.get_subnets([NET]))
        self.loop._pull_rpc.bulk_pull.assert_called_once_with(
            mock.sentinel.context, 'Subnet',
            filter_kwargs={'network_id': [NET]})


class MainTestCase(n_base.BaseTestCase):

    def test_only_the_noop_firewall(self):
        for driver in vbox_agent.NOOP_FIREWALLS:
            self.config(firewall_driver=driver, group='SECURITYGROUP')
            vbox_agent.validate_firewall_driver()
        self.config(firewall_driver='openvswitch', group='SECURITYGROUP')
        self.assertRaises(SystemExit, vbox_agent.validate_firewall_driver)

    def test_bad_mapping_stops_the_agent(self):
        self.assertRaises(SystemExit, vbox_agent.parse_mappings,
                          ['physnet1:bridged'])

    def test_wrapper_from_options(self):
        conf = cfg.ConfigOpts()
        config.register_opts(conf)
        conf([])
        conf.set_override('vboxmanage_cmd', 'vboxmanage-sim --x',
                          'virtualbox')
        vbox = vbox_agent.make_vboxmanage(conf)
        self.assertIsInstance(vbox, novawrapper.vboxmanage.VBoxManage)
        self.assertEqual(['vboxmanage-sim', '--x'], vbox._command)

    def test_main_builds_the_loop(self):
        with mock.patch.object(vbox_agent.common_config, 'init'), \
                mock.patch.object(vbox_agent.common_config,
                                  'setup_logging'), \
                mock.patch.object(vbox_agent.service, 'launch') as launch:
            config.register_opts()
            cfg.CONF.set_override('physical_network_mappings',
                                  ['p:intnet'], 'virtualbox')
            vbox_agent.main()
        agent = launch.call_args[0][1]
        self.assertIsInstance(agent, vbox_agent.VBoxAgentLoop)
        self.assertEqual({'p': {'mode': 'intnet', 'target': None}},
                         agent.mgr.mappings)
        self.assertEqual(constants.AGENT_TYPE, agent.agent_type)
        launch.return_value.wait.assert_called_once_with()


class AgentOnSimulatorTestCase(n_base.BaseTestCase):
    """The agent's VirtualBox half through the real VBoxManage wrapper
    against the VBoxManage simulator (vboxsim, which keeps DHCP servers and
    NAT networks as 7.2 does): what it reads back is what it wrote."""

    def setUp(self):
        super().setUp()
        home = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.EnvironmentVariable('VBOXSIM_HOME', home))
        self.useFixture(fixtures.EnvironmentVariable('VBOXSIM_LATENCY', '0'))
        self.useFixture(fixtures.EnvironmentVariable('HOME', home))
        self.vbox = novawrapper.vboxmanage.VBoxManage(
            '%s -m vboxsim' % sys.executable, retry_interval=0.1)
        self.mgr = manager(self.vbox)

    def _vm(self, index, nics):
        name = 'nvb-test-%d' % index
        self.vbox.run('createvm', '--name', name, '--groups', '/nova',
                      '--register')
        args = []
        for number, (mode, target, option) in enumerate(nics, 1):
            args += ['--nic%d' % number, mode, '--mac-address%d' % number,
                     'fa163e%04x%02x' % (index, number)]
            if option:
                args += ['%s%d' % (option, number), target]
        self.vbox.run('modifyvm', name, *args)

    def test_sweep_cable_dhcp_and_cleanup(self):
        nics = [('intnet', NET, '--intnet'),
                ('natnetwork', 'nvb-test-natx', '--nat-network')]
        for index in range(3):
            self._vm(index, nics)
        before = self.vbox.call_count
        devices = self.mgr.sweep()
        self.assertEqual(1, self.vbox.call_count - before)
        self.assertEqual(6, len(devices))

        self.mgr.ensure_port_admin_state('fa:16:3e:00:00:01', False)
        self.mgr.sweep()
        self.assertFalse(self.mgr.nic('fa:16:3e:00:00:01').cable)

        self.mgr.sync_dhcp([
            details('fa:16:3e:00:%02x:01' % i, '10.0.0.%d' % (11 + i))
            for i in range(3)] + [
            details('fa:16:3e:00:00:02', '10.0.0.50')])
        servers = self.mgr._dhcp_servers()
        self.assertEqual({'fa:16:3e:00:%02x:01' % i: '10.0.0.%d' % (11 + i)
                          for i in range(3)}, servers[NET].fixed)
        self.assertEqual({'fa:16:3e:00:00:02': '10.0.0.50'},
                         servers['nvb-test-natx'].fixed)
        self.assertIn('Name:         nvb-test-natx',
                      self.vbox.run('list', 'natnets').stdout)
        # Again: nothing changed, nothing but the listing is called.
        before = self.vbox.call_count
        self.mgr.sync_dhcp([details('fa:16:3e:00:00:01', '10.0.0.11')])
        self.assertEqual(1, self.vbox.call_count - before)

        for index in range(3):
            self.vbox.run('unregistervm', 'nvb-test-%d' % index, '--delete')
        self.mgr.sweep()
        self.mgr.forget_dhcp(['fa:16:3e:00:%02x:%02x' % (i, n)
                              for i in range(3) for n in (1, 2)])
        servers = self.mgr._dhcp_servers()
        self.assertNotIn(NET, servers)
        self.assertEqual({}, servers['nvb-test-natx'].fixed)


class _PluginRpcToML2(object):
    """The agent's plugin RPC client, answered by the ML2 plugin's own RPC
    endpoints in this process (oslo.messaging left out)."""

    def __init__(self, plugin):
        self.endpoint = plugin.endpoints[0]

    def get_devices_details_list(self, context, devices, agent_id,
                                 host=None):
        return self.endpoint.get_devices_details_list(
            context, devices=devices, agent_id=agent_id, host=host)

    def update_device_up(self, context, device, agent_id, host=None):
        return self.endpoint.update_device_up(
            context, device=device, agent_id=agent_id, host=host)

    def update_device_down(self, context, device, agent_id, host=None):
        return self.endpoint.update_device_down(
            context, device=device, agent_id=agent_id, host=host)

    def bulk_pull(self, context, resource_type, filter_kwargs=None):
        primitives = resources_rpc.ResourcesPullRpcCallback().bulk_pull(
            context, resource_type=resource_type,
            version=subnet_obj.Subnet.VERSION, filter_kwargs=filter_kwargs)
        return [subnet_obj.Subnet.clean_obj_from_primitive(p)
                for p in primitives]


class AgentWithML2PluginTestCase(test_plugin.NeutronDbPluginV2TestCase):
    """The agent loop against Neutron's ML2 plugin (SQLite in memory, the
    virtualbox mechanism driver) and the simulator: a port bound on the
    agent's host, a VM made with its NIC as Nova makes it, one agent
    iteration: the port is ACTIVE and the network's DHCP server holds its
    address; admin state down pulls the cable; the VM gone, the port is
    DOWN and the DHCP server gone."""

    HOST = 'vbox-host'

    def setUp(self):
        test_mech_virtualbox.use_virtualbox_ml2(flat_networks=['public'])
        super().setUp('ml2')
        cfg.CONF.set_override('host', self.HOST)
        self.plugin = directory.get_plugin()
        self.plugin.start_rpc_listeners()
        self.context = n_context.get_admin_context()
        home = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.EnvironmentVariable('VBOXSIM_HOME', home))
        self.useFixture(fixtures.EnvironmentVariable('VBOXSIM_LATENCY', '0'))
        self.vbox = novawrapper.vboxmanage.VBoxManage(
            '%s -m vboxsim' % sys.executable, retry_interval=0.1)
        self.mgr = vbox_agent.VBoxManager(
            self.vbox, constants.parse_mappings([
                'public:natnetwork:nvb-test-pubnat']), ['vxlan'],
            host=self.HOST)
        helpers._register_agent({
            'binary': constants.AGENT_BINARY, 'host': self.HOST,
            'topic': 'N/A', 'agent_type': constants.AGENT_TYPE,
            'start_flag': True,
            'configurations': self.mgr.get_agent_configurations()},
            self.plugin)
        rpc = _PluginRpcToML2(self.plugin)
        loop = vbox_agent.VBoxAgentLoop(self.mgr, 2, 10,
                                        constants.AGENT_TYPE,
                                        constants.AGENT_BINARY)
        loop.context = self.context
        loop.agent_id = self.mgr.get_agent_id()
        loop.plugin_rpc = rpc
        loop._pull_rpc = rpc
        self.mgr.get_subnets = loop.get_subnets
        loop.rpc_callbacks = vbox_agent.VBoxRPCCallBack(self.context, loop,
                                                        mock.Mock())
        loop.ext_manager = mock.Mock()
        loop.sg_agent = mock.Mock()
        loop.network_ports = collections.defaultdict(list)
        self.loop = loop
        self.previous = None

    def _iteration(self):
        info = self.loop.scan_devices(previous=self.previous,
                                      sync=self.previous is None)
        self.assertFalse(self.loop.process_network_devices(info))
        self.previous = info

    def _nova_makes_the_vm(self, *ports):
        """The VM with a NIC per port where its binding says, as
        nova/virt/virtualbox/vif.py makes it."""
        self.vbox.run('createvm', '--name', 'nvb-test-ml2', '--groups',
                      '/nova', '--register')
        args = []
        for number, port in enumerate(ports, 1):
            details = port[portbindings.VIF_DETAILS]
            mode = details[constants.VIF_DETAILS_ATTACHMENT]
            option = {'intnet': '--intnet',
                      'natnetwork': '--nat-network'}[mode]
            args += ['--nic%d' % number, mode, '%s%d' % (option, number),
                     details[constants.VIF_DETAILS_NETWORK],
                     '--mac-address%d' % number,
                     port['mac_address'].replace(':', ''),
                     '--cable-connected%d' % number, 'on']
        self.vbox.run('modifyvm', 'nvb-test-ml2', *args)

    def _bound_port(self, net_id):
        return self._make_port(
            self.fmt, net_id, as_admin=True,
            arg_list=(portbindings.HOST_ID, 'device_owner'),
            **{portbindings.HOST_ID: self.HOST,
               'device_owner': 'compute:nova'})['port']

    def _status(self, port):
        return self.plugin.get_port(self.context, port['id'])['status']

    def test_port_active_with_its_address_then_down_and_cleaned(self):
        with self.network() as network, self.subnet(
                network=network, cidr='10.0.0.0/24',
                dns_nameservers=['8.8.8.8'], allocation_pools=[
                    {'start': '10.0.0.10', 'end': '10.0.0.254'}]):
            net_id = network['network']['id']
            port = self._bound_port(net_id)
            self.assertEqual(constants.VIF_TYPE, port[portbindings.VIF_TYPE])
            self.assertEqual('DOWN', self._status(port))
            self._nova_makes_the_vm(port)
            self._iteration()
            self.assertEqual('ACTIVE', self._status(port))
            server = self.mgr._dhcp_servers()[net_id]
            self.assertEqual(
                {port['mac_address']: port['fixed_ips'][0]['ip_address']},
                server.fixed)
            self.assertEqual(('10.0.0.2', '10.0.0.10', '10.0.0.254'),
                             (server.server_ip, server.lower_ip,
                              server.upper_ip))
            self.assertEqual({1: '255.255.255.0', 3: '10.0.0.1',
                              6: '8.8.8.8'}, server.options)

            # Admin state down arrives as a port update: the cable.
            self.plugin.update_port(self.context, port['id'], {
                'port': {'admin_state_up': False}})
            self.loop.rpc_callbacks.port_update(
                self.context, port={'id': port['id'],
                                    'mac_address': port['mac_address']})
            self._iteration()
            self.assertEqual('off', self.vbox.show_vm_info('nvb-test-ml2')[
                'cableconnected1'])

            self.vbox.run('unregistervm', 'nvb-test-ml2', '--delete')
            self._iteration()
            self.assertEqual('DOWN', self._status(port))
            self.assertNotIn(net_id, self.mgr._dhcp_servers())

    def test_server_on_a_tenant_and_a_provider_network(self):
        # The proof on one host: two NICs on the right VirtualBox
        # networks with Neutron's MACs, both ports ACTIVE, each network's
        # DHCP server holding its address; the VM gone, all of it cleaned.
        provider = {'provider:network_type': 'flat',
                    'provider:physical_network': 'public'}
        with self.network(name='private') as private, self.subnet(
                network=private, cidr='10.0.0.0/24', allocation_pools=[
                    {'start': '10.0.0.10', 'end': '10.0.0.254'}]), \
                self.network(name='public', as_admin=True,
                             arg_list=tuple(provider), **provider) as public, \
                self.subnet(network=public, cidr='10.0.2.0/24',
                            gateway_ip='10.0.2.1', allocation_pools=[
                                {'start': '10.0.2.10',
                                 'end': '10.0.2.254'}]):
            private_id = private['network']['id']
            port_a = self._bound_port(private_id)
            port_b = self._bound_port(public['network']['id'])
            self.assertEqual(
                [('intnet', private_id), ('natnetwork', 'nvb-test-pubnat')],
                [(p[portbindings.VIF_DETAILS][
                    constants.VIF_DETAILS_ATTACHMENT],
                  p[portbindings.VIF_DETAILS][constants.VIF_DETAILS_NETWORK])
                 for p in (port_a, port_b)])
            self._nova_makes_the_vm(port_a, port_b)
            self._iteration()
            self.assertEqual(['ACTIVE', 'ACTIVE'],
                             [self._status(p) for p in (port_a, port_b)])
            servers = self.mgr._dhcp_servers()
            for name, port in ((private_id, port_a),
                               ('nvb-test-pubnat', port_b)):
                self.assertEqual(
                    {port['mac_address']:
                     port['fixed_ips'][0]['ip_address']},
                    servers[name].fixed)
            self.assertIn('Network:      10.0.2.0/24\nGateway:      '
                          '10.0.2.1\n',
                          self.vbox.run('list', 'natnets').stdout)

            self.vbox.run('unregistervm', 'nvb-test-ml2', '--delete')
            self._iteration()
            self.assertEqual(['DOWN', 'DOWN'],
                             [self._status(p) for p in (port_a, port_b)])
            servers = self.mgr._dhcp_servers()
            self.assertNotIn(private_id, servers)
            self.assertEqual({}, servers['nvb-test-pubnat'].fixed)


class AgentOverRpcTestCase(AgentWithML2PluginTestCase):
    """As above, but every call between the agent and neutron-server goes
    over oslo.messaging's in-memory fake:// transport in this process: the
    agent's own RPC clients (state report with its mappings, device
    details, up/down, subnets), the ML2 plugin's own RPC servers. What a
    process hosting both (vbox_agent.build_agent) relies on."""

    def setUp(self):
        super().setUp()
        # Neutron's RPC fixture makes calls time out at once and never
        # starts the plugin's servers: give calls time, start the servers.
        cfg.CONF.set_override('rpc_response_timeout', 10)
        for server in self.plugin.conn.servers:
            server.start()
            self.addCleanup(server.wait)
            self.addCleanup(server.stop)
        # The agent's own RPC, as start() sets it up.
        loop = self.loop
        loop.context = n_context.get_admin_context_without_session()
        loop.setup_rpc()
        self.assertIsInstance(loop.plugin_rpc, agent_rpc.PluginApi)
        self.assertIsInstance(loop._pull_rpc,
                              resources_rpc.ResourcesPullRpcApi)
        loop.ext_manager = mock.Mock()
        loop.failed_report_state = False
        loop.agent_state = {
            'binary': constants.AGENT_BINARY, 'host': self.HOST,
            'topic': 'N/A', 'agent_type': constants.AGENT_TYPE,
            'configurations': self.mgr.get_agent_configurations(),
            'start_flag': True}
        self.context = n_context.get_admin_context()

    def test_port_active_with_its_address_then_down_and_cleaned(self):
        # The state report over RPC registers the agent with its mappings.
        self.loop._report_state()
        self.assertFalse(self.loop.failed_report_state)
        agents = self.plugin.get_agents(
            self.context, filters={'agent_type': [constants.AGENT_TYPE]})
        self.assertEqual(
            {'physical_network_mappings': {'public': {
                'mode': 'natnetwork', 'target': 'nvb-test-pubnat'}},
             'tenant_network_types': ['vxlan'], 'dhcp': True,
             'vm_group': '/nova', 'devices': 0},
            agents[0]['configurations'])
        super().test_port_active_with_its_address_then_down_and_cleaned()
