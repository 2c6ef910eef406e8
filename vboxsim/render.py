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

"""Output formatting: showvminfo (machine-readable and human), media,
snapshots, lists."""

import os

from vboxsim import media as medialib
from vboxsim import model
from vboxsim import state as statelib

HUMAN_WIDTH = 29  # "Name:" column width in the human showvminfo form

VMSTATE_HUMAN = {
    "poweroff": "powered off",
    "saved": "saved",
    "aborted": "aborted",
    "aborted-saved": "aborted-saved",
    "running": "running",
    "paused": "paused",
    "gurumeditation": "guru meditation",
    "starting": "starting",
    "stopping": "stopping",
    "saving": "saving",
    "restoring": "restoring",
}
BOOT_HUMAN = {
    "none": "Not Assigned",
    "floppy": "Floppy",
    "dvd": "DVD",
    "disk": "HardDisk",
    "net": "Network",
}
GRAPHICS_HUMAN = {
    "none": "None",
    "vboxvga": "VBoxVGA",
    "vmsvga": "VMSVGA",
    "vboxsvga": "VBoxSVGA",
    "qemuramfb": "QemuRamFB",
}
PARAVIRT_HUMAN = {
    "none": "None",
    "default": "Default",
    "legacy": "Legacy",
    "minimal": "Minimal",
    "hyperv": "HyperV",
    "kvm": "KVM",
}
BOOTMENU_HUMAN = {
    "disabled": "disabled",
    "menuonly": "menu only",
    "messageandmenu": "message and menu",
}
MOUSE_HUMAN = {
    "ps2mouse": "PS/2 Mouse",
    "usbmouse": "USB Mouse",
    "usbtablet": "USB Tablet",
    "usbmultitouch": "USB Multi-Touch",
    "usbmtscreenpluspad": "USB Multi-Touch Screen and Pad",
}
KEYBOARD_HUMAN = {"ps2kbd": "PS/2 Keyboard", "usbkbd": "USB Keyboard"}
CLIPBOARD_HUMAN = {
    "disabled": "disabled",
    "hosttoguest": "HostToGuest",
    "guesttohost": "GuestToHost",
    "bidirectional": "Bidirectional",
}
ATTACHMENT_HUMAN = {
    "null": "none",
    "nat": "NAT",
    "bridged": "Bridged Interface '%(bridge)s'",
    "intnet": "Internal Network '%(intnet)s'",
    "hostonly": "Host-only Interface '%(hostonly)s'",
    "generic": "Generic '%(generic)s'",
    "natnetwork": "NAT Network '%(natnetwork)s'",
    "hostonlynet": "Host Only Network '%(hostonlynet)s'",
}
NIC_MR_EXTRA = {
    "bridged": ("bridgeadapter", "bridge"),
    "intnet": ("intnet", "intnet"),
    "hostonly": ("hostonlyadapter", "hostonly"),
    "natnetwork": ("nat-network", "natnetwork"),
    "generic": ("generic", "generic"),
    "hostonlynet": ("hostonly-network", "hostonlynet"),
}


def onoff(value):
    return "on" if value else "off"


def enabled(value):
    return "enabled" if value else "disabled"


def mr_escape(value):
    return str(value).replace("\\", "\\\\").replace('"', '\\"')


def mr_str(key, value, quote_key=False):
    if quote_key or "=" in key:
        return '"%s"="%s"\n' % (key, mr_escape(value))
    return '%s="%s"\n' % (key, mr_escape(value))


def mr_num(key, value):
    return "%s=%d\n" % (key, value)


def human(label, value):
    return "%-*s%s\n" % (HUMAN_WIDTH, label, value)


def ostype_description(ostype):
    return model.ostypes().get(ostype, ostype)


def paths(vm):
    folder = model.machine_dir(vm)
    # the file names follow the settings file's (the sanitised VM name)
    stem = os.path.basename(vm["cfgfile"])[:-len(".vbox")]
    return {
        "cfg": vm["cfgfile"],
        "snap": model.snapshot_folder(vm),
        "log": folder + "/Logs",
        "nvram": "%s/%s.nvram" % (folder, stem),
        "webm": "%s/%s-screen0.webm" % (folder, stem),
    }


def vrde_ports(vm):
    return vm["vrde"]["properties"].get("TCP/Ports", "")


