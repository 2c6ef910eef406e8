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

"""FileISCSIDriver on Cinder's test base: real files in a temporary
folder, exported through the real tgtd client to the fake tgtd."""

import errno
import logging
import os
import stat
import subprocess
from unittest import mock

import fixtures
from oslo_utils import units

from cinder import context
from cinder import exception
import cinder.privsep
from cinder.tests.unit import fake_snapshot
from cinder.tests.unit import fake_volume
from cinder.tests.unit import test
from cinder.volume import configuration as conf
from cinder.volume import driver

from cinder_virtualbox import file_iscsi
from cinder_virtualbox.tests.unit import fake_tgtd

GROUP = 'filebackend'
VOL_A = '0a0a0a0a-aaaa-4aaa-8aaa-0a0a0a0a0a0a'
VOL_B = '0b0b0b0b-bbbb-4bbb-8bbb-0b0b0b0b0b0b'
SNAP = '05050505-5555-4555-8555-050505050505'
PREFIX = 'iqn.2010-10.org.openstack:'


class FileISCSITestCase(test.TestCase):

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.fake = fake_tgtd.FakeTgtd(control_port=3).start()
        self.addCleanup(self.fake.stop)
        # Cinder's own options join the group when a driver is made; the
        # test sets some of them first.
        self.configuration = conf.Configuration(
            file_iscsi.file_iscsi_opts + driver.volume_opts,
            config_group=GROUP)
        for name, value in (('file_volumes_dir', self.dir),
                            ('file_volumes_target_ip', '127.0.0.1'),
                            ('file_volumes_target_port', 3261),
                            ('tgtd_socket', self.fake.socket_path),
                            ('tgtd_control_port', 3),
                            ('volume_backend_name', 'files'),
                            ('max_over_subscription_ratio', '20.0'),
                            ('reserved_percentage', 5)):
            self.override_config(name, value, group=GROUP)
        self.ctxt = context.get_admin_context()
        self.driver = file_iscsi.FileISCSIDriver(
            configuration=self.configuration, host='host@files')
        self.driver.do_setup(self.ctxt)
        self.log = self.useFixture(fixtures.FakeLogger(
            name='cinder_virtualbox', level=logging.DEBUG))

    def _volume(self, vol_id=VOL_A, size=1, **kwargs):
        kwargs.setdefault('provider_location', None)
        kwargs.setdefault('provider_auth', None)
        return fake_volume.fake_volume_obj(self.ctxt, id=vol_id, size=size,
                                           **kwargs)

    def _path(self, vol_id=VOL_A):
        return os.path.join(self.dir, 'volume-' + vol_id)

    def _exported(self, volume):
        volume.update(self.driver.create_export(self.ctxt, volume, {}))
        return volume

    def _write(self, path, offset, data):
        with open(path, 'r+b') as f:
            f.seek(offset)
            f.write(data)

    def _read(self, path, offset, size):
        with open(path, 'rb') as f:
            f.seek(offset)
            return f.read(size)

    # -- create / delete --------------------------------------------------

    def test_create_makes_a_sparse_private_file(self):
        self.driver.create_volume(self._volume(size=2))
        st = os.stat(self._path())
        self.assertEqual(2 * units.Gi, st.st_size)
        self.assertEqual(0o600, stat.S_IMODE(st.st_mode))
        self.assertEqual(0, st.st_blocks)

    def test_create_never_overwrites_a_file(self):
        with open(self._path(), 'wb') as f:
            f.write(b'somebody else')
        self.assertRaises(exception.VolumeBackendAPIException,
                          self.driver.create_volume, self._volume())
        with open(self._path(), 'rb') as f:
            self.assertEqual(b'somebody else', f.read())

    def test_create_refuses_encryption(self):
        volume = self._volume(
            encryption_key_id='9d7c5e2e-1f5b-4a4e-9b41-0e0f6a7b8c9d')
        e = self.assertRaises(exception.VolumeDriverException,
                              self.driver.create_volume, volume)
        self.assertIn('encrypted', str(e))
        self.assertFalse(os.path.exists(self._path()))

    def test_delete_removes_only_its_own_file(self):
        a, b = self._volume(VOL_A), self._volume(VOL_B)
        self.driver.create_volume(a)
        self.driver.create_volume(b)
        other = os.path.join(self.dir, 'notes.txt')
        with open(other, 'w') as f:
            f.write('keep')
        self.driver.delete_volume(a)
        self.assertEqual(sorted(['volume-' + VOL_B, 'notes.txt']),
                         sorted(os.listdir(self.dir)))
        # Gone already (a failed create): nothing to do, nothing else lost.
        self.driver.delete_volume(a)
        self.assertEqual(2, len(os.listdir(self.dir)))

    def test_delete_refuses_what_is_not_a_regular_file(self):
        outside = self.useFixture(fixtures.TempDir()).path
        victim = os.path.join(outside, 'data')
        with open(victim, 'w') as f:
            f.write('precious')
        os.symlink(victim, self._path())
        self.assertRaises(exception.VolumeBackendAPIException,
                          self.driver.delete_volume, self._volume())
        self.assertTrue(os.path.islink(self._path()))
        with open(victim) as f:
            self.assertEqual('precious', f.read())

    def test_ids_that_leave_the_folder_are_refused(self):
        for bad in ('../etc', 'a/b', '', '.hidden', None):
            # Not a Volume object: those refuse ids that are not UUIDs.
            volume = mock.Mock(id=bad, provider_auth=None)
            self.assertRaises(exception.InvalidInput,
                              self.driver.delete_volume, volume)

    # -- exports ----------------------------------------------------------

    def test_create_export_returns_the_lvm_drivers_model_update(self):
        volume = self._volume()
        self.driver.create_volume(volume)
        update = self.driver.create_export(self.ctxt, volume, {})
        self.assertEqual('127.0.0.1:3261,1 %svolume-%s 1' % (PREFIX, VOL_A),
                         update['provider_location'])
        method, user, secret = update['provider_auth'].split(' ')
        self.assertEqual('CHAP', method)
        self.assertEqual(20, len(user))
        self.assertEqual(16, len(secret))
        (target,) = self.driver.tgtd.show_targets()
        self.assertEqual(PREFIX + 'volume-' + VOL_A, target.name)
        self.assertEqual(self._path(), target.luns[1].path)
        self.assertEqual('rdwr', target.luns[1].backing_type)
        self.assertEqual(['ALL'], target.acls)
        self.assertEqual([user], target.accounts)
        self.assertEqual({user: secret}, self.fake.accounts)

    def test_each_volume_has_its_own_account(self):
        a, b = self._volume(VOL_A), self._volume(VOL_B)
        for volume in (a, b):
            self.driver.create_volume(volume)
            self._exported(volume)
        self.assertNotEqual(a.provider_auth, b.provider_auth)
        targets = self.driver.tgtd.show_targets()
        self.assertEqual([1, 2], [t.tid for t in targets])
        self.assertEqual([[a.provider_auth.split()[1]],
                          [b.provider_auth.split()[1]]],
                         [t.accounts for t in targets])

    def test_initialize_connection(self):
        volume = self._volume()
        self.driver.create_volume(volume)
        self._exported(volume)
        self.assertTrue(self.driver.validate_connector(
            {'initiator': 'iqn.2008-11.org.virtualbox:host'}))
        info = self.driver.initialize_connection(
            volume, {'initiator': 'iqn.2008-11.org.virtualbox:host'})
        _chap, user, secret = volume.provider_auth.split()
        self.assertEqual({
            'driver_volume_type': 'iscsi',
            'data': {'target_discovered': False,
                     'target_portal': '127.0.0.1:3261',
                     'target_iqn': PREFIX + 'volume-' + VOL_A,
                     'target_lun': 1,
                     'volume_id': VOL_A,
                     'auth_method': 'CHAP',
                     'auth_username': user,
                     'auth_password': secret,
                     'encrypted': False,
                     'discard': False}}, info)
        self.assertIsNone(self.driver.terminate_connection(volume, {}))

    def test_connector_needs_an_initiator(self):
        self.assertRaises(exception.InvalidConnectorException,
                          self.driver.validate_connector, {'host': 'h'})

    def test_initialize_connection_of_an_unexported_volume(self):
        volume = self._volume()
        self.driver.create_volume(volume)
        self.assertRaises(exception.InvalidVolume,
                          self.driver.initialize_connection, volume,
                          {'initiator': 'iqn.x:y'})

    def test_initialize_connection_after_tgtd_lost_the_target(self):
        volume = self._volume()
        self.driver.create_volume(volume)
        self._exported(volume)
        self.fake.restart()
        self.driver.initialize_connection(volume, {'initiator': 'iqn.x:y'})
        target = self.driver.tgtd.find_target(PREFIX + 'volume-' + VOL_A)
        self.assertEqual([volume.provider_auth.split()[1]], target.accounts)

    def test_ensure_export_after_a_tgtd_restart(self):
        volume = self._volume()
        self.driver.create_volume(volume)
        self._exported(volume)
        _chap, user, secret = volume.provider_auth.split()
        self.fake.restart()
        self.assertEqual([], self.driver.tgtd.show_targets())
        update = self.driver.ensure_export(self.ctxt, volume)
        self.assertEqual(volume.provider_auth, update['provider_auth'])
        target = self.driver.tgtd.find_target(PREFIX + 'volume-' + VOL_A)
        self.assertEqual(self._path(), target.luns[1].path)
        self.assertEqual([user], target.accounts)
        self.assertEqual(['ALL'], target.acls)
        self.assertEqual({user: secret}, self.fake.accounts)

    def test_ensure_export_of_an_exported_volume_changes_nothing(self):
        volume = self._volume()
        self.driver.create_volume(volume)
        self._exported(volume)
        before = self.driver.tgtd.show_targets()
        update = self.driver.ensure_export(self.ctxt, volume)
        self.assertEqual(volume.provider_location,
                         update['provider_location'])
        after = self.driver.tgtd.show_targets()
        self.assertEqual([(t.tid, t.accounts, t.acls) for t in before],
                         [(t.tid, t.accounts, t.acls) for t in after])

    def test_remove_export(self):
        volume = self._volume()
        self.driver.create_volume(volume)
        self._exported(volume)
        self.driver.remove_export(self.ctxt, volume)
        self.assertEqual([], self.driver.tgtd.show_targets())
        self.assertEqual({}, self.fake.accounts)
        self.driver.remove_export(self.ctxt, volume)
        self.assertTrue(os.path.exists(self._path()))

    def test_remove_export_never_cuts_off_a_logged_in_initiator(self):
        volume = self._volume()
        self.driver.create_volume(volume)
        self._exported(volume)
        self.fake.targets[1]['sessions'] = 1
        self.assertRaises(exception.VolumeIsBusy,
                          self.driver.remove_export, self.ctxt, volume)
        self.assertRaises(exception.VolumeIsBusy,
                          self.driver.delete_volume, volume)
        self.assertEqual(1, len(self.driver.tgtd.show_targets()))
        self.assertTrue(os.path.exists(self._path()))

    def test_delete_volume_removes_its_export(self):
        volume = self._volume()
        self.driver.create_volume(volume)
        self._exported(volume)
        self.driver.delete_volume(volume)
        self.assertEqual([], self.driver.tgtd.show_targets())
        self.assertEqual({}, self.fake.accounts)
        self.assertEqual([], os.listdir(self.dir))

    def test_a_target_of_that_name_on_another_file_is_left_alone(self):
        volume = self._volume()
        self.driver.create_volume(volume)
        other = os.path.join(self.dir, 'other.img')
        with open(other, 'wb') as f:
            f.truncate(units.Mi)
        client = self.driver.tgtd
        client.new_target(7, PREFIX + 'volume-' + VOL_A)
        client.new_lun(7, 1, other)
        e = self.assertRaises(exception.VolumeBackendAPIException,
                              self.driver.create_export, self.ctxt, volume,
                              {})
        self.assertIn('not touched', str(e))
        self.assertRaises(exception.VolumeBackendAPIException,
                          self.driver.delete_volume, volume)
        (target,) = client.show_targets()
        self.assertEqual(other, target.luns[1].path)
        self.assertTrue(os.path.exists(self._path()))

    def test_export_failing_halfway_leaves_no_target(self):
        volume = self._volume()
        self.driver.create_volume(volume)
        os.unlink(self._path())
        with open(self._path(), 'wb'):
            pass
        with mock.patch.object(self.fake, '_size', return_value=None):
            self.assertRaises(exception.VolumeBackendAPIException,
                              self.driver.create_export, self.ctxt, volume,
                              {})
        self.assertEqual([], self.driver.tgtd.show_targets())

    def test_the_secret_reaches_no_log_line(self):
        volume = self._volume()
        self.driver.create_volume(volume)
        self._exported(volume)
        secret = volume.provider_auth.split()[2]
        self.driver.initialize_connection(volume, {'initiator': 'iqn.x:y'})
        self.fake.restart()
        self.driver.ensure_export(self.ctxt, volume)
        self.driver.remove_export(self.ctxt, volume)
        self.driver.delete_volume(volume)
        self.assertIn('LUN 1 of', self.log.output)
        self.assertNotIn(secret, self.log.output)

    def test_tgtd_not_running(self):
        self.fake.stop()
        e = self.assertRaises(exception.VolumeBackendAPIException,
                              self.driver.check_for_setup_error)
        self.assertIn('tgtd is not running', str(e))
        self.assertIn('install the tgt package and start tgtd -C 3', str(e))
        volume = self._volume()
        self.driver.create_volume(volume)
        e = self.assertRaises(exception.VolumeBackendAPIException,
                              self.driver.create_export, self.ctxt, volume,
                              {})
        self.assertIn('tgtd is not running', str(e))
        stats = self.driver.get_volume_stats(refresh=True)
        self.assertEqual('down', stats['pools'][0]['backend_state'])
        # A stopped tgtd serves no file: detached work goes on.
        self.driver.extend_volume(volume, 2)
        self.assertEqual(2 * units.Gi, os.stat(self._path()).st_size)
        self.driver.remove_export(self.ctxt, volume)
        self.driver.delete_volume(volume)
        self.assertEqual([], os.listdir(self.dir))

    def test_tgtd_refusing_us_stops_a_delete(self):
        volume = self._volume()
        self.driver.create_volume(volume)
        self.fake.refuse = True
        e = self.assertRaises(exception.VolumeBackendAPIException,
                              self.driver.delete_volume, volume)
        self.assertIn('run this as root', str(e))
        self.assertTrue(os.path.exists(self._path()))

    def test_check_for_setup_error(self):
        self.driver.check_for_setup_error()
        os.rmdir(self.dir)
        with open(self.dir, 'w'):
            pass
        e = self.assertRaises(exception.VolumeBackendAPIException,
                              self.driver.check_for_setup_error)
        self.assertIn('file_volumes_dir', str(e))
        os.unlink(self.dir)
        os.mkdir(self.dir)

    # -- sizes, snapshots, clones -----------------------------------------

    def test_extend_a_detached_volume(self):
        volume = self._volume()
        self.driver.create_volume(volume)
        self._write(self._path(), 4096, b'data')
        self.driver.extend_volume(volume, 3)
        self.assertEqual(3 * units.Gi, os.stat(self._path()).st_size)
        self.assertEqual(b'data', self._read(self._path(), 4096, 4))
        self.assertRaises(exception.InvalidInput,
                          self.driver.extend_volume, volume, 2)
        self.assertEqual(3 * units.Gi, os.stat(self._path()).st_size)

    def test_extend_an_exported_volume_remakes_its_lun(self):
        volume = self._volume()
        self.driver.create_volume(volume)
        self._exported(volume)
        self.driver.extend_volume(volume, 2)
        (target,) = self.driver.tgtd.show_targets()
        self.assertEqual(2147, target.luns[1].size_mb)
        self.fake.targets[1]['sessions'] = 1
        self.assertRaises(exception.VolumeIsBusy,
                          self.driver.extend_volume, volume, 3)
        self.assertEqual(2 * units.Gi, os.stat(self._path()).st_size)

    def _snapshot(self, volume):
        return fake_snapshot.fake_snapshot_obj(
            self.ctxt, id=SNAP, volume_id=volume.id, volume_size=volume.size,
            volume=volume)

    def test_snapshot_and_volume_from_it_are_sparse_copies(self):
        volume = self._volume()
        self.driver.create_volume(volume)
        self._write(self._path(), 0, b'first')
        self._write(self._path(), 512 * units.Mi, b'middle')
        snapshot = self._snapshot(volume)
        self.driver.create_snapshot(snapshot)
        snap_path = os.path.join(self.dir, 'snapshot-' + SNAP)
        # The volume goes on; the snapshot keeps what it was.
        self._write(self._path(), 0, b'later')
        self.assertEqual(b'first', self._read(snap_path, 0, 5))
        self.assertEqual(b'middle', self._read(snap_path, 512 * units.Mi, 6))
        st = os.stat(snap_path)
        self.assertEqual(units.Gi, st.st_size)
        self.assertLess(st.st_blocks * 512, 4 * units.Mi)

        new = self._volume(VOL_B, size=2)
        self.driver.create_volume_from_snapshot(new, snapshot)
        self.assertEqual(2 * units.Gi, os.stat(self._path(VOL_B)).st_size)
        self.assertEqual(b'first', self._read(self._path(VOL_B), 0, 5))
        self.assertEqual(b'middle',
                         self._read(self._path(VOL_B), 512 * units.Mi, 6))
        self.assertLess(os.stat(self._path(VOL_B)).st_blocks * 512,
                        4 * units.Mi)

        self.driver.delete_snapshot(snapshot)
        self.assertFalse(os.path.exists(snap_path))
        self.assertTrue(os.path.exists(self._path()))
        self.assertTrue(os.path.exists(self._path(VOL_B)))

    def test_clone(self):
        source = self._volume()
        self.driver.create_volume(source)
        self._write(self._path(), 100, b'cloned')
        clone = self._volume(VOL_B, size=1)
        self.driver.create_cloned_volume(clone, source)
        self.assertEqual(b'cloned', self._read(self._path(VOL_B), 100, 6))
        self.assertEqual(units.Gi, os.stat(self._path(VOL_B)).st_size)
        # Onto a file that exists: refused, and it keeps its bytes.
        self.assertRaises(exception.VolumeBackendAPIException,
                          self.driver.create_cloned_volume, clone, source)
        self.assertEqual(b'cloned', self._read(self._path(VOL_B), 100, 6))

    def test_sparse_copy_where_holes_cannot_be_asked_for(self):
        source = os.path.join(self.dir, 'src')
        with open(source, 'wb') as f:
            f.truncate(8 * units.Mi)
            f.seek(3 * units.Mi + 5)
            f.write(b'x' * 10)
        real_lseek = os.lseek

        def no_seek_data(fd, pos, how):
            if how in (os.SEEK_DATA, os.SEEK_HOLE):
                raise OSError(errno.EINVAL, 'not here')
            return real_lseek(fd, pos, how)

        dest = os.path.join(self.dir, 'dest')
        with mock.patch.object(os, 'lseek', side_effect=no_seek_data):
            file_iscsi.sparse_copy(source, dest)
        with open(source, 'rb') as a, open(dest, 'rb') as b:
            self.assertEqual(a.read(), b.read())
        # Only the one MiB block holding data was written.
        self.assertLessEqual(os.stat(dest).st_blocks * 512, units.Mi)

    # -- images -----------------------------------------------------------

    def test_copy_image_to_volume_and_back(self):
        volume = self._volume()
        volume.volume_type = fake_volume.fake_volume_type_obj(self.ctxt)
        volume.glance_metadata = {}
        self.driver.create_volume(volume)
        raw = os.path.join(self.useFixture(fixtures.TempDir()).path, 'img')
        with open(raw, 'wb') as f:
            f.write(b'\0' * 446 + b'\x00\x00\x02\x00\x83\x00\x00\x00'
                    b'\x01\x00\x00\x00\xff\x07\x00\x00' + b'\0' * 48 +
                    b'\x55\xaa')
            f.seek(units.Mi)
            f.write(b'IMAGE-MARKER')
            f.truncate(2 * units.Mi)
        qcow2 = raw + '.qcow2'
        subprocess.check_call(['qemu-img', 'convert', '-f', 'raw', '-O',
                               'qcow2', raw, qcow2])
        service = _ImageService(qcow2)
        # Cinder inspects the image's format in its privsep daemon; here in
        # this process.
        cinder.privsep.sys_admin_pctxt.set_client_mode(False)
        self.addCleanup(cinder.privsep.sys_admin_pctxt.set_client_mode, True)
        self.driver.copy_image_to_volume(self.ctxt, volume, service,
                                         _ImageService.ID)
        self.assertEqual(b'IMAGE-MARKER',
                         self._read(self._path(), units.Mi, 12))
        st = os.stat(self._path())
        self.assertEqual(units.Gi, st.st_size)
        self.assertEqual(0o600, stat.S_IMODE(st.st_mode))

        self._write(self._path(), 2 * units.Mi, b'VOLUME-MARKER')
        self.driver.copy_volume_to_image(
            self.ctxt, volume, service,
            {'id': _ImageService.UPLOAD_ID, 'disk_format': 'raw',
             'container_format': 'bare', 'name': 'up'})
        self.assertEqual(units.Gi, len(service.uploaded))
        self.assertEqual(b'VOLUME-MARKER',
                         service.uploaded[2 * units.Mi:2 * units.Mi + 13])

    # -- stats ------------------------------------------------------------

    def test_stats_are_the_filesystems_and_honest_about_thin(self):
        for vol_id, size in ((VOL_A, 1), (VOL_B, 3)):
            self.driver.create_volume(self._volume(vol_id, size=size))
        stats = self.driver.get_volume_stats(refresh=True)
        vfs = os.statvfs(self.dir)
        (pool,) = stats['pools']
        self.assertEqual('files', stats['volume_backend_name'])
        self.assertEqual('iSCSI', stats['storage_protocol'])
        self.assertEqual('files', pool['pool_name'])
        self.assertAlmostEqual(vfs.f_blocks * vfs.f_frsize / units.Gi,
                               pool['total_capacity_gb'], delta=0.01)
        self.assertAlmostEqual(vfs.f_bavail * vfs.f_frsize / units.Gi,
                               pool['free_capacity_gb'], delta=0.5)
        self.assertEqual(4, pool['provisioned_capacity_gb'])
        self.assertEqual(2, pool['total_volumes'])
        self.assertTrue(pool['thin_provisioning_support'])
        self.assertFalse(pool['thick_provisioning_support'])
        self.assertEqual('20.0', pool['max_over_subscription_ratio'])
        self.assertEqual(5, pool['reserved_percentage'])
        self.assertFalse(pool['multiattach'])
        self.assertFalse(pool['online_extend_support'])
        self.assertEqual('up', pool['backend_state'])
        self.assertEqual('files', self.driver.get_pool(self._volume()))

    def test_options_are_listed(self):
        names = {opt.name for opt in
                 file_iscsi.FileISCSIDriver.get_driver_options()}
        self.assertLessEqual({'file_volumes_dir', 'file_volumes_target_ip',
                              'file_volumes_target_port',
                              'file_volumes_target_prefix',
                              'tgtd_control_port', 'tgtd_socket',
                              'max_over_subscription_ratio'}, names)
        ((group, opts),) = file_iscsi.list_opts()
        self.assertEqual('backend_defaults', group)
        for opt in opts:
            self.assertTrue(bool(opt.help))


class _ImageService(object):
    """Glance as Cinder's image_utils sees it: show, download, update."""

    ID = '1d1d1d1d-1111-4111-8111-1d1d1d1d1d1d'
    UPLOAD_ID = '2e2e2e2e-2222-4222-8222-2e2e2e2e2e2e'

    def __init__(self, path):
        self.path = path
        self.uploaded = None
        self.temp_images = None     # image_utils keeps its cache here

    def show(self, context, image_id):
        return {'id': image_id, 'status': 'active', 'disk_format': 'qcow2',
                'container_format': 'bare', 'size': os.stat(self.path).st_size,
                'properties': {}}

    def download(self, context, image_id, data):
        with open(self.path, 'rb') as f:
            data.write(f.read())

    def update(self, context, image_id, metadata, data=None, **kwargs):
        self.uploaded = data.read()
        return metadata
