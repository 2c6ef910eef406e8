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

"""Keystone's projects, users and catalog for the all-in-one cloud, made
when missing (run by aio.py start with the venv's Python as the admin that
keystone-manage bootstrap made, OS_CLOUD pointing at it):

    identity.py SECRETS_JSON REGION '{"compute": URL, ...}'

- the project ``demo`` with the user ``demo`` (role member: what a user of
  a public cloud has; Nova's default policies then show it only its own
  project's servers), the password SECRETS_JSON's "demo";
- the project ``service`` with the services' own users (roles admin and
  service, as DevStack gives them), SECRETS_JSON's "service";
- a service and public and internal endpoints in REGION for each service
  type of the JSON map, whose URLs are set again when they changed (a
  start with another port offset on the same state); services of OPTIONAL
  types that are not in the map, and of RETIRED ones, are removed.
"""

import json
import sys

import openstack

# The services' own users (keystonemiddleware and service-to-service
# calls): one each, as DevStack makes them.
SERVICE_USERS = ('nova', 'glance', 'placement', 'neutron', 'cinder')
# service type -> (name, description) in the catalog.
SERVICES = {
    'compute': ('nova', 'OpenStack Compute (VirtualBox)'),
    'image': ('glance', 'OpenStack Image'),
    'placement': ('placement', 'OpenStack Placement'),
    'network': ('neutron', 'OpenStack Networking (VirtualBox)'),
    'block-storage': ('cinder', 'OpenStack Block Storage'),
    'volumev3': ('cinderv3', 'OpenStack Block Storage v3'),
}
# Service types in the catalog only when the start runs them: volumes need
# tgt and root (aio.py's volume_backend).
OPTIONAL = ('block-storage', 'volumev3')
# Service types of earlier versions of the all-in-one: the Neutron
# stand-in before Neutron came.
RETIRED = ('network-standin',)
INTERFACES = ('public', 'internal')


def ensure_project(conn, name, description):
    return (conn.identity.find_project(name, domain_id='default') or
            conn.identity.create_project(name=name, domain_id='default',
                                         description=description))


def ensure_user(conn, users, name, password, project, roles, made):
    """The user, made with its roles in ``project`` when missing from
    ``users`` (the domain's, listed once: every call costs Keystone a
    token validation)."""
    if name in users:
        return
    user = conn.identity.create_user(
        name=name, password=password, domain_id='default',
        default_project_id=project.id)
    for role in roles:
        conn.identity.assign_project_role_to_user(
            project, user, conn.identity.find_role(role))
    made.append('user %s' % name)


def ensure_endpoints(conn, region, catalog, made):
    services = {s.type: s for s in conn.identity.services()}
    endpoints = {}
    for endpoint in conn.identity.endpoints(region_id=region):
        endpoints.setdefault(endpoint.service_id, []).append(endpoint)
    for kind, url in catalog.items():
        name, description = SERVICES[kind]
        service = services.get(kind)
        if service is None:
            service = conn.identity.create_service(
                name=name, type=kind, description=description)
            made.append('%s service' % kind)
        have = {e.interface: e for e in endpoints.get(service.id, ())}
        for interface in INTERFACES:
            endpoint = have.get(interface)
            if endpoint is None:
                conn.identity.create_endpoint(
                    service_id=service.id, interface=interface, url=url,
                    region_id=region)
            elif endpoint.url != url:
                conn.identity.update_endpoint(endpoint, url=url)


def remove_absent(conn, catalog):
    """Remove the services of OPTIONAL types this start does not run
    (volumes off) and of RETIRED ones."""
    for service in list(conn.identity.services()):
        if service.type in set(OPTIONAL).union(RETIRED) - set(catalog):
            conn.identity.delete_service(service)
            print('Keystone: removed the %s service (not running)'
                  % service.type)


def main(argv):
    secrets_path, region, catalog = argv[1], argv[2], json.loads(argv[3])
    with open(secrets_path) as f:
        secrets = json.load(f)
    conn = openstack.connect()
    made = []
    users = {u.name for u in conn.identity.users(domain_id='default')}
    demo = ensure_project(conn, 'demo', 'The demo user\'s project')
    ensure_user(conn, users, 'demo', secrets['demo'], demo, ['member'],
                made)
    service = ensure_project(conn, 'service', 'The services\' own users')
    for name in SERVICE_USERS:
        ensure_user(conn, users, name, secrets['service'], service,
                    ['admin', 'service'], made)
    ensure_endpoints(conn, region, catalog, made)
    remove_absent(conn, catalog)
    if made:
        print('Keystone: created %s' % ', '.join(made))


if __name__ == '__main__':
    main(sys.argv)