# ---------------------------------------------------------------- machine-
# readable
def _mr_storage(vm, registry):
    out = []
    for index, ctl in enumerate(vm["storage"]):
        out.append(mr_str("storagecontrollername%d" % index, ctl["name"]))
        out.append(mr_str("storagecontrollertype%d" % index, ctl["type"]))
        out.append(
            mr_str("storagecontrollerinstance%d" % index, ctl["instance"])
        )
        out.append(
            mr_str("storagecontrollermaxportcount%d" % index, ctl["maxports"])
        )
        out.append(
            mr_str("storagecontrollerportcount%d" % index, ctl["portcount"])
        )
        out.append(
            mr_str(
                "storagecontrollerbootable%d" % index, onoff(ctl["bootable"])
            )
        )
    for ctl in vm["storage"]:
        by_slot = {(a["port"], a["device"]): a for a in ctl["attachments"]}
        for port in range(ctl["portcount"]):
            for device in range(ctl["devices"]):
                slot = "%d-%d" % (port, device)
                name = ctl["name"]
                att = by_slot.get((port, device))
                if att is None:
                    out.append(mr_str("%s-%s" % (name, slot), "none", True))
                    continue
                medium = (
                    registry.medium_by_uuid(att["medium"])
                    if att.get("medium")
                    else None
                )
                if medium is None:
                    out.append(
                        mr_str("%s-%s" % (name, slot), "emptydrive", True)
                    )
                    if att["type"] == "dvddrive":
                        out.append(
                            mr_str(
                                "%s-IsEjected-%s" % (name, slot), "off", True
                            )
                        )
                    continue
                out.append(
                    mr_str("%s-%s" % (name, slot), medium["location"], True)
                )
                out.append(
                    mr_str(
                        "%s-ImageUUID-%s" % (name, slot), medium["uuid"], True
                    )
                )
                if att["type"] == "dvddrive":
                    # 7.2.22 order for a DVD with an image: tempeject,
                    # IsEjected, then the three flags every medium has.
                    out.append(
                        mr_str(
                            "%s-tempeject-%s" % (name, slot),
                            onoff(att.get("tempeject", False)),
                            True,
                        )
                    )
                    out.append(
                        mr_str("%s-IsEjected-%s" % (name, slot), "off", True)
                    )
                out.append(
                    mr_str(
                        "%s-hot-pluggable-%s" % (name, slot),
                        onoff(att.get("hotpluggable", False)),
                        True,
                    )
                )
                out.append(
                    mr_str(
                        "%s-nonrotational-%s" % (name, slot),
                        onoff(att.get("nonrotational", False)),
                        True,
                    )
                )
                out.append(
                    mr_str(
                        "%s-discard-%s" % (name, slot),
                        onoff(att.get("discard", False)),
                        True,
                    )
                )
    return out


def _mr_nics(vm):
    out = []
    for slot, nic in enumerate(vm["nics"], 1):
        kind = nic["attachment"]
        if kind == "none":
            out.append(mr_str("nic%d" % slot, "none"))
            continue
        if kind == "nat":
            out.append(mr_str("natnet%d" % slot, nic["natnet"] or "nat"))
        elif kind in NIC_MR_EXTRA:
            key, field = NIC_MR_EXTRA[kind]
            out.append(mr_str("%s%d" % (key, slot), nic[field]))
        out.append(mr_str("macaddress%d" % slot, nic["mac"]))
        out.append(mr_str("cableconnected%d" % slot, onoff(nic["cable"])))
        out.append(mr_str("nic%d" % slot, kind))
        out.append(mr_str("nictype%d" % slot, nic["type"]))
        out.append(mr_str("nicspeed%d" % slot, nic["speed"]))
        if kind == "nat":
            for key, value in (
                ("mtu", "0"),
                ("sockSnd", "64"),
                ("sockRcv", "64"),
                ("tcpWndSnd", "64"),
                ("tcpWndRcv", "64"),
                ("localhostReachable", "0"),
                ("forwardBroadcast", "0"),
                ("enableTFTP", "0"),
            ):
                out.append(mr_str(key, value))
            for index, rule in enumerate(
                sorted(nic["rules"], key=lambda r: r["name"])
            ):
                out.append(
                    mr_str(
                        "Forwarding(%d)" % index,
                        "%(name)s,%(proto)s,%(hostip)s,%(hostport)s,"
                        "%(guestip)s,%(guestport)s" % rule,
                    )
                )
    return out


def uart_mode_text(uart):
    mode = uart["mode"]
    if mode == "disconnected":
        return "disconnected"
    if mode == "device":
        return uart["path"]
    return "%s,%s" % (mode, uart["path"])


def _mr_uarts(vm):
    out = []
    for slot, uart in enumerate(vm["uarts"], 1):
        if not uart["enabled"]:
            out.append(mr_str("uart%d" % slot, "off"))
            continue
        out.append(
            mr_str("uart%d" % slot, "%s,%d" % (uart["iobase"], uart["irq"]))
        )
        out.append(mr_str("uartmode%d" % slot, uart_mode_text(uart)))
        out.append(mr_str("uarttype%d" % slot, uart["type"]))
    return out


