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

"""Genuine VirtualBox VDI images (header version 1.1).

Layout written here, like VirtualBox 7 does::

    0x000  pre-header: 64-byte text, signature 0xBEDA107F, version 0x00010001
    0x048  header v1+ (400 bytes): type, offsets, geometry, sizes, UUIDs
    1 MiB  block map: one little-endian u32 per 1 MiB block (0xFFFFFFFF = free)
    2 MiB  data blocks (for small disks; the data offset is 1 MiB aligned)

A new dynamic image is therefore 2 MiB on disk, blocks are appended as they
are written.  UUIDs are stored in RTUUID (little-endian GUID) byte order,
which is what ``qemu-img info`` expects.
"""

import os
import struct
import uuid as uuidlib

SIGNATURE = 0xBEDA107F
VERSION = 0x00010001
FILE_INFO = b"<<< Oracle VM VirtualBox Disk Image >>>\n"
HEADER_SIZE = 400
BLOCK_SIZE = 1024 * 1024
ALIGN = 1024 * 1024
BLOCK_FREE = 0xFFFFFFFF
BLOCK_ZERO = 0xFFFFFFFE

TYPE_DYNAMIC = 1
TYPE_FIXED = 2
TYPE_DIFF = 4

_PRE = struct.Struct("<64sII")
# cbHeader, type, flags, comment, offBlocks, offData, legacy CHS+sector, dummy,
# cbDisk, cbBlock, cbBlockExtra, cBlocks, cBlocksAllocated, 4 UUIDs,
# LCHS+sector
_HDR = struct.Struct("<III256sII4II QIIII 16s16s16s16s 4I")
NULL_UUID = "00000000-0000-0000-0000-000000000000"


class VdiError(Exception):
    pass


def _align(value, to=ALIGN):
    return (value + to - 1) // to * to


def _uuid_bytes(text):
    return uuidlib.UUID(text or NULL_UUID).bytes_le


def _uuid_text(raw):
    return str(uuidlib.UUID(bytes_le=raw))


def read_header(path):
    with open(path, "rb") as handle:
        raw = handle.read(_PRE.size + _HDR.size)
    if len(raw) < _PRE.size + _HDR.size:
        raise VdiError("%s: too short for a VDI image" % path)
    _info, signature, version = _PRE.unpack_from(raw, 0)
    if signature != SIGNATURE:
        raise VdiError("%s: not a VDI image" % path)
    if version >> 16 != 1:
        raise VdiError("%s: unsupported VDI version %#x" % (path, version))
    fields = _HDR.unpack_from(raw, _PRE.size)
    return {
        "type": fields[1],
        "off_blocks": fields[4],
        "off_data": fields[5],
        "capacity": fields[11],
        "block_size": fields[12],
        "blocks": fields[14],
        "allocated": fields[15],
        "uuid": _uuid_text(fields[16]),
        "modify_uuid": _uuid_text(fields[17]),
        "parent_uuid": _uuid_text(fields[18]),
        "parent_modify_uuid": _uuid_text(fields[19]),
    }


def is_vdi(path):
    try:
        read_header(path)
        return True
    except (OSError, VdiError):
        return False


def _write_header(handle, hdr):
    handle.seek(0)
    handle.write(_PRE.pack(FILE_INFO, SIGNATURE, VERSION))
    handle.write(
        _HDR.pack(
            HEADER_SIZE,
            hdr["type"],
            0,
            b"",
            hdr["off_blocks"],
            hdr["off_data"],
            0,
            0,
            0,
            512,
            0,
            hdr["capacity"],
            hdr["block_size"],
            0,
            hdr["blocks"],
            hdr["allocated"],
            _uuid_bytes(hdr["uuid"]),
            _uuid_bytes(hdr["modify_uuid"]),
            _uuid_bytes(hdr["parent_uuid"]),
            _uuid_bytes(hdr["parent_modify_uuid"]),
            0,
            0,
            0,
            512,
        )
    )


def create(path, capacity, image_uuid, fixed=False, parent=None):
    """Create a VDI image; ``parent`` is the parent header for a diff image."""
    if os.path.exists(path):
        raise FileExistsError(path)
    # As real VirtualBox (createmedium, clonemedium): the folders of a new
    # image are made.
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    blocks = (capacity + BLOCK_SIZE - 1) // BLOCK_SIZE
    off_blocks = _align(_PRE.size + _HDR.size)
    off_data = _align(off_blocks + 4 * blocks)
    hdr = {
        "type": (
            TYPE_DIFF if parent else (TYPE_FIXED if fixed else TYPE_DYNAMIC)
        ),
        "off_blocks": off_blocks,
        "off_data": off_data,
        "capacity": capacity,
        "block_size": BLOCK_SIZE,
        "blocks": blocks,
        "allocated": blocks if fixed else 0,
        "uuid": image_uuid,
        "modify_uuid": str(uuidlib.uuid4()),
        "parent_uuid": parent["uuid"] if parent else NULL_UUID,
        "parent_modify_uuid": parent["modify_uuid"] if parent else NULL_UUID,
    }
    with open(path, "xb") as handle:
        _write_header(handle, hdr)
        handle.seek(off_blocks)
        if fixed:
            handle.write(b"".join(struct.pack("<I", i) for i in range(blocks)))
            handle.truncate(off_data + blocks * BLOCK_SIZE)
        else:
            handle.write(struct.pack("<I", BLOCK_FREE) * blocks)
            handle.truncate(off_data)
    return hdr


