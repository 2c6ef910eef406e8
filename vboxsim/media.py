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

"""Medium registry operations and the image files behind them."""

import json
import os
import uuid as uuidlib

from vboxsim import errors
from vboxsim import model
from vboxsim import vdi

MB = 1024 * 1024
FORMAT_EXTENSIONS = {
    ".vdi": "VDI",
    ".vmdk": "VMDK",
    ".vhd": "VHD",
    ".img": "RAW",
    ".raw": "RAW",
    ".iso": "RAW",
    ".qcow2": "QCOW2",
}
QEMU_FORMATS = {
    "VMDK": "vmdk",
    "VHD": "vpc",
    "RAW": "raw",
    "QCOW2": "qcow2",
    "VDI": "vdi",
}


def qemu_img():
    import shutil  # here: most simulator calls never need it

    return shutil.which("qemu-img")


def run_qemu_img(*args):
    """Run ``qemu-img ARGS``; returns its stdout. Raises
    subprocess.CalledProcessError. (subprocess is imported here, not at
    every simulator call: each call is a new process, and few convert.)"""
    import subprocess

    return subprocess.run(
        [qemu_img()] + list(args), check=True, capture_output=True, text=True
    ).stdout


def new_uuid():
    return str(uuidlib.uuid4())


def format_for(path, requested=None):
    if requested:
        return (
            requested.upper()
            if requested.upper() in QEMU_FORMATS
            else requested
        )
    return FORMAT_EXTENSIONS.get(os.path.splitext(path)[1].lower(), "VDI")


def probe(path):
    """Read (format, capacity, uuid, parent uuid, variant) from an existing
    image file."""
    if vdi.is_vdi(path):
        hdr = vdi.read_header(path)
        variant = {vdi.TYPE_FIXED: "fixed", vdi.TYPE_DIFF: "diff"}.get(
            hdr["type"], "dynamic"
        )
        parent = hdr["parent_uuid"] if hdr["type"] == vdi.TYPE_DIFF else None
        return "VDI", hdr["capacity"], hdr["uuid"], parent, variant
    fmt = format_for(path)
    capacity = os.path.getsize(path)
    if qemu_img() and fmt != "RAW":
        import subprocess

        try:
            out = run_qemu_img("info", "--output=json", path)
            info = json.loads(out)
            capacity = info["virtual-size"]
            fmt = {"vpc": "VHD"}.get(info["format"], info["format"].upper())
        except (subprocess.CalledProcessError, ValueError, KeyError):
            pass
    return fmt, capacity, None, None, "dynamic"


def make_record(
    location,
    fmt,
    capacity,
    device="hdd",
    medium_uuid=None,
    parent=None,
    variant="dynamic",
):
    return {
        "uuid": medium_uuid or new_uuid(),
        "location": location,
        "format": fmt,
        "device": device,
        "type": "normal",
        "parent": parent,
        "variant": variant,
        "capacity": capacity,
        "registry": None,
        "ever_attached": False,
        "auto_reset": False,
        "properties": {},
        "description": "",
    }


def open_medium(registry, location_or_uuid, device="hdd"):
    """IVirtualBox::OpenMedium: find a registered medium or register a file."""
    found = registry.find_medium(location_or_uuid, device)
    if found:
        return found
    path = os.path.abspath(location_or_uuid)
    if not os.path.isfile(path):
        raise errors.medium_file_not_found(
            path if os.path.isabs(location_or_uuid) else location_or_uuid
        )
    if device == "dvd":
        record = make_record(path, "RAW", os.path.getsize(path), device="dvd")
    else:
        fmt, capacity, image_uuid, parent, variant = probe(path)
        record = make_record(
            path,
            fmt,
            capacity,
            device=device,
            medium_uuid=image_uuid,
            parent=(
                parent if parent and registry.medium_by_uuid(parent) else None
            ),
            variant=variant,
        )
    registry.media.append(record)
    return record


def chain(registry, medium):
    """Image paths of a medium and its ancestors, leaf first."""
    paths = []
    while medium:
        paths.append(medium["location"])
        medium = (
            registry.medium_by_uuid(medium["parent"])
            if medium.get("parent")
            else None
        )
    return paths


def create_base(path, fmt, capacity, fixed, medium_uuid):
    """Write a new base image of the given format."""
    if fmt == "VDI":
        vdi.create(path, capacity, medium_uuid, fixed=fixed)
        return
    if qemu_img():
        cmd = [
            "create",
            "-q",
            "-f",
            QEMU_FORMATS.get(fmt, fmt.lower()),
        ]
        if fixed and fmt in ("VHD", "VMDK"):
            cmd += [
                "-o",
                (
                    "subformat=fixed"
                    if fmt == "VHD"
                    else "subformat=monolithicFlat"
                ),
            ]
        run_qemu_img(*cmd, path, str(capacity))
        return
    with open(
        path, "xb"
    ) as handle:  # raw fallback: a sparse file of the right size
        handle.truncate(capacity)


