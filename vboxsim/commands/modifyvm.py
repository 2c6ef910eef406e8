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

"""modifyvm: change settings of a VM that is not running.

Options are matched like VBoxManage 7.2 does for both spellings (``--nictype1``
and ``--nic-type1``): the canonical key is the option without dashes, with the
trailing slot number split off.  Options the usage text lists but the simulator
does not model are accepted and stored in ``other_settings``.
"""

import functools
import os
import re

from vboxsim.args import Args, on_off
from vboxsim.cli import DATA_DIR, usage_text
from vboxsim.commands import common
from vboxsim import errors
from vboxsim import model

MODIFYVM_FILE = "VBoxManageModifyVM.cpp"
SLOT_OPTION = re.compile(r"^([a-z0-9-]*?[a-z-])(\d+)$")
UART_TWO_VALUE_MODES = ("server", "client", "tcpserver", "tcpclient", "file")
MOUSE = {
    "ps2": "ps2mouse",
    "usb": "usbmouse",
    "usbtablet": "usbtablet",
    "usbmultitouch": "usbmultitouch",
    "usbmtscreenpluspad": "usbmtscreenpluspad",
}
KEYBOARD = {"ps2": "ps2kbd", "usb": "usbkbd"}
NIC_KINDS = {
    "none",
    "null",
    "nat",
    "bridged",
    "intnet",
    "hostonly",
    "hostonlynet",
    "generic",
    "natnetwork",
    "cloud",
}


def canonical(option):
    return option.lstrip("-").replace("-", "").lower()


@functools.lru_cache(maxsize=1)
def documented_options():
    """Canonical names of every option in the 7.2 modifyvm usage text (N/X =
    slot)."""
    names = set()
    for token in re.findall(r"--([a-zA-Z0-9-]+)", usage_text("modifyvm")):
        token = token.rstrip("-")
        if token.endswith("N") or token.endswith("X"):
            token = token[:-1]
        names.add(canonical(token))
    return names


# Legacy (pre-7.0) spellings that 7.2 still accepts, mapped to the canonical
# handler key.
ALIASES = {
    "ostype": "ostype",
    "pae": "x86pae",
    "longmode": "x86longmode",
    "hpet": "x86hpet",
    "x2apic": "x86x2apic",
    "vtxvpid": "x86vtxvpid",
    "vtxux": "x86vtxux",
    "cpuexecutioncap": "cpuexecutioncap",
    "natpf": "natpf",
    "usb": "usbohci",
    "usbehci": "usbehci",
    "usbxhci": "usbxhci",
    "clipboard": "clipboardmode",
    "draganddrop": "draganddrop",
    "biosbootmenu": "firmwarebootmenu",
    "bioslogofadein": "firmwarelogofadein",
    "bioslogofadeout": "firmwarelogofadeout",
    "bioslogodisplaytime": "firmwarelogodisplaytime",
    "biossystemtimeoffset": "firmwaresystemtimeoffset",
    "paravirtprovider": "paravirtprovider",
    "vrdemulticon": "vrdemulticon",
    "vrdereusecon": "vrdereusecon",
    "vrdevideochannel": "vrdevideochannel",
    "vrdeextpack": "vrdeextpack",
    "audio": "audio",
    "nestedpaging": "nestedpaging",
    "largepages": "largepages",
    "uartmode": "uartmode",
    "uarttype": "uarttype",
    "nictype": "nictype",
    "cableconnected": "cableconnected",
    "macaddress": "macaddress",
    "bridgeadapter": "bridgeadapter",
    "hostonlyadapter": "hostonlyadapter",
    "natnet": "natnet",
    "nicspeed": "nicspeed",
    "nicbootprio": "nicbootprio",
    "nicpromisc": "nicpromisc",
    "nictrace": "nictrace",
    "nictracefile": "nictracefile",
    "nicbandwidthgroup": "nicbandwidthgroup",
    "rtcuseutc": "rtcuseutc",
    "accelerate3d": "accelerate3d",
    "monitorcount": "monitorcount",
    "pagefusion": "pagefusion",
    "triplefaultreset": "triplefaultreset",
    "vmprocpriority": "vmprocesspriority",
}


