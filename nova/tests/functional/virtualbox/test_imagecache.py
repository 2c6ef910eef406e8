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
qcow2 converted into the cache, linked and full root disks (a linked one
larger than the image sits on a grown per-size base and can be cloned:
the snapshot path), destroying VMs on shared bases, aging."""

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
        self.top = top

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
        sized = self.paths.cached_sized_image_path(IMAGE_ID, 1)

        calls = self.vbox.call_count
        linked = self.cache.create_root_disk(self.context, self.instance(1),
                                             self.meta, 1)
        # First use of the size: clonemedium + --resize of the per-size
        # base, its pin, the diff.
        self.assertEqual(4, self.vbox.call_count - calls)
        sized_info = self.vbox.show_medium_info(sized)
        self.assertIsNone(sized_info['parent_uuid'])
        self.assertEqual(1024, sized_info['capacity_mb'])
        info = self.vbox.show_medium_info(linked)
        self.assertEqual(sized_info['UUID'], info['parent_uuid'])
        self.assertEqual(1024, info['capacity_mb'])

        # A cached size: one call.
        calls = self.vbox.call_count
        again = self.cache.create_root_disk(self.context, self.instance(4),
                                            self.meta, 1)
        self.assertEqual(1, self.vbox.call_count - calls)
        self.assertEqual(sized_info['UUID'], self.vbox.show_medium_info(
            again)['parent_uuid'])

        # The image's size: on the base itself (first use: its pin).
        calls = self.vbox.call_count
        second = self.cache.create_root_disk(self.context, self.instance(2),
                                             self.meta, 0)
        self.assertEqual(2, self.vbox.call_count - calls)
        info = self.vbox.show_medium_info(second)
        self.assertEqual(base_info['UUID'], info['parent_uuid'])
        self.assertEqual(64, info['capacity_mb'])

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
            {base, self.paths.cached_pin_path(IMAGE_ID), sized,
             self.paths.cached_pin_path(IMAGE_ID, 1), linked, again, second,
             full}, set(media))

    def test_grown_linked_root_disk_can_be_cloned(self):
        # What a snapshot (and a cold migration) does with the root disk:
        # real VirtualBox cannot clone a grown differencing disk, so the
        # linked clone must not be one.
        root = self.cache.create_root_disk(self.context, self.instance(1),
                                           self.meta, 1)
        self.assertEqual(1024, self.vbox.show_medium_info(root)[
            'capacity_mb'])
        flat = os.path.join(self.top, 'snapshot.vdi')
        self.vbox.run('clonemedium', 'disk', root, flat, '--format', 'VDI',
                      timeout=vboxmanage.TIMEOUT_LONG, retry=False)
        info = self.vbox.show_medium_info(flat)
        self.assertIsNone(info['parent_uuid'])
        self.assertEqual(1024, info['capacity_mb'])
        self.vbox.run('closemedium', 'disk', flat, '--delete')

    def test_destroying_vms_keeps_the_bases(self):
        first, second, third = (self.instance(1), self.instance(2),
                                self.instance(3))
        roots = [self.cache.create_root_disk(self.context, inst, self.meta,
                                             gb)
                 for inst, gb in ((first, 1), (second, 1), (third, 0))]
        for inst, root in zip((first, second, third), roots):
            self.make_vm(inst, root)
        base = self.paths.cached_image_path(IMAGE_ID)
        sized = self.paths.cached_sized_image_path(IMAGE_ID, 1)
        # vmops' destroy: unregistervm --delete.
        self.vbox.run('unregistervm', first.uuid, '--delete')
        self.assertFalse(os.path.exists(roots[0]))
        self.assertTrue(os.path.exists(roots[1]))
        self.assertTrue(os.path.exists(sized))
        # The last VMs on each base: without the pins, real VirtualBox
        # would delete the bases with them.
        self.vbox.run('unregistervm', second.uuid, '--delete')
        self.vbox.run('unregistervm', third.uuid, '--delete')
        self.assertFalse(os.path.exists(roots[1]))
        self.assertFalse(os.path.exists(roots[2]))
        for path in (base, sized):
            self.assertTrue(os.path.exists(path), path)
            self.assertIn(path, self.our_media())
        # And the cache still serves the next spawns from them.
        calls = self.vbox.call_count
        root = self.cache.create_root_disk(self.context, self.instance(4),
                                           self.meta, 1)
        self.assertEqual(1, self.vbox.call_count - calls)
        self.assertEqual(self.vbox.show_medium_info(sized)['UUID'],
                         self.vbox.show_medium_info(root)['parent_uuid'])

    def test_manage_image_cache_removes_only_unused_old_bases(self):
        self.flags(remove_unused_base_images=True,
                   remove_unused_original_minimum_age_seconds=60,
                   group='image_cache')
        cache = imagecache.ImageCache(self.vbox, self.paths)
        other_meta = objects.ImageMeta.from_dict(
            {'id': OTHER_ID, 'disk_format': 'qcow2'})
        used = self.instance(1, root_gb=1)
        root = cache.create_root_disk(self.context, used, self.meta, 1)
        self.make_vm(used, root)
        old_root = cache.create_root_disk(
            self.context, self.instance(2, image_ref=OTHER_ID), other_meta,
            0)
        # The instance of the other image is gone, its disk closed.
        self.vbox.run('closemedium', 'disk', old_root, '--delete')
        then = time.time() - 3600
        cached = [self.paths.cached_image_path(IMAGE_ID),
                  self.paths.cached_sized_image_path(IMAGE_ID, 1),
                  self.paths.cached_image_path(OTHER_ID)]
        for path in cached:
            os.utime(path, (then, then))

        calls = self.vbox.call_count
        cache.manage_image_cache(self.context, [used])
        # list hdds, closemedium of the other image's pin, of its base.
        self.assertEqual(3, self.vbox.call_count - calls)
        self.assertFalse(os.path.exists(self.paths.cached_image_path(
            OTHER_ID)))
        self.assertFalse(os.path.exists(self.paths.cached_pin_path(
            OTHER_ID)))
        media = self.our_media()
        self.assertNotIn(self.paths.cached_image_path(OTHER_ID), media)
        for path in cached[:2]:
            self.assertIn(path, media)

        # An instance gone from Nova's list whose VM (and disk) VirtualBox
        # still has: the per-size base stays; the plain base (no child
        # but its pin) goes.
        for path in cached[:2]:
            os.utime(path, (then, then))
        cache.manage_image_cache(self.context, [])
        self.assertTrue(os.path.exists(cached[1]))
        self.assertFalse(os.path.exists(cached[0]))

        # Once the VM is deleted, the per-size base goes too.
        self.vbox.run('unregistervm', used.uuid, '--delete')
        cache.manage_image_cache(self.context, [])
        self.assertFalse(os.path.exists(cached[1]))
        self.assertFalse(os.path.exists(self.paths.cached_pin_path(
            IMAGE_ID, 1)))
        self.assertEqual({}, self.our_media())


class ImageCacheSimulatorTestCase(_ImageCacheTests, test.NoDBTestCase):
    backend = vbox_fixtures.SimulatorFixture


class ImageCacheRealVBoxTestCase(_ImageCacheTests, test.NoDBTestCase):
    backend = vbox_fixtures.RealVBoxFixture