def _block_map(handle, hdr):
    handle.seek(hdr["off_blocks"])
    return list(
        struct.unpack("<%dI" % hdr["blocks"], handle.read(4 * hdr["blocks"]))
    )


def read_blocks(path):
    """Yield (index, data) for every allocated, non-zero block of one image."""
    hdr = read_header(path)
    with open(path, "rb") as handle:
        for index, entry in enumerate(_block_map(handle, hdr)):
            if entry in (BLOCK_FREE, BLOCK_ZERO):
                continue
            handle.seek(hdr["off_data"] + entry * hdr["block_size"])
            data = handle.read(hdr["block_size"])
            yield index, data.ljust(hdr["block_size"], b"\0")


def write_block(path, index, data):
    """Write one whole block, allocating it at the end of the image."""
    with open(path, "r+b") as handle:
        hdr = read_header(path)
        if index >= hdr["blocks"]:
            raise VdiError("block %d beyond the end of %s" % (index, path))
        entry_pos = hdr["off_blocks"] + 4 * index
        handle.seek(entry_pos)
        (entry,) = struct.unpack("<I", handle.read(4))
        if entry in (BLOCK_FREE, BLOCK_ZERO):
            entry = hdr["allocated"]
            hdr["allocated"] += 1
            handle.seek(entry_pos)
            handle.write(struct.pack("<I", entry))
            _write_header(handle, hdr)
        handle.seek(hdr["off_data"] + entry * hdr["block_size"])
        handle.write(data.ljust(hdr["block_size"], b"\0"))


def flatten_blocks(chain):
    """Merge the blocks of an image chain given leaf first; leaf wins."""
    merged = {}
    for path in reversed(chain):
        for index, data in read_blocks(path):
            merged[index] = data
    return merged


def write_image(path, capacity, image_uuid, blocks, fixed=False):
    """Create ``path`` holding ``blocks`` ({index: data}); all-zero blocks stay
    sparse."""
    create(path, capacity, image_uuid, fixed=fixed)
    limit = (capacity + BLOCK_SIZE - 1) // BLOCK_SIZE
    for index in sorted(blocks):
        if index < limit and blocks[index].strip(b"\0"):
            write_block(path, index, blocks[index])


def rewrite(path, capacity=None, fixed=None):
    """Resize or compact an image in place, keeping its UUID (base images
    only)."""
    hdr = read_header(path)
    blocks = dict(read_blocks(path))
    tmp = path + ".vboxsim-tmp"
    if os.path.exists(tmp):
        os.unlink(tmp)
    write_image(
        tmp,
        capacity or hdr["capacity"],
        hdr["uuid"],
        blocks,
        fixed=(hdr["type"] == TYPE_FIXED) if fixed is None else fixed,
    )
    os.replace(tmp, path)


def grow(path, capacity):
    """Grow any VDI image (also a differencing one) in place, like
    VirtualBox's VDI backend: the header keeps its UUIDs (and parent UUIDs),
    the block map gets free entries; data blocks move only when the larger
    map no longer fits before them."""
    hdr = read_header(path)
    if capacity <= hdr["capacity"]:
        return hdr
    blocks = (capacity + hdr["block_size"] - 1) // hdr["block_size"]
    need_data = _align(hdr["off_blocks"] + 4 * blocks)
    with open(path, "r+b") as handle:
        old_map = _block_map(handle, hdr)
        if need_data > hdr["off_data"]:
            # Move the allocated data behind the larger block map.
            handle.seek(hdr["off_data"])
            data = handle.read(hdr["allocated"] * hdr["block_size"])
            handle.seek(need_data)
            handle.write(data)
            handle.truncate(need_data + len(data))
            hdr["off_data"] = need_data
        fill = BLOCK_FREE if hdr["type"] != TYPE_FIXED else None
        if fill is None:
            # A fixed image allocates the new blocks at once.
            new_map = old_map + list(range(hdr["allocated"],
                                           hdr["allocated"] + blocks
                                           - hdr["blocks"]))
            hdr["allocated"] += blocks - hdr["blocks"]
            handle.truncate(hdr["off_data"]
                            + hdr["allocated"] * hdr["block_size"])
        else:
            new_map = old_map + [fill] * (blocks - hdr["blocks"])
        handle.seek(hdr["off_blocks"])
        handle.write(struct.pack("<%dI" % blocks, *new_map))
        hdr["capacity"] = capacity
        hdr["blocks"] = blocks
        _write_header(handle, hdr)
    return hdr


def merge_into_parent(child_path, parent_path):
    """Copy a differencing image's blocks into its parent (snapshot delete)."""
    for index, data in read_blocks(child_path):
        write_block(parent_path, index, data)
