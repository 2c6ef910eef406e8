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

"""Cinder volumes as sparse files, exported by tgtd over iSCSI with CHAP.

``volume_driver = cinder_virtualbox.file_iscsi.FileISCSIDriver``: the
backend for hosts without device-mapper (where Cinder's LVM driver cannot
run). It behaves as Cinder's LVM driver with its ``tgtadm`` target helper
does, seen from Cinder and from Nova:

- a volume is the file ``<file_volumes_dir>/volume-<id>`` (sparse, mode
  0600), a snapshot ``snapshot-<id>`` beside it: a sparse copy, as are
  clones and volumes made from snapshots;
- ``create_export`` makes the tgt target ``<prefix>volume-<id>`` with the
  file as LUN 1, open to every initiator address and guarded by a CHAP
  account of its own (random user and secret), and returns Cinder's model
  update: ``provider_location`` "IP:PORT,TID IQN 1" and ``provider_auth``
  "CHAP USER SECRET";
- ``initialize_connection`` returns ``driver_volume_type`` ``iscsi`` with
  the keys of Cinder's iSCSI targets (``target_portal``, ``target_iqn``,
  ``target_lun``, ``auth_method``, ``auth_username``, ``auth_password``,
  ``volume_id``, ``target_discovered``, ``encrypted``, ``discard``):
  what nova/virt/virtualbox/volumeops.py hands to VirtualBox's own
  initiator.

tgtd is driven through its management socket (cinder_virtualbox.tgtd),
never through tgtadm or tgt-admin, so the CHAP secret is on no command
line; nothing here logs it. tgtd answers only the user it runs as, so
cinder-volume runs as that user (root).

The driver deletes only files it names itself from a volume's or a
snapshot's id, and only regular files; it never forces a target away from
a logged-in initiator.
"""

import errno
import os
import re
import socket
import stat

from cinder import exception
from cinder.i18n import _
from cinder.image import image_utils
from cinder.volume import configuration
from cinder.volume import driver
from cinder.volume import volume_utils
from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import units

from cinder_virtualbox import tgtd

LOG = logging.getLogger(__name__)

file_iscsi_opts = [
    cfg.StrOpt('file_volumes_dir',
               default='$state_path/file-volumes',
               help='Folder of the volume and snapshot files (sparse raw '
                    'files named volume-<id> and snapshot-<id>). tgtd '
                    'opens them, so it must see the same path.'),
    cfg.StrOpt('file_volumes_target_ip',
               default='$my_ip',
               help='Address of the iSCSI portal given to initiators: one '
                    'that tgtd listens on and the VirtualBox hosts reach '
                    '(127.0.0.1 when they are this host).'),
    cfg.PortOpt('file_volumes_target_port',
                default=3260,
                help='Port of the iSCSI portal (tgtd\'s --iscsi '
                     'portal=IP:PORT).'),
    cfg.StrOpt('file_volumes_target_prefix',
               default='iqn.2010-10.org.openstack:',
               help='Prefix of the targets\' IQNs (the rest is '
                    'volume-<id>), as Cinder\'s target_prefix.'),
    cfg.IntOpt('tgtd_control_port',
               default=0, min=0, max=32767,
               help='tgtd\'s control port (tgtd -C N): its management '
                    'socket is <tgtd_socket>.N.'),
    cfg.StrOpt('tgtd_socket',
               default=tgtd.DEFAULT_SOCKET,
               help='tgtd\'s management socket without the ".N" of the '
                    'control port (what tgtadm takes from TGT_IPC_SOCKET).'),
]

CONF = cfg.CONF
CONF.register_opts(file_iscsi_opts, group=configuration.SHARED_CONF_GROUP)

# tgtd shows LUN 0 as its own controller; the file is the first disk LUN,
# as with Cinder's tgtadm helper.
LUN = 1
_ID_RE = re.compile(r'^[0-9A-Za-z][0-9A-Za-z-]{0,63}$')
_COPY_CHUNK = units.Mi


