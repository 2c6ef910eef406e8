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

"""What the reliability tests and tools/benchmark.py share: images made by
qemu-img, a fake Glance that counts downloads, instance objects, and
tools/check_consistency.py loaded from the source tree.

Nothing here needs the test requirements (fixtures, testtools): the
benchmark runs with Nova and this package installed only.
"""

import importlib.util
import os
import shutil
import subprocess
import threading
import uuid as uuidlib

from nova import exception
from nova import objects

QEMU_IMG = shutil.which('qemu-img') or '/usr/bin/qemu-img'


def qemu_img(*args):
    subprocess.run([QEMU_IMG] + list(args), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_qcow2(path, size='64M', backing=None):
    """A real qcow2 image; with ``backing``, one on that backing file."""
    args = ['create', '-q', '-f', 'qcow2']
    if backing:
        args += ['-b', backing, '-F', 'raw']
    qemu_img(*(args + [path, size]))
    return path


def make_raw(path, size_bytes=1024 * 1024):
    with open(path, 'wb') as f:
        f.truncate(size_bytes)
    return path


def make_vmdk_descriptor(path, extent):
    """A monolithicFlat VMDK descriptor whose extent is another host file:
    the hostile kind (it would let a guest read ``extent``)."""
    size = os.path.getsize(extent) // 512 if os.path.exists(extent) else 2048
    text = ('# Disk DescriptorFile\n'
            'version=1\n'
            'CID=fffffffe\n'
            'parentCID=ffffffff\n'
            'createType="monolithicFlat"\n\n'
            '# Extent description\n'
            'RW %d FLAT "%s" 0\n\n'
            '# The Disk Data Base\n'
            'ddb.virtualHWVersion = "4"\n'
            'ddb.geometry.cylinders = "2"\n'
            'ddb.geometry.heads = "16"\n'
            'ddb.geometry.sectors = "63"\n'
            'ddb.adapterType = "ide"\n' % (size, extent))
    with open(path, 'w') as f:
        f.write(text)
    return path


class FakeGlance(object):
    """Stands in for nova.virt.images.IMAGE_API (nova.image.glance.API):
    serves local files as images and counts the downloads."""

    def __init__(self):
        self.images = {}
        self.downloads = 0
        self._lock = threading.Lock()

    def add(self, path, disk_format, image_id=None, **properties):
        image_id = image_id or str(uuidlib.uuid4())
        self.images[image_id] = {
            'id': image_id, 'name': os.path.basename(path),
            'status': 'active', 'disk_format': disk_format,
            'container_format': 'bare', 'size': os.path.getsize(path),
            'min_disk': 0, 'min_ram': 0, 'properties': properties,
            'path': path}
        return image_id

    def get(self, context, image_id, *args, **kwargs):
        try:
            meta = dict(self.images[image_id])
        except KeyError:
            raise exception.ImageNotFound(image_id=image_id)
        meta.pop('path')
        return meta

    def download(self, context, image_id, data=None, dest_path=None,
                 trusted_certs=None):
        with self._lock:
            self.downloads += 1
        try:
            source = self.images[image_id]['path']
        except KeyError:
            raise exception.ImageNotFound(image_id=image_id)
        shutil.copyfile(source, dest_path)

    def image_meta(self, image_id):
        meta = self.get(None, image_id)
        return objects.ImageMeta.from_dict(meta)


class Counter(object):
    """Wraps a function, counting its calls (thread-safe)."""

    def __init__(self, func):
        self.func = func
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, *args, **kwargs):
        with self._lock:
            self.calls += 1
        return self.func(*args, **kwargs)


def make_instance(image_id, number=None, root_gb=1, memory_mb=256,
                  **fields):
    """A Nova instance object as the compute manager hands it to spawn."""
    number = number if number is not None else int(
        uuidlib.uuid4().int % 0xffffff)
    values = dict(
        id=number, uuid=str(uuidlib.uuid4()),
        display_name='bench-%d' % number, host='laptop',
        project_id='p', user_id='u', image_ref=image_id,
        config_drive='', system_metadata={}, metadata={}, os_type=None,
        task_state=None,
        vm_state='building', trusted_certs=None,
        flavor=objects.Flavor(memory_mb=memory_mb, vcpus=1,
                              root_gb=root_gb, ephemeral_gb=0, swap=0,
                              extra_specs={}))
    values.update(fields)
    return objects.Instance(**values)


def source_dir():
    """The nova-virtualbox source tree ($NOVA_VIRTUALBOX_SRC, which tox
    sets, else guessed from the working directory)."""
    candidates = [os.environ.get('NOVA_VIRTUALBOX_SRC'), os.getcwd(),
                  os.path.dirname(os.getcwd())]
    for folder in candidates:
        if folder and os.path.isfile(
                os.path.join(folder, 'tools', 'check_consistency.py')):
            return folder
    return None


def load_checker():
    """tools/check_consistency.py as a module (None when the source tree
    is not found)."""
    folder = source_dir()
    if folder is None:
        return None
    path = os.path.join(folder, 'tools', 'check_consistency.py')
    spec = importlib.util.spec_from_file_location('check_consistency', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def processes(match):
    """{pid: argv} of this host's processes whose argv ``match(argv)``."""
    found = {}
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                argv = f.read().split(b'\0')
        except OSError:
            continue
        if argv and match(argv):
            found[int(entry)] = argv
    return found


def vm_processes(uuid):
    """PIDs of the VM processes (VBoxHeadless) running VM ``uuid``."""
    return sorted(processes(lambda argv: argv[0].endswith(b'VBoxHeadless')
                            and uuid.encode() in argv))
