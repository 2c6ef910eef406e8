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

"""Running VMs: state transitions, session lock errors, lazy ACPI shutdown."""

import os
import re
import time
from unittest import mock

from vboxsim import cli
from vboxsim.tests import base


class LifecycleTest(base.SimTestCase):

    def setUp(self):
        super().setUp()
        self.ok(
            "createvm", "--name", "vm1", "--ostype", "Ubuntu_64", "--register"
        )

    def start(self):
        return self.ok("startvm", "vm1", "--type", "headless")

    def test_startvm_prints_what_the_real_one_prints(self):
        self.assertEqual(
            'Waiting for VM "vm1" to power on...\nVM "vm1" has been'
            " successfully started.\n",
            self.start(),
        )
        info = self.mr("vm1")
        self.assertEqual("running", info["VMState"])
        self.assertEqual("headless", info["SessionName"])
        self.assertIn('"vm1" {', self.ok("list", "runningvms"))

    def test_startvm_twice_is_a_session_lock_error(self):
        self.start()
        code, _, err = self.vbox("startvm", "vm1", "--type", "headless")
        self.assertEqual(1, code)
        self.assertIn(
            "is already locked by a session (or being locked or unlocked)", err
        )

    def test_gui_start_without_display_fails_like_the_real_one(self):
        with mock.patch.dict(os.environ, {"DISPLAY": ""}):
            code, _, err = self.vbox("startvm", "vm1")
        self.assertEqual(1, code)
        self.assertIn("VERR_FILE_NOT_FOUND", err)
        self.assertEqual("poweroff", self.mr("vm1")["VMState"])

    def test_modifyvm_on_running_vm_is_locked(self):
        self.start()
        code, _, err = self.vbox("modifyvm", "vm1", "--memory", "256")
        self.assertEqual(1, code)
        self.assertEqual(
            "VBoxManage: error: The machine 'vm1' is already locked for a"
            " session (or being unlocked)\nVBoxManage: error: Details: code"
            " VBOX_E_INVALID_OBJECT_STATE (0x80bb0007), component MachineWrap,"
            " interface IMachine, callee nsISupports\nVBoxManage: error:"
            ' Context: "LockMachine(a->session, LockType_Write)" at line 901'
            " of file VBoxManageModifyVM.cpp\n",
            err,
        )
        self.assertEqual("1024", self.mr("vm1")["memory"])

    def test_pause_resume_poweroff(self):
        self.start()
        self.ok("controlvm", "vm1", "pause")
        self.assertEqual("paused", self.mr("vm1")["VMState"])
        code, _, err = self.vbox("controlvm", "vm1", "pause")
        self.assertEqual(1, code)
        self.assertIn("Already paused", err)
        self.ok("controlvm", "vm1", "resume")
        self.assertEqual("running", self.mr("vm1")["VMState"])
        code, out, err = self.vbox("controlvm", "vm1", "poweroff")
        self.assertEqual((0, ""), (code, out))
        self.assertEqual(cli.PROGRESS, err)
        self.assertEqual("poweroff", self.mr("vm1")["VMState"])
        self.assertEqual("", self.ok("list", "runningvms"))

    def test_the_vm_process_logs_its_state_changes_as_the_real_one(self):
        # vboxsim/data/vbox-log-states.txt: the real lines.
        self.start()
        self.ok("controlvm", "vm1", "pause")
        self.ok("controlvm", "vm1", "resume")
        self.ok("controlvm", "vm1", "savestate")
        self.start()
        logs = os.path.join(os.path.dirname(self.mr("vm1")["CfgFile"]),
                            "Logs")

        def states(name):
            with open(os.path.join(logs, name)) as f:
                return [re.sub(r"^\d\d:\d\d:\d\d\.\d{6} ", "", line)
                        for line in f.read().splitlines()
                        if "Machine state changed" in line]
        self.assertEqual(
            ["Console: Machine state changed to '%s'" % name
             for name in ("Running", "Paused", "Running", "Saved")],
            states("VBox.log.1"))
        self.assertEqual(["Console: Machine state changed to 'Running'"],
                         states("VBox.log"))

    def test_runtime_nic_changes(self):
        self.start()
        self.ok("controlvm", "vm1", "setlinkstate1", "off")
        self.ok("controlvm", "vm1", "nic2", "natnetwork", "natnet0")
        self.ok("controlvm", "vm1", "nic3", "bridged", "eth0")
        info = self.mr("vm1")
        self.assertEqual(
            ("off", "natnetwork", "natnet0", "bridged", "eth0"),
            (
                info["cableconnected1"],
                info["nic2"],
                info["nat-network2"],
                info["nic3"],
                info["bridgeadapter3"],
            ),
        )
        self.ok("controlvm", "vm1", "nic2", "null")
        self.assertEqual("null", self.mr("vm1")["nic2"])

    def test_controlvm_not_running(self):
        for action in (
            "poweroff",
            "savestate",
            "acpipowerbutton",
            "pause",
            "resume",
            "reset",
        ):
            self.assertEqual(
                (
                    1,
                    "",
                    (
                        "VBoxManage: error: Machine 'vm1' is not currently"
                        " running.\n"
                    ),
                ),
                self.vbox("controlvm", "vm1", action),
            )

    def test_savestate_then_discardstate(self):
        self.start()
        self.vbox("controlvm", "vm1", "savestate")
        info = self.mr("vm1")
        self.assertEqual("saved", info["VMState"])
        self.assertTrue(os.path.exists(info["VMStateFile"]))
        self.assertEqual((0, "", ""), self.vbox("discardstate", "vm1"))
        self.assertEqual("poweroff", self.mr("vm1")["VMState"])
        self.assertFalse(os.path.exists(info["VMStateFile"]))

    def test_saved_vm_restarts(self):
        self.start()
        self.vbox("controlvm", "vm1", "savestate")
        self.start()
        self.assertEqual("running", self.mr("vm1")["VMState"])
        self.assertNotIn("VMStateFile", self.mr("vm1"))

    def test_discardstate_on_powered_off_vm_reports_error_but_exits_0(self):
        code, out, err = self.vbox("discardstate", "vm1")
        self.assertEqual((0, ""), (code, out))
        self.assertIn("machine state: PoweredOff", err)

    def test_state_change_time_moves(self):
        before = self.mr("vm1")["VMStateChangeTime"]
        time.sleep(0.01)
        self.start()
        self.assertNotEqual(before, self.mr("vm1")["VMStateChangeTime"])


