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

"""The image cache: Glance images as VirtualBox base disks.

An image is fetched from Glance once per host (an external lock per image
id makes concurrent spawns, even in other processes, wait for the first
one), its real format read from its bytes with oslo.utils' format
inspector and checked against what Glance declared, and converted with
``qemu-img convert -f <verified format> -O vdi`` into
``<cache>/<image id>.vdi``. Images are untrusted: nothing probes a format,
backing files, external data files and VMDK extents outside the file are
refused. ISO images are cached as they came, ``<cache>/<image id>.iso``.

Root disks are differencing VDIs on a cached base (linked clones) or full
copies. A linked clone is never grown: real VirtualBox 7.2 can
``modifymedium --resize`` a differencing VDI, but then cannot
``clonemedium`` it any more (VERR_INVALID_PARAMETER, also with
``--existing``), so such an instance could not be snapshotted or
cold-migrated. When the flavor's disk is larger than the image, the parent
is instead a **per-size base** ``<image id>-<root_gb>g.vdi``: a full copy
of the base, grown once (``clonemedium`` + ``modifymedium --resize`` of the
copy, which is not differencing) under the image's lock and kept like the
base. A root disk from a cached size is then one ``createmedium
--diffparent``. When root_gb is 0 or the image's size, the parent is the
base itself. Full copies are ``clonemedium`` + ``--resize`` of the copy.

Linked clones need a guard: real VirtualBox 7.2 treats the PARENT of a
VM's disk as the VM's when that disk was its only child (``unregistervm
--delete`` deletes it, seen in tools/real-vbox, see test_imagecache's
RealVBox tests; a plain unregister, which the driver uses, may forget it),
so destroying the last instance of an image could lose the cached base.
Each base used for linked clones (plain or per-size) therefore has a second
child of its own, ``<base name>.pin.vdi``, created once and kept registered
in VirtualBox's global media registry; the base is registered too
(VirtualBox registers a parent implicitly).

Aging: a base's age is the time since its file's mtime. The driver sets
the mtime to now when it caches the image, when it makes a root disk from
it and at each manage_image_cache pass where an instance uses it. Bases
unused for [image_cache] remove_unused_original_minimum_age_seconds are
removed (with their pins) when [image_cache] remove_unused_base_images is
on, never while VirtualBox lists a differencing child of it (other than
its pin) or an instance of this host (or of another host sharing the
storage) uses it: for the plain base, any instance with the image as its
image_ref; for a per-size base, an instance with that image_ref and that
root_gb. Nor while a root disk is being made from it: the disk is made
outside the image's lock (concurrent spawns of one image would queue on
each other's ``createmedium`` otherwise), with the image marked in this
process and its base's mtime just set.
"""

import collections
import math
import os
import re
import tempfile
import threading
import time

from oslo_concurrency import lockutils
from oslo_log import log as logging
from oslo_utils import excutils
from oslo_utils.imageutils import format_inspector

import nova.conf
from nova import exception
from nova.i18n import _
from nova.virt import imagecache
from nova.virt import images
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import vboxmanage

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

MiB = 1024 * 1024
GiB = 1024 * MiB

# Glance disk_format / inspector name -> qemu-img's name of the format.
# Anything else (vhdx, qed, luks, ami, ...) is refused.
QEMU_FORMATS = {
    'raw': 'raw',
    'qcow2': 'qcow2',
    'vmdk': 'vmdk',
    'vdi': 'vdi',
    'vhd': 'vpc',
}
ISO = 'iso'
ACCEPTED_FORMATS = tuple(sorted(QEMU_FORMATS)) + (ISO,)

LOCK_PREFIX = 'vbox-image-'
TEMP_SUFFIX = '.part'
PIN_SUFFIX = '.pin.vdi'
# <image id>-<root_gb>g.vdi: a base grown to the flavor's disk size.
SIZED_RE = re.compile(r'^(?P<id>.+)-(?P<gb>[0-9]+)g\.vdi$')


