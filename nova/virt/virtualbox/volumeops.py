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

"""Cinder volumes as VirtualBox disks.

``iscsi`` connections go through VirtualBox's own iSCSI initiator
(``storageattach --medium iscsi``): nothing is logged in on the host, so
neither open-iscsi nor root is needed. The CHAP secret reaches VBoxManage in
a 0600 temporary file (``--passwordfile``), never on its command line.
VirtualBox keeps the secret in the VM's settings file (media registry) and
prints it in ``showmediuminfo``: that output is never logged.

``local`` connections (a ``device_path`` file) and file shares (``nfs`` /
``file`` with ``export`` and ``name``, when the export is a folder of this
host or Cinder gave a ``device_path``) attach the volume file itself:
VDI, VMDK and VHD files as they are, raw files through a small VMDK
descriptor (monolithicFlat) kept in the VM folder.

A volume's place follows the device name Nova gives it: /dev/sdX is port X
of the VM's disk controller (sda 0, sdb 1, ...; two per port on IDE), so a
volume lands on the same port every time. Volumes are attached
hot-pluggable, so they can be detached from a running VM; attaching to a
running VM needs a SATA (AHCI) controller, the one VirtualBox hot-plugs.
"""

import functools
import os
import platform
import re
import sys
import tempfile
import uuid

from oslo_log import log as logging

import nova.conf
from nova import exception
from nova.i18n import _
from nova.virt import driver
from nova.virt.virtualbox import constants
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import pathutils

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

ISCSI = 'iscsi'
LOCAL = 'local'
FILE_SHARES = ('nfs', 'file', 'glusterfs', 'quobyte', 'scality',
               'vzstorage')
INITIATOR_FILE = '/etc/iscsi/initiatorname.iscsi'
GENERATED_INITIATOR_FILE = 'virtualbox-initiatorname'
INITIATOR_PREFIX = 'iqn.2010-10.org.openstack:nova-virtualbox.'
# The medium type of volumes: outside every VirtualBox snapshot.
MEDIUM_TYPE_VOLUME = 'writethrough'
# The controller type VirtualBox hot-plugs disks on.
HOTPLUG_CONTROLLER_TYPES = ('IntelAhci',)
_DEVICE_RE = re.compile(r'^(?:/dev/)?(?:s|h|v|xv)d([a-z]+)$')
_ISCSI_CREATED_RE = re.compile(r'UUID: ([0-9a-fA-F-]{36})')
_STALE_MEDIUM_RE = re.compile(
    r'with UUID \{([0-9a-fA-F-]{36})\} already exists')


class VolumeConnectionNotSupported(exception.VolumeDriverNotFound):
    msg_fmt = _("VirtualBox cannot attach %(driver_type)s volumes: it "
                "attaches iscsi volumes through its own initiator and local "
                "or file-share volume files.")


def device_index(device_name):
    """/dev/sdb -> 1 (sda 0, ..., sdz 25, sdaa 26)."""
    match = _DEVICE_RE.match(device_name or '')
    if not match:
        raise exception.InvalidDevicePath(path=device_name)
    index = 0
    for char in match.group(1):
        index = index * 26 + (ord(char) - ord('a') + 1)
    return index - 1


def slot_for_device(device_name, controller_type=None, max_ports=30):
    """(port, device) of a device name on a controller: IDE has two
    devices on each of its 2 ports, the others one per port.

    :raises TooManyDiskDevices: beyond the controller's ports.
    """
    index = device_index(device_name)
    if controller_type in ('PIIX3', 'PIIX4', 'ICH6'):
        port, device = divmod(index, 2)
    else:
        port, device = index, 0
    if port >= max_ports:
        raise exception.TooManyDiskDevices(maximum=max_ports)
    return port, device


def _slots(info):
    """[(controller, port, device)] of every slot showvminfo lists."""
    slots = []
    for key in info:
        match = re.match(r'^(.*)-(\d+)-(\d+)$', key)
        if match and not match.group(1).endswith(('-ImageUUID',
                                                  '-hot-pluggable',
                                                  '-nonrotational',
                                                  '-discard',
                                                  '-tempeject',
                                                  '-IsEjected')):
            slots.append((match.group(1), int(match.group(2)),
                          int(match.group(3))))
    return slots


