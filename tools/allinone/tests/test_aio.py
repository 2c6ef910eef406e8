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

"""tools/allinone/aio.py's host tool check and local.conf, and the
stand-ins' answers to what a new user tries in a cloud without Neutron,
Keystone and Cinder (neutron_stub.py).

Needs webob (the all-in-one venv):

    .aio/venv/bin/python -m unittest discover -s tools/allinone/tests
"""

import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import aio  # noqa: E402
import neutron_stub  # noqa: E402


class HostToolsTest(unittest.TestCase):

    def setUp(self):
        self.bin = tempfile.mkdtemp(prefix='aio-test-bin-')
        self.addCleanup(shutil.rmtree, self.bin)

    def add_tool(self, name):
        path = os.path.join(self.bin, name)
        with open(path, 'w') as f:
            f.write('#!/bin/sh\n')
        os.chmod(path, 0o755)

    def test_missing_tools_stop_the_start_with_one_line(self):
        with self.assertRaises(aio.Failed) as caught:
            aio.ensure_host_tools(path=self.bin, can_install=False)
        message = str(caught.exception)
        self.assertEqual(1, len(message.splitlines()))
        self.assertIn('genisoimage and qemu-img not found', message)
        self.assertIn('apt-get install genisoimage qemu-utils', message)

    def test_only_the_missing_one_is_named(self):
        self.add_tool('qemu-img')
        with self.assertRaises(aio.Failed) as caught:
            aio.ensure_host_tools(path=self.bin, can_install=False)
        self.assertNotIn('qemu', str(caught.exception))
        self.assertIn('install genisoimage', str(caught.exception))

    def test_nothing_to_do_when_both_are_there(self):
        self.add_tool('qemu-img')
        self.add_tool('genisoimage')
        self.assertEqual({}, aio.missing_host_tools(path=self.bin))
        aio.ensure_host_tools(path=self.bin, can_install=False)


class LocalConfTest(unittest.TestCase):

    def write(self, text):
        fd, path = tempfile.mkstemp(suffix='.conf')
        self.addCleanup(os.unlink, path)
        with os.fdopen(fd, 'w') as f:
            f.write(text)
        return path

    def test_absent_is_none(self):
        self.assertIsNone(aio.read_local_conf('/nonexistent/local.conf'))

    def test_ini_with_repeated_options_is_read(self):
        path = self.write('[DEFAULT]\ndebug = true\n[filter_scheduler]\n'
                          'enabled_filters = A\nenabled_filters = B\n')
        self.assertEqual(path, aio.read_local_conf(path))

    def test_not_ini_is_one_clear_line(self):
        path = self.write('debug = true\n')
        with self.assertRaises(aio.Failed) as caught:
            aio.read_local_conf(path)
        self.assertEqual(1, len(str(caught.exception).splitlines()))
        self.assertIn('not an INI file', str(caught.exception))

    def test_default_is_documented(self):
        self.assertEqual(os.path.join(aio.REPO, '.aio', 'local.conf'),
                         aio.DEFAULT_LOCAL_CONF)
        self.assertIn('.aio/local.conf', aio.__doc__)


def call(app, method, path, body=None, query=''):
    import webob
    request = webob.Request.blank(path + ('?' + query if query else ''),
                                  method=method)
    if body is not None:
        request.body = json.dumps(body).encode()
        request.content_type = 'application/json'
    response = request.get_response(app)
    return response.status_int, response.json_body


class NeutronStandInTest(unittest.TestCase):

    def test_a_write_is_a_bad_request_naming_the_missing_service(self):
        # Nova makes Neutron's 400 its own 400 with the message (a 501 was
        # Nova's 500: "openstack security group create").
        status, body = call(neutron_stub.application, 'POST',
                            '/v2.0/security-groups',
                            {'security_group': {'name': 'sg'}})
        self.assertEqual(400, status)
        self.assertIn('no networking', body['NeutronError']['message'])

    def test_no_auto_allocated_network(self):
        status, _body = call(neutron_stub.application, 'GET',
                             '/v2.0/auto-allocated-topology/admin',
                             query='fields=dry-run')
        self.assertEqual(409, status)


class SecretsTest(unittest.TestCase):

    def setUp(self):
        self.state = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.state)

    def test_made_once_private_and_kept(self):
        first = aio.read_secrets(self.state)
        self.assertEqual(set(aio.SECRETS), set(first))
        self.assertEqual(len(set(first.values())), len(first))
        path = os.path.join(self.state, 'secrets.json')
        self.assertEqual(0o600, os.stat(path).st_mode & 0o777)
        self.assertEqual(first, aio.read_secrets(self.state))

    def test_clouds_yaml_has_both_users_with_password_auth(self):
        settings = dict(aio.PORTS, state=self.state)
        secrets = aio.read_secrets(self.state)
        aio.write_clouds_yaml(settings)
        path = aio.clouds_yaml_path(self.state)
        self.assertEqual(0o600, os.stat(path).st_mode & 0o777)
        with open(path) as f:
            clouds = json.load(f)['clouds']
        for cloud, user in ((aio.ADMIN_CLOUD, 'admin'),
                            (aio.DEMO_CLOUD, 'demo')):
            auth = clouds[cloud]['auth']
            self.assertEqual((user, user, secrets[user],
                              'http://127.0.0.1:5000/v3'),
                             (auth['username'], auth['project_name'],
                              auth['password'], auth['auth_url']))
        self.assertIn('export OS_CLOUD=%s' % aio.DEMO_CLOUD,
                      aio.env_lines(dict(settings, venv='/v')))


class BootWithoutNetworksTest(unittest.TestCase):

    def seen(self, body, path='/v2.1/servers'):
        requests = []

        def nova(environ, start_response):
            import webob
            requests.append(webob.Request(environ).json_body)
            start_response('202 Accepted', [('Content-Type',
                                             'application/json')])
            return [b'{}']
        call(neutron_stub.filter_factory({})(nova), 'POST', path, body)
        return requests[0]

    def test_auto_becomes_none(self):
        self.assertEqual('none', self.seen(
            {'server': {'name': 'vm', 'networks': 'auto'}})
            ['server']['networks'])

    def test_others_are_left_alone(self):
        body = {'server': {'name': 'vm', 'networks': [{'uuid': 'x'}]}}
        self.assertEqual(body, self.seen(body))
        body = {'server': {'name': 'vm', 'networks': 'auto'}}
        self.assertEqual(body, self.seen(body, '/v2.1/servers/x/action'))

    def test_nova_paste_has_the_filter(self):
        venv = os.path.dirname(os.path.dirname(sys.executable))
        if not os.path.exists(os.path.join(venv, 'etc', 'nova',
                                           'api-paste.ini')):
            self.skipTest('not the all-in-one venv')
        text = aio.nova_paste(venv)
        self.assertIn(' authtoken aio_nonetworks keystonecontext ', text)
        self.assertIn('[filter:aio_nonetworks]\npaste.filter_factory = '
                      'neutron_stub:filter_factory', text)


if __name__ == '__main__':
    unittest.main()
