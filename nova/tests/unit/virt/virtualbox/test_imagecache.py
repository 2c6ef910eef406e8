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

"""The image cache on REAL small images made here with qemu-img; Glance's
download is a local copy, VBoxManage a mock whose calls are counted."""

import os
import shutil
import struct
import subprocess
import threading
import time
from unittest import mock

import fixtures

from nova import exception
from nova import objects
from nova.tests.unit.virt.virtualbox import test_base
from nova.virt import images
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import imagecache
from nova.virt.virtualbox import parsers
from nova.virt.virtualbox import pathutils
from nova.virt.virtualbox import vboxmanage

QEMU_IMG = shutil.which('qemu-img')
IMAGE_ID = '1b1f4e52-64a5-4a47-8ad0-1f0e1cc4a2a1'
OTHER_ID = '7d0a9c55-3c0d-4d5b-9a55-8e2f0b6a5f10'
MiB = 1024 * 1024

GIB = 1024 ** 3


def tiny_iso(path, blocks=64):
    """A minimal ISO 9660 image: 16 empty sectors, a primary volume
    descriptor (type 1, CD001, block size 2048, ``blocks`` blocks) and a
    terminator."""
    pvd = bytearray(2048)
    pvd[0] = 1
    pvd[1:6] = b'CD001'
    pvd[6] = 1
    pvd[80:88] = struct.pack('<L', blocks) + struct.pack('>L', blocks)
    pvd[128:132] = struct.pack('<H', 2048) + struct.pack('>H', 2048)
    end = bytearray(2048)
    end[0] = 255
    end[1:6] = b'CD001'
    end[6] = 1
    with open(path, 'wb') as f:
        f.write(bytes(16 * 2048) + bytes(pvd) + bytes(end))
        f.truncate(blocks * 2048)


class ImageCacheTestCase(test_base.VBoxTestCase):

    def setUp(self):
        super().setUp()
        if not QEMU_IMG:
            self.skipTest('qemu-img is not installed (apt install '
                          'qemu-utils)')
        self.src = self.useFixture(fixtures.TempDir()).path
        self.flags(lock_path=self.useFixture(fixtures.TempDir()).path,
                   group='oslo_concurrency')
        self.paths = pathutils.PathUtils()
        self.cache = imagecache.ImageCache(self.vbox, self.paths)
        self.cache_dir = self.paths.image_cache_dir()
        self.sources = {}
        self.fetch = self.useFixture(fixtures.MockPatchObject(
            images, 'fetch', side_effect=self._fake_fetch)).mock
        self.convert = self.useFixture(fixtures.MockPatchObject(
            images, 'convert_image', wraps=images.convert_image)).mock
        self.context = mock.sentinel.context

    def _fake_fetch(self, context, image_id, path, trusted_certs=None):
        shutil.copyfile(self.sources[image_id], path)

    def qemu_img(self, name, fmt, size='1M', *options):
        path = os.path.join(self.src, name)
        subprocess.run([QEMU_IMG, 'create', '-q', '-f', fmt] +
                       list(options) + [path, size], check=True,
                       cwd=self.src)
        return path

    def image(self, path, disk_format, image_id=IMAGE_ID):
        self.sources[image_id] = path
        return objects.ImageMeta.from_dict(
            {'id': image_id, 'disk_format': disk_format})

    def instance(self, root_gb=1, uuid=None, name='instance-0000002a',
                 image_ref=IMAGE_ID, host='laptop'):
        return test_base.FakeInstance(
            uuid=uuid or '4fd89640-4231-4c44-a7b5-a3c7ca859849', name=name,
            flavor=objects.Flavor(root_gb=root_gb), image_ref=image_ref,
            host=host, trusted_certs=None)

    def cache_listing(self):
        if not os.path.isdir(self.cache_dir):
            return []
        return sorted(os.listdir(self.cache_dir))

    def assert_refused(self, meta, words, root_gb=1,
                       exc=exception.ImageUnacceptable):
        err = self.assertRaises(exc, self.cache.get_cached_image,
                                self.context, self.instance(root_gb), meta)
        for word in words:
            self.assertIn(word, str(err))
        # Nothing left behind: no cached image, no temporary file.
        self.assertEqual([], self.cache_listing())
        self.vbox.run.assert_not_called()
        return err


