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

"""The power-state cache, the lifecycle poller, the user's VMs in the
inventory and recovery at start, with a mocked VBoxManage."""

import os
import threading
from unittest import mock

from nova.compute import power_state
from nova import exception
from nova.tests.unit.virt.virtualbox import test_base
from nova.virt import event as virtevent
from nova.virt.virtualbox import eventops
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import hostops
from nova.virt.virtualbox import pathutils
from nova.virt.virtualbox import recoveryops


def _uuid(n):
    return '00000000-0000-4000-8000-%012d' % n


class _Clock(object):

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class _FakeVBox(object):
    """A VirtualBox of VMs {uuid: [name, state]}, counting calls."""

    def __init__(self, pathutils_, vms=None):
        self.paths = pathutils_
        self.vms = {}
        self.user = {}
        self.calls = []
        for uuid, (name, state) in (vms or {}).items():
            self.add(uuid, name, state)

    def add(self, uuid, name, state, user=False):
        self.vms[uuid] = [name, state]
        if user:
            self.user[uuid] = name
            return
        folder = self.paths.vm_dir(name)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, name + '.vbox'), 'w') as f:
            f.write('<VirtualBox/>')

    def list_vms(self):
        self.calls.append('list vms')
        return [(name, uuid) for uuid, (name, _s) in self.vms.items()]

    def list_running_vms(self):
        self.calls.append('list runningvms')
        return [(name, uuid) for uuid, (name, state) in self.vms.items()
                if state in ('running', 'paused', 'gurumeditation')]

    def show_vm_info(self, uuid):
        self.calls.append('showvminfo')
        if uuid not in self.vms:
            raise vbox_exc.VBoxObjectNotFound('no VM')
        name, state = self.vms[uuid]
        return {'VMState': state, 'UUID': uuid, 'memory': 2048, 'cpus': 2,
                'CfgFile': os.path.join('/nonexistent', name + '.vbox')}


# Lines of a real VirtualBox 7.2.22 VM's Logs/VBox.log (the whole sample:
# vboxsim/data/vbox-log-states.txt).
REAL_LOG_STARTED = (
    "00:00:00.028403 Console: Machine state changed to 'Starting'",
    "00:00:00.398532 Changing the VM state from 'CREATED' to 'POWERING_ON'",
    "00:00:00.399284 Changing the VM state from 'POWERING_ON' to 'RUNNING'",
    "00:00:00.399290 Console: Machine state changed to 'Running'")
REAL_LOG_PAUSED = (
    "00:00:03.449433 Changing the VM state from 'RUNNING' to 'SUSPENDING'",
    "00:00:03.450698 Changing the VM state from 'SUSPENDING' to 'SUSPENDED'",
    "00:00:03.450705 Console: Machine state changed to 'Paused'")
REAL_LOG_RESUMED = (
    "00:00:08.215384 Changing the VM state from 'SUSPENDED' to 'RESUMING'",
    "00:00:08.216817 Changing the VM state from 'RESUMING' to 'RUNNING'",
    "00:00:08.216825 Console: Machine state changed to 'Running'")


