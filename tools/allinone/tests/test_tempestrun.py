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

"""tempestrun's own logic: its lists, the result parsing, the judgement
and tempest.conf, without Tempest or a cloud (tempest_ci.py runs those)."""

import configparser
import os
import re
import stat
import sys
import tempfile
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
import tempestrun  # noqa: E402

TEST = ('tempest.api.compute.servers.test_servers.ServersTestJSON.'
        'test_update_server_name[id-5e6ccff8-349d-4852-a8b3-055df7988dd2]')

OUTPUT = """\
{0} %s [1.234567s] ... ok
{1} tempest.api.compute.servers.test_create_server.ServersTestJSON.\
test_verify_created_server_vcpus[id-cbc0f52f,smoke] ... SKIPPED: \
Instance validation tests are disabled.
{1} setUpClass (tempest.api.compute.servers.test_server_rescue.\
ServerStableDeviceRescueTest) ... SKIPPED: Stable rescue not available.
{0} tempest.api.compute.flavors.test_flavors.FlavorsV2TestJSON.\
test_list_flavors[id-e36c0eaa] [0.1s] ... FAILED
{0} setUpClass (tempest.api.compute.images.test_images.ImagesTestJSON) \
[0.000000s] ... FAILED
Captured traceback:
~~~~~~~~~~~~~~~~~~~
    Traceback (most recent call last):
{1} tempest.api.compute.keypairs.test_keypairs.KeyPairsV2TestJSON.\
test_keypair_create_delete[id-6c1d3123] [0.5s] ... inprogress
""" % TEST


class ListsTestCase(unittest.TestCase):

    def test_read_list_takes_regex_and_reason(self):
        entries = tempestrun.read_list(
            '# a comment\n\n^tempest\\.a\\.b  # why not\n^tempest\\.c\n')
        self.assertEqual([('^tempest\\.a\\.b', 'why not'),
                          ('^tempest\\.c', '')], entries)

    def test_read_excluded_sections(self):
        lists = tempestrun.read_excluded(
            '# header\n[excluded]\nfoo  # a reason\n\n[skipped]\n'
            'bar  # another\n')
        self.assertEqual({'excluded': [('foo', 'a reason')],
                          'skipped': [('bar', 'another')]}, lists)

    def test_every_entry_needs_a_reason(self):
        self.assertRaises(tempestrun.Failed, tempestrun.read_excluded,
                          '[excluded]\nfoo\n')

    def test_entries_outside_a_section_are_refused(self):
        self.assertRaises(tempestrun.Failed, tempestrun.read_excluded,
                          'foo  # why\n[excluded]\n')
        self.assertRaises(tempestrun.Failed, tempestrun.read_excluded,
                          '[other]\nfoo  # why\n')

    def test_bad_regex_is_refused(self):
        self.assertRaises(re.error, tempestrun.read_excluded,
                          '[skipped]\nfoo(  # why\n')

    def test_stestr_list_keeps_reasons_as_comments(self):
        entries = [('a', 'why'), ('b', '')]
        text = tempestrun.stestr_list(entries)
        self.assertEqual('a  # why\nb\n', text)
        self.assertEqual(entries, tempestrun.read_list(text))

    def test_project_lists_parse_and_name_real_tests(self):
        # The files this all-in-one ships: every entry has a reason and
        # every regex compiles.
        here = os.path.dirname(tempestrun.__file__)
        with open(os.path.join(here, 'tempest-excluded.txt')) as f:
            lists = tempestrun.read_excluded(f.read())
        with open(os.path.join(here, 'tempest-subset.txt')) as f:
            subset = tempestrun.read_list(f.read())
        self.assertTrue(lists['excluded'])
        self.assertTrue(lists['skipped'])
        for regex, _reason in subset + lists['excluded']:
            self.assertRegex(regex, r'^\^tempest\\\.api\\\.'
                             r'(compute|network|volume)\\\.')

    def test_project_skips_name_both_spellings_of_ipv6_classes(self):
        # Tempest spells them IpV6 and IPv6; ipv6 = false skips both.
        here = os.path.dirname(tempestrun.__file__)
        with open(os.path.join(here, 'tempest-excluded.txt')) as f:
            skipped = tempestrun.read_excluded(f.read())['skipped']
        for name in ('test_networks.NetworksIpV6Test',
                     'test_security_groups.SecGroupIPv6Test'):
            self.assertIsNotNone(tempestrun.listed(
                'setUpClass (tempest.api.network.%s)' % name, skipped), name)