def _mr_vrde(vm):
    vrde = vm["vrde"]
    if not vrde["enabled"]:
        return [mr_str("vrde", "off")]
    props = vrde["properties"]
    # the port the VRDE server listens on while the VM runs
    port = -1
    if vm["state"] in ("running", "paused"):
        port = vm.get("vrde_port_in_use") or -1
    out = [
        mr_str("vrde", "on"),
        mr_num("vrdeport", port),
        mr_str("vrdeports", vrde_ports(vm)),
        mr_str("vrdeaddress", props.get("TCP/Address", "")),
        mr_str("vrdeauthtype", vrde["authtype"]),
        mr_str("vrdemulticon", onoff(vrde["multicon"])),
        mr_str("vrdereusecon", onoff(vrde["reusecon"])),
        mr_str("vrdevideochannel", onoff(vrde["videochannel"])),
    ]
    for name in ("TCP/Ports", "TCP/Address"):
        if props.get(name):
            out.append(
                'vrdeproperty[%s]="%s"\n' % (name, mr_escape(props[name]))
            )
        else:
            out.append("vrdeproperty[%s]=<not set>\n" % name)
    return out


def snapshot_tree_mr(vm):
    out = []

    def walk(snap, prefix):
        out.append('SnapshotName%s="%s"\n' % (prefix, snap["name"]))
        out.append('SnapshotUUID%s="%s"\n' % (prefix, snap["uuid"]))
        if snap.get("description"):
            out.append(
                'SnapshotDescription%s="%s"\n' % (prefix, snap["description"])
            )
        if snap["uuid"] == vm.get("current_snapshot"):
            out.append('CurrentSnapshotName="%s"\n' % snap["name"])
            out.append('CurrentSnapshotUUID="%s"\n' % snap["uuid"])
            out.append('CurrentSnapshotNode="SnapshotName%s"\n' % prefix)
        for index, child in enumerate(snap["children"], 1):
            walk(child, "%s-%d" % (prefix, index))

    if vm.get("snapshot_root"):
        walk(vm["snapshot_root"], "")
    return out


def snapshot_tree_human(vm):
    out = []

    def walk(snap, level):
        marker = " *" if snap["uuid"] == vm.get("current_snapshot") else ""
        out.append(
            "%sName: %s (UUID: %s)%s\n"
            % (" " * (3 * level), snap["name"], snap["uuid"], marker)
        )
        if snap.get("description"):
            out.append(
                "%sDescription: %s\n"
                % (" " * (3 * level), snap["description"])
            )
        for child in snap["children"]:
            walk(child, level + 1)

    if vm.get("snapshot_root"):
        walk(vm["snapshot_root"], 1)
    return out


