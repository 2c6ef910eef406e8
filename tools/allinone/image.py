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

"""A tiny bootable disk: a BIOS boot sector that prints a line and halts.

    python3 tools/allinone/image.py hello.raw [SIZE_MIB]

The first sector is real x86 machine code (below, hand-assembled), with the
0x55AA signature and one partition in its table, so a PC BIOS (VirtualBox's
too) boots it and shows "nova-virtualbox: booted" on the console. The rest
of the disk is zeros. A raw image of 1 MiB by default: upload it with
--disk-format raw.
"""

import sys

MESSAGE = b'nova-virtualbox: booted\r\n\0'
LOAD_ADDRESS = 0x7c00
CODE = bytes([
    0x31, 0xC0,        # xor ax, ax
    0x8E, 0xD8,        # mov ds, ax
    0xBE, 0, 0,        # mov si, MESSAGE (patched below)
    0xB4, 0x0E,        # mov ah, 0x0e        (BIOS teletype output)
    0xAC,              # next: lodsb
    0x08, 0xC0,        # or al, al
    0x74, 0x04,        # jz halt
    0xCD, 0x10,        # int 0x10
    0xEB, 0xF7,        # jmp next
    0xFA,              # halt: cli
    0xF4,              # hlt
    0xEB, 0xFC,        # jmp halt
])


def partition_entry(first_lba, sectors):
    """One MBR partition (type 0x83, Linux) with LBA addressing; the CHS
    fields say "use LBA". Glance refuses an MBR without partitions."""
    return (bytes([0x00, 0xFE, 0xFF, 0xFF, 0x83, 0xFE, 0xFF, 0xFF]) +
            first_lba.to_bytes(4, 'little') + sectors.to_bytes(4, 'little'))


def boot_sector(size_mib=1):
    code = bytearray(CODE)
    address = LOAD_ADDRESS + len(code)
    code[5:7] = address.to_bytes(2, 'little')
    sector = (bytes(code) + MESSAGE).ljust(446, b'\0')
    total = size_mib * 2048
    sector += partition_entry(2048 if total > 2048 else 1,
                              total - (2048 if total > 2048 else 1))
    return sector.ljust(510, b'\0') + b'\x55\xaa'


def write(path, size_mib=1):
    with open(path, 'wb') as f:
        f.write(boot_sector(size_mib))
        f.truncate(size_mib * 1024 * 1024)
    return path


if __name__ == '__main__':
    write(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1)