class StateCacheTestCase(test_base.VBoxTestCase):

    def setUp(self):
        super().setUp()
        self.paths = pathutils.PathUtils()
        self.clock = _Clock()
        self.fake = _FakeVBox(self.paths)
        self.cache = eventops.StateCache(self.fake, self.paths,
                                         clock=self.clock)

    def _instances(self, count, state='running'):
        result = []
        for n in range(count):
            uuid = _uuid(n)
            self.fake.add(uuid, 'instance-%08x' % n, state)
            result.append(test_base.FakeInstance(uuid=uuid,
                                                 name='instance-%08x' % n))
        return result

    def _cycle(self, instances):
        """What Nova's _sync_power_states calls; returns the calls."""
        self.fake.calls = []
        self.cache.count_instances()
        states = [self.cache.get_info(i).state for i in instances]
        return list(self.fake.calls), states

    def test_sync_cycle_costs_two_calls_once_warm(self):
        instances = self._instances(200)
        calls, states = self._cycle(instances)
        # First cycle: each running VM's state read once.
        self.assertEqual(2 + 200, len(calls))
        self.clock.now += eventops.CACHE_SECONDS + 1
        calls, states = self._cycle(instances)
        self.assertEqual(['list vms', 'list runningvms'], calls)
        self.assertEqual([power_state.RUNNING] * 200, states)

    def test_each_cycle_reads_both_lists_anew(self):
        # A VM started outside the driver just after a cycle: the next
        # cycle, however soon, must not answer from the old running list.
        vm, = self._instances(1, state='poweroff')
        calls, states = self._cycle([vm])
        self.assertEqual([power_state.SHUTDOWN], states)
        self.fake.vms[vm.uuid][1] = 'running'
        calls, states = self._cycle([vm])
        self.assertEqual(['list vms', 'list runningvms', 'showvminfo'],
                         calls)
        self.assertEqual([power_state.RUNNING], states)

    def test_powered_off_and_saved_need_no_showvminfo(self):
        off, saved = self._instances(2, state='poweroff')
        self.fake.vms[saved.uuid][1] = 'saved'
        snaps = os.path.join(self.paths.vm_dir(saved.name), 'Snapshots')
        os.makedirs(snaps)
        open(os.path.join(snaps, '2026-01-01T00-00-00-000Z.sav'), 'w').close()
        calls, states = self._cycle([off, saved])
        self.assertEqual([power_state.SHUTDOWN, power_state.SUSPENDED],
                         states)
        self.assertNotIn('showvminfo', calls)

    def test_sav_file_with_snapshots_is_asked(self):
        (vm,) = self._instances(1, state='poweroff')
        folder = self.paths.vm_dir(vm.name)
        os.makedirs(os.path.join(folder, 'Snapshots'))
        open(os.path.join(folder, 'Snapshots', 'a.sav'), 'w').close()
        with open(os.path.join(folder, vm.name + '.vbox'), 'w') as f:
            f.write('<Snapshot uuid="x"/>')
        calls, states = self._cycle([vm])
        self.assertEqual([power_state.SHUTDOWN], states)
        self.assertIn('showvminfo', calls)

    def test_running_pause_seen_through_vbox_log(self):
        (vm,) = self._instances(1)
        logs = os.path.join(self.paths.vm_dir(vm.name), 'Logs')
        os.makedirs(logs)
        log = os.path.join(logs, 'VBox.log')
        with open(log, 'w') as f:
            f.write('00:00:01 VMR3PowerOn\n')
        self._cycle([vm])
        self.fake.vms[vm.uuid][1] = 'paused'
        self.clock.now += 10
        with open(log, 'a') as f:
            f.write('00:00:02 Guest Additions: hello\n')
        # Log grew without a state line: still from the cache.
        calls, states = self._cycle([vm])
        self.assertEqual([power_state.RUNNING], states)
        self.assertNotIn('showvminfo', calls)
        with open(log, 'a') as f:
            f.write("00:00:03 Changing the VM state from 'RUNNING' to "
                    "'SUSPENDING'\n")
        self.clock.now += 10
        calls, states = self._cycle([vm])
        self.assertEqual([power_state.PAUSED], states)
        self.assertIn('showvminfo', calls)

    def _log(self, vm, *lines):
        """Append ``lines`` to the VM's Logs/VBox.log."""
        logs = os.path.join(self.paths.vm_dir(vm.name), 'Logs')
        os.makedirs(logs, exist_ok=True)
        with open(os.path.join(logs, 'VBox.log'), 'a') as f:
            f.writelines(line + '\n' for line in lines)

    def test_first_cycle_reads_running_and_paused_from_the_vm_logs(self):
        # nova-compute restarted on a host of 200 running VMs, some paused:
        # the logs their VM processes wrote say which, no showvminfo.
        instances = self._instances(200)
        for n, vm in enumerate(instances):
            self._log(vm, *REAL_LOG_STARTED)
            if n % 4 == 0:
                self.fake.vms[vm.uuid][1] = 'paused'
                self._log(vm, *REAL_LOG_PAUSED)
        calls, states = self._cycle(instances)
        self.assertEqual(['list vms', 'list runningvms'], calls)
        self.assertEqual([power_state.PAUSED if n % 4 == 0
                          else power_state.RUNNING for n in range(200)],
                         states)
        # A resume outside Nova, as the VM process logs it.
        self.fake.vms[instances[0].uuid][1] = 'running'
        self._log(instances[0], *REAL_LOG_RESUMED)
        self.clock.now += eventops.CACHE_SECONDS + 1
        calls, states = self._cycle(instances[:1])
        self.assertEqual(['list vms', 'list runningvms'], calls)
        self.assertEqual([power_state.RUNNING], states)

    def test_a_log_naming_no_steady_state_is_not_trusted(self):
        starting, saving, none = self._instances(3)
        self._log(starting, REAL_LOG_STARTED[0])
        self._log(saving, *REAL_LOG_STARTED + REAL_LOG_PAUSED + (
            "00:00:14.455590 Console: Machine state changed to 'Saving'",))
        self._log(none, '00:00:00.001 VirtualBox VM 7.2.22 starting')
        calls, states = self._cycle([starting, saving, none])
        self.assertEqual(3, calls.count('showvminfo'))

    def test_the_log_does_not_answer_after_the_drivers_own_operation(self):
        (vm,) = self._instances(1)
        self._log(vm, *REAL_LOG_STARTED)
        self._cycle([vm])
        self.cache.begin(vm.uuid)
        self.fake.vms[vm.uuid][1] = 'paused'
        self.cache.end(vm.uuid)
        # The log not written yet: showvminfo answers, not the log.
        calls, states = self._cycle([vm])
        self.assertIn('showvminfo', calls)
        self.assertEqual([power_state.PAUSED], states)

    def test_own_operation_invalidates(self):
        (vm,) = self._instances(1)
        self._cycle([vm])
        self.cache.begin(vm.uuid)
        self.fake.vms[vm.uuid][1] = 'paused'
        self.cache.end(vm.uuid)
        calls, states = self._cycle([vm])
        self.assertEqual([power_state.PAUSED], states)

    def test_gone_and_exact(self):
        (vm,) = self._instances(1)
        del self.fake.vms[vm.uuid]
        self.assertRaises(exception.InstanceNotFound,
                          self.cache.get_info, vm)
        self.assertRaises(exception.InstanceNotFound,
                          self.cache.get_info, vm, use_cache=False)

    def test_use_cache_false_always_asks(self):
        (vm,) = self._instances(1)
        self._cycle([vm])
        self.fake.calls = []
        self.cache.get_info(vm, use_cache=False)
        self.assertEqual(['showvminfo'], self.fake.calls)