def _data(connection_info):
    return connection_info.get('data') or {}


def volume_id(connection_info):
    return (_data(connection_info).get('volume_id') or
            connection_info.get('serial') or 'unknown')


def parse_portal(portal):
    """"10.0.0.1:3260" / "[fd00::1]:3260" / "host" -> (host, port)."""
    portal = (portal or '').strip()
    if portal.startswith('['):
        host, _sep, rest = portal[1:].partition(']')
        port = rest.lstrip(':') or '3260'
    elif portal.count(':') == 1:
        host, _sep, port = portal.partition(':')
    else:
        host, port = portal, '3260'
    if not host or not port.isdigit():
        raise exception.InvalidConnectionInfo(
            reason=_('iSCSI portal %r is not HOST:PORT') % portal)
    return host, port


def iscsi_location(connection_info):
    """The location VirtualBox gives the medium of this iSCSI volume:
    "HOST|IQN", with "|LUN" unless the LUN is 0 (the portal's port is not
    part of it). Two LUNs of one target are two volumes."""
    data = _data(connection_info)
    host, _port = parse_portal(data.get('target_portal'))
    location = '%s|%s' % (host, data.get('target_iqn'))
    lun = int(data.get('target_lun') or 0)
    return location + ('|%d' % lun if lun else '')


def file_format(path):
    """VirtualBox format of a volume file: 'VDI', 'VMDK', 'VHD', 'QCOW' or
    'RAW', from its first (and for VHD last) bytes."""
    with open(path, 'rb') as handle:
        head = handle.read(512)
        if head[64:68] == b'\x7f\x10\xda\xbe':
            return 'VDI'
        if head.startswith(b'KDMV') or head.startswith(
                b'# Disk DescriptorFile'):
            return 'VMDK'
        if head.startswith(b'conectix'):
            return 'VHD'
        if head.startswith(b'QFI\xfb'):
            return 'QCOW'
        size = os.fstat(handle.fileno()).st_size
        if size >= 512:
            handle.seek(size - 512)
            if handle.read(8) == b'conectix':
                return 'VHD'
    return 'RAW'


