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

"""Command coverage beyond the transcripts: entry points, host info, modifyvm
options, misc."""

import contextlib
import io
import os
import re

from vboxsim import cli
from vboxsim.tests import base
from vboxsim.tests import transcript


class EntryPointTest(base.SimTestCase):

    def test_python_m_version(self):
        result = self.cli("--version", env={"VBOXSIM_LATENCY": "0"})
        self.assertEqual(
            (0, "7.2.22_Debianr175245\n", ""),
            (result.returncode, result.stdout, result.stderr),
        )

    def test_main_returns_exit_code(self):
        with contextlib.redirect_stderr(io.StringIO()) as err:
            self.assertEqual(2, cli.main(["frobnicate"]))
        self.assertIn(
            "VBoxManage: error: Invalid command 'frobnicate'", err.getvalue()
        )

    def test_nologo_prefix(self):
        self.assertEqual(
            (0, "7.2.22_Debianr175245\n", ""),
            self.vbox("-q", "--nologo", "--version"),
        )

    def test_non_numeric_value_for_numeric_option(self):
        self.ok("createvm", "--name", "vm", "--register")
        self.ok("storagectl", "vm", "--name", "SATA", "--add", "sata")
        code, out, err = self.vbox(
            "storageattach",
            "vm",
            "--storagectl",
            "SATA",
            "--port",
            "x",
            "--medium",
            "none",
        )
        self.assertEqual((1, ""), (code, out))
        self.assertTrue(err.endswith("VBoxManage: error: "))

    def test_equals_form_options(self):
        out = self.ok(
            "createvm", "--name=eq", "--ostype=Linux_64", "--register"
        )
        self.assertIn("Virtual machine 'eq' is created and registered.", out)


class HostInfoTest(base.SimTestCase):

    def _shape(self, text):
        text = re.sub(r": .*", ": X", text)
        return re.sub(r"Processor#\d+", "Processor#N", text)

    def test_hostinfo_has_the_transcript_layout(self):
        real = transcript.load("03-list-hostinfo.txt").stdout
        ours = self.ok("list", "hostinfo")
        self.assertEqual(
            sorted(set(self._shape(real).splitlines())),
            sorted(set(self._shape(ours).splitlines())),
        )

    def test_host_overrides(self):
        os.environ.update(VBOXSIM_HOST_CPUS="6", VBOXSIM_HOST_MEMORY_MB="4096")
        out = self.ok("list", "hostinfo")
        self.assertIn("Processor count: 6\n", out)
        self.assertIn("Processor#5 speed: ", out)
        self.assertIn("Memory size: 4096 MByte\n", out)

    def test_bridgedifs_layout(self):
        def keys(lines):
            return [line.split(":")[0] for line in lines[:13]]

        ours = self.ok("list", "bridgedifs").splitlines()
        if ours:
            self.assertEqual(
                keys(
                    transcript.load(
                        "74-list-bridgedifs.txt"
                    ).stdout.splitlines()
                ),
                keys(ours),
            )