# Bounds of the waits in the tests of concurrent callers: none can hang.
# A blocked list call outlasts any wait for a caller that must not wait
# for it (the cleanup releases it at once).
WAIT = 5
BLOCK = 60
SETTLE = 0.2


class _BlockingVBox(_FakeVBox):
    """A _FakeVBox whose list calls, once they have taken the list, wait
    until ``release`` is set: a VBoxManage call in flight."""

    def __init__(self, pathutils_):
        super().__init__(pathutils_)
        self.entered = threading.Event()
        self.release = threading.Event()
        self.error = None

    def _in_flight(self, vms):
        self.entered.set()
        self.release.wait(BLOCK)
        if self.error is not None:
            raise self.error
        return vms

    def list_vms(self):
        return self._in_flight(super().list_vms())

    def list_running_vms(self):
        return self._in_flight(super().list_running_vms())


class StateCacheConcurrencyTestCase(test_base.VBoxTestCase):
    """Callers of the cache while a VBoxManage list call runs."""

    def setUp(self):
        super().setUp()
        self.paths = pathutils.PathUtils()
        self.clock = _Clock()
        self.fake = _BlockingVBox(self.paths)
        self.cache = eventops.StateCache(self.fake, self.paths,
                                         clock=self.clock)
        self.threads = []
        self.addCleanup(self._finish_threads)

    def _finish_threads(self):
        self.fake.release.set()
        for thread in self.threads:
            thread.join(WAIT)

    def _start(self, func, *args):
        """Runs func in a thread; returns the thread and {'result' or
        'error': ...} once it is done."""
        outcome = {}

        def run():
            try:
                outcome['result'] = func(*args)
            except Exception as e:
                outcome['error'] = e
        thread = threading.Thread(target=run, daemon=True)
        self.threads.append(thread)
        thread.start()
        return thread, outcome

    def _wait_in_flight(self, func, *args):
        """Starts func in a thread and waits until its list call runs."""
        started = self._start(func, *args)
        self.assertTrue(self.fake.entered.wait(WAIT))
        return started

    def _assert_done(self, thread):
        thread.join(WAIT)
        self.assertFalse(thread.is_alive())

    def _assert_waiting(self, thread):
        thread.join(SETTLE)
        self.assertTrue(thread.is_alive())

    def _bookkeeping(self, uuid):
        self.cache.begin(uuid)
        busy = self.cache.busy(uuid)
        self.cache.end(uuid)
        return busy, self.cache.busy(uuid), self.cache.has_quiet(uuid)

    def test_bookkeeping_does_not_wait_for_running_list(self):
        self.fake.add(_uuid(1), 'instance-00000001', 'running')
        vm = test_base.FakeInstance(uuid=_uuid(1), name='instance-00000001')
        reader, _read = self._wait_in_flight(self.cache.get_info, vm)
        other, outcome = self._start(self._bookkeeping, _uuid(2))
        self._assert_done(other)
        self.assertEqual((True, False, True), outcome['result'])
        self.assertTrue(reader.is_alive())

    def test_bookkeeping_does_not_wait_for_registered_list(self):
        counter, _count = self._wait_in_flight(self.cache.count_instances)
        other, outcome = self._start(self._bookkeeping, _uuid(2))
        self._assert_done(other)
        self.assertEqual((True, False, True), outcome['result'])
        self.assertTrue(counter.is_alive())

    def _assert_one_call_for_two_readers(self, read, state, command):
        self.fake.add(_uuid(1), 'instance-00000001', state)
        first, first_out = self._wait_in_flight(read, 0)
        second, second_out = self._start(read, 0)
        self._assert_waiting(second)
        self.fake.release.set()
        self._assert_done(first)
        self._assert_done(second)
        expected = {_uuid(1): 'instance-00000001'}
        self.assertEqual(expected, first_out['result'])
        self.assertEqual(expected, second_out['result'])
        self.assertEqual([command], self.fake.calls)

    def test_concurrent_refreshes_make_one_call(self):
        self._assert_one_call_for_two_readers(
            self.cache.running_vms, 'running', 'list runningvms')

    def test_concurrent_registered_refreshes_make_one_call(self):
        self._assert_one_call_for_two_readers(
            self.cache.nova_vms, 'poweroff', 'list vms')

    def test_list_read_before_end_is_not_cached(self):
        self.fake.add(_uuid(1), 'instance-00000001', 'poweroff')
        reader, read = self._wait_in_flight(self.cache.running_vms)
        # The driver starts the VM while the list is being read.
        ender, _ended = self._start(self._bookkeeping, _uuid(1))
        self._assert_done(ender)
        self.fake.vms[_uuid(1)][1] = 'running'
        self.fake.release.set()
        self._assert_done(reader)
        # Its own caller asked before the operation ended: the old list
        # is an answer for it, not for the cache.
        self.assertEqual({}, read['result'])
        self.assertEqual({_uuid(1): 'instance-00000001'},
                         self.cache.running_vms())
        self.assertEqual(['list runningvms'] * 2, self.fake.calls)

    def test_caller_after_end_does_not_share_older_read(self):
        self.fake.add(_uuid(1), 'instance-00000001', 'poweroff')
        reader, read = self._wait_in_flight(self.cache.running_vms)
        ender, _ended = self._start(self._bookkeeping, _uuid(1))
        self._assert_done(ender)
        self.fake.vms[_uuid(1)][1] = 'running'
        later, later_read = self._start(self.cache.running_vms)
        self._assert_waiting(later)
        # It waits for the read in flight to end before its own.
        self.assertEqual(['list runningvms'], self.fake.calls)
        self.fake.release.set()
        self._assert_done(reader)
        self._assert_done(later)
        self.assertEqual({}, read['result'])
        self.assertEqual({_uuid(1): 'instance-00000001'},
                         later_read['result'])
        # That read started after the end: it is kept.
        self.assertEqual({_uuid(1): 'instance-00000001'},
                         self.cache.running_vms())
        self.assertEqual(['list runningvms'] * 2, self.fake.calls)

    def test_failed_read_reaches_every_caller_and_is_not_cached(self):
        self.fake.error = vbox_exc.VBoxManageError(command='list')
        first, first_out = self._wait_in_flight(self.cache.running_vms)
        second, second_out = self._start(self.cache.running_vms)
        self._assert_waiting(second)
        self.fake.release.set()
        self._assert_done(first)
        self._assert_done(second)
        self.assertIsInstance(first_out['error'], vbox_exc.VBoxManageError)
        self.assertIsInstance(second_out['error'],
                              vbox_exc.VBoxManageError)
        self.fake.error = None
        self.assertEqual({}, self.cache.running_vms())
        self.assertEqual(['list runningvms'] * 2, self.fake.calls)

    def test_known_state_recorded_during_registered_read_is_kept(self):
        self.fake.add(_uuid(1), 'instance-00000001', 'poweroff')
        self.fake.add(_uuid(2), 'instance-00000002', 'poweroff')
        self.fake.release.set()
        self.cache.exact(_uuid(1), 'instance-00000001')
        self.cache.exact(_uuid(2), 'instance-00000002')
        self.fake.release.clear()
        self.fake.entered.clear()
        del self.fake.vms[_uuid(2)]
        self.clock.now += 1
        reader, _read = self._wait_in_flight(self.cache.nova_vms)
        # A VM registered while the list is read: its state is newer
        # than the list that does not name it.
        self.fake.add(_uuid(3), 'instance-00000003', 'poweroff')
        self.clock.now += 1
        recorder, _recorded = self._start(self.cache.exact, _uuid(3),
                                          'instance-00000003')
        self._assert_done(recorder)
        self.fake.release.set()
        self._assert_done(reader)
        self.assertIsNotNone(self.cache.known(_uuid(1)))
        self.assertIsNone(self.cache.known(_uuid(2)))
        self.assertIsNotNone(self.cache.known(_uuid(3)))


