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
  start with another port offset on the same state); services of retired
  types (RETIRED) are removed.
"""

import json
import sys

import openstack

# The services' own users (keystonemiddleware and service-to-service
# calls): one each, as DevStack makes them.
SERVICE_USERS = ('nova', 'glance', 'placement', 'neutron')
# service type -> (name, description) in the catalog.
SERVICES = {
    'compute': ('nova', 'OpenStack Compute (VirtualBox)'),
    'image': ('glance', 'OpenStack Image'),
    'placement': ('placement', 'OpenStack Placement'),
    'network': ('neutron', 'OpenStack Networking (VirtualBox)'),
}
# Service types of earlier versions of the all-in-one, removed from a kept
# state's catalog: the Neutron stand-in before Neutron came.
RETIRED = ('network-standin',)
INTERFACES = ('public', 'internal')


def ensure_project(conn, name, description):
    return (conn.identity.find_project(name, domain_id='default') or
            conn.identity.create_project(name=name, domain_id='default',
                                         description=description))


def ensure_user(conn, name, password, project, roles, made):
    user = conn.identity.find_user(name, domain_id='default')
    if user is None:
        user = conn.identity.create_user(
            name=name, password=password, domain_id='default',
            default_project_id=project.id)
        made.append('user %s' % name)
    for role in roles:
        role = conn.identity.find_role(role)
        conn.identity.assign_project_role_to_user(project, user, role)


def ensure_endpoints(conn, region, catalog, made):
    for kind, url in catalog.items():
        name, description = SERVICES[kind]
        service = next(iter(conn.identity.services(type=kind)), None)
        if service is None:
            service = conn.identity.create_service(
                name=name, type=kind, description=description)
            made.append('%s service' % kind)
        have = {e.interface: e for e in conn.identity.endpoints(
            service_id=service.id, region_id=region)}
        for interface in INTERFACES:
            endpoint = have.get(interface)
            if endpoint is None:
                conn.identity.create_endpoint(
                    service_id=service.id, interface=interface, url=url,
                    region_id=region)
            elif endpoint.url != url:
                conn.identity.update_endpoint(endpoint, url=url)


def remove_retired(conn):
    for kind in RETIRED:
        for service in list(conn.identity.services(type=kind)):
            conn.identity.delete_service(service)
            print('Keystone: removed the retired %s service' % kind)


def main(argv):
    secrets_path, region, catalog = argv[1], argv[2], json.loads(argv[3])
    with open(secrets_path) as f:
        secrets = json.load(f)
    conn = openstack.connect()
    made = []
    demo = ensure_project(conn, 'demo', 'The demo user\'s project')
    ensure_user(conn, 'demo', secrets['demo'], demo, ['member'], made)
    service = ensure_project(conn, 'service', 'The services\' own users')
    for name in SERVICE_USERS:
        ensure_user(conn, name, secrets['service'], service,
                    ['admin', 'service'], made)
    ensure_endpoints(conn, region, catalog, made)
    remove_retired(conn)
    if made:
        print('Keystone: created %s' % ', '.join(made))


if __name__ == '__main__':
    main(sys.argv)
