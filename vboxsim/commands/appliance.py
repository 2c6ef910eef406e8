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

"""export (OVA) and import [--dry-run] of simulator VMs.

The OVA is a tar archive holding ``<vm>.ovf`` and one stream-optimised VMDK per
hard disk (``<vm>-disk001.vmdk``...).  The OVF carries a minimal standard
envelope plus the simulator's VM record (base64 JSON), which is what ``import``
reads back.
"""

import base64
import copy
import io
import json
import os
import subprocess
import tarfile
import tempfile
import uuid as uuidlib
import xml.etree.ElementTree as ET

from vboxsim.args import Args
from vboxsim.commands import common
from vboxsim import errors
from vboxsim import media as medialib
from vboxsim import model
from vboxsim import settings_file
from vboxsim import state as statelib

VMDK_FORMAT = (
    "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"
)
OVF_NS = "http://schemas.dmtf.org/ovf/envelope/1"
CONTROLLER_TEXT = {
    "IntelAhci": "SATA controller, type AHCI",
    "PIIX4": "IDE controller, type PIIX4",
    "PIIX3": "IDE controller, type PIIX3",
    "ICH6": "IDE controller, type ICH6",
    "LsiLogic": "SCSI controller, type LsiLogic",
    "BusLogic": "SCSI controller, type BusLogic",
    "LsiLogicSas": "SAS controller, type LsiLogicSas",
    "NVMe": "NVMe controller, type NVMe",
    "VirtioSCSI": "VirtioSCSI controller, type VirtioSCSI",
    "I82078": "Floppy controller, type I82078",
}
ATTACHMENT_TEXT = {
    "nat": "NAT",
    "bridged": "Bridged",
    "intnet": "Internal",
    "hostonly": "HostOnly",
    "natnetwork": "NATNetwork",
    "generic": "Generic",
    "null": "Null",
}


def _hard_disks(vm, registry):
    """[(controller, attachment, medium)] of the VM's current hard disks."""
    found = []
    for ctl in vm["storage"]:
        for att in ctl["attachments"]:
            medium = (
                registry.medium_by_uuid(att.get("medium"))
                if att.get("medium")
                else None
            )
            if medium is not None and medium["device"] == "hdd":
                found.append((ctl, att, medium))
    return found


def _write_vmdk(registry, medium, target):
    """Flatten the medium's chain into a stream-optimised VMDK (qemu-img), else
    a raw copy."""
    with tempfile.TemporaryDirectory() as scratch:
        flat = os.path.join(scratch, "flat.vdi")
        medialib.copy_contents(
            registry, medium, flat, "VDI", str(uuidlib.uuid4())
        )
        if medialib.qemu_img():
            subprocess.run(
                [
                    medialib.qemu_img(),
                    "convert",
                    "-q",
                    "-O",
                    "vmdk",
                    "-o",
                    "subformat=streamOptimized",
                    flat,
                    target,
                ],
                check=True,
                capture_output=True,
            )
        else:
            with open(target, "wb") as handle:
                handle.truncate(medium["capacity"])


def _ovf(vm, disks):
    root = ET.Element(
        "Envelope",
        {"xmlns": OVF_NS, "ovf:version": "1.0", "xmlns:ovf": OVF_NS},
    )
    refs = ET.SubElement(root, "References")
    section = ET.SubElement(root, "DiskSection")
    for index, (_ctl, _att, medium, filename) in enumerate(disks, 1):
        ET.SubElement(
            refs, "File", {"ovf:id": "file%d" % index, "ovf:href": filename}
        )
        ET.SubElement(
            section,
            "Disk",
            {
                "ovf:diskId": "vmdisk%d" % index,
                "ovf:capacity": str(medium["capacity"]),
                "ovf:fileRef": "file%d" % index,
                "ovf:format": VMDK_FORMAT,
            },
        )
    system = ET.SubElement(root, "VirtualSystem", {"ovf:id": vm["name"]})
    state = ET.SubElement(system, "SimulatorState", encoding="base64")
    state.text = base64.b64encode(
        json.dumps(vm, sort_keys=True).encode()
    ).decode()
    return ET.tostring(root, encoding="unicode")


