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

"""Snapshots: an instance's root disk as a new Glance image.

The image is a standalone VDI (disk_format ``vdi``): ``clonemedium``
flattens the differencing chain of a linked clone into one file, Glance
stores VDI, and the image cache boots it again after checking its bytes
(``qemu-img`` reads VDI). No conversion step, so one copy of the disk.

A running (or paused) VM keeps running: a live VirtualBox snapshot
(``snapshot U take NAME --live``) freezes the root disk - the guest writes
to a new differencing image from then on - the frozen disk is cloned, and
``snapshot U delete NAME`` merges the guest's writes back. A VM that is not
running is cloned directly: nothing writes to its disk while the instance
lock is held.

Real VirtualBox 7.2 cannot clone a differencing disk that was grown past
its parent's size (``modifymedium --resize`` of a linked clone): clonemedium
fails with VERR_INVALID_PARAMETER (see the RealVBox tests). The snapshot
then fails cleanly, leaving nothing behind.
"""

import os
import time

from oslo_concurrency import lockutils
from oslo_log import log as logging

from nova.compute import task_states
from nova import exception
from nova.image import glance
from nova.virt.virtualbox import constants
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import pathutils
from nova.virt.virtualbox import vboxmanage

import nova.conf

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

SNAPSHOT_DISK_FORMAT = 'vdi'
SNAPSHOT_CONTAINER_FORMAT = 'bare'
# VirtualBox snapshot name while a running VM's disk is cloned.
LIVE_SNAPSHOT_PREFIX = 'nova-image-'
# Under the instances path; removed when empty.
SNAPSHOTS_DIR_NAME = '_snapshots'
LIVE_STATES = (constants.STATE_RUNNING, constants.STATE_PAUSED)


def snapshot_names(info):
    """Names of the VM's snapshots, from showvminfo --machinereadable."""
    return [value for key, value in info.items()
            if str(key).startswith('SnapshotName')]


def root_attachment(info):
    """(controller, path, uuid) of the hard disk at port 0 device 0 of the
    VM's first controller that has one, from showvminfo --machinereadable;
    None when the VM has no disk there."""
    controllers = [value for key, value in sorted(info.items(),
                                                  key=lambda kv: str(kv[0]))
                   if str(key).startswith('storagecontrollername')]
    for name in controllers:
        path = info.get('%s-0-0' % name)
        if path and path not in (constants.MEDIUM_NONE,
                                 constants.MEDIUM_EMPTY_DRIVE):
            return name, path, info.get('%s-ImageUUID-0-0' % name)
    return None