class GetCachedImageTestCase(ImageCacheTestCase):

    def _check_converted(self, source, disk_format, qemu_format):
        meta = self.image(source, disk_format)
        path = self.cache.get_cached_image(self.context, self.instance(),
                                           meta)
        self.assertEqual(os.path.join(self.cache_dir, IMAGE_ID + '.vdi'),
                         path)
        self.assertEqual(['%s.vdi' % IMAGE_ID], self.cache_listing())
        fmt, size = imagecache.ImageCache.inspect(IMAGE_ID, path, 'vdi')
        self.assertEqual('vdi', fmt)
        self.assertGreaterEqual(size, MiB)
        self.fetch.assert_called_once_with(self.context, IMAGE_ID, mock.ANY,
                                           None)
        args = self.convert.call_args[0]
        self.assertEqual((qemu_format, 'vdi'), args[2:])
        self.assertEqual(self.cache_dir, os.path.dirname(args[0]))
        self.vbox.run.assert_not_called()

    def test_raw(self):
        path = os.path.join(self.src, 'disk.raw')
        with open(path, 'wb') as f:
            f.write(b'\xeb\x63\x90' + bytes(MiB - 3))
        self._check_converted(path, 'raw', 'raw')

    def test_qcow2(self):
        self._check_converted(self.qemu_img('d.qcow2', 'qcow2'), 'qcow2',
                              'qcow2')

    def test_vmdk_monolithic_sparse(self):
        self._check_converted(self.qemu_img('d.vmdk', 'vmdk'), 'vmdk',
                              'vmdk')

    def test_vdi(self):
        self._check_converted(self.qemu_img('d.vdi', 'vdi'), 'vdi', 'vdi')

    def test_vhd_is_qemus_vpc(self):
        self._check_converted(self.qemu_img('d.vhd', 'vpc'), 'vhd', 'vpc')

    def test_iso_is_cached_as_it_is(self):
        source = os.path.join(self.src, 'boot.iso')
        tiny_iso(source)
        path = self.cache.get_cached_image(self.context, self.instance(),
                                           self.image(source, 'iso'))
        self.assertEqual(os.path.join(self.cache_dir, IMAGE_ID + '.iso'),
                         path)
        self.assertTrue(self.cache.is_iso(path))
        with open(source, 'rb') as a, open(path, 'rb') as b:
            self.assertEqual(a.read(), b.read())
        self.convert.assert_not_called()
        self.assertEqual(['%s.iso' % IMAGE_ID], self.cache_listing())

    def test_cached_image_is_not_fetched_again(self):
        meta = self.image(self.qemu_img('d.qcow2', 'qcow2'), 'qcow2')
        first = self.cache.get_cached_image(self.context, self.instance(),
                                            meta)
        os.utime(first, (1, 1))
        second = self.cache.get_cached_image(self.context, self.instance(),
                                             meta)
        self.assertEqual(first, second)
        self.assertEqual(1, self.fetch.call_count)
        self.assertEqual(1, self.convert.call_count)
        self.assertGreater(os.stat(first).st_mtime, time.time() - 60)

    def test_undeclared_format_uses_the_detected_one(self):
        self.sources[IMAGE_ID] = self.qemu_img('d.qcow2', 'qcow2')
        meta = objects.ImageMeta.from_dict({'id': IMAGE_ID})
        self.cache.get_cached_image(self.context, self.instance(), meta)
        self.assertEqual('qcow2', self.convert.call_args[0][2])

    # -- hostile and unsupported images ---------------------------------------

    def test_declared_qcow2_but_raw_bytes(self):
        path = os.path.join(self.src, 'fake.qcow2')
        with open(path, 'wb') as f:
            f.write(bytes(MiB))
        self.assert_refused(self.image(path, 'qcow2'),
                            ['content is raw', 'disk_format says qcow2'])
        self.convert.assert_not_called()

    def test_declared_raw_but_qcow2_bytes(self):
        # The classic attack: qemu-img would otherwise read the header.
        self.assert_refused(
            self.image(self.qemu_img('d.qcow2', 'qcow2'), 'raw'),
            ['content is qcow2', 'disk_format says raw'])

    def test_qcow2_with_backing_file(self):
        self.qemu_img('base.qcow2', 'qcow2')
        path = self.qemu_img('child.qcow2', 'qcow2', '1M', '-b',
                             os.path.join(self.src, 'base.qcow2'), '-F',
                             'qcow2')
        self.assert_refused(self.image(path, 'qcow2'),
                            ['unsafe', 'backing_file'])
        self.convert.assert_not_called()

    def test_qcow2_with_external_data_file(self):
        path = self.qemu_img('d.qcow2', 'qcow2', '1M', '-o',
                             'data_file=' + os.path.join(self.src, 'd.raw'))
        self.assert_refused(self.image(path, 'qcow2'),
                            ['unsafe', 'data_file'])

    def test_vmdk_descriptor_with_flat_extent(self):
        # A descriptor + extent pair: only the descriptor reaches Glance.
        path = self.qemu_img('pair.vmdk', 'vmdk', '1M', '-o',
                             'subformat=monolithicFlat')
        self.assertTrue(os.path.exists(
            os.path.join(self.src, 'pair-flat.vmdk')))
        self.assert_refused(self.image(path, 'vmdk'),
                            ['unsafe', 'descriptor'])

    def test_vmdk_descriptor_pointing_at_a_host_file(self):
        path = os.path.join(self.src, 'evil.vmdk')
        with open(path, 'w') as f:
            f.write('# Disk DescriptorFile\nversion=1\nCID=12345678\n'
                    'parentCID=ffffffff\ncreateType="monolithicSparse"\n\n'
                    '# Extent description\n'
                    'RW 2048 SPARSE "/etc/hostname"\n\n'
                    'ddb.adapterType = "ide"\n')
        self.assert_refused(self.image(path, 'vmdk'), ['vmdk'])
        self.convert.assert_not_called()

    def test_huge_virtual_size_against_a_small_flavor(self):
        path = self.qemu_img('huge.qcow2', 'qcow2', '1T')
        self.assertLess(os.path.getsize(path), MiB)
        err = self.assert_refused(self.image(path, 'qcow2'), [],
                                  exc=exception.FlavorDiskSmallerThanImage)
        self.assertIn('%d bytes' % (1024 ** 4), str(err))
        self.convert.assert_not_called()

    def test_cached_image_larger_than_the_flavor(self):
        meta = self.image(self.qemu_img('d.qcow2', 'qcow2', '2G'), 'qcow2')
        self.cache.get_cached_image(self.context, self.instance(0), meta)
        self.assertRaises(exception.FlavorDiskSmallerThanImage,
                          self.cache.get_cached_image, self.context,
                          self.instance(1), meta)
        self.cache.get_cached_image(self.context, self.instance(2), meta)

    def test_unsupported_format_content(self):
        self.sources[IMAGE_ID] = self.qemu_img('d.vhdx', 'vhdx')
        self.assert_refused(objects.ImageMeta.from_dict({'id': IMAGE_ID}),
                            ['vhdx format', 'not support'])

    def test_unsupported_declared_format(self):
        path = self.qemu_img('d.vhdx', 'vhdx')
        self.assert_refused(self.image(path, 'vhdx'),
                            ['disk_format vhdx is not supported'])
        self.fetch.assert_not_called()

    def test_conversion_failure_leaves_nothing(self):
        meta = self.image(self.qemu_img('d.qcow2', 'qcow2'), 'qcow2')

        def fail(source, dest, in_format, out_format):
            with open(dest, 'wb') as f:
                f.write(b'half a disk')
            raise exception.ImageUnacceptable(image_id=source,
                                              reason='qemu-img failed')

        self.convert.side_effect = fail
        self.assert_refused(meta, ['qemu-img failed'])

    def test_fetch_failure_leaves_nothing(self):
        meta = self.image(self.qemu_img('d.qcow2', 'qcow2'), 'qcow2')

        def fail(context, image_id, path, trusted_certs=None):
            with open(path, 'wb') as f:
                f.write(b'partial')
            raise exception.ImageNotFound(image_id='network')

        self.fetch.side_effect = fail
        self.assert_refused(meta, ['network'],
                            exc=exception.ImageNotFound)

    def test_concurrent_spawns_fetch_and_convert_once(self):
        meta = self.image(self.qemu_img('d.qcow2', 'qcow2'), 'qcow2')

        def slow_fetch(*args):
            time.sleep(0.2)
            self._fake_fetch(*args)

        self.fetch.side_effect = slow_fetch
        results, errors = [], []

        def spawn():
            try:
                results.append(self.cache.get_cached_image(
                    self.context, self.instance(), meta))
            except Exception as err:  # pragma: no cover
                errors.append(err)

        threads = [threading.Thread(target=spawn) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual([], errors)
        self.assertEqual(6, len(results))
        self.assertEqual(1, len(set(results)))
        self.assertEqual(1, self.fetch.call_count)
        self.assertEqual(1, self.convert.call_count)

    def test_lock_is_external_and_per_image(self):
        meta = self.image(self.qemu_img('d.qcow2', 'qcow2'), 'qcow2')
        with mock.patch.object(imagecache.lockutils, 'lock') as lock:
            self.cache.get_cached_image(self.context, self.instance(), meta)
        lock.assert_called_once_with(
            'vbox-image-' + IMAGE_ID, external=True,
            lock_path=imagecache.CONF.oslo_concurrency.lock_path)

    def test_lock_path_defaults_to_the_cache(self):
        self.flags(lock_path=None, group='oslo_concurrency')
        self.assertEqual(self.cache_dir, self.cache._lock_path())


class CacheImageTestCase(ImageCacheTestCase):

    def test_fetched_then_present(self):
        self.sources[IMAGE_ID] = self.qemu_img('d.qcow2', 'qcow2')
        with mock.patch.object(images, 'get_info',
                               return_value={'disk_format': 'qcow2'}) as info:
            self.assertTrue(self.cache.cache_image(self.context, IMAGE_ID))
            self.assertFalse(self.cache.cache_image(self.context, IMAGE_ID))
        info.assert_called_once_with(self.context, IMAGE_ID)
        self.assertEqual(['%s.vdi' % IMAGE_ID], self.cache_listing())

    def test_bad_image_is_refused(self):
        self.sources[IMAGE_ID] = self.qemu_img('d.qcow2', 'qcow2')
        with mock.patch.object(images, 'get_info',
                               return_value={'disk_format': 'raw'}):
            self.assertRaises(exception.ImageUnacceptable,
                              self.cache.cache_image, self.context, IMAGE_ID)
        self.assertEqual([], self.cache_listing())


class CreateRootDiskTestCase(ImageCacheTestCase):

    def setUp(self):
        super().setUp()
        self.meta = self.image(self.qemu_img('d.qcow2', 'qcow2', '1G'),
                               'qcow2')
        self.base = os.path.join(self.cache_dir, IMAGE_ID + '.vdi')
        self.pin = os.path.join(self.cache_dir, IMAGE_ID + '.pin.vdi')
        self.root = self.paths.root_disk_path(self.instance())

        def run(*args, **kwargs):
            # What VirtualBox leaves on disk, as far as the cache reads it
            # (a VDI header's virtual size).
            if args[0] == 'createmedium':
                open(args[args.index('--filename') + 1], 'wb').close()
            elif args[0] == 'clonemedium':
                shutil.copyfile(args[2], args[3])
            elif args[0] == 'modifymedium' and '--resizebyte' in args:
                subprocess.run([QEMU_IMG, 'create', '-q', '-f', 'vdi',
                                args[2], args[-1]], check=True)
            return vboxmanage.Result('', '')

        self.vbox.run.side_effect = run

    def calls(self):
        return [c for c in self.vbox.run.call_args_list]

    def diff_call(self, root=None, parent=None):
        return mock.call('createmedium', 'disk', '--filename',
                         root or self.root, '--diffparent',
                         parent or self.base, '--format', 'VDI',
                         timeout='default', undo=mock.ANY)

    def pin_call(self, pin=None, parent=None):
        return mock.call('createmedium', 'disk', '--filename',
                         pin or self.pin, '--diffparent',
                         parent or self.base, '--format', 'VDI',
                         timeout='default', undo=mock.ANY)

    def sized(self, root_gb):
        name = '%s-%dg' % (IMAGE_ID, root_gb)
        return (os.path.join(self.cache_dir, name + '.vdi'),
                os.path.join(self.cache_dir, name + '.pin.vdi'))

    def sized_calls(self, root_gb):
        sized, pin = self.sized(root_gb)
        return [mock.call('clonemedium', 'disk', self.base, sized,
                          '--format', 'VDI', timeout=vboxmanage.TIMEOUT_LONG,
                          undo=mock.ANY),
                mock.call('modifymedium', 'disk', sized, '--resizebyte',
                          str(root_gb * GIB),
                          timeout=vboxmanage.TIMEOUT_LONG),
                self.pin_call(pin, sized)]

    def test_linked_clone_first_use_pins_the_base(self):
        root = self.cache.create_root_disk(self.context, self.instance(),
                                           self.meta, 1)
        self.assertEqual(self.root, root)
        self.assertEqual([self.pin_call(), self.diff_call()], self.calls())

    def test_root_disk_is_made_outside_the_image_lock(self):
        # Concurrent spawns of one image must not queue on each other's
        # createmedium: only the checks and the pin are under the lock.
        self.cache.create_root_disk(self.context, self.instance(),
                                    self.meta, 1)
        held = []
        real_lock = self.cache._lock

        def lock(image_id):
            held.append(True)
            inner = real_lock(image_id)

            class Tracked(object):
                def __enter__(self):
                    return inner.__enter__()

                def __exit__(self, *exc):
                    held.pop()
                    return inner.__exit__(*exc)
            return Tracked()

        seen = []

        def run(*args, **kwargs):
            seen.append((args[0], bool(held),
                         self.cache._is_making_disk_from(IMAGE_ID)))
            open(args[args.index('--filename') + 1], 'wb').close()
            return vboxmanage.Result('', '')

        self.vbox.run.side_effect = run
        with mock.patch.object(self.cache, '_lock', side_effect=lock):
            self.cache.create_root_disk(
                self.context, self.instance(name='instance-0000002b'),
                self.meta, 1)
        self.assertEqual([('createmedium', False, True)], seen)
        self.assertFalse(self.cache._is_making_disk_from(IMAGE_ID))

    def test_mark_is_dropped_when_the_root_disk_fails(self):
        self.vbox.run.side_effect = vbox_exc.VBoxManageError(
            command='createmedium', messages=['no'])
        self.assertRaises(vbox_exc.VBoxManageError,
                          self.cache.create_root_disk, self.context,
                          self.instance(), self.meta, 1)
        self.assertFalse(self.cache._is_making_disk_from(IMAGE_ID))

    def test_linked_clone_from_a_cached_image_is_one_call(self):
        self.cache.create_root_disk(self.context, self.instance(),
                                    self.meta, 1)
        self.vbox.run.reset_mock()
        other = self.instance(name='instance-0000002b')
        root = self.cache.create_root_disk(self.context, other, self.meta, 1)
        self.assertEqual([self.diff_call(root)], self.calls())
        self.assertEqual(1, self.fetch.call_count)

    def test_larger_flavor_gets_a_grown_base_made_once(self):
        # The differencing disk is never grown (real VirtualBox could not
        # clone it any more): its parent is a copy of the base grown to
        # the flavor's size, pinned like the base.
        sized, pin = self.sized(5)
        root = self.cache.create_root_disk(self.context, self.instance(5),
                                           self.meta, 5)
        self.assertEqual(self.sized_calls(5) +
                         [self.diff_call(root, sized)], self.calls())
        self.assertNotIn('--resizebyte', [
            a for c in self.calls() if self.root in c[0] for a in c[0]])
        self.assertEqual([IMAGE_ID + '-5g.pin.vdi', IMAGE_ID + '-5g.vdi',
                          IMAGE_ID + '.vdi'], self.cache_listing())
        # The next spawn of that size: one call.
        self.vbox.run.reset_mock()
        other = self.instance(5, name='instance-0000002b')
        root = self.cache.create_root_disk(self.context, other, self.meta, 5)
        self.assertEqual([self.diff_call(root, sized)], self.calls())
        # Another size: its own grown base; the plain base is not pinned.
        self.vbox.run.reset_mock()
        third = self.instance(3, name='instance-0000002c')
        root = self.cache.create_root_disk(self.context, third, self.meta, 3)
        self.assertEqual(self.sized_calls(3) +
                         [self.diff_call(root, self.sized(3)[0])],
                         self.calls())
        self.assertFalse(os.path.exists(self.pin))

    def test_unfinished_grown_base_is_made_again(self):
        sized, pin = self.sized(2)
        self.cache.get_cached_image(self.context, self.instance(), self.meta)
        # A copy of the 1 GB base that was not grown yet.
        subprocess.run([QEMU_IMG, 'create', '-q', '-f', 'vdi', sized, '1G'],
                       check=True)
        self.cache.create_root_disk(self.context, self.instance(2),
                                    self.meta, 2)
        self.assertEqual(
            [mock.call('closemedium', 'disk', sized, '--delete')] +
            self.sized_calls(2) + [self.diff_call(None, sized)],
            self.calls())

    def test_grown_base_of_the_right_size_is_reused(self):
        self.cache.get_cached_image(self.context, self.instance(), self.meta)
        sized, pin = self.sized(2)
        subprocess.run([QEMU_IMG, 'create', '-q', '-f', 'vdi', sized, '2G'],
                       check=True)
        open(pin, 'wb').close()
        os.utime(sized, (1, 1))
        self.cache.create_root_disk(self.context, self.instance(2),
                                    self.meta, 2)
        self.assertEqual([self.diff_call(None, sized)], self.calls())
        self.assertGreater(os.stat(sized).st_mtime, time.time() - 60)

    def test_failed_grow_of_the_base_removes_the_copy(self):
        sized, pin = self.sized(3)
        self._fail_on('modifymedium', vbox_exc.VBoxManageError(
            command='modifymedium', exit_code=1, messages=['boom']))
        self.assertRaises(vbox_exc.VBoxManageError,
                          self.cache.create_root_disk, self.context,
                          self.instance(3), self.meta, 3)
        self.assertEqual(mock.call('closemedium', 'disk', sized, '--delete'),
                         self.calls()[-1])
        self.assertEqual([IMAGE_ID + '.vdi'], self.cache_listing())
        self.assertFalse(os.path.exists(self.root))

    def test_root_gb_zero_means_image_size(self):
        self.cache.get_cached_image(self.context, self.instance(), self.meta)
        open(self.pin, 'wb').close()
        self.cache.create_root_disk(self.context, self.instance(0),
                                    self.meta, 0)
        self.assertEqual([self.diff_call()], self.calls())
        self.assertEqual([IMAGE_ID + '.pin.vdi', IMAGE_ID + '.vdi'],
                         self.cache_listing())

    def test_shrinking_is_refused_before_any_call(self):
        meta = self.image(self.qemu_img('big.qcow2', 'qcow2', '3G'), 'qcow2',
                          image_id=OTHER_ID)
        self.cache.get_cached_image(self.context, self.instance(5), meta)
        self.assertRaises(exception.FlavorDiskSmallerThanImage,
                          self.cache.create_root_disk, self.context,
                          self.instance(2), meta, 2)
        self.vbox.run.assert_not_called()
        self.assertFalse(os.path.exists(self.root))

    def test_full_copy_without_cow_images(self):
        self.flags(use_cow_images=False)
        self.cache.create_root_disk(self.context, self.instance(2),
                                    self.meta, 2)
        self.assertEqual(
            [mock.call('clonemedium', 'disk', self.base, self.root,
                       '--format', 'VDI', timeout=vboxmanage.TIMEOUT_LONG,
                       undo=mock.ANY),
             mock.call('modifymedium', 'disk', self.root, '--resizebyte',
                       str(2 * GIB), timeout=vboxmanage.TIMEOUT_LONG)],
            self.calls())
        self.assertFalse(os.path.exists(self.pin))

    def test_full_copy_without_linked_clones(self):
        self.flags(use_linked_clones=False, group='virtualbox')
        self.cache.create_root_disk(self.context, self.instance(), self.meta,
                                    1)
        self.assertEqual('clonemedium', self.calls()[0][0][0])
        self.assertEqual(1, len(self.calls()))

    def _fail_on(self, subcommand, error):
        run = self.vbox.run.side_effect

        def failing(*args, **kwargs):
            if args[0] == subcommand and (
                    subcommand != 'createmedium' or self.root in args):
                if subcommand == 'createmedium':
                    open(self.root, 'wb').close()
                raise error
            return run(*args, **kwargs)

        self.vbox.run.side_effect = failing

    def test_failed_diff_is_closed_and_deleted(self):
        self._fail_on('createmedium', vbox_exc.VBoxManageError(
            command='createmedium', exit_code=1, messages=['disk full']))
        self.assertRaises(vbox_exc.VBoxManageError,
                          self.cache.create_root_disk, self.context,
                          self.instance(), self.meta, 1)
        self.assertEqual(mock.call('closemedium', 'disk', self.root,
                                   '--delete'), self.calls()[-1])
        self.assertFalse(os.path.exists(self.root))
        self.assertTrue(os.path.exists(self.base))

    def test_existing_root_disk_is_not_deleted(self):
        self._fail_on('createmedium', vbox_exc.VBoxAlreadyExists(
            command='createmedium', exit_code=1,
            messages=['VERR_ALREADY_EXISTS']))
        self.assertRaises(vbox_exc.VBoxAlreadyExists,
                          self.cache.create_root_disk, self.context,
                          self.instance(), self.meta, 1)
        self.assertNotIn('closemedium', [c[0][0] for c in self.calls()])
        self.assertTrue(os.path.exists(self.root))

    def test_failed_resize_removes_the_root_disk(self):
        self.flags(use_linked_clones=False, group='virtualbox')
        self._fail_on('modifymedium', vbox_exc.VBoxManageTimeout(
            command='modifymedium', timeout=1800))
        self.assertRaises(vbox_exc.VBoxManageTimeout,
                          self.cache.create_root_disk, self.context,
                          self.instance(3), self.meta, 3)
        self.assertEqual(mock.call('closemedium', 'disk', self.root,
                                   '--delete'), self.calls()[-1])
        self.assertFalse(os.path.exists(self.root))

    def test_cleanup_tolerates_an_unknown_medium(self):
        self.flags(use_cow_images=False)
        self._fail_on('modifymedium', vbox_exc.VBoxManageError(
            command='modifymedium', exit_code=1, messages=['boom']))
        run = self.vbox.run.side_effect

        def closing(*args, **kwargs):
            if args[0] == 'closemedium':
                raise vbox_exc.VBoxObjectNotFound(command='closemedium')
            return run(*args, **kwargs)

        self.vbox.run.side_effect = closing
        self.assertRaises(vbox_exc.VBoxManageError,
                          self.cache.create_root_disk, self.context,
                          self.instance(3), self.meta, 3)
        self.assertFalse(os.path.exists(self.root))

    def test_iso_gets_a_blank_root_disk(self):
        source = os.path.join(self.src, 'boot.iso')
        tiny_iso(source)
        meta = self.image(source, 'iso', image_id=OTHER_ID)
        root = self.cache.create_root_disk(self.context, self.instance(2),
                                           meta, 2)
        self.assertEqual(self.root, root)
        self.assertEqual(
            [mock.call('createmedium', 'disk', '--filename', self.root,
                       '--size', '2048', '--format', 'VDI', '--variant',
                       'Standard', timeout='default', undo=mock.ANY)],
            self.calls())

    def test_iso_without_root_disk(self):
        source = os.path.join(self.src, 'boot.iso')
        tiny_iso(source)
        meta = self.image(source, 'iso', image_id=OTHER_ID)
        self.assertIsNone(self.cache.create_root_disk(
            self.context, self.instance(0), meta, 0))
        self.vbox.run.assert_not_called()


HDDS = '''UUID:           %(base_uuid)s
Parent UUID:    base
State:          created
Type:           normal (base)
Location:       %(base)s
Storage format: VDI
Capacity:       1024 MBytes
Encryption:     disabled

UUID:           6b5d2f7e-1f4b-4b8e-9d7e-8f8a6e4c2b10
Parent UUID:    %(base_uuid)s
State:          created
Type:           normal (differencing)
Location:       %(pin)s
Storage format: VDI
Capacity:       1024 MBytes
Encryption:     disabled
%(child)s
'''
CHILD = '''
UUID:           0c9ad2a4-52c1-4f44-a0b5-6f6ef8d3e1aa
Parent UUID:    %(base_uuid)s
State:          created
Type:           normal (differencing)
Location:       /var/lib/nova/instances/instance-00000001/root.vdi
Storage format: VDI
Capacity:       1024 MBytes
Encryption:     disabled
'''
SIZED = '''UUID:           %(uuid)s
Parent UUID:    base
State:          created
Type:           normal (base)
Location:       %(path)s
Storage format: VDI
Capacity:       2048 MBytes
Encryption:     disabled

UUID:           %(pin_uuid)s
Parent UUID:    %(uuid)s
State:          created
Type:           normal (differencing)
Location:       %(pin)s
Storage format: VDI
Capacity:       2048 MBytes
Encryption:     disabled
'''
BASE_UUID = '60a57ac8-939c-4dda-9f11-ddb8a478a2d7'
PIN_UUID = '6b5d2f7e-1f4b-4b8e-9d7e-8f8a6e4c2b10'


class ManageImageCacheTestCase(ImageCacheTestCase):

    def setUp(self):
        super().setUp()
        self.flags(remove_unused_base_images=True,
                   remove_unused_original_minimum_age_seconds=3600,
                   group='image_cache')
        self.cache = imagecache.ImageCache(self.vbox, self.paths)
        os.makedirs(self.cache_dir)
        self.base = self._file(IMAGE_ID + '.vdi', age=7200)
        self.pin = self._file(IMAGE_ID + '.pin.vdi', age=7200)
        self.vbox.run.return_value = vboxmanage.Result('', '')
        self.hdds(child=False)

    def _file(self, name, age):
        path = os.path.join(self.cache_dir, name)
        with open(path, 'wb') as f:
            f.write(b'x')
        then = time.time() - age
        os.utime(path, (then, then))
        return path

    def hdds(self, child):
        values = {'base': self.base, 'base_uuid': BASE_UUID,
                  'pin': self.pin}
        values['child'] = CHILD % values if child else ''
        self.vbox.list_hdds.return_value = parsers.parse_colon_blocks(
            HDDS % values)

    def test_old_unused_base_is_removed_with_its_pin(self):
        self.cache.manage_image_cache(self.context, [])
        self.vbox.list_hdds.assert_called_once_with()
        self.assertEqual(
            [mock.call('closemedium', 'disk', PIN_UUID, '--delete'),
             mock.call('closemedium', 'disk', BASE_UUID, '--delete')],
            self.vbox.run.call_args_list)
        self.assertEqual([], self.cache_listing())

    def test_one_list_hdds_serves_all_bases(self):
        for image_id in (OTHER_ID, '0e6a4f1e-0c77-4e5d-a0a3-5b8e58d9b3f2'):
            self._file(image_id + '.vdi', age=7200)
        self.cache.manage_image_cache(self.context, [])
        self.assertEqual(1, self.vbox.list_hdds.call_count)
        self.assertEqual([], self.cache_listing())

    def test_base_in_use_is_kept_and_its_age_reset(self):
        instance = self.instance(image_ref=IMAGE_ID, host='other-host')
        self.cache.manage_image_cache(self.context, [instance])
        self.vbox.list_hdds.assert_not_called()
        self.vbox.run.assert_not_called()
        self.assertIn(IMAGE_ID + '.vdi', self.cache_listing())
        self.assertGreater(os.stat(self.base).st_mtime, time.time() - 60)

    def test_base_a_root_disk_is_being_made_from_is_kept(self):
        self.cache._mark_making(IMAGE_ID)
        self.cache.manage_image_cache(self.context, [])
        self.vbox.run.assert_not_called()
        self.assertIn(IMAGE_ID + '.vdi', self.cache_listing())
        self.cache._mark_making(IMAGE_ID, making=False)
        self.cache.manage_image_cache(self.context, [])
        self.assertEqual([], self.cache_listing())

    def test_young_unused_base_is_kept_without_calls(self):
        now = time.time()
        os.utime(self.base, (now, now))
        self.cache.manage_image_cache(self.context, [])
        self.vbox.list_hdds.assert_not_called()
        self.vbox.run.assert_not_called()
        self.assertIn(IMAGE_ID + '.vdi', self.cache_listing())

    def test_base_with_a_child_in_virtualbox_is_kept(self):
        self.hdds(child=True)
        self.cache.manage_image_cache(self.context, [])
        self.vbox.run.assert_not_called()
        self.assertEqual([IMAGE_ID + '.pin.vdi', IMAGE_ID + '.vdi'],
                         self.cache_listing())

    def test_base_virtualbox_refuses_to_close_is_kept(self):
        def run(*args, **kwargs):
            if args[3:4] == (BASE_UUID,) or BASE_UUID in args:
                raise vbox_exc.VBoxObjectInUse(
                    command='closemedium', exit_code=1,
                    messages=['Cannot close medium because it has 1 child '
                              'media'])
            return vboxmanage.Result('', '')

        self.vbox.run.side_effect = run
        self.cache.manage_image_cache(self.context, [])
        self.assertEqual([IMAGE_ID + '.vdi'], self.cache_listing())

    def test_unregistered_base_is_deleted(self):
        self.vbox.list_hdds.return_value = []
        os.unlink(self.pin)
        self.cache.manage_image_cache(self.context, [])
        self.assertEqual(
            [mock.call('closemedium', 'disk', self.base, '--delete')],
            self.vbox.run.call_args_list)
        self.assertEqual([], self.cache_listing())

    def test_base_virtualbox_does_not_know_is_deleted(self):
        self.vbox.list_hdds.return_value = []
        self.vbox.run.side_effect = vbox_exc.VBoxObjectNotFound(
            command='closemedium')
        self.cache.manage_image_cache(self.context, [])
        self.assertEqual([], self.cache_listing())

    # -- per-size bases -----------------------------------------------------

    def sized_base(self, root_gb=2, child=False, age=7200):
        """A grown base of root_gb with its pin, registered in VirtualBox
        (and a child of it, an instance's root disk, with ``child``)."""
        path = self._file('%s-%dg.vdi' % (IMAGE_ID, root_gb), age=age)
        pin = self._file('%s-%dg.pin.vdi' % (IMAGE_ID, root_gb), age=age)
        uuid = '5a1e0000-0000-4000-8000-%012d' % root_gb
        text = SIZED % {'uuid': uuid, 'path': path, 'pin': pin,
                        'pin_uuid': uuid[:-1] + 'f'}
        if child:
            text += '\n' + CHILD % {'base_uuid': uuid}
        self.vbox.list_hdds.return_value = (
            self.vbox.list_hdds.return_value +
            parsers.parse_colon_blocks(text))
        return path, pin, uuid

    def test_old_unused_sized_base_is_removed_with_its_pin(self):
        path, pin, uuid = self.sized_base(2)
        user = self.instance(root_gb=1)
        self.cache.manage_image_cache(self.context, [user])
        self.vbox.list_hdds.assert_called_once_with()
        self.assertEqual(
            [mock.call('closemedium', 'disk', uuid[:-1] + 'f', '--delete'),
             mock.call('closemedium', 'disk', uuid, '--delete')],
            self.vbox.run.call_args_list)
        # The image is in use (another size): its base stays.
        self.assertEqual([IMAGE_ID + '.pin.vdi', IMAGE_ID + '.vdi'],
                         self.cache_listing())

    def test_sized_base_of_an_instance_of_that_size_is_kept(self):
        path, pin, uuid = self.sized_base(2)
        self.cache.manage_image_cache(self.context,
                                      [self.instance(root_gb=2)])
        self.vbox.list_hdds.assert_not_called()
        self.vbox.run.assert_not_called()
        self.assertGreater(os.stat(path).st_mtime, time.time() - 60)

    def test_sized_base_of_a_nova_instance_without_flavor(self):
        # Nova's periodic task gives instances without their flavor: the
        # root_gb column is read, no lazy load.
        path, pin, uuid = self.sized_base(2)
        instance = objects.Instance(image_ref=IMAGE_ID, root_gb=2)
        self.cache.manage_image_cache(self.context, [instance])
        self.vbox.run.assert_not_called()
        self.assertFalse(instance.obj_attr_is_set('flavor'))
        # Size unknown: every size of the image is kept.
        instance = objects.Instance(image_ref=IMAGE_ID)
        self.cache.manage_image_cache(self.context, [instance])
        self.vbox.run.assert_not_called()
        self.assertIn(os.path.basename(path), self.cache_listing())

    def test_sized_base_with_a_child_in_virtualbox_is_kept(self):
        path, pin, uuid = self.sized_base(2, child=True)
        self.cache.manage_image_cache(self.context, [])
        # The plain base goes, the grown one with a disk on it stays.
        self.assertEqual(
            [mock.call('closemedium', 'disk', PIN_UUID, '--delete'),
             mock.call('closemedium', 'disk', BASE_UUID, '--delete')],
            self.vbox.run.call_args_list)
        self.assertEqual([os.path.basename(pin), os.path.basename(path)],
                         self.cache_listing())

    def test_disabled_does_nothing(self):
        self.flags(remove_unused_base_images=False, group='image_cache')
        cache = imagecache.ImageCache(self.vbox, self.paths)
        cache.manage_image_cache(self.context, [])
        self.vbox.list_hdds.assert_not_called()
        self.assertIn(IMAGE_ID + '.vdi', self.cache_listing())

    def test_old_unused_iso_is_closed_and_removed(self):
        os.unlink(self.base)
        os.unlink(self.pin)
        self._file(OTHER_ID + '.iso', age=7200)
        self.vbox.list_hdds.return_value = []
        self.vbox.run.side_effect = vbox_exc.VBoxObjectNotFound(
            command='closemedium')
        self.cache.manage_image_cache(self.context, [])
        self.assertEqual(
            [mock.call('closemedium', 'dvd',
                       os.path.join(self.cache_dir, OTHER_ID + '.iso'))],
            self.vbox.run.call_args_list)
        self.assertEqual([], self.cache_listing())

    def test_stale_temp_files_are_removed(self):
        stale = self._file('.%s.abc.part' % OTHER_ID, age=7200)
        fresh = self._file('.%s.def.part' % OTHER_ID, age=10)
        self.cache.manage_image_cache(self.context, [self.instance()])
        self.assertFalse(os.path.exists(stale))
        self.assertTrue(os.path.exists(fresh))

    def test_missing_cache_dir(self):
        shutil.rmtree(self.cache_dir)
        self.cache.manage_image_cache(self.context, [])
        self.vbox.list_hdds.assert_not_called()


class DriverTestCase(test_base.VBoxTestCase):
    """The driver's images section: capabilities and delegations."""

    def setUp(self):
        super().setUp()
        from nova.virt import fake as fake_virt
        from nova.virt.virtualbox import driver
        self.driver = driver.VBoxDriver(fake_virt.FakeVirtAPI(),
                                        vbox=self.vbox)
        self.driver._imagecache = mock.create_autospec(
            imagecache.ImageCache, instance=True)

    def test_capabilities(self):
        caps = self.driver.capabilities
        self.assertTrue(caps['has_imagecache'])
        for fmt in ('raw', 'qcow2', 'vmdk', 'vdi', 'vhd'):
            self.assertTrue(caps['supports_image_type_' + fmt], fmt)

    def test_manage_image_cache(self):
        self.driver.manage_image_cache(mock.sentinel.context,
                                       mock.sentinel.instances)
        self.driver._imagecache.manage_image_cache.assert_called_once_with(
            mock.sentinel.context, mock.sentinel.instances)

    def test_cache_image(self):
        cache_image = self.driver._imagecache.cache_image
        cache_image.return_value = True
        self.assertTrue(self.driver.cache_image(mock.sentinel.context,
                                                IMAGE_ID))
        cache_image.assert_called_once_with(mock.sentinel.context, IMAGE_ID)
