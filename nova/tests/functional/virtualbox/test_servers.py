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

"""Servers through Nova's REST API onto VBoxDriver on the simulator.

In-process Nova (API over wsgi-intercept, conductor, scheduler, compute,
Placement, fake Glance/Neutron/Cinder) drives the real driver, which drives
the VBoxManage simulator; the tests check both what Nova reports and what
VirtualBox holds.
"""

import io
import os
import subprocess
import sys

import fixtures

from nova import context as nova_context
from nova.tests.functional import integrated_helpers
from nova.tests.functional.virtualbox import vbox_fixtures
from nova import thread_pool_factory
from nova.virt.virtualbox import conf as vbox_conf
from nova.virt.virtualbox import vboxmanage

import nova.conf

CONF = nova.conf.CONF
vbox_conf.register_opts(CONF)


def make_qcow2(folder, size='64M'):
    """A real qcow2 image made by qemu-img (installed by the test script)."""
    path = os.path.join(folder, 'image.qcow2')
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', path, size],
                   check=True)
    with open(path, 'rb') as f:
        return f.read()


class VBoxServersTestBase(integrated_helpers._IntegratedTestBase):
    """Nova in one process with VBoxDriver on a fresh simulator."""

    ADMIN_API = True
    microversion = 'latest'
    REQUIRES_LOCKING = True

    def setUp(self):
        # A service an earlier test stopped can finish its graceful shutdown
        # in the background after that test's fixtures are gone, and mark
        # Nova's process-wide thread pool factory as shut down (a race in
        # Nova's ServiceFixture that shows on a loaded machine): start
        # every test from a usable factory.
        thread_pool_factory.FACTORY._shutdown = False
        self.sim = self.useFixture(vbox_fixtures.SimulatorFixture(
            acpi_delay='0.1'))
        tmp = self.useFixture(fixtures.TempDir()).path
        self.instances_path = os.path.join(tmp, 'instances')
        self.flags(compute_driver='virtualbox.VBoxDriver',
                   instances_path=self.instances_path,
                   state_path=tmp)
        self.flags(vboxmanage_cmd=self.sim.command, retry_interval=0.05,
                   wait_soft_reboot_seconds=5, group='virtualbox')
        self.flags(api_paste_config=os.path.join(
            sys.prefix, 'etc', 'nova', 'api-paste.ini'), group='wsgi')
        super().setUp()
        self.vbox = vboxmanage.VBoxManage(self.sim.command)
        self.image_id = self._create_image(
            make_qcow2(tmp), disk_format='qcow2')

    def _create_image(self, data, disk_format='qcow2', **properties):
        ctxt = nova_context.get_admin_context()
        image = self.glance.create(ctxt, {
            'name': 'cirros-like', 'status': 'active',
            'container_format': 'bare', 'disk_format': disk_format,
            'min_disk': 0, 'min_ram': 0, 'size': len(data),
            'properties': properties}, data=io.BytesIO(data))
        return image['id']

    def _vm_state(self, server):
        return self.vbox.show_vm_info(server['id'])['VMState']

    def _registered_uuids(self):
        return [uuid for _name, uuid in self.vbox.list_vms()]

    def _boot(self, **kwargs):
        kwargs.setdefault('image_uuid', self.image_id)
        kwargs.setdefault('networks', 'none')
        return self._create_server(**kwargs)

    def _assert_nothing_left(self):
        self.assertEqual([], self._registered_uuids())
        # The cache, lock files and the driver's own dot-folders (its
        # crash-recovery journal) stay; nothing of the instance may.
        leftovers = []
        for top, dirs, files in os.walk(self.instances_path):
            rel = os.path.relpath(top, self.instances_path)
            if rel.split(os.sep)[0] in ('_base', 'locks') or \
                    rel.startswith('.'):
                continue
            leftovers += [os.path.join(rel, f) for f in files]
        self.assertEqual([], leftovers)


class VBoxServersLifecycleTestCase(VBoxServersTestBase):

    def test_create_and_delete(self):
        server = self._boot()
        self.assertEqual('running', self._vm_state(server))
        self.assertEqual([server['id']], self._registered_uuids())
        self._delete_server(server)
        self._assert_nothing_left()

    def test_stop_start(self):
        server = self._boot()
        self._stop_server(server)
        self.assertIn(self._vm_state(server), ('poweroff', 'aborted'))
        self._start_server(server)
        self.assertEqual('running', self._vm_state(server))
        self._delete_server(server)
        self._assert_nothing_left()

    def test_reboot_soft_and_hard(self):
        server = self._boot()
        self._reboot_server(server)
        self.assertEqual('running', self._vm_state(server))
        self._reboot_server(server, hard=True)
        self.assertEqual('running', self._vm_state(server))
        self._delete_server(server)

    def test_pause_unpause(self):
        server = self._boot()
        self.api.post_server_action(server['id'], {'pause': {}})
        server = self._wait_for_state_change(server, 'PAUSED')
        self.assertEqual('paused', self._vm_state(server))
        self.api.post_server_action(server['id'], {'unpause': {}})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual('running', self._vm_state(server))
        self._delete_server(server)

    def test_suspend_resume(self):
        server = self._boot()
        server = self._suspend_server(server)
        self.assertEqual('saved', self._vm_state(server))
        server = self._resume_server(server)
        self.assertEqual('running', self._vm_state(server))
        self._delete_server(server)
        self._assert_nothing_left()

    def test_soft_delete_and_restore(self):
        self.flags(reclaim_instance_interval=3600)
        server = self._boot()
        self.api.delete_server(server['id'])
        server = self._wait_for_state_change(server, 'SOFT_DELETED')
        self.assertIn(self._vm_state(server), ('poweroff', 'aborted'))
        self.api.post_server_action(server['id'], {'restore': {}})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual('running', self._vm_state(server))
        # A plain delete would soft-delete again: force it.
        self.api.post_server_action(server['id'], {'forceDelete': {}})
        self._wait_until_deleted(server)
        self._assert_nothing_left()

    def test_failed_build_leaves_nothing_behind(self):
        # VirtualBox refuses to attach the disk: the build fails, Nova
        # reschedules nowhere (one host) and the server goes to ERROR.
        faults = os.path.join(self.sim.home, 'faults.json')
        with open(faults, 'w') as f:
            f.write('{"storageattach": {"hard": 1.0}}')
        server = self._boot(expected_state='ERROR')
        os.unlink(faults)
        self.assertEqual([], self._registered_uuids())
        self._delete_server(server)
        self._assert_nothing_left()
