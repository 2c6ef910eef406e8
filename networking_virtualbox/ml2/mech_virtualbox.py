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

"""ML2 mechanism driver ``virtualbox``: binds ports on VirtualBox hosts.

A port is bound on a host whose VirtualBox agent is alive and can serve one
of the network's segments (rules in :meth:`check_segment_for_agent`):

* flat: the physical network is in the agent's mappings; the NIC is
  attached as the mapping says (bridged to a host interface, host-only
  interface or network, internal network, NAT network);
* vlan: as flat, on a mapping that can keep VLANs apart: bridged to the
  host's VLAN interface ``IFACE.VID``, or the internal network
  ``NAME.VID``;
* local, vxlan, geneve, gre (the types the agent declares in its
  ``tenant_network_types``): a VirtualBox internal network named after the
  Neutron network's id. No tunnel is built, so such a network joins the VMs
  of one host only.

The binding says where the NIC goes in ``binding:vif_details``
(``vbox_attachment``, ``vbox_network``) with ``binding:vif_type`` ``vbox``:
the Nova driver attaches the NIC there with the port's MAC address and
guesses nothing.

Security groups: VirtualBox has no packet filter on a VM's NIC, so nothing
enforces them. ``port_filter`` is False in every binding and the agent runs
Neutron's noop firewall; the API accepts groups and rules, and they do
nothing on these ports.
"""

from neutron_lib.api.definitions import portbindings
from neutron_lib import constants as n_const
from neutron_lib.plugins.ml2 import api
from oslo_log import log as logging

from neutron.plugins.ml2.drivers import mech_agent

from networking_virtualbox import constants

LOG = logging.getLogger(__name__)


class VirtualBoxMechanismDriver(
        mech_agent.SimpleAgentMechanismDriverBase):
    """Binds ports for the VirtualBox agent (see the module's doc)."""

    def __init__(self):
        super().__init__(
            constants.AGENT_TYPE, constants.VIF_TYPE,
            {portbindings.CAP_PORT_FILTER: False},
            supported_vnic_types=[portbindings.VNIC_NORMAL])

    @property
    def connectivity(self):
        # A VirtualBox NIC is an Ethernet (layer 2) port.
        return portbindings.CONNECTIVITY_L2

    def get_allowed_network_types(self, agent=None):
        if agent is None:
            return list(constants.PROVIDER_NETWORK_TYPES +
                        constants.TENANT_NETWORK_TYPES)
        declared = agent['configurations'].get(
            constants.CONF_TENANT_TYPES, [])
        return list(constants.PROVIDER_NETWORK_TYPES) + [
            t for t in declared if t in constants.TENANT_NETWORK_TYPES]

    def get_mappings(self, agent):
        return agent['configurations'].get(constants.CONF_MAPPINGS) or {}

    def check_segment_for_agent(self, segment, agent):
        """The base class's rules (agent type, network type, physical
        network in the mappings), and for vlan a mapping that can keep
        VLANs apart."""
        if not super().check_segment_for_agent(segment, agent):
            return False
        if segment[api.NETWORK_TYPE] != n_const.TYPE_VLAN:
            return True
        mapping = self.get_mappings(agent)[segment[api.PHYSICAL_NETWORK]]
        if mapping.get(constants.MAPPING_MODE) in (
                constants.ATTACHMENTS_WITH_VLANS):
            return True
        LOG.debug('Segment %(id)s is VLAN %(vid)s on physical network '
                  '%(physnet)s, which agent %(host)s serves with a '
                  '%(mode)s attachment: one flat segment, no VLANs',
                  {'id': segment[api.ID],
                   'vid': segment.get(api.SEGMENTATION_ID),
                   'physnet': segment[api.PHYSICAL_NETWORK],
                   'host': agent['host'],
                   'mode': mapping.get(constants.MAPPING_MODE)})
        return False

    def get_vif_details(self, context, agent, segment):
        details = dict(self.vif_details)
        details.update(self.attachment(agent, segment,
                                       context.network.current['id']))
        return details

    def attachment(self, agent, segment, network_id):
        """{vbox_attachment: mode, vbox_network: name} of a segment
        check_segment_for_agent accepted."""
        network_id = segment.get(api.NETWORK_ID) or network_id
        network_type = segment[api.NETWORK_TYPE]
        if network_type not in constants.PROVIDER_NETWORK_TYPES:
            mode, target = constants.ATTACH_INTNET, network_id
        else:
            mapping = self.get_mappings(agent)[segment[api.PHYSICAL_NETWORK]]
            mode = mapping[constants.MAPPING_MODE]
            target = mapping.get(constants.MAPPING_TARGET)
            if network_type == n_const.TYPE_VLAN:
                target = constants.vlan_target(
                    mode, target, network_id, segment[api.SEGMENTATION_ID])
            elif not target:
                # An intnet mapping without a name: one internal network
                # per Neutron network.
                target = network_id
        return {constants.VIF_DETAILS_ATTACHMENT: mode,
                constants.VIF_DETAILS_NETWORK: target}
