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

"""Where the driver keeps things on disk; the only module that decides it.

Layout under the instances path (<vms> is <instances>/<vm_group>, e.g.
<instances>/nova: VirtualBox's folder for the group)::

    <vms>/<vm name>/<vm name>.vbox           VirtualBox's VM folder
    <vms>/<vm name>/root.vdi                 root disk (differencing or copy)
    <vms>/<vm name>/root.resized.<uuid>.vdi  a resize's grown copy until
                                             confirmed (then root.vdi)
    <vms>/<vm name>/ephemeral.vdi            ephemeral disks (the next ones
                                             ephemeral1.vdi, ...)
    <vms>/<vm name>/swap.vdi                 swap disk
    <vms>/<vm name>/console.log              first serial port
    <vms>/<vm name>/configdrive.iso
    <vms>/<vm name>/vrde.port                the VRDE port it holds
    <vms>/<vm name>/vrde.password            its VRDE (VNC) password, 0600
    <image cache>/<image id>.vdi             converted base images
    <image cache>/<image id>.pin.vdi         their pin children
    <image cache>/<image id>-<gb>g.vdi       a base grown to <gb> GB (a full
                                             copy) for linked clones
    <image cache>/<image id>-<gb>g.pin.vdi   its pin child
    <image cache>/<image id>.iso             ISO images, as they came
"""

import os
import shutil

import nova.conf

CONF = nova.conf.CONF

ROOT_DISK_NAME = 'root.vdi'
# A resize's grown, flattened copy of the root disk until it is confirmed
# (see migrationops): root.resized.<uuid of the disk it replaces>.vdi
RESIZED_ROOT_PREFIX = 'root.resized.'
EPHEMERAL_DISK_NAME = 'ephemeral.vdi'
SWAP_DISK_NAME = 'swap.vdi'
CONSOLE_LOG_NAME = 'console.log'
# The console log of the boot before the current one (see ConsoleOps).
PREVIOUS_CONSOLE_LOG_NAME = 'console.log.1'
CONFIG_DRIVE_NAME = 'configdrive.iso'
RESCUE_CONFIG_DRIVE_NAME = 'configdrive-rescue.iso'
VRDE_PORT_NAME = 'vrde.port'
VRDE_PASSWORD_NAME = 'vrde.password'


def vm_name(instance):
    """The VM's VirtualBox name: Nova's instance name (instance-0000002a),
    what `openstack server show` calls OS-EXT-SRV-ATTR:instance_name.
    The VM's UUID is the instance UUID."""
    return instance.name


def lock_name(instance):
    """The per-instance lock every ops module takes (see doc/design.md)."""
    return 'vbox-instance-%s' % instance.uuid


