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

"""The disk layout of a VM: which controller, where each disk goes, and
the flavor's disk I/O limit. Pure decisions, taken before any VBoxManage
call; vmops carries them out.

One controller of the image's bus (hw_disk_bus, else [virtualbox]
storage_bus; SATA has 30 ports) holds everything Nova names, at the port
of its device name (/dev/sdX is port X, on IDE two per port): the root
disk at /dev/sda (port 0), volumes, ephemeral and swap disks (see
doc/design.md, "Disks and device names"). DVDs - an ISO image to boot
from, the config drive - are not Nova's devices: they go on the secondary
channel of an IDE controller (port 1, device 0 and 1), added for them
when the root bus is not IDE, so no device name Nova gives can ever meet
them.
"""

from oslo_log import log as logging

from nova import exception
from nova.i18n import _
from nova.virt import driver
from nova.virt.virtualbox import constants
from nova.virt.virtualbox import volumeops

import nova.conf

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

# Where DVDs go: port 1 (the secondary channel) of the IDE controller.
DVD_CONTROLLER = constants.STORAGE_CONTROLLERS[constants.STORAGE_BUS_IDE]
ISO_SLOT = (1, 0)
CONFIG_DRIVE_SLOT = (1, 1)
ISO_DISK_FORMAT = 'iso'
# The disk bandwidth group that carries the flavor's disk I/O limit
# (quota:disk_*_bytes_sec) on the root disk's attachment.
DISK_BANDWIDTH_GROUP = 'nova-disk'
_DISK_BYTES_QUOTAS = ('quota:disk_total_bytes_sec',
                      'quota:disk_read_bytes_sec',
                      'quota:disk_write_bytes_sec')
_DISK_IOPS_QUOTAS = ('quota:disk_total_iops_sec',
                     'quota:disk_read_iops_sec',
                     'quota:disk_write_iops_sec')


def image_id(image_meta):
    if image_meta is not None and image_meta.obj_attr_is_set('id'):
        return image_meta.id
    return None


def image_prop(image_meta, name):
    if image_meta is None or not image_meta.obj_attr_is_set('properties'):
        return None
    return image_meta.properties.get(name)


def is_iso(image_meta):
    """Whether the image is an ISO to boot from as a DVD (Glance's
    disk_format; the image cache checks the bytes agree)."""
    return (image_meta is not None and
            image_meta.obj_attr_is_set('disk_format') and
            image_meta.disk_format == ISO_DISK_FORMAT)


def disk_bytes_limit(flavor, instance=None):
    """The flavor's disk I/O limit in bytes/s for the VM's disk bandwidth
    group, or None. VirtualBox limits read and write together, so this is
    quota:disk_total_bytes_sec if set, else the smaller of
    quota:disk_read_bytes_sec and quota:disk_write_bytes_sec (the one set
    when only one is); neither direction then exceeds its own limit, at
    the cost of limiting the other one more. VirtualBox has no IOPS limit:
    quota:disk_*_iops_sec are ignored (logged when ``instance`` is
    given: the flavor it gets).
    """
    if (hasattr(flavor, 'obj_attr_is_set') and
            not flavor.obj_attr_is_set('extra_specs')):
        specs = {}  # not loaded: nothing to lazy-load it from here
    else:
        specs = getattr(flavor, 'extra_specs', None) or {}
    ignored = [key for key in _DISK_IOPS_QUOTAS if specs.get(key)]
    if ignored and instance is not None:
        LOG.warning('VirtualBox cannot limit disk IOPS; ignoring %s',
                    ', '.join(ignored), instance=instance)
    limits = {}
    for key in _DISK_BYTES_QUOTAS:
        try:
            value = int(specs.get(key) or 0)
        except (TypeError, ValueError):
            raise exception.InvalidInput(reason=_(
                '%(key)s must be a number of bytes per second, not '
                '%(value)r') % {'key': key, 'value': specs.get(key)})
        if value > 0:
            limits[key] = value
    if _DISK_BYTES_QUOTAS[0] in limits:
        return limits[_DISK_BYTES_QUOTAS[0]]
    return min(limits.values()) if limits else None


def bandwidth_limit_arg(limit):
    """``--limit`` of bandwidthctl for ``limit`` bytes/s: whole KiB
    ("K"; lower-case "k" would be 125 bytes), rounded down, at least 1."""
    return '%dK' % max(1, limit // 1024)


def letters(index):
    """0 -> 'a', 25 -> 'z', 26 -> 'aa': the device name letters of
    volumeops.device_index's numbering."""
    letters = ''
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord('a') + rest) + letters
    return letters


