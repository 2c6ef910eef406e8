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

"""The mechanism driver on Neutron's own ML2 agent-driver test bases
(neutron.tests.unit.plugins.ml2._test_mech_agent), as networking-hyperv
tests its driver, plus the VirtualBox rules: where each segment type puts
the NIC, VLANs only where VirtualBox can keep them apart, tenant types only
as the agent declares them; and inside Neutron's ML2 plugin, loaded by its
entry point, with the agent's RPC calls."""

from neutron_lib.api.definitions import portbindings
from neutron_lib import constants as n_const
from neutron_lib import context as n_context
from neutron_lib.plugins import directory
from neutron_lib.plugins.ml2 import api
from oslo_config import cfg

from neutron.api.rpc.callbacks import resources
from neutron.api.rpc.handlers import resources_rpc
from neutron.conf.plugins.ml2 import config as ml2_config
from neutron.conf.plugins.ml2.drivers import driver_type
from neutron.objects import subnet as subnet_obj
from neutron.tests.common import helpers
from neutron.tests.common import test_db_base_plugin_v2 as test_plugin
from neutron.tests.unit.plugins.ml2 import _test_mech_agent as base

from networking_virtualbox import constants
from networking_virtualbox.ml2 import mech_virtualbox


def _configs(mappings, tenant_types=constants.TENANT_NETWORK_TYPES):
    return {constants.CONF_MAPPINGS: constants.parse_mappings(mappings),
            constants.CONF_TENANT_TYPES: list(tenant_types)}


class VirtualBoxMechanismBaseTestCase(base.AgentMechanismBaseTestCase):
    VIF_TYPE = constants.VIF_TYPE
    AGENT_TYPE = constants.AGENT_TYPE

    GOOD_CONFIGS = _configs(['fake_physical_network:bridged:eth0'])
    BAD_CONFIGS = _configs(['wrong_physical_network:bridged:eth1'], ())

    AGENTS = [{'alive': True, 'configurations': GOOD_CONFIGS,
               'host': 'host', 'agent_type': AGENT_TYPE}]
    AGENTS_DEAD = [{'alive': False, 'configurations': GOOD_CONFIGS,
                    'host': 'dead_host', 'agent_type': AGENT_TYPE}]
    AGENTS_BAD = [{'alive': False, 'configurations': GOOD_CONFIGS,
                   'host': 'bad_host_1', 'agent_type': AGENT_TYPE},
                  {'alive': True, 'configurations': BAD_CONFIGS,
                   'host': 'bad_host_2', 'agent_type': AGENT_TYPE}]

    # Where each bound segment type of the base classes puts the NIC, with
    # GOOD_CONFIGS: the segment's network id is 'fake_network_id'.
    EXPECTED_NIC = {
        'flat': ('bridged', 'eth0'),
        'vlan': ('bridged', 'eth0.1234'),
        'local': ('intnet', 'fake_network_id'),
        'gre': ('intnet', 'fake_network_id'),
        'vxlan': ('intnet', 'fake_network_id'),
        'geneve': ('intnet', 'fake_network_id'),
    }

    def setUp(self):
        super().setUp()
        self.driver = mech_virtualbox.VirtualBoxMechanismDriver()
        self.driver.initialize()

    def _check_bound(self, context, segment):
        # The base compares vif_details with one constant; ours depend on
        # the segment, so check them per segment type.
        mode, network = self.EXPECTED_NIC[segment[api.NETWORK_TYPE]]
        self.VIF_DETAILS = {
            portbindings.VIF_DETAILS_CONNECTIVITY:
                portbindings.CONNECTIVITY_L2,
            portbindings.CAP_PORT_FILTER: False,
            constants.VIF_DETAILS_ATTACHMENT: mode,
            constants.VIF_DETAILS_NETWORK: network,
        }
        super()._check_bound(context, segment)


class VirtualBoxMechanismGenericTestCase(VirtualBoxMechanismBaseTestCase,
                                         base.AgentMechanismGenericTestCase):
    pass


class VirtualBoxMechanismLocalTestCase(VirtualBoxMechanismBaseTestCase,
                                       base.AgentMechanismLocalTestCase):
    pass


class VirtualBoxMechanismFlatTestCase(VirtualBoxMechanismBaseTestCase,
                                      base.AgentMechanismFlatTestCase):
    pass


class VirtualBoxMechanismVlanTestCase(VirtualBoxMechanismBaseTestCase,
                                      base.AgentMechanismVlanTestCase):
    pass


