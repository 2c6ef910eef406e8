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

"""A stand-in for Neutron, which this cloud does not have yet: no networks,
no ports and no extensions. It is not in Keystone's catalog (the CLI says
there is no network service); only Nova talks to it.

Nova 34 always talks to Neutron, even for servers booted with
``networks: none`` (microversion 2.37+, ``--nic none`` in the CLI): it lists
the extensions Neutron offers, and on delete, on rebuild of the network info
cache and in a few checks it lists the ports bound to the instance. This WSGI
app answers those reads truthfully for a cloud without networking:

- ``GET /`` and ``GET /v2.0``: the version document;
- ``GET /v2.0/extensions``: no extensions;
- ``GET /v2.0/<collection>``: an empty list (ports, networks, subnets,
  security-groups, floatingips, ...);
- ``GET /v2.0/quotas/<project>``: unlimited;
- ``GET /v2.0/auto-allocated-topology/<project>``: 409, none can be made;
- anything else (creating a port, showing one, ...): 404, or 400 for a
  write (Nova turns Neutron's 400 into its own 400 with the message, a 501
  into a 500), with a Neutron-style error that says networking is not part
  of this cloud.

A server create without ``--nic none`` asks Nova for the networks "auto",
which Nova 34 refuses with no network to auto-allocate; BootWithoutNetworks,
a filter of the all-in-one's Nova API pipeline, makes it "none".

Every request is logged, so what Nova asked for can be read in the log.
It runs inside the all-in-one Nova process (see node.py); no state.
"""

import json
import logging
import re

import webob.dec

LOG = logging.getLogger('aio.neutron-stub')

_COLLECTION = re.compile(r'^/v2\.0/([a-z0-9_-]+)(\.json)?/?$')
_QUOTA = re.compile(r'^/v2\.0/quotas/([^/]+?)(\.json)?/?$')
_AUTO_TOPOLOGY = re.compile(r'^/v2\.0/auto-allocated-topology/')

UNLIMITED = {name: -1 for name in (
    'network', 'subnet', 'subnetpool', 'port', 'router', 'floatingip',
    'security_group', 'security_group_rule', 'rbac_policy')}


def _body(start_response, status, doc):
    data = json.dumps(doc).encode()
    start_response(status, [('Content-Type', 'application/json'),
                            ('Content-Length', str(len(data)))])
    return [data]


def _error(start_response, status, kind, message):
    return _body(start_response, status, {'NeutronError': {
        'type': kind, 'message': message, 'detail': ''}})


def application(environ, start_response):
    method = environ['REQUEST_METHOD']
    path = environ.get('PATH_INFO', '/') or '/'
    query = environ.get('QUERY_STRING', '')
    LOG.info('%s %s?%s', method, path, query)
    base = 'http://%s' % environ.get('HTTP_HOST', '127.0.0.1')
    if method == 'GET' and path in ('/', '/v2.0', '/v2.0/'):
        version = {'id': 'v2.0', 'status': 'CURRENT',
                   'links': [{'rel': 'self', 'href': base + '/v2.0/'}]}
        if path == '/':
            return _body(start_response, '200 OK', {'versions': [version]})
        return _body(start_response, '200 OK', {'resources': []})
    if method == 'GET' and _AUTO_TOPOLOGY.match(path):
        return _error(start_response, '409 Conflict', 'Conflict',
                      'This all-in-one cloud has no networking: no network '
                      'can be allocated.')
    if method == 'GET':
        match = _QUOTA.match(path)
        if match:
            return _body(start_response, '200 OK', {'quota': UNLIMITED})
        match = _COLLECTION.match(path)
        if match:
            name = match.group(1).replace('-', '_')
            return _body(start_response, '200 OK', {name: []})
        return _error(start_response, '404 Not Found', 'NotFound',
                      'This all-in-one cloud has no networking: %s does '
                      'not exist.' % path)
    if method == 'DELETE':
        return _error(start_response, '404 Not Found', 'NotFound',
                      'This all-in-one cloud has no networking: nothing to '
                      'delete at %s.' % path)
    return _error(start_response, '400 Bad Request', 'BadRequest',
                  'This all-in-one cloud has no networking (Neutron is not '
                  'installed); boot servers with --nic none.')


class BootWithoutNetworks:
    """Nova API filter: a server create asking for the networks "auto"
    (what the openstack CLI sends without --nic) asks for "none" instead.

    With "auto" and no network, Nova 34 wants Neutron to make one
    (auto-allocated topology), which the stand-in cannot: the create would
    fail. "none" is what "auto" means in a cloud without networking.
    """

    def __init__(self, application):
        self.application = application

    @webob.dec.wsgify
    def __call__(self, req):
        if req.method == 'POST' and req.path_info.rstrip('/').endswith(
                '/servers'):
            try:
                body = json.loads(req.body)
            except ValueError:
                return self.application  # Nova answers that itself
            server = body.get('server') if isinstance(body, dict) else None
            if isinstance(server, dict) and server.get('networks') == 'auto':
                server['networks'] = 'none'
                req.body = json.dumps(body).encode()
                LOG.info('server create with networks "auto": booting '
                         'with "none" (this cloud has no networking)')
        return self.application


def filter_factory(global_conf, **local_conf):
    return BootWithoutNetworks
