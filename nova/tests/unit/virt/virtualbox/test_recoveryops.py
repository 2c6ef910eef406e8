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

"""Recovery at start with an instances path shared by two compute hosts
(NFS): each host's journal is its own. The single-host journal, orphan
folders and missing media are tested in test_eventops."""

import json
import os
import time
from unittest import mock

from nova.tests.unit.virt.virtualbox import test_base
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import pathutils
from nova.virt.virtualbox import recoveryops
from nova.virt.virtualbox import vboxmanage

HOST_A = 'compute-a'
HOST_B = 'compute-b'


class _Killed(BaseException):
    """nova-compute dying inside an operation."""


class _Host(object):
    """One compute host: its own VirtualBox (mocked) and driver ops, and
    the instances path every host shares."""

    def __init__(self, test, name):
        self.name = name
        self._test = test
        self.vbox = mock.Mock()
        self.vbox.list_vms.return_value = []
        self.vbox.list_hdds.return_value = []
        self.vbox.run.return_value = mock.Mock(stdout='')
        self.vmops = mock.Mock()
        self.recovery = recoveryops.RecoveryOps(self.vbox, test.paths,
                                                self.vmops,
                                                clock=time.time)

    def act(self):
        """Be the running nova-compute: CONF.host is this host's."""
        self._test.flags(host=self.name)
        return self.recovery

    def killed_inside(self, operation, instance):
        """Run ``operation`` on ``instance`` and die in its middle."""
        recovery = self.act()
        try:
            with recovery.journal(operation, instance):
                raise _Killed()
        except _Killed:
            pass

    def register(self, instance):
        self.vbox.list_vms.return_value = (
            self.vbox.list_vms.return_value + [(instance.name,
                                                instance.uuid)])

    def destroyed(self):
        return [(call[0][0].uuid, call[0][0].name)
                for call in self.vmops.destroy.call_args_list]


class SharedInstancesPathTestCase(test_base.VBoxTestCase):

    def setUp(self):
        super().setUp()
        self.paths = pathutils.PathUtils()
        self.host_a = _Host(self, HOST_A)
        self.host_b = _Host(self, HOST_B)
        self.journal_root = os.path.join(self.instances_path,
                                         recoveryops.JOURNAL_DIR)

    def _instance(self, n):
        return test_base.FakeInstance(
            uuid='00000000-0000-4000-8000-%012d' % n,
            name='instance-%08x' % n)

    def _vm_folder(self, instance, files):
        """The VM's folder holding ``files``, last changed an hour ago
        (older than ORPHAN_MIN_AGE)."""
        folder = self.paths.instance_dir(instance)
        os.makedirs(folder)
        for name in files:
            open(os.path.join(folder, name), 'w').close()
        old = time.time() - 3600
        os.utime(folder, (old, old))
        return folder

    def _settings_file(self, instance):
        return instance.name + '.vbox'

    def test_entry_lies_in_this_hosts_folder_and_names_the_host(self):
        instance = self._instance(1)
        self.host_a.killed_inside(recoveryops.SPAWN, instance)
        entry = os.path.join(self.journal_root, HOST_A,
                             'spawn-' + instance.uuid)
        self.assertEqual([HOST_A], os.listdir(self.journal_root))
        with open(entry) as f:
            self.assertEqual({'name': instance.name, 'host': HOST_A},
                             json.load(f))
        self.assertEqual(os.path.dirname(entry),
                         self.host_a.act().journal_dir())

    def test_start_leaves_other_hosts_entries_and_vm_folders(self):
        # Host A is spawning one VM (registered with A's VirtualBox) and
        # destroying another (unregistered and its disks deleted, the
        # folder not yet removed) when host B starts.
        building = self._instance(1)
        self.host_a.register(building)
        building_dir = self._vm_folder(
            building, [self._settings_file(building), 'console.log'])
        self.host_a.killed_inside(recoveryops.SPAWN, building)
        going = self._instance(2)
        going_dir = self._vm_folder(going, ['console.log', 'vrde.port'])
        self.host_a.killed_inside(recoveryops.DESTROY, going)
        entries_of_a = sorted(os.listdir(self.host_a.act().journal_dir()))

        done = self.host_b.act().recover()

        self.assertEqual({'vms': [], 'folders': [], 'media': []}, done)
        self.assertEqual([], self.host_b.destroyed())
        self.assertEqual(entries_of_a,
                         sorted(os.listdir(os.path.join(self.journal_root,
                                                        HOST_A))))
        self.assertEqual(sorted([self._settings_file(building),
                                 'console.log']),
                         sorted(os.listdir(building_dir)))
        self.assertEqual(['console.log', 'vrde.port'],
                         sorted(os.listdir(going_dir)))

    def test_own_entries_recovered_beside_other_hosts(self):
        of_a = self._instance(1)
        self.host_a.killed_inside(recoveryops.SPAWN, of_a)
        of_b = self._instance(2)
        self.host_b.register(of_b)
        self.host_b.killed_inside(recoveryops.SPAWN, of_b)

        done = self.host_b.act().recover()

        self.assertEqual([of_b.uuid], done['vms'])
        self.assertEqual([(of_b.uuid, of_b.name)], self.host_b.destroyed())
        self.assertEqual([], os.listdir(self.host_b.act().journal_dir()))
        self.assertEqual(['spawn-' + of_a.uuid],
                         os.listdir(os.path.join(self.journal_root, HOST_A)))

        done = self.host_a.act().recover()

        self.assertEqual([of_a.uuid], done['vms'])
        self.assertEqual([(of_a.uuid, of_a.name)], self.host_a.destroyed())
        self.assertEqual([], os.listdir(self.host_a.act().journal_dir()))

    def test_own_half_destroyed_folder_removed_after_recovery(self):
        going = self._instance(2)
        going_dir = self._vm_folder(going, ['console.log', 'vrde.port'])
        self.host_a.killed_inside(recoveryops.DESTROY, going)
        self.host_b.act().recover()
        self.assertTrue(os.path.isdir(going_dir))

        # The mocked destroy leaves the folder; the sweep finds it once
        # no journal names it.
        done = self.host_a.act().recover()

        self.assertEqual([going.uuid], done['vms'])
        self.assertEqual([going_dir], done['folders'])
        self.assertFalse(os.path.exists(going_dir))

    def test_folder_of_vm_registered_on_another_host_is_left(self):
        # No journal entry: only A's VirtualBox knows the VM; its folder
        # holds its settings file.
        running = self._instance(3)
        self.host_a.register(running)
        folder = self._vm_folder(running, [self._settings_file(running),
                                           'console.log', 'Logs'])
        done = self.host_b.act().recover()
        self.assertEqual([], done['folders'])
        self.assertEqual(3, len(os.listdir(folder)))

    def _legacy_entry(self, operation, instance):
        """An entry of the journal before it was per host."""
        os.makedirs(self.journal_root, exist_ok=True)
        path = os.path.join(self.journal_root,
                            '%s-%s' % (operation, instance.uuid))
        with open(path, 'w') as f:
            f.write(instance.name)
        return path

    def test_legacy_entry_of_vm_registered_here_recovered(self):
        instance = self._instance(4)
        self.host_b.register(instance)
        entry = self._legacy_entry(recoveryops.SPAWN, instance)

        done = self.host_b.act().recover()

        self.assertEqual([instance.uuid], done['vms'])
        self.assertEqual([(instance.uuid, instance.name)],
                         self.host_b.destroyed())
        self.assertFalse(os.path.exists(entry))

    def test_legacy_entry_of_vm_not_registered_here_left(self):
        # Written by a host still running the old layout, or one this
        # host cannot tell from its own: nothing of it is touched.
        instance = self._instance(5)
        self.host_a.register(instance)
        folder = self._vm_folder(instance, ['console.log'])
        entry = self._legacy_entry(recoveryops.DESTROY, instance)

        with mock.patch.object(recoveryops.LOG, 'warning') as warning:
            done = self.host_b.act().recover()

        self.assertEqual({'vms': [], 'folders': [], 'media': []}, done)
        self.assertEqual([], self.host_b.destroyed())
        self.assertTrue(os.path.exists(entry))
        self.assertEqual(['console.log'], os.listdir(folder))
        self.assertTrue(any(instance.uuid in str(call)
                            for call in warning.call_args_list))


