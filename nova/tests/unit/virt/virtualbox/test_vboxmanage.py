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

import json
import os
import sys
import textwrap
import time
from unittest import mock

import ddt
import fixtures

from nova import exception
from nova.tests.unit.virt.virtualbox import test_base
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import vboxmanage

# A stand-in VBoxManage: replays the stdout, stderr and exit code given in a
# JSON file (one entry per call, the last one repeating), records its argv,
# and can sleep to provoke a timeout.
REPLAY_SCRIPT = textwrap.dedent('''\
    import json, os, sys, time
    state = os.environ['REPLAY_STATE']
    with open(state) as f:
        data = json.load(f)
    step = data['steps'][min(data['calls'], len(data['steps']) - 1)]
    data['calls'] += 1
    data['argv'].append(sys.argv[1:])
    data['env_lc_all'] = os.environ.get('LC_ALL')
    with open(state, 'w') as f:
        json.dump(data, f)
    time.sleep(step.get('sleep', 0))
    sys.stdout.write(step.get('stdout', ''))
    sys.stderr.write(step.get('stderr', ''))
    sys.exit(step.get('exit', 0))
    ''')


class ReplayVBoxManage(fixtures.Fixture):
    """A real VBoxManage process that plays back given results."""

    def _setUp(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        self.script = os.path.join(tmp, 'fake_vboxmanage.py')
        self.state = os.path.join(tmp, 'state.json')
        with open(self.script, 'w') as f:
            f.write(REPLAY_SCRIPT)
        self.useFixture(fixtures.EnvironmentVariable('REPLAY_STATE',
                                                     self.state))
        self.command = '%s %s' % (sys.executable, self.script)
        self.play()

    def play(self, *steps):
        with open(self.state, 'w') as f:
            json.dump({'steps': list(steps) or [{}], 'calls': 0,
                       'argv': []}, f)

    def play_transcript(self, name):
        t = test_base.read_transcript(name)
        self.play({'stdout': t.stdout, 'stderr': t.stderr,
                   'exit': t.exit_code})

    @property
    def recorded(self):
        with open(self.state) as f:
            return json.load(f)


class VBoxManageRunTestCase(test_base.VBoxTestCase):
    """The runner: real subprocesses, retries, timeouts, errors."""

    def setUp(self):
        super().setUp()
        self.replay = self.useFixture(ReplayVBoxManage())
        self.sleep = self.useFixture(fixtures.MockPatch(
            'nova.virt.virtualbox.vboxmanage.time.sleep')).mock
        self.vbm = vboxmanage.VBoxManage(self.replay.command, retry_count=3,
                                         retry_interval=1, timeout=5)

    def _locked(self):
        return {'exit': 1, 'stderr': test_base.read_public(
            'error-modifyvm-locked-LockMachine-Write-4.2-packer-184.txt')}

    def test_success_returns_output_and_passes_argv_verbatim(self):
        self.replay.play({'stdout': 'hello\n'})
        result = self.vbm.run('setextradata', 'vm', 'key',
                              'a value; with $(shell) "chars"\n')
        self.assertEqual('hello\n', result.stdout)
        self.assertEqual([['setextradata', 'vm', 'key',
                           'a value; with $(shell) "chars"\n']],
                         self.replay.recorded['argv'])
        self.assertEqual('C.UTF-8', self.replay.recorded['env_lc_all'])
        self.assertEqual(1, self.vbm.call_count)

    def test_non_ascii_argument_reaches_vboxmanage(self):
        # In the C locale VBoxManage refuses it (VERR_NO_TRANSLATION):
        # Tempest's server named with a multibyte character failed to
        # build. The locale is C.UTF-8, so it passes as UTF-8.
        self.vbm.run('modifyvm', 'vm', '--description=tempest-\u20a1')
        self.assertEqual([['modifyvm', 'vm', '--description=tempest-\u20a1']],
                         self.replay.recorded['argv'])
        self.assertEqual('C.UTF-8', self.replay.recorded['env_lc_all'])

    def test_transient_error_is_retried_then_succeeds(self):
        self.replay.play(self._locked(), self._locked(), {'stdout': 'ok'})
        self.assertEqual('ok', self.vbm.run('modifyvm', 'vm').stdout)
        self.assertEqual(3, self.replay.recorded['calls'])
        # Backoff doubles from retry_interval.
        self.assertEqual([mock.call(1), mock.call(2)],
                         self.sleep.call_args_list)

    def test_transient_error_exhausts_retries(self):
        self.replay.play(self._locked())
        err = self.assertRaises(vbox_exc.VBoxTransientError,
                                self.vbm.run, 'modifyvm', 'vm')
        self.assertEqual(4, self.replay.recorded['calls'])
        self.assertEqual('VBOX_E_INVALID_OBJECT_STATE', err.code_name)
        self.assertIn('already locked for a session', str(err))

    def test_backoff_is_capped(self):
        vbm = vboxmanage.VBoxManage(self.replay.command, retry_count=6,
                                    retry_interval=0.5)
        self.replay.play(self._locked())
        self.assertRaises(vbox_exc.VBoxTransientError, vbm.run, 'x')
        self.assertEqual([0.5, 1, 2, 4, 5, 5],
                         [c[0][0] for c in self.sleep.call_args_list])

    def test_no_retry_when_not_safe_to_repeat(self):
        self.replay.play(self._locked())
        self.assertRaises(vbox_exc.VBoxTransientError, self.vbm.run,
                          'createvm', retry=False)
        self.assertEqual(1, self.replay.recorded['calls'])

    def test_creation_is_retried_after_undoing_the_failed_attempt(self):
        self.replay.play(self._locked(), self._locked(), {'stdout': 'ok'})
        undo = mock.Mock()
        self.assertEqual('ok', self.vbm.run('createvm', undo=undo).stdout)
        self.assertEqual(3, self.replay.recorded['calls'])
        self.assertEqual(2, undo.call_count)

    def test_failed_undo_stops_the_retries_with_the_original_error(self):
        self.replay.play(self._locked())
        undo = mock.Mock(side_effect=vbox_exc.VBoxError(reason='busy'))
        err = self.assertRaises(vbox_exc.VBoxTransientError, self.vbm.run,
                                'createmedium', undo=undo)
        self.assertIn('already locked for a session', str(err))
        self.assertEqual(1, self.replay.recorded['calls'])
        undo.assert_called_once_with()

    def test_hard_error_is_not_undone(self):
        self.replay.play_transcript('70-showvminfo-nosuchvm.txt')
        undo = mock.Mock()
        self.assertRaises(vbox_exc.VBoxObjectNotFound, self.vbm.run,
                          'createvm', undo=undo)
        undo.assert_not_called()

    def test_hard_error_fails_fast(self):
        self.replay.play_transcript('70-showvminfo-nosuchvm.txt')
        err = self.assertRaises(vbox_exc.VBoxObjectNotFound, self.vbm.run,
                                'showvminfo', 'nosuchvm')
        self.assertEqual(1, self.replay.recorded['calls'])
        self.assertEqual(1, err.exit_code)
        self.assertEqual(["Could not find a registered machine named "
                          "'nosuchvm'"], err.messages)
        self.sleep.assert_not_called()

    def test_error_lines_with_exit_zero_are_a_failure(self):
        self.replay.play_transcript('66-discardstate-notsaved.txt')
        err = self.assertRaises(vbox_exc.VBoxInvalidVMState, self.vbm.run,
                                'discardstate', 't1')
        self.assertEqual(0, err.exit_code)

    def test_progress_on_stderr_is_not_an_error(self):
        self.replay.play_transcript('29-clonemedium-to-vmdk.txt')
        result = self.vbm.run('clonemedium', 'disk', 'a', 'b')
        self.assertIn('100%', result.stderr)

    def test_timeout_kills_the_process_group(self):
        vbm = vboxmanage.VBoxManage(self.replay.command, timeout=0.5)
        self.replay.play({'sleep': 30})
        started = time.monotonic()
        err = self.assertRaises(vbox_exc.VBoxManageTimeout, vbm.run,
                                'clonemedium', 'a', 'b')
        self.assertLess(time.monotonic() - started, 10)
        self.assertIn('vboxmanage_timeout', str(err))

    def test_long_timeout_is_chosen_by_name(self):
        vbm = vboxmanage.VBoxManage(self.replay.command, timeout=0.2,
                                    long_timeout=20)
        self.replay.play({'sleep': 0.5, 'stdout': 'done'})
        self.assertEqual('done', vbm.run(
            'clonemedium', timeout=vboxmanage.TIMEOUT_LONG).stdout)

    def test_missing_binary_is_a_clear_error(self):
        vbm = vboxmanage.VBoxManage('/nonexistent/VBoxManage')
        err = self.assertRaises(vbox_exc.VBoxManageNotFound, vbm.run,
                                'list', 'vms')
        self.assertIn('vboxmanage_cmd', str(err))
        self.assertIn('/nonexistent/VBoxManage', str(err))

    def test_syntax_error_keeps_the_first_message(self):
        self.replay.play_transcript('72-unknown-subcommand.txt')
        err = self.assertRaises(vbox_exc.VBoxSyntaxError, self.vbm.run,
                                'frobnicate')
        self.assertEqual(["Invalid command 'frobnicate'"], err.messages)
        self.assertEqual(1, self.replay.recorded['calls'])

    def test_secrets_never_reach_logs_or_errors(self):
        logs = self.useFixture(fixtures.FakeLogger(level='DEBUG'))
        self.replay.play_transcript('14-modifyvm-nosuchvm.txt')
        err = self.assertRaises(
            vbox_exc.VBoxObjectNotFound, self.vbm.run, 'modifyvm', 'vm',
            '--vrde-property', vboxmanage.Secret('VNCPassword=hunter2'),
            '--password', vboxmanage.Secret('chap-secret'))
        self.assertNotIn('hunter2', logs.output)
        self.assertNotIn('chap-secret', logs.output)
        self.assertNotIn('hunter2', str(err))
        self.assertIn('VNCPassword=***', logs.output)
        # ... while VBoxManage itself got the real values.
        self.assertIn('VNCPassword=hunter2', self.replay.recorded['argv'][0])

    def test_version_is_read_once_and_gates_old_releases(self):
        self.replay.play({'stdout': '6.0.24r139119\n'})
        self.assertRaises(vbox_exc.VBoxVersionUnsupported,
                          self.vbm.check_version)
        self.vbm.version()
        self.assertEqual(1, self.replay.recorded['calls'])

    def test_version_accepts_debian_wrapper_output(self):
        self.replay.play_transcript('02-wrapper-version.txt')
        self.assertEqual(((7, 2, 22), '7.2.22_Debianr175245'),
                         self.vbm.check_version())

    def test_legacy_option_names_for_6_1(self):
        self.replay.play({'stdout': '6.1.50_Ubuntur161033\n'})
        self.vbm.check_version()
        self.replay.play({})
        self.vbm.run('modifyvm', 'vm', '--nic-type1', 'virtio',
                     '--mac-address2=fa163e000001', '--memory', '512',
                     '--vrde-property',
                     vboxmanage.Secret('VNCPassword=x'))
        self.assertEqual(['modifyvm', 'vm', '--nictype1', 'virtio',
                          '--macaddress2=fa163e000001', '--memory', '512',
                          '--vrdeproperty', 'VNCPassword=x'],
                         self.replay.recorded['argv'][0])

    def test_new_option_names_for_7(self):
        self.replay.play({'stdout': '7.2.22_Debianr175245\n'})
        self.vbm.check_version()
        self.replay.play({})
        self.vbm.run('modifyvm', 'vm', '--nic-type1', 'virtio')
        self.assertEqual(['modifyvm', 'vm', '--nic-type1', 'virtio'],
                         self.replay.recorded['argv'][0])

    def test_queries_parse_their_transcripts(self):
        cases = [
            ('list_vms', (), '23-list-vms.txt',
             [('t1', '4fd89640-4231-4c44-a7b5-a3c7ca859849')]),
            ('list_running_vms', (), '07-list-runningvms-empty.txt', []),
        ]
        for method, args, transcript, expected in cases:
            self.replay.play_transcript(transcript)
            self.assertEqual(expected, getattr(self.vbm, method)(*args))
        self.replay.play_transcript('03-list-hostinfo.txt')
        self.assertEqual(24105, self.vbm.host_info()['memory_mb'])
        self.replay.play_transcript('20-showvminfo-t1-machinereadable.txt')
        self.assertEqual('poweroff', self.vbm.show_vm_info('t1')['VMState'])
        self.replay.play_transcript('27-showmediuminfo-t1-vdi.txt')
        self.assertEqual(64, self.vbm.show_medium_info('/tmp/t1.vdi')[
            'capacity_mb'])
        self.replay.play_transcript('26-list-hdds.txt')
        self.assertEqual('/tmp/t1.vdi', self.vbm.list_hdds()[0]['Location'])

    def test_close_medium(self):
        self.replay.play_transcript('94-closemedium-diff-delete.txt')
        self.assertTrue(self.vbm.close_medium('/tmp/t1-diff.vdi',
                                              delete=True))
        self.replay.play_transcript('97-closemedium-nosuch.txt')
        self.assertFalse(self.vbm.close_medium('/tmp/nosuch.vdi',
                                               device='dvd'))
        self.assertEqual([['closemedium', 'dvd', '/tmp/nosuch.vdi']],
                         self.replay.recorded['argv'])
        self.replay.play({'exit': 1, 'stderr': (
            'VBoxManage: error: Cannot close medium: it has 1 child\n')})
        self.assertRaises(vbox_exc.VBoxManageError,
                          self.vbm.close_medium, '/tmp/base.vdi')

    def test_show_instance_info(self):
        instance = test_base.FakeInstance()
        self.replay.play_transcript('20-showvminfo-t1-machinereadable.txt')
        self.assertEqual('poweroff',
                         self.vbm.show_instance_info(instance)['VMState'])
        self.assertEqual([['showvminfo', instance.uuid,
                           '--machinereadable']],
                         self.replay.recorded['argv'])
        self.replay.play({'exit': 1, 'stderr': (
            'VBoxManage: error: Could not find a registered machine named '
            "'%s'\n" % instance.uuid)})
        self.assertRaises(exception.InstanceNotFound,
                          self.vbm.show_instance_info, instance)

    def test_from_conf_reads_nothing_until_used(self):
        conf = mock.Mock()
        type(conf).virtualbox = mock.PropertyMock(
            side_effect=AssertionError('read too early'))
        vboxmanage.VBoxManage.from_conf(conf)

    def test_from_conf(self):
        self.flags(vboxmanage_cmd='/opt/vbox/VBoxManage --nologo',
                   retry_count=5, group='virtualbox')
        vbm = vboxmanage.VBoxManage.from_conf(test_base.CONF)
        vbm._read_conf()
        self.assertEqual(['/opt/vbox/VBoxManage', '--nologo'], vbm._command)
        self.assertEqual(5, vbm._retry_count)

    def test_masked_command(self):
        self.assertEqual(
            "storageattach vm --password '***' "
            "--vrde-property 'VNCPassword=***' 'a b'",
            vboxmanage.masked_command([
                'storageattach', 'vm', '--password',
                vboxmanage.Secret('pw'), '--vrde-property',
                vboxmanage.Secret('VNCPassword=pw'), 'a b']))


@ddt.ddt
class ErrorClassificationTestCase(test_base.VBoxTestCase):
    """Every failing real transcript maps to the right error type."""

    @ddt.data(
        ('10-createvm-t1-duplicate.txt', vbox_exc.VBoxAlreadyExists),
        ('13-modifyvm-t1-badopt.txt', vbox_exc.VBoxManageError),
        ('14-modifyvm-nosuchvm.txt', vbox_exc.VBoxObjectNotFound),
        ('17-createmedium-t1-vdi-exists.txt', vbox_exc.VBoxAlreadyExists),
        ('28-showmediuminfo-nosuch.txt', vbox_exc.VBoxObjectNotFound),
        ('34-modifymedium-multiattach.txt', vbox_exc.VBoxManageError),
        ('35-storageattach-multiattach.txt', vbox_exc.VBoxManageError),
        ('61-snapshot-delete-nosuch.txt', vbox_exc.VBoxObjectNotFound),
        ('62-snapshot-list-none.txt', vbox_exc.VBoxManageError),
        ('63-controlvm-savestate-notrunning.txt',
         vbox_exc.VBoxInvalidVMState),
        ('64-controlvm-poweroff-notrunning.txt',
         vbox_exc.VBoxInvalidVMState),
        ('65-controlvm-acpipowerbutton-notrunning.txt',
         vbox_exc.VBoxInvalidVMState),
        ('66-discardstate-notsaved.txt', vbox_exc.VBoxInvalidVMState),
        ('67-startvm-headless.txt', vbox_exc.VBoxManageError),
        ('70-showvminfo-nosuchvm.txt', vbox_exc.VBoxObjectNotFound),
        ('71-showvminfo-nosuchvm-mr.txt', vbox_exc.VBoxObjectNotFound),
        ('72-unknown-subcommand.txt', vbox_exc.VBoxSyntaxError),
        ('87-unregistervm-t1-with-children.txt', vbox_exc.VBoxObjectInUse),
        ('92-unregistervm-nosuch.txt', vbox_exc.VBoxObjectNotFound),
        ('97-closemedium-nosuch.txt', vbox_exc.VBoxObjectNotFound),
        ('104-storageattach-mtype-multiattach-unregistered.txt',
         vbox_exc.VBoxManageError),
        ('113-startvm-m1-headless.txt', vbox_exc.VBoxManageError),
        ('115-startvm-m1-default-type.txt', vbox_exc.VBoxManageError),
        ('117-startvm-nosuch.txt', vbox_exc.VBoxObjectNotFound),
        # A running VM's process between states: retried.
        ('139-showvminfo-vm-process-just-killed.txt',
         vbox_exc.VBoxTransientError),
        ('140-showvminfo-vm-stopping.txt', vbox_exc.VBoxTransientError),
    )
    @ddt.unpack
    def test_real_error_transcript(self, name, expected):
        t = test_base.read_transcript(name)
        err = vboxmanage.classify_error(t.command, t.exit_code, t.stderr,
                                        t.stdout)
        self.assertIs(expected, type(err))
        self.assertEqual(t.exit_code, err.exit_code)
        self.assertTrue(err.messages)
        self.assertIn(err.messages[0], str(err))

    @ddt.data(
        ('error-modifyvm-locked-LockMachine-Write-4.2-packer-184.txt',
         vbox_exc.VBoxTransientError),
        ('error-storagectl-locked-LockMachine-Write-5.2-metasploitable3-'
         '285.txt', vbox_exc.VBoxTransientError),
        ('error-startvm-already-locked-LaunchVMProcess-7.0-packer-12008.txt',
         vbox_exc.VBoxTransientError),
        ('error-showvminfo-object-not-ready-E_ACCESSDENIED-5.0-docker-'
         'machine-2494.txt', vbox_exc.VBoxTransientError),
        ('error-showvminfo-object-not-ready-E_ACCESSDENIED-4.2-windows-'
         'vagrant-1653.txt', vbox_exc.VBoxTransientError),
        ('error-unregistervm-while-locked-5.1-vagrant-8104.txt',
         vbox_exc.VBoxTransientError),
        ('error-unregistervm-not-found-7.x-wazuh-489.txt',
         vbox_exc.VBoxObjectNotFound),
        ('error-showvminfo-not-found-cuckoo-1402.txt',
         vbox_exc.VBoxObjectNotFound),
        ('error-acpipowerbutton-invalid-state-PoweredOff-4.3-boot2docker-'
         'cli-80.txt', vbox_exc.VBoxInvalidVMState),
        ('error-createvm-settings-file-exists-vmcloak-181.txt',
         vbox_exc.VBoxAlreadyExists),
    )
    @ddt.unpack
    def test_public_error_capture(self, name, expected):
        err = vboxmanage.classify_error('cmd', 1, test_base.read_public(name))
        self.assertIs(expected, type(err))

    def test_lock_request_pending_is_transient(self):
        # Seen in CI on real 7.2.22: showvminfo of a VM while another
        # client's session request on it was served.
        err = vboxmanage.classify_error('showvminfo', 1, (
            "VBoxManage: error: The machine 'instance-00816b7d' already has "
            "a lock request pending\n"
            "VBoxManage: error: Details: code VBOX_E_INVALID_OBJECT_STATE "
            "(0x80bb0007), component MachineWrap, interface IMachine, callee "
            "nsISupports\n"))
        self.assertIs(vbox_exc.VBoxTransientError, type(err))

    def test_parse_error_details(self):
        t = test_base.read_transcript('17-createmedium-t1-vdi-exists.txt')
        messages, details = vboxmanage.parse_error(t.stderr)
        self.assertEqual([
            'Failed to create medium',
            "Could not create the medium storage unit '/tmp/t1.vdi'.",
            "VDI: cannot create image '/tmp/t1.vdi' (VERR_ALREADY_EXISTS)",
        ], messages)
        self.assertEqual('VBOX_E_FILE_ERROR', details['name'])
        self.assertEqual('0x80bb0004', details['hex'])
        self.assertEqual('MediumWrap', details['component'])
        self.assertEqual('IMedium', details['interface'])
        self.assertIn('VBoxManageDisk.cpp', details['context'])

    def test_not_running_error_has_no_details(self):
        t = test_base.read_transcript('64-controlvm-poweroff-notrunning.txt')
        messages, details = vboxmanage.parse_error(t.stderr)
        self.assertEqual(["Machine 't1' is not currently running."],
                         messages)
        self.assertEqual({}, details)