class PathUtils(object):

    def instances_dir(self):
        return CONF.virtualbox.instances_path or CONF.instances_path

    def image_cache_dir(self):
        return (CONF.virtualbox.image_cache_path or
                os.path.join(self.instances_dir(),
                             CONF.image_cache.subdirectory_name))

    def instance_dir(self, instance):
        return self.vm_dir(vm_name(instance))

    def vms_dir(self):
        """The folder holding the VM folders: ``createvm --basefolder
        <instances> --groups /nova`` puts a VM in <instances>/nova/<name>
        (one sub-folder per group level; none for the group "/"), and the
        real VirtualBox moves a VM's folder there when modifyvm changes
        its group. So [virtualbox] vm_group must not change while
        instances exist."""
        groups = [part for part in CONF.virtualbox.vm_group.split('/')
                  if part]
        return os.path.join(self.instances_dir(), *groups)

    def vm_dir(self, name):
        """VirtualBox's folder of the VM named ``name``."""
        return os.path.join(self.vms_dir(), name)

    def is_nova_vm(self, name):
        """Whether the VM named ``name`` is one of ours: its settings file
        lies in our instances path. Costs a stat, not a VBoxManage call, so
        listing Nova's VMs stays one call whatever else is registered."""
        if not name or name in ('.', '..') or os.sep in name or (
                os.altsep and os.altsep in name):
            return False
        return os.path.isfile(self.settings_file(name))

    def settings_file(self, name):
        """The settings file of the VM named ``name``, as createvm names
        it."""
        return os.path.join(self.vm_dir(name), name + '.vbox')

    def root_disk_path(self, instance):
        return os.path.join(self.instance_dir(instance), ROOT_DISK_NAME)

    def resized_root_disk_path(self, instance, replaced_uuid):
        """Where a same-host resize puts the grown copy of the root disk
        while the original is kept for a revert; the name records the
        UUID of the disk it replaces."""
        return os.path.join(self.instance_dir(instance), '%s%s.vdi' % (
            RESIZED_ROOT_PREFIX, replaced_uuid))

    @staticmethod
    def replaced_by_resize(path):
        """The UUID in a resized_root_disk_path, else None."""
        name = os.path.basename(path or '')
        if name.startswith(RESIZED_ROOT_PREFIX) and name.endswith('.vdi'):
            return name[len(RESIZED_ROOT_PREFIX):-len('.vdi')] or None
        return None

    def ephemeral_disk_path(self, instance, index=0):
        """The instance's ephemeral disk number ``index`` (Nova may give
        several): ephemeral.vdi, ephemeral1.vdi, ..."""
        name = EPHEMERAL_DISK_NAME if not index else 'ephemeral%d.vdi' % index
        return os.path.join(self.instance_dir(instance), name)

    def swap_disk_path(self, instance):
        return os.path.join(self.instance_dir(instance), SWAP_DISK_NAME)

    def console_log_path(self, instance):
        return os.path.join(self.instance_dir(instance), CONSOLE_LOG_NAME)

    def previous_console_log_path(self, instance):
        return os.path.join(self.instance_dir(instance),
                            PREVIOUS_CONSOLE_LOG_NAME)

    def config_drive_path(self, instance):
        return os.path.join(self.instance_dir(instance), CONFIG_DRIVE_NAME)

    def rescue_config_drive_path(self, instance):
        """The rescue boot's config drive, next to the instance's own."""
        return os.path.join(self.instance_dir(instance),
                            RESCUE_CONFIG_DRIVE_NAME)

    def vrde_port_path(self, instance):
        return os.path.join(self.instance_dir(instance), VRDE_PORT_NAME)

    def vrde_password_path(self, instance):
        return os.path.join(self.instance_dir(instance), VRDE_PASSWORD_NAME)

    def cached_image_path(self, image_id):
        return os.path.join(self.image_cache_dir(), '%s.vdi' % image_id)

    def cached_iso_path(self, image_id):
        """An ISO image is cached as it is, to boot as a CD."""
        return os.path.join(self.image_cache_dir(), '%s.iso' % image_id)

    def cached_sized_image_path(self, image_id, root_gb):
        """The cached base grown to ``root_gb`` GB: the parent of linked
        clones of flavors whose disk is larger than the image (real
        VirtualBox cannot clone a grown differencing disk; see
        imagecache)."""
        return os.path.join(self.image_cache_dir(),
                            '%s-%dg.vdi' % (image_id, root_gb))

    def cached_pin_path(self, image_id, root_gb=None):
        """The differencing child that keeps VirtualBox from deleting a
        cached base (of ``root_gb`` GB: the grown one) with the last
        instance using it (see imagecache)."""
        name = (image_id if root_gb is None
                else '%s-%dg' % (image_id, root_gb))
        return os.path.join(self.image_cache_dir(), '%s.pin.vdi' % name)

    @staticmethod
    def ensure_dir(path):
        os.makedirs(path, exist_ok=True)
        return path

    @staticmethod
    def remove_tree(path):
        shutil.rmtree(path, ignore_errors=True)

    @staticmethod
    def remove_file(path):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def disk_usage(self):
        """(total_gb, free_gb, used_gb) of the filesystem of the instances
        path (or its nearest existing parent)."""
        path = self.instances_dir()
        while not os.path.exists(path):
            parent = os.path.dirname(path)
            if parent == path:
                break
            path = parent
        stat = os.statvfs(path)
        gib = 1024 ** 3
        total = stat.f_frsize * stat.f_blocks // gib
        free = stat.f_frsize * stat.f_bavail // gib
        return total, free, total - free
