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

"""FileISCSIDriver loaded by Cinder's own volume manager
(``volume_driver = cinder_virtualbox.file_iscsi.FileISCSIDriver``), on
Cinder's test database, exporting to the fake tgtd: what cinder-volume
does with it on create, attach (initialize_connection), detach and
delete."""

import logging
import os

import fixtures
from oslo_config import cfg
from oslo_utils import importutils
from oslo_utils import units

from cinder import context
from cinder import objects
from cinder.tests.unit import test
from cinder.tests.unit import utils as tests_utils

from cinder_virtualbox.tests.unit import fake_tgtd

CONF = cfg.CONF
DRIVER = 'cinder_virtualbox.file_iscsi.FileISCSIDriver'
CONNECTOR = {'initiator': 'iqn.2008-11.org.virtualbox:host1',
             'host': 'host1', 'ip': '127.0.0.1', 'multipath': False,
             'platform': 'x86_64', 'os_type': 'linux'}


class VolumeManagerTestCase(test.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.fake = fake_tgtd.FakeTgtd(control_port=5).start()
        self.addCleanup(self.fake.stop)
        # The manager's DEFAULT-section backend, as a plain cinder.conf.
        importutils.import_module('cinder_virtualbox.file_iscsi')
        importutils.import_module('cinder.volume.manager')
        for name, value in (('volume_driver', DRIVER),
                            ('file_volumes_dir', self.dir),
                            ('file_volumes_target_ip', '127.0.0.1'),
                            ('tgtd_socket', self.fake.socket_path),
                            ('tgtd_control_port', 5)):
            self.override_config(name, value, group='backend_defaults')
        self.ctxt = context.get_admin_context()
        self.log = self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
        self.manager = importutils.import_object(CONF.volume_manager)
        self.manager.driver.do_setup(self.ctxt)
        self.manager.driver.check_for_setup_error()
        self.manager.driver.set_initialized()
        # What init_host leaves (as Cinder's BaseVolumeTestCase sets it).
        self.manager.stats = {'allocated_capacity_gb': 0, 'pools': {}}

    def test_create_attach_detach_delete(self):
        self.assertEqual(DRIVER, '%s.%s' % (
            type(self.manager.driver).__module__,
            type(self.manager.driver).__name__))
        vtype = tests_utils.create_volume_type(self.ctxt, self,
                                               name='files')
        volume = tests_utils.create_volume(self.ctxt, size=1,
                                           status='creating',
                                           host=CONF.host,
                                           volume_type_id=vtype.id)
        self.manager.create_volume(self.ctxt, volume)
        volume = objects.Volume.get_by_id(self.ctxt, volume.id)
        self.assertEqual('available', volume.status)
        path = os.path.join(self.dir, 'volume-' + volume.id)
        self.assertEqual(units.Gi, os.stat(path).st_size)

        info = self.manager.initialize_connection(self.ctxt, volume,
                                                  CONNECTOR)
        volume = objects.Volume.get_by_id(self.ctxt, volume.id)
        _chap, user, secret = volume.provider_auth.split()
        self.assertEqual('iscsi', info['driver_volume_type'])
        data = info['data']
        self.assertEqual('127.0.0.1:3260', data['target_portal'])
        self.assertEqual('iqn.2010-10.org.openstack:volume-' + volume.id,
                         data['target_iqn'])
        self.assertEqual(1, data['target_lun'])
        self.assertEqual(('CHAP', user, secret),
                         (data['auth_method'], data['auth_username'],
                          data['auth_password']))
        self.assertEqual(volume.id, data['volume_id'])
        self.assertEqual('rw', data['access_mode'])
        (target,) = self.manager.driver.tgtd.show_targets()
        self.assertEqual(path, target.luns[1].path)
        self.assertEqual([user], target.accounts)

        self.manager.terminate_connection(self.ctxt, volume.id, CONNECTOR)
        self.manager.remove_export(self.ctxt, volume.id)
        self.assertEqual([], self.manager.driver.tgtd.show_targets())
        self.assertEqual({}, self.fake.accounts)

        self.manager.delete_volume(self.ctxt, volume)
        self.assertFalse(os.path.exists(path))
        # Cinder's manager and the driver, at debug level: no secret.
        self.assertIn('LUN 1 of', self.log.output)
        self.assertNotIn(secret, self.log.output)