def _fail(image_id, reason):
    return exception.ImageUnacceptable(image_id=image_id, reason=reason)


class ImageCache(imagecache.ImageCacheManager):
    """Fetches, verifies, converts and ages the cached images; makes
    root disks from them."""

    def __init__(self, vboxmanage, pathutils):
        super().__init__()
        self._vbox = vboxmanage
        self._pathutils = pathutils
        # image id -> root disks being made from its bases in this process
        self._making = collections.Counter()
        self._making_lock = threading.Lock()

    # -- locking --------------------------------------------------------------

    def _lock_path(self):
        return (CONF.oslo_concurrency.lock_path or
                self._pathutils.ensure_dir(self._pathutils.image_cache_dir()))

    def _lock(self, image_id):
        """Held while an image is fetched, converted, cloned or removed;
        inter-process (nova-compute restarted, a second service)."""
        return lockutils.lock(LOCK_PREFIX + image_id, external=True,
                              lock_path=self._lock_path())

    def _mark_making(self, image_id, making=True):
        """Marks (or unmarks) a root disk being made from the image's
        bases. Marked under the image's lock, the disk is then made
        outside it, so that concurrent spawns of one image do not queue on
        each other's VBoxManage calls; manage_image_cache, under the lock,
        leaves the bases of a marked image alone. (A spawn in another
        process is protected by the base's mtime, touched under the
        lock.)"""
        with self._making_lock:
            self._making[image_id] += 1 if making else -1
            if not self._making[image_id]:
                del self._making[image_id]

    def _is_making_disk_from(self, image_id):
        with self._making_lock:
            return bool(self._making[image_id])

    # -- the cache ------------------------------------------------------------

    def _find_cached(self, image_id):
        for path in (self._pathutils.cached_image_path(image_id),
                     self._pathutils.cached_iso_path(image_id)):
            if os.path.isfile(path):
                return path
        return None

    @staticmethod
    def _touch(path):
        try:
            os.utime(path)
        except FileNotFoundError:
            pass

    @staticmethod
    def is_iso(path):
        return bool(path) and path.endswith('.' + ISO)

    def get_cached_image(self, context, instance, image_meta):
        """Path of the cached, verified image of ``image_meta``: a VDI
        base, or the ISO itself for an ISO image. Fetches and converts it
        the first time (once, however many spawns ask at once).

        :raises ImageUnacceptable: the image is not what it claims, is
            unsafe or of a format VirtualBox cannot boot from.
        :raises FlavorDiskSmallerThanImage: the image's virtual size is
            larger than the flavor's root disk.
        """
        image_id = image_meta.id
        declared = (image_meta.disk_format
                    if image_meta.obj_attr_is_set('disk_format') else None)
        root_gb = instance.flavor.root_gb
        path, _fetched = self._ensure_cached(
            context, image_id, declared, root_gb * GiB if root_gb else None,
            trusted_certs=getattr(instance, 'trusted_certs', None))
        if not self.is_iso(path) and root_gb:
            self._check_fits(path, root_gb)
        return path

    def cache_image(self, context, image_id):
        """Nova's image pre-caching: True if fetched, False if present."""
        if self._find_cached(image_id):
            self._touch(self._find_cached(image_id))
            return False
        meta = images.get_info(context, image_id)
        declared = meta.get('disk_format')
        return self._ensure_cached(context, image_id, declared, None)[1]

    def _ensure_cached(self, context, image_id, declared, max_bytes,
                       trusted_certs=None):
        with self._lock(image_id):
            path = self._find_cached(image_id)
            if path:
                self._touch(path)
                return path, False
            return self._fetch(context, image_id, declared, max_bytes,
                               trusted_certs), True

    def _fetch(self, context, image_id, declared, max_bytes, trusted_certs):
        self.check_declared_format(image_id, declared)
        cache_dir = self._pathutils.ensure_dir(
            self._pathutils.image_cache_dir())
        temps = []

        def temp_name(suffix):
            fd, name = tempfile.mkstemp(dir=cache_dir, suffix=suffix,
                                        prefix='.%s.' % image_id)
            os.close(fd)
            temps.append(name)
            return name

        try:
            download = temp_name(TEMP_SUFFIX)
            LOG.info('Fetching image %(id)s into the image cache %(dir)s',
                     {'id': image_id, 'dir': cache_dir})
            images.fetch(context, image_id, download, trusted_certs)
            fmt, virtual_size = self.inspect(image_id, download, declared)
            if max_bytes and virtual_size > max_bytes:
                raise exception.FlavorDiskSmallerThanImage(
                    flavor_size=max_bytes, image_size=virtual_size)
            if fmt == ISO:
                path = self._pathutils.cached_iso_path(image_id)
                os.rename(download, path)
                return path
            converted = temp_name('.vdi' + TEMP_SUFFIX)
            # -f always: qemu-img never guesses the format of the bytes.
            images.convert_image(download, converted, QEMU_FORMATS[fmt],
                                 'vdi')
            # What qemu-img wrote must be a plain VDI too.
            self.inspect(image_id, converted, 'vdi')
            path = self._pathutils.cached_image_path(image_id)
            os.rename(converted, path)
            LOG.info('Image %(id)s (%(fmt)s, %(size)d bytes virtual) cached '
                     'as %(path)s', {'id': image_id, 'fmt': fmt,
                                     'size': virtual_size, 'path': path})
            return path
        finally:
            for name in temps:
                self._pathutils.remove_file(name)

    @staticmethod
    def check_declared_format(image_id, declared):
        if declared and declared not in ACCEPTED_FORMATS:
            raise _fail(image_id, _(
                "its disk_format %(fmt)s is not supported by the VirtualBox "
                "driver; upload it as one of %(ok)s") % {
                    'fmt': declared, 'ok': ', '.join(ACCEPTED_FORMATS)})

    @classmethod
    def inspect(cls, image_id, path, declared):
        """(format, virtual size in bytes) of the image file at ``path``
        read from its bytes, after the format inspector's safety checks.

        :raises ImageUnacceptable: with what is wrong.
        """
        cls.check_declared_format(image_id, declared)
        try:
            inspector = images.get_image_format(path)
        except format_inspector.ImageFormatError as err:
            raise _fail(image_id, _(
                "its content could not be identified (%s); it may hide one "
                "format in another") % err)
        detected = str(inspector)
        if detected == 'gpt' and declared in (None, 'raw'):
            # A whole-disk raw image with a GPT: raw, as Nova does.
            detected = 'raw'
        if detected not in ACCEPTED_FORMATS:
            raise _fail(image_id, _(
                "its content is in the %(fmt)s format, which the VirtualBox "
                "driver does not support; convert it to one of %(ok)s") % {
                    'fmt': detected, 'ok': ', '.join(ACCEPTED_FORMATS)})
        if declared and detected != declared:
            raise _fail(image_id, _(
                "its content is %(real)s but its disk_format says "
                "%(declared)s; fix the image's disk_format or upload the "
                "right file") % {'real': detected, 'declared': declared})
        try:
            inspector.safety_check()
        except format_inspector.SafetyCheckFailed as err:
            details = '; '.join('%s: %s' % (name, failure) for name, failure
                                in sorted(err.failures.items()))
            raise _fail(image_id, _(
                "the %(fmt)s image is unsafe to use (%(details)s): images "
                "must be self-contained, without backing files, external "
                "data files or extents outside the file") % {
                    'fmt': detected, 'details': details})
        except format_inspector.ImageFormatError as err:
            raise _fail(image_id, _(
                "the %(fmt)s image could not be checked: %(err)s") % {
                    'fmt': detected, 'err': err})
        return detected, inspector.virtual_size

    @staticmethod
    def virtual_size(path):
        """Virtual size in bytes of a cached VDI, from its header (no
        VBoxManage call)."""
        return format_inspector.detect_file_format(path).virtual_size

    def _check_fits(self, path, root_gb):
        size = self.virtual_size(path)
        if size > root_gb * GiB:
            raise exception.FlavorDiskSmallerThanImage(
                flavor_size=root_gb * GiB, image_size=size)
        return size

    # -- root disks -----------------------------------------------------------

    @staticmethod
    def _linked():
        return CONF.use_cow_images and CONF.virtualbox.use_linked_clones

    def create_root_disk(self, context, instance, image_meta, root_gb):
        """Make the instance's root disk ``<vm folder>/root.vdi`` from the
        cached image and return its path: a differencing VDI (linked
        clone) on the base, or on the per-size base of ``root_gb`` when
        that is larger than the image, never grown itself; or a full copy
        grown to ``root_gb`` (0: the image's size). For an ISO image, a
        blank disk of ``root_gb`` (None when 0; the ISO itself,
        ``get_cached_image``, is attached as a DVD).

        :raises FlavorDiskSmallerThanImage: root_gb is smaller than the
            image; nothing is created.
        """
        root = self._pathutils.root_disk_path(instance)
        image_id = image_meta.id
        for _attempt in (1, 2):
            base = self.get_cached_image(context, instance, image_meta)
            if self.is_iso(base):
                return self._blank_root_disk(root, root_gb)
            image_bytes = self.virtual_size(base)
            if root_gb and image_bytes > root_gb * GiB:
                raise exception.FlavorDiskSmallerThanImage(
                    flavor_size=root_gb * GiB, image_size=image_bytes)
            image_mb = int(math.ceil(float(image_bytes) / MiB))
            grow = bool(root_gb) and root_gb * 1024 > image_mb
            with self._lock(image_id):
                # Under the image's lock manage_image_cache cannot remove
                # the base between the check above and the mark below.
                if not os.path.exists(base):
                    continue  # removed meanwhile: fetch it again
                self._touch(base)
                self._pathutils.ensure_dir(os.path.dirname(root))
                parent = base
                if self._linked():
                    pin = self._pathutils.cached_pin_path(image_id)
                    if grow:
                        parent = self._ensure_sized_base(image_id, base,
                                                         root_gb)
                        pin = self._pathutils.cached_pin_path(image_id,
                                                              root_gb)
                    self._ensure_pin(pin, parent)
                self._mark_making(image_id)
            try:
                if self._linked():
                    self._make_disk(root, 'createmedium', 'disk',
                                    '--filename', root, '--diffparent',
                                    parent, '--format', 'VDI')
                    return root
                self._make_disk(root, 'clonemedium', 'disk', base, root,
                                '--format', 'VDI',
                                timeout=vboxmanage.TIMEOUT_LONG)
            finally:
                self._mark_making(image_id, making=False)
            break
        else:
            raise _fail(image_id, _('its cached copy vanished twice while '
                                    'the root disk was being made'))
        if grow:
            self._grow(root, root_gb)
        return root

    def _grow(self, path, root_gb):
        """modifymedium --resize of a disk that is NOT differencing (a
        grown differencing VDI cannot be cloned by real VirtualBox); on
        failure the disk is removed."""
        try:
            self._vbox.grow_medium(path, root_gb)
        except Exception:
            with excutils.save_and_reraise_exception():
                self._remove_disk(path)

    def _ensure_sized_base(self, image_id, base, root_gb):
        """The per-size base of ``root_gb`` GB (called under the image's
        lock): a full copy of ``base`` grown to the flavor's size, made
        once. A copy of the wrong size (a nova-compute that died between
        the clone and the resize) is made again."""
        sized = self._pathutils.cached_sized_image_path(image_id, root_gb)
        if os.path.exists(sized):
            try:
                size = self.virtual_size(sized)
            except Exception:
                size = None
            if size == root_gb * GiB:
                self._touch(sized)
                return sized
            LOG.warning('Replacing %(path)s: %(size)s bytes instead of '
                        '%(gb)d GB, left by a copy that did not finish',
                        {'path': sized, 'size': size, 'gb': root_gb})
            self._remove_disk(sized)
        LOG.info('Caching image %(id)s grown to %(gb)d GB as %(path)s',
                 {'id': image_id, 'gb': root_gb, 'path': sized})
        self._make_disk(sized, 'clonemedium', 'disk', base, sized,
                        '--format', 'VDI', timeout=vboxmanage.TIMEOUT_LONG)
        self._grow(sized, root_gb)
        return sized

    def _blank_root_disk(self, root, root_gb):
        if not root_gb:
            return None
        self._pathutils.ensure_dir(os.path.dirname(root))
        self._make_disk(root, 'createmedium', 'disk', '--filename', root,
                        '--size', str(root_gb * 1024), '--format', 'VDI',
                        '--variant', 'Standard')
        return root

    def _make_disk(self, path, *args, timeout=vboxmanage.TIMEOUT_DEFAULT):
        """Run a disk creation (tried again after a transient failure,
        once what it may have left is removed); on failure remove what it
        may have left, unless the file was there before."""
        try:
            self._vbox.run(*args, timeout=timeout,
                           undo=lambda: self._remove_disk(path))
        except vbox_exc.VBoxAlreadyExists:
            raise
        except Exception:
            with excutils.save_and_reraise_exception():
                self._remove_disk(path)

    def _remove_disk(self, path, uuid=None, keep_on_error=False):
        """Close (unregister) and delete a disk; fine when VirtualBox
        does not know it or the file is gone. Returns whether it is gone.
        With ``keep_on_error`` a disk VirtualBox refuses to close (it has
        children) stays; else its file is removed anyway."""
        try:
            self._vbox.close_medium(uuid or path, delete=True)
        except vbox_exc.VBoxError as err:
            LOG.warning('Could not close and delete %(path)s: %(err)s',
                        {'path': path, 'err': err})
            if keep_on_error:
                return False
        self._pathutils.remove_file(path)
        return True

    def _ensure_pin(self, pin, base):
        if os.path.exists(pin):
            return pin
        LOG.debug('Pinning base %s with a child of its own', base)
        self._make_disk(pin, 'createmedium', 'disk', '--filename', pin,
                        '--diffparent', base, '--format', 'VDI')
        return pin

    # -- aging ----------------------------------------------------------------

    def _get_base(self):
        return self._pathutils.image_cache_dir()

    def _scan(self):
        """{path: (image id, root_gb)} of the cached images (root_gb None
        for the image as it came, the GB of a per-size base), and the
        stale temp files of fetches that died."""
        bases, temps = {}, []
        try:
            names = os.listdir(self._get_base())
        except FileNotFoundError:
            return bases, temps
        for name in names:
            path = os.path.join(self._get_base(), name)
            sized = SIZED_RE.match(name)
            if name.startswith('.') and name.endswith(TEMP_SUFFIX):
                temps.append(path)
            elif name.endswith(PIN_SUFFIX):
                continue
            elif sized:
                bases[path] = (sized.group('id'), int(sized.group('gb')))
            elif name.endswith('.vdi') or name.endswith('.' + ISO):
                bases[path] = (name.rsplit('.', 1)[0], None)
        return bases, temps

    @staticmethod
    def _instance_root_gb(instance):
        """The instance's root_gb without a database call: Nova gives
        manage_image_cache instances without their flavor, but with the
        root_gb column (kept equal to the flavor's by Nova). None when
        unknown."""
        if hasattr(instance, 'obj_attr_is_set'):
            for field in ('root_gb', 'flavor'):
                if instance.obj_attr_is_set(field):
                    value = getattr(instance, field)
                    return value if field == 'root_gb' else value.root_gb
            return None
        value = getattr(instance, 'root_gb', None)
        if value is None and getattr(instance, 'flavor', None) is not None:
            value = instance.flavor.root_gb
        return value

    @staticmethod
    def _age(path, now):
        try:
            return now - os.stat(path).st_mtime
        except FileNotFoundError:
            return None

    def manage_image_cache(self, context, all_instances):
        """Remove the cached images no instance has used for [image_cache]
        remove_unused_original_minimum_age_seconds."""
        if not self.remove_unused_base_images:
            return
        bases, temps = self._scan()
        now = time.time()
        max_age = CONF.image_cache.remove_unused_original_minimum_age_seconds
        # Every instance given counts, this host's and those of hosts
        # sharing this storage. A per-size base is used by the instances
        # of its image and size (any size when the size is unknown).
        used, sizes = set(), set()
        for inst in all_instances:
            if inst.image_ref:
                used.add(inst.image_ref)
                sizes.add((inst.image_ref, self._instance_root_gb(inst)))
        candidates = {}
        for path, (image_id, root_gb) in bases.items():
            if root_gb is None:
                in_use = image_id in used
            else:
                in_use = ((image_id, root_gb) in sizes or
                          (image_id, None) in sizes)
            if in_use:
                self._touch(path)
            else:
                age = self._age(path, now)
                if age is not None and age >= max_age:
                    candidates[path] = (image_id, root_gb)
        for path in temps:
            age = self._age(path, now)
            if age is not None and age >= max(max_age, 3600):
                LOG.info('Removing %s, left by a fetch that did not finish',
                         path)
                self._pathutils.remove_file(path)
        if not candidates:
            return
        media = self._media_by_location()
        for path, (image_id, root_gb) in sorted(candidates.items()):
            with self._lock(image_id):
                age = self._age(path, time.time())
                if (age is None or age < max_age or
                        self._is_making_disk_from(image_id)):
                    continue  # a spawn used it meanwhile
                if self.is_iso(path):
                    self._remove_iso(path)
                else:
                    self._remove_base(
                        image_id, path, media,
                        self._pathutils.cached_pin_path(image_id, root_gb))

    def _media_by_location(self):
        """{location: (uuid, [child location])} of VirtualBox's disks, in
        one call."""
        blocks = self._vbox.list_hdds()
        by_uuid = {b.get('UUID'): b for b in blocks}
        result = {}
        for block in blocks:
            result.setdefault(block.get('Location'),
                              [block.get('UUID'), []])
        for block in blocks:
            parent = by_uuid.get(block.get('Parent UUID'))
            if parent is not None:
                result[parent.get('Location')][1].append(
                    block.get('Location'))
        return result

    def _remove_base(self, image_id, path, media, pin):
        uuid, children = media.get(path, (None, []))
        children = [c for c in children if c != pin]
        if children:
            LOG.warning('Keeping cached image %(path)s: no instance uses '
                        'image %(id)s, but VirtualBox still has disks made '
                        'from it: %(children)s',
                        {'path': path, 'id': image_id,
                         'children': ', '.join(children)})
            return
        LOG.info('Removing cached image %(path)s: unused for more than '
                 '%(age)d seconds', {
                     'path': path,
                     'age': CONF.image_cache
                     .remove_unused_original_minimum_age_seconds})
        if pin in media or os.path.exists(pin):
            if not self._remove_disk(pin, media.get(pin, (None,))[0],
                                     keep_on_error=True):
                return
        if uuid is not None or os.path.exists(path):
            self._remove_disk(path, uuid, keep_on_error=True)

    def _remove_iso(self, path):
        LOG.info('Removing cached ISO image %s', path)
        try:
            self._vbox.close_medium(path, device='dvd')
        except vbox_exc.VBoxError as err:
            # The file goes anyway: an image nothing uses.
            LOG.warning('Could not close %(path)s: %(err)s',
                        {'path': path, 'err': err})
        self._pathutils.remove_file(path)