def list_opts():
    return [(configuration.SHARED_CONF_GROUP, file_iscsi_opts)]


def _data_extents(fd, size):
    """(start, end) of the parts of a file that may hold data: the holes
    between them read as zeros and need not be copied."""
    if not hasattr(os, 'SEEK_DATA'):
        return [(0, size)]
    extents = []
    pos = 0
    try:
        while pos < size:
            try:
                start = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError as e:
                if e.errno == errno.ENXIO:      # only a hole is left
                    break
                raise
            end = os.lseek(fd, start, os.SEEK_HOLE)
            extents.append((start, min(end, size)))
            pos = end
    except OSError:
        # A filesystem that cannot tell: read everything.
        return [(0, size)]
    return extents


def sparse_copy(source, dest):
    """Copies ``source`` to the new file ``dest`` (refused if it exists),
    writing no block that is all zeros, so the copy is as sparse as the
    source or sparser."""
    zeros = bytes(_COPY_CHUNK)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with open(source, 'rb') as fin, os.fdopen(fd, 'wb') as fout:
            fd = None
            size = os.fstat(fin.fileno()).st_size
            for start, end in _data_extents(fin.fileno(), size):
                fin.seek(start)
                pos = start
                while pos < end:
                    block = fin.read(min(_COPY_CHUNK, end - pos))
                    if not block:
                        break
                    if block != zeros[:len(block)]:
                        fout.seek(pos)
                        fout.write(block)
                    pos += len(block)
            fout.truncate(size)
            fout.flush()
            os.fsync(fout.fileno())
    except BaseException:
        if fd is not None:
            os.close(fd)
        os.unlink(dest)
        raise


