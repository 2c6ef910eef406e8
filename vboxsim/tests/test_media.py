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

"""Disk images are real files: VDI layout, qemu-img compatibility, snapshots
and clones."""

import json
import os
import shutil
import subprocess
import unittest

from vboxsim.tests import base
from vboxsim import vdi

QEMU_IMG = shutil.which("qemu-img")
MB = 1024 * 1024


def qemu_info(path):
    out = subprocess.run(
        [QEMU_IMG, "info", "--output=json", path],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


class VdiFileTest(base.SimTestCase):

    def test_new_dynamic_vdi_is_small_and_has_the_printed_uuid(self):
        path = self.path("a.vdi")
        out = self.ok(
            "createmedium", "disk", "--filename", path, "--size", "64"
        )
        medium_uuid = out.split("UUID: ")[1].strip()
        header = vdi.read_header(path)
        self.assertEqual(
            (vdi.TYPE_DYNAMIC, 64 * MB, medium_uuid, 0),
            (
                header["type"],
                header["capacity"],
                header["uuid"],
                header["allocated"],
            ),
        )
        self.assertEqual(2 * MB, os.path.getsize(path))
        with open(path, "rb") as handle:
            self.assertTrue(
                handle.read(64).startswith(
                    b"<<< Oracle VM VirtualBox Disk Image >>>"
                )
            )

    def test_fixed_variant(self):
        path = self.path("f.vdi")
        self.ok(
            "createmedium",
            "disk",
            "--filename",
            path,
            "--size",
            "8",
            "--variant",
            "Fixed",
        )
        self.assertEqual(vdi.TYPE_FIXED, vdi.read_header(path)["type"])
        self.assertEqual(10 * MB, os.path.getsize(path))
        self.assertIn(
            "Format variant: fixed default", self.ok("showmediuminfo", path)
        )

    def test_diff_image_points_at_parent(self):
        parent, child = self.path("p.vdi"), self.path("c.vdi")
        self.ok("createmedium", "disk", "--filename", parent, "--size", "16")
        self.ok(
            "createmedium", "disk", "--filename", child, "--diffparent", parent
        )
        header = vdi.read_header(child)
        self.assertEqual(vdi.TYPE_DIFF, header["type"])
        self.assertEqual(
            vdi.read_header(parent)["uuid"], header["parent_uuid"]
        )
        info = self.ok("showmediuminfo", child)
        self.assertIn("Type:           normal (differencing)", info)
        self.assertIn("Parent UUID:    %s" % header["parent_uuid"], info)

    def test_clone_copies_allocated_blocks_only(self):
        src, dst = self.path("s.vdi"), self.path("d.vdi")
        self.ok("createmedium", "disk", "--filename", src, "--size", "32")
        vdi.write_block(src, 5, b"payload")
        self.ok("clonemedium", "disk", src, dst)
        self.assertEqual({5}, set(dict(vdi.read_blocks(dst))))
        self.assertEqual(3 * MB, os.path.getsize(dst))

    def test_missing_folders_of_a_new_image_are_made(self):
        # Real 7.2.22: createmedium and clonemedium into a folder that does
        # not exist make it and succeed.
        src = self.path("new/deeper/s.vdi")
        dst = self.path("other/d.vdi")
        self.ok("createmedium", "disk", "--filename", src, "--size", "8")
        self.ok("clonemedium", "disk", src, dst, "--format", "VDI")
        self.assertTrue(os.path.isfile(src))
        self.assertTrue(os.path.isfile(dst))

    def test_resize_grows_and_compact_keeps_data(self):
        path = self.path("r.vdi")
        self.ok("createmedium", "disk", "--filename", path, "--size", "16")
        vdi.write_block(path, 1, b"keep")
        self.ok("modifymedium", "disk", path, "--resize", "64")
        self.ok("modifymedium", "disk", path, "--compact")
        self.assertEqual(64 * MB, vdi.read_header(path)["capacity"])
        self.assertTrue(dict(vdi.read_blocks(path))[1].startswith(b"keep"))
        self.assertIn(
            "Capacity:       64 MBytes", self.ok("showmediuminfo", path)
        )

    def test_medium_whose_file_vanished_is_inaccessible(self):
        path = self.path("gone.vdi")
        self.ok("createmedium", "disk", "--filename", path, "--size", "4")
        os.unlink(path)
        listed = self.ok("list", "hdds")
        self.assertIn("State:          inaccessible\n", listed)
        self.assertIn("Capacity:       0 MBytes\n", listed)
        self.assertIn(
            "VD: error VERR_FILE_NOT_FOUND opening image file '%s'" % path,
            self.ok("showmediuminfo", "disk", path),
        )

    def test_closemedium_delete_removes_file(self):
        path = self.path("x.vdi")
        self.ok("createmedium", "disk", "--filename", path, "--size", "4")
        self.ok("closemedium", "disk", path, "--delete")
        self.assertFalse(os.path.exists(path))
        self.assertEqual("", self.ok("list", "hdds"))


@unittest.skipIf(QEMU_IMG is None, "qemu-img not installed")
class QemuCompatibilityTest(base.SimTestCase):

    def test_qemu_img_reads_simulator_vdi(self):
        path = self.path("q.vdi")
        self.ok("createmedium", "disk", "--filename", path, "--size", "64")
        info = qemu_info(path)
        self.assertEqual(
            ("vdi", 64 * MB), (info["format"], info["virtual-size"])
        )
        subprocess.run(
            [QEMU_IMG, "check", path], check=True, capture_output=True
        )

    def test_vdi_written_by_qemu_is_registered_with_its_header_values(self):
        raw, path = self.path("img.raw"), self.path("from-qemu.vdi")
        with open(raw, "wb") as handle:
            handle.truncate(48 * MB)
        subprocess.run(
            [QEMU_IMG, "convert", "-O", "vdi", raw, path], check=True
        )
        header = vdi.read_header(path)
        info = self.ok("showmediuminfo", "disk", path)
        self.assertIn("UUID:           %s" % header["uuid"], info)
        self.assertIn("Capacity:       48 MBytes", info)
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
            path,
        )
        self.assertEqual(header["uuid"], self.mr("vm")["SATA-ImageUUID-0-0"])

    def test_vmdk_clone_is_a_real_vmdk(self):
        src, dst = self.path("s.vdi"), self.path("s.vmdk")
        self.ok("createmedium", "disk", "--filename", src, "--size", "16")
        out = self.ok("clonemedium", "disk", src, dst, "--format", "VMDK")
        self.assertIn("Clone medium created in format 'VMDK'.", out)
        self.assertEqual(
            ("vmdk", 16 * MB),
            (qemu_info(dst)["format"], qemu_info(dst)["virtual-size"]),
        )