def export(ctx, argv):
    args = Args(argv)
    names = []
    output = None
    while args:
        opt = args.next()
        if opt in ("--output", "-o"):
            output = args.value(opt)
        elif opt in (
            "--vsys",
            "--product",
            "--producturl",
            "--vendor",
            "--vendorurl",
            "--version",
            "--description",
            "--eula",
            "--eulafile",
            "--vmname",
            "--cloud",
            "--cloudprofile",
        ):
            args.value(opt)
        elif opt.startswith("--"):
            continue
        else:
            names.append(opt)
    if not names or not output:
        raise errors.syntax_error("Missing arguments to export")
    output = os.path.abspath(output)
    with ctx.store.transaction() as registry:
        vm = common.find_vm(registry, names[0], "export")
        with tempfile.TemporaryDirectory() as scratch:
            disks = []
            for index, (ctl, att, medium) in enumerate(
                _hard_disks(vm, registry), 1
            ):
                filename = "%s-disk%03d.vmdk" % (vm["name"], index)
                _write_vmdk(registry, medium, os.path.join(scratch, filename))
                disks.append((ctl, att, medium, filename))
            exported = copy.deepcopy(vm)
            exported["export_disks"] = [
                {
                    "file": f,
                    "capacity": m["capacity"],
                    "controller": c["name"],
                    "port": a["port"],
                    "device": a["device"],
                }
                for c, a, m, f in disks
            ]
            with tarfile.open(output, "w") as tar:
                ovf = _ovf(exported, disks).encode()
                info = tarfile.TarInfo("%s.ovf" % vm["name"])
                info.size = len(ovf)
                tar.addfile(info, io.BytesIO(ovf))
                for _c, _a, _m, filename in disks:
                    tar.add(os.path.join(scratch, filename), arcname=filename)
    ctx.progress()
    ctx.out("Successfully exported %d machine(s).\n" % len(names))
    return 0


def _read_ova(path):
    with tarfile.open(path) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith(".ovf"))
        root = ET.fromstring(tar.extractfile(member).read())
    for node in root.iter():
        if node.tag.endswith("SimulatorState"):
            return json.loads(base64.b64decode(node.text))
    raise errors.VBoxError(
        errors.error_lines("Appliance '%s' was not written by vboxsim" % path)
    )


def _suggested_name(registry, name):
    if registry.find_vm(name) is None:
        return name
    number = 1
    while registry.find_vm("%s %d" % (name, number)):
        number += 1
    return "%s %d" % (name, number)


def _describe(vm, registry, name, cfgfile):
    """The `import` listing of the virtual system: [(text, hint)] per unit."""
    units = [
        (
            'Suggested OS type: "%s"' % vm["ostype"],
            (
                '(change with "--vsys 0 --ostype <type>"; use "list ostypes"'
                " to list all possible values)"
            ),
        ),
        (
            'Suggested VM name "%s"' % name,
            '(change with "--vsys 0 --vmname <name>")',
        ),
        (
            'Suggested VM group "%s"' % vm["groups"][0],
            '(change with "--vsys 0 --group <group>")',
        ),
        (
            'Suggested VM settings file name "%s"' % cfgfile,
            '(change with "--vsys 0 --settingsfile <filename>")',
        ),
        (
            'Suggested VM base folder "%s"' % registry.machine_folder,
            '(change with "--vsys 0 --basefolder <path>")',
        ),
        (
            "Number of CPUs: %d" % vm["cpus"],
            '(change with "--vsys 0 --cpus <n>")',
        ),
        (
            "Guest memory: %d MB" % vm["memory"],
            '(change with "--vsys 0 --memory <MB>")',
        ),
    ]
    if vm["audio"]["enabled"]:
        units.append((
            'Sound card (appliance expects "", can change on import)',
            "disable",
        ))
    for slot, nic in enumerate(vm["nics"]):
        if nic["attachment"] != "none":
            kind = ATTACHMENT_TEXT.get(nic["attachment"], nic["attachment"])
            units.append((
                "Network adapter: orig %s, config 3, extra slot=%d;type=%s"
                % (kind, slot, kind),
                None,
            ))
    if any(
        att["type"] == "dvddrive"
        for ctl in vm["storage"]
        for att in ctl["attachments"]
    ):
        units.append(("CD-ROM", "disable"))
    controller_unit = {}
    for ctl in vm["storage"]:
        controller_unit[ctl["name"]] = len(units)
        units.append((
            CONTROLLER_TEXT.get(ctl["type"], "%s controller" % ctl["type"]),
            "disable",
        ))
    for disk in vm.get("export_disks", []):
        index = len(units)
        units.append((
            "Hard disk image: source image=%s, target path=%s,"
            " controller=%d;port=%d"
            % (
                disk["file"],
                disk["file"],
                controller_unit[disk["controller"]],
                disk["port"],
            ),
            '(change target path with "--vsys 0 --unit %d --disk path";\n   '
            ' change controller with "--vsys 0 --unit %d --controller'
            ' <index>";\n    change controller port with "--vsys 0 --unit %d'
            ' --port <n>";\n    disable with "--vsys 0 --unit %d --ignore")'
            % (index, index, index, index),
        ))
    lines = []
    for index, (text, hint) in enumerate(units):
        lines.append("%2d: %s\n" % (index, text))
        if hint == "disable":
            hint = '(disable with "--vsys 0 --unit %d --ignore")' % index
        if hint:
            lines.append("    %s\n" % hint)
    return "".join(lines)