class ResultsTestCase(unittest.TestCase):

    def test_parse_results(self):
        results = tempestrun.parse_results(OUTPUT.splitlines(True))
        self.assertEqual(('passed', ''), results[TEST])
        self.assertEqual(
            ('skipped', 'Stable rescue not available.'),
            results['setUpClass (tempest.api.compute.servers.'
                    'test_server_rescue.ServerStableDeviceRescueTest)'])
        self.assertEqual(
            ('failed', ''),
            results['setUpClass (tempest.api.compute.images.test_images.'
                    'ImagesTestJSON)'])
        self.assertEqual({'passed': 1, 'failed': 2, 'skipped': 2},
                         tempestrun.counts(results))

    def test_short_id_drops_tempest_tags(self):
        self.assertEqual('tempest.api.compute.servers.test_servers.'
                         'ServersTestJSON.test_update_server_name',
                         tempestrun.short_id(TEST))

    def test_listed_skips_and_unlisted_ones(self):
        results = tempestrun.parse_results(OUTPUT.splitlines(True))
        listed = [('test_create_server\\.ServersTestJSON\\.'
                   'test_verify_created_server_vcpus', 'validation off')]
        unlisted = tempestrun.unlisted_skips(results, listed)
        self.assertEqual([('setUpClass (tempest.api.compute.servers.'
                           'test_server_rescue.ServerStableDeviceRescueTest)',
                           'Stable rescue not available.')], unlisted)

    def test_stale_skips(self):
        results = tempestrun.parse_results(OUTPUT.splitlines(True))
        entries = [('ServerStableDeviceRescueTest', 'driver'),
                   ('test_gone', 'fixed since')]
        self.assertEqual([('test_gone', 'fixed since')],
                         tempestrun.stale_skips(results, entries))

    def _judge(self, results, code=0, skipped=(), ci=True):
        lists = {'excluded': [], 'skipped': list(skipped)}
        return tempestrun.judge(results, code, lists, ci)

    def _passed(self, number):
        return {'t%d' % i: ('passed', '') for i in range(number)}

    def test_judge_passes_a_full_clean_run(self):
        self.assertEqual(0, self._judge(self._passed(tempestrun.MIN_RUN)))

    def test_judge_fails_a_failure(self):
        results = self._passed(tempestrun.MIN_RUN)
        results['x'] = ('failed', '')
        self.assertEqual(1, self._judge(results, code=1))

    def test_judge_fails_too_few_tests_in_ci_only(self):
        results = self._passed(tempestrun.MIN_RUN - 1)
        self.assertEqual(1, self._judge(results))
        self.assertEqual(0, self._judge(results, ci=False))

    def test_judge_fails_an_unlisted_skip_in_ci(self):
        results = self._passed(tempestrun.MIN_RUN)
        results['s'] = ('skipped', 'why')
        self.assertEqual(1, self._judge(results))
        self.assertEqual(0, self._judge(results, skipped=[('^s$', 'ok')]))
        self.assertEqual(0, self._judge(results, ci=False))

    def test_judge_fails_a_run_that_crashed(self):
        self.assertEqual(1, self._judge({}, code=1, ci=False))
        self.assertEqual(1, self._judge(self._passed(tempestrun.MIN_RUN),
                                        code=2))


