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

"""tools/allinone/aio.py's host tool check, local.conf, secrets and the
configuration Nova and Neutron must agree on.

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


class VolumeBackendTest(unittest.TestCase):

    def test_without_root_volumes_are_off_in_one_line(self):
        backend, why = aio.volume_backend(is_root=False)
        self.assertIsNone(backend)
        self.assertEqual(1, len(why.splitlines()))
        self.assertIn('root', why)

    def test_no_volume_service_in_the_catalog_when_off(self):
        settings = dict(aio.PORTS, volume_backend=None)
        self.assertFalse({'block-storage', 'volumev3'} &
                         set(aio.endpoints(settings)))
        settings['volume_backend'] = aio.FILE_BACKEND
        self.assertEqual(
            'http://127.0.0.1:8776/v3/$(project_id)s',
            aio.endpoints(settings)['volumev3'])


class NeutronConfigTest(unittest.TestCase):

    def setUp(self):
        self.state = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.state)
        self.venv = os.path.join(self.state, 'venv')
        for service in ('neutron', 'cinder'):
            os.makedirs(os.path.join(self.venv, 'etc', service))
            with open(os.path.join(self.venv, 'etc', service,
                                   'api-paste.ini'), 'w') as f:
                f.write('[composite:%s]\n' % service)

    def config(self, offset, **more):
        import argparse
        import configparser
        args = argparse.Namespace(
            state_dir=self.state, port_offset=offset, venv=self.venv,
            simulator=True, debug=False, local_conf='/nowhere.conf',
            multi_host=more.pop('multi_host', False))
        settings = aio.settings_for(args)
        settings.update(vnc=False, **more)
        aio.write_config(settings)
        conf = {}
        for name in ('nova', 'neutron'):
            parser = configparser.ConfigParser(interpolation=None)
            parser.read(os.path.join(self.state, 'etc', name, name +
                                     '.conf'))
            conf[name] = parser
        return conf

    def test_the_agent_serves_novas_host_with_novas_vboxmanage(self):
        # Neutron binds a server's ports only for the host whose agent is
        # alive: the agent's host is Nova's compute host.
        conf = self.config(0)
        nova, neutron = conf['nova'], conf['neutron']
        self.assertEqual(nova['DEFAULT']['host'], neutron['DEFAULT']['host'])
        self.assertEqual(nova['virtualbox']['vboxmanage_cmd'],
                         neutron['virtualbox']['vboxmanage_cmd'])
        self.assertEqual('virtualbox', neutron['ml2']['mechanism_drivers'])
        self.assertEqual('noop', neutron['securitygroup']['firewall_driver'])
        self.assertNotIn('endpoint_override', nova['neutron'])
        self.assertTrue(os.path.exists(os.path.join(
            self.state, 'etc', 'neutron', 'api-paste.ini')))

    def test_public_is_a_nat_network_of_its_own_per_offset(self):
        mapping = self.config(0)['neutron']['virtualbox']
        self.assertEqual('public:natnetwork:aio-public',
                         mapping['physical_network_mappings'])
        mapping = self.config(3000)['neutron']['virtualbox']
        self.assertEqual('public:natnetwork:aio-public-3000',
                         mapping['physical_network_mappings'])

    def test_single_host_keeps_sqlite_and_the_in_memory_bus(self):
        nova = self.config(0)['nova']
        self.assertEqual('fake://', nova['DEFAULT']['transport_url'])
        self.assertTrue(nova['database']['connection'].startswith(
            'sqlite:///%s/' % self.state))
        self.assertNotIn('libvirt', nova)

    def test_multi_host_uses_rabbitmq_mariadb_and_rsync(self):
        conf = self.config(0, multi_host=True)
        nova, neutron = conf['nova'], conf['neutron']
        secrets = aio.read_secrets(self.state)
        self.assertEqual('rabbit://aio:%s@127.0.0.1:5672/'
                         % secrets['broker'], nova['DEFAULT']['transport_url'])
        self.assertEqual(nova['DEFAULT']['transport_url'],
                         neutron['DEFAULT']['transport_url'])
        self.assertEqual('mysql+pymysql://aio:%s@127.0.0.1:3306/nova_cell1'
                         '?charset=utf8mb4' % secrets['database'],
                         nova['database']['connection'])
        self.assertEqual('rsync',
                         nova['libvirt']['remote_filesystem_transport'])
        # Hosts that join are mapped to the cell without a manual step.
        self.assertIn('discover_hosts_in_cells_interval', nova['scheduler'])

    def test_a_joined_host_has_no_database_and_the_controllers_urls(self):
        conf = self.config(0, multi_host=True, joined=True,
                           controller='10.1.1.1', my_ip='10.1.1.2',
                           host='second')
        nova, neutron = conf['nova'], conf['neutron']
        for section in ('database', 'api_database', 'scheduler'):
            self.assertNotIn(section, nova)
        self.assertNotIn('database', neutron)
        self.assertEqual('10.1.1.2', nova['DEFAULT']['my_ip'])
        self.assertEqual('second', neutron['DEFAULT']['host'])
        self.assertIn('@10.1.1.1:5672/', nova['DEFAULT']['transport_url'])
        self.assertEqual('http://10.1.1.1:5000/v3',
                         nova['placement']['auth_url'])
        self.assertEqual('10.1.1.2', nova['vnc']['server_proxyclient_address'])
        # No Keystone, Glance or Cinder configuration on a compute host.
        self.assertFalse(os.path.exists(os.path.join(
            self.state, 'etc', 'keystone', 'keystone.conf')))


if __name__ == '__main__':
    unittest.main()
