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

"""VM records: defaults of a freshly created 7.2 machine, OS types, storage
buses."""

import copy
import functools
import json
import os
import re

DATA_DIR = os.path.join(os.path.dirname(__file__), "data")

# add=<bus> -> (controller type, default port count, max ports, devices per
# port)
STORAGE_BUSES = {
    "ide": ("PIIX4", 2, 2, 2),
    "sata": ("IntelAhci", 30, 30, 1),
    "scsi": ("LsiLogic", 16, 16, 1),
    "sas": ("LsiLogicSas", 8, 255, 1),
    "floppy": ("I82078", 1, 1, 2),
    "pcie": ("NVMe", 1, 255, 1),
    "virtio": ("VirtioSCSI", 1, 256, 1),
    "usb": ("USB", 8, 8, 1),
}
CONTROLLER_TYPES = {
    "lsilogic": ("LsiLogic", "scsi"),
    "buslogic": ("BusLogic", "scsi"),
    "intelahci": ("IntelAhci", "sata"),
    "piix3": ("PIIX3", "ide"),
    "piix4": ("PIIX4", "ide"),
    "ich6": ("ICH6", "ide"),
    "i82078": ("I82078", "floppy"),
    "lsilogicsas": ("LsiLogicSas", "sas"),
    "usb": ("USB", "usb"),
    "nvme": ("NVMe", "pcie"),
    "virtioscsi": ("VirtioSCSI", "virtio"),
}
NIC_TYPES = [
    "Am79C970A",
    "Am79C973",
    "Am79C960",
    "82540EM",
    "82543GC",
    "82545EM",
    "virtio",
    "usbnet",
]
UART_DEFAULTS = [("0x03f8", 4), ("0x02f8", 3), ("0x03e8", 4), ("0x02e8", 3)]

# What createvm sets per --ostype ("" = no --ostype), recorded on real 7.2.22
# (data/ostype_defaults.json, written by contract/record_ostypes.py).
OSTYPE_DEFAULTS_FILE = "ostype_defaults.json"


@functools.lru_cache(maxsize=1)
def _ostype_defaults():
    with open(os.path.join(DATA_DIR, OSTYPE_DEFAULTS_FILE)) as handle:
        data = json.load(handle)
    return {ostype: dict(zip(data["fields"], row))
            for ostype, row in data["types"].items()}


def ostype_defaults(ostype):
    """createvm's defaults for ``ostype`` ("" = createvm without
    --ostype)."""
    table = _ostype_defaults()
    return table.get(ostype) or table["Other"]


@functools.lru_cache(maxsize=1)
def ostypes():
    """{id: description} from the verbatim `list ostypes` output in data/."""
    table = {}
    with open(os.path.join(DATA_DIR, "ostypes.txt")) as handle:
        for line in handle:
            match = re.match(r"ID / Description: (\S+) -- (.*)$", line)
            if match:
                table[match.group(1)] = match.group(2)
    return table


def canonical_ostype(name):
    """Case-insensitive OS type lookup; None when unknown."""
    for known in ostypes():
        if known.lower() == name.lower():
            return known
    return None


def os_family(ostype):
    lowered = ostype.lower()
    if lowered.startswith("win"):
        return "windows"
    if (
        lowered.startswith("other")
        or lowered.startswith("dos")
        or lowered.startswith("os2")
    ):
        return "other"
    return "linux"


def effective_paravirt(vm):
    provider = vm["paravirtprovider"]
    if provider != "default":
        return provider
    return ostype_defaults(vm["ostype"])["paravirt"]


def random_mac():
    import random  # here: only new NICs need it

    return "080027%06X" % random.randrange(0x1000000)


def new_nic(slot):
    return {
        "attachment": "nat" if slot == 0 else "none",
        "type": "82540EM",
        "mac": random_mac(),
        "cable": True,
        "natnet": "",
        "bridge": "",
        "hostonly": "",
        "intnet": "intnet",
        "natnetwork": "",
        "generic": "",
        "hostonlynet": "",
        "rules": [],
        "speed": 0,
        "bootprio": 0,
        "promisc": "deny",
        "bwgroup": "",
        "trace": False,
        "tracefile": "",
    }