class DiskHotplugTest(base.SimTestCase):
    """storageattach on a running VM hot-plugs hard disks on SATA."""

    def setUp(self):
        super().setUp()
        self.ok("createvm", "--name", "vm1", "--register")
        self.ok("storagectl", "vm1", "--name", "SATA", "--add", "sata")
        self.ok("storagectl", "vm1", "--name", "IDE", "--add", "ide")
        for name in ("boot", "hot", "ide"):
            self.ok("createmedium", "disk", "--filename",
                    self.path(name + ".vdi"), "--size", "8")
        self.ok("storageattach", "vm1", "--storagectl", "SATA", "--port",
                "0", "--device", "0", "--type", "hdd", "--medium",
                self.path("boot.vdi"))
        self.ok("startvm", "vm1", "--type", "headless")

    def _attach(self, ctl, port, medium):
        return self.vbox("storageattach", "vm1", "--storagectl", ctl,
                         "--port", str(port), "--device", "0", "--type",
                         "hdd", "--medium", medium)

    def test_attach_and_detach_on_sata(self):
        self.assertEqual((0, "", ""), self._attach("SATA", 1,
                                                   self.path("hot.vdi")))
        info = self.mr("vm1")
        self.assertEqual(self.path("hot.vdi"), info["SATA-1-0"])
        self.assertEqual("on", info["SATA-hot-pluggable-1-0"])
        self.assertEqual((0, "", ""), self._attach("SATA", 1, "none"))
        self.assertEqual("none", self.mr("vm1")["SATA-1-0"])

    def test_detach_of_a_disk_not_hot_pluggable_is_refused(self):
        code, out, err = self._attach("SATA", 0, "none")
        self.assertEqual((1, ""), (code, out))
        self.assertEqual(
            "VBoxManage: error: The device slot 0 on port 0 of controller"
            " 'SATA' does not support hotplugging\nVBoxManage: error:"
            " Details: code VBOX_E_NOT_SUPPORTED (0x80bb0009), component"
            " SessionMachine, interface IMachine, callee nsISupports\n"
            'VBoxManage: error: Context: "DetachDevice(Bstr(pszCtl).raw(),'
            ' port, device)" at line 413 of file'
            " VBoxManageStorageController.cpp\n",
            err,
        )
        self.assertEqual(self.path("boot.vdi"), self.mr("vm1")["SATA-0-0"])

    def test_ide_does_not_hot_plug(self):
        code, out, err = self._attach("IDE", 0, self.path("ide.vdi"))
        self.assertEqual((1, ""), (code, out))
        self.assertIn(
            "VBoxManage: error: Controller 'IDE' does not support"
            " hotplugging\nVBoxManage: error: Details: code"
            " VBOX_E_INVALID_VM_STATE (0x80bb0002)",
            err,
        )
        self.assertEqual("none", self.mr("vm1").get("IDE-0-0", "none"))

    def test_hotpluggable_flag_fails_after_the_attach(self):
        code, _, err = self.vbox(
            "storageattach", "vm1", "--storagectl", "SATA", "--port", "1",
            "--device", "0", "--type", "hdd", "--medium",
            self.path("hot.vdi"), "--hotpluggable", "on")
        # 7.2.22: attached, then SetHotPluggableForDevice fails
        self.assertEqual(1, code)
        self.assertIn("The machine is not mutable (state is Running)", err)
        self.assertEqual(self.path("hot.vdi"), self.mr("vm1")["SATA-1-0"])


