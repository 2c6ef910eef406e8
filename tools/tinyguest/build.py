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

"""Builds the tiny test guest (tinyguest.S) into a bootable disk image.

    python3 tools/tinyguest/build.py OUT [--ignore-acpi] [--format raw|qcow2]

The guest is a BIOS boot sector that VirtualBox's instruction interpreter
boots in well under a second: it prints its banner with the VM's UUID to
the serial port and the screen, and answers the ACPI power button by
powering off (or, with --ignore-acpi, ignores it). The image is 1 MiB: the
boot sector, whose MBR has one partition, then zeros. Needs the C
compiler's assembler and GNU ld (gcc or clang with binutils) for x86.
"""

import argparse
import os
import subprocess
import sys
import tempfile

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                      'tinyguest.S')
LOAD_ADDRESS = 0x7c00
IMAGE_BYTES = 1024 * 1024

# What the guest prints (tests look for these).
BANNER = 'nova-virtualbox tinyguest uuid='
POWERING_OFF = 'tinyguest: ACPI power off'
IGNORED = 'tinyguest: ACPI ignored'


class BuildError(Exception):
    pass


def boot_sector(ignore_acpi=False):
    """The 512 bytes of the boot sector."""
    compiler = os.environ.get('CC', 'cc')
    with tempfile.TemporaryDirectory() as work:
        obj = os.path.join(work, 'tinyguest.o')
        out = os.path.join(work, 'tinyguest.bin')
        for cmd in ([compiler, '-c', '-DIGNORE_ACPI=%d' % bool(ignore_acpi),
                     '-o', obj, SOURCE],
                    ['ld', '-Ttext', hex(LOAD_ADDRESS), '--oformat',
                     'binary', '-o', out, obj]):
            try:
                subprocess.run(cmd, check=True, capture_output=True,
                               text=True)
            except FileNotFoundError:
                raise BuildError('building the tiny guest needs %s (install '
                                 'gcc and binutils)' % cmd[0])
            except subprocess.CalledProcessError as err:
                raise BuildError('%s failed: %s' % (' '.join(cmd),
                                                    err.stderr.strip()))
        with open(out, 'rb') as f:
            sector = f.read()
    if len(sector) != 512 or sector[-2:] != b'\x55\xaa':
        raise BuildError('the tiny guest is not a 512-byte boot sector')
    return sector


def write_image(path, ignore_acpi=False, disk_format='raw'):
    """Write the guest as a raw or qcow2 (qemu-img) image at ``path``."""
    raw = path if disk_format == 'raw' else path + '.raw'
    with open(raw, 'wb') as f:
        f.write(boot_sector(ignore_acpi).ljust(IMAGE_BYTES, b'\0'))
    if disk_format != 'raw':
        try:
            subprocess.run(['qemu-img', 'convert', '-f', 'raw', '-O',
                            disk_format, raw, path], check=True,
                           capture_output=True)
        finally:
            os.unlink(raw)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out')
    parser.add_argument('--ignore-acpi', action='store_true',
                        help='a guest that ignores the ACPI power button')
    parser.add_argument('--format', default='raw', choices=('raw', 'qcow2'))
    args = parser.parse_args(argv)
    try:
        write_image(args.out, args.ignore_acpi, args.format)
    except (BuildError, subprocess.CalledProcessError) as err:
        sys.exit('tinyguest: %s' % err)
    print(args.out)


if __name__ == '__main__':
    main()