class PollerTestCase(StateCacheTestCase):

    def setUp(self):
        super().setUp()
        self.events = []
        self.poller = eventops.LifecyclePoller(self.cache, self.paths,
                                               self.events.append)

    def _tick(self):
        self.fake.calls = []
        self.events[:] = []
        self.poller.poll()
        return [(e.get_instance_uuid(), e.get_transition())
                for e in self.events]

    def test_first_tick_sends_nothing_and_reads_one_vm(self):
        self._instances(50)
        self.assertEqual([], self._tick())
        self.assertEqual(['list runningvms', 'list vms', 'showvminfo'],
                         self.fake.calls)
        self.assertEqual([], self._tick())
        self.assertEqual(['list runningvms', 'showvminfo'], self.fake.calls)

    def test_outside_changes_are_reported(self):
        vms = self._instances(3)
        user_uuid = _uuid(99)
        self.fake.add(user_uuid, 'my own vm', 'running', user=True)
        self._tick()
        self.fake.vms[vms[0].uuid][1] = 'poweroff'
        self.fake.vms[vms[1].uuid][1] = 'saved'
        self.fake.vms[user_uuid][1] = 'poweroff'
        self.assertEqual(
            sorted([(vms[0].uuid, virtevent.EVENT_LIFECYCLE_STOPPED),
                    (vms[1].uuid, virtevent.EVENT_LIFECYCLE_SUSPENDED)]),
            sorted(self._tick()))
        self.fake.vms[vms[0].uuid][1] = 'running'
        self.assertEqual([(vms[0].uuid, virtevent.EVENT_LIFECYCLE_STARTED)],
                         self._tick())

    def test_pause_found_by_the_rotation(self):
        vms = self._instances(3)
        for _ in range(4):
            self._tick()
        self.fake.vms[vms[2].uuid][1] = 'paused'
        seen = []
        for _ in range(3):
            seen += self._tick()
        self.assertEqual([(vms[2].uuid, virtevent.EVENT_LIFECYCLE_PAUSED)],
                         seen)
        self.fake.vms[vms[2].uuid][1] = 'running'
        seen = []
        for _ in range(3):
            seen += self._tick()
        self.assertEqual([(vms[2].uuid, virtevent.EVENT_LIFECYCLE_RESUMED)],
                         seen)

    def test_driver_operations_are_not_reported(self):
        (vm,) = self._instances(1)
        self._tick()
        self.cache.begin(vm.uuid)
        self.fake.vms[vm.uuid][1] = 'poweroff'
        self.assertEqual([], self._tick())
        self.cache.end(vm.uuid)
        self.assertEqual([], self._tick())
        self.assertEqual([], self._tick())
        # Later, started outside Nova: reported.
        self.fake.vms[vm.uuid][1] = 'running'
        self.assertEqual([(vm.uuid, virtevent.EVENT_LIFECYCLE_STARTED)],
                         self._tick())

    def test_destroyed_vm_sends_nothing(self):
        (vm,) = self._instances(1)
        self._tick()
        del self.fake.vms[vm.uuid]
        self.assertEqual([], self._tick())

    def test_thread_starts_and_stops(self):
        ticked = threading.Event()
        self.poller.poll = mock.Mock(side_effect=lambda: ticked.set())
        self.poller.start(0.01)
        self.assertTrue(ticked.wait(5))
        self.assertTrue(self.poller.running)
        self.poller.stop(timeout=5)
        self.assertFalse(self.poller.running)

    def test_zero_interval_starts_nothing(self):
        self.poller.start(0)
        self.assertFalse(self.poller.running)

    def test_transition_table(self):
        self.assertIsNone(eventops.transition(power_state.RUNNING,
                                              power_state.RUNNING))
        self.assertEqual(virtevent.EVENT_LIFECYCLE_RESUMED,
                         eventops.transition(power_state.PAUSED,
                                             power_state.RUNNING))
        self.assertEqual(virtevent.EVENT_LIFECYCLE_STOPPED,
                         eventops.transition(power_state.RUNNING,
                                             power_state.CRASHED))
        self.assertIsNone(eventops.transition(power_state.RUNNING,
                                              power_state.NOSTATE))