class AcpiTest(base.SimTestCase):
    extra_env = {"VBOXSIM_ACPI_DELAY": "0.3"}

    def setUp(self):
        super().setUp()
        self.ok("createvm", "--name", "vm1", "--register")
        self.ok("startvm", "vm1", "--type", "headless")

    def test_guest_honours_power_button_after_the_delay(self):
        self.assertEqual(
            (0, "", ""), self.vbox("controlvm", "vm1", "acpipowerbutton")
        )
        self.assertEqual("running", self.mr("vm1")["VMState"])
        time.sleep(0.35)
        info = self.mr("vm1")
        self.assertEqual("poweroff", info["VMState"])
        self.assertNotIn("SessionName", info)
        self.assertEqual("", self.ok("list", "runningvms"))

    def test_negative_delay_means_guest_ignores_acpi(self):
        with mock.patch.dict(os.environ, {"VBOXSIM_ACPI_DELAY": "-1"}):
            self.ok("controlvm", "vm1", "acpipowerbutton")
        time.sleep(0.35)
        self.assertEqual("running", self.mr("vm1")["VMState"])
        self.vbox("controlvm", "vm1", "poweroff")
        self.assertEqual("poweroff", self.mr("vm1")["VMState"])

    def test_acpi_disabled_guest_ignores_button(self):
        self.vbox("controlvm", "vm1", "poweroff")
        self.ok("modifyvm", "vm1", "--acpi", "off")
        self.ok("startvm", "vm1", "--type", "headless")
        self.ok("controlvm", "vm1", "acpipowerbutton")
        time.sleep(0.35)
        self.assertEqual("running", self.mr("vm1")["VMState"])


class CrashTest(base.SimTestCase):
    extra_env = {"VBOXSIM_CRASH_AFTER": "0.2"}

    def test_vm_process_crash_leaves_vm_aborted(self):
        self.ok("createvm", "--name", "vm1", "--register")
        self.ok("startvm", "vm1", "--type", "headless")
        time.sleep(0.25)
        self.assertEqual("aborted", self.mr("vm1")["VMState"])
        self.assertEqual(
            (
                1,
                "",
                "VBoxManage: error: Machine 'vm1' is not currently running.\n",
            ),
            self.vbox("controlvm", "vm1", "poweroff"),
        )
        os.environ.pop("VBOXSIM_CRASH_AFTER")
        self.ok("startvm", "vm1", "--type", "headless")
        self.assertEqual("running", self.mr("vm1")["VMState"])
