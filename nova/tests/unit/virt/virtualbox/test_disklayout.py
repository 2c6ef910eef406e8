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

from nova import exception
from nova import objects
from nova.tests.unit.virt.virtualbox import test_base
from nova.virt.virtualbox import constants
from nova.virt.virtualbox import disklayout
from nova.virt.virtualbox import pathutils
from nova.virt.virtualbox import volumeops

UUID = '4fd89640-4231-4c44-a7b5-a3c7ca859849'
SATA = constants.STORAGE_CONTROLLERS[constants.STORAGE_BUS_SATA]
IDE = constants.STORAGE_CONTROLLERS[constants.STORAGE_BUS_IDE]


class LimitTestCase(test_base.VBoxTestCase):

    def test_extra_specs_not_loaded(self):
        flavor = objects.Flavor(memory_mb=256, vcpus=1)
        self.assertFalse(flavor.obj_attr_is_set('extra_specs'))
        self.assertIsNone(disklayout.disk_bytes_limit(flavor))

    def test_limit_arg(self):
        self.assertEqual('1K', disklayout.bandwidth_limit_arg(1))
        self.assertEqual('1024K', disklayout.bandwidth_limit_arg(1048576))

    def test_device_letters(self):
        self.assertEqual(['a', 'b', 'z', 'aa', 'ad'],
                         [disklayout.letters(i) for i in (0, 1, 25, 26, 29)])
        for index in (0, 1, 25, 26, 29, 701, 702):
            self.assertEqual(index, volumeops.device_index(
                '/dev/sd' + disklayout.letters(index)))


class PlanDisksTestCase(test_base.VBoxTestCase):

    def setUp(self):
        super().setUp()
        self.flags(instances_path='/inst', group='virtualbox')
        self.paths = pathutils.PathUtils()
        self.instance = objects.Instance(
            uuid=UUID, id=42, flavor=objects.Flavor(
                memory_mb=256, vcpus=1, root_gb=1, ephemeral_gb=2, swap=64))

    def plan(self, bdi=None, controller=SATA, iso=False,
             boot_from_volume=False, config_drive=False):
        return disklayout.plan_disks(self.paths, self.instance, bdi,
                                     controller, iso, boot_from_volume,
                                     config_drive)

    def test_flavor_disks_take_the_first_free_ports(self):
        disks = self.plan(bdi={'block_device_mapping': [
            {'mount_device': '/dev/sdb', 'connection_info': {}}]})
        self.assertEqual([('ephemeral', (2, 0), 2048), ('swap', (3, 0), 64)],
                         [(d.kind, d.slot, d.size_mb) for d in disks])
        self.assertEqual(self.paths.ephemeral_disk_path(self.instance),
                         disks[0].path)

    def test_device_names_of_nova_give_the_slots(self):
        disks = self.plan(bdi={
            'ephemerals': [{'size': 1, 'device_name': '/dev/sdd'}],
            'swap': {'device_name': '/dev/sde', 'swap_size': 32}})
        self.assertEqual([('/dev/sdd', (3, 0)), ('/dev/sde', (4, 0))],
                         [(d.device_name, d.slot) for d in disks])

    def test_two_devices_on_one_slot_are_refused(self):
        self.assertRaises(exception.InvalidBDM, self.plan, bdi={
            'block_device_mapping': [{'mount_device': '/dev/sdb',
                                      'connection_info': {}}],
            'ephemerals': [{'size': 1, 'device_name': '/dev/sdb'}]})

    def test_ide_root_keeps_the_dvd_slots_free(self):
        # Two devices a port on IDE: the config drive holds port 1
        # device 1, so the swap disk cannot go to /dev/sdd.
        self.assertRaises(
            exception.InvalidBDM, self.plan, controller=IDE,
            config_drive=True,
            bdi={'swap': {'device_name': '/dev/sdd', 'swap_size': 32}})

    def test_beyond_the_ports_is_too_many(self):
        self.instance.flavor.ephemeral_gb = 0
        self.instance.flavor.swap = 0
        self.assertRaises(exception.TooManyDiskDevices, self.plan,
                          controller=IDE, config_drive=True, iso=True,
                          bdi={'ephemerals': [
                              {'size': 1, 'device_name': None}] * 2})
