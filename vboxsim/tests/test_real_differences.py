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

"""Behaviours checked on the real VBoxManage 7.2.22 (tools/real-vbox) where
the simulator used to differ."""

import os

from vboxsim.tests import base
from vboxsim import vdi

MB = 1024 * 1024


class RealDifferencesTest(base.SimTestCase):

    def _vm(self, name, disk=None):
        self.ok("createvm", "--name", name, "--basefolder",
                self.path("vms"), "--register")
        self.ok("storagectl", name, "--name", "SATA", "--add", "sata",
                "--portcount", "4")
        if disk:
            self.attach(name, 0, disk)

    def attach(self, vm, port, medium, kind="hdd"):
        self.ok("storageattach", vm, "--storagectl", "SATA", "--port",
                str(port), "--device", "0", "--type", kind, "--medium",
                medium)

    def disk(self, name, parent=None):
        path = self.path(name)
        if parent:
            self.ok("createmedium", "disk", "--filename", path,
                    "--diffparent", parent)
        else:
            self.ok("createmedium", "disk", "--filename", path, "--size", "16")
        return path

    def test_resize_differencing_vdi_grows_it(self):
        parent = self.disk("base.vdi")
        child = self.disk("diff.vdi", parent)
        vdi.write_block(child, 3, b"data")
        self.ok("modifymedium", "disk", child, "--resize", "128")
        header = vdi.read_header(child)
        self.assertEqual(vdi.TYPE_DIFF, header["type"])
        self.assertEqual(128 * MB, header["capacity"])
        self.assertEqual(vdi.read_header(parent)["uuid"],
                         header["parent_uuid"])
        self.assertTrue(dict(vdi.read_blocks(child))[3].startswith(b"data"))
        self.assertIn("Capacity:       128 MBytes",
                      self.ok("showmediuminfo", child))
        self.assertIn("Capacity:       16 MBytes",
                      self.ok("showmediuminfo", parent))

    def test_grow_moves_data_when_the_block_map_outgrows_its_room(self):
        path = self.disk("big.vdi")
        vdi.write_block(path, 0, b"first")
        vdi.grow(path, 300 * 1024 * MB)       # > 256 Ki blocks of 1 MiB
        header = vdi.read_header(path)
        self.assertEqual(3 * MB, header["off_data"])
        self.assertTrue(dict(vdi.read_blocks(path))[0].startswith(b"first"))

    def test_unregister_delete_deletes_the_parent_of_an_only_child(self):
        parent = self.disk("b.vdi")
        self._vm("a", self.disk("d.vdi", parent))
        self.ok("unregistervm", "a", "--delete")
        self.assertFalse(os.path.exists(parent))
        self.assertNotIn(parent, self.ok("list", "hdds"))

    def test_parent_survives_until_its_last_child_goes(self):
        parent = self.disk("b.vdi")
        self._vm("a", self.disk("d1.vdi", parent))
        self._vm("b", self.disk("d2.vdi", parent))
        self.ok("unregistervm", "a", "--delete")
        self.assertTrue(os.path.exists(parent))
        self.ok("unregistervm", "b", "--delete")
        self.assertFalse(os.path.exists(parent))

    def test_pin_child_keeps_the_parent(self):
        parent = self.disk("b.vdi")
        pin = self.disk("b.pin.vdi", parent)
        self._vm("a", self.disk("d.vdi", parent))
        self.ok("unregistervm", "a", "--delete")
        self.assertTrue(os.path.exists(parent))
        self.assertTrue(os.path.exists(pin))
        self.assertIn(parent, self.ok("list", "hdds"))

    def test_whole_chain_goes_and_immutable_parent_stays(self):
        top = self.disk("b.vdi")
        middle = self.disk("m.vdi", top)
        self._vm("a", self.disk("d.vdi", middle))
        self.ok("unregistervm", "a", "--delete")
        self.assertFalse(os.path.exists(middle))
        self.assertFalse(os.path.exists(top))
        immutable = self.disk("i.vdi")
        self.ok("modifymedium", "disk", immutable, "--type", "immutable")
        self._vm("b", self.disk("e.vdi", immutable))
        self.ok("unregistervm", "b", "--delete")
        self.assertTrue(os.path.exists(immutable))

    def test_two_children_on_one_vm_keep_the_parent(self):
        parent = self.disk("b.vdi")
        self._vm("a", self.disk("d1.vdi", parent))
        self.attach("a", 1, self.disk("d2.vdi", parent))
        self.ok("unregistervm", "a", "--delete")
        self.assertTrue(os.path.exists(parent))

    def test_plain_unregister_forgets_the_only_child_parent(self):
        parent = self.disk("b.vdi")
        child = self.disk("d.vdi", parent)
        self._vm("a", child)
        self.ok("unregistervm", "a")
        self.assertTrue(os.path.exists(parent))
        self.assertNotIn(parent, self.ok("list", "hdds"))

    def test_iscsi_location_has_no_port(self):
        self._vm("a")
        self.ok("storageattach", "a", "--storagectl", "SATA", "--port", "0",
                "--device", "0", "--type", "hdd", "--medium", "iscsi",
                "--server", "127.0.0.1", "--target", "iqn.x:v", "--lun",
                "0", "--tport", "3261")
        self.assertEqual("127.0.0.1|iqn.x:v", self.mr("a")["SATA-0-0"])

    def test_vrde_extpack_must_be_installed(self):
        self._vm("a")
        code, out, err = self.vbox("modifyvm", "a", "--vrde-extpack",
                                   "bogus")
        self.assertEqual(1, code)
        self.assertEqual(
            "VBoxManage: error: No extension pack by the name 'bogus' was "
            "found\nVBoxManage: error: Details: code VBOX_E_OBJECT_NOT_FOUND"
            " (0x80bb0001), component ExtPackManagerWrap, interface "
            "IExtPackManager, callee nsISupports\nVBoxManage: error: "
            "Context: \"COMSETTER(VRDEExtPack)(bstr.raw())\" at line 2954 of"
            " file VBoxManageModifyVM.cpp\n", err)
        self.ok("modifyvm", "a", "--vrde-extpack", "VNC")

    def test_live_snapshot_of_stopped_vm_fails(self):
        self._vm("a")
        code, out, err = self.vbox("snapshot", "a", "take", "s", "--live")
        self.assertEqual(1, code)
        self.assertIn("Cannot take a live snapshot of a virtual machine "
                      "unless it is running.", err)
        self.assertIn("VBOX_E_INVALID_VM_STATE", err)
        code, out, _ = self.vbox("snapshot", "a", "list")
        self.assertIn("does not have any snapshots", out)

    def test_dvd_image_lines_and_type(self):
        iso = self.path("t.iso")
        with open(iso, "wb") as f:
            f.write(bytes(40960))
        self._vm("a")
        self.attach("a", 1, iso, "dvddrive")
        info = self.ok("showvminfo", "a", "--machinereadable")
        lines = [line for line in info.splitlines()
                 if line.startswith('"SATA-') and "-1-0" in line]
        self.assertEqual(
            ['"SATA-1-0"="%s"' % iso, '"SATA-ImageUUID-1-0"',
             '"SATA-tempeject-1-0"="off"', '"SATA-IsEjected-1-0"="off"',
             '"SATA-hot-pluggable-1-0"="off"',
             '"SATA-nonrotational-1-0"="off"', '"SATA-discard-1-0"="off"'],
            [line if "ImageUUID" not in line else line.split("=")[0]
             for line in lines])
        self.assertIn("Type:           readonly", self.ok("list", "dvds"))

    def test_groups_change_moves_the_machine_folder(self):
        self._vm("a", self.disk("root.vdi"))
        self.ok("snapshot", "a", "take", "s1")
        diff = self.mr("a")["SATA-0-0"]
        self.ok("modifyvm", "a", "--groups", "/g")
        info = self.mr("a")
        new_dir = self.path("vms", "g", "a")
        self.assertEqual(os.path.join(new_dir, "a.vbox"), info["CfgFile"])
        self.assertEqual(os.path.join(new_dir, "Snapshots"),
                         info["SnapFldr"])
        self.assertTrue(os.path.exists(info["CfgFile"]))
        self.assertFalse(os.path.exists(self.path("vms", "a")))
        self.assertEqual(os.path.join(new_dir, "Snapshots",
                                      os.path.basename(diff)),
                         info["SATA-0-0"])
        self.assertTrue(os.path.exists(info["SATA-0-0"]))

    def test_snapshot_delete_merges_back_into_the_base(self):
        root = self.disk("root.vdi")
        self._vm("a", root)
        self.ok("snapshot", "a", "take", "s1")
        self.ok("snapshot", "a", "delete", "s1")
        self.assertEqual(root, self.mr("a")["SATA-0-0"])
        self.assertEqual([], os.listdir(self.mr("a")["SnapFldr"])
                         if os.path.isdir(self.mr("a")["SnapFldr"]) else [])