class Change:
    """One option occurrence: canonical key, slot index (0-based) and its
    values."""

    def __init__(self, option, key, slot, values):
        self.option = option
        self.key = key
        self.slot = slot
        self.values = values

    @property
    def value(self):
        return self.values[0]

    def flag(self):
        return on_off(self.value, self.option)


def _invalid(change):
    return errors.VBoxError(
        errors.error_lines(
            "Invalid %s argument '%s'" % (change.option, change.value)
        )
    )


def _split(option):
    """'--nic-type1' -> ('nictype', 0); '--memory' -> ('memory', None)."""
    name = option.lstrip("-").lower()
    match = SLOT_OPTION.match(name)
    slot = None
    if match and canonical(match.group(1)) not in ("x86pae", "x86longmode"):
        name, slot = match.group(1), int(match.group(2)) - 1
    key = canonical(name)
    return ALIASES.get(key, key), slot


def _read_changes(args):
    changes = []
    while args:
        option = args.next()
        if not option.startswith("-"):
            raise errors.VBoxError(
                errors.BANNER
                + errors.error_lines("Invalid parameter '%s'" % option)
                + usage_text("modifyvm")
                + errors.error_lines("Invalid parameter '%s'" % option)
            )
        key, slot = _split(option)
        if (
            key not in HANDLERS
            and key not in documented_options()
            and key not in ("cpuidremoveall",)
        ):
            text = (
                errors.BANNER
                + errors.error_lines("Unknown option: %s" % option)
                + usage_text("modifyvm")
                + errors.error_lines("Unknown option: %s" % option)
            )
            raise errors.VBoxError(text, exit_code=1)
        if key in ("cpuidremoveall", "cpuhotplugremoveall"):
            values = []
        elif key == "uart":
            first = args.value(option)
            values = (
                [first]
                if first.lower() == "off"
                else [first, args.value(option)]
            )
        elif key == "uartmode":
            first = args.value(option)
            values = (
                [first, args.value(option)]
                if first.lower() in UART_TWO_VALUE_MODES
                else [first]
            )
        elif key == "natpf":
            first = args.value(option)
            if first.lower().startswith("delete="):
                values = ["delete", first.split("=", 1)[1]]
            else:
                values = (
                    [first, args.value(option)]
                    if first.lower() == "delete"
                    else [first]
                )
        elif key == "cpuidset":
            values = [args.value(option) for _ in range(5)]
        else:
            values = [args.value(option)]
        changes.append(Change(option, key, slot, values))
    return changes


# ---------------------------------------------------------------- handlers
def _set(field, convert=str):
    def handler(ctx, vm, change):
        # a ValueError (non-numeric value) is reported by cli.run
        vm[field] = convert(change.value)

    return handler


def _set_flag(field):
    def handler(ctx, vm, change):
        vm[field] = change.flag()

    return handler


def _choice(field, choices, transform=lambda v: v):
    def handler(ctx, vm, change):
        value = change.value.lower()
        if value not in choices:
            raise _invalid(change)
        vm[field] = transform(
            choices[value] if isinstance(choices, dict) else value
        )

    return handler


def _rename(ctx, vm, change):
    new_name = change.value
    old_dir = model.machine_dir(vm)
    if os.path.basename(old_dir) == vm["name"] and new_name != vm["name"]:
        new_dir = os.path.join(os.path.dirname(old_dir), new_name)
        if os.path.exists(new_dir):
            raise errors.com_error(
                "Could not rename the directory '%s' to '%s' to save the"
                " settings file (VERR_ALREADY_EXISTS)" % (old_dir, new_dir),
                "VBOX_E_FILE_ERROR",
                "SessionMachine",
                "IMachine",
                ("SaveSettings()", 3486, MODIFYVM_FILE),
            )
        old_cfg = vm["cfgfile"]
        if os.path.isdir(old_dir):
            import shutil  # here: renames are rare, and imports cost

            shutil.move(old_dir, new_dir)
            moved = os.path.join(new_dir, os.path.basename(old_cfg))
            if os.path.exists(moved):
                os.replace(moved, os.path.join(new_dir, new_name + ".vbox"))
        vm["cfgfile"] = os.path.join(new_dir, new_name + ".vbox")
    vm["name"] = new_name


def _ostype(ctx, vm, change):
    resolved = model.canonical_ostype(change.value)
    if resolved is None:
        raise errors.com_error(
            "Guest OS type '%s' is invalid" % change.value,
            "E_INVALIDARG",
            "SessionMachine",
            "IMachine",
            ("COMSETTER(OSTypeId)(bstrOsTypeId.raw())", 1024, MODIFYVM_FILE),
        )
    vm["ostype"] = resolved