def showvminfo_machinereadable(vm, registry):
    p = paths(vm)
    running = vm["state"] in ("running", "paused")
    out = [
        mr_str("name", vm["name"]),
        mr_str("encryption", "disabled"),
        mr_str("groups", ",".join(vm["groups"])),
        mr_str("platformArchitecture", "x86"),
        mr_str("ostype", ostype_description(vm["ostype"])),
        mr_str("UUID", vm["uuid"]),
        mr_str("CfgFile", p["cfg"]),
        mr_str("SnapFldr", p["snap"]),
        mr_str("LogFldr", p["log"]),
        mr_str("hardwareuuid", vm["hardwareuuid"]),
        mr_num("memory", vm["memory"]),
        mr_str("pagefusion", onoff(vm["pagefusion"])),
        mr_num("vram", vm["vram"]),
        mr_num("cpuexecutioncap", vm["cpuexecutioncap"]),
        mr_str("cpu-profile", "host"),
        mr_str("chipset", vm["chipset"]),
        mr_str("firmware", vm["firmware"]),
        mr_num("cpus", vm["cpus"]),
        mr_str("hpet", onoff(vm["hpet"])),
        mr_str("pae", onoff(vm["pae"])),
        mr_str("longmode", onoff(vm["longmode"])),
        mr_str("triplefaultreset", onoff(vm["triplefaultreset"])),
        mr_str("apic", onoff(vm["apic"])),
        mr_str("x2apic", onoff(vm["x2apic"])),
        mr_str("nested-hw-virt", onoff(vm["nested_hw_virt"])),
        mr_str("hwvirtex", onoff(vm["hwvirtex"])),
        mr_str("nestedpaging", onoff(vm["nestedpaging"])),
        mr_str("largepages", onoff(vm["largepages"])),
        mr_str("vtxvpid", onoff(vm["vtxvpid"])),
        mr_str("vtxux", onoff(vm["vtxux"])),
        mr_str("virtvmsavevmload", onoff(vm["virtvmsavevmload"])),
        mr_num("cpuid-portability-level", 0),
        mr_str("bootmenu", vm["bootmenu"]),
    ]
    out += [mr_str("boot%d" % i, dev) for i, dev in enumerate(vm["boot"], 1)]
    out += [
        mr_str("acpi", onoff(vm["acpi"])),
        mr_str("ioapic", onoff(vm["ioapic"])),
        mr_str("biosapic", "apic"),
        mr_num("biossystemtimeoffset", vm["biossystemtimeoffset"]),
        mr_str("NvramFile", p["nvram"]),
        mr_str("rtcuseutc", onoff(vm["rtcuseutc"])),
        mr_str("iommu", vm["iommu"]),
        mr_str("paravirtprovider", vm["paravirtprovider"]),
        mr_str("effparavirtprovider", model.effective_paravirt(vm)),
        mr_str("VMState", vm["state"]),
        mr_str(
            "VMStateChangeTime",
            statelib.format_state_time(vm["state_change_ns"]),
        ),
    ]
    if vm.get("state_file"):
        out.append('VMStateFile="%s"\n' % vm["state_file"])
    out += [
        mr_str("graphicscontroller", vm["graphicscontroller"]),
        mr_num("monitorcount", vm["monitorcount"]),
        mr_str("accelerate3d", onoff(vm["accelerate3d"])),
        mr_str("teleporterenabled", "off"),
        mr_num("teleporterport", 0),
        mr_str("teleporteraddress", ""),
        mr_str("teleporterpassword", ""),
        mr_str("tracing-enabled", "off"),
        mr_str("tracing-allow-vm-access", "off"),
        mr_str("tracing-config", ""),
        mr_str("autostart-enabled", onoff(vm["autostart_enabled"])),
        mr_num("autostart-delay", vm["autostart_delay"]),
        mr_str("defaultfrontend", vm["defaultfrontend"]),
        mr_str("vmprocpriority", vm["vmprocpriority"]),
    ]
    out += _mr_storage(vm, registry)
    out += _mr_nics(vm)
    out += [
        mr_str("hidpointing", vm["mouse"]),
        mr_str("hidkeyboard", vm["keyboard"]),
    ]
    out += _mr_uarts(vm)
    out += [mr_str("lpt1", "off"), mr_str("lpt2", "off")]
    audio = vm["audio"]
    out += [
        mr_str("audio", audio["driver"] if audio["enabled"] else "none"),
        mr_str("audio_out", onoff(audio["out"])),
        mr_str("audio_in", onoff(audio["in"])),
        mr_str("clipboard", vm["clipboard"]),
        mr_str(
            "clipboard_file_transfers", onoff(vm["clipboard_file_transfers"])
        ),
        mr_str("draganddrop", vm["draganddrop"]),
    ]
    if running and vm.get("session"):
        out += [
            mr_str("SessionName", vm["session"]),
            'VideoMode="720,400,0"@0,0 1\n',
        ]
    out += _mr_vrde(vm)
    usb = vm["usb"]
    out += [
        mr_str("usb", onoff(usb["ohci"])),
        mr_str("ehci", onoff(usb["ehci"])),
        mr_str("xhci", onoff(usb["xhci"])),
    ]
    out.append(machine_readable_groups(vm))
    if running:
        out += [mr_str("VRDEActiveConnection", "off"), "VRDEClients==0\n"]
    out += [
        mr_str("recording_started", "off"),
        mr_str("recording_enabled", "off"),
        mr_num("recording_screens", 1),
        " rec_screen0\n",
        mr_str("rec_screen_enabled", "on"),
        mr_num("rec_screen_id", 0),
        mr_str("rec_screen_video_enabled", "on"),
        mr_str("rec_screen_audio_enabled", "off"),
        mr_str("rec_screen_dest", "File"),
        mr_str("rec_screen_dest_filename", p["webm"]),
        mr_str("rec_screen_opts", "ac_profile=med"),
        mr_str("rec_screen_video_res_xy", "1024x768"),
        mr_num("rec_screen_video_rate_kbps", 512),
        mr_num("rec_screen_video_fps", 25),
    ]
    if vm.get("description"):
        out.append(mr_str("description", vm["description"]))
    out += snapshot_tree_mr(vm)
    out.append(mr_num("GuestMemoryBalloon", 0))
    if running:  # what a guest without Guest Additions reports
        out += [
            mr_str("GuestOSType", vm["ostype"]),
            mr_num("GuestAdditionsRunLevel", 0),
        ]
        if vm.get("restored_ms"):
            # restored from a saved state: the facility status the saved
            # state carried, with the time it was set (ms since the epoch)
            out.append("GuestAdditionsFacility_Seamless Mode=0,%d\n"
                       % vm["restored_ms"])
    return "".join(out)