class ModifyVmTest(base.SimTestCase):

    def setUp(self):
        super().setUp()
        self.ok(
            "createvm", "--name", "vm", "--ostype", "Linux_64", "--register"
        )

    def test_many_options_read_back(self):
        self.ok(
            "modifyvm",
            "vm",
            "--memory",
            "2048",
            "--cpus",
            "2",
            "--vram",
            "32",
            "--firmware",
            "efi",
            "--acpi",
            "off",
            "--ioapic",
            "on",
            "--rtcuseutc",
            "off",
            "--boot1",
            "disk",
            "--boot2",
            "net",
            "--graphicscontroller",
            "vmsvga",
            "--nic1",
            "bridged",
            "--bridgeadapter1",
            "eth0",
            "--nictype1",
            "virtio",
            "--macaddress1",
            "0800271A2B3C",
            "--cableconnected1",
            "off",
            "--nic2",
            "intnet",
            "--intnet2",
            "net2",
            "--nic3",
            "natnetwork",
            "--nat-network3",
            "nn",
            "--nic4",
            "hostonly",
            "--hostonlyadapter4",
            "vboxnet0",
            "--uart1",
            "0x3F8",
            "4",
            "--uartmode1",
            "tcpserver",
            "7001",
            "--uart2",
            "0x2F8",
            "3",
            "--uart-mode2",
            "server",
            "/tmp/p",
            "--vrde",
            "on",
            "--vrdeport",
            "5901",
            "--vrdeaddress",
            "127.0.0.1",
            "--vrdeauthtype",
            "external",
            "--vrdemulticon",
            "on",
            "--cpuexecutioncap",
            "50",
            "--hwvirtex",
            "on",
            "--nested-paging",
            "off",
            "--pae",
            "off",
            "--longmode",
            "on",
            "--paravirtprovider",
            "kvm",
            "--audio",
            "none",
            "--usb",
            "on",
            "--mouse",
            "usbtablet",
            "--keyboard",
            "usb",
            "--clipboard",
            "bidirectional",
            "--autostart-enabled",
            "on",
            "--description",
            'say "hi"',
            "--groups",
            "/a,/b",
        )
        info = self.mr("vm")
        expected = {
            "memory": "2048",
            "cpus": "2",
            "vram": "32",
            "firmware": "EFI",
            "acpi": "off",
            "rtcuseutc": "off",
            "boot1": "disk",
            "boot2": "net",
            "graphicscontroller": "vmsvga",
            "nic1": "bridged",
            "bridgeadapter1": "eth0",
            "nictype1": "virtio",
            "macaddress1": "0800271A2B3C",
            "cableconnected1": "off",
            "nic2": "intnet",
            "intnet2": "net2",
            "nic3": "natnetwork",
            "nat-network3": "nn",
            "nic4": "hostonly",
            "hostonlyadapter4": "vboxnet0",
            "uart1": "0x03f8,4",
            "uartmode1": "tcpserver,7001",
            "uartmode2": "server,/tmp/p",
            "vrde": "on",
            "vrdeport": "-1",
            "vrdeports": "5901",
            "vrdeaddress": "127.0.0.1",
            "vrdeauthtype": "external",
            "vrdemulticon": "on",
            "cpuexecutioncap": "50",
            "nestedpaging": "off",
            "pae": "off",
            "paravirtprovider": "kvm",
            "audio": "none",
            "usb": "on",
            "hidpointing": "usbtablet",
            "hidkeyboard": "usbkbd",
            "clipboard": "bidirectional",
            "autostart-enabled": "on",
            "groups": "/a,/b",
        }
        self.assertEqual(expected, {key: info.get(key) for key in expected})
        self.assertIn(
            'description="say \\"hi\\""',
            self.ok("showvminfo", "vm", "--machinereadable"),
        )

    def test_uart_file_mode_and_natpf_delete(self):
        self.ok(
            "modifyvm",
            "vm",
            "--uart1",
            "0x3F8",
            "4",
            "--uartmode1",
            "file",
            "/tmp/console.log",
            "--natpf1",
            "ssh,tcp,,2222,,22",
            "--natpf1",
            "web,tcp,,8080,,80",
        )
        out = self.ok("showvminfo", "vm", "--machinereadable")
        self.assertIn('uartmode1="file,/tmp/console.log"\n', out)
        self.assertIn(
            'Forwarding(0)="ssh,tcp,,2222,,22"\n'
            'Forwarding(1)="web,tcp,,8080,,80"\n',
            out,
        )
        self.ok("modifyvm", "vm", "--natpf1", "delete", "ssh")
        self.assertNotIn(
            "ssh,tcp", self.ok("showvminfo", "vm", "--machinereadable")
        )

    def test_vrde_property_needs_a_value(self):
        self.assertEqual(
            (
                1,
                "",
                (
                    "VBoxManage: error: Invalid --vrdeproperty argument "
                    "'VNCPassword'\n"
                ),
            ),
            self.vbox("modifyvm", "vm", "--vrde-property", "VNCPassword"),
        )

    def test_unmodelled_documented_option_is_accepted(self):
        self.ok("modifyvm", "vm", "--tpm-type", "2.0", "--large-pages", "on")
        self.assertEqual("on", self.mr("vm")["largepages"])

    def test_rename_moves_settings_file(self):
        old_cfg = self.mr("vm")["CfgFile"]
        self.ok("modifyvm", "vm", "--name", "renamed")
        new_cfg = self.mr("renamed")["CfgFile"]
        self.assertTrue(new_cfg.endswith("/renamed/renamed.vbox"))
        self.assertTrue(os.path.isfile(new_cfg))
        self.assertFalse(os.path.exists(old_cfg))


