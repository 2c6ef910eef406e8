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

"""The image cache against the simulator and the real VBoxManage: a real
qcow2 converted into the cache, linked and full root disks, destroying
VMs on a shared base, aging."""

import os
import shutil
import subprocess
import time
from unittest import mock

import fixtures

from nova import objects
from nova import test
from nova.tests.functional.virtualbox import vbox_fixtures
from nova.virt import images
from nova.virt.virtualbox import conf as vbox_conf
from nova.virt.virtualbox import imagecache
from nova.virt.virtualbox import pathutils
from nova.virt.virtualbox import vboxmanage

import nova.conf

CONF = nova.conf.CONF
vbox_conf.register_opts(CONF)

IMAGE_ID = '3c2d8b4a-5d0e-4b8f-9a7c-2e1f0d9c8b7a'
OTHER_ID = '9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b'


class FakeInstance(object):

    def __init__(self, name, uuid, root_gb=1, image_ref=IMAGE_ID):
        self.name = name
        self.uuid = uuid
        self.image_ref = image_ref
        self.host = 'laptop'
        self.trusted_certs = None
        self.flavor = objects.Flavor(root_gb=root_gb)


class _ImageCacheTests(object):

    backend = None
    # Whether the backend can grow a differencing VDI (real VirtualBox can;
    # the simulator runs `qemu-img resize`, which refuses VDIs with a
    # parent: reported to its owners). Without, linked clones keep the
    # image's size (root_gb 0) here.
    resizes_diffs = True

    def setUp(self):
        super().setUp()
        qemu_img = shutil.which('qemu-img')
        if not qemu_img:
            self.skipTest('qemu-img is not installed')
        self.vbm = self.useFixture(self.backend())
        # Under /tmp: the real VBoxManage's chroot shares it.
        top = getattr(self.vbm, 'workdir', None) or self.useFixture(
            fixtures.TempDir()).path
        self.instances = os.path.join(top, 'instances')
        os.makedirs(self.instances)
        self.flags(instances_path=self.instances, host='laptop')
        self.flags(vboxmanage_cmd=self.vbm.command, group='virtualbox')
        self.flags(lock_path=os.path.join(top, 'locks'),
                   group='oslo_concurrency')
        self.vbox = vboxmanage.VBoxManage.from_conf(CONF)
        self.paths = pathutils.PathUtils()
        self.cache = imagecache.ImageCache(self.vbox, self.paths)
        self.source = os.path.join(top, 'cirros.qcow2')
        subprocess.run([qemu_img, 'create', '-q', '-f', 'qcow2',
                        self.source, '64M'], check=True)
        self.useFixture(fixtures.MockPatchObject(
            images, 'fetch', side_effect=lambda ctx, image_id, path, *a:
            shutil.copyfile(self.source, path)))
        self.context = mock.sentinel.context
        self.meta = objects.ImageMeta.from_dict(
            {'id': IMAGE_ID, 'disk_format': 'qcow2'})
        self.addCleanup(self._forget_everything, top)
        self.grow = 1 if self.resizes_diffs else 0

    def _forget_everything(self, top):
        """Leave nothing of ours registered in VirtualBox."""
        for name, uuid in self.vbox.list_vms():
            if self.paths.is_nova_vm(name):
                self.vbm.run('unregistervm', uuid, '--delete')
        for _round in range(3):
            for block in reversed(self.vbox.list_hdds()):
                if block.get('Location', '').startswith(top):
                    self.vbm.run('closemedium', 'disk', block['UUID'])

    def instance(self, number, root_gb=1, image_ref=IMAGE_ID):
        return FakeInstance('instance-%08x' % number,
                            '00000000-0000-4000-8000-%012x' % number,
                            root_gb, image_ref)

    def our_media(self):
        return {b['Location']: b for b in self.vbox.list_hdds()
                if b.get('Location', '').startswith(self.instances)}

    def make_vm(self, instance, root):
        """What vmops does with the root disk: a VM attaching it."""
        self.vbox.run('createvm', '--name', instance.name, '--uuid',
                      instance.uuid, '--basefolder', self.instances,
                      '--register')
        self.vbox.run('storagectl', instance.uuid, '--name', 'SATA', '--add',
                      'sata', '--portcount', '1')
        self.vbox.run('storageattach', instance.uuid, '--storagectl', 'SATA',
                      '--port', '0', '--device', '0', '--type', 'hdd',
                      '--medium', root)

    def test_linked_and_full_root_disks(self):
        base = self.cache.get_cached_image(self.context, self.instance(1),
                                           self.meta)
        self.assertEqual(self.paths.cached_image_path(IMAGE_ID), base)
        base_info = self.vbox.show_medium_info(base)
        self.assertEqual(64, base_info['capacity_mb'])

        calls = self.vbox.call_count
        linked = self.cache.create_root_disk(self.context, self.instance(1),
                                             self.meta, self.grow)
        # First use: the pin, the diff, the resize.
        self.assertEqual(2 + self.grow, self.vbox.call_count - calls)
        info = self.vbox.show_medium_info(linked)
        self.assertEqual(base_info['UUID'], info['parent_uuid'])
        self.assertEqual(1024 if self.grow else 64, info['capacity_mb'])

        calls = self.vbox.call_count
        second = self.cache.create_root_disk(self.context, self.instance(2),
                                             self.meta, 0)
        self.assertEqual(1, self.vbox.call_count - calls)
        self.assertEqual(64, self.vbox.show_medium_info(second)[
            'capacity_mb'])

        self.flags(use_linked_clones=False, group='virtualbox')
        calls = self.vbox.call_count
        full = self.cache.create_root_disk(self.context, self.instance(3),
                                           self.meta, 2)
        self.assertEqual(2, self.vbox.call_count - calls)
        info = self.vbox.show_medium_info(full)
        self.assertIsNone(info['parent_uuid'])
        self.assertEqual(2048, info['capacity_mb'])

        media = self.our_media()
        self.assertEqual(
            {base, self.paths.cached_pin_path(IMAGE_ID), linked, second,
             full}, set(media))

    def test_destroying_vms_keeps_the_base(self):
        first, second = self.instance(1), self.instance(2)
        roots = [self.cache.create_root_disk(self.context, inst, self.meta,
                                             self.grow)
                 for inst in (first, second)]
        for inst, root in zip((first, second), roots):
            self.make_vm(inst, root)
        base = self.paths.cached_image_path(IMAGE_ID)
        # vmops' destroy: unregistervm --delete.
        self.vbox.run('unregistervm', first.uuid, '--delete')
        self.assertFalse(os.path.exists(roots[0]))
        self.assertTrue(os.path.exists(roots[1]))
        self.assertTrue(os.path.exists(base))
        # The last VM on the base: without the pin, real VirtualBox would
        # delete the base with it.
        self.vbox.run('unregistervm', second.uuid, '--delete')
        self.assertFalse(os.path.exists(roots[1]))
        self.assertTrue(os.path.exists(base))
        self.assertIn(base, self.our_media())
        # And the cache still serves the next spawn from it.
        calls = self.vbox.call_count
        root = self.cache.create_root_disk(self.context, self.instance(3),
                                           self.meta, self.grow)
        self.assertEqual(1 + self.grow, self.vbox.call_count - calls)
        self.assertEqual(self.vbox.show_medium_info(base)['UUID'],
                         self.vbox.show_medium_info(root)['parent_uuid'])

    def test_manage_image_cache_removes_only_unused_old_bases(self):
        self.flags(remove_unused_base_images=True,
                   remove_unused_original_minimum_age_seconds=60,
                   group='image_cache')
        cache = imagecache.ImageCache(self.vbox, self.paths)
        other_meta = objects.ImageMeta.from_dict(
            {'id': OTHER_ID, 'disk_format': 'qcow2'})
        used = self.instance(1)
        root = cache.create_root_disk(self.context, used, self.meta,
                                      self.grow)
        self.make_vm(used, root)
        old_root = cache.create_root_disk(
            self.context, self.instance(2, image_ref=OTHER_ID), other_meta,
            self.grow)
        # The instance of the other image is gone, its disk closed.
        self.vbox.run('closemedium', 'disk', old_root, '--delete')
        then = time.time() - 3600
        for image_id in (IMAGE_ID, OTHER_ID):
            os.utime(self.paths.cached_image_path(image_id), (then, then))

        calls = self.vbox.call_count
        cache.manage_image_cache(self.context, [used])
        # list hdds, closemedium of the pin, of the base.
        self.assertEqual(3, self.vbox.call_count - calls)
        self.assertFalse(os.path.exists(self.paths.cached_image_path(
            OTHER_ID)))
        self.assertFalse(os.path.exists(self.paths.cached_pin_path(
            OTHER_ID)))
        media = self.our_media()
        self.assertNotIn(self.paths.cached_image_path(OTHER_ID), media)
        self.assertIn(self.paths.cached_image_path(IMAGE_ID), media)

        # An instance gone from Nova's list whose VM (and disk) VirtualBox
        # still has: its base stays.
        os.utime(self.paths.cached_image_path(IMAGE_ID), (then, then))
        cache.manage_image_cache(self.context, [])
        self.assertTrue(os.path.exists(self.paths.cached_image_path(
            IMAGE_ID)))

        # Once the VM is deleted, the base goes too.
        self.vbox.run('unregistervm', used.uuid, '--delete')
        cache.manage_image_cache(self.context, [])
        self.assertFalse(os.path.exists(self.paths.cached_image_path(
            IMAGE_ID)))
        self.assertEqual({}, self.our_media())


class ImageCacheSimulatorTestCase(_ImageCacheTests, test.NoDBTestCase):
    backend = vbox_fixtures.SimulatorFixture
    resizes_diffs = False


class ImageCacheRealVBoxTestCase(_ImageCacheTests, test.NoDBTestCase):
    backend = vbox_fixtures.RealVBoxFixture