def _groups(ctx, vm, change):
    vm["groups"] = common.parse_groups(change.value)


def _boot(ctx, vm, change):
    value = change.value.lower()
    if (
        value not in ("none", "floppy", "dvd", "disk", "net")
        or not 0 <= (change.slot or 0) < 4
    ):
        raise _invalid(change)
    vm["boot"][change.slot or 0] = value


def _nic(ctx, vm, change):
    value = change.value.lower()
    if value not in NIC_KINDS:
        raise errors.VBoxError(
            errors.error_lines(
                "Invalid type '%s' specfied for NIC %d"
                % (change.value, (change.slot or 0) + 1)
            )
        )
    _nic_slot(vm, change)["attachment"] = value


def _nic_slot(vm, change):
    slot = change.slot if change.slot is not None else 0
    if not 0 <= slot < len(vm["nics"]):
        raise errors.VBoxError(
            errors.error_lines("Invalid NIC number %d" % (slot + 1))
        )
    return vm["nics"][slot]


def _nic_field(field, convert=str, attachment=None):
    def handler(ctx, vm, change):
        nic = _nic_slot(vm, change)
        nic[field] = convert(change.value)
        if attachment:
            nic["attachment"] = attachment

    return handler


def _nic_type(ctx, vm, change):
    for known in model.NIC_TYPES:
        if known.lower() == change.value.lower():
            _nic_slot(vm, change)["type"] = known
            return
    raise _invalid(change)


def _mac(ctx, vm, change):
    value = change.value
    if value.lower() == "auto":
        value = model.random_mac()
    value = value.replace(":", "").replace("-", "").upper()
    if not re.fullmatch(r"[0-9A-F]{12}", value):
        raise _invalid(change)
    _nic_slot(vm, change)["mac"] = value


def _host_interface(field, known_names):
    """--bridgeadapterN / --hostonlyadapterN: warn when the host has no such
    interface."""

    def handler(ctx, vm, change):
        name = change.value
        nic = _nic_slot(vm, change)
        nic[field] = "" if name.lower() == "none" else name
        if nic[field] and name not in known_names():
            ctx.err(
                'VBoxManage: warning: Interface "%s" doesn\'t seem to exist\n'
                % name
            )

    return handler


def _bridgeable():
    from vboxsim import hostinfo  # here: its imports cost every modifyvm

    return [i["name"] for i in hostinfo.bridged_interfaces()]


def _host_only_interfaces():
    return []


def _natpf(ctx, vm, change):
    nic = _nic_slot(vm, change)
    if change.value.lower() == "delete":
        name = change.values[1]
        remaining = [r for r in nic["rules"] if r["name"] != name]
        if len(remaining) == len(nic["rules"]):
            raise errors.com_error(
                "A NAT rule of this name does not exist",
                "E_INVALIDARG",
                "NATEngineWrap",
                "INATEngine",
                (
                    "RemoveRedirect(Bstr(ValueUnion.psz).raw())",
                    1938,
                    MODIFYVM_FILE,
                ),
            )
        nic["rules"] = remaining
        return
    parts = change.value.split(",")
    if len(parts) != 6 or parts[1].lower() not in ("tcp", "udp"):
        raise errors.VBoxError(
            errors.error_lines("Invalid NAT rule: %s" % change.value)
        )
    name, proto, hostip, hostport, guestip, guestport = parts
    if not name:
        name = "%s_%s_%s" % (proto.lower(), hostport, guestport)
    if any(r["name"] == name for r in nic["rules"]):
        raise errors.com_error(
            "A NAT rule of this name already exists",
            "E_INVALIDARG",
            "NATEngineWrap",
            "INATEngine",
            (
                (
                    "AddRedirect(Bstr(strName).raw(), proto,"
                    " Bstr(strHostIp).raw(), RTStrToUInt16(strHostPort),"
                    " Bstr(strGuestIp).raw(), RTStrToUInt16(strGuestPort))"
                ),
                1920,
                MODIFYVM_FILE,
            ),
        )
    nic["rules"].append({
        "name": name,
        "proto": proto.lower(),
        "hostip": hostip,
        "hostport": hostport,
        "guestip": guestip,
        "guestport": guestport,
    })