# ---------------------------------------------------------------- human
def _human_storage(vm, registry):
    if not vm["storage"]:
        return [human("Storage Controllers:", "<none>")]
    out = ["Storage Controllers:\n"]
    for index, ctl in enumerate(vm["storage"]):
        out.append(
            "#%d: '%s', Type: %s, Instance: %s, Ports: %d (max %d), %s\n"
            % (
                index,
                ctl["name"],
                ctl["type"],
                ctl["instance"],
                ctl["portcount"],
                ctl["maxports"],
                "Bootable" if ctl["bootable"] else "Not bootable",
            )
        )
        for att in sorted(
            ctl["attachments"], key=lambda a: (a["port"], a["device"])
        ):
            head = "  Port %d, Unit %d: " % (att["port"], att["device"])
            medium = (
                registry.medium_by_uuid(att["medium"])
                if att.get("medium")
                else None
            )
            if medium is None:
                out.append(head + "Empty\n")
            else:
                out.append(
                    head
                    + 'UUID: %s\n    Location: "%s"\n'
                    % (medium["uuid"], medium["location"])
                )
    return out


def _human_nics(vm):
    out = []
    for slot, nic in enumerate(vm["nics"], 1):
        kind = nic["attachment"]
        if kind == "none":
            out.append(human("NIC %d:" % slot, "disabled"))
            continue
        attachment = ATTACHMENT_HUMAN.get(kind, kind) % nic
        out.append(
            human(
                "NIC %d:" % slot,
                "MAC: %s, Attachment: %s, Cable connected: %s, Trace: %s"
                " (file: %s), Type: %s, Reported speed: %d Mbps, Boot"
                " priority: %d, Promisc Policy: %s, Bandwidth group: %s"
                % (
                    nic["mac"],
                    attachment,
                    onoff(nic["cable"]),
                    onoff(nic["trace"]),
                    nic["tracefile"] or "none",
                    nic["type"],
                    nic["speed"] // 1000,
                    nic["bootprio"],
                    nic["promisc"],
                    nic["bwgroup"] or "none",
                ),
            )
        )
        if kind == "nat":
            out.append(
                "NIC %d Settings:\n\tMTU: 0, Socket (send: 64, receive: 64),"
                " TCP Window (send:64, receive: 64),\n\tLocalhostReachable: 0,"
                " ForwardBroadcast: 0, EnableTFTP: 0\n" % slot
            )
            for index, rule in enumerate(
                sorted(nic["rules"], key=lambda r: r["name"])
            ):
                out.append(
                    "NIC %d Rule(%d):   name = %s, protocol = %s, host ip ="
                    " %s, host port = %s, guest ip = %s, guest port = %s\n"
                    % (
                        slot,
                        index,
                        rule["name"],
                        rule["proto"],
                        rule["hostip"],
                        rule["hostport"],
                        rule["guestip"],
                        rule["guestport"],
                    )
                )
    return out


def _human_uarts(vm):
    out = []
    for slot, uart in enumerate(vm["uarts"], 1):
        if not uart["enabled"]:
            out.append(human("UART %d:" % slot, "disabled"))
            continue
        mode = uart["mode"]
        attached = {
            "disconnected": "disconnected",
            "file": "attached to raw file '%s'" % uart["path"],
            "tcpserver": "attached to tcp (server) '%s'" % uart["path"],
            "tcpclient": "attached to tcp (client) '%s'" % uart["path"],
            "server": "attached to pipe (server) '%s'" % uart["path"],
            "client": "attached to pipe (client) '%s'" % uart["path"],
        }.get(mode, "attached to device '%s'" % uart["path"])
        out.append(
            human(
                "UART %d:" % slot,
                "I/O base: %s, IRQ: %d, %s, %s"
                % (uart["iobase"], uart["irq"], attached, uart["type"]),
            )
        )
    return out