class VirtualBoxMechanismGreTestCase(VirtualBoxMechanismBaseTestCase,
                                     base.AgentMechanismGreTestCase):
    pass


def _segment(network_type, physnet=None, vlan=None, seg_id='seg'):
    segment = {api.ID: seg_id, api.NETWORK_TYPE: network_type,
               api.NETWORK_ID: 'fake_network_id'}
    if physnet:
        segment[api.PHYSICAL_NETWORK] = physnet
    if vlan is not None:
        segment[api.SEGMENTATION_ID] = vlan
    return segment


class VirtualBoxBindingRulesTestCase(VirtualBoxMechanismBaseTestCase):
    """The VirtualBox-specific rules, one binding each."""

    def _bind(self, configs, segments):
        agents = [{'alive': True, 'configurations': configs, 'host': 'h',
                   'agent_type': constants.AGENT_TYPE}]
        context = base.FakePortContext(constants.AGENT_TYPE, agents,
                                       segments)
        self.driver.bind_port(context)
        return context

    def _nic(self, context):
        details = context._bound_vif_details
        return (details[constants.VIF_DETAILS_ATTACHMENT],
                details[constants.VIF_DETAILS_NETWORK])

    def test_vxlan_is_an_internal_network_named_after_the_network(self):
        context = self._bind(_configs([]), [_segment('vxlan', vlan=100)])
        self.assertEqual(('intnet', 'fake_network_id'), self._nic(context))
        self.assertEqual(constants.VIF_TYPE, context._bound_vif_type)

    def test_tenant_type_the_agent_does_not_declare_is_not_bound(self):
        context = self._bind(_configs([], ['local']),
                             [_segment('vxlan', vlan=100)])
        self._check_unbound(context)

    def test_flat_on_each_attachment(self):
        for entry, expected in [
                ('p:hostonly:vboxnet0', ('hostonly', 'vboxnet0')),
                ('p:hostonlynet:labnet', ('hostonlynet', 'labnet')),
                ('p:natnetwork:NatNetwork', ('natnetwork', 'NatNetwork')),
                ('p:intnet:lab', ('intnet', 'lab')),
                ('p:intnet', ('intnet', 'fake_network_id')),
                ('p:bridged:en0', ('bridged', 'en0'))]:
            context = self._bind(_configs([entry]), [_segment('flat', 'p')])
            self.assertEqual(expected, self._nic(context), entry)

    def test_vlan_only_where_virtualbox_keeps_vlans_apart(self):
        for entry, expected in [
                ('p:bridged:eth0', ('bridged', 'eth0.42')),
                ('p:intnet:lab', ('intnet', 'lab.42')),
                ('p:intnet', ('intnet', 'fake_network_id'))]:
            context = self._bind(_configs([entry]),
                                 [_segment('vlan', 'p', 42)])
            self.assertEqual(expected, self._nic(context), entry)
        for entry in ('p:hostonly:vboxnet0', 'p:natnetwork:NatNetwork',
                      'p:hostonlynet:labnet'):
            context = self._bind(_configs([entry]),
                                 [_segment('vlan', 'p', 42)])
            self._check_unbound(context)

    def test_second_segment_bound_when_first_cannot_be_served(self):
        context = self._bind(
            _configs(['p:natnetwork:Nat'], ()),
            [_segment('vlan', 'p', 7, 's1'), _segment('flat', 'p',
                                                      seg_id='s2')])
        self.assertEqual('s2', context._bound_segment_id)
        self.assertEqual(('natnetwork', 'Nat'), self._nic(context))

    def test_no_security_group_filtering_claimed(self):
        context = self._bind(_configs([]), [_segment('local')])
        self.assertIs(False, context._bound_vif_details[
            portbindings.CAP_PORT_FILTER])

    def test_agent_of_another_type_is_not_used(self):
        agents = [{'alive': True, 'configurations': _configs(['p:intnet']),
                   'host': 'h', 'agent_type': 'Open vSwitch agent'}]
        self.assertFalse(self.driver.check_segment_for_agent(
            _segment('flat', 'p'), agents[0]))

    def test_allowed_types_without_agent(self):
        self.assertEqual(['flat', 'vlan', 'local', 'vxlan', 'geneve', 'gre'],
                         self.driver.get_allowed_network_types())