class ConfTestCase(unittest.TestCase):

    CLOUD = {'identity': 'http://127.0.0.1:5000/v3',
             'services': {'compute', 'image', 'placement', 'network'},
             'image_ref': 'img-1', 'flavor_ref': 'fl-1',
             'flavor_ref_alt': 'fl-2', 'max_microversion': '2.100',
             'network_extensions': ['binding', 'external-net',
                                    'security-group'],
             'public_network_id': 'pub-1'}

    def _conf(self, **settings):
        settings = dict({'simulated': True, 'vnc': True}, **settings)
        return tempestrun.tempest_conf(settings, 's3cret', self.CLOUD,
                                       '/state/tempest')

    def test_conf_for_the_all_in_one(self):
        conf = self._conf()
        self.assertEqual('true', conf['auth']['use_dynamic_credentials'])
        self.assertEqual('s3cret', conf['auth']['admin_password'])
        self.assertEqual('img-1', conf['compute']['image_ref'])
        self.assertEqual('fl-2', conf['compute']['flavor_ref_alt'])
        self.assertEqual('2.100', conf['compute']['max_microversion'])
        available = conf['service_available']
        self.assertEqual(('true', 'true', 'true', 'false', 'false'), (
            available['nova'], available['glance'], available['neutron'],
            available['cinder'], available['swift']))
        self.assertEqual('network', conf['network']['catalog_type'])
        self.assertEqual('binding,external-net,security-group',
                         conf['network-feature-enabled']['api_extensions'])
        self.assertEqual('false', conf['validation']['run_validation'])

    def test_volume_tests_go_up_to_the_microversion_cinder_offers(self):
        self.CLOUD = dict(self.CLOUD, volume_max_microversion='3.71',
                          services=self.CLOUD['services'] | {
                              'block-storage'})
        conf = self._conf()
        self.assertEqual('true', conf['service_available']['cinder'])
        self.assertEqual('3.71', conf['volume']['max_microversion'])
        self.assertEqual('false', conf['volume-feature-enabled']['backup'])

    def test_no_volume_microversion_without_cinder(self):
        self.assertNotIn('max_microversion', self._conf()['volume'])

    def test_servers_boot_on_the_shared_network_without_routers(self):
        # Tempest's isolated networks would each need a router.
        conf = self._conf()
        self.assertEqual('false', conf['auth']['create_isolated_networks'])
        self.assertEqual(tempestrun.SHARED_NETWORK,
                         conf['compute']['fixed_network_name'])
        self.assertEqual('false',
                         conf['network-feature-enabled']['floating_ips'])

    def test_features_say_what_the_driver_does(self):
        features = self._conf()['compute-feature-enabled']
        for name in ('resize', 'pause', 'suspend', 'rescue', 'snapshot',
                     'console_output', 'shelve', 'config_drive'):
            self.assertEqual('true', features[name], name)
        for name in ('change_password', 'live_migration', 'interface_attach',
                     'personality', 'stable_rescue', 'serial_console',
                     'swap_volume', 'volume_multiattach'):
            self.assertEqual('false', features[name], name)

    def test_vnc_console_only_where_a_screen_answers(self):
        features = tempestrun.compute_features
        self.assertEqual('false', features({'simulated': True,
                                            'vnc': True})['vnc_console'])
        self.assertEqual('true', features({'simulated': False,
                                           'vnc': True})['vnc_console'])
        self.assertEqual('false', features({'simulated': False,
                                            'vnc': False})['vnc_console'])

    def test_floating_ips_only_with_routers(self):
        cloud = dict(self.CLOUD, network_extensions=['router'])
        conf = tempestrun.tempest_conf({}, 'pw', cloud, '/w')
        self.assertEqual('true',
                         conf['network-feature-enabled']['floating_ips'])

    def test_rendered_conf_parses_and_is_private(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, 'tempest.conf')
            tempestrun.write_private(path, tempestrun.render_conf(
                self._conf()))
            self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
            parser = configparser.RawConfigParser()
            parser.read(path)
            self.assertEqual('fl-1', parser.get('compute', 'flavor_ref'))

    def test_keystone_url(self):
        self.assertEqual('http://127.0.0.1:35000/v3',
                         tempestrun.keystone_url({'keystone': 35000}))
        self.assertEqual('http://h:5000/v3', tempestrun.keystone_url(
            {'keystone': 'http://h:5000/v3/'}))
        self.assertEqual('http://127.0.0.1:25000/v3',
                         tempestrun.keystone_url({'nova': 28774}))

    def test_endpoint_picks_the_public_one_of_the_region(self):
        catalog = [{'type': 'compute', 'endpoints': [
            {'interface': 'internal', 'region_id': 'RegionOne',
             'url': 'http://internal'},
            {'interface': 'public', 'region_id': 'Other',
             'url': 'http://other'},
            {'interface': 'public', 'region_id': 'RegionOne',
             'url': 'http://public/v2.1/'}]}]
        self.assertEqual('http://public/v2.1',
                         tempestrun.endpoint(catalog, 'compute'))
        self.assertIsNone(tempestrun.endpoint(catalog, 'image'))