def copy_contents(registry, source, path, fmt, medium_uuid, fixed=False):
    """Flatten ``source`` (and its ancestors) into a new base image at
    ``path``."""
    src_chain = chain(registry, source)
    if all(vdi.is_vdi(p) for p in src_chain) and fmt == "VDI":
        vdi.write_image(
            path,
            source["capacity"],
            medium_uuid,
            vdi.flatten_blocks(src_chain),
            fixed=fixed,
        )
        return
    if qemu_img() and len(src_chain) == 1:
        run_qemu_img(
            "convert",
            "-q",
            "-O",
            QEMU_FORMATS.get(fmt, fmt.lower()),
            src_chain[0],
            path,
        )
        if fmt == "VDI":
            vdi.rewrite(
                path
            )  # normalise layout; keeps qemu's UUID, so fix it below
            _set_vdi_uuid(path, medium_uuid)
        return
    create_base(path, fmt, source["capacity"], fixed, medium_uuid)


def _set_vdi_uuid(path, medium_uuid):
    blocks = dict(vdi.read_blocks(path))
    capacity = vdi.read_header(path)["capacity"]
    os.unlink(path)
    vdi.write_image(path, capacity, medium_uuid, blocks)


def create_diff(registry, parent, path, fmt=None, medium_uuid=None):
    medium_uuid = medium_uuid or new_uuid()
    fmt = fmt or parent["format"]
    if os.path.exists(path):
        raise FileExistsError(path)
    if parent["format"].upper() == "VDI" and vdi.is_vdi(parent["location"]):
        vdi.create(
            path,
            parent["capacity"],
            medium_uuid,
            parent=vdi.read_header(parent["location"]),
        )
    elif qemu_img():
        run_qemu_img(
            "create",
            "-q",
            "-f",
            "qcow2",
            "-F",
            QEMU_FORMATS.get(parent["format"].upper(), "raw"),
            "-b",
            parent["location"],
            path,
        )
    else:
        open(path, "xb").close()
    record = make_record(
        path,
        fmt,
        parent["capacity"],
        medium_uuid=medium_uuid,
        parent=parent["uuid"],
        variant="diff",
    )
    record["registry"] = parent.get("registry")
    registry.media.append(record)
    return record


def delete_storage(medium):
    try:
        os.unlink(medium["location"])
    except FileNotFoundError:
        pass


def users(registry, medium):
    """[(vm, [snapshot, ...])] of registered VMs that attach ``medium``."""
    result = []
    for vm in registry.vms:
        snaps = []
        current = False
        for snap, _ctl, att in model.all_attachments(vm):
            if att.get("medium") == medium["uuid"]:
                if snap is None:
                    current = True
                elif snap not in snaps:
                    snaps.append(snap)
        if current or snaps:
            result.append((vm, current, snaps))
    return result


def lock_state(registry, medium):
    """"locked write", "locked read" or None: a running (or paused) VM
    holds a write lock on each medium its current state attaches (a disk
    image) and a read lock on the parents of those and on DVD images, as
    `list hdds` and `showmediuminfo` show while the VM runs."""
    lock = None
    for vm in registry.vms:
        if vm["state"] not in ("running", "paused"):
            continue
        for _snap, _ctl, att in model.all_attachments(
                vm, include_snapshots=False):
            leaf = registry.medium_by_uuid(att.get("medium") or "")
            if leaf is None:
                continue
            if leaf["uuid"] == medium["uuid"]:
                if leaf["device"] == "hdd":
                    return "locked write"
                lock = "locked read"
            else:
                parent = leaf.get("parent")
                while parent:
                    if parent == medium["uuid"]:
                        lock = "locked read"
                        break
                    above = registry.medium_by_uuid(parent)
                    parent = above.get("parent") if above else None
    return lock


def in_use_anywhere(registry, medium):
    if users(registry, medium):
        return True
    return any(
        in_use_anywhere(registry, child)
        for child in registry.children_of(medium)
    )


def visible_media(registry, device):
    """Media listed by `list hdds|dvds`: base media in registration order, each
    followed by its descendants, skipping media whose machine registry is gone.
    """
    registered = {vm["uuid"] for vm in registry.vms}

    def visible(medium):
        owner = medium.get("registry")
        return (
            owner is None
            or owner in registered
            or in_use_anywhere(registry, medium)
        )

    ordered = []

    def walk(medium):
        ordered.append(medium)
        for child in registry.children_of(medium):
            walk(child)

    for medium in registry.media:
        if (
            medium["device"] == device
            and not medium.get("parent")
            and visible(medium)
        ):
            walk(medium)
    return ordered


def forget_orphans(registry):
    """Drop hard disks whose owning machine registry is no longer
    registered.  DVD and floppy images stay registered (real 7.2.22 keeps a
    detached ISO in `list dvds` after `unregistervm`, with or without
    --delete, until it is closed)."""
    registered = {vm["uuid"] for vm in registry.vms}
    keep = []
    for medium in registry.media:
        owner = medium.get("registry")
        if (
            owner is not None
            and medium.get("device", "hdd") == "hdd"
            and owner not in registered
            and not in_use_anywhere(registry, medium)
        ):
            continue
        keep.append(medium)
    registry.data["media"] = keep
