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

"""The driver's host side against the simulator and the real VBoxManage."""

import os

import fixtures
import os_resource_classes as orc

from nova.compute import provider_tree
from nova import test
from nova.tests.functional.virtualbox import vbox_fixtures
from nova.virt import driver as base_driver
from nova.virt import fake as fake_virt
from nova.virt.virtualbox import conf as vbox_conf
from nova.virt.virtualbox import exception as vbox_exc

import nova.conf

CONF = nova.conf.CONF
vbox_conf.register_opts(CONF)


class _HostTests(object):
    """The same checks on either VirtualBox; subclasses pick which."""

    backend = None

    def setUp(self):
        super().setUp()
        self.vbm = self.useFixture(self.backend())
        self.instances = self.useFixture(fixtures.TempDir()).path
        self.flags(instances_path=self.instances, host='laptop')
        self.flags(vboxmanage_cmd=self.vbm.command, group='virtualbox')
        self.driver = base_driver.load_compute_driver(
            fake_virt.FakeVirtAPI(), 'virtualbox.VBoxDriver')

    def _user_vm(self, name):
        """A VM of the user's own, outside Nova's instances path."""
        folder = self.useFixture(fixtures.TempDir()).path
        result = self.vbm.run('createvm', '--name', name, '--basefolder',
                              folder, '--register')
        self.assertEqual(0, result.returncode, result.stderr)
        self.addCleanup(self.vbm.run, 'unregistervm', name, '--delete')

    def test_init_host_and_resources(self):
        self.driver.init_host('laptop')
        res = self.driver.get_available_resource('laptop')
        self.assertGreater(res['vcpus'], 0)
        self.assertGreater(res['memory_mb'], 0)
        self.assertGreaterEqual(res['hypervisor_version'], 7002000)
        self.assertEqual('vbox', res['hypervisor_type'])
        tree = provider_tree.ProviderTree()
        tree.new_root('laptop', 'c9f7ff6d-3e1b-4c63-a3d0-33b6f1d3ab0e')
        self.driver.update_provider_tree(tree, 'laptop')
        inventory = tree.data('laptop').inventory
        self.assertEqual(res['vcpus'], inventory[orc.VCPU]['total'])
        self.assertEqual(res['memory_mb'], inventory[orc.MEMORY_MB]['total'])

    def test_users_own_vms_are_not_instances(self):
        self._user_vm('my-own-vm')
        self.driver.init_host('laptop')
        self.assertEqual([], self.driver.list_instances())
        self.assertEqual([], self.driver.list_instance_uuids())

    def test_wrong_command_is_a_clear_error(self):
        self.flags(vboxmanage_cmd=os.path.join(self.instances, 'nothing'),
                   group='virtualbox')
        driver = base_driver.load_compute_driver(fake_virt.FakeVirtAPI(),
                                                 'virtualbox.VBoxDriver')
        err = self.assertRaises(vbox_exc.VBoxManageNotFound,
                                driver.init_host, 'laptop')
        self.assertIn('vboxmanage_cmd', str(err))


class SimulatorHostTestCase(_HostTests, test.NoDBTestCase):
    backend = vbox_fixtures.SimulatorFixture


class RealVBoxHostTestCase(_HostTests, test.NoDBTestCase):
    backend = vbox_fixtures.RealVBoxFixture