class FileISCSIDriver(driver.VolumeDriver):
    """Sparse files exported by tgtd (iSCSI, CHAP per volume)."""

    VERSION = '1.0.0'
    CI_WIKI_NAME = 'nova-virtualbox'

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.configuration.append_config_values(file_iscsi_opts)
        self.backend_name = (self.configuration.safe_get(
            'volume_backend_name') or 'file_iscsi')
        self.protocol = 'iSCSI'
        self.hostname = socket.gethostname()
        self._stats = {}

    @classmethod
    def get_driver_options(cls):
        return file_iscsi_opts + cls._get_oslo_driver_opts(
            'reserved_percentage', 'max_over_subscription_ratio',
            'volume_dd_blocksize')

    # -- names ------------------------------------------------------------

    @property
    def tgtd(self):
        return tgtd.Client(
            control_port=self.configuration.tgtd_control_port,
            socket_path=self.configuration.tgtd_socket)

    @property
    def _dir(self):
        return self.configuration.file_volumes_dir

    def _file(self, kind, obj_id):
        # Ids come from Cinder (UUIDs); anything that could leave the
        # folder is refused rather than cleaned up.
        if not isinstance(obj_id, str) or not _ID_RE.match(obj_id):
            raise exception.InvalidInput(
                reason=_('%(kind)s id %(id)r cannot name a file') %
                {'kind': kind, 'id': obj_id})
        return os.path.join(self._dir, '%s-%s' % (kind, obj_id))

    def local_path(self, volume):
        return self._file('volume', volume.id)

    def _snapshot_path(self, snapshot):
        return self._file('snapshot', snapshot.id)

    def _iqn(self, volume):
        return '%svolume-%s' % (self.configuration.file_volumes_target_prefix,
                                volume.id)

    def _portal(self):
        return '%s:%d' % (volume_utils.sanitize_host(
            self.configuration.file_volumes_target_ip),
            self.configuration.file_volumes_target_port)

    # -- setup and stats --------------------------------------------------

    def do_setup(self, context):
        os.makedirs(self._dir, mode=0o700, exist_ok=True)

    def check_for_setup_error(self):
        if not os.path.isdir(self._dir) or not os.access(
                self._dir, os.W_OK | os.X_OK):
            raise exception.VolumeBackendAPIException(
                data=_('file_volumes_dir %s is not a folder this service '
                       'can write to') % self._dir)
        try:
            self.tgtd.show_targets()
        except tgtd.TgtdError as e:
            raise exception.VolumeBackendAPIException(data=str(e))

    def _our_files(self):
        try:
            names = os.listdir(self._dir)
        except OSError:
            return []
        return [os.path.join(self._dir, name) for name in names
                if name.startswith(('volume-', 'snapshot-'))]

    def _update_volume_stats(self):
        vfs = os.statvfs(self._dir)
        total = vfs.f_blocks * vfs.f_frsize
        free = vfs.f_bavail * vfs.f_frsize
        provisioned = 0
        volumes = 0
        for path in self._our_files():
            try:
                provisioned += os.stat(path).st_size
            except OSError:
                continue
            volumes += os.path.basename(path).startswith('volume-')
        try:
            self.tgtd.show_targets()
            state = 'up'
        except tgtd.TgtdError as e:
            LOG.warning('File volumes: %s', e)
            state = 'down'
        self._stats = {
            'volume_backend_name': self.backend_name,
            'vendor_name': 'Open Source',
            'driver_version': self.VERSION,
            'storage_protocol': self.protocol,
            'pools': [{
                'pool_name': self.backend_name,
                'total_capacity_gb': round(total / units.Gi, 2),
                'free_capacity_gb': round(free / units.Gi, 2),
                # Sparse files: the sizes promised, which may exceed what
                # the disk holds; Cinder's scheduler weighs it against
                # max_over_subscription_ratio.
                'provisioned_capacity_gb': round(provisioned / units.Gi, 2),
                'reserved_percentage':
                    self.configuration.reserved_percentage,
                'max_over_subscription_ratio':
                    self.configuration.max_over_subscription_ratio,
                'thin_provisioning_support': True,
                'thick_provisioning_support': False,
                'total_volumes': volumes,
                'location_info': 'FileISCSIDriver:%s:%s' % (
                    self.hostname, self._dir),
                'QoS_support': False,
                'multiattach': False,
                'online_extend_support': False,
                'backend_state': state,
                'filter_function': self.get_filter_function(),
                'goodness_function': self.get_goodness_function(),
            }],
            'shared_targets': False,
            'sparse_copy_volume': True,
        }

    def get_volume_stats(self, refresh=False):
        if refresh or not self._stats:
            self._update_volume_stats()
        return self._stats

    def get_pool(self, volume):
        return self.backend_name

    # -- files ------------------------------------------------------------

    @staticmethod
    def _refuse_encrypted(volume):
        if volume.encryption_key_id:
            raise exception.VolumeDriverException(
                message=_('FileISCSIDriver does not support encrypted '
                          'volumes (VirtualBox attaches iSCSI volumes '
                          'itself, without a host-side decryption layer)'))

    def _new_file(self, path, size_gb):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.ftruncate(fd, size_gb * units.Gi)
        except BaseException:
            os.close(fd)
            os.unlink(path)
            raise
        os.close(fd)

    def _copy(self, source, dest, size_gb):
        if not os.path.isfile(source):
            raise exception.VolumeBackendAPIException(
                data=_('source file %s is missing') % source)
        try:
            sparse_copy(source, dest)
        except FileExistsError:
            raise exception.VolumeBackendAPIException(
                data=_('%s exists already; it is left as it is') % dest)
        if os.stat(dest).st_size < size_gb * units.Gi:
            os.truncate(dest, size_gb * units.Gi)

    def _remove_file(self, path):
        """Removes ``path`` if it is a regular file; a missing file is
        fine (Cinder deletes volumes whose creation failed)."""
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            LOG.info('File volumes: %s is gone already', path)
            return
        if not stat.S_ISREG(mode):
            raise exception.VolumeBackendAPIException(
                data=_('%s is not a regular file: not deleted') % path)
        os.unlink(path)

    def create_volume(self, volume):
        self._refuse_encrypted(volume)
        path = self.local_path(volume)
        try:
            self._new_file(path, volume.size)
        except FileExistsError:
            # Whatever it holds is someone's: never overwritten.
            raise exception.VolumeBackendAPIException(
                data=_('%s exists already; it is left as it is') % path)

    def delete_volume(self, volume):
        path = self.local_path(volume)
        # A target still serving the file would keep the deleted file's
        # blocks open (and in use).
        self._unexport(volume, path)
        self._remove_file(path)

    def extend_volume(self, volume, new_size):
        path = self.local_path(volume)
        if os.stat(path).st_size > new_size * units.Gi:
            raise exception.InvalidInput(
                reason=_('volume %(id)s is bigger than %(size)d GiB') %
                {'id': volume.id, 'size': new_size})
        target = self._our_target(volume, path, down_ok=True)
        if target is not None and target.sessions:
            raise exception.VolumeIsBusy(volume_name=volume.name)
        os.truncate(path, new_size * units.Gi)
        if target is not None:
            # tgtd reads a LUN's size when the LUN is made.
            client = self.tgtd
            try:
                client.delete_lun(target.tid, LUN)
                client.new_lun(target.tid, LUN, path)
            except tgtd.TgtdError as e:
                raise exception.VolumeBackendAPIException(
                    data=_('extend of volume %(id)s: %(err)s') %
                    {'id': volume.id, 'err': e})

    def create_snapshot(self, snapshot):
        if snapshot.volume.status == 'in-use':
            LOG.warning('File volumes: snapshot %s of the attached volume '
                        '%s is a copy of the file while the VM may write '
                        'to it', snapshot.id, snapshot.volume_id)
        self._copy(self._file('volume', snapshot.volume_id),
                   self._snapshot_path(snapshot), 0)

    def delete_snapshot(self, snapshot):
        self._remove_file(self._snapshot_path(snapshot))

    def create_volume_from_snapshot(self, volume, snapshot):
        self._refuse_encrypted(volume)
        self._copy(self._snapshot_path(snapshot), self.local_path(volume),
                   volume.size)

    def create_cloned_volume(self, volume, src_vref):
        self._refuse_encrypted(volume)
        self._copy(self.local_path(src_vref), self.local_path(volume),
                   volume.size)

    def copy_image_to_volume(self, context, volume, image_service, image_id,
                             disable_sparse=False):
        # The file is this service's own: no root needed for qemu-img.
        path = self.local_path(volume)
        image_utils.fetch_to_raw(context, image_service, image_id, path,
                                 self.configuration.volume_dd_blocksize,
                                 size=volume.size, run_as_root=False,
                                 disable_sparse=disable_sparse)
        # qemu-img convert leaves a file of the image's size, not the
        # volume's (a block device would keep its size): as the NFS driver.
        if os.stat(path).st_size < volume.size * units.Gi:
            os.truncate(path, volume.size * units.Gi)

    def copy_volume_to_image(self, context, volume, image_service,
                             image_meta):
        volume_utils.upload_volume(context, image_service, image_meta,
                                   self.local_path(volume), volume,
                                   run_as_root=False)

    # -- exports ----------------------------------------------------------

    @staticmethod
    def _chap(volume):
        """(user, secret) of provider_auth, or None."""
        auth = (volume.provider_auth or '').split()
        if len(auth) == 3 and auth[0].upper() == 'CHAP':
            return auth[1], auth[2]
        return None

    def _our_target(self, volume, path=None, down_ok=False):
        """The volume's target in tgtd, or None. A target of that name
        serving another file is not ours: it is left alone, loudly. With
        ``down_ok``, a tgtd that is not running serves nothing: None."""
        path = path or self.local_path(volume)
        try:
            target = self.tgtd.find_target(self._iqn(volume))
        except tgtd.TgtdUnavailable as e:
            if not down_ok:
                raise exception.VolumeBackendAPIException(data=str(e))
            LOG.warning('File volumes: %s; volume %s is exported nowhere',
                        e, volume.id)
            return None
        except tgtd.TgtdError as e:
            raise exception.VolumeBackendAPIException(data=str(e))
        if target is None:
            return None
        lun = target.luns.get(LUN)
        if lun is None or lun.path != path:
            raise exception.VolumeBackendAPIException(
                data=_('tgtd target %(iqn)s (tid %(tid)d) does not serve '
                       '%(path)s: not touched') %
                {'iqn': target.name, 'tid': target.tid, 'path': path})
        return target

    def _export(self, volume):
        path = self.local_path(volume)
        if not os.path.isfile(path):
            raise exception.VolumeBackendAPIException(
                data=_('volume file %s is missing') % path)
        chap = self._chap(volume) or (volume_utils.generate_username(),
                                      volume_utils.generate_password())
        user, secret = chap
        client = self.tgtd
        iqn = self._iqn(volume)
        try:
            target = self._our_target(volume, path)
            if target is None:
                tid = client.create_target(iqn)
                try:
                    client.new_lun(tid, LUN, path)
                    client.bind_address(tid, 'ALL')
                except tgtd.TgtdError:
                    client.delete_target(tid)
                    raise
                bound = []
            else:
                tid, bound = target.tid, target.accounts
            if user not in client.show_accounts():
                client.new_account(user, secret)
            if user not in bound:
                client.bind_account(tid, user)
        except tgtd.TgtdError as e:
            raise exception.VolumeBackendAPIException(
                data=_('export of volume %(id)s: %(err)s') %
                {'id': volume.id, 'err': e})
        LOG.info('File volumes: %(path)s is LUN %(lun)d of %(iqn)s '
                 '(tid %(tid)d)', {'path': path, 'lun': LUN, 'iqn': iqn,
                                   'tid': tid})
        return {'provider_location': '%s,%d %s %d' % (self._portal(), tid,
                                                      iqn, LUN),
                'provider_auth': 'CHAP %s %s' % (user, secret)}

    def _unexport(self, volume, path=None):
        target = self._our_target(volume, path, down_ok=True)
        client = self.tgtd
        try:
            if target is not None:
                if target.sessions:
                    # Forcing it away would cut a VM off its disk.
                    raise exception.VolumeIsBusy(volume_name=volume.name)
                client.delete_target(target.tid)
                LOG.info('File volumes: target %s removed', target.name)
            chap = self._chap(volume)
            if chap and chap[0] in client.show_accounts():
                client.delete_account(chap[0])
        except tgtd.TgtdUnavailable:
            pass                # nothing is exported by a stopped tgtd
        except tgtd.TgtdError as e:
            raise exception.VolumeBackendAPIException(
                data=_('removing the export of volume %(id)s: %(err)s') %
                {'id': volume.id, 'err': e})

    def create_export(self, context, volume, connector):
        return self._export(volume)

    def ensure_export(self, context, volume):
        # After a tgtd restart nothing is exported: the target comes back
        # with the same IQN, LUN and CHAP account (provider_auth).
        return self._export(volume)

    def remove_export(self, context, volume):
        self._unexport(volume)

    def initialize_connection(self, volume, connector):
        if not volume.provider_location or not self._chap(volume):
            raise exception.InvalidVolume(
                reason=_('volume %s is not exported') % volume.id)
        location = volume.provider_location.split(' ')
        portal = location[0].split(',')[0]
        lun = int(location[2]) if len(location) > 2 else LUN
        user, secret = self._chap(volume)
        if self._our_target(volume) is None:
            # tgtd restarted since the export: the same target again.
            self._export(volume)
        return {
            'driver_volume_type': 'iscsi',
            'data': {
                'target_discovered': False,
                'target_portal': portal,
                'target_iqn': location[1],
                'target_lun': lun,
                'volume_id': volume.id,
                'auth_method': 'CHAP',
                'auth_username': user,
                'auth_password': secret,
                'encrypted': False,
                'discard': False,
            },
        }

    def validate_connector(self, connector):
        if 'initiator' not in connector:
            raise exception.InvalidConnectorException(missing='initiator')
        return True

    def terminate_connection(self, volume, connector, **kwargs):
        # The target stays until remove_export, as with Cinder's tgtadm.
        pass
