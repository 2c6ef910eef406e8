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

"""The all-in-one's first image: the project's tiny test guest, public.

    python tools/allinone/image.py [--name tinyguest] [--work-dir DIR]

aio.py start runs it with the venv's Python and OS_CLOUD pointing at the
all-in-one, as DevStack uploads cirros. It builds tools/tinyguest (a 1 MiB
raw disk whose boot sector prints "nova-virtualbox tinyguest uuid=<server
ID>" to COM1 and the screen, and powers off on the ACPI power button) and
uploads it as a public raw image, unless an image of that name exists.
Building needs a C compiler and GNU ld: without them it says so and
uploads nothing.
"""

import argparse
import importlib.util
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(os.path.dirname(HERE), 'tinyguest', 'build.py')


def tinyguest():
    """tools/tinyguest/build.py as a module."""
    spec = importlib.util.spec_from_file_location('tinyguest_build', BUILD)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(path, ignore_acpi=False):
    """Write the tiny guest as a raw disk at ``path``; returns ``path``.
    Raises the build module's BuildError without a compiler."""
    return tinyguest().write_image(path, ignore_acpi=ignore_acpi)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--name', default='tinyguest')
    parser.add_argument('--work-dir', default=None,
                        help='where the disk is built (a temporary folder)')
    args = parser.parse_args(argv)

    import openstack
    conn = openstack.connect()
    if conn.image.find_image(args.name, ignore_missing=True):
        return 0
    guest = tinyguest()
    with tempfile.TemporaryDirectory(dir=args.work_dir) as work:
        path = os.path.join(work, args.name + '.raw')
        try:
            guest.write_image(path)
        except guest.BuildError as err:
            print('warning: no first image: %s' % err)
            return 0
        image = conn.image.create_image(
            name=args.name, filename=path, disk_format='raw',
            container_format='bare', visibility='public')
    print('uploaded the first image %s (%s, public)' % (args.name, image.id))
    return 0


if __name__ == '__main__':
    sys.exit(main())
