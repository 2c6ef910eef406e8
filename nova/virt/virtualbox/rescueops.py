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

"""Rescue: boot a rescue image with the instance's root disk second.

The rescue image comes through the image cache (``get_cached_image``) and
is copied (``clonemedium``, a standalone disk, so that nothing of the
image cache ever hangs on the rescued VM) to
``<vm folder>/rescue.vdi``. The VM is powered off, the rescue disk takes
the root disk's place (port 0 of the boot controller) and the root disk
goes to the first free port; ``rescue.json`` in the VM folder records
where, so unrescue puts everything back exactly and deletes the rescue
disk. ISO rescue images are refused.

When the instance has a config drive (configdrive.required_by, as libvirt),
the rescue password reaches the guest as libvirt and Hyper-V pass it: a
rescue config drive (``<vm folder>/configdrive-rescue.iso``, the password
as ``admin_pass``, built before the power off) takes the config drive's
DVD slot for the rescue boot; unrescue puts the instance's own config drive
back, closes the rescue one and deletes it. A VM without a DVD controller
gets one for the rescue, removed at unrescue.
"""

import json
import os

from oslo_concurrency import lockutils
from oslo_log import log as logging
from oslo_utils import excutils

from nova import exception
from nova.i18n import _
from nova.image import glance
from nova import objects
from nova.virt.virtualbox import configdrive
from nova.virt.virtualbox import constants
from nova.virt.virtualbox import disklayout
from nova.virt.virtualbox import pathutils
from nova.virt.virtualbox import snapshotops
from nova.virt.virtualbox import vboxmanage


LOG = logging.getLogger(__name__)

RESCUE_DISK_NAME = 'rescue.vdi'
RESCUE_STATE_NAME = 'rescue.json'