class InterruptedSnapshotTestCase(test_base.VBoxTestCase):
    """A Glance snapshot killed half-way: the instance's VM stays, the
    live VirtualBox snapshot it took goes."""

    def setUp(self):
        super().setUp()
        self.flags(host=HOST_A)
        self.vbox.list_vms.return_value = []
        self.vbox.list_hdds.return_value = []
        self.vmops = mock.Mock()
        self.recovery = recoveryops.RecoveryOps(
            self.vbox, pathutils.PathUtils(), self.vmops)
        self.instance = test_base.FakeInstance()

    def killed_inside_snapshot(self):
        try:
            with self.recovery.journal(recoveryops.SNAPSHOT, self.instance):
                raise _Killed()
        except _Killed:
            pass

    def snapshot_calls(self):
        return [c for c in self.vbox.run.call_args_list
                if c[0][0] == 'snapshot']

    def test_live_snapshot_deleted_vm_kept(self):
        self.vbox.show_vm_info.return_value = {
            'VMState': 'running',
            'SnapshotName': 'nova-resize',
            'SnapshotName-1': 'nova-image-0b5e'}
        self.killed_inside_snapshot()
        self.recovery.recover()
        self.vmops.destroy.assert_not_called()
        self.assertEqual(
            [mock.call('snapshot', self.instance.uuid, 'delete',
                       'nova-image-0b5e', timeout=vboxmanage.TIMEOUT_LONG)],
            self.snapshot_calls())
        self.assertEqual([], os.listdir(self.recovery.journal_dir()))

    def test_vm_gone_meanwhile(self):
        self.vbox.show_vm_info.side_effect = vbox_exc.VBoxObjectNotFound(
            command='showvminfo', exit_code=1)
        self.killed_inside_snapshot()
        self.recovery.recover()
        self.assertEqual([], self.snapshot_calls())
        self.assertEqual([], os.listdir(self.recovery.journal_dir()))
