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

"""tools/allinone/dashboard.py's plumbing: the SECRET_KEY file, the
generated local_settings (no secret in it), the static files server (no
path outside its folder), and the NIC list python-novaclient gets when
Horizon launches without networks.

Needs python-novaclient (the all-in-one venv):

    .aio/venv/bin/python -m unittest discover -s tools/allinone/tests
"""

import io
import os
import shutil
import stat
import sys
import tempfile
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import dashboard  # noqa: E402


class FakeNode:

    def __init__(self, state_dir, **settings):
        self.state_dir = state_dir
        self.settings = dict({'keystone': 45000, 'horizon': 48080}, **settings)


class SettingsTest(unittest.TestCase):

    def setUp(self):
        self.state = tempfile.mkdtemp(prefix='aio-dashboard-test-')
        self.addCleanup(shutil.rmtree, self.state)
        os.makedirs(os.path.join(self.state, 'horizon'))

    def test_secret_key_made_once_0600(self):
        path = dashboard.ensure_secret_key(self.state)
        with open(path) as f:
            key = f.read()
        self.assertGreaterEqual(len(key), 50)
        self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
        dashboard.ensure_secret_key(self.state)
        with open(path) as f:
            self.assertEqual(key, f.read())

    def test_local_settings_has_no_secret_and_runs(self):
        node = FakeNode(self.state)
        dashboard.ensure_secret_key(self.state)
        text = dashboard.local_settings(node)
        with open(dashboard.secret_key_path(self.state)) as f:
            key = f.read()
        self.assertNotIn(key, text)
        values = {}
        exec(compile(text, 'local_settings.py', 'exec'), values)
        self.assertEqual(key, values['SECRET_KEY'])
        self.assertEqual('http://127.0.0.1:45000/v3',
                         values['OPENSTACK_KEYSTONE_URL'])
        self.assertEqual(['127.0.0.1', 'localhost'],
                         values['ALLOWED_HOSTS'])
        self.assertIn('LocMemCache',
                      values['CACHES']['default']['BACKEND'])
        self.assertEqual(os.path.join(self.state, 'horizon', 'static'),
                         values['STATIC_ROOT'])
        self.assertEqual(os.path.join(self.state, 'logs', 'horizon.log'),
                         values['LOGGING']['handlers']['file']['filename'])


class StaticFilesTest(unittest.TestCase):

    def setUp(self):
        self.top = tempfile.mkdtemp(prefix='aio-dashboard-test-')
        self.addCleanup(shutil.rmtree, self.top)
        self.root = os.path.join(self.top, 'static')
        os.makedirs(os.path.join(self.root, 'css'))
        with open(os.path.join(self.root, 'css', 'a.css'), 'w') as f:
            f.write('body {}')
        with open(os.path.join(self.top, 'secret_key'), 'w') as f:
            f.write('not for the web')
        self.app = dashboard.static_files(self.django, self.root)

    @staticmethod
    def django(environ, start_response):
        start_response('200 OK', [('Content-Type', 'text/html')])
        return [b'django']

    def get(self, path, method='GET'):
        seen = {}

        def start_response(status, headers):
            seen['status'] = status
            seen['headers'] = dict(headers)
        body = b''.join(self.app({'PATH_INFO': path,
                                  'REQUEST_METHOD': method,
                                  'wsgi.input': io.BytesIO()},
                                 start_response))
        return seen['status'], seen['headers'], body

    def test_file(self):
        status, headers, body = self.get('/static/css/a.css')
        self.assertEqual(('200 OK', 'text/css', b'body {}'),
                         (status, headers['Content-Type'], body))

    def test_other_paths_go_to_django(self):
        self.assertEqual(b'django', self.get('/project/')[2])

    def test_nothing_outside_the_folder(self):
        for path in ('/static/../secret_key', '/static/css/../../secret_key',
                     '/static//etc/passwd', '/static/css/missing.css',
                     '/static/css'):
            self.assertEqual('404 Not Found', self.get(path)[0], path)

    def test_only_get_and_head(self):
        self.assertEqual('404 Not Found',
                         self.get('/static/css/a.css', 'POST')[0])
        self.assertEqual(b'', self.get('/static/css/a.css', 'HEAD')[2])


class LaunchWithoutNetworksTest(unittest.TestCase):

    def create(self, version, nics):
        from novaclient import api_versions
        from novaclient.v2 import servers
        sent = {}

        def real_create(self, name, image, flavor, *args, **kwargs):
            sent['nics'] = kwargs['nics']
        with mock.patch.object(servers.ServerManager, 'create', real_create):
            dashboard.allow_launch_without_networks()
            manager = servers.ServerManager(mock.Mock(
                api_version=api_versions.APIVersion(version)))
            manager.create('vm', 'image', 'flavor', nics=nics)
        return sent['nics']

    def test_empty_list_is_none_from_2_37(self):
        self.assertEqual('none', self.create('2.90', []))

    def test_before_2_37_and_real_nics_unchanged(self):
        self.assertEqual([], self.create('2.36', []))
        nics = [{'net-id': 'n1'}]
        self.assertEqual(nics, self.create('2.90', nics))
        self.assertEqual('auto', self.create('2.90', 'auto'))


if __name__ == '__main__':
    unittest.main()