class MiscCommandTest(base.SimTestCase):

    def test_settings_file_written_and_registervm_roundtrip(self):
        out = self.ok(
            "createvm", "--name", "u", "--basefolder", self.path("vms")
        )
        cfg = self.path("vms", "u", "u.vbox")
        self.assertIn("Settings file: '%s'" % cfg, out)
        with open(cfg) as handle:
            self.assertIn('<Machine uuid="{', handle.read())
        self.ok("registervm", cfg)
        self.assertIn('"u" {', self.ok("list", "vms"))
        self.ok("unregistervm", "u")
        self.assertTrue(os.path.isfile(cfg))

    def test_duplicate_uuid_leaves_settings_file(self):
        out = self.ok("createvm", "--name", "a", "--register")
        vm_uuid = out.split("UUID: ")[1].split()[0]
        code, _, err = self.vbox(
            "createvm", "--name", "b", "--uuid", vm_uuid, "--register"
        )
        self.assertEqual(1, code)
        self.assertIn("Registered machine with UUID {%s}" % vm_uuid, err)
        self.assertTrue(
            os.path.isfile(
                os.path.join(self.home, "VirtualBox VMs", "b", "b.vbox")
            )
        )

    def test_detach_empty_slot_fails(self):
        self.ok("createvm", "--name", "vm", "--register")
        self.ok("storagectl", "vm", "--name", "SATA", "--add", "sata")
        code, _, err = self.vbox(
            "storageattach",
            "vm",
            "--storagectl",
            "SATA",
            "--port",
            "3",
            "--device",
            "0",
            "--medium",
            "none",
        )
        self.assertEqual(1, code)
        self.assertIn(
            "No storage device attached to device slot 0 on port 3"
            " of controller 'SATA'",
            err,
        )

    def test_setproperty_machinefolder(self):
        self.ok("setproperty", "machinefolder", self.path("mf"))
        self.assertIn(
            "Default machine folder:          %s\n" % self.path("mf"),
            self.ok("list", "systemproperties"),
        )
        self.assertIn(
            self.path("mf", "x", "x.vbox"), self.ok("createvm", "--name", "x")
        )
        self.ok("setproperty", "machinefolder", "default")
        self.assertIn(
            os.path.join(self.home, "VirtualBox VMs"),
            self.ok("list", "systemproperties"),
        )

    def test_iscsi_attachment(self):
        self.ok("createvm", "--name", "vm", "--register")
        self.ok(
            "storagectl",
            "vm",
            "--name",
            "SATA",
            "--add",
            "sata",
            "--portcount",
            "1",
        )
        out = self.ok(
            "storageattach",
            "vm",
            "--storagectl",
            "SATA",
            "--port",
            "0",
            "--device",
            "0",
            "--type",
            "hdd",
            "--medium",
            "iscsi",
            "--server",
            "10.0.0.5",
            "--target",
            "iqn.x:vol",
            "--tport",
            "3260",
            "--lun",
            "1",
            "--initiator",
            "iqn.init",
        )
        self.assertTrue(out.startswith("iSCSI disk created. UUID: "))
        self.assertEqual(
            "10.0.0.5|iqn.x:vol|1", self.mr("vm")["SATA-0-0"]
        )

    def test_modifymedium_move(self):
        disk, folder = self.path("m.vdi"), self.path("moved")
        os.makedirs(folder)
        self.ok("createmedium", "disk", "--filename", disk, "--size", "4")
        out = self.ok("modifymedium", "disk", disk, "--move", folder)
        self.assertTrue(out.startswith("Move medium with UUID "))
        self.assertTrue(os.path.isfile(os.path.join(folder, "m.vdi")))
        self.assertIn(
            "Location:       %s" % os.path.join(folder, "m.vdi"),
            self.ok("list", "hdds"),
        )

    def test_iscsi_password_file(self):
        secret = self.path("chap")
        with open(secret, "w") as handle:
            handle.write("s3cret\n")
        self.ok("createvm", "--name", "vm", "--register")
        self.ok("storagectl", "vm", "--name", "SATA", "--add", "sata")
        self.ok(
            "storageattach",
            "vm",
            "--storagectl",
            "SATA",
            "--port",
            "0",
            "--device",
            "0",
            "--type",
            "hdd",
            "--medium",
            "iscsi",
            "--server",
            "10.0.0.5",
            "--target",
            "iqn.x:v",
            "--username",
            "u",
            "--passwordfile",
            secret,
        )
        info = self.ok(
            "showmediuminfo", "disk", self.mr("vm")["SATA-ImageUUID-0-0"]
        )
        self.assertIn("InitiatorSecret=s3cret", info)

    def test_dvd_attach_and_list_dvds(self):
        iso = self.path("cd.iso")
        with open(iso, "wb") as handle:
            handle.write(b"\0" * 4096)
        self.ok("createvm", "--name", "vm", "--register")
        self.ok("storagectl", "vm", "--name", "IDE", "--add", "ide")
        self.ok(
            "storageattach",
            "vm",
            "--storagectl",
            "IDE",
            "--port",
            "1",
            "--device",
            "0",
            "--type",
            "dvddrive",
            "--medium",
            iso,
        )
        self.assertEqual(iso, self.mr("vm")["IDE-1-0"])
        self.assertIn("Location:       %s" % iso, self.ok("list", "dvds"))

    def test_guestproperty_enumerate_pads_columns(self):
        self.ok("createvm", "--name", "vm", "--register")
        self.ok("guestproperty", "set", "vm", "/A", "1")
        self.ok(
            "guestproperty",
            "set",
            "vm",
            "/Longer/Name",
            "value",
            "--flags",
            "transient",
        )
        lines = self.ok("guestproperty", "enumerate", "vm").splitlines()
        self.assertRegex(lines[0], r"^/A           = '1'     @ \S+Z$")
        self.assertRegex(
            lines[1], r"^/Longer/Name = 'value' @ \S+Z TRANSIENT$"
        )

    def test_unregister_delete_with_linked_clone_child_exits_1_but_unregisters(
        self,
    ):
        disk = self.path("d.vdi")
        self.ok("createvm", "--name", "p", "--register")
        self.ok("storagectl", "p", "--name", "SATA", "--add", "sata")
        self.ok("createmedium", "disk", "--filename", disk, "--size", "8")
        self.ok(
            "storageattach",
            "p",
            "--storagectl",
            "SATA",
            "--port",
            "0",
            "--device",
            "0",
            "--type",
            "hdd",
            "--medium",
            disk,
        )
        self.ok("snapshot", "p", "take", "s")
        self.ok(
            "clonevm",
            "p",
            "--snapshot",
            "s",
            "--options",
            "link",
            "--name",
            "c",
            "--register",
        )
        code, _, err = self.vbox("unregistervm", "p", "--delete")
        self.assertEqual(1, code)
        self.assertIn("because it has 1 child media", err)
        self.assertNotIn('"p"', self.ok("list", "vms"))
        # the clone still works on the base; deleting it takes the base along
        self.assertTrue(os.path.exists(disk))
        self.ok("unregistervm", "c", "--delete")
        self.assertFalse(os.path.exists(disk))
        self.assertEqual("", self.ok("list", "hdds"))