class SnapshotDiskTest(base.SimTestCase):

    def setUp(self):
        super().setUp()
        self.disk = self.path("root.vdi")
        self.ok("createvm", "--name", "vm", "--ostype", "Ubuntu_64",
                "--register")
        self.ok(
            "storagectl",
            "vm",
            "--name",
            "SATA",
            "--add",
            "sata",
            "--portcount",
            "2",
        )
        self.ok(
            "createmedium", "disk", "--filename", self.disk, "--size", "16"
        )
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
            self.disk,
        )

    def test_take_creates_diff_in_snapshots_folder_and_repoints(self):
        self.ok("snapshot", "vm", "take", "s1")
        attached = self.mr("vm")["SATA-0-0"]
        self.assertEqual(
            os.path.join(
                os.path.dirname(self.mr("vm")["CfgFile"]), "Snapshots"
            ),
            os.path.dirname(attached),
        )
        self.assertEqual(
            vdi.read_header(self.disk)["uuid"],
            vdi.read_header(attached)["parent_uuid"],
        )
        self.assertIn(
            "In use by VMs:  vm (UUID: %s) [s1 (UUID: "
            % self.mr("vm")["UUID"],
            self.ok("showmediuminfo", self.disk),
        )

    def test_delete_merges_data_back(self):
        self.ok("snapshot", "vm", "take", "s1")
        diff = self.mr("vm")["SATA-0-0"]
        vdi.write_block(diff, 2, b"written after the snapshot")
        self.ok("snapshot", "vm", "delete", "s1")
        self.assertEqual(self.disk, self.mr("vm")["SATA-0-0"])
        self.assertFalse(os.path.exists(diff))
        self.assertTrue(
            dict(vdi.read_blocks(self.disk))[2].startswith(b"written after")
        )

    def test_restore_discards_current_state(self):
        self.ok("snapshot", "vm", "take", "s1")
        first = self.mr("vm")["SATA-0-0"]
        self.ok("snapshot", "vm", "restore", "s1")
        second = self.mr("vm")["SATA-0-0"]
        self.assertNotEqual(first, second)
        self.assertFalse(os.path.exists(first))

    def test_linked_clone_shares_base(self):
        self.ok("snapshot", "vm", "take", "s1")
        self.ok(
            "clonevm",
            "vm",
            "--snapshot",
            "s1",
            "--options",
            "link",
            "--name",
            "lc",
            "--register",
        )
        linked = self.mr("lc")["SATA-0-0"]
        self.assertEqual(
            vdi.read_header(self.disk)["uuid"],
            vdi.read_header(linked)["parent_uuid"],
        )
        self.assertNotEqual(
            self.mr("vm")["macaddress1"], self.mr("lc")["macaddress1"]
        )

    def test_full_clone_copies_disk(self):
        self.ok("clonevm", "vm", "--name", "fc", "--register")
        copy = self.mr("fc")["SATA-0-0"]
        self.assertEqual("fc.vdi", os.path.basename(copy))
        self.assertEqual(vdi.TYPE_DYNAMIC, vdi.read_header(copy)["type"])

    def test_unregister_delete_removes_disks_and_folder(self):
        cfg = self.mr("vm")["CfgFile"]
        self.ok("unregistervm", "vm", "--delete")
        self.assertFalse(os.path.exists(self.disk))
        self.assertFalse(os.path.exists(os.path.dirname(cfg)))

    def test_multiattach_gets_per_vm_diff(self):
        base_disk = self.path("base.vdi")
        self.ok("createmedium", "disk", "--filename", base_disk, "--size", "8")
        self.ok(
            "storageattach",
            "vm",
            "--storagectl",
            "SATA",
            "--port",
            "1",
            "--device",
            "0",
            "--type",
            "hdd",
            "--medium",
            base_disk,
        )
        self.ok(
            "storageattach",
            "vm",
            "--storagectl",
            "SATA",
            "--port",
            "1",
            "--device",
            "0",
            "--medium",
            "none",
        )
        self.ok("modifymedium", "disk", base_disk, "--type", "multiattach")
        self.ok(
            "storageattach",
            "vm",
            "--storagectl",
            "SATA",
            "--port",
            "1",
            "--device",
            "0",
            "--type",
            "hdd",
            "--medium",
            base_disk,
        )
        attached = self.mr("vm")
        self.assertEqual(
            "{%s}.vdi" % attached["SATA-ImageUUID-1-0"],
            os.path.basename(attached["SATA-1-0"]),
        )
