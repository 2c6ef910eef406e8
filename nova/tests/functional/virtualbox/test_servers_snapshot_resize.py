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

"""Snapshot, resize (same host) and rescue through Nova's REST API onto
VBoxDriver on the simulator."""

import json
import os
import shutil
import time

from nova import context as nova_context
from nova import objects
from nova.tests.functional.virtualbox import test_servers
from nova.tests.unit.virt.virtualbox import test_configdrive
from nova.virt.virtualbox import pathutils
from nova.virt.virtualbox import snapshotops

import nova.conf

CONF = nova.conf.CONF


class VBoxServersSnapshotResizeRescueTestCase(
        test_servers.VBoxServersTestBase):

    # RPC casts stay casts, as in a deployment: a compute failure (the
    # driver refusing a resize) reaches the user as the server's state,
    # its migration and its instance actions, not as the API's answer.
    CAST_AS_CALL = False

    def setUp(self):
        super().setUp()
        self.flags(allow_resize_to_same_host=True)
        self.small = self._create_flavor(memory_mb=512, vcpu=1, disk=1,
                                         ephemeral=0)
        self.big = self._create_flavor(memory_mb=1024, vcpu=2, disk=2,
                                       ephemeral=0)
        # GlanceFixture.update drops the uploaded data (its download then
        # gives b''); keep it, as Glance does, so that a snapshot boots.
        update = self.glance.update

        def update_keeping_data(context, image_id, metadata, data=None,
                                purge_props=False):
            image = update(context, image_id, metadata,
                           purge_props=purge_props)
            if data is not None:
                self.glance._imagedata[image_id] = data.read()
            return image
        self.glance.update = update_keeping_data

    def _vm(self, server):
        return self.vbox.show_vm_info(server['id'])

    def _root(self, server):
        return snapshotops.root_attachment(self._vm(server))

    def _disk(self, server):
        """(VDI UUID, capacity MB) of the root disk."""
        info = self.vbox.show_medium_info(self._root(server)[1])
        return info['UUID'], info['capacity_mb']

    def _snapshots(self, server):
        return [v for k, v in self._vm(server).items()
                if str(k).startswith('SnapshotName')]

    def _wait_for_image(self, image_id):
        ctxt = nova_context.get_admin_context()
        for _attempt in range(100):
            image = self.glance.show(ctxt, image_id)
            if image['status'] == 'active':
                return image
            time.sleep(0.1)
        self.fail('image %s never became active' % image_id)

    def test_snapshot_then_boot_from_it(self):
        server = self._boot(flavor_id=self.small)
        body = self.api.post_server_action(
            server['id'], {'createImage': {'name': 'snap'}})
        # GlanceFixture marks the image active when Nova's API creates it
        # (real Glance keeps it queued until the upload), without a
        # disk_format: the driver's upload is done when the task ends.
        self._wait_for_server_parameter(server, {'OS-EXT-STS:task_state':
                                                 None})
        image = self._wait_for_image(body['image_id'])
        self.assertEqual(('vdi', 'bare'),
                         (image['disk_format'], image['container_format']))
        self.assertEqual('running', self._vm_state(server))
        self.assertEqual([], self._snapshots(server))
        clone = self._boot(image_uuid=image['id'], flavor_id=self.small)
        self.assertEqual('running', self._vm_state(clone))
        self._delete_server(clone)
        self._delete_server(server)
        self._assert_nothing_left()

    def test_snapshot_of_a_stopped_server(self):
        server = self._boot(flavor_id=self.small)
        self._stop_server(server)
        body = self.api.post_server_action(
            server['id'], {'createImage': {'name': 'snap'}})
        self._wait_for_image(body['image_id'])
        self.assertEqual('poweroff', self._vm_state(server))
        self._delete_server(server)

    def test_resize_up_then_confirm(self):
        server = self._boot(flavor_id=self.small)
        server = self._resize_server(server, self.big)
        vm = self._vm(server)
        self.assertEqual((1024, 2, 'running'),
                         (vm['memory'], vm['cpus'], vm['VMState']))
        self.assertEqual(2048, self._disk(server)[1])
        self._confirm_resize(server)
        self.assertEqual([], self._snapshots(server))
        self.assertEqual(2048, self._disk(server)[1])
        # Confirmed while it runs: VirtualBox moves no disk of a running
        # VM, so the grown copy keeps its name, in the VM folder.
        root = self._root(server)[1]
        self.assertIn('/%s/' % server['OS-EXT-SRV-ATTR:instance_name'], root)
        self.assertTrue(os.path.basename(root).startswith('root.'))
        self._delete_server(server)
        self._assert_nothing_left()

    def test_resize_then_revert_gives_the_original_vm_back(self):
        server = self._boot(flavor_id=self.small)
        before = self._vm(server)
        disk_before = self._disk(server)
        server = self._resize_server(server, self.big)
        self.assertNotEqual(disk_before, self._disk(server))
        self._revert_resize(server)
        after = self._vm(server)
        self.assertEqual((before['memory'], before['cpus']),
                         (after['memory'], after['cpus']))
        self.assertEqual(disk_before, self._disk(server))
        self.assertEqual(self._root(server)[1], before['SATA-0-0'])
        self.assertEqual('running', after['VMState'])
        self.assertEqual([], self._snapshots(server))
        self._delete_server(server)
        self._assert_nothing_left()

    def test_resize_down_is_refused(self):
        # Nova's API refuses a smaller root disk for an image-backed
        # server itself: it records the image's min_disk as at least the
        # boot flavor's root disk (utils.get_system_metadata_from_image)
        # and checks the new flavor against it. The driver refuses too
        # (VirtualBox cannot shrink a disk); to reach it through Nova,
        # the recorded minimum is lowered to the image's own (0 GB).
        server = self._boot(flavor_id=self.big)
        vm_before = self._vm(server)
        disk_before = self._disk(server)
        ctxt = nova_context.get_admin_context()
        instance = objects.Instance.get_by_uuid(ctxt, server['id'])
        self.assertEqual('2', instance.system_metadata['image_min_disk'])
        instance.system_metadata['image_min_disk'] = '0'
        instance.save()
        self.api.post_server_action(server['id'],
                                    {'resize': {'flavorRef': self.small}})
        self._wait_for_migration_status(server, ['error'])
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertIsNone(server['OS-EXT-STS:task_state'])
        self.assertEqual(2, server['flavor']['disk'])
        self.assertEqual(1024, server['flavor']['ram'])
        # The refusal is on record: the instance action's resize event
        # failed and the instance fault gives the driver's reason.
        self._wait_for_instance_action_event(
            server, 'resize', 'compute_resize_instance', 'Error')
        fault = objects.InstanceFault.get_latest_for_instance(
            ctxt, server['id'])
        self.assertIn('Unable to resize disk down', fault.message)
        self.assertIn('VirtualBox cannot shrink a disk', fault.message)
        # And the VM was not touched: still running, same settings, same
        # 2 GB root disk, no resize snapshot.
        vm_after = self._vm(server)
        self.assertEqual('running', vm_after['VMState'])
        self.assertEqual((vm_before['memory'], vm_before['cpus'],
                          vm_before['SATA-0-0']),
                         (vm_after['memory'], vm_after['cpus'],
                          vm_after['SATA-0-0']))
        self.assertEqual(disk_before, self._disk(server))
        self.assertEqual(2048, self._disk(server)[1])
        self.assertEqual([], self._snapshots(server))
        self._delete_server(server)
        self._assert_nothing_left()

    def test_rescue_then_unrescue(self):
        server = self._boot(flavor_id=self.small)
        before = self._vm(server)
        server = self._rescue_server(server)
        vm = self._vm(server)
        self.assertTrue(vm['SATA-0-0'].endswith('/rescue.vdi'))
        attached = [v for k, v in vm.items() if str(k).startswith('SATA-')]
        self.assertIn(before['SATA-0-0'], attached)
        self.assertEqual('running', vm['VMState'])
        server = self._unrescue_server(server)
        after = self._vm(server)
        for key, value in before.items():
            if str(key).startswith('SATA') or key.startswith('boot'):
                self.assertEqual(value, after.get(key), key)
        self.assertEqual('running', after['VMState'])
        self._delete_server(server)
        self._assert_nothing_left()

    def test_rescue_gives_the_rescue_password_on_a_config_drive(self):
        if not shutil.which(CONF.mkisofs_cmd):
            self.skipTest('%s is not installed (apt-get install '
                          'genisoimage): no config drive can be built'
                          % CONF.mkisofs_cmd)
        body = self._build_server(image_uuid=self.image_id,
                                  flavor_id=self.small, networks='none')
        body['config_drive'] = True
        server = self.api.post_server({'server': body})
        server = self._wait_for_state_change(server, 'ACTIVE')
        instance = objects.Instance.get_by_uuid(
            nova_context.get_admin_context(), server['id'])
        vm_dir = pathutils.PathUtils().instance_dir(instance)
        config_drive = os.path.join(vm_dir, 'configdrive.iso')
        rescue_drive = os.path.join(vm_dir, 'configdrive-rescue.iso')
        self.assertEqual(config_drive, self._vm(server)['IDE-1-1'])

        answer = self.api.post_server_action(
            server['id'], {'rescue': {'adminPass': 'R3scue-S3cret!'}})
        self.assertEqual('R3scue-S3cret!', answer['adminPass'])
        server = self._wait_for_state_change(server, 'RESCUE')
        vm = self._vm(server)
        self.assertTrue(vm['SATA-0-0'].endswith('/rescue.vdi'))
        self.assertEqual(rescue_drive, vm['IDE-1-1'])
        files, _label = test_configdrive.read_iso9660(rescue_drive)
        meta = json.loads(files['openstack/latest/meta_data.json'])
        self.assertEqual('R3scue-S3cret!', meta['admin_pass'])
        self.assertEqual(server['id'], meta['uuid'])

        server = self._unrescue_server(server)
        self.assertEqual(config_drive, self._vm(server)['IDE-1-1'])
        self.assertFalse(os.path.exists(rescue_drive))
        self.assertNotIn(rescue_drive, self.vbox.run('list', 'dvds').stdout)
        self._delete_server(server)
        self._assert_nothing_left()
        self.assertEqual('', self.vbox.run('list', 'dvds').stdout.strip())
