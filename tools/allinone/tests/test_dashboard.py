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
generated local_settings (no secret in it; the launch wizard's volume
sources with volumes only), the static files server (no path outside its
folder); and Horizon on those settings: no router or floating IP panels,
parallel calls no more than a connection pool at a time, no Attach
Interface action, the Security Groups pages' notice, the overview's
volume limits with a volume service only, no backups, no device name,
Extend Volume and Upload to Image only while detached, no volume type
encryption, a row update finding its object gone no WARNING.

Needs Horizon (the all-in-one venv):

    .aio/venv/bin/python -m unittest discover -s tools/allinone/tests
"""

import functools
import io
import os
import shutil
import stat
import sys
import tempfile
import threading
import time
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

    def wizard(self, **settings):
        dashboard.ensure_secret_key(self.state)
        text = dashboard.local_settings(FakeNode(self.state, **settings))
        values = {}
        exec(compile(text, 'local_settings.py', 'exec'), values)
        return values['LAUNCH_INSTANCE_DEFAULTS']

    def test_wizard_with_volumes(self):
        wizard = self.wizard(volume_backend='file')
        # Every boot source, a new volume for an image offered (not the
        # default: an image boots onto the instance's own disk) and gone
        # with its instance.
        self.assertEqual(
            (False, False, False, False, False, True),
            (wizard['disable_image'], wizard['disable_instance_snapshot'],
             wizard['disable_volume'], wizard['disable_volume_snapshot'],
             wizard['hide_create_volume'],
             wizard['vol_delete_on_instance_delete']))
        self.assertFalse(wizard['create_volume'])

    def test_wizard_without_volumes(self):
        # aio.py's settings when the start is not root: volume_backend
        # None; and settings of before volumes: no such key.
        for wizard in (self.wizard(volume_backend=None), self.wizard()):
            self.assertEqual(
                (False, False, True, True, True, False),
                (wizard['disable_image'],
                 wizard['disable_instance_snapshot'],
                 wizard['disable_volume'],
                 wizard['disable_volume_snapshot'],
                 wizard['hide_create_volume'], wizard['create_volume']))


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


class HorizonTest(unittest.TestCase):
    """Horizon itself (Django set up once, process-wide, on settings
    written into a temporary state folder) with those settings and
    dashboard.py's changes."""

    @classmethod
    def setUpClass(cls):
        import django
        cls.state = tempfile.mkdtemp(prefix='aio-dashboard-test-')
        os.makedirs(os.path.join(cls.state, 'logs'))
        dashboard.write_settings(FakeNode(cls.state))
        # Unittest's discovery puts this folder first on sys.path, where
        # the browser test horizon.py would be taken for Horizon's package.
        path = sys.path[:]
        sys.path[:] = [p for p in path if os.path.abspath(p) != HERE]
        try:
            django.setup()
        finally:
            sys.path[:] = path

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.state)

    def test_no_router_or_floating_ip_panels(self):
        # Neutron has no L3 service here: these panels would only fail.
        from openstack_dashboard.dashboards.project.floating_ips import (
            panel as floating_ips)
        from openstack_dashboard.dashboards.project.routers import (
            panel as routers)
        self.assertFalse(routers.Routers.can_register())
        self.assertFalse(floating_ips.FloatingIps.can_register())

    def test_parallel_calls_at_most_a_pool_at_a_time(self):
        from openstack_dashboard.utils import futurist_utils
        lock = threading.Lock()
        running = []
        most = []

        def call(number, square=False):
            with lock:
                running.append(number)
                most.append(len(running))
            time.sleep(0.2)
            with lock:
                running.remove(number)
            return number * number if square else number
        with mock.patch.object(futurist_utils, 'call_functions_parallel'):
            dashboard.parallel_calls_in_one_pool()
            result = futurist_utils.call_functions_parallel(
                *[(call, [n], {'square': True}) for n in range(24)],
                (call, [99]), functools.partial(call, 100))
            self.assertEqual((), futurist_utils.call_functions_parallel())
        self.assertEqual(tuple(n * n for n in range(24)) + (99, 100), result)
        # In parallel, no more at once than a requests connection pool has.
        self.assertEqual(10, max(most))

    def test_no_attach_interface(self):
        from openstack_dashboard.dashboards.project.instances import tables
        instance = mock.Mock(status='ACTIVE')
        request = mock.Mock()
        with mock.patch.object(tables.AttachInterface, 'allowed'):
            dashboard.no_interface_attach()
            self.assertFalse(tables.AttachInterface.allowed(
                tables.AttachInterface(), request, instance))

    def test_security_group_pages_say_they_filter_nothing(self):
        from openstack_dashboard.dashboards.project.security_groups import (
            views)
        with mock.patch.object(views.IndexView, 'get',
                               return_value='groups') as groups, \
                mock.patch.object(views.DetailView, 'get',
                                  return_value='rules') as rules, \
                mock.patch('horizon.messages.info') as info:
            dashboard.security_groups_say_they_filter_nothing()
            for view, real, page in ((views.IndexView, groups, 'groups'),
                                     (views.DetailView, rules, 'rules')):
                info.reset_mock()
                request = mock.Mock()
                self.assertEqual(page, view.get(view(), request, 'x', y=1))
                real.assert_called_once_with(mock.ANY, request, 'x', y=1)
                info.assert_called_once_with(
                    request, dashboard.SECURITY_GROUPS_NOTICE)

    def test_volume_limits_with_a_volume_service_only(self):
        from openstack_dashboard.api import base
        from openstack_dashboard.usage import views
        dashboard.no_volume_limits_without_cinder()
        # The overview's view, of which _check_chart_allowed uses only
        # the request.
        view = mock.Mock(request=mock.Mock())
        volume, = [section for section in views.CHART_DEFS
                   if section['charts'][0].quota_key == 'volumes']
        for catalog, shown in (({'compute', 'network'}, False),
                               ({'compute', 'block-storage'}, True),
                               ({'volumev3'}, True)):
            with mock.patch.object(
                    base, 'is_service_enabled',
                    side_effect=lambda request, kind: kind in catalog):
                self.assertEqual(shown, views.ProjectUsageView
                                 ._check_chart_allowed(view, volume),
                                 catalog)

    def test_no_backups_no_device_name(self):
        # No cinder-backup: no Create Backup; the driver picks the SATA
        # port: no Device Name in the attach forms.
        from openstack_dashboard.api import nova
        from openstack_dashboard.dashboards.project.volumes import tables
        volume = mock.Mock(status='in-use')
        self.assertFalse(tables.CreateBackup().allowed(mock.Mock(), volume))
        self.assertFalse(nova.can_set_mount_point())

    def test_extend_and_upload_only_detached(self):
        from openstack_dashboard.dashboards.project.volumes import tables
        extend, upload = tables.ExtendVolume, tables.UploadToImage
        # Horizon's own allowed() under ours, restored afterwards.
        with mock.patch.object(extend, 'allowed', extend.allowed), \
                mock.patch.object(upload, 'allowed', upload.allowed):
            dashboard.volume_actions_only_detached()
            request = mock.Mock()
            for status, offered in (('available', True), ('in-use', False),
                                    ('attaching', False),
                                    ('detaching', False), ('error', False)):
                volume = mock.Mock(status=status)
                self.assertEqual(offered, extend().allowed(request, volume),
                                 status)
                self.assertEqual(offered, upload().allowed(request, volume),
                                 status)
            # Horizon's own conditions still hold: no image service, no
            # upload.
            request.user.has_perm.return_value = False
            self.assertFalse(upload().allowed(
                request, mock.Mock(status='available')))

    def test_no_volume_type_encryption(self):
        from openstack_dashboard.dashboards.admin.volume_types import tables
        plain = mock.Mock(spec=['id', 'name'])
        encrypted = mock.Mock(encryption=mock.Mock(provider='luks'))
        request = mock.Mock()
        with mock.patch.object(tables.CreateVolumeTypeEncryption,
                               'allowed'), \
                mock.patch.object(tables.UpdateVolumeTypeEncryption,
                                  'allowed'), \
                mock.patch.object(tables, '_is_vol_type_enc_possible',
                                  return_value=True):
            dashboard.no_volume_encryption()
            self.assertFalse(tables.CreateVolumeTypeEncryption().allowed(
                request, plain))
            self.assertFalse(tables.UpdateVolumeTypeEncryption().allowed(
                request, encrypted))
            # A type encrypted elsewhere can still lose its encryption.
            self.assertTrue(tables.DeleteVolumeTypeEncryption().allowed(
                request, encrypted))

    def test_row_gone_is_no_warning(self):
        import logging
        logger = logging.getLogger('django.request')

        def request(**query):
            return mock.Mock(GET=query)
        filter_ = dashboard.row_gone_is_no_warning()
        self.addCleanup(logger.removeFilter, filter_)
        with self.assertLogs(logger, 'INFO') as logs:
            # Django's log_response() for a 4xx: the request and status.
            logger.warning('Not Found: %s', '/project/volumes/', extra={
                'status_code': 404,
                'request': request(action='row_update', table='volumes',
                                   obj_id='x')})
            logger.warning('Not Found: %s', '/project/nothing/', extra={
                'status_code': 404, 'request': request()})
            logger.warning('Forbidden: %s', '/project/volumes/', extra={
                'status_code': 403,
                'request': request(action='row_update')})
        self.assertEqual(['INFO', 'WARNING', 'WARNING'],
                         [r.levelname for r in logs.records])


if __name__ == '__main__':
    unittest.main()