def showvminfo_human(vm, registry, snapshot_view=None):
    """Human form; ``snapshot_view`` is the snapshot for `snapshot VM
    showvminfo S`."""
    machine = snapshot_view["machine"] if snapshot_view else vm
    p = paths(vm)
    since_ns = (
        snapshot_view["timestamp_ns"]
        if snapshot_view
        else vm["state_change_ns"]
    )
    state = "poweroff" if snapshot_view else vm["state"]
    out = [
        human("Name:", vm["name"]),
        human("Encryption:", "disabled"),
        human("Groups:", ",".join(machine["groups"])),
        human("Platform Architecture:", "x86"),
        human("Guest OS:", ostype_description(machine["ostype"])),
        human("UUID:", vm["uuid"]),
        human("Config file:", p["cfg"]),
        human("Snapshot folder:", p["snap"]),
        human("Log folder:", p["log"]),
        human("Hardware UUID:", machine["hardwareuuid"]),
        human("Memory size:", "%dMB" % machine["memory"]),
        human("Page Fusion:", enabled(machine["pagefusion"])),
        human("VRAM size:", "%dMB" % machine["vram"]),
        human("CPU exec cap:", "%d%%" % machine["cpuexecutioncap"]),
        human("CPUProfile:", "host"),
        human("Chipset:", machine["chipset"]),
        human("Firmware:", machine["firmware"]),
        human("Number of CPUs:", machine["cpus"]),
        human("HPET:", enabled(machine["hpet"])),
        human("PAE:", enabled(machine["pae"])),
        human("Long Mode:", enabled(machine["longmode"])),
        human("Triple Fault Reset:", enabled(machine["triplefaultreset"])),
        human("APIC:", enabled(machine["apic"])),
        human("X2APIC:", enabled(machine["x2apic"])),
        human("Nested VT-x/AMD-V:", enabled(machine["nested_hw_virt"])),
        human("CPUID overrides:", "None"),
        human("Hardware Virtualization:", enabled(machine["hwvirtex"])),
        human("Nested Paging:", enabled(machine["nestedpaging"])),
        human("Large Pages:", enabled(machine["largepages"])),
        human("VT-x VPID:", enabled(machine["vtxvpid"])),
        human("VT-x Unrestricted Exec.:", enabled(machine["vtxux"])),
        human(
            "AMD-V Virt. Vmsave/Vmload:", enabled(machine["virtvmsavevmload"])
        ),
        human("CPUID Portability Level:", 0),
        human("Boot menu mode:", BOOTMENU_HUMAN[machine["bootmenu"]]),
    ]
    out += [
        human("Boot Device %d:" % i, BOOT_HUMAN[dev])
        for i, dev in enumerate(machine["boot"], 1)
    ]
    out += [
        human("ACPI:", enabled(machine["acpi"])),
        human("IOAPIC:", enabled(machine["ioapic"])),
        human("BIOS APIC mode:", "APIC"),
        human("Time offset:", "%dms" % machine["biossystemtimeoffset"]),
    ]
    if not snapshot_view:
        out.append(human("BIOS NVRAM File:", p["nvram"]))
    out += [
        human("RTC:", "UTC" if machine["rtcuseutc"] else "local time"),
        human("IOMMU:", "None"),
        human(
            "Paravirt. Provider:", PARAVIRT_HUMAN[machine["paravirtprovider"]]
        ),
        human(
            "Effective Paravirt. Prov.:",
            PARAVIRT_HUMAN[model.effective_paravirt(machine)],
        ),
        human(
            "State:",
            "%s (since %s)"
            % (
                VMSTATE_HUMAN.get(state, state),
                statelib.format_state_time(since_ns),
            ),
        ),
    ]
    if not snapshot_view and vm.get("state_file"):
        out.append(human("State file:", vm["state_file"]))
    out += [
        human(
            "Graphics Controller:",
            GRAPHICS_HUMAN[machine["graphicscontroller"]],
        ),
        human("Monitor count:", machine["monitorcount"]),
        human("3D Acceleration:", enabled(machine["accelerate3d"])),
        human("Teleporter Enabled:", "disabled"),
        human("Teleporter Port:", 0),
        human("Teleporter Address:", ""),
        human("Teleporter Password:", ""),
        human("Tracing Enabled:", "disabled"),
        human("Allow Tracing to Access VM:", "disabled"),
        human("Tracing Configuration:", ""),
        human("Autostart Enabled:", enabled(machine["autostart_enabled"])),
        human("Autostart Delay:", machine["autostart_delay"]),
        human("Default Frontend:", machine["defaultfrontend"]),
        human("VM process priority:", machine["vmprocpriority"]),
    ]
    out += _human_storage(machine, registry)
    out += _human_nics(machine)
    out += [
        human(
            "Pointing Device:",
            MOUSE_HUMAN.get(machine["mouse"], machine["mouse"]),
        ),
        human(
            "Keyboard Device:",
            KEYBOARD_HUMAN.get(machine["keyboard"], machine["keyboard"]),
        ),
    ]
    out += _human_uarts(machine)
    out += [human("LPT 1:", "disabled"), human("LPT 2:", "disabled")]
    audio = machine["audio"]
    if audio["enabled"]:
        driver = (
            "Default"
            if audio["driver"] == "default"
            else audio["driver"].upper()
        )
        out.append(
            human(
                "Audio:",
                "enabled (Driver: %s, Controller: %s, Codec: %s)"
                % (driver, audio["controller"].upper(), audio["codec"]),
            )
        )
    else:
        out.append(human("Audio:", "disabled"))
    out += [
        human("Audio playback:", enabled(audio["out"])),
        human("Audio capture:", enabled(audio["in"])),
        human("Clipboard Mode:", CLIPBOARD_HUMAN[machine["clipboard"]]),
        human(
            "Clipboard file transfers:",
            enabled(machine["clipboard_file_transfers"]),
        ),
        human("Drag and drop Mode:", CLIPBOARD_HUMAN[machine["draganddrop"]]),
    ]
    if (
        not snapshot_view
        and vm["state"] in ("running", "paused")
        and vm.get("session")
    ):
        out.append(human("Session name:", vm["session"]))
    vrde = machine["vrde"]
    if vrde["enabled"]:
        props = vrde["properties"]
        out.append(
            human(
                "VRDE:",
                "enabled (Address %s, Ports %s, MultiConn: %s,"
                " ReuseSingleConn: %s, Authentication type: %s)"
                % (
                    props.get("TCP/Address") or "0.0.0.0",
                    props.get("TCP/Ports", ""),
                    onoff(vrde["multicon"]),
                    onoff(vrde["reusecon"]),
                    vrde["authtype"],
                ),
            )
        )
        out.append(human("Video redirection:", enabled(vrde["videochannel"])))
        for name in ("TCP/Ports", "TCP/Address"):
            value = '"%s"' % props[name] if props.get(name) else "<not set>"
            out.append(
                "VRDE property               : %-10s = %s\n" % (name, value)
            )
    else:
        out.append(human("VRDE:", "disabled"))
    usb = machine["usb"]
    out += [
        human("OHCI USB:", enabled(usb["ohci"])),
        human("EHCI USB:", enabled(usb["ehci"])),
        human("xHCI USB:", enabled(usb["xhci"])),
        human("USB Device Filters:", "<none>"),
    ]
    if machine["bandwidth_groups"]:
        out.append("Bandwidth groups:\n")
        for group in machine["bandwidth_groups"]:
            out.append(
                "%10s (%s): %s\n"
                % (
                    group["name"],
                    group["type"].capitalize(),
                    limit_text(group),
                )
            )
    else:
        out.append(human("Bandwidth groups:", "<none>"))
    online = not snapshot_view and vm["state"] in ("running", "paused")
    out.append(human("Shared folders:", "<none>"))
    if online:
        out += [
            human("VRDE Connection:", "not active"),
            human("Clients so far:", 0),
        ]
    out += [
        human("Recording status:", "stopped"),
        human("Recording enabled:", "no"),
        human("Recording screens:", 1),
        " Screen 0:\n",
    ]
    rec = (
        ("Enabled:", "yes"),
        ("ID:", 0),
        ("Record video:", "yes"),
        ("Record audio:", "no"),
        ("Destination:", "File"),
        ("File:", p["webm"]),
        ("Options:", "ac_profile=med"),
        ("Video dimensions:", "1024x768"),
        ("Video rate:", "512kbps"),
        ("Video FPS:", "25fps"),
    )
    out += ["    %-25s%s\n" % (label, value) for label, value in rec]
    if machine.get("description"):
        out.append("Description:\n%s\n" % machine["description"])
    if vm.get("snapshot_root"):
        out.append("* Snapshots:\n")
        out += snapshot_tree_human(vm)
    out += ["* Guest:\n", human("Configured memory balloon:", "0MB")]
    if online:  # no Guest Additions in the simulated guest
        out += [
            human("OS type:", vm["ostype"]),
            human("Additions run level:", 0),
        ]
    out.append("\n")
    return "".join(out)