def _uart_slot(vm, change):
    slot = change.slot if change.slot is not None else 0
    if not 0 <= slot < 4:
        raise errors.VBoxError(
            errors.error_lines("Invalid UART number %d" % (slot + 1))
        )
    return vm["uarts"][slot]


def _uart(ctx, vm, change):
    uart = _uart_slot(vm, change)
    if change.value.lower() == "off":
        uart["enabled"] = False
        return
    try:
        uart["iobase"] = "%#06x" % int(change.values[0], 16)
        uart["irq"] = int(change.values[1])
    except ValueError:
        raise _invalid(change)
    uart["enabled"] = True


def _uart_mode(ctx, vm, change):
    uart = _uart_slot(vm, change)
    mode = change.value.lower()
    if mode == "disconnected":
        uart.update(mode="disconnected", path="")
    elif mode in UART_TWO_VALUE_MODES:
        uart.update(mode=mode, path=change.values[1])
    else:
        uart.update(mode="device", path=change.value)


def _uart_type(ctx, vm, change):
    if change.value.upper() not in ("16450", "16550A", "16750"):
        raise _invalid(change)
    _uart_slot(vm, change)["type"] = change.value.upper()


def _vrde_field(field, flag=False):
    def handler(ctx, vm, change):
        vm["vrde"][field] = change.flag() if flag else change.value

    return handler


def _installed_extpacks():
    """Names of the extension packs `list extpacks` shows."""
    with open(os.path.join(DATA_DIR, "extpacks.txt"), encoding="utf-8") as f:
        return re.findall(r"^Pack no\. \d+:\s+(.*)$", f.read(), re.M)


def _vrde_extpack(ctx, vm, change):
    """IVRDEServer::COMSETTER(VRDEExtPack) checks that the pack is
    installed (an empty value resets to the default)."""
    if change.value and change.value not in _installed_extpacks():
        raise errors.com_error(
            "No extension pack by the name '%s' was found" % change.value,
            "VBOX_E_OBJECT_NOT_FOUND",
            "ExtPackManagerWrap",
            "IExtPackManager",
            ("COMSETTER(VRDEExtPack)(bstr.raw())", 2954,
             "VBoxManageModifyVM.cpp"),
        )
    vm["vrde"]["extpack"] = change.value


def _vrde_property(name):
    def handler(ctx, vm, change):
        props = vm["vrde"]["properties"]
        if change.value:
            props[name] = change.value
        else:
            props.pop(name, None)

    return handler


def _vrde_generic_property(ctx, vm, change):
    name, equals, value = change.value.partition("=")
    if not equals:  # the message names the old option spelling (7.2.22)
        raise errors.VBoxError(
            errors.error_lines(
                "Invalid --vrdeproperty argument '%s'" % change.value
            )
        )
    _vrde_property(name)(
        ctx, vm, Change(change.option, change.key, None, [value])
    )


def _vrde_auth(ctx, vm, change):
    if change.value.lower() not in ("null", "external", "guest"):
        raise _invalid(change)
    vm["vrde"]["authtype"] = change.value.lower()


def _audio(ctx, vm, change):
    value = change.value.lower()
    if value == "none":
        vm["audio"]["enabled"] = False
    else:
        vm["audio"].update(enabled=True, driver=value)


def _audio_field(field, flag=False, lower=True):
    def handler(ctx, vm, change):
        vm["audio"][field] = (
            change.flag()
            if flag
            else (change.value.lower() if lower else change.value)
        )

    return handler


def _usb(field):
    def handler(ctx, vm, change):
        vm["usb"][field] = change.flag()

    return handler


def _firmware(ctx, vm, change):
    if change.value.lower() not in ("bios", "efi", "efi32", "efi64"):
        raise _invalid(change)
    vm["firmware"] = change.value.upper()


def _description(ctx, vm, change):
    vm["description"] = change.value


def _store_other(ctx, vm, change):
    key = (
        change.key
        if change.slot is None
        else "%s%d" % (change.key, change.slot + 1)
    )
    vm["other_settings"][key] = (
        change.values if len(change.values) != 1 else change.value
    )


CLIP_MODES = ("disabled", "hosttoguest", "guesttohost", "bidirectional")

