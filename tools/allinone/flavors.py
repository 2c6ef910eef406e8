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

"""Creates the classic small flavors when missing (run by aio.py start with
the venv's Python and OS_CLOUD pointing at the all-in-one cloud)."""

import openstack

# name: (vcpus, MiB of RAM, GiB of disk)
FLAVORS = {
    'm1.nano': (1, 128, 1),
    'm1.tiny': (1, 512, 1),
    'm1.small': (1, 2048, 20),
    'm1.medium': (2, 4096, 40),
}


def main():
    conn = openstack.connect()
    have = {f.name for f in conn.compute.flavors()}
    made = []
    for name, (vcpus, ram, disk) in FLAVORS.items():
        if name not in have:
            conn.compute.create_flavor(name=name, vcpus=vcpus, ram=ram,
                                       disk=disk, is_public=True)
            made.append(name)
    if made:
        print('created flavors %s' % ', '.join(made))


if __name__ == '__main__':
    main()