class SnapshotOps(object):

    def __init__(self, vbox, path_utils=None, image_api=None):
        self._vbox = vbox
        self._pathutils = path_utils or pathutils.PathUtils()
        self._image_api = image_api or glance.API()

    def _snapshots_dir(self):
        return os.path.join(self._pathutils.instances_dir(),
                            SNAPSHOTS_DIR_NAME)

    def snapshot(self, context, instance, image_id, update_task_state):
        """Upload the root disk as image ``image_id``.

        :raises InstanceNotRunning: VirtualBox has no VM of the instance
            (what Nova's generic driver tests expect).
        """
        self._sweep_stale_clones()
        flat = os.path.join(self._pathutils.ensure_dir(self._snapshots_dir()),
                            '%s.vdi' % image_id)
        try:
            with lockutils.lock(pathutils.lock_name(instance)):
                self._capture(instance, image_id, flat, update_task_state)
            update_task_state(task_state=task_states.IMAGE_UPLOADING,
                              expected_state=task_states.IMAGE_PENDING_UPLOAD)
            self._upload(context, instance, image_id, flat)
        finally:
            self.remove_clone(flat)
        LOG.info('Snapshot uploaded as image %s', image_id,
                 instance=instance)

    def _capture(self, instance, image_id, flat, update_task_state):
        try:
            info = self._vbox.show_vm_info(instance.uuid)
        except vbox_exc.VBoxObjectNotFound:
            raise exception.InstanceNotRunning(instance_id=instance.uuid)
        root = root_attachment(info)
        if root is None:
            raise exception.InstanceNotRunning(instance_id=instance.uuid)
        update_task_state(task_state=task_states.IMAGE_PENDING_UPLOAD)
        live = info.get('VMState') in LIVE_STATES
        if live:
            self.capture_frozen(instance, root[1], flat,
                                LIVE_SNAPSHOT_PREFIX + image_id)
        else:
            self.clone_flat(root[1], flat)

    def capture_frozen(self, instance, disk, target, name, live=True):
        """Clone ``disk`` of a VM that runs, frozen by a VirtualBox
        snapshot ``name`` that is deleted (merged back) whatever happens.
        ``live`` False takes an offline snapshot (real VirtualBox refuses
        --live for a VM that is not running; the real-VirtualBox tests,
        where no VM runs, use it so)."""
        self.take_snapshot(instance, name, live=live)
        try:
            self.clone_flat(disk, target)
        finally:
            self.delete_snapshot(instance, name)

    def take_snapshot(self, instance, name, live=False):
        args = ['snapshot', instance.uuid, 'take', name]
        if live:
            args.append('--live')
        # Snapshot names need not be unique: a retry must not leave two.
        self._vbox.run(*args, timeout=vboxmanage.TIMEOUT_LONG,
                       undo=lambda: self.delete_snapshot(instance, name,
                                                         missing_ok=True))

    def delete_live_snapshots(self, instance):
        """Delete the live snapshots of Glance snapshots a killed
        nova-compute left on the VM (their content is merged back, as a
        finished snapshot's is); a VM that is gone has none."""
        try:
            info = self._vbox.show_instance_info(instance)
        except exception.InstanceNotFound:
            return
        for name in snapshot_names(info):
            if name.startswith(LIVE_SNAPSHOT_PREFIX):
                LOG.warning('Deleting the snapshot %s of an image upload '
                            'that did not finish', name, instance=instance)
                self.delete_snapshot(instance, name, missing_ok=True)

    def delete_snapshot(self, instance, name, missing_ok=False):
        try:
            self._vbox.run('snapshot', instance.uuid, 'delete', name,
                           timeout=vboxmanage.TIMEOUT_LONG)
        except vbox_exc.VBoxObjectNotFound:
            if not missing_ok:
                raise

    def clone_flat(self, disk, target):
        """A standalone VDI copy of ``disk`` (its chain flattened); on
        failure nothing is left."""
        def clone():
            self._vbox.run('clonemedium', 'disk', disk, target,
                           '--format', 'VDI', timeout=vboxmanage.TIMEOUT_LONG,
                           undo=lambda: self.remove_clone(target))
        try:
            clone()
        except vbox_exc.VBoxAlreadyExists:
            # A snapshot of this image id that died half-way: ours.
            LOG.warning('Replacing the stale snapshot file %s', target)
            self.remove_clone(target)
            clone()

    def _metadata(self, instance):
        properties = {
            'image_location': 'snapshot',
            'image_state': 'available',
            'owner_id': instance.project_id,
        }
        if getattr(instance, 'os_type', None):
            properties['os_type'] = instance.os_type
        metadata = {
            'status': 'active',
            'disk_format': SNAPSHOT_DISK_FORMAT,
            'container_format': SNAPSHOT_CONTAINER_FORMAT,
            'properties': properties,
        }
        # The root disk has the flavor's size (a resize grew it): a server
        # booted from the snapshot needs as much, which Nova's API then
        # checks (a 400 naming the sizes) instead of the build failing.
        if instance.flavor.root_gb:
            metadata['min_disk'] = instance.flavor.root_gb
        return metadata

    def _upload(self, context, instance, image_id, flat):
        with open(flat, 'rb') as data:
            self._image_api.update(context, image_id,
                                   self._metadata(instance), data,
                                   purge_props=False)

    def _sweep_stale_clones(self):
        """Remove flat copies an earlier snapshot could not close. Only
        old ones: a copy younger than two long timeouts may belong to a
        snapshot still running."""
        folder = self._snapshots_dir()
        try:
            names = os.listdir(folder)
        except FileNotFoundError:
            return
        horizon = time.time() - 2 * CONF.virtualbox.vboxmanage_long_timeout
        for name in names:
            path = os.path.join(folder, name)
            try:
                stale = os.path.getmtime(path) < horizon
            except OSError:
                continue
            if stale:
                self.remove_clone(path)

    def _close(self, path):
        """closemedium --delete, tried twice (a cleanup must not give up
        on one failure); True once VirtualBox no longer holds the medium."""
        for attempt in (1, 2):
            try:
                self._vbox.close_medium(path, delete=True)
                return True
            except vbox_exc.VBoxError as err:
                LOG.warning('Could not close %(path)s (try %(n)d): %(err)s',
                            {'path': path, 'n': attempt, 'err': err})
        return False

    def remove_clone(self, path):
        """Forget (closemedium) and delete a clone; fine when it is not
        there. Its folder stays: the clones of snapshots and migrations of
        other instances, which run at the same time, go there too (one
        that removed the folder once empty made another's clone fail).

        The file goes only once VirtualBox has let go of it: a registered
        medium without its file stays in ``list hdds`` for good, while a
        file still registered is closed by the next snapshot's sweep.
        """
        if os.path.exists(path) and self._close(path):
            self._pathutils.remove_file(path)
