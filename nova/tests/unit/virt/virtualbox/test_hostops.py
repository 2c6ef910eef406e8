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

from unittest import mock

import os_resource_classes as orc

from nova.compute import provider_tree
from nova.tests.unit.virt.virtualbox import test_base
from nova.virt.virtualbox import hostops
from nova.virt.virtualbox import parsers

CONF = test_base.CONF


class HostOpsTestCase(test_base.VBoxTestCase):

    def setUp(self):
        super().setUp()
        self.vbox.host_info.return_value = parsers.parse_host_info(
            self.stdout_of('03-list-hostinfo.txt'))
        self.pathutils = mock.Mock()
        self.pathutils.disk_usage.return_value = (100, 60, 40)
        self.hostops = hostops.HostOps(self.vbox, self.pathutils)

    def test_get_available_resource_from_real_hostinfo(self):
        self.flags(host='laptop')
        res = self.hostops.get_available_resource()
        self.assertEqual(2, res['vcpus'])
        self.assertEqual(24105, res['memory_mb'])
        self.assertEqual(24105 - 23921, res['memory_mb_used'])
        self.assertEqual(100, res['local_gb'])
        self.assertEqual(40, res['local_gb_used'])
        self.assertEqual(60, res['disk_available_least'])
        self.assertEqual('vbox', res['hypervisor_type'])
        self.assertEqual(7002022, res['hypervisor_version'])
        self.assertEqual('laptop', res['hypervisor_hostname'])
        self.assertIn('"model": "AMD EPYC"', res['cpu_info'])
        self.assertIn('"vendor": "AMD"', res['cpu_info'])
        self.assertEqual('vbox', res['supported_instances'][0][1])
        # One VBoxManage call, whatever the number of VMs.
        self.vbox.host_info.assert_called_once_with()
        self.vbox.list_vms.assert_not_called()

    def test_update_provider_tree_sets_inventory_with_config(self):
        self.flags(reserved_host_cpus=1, reserved_host_memory_mb=1024)
        tree = provider_tree.ProviderTree()
        tree.new_root('laptop', 'c9f7ff6d-3e1b-4c63-a3d0-33b6f1d3ab0e')
        ratios = {orc.VCPU: 4.0, orc.MEMORY_MB: 1.5, orc.DISK_GB: 1.0}
        self.hostops.update_provider_tree(tree, 'laptop', ratios, 2)
        inv = tree.data('laptop').inventory
        self.assertEqual({'total': 2, 'min_unit': 1, 'max_unit': 2,
                          'step_size': 1, 'allocation_ratio': 4.0,
                          'reserved': 1}, inv[orc.VCPU])
        self.assertEqual(24105, inv[orc.MEMORY_MB]['total'])
        self.assertEqual(1024, inv[orc.MEMORY_MB]['reserved'])
        self.assertEqual(1.5, inv[orc.MEMORY_MB]['allocation_ratio'])
        self.assertEqual(100, inv[orc.DISK_GB]['total'])
        self.assertEqual(2, inv[orc.DISK_GB]['reserved'])

    def test_available_nodes_is_the_host(self):
        self.flags(host='laptop')
        self.assertEqual(['laptop'], self.hostops.get_available_nodes())

    def test_uptime_text(self):
        with mock.patch.object(hostops.psutil, 'boot_time',
                               return_value=0), \
                mock.patch.object(hostops.time, 'time',
                                  return_value=90061.0):
            text = self.hostops.get_host_uptime()
        self.assertIn(' up 1 day,  1:01,', text)
        self.assertIn('load average:', text)

    def test_cpu_stats_in_nanoseconds(self):
        times = mock.Mock(system=1.5, idle=10.0, user=2.0, iowait=0.25)
        with mock.patch.object(hostops.psutil, 'cpu_times',
                               return_value=times), \
                mock.patch.object(hostops.psutil, 'cpu_freq',
                                  return_value=mock.Mock(current=2596.4)):
            stats = self.hostops.get_host_cpu_stats()
        self.assertEqual({'kernel': 1500000000, 'idle': 10000000000,
                          'user': 2000000000, 'iowait': 250000000,
                          'frequency': 2596}, stats)

    def test_cpu_vendor(self):
        self.assertEqual('Intel', hostops._cpu_vendor(
            'Intel(R) Core(TM) i7-9750H CPU @ 2.60GHz'))
        self.assertEqual('Apple', hostops._cpu_vendor('Apple M2'))
        self.assertEqual('unknown', hostops._cpu_vendor(''))
