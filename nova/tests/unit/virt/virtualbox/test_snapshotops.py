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
import time
from unittest import mock

from nova.compute import task_states
from nova import exception
from nova.tests.unit.virt.virtualbox import test_base
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import pathutils
from nova.virt.virtualbox import snapshotops
from nova.virt.virtualbox import vboxmanage

IMAGE_ID = '7b4c3a1e-0000-4000-8000-000000000001'


def vm_info(state='running', root='/i/instance-0000002a/root.vdi',
            **extra):
    info = {'VMState': state, 'storagecontrollername0': 'SATA',
            'SATA-0-0': root, 'SATA-ImageUUID-0-0': 'root-uuid',
            'SATA-1-0': 'none'}
    info.update(extra)
    return info


def failure(cls=vbox_exc.VBoxManageError, command='x'):
    return cls(command=command, exit_code=1, messages=['boom'])


class FakeVBox(object):
    """Runs VBoxManage subcommands: clonemedium writes its target; a
    subcommand in ``fail`` raises."""

    def __init__(self, vbox, fail=None):
        self.fail = fail or {}
        vbox.run.side_effect = self.run
        test_base.use_wrapper_helpers(vbox)

    def run(self, *args, **kwargs):
        key = args[0] if args[0] != 'snapshot' else 'snapshot ' + args[2]
        if key in self.fail:
            raise self.fail[key]
        if args[0] == 'clonemedium':
            with open(args[3], 'w') as f:
                f.write('VDI bytes')
        if args[0] == 'closemedium' and '--delete' in args:
            os.unlink(args[2])
        return vboxmanage.Result('', '')


