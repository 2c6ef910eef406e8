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

"""FileISCSIDriver against a real tgtd (package tgt), as root.

Each test starts a tgtd of its own (its own control port, so its own
management socket, and its own portal on 127.0.0.1) and stops it by its
pid: a tgtd of the host is never touched. Skipped unless running as root
with tgtd installed. Where libiscsi's ``iscsi-readcapacity16`` is
installed (package libiscsi-bin), an initiator logs in with the volume's
CHAP credentials (given through libiscsi's environment variables, not its
command line) and reads the LUN's size; a wrong secret is refused.
"""

import os
import shutil
import subprocess

import fixtures
from oslo_utils import units

from cinder import context
from cinder.tests.unit import fake_volume
from cinder.tests.unit import test
from cinder.volume import configuration as conf
from cinder.volume import driver

from cinder_virtualbox import file_iscsi
from cinder_virtualbox.tests import own_tgtd

GROUP = 'realtgtd'
VOL = '0c0c0c0c-cccc-4ccc-8ccc-0c0c0c0c0c0c'
INITIATOR = 'iqn.2026-12.org.nova-virtualbox:test-initiator'


class RealTgtdTestCase(test.TestCase):

    def setUp(self):
        super().setUp()
        self.tgtd = self.useFixture(own_tgtd.OwnTgtd())
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.configuration = conf.Configuration(
            file_iscsi.file_iscsi_opts + driver.volume_opts,
            config_group=GROUP)
        for name, value in (('file_volumes_dir', self.dir),
                            ('file_volumes_target_ip', '127.0.0.1'),
                            ('file_volumes_target_port',
                             self.tgtd.portal_port),
                            ('tgtd_control_port', self.tgtd.control_port)):
            self.override_config(name, value, group=GROUP)
        self.ctxt = context.get_admin_context()
        self.driver = file_iscsi.FileISCSIDriver(
            configuration=self.configuration, host='host@real')
        self.driver.do_setup(self.ctxt)
        self.driver.check_for_setup_error()

    def _tgtadm_show(self):
        return subprocess.run(
            ['tgtadm', '-C', str(self.tgtd.control_port), '--lld', 'iscsi',
             '--mode', 'target', '--op', 'show'],
            capture_output=True, text=True, check=True).stdout

    def _login(self, data, secret=None):
        """iscsi-readcapacity16 on the connection -> (exit code, output)."""
        env = dict(os.environ,
                   LIBISCSI_CHAP_USERNAME=data['auth_username'],
                   LIBISCSI_CHAP_PASSWORD=secret or data['auth_password'])
        result = subprocess.run(
            ['iscsi-readcapacity16', '-i', INITIATOR,
             'iscsi://%s/%s/%d' % (data['target_portal'], data['target_iqn'],
                                   data['target_lun'])],
            capture_output=True, text=True, env=env, timeout=60)
        return result.returncode, result.stdout + result.stderr

    def test_volume_lifecycle_on_real_tgtd(self):
        volume = fake_volume.fake_volume_obj(
            self.ctxt, id=VOL, size=1, provider_location=None,
            provider_auth=None)
        path = os.path.join(self.dir, 'volume-' + VOL)
        self.driver.create_volume(volume)
        volume.update(self.driver.create_export(self.ctxt, volume, {}))
        _chap, user, secret = volume.provider_auth.split()

        iqn = 'iqn.2010-10.org.openstack:volume-' + VOL
        (target,) = self.driver.tgtd.show_targets()
        self.assertEqual(iqn, target.name)
        self.assertEqual(path, target.luns[1].path)
        self.assertEqual('rdwr', target.luns[1].backing_type)
        self.assertEqual(1074, target.luns[1].size_mb)
        self.assertEqual([user], target.accounts)
        self.assertEqual(['ALL'], target.acls)
        self.assertEqual([user], self.driver.tgtd.show_accounts())
        # tgtadm, tgt's own client, sees the same.
        shown = self._tgtadm_show()
        self.assertIn('Target %d: %s' % (target.tid, iqn), shown)
        self.assertIn('Backing store path: ' + path, shown)
        self.assertIn('        ' + user + '\n', shown)
        self.assertNotIn(secret, shown)

        info = self.driver.initialize_connection(volume,
                                                 {'initiator': INITIATOR})
        data = info['data']
        self.assertEqual('127.0.0.1:%d' % self.tgtd.portal_port,
                         data['target_portal'])
        self.assertEqual((iqn, 1, 'CHAP', user, secret),
                         (data['target_iqn'], data['target_lun'],
                          data['auth_method'], data['auth_username'],
                          data['auth_password']))
        if shutil.which('iscsi-readcapacity16'):
            code, out = self._login(data)
            self.assertEqual(0, code, out)
            self.assertIn('Total size:%d' % units.Gi, out)
            code, out = self._login(data, secret='Wrong' + secret[5:])
            self.assertNotEqual(0, code)
            self.assertIn('Authentication failure', out)

        # tgtd restarts: ensure_export brings the same target back.
        self.tgtd.stop()
        self.tgtd.start()
        self.assertEqual([], self.driver.tgtd.show_targets())
        self.driver.ensure_export(self.ctxt, volume)
        target = self.driver.tgtd.find_target(iqn)
        self.assertEqual(path, target.luns[1].path)
        self.assertEqual([user], target.accounts)
        if shutil.which('iscsi-readcapacity16'):
            code, out = self._login(data)
            self.assertEqual(0, code, out)

        self.driver.remove_export(self.ctxt, volume)
        self.assertEqual([], self.driver.tgtd.show_targets())
        self.assertEqual([], self.driver.tgtd.show_accounts())
        self.driver.delete_volume(volume)
        self.assertFalse(os.path.exists(path))
        self.assertEqual([], os.listdir(self.dir))
        with open(self.tgtd.log_path, 'rb') as f:
            self.assertNotIn(secret.encode(), f.read())
