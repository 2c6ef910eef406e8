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

"""What the mechanism driver, the agent and the Nova driver agree on.

The port binding is the whole contract between Neutron and the Nova driver:
the mechanism driver sets ``binding:vif_type`` to :data:`VIF_TYPE` and puts
the VirtualBox attachment of the NIC in ``binding:vif_details``
(:data:`VIF_DETAILS_ATTACHMENT`, :data:`VIF_DETAILS_NETWORK`); Nova's
``nova/virt/virtualbox/vif.py`` reads exactly those keys (its own copies in
``nova/virt/virtualbox/constants.py``; a unit test checks that both agree).
The agent reports :data:`AGENT_TYPE` with its mappings under
:data:`CONF_MAPPINGS` in the agent's ``configurations``.

Nothing here imports Neutron or Nova: neutron-server, the agent and
nova-compute all read this module.
"""

AGENT_TYPE = 'VirtualBox agent'
AGENT_BINARY = 'neutron-virtualbox-agent'
MECHANISM_DRIVER = 'virtualbox'
# The agent's extension driver type (L2 agent extensions).
EXTENSION_DRIVER_TYPE = 'virtualbox'

VIF_TYPE = 'vbox'
# binding:vif_details keys. Attachment: a VirtualBox attachment mode below;
# network: its target (internal network, host interface, host-only
# interface or network, NAT network), always set.
VIF_DETAILS_ATTACHMENT = 'vbox_attachment'
VIF_DETAILS_NETWORK = 'vbox_network'

# VirtualBox attachment modes a Neutron segment can be served with (the
# values of modifyvm --nicN). A VM's own NAT is not one: it is private to
# one NIC, with VirtualBox's addresses, so it cannot carry a Neutron
# network with Neutron's addresses.
ATTACH_BRIDGED = 'bridged'
ATTACH_HOSTONLY = 'hostonly'
ATTACH_HOSTONLYNET = 'hostonlynet'
ATTACH_INTNET = 'intnet'
ATTACH_NATNETWORK = 'natnetwork'
ATTACHMENTS = (ATTACH_BRIDGED, ATTACH_HOSTONLY, ATTACH_HOSTONLYNET,
               ATTACH_INTNET, ATTACH_NATNETWORK)
# Modes whose mapping needs a target; an intnet mapping without one means
# an internal network named after each Neutron network's id.
ATTACHMENTS_NEEDING_TARGET = (ATTACH_BRIDGED, ATTACH_HOSTONLY,
                              ATTACH_HOSTONLYNET, ATTACH_NATNETWORK)
# Modes that can keep VLANs apart: a bridged NIC on the host's VLAN
# interface IFACE.VID, an internal network per VLAN. A host-only interface
# or NAT network is one flat segment, so a VLAN on it is not bound.
ATTACHMENTS_WITH_VLANS = (ATTACH_BRIDGED, ATTACH_INTNET)

# Neutron network types served as an internal network named after the
# Neutron network id (no tunnel is built: such a network reaches only the
# VMs of one host). 'local' is the natural one; the tunnel types are
# accepted so that a cloud whose tenant_network_types is vxlan or geneve
# works unchanged on a single VirtualBox host.
TENANT_NETWORK_TYPES = ('local', 'vxlan', 'geneve', 'gre')
PROVIDER_NETWORK_TYPES = ('flat', 'vlan')

# Agent configurations keys (reported in every state report).
CONF_MAPPINGS = 'physical_network_mappings'
CONF_TENANT_TYPES = 'tenant_network_types'
CONF_DHCP = 'dhcp'
CONF_VM_GROUP = 'vm_group'
# Mapping values in CONF_MAPPINGS: {physnet: {MAPPING_MODE: mode,
# MAPPING_TARGET: target or None}}.
MAPPING_MODE = 'mode'
MAPPING_TARGET = 'target'

# VirtualBox's DHCP option numbers (RFC 2132) the agent sets.
DHCP_OPTION_ROUTER = 3
DHCP_OPTION_DNS = 6


def parse_mapping(entry):
    """"PHYSNET:MODE[:TARGET]" -> (physnet, mode, target or None).

    :raises ValueError: saying what is wrong with the entry.
    """
    physnet, sep, rest = entry.strip().partition(':')
    physnet = physnet.strip()
    mode, sep2, target = rest.partition(':')
    mode = mode.strip().lower()
    target = target.strip() or None
    if not physnet or not sep or not mode:
        raise ValueError('%r is not PHYSNET:MODE[:TARGET], e.g. '
                         '"physnet1:bridged:eth0"' % entry)
    if mode not in ATTACHMENTS:
        raise ValueError('%r: unknown attachment %r; use one of %s'
                         % (entry, mode, ', '.join(ATTACHMENTS)))
    if mode in ATTACHMENTS_NEEDING_TARGET and not target:
        raise ValueError('%r: %r needs a target, e.g. "%s:%s:NAME"'
                         % (entry, mode, physnet, mode))
    return physnet, mode, target


def parse_mappings(entries):
    """Entries -> {physnet: {MAPPING_MODE: mode, MAPPING_TARGET: target}}.

    :raises ValueError: a bad entry, or a physical network mapped twice.
    """
    mappings = {}
    for entry in entries or ():
        if not entry.strip():
            continue
        physnet, mode, target = parse_mapping(entry)
        if physnet in mappings:
            raise ValueError('physical network %r is mapped twice'
                             % physnet)
        mappings[physnet] = {MAPPING_MODE: mode, MAPPING_TARGET: target}
    return mappings


def vlan_target(mode, target, network_id, vlan_id):
    """The VirtualBox network of VLAN ``vlan_id`` on a mapping: the
    host's VLAN interface IFACE.VID for bridged, an internal network
    NAME.VID (or the network id's own) for intnet; None for modes that
    cannot keep VLANs apart."""
    if mode == ATTACH_BRIDGED:
        return '%s.%s' % (target, vlan_id)
    if mode == ATTACH_INTNET:
        return '%s.%s' % (target, vlan_id) if target else network_id
    return None