class SnapshotOpsTestCase(test_base.VBoxTestCase):

    def setUp(self):
        super().setUp()
        self.pathutils = pathutils.PathUtils()
        self.image_api = mock.Mock()
        self.uploaded = []
        self.image_api.update.side_effect = (
            lambda ctx, image_id, meta, data, purge_props: self.uploaded
            .append((image_id, meta, data.read(), purge_props)))
        self.ops = snapshotops.SnapshotOps(self.vbox, self.pathutils,
                                           self.image_api)
        self.instance = test_base.FakeInstance(
            project_id='p1', os_type='linux',
            flavor=test_base.FakeInstance(root_gb=20))
        self.update_task_state = mock.Mock()
        self.flat = os.path.join(self.instances_path, '_snapshots',
                                 IMAGE_ID + '.vdi')

    def _commands(self):
        return [c.args[:3] if c.args[0] == 'snapshot' else c.args[:1]
                for c in self.vbox.run.call_args_list]

    def _snapshot(self):
        self.ops.snapshot('ctx', self.instance, IMAGE_ID,
                          self.update_task_state)

    def assert_cleaned(self):
        # The folder stays, empty: other instances' clones share it.
        folder = os.path.dirname(self.flat)
        self.assertEqual([], os.listdir(folder) if os.path.exists(folder)
                         else [])

    def test_running_vm_live_snapshot_clone_delete_upload(self):
        self.vbox.show_vm_info.return_value = vm_info('running')
        FakeVBox(self.vbox)
        self._snapshot()
        uuid = self.instance.uuid
        name = 'nova-image-' + IMAGE_ID
        self.assertEqual([
            mock.call('snapshot', uuid, 'take', name, '--live',
                      timeout=vboxmanage.TIMEOUT_LONG, undo=mock.ANY),
            mock.call('clonemedium', 'disk', '/i/instance-0000002a/root.vdi',
                      self.flat, '--format', 'VDI',
                      timeout=vboxmanage.TIMEOUT_LONG, undo=mock.ANY),
            mock.call('snapshot', uuid, 'delete', name,
                      timeout=vboxmanage.TIMEOUT_LONG),
            mock.call('closemedium', 'disk', self.flat, '--delete'),
        ], self.vbox.run.call_args_list)
        self.assertEqual([
            mock.call(task_state=task_states.IMAGE_PENDING_UPLOAD),
            mock.call(task_state=task_states.IMAGE_UPLOADING,
                      expected_state=task_states.IMAGE_PENDING_UPLOAD),
        ], self.update_task_state.call_args_list)
        [(image_id, meta, data, purge)] = self.uploaded
        self.assertEqual(IMAGE_ID, image_id)
        self.assertEqual(b'VDI bytes', data)
        self.assertFalse(purge)
        self.assertEqual('vdi', meta['disk_format'])
        self.assertEqual('bare', meta['container_format'])
        self.assertEqual('active', meta['status'])
        self.assertEqual(self.instance.flavor.root_gb, meta['min_disk'])
        self.assertEqual({'image_location': 'snapshot',
                          'image_state': 'available', 'owner_id': 'p1',
                          'os_type': 'linux'}, meta['properties'])
        self.assert_cleaned()

    def test_paused_vm_is_snapshotted_live(self):
        self.vbox.show_vm_info.return_value = vm_info('paused')
        FakeVBox(self.vbox)
        self._snapshot()
        self.assertIn(('snapshot', self.instance.uuid, 'take'),
                      self._commands())

    def test_stopped_vm_is_cloned_without_a_snapshot(self):
        for state in ('poweroff', 'saved', 'aborted'):
            self.vbox.reset_mock()
            self.uploaded = []
            self.vbox.show_vm_info.return_value = vm_info(state)
            FakeVBox(self.vbox)
            self._snapshot()
            self.assertEqual([('clonemedium',), ('closemedium',)],
                             self._commands(), state)
            self.assertEqual(1, len(self.uploaded))
            self.assert_cleaned()

    def test_flavor_without_root_size_leaves_min_disk_to_nova(self):
        # root_gb 0: the root disk has the image's size, no flavor's.
        self.instance.flavor.root_gb = 0
        self.vbox.show_vm_info.return_value = vm_info('poweroff')
        FakeVBox(self.vbox)
        self._snapshot()
        [(_image_id, meta, _data, _purge)] = self.uploaded
        self.assertNotIn('min_disk', meta)

    def test_missing_vm_is_instance_not_running(self):
        self.vbox.show_vm_info.side_effect = failure(
            vbox_exc.VBoxObjectNotFound)
        self.assertRaises(exception.InstanceNotRunning, self._snapshot)
        self.vbox.run.assert_not_called()
        self.update_task_state.assert_not_called()
        self.assert_cleaned()

    def test_vm_without_root_disk_is_instance_not_running(self):
        self.vbox.show_vm_info.return_value = vm_info(root='none')
        self.assertRaises(exception.InstanceNotRunning, self._snapshot)
        self.vbox.run.assert_not_called()

    def test_take_failure_leaves_nothing(self):
        self.vbox.show_vm_info.return_value = vm_info('running')
        FakeVBox(self.vbox, {'snapshot take': failure()})
        self.assertRaises(vbox_exc.VBoxManageError, self._snapshot)
        self.assertEqual([('snapshot', self.instance.uuid, 'take')],
                         self._commands())
        self.image_api.update.assert_not_called()
        self.assert_cleaned()

    def test_clone_failure_still_deletes_the_live_snapshot(self):
        self.vbox.show_vm_info.return_value = vm_info('running')
        FakeVBox(self.vbox, {'clonemedium': failure()})
        self.assertRaises(vbox_exc.VBoxManageError, self._snapshot)
        self.assertEqual([('snapshot', self.instance.uuid, 'take'),
                          ('clonemedium',),
                          ('snapshot', self.instance.uuid, 'delete')],
                         self._commands())
        self.image_api.update.assert_not_called()
        self.assert_cleaned()

    def test_snapshot_delete_failure_fails_and_removes_the_clone(self):
        self.vbox.show_vm_info.return_value = vm_info('running')
        FakeVBox(self.vbox, {'snapshot delete': failure()})
        self.assertRaises(vbox_exc.VBoxManageError, self._snapshot)
        self.assertIn(('closemedium',), self._commands())
        self.image_api.update.assert_not_called()
        self.assert_cleaned()

    def test_upload_failure_removes_the_clone(self):
        self.vbox.show_vm_info.return_value = vm_info('poweroff')
        FakeVBox(self.vbox)
        self.image_api.update.side_effect = exception.ImageNotFound(
            image_id=IMAGE_ID)
        self.assertRaises(exception.ImageNotFound, self._snapshot)
        self.assertEqual([('clonemedium',), ('closemedium',)],
                         self._commands())
        self.assert_cleaned()

    def test_close_failing_once_is_tried_again(self):
        self.vbox.show_vm_info.return_value = vm_info('poweroff')
        fake = FakeVBox(self.vbox)
        closes = []

        def run(*args, **kwargs):
            if args[0] == 'closemedium':
                closes.append(args)
                if len(closes) == 1:
                    raise failure()
            return fake.run(*args, **kwargs)
        self.vbox.run.side_effect = run
        self._snapshot()
        self.assertEqual(2, len(closes))
        self.assertEqual(1, len(self.uploaded))
        self.assert_cleaned()

    def test_a_clone_virtualbox_keeps_keeps_its_file_until_swept(self):
        # A registered medium without its file would stay in list hdds
        # for good; the file stays until a later snapshot's sweep.
        self.vbox.show_vm_info.return_value = vm_info('poweroff')
        FakeVBox(self.vbox, {'closemedium': failure()})
        self._snapshot()
        self.assertEqual(1, len(self.uploaded))
        self.assertTrue(os.path.exists(self.flat))
        timeout = test_base.CONF.virtualbox.vboxmanage_long_timeout
        old = time.time() - 3 * timeout
        os.utime(self.flat, (old, old))
        FakeVBox(self.vbox)
        self.ops._sweep_stale_clones()
        self.assertFalse(os.path.exists(self.flat))

    def test_stale_clone_of_the_same_image_is_replaced(self):
        self.vbox.show_vm_info.return_value = vm_info('poweroff')
        fake = FakeVBox(self.vbox)
        calls = []

        def run(*args, **kwargs):
            calls.append(args[0])
            if args[0] == 'clonemedium' and calls.count('clonemedium') == 1:
                raise failure(vbox_exc.VBoxAlreadyExists)
            return fake.run(*args, **kwargs)
        self.vbox.run.side_effect = run
        os.makedirs(os.path.dirname(self.flat))
        open(self.flat, 'w').close()
        self._snapshot()
        self.assertEqual(['clonemedium', 'closemedium', 'clonemedium',
                          'closemedium'], calls)
        self.assertEqual(1, len(self.uploaded))
        self.assert_cleaned()

    def test_other_snapshots_keep_the_folder(self):
        os.makedirs(os.path.dirname(self.flat))
        other = os.path.join(os.path.dirname(self.flat), 'other.vdi')
        open(other, 'w').close()
        self.vbox.show_vm_info.return_value = vm_info('poweroff')
        FakeVBox(self.vbox)
        self._snapshot()
        self.assertTrue(os.path.exists(other))
        self.assertFalse(os.path.exists(self.flat))

    def test_root_attachment(self):
        self.assertEqual(('SATA', '/r.vdi', 'u'), snapshotops.root_attachment(
            {'storagecontrollername0': 'SATA', 'SATA-0-0': '/r.vdi',
             'SATA-ImageUUID-0-0': 'u'}))
        self.assertEqual(('IDE', '/r.vdi', None), snapshotops.root_attachment(
            {'storagecontrollername0': 'SATA', 'SATA-0-0': 'emptydrive',
             'storagecontrollername1': 'IDE', 'IDE-0-0': '/r.vdi'}))
        self.assertIsNone(snapshotops.root_attachment({}))