def new_vm(name, uuid, ostype, cfgfile, groups=None, now_ns=0,
           defaults=None):
    """A new VM's settings; ``defaults`` names the OS type whose createvm
    defaults apply (default: ``ostype``; "" for createvm without
    --ostype)."""
    d = ostype_defaults(ostype if defaults is None else defaults)
    vm = {
        "uuid": uuid,
        "name": name,
        "ostype": ostype,
        "groups": groups or ["/"],
        "cfgfile": cfgfile,
        "description": "",
        "memory": d["memory"],
        "vram": d["vram"],
        "cpus": 1,
        "cpuexecutioncap": 100,
        "pagefusion": False,
        "chipset": d["chipset"],
        "firmware": d["firmware"],
        "hpet": d["hpet"],
        "pae": d["pae"],
        "longmode": d["longmode"],
        "triplefaultreset": d["triplefaultreset"],
        "apic": True,
        "x2apic": d["x2apic"],
        "nested_hw_virt": False,
        "hwvirtex": True,
        "nestedpaging": True,
        "largepages": False,
        "vtxvpid": True,
        "vtxux": True,
        "virtvmsavevmload": True,
        "bootmenu": "messageandmenu",
        # Kept in the settings file only: showvminfo does not show them.
        "logo_fade_in": True,
        "logo_fade_out": True,
        "logo_display_time": 0,
        "boot": ["floppy", "dvd", "disk", "none"],
        "acpi": True,
        "ioapic": d["ioapic"],
        "rtcuseutc": d["rtcuseutc"],
        "biossystemtimeoffset": 0,
        "iommu": "none",
        "paravirtprovider": "default",
        "graphicscontroller": "vboxvga",
        "monitorcount": 1,
        "accelerate3d": False,
        "autostart_enabled": False,
        "autostart_delay": 0,
        "defaultfrontend": "",
        "vmprocpriority": "default",
        "hardwareuuid": uuid,
        "state": "poweroff",
        "state_change_ns": now_ns,
        "session": None,
        "acpi_deadline_ns": None,
        "crash_deadline_ns": None,
        "state_file": None,
        "storage": [],
        "nics": [new_nic(slot) for slot in range(8)],
        "uarts": [
            {
                "enabled": False,
                "iobase": io,
                "irq": irq,
                "mode": "disconnected",
                "path": "",
                "type": "16550A",
            }
            for io, irq in UART_DEFAULTS
        ],
        "audio": {
            "driver": "default",
            "enabled": True,
            "out": False,
            "in": False,
            "controller": "ac97",
            "codec": "STAC9700",
        },
        "clipboard": "disabled",
        "clipboard_file_transfers": False,
        "draganddrop": "disabled",
        "vrde": {
            "enabled": False,
            "authtype": "null",
            "multicon": False,
            "reusecon": False,
            "videochannel": False,
            "extpack": "",
            "properties": {},
        },
        "usb": {"ohci": False, "ehci": False, "xhci": False},
        "mouse": "ps2mouse",
        "keyboard": "ps2kbd",
        "extradata": {},
        "guestprops": {},
        "snapshot_root": None,
        "current_snapshot": None,
        "bandwidth_groups": [],
        "other_settings": {},
    }
    vm["nics"][0]["attachment"] = d["nic"]
    if d["nictype"]:
        vm["nics"][0]["type"] = d["nictype"]
    vm["uarts"][0]["enabled"] = d["uart"]
    return vm


# IVirtualBox::ComposeMachineFilename keeps these characters of a VM name
# (sanitiseMachineFilename): space, ( ) - . 0-9 A-Z _ a-z and U+00A0 to
# U+D7AF; each other character becomes "_"; so do a leading "." or "-", a
# trailing "." and leading and trailing spaces.
_FILENAME_OK = re.compile("[ ()\\-.0-9A-Z_a-z\u00a0-\ud7af]")


def sanitise_filename(name):
    chars = [c if _FILENAME_OK.match(c) else "_" for c in name]
    if chars and chars[0] in ".-":
        chars[0] = "_"
    if chars and chars[-1] == ".":
        chars[-1] = "_"
    for index in range(len(chars)):
        if chars[index] != " ":
            break
        chars[index] = "_"
    for index in range(len(chars) - 1, 0, -1):
        if chars[index] != " ":
            break
        chars[index] = "_"
    return "".join(chars)


def machine_dir(vm):
    return os.path.dirname(vm["cfgfile"])


def snapshot_folder(vm):
    return os.path.join(machine_dir(vm), "Snapshots")


def hardware_copy(vm):
    """What a snapshot preserves: the machine without snapshots, state or
    extradata."""
    skip = {
        "snapshot_root",
        "current_snapshot",
        "extradata",
        "session",
        "acpi_deadline_ns",
    }
    return copy.deepcopy({k: v for k, v in vm.items() if k not in skip})


def fresh_runtime(now_ns):
    """The run-time fields of a VM that has not run yet (created, cloned or
    imported): powered off, no session, no snapshots."""
    return {
        "state": "poweroff",
        "state_change_ns": now_ns,
        "session": None,
        "acpi_deadline_ns": None,
        "crash_deadline_ns": None,
        "state_file": None,
        "snapshot_root": None,
        "current_snapshot": None,
    }


def iter_snapshots(node):
    if not node:
        return
    yield node
    for child in node["children"]:
        yield from iter_snapshots(child)


def find_snapshot(vm, name_or_uuid):
    key = name_or_uuid.strip("{}").lower()
    for snap in iter_snapshots(vm.get("snapshot_root")):
        if snap["uuid"] == key:
            return snap
    for snap in iter_snapshots(vm.get("snapshot_root")):
        if snap["name"] == name_or_uuid:
            return snap
    return None


def snapshot_parent(vm, target):
    for snap in iter_snapshots(vm.get("snapshot_root")):
        if any(child["uuid"] == target["uuid"] for child in snap["children"]):
            return snap
    return None


def all_attachments(vm, include_snapshots=True):
    """(owner, controller, attachment) for the current state and every
    snapshot."""
    owners = [(None, vm)]
    if include_snapshots:
        owners += [
            (snap, snap["machine"])
            for snap in iter_snapshots(vm.get("snapshot_root"))
        ]
    for snap, machine in owners:
        for ctl in machine["storage"]:
            for att in ctl["attachments"]:
                yield snap, ctl, att