class RescueOps(object):

    def __init__(self, vbox, vm_ops, image_cache, path_utils=None,
                 image_api=None, config_drive=None):
        self._vbox = vbox
        self._vmops = vm_ops
        self._imagecache = image_cache
        self._pathutils = path_utils or pathutils.PathUtils()
        self._image_api = image_api or glance.API()
        self._configdrive = config_drive or configdrive.ConfigDrive(
            vbox, self._pathutils)

    def _rescue_disk(self, instance):
        return os.path.join(self._pathutils.instance_dir(instance),
                            RESCUE_DISK_NAME)

    def _state_file(self, instance):
        return os.path.join(self._pathutils.instance_dir(instance),
                            RESCUE_STATE_NAME)

    @staticmethod
    def _lock(instance):
        return lockutils.lock(pathutils.lock_name(instance))

    def _attach(self, instance, controller, port, medium):
        self._vbox.run('storageattach', instance.uuid,
                       '--storagectl', controller, '--port', str(port),
                       '--device', '0', '--type', constants.DEVICE_HDD,
                       '--medium', medium)

    def _detach(self, instance, controller, port):
        self._vbox.run('storageattach', instance.uuid,
                       '--storagectl', controller, '--port', str(port),
                       '--device', '0', '--medium', constants.MEDIUM_NONE)

    @staticmethod
    def _free_port(info, controller):
        used = set()
        prefix = controller + '-'
        for key, value in info.items():
            parts = str(key)[len(prefix):].split('-')
            if (str(key).startswith(prefix) and len(parts) == 2 and
                    all(p.isdigit() for p in parts) and
                    value != constants.MEDIUM_NONE):
                used.add(int(parts[0]))
        port = 1
        while port in used:
            port += 1
        return port

    def _rescue_image_meta(self, context, instance, image_meta):
        if image_meta is not None and image_meta.obj_attr_is_set('id'):
            return image_meta
        # No rescue image given: the instance's own image, as libvirt.
        return objects.ImageMeta.from_image_ref(context, self._image_api,
                                                instance.image_ref)

    # -- rescue ---------------------------------------------------------------

    def rescue(self, context, instance, network_info, image_meta,
               rescue_password, block_device_info=None, share_info=None):
        meta = self._rescue_image_meta(context, instance, image_meta)
        base = self._imagecache.get_cached_image(context, instance, meta)
        if self._imagecache.is_iso(base):
            raise exception.ImageUnacceptable(
                image_id=meta.id, reason=_(
                    'the VirtualBox driver rescues from disk images only, '
                    'not ISO images'))
        if os.path.exists(self._state_file(instance)):
            raise exception.InstanceNotRescuable(
                instance_id=instance.uuid,
                reason=_('it is already in rescue'))
        # Built while the guest still runs: a failed build changes nothing.
        rescue_drive = self._configdrive.create(
            context, instance, None, rescue_password, network_info,
            rescue=True)
        try:
            self._vmops.power_off(instance)
            with self._lock(instance):
                self._rescue(instance, base, rescue_drive)
        except Exception:
            with excutils.save_and_reraise_exception():
                if rescue_drive:
                    self._pathutils.remove_file(rescue_drive)
        self._vmops.power_on(instance)
        LOG.info('Instance rescued with image %s', meta.id,
                 instance=instance)

    @staticmethod
    def _config_drive_slot(info):
        """Where the rescue config drive goes, and what to put back there:
        disklayout's config drive slot on its DVD controller."""
        _add, _model, name, _ports = disklayout.DVD_CONTROLLER
        port, device = disklayout.CONFIG_DRIVE_SLOT
        controllers = [value for key, value in info.items()
                       if str(key).startswith('storagecontrollername')]
        return {'controller': name, 'port': port, 'device': device,
                'medium': info.get('%s-%d-%d' % (name, port, device),
                                   constants.MEDIUM_NONE),
                'controller_added': name not in controllers}

    def _attach_rescue_drive(self, instance, slot, rescue_drive, done):
        if slot['controller_added']:
            add, model, name, ports = disklayout.DVD_CONTROLLER
            self._vbox.run('storagectl', instance.uuid, '--name', name,
                           '--add', add, '--controller', model,
                           '--portcount', str(ports), '--bootable', 'on')
            done.append('dvd controller added')
        self._configdrive.attach(instance, slot['controller'], slot['port'],
                                 slot['device'], path=rescue_drive)
        done.append('rescue drive attached')

    def _restore_config_drive(self, instance, slot):
        """Put back what the rescue config drive replaced, then close it."""
        if slot['controller_added']:
            self._vbox.run('storagectl', instance.uuid,
                           '--name', slot['controller'], '--remove')
        elif slot['medium'] == constants.MEDIUM_NONE:
            self._vbox.run('storageattach', instance.uuid,
                           '--storagectl', slot['controller'],
                           '--port', str(slot['port']),
                           '--device', str(slot['device']),
                           '--medium', constants.MEDIUM_NONE)
        else:
            self._configdrive.attach(instance, slot['controller'],
                                     slot['port'], slot['device'],
                                     path=slot['medium'])
        # Detached, it stays in VirtualBox's media registry until closed.
        self._vbox.close_medium(self._configdrive.rescue_path(instance),
                                device='dvd')

    def _rescue(self, instance, base, rescue_drive):
        info = self._vbox.show_instance_info(instance)
        root = snapshotops.root_attachment(info)
        if root is None:
            raise exception.InstanceNotRescuable(
                instance_id=instance.uuid, reason=_('it has no root disk'))
        controller, root_path, _uuid = root
        port = self._free_port(info, controller)
        rescue_disk = self._rescue_disk(instance)
        state = {'controller': controller, 'root': root_path,
                 'root_port': port}
        if rescue_drive:
            state['config_drive'] = self._config_drive_slot(info)
        done = []
        try:
            self._pathutils.remove_file(rescue_disk)
            self._vbox.run('clonemedium', 'disk', base, rescue_disk,
                           '--format', 'VDI', timeout=vboxmanage.TIMEOUT_LONG,
                           undo=lambda: self._close(rescue_disk))
            done.append('clone')
            with open(self._state_file(instance), 'w') as f:
                json.dump(state, f)
            if rescue_drive:
                self._attach_rescue_drive(instance, state['config_drive'],
                                          rescue_drive, done)
            self._attach(instance, controller, 0, rescue_disk)
            done.append('rescue attached')
            self._attach(instance, controller, port, root_path)
        except Exception:
            with excutils.save_and_reraise_exception():
                LOG.error('Rescue failed; putting the root disk back',
                          instance=instance)
                self._undo(instance, state, done)

    def _undo(self, instance, state, done):
        steps = []
        if 'rescue attached' in done:
            steps.append((self._attach, instance, state['controller'], 0,
                          state['root']))
        if 'rescue drive attached' in done or 'dvd controller added' in done:
            steps.append((self._restore_config_drive, instance,
                          state['config_drive']))
        if 'clone' in done:
            steps.append((self._close, self._rescue_disk(instance)))
        steps.append((self._pathutils.remove_file,
                      self._state_file(instance)))
        for func, *args in steps:
            try:
                func(*args)
            except Exception:
                LOG.exception('Rescue rollback step failed; going on',
                              instance=instance)

    def _close(self, path):
        self._vbox.close_medium(path, delete=True)
        self._pathutils.remove_file(path)

    # -- unrescue -------------------------------------------------------------

    def unrescue(self, context, instance):
        try:
            with open(self._state_file(instance)) as f:
                state = json.load(f)
        except FileNotFoundError:
            LOG.info('Instance is not in rescue; nothing to undo',
                     instance=instance)
            return
        self._vmops.power_off(instance)
        with self._lock(instance):
            controller = state['controller']
            self._detach(instance, controller, state['root_port'])
            self._attach(instance, controller, 0, state['root'])
            self._close(self._rescue_disk(instance))
            # Absent from the state of a rescue without a config drive.
            if 'config_drive' in state:
                self._restore_config_drive(instance, state['config_drive'])
                self._pathutils.remove_file(
                    self._configdrive.rescue_path(instance))
            self._pathutils.remove_file(self._state_file(instance))
        self._vmops.power_on(instance)
        LOG.info('Instance unrescued', instance=instance)