HANDLERS = {
    "name": _rename,
    "groups": _groups,
    "description": _description,
    "ostype": _ostype,
    "memory": _set("memory", int),
    "vram": _set("vram", int),
    "cpus": _set("cpus", int),
    "cpuexecutioncap": _set("cpuexecutioncap", int),
    "hardwareuuid": _set("hardwareuuid", lambda v: v.strip("{}")),
    "firmware": _firmware,
    "acpi": _set_flag("acpi"),
    "ioapic": _set_flag("ioapic"),
    "rtcuseutc": _set_flag("rtcuseutc"),
    "boot": _boot,
    "graphicscontroller": _choice(
        "graphicscontroller",
        ("none", "vboxvga", "vmsvga", "vboxsvga", "qemuramfb"),
    ),
    "hwvirtex": _set_flag("hwvirtex"),
    "nestedpaging": _set_flag("nestedpaging"),
    "largepages": _set_flag("largepages"),
    "x86pae": _set_flag("pae"),
    "x86longmode": _set_flag("longmode"),
    "x86hpet": _set_flag("hpet"),
    "x86x2apic": _set_flag("x2apic"),
    "apic": _set_flag("apic"),
    "x86vtxvpid": _set_flag("vtxvpid"),
    "x86vtxux": _set_flag("vtxux"),
    "nestedhwvirt": _set_flag("nested_hw_virt"),
    "virtvmsavevmload": _set_flag("virtvmsavevmload"),
    "triplefaultreset": _set_flag("triplefaultreset"),
    "pagefusion": _set_flag("pagefusion"),
    "accelerate3d": _set_flag("accelerate3d"),
    "monitorcount": _set("monitorcount", int),
    "paravirtprovider": _choice(
        "paravirtprovider",
        ("none", "default", "legacy", "minimal", "hyperv", "kvm"),
    ),
    "chipset": _choice("chipset", ("piix3", "ich9")),
    "iommu": _choice("iommu", ("none", "automatic", "amd", "intel")),
    "firmwarebootmenu": _choice(
        "bootmenu", ("disabled", "menuonly", "messageandmenu")
    ),
    "firmwaresystemtimeoffset": _set("biossystemtimeoffset", int),
    "firmwarelogofadein": _set_flag("logo_fade_in"),
    "firmwarelogofadeout": _set_flag("logo_fade_out"),
    "firmwarelogodisplaytime": _set("logo_display_time", int),
    "defaultfrontend": _set(
        "defaultfrontend", lambda v: "" if v == "default" else v
    ),
    "vmprocesspriority": _choice(
        "vmprocpriority", ("default", "flat", "low", "normal", "high")
    ),
    "autostartenabled": _set_flag("autostart_enabled"),
    "autostartdelay": _set("autostart_delay", int),
    "nic": _nic,
    "nictype": _nic_type,
    "cableconnected": _nic_field(
        "cable", lambda v: on_off(v, "--cableconnected")
    ),
    "macaddress": _mac,
    "bridgeadapter": _host_interface("bridge", _bridgeable),
    "hostonlyadapter": _host_interface("hostonly", _host_only_interfaces),
    "intnet": _nic_field("intnet"),
    "natnetwork": _nic_field("natnetwork"),
    "hostonlynet": _nic_field("hostonlynet"),
    "nicgenericdrv": _nic_field("generic"),
    "natnet": _nic_field("natnet", lambda v: "" if v == "default" else v),
    "nicspeed": _nic_field("speed", int),
    "nicbootprio": _nic_field("bootprio", int),
    "nicpromisc": _nic_field("promisc"),
    "nictrace": _nic_field("trace", lambda v: on_off(v, "--nictrace")),
    "nictracefile": _nic_field("tracefile"),
    "nicbandwidthgroup": _nic_field(
        "bwgroup", lambda v: "" if v == "none" else v
    ),
    "natpf": _natpf,
    "uart": _uart,
    "uartmode": _uart_mode,
    "uarttype": _uart_type,
    "vrde": _vrde_field("enabled", flag=True),
    "vrdeport": _vrde_property("TCP/Ports"),
    "vrdeaddress": _vrde_property("TCP/Address"),
    "vrdeauthtype": _vrde_auth,
    "vrdeproperty": _vrde_generic_property,
    "vrdemulticon": _vrde_field("multicon", flag=True),
    "vrdereusecon": _vrde_field("reusecon", flag=True),
    "vrdevideochannel": _vrde_field("videochannel", flag=True),
    "vrdeextpack": _vrde_extpack,
    "audio": _audio,
    "audiodriver": _audio_field("driver"),
    "audioenabled": _audio_field("enabled", flag=True),
    "audioin": _audio_field("in", flag=True),
    "audioout": _audio_field("out", flag=True),
    "audiocontroller": _audio_field("controller"),
    "audiocodec": _audio_field("codec", lower=False),
    "usbohci": _usb("ohci"),
    "usbehci": _usb("ehci"),
    "usbxhci": _usb("xhci"),
    "mouse": _choice("mouse", MOUSE),
    "keyboard": _choice("keyboard", KEYBOARD),
    "clipboardmode": _choice("clipboard", CLIP_MODES),
    "clipboardfiletransfers": _set(
        "clipboard_file_transfers",
        lambda v: on_off(v, "--clipboard-file-transfers"),
    ),
    "draganddrop": _choice("draganddrop", CLIP_MODES),
}