class Disk(object):
    """An ephemeral or swap disk spawn creates: a dynamic VDI in the VM
    folder at the slot of its device name."""

    def __init__(self, kind, path, size_mb, slot, device_name):
        self.kind = kind
        self.path = path
        self.size_mb = size_mb
        self.slot = slot
        self.device_name = device_name

    def __repr__(self):
        return '<%s %s %d MB %s>' % (self.kind, self.device_name,
                                     self.size_mb, self.slot)


def controller(image_meta):
    """(add, model, name, ports) of the disk controller for the image's
    hw_disk_bus, else [virtualbox] storage_bus."""
    bus = (image_prop(image_meta, 'hw_disk_bus') or
           CONF.virtualbox.storage_bus)
    try:
        return constants.STORAGE_CONTROLLERS[bus]
    except KeyError:
        raise exception.ImageUnacceptable(
            image_id=image_id(image_meta),
            reason=_('hw_disk_bus %(bus)s is not a VirtualBox disk bus '
                     '(use one of %(buses)s)') % {
                'bus': bus,
                'buses': ', '.join(sorted(
                    constants.STORAGE_CONTROLLERS))})


def plan_disks(path_utils, instance, block_device_info, controller, iso,
               boot_from_volume, config_drive):
    """The ephemeral and swap disks to create ([Disk]), each at the
    slot of the device name Nova gave it; without Nova's
    block_device_info (or without these devices in it), those the
    flavor asks for at the first free slots. Checked before any
    VBoxManage call.

    :param config_drive: whether the instance gets a config drive.
    :raises InvalidBDM: two devices want the same slot, or one wants
        a DVD's slot of an IDE root controller.
    :raises TooManyDiskDevices: beyond the controller's ports.
    """
    _add, model, _name, ports = controller
    taken = {}

    def take(slot, what):
        if slot in taken:
            raise exception.InvalidBDM(message=_(
                '%(what)s and %(other)s want the same place on the '
                'disk controller (port %(port)d, device %(dev)d)') % {
                    'what': what, 'other': taken[slot],
                    'port': slot[0], 'dev': slot[1]})
        taken[slot] = what

    def slot_of(device_name):
        return volumeops.slot_for_device(device_name, model, ports)

    def free_slot(what):
        for index in range(ports * (2 if model == DVD_CONTROLLER[1]
                                    else 1)):
            slot = slot_of('/dev/sd' + letters(index))
            if slot not in taken:
                return slot
        raise exception.TooManyDiskDevices(maximum=len(taken))

    if model == DVD_CONTROLLER[1]:
        # The DVDs share the root's IDE controller.
        if iso:
            take(ISO_SLOT, _('the ISO image'))
        if config_drive:
            take(CONFIG_DRIVE_SLOT, _('the config drive'))
    if not boot_from_volume:
        take((0, 0), _('the root disk'))
    for bdm in volumeops.VolumeOps.volumes(block_device_info):
        take(slot_of(bdm.get('mount_device')),
             _('volume %s') % bdm.get('mount_device'))

    disks = []
    flavor = instance.flavor
    ephemerals = driver.block_device_info_get_ephemerals(
        block_device_info)
    if not ephemerals and flavor.ephemeral_gb:
        ephemerals = [{'size': flavor.ephemeral_gb, 'device_name': None}]
    for index, eph in enumerate(ephemerals):
        if not eph.get('size'):
            continue
        name = eph.get('device_name')
        slot = slot_of(name) if name else free_slot(_('an ephemeral'))
        take(slot, _('ephemeral disk %s') % (name or index))
        disks.append(Disk('ephemeral',
                          path_utils.ephemeral_disk_path(instance, index),
                          eph['size'] * 1024, slot, name))
    swap = driver.block_device_info_get_swap(block_device_info)
    if driver.swap_is_usable(swap):
        name, size_mb = swap['device_name'], swap['swap_size']
    else:
        name, size_mb = None, flavor.swap
    if size_mb:
        slot = slot_of(name) if name else free_slot(_('swap'))
        take(slot, _('the swap disk'))
        disks.append(Disk('swap', path_utils.swap_disk_path(
            instance), size_mb, slot, name))
    return disks
