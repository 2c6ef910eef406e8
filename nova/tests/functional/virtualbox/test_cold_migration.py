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

"""Cold migration between two compute hosts on the simulator, each with its
own VirtualBox (VBOXSIM_HOME) and instances path: migrate_disk_and_power_off
on "laptop", finish_migration on "desk", then confirm or revert. Nova's
remote filesystem is replaced by a local copy from laptop's instances path
to desk's. The calls are made in the order Nova's compute manager makes
them, with the [DEFAULT] options of the host each call runs on."""

import hashlib
import os
import shlex
import shutil
import subprocess
import uuid as uuidlib

import fixtures

from nova.compute import task_states
from nova import context as nova_context
from nova.network import model as network_model
from nova import objects
from nova import test
from nova.tests.functional.virtualbox import vbox_fixtures
from nova.tests.functional.virtualbox import vbox_harness
from nova.virt import driver as base_driver
from nova.virt import fake as fake_virt
from nova.virt.virtualbox import conf as vbox_conf
from nova.virt.virtualbox import parsers
from vboxsim import vdi

import nova.conf

CONF = nova.conf.CONF
vbox_conf.register_opts(CONF)

SOURCE, DEST = 'laptop', 'desk'
ROOT_DATA = b'root disk data'.ljust(vdi.BLOCK_SIZE, b'r')
EPHEMERAL_DATA = b'ephemeral disk data'.ljust(vdi.BLOCK_SIZE, b'e')


def make_vif():
    """A Neutron port on a network no physical_network_mappings names: a
    NAT NIC."""
    return network_model.VIF(
        id='port-1', address='fa:16:3e:00:01:01', type='ovs', active=True,
        network=network_model.Network(id='net-1', label='private',
                                      bridge='br-int'))


class FakeRemoteFilesystem(object):
    """Nova's RemoteFilesystem from one test host to the others: a path
    under the source's instances path is the same path under the
    destination's."""

    def __init__(self, source_path, host_paths):
        self._source_path = source_path
        self._host_paths = host_paths

    def _at(self, host, path):
        return os.path.join(self._host_paths[host],
                            os.path.relpath(path, self._source_path))

    def create_dir(self, host, path, on_execute=None, on_completion=None):
        os.makedirs(self._at(host, path), exist_ok=True)

    def remove_dir(self, host, path, on_execute=None, on_completion=None):
        shutil.rmtree(self._at(host, path), ignore_errors=True)

    def remove_file(self, host, path, on_execute=None, on_completion=None):
        os.unlink(self._at(host, path))

    def copy_file(self, src, dst, on_execute=None, on_completion=None,
                  compression=True):
        host, _sep, path = dst.partition(':')
        shutil.copyfile(src, self._at(host, path))


class _Host(object):
    def __init__(self, name, instances_path, vboxmanage_cmd):
        self.name = name
        self.instances_path = instances_path
        self.vboxmanage_cmd = vboxmanage_cmd
        self.driver = None


class ColdMigrationTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        objects.register_all()
        self.vbm = self.useFixture(vbox_fixtures.SimulatorFixture())
        dest_home = self.useFixture(fixtures.TempDir()).path
        self.hosts = {
            SOURCE: _Host(SOURCE, self.useFixture(fixtures.TempDir()).path,
                          self.vbm.command),
            DEST: _Host(DEST, self.useFixture(fixtures.TempDir()).path,
                        'env VBOXSIM_HOME=%s %s' % (shlex.quote(dest_home),
                                                    self.vbm.command))}
        self.flags(retry_interval=0.1, lifecycle_event_interval=0,
                   group='virtualbox')
        for host in self.hosts.values():
            self._on(host.name)
            host.driver = base_driver.load_compute_driver(
                fake_virt.FakeVirtAPI(), 'virtualbox.VBoxDriver')
            host.driver.init_host(host.name)
            self.addCleanup(host.driver.cleanup_host, host.name)
        self.source = self.hosts[SOURCE].driver
        self.dest = self.hosts[DEST].driver
        self.source._migrationops._remotefs = FakeRemoteFilesystem(
            self.hosts[SOURCE].instances_path,
            {DEST: self.hosts[DEST].instances_path})
        self.ctx = nova_context.get_admin_context()
        self.image_id = str(uuidlib.uuid4())
        self._on(SOURCE)
        base = self.source._pathutils.cached_image_path(self.image_id)
        os.makedirs(os.path.dirname(base))
        self._vbm(SOURCE, 'createmedium', 'disk', '--filename', base,
                  '--size', '16', '--format', 'VDI')
        self._vbm(SOURCE, 'closemedium', 'disk', base)
        self.volume_path, self.volume_bdm = self._raw_volume()
        self.bdi = {'block_device_mapping': [self.volume_bdm]}
        self.network_info = [make_vif()]
        self.old_flavor = self._flavor(root_gb=0)
        self.new_flavor = self._flavor(root_gb=1)
        self.instance = vbox_harness.make_instance(
            self.image_id, flavor=self.old_flavor)
        self.migration = objects.Migration(
            source_compute=SOURCE, dest_compute=DEST, source_node=SOURCE,
            dest_node=DEST)

    @staticmethod
    def _flavor(root_gb):
        return objects.Flavor(memory_mb=256, vcpus=1, root_gb=root_gb,
                              ephemeral_gb=1, swap=0, extra_specs={})

    def _on(self, name):
        """Make the process the compute service of host ``name``."""
        host = self.hosts[name]
        self.flags(host=name, instances_path=host.instances_path)
        self.flags(vboxmanage_cmd=host.vboxmanage_cmd, group='virtualbox')
        return host.driver

    def _vbm(self, name, *args):
        result = subprocess.run(
            shlex.split(self.hosts[name].vboxmanage_cmd) + list(args),
            capture_output=True, text=True)
        self.assertEqual(0, result.returncode, result.stderr)
        return result.stdout

    def _info(self, name):
        return parsers.parse_machine_readable(self._vbm(
            name, 'showvminfo', self.instance.uuid, '--machinereadable'))

    def _registered(self, name):
        return self.instance.uuid in self._vbm(name, 'list', 'vms')

    def _raw_volume(self):
        """A Cinder volume: a raw file of random bytes, as the local
        connector gives it (the same path on both hosts)."""
        folder = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(folder, 'volume-1')
        with open(path, 'wb') as f:
            f.write(os.urandom(4 * 1024 * 1024))
        return path, {
            'connection_info': {'driver_volume_type': 'local',
                                'data': {'device_path': path,
                                         'volume_id': 'vol-1'}},
            'mount_device': '/dev/sdb', 'boot_index': None}

    def _digest(self, path):
        with open(path, 'rb') as f:
            return hashlib.sha256(f.read()).hexdigest()

    @staticmethod
    def _blocks(path):
        return dict(vdi.read_blocks(path))

    def _vm_dir(self, name):
        """The instance's VM folder on host ``name``."""
        return os.path.join(self.hosts[name].instances_path, os.path.relpath(
            self.source._pathutils.instance_dir(self.instance),
            CONF.instances_path))

    def _image(self):
        return objects.ImageMeta.from_dict({
            'id': self.image_id, 'disk_format': 'vdi',
            'container_format': 'bare', 'properties': {}})

    def _spawn_at_source(self):
        driver = self._on(SOURCE)
        driver.spawn(self.ctx, self.instance, self._image(), [], None, {},
                     network_info=self.network_info,
                     block_device_info=self.bdi)
        paths = driver._pathutils
        # What the guest wrote.
        vdi.write_block(paths.root_disk_path(self.instance), 0, ROOT_DATA)
        vdi.write_block(paths.ephemeral_disk_path(self.instance), 3,
                        EPHEMERAL_DATA)
        self.assertEqual(driver._volumeops.descriptor_path(
            self.instance, self.volume_bdm['connection_info']),
            self._info(SOURCE)['SATA-1-0'])

    def _migrate(self):
        """Nova's resize to another host, up to the destination's start."""
        self._spawn_at_source()
        self.volume_digest = self._digest(self.volume_path)
        self.instance.task_state = task_states.RESIZE_MIGRATING
        disk_info = self._on(SOURCE).migrate_disk_and_power_off(
            self.ctx, self.instance, DEST, self.new_flavor,
            self.network_info, self.bdi)
        source = self._info(SOURCE)
        self.assertEqual('poweroff', source['VMState'])
        # Nova terminates the source's connection next: the VM let go.
        self.assertEqual('none', source.get('SATA-1-0', 'none'))

        self.instance.task_state = task_states.RESIZE_FINISH
        self.instance.old_flavor = self.old_flavor
        self.instance.flavor = self.new_flavor
        self._on(DEST).finish_migration(
            self.ctx, self.migration, self.instance, disk_info,
            self.network_info, self._image(), True, None,
            block_device_info=self.bdi, power_on=True)

    def test_migrated_vm_has_the_nics_volumes_and_disks(self):
        self._migrate()
        dest = self._info(DEST)
        paths = self.dest._pathutils
        self.assertEqual('running', dest['VMState'])
        self.assertEqual('nat', dest['nic1'])
        self.assertEqual('FA163E000101', dest['macaddress1'])
        self.assertEqual(self.dest._volumeops.descriptor_path(
            self.instance, self.volume_bdm['connection_info']),
            dest['SATA-1-0'])
        root = paths.root_disk_path(self.instance)
        ephemeral = paths.ephemeral_disk_path(self.instance)
        self.assertEqual(root, dest['SATA-0-0'])
        self.assertEqual(ephemeral, dest['SATA-2-0'])
        self.assertTrue(root.startswith(self.hosts[DEST].instances_path))
        # The disks' bytes arrived; the root disk grew to the new flavor.
        self.assertEqual({0: ROOT_DATA}, self._blocks(root))
        self.assertEqual({3: EPHEMERAL_DATA}, self._blocks(ephemeral))
        self.assertEqual(1024, parsers.parse_medium_info(self._vbm(
            DEST, 'showmediuminfo', 'disk', root))['capacity_mb'])
        self.assertEqual(1024, parsers.parse_medium_info(self._vbm(
            DEST, 'showmediuminfo', 'disk', ephemeral))['capacity_mb'])

    def test_confirm_destroys_the_source_vm_and_keeps_the_volume(self):
        self._migrate()
        source_dir = self._vm_dir(SOURCE)
        self.instance.task_state = None
        self._on(SOURCE).confirm_migration(self.ctx, self.migration,
                                           self.instance, self.network_info)
        self.assertFalse(self._registered(SOURCE))
        self.assertFalse(os.path.exists(source_dir))
        migrating = os.path.join(self.hosts[SOURCE].instances_path,
                                 '_migrating')
        self.assertEqual([], [name for name in (
            os.listdir(migrating) if os.path.exists(migrating) else [])
            if name.startswith(self.instance.uuid)])
        self.assertEqual(self.volume_digest, self._digest(self.volume_path))
        self._on(DEST)
        self.assertEqual('running', self._info(DEST)['VMState'])
        self.assertEqual(self.dest._volumeops.descriptor_path(
            self.instance, self.volume_bdm['connection_info']),
            self._info(DEST)['SATA-1-0'])

    def test_revert_restarts_the_source_vm_with_its_volume(self):
        self._migrate()
        # Nova's revert: destroy at the destination, then
        # finish_revert_migration at the source.
        self.instance.task_state = task_states.RESIZE_REVERTING
        self._on(DEST).destroy(self.ctx, self.instance, self.network_info,
                               self.bdi, destroy_disks=True)
        self.assertFalse(self._registered(DEST))
        self.assertFalse(os.path.exists(self._vm_dir(DEST)))
        self.assertEqual(self.volume_digest, self._digest(self.volume_path))

        self.instance.flavor = self.old_flavor
        driver = self._on(SOURCE)
        driver.finish_revert_migration(self.ctx, self.instance,
                                       self.network_info, self.migration,
                                       self.bdi, power_on=True)
        source = self._info(SOURCE)
        paths = driver._pathutils
        self.assertEqual('running', source['VMState'])
        self.assertEqual(driver._volumeops.descriptor_path(
            self.instance, self.volume_bdm['connection_info']),
            source['SATA-1-0'])
        self.assertEqual(paths.root_disk_path(self.instance),
                         source['SATA-0-0'])
        self.assertEqual({3: EPHEMERAL_DATA}, self._blocks(
            paths.ephemeral_disk_path(self.instance)))
        self.assertEqual(self.volume_digest, self._digest(self.volume_path))