def modifyvm(ctx, argv):
    if not argv:
        raise errors.syntax_error(
            "Not enough parameters", usage_text("modifyvm")
        )
    with ctx.store.transaction() as registry:
        vm = common.find_vm(registry, argv[0], "modifyvm")
        common.require_unlocked(vm)
        old_dir = model.machine_dir(vm)
        old_groups = list(vm.get("groups") or ["/"])
        for change in _read_changes(Args(argv[1:])):
            HANDLERS.get(change.key, _store_other)(ctx, vm, change)
        if model.machine_dir(vm) != old_dir:        # renamed (--name)
            _relocate_media(registry, vm, old_dir, model.machine_dir(vm))
        if list(vm.get("groups") or ["/"])[:1] != old_groups[:1]:
            _move_to_group(registry, vm, old_groups[0])
    return 0


def _group_path(group):
    return group.strip("/")


def _move_to_group(registry, vm, old_group):
    """Machine::i_prepareSaveSettings: a VM whose folder is
    ``<base>/<old group>/<name>`` moves to ``<base>/<new group>/<name>``
    when its primary group changes (real 7.2.22: CfgFile, SnapFldr and
    LogFldr follow, media inside the folder keep their place in it)."""
    old_dir = model.machine_dir(vm)
    if os.path.basename(old_dir) != vm["name"]:
        return
    parent = os.path.dirname(old_dir)
    old_sub = _group_path(old_group)
    if old_sub:
        if not parent.endswith(os.sep + old_sub):
            return
        base = parent[: -len(old_sub) - 1]
    else:
        base = parent
    new_sub = _group_path((vm.get("groups") or ["/"])[0])
    leaf = model.sanitise_filename(vm["name"])
    new_dir = os.path.join(base, new_sub, leaf) if new_sub else (
        os.path.join(base, leaf))
    if new_dir == old_dir:
        return
    if os.path.exists(new_dir):
        raise errors.com_error(
            "Could not rename the directory '%s' to '%s' to save the"
            " settings file (VERR_ALREADY_EXISTS)" % (old_dir, new_dir),
            "VBOX_E_FILE_ERROR",
            "SessionMachine",
            "IMachine",
            ("SaveSettings()", 3486, MODIFYVM_FILE),
        )
    if os.path.isdir(old_dir):
        os.makedirs(os.path.dirname(new_dir), exist_ok=True)
        import shutil  # here: group changes are rare, and imports cost

        shutil.move(old_dir, new_dir)
    vm["cfgfile"] = os.path.join(new_dir, os.path.basename(vm["cfgfile"]))
    _relocate_media(registry, vm, old_dir, new_dir)
    if old_sub:
        try:                       # the old group folder, if now empty
            os.rmdir(os.path.dirname(old_dir))
        except OSError:
            pass


def _relocate_media(registry, vm, old_dir, new_dir):
    """Paths inside the moved machine folder follow it."""
    prefix = old_dir.rstrip(os.sep) + os.sep

    def moved(path):
        if path and path.startswith(prefix):
            return os.path.join(new_dir, path[len(prefix):])
        return path

    for medium in registry.media:
        medium["location"] = moved(medium["location"])
    if vm.get("state_file"):
        vm["state_file"] = moved(vm["state_file"])
