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

import os
import subprocess
import sys

import fixtures
from oslo_config import cfg

from nova.tests.unit.virt.virtualbox import test_base
from nova.virt.virtualbox import conf as vbox_conf

CONF = test_base.CONF


class ConfTestCase(test_base.VBoxTestCase):

    def _load(self, text):
        """A fresh ConfigOpts with our options, read from a file."""
        path = os.path.join(self.useFixture(fixtures.TempDir()).path,
                            'nova.conf')
        with open(path, 'w') as f:
            f.write(text)
        conf = cfg.ConfigOpts()
        vbox_conf.register_opts(conf)
        conf(['--config-file', path], project='nova')
        return conf

    def test_original_driver_options_keep_names_and_defaults(self):
        vbox = CONF.virtualbox
        self.assertFalse(vbox.remote_display)
        self.assertEqual(3, vbox.retry_count)
        self.assertEqual(1, vbox.retry_interval)
        self.assertEqual('VBoxManage', vbox.vboxmanage_cmd)
        self.assertFalse(vbox.vrde_unique_port)
        self.assertEqual('3389', vbox.vrde_port)
        self.assertFalse(vbox.vrde_require_instance_uuid_as_password)
        self.assertIsNone(vbox.vrde_password_length)
        self.assertEqual(60, vbox.wait_soft_reboot_seconds)
        self.assertIsNotNone(vbox.vrde_module)
        self.assertFalse(CONF.rdp.encrypted_rdp)
        self.assertEqual('RDP', CONF.rdp.security_method)
        for name in ('server_certificate', 'server_private_key',
                     'server_ca'):
            self.assertIsNone(getattr(CONF.rdp, name))

    def test_every_option_has_help(self):
        for group, opts in vbox_conf.list_opts():
            for opt in opts:
                self.assertTrue(opt.help and len(opt.help) > 20,
                                '%s.%s' % (group.name, opt.name))

    def test_port_ranges(self):
        self.assertEqual([3389], vbox_conf.parse_port_ranges('3389'))
        self.assertEqual([5000, 5001, 5002, 5100],
                         vbox_conf.parse_port_ranges('5000-5002, 5100'))
        for bad in ('', 'abc', '5000-', '70000', '5002-5000', '0'):
            self.assertRaises(ValueError, vbox_conf.parse_port_ranges, bad)

    def test_bad_values_are_refused_with_the_option_named(self):
        for text, name in (
                ('[virtualbox]\nretry_count = -1\n', 'retry_count'),
                ('[virtualbox]\nretry_count = many\n', 'retry_count'),
                ('[virtualbox]\nvrde_port = 33a9\n', 'vrde_port'),
                ('[virtualbox]\nvm_group = nova\n', 'vm_group'),
                ('[virtualbox]\nstorage_bus = usb\n', 'storage_bus'),
                ('[rdp]\nsecurity_method = SSL\n', 'security_method')):
            conf = self._load(text)
            group = 'rdp' if text.startswith('[rdp]') else 'virtualbox'
            err = self.assertRaises(cfg.ConfigFileValueError, getattr,
                                    getattr(conf, group), name)
            self.assertIn(name, str(err))

    def test_validate_reports_unreadable_values(self):
        conf = self._load('[virtualbox]\nretry_count = many\n'
                          '[rdp]\nsecurity_method = SSL\n')
        problems = vbox_conf.validate(conf)
        self.assertEqual(2, len(problems))
        self.assertTrue(problems[0].startswith('[virtualbox] retry_count'))
        self.assertTrue(problems[1].startswith('[rdp] security_method'))

    def test_validate_accepts_defaults(self):
        self.assertEqual([], vbox_conf.validate(CONF))

    def test_validate_names_each_problem(self):
        self.flags(vboxmanage_timeout=100, vboxmanage_long_timeout=50,
                   group='virtualbox')
        self.flags(encrypted_rdp=True, server_certificate='/nonexistent.pem',
                   group='rdp')
        problems = vbox_conf.validate(CONF)
        text = '\n'.join(problems)
        self.assertIn('vboxmanage_long_timeout', text)
        self.assertIn("server_certificate '/nonexistent.pem'", text)
        self.assertIn('server_private_key must be set', text)
        self.assertEqual(3, len(problems))

    def test_validate_port_range_bounds(self):
        self.flags(vrde_port='6000-5000', group='virtualbox')
        problems = vbox_conf.validate(CONF)
        self.assertEqual(1, len(problems))
        self.assertIn('vrde_port', problems[0])


class SampleConfigTestCase(test_base.VBoxTestCase):
    """etc/nova/nova_compute.conf.sample must be what the generator writes
    now. Needs the source tree: tox sets NOVA_VIRTUALBOX_SRC."""

    def test_sample_is_current(self):
        src = os.environ.get('NOVA_VIRTUALBOX_SRC')
        if not src:
            self.skipTest('NOVA_VIRTUALBOX_SRC (the source tree) not set')
        out = os.path.join(self.useFixture(fixtures.TempDir()).path,
                           'sample.conf')
        subprocess.run(
            [sys.executable, '-m', 'oslo_config.generator',
             '--config-file',
             os.path.join(src, 'etc/nova/nova-config-generator.conf'),
             '--output-file', out], check=True, cwd=src)
        with open(out) as f:
            generated = f.read()
        with open(os.path.join(src, 'etc/nova/nova_compute.conf.sample')) as f:
            committed = f.read()
        self.assertEqual(generated, committed,
                         'etc/nova/nova_compute.conf.sample is stale: run '
                         '"tox -e genconfig" and commit the result')