def raw_vmdk_descriptor(path, size):
    """A monolithicFlat VMDK descriptor text using ``path`` as its extent."""
    return ('# Disk DescriptorFile\n'
            'version=1\n'
            'CID=fffffffe\n'
            'parentCID=ffffffff\n'
            'createType="monolithicFlat"\n'
            '\n'
            '# Extent description\n'
            'RW %d FLAT "%s" 0\n'
            '\n'
            '# The Disk Data Base\n'
            '#DDB\n'
            '\n'
            'ddb.virtualHWVersion = "4"\n'
            'ddb.adapterType = "ide"\n' % (size // 512, path))


class VolumeOps(object):
    """Attaches Cinder volumes to VMs and tells Cinder who connects."""

    def __init__(self, vboxmanage_, path_utils=None):
        self._vbox = vboxmanage_
        self._pathutils = path_utils or pathutils.PathUtils()

    # -- connector ------------------------------------------------------------

    def initiator_name(self):
        """The IQN VirtualBox's initiator presents: [virtualbox]
        iscsi_initiator_name, else the host's open-iscsi name, else one
        generated once and kept in the instances path."""
        if CONF.virtualbox.iscsi_initiator_name:
            return CONF.virtualbox.iscsi_initiator_name
        try:
            with open(INITIATOR_FILE, encoding='utf-8') as handle:
                for line in handle:
                    key, sep, value = line.strip().partition('=')
                    if sep and key.strip() == 'InitiatorName' and \
                            value.strip():
                        return value.strip()
        except OSError:
            pass
        folder = self._pathutils.ensure_dir(self._pathutils.instances_dir())
        path = os.path.join(folder, GENERATED_INITIATOR_FILE)
        try:
            with open(path, encoding='utf-8') as handle:
                name = handle.read().strip()
            if name:
                return name
        except FileNotFoundError:
            pass
        name = INITIATOR_PREFIX + uuid.uuid4().hex[:12]
        # Write then rename, so two callers never see half a name.
        fd, tmp = tempfile.mkstemp(dir=folder, prefix='.initiator')
        with os.fdopen(fd, 'w', encoding='utf-8') as handle:
            handle.write(name + '\n')
        try:
            os.link(tmp, path)
        except FileExistsError:
            with open(path, encoding='utf-8') as handle:
                name = handle.read().strip() or name
        finally:
            os.unlink(tmp)
        LOG.info('Generated iSCSI initiator name %s (kept in %s)', name,
                 path)
        return name

    def get_volume_connector(self, instance):
        return {
            'ip': CONF.my_block_storage_ip or CONF.my_ip,
            'host': CONF.host,
            'initiator': self.initiator_name(),
            'platform': platform.machine(),
            'os_type': sys.platform,
            'multipath': False,
            'enforce_multipath': False,
        }

    # -- what VirtualBox has --------------------------------------------------

    @staticmethod
    def _controllers(info):
        """[(name, type, max ports)] of showvminfo."""
        result = []
        index = 0
        while 'storagecontrollername%d' % index in info:
            result.append((
                info['storagecontrollername%d' % index],
                info.get('storagecontrollertype%d' % index, ''),
                int(info.get('storagecontrollermaxportcount%d' % index, 0) or
                    info.get('storagecontrollerportcount%d' % index, 0) or
                    30)))
            index += 1
        return result

    @staticmethod
    def default_controller_name(disk_bus=None):
        bus = disk_bus if disk_bus in constants.STORAGE_CONTROLLERS else \
            CONF.virtualbox.storage_bus
        return constants.STORAGE_CONTROLLERS[bus][2]

    def _pick_controller(self, info, instance, disk_bus):
        controllers = self._controllers(info)
        if not controllers:
            raise exception.VolumeAttachFailed(
                volume_id='', reason=_('instance %s has no disk controller')
                % instance.uuid)
        wanted = self.default_controller_name(disk_bus)
        for ctl in controllers:
            if ctl[0] == wanted:
                return ctl
        for ctl in controllers:
            if ctl[1] in HOTPLUG_CONTROLLER_TYPES:
                return ctl
        return controllers[0]

    # -- the medium of a connection -------------------------------------------

    def _volume_file(self, connection_info):
        data = _data(connection_info)
        driver_type = connection_info.get('driver_volume_type')
        path = data.get('device_path')
        if not path and driver_type in FILE_SHARES and data.get('export'):
            export = data['export']
            folder = export.rpartition(':')[2] if ':' in export else export
            if os.path.isdir(folder) and data.get('name'):
                path = os.path.join(folder, data['name'])
            else:
                raise exception.VolumeAttachFailed(
                    volume_id=volume_id(connection_info),
                    reason=_('the share %s is not a folder of this host; '
                             'mount it or use iSCSI') % export)
        if not path:
            raise exception.InvalidConnectionInfo(
                reason=_('%s connection without device_path') % driver_type)
        if not os.path.isfile(path):
            raise exception.VolumeAttachFailed(
                volume_id=volume_id(connection_info),
                reason=_('%s is not a file (VirtualBox attaches volume '
                         'files, not block devices)') % path)
        return path

    def descriptor_path(self, instance, connection_info):
        return os.path.join(self._pathutils.instance_dir(instance),
                            'volume-%s.vmdk' % volume_id(connection_info))

    def _file_medium(self, instance, connection_info):
        """The file to give storageattach: the volume file, or a VMDK
        descriptor written for a raw one."""
        path = self._volume_file(connection_info)
        hint = (_data(connection_info).get('format') or '').lower()
        fmt = file_format(path)
        if fmt == 'QCOW' or hint == 'qcow2':
            raise exception.VolumeAttachFailed(
                volume_id=volume_id(connection_info),
                reason=_('%s is qcow2, which VirtualBox does not write; use '
                         'raw, vdi, vmdk or vhd volumes') % path)
        if fmt != 'RAW':
            return path
        size = os.path.getsize(path)
        if size % 512 or '"' in path or '\n' in path:
            raise exception.VolumeAttachFailed(
                volume_id=volume_id(connection_info),
                reason=_('raw volume %s must be a whole number of 512-byte '
                         'sectors and have no quote in its path') % path)
        descriptor = self.descriptor_path(instance, connection_info)
        self._pathutils.ensure_dir(os.path.dirname(descriptor))
        with open(descriptor, 'w', encoding='utf-8') as handle:
            handle.write(raw_vmdk_descriptor(path, size))
        return descriptor

    @staticmethod
    def _iscsi_args(connection_info, initiator):
        """storageattach arguments of an iSCSI medium and the CHAP secret
        (None without CHAP)."""
        data = _data(connection_info)
        if not data.get('target_iqn') or not data.get('target_portal'):
            raise exception.InvalidConnectionInfo(
                reason=_('iscsi connection without target_portal and '
                         'target_iqn'))
        host, port = parse_portal(data['target_portal'])
        args = ['--medium', 'iscsi', '--server', host, '--tport', port,
                '--target', data['target_iqn'],
                '--lun', str(data.get('target_lun') or 0),
                '--initiator', initiator]
        secret = None
        if (data.get('auth_method') or '').upper() == 'CHAP':
            args += ['--username', data.get('auth_username') or '']
            secret = data.get('auth_password') or ''
        return args, secret

    @staticmethod
    def _same_volume(location, connection_info, medium_path=None):
        """Whether the medium at ``location`` (showvminfo) is this volume."""
        if not location or location in ('none', 'emptydrive'):
            return False
        if connection_info.get('driver_volume_type') == ISCSI:
            return location == iscsi_location(connection_info)
        return medium_path is not None and os.path.abspath(location) == \
            os.path.abspath(medium_path)

    # -- attach and detach ----------------------------------------------------

    def _storageattach(self, instance, controller, port, device,
                       connection_info, hotpluggable):
        """One storageattach call; returns the medium UUID when VirtualBox
        printed it (new iSCSI media)."""
        driver_type = connection_info.get('driver_volume_type')
        args = ['storageattach', instance.uuid, '--storagectl', controller,
                '--port', str(port), '--device', str(device), '--type',
                constants.DEVICE_HDD]
        secret = None
        if driver_type == ISCSI:
            medium_args, secret = self._iscsi_args(connection_info,
                                                   self.initiator_name())
            args += medium_args
        elif driver_type == LOCAL or driver_type in FILE_SHARES:
            args += ['--medium', self._file_medium(instance, connection_info)]
        else:
            raise VolumeConnectionNotSupported(driver_type=driver_type)
        # Writethrough: VirtualBox snapshots (live Glance snapshots, the
        # resize snapshot) never capture a volume in a differencing image,
        # and restoring one never rolls a volume back.
        args += ['--mtype', MEDIUM_TYPE_VOLUME]
        if hotpluggable:
            args += ['--hotpluggable', 'on']
        password_file = None
        try:
            if secret is not None:
                fd, password_file = tempfile.mkstemp(prefix='nova-vbox-chap')
                with os.fdopen(fd, 'w', encoding='utf-8') as handle:
                    handle.write(secret)
                args += ['--passwordfile', password_file]
            # A transient failure is retried once the slot is emptied of
            # what the failed attempt may have attached.
            undo = functools.partial(self._empty_slot, instance, controller,
                                     port, device)
            try:
                out = self._vbox.run(*args, undo=undo).stdout
            except vbox_exc.VBoxAlreadyExists as err:
                # An iSCSI medium of this target left registered (a detach
                # that could not close it): VirtualBox refuses a second one
                # naming the same location. Close the old one, try again.
                stale = _STALE_MEDIUM_RE.search(str(err))
                if driver_type != ISCSI or not stale:
                    raise
                LOG.info('Closing medium %s left from an earlier attach',
                         stale.group(1), instance=instance)
                self._vbox.close_medium(stale.group(1))
                out = self._vbox.run(*args, undo=undo).stdout
        finally:
            if password_file:
                os.unlink(password_file)
        match = _ISCSI_CREATED_RE.search(out or '')
        return match.group(1) if match else None

    def _empty_slot(self, instance, controller, port, device):
        try:
            self._vbox.run('storageattach', instance.uuid, '--storagectl',
                           controller, '--port', str(port), '--device',
                           str(device), '--medium', constants.MEDIUM_NONE)
        except vbox_exc.VBoxObjectNotFound:
            pass  # nothing was attached

    def attach_volume(self, connection_info, instance, mountpoint,
                      disk_bus=None, encryption=None):
        """Attach at the port the device name gives, running or not (one
        showvminfo and one storageattach).

        :raises VolumeAttachFailed: the port is taken, the VM runs and its
            controller cannot hot-plug, or the volume is encrypted.
        """
        vol = volume_id(connection_info)
        self._refuse_encrypted(connection_info, encryption)
        info = self._vbox.show_instance_info(instance)
        name, ctl_type, max_ports = self._pick_controller(info, instance,
                                                          disk_bus)
        port, device = slot_for_device(mountpoint, ctl_type, max_ports)
        running = info.get('VMState') in constants.ACTIVE_STATES
        location = info.get('%s-%d-%d' % (name, port, device))
        if location and location not in ('none', 'emptydrive'):
            if self._same_volume(location, connection_info):
                LOG.info('Volume %s is attached already', vol,
                         instance=instance)
                return
            raise exception.VolumeAttachFailed(
                volume_id=vol,
                reason=_('%(dev)s is port %(port)d of controller %(ctl)s, '
                         'which holds %(loc)s already') % {
                    'dev': mountpoint, 'port': port, 'ctl': name,
                    'loc': location})
        if running and ctl_type not in HOTPLUG_CONTROLLER_TYPES:
            raise exception.VolumeAttachFailed(
                volume_id=vol,
                reason=_('the instance runs and its disk controller %(ctl)s '
                         '(%(type)s) cannot hot-plug disks (only SATA can); '
                         'stop the instance first') % {
                    'ctl': name, 'type': ctl_type})
        # A VM that runs marks what it hot-plugs hot-pluggable itself (and
        # refuses the setting while running); a stopped one is told, so the
        # volume can later leave the running VM.
        try:
            self._storageattach(instance, name, port, device,
                                connection_info, hotpluggable=not running)
        except vbox_exc.VBoxManageError as err:
            raise exception.VolumeAttachFailed(volume_id=vol,
                                               reason=str(err))
        LOG.info('Attached volume %(vol)s as %(dev)s (%(ctl)s port '
                 '%(port)d)', {'vol': vol, 'dev': mountpoint, 'ctl': name,
                               'port': port}, instance=instance)

    @staticmethod
    def _refuse_encrypted(connection_info, encryption=None):
        if encryption or _data(connection_info).get('encrypted'):
            raise exception.VolumeAttachFailed(
                volume_id=volume_id(connection_info),
                reason=_('encrypted volumes need a host-side decryptor, '
                         'which VirtualBox\'s iSCSI initiator has not'))

    def detach_volume(self, connection_info, instance, mountpoint):
        """Detach and close the medium VirtualBox keeps registered (one
        showvminfo, one storageattach, one closemedium). A volume no longer
        attached, or a VM that is gone, is not an error.

        :raises VolumeDetachFailed: the VM runs and the disk was not
            attached hot-pluggable.
        """
        try:
            info = self._vbox.show_instance_info(instance)
        except exception.InstanceNotFound:
            LOG.info('VM gone; volume %s needs no detach',
                     volume_id(connection_info), instance=instance)
            return
        self._detach(info, instance, connection_info, mountpoint)

    def _find_slot(self, info, connection_info, mountpoint):
        """(controller, port, device, location, medium uuid) holding the
        volume: at its device name's port first, else wherever it is."""
        path = None
        if connection_info.get('driver_volume_type') != ISCSI:
            path = _data(connection_info).get('device_path')
        candidates = []
        for name, ctl_type, max_ports in self._controllers(info):
            if mountpoint:
                try:
                    candidates.append((name,) + slot_for_device(
                        mountpoint, ctl_type, max_ports))
                except (exception.InvalidDevicePath,
                        exception.TooManyDiskDevices):
                    pass
        candidates += _slots(info)
        for name, port, device in candidates:
            location = info.get('%s-%d-%d' % (name, port, device))
            if self._same_volume(location, connection_info, path):
                return (name, port, device, location,
                        info.get('%s-ImageUUID-%d-%d' % (name, port,
                                                         device)))
        return None

    def _detach(self, info, instance, connection_info, mountpoint):
        vol = volume_id(connection_info)
        if connection_info.get('driver_volume_type') not in (
                (ISCSI, LOCAL) + FILE_SHARES):
            raise VolumeConnectionNotSupported(
                driver_type=connection_info.get('driver_volume_type'))
        found = self._find_slot(info, connection_info, mountpoint)
        if found is None and connection_info.get(
                'driver_volume_type') != ISCSI:
            found = self._find_slot_by_descriptor(info, instance,
                                                  connection_info)
        if found is None:
            LOG.warning('Volume %s is not attached; nothing to detach', vol,
                        instance=instance)
            return
        name, port, device, location, medium_uuid = found
        running = info.get('VMState') in constants.ACTIVE_STATES
        hot = info.get('%s-hot-pluggable-%d-%d' % (name, port, device))
        if running and hot != 'on':
            raise exception.VolumeDetachFailed(
                volume_id=vol,
                reason=_('the instance runs and VirtualBox can only remove '
                         'hot-pluggable disks from a running VM; stop the '
                         'instance first'))
        try:
            self._vbox.run('storageattach', instance.uuid, '--storagectl',
                           name, '--port', str(port), '--device',
                           str(device), '--medium', constants.MEDIUM_NONE)
        except vbox_exc.VBoxManageError as err:
            raise exception.VolumeDetachFailed(volume_id=vol,
                                               reason=str(err))
        self._close_medium(medium_uuid, instance)
        descriptor = self.descriptor_path(instance, connection_info)
        if os.path.abspath(location) == os.path.abspath(descriptor):
            self._pathutils.remove_file(descriptor)
        LOG.info('Detached volume %(vol)s (%(ctl)s port %(port)d)',
                 {'vol': vol, 'ctl': name, 'port': port}, instance=instance)

    def _find_slot_by_descriptor(self, info, instance, connection_info):
        descriptor = self.descriptor_path(instance, connection_info)
        return self._find_slot(info, {'driver_volume_type': LOCAL,
                                      'data': {'device_path': descriptor}},
                               None)

    def _close_medium(self, medium_uuid, instance):
        """closemedium without --delete: the file (or the LUN) is Cinder's."""
        if not medium_uuid:
            return
        try:
            self._vbox.close_medium(medium_uuid)
        except vbox_exc.VBoxManageError as err:
            LOG.warning('Could not close medium %(uuid)s after detaching '
                        'it: %(err)s', {'uuid': medium_uuid, 'err': err},
                        instance=instance)

    # -- spawn and destroy ----------------------------------------------------

    @staticmethod
    def volumes(block_device_info):
        """Nova's volume bdms of block_device_info, boot volume first."""
        mapping = driver.block_device_info_get_mapping(block_device_info)
        return sorted(mapping, key=lambda bdm: (
            bdm.get('boot_index') is None or bdm.get('boot_index') < 0,
            bdm.get('boot_index') or 0))

    @classmethod
    def boot_volume(cls, block_device_info):
        """The bdm of the root volume (boot from volume), or None."""
        for bdm in cls.volumes(block_device_info):
            if bdm.get('boot_index') == 0:
                return bdm
        return None

    def attach_volumes_for_spawn(self, instance, block_device_info,
                                 controller=None, controller_type=None):
        """Attach every volume of a new, stopped VM: one storageattach each
        (no query). The boot volume goes where its device name says
        (/dev/sda: port 0), hot-pluggable off; the others hot-pluggable.
        vmops calls this after creating the disk controller.

        :param controller: the controller's name (default: the one
            [virtualbox] storage_bus names, e.g. "SATA").
        :returns: [(volume id, controller, port, device)] attached.
        """
        attached = []
        for bdm in self.volumes(block_device_info):
            connection_info = bdm['connection_info']
            self._refuse_encrypted(connection_info)
            name = controller or self.default_controller_name(
                bdm.get('disk_bus'))
            ctl_type = controller_type or _CONTROLLER_TYPES.get(name)
            port, device = slot_for_device(bdm['mount_device'], ctl_type,
                                           _CONTROLLER_PORTS.get(name, 30))
            try:
                self._storageattach(instance, name, port, device,
                                    connection_info,
                                    hotpluggable=bdm.get('boot_index') != 0)
            except vbox_exc.VBoxManageError as err:
                raise exception.VolumeAttachFailed(
                    volume_id=volume_id(connection_info), reason=str(err))
            attached.append((volume_id(connection_info), name, port, device))
        return attached

    def keep_only_volumes_of(self, instance, block_device_info):
        """Make the stopped VM attach exactly the volumes Nova maps to it.
        A snapshot restore (a resize revert) attaches the volumes the VM
        had when the snapshot was taken: one detached since would be back,
        while Cinder may hand it to another server, and one attached since
        would be gone. Volumes are told from the driver's own disks by
        place: outside the VM folder and the image cache (an iSCSI
        location, a volume file), or a raw volume's descriptor."""
        bdms = self.volumes(block_device_info)
        info = self._vbox.show_instance_info(instance)
        for name, port, device in _slots(info):
            location = info.get('%s-%d-%d' % (name, port, device))
            if not self._is_volume(instance, location) or any(
                    self._is_this_volume(instance, location,
                                         bdm['connection_info'])
                    for bdm in bdms):
                continue
            LOG.info('Detaching %(loc)s, which the restored snapshot '
                     'attached and Nova no longer maps to the instance',
                     {'loc': location}, instance=instance)
            self._empty_slot(instance, name, port, device)
            self._close_medium(info.get('%s-ImageUUID-%d-%d' % (
                name, port, device)), instance)
        for bdm in bdms:
            self.attach_volume(bdm['connection_info'], instance,
                               bdm['mount_device'])

    def _is_volume(self, instance, location):
        if not location or location in (constants.MEDIUM_NONE,
                                        constants.MEDIUM_EMPTY_DRIVE):
            return False
        if not os.path.isabs(location):
            return True  # an iSCSI target: "HOST|IQN[|LUN]"
        folder = self._pathutils.instance_dir(instance)
        if location.startswith(folder + os.sep):
            name = os.path.basename(location)
            return name.startswith('volume-') and name.endswith('.vmdk')
        return not location.startswith(
            self._pathutils.image_cache_dir() + os.sep)

    def _is_this_volume(self, instance, location, connection_info):
        if self._same_volume(location, connection_info,
                             _data(connection_info).get('device_path')):
            return True
        return os.path.abspath(location) == os.path.abspath(
            self.descriptor_path(instance, connection_info))

    # -- not supported --------------------------------------------------------

    def extend_volume(self, connection_info, instance, requested_size):
        """VirtualBox's iSCSI initiator reads a LUN's size when the VM
        starts and cannot be told it grew; files are Cinder's to grow."""
        raise exception.ExtendVolumeNotSupported()


# Controller name -> type, for the controllers vmops creates.
_CONTROLLER_TYPES = dict((name, model) for _bus, model, name, _ports
                         in constants.STORAGE_CONTROLLERS.values())
_CONTROLLER_PORTS = dict((name, ports) for _bus, _model, name, ports
                         in constants.STORAGE_CONTROLLERS.values())
