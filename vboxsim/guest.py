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

"""The tiny test guest (tools/tinyguest) as the simulator runs it.

A VM whose boot disk (the first hard disk of a bootable controller) starts
with the tiny guest's boot sector behaves as that guest does on real
VirtualBox: on every boot it writes ``nova-virtualbox tinyguest uuid=<VM
UUID>`` to each serial port in file mode (VirtualBox truncates the file at
every start, also when restoring a saved state, where the guest does not
boot again), and it answers the ACPI power button by printing
``tinyguest: ACPI power off`` and powering off, or, built with
--ignore-acpi, ``tinyguest: ACPI ignored`` and keeps running.  Any other
boot disk is a guest that powers off on the power button after
``VBOXSIM_ACPI_DELAY`` seconds (commands/control.py).
"""

import struct

from vboxsim import vdi

BANNER = b"nova-virtualbox tinyguest uuid="
# The guest's flag byte follows this message (tinyguest.S: ignore_acpi)
IGNORED = b"tinyguest: ACPI ignored\r\n\0"
SECTOR = 512


def _first_sector(registry, medium):
    """The first 512 bytes the VM reads from ``medium`` (a VDI chain or a
    raw file), or None."""
    while medium is not None:
        path = medium["location"]
        try:
            if medium["format"].upper() != "VDI":
                with open(path, "rb") as handle:
                    return handle.read(SECTOR)
            hdr = vdi.read_header(path)
            with open(path, "rb") as handle:
                handle.seek(hdr["off_blocks"])
                (entry,) = struct.unpack("<I", handle.read(4))
                if entry not in (vdi.BLOCK_FREE, vdi.BLOCK_ZERO):
                    handle.seek(hdr["off_data"] + entry * hdr["block_size"])
                    return handle.read(SECTOR)
                if entry == vdi.BLOCK_ZERO:
                    return None
        except (OSError, vdi.VdiError, struct.error):
            return None
        parent = medium.get("parent")
        medium = registry.medium_by_uuid(parent) if parent else None
    return None


def tiny_guest(registry, vm):
    """None when the VM does not boot the tiny guest, else whether that
    guest ignores the ACPI power button."""
    for ctl in vm["storage"]:
        if not ctl.get("bootable", True):
            continue
        for att in ctl["attachments"]:
            if att.get("type") != "hdd" or not att.get("medium"):
                continue
            sector = _first_sector(registry,
                                   registry.medium_by_uuid(att["medium"]))
            if not sector or BANNER not in sector:
                return None
            at = sector.find(IGNORED)
            return at >= 0 and sector[at + len(IGNORED):][:1] not in (
                b"", b"\0")
    return None


def _serial_files(vm):
    return [uart["path"] for uart in vm.get("uarts", [])
            if uart.get("enabled") and uart.get("mode") == "file"
            and uart.get("path")]


def _write(vm, text, truncate=False):
    for path in _serial_files(vm):
        try:
            with open(path, "w" if truncate else "a") as handle:
                handle.write(text)
        except OSError:
            pass


def _banner(vm):
    return "%s%s\r\n" % (BANNER.decode(), vm["uuid"])


def power_on(registry, vm, restored):
    """startvm: VirtualBox opens the serial files anew; a fresh boot of
    the tiny guest prints its banner."""
    if tiny_guest(registry, vm) is None:
        return
    _write(vm, "" if restored else _banner(vm), truncate=True)


def reset(registry, vm):
    if tiny_guest(registry, vm) is not None:
        _write(vm, _banner(vm))


def press_power_button(registry, vm):
    """True or False when the tiny guest answers or ignores the button,
    None for any other guest."""
    ignores = tiny_guest(registry, vm)
    if ignores is None:
        return None
    _write(vm, "tinyguest: ACPI ignored\r\n" if ignores
           else "tinyguest: ACPI power off\r\n")
    return not ignores
