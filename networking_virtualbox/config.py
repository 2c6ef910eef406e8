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

"""Options of neutron-virtualbox-agent (``[virtualbox]`` of its
configuration files) and ``list_opts()`` for oslo-config-generator.

The agent also reads Neutron's own ``[agent]`` (polling_interval,
report_interval, quitting_rpc_timeout) and ``[securitygroup]`` (only the
noop firewall: VirtualBox cannot filter a VM's traffic).
"""

from oslo_config import cfg

from networking_virtualbox import constants

GROUP = 'virtualbox'

agent_opts = [
    cfg.ListOpt('physical_network_mappings',
                default=[],
                help='Neutron physical networks this host serves, as '
                     'PHYSNET:MODE[:TARGET] where MODE is how a VM\'s NIC '
                     'reaches it: bridged:IFACE (a host interface; VLAN '
                     'segments go to its VLAN interface IFACE.VID), '
                     'hostonly:vboxnetN (a host-only interface), '
                     'hostonlynet:NAME (a host-only network), '
                     'intnet[:NAME] (an internal network; without NAME one '
                     'per Neutron network, named after its id) or '
                     'natnetwork:NAME (a NAT network, created with the '
                     'subnet\'s CIDR when it does not exist). Reported to '
                     'Neutron, whose virtualbox mechanism driver binds '
                     'flat and VLAN ports only on physical networks listed '
                     'here. Example: physnet1:bridged:eth0,'
                     'public:natnetwork:NatNetwork'),
    cfg.ListOpt('tenant_network_types',
                default=list(constants.TENANT_NETWORK_TYPES),
                item_type=cfg.types.String(
                    choices=constants.TENANT_NETWORK_TYPES),
                help='Neutron network types this host serves as a '
                     'VirtualBox internal network named after the Neutron '
                     'network id. No tunnel is built: such a network joins '
                     'the VMs of this host only. Empty: provider networks '
                     'only.'),
    cfg.BoolOpt('manage_dhcp',
                default=True,
                help='Program VirtualBox\'s own DHCP server of each '
                     'internal network, NAT network and host-only interface '
                     'the ports use, with a fixed address per port (its '
                     'Neutron IP), the subnet\'s gateway and DNS servers, '
                     'so guests get their Neutron addresses without '
                     'dnsmasq. Bridged networks get no DHCP server from '
                     'the agent.'),
    cfg.StrOpt('vm_group',
               default='/nova',
               regex=r'^/[^,\s]*$',
               help='VirtualBox group of Nova\'s VMs ([virtualbox] vm_group '
                    'of nova-compute): only NICs of VMs in it are ports of '
                    'this agent.'),
    cfg.StrOpt('vboxmanage_cmd',
               default='VBoxManage',
               help='The VBoxManage command (a program, optionally with '
                    'arguments), as nova-compute\'s [virtualbox] '
                    'vboxmanage_cmd.'),
    cfg.IntOpt('retry_count',
               default=3,
               min=0,
               help='Retries of a transient VBoxManage failure (a VM '
                    'locked by nova-compute, VBoxSVC starting).'),
    cfg.FloatOpt('retry_interval',
                 default=1.0,
                 min=0,
                 help='Seconds before the first retry of a transient '
                      'VBoxManage failure; each further retry waits twice '
                      'as long.'),
    cfg.IntOpt('vboxmanage_timeout',
               default=60,
               min=1,
               help='Seconds after which a VBoxManage call is killed.'),
]


def register_opts(conf=cfg.CONF):
    conf.register_opts(agent_opts, GROUP)


def list_opts():
    """For oslo-config-generator (namespace networking_virtualbox)."""
    return [(GROUP, agent_opts)]
