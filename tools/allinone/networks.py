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

"""Neutron's first networks for the all-in-one cloud, made when missing (run
by aio.py start with the venv's Python as the admin, OS_CLOUD pointing at
it):

    networks.py PRIVATE_NAME PUBLIC_PHYSNET

- PRIVATE_NAME: the demo project's own network (the tenant network type,
  VXLAN, which the VirtualBox agent serves as an internal network named
  after the network's id) with the subnet 10.0.0.0/24 without a gateway:
  there is no router, the network joins the project's servers;
- "public": a flat provider network on PUBLIC_PHYSNET (the agent maps it
  to a VirtualBox NAT network), external, 172.24.4.0/24 with its gateway
  at .1, where VirtualBox's NAT network has its own. Not shared, as in
  DevStack: a server create without --network then has one network to
  take (Nova refuses to choose among several); the admin boots on it, or
  shares it with a project (network rbac create);
- Neutron's default security group rules, which its migrations would
  have made (the all-in-one makes Neutron's tables from its models): the
  legacy four, egress for every group, ingress from the group itself for
  a project's default group.
"""

import sys

import openstack

# The pools leave the low addresses out: the agent gives VirtualBox's DHCP
# server of the network the lowest address no port can get.
PRIVATE = {'cidr': '10.0.0.0/24', 'gateway_ip': None,
           'allocation_pools': [{'start': '10.0.0.10', 'end': '10.0.0.250'}]}
PUBLIC = {'name': 'public', 'cidr': '172.24.4.0/24',
          'gateway_ip': '172.24.4.1',
          'allocation_pools': [{'start': '172.24.4.10',
                                'end': '172.24.4.250'}]}
# (direction, ethertype, remote group, in default groups, in other groups):
# Neutron's own templates (its migration c33da356b165).
DEFAULT_RULES = [
    ('egress', 'IPv4', None, True, True),
    ('egress', 'IPv6', None, True, True),
    ('ingress', 'IPv4', 'PARENT', True, False),
    ('ingress', 'IPv6', 'PARENT', True, False),
]


def ensure_network(conn, name, subnet, made, **network):
    found = conn.network.find_network(name, **(
        {'project_id': network['project_id']} if 'project_id' in network
        else {}))
    if found is None:
        found = conn.network.create_network(name=name, **network)
        made.append('network %s' % name)
    if not list(conn.network.subnets(network_id=found.id)):
        conn.network.create_subnet(
            name=name + '-subnet', network_id=found.id, ip_version=4,
            enable_dhcp=True, project_id=found.project_id, **subnet)
    return found


def ensure_default_rules(conn, made):
    if list(conn.network.default_security_group_rules()):
        return
    for direction, ethertype, remote, default, other in DEFAULT_RULES:
        conn.network.create_default_security_group_rule(
            direction=direction, ether_type=ethertype,
            remote_group_id=remote, used_in_default_sg=default,
            used_in_non_default_sg=other,
            description='Legacy default SG rule for %s traffic' % direction)
    made.append('the default security group rules')


def main(argv):
    private_name, physnet = argv[1], argv[2]
    conn = openstack.connect()
    made = []
    ensure_default_rules(conn, made)
    demo = conn.identity.find_project('demo', domain_id='default')
    ensure_network(conn, private_name, PRIVATE, made, project_id=demo.id)
    public = dict(PUBLIC)
    ensure_network(conn, public.pop('name'), public, made,
                   provider_network_type='flat',
                   provider_physical_network=physnet, is_shared=False,
                   is_router_external=True)
    if made:
        print('Neutron: created %s' % ', '.join(made))


if __name__ == '__main__':
    main(sys.argv)