def import_appliance(ctx, argv):
    args = Args(argv)
    path = None
    dry_run = False
    while args:
        opt = args.next()
        if opt in ("--dry-run", "-n"):
            dry_run = True
        elif opt in (
            "--vsys",
            "--ostype",
            "--vmname",
            "--settingsfile",
            "--basefolder",
            "--group",
            "--memory",
            "--cpus",
            "--description",
            "--eula",
            "--unit",
            "--disk",
            "--controller",
            "--port",
            "--options",
        ):
            args.value(opt)
        elif opt.startswith("--"):
            continue
        else:
            path = opt
    if path is None:
        raise errors.syntax_error("Incorrect number of parameters")
    full = os.path.abspath(path)
    with ctx.store.transaction() as registry:
        vm = _read_ova(full)
        name = _suggested_name(registry, vm["name"])
        cfgfile = common.compose_settings_path(
            registry, name, None, vm["groups"]
        )
        listing = ["Disks:\n"]
        for index, disk in enumerate(vm.get("export_disks", []), 1):
            listing.append(
                "  vmdisk%d\t%d\t-1\t%s\t%s\t-1\t-1\t\n"
                % (index, disk["capacity"], VMDK_FORMAT, disk["file"])
            )
        listing.append("\nVirtual system 0:\n")
        listing.append(_describe(vm, registry, name, cfgfile))
        ctx.out("".join(listing))
        ctx.progress()
        ctx.err("Interpreting %s...\nOK.\n" % path)
        if dry_run:
            return 0
        _create_imported(registry, vm, name, cfgfile, full)
    ctx.progress()
    ctx.out("Successfully imported the appliance.\n")
    return 0


def _create_imported(registry, vm, name, cfgfile, ova_path):
    imported = copy.deepcopy(vm)
    disks = imported.pop("export_disks", [])
    imported.update(
        uuid=str(uuidlib.uuid4()),
        name=name,
        cfgfile=cfgfile,
        **model.fresh_runtime(statelib.now_ns()),
    )
    imported["hardwareuuid"] = imported["uuid"]
    for nic in imported["nics"]:
        nic["mac"] = model.random_mac()
    folder = os.path.dirname(cfgfile)
    os.makedirs(folder, exist_ok=True)
    with tarfile.open(ova_path) as tar:
        for disk in disks:
            tar.extract(disk["file"], folder)
    for ctl in imported["storage"]:
        for att in list(ctl["attachments"]):
            if att["type"] == "hdd":
                att["medium"] = None
                ctl["attachments"].remove(att)
    for disk in disks:
        path = os.path.join(folder, disk["file"])
        fmt, capacity = medialib.probe(path)[:2]
        record = medialib.make_record(path, "VMDK", capacity)
        record.update(registry=imported["uuid"], ever_attached=True)
        registry.media.append(record)
        ctl = next(
            c for c in imported["storage"] if c["name"] == disk["controller"]
        )
        ctl["attachments"].append({
            "port": disk["port"],
            "device": disk["device"],
            "type": "hdd",
            "medium": record["uuid"],
            "hotpluggable": False,
            "nonrotational": False,
            "discard": False,
            "passthrough": False,
            "tempeject": False,
        })
        ctl["attachments"].sort(key=lambda a: (a["port"], a["device"]))
    settings_file.write(imported, registry.data)
    registry.add_vm(imported)