class UserVMsTestCase(test_base.VBoxTestCase):

    def test_reserved_includes_running_user_vms_read_once(self):
        paths = pathutils.PathUtils()
        fake = _FakeVBox(paths)
        fake.add(_uuid(1), 'instance-00000001', 'running')
        fake.add(_uuid(2), 'user vm', 'running', user=True)
        fake.add(_uuid(3), 'user vm off', 'poweroff', user=True)
        cfg = os.path.join(self.instances_path, 'user.vbox')
        open(cfg, 'w').close()
        real_info = fake.show_vm_info

        def info(uuid):
            result = real_info(uuid)
            result['CfgFile'] = cfg
            return result
        fake.show_vm_info = info
        ops = hostops.HostOps(fake, paths)
        self.assertEqual((2048, 2), ops._user_vm_usage())
        self.assertEqual(['list runningvms', 'showvminfo'], fake.calls)
        fake.calls = []
        self.assertEqual((2048, 2), ops._user_vm_usage())
        self.assertEqual(['list runningvms'], fake.calls)
        fake.vms[_uuid(2)][1] = 'poweroff'
        self.assertEqual((0, 0), ops._user_vm_usage())


class RecoveryTestCase(test_base.VBoxTestCase):

    def setUp(self):
        super().setUp()
        self.paths = pathutils.PathUtils()
        self.vmops = mock.Mock()
        self.vbox.list_vms.return_value = []
        self.vbox.list_hdds.return_value = []
        self.vbox.run.return_value = mock.Mock(stdout='')
        self.recovery = recoveryops.RecoveryOps(self.vbox, self.paths,
                                                self.vmops,
                                                clock=lambda: 1e10)

    def test_journal_kept_only_when_killed(self):
        inst = test_base.FakeInstance()
        with self.recovery.journal(recoveryops.SPAWN, inst):
            self.assertEqual(1, len(os.listdir(self.recovery.journal_dir())))
        self.assertEqual([], os.listdir(self.recovery.journal_dir()))
        self.assertRaises(ValueError, self._raise_in_journal, inst,
                          ValueError)
        self.assertEqual([], os.listdir(self.recovery.journal_dir()))
        self.assertRaises(KeyboardInterrupt, self._raise_in_journal, inst,
                          KeyboardInterrupt)
        self.assertEqual(['spawn-' + inst.uuid],
                         os.listdir(self.recovery.journal_dir()))
        done = self.recovery.recover()
        self.assertEqual([inst.uuid], done['vms'])
        leftover = self.vmops.destroy.call_args[0][0]
        self.assertEqual((inst.uuid, inst.name),
                         (leftover.uuid, leftover.name))
        self.assertEqual([], os.listdir(self.recovery.journal_dir()))

    def _raise_in_journal(self, inst, error):
        with self.recovery.journal(recoveryops.SPAWN, inst):
            raise error()

    def test_orphan_folders(self):
        vms = self.paths.vms_dir()
        for name, files in (('instance-1', ['console.log', 'vrde.port']),
                            ('instance-2', ['instance-2.vbox']),
                            ('instance-3', ['console.log', 'data.img']),
                            ('instance-4', ['instance-4.vbox'])):
            os.makedirs(os.path.join(vms, name))
            for f in files:
                open(os.path.join(vms, name, f), 'w').close()
        self.vbox.list_vms.return_value = [('instance-4', _uuid(4))]
        done = self.recovery.recover()
        self.assertEqual([os.path.join(vms, 'instance-1')], done['folders'])
        self.assertEqual(['instance-2', 'instance-3', 'instance-4'],
                         sorted(os.listdir(vms)))

    def test_young_orphan_folder_is_left(self):
        self.recovery._clock = lambda: os.path.getmtime(
            self.paths.vms_dir())
        os.makedirs(os.path.join(self.paths.vms_dir(), 'instance-1'))
        self.assertEqual([], self.recovery.recover()['folders'])

    def test_inaccessible_media_under_our_paths_closed(self):
        ours = os.path.join(self.paths.vms_dir(), 'x', 'root.vdi')
        self.vbox.list_hdds.return_value = [
            {'UUID': 'a', 'State': 'inaccessible', 'Location': ours},
            {'UUID': 'b', 'State': 'inaccessible',
             'Location': '/home/user/VirtualBox VMs/mine/mine.vdi'},
            {'UUID': 'c', 'State': 'created',
             'Location': self.paths.cached_image_path('i')}]
        done = self.recovery.recover()
        self.assertEqual([ours], done['media'])
        self.vbox.run.assert_any_call('closemedium', 'disk', 'a')

    def test_a_failing_step_does_not_stop_the_start(self):
        self.vbox.list_hdds.side_effect = vbox_exc.VBoxManageError('boom')
        self.recovery.recover()