class ApplianceTest(base.SimTestCase):

    def test_export_then_import_creates_a_copy(self):
        disk = self.path("d.vdi")
        self.ok("createvm", "--name", "src", "--register")
        self.ok(
            "storagectl",
            "src",
            "--name",
            "SATA",
            "--add",
            "sata",
            "--portcount",
            "1",
        )
        self.ok("createmedium", "disk", "--filename", disk, "--size", "8")
        self.ok(
            "storageattach",
            "src",
            "--storagectl",
            "SATA",
            "--port",
            "0",
            "--device",
            "0",
            "--type",
            "hdd",
            "--medium",
            disk,
        )
        ova = self.path("src.ova")
        self.assertEqual(
            "Successfully exported 1 machine(s).\n",
            self.ok("export", "src", "--output", ova),
        )
        dry = self.ok("import", ova, "--dry-run")
        self.assertIn('Suggested VM name "src 1"', dry)
        self.assertNotIn('"src 1"', self.ok("list", "vms"))
        self.assertTrue(
            self.ok("import", ova).endswith(
                "Successfully imported the appliance.\n"
            )
        )
        imported = self.mr("src 1")
        self.assertTrue(
            imported["SATA-0-0"].endswith("/src 1/src-disk001.vmdk")
        )
        self.assertTrue(os.path.isfile(imported["SATA-0-0"]))
