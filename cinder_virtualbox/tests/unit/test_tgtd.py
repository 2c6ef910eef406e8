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

"""The tgtd client on a real socket, against the fake tgtd; the fake and
the client's bytes against what real tgtd 1.0.85 and tgtadm did."""

import json
import os
import socket
from unittest import mock

from cinder.tests.unit import test

from cinder_virtualbox.tests.unit import fake_tgtd
from cinder_virtualbox import tgtd

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                    'transcripts')
IQN = 'iqn.2010-10.org.openstack:volume-0a0a0a0a-aaaa-4aaa-8aaa-0a0a0a0a0a0a'


def _load(name):
    with open(os.path.join(HERE, name)) as f:
        return json.load(f)


class TranscriptTestCase(test.TestCase):
    """Bytes recorded from the real tgtadm and tgtd."""

    def test_requests_are_the_bytes_tgtadm_sends(self):
        # Each tgtadm command line of the recording, as the client's call.
        calls = {
            ('target', 'show'): lambda a: (tgtd.MODE_TARGET, tgtd.OP_SHOW,
                                           '', {}),
            ('account', 'show'): lambda a: (tgtd.MODE_ACCOUNT, tgtd.OP_SHOW,
                                            '', {}),
        }
        seen = 0
        for exchange in _load('tgtadm-1.0.85.json')['exchanges']:
            argv = exchange['argv']
            opts = {}
            flags = set()
            i = 3
            while i < len(argv):
                if argv[i] == '--force':
                    flags.add('force')
                    i += 1
                else:
                    opts[argv[i][2:]] = argv[i + 1]
                    i += 2
            mode, op = opts['mode'], opts['op']
            fields = {}
            if 'tid' in opts:
                fields['tid'] = int(opts['tid'])
            if 'lun' in opts:
                fields['lun'] = int(opts['lun'])
            if 'force' in flags:
                fields['force'] = 1
            if (mode, op) in calls:
                m, o, params, _f = calls[(mode, op)](opts)
            else:
                m = {'target': tgtd.MODE_TARGET,
                     'logicalunit': tgtd.MODE_DEVICE,
                     'account': tgtd.MODE_ACCOUNT}[mode]
                o = {'new': tgtd.OP_NEW, 'delete': tgtd.OP_DELETE,
                     'bind': tgtd.OP_BIND, 'unbind': tgtd.OP_UNBIND}[op]
                params = ','.join(
                    '%s=%s' % (key, opts[flag]) for flag, key in (
                        ('backing-store', 'path'), ('bstype', 'bstype'),
                        ('targetname', 'targetname'),
                        ('initiator-address', 'initiator-address'),
                        ('user', 'user')) if flag in opts)
            self.assertEqual(exchange['request'],
                             tgtd.Client.encode(m, o, params, **fields).hex(),
                             argv)
            seen += 1
        self.assertEqual(11, seen)

    def test_fake_answers_what_real_tgtd_answered(self):
        record = _load('tgtd-1.0.85.json')
        folder = record['folder']
        fake = fake_tgtd.FakeTgtd(files={
            os.path.join(folder, 'volume-a'): 1 << 30,
            os.path.join(folder, 'volume-b'): 2 << 30})
        self.addCleanup(fake.stop)
        self.assertEqual(35, len(record['exchanges']))
        for exchange in record['exchanges']:
            answer = fake.answer(bytes.fromhex(exchange['request']))
            self.assertEqual(exchange['response'], answer.hex(),
                             exchange['step'])

    def test_parse_real_show_output(self):
        record = _load('tgtd-1.0.85.json')
        by_step = {e['step']: bytes.fromhex(e['response'])
                   for e in record['exchanges']}
        text = by_step['show targets, two'][8:].split(b'\0')[0].decode()
        targets = tgtd.parse_targets(text)
        self.assertEqual([1, 2], [t.tid for t in targets])
        one, two = targets
        self.assertEqual(IQN, one.name)
        self.assertEqual([0, 1], sorted(one.luns))
        self.assertEqual('controller', one.luns[0].type)
        self.assertIsNone(one.luns[0].path)
        self.assertEqual('disk', one.luns[1].type)
        self.assertEqual(os.path.join(record['folder'], 'volume-a'),
                         one.luns[1].path)
        self.assertEqual('rdwr', one.luns[1].backing_type)
        self.assertEqual(1074, one.luns[1].size_mb)
        self.assertEqual(['TestUser23456789abcd'], one.accounts)
        self.assertEqual(['ALL'], one.acls)
        self.assertEqual(0, one.sessions)
        self.assertEqual([], two.accounts)
        self.assertEqual(2147, two.luns[1].size_mb)
        accounts = by_step['show accounts, one'][8:].split(b'\0')[0]
        self.assertEqual(['TestUser23456789abcd'],
                         tgtd.parse_accounts(accounts.decode()))
        self.assertEqual([], tgtd.parse_targets(''))
        self.assertEqual([], tgtd.parse_accounts(''))

    def test_parse_sessions_and_outgoing(self):
        text = ('Target 3: iqn.x:y\n'
                '    System information:\n'
                '        Driver: iscsi\n'
                '    I_T nexus information:\n'
                '        I_T nexus: 7\n'
                '            Initiator: iqn.i alias: h\n'
                '            Connection: 0\n'
                '                IP Address: 10.0.0.2\n'
                '    LUN information:\n'
                '    Account information:\n'
                '        in1\n'
                '        out1 (outgoing)\n'
                '    ACL information:\n'
                '        iqn.i\n')
        (target,) = tgtd.parse_targets(text)
        self.assertEqual(1, target.sessions)
        self.assertEqual(['in1'], target.accounts)
        self.assertEqual(['out1'], target.outgoing_accounts)
        self.assertEqual(['iqn.i'], target.acls)