def use_virtualbox_ml2(flat_networks=()):
    """ML2 as the tests' plugin loads it: the virtualbox mechanism driver,
    vxlan tenant networks, and flat ones on ``flat_networks``."""
    ml2_config.register_ml2_plugin_opts()
    cfg.CONF.set_override('mechanism_drivers', ['virtualbox'], 'ml2')
    cfg.CONF.set_override('project_network_types', ['vxlan'], 'ml2')
    driver_type.register_ml2_drivers_vxlan_opts()
    cfg.CONF.set_override('vni_ranges', ['1:100'], group='ml2_type_vxlan')
    if flat_networks:
        driver_type.register_ml2_drivers_flat_opts()
        cfg.CONF.set_override('flat_networks', list(flat_networks),
                              group='ml2_type_flat')


class VirtualBoxML2PluginTestCase(test_plugin.NeutronDbPluginV2TestCase):
    """The driver inside Neutron's ML2 plugin (SQLite in memory), loaded
    by its entry point, with an agent registered as the VirtualBox agent
    reports itself: ports bound on its host, its RPC calls answered."""

    HOST = 'vbox-host'

    def setUp(self):
        use_virtualbox_ml2()
        super().setUp('ml2')
        self.plugin = directory.get_plugin()
        self.plugin.start_rpc_listeners()
        self.context = n_context.get_admin_context()
        helpers._register_agent({
            'binary': constants.AGENT_BINARY, 'host': self.HOST,
            'topic': n_const.L2_AGENT_TOPIC,
            'agent_type': constants.AGENT_TYPE,
            'start_flag': True,
            'configurations': _configs(['public:natnetwork:NatNetwork'],
                                       ['vxlan'])}, self.plugin)

    def _port(self, network, host):
        return self._make_port(
            self.fmt, network['network']['id'], as_admin=True,
            arg_list=(portbindings.HOST_ID,),
            **{portbindings.HOST_ID: host})['port']

    def test_tenant_port_bound_as_internal_network_then_active(self):
        with self.network() as network, self.subnet(network=network,
                                                    cidr='10.0.0.0/24'):
            port = self._port(network, self.HOST)
            net_id = network['network']['id']
            self.assertEqual(constants.VIF_TYPE, port[portbindings.VIF_TYPE])
            # ML2 adds which driver bound it.
            self.assertEqual(
                {'connectivity': 'l2', 'port_filter': False,
                 constants.VIF_DETAILS_ATTACHMENT: 'intnet',
                 constants.VIF_DETAILS_NETWORK: net_id,
                 'bound_drivers': {'0': 'virtualbox'}},
                port[portbindings.VIF_DETAILS])
            self.assertEqual('DOWN', port['status'])
            # The agent asks by MAC, as it finds NICs, and reports it up.
            rpc = self.plugin.endpoints[0]
            details = rpc.get_devices_details_list(
                self.context, devices=[port['mac_address']],
                agent_id='virtualbox-' + self.HOST, host=self.HOST)[0]
            self.assertEqual((port['id'], 'vxlan', net_id),
                             (details['port_id'], details['network_type'],
                              details['network_id']))
            self.assertEqual(port['fixed_ips'], details['fixed_ips'])
            rpc.update_device_up(self.context, device=port['mac_address'],
                                 agent_id='virtualbox-' + self.HOST,
                                 host=self.HOST)
            self.assertEqual('ACTIVE', self.plugin.get_port(
                self.context, port['id'])['status'])

    def test_port_on_a_host_without_agent_fails_to_bind(self):
        with self.network() as network:
            port = self._port(network, 'other-host')
            self.assertEqual(portbindings.VIF_TYPE_BINDING_FAILED,
                             port[portbindings.VIF_TYPE])

    def test_subnets_of_networks_in_one_bulk_pull(self):
        # What the agent's get_subnets asks the server.
        with self.network() as network, self.subnet(
                network=network, cidr='10.0.0.0/24',
                dns_nameservers=['8.8.8.8']):
            subnets = resources_rpc.ResourcesPullRpcCallback().bulk_pull(
                self.context, resource_type=resources.SUBNET,
                version=subnet_obj.Subnet.VERSION,
                filter_kwargs={'network_id': [network['network']['id']]})
            self.assertEqual(1, len(subnets))
            subnet = subnet_obj.Subnet.clean_obj_from_primitive(subnets[0])
            self.assertEqual(['8.8.8.8'],
                             [d.address for d in subnet.dns_nameservers])
