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

from nova.compute import power_state
from nova import exception
from nova.tests.unit.virt.virtualbox import test_base
from nova.virt.virtualbox import constants
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import pathutils
from nova.virt.virtualbox import vboxmanage
from nova.virt.virtualbox import vmops


class VMOpsTestCase(test_base.VBoxTestCase):

    def setUp(self):
        super().setUp()
        self.pathutils = pathutils.PathUtils()
        self.vmops = vmops.VMOps(self.vbox, self.pathutils)
        self.instance = test_base.FakeInstance()

    def _make_nova_vm(self, name):
        vm_dir = self.pathutils.ensure_dir(self.pathutils.vm_dir(name))
        open(os.path.join(vm_dir, name + '.vbox'), 'w').close()

    def test_listing_skips_the_users_own_vms(self):
        self._make_nova_vm('instance-00000001')
        self._make_nova_vm('instance-00000002')
        self.vbox.list_vms.return_value = [
            ('instance-00000001', 'u1'), ('my ubuntu', 'u2'),
            ('instance-00000002', 'u3'), ('instance-00000009', 'u4')]
        self.assertEqual(['instance-00000001', 'instance-00000002'],
                         self.vmops.list_instances())
        self.assertEqual(['u1', 'u3'], self.vmops.list_instance_uuids())
        self.assertEqual(2, self.vbox.list_vms.call_count)

    def test_get_info_maps_the_real_vmstate(self):
        self.vbox.show_vm_info.return_value = (
            vboxmanage.parse_machine_readable(
                self.stdout_of('20-showvminfo-t1-machinereadable.txt')))
        info = self.vmops.get_info(self.instance)
        self.assertEqual(power_state.SHUTDOWN, info.state)
        self.assertEqual(self.instance.uuid, info.internal_id)
        self.vbox.show_vm_info.assert_called_once_with(self.instance.uuid)

    def test_get_info_every_state(self):
        for state, expected in constants.POWER_STATE_MAP.items():
            self.vbox.show_vm_info.return_value = {'VMState': state,
                                                   'UUID': 'u'}
            self.assertEqual(expected,
                             self.vmops.get_info(self.instance).state, state)
        self.vbox.show_vm_info.return_value = {'VMState': 'novel'}
        self.assertEqual(power_state.NOSTATE,
                         self.vmops.get_info(self.instance).state)
        self.vbox.show_vm_info.return_value = {'name': '<inaccessible>'}
        self.assertEqual(power_state.NOSTATE,
                         self.vmops.get_info(self.instance).state)

    def test_get_info_of_a_missing_vm(self):
        self.vbox.show_vm_info.side_effect = vbox_exc.VBoxObjectNotFound(
            command='showvminfo', exit_code=1)
        self.assertRaises(exception.InstanceNotFound, self.vmops.get_info,
                          self.instance)

    def test_every_documented_vmstate_is_mapped(self):
        # VBoxManageInfo.cpp's list; there is no "stuck".
        documented = (
            'poweroff saved teleported aborted aborted-saved running paused '
            'gurumeditation teleporting livesnapshotting starting stopping '
            'saving restoring teleportingpausedvm teleportingin '
            'deletingsnapshotlive deletingsnapshotlivepaused '
            'onlinesnapshotting restoringsnapshot deletingsnapshot settingup '
            'snapshotting unknown').split()
        self.assertEqual(sorted(documented),
                         sorted(constants.POWER_STATE_MAP))
        self.assertNotIn('stuck', constants.POWER_STATE_MAP)