# ---------------------------------------------------------------- bandwidth
# groups
def limit_text(group):
    limit = group["limit"]
    if group["type"] == "network":
        bits = limit * 8
        for suffix, factor in (("G", 1000**3), ("M", 1000**2), ("k", 1000)):
            if bits and bits % factor == 0:
                return "%d %sbps (%d bytes/s)" % (
                    bits // factor,
                    suffix,
                    limit,
                )
        return "%d bps (%d bytes/s)" % (bits, limit)
    for suffix, factor in (("G", 1024**3), ("M", 1024**2), ("K", 1024)):
        if limit and limit % factor == 0:
            return "%d %siB/s" % (limit // factor, suffix)
    return "%d bytes/s" % limit


def machine_readable_groups(vm):
    return "".join(
        'BandwidthGroup%d="%s",%s,%d\n'
        % (index, group["name"], group["type"].capitalize(), group["limit"])
        for index, group in enumerate(vm["bandwidth_groups"])
    )


# ---------------------------------------------------------------- media
MEDIUM_TYPE_TEXT = {
    "normal": None,
    "immutable": "immutable",
    "writethrough": "writethrough",
    "shareable": "shareable",
    "readonly": "readonly",
    "multiattach": "multiattach",
}


def medium_type_text(medium):
    if medium["type"] == "normal" and medium.get("device") == "dvd":
        return "readonly"           # DVD images are read-only media
    if medium["type"] == "normal":
        return (
            "normal (differencing)"
            if medium.get("parent")
            else "normal (base)"
        )
    return medium["type"]


def medium_access_error(medium):
    """None, or why the medium is inaccessible (iSCSI is never reachable)."""
    if medium["format"] == "iSCSI":
        return "VERR_NET_CONNECTION_REFUSED"
    if not os.path.exists(medium["location"]):
        return "VERR_FILE_NOT_FOUND"
    return None


def medium_info(medium, registry, long_form):
    out = ["UUID:           %s\n" % medium["uuid"]]
    if medium["device"] == "hdd":
        out.append("Parent UUID:    %s\n" % (medium.get("parent") or "base"))
    access_error = medium_access_error(medium)
    lock = medialib.lock_state(registry, medium)
    out.append(
        "State:          %s\n"
        % ("inaccessible" if access_error else lock or "created")
    )
    if long_form and access_error:
        out.append(
            "Access Error:   Could not open the medium '%s'.\nVD: error %s"
            " opening image file '%s' (%s)\n"
            % (
                medium["location"],
                access_error,
                medium["location"],
                access_error,
            )
        )
    if long_form and medium.get("description"):
        out.append("Description:    %s\n" % medium["description"])
    out.append("Type:           %s\n" % medium_type_text(medium))
    if long_form and medium.get("parent"):
        out.append("Auto-Reset:     %s\n" % onoff(medium.get("auto_reset")))
    out.append("Location:       %s\n" % medium["location"])
    out.append("Storage format: %s\n" % medium["format"])
    if long_form:
        variant = {"diff": "differencing", "fixed": "fixed"}.get(
            medium["variant"], "dynamic"
        )
        out.append("Format variant: %s default\n" % variant)
    capacity = 0 if access_error else medium["capacity"]
    out.append("Capacity:       %d MBytes\n" % (capacity // (1024 * 1024)))
    if long_form:
        out.append(
            "Size on disk:   %d MBytes\n"
            % (size_on_disk(medium) // (1024 * 1024))
        )
    out.append("Encryption:     disabled\n")
    if long_form:
        props = medium_properties(medium)
        if lock:
            # the backend's properties are not read while a VM holds the
            # medium (7.2.22 shows `AllocationBlockSize=`)
            props = [(name, "") for name, _value in props]
        for index, (name, value) in enumerate(props):
            out.append(
                "%s%s=%s\n"
                % ("Property:       " if index == 0 else " " * 16, name, value)
            )
        for index, (vm, current, snaps) in enumerate(
            medialib.users(registry, medium)
        ):
            text = "%s (UUID: %s)" % (vm["name"], vm["uuid"])
            if snaps:
                text += " [%s]" % ", ".join(
                    "%s (UUID: %s)" % (s["name"], s["uuid"]) for s in snaps
                )
            out.append(
                "%s%s\n"
                % ("In use by VMs:  " if index == 0 else " " * 16, text)
            )
        children = registry.children_of(medium)
        for index, child in enumerate(children):
            out.append(
                "%s%s\n"
                % (
                    "Child UUIDs:    " if index == 0 else " " * 16,
                    child["uuid"],
                )
            )
    return "".join(out)


def size_on_disk(medium):
    total = 0
    location = medium["location"]
    for path in (
        location,
        location[:-5] + "-flat.vmdk" if location.endswith(".vmdk") else None,
    ):
        if path and os.path.isfile(path):
            total += os.path.getsize(path)
    return total


ISCSI_PROPERTIES = (
    "DumpMalformedPackets",
    "HostIPStack",
    "InitiatorName",
    "InitiatorSecret",
    "InitiatorUsername",
    "LUN",
    "TargetAddress",
    "TargetName",
    "TargetSecret",
    "TargetUsername",
    "Timeout",
    "WriteSplit",
)


def medium_properties(medium):
    if medium["format"].upper() == "VDI":
        return [("AllocationBlockSize", "1048576")]
    if medium["format"].upper() == "VMDK":
        return [
            ("BootSector", ""),
            ("Partitions", ""),
            ("RawDrive", ""),
            ("Relative", ""),
        ]
    if medium["format"] == "iSCSI":
        props = dict.fromkeys(ISCSI_PROPERTIES, "")
        props.update(medium.get("properties", {}))
        return sorted(props.items())
    return sorted(medium.get("properties", {}).items())