class SharedNetworkTestCase(unittest.TestCase):
    """ensure_shared_network against a fake Neutron API."""

    def setUp(self):
        self.networks = {}
        self.subnets = []
        patcher = mock.patch.object(tempestrun, 'http_json', self.neutron)
        patcher.start()
        self.addCleanup(patcher.stop)

    def neutron(self, url, body=None, token=None):
        path = url.split('/v2.0/', 1)[1]
        if path.startswith('networks?name='):
            name = path.partition('=')[2]
            return {'networks': [n for n in self.networks.values()
                                 if n['name'] == name]}, {}
        if path == 'networks':
            net = dict(body['network'], id='net-%d' % len(self.networks),
                       subnets=[])
            self.networks[net['id']] = net
            return {'network': net}, {}
        if path == 'subnets':
            self.subnets.append(body['subnet'])
            self.networks[body['subnet']['network_id']]['subnets'].append(
                'sub-%d' % len(self.subnets))
            return {'subnet': body['subnet']}, {}
        raise AssertionError(url)

    def test_made_once_shared_with_a_subnet_without_gateway(self):
        tempestrun.ensure_shared_network('http://neutron', 'tok')
        tempestrun.ensure_shared_network('http://neutron', 'tok')
        [net] = self.networks.values()
        self.assertEqual(tempestrun.SHARED_NETWORK, net['name'])
        self.assertTrue(net['shared'])
        [subnet] = self.subnets
        self.assertEqual(net['id'], subnet['network_id'])
        self.assertIsNone(subnet['gateway_ip'])
        self.assertTrue(subnet['enable_dhcp'])

    def test_a_network_left_without_subnet_gets_one(self):
        self.networks['n'] = {'id': 'n', 'name': tempestrun.SHARED_NETWORK,
                              'subnets': []}
        tempestrun.ensure_shared_network('http://neutron', 'tok')
        self.assertEqual(['n'], list(self.networks))
        self.assertEqual(1, len(self.subnets))


class CommandTestCase(unittest.TestCase):

    def test_subset_or_regex_never_without_the_exclude_list(self):
        lists = {'include': '/w/include-list.txt',
                 'exclude': '/w/exclude-list.txt'}
        subset = tempestrun.tempest_command('/venv', '/s/tempest', None,
                                            lists)
        self.assertIn('--include-list', subset)
        self.assertIn('/w/exclude-list.txt', subset)
        chosen = tempestrun.tempest_command('/venv', '/s/tempest',
                                            'test_flavors', lists)
        self.assertNotIn('--include-list', chosen)
        self.assertEqual('test_flavors', chosen[chosen.index('--regex') + 1])
        self.assertIn('/w/exclude-list.txt', chosen)
        self.assertEqual(str(tempestrun.CONCURRENCY),
                         chosen[chosen.index('--concurrency') + 1])


if __name__ == '__main__':
    unittest.main()
