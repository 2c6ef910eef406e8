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

"""The agent's options: list_opts for the generator, and the committed
sample (etc/neutron/virtualbox_agent.ini.sample) is what it writes now."""

import os
import subprocess
import sys

import fixtures
from oslo_config import cfg
import testtools

from networking_virtualbox import config


class ConfigTestCase(testtools.TestCase):

    def test_list_opts_and_defaults(self):
        [(group, opts)] = config.list_opts()
        self.assertEqual('virtualbox', group)
        conf = cfg.ConfigOpts()
        config.register_opts(conf)
        conf([])
        self.assertEqual([], conf.virtualbox.physical_network_mappings)
        self.assertEqual(['local', 'vxlan', 'geneve', 'gre'],
                         conf.virtualbox.tenant_network_types)
        self.assertEqual('/nova', conf.virtualbox.vm_group)
        self.assertTrue(conf.virtualbox.manage_dhcp)
        self.assertTrue(all(opt.help for opt in opts))

    def test_unknown_tenant_type_refused(self):
        conf = cfg.ConfigOpts()
        config.register_opts(conf)
        conf([])
        self.assertRaises(ValueError, conf.set_override,
                          'tenant_network_types', ['vlan'], 'virtualbox')

    def test_sample_is_current(self):
        src = os.environ.get('NOVA_VIRTUALBOX_SRC')
        if not src:
            self.skipTest('NOVA_VIRTUALBOX_SRC (the source tree) not set')
        out = os.path.join(self.useFixture(fixtures.TempDir()).path,
                           'sample.ini')
        subprocess.run(
            [sys.executable, '-m', 'oslo_config.generator',
             '--config-file', os.path.join(
                 src, 'etc/neutron/virtualbox-agent-config-generator.conf'),
             '--output-file', out], check=True, cwd=src,
            capture_output=True)
        with open(out) as handle:
            generated = handle.read()
        with open(os.path.join(
                src, 'etc/neutron/virtualbox_agent.ini.sample')) as handle:
            committed = handle.read()
        self.assertEqual(generated, committed,
                         'etc/neutron/virtualbox_agent.ini.sample is stale: '
                         'run "tox -e genconfig" and commit the result')
