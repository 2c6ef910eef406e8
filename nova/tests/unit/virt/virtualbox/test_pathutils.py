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

import os

from nova.tests.unit.virt.virtualbox import test_base
from nova.virt.virtualbox import pathutils


class PathUtilsTestCase(test_base.VBoxTestCase):

    def setUp(self):
        super().setUp()
        self.pathutils = pathutils.PathUtils()
        self.instance = test_base.FakeInstance()

    def test_lock_name(self):
        self.assertEqual('vbox-instance-' + self.instance.uuid,
                         pathutils.lock_name(self.instance))

    def test_layout(self):
        vm_dir = os.path.join(self.instances_path, 'nova',
                              'instance-0000002a')
        self.assertEqual(vm_dir, self.pathutils.instance_dir(self.instance))
        self.assertEqual(os.path.join(vm_dir, 'root.vdi'),
                         self.pathutils.root_disk_path(self.instance))
        self.assertEqual(os.path.join(vm_dir, 'console.log'),
                         self.pathutils.console_log_path(self.instance))
        self.assertEqual(os.path.join(self.instances_path, '_base', 'i.vdi'),
                         self.pathutils.cached_image_path('i'))

    def test_vm_folders_follow_the_group_like_virtualbox(self):
        self.flags(vm_group='/', group='virtualbox')
        self.assertEqual(self.instances_path, self.pathutils.vms_dir())
        self.flags(vm_group='/nova/sub', group='virtualbox')
        self.assertEqual(os.path.join(self.instances_path, 'nova', 'sub',
                                      'x'), self.pathutils.vm_dir('x'))

    def test_virtualbox_paths_override_nova_ones(self):
        self.flags(instances_path='/srv/vbox', image_cache_path='/srv/cache',
                   group='virtualbox')
        self.assertEqual('/srv/vbox', self.pathutils.instances_dir())
        self.assertEqual('/srv/cache/x.vdi',
                         self.pathutils.cached_image_path('x'))

    def test_is_nova_vm_needs_the_settings_file_in_our_path(self):
        self.assertFalse(self.pathutils.is_nova_vm('instance-0000002a'))
        vm_dir = self.pathutils.ensure_dir(
            self.pathutils.instance_dir(self.instance))
        open(os.path.join(vm_dir, 'instance-0000002a.vbox'), 'w').close()
        self.assertTrue(self.pathutils.is_nova_vm('instance-0000002a'))
        for hostile in ('', '.', '..', '../x', 'a/b'):
            self.assertFalse(self.pathutils.is_nova_vm(hostile))

    def test_disk_usage_of_a_path_not_made_yet(self):
        self.flags(instances_path=os.path.join(self.instances_path, 'a', 'b'))
        total, free, used = self.pathutils.disk_usage()
        self.assertGreater(total, 0)
        self.assertEqual(total, free + used)

    def test_remove_helpers_are_idempotent(self):
        path = os.path.join(self.instances_path, 'f')
        open(path, 'w').close()
        self.pathutils.remove_file(path)
        self.pathutils.remove_file(path)
        self.assertFalse(os.path.exists(path))
        self.pathutils.remove_tree(os.path.join(self.instances_path, 'none'))
