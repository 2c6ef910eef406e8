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

"""Stand-ins for Neutron, Keystone and Cinder, none of which this cloud has.

Neutron: no networks, no ports and no extensions.

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
- anything else (creating a port, showing one, ...): 404 or 501 with a
  Neutron-style error that says networking is not part of this cloud.

A server create without ``--nic none`` asks Nova for the networks "auto",
which Nova 34 refuses with no network to auto-allocate; BootWithoutNetworks,
a filter of the all-in-one's Nova API pipeline, makes it "none".

Keystone, under ``/identity/v3``: its version document (the openstack CLI
builds a v3 identity client for some commands, ``server list``, ``flavor
create``, even when it never calls it, and needs to see a v3 endpoint;
clouds.yaml points identity here); a token for the token method, scoped
to the project the client names, whose ID is the "USER:PROJECT" token the
APIs accept (so the CLI knows its project: ``quota show``); any project by
ID or name (a token "USER:PROJECT" makes any project exist), for ``quota
show PROJECT``; and to anything else an error that says there is no
identity service.

Cinder, under ``/volume`` (clouds.yaml's block storage endpoint): its
version documents (the CLI reads them before any call), quotas of zero
volumes (``quota show``) and to anything else an error that says there is
no block storage service.

Every request is logged, so what Nova asked for can be read in the log.
It runs inside the all-in-one Nova process (see node.py); no state.
"""

import json
import logging
import re
from urllib import parse

import webob.dec

LOG = logging.getLogger('aio.neutron-stub')

_COLLECTION = re.compile(r'^/v2\.0/([a-z0-9_-]+)(\.json)?/?$')
_QUOTA = re.compile(r'^/v2\.0/quotas/([^/]+?)(\.json)?/?$')
_AUTO_TOPOLOGY = re.compile(r'^/v2\.0/auto-allocated-topology/')
_PROJECT = re.compile(r'^/identity/v3/projects/([^/]+)/?$')
_VOLUME_QUOTA = re.compile(r'^/volume/v3/(?:[^/]+/)?os-quota-sets/([^/]+)/?$')
NO_VOLUMES = {name: 0 for name in (
    'volumes', 'gigabytes', 'snapshots', 'backups', 'backup_gigabytes',
    'groups', 'per_volume_gigabytes')}
NO_KEYSTONE = ('This all-in-one cloud has no identity service (no Keystone): '
               'there are no users or projects to list; any token '
               '"USER:PROJECT" is accepted.')
NO_CINDER = ('This all-in-one cloud has no block storage service (no '
             'Cinder): volumes cannot be created or listed.')

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


def _project(project_id):
    return {'id': project_id, 'name': project_id, 'domain_id': 'default',
            'enabled': True, 'is_domain': False, 'parent_id': 'default',
            'description': '', 'tags': [], 'links': {}}


def _token(environ, start_response):
    """A token for the token the client sends, scoped to the project it
    names, so the CLI knows its project (quota show)."""
    try:
        size = int(environ.get('CONTENT_LENGTH') or 0)
        auth = json.loads(environ['wsgi.input'].read(size))['auth']
        token = auth['identity']['token']['id']
    except (ValueError, KeyError, TypeError):
        return _body(start_response, '401 Unauthorized', {'error': {
            'code': 401, 'title': 'Unauthorized', 'message':
                'Authenticate with any token "USER:PROJECT" (the token '
                'method): ' + NO_KEYSTONE}})
    user, _sep, project = token.partition(':')
    project = project or user
    scope = auth.get('scope', {}).get('project', {})
    project = scope.get('id') or scope.get('name') or project
    roles = ['admin', 'member', 'reader'] if user == 'admin' \
        else ['member', 'reader']
    domain = {'id': 'default', 'name': 'Default'}
    body = {'token': {
        'methods': ['token'], 'issued_at': '2026-01-01T00:00:00.000000Z',
        'expires_at': '2999-01-01T00:00:00.000000Z',
        'user': {'id': user, 'name': user, 'domain': domain},
        'project': {'id': project, 'name': project, 'domain': domain},
        'roles': [{'id': r, 'name': r} for r in roles], 'catalog': []}}
    data = json.dumps(body).encode()
    start_response('201 Created', [
        ('Content-Type', 'application/json'),
        ('Content-Length', str(len(data))),
        ('X-Subject-Token', '%s:%s' % (user, project))])
    return [data]


def identity(environ, method, path, query, start_response):
    """Keystone's answers (see the module docstring), or None."""
    if method == 'POST' and path.rstrip('/') == '/identity/v3/auth/tokens':
        return _token(environ, start_response)
    if method != 'GET':
        return None
    match = _PROJECT.match(path)
    if match:
        return _body(start_response, '200 OK',
                     {'project': _project(parse.unquote(match.group(1)))})
    names = parse.parse_qs(query).get('name')
    if path.rstrip('/') == '/identity/v3/projects' and names:
        return _body(start_response, '200 OK', {
            'projects': [_project(names[0])], 'links': {}})
    return None


def block_storage(method, path, query, base, start_response):
    """Cinder's answers (see the module docstring)."""
    version = {'id': 'v3.0', 'status': 'CURRENT', 'version': '3.71',
               'min_version': '3.0', 'updated': '2023-08-31T00:00:00Z',
               'links': [{'rel': 'self', 'href': base + '/volume/v3/'}],
               'media-types': [{
                   'base': 'application/json',
                   'type': 'application/vnd.openstack.volume+json;'
                           'version=3'}]}
    if method == 'GET' and path.rstrip('/') == '/volume':
        return _body(start_response, '300 Multiple Choices',
                     {'versions': [version]})
    if method == 'GET' and path.rstrip('/') == '/volume/v3':
        return _body(start_response, '200 OK', {'version': version})
    match = _VOLUME_QUOTA.match(path)
    if method == 'GET' and match:
        return _body(start_response, '200 OK', {'quota_set': dict(
            NO_VOLUMES, id=parse.unquote(match.group(1)))})
    return _body(start_response, '501 Not Implemented', {
        'NotImplemented': {'code': 501, 'message': NO_CINDER}})


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
    if method == 'GET' and path.rstrip('/') == '/identity/v3':
        return _body(start_response, '200 OK', {'version': {
            'id': 'v3.14', 'status': 'stable',
            'updated': '2020-04-07T00:00:00Z',
            'links': [{'rel': 'self', 'href': base + '/identity/v3/'}],
            'media-types': [{
                'base': 'application/json',
                'type': 'application/vnd.openstack.identity-v3+json'}]}})
    if path.startswith('/identity/'):
        return identity(environ, method, path, query,
                        start_response) or _body(
            start_response, '501 Not Implemented', {'error': {
                'code': 501, 'title': 'Not Implemented',
                'message': NO_KEYSTONE}})
    if path == '/volume' or path.startswith('/volume/'):
        return block_storage(method, path, query, base, start_response)
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
    return _error(start_response, '501 Not Implemented', 'NotImplemented',
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
