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

"""On the simulator: the user's own VMs beside Nova's, lifecycle events for
changes made outside Nova, and recovery after nova-compute is killed at
each step of a spawn or a destroy."""

import os
import threading
import time
import uuid as uuidlib

import fixtures

from nova.compute import power_state
from nova import context as nova_context
from nova import objects
from nova import test
from nova.tests.functional.virtualbox import vbox_fixtures
from nova.tests.functional.virtualbox import vbox_harness
from nova.virt import driver as base_driver
from nova.virt import event as virtevent
from nova.virt import fake as fake_virt
from nova.virt.virtualbox import conf as vbox_conf
from nova.virt.virtualbox import parsers

import nova.conf

CONF = nova.conf.CONF
vbox_conf.register_opts(CONF)


class _Killed(BaseException):
    """nova-compute dying: no except Exception, no rollback, no finally
    of Nova's."""


class _Base(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.vbm = self.useFixture(vbox_fixtures.SimulatorFixture())
        self.instances = self.useFixture(fixtures.TempDir()).path
        self.flags(instances_path=self.instances, host='laptop')
        self.flags(vboxmanage_cmd=self.vbm.command, retry_interval=0.1,
                   retry_count=1, lifecycle_event_interval=0,
                   group='virtualbox')
        self.driver = self._new_driver()
        self.ctx = nova_context.get_admin_context()
        self.image_id = str(uuidlib.uuid4())
        self.base = self.driver._pathutils.cached_image_path(self.image_id)
        os.makedirs(os.path.dirname(self.base), exist_ok=True)
        self._vbm('createmedium', 'disk', '--filename', self.base,
                  '--size', '16', '--format', 'VDI')
        self._vbm('closemedium', 'disk', self.base)

    def _new_driver(self):
        driver = base_driver.load_compute_driver(fake_virt.FakeVirtAPI(),
                                                 'virtualbox.VBoxDriver')
        driver.init_host('laptop')
        self.addCleanup(driver.cleanup_host, 'laptop')
        return driver

    def _vbm(self, *args):
        result = self.vbm.run(*args)
        self.assertEqual(0, result.returncode, result.stderr)
        return result.stdout

    def _instance(self):
        return vbox_harness.make_instance(self.image_id, root_gb=0)

    def _image(self):
        return objects.ImageMeta.from_dict({
            'id': self.image_id, 'disk_format': 'vdi',
            'container_format': 'bare', 'properties': {}})

    def _spawn(self, instance, driver=None):
        (driver or self.driver).spawn(
            self.ctx, instance, self._image(), [], None, {},
            network_info=[], block_device_info=None, power_on=True)

    def _problems(self, expected):
        checker = vbox_harness.load_checker()
        if checker is None:
            self.skipTest('tools/check_consistency.py not found')
        return checker.check(self.driver._vbox, self.driver._pathutils,
                             expected)


class CoexistenceTestCase(_Base):
    """The user's VMs are never listed, changed, counted or deleted, and
    what the running ones use is reserved."""

    def _user_vms(self):
        home = self.useFixture(fixtures.TempDir()).path
        made = {}
        for name, state in (('my desktop', 'running'), ('my server', 'off'),
                            ('my saved', 'saved'), ('my paused', 'paused')):
            out = self._vbm('createvm', '--name', name, '--basefolder',
                            home, '--register')
            uuid = out.split('UUID: ')[1].split()[0]
            self._vbm('modifyvm', uuid, '--memory', '1024', '--cpus', '2')
            if state != 'off':
                self._vbm('startvm', uuid, '--type', 'headless')
            if state == 'saved':
                self._vbm('controlvm', uuid, 'savestate')
            if state == 'paused':
                self._vbm('controlvm', uuid, 'pause')
            made[uuid] = name
        return made

    def _snapshot_of(self, uuids):
        result = {}
        for uuid in uuids:
            info = parsers.parse_machine_readable(
                self._vbm('showvminfo', uuid, '--machinereadable'))
            info.pop('VMStateChangeTime', None)
            result[uuid] = info
        return result

    def test_every_entry_point_leaves_user_vms_alone(self):
        users = self._user_vms()
        before = self._snapshot_of(users)
        instance = self._instance()
        self._spawn(instance)
        d = self.driver
        self.assertEqual([instance.name], d.list_instances())
        self.assertEqual([instance.uuid], d.list_instance_uuids())
        self.assertEqual(1, d.get_num_instances())
        self.assertEqual(power_state.RUNNING, d.get_info(instance).state)
        d.pause(instance)
        d.unpause(instance)
        d.suspend(self.ctx, instance)
        d.resume(self.ctx, instance, [])
        d.reboot(self.ctx, instance, [], 'HARD')
        d.power_off(instance)
        d.power_on(self.ctx, instance, [])
        d.get_diagnostics(instance)
        d.get_console_output(self.ctx, instance)
        d.get_available_resource('laptop')
        d.manage_image_cache(self.ctx, [instance])
        d._events.poller.poll()
        d.init_host('laptop')  # recovery with the user's VMs around
        d.cleanup_host('laptop')

        # Reserved: the running and paused user VMs (1024 MB, 2 CPUs each).
        from nova.compute import provider_tree
        tree = provider_tree.ProviderTree()
        tree.new_root('laptop', uuidlib.uuid4())
        d.update_provider_tree(tree, 'laptop')
        inventory = tree.data('laptop').inventory
        self.assertEqual(CONF.reserved_host_memory_mb + 2048,
                         inventory['MEMORY_MB']['reserved'])
        self.assertEqual(min(inventory['VCPU']['total'],
                             CONF.reserved_host_cpus + 4),
                         inventory['VCPU']['reserved'])

        d.destroy(self.ctx, instance, [])
        self.assertEqual([], d.list_instances())
        self.assertEqual(0, d.get_num_instances())
        self.assertEqual(before, self._snapshot_of(users))
        for uuid, name in users.items():
            self.assertIn(uuid, self._vbm('list', 'vms'))
        self.assertEqual([], self._problems([]))


class LifecycleEventsTestCase(_Base):

    def test_changes_outside_nova_reported_and_own_ones_not(self):
        instance = self._instance()
        self._spawn(instance)
        poller = self.driver._events.poller
        sent = []
        self.driver.register_event_listener(sent.append)
        poller.poll()  # first look
        self.driver.pause(instance)
        self.driver.unpause(instance)
        poller.poll()
        poller.poll()
        self.assertEqual([], sent)

        def outside(*args):
            self._vbm(*args)
            del sent[:]
            poller.poll()
            return [e.get_transition() for e in sent]

        self.assertEqual([virtevent.EVENT_LIFECYCLE_PAUSED],
                         outside('controlvm', instance.uuid, 'pause'))
        self.assertEqual([virtevent.EVENT_LIFECYCLE_RESUMED],
                         outside('controlvm', instance.uuid, 'resume'))
        self.assertEqual([virtevent.EVENT_LIFECYCLE_SUSPENDED],
                         outside('controlvm', instance.uuid, 'savestate'))
        self.assertEqual([virtevent.EVENT_LIFECYCLE_STARTED],
                         outside('startvm', instance.uuid, '--type',
                                 'headless'))
        self.assertEqual([virtevent.EVENT_LIFECYCLE_STOPPED],
                         outside('controlvm', instance.uuid, 'poweroff'))
        self.driver.destroy(self.ctx, instance, [])
        self.assertEqual([], outside('list', 'vms'))

    def test_thread_reports_within_the_interval(self):
        self.flags(lifecycle_event_interval=1, group='virtualbox')
        driver = self._new_driver()
        instance = self._instance()
        self._spawn(instance, driver)
        got = threading.Event()
        sent = []

        def listener(event):
            sent.append(event)
            got.set()
        driver.register_event_listener(listener)
        time.sleep(2.5)  # two ticks: the instance is known
        start = time.monotonic()
        self._vbm('controlvm', instance.uuid, 'poweroff')
        self.assertTrue(got.wait(10))
        latency = time.monotonic() - start
        self.assertEqual(virtevent.EVENT_LIFECYCLE_STOPPED,
                         sent[0].get_transition())
        self.assertLess(latency, 3)
        print('lifecycle event latency: %.2f s (interval 1 s)' % latency)
        driver.cleanup_host('laptop')
        self.assertFalse(driver._events.poller.running)
        driver.destroy(self.ctx, instance, [])


class CrashRecoveryTestCase(_Base):
    """Kill nova-compute at each VBoxManage call of a spawn and of a
    destroy, start a new driver: nothing is left."""

    def _kill_at(self, driver, step):
        real_run = driver._vbox.run
        calls = {'n': 0}

        def run(*args, **kwargs):
            calls['n'] += 1
            if calls['n'] == step:
                raise _Killed()
            return real_run(*args, **kwargs)
        driver._vbox.run = run
        return calls

    def _restart_and_check(self, expected):
        fresh = self._new_driver()
        self.driver = fresh
        self.assertEqual([], self._problems(expected))
        return fresh

    def test_killed_during_spawn(self):
        step = 1
        while True:
            instance = self._instance()
            driver = self._new_driver()
            calls = self._kill_at(driver, step)
            try:
                self._spawn(instance, driver)
            except _Killed:
                pass
            else:
                self.assertGreater(step, 3)
                break
            self._restart_and_check([])
            self.assertFalse(os.path.exists(
                driver._pathutils.instance_dir(instance)))
            step += 1
        print('spawn killed at each of its %d VBoxManage calls: nothing '
              'left' % (calls['n']))
        self._restart_and_check([instance])

    def test_killed_during_destroy(self):
        step = 1
        while True:
            instance = self._instance()
            self._spawn(instance)
            driver = self._new_driver()
            self._kill_at(driver, step)
            try:
                driver.destroy(self.ctx, instance, [])
            except _Killed:
                pass
            else:
                break
            self._restart_and_check([])
            step += 1
        self.assertGreater(step, 2)
        self._restart_and_check([])

    def test_leftovers_without_journal(self):
        vms_dir = self.driver._pathutils.vms_dir()
        gone = os.path.join(vms_dir, 'instance-0000beef')
        os.makedirs(os.path.join(gone, 'Logs'))
        open(os.path.join(gone, 'console.log'), 'w').close()
        old = time.time() - 3600
        os.utime(gone, (old, old))
        lost = os.path.join(self.instances, 'lost.vdi')
        self._vbm('createmedium', 'disk', '--filename', lost, '--size', '1')
        os.unlink(lost)
        fresh = self._restart_and_check([])
        self.assertFalse(os.path.exists(gone))
        self.assertNotIn(lost, self._vbm('list', 'hdds'))
        del fresh


class SharedInstancesPathTestCase(_Base):
    """Two compute hosts, each with its own VirtualBox, on one instances
    path (NFS): a host's start never touches what the other one is doing
    or left, and each still recovers its own."""

    def _start_host(self, host, vboxmanage_cmd):
        self.flags(host=host)
        self.flags(vboxmanage_cmd=vboxmanage_cmd, group='virtualbox')
        return self._new_driver()

    def _die_after(self, driver, command):
        real_run = driver._vbox.run

        def run(*args, **kwargs):
            result = real_run(*args, **kwargs)
            if args[0] == command:
                raise _Killed()
            return result
        driver._vbox.run = run

    def test_start_leaves_the_other_hosts_work_alone(self):
        # Host "laptop" (self.driver, self.vbm): one VM running, one spawn
        # killed after createvm, one destroy killed after unregistervm.
        running, building, going = (self._instance() for _n in range(3))
        self._spawn(running)
        self._spawn(going)
        # Made first: a new driver's start recovers what the others left.
        spawner, destroyer = self._new_driver(), self._new_driver()
        self._die_after(spawner, 'createvm')
        self.assertRaises(_Killed, self._spawn, building, spawner)
        self._die_after(destroyer, 'unregistervm')
        self.assertRaises(_Killed, destroyer.destroy, self.ctx, going, [])
        paths = self.driver._pathutils
        going_dir = paths.instance_dir(going)
        old = time.time() - 3600
        os.utime(going_dir, (old, old))
        journal = self.driver._recovery.journal_dir()
        entries = sorted(os.listdir(journal))
        self.assertEqual(2, len(entries))

        def files():
            return {instance.name: sorted(os.listdir(
                paths.instance_dir(instance)))
                for instance in (running, building, going)}
        before = files()
        registered = self._vbm('list', 'vms')

        # Host "desk" starts on the same instances path.
        desk_home = self.useFixture(fixtures.TempDir()).path
        desk = self._start_host('desk', 'env VBOXSIM_HOME=%s %s' % (
            desk_home, self.vbm.command))
        self.assertEqual([], desk.list_instances())

        self.assertEqual(entries, sorted(os.listdir(journal)))
        self.assertEqual(before, files())
        self.assertEqual(registered, self._vbm('list', 'vms'))
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(running).state)

        # Back on "laptop": its own leftovers go, its running VM stays.
        self._start_host('laptop', self.vbm.command)
        self.assertEqual([], os.listdir(journal))
        self.assertEqual([], self._problems([running]))
        self.assertFalse(os.path.exists(paths.instance_dir(building)))
        self.assertFalse(os.path.exists(going_dir))