class ClientTestCase(test.TestCase):
    """The client over a socket to the fake tgtd."""

    def setUp(self):
        super().setUp()
        self.fake = fake_tgtd.FakeTgtd(control_port=7).start()
        self.addCleanup(self.fake.stop)
        self.client = self.fake.client(timeout=5)
        self.file = os.path.join(self.fake.folder, 'volume-1')
        with open(self.file, 'wb') as f:
            f.truncate(1 << 30)

    def test_socket_path_follows_control_port(self):
        self.assertEqual('/var/run/tgtd/socket.0', tgtd.Client().path)
        self.assertEqual('/var/run/tgtd/socket.4', tgtd.Client(4).path)
        self.assertTrue(self.client.path.endswith('/socket.7'))

    def test_export_a_file(self):
        tid = self.client.create_target(IQN)
        self.assertEqual(1, tid)
        self.client.new_lun(tid, 1, self.file)
        self.client.bind_address(tid, 'ALL')
        self.client.new_account('user1', 'Secret234567abcd')
        self.client.bind_account(tid, 'user1')
        target = self.client.find_target(IQN)
        self.assertEqual(1, target.tid)
        self.assertEqual(self.file, target.luns[1].path)
        self.assertEqual(['user1'], target.accounts)
        self.assertEqual(['ALL'], target.acls)
        self.assertEqual(['user1'], self.client.show_accounts())
        self.assertEqual({'user1': 'Secret234567abcd'}, self.fake.accounts)
        self.assertIsNone(self.client.find_target('iqn.x:none'))

        self.client.unbind_account(tid, 'user1')
        self.client.delete_account('user1')
        self.client.delete_lun(tid, 1)
        self.client.delete_target(tid)
        self.assertEqual([], self.client.show_targets())
        self.assertEqual([], self.client.show_accounts())

    def test_create_target_takes_the_next_free_tid(self):
        self.client.new_target(1, 'iqn.x:one')
        self.client.new_target(5, 'iqn.x:five')
        self.assertEqual(6, self.client.create_target('iqn.x:six'))

    def test_create_target_retries_a_tid_taken_meanwhile(self):
        real_new = self.client.new_target
        calls = []

        def racing_new(tid, iqn):
            if not calls:
                # Another tgtadm takes the tid between show and new.
                real_new(tid, 'iqn.x:other')
            calls.append(tid)
            return real_new(tid, iqn)

        self.client.new_target = racing_new
        self.assertEqual(2, self.client.create_target(IQN))
        self.assertEqual([1, 2], calls)

    def test_create_target_of_a_name_that_exists(self):
        self.client.new_target(3, IQN)
        e = self.assertRaises(tgtd.TgtdError, self.client.create_target, IQN)
        self.assertEqual('TARGET_EXIST', e.name)
        self.assertIn('tid 3', str(e))

    def test_errors_carry_tgtd_code_and_wording(self):
        e = self.assertRaises(tgtd.TgtdError, self.client.delete_target, 9)
        self.assertEqual('NO_TARGET', e.name)
        self.assertEqual("tgtd: delete target 9: can't find the target",
                         str(e))
        e = self.assertRaises(tgtd.TgtdError, self.client.new_lun, 9, 1,
                              self.file)
        self.assertEqual('NO_TARGET', e.name)
        self.client.new_target(1, IQN)
        e = self.assertRaises(tgtd.TgtdError, self.client.new_lun, 1, 1,
                              self.file + '.missing')
        self.assertEqual('INVALID_REQUEST', e.name)
        e = self.assertRaises(tgtd.TgtdError, self.client.bind_account, 1,
                              'nobody')
        self.assertEqual('NO_USER', e.name)

    def test_target_with_a_session_needs_force(self):
        self.client.new_target(1, IQN)
        self.fake.targets[1]['sessions'] = 1
        self.assertEqual(1, self.client.find_target(IQN).sessions)
        e = self.assertRaises(tgtd.TgtdError, self.client.delete_target, 1)
        self.assertEqual('TARGET_ACTIVE', e.name)
        self.client.delete_target(1, force=True)
        self.assertEqual([], self.client.show_targets())

    def test_secret_only_in_the_account_request(self):
        secret = 'Secret234567abcd'
        self.client.new_target(1, IQN)
        self.client.new_account('user1', secret)
        e = self.assertRaises(tgtd.TgtdError, self.client.new_account,
                              'user1', secret)
        self.assertEqual('USER_EXIST', e.name)
        self.assertNotIn(secret, str(e))
        self.client.bind_account(1, 'user1')
        self.client.show_targets()
        carrying = [r for r in self.fake.requests if secret.encode() in r]
        self.assertEqual(2, len(carrying))
        for request in carrying:
            self.assertTrue(request.endswith(
                b'user=user1,password=' + secret.encode() + b'\0'))

    def test_values_tgtd_cannot_take_are_refused_without_echo(self):
        e = self.assertRaises(ValueError, self.client.new_account, 'user1',
                              'bad,secret')
        self.assertNotIn('bad,secret', str(e))
        self.assertRaises(ValueError, self.client.new_account, 'us=er',
                          'Secret234567')
        self.assertRaises(ValueError, self.client.new_target, 1, 'iqn x')
        self.assertRaises(ValueError, self.client.new_lun, 1, 1, '/a,b')
        self.assertEqual([], self.fake.requests)

    def test_not_running(self):
        client = tgtd.Client(control_port=8, socket_path=os.path.join(
            self.fake.folder, 'nothing'))
        e = self.assertRaises(tgtd.TgtdUnavailable, client.show_targets)
        self.assertIn('tgtd is not running', str(e))
        self.assertIn('install the tgt package and start tgtd -C 8', str(e))

    def test_stale_socket_is_not_running(self):
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(os.path.join(self.fake.folder, 'stale.0'))
        stale.close()
        client = tgtd.Client(socket_path=os.path.join(self.fake.folder,
                                                      'stale'))
        e = self.assertRaises(tgtd.TgtdUnavailable, client.show_targets)
        self.assertIn('start tgtd', str(e))

    def test_refused_peer_means_root(self):
        self.fake.refuse = True
        e = self.assertRaises(tgtd.TgtdPermissionDenied,
                              self.client.show_targets)
        self.assertIn('run this as root', str(e))

    def test_socket_permission_denied_means_root(self):
        with mock.patch.object(socket.socket, 'connect',
                               side_effect=PermissionError(13, 'denied')):
            e = self.assertRaises(tgtd.TgtdPermissionDenied,
                                  self.client.show_targets)
        self.assertIn('permission denied on', str(e))
        self.assertIn('run this as root', str(e))
