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

"""Reliability of VBoxDriver on the simulator.

* A fault soak: transient VirtualBox failures (session locked, object not
  ready) on 20% of all VBoxManage calls over many lifecycle operations,
  every third spawn with a Cinder-like volume file; every operation
  succeeds or fails with a Nova exception, and afterwards
  tools/check_consistency.py finds VirtualBox, the VM folders, the media
  and the VRDE ports holding exactly the instances that exist, and every
  volume file is there with its bytes unchanged and registered with
  VirtualBox only while its instance exists.
* Hard faults: each VBoxManage step of spawn (and of snapshot) failing once
  in turn; each leaves nothing behind and the instance can be spawned
  again.
* Volume files: destroy under faults, after a failed detach or during a
  resize, a failed spawn, a snapshot: no volume file is ever deleted or
  written, nor left registered once its instance is gone.
* Bad input: hostile names and metadata, a missing or too old VBoxManage,
  nonsense configuration, hostile images.

VBOX_SOAK_OPS sets the number of soak operations (default 300),
VBOX_SOAK_SEED the fault and operation seed, VBOX_SOAK_REPORT a file the
soak appends its figures to.
"""

import hashlib
import itertools
import json
import os
import random
import shutil
import stat
import time
import traceback
import uuid as uuidlib

import fixtures
from oslo_config import cfg
import testtools

from nova.compute import power_state
from nova import context as nova_context
from nova import exception
from nova import objects
from nova import test
from nova.tests.functional.virtualbox import vbox_fixtures
from nova.tests.functional.virtualbox import vbox_harness as harness
from nova.tests.unit.virt.virtualbox import test_configdrive
from nova.virt import driver as base_driver
from nova.virt import fake as fake_virt
from nova.virt import images
from nova.virt.virtualbox import conf as vbox_conf
from nova.virt.virtualbox import driver as vbox_driver
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import vboxmanage
from nova.virt.virtualbox import vmops

import nova.conf

CONF = nova.conf.CONF
vbox_conf.register_opts(CONF)

SOAK_OPS = int(os.environ.get('VBOX_SOAK_OPS', '300'))
SOAK_SEED = int(os.environ.get('VBOX_SOAK_SEED', '7'))
SOAK_INSTANCES = 4
# Every third spawn of the soak gets a volume.
SOAK_VOLUME_EVERY = 3
VOLUME_BYTES = 1024 * 1024


def file_sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


class FileVolume(object):
    """A Cinder-like volume file (a ``local`` connection) and the sha256
    of its bytes when it was made."""

    def __init__(self, path, volume_id):
        self.path = path
        self.volume_id = volume_id
        self.sha256 = file_sha256(path)

    @property
    def connection_info(self):
        return {'driver_volume_type': 'local',
                'data': {'device_path': self.path,
                         'volume_id': self.volume_id}}

    def registered_as(self, location):
        """Whether VirtualBox's medium at ``location`` is this volume:
        the file itself, or the VMDK descriptor volumeops writes in the
        VM folder for a raw file."""
        return (os.path.realpath(location) == os.path.realpath(self.path) or
                os.path.basename(location) ==
                'volume-%s.vmdk' % self.volume_id)


class _ReliabilityBase(test.NoDBTestCase):
    """VBoxDriver on a fresh simulator, with a qcow2 image in a fake
    Glance, VRDE with a port per instance, and the consistency checker."""

    timeout = 600  # seconds for a whole test (the soak is long)

    def setUp(self):
        super().setUp()
        # Replaces the alarm of OS_TEST_TIMEOUT (one per process).
        self.useFixture(fixtures.Timeout(
            int(os.environ.get('VBOX_RELIABILITY_TIMEOUT', self.timeout)),
            gentle=True))
        if not os.access(harness.QEMU_IMG, os.X_OK):
            self.skipTest('qemu-img is not installed')
        self.checker = harness.load_checker()
        if self.checker is None:
            self.fail('tools/check_consistency.py not found: set '
                      'NOVA_VIRTUALBOX_SRC to the source tree')
        objects.register_all()
        self.sim = self.useFixture(vbox_fixtures.SimulatorFixture(
            acpi_delay='0.1'))
        self.top = self.useFixture(fixtures.TempDir()).path
        self.instances = os.path.join(self.top, 'instances')
        self.flags(instances_path=self.instances, host='laptop')
        self.flags(vboxmanage_cmd=self.sim.command, retry_interval=0.01,
                   wait_soft_reboot_seconds=2, remote_display=True,
                   vrde_module='VNC', vrde_unique_port=True,
                   vrde_port='5900-5999', group='virtualbox')
        self.flags(lock_path=os.path.join(self.top, 'locks'),
                   group='oslo_concurrency')
        self.glance = harness.FakeGlance()
        self.useFixture(fixtures.MockPatchObject(images, 'IMAGE_API',
                                                 self.glance))
        self.image_id = self.glance.add(
            harness.make_qcow2(os.path.join(self.top, 'image.qcow2'),
                               '32M'), 'qcow2')
        self.driver = base_driver.load_compute_driver(
            fake_virt.FakeVirtAPI(), 'virtualbox.VBoxDriver')
        self.driver.init_host('laptop')
        self.vbox = vboxmanage.VBoxManage(self.sim.command,
                                          retry_interval=0.01)
        self.ctx = nova_context.get_admin_context()

    # -- helpers ----------------------------------------------------------

    def faults(self, rules=None):
        """Set the simulator's fault rules (None: none)."""
        path = os.path.join(self.sim.home, 'faults.json')
        if rules is None:
            if os.path.exists(path):
                os.unlink(path)
        else:
            with open(path, 'w') as f:
                json.dump(rules, f)

    def instance(self, root_gb=0, **fields):
        return harness.make_instance(self.image_id, root_gb=root_gb,
                                     **fields)

    def spawn(self, instance, image_id=None, power_on=True,
              block_device_info=None):
        meta = self.glance.image_meta(image_id or self.image_id)
        self.driver.spawn(self.ctx, instance, meta, [], None, {},
                          network_info=[],
                          block_device_info=block_device_info,
                          power_on=power_on)

    # -- volumes ----------------------------------------------------------

    def make_volume(self, volume_format, seed):
        """A volume file outside the instances path holding 1 MiB of
        random bytes from ``seed``: raw, or a VDI made of them by
        qemu-img (as Cinder would)."""
        folder = os.path.join(self.top, 'volumes')
        os.makedirs(folder, exist_ok=True)
        volume_id = str(uuidlib.uuid4())
        path = os.path.join(folder, 'volume-%s' % volume_id)
        data = random.Random(seed).randbytes(VOLUME_BYTES)
        if volume_format == 'raw':
            with open(path, 'wb') as f:
                f.write(data)
        else:
            raw = path + '.raw'
            with open(raw, 'wb') as f:
                f.write(data)
            harness.qemu_img('convert', '-f', 'raw', '-O', volume_format,
                             raw, path)
            os.unlink(raw)
        return FileVolume(path, volume_id)

    @staticmethod
    def volume_mapping(volumes):
        """Nova's block_device_info with ``volumes`` as /dev/sdb, sdc..."""
        return {'block_device_mapping': [
            {'connection_info': volume.connection_info,
             'mount_device': '/dev/sd%s' % chr(ord('b') + index),
             'boot_index': None}
            for index, volume in enumerate(volumes)]}

    def assert_volumes_intact(self, volumes):
        """Each volume file exists with the bytes it was made with."""
        for volume in volumes:
            self.assertTrue(os.path.isfile(volume.path),
                            'volume file %s was deleted' % volume.path)
            self.assertEqual(volume.sha256, file_sha256(volume.path),
                             'volume file %s was written' % volume.path)

    def registered_volumes(self, volumes):
        """The paths of ``volumes`` VirtualBox has a medium of (faults
        off)."""
        locations = [block.get('Location', '')
                     for block in self.vbox.list_hdds()]
        return [volume.path for volume in volumes
                if any(volume.registered_as(location)
                       for location in locations)]

    def assert_volumes_unregistered(self, volumes):
        self.assertEqual([], self.registered_volumes(volumes),
                         'volumes still registered with VirtualBox')

    def assert_consistent(self, expected):
        """The checker finds exactly ``expected`` (faults off)."""
        report = self.checker.inspect(self.vbox, self.driver._pathutils,
                                      expected)
        self.assertEqual([], report.problems, report.summary())
        return report

    def assert_nova_error(self, err):
        self.assertIsInstance(err, exception.NovaException,
                              ''.join(traceback.format_exception(err)))
        self.assertTrue(str(err).strip())


class FaultSoakTestCase(_ReliabilityBase):

    def _operations(self, state):
        """The operations that make sense in ``state`` (None: unknown, so
        any of them)."""
        by_state = {
            'running': ['power_off', 'soft_power_off', 'reboot_soft',
                        'reboot_hard', 'pause', 'suspend', 'destroy'],
            'off': ['power_on', 'reboot_hard', 'destroy'],
            'paused': ['unpause', 'power_off', 'destroy'],
            'saved': ['resume', 'power_on', 'destroy'],
        }
        if state is None:
            return sorted({op for ops in by_state.values() for op in ops})
        return by_state[state]

    def _do(self, op, instance, block_device_info=None):
        """Run ``op``, with ``block_device_info`` where Nova passes it;
        returns the VM state it leads to."""
        d, ctx, bdi = self.driver, self.ctx, block_device_info
        if op == 'spawn':
            self.spawn(instance, block_device_info=bdi)
            return 'running'
        if op == 'power_off':
            d.power_off(instance)
            return 'off'
        if op == 'soft_power_off':
            d.power_off(instance, timeout=2, retry_interval=1)
            return 'off'
        if op == 'power_on':
            d.power_on(ctx, instance, [], bdi)
            return 'running'
        if op in ('reboot_soft', 'reboot_hard'):
            d.reboot(ctx, instance, [], op.split('_')[1].upper(), bdi)
            return 'running'
        if op == 'pause':
            d.pause(instance)
            return 'paused'
        if op == 'unpause':
            d.unpause(instance)
            return 'running'
        if op == 'suspend':
            d.suspend(ctx, instance)
            return 'saved'
        if op == 'resume':
            d.resume(ctx, instance, [], bdi)
            return 'running'
        if op == 'destroy':
            d.destroy(ctx, instance, [], bdi)
            return 'gone'
        raise AssertionError(op)

    def test_transient_fault_soak(self):
        rng = random.Random(SOAK_SEED)
        # Made before the soak, half raw (attached through a VMDK
        # descriptor), half VDI (attached as they are). A spawn with a
        # volume takes the one free longest, so each is used by a few
        # instances in turn, as Cinder's are.
        volumes = [self.make_volume('raw' if n % 2 else 'vdi',
                                    SOAK_SEED * 1000 + n)
                   for n in range(SOAK_INSTANCES + SOAK_OPS // 20)]
        free_volumes = list(volumes)
        volume_of = {}                     # uuid -> volume it holds
        self.faults({'*': {'transient': 0.2}, 'seed': SOAK_SEED})
        slots = [None] * SOAK_INSTANCES   # [instance, state] or None
        live = {}                          # uuid -> instance
        mappings = {}                      # uuid -> block_device_info
        tally = {}
        foreign = []
        spawns = 0
        # Destroys of instances with a volume: with its mapping, and
        # without (Nova's recovery paths pass None).
        volume_destroys = {'mapping': 0, 'None': 0}

        def destroy_mapping(instance, number):
            mapping = mappings.get(instance.uuid)
            if mapping is None:
                return None
            if number % 2:
                volume_destroys['None'] += 1
                return None
            volume_destroys['mapping'] += 1
            return mapping

        def release_volume(instance):
            volume = volume_of.pop(instance.uuid, None)
            if volume is not None:
                free_volumes.append(volume)

        started = time.monotonic()
        for number in range(SOAK_OPS):
            slot = rng.randrange(SOAK_INSTANCES)
            if slots[slot] is None:
                instance = self.instance(display_name='soak %d' % number)
                if spawns % SOAK_VOLUME_EVERY == 0:
                    volume_of[instance.uuid] = free_volumes.pop(0)
                    mappings[instance.uuid] = self.volume_mapping(
                        [volume_of[instance.uuid]])
                spawns += 1
                slots[slot] = [instance, 'new']
            instance, state = slots[slot]
            op = ('spawn' if state == 'new'
                  else rng.choice(self._operations(state)))
            mapping = (destroy_mapping(instance, number) if op == 'destroy'
                       else mappings.get(instance.uuid))
            try:
                new_state = self._do(op, instance, mapping)
            except Exception as err:
                ok = False
                if not isinstance(err, exception.NovaException) or \
                        not str(err).strip():
                    foreign.append('%s: %s' % (op, ''.join(
                        traceback.format_exception(err))))
                if op == 'spawn':
                    slots[slot] = None  # rolled back: Nova's instance ERROR
                    release_volume(instance)
                else:
                    slots[slot][1] = None
                    live[instance.uuid] = instance
            else:
                ok = True
                if new_state == 'gone':
                    slots[slot] = None
                    live.pop(instance.uuid, None)
                    release_volume(instance)
                else:
                    slots[slot][1] = new_state
                    live[instance.uuid] = instance
            counts = tally.setdefault(op, [0, 0])
            counts[0 if ok else 1] += 1
        elapsed = time.monotonic() - started
        self.faults(None)
        summary = ', '.join('%s %d ok/%d failed' % (op, c[0], c[1])
                            for op, c in sorted(tally.items()))
        text = ('%d operations in %.1f s (%d VBoxManage calls): %s; '
                '%d volume files, %d of %d spawns with one, destroys of '
                'those with block_device_info %d, with None %d' % (
                    SOAK_OPS, elapsed, self.driver._vbox.call_count,
                    summary, len(volumes), len(mappings), spawns,
                    volume_destroys['mapping'], volume_destroys['None']))
        self.addDetail('soak', testtools.content.text_content(text))
        if os.environ.get('VBOX_SOAK_REPORT'):
            with open(os.environ['VBOX_SOAK_REPORT'], 'a') as f:
                f.write(text + '\n')
        self.assertEqual([], foreign, 'operations failed with non-Nova '
                         'errors')
        self.assertGreaterEqual(sum(c[0] for c in tally.values()),
                                SOAK_OPS // 2, summary)
        report = self.assert_consistent(list(live.values()))
        self.assertEqual(len(live), len(report.vms))
        self.assert_volumes_intact(volumes)
        # VirtualBox knows only the volumes of instances that exist.
        self.assert_volumes_unregistered(free_volumes)

        # Nova cleans up what is left; then nothing at all remains but
        # the cached image, and every volume is as it was made.
        for number, instance in enumerate(live.values()):
            self.driver.destroy(self.ctx, instance, [],
                                destroy_mapping(instance, number))
        self.assert_consistent([])
        self.assert_volumes_intact(volumes)
        self.assert_volumes_unregistered(volumes)
        if SOAK_OPS >= 100:
            # The soak exercised what it is meant to.
            self.assertGreater(volume_destroys['mapping'], 0, text)
            self.assertGreater(volume_destroys['None'], 0, text)


class SpawnHardFaultTestCase(_ReliabilityBase):
    """Each VBoxManage call of spawn failing once, hard."""

    def setUp(self):
        super().setUp()
        # An instance that stays: rollback must not touch it.
        self.bystander = self.instance(display_name='bystander')
        self.spawn(self.bystander)

    def _fail_once(self, subcommand, instance=None, **spawn_args):
        instance = instance or self.instance()
        self.faults({subcommand: {'hard': 1.0, 'count': 1}})
        calls = self.driver._vbox.call_count
        err = self.assertRaises(exception.NovaException, self.spawn, instance,
                                **spawn_args)
        self.assert_nova_error(err)
        self.assertGreater(self.driver._vbox.call_count, calls)
        self.faults(None)
        self.assert_consistent([self.bystander])
        # Nothing left in the way: the same instance spawns now.
        self.spawn(instance, **spawn_args)
        self.assert_consistent([self.bystander, instance])
        self.driver.destroy(self.ctx, instance, [])
        self.assert_consistent([self.bystander])
        return err

    def test_createvm(self):
        self._fail_once('createvm')

    def test_modifyvm(self):
        self._fail_once('modifyvm')

    def test_createmedium(self):
        self._fail_once('createmedium')

    def test_storagectl(self):
        self._fail_once('storagectl')

    def test_storageattach(self):
        self._fail_once('storageattach')

    def test_startvm(self):
        err = self._fail_once('startvm')
        self.assertIsInstance(err, exception.InstancePowerOnFailure)

    def test_first_use_pin(self):
        # A new image: fetched, converted, then pinned by createmedium.
        image_id = self.glance.add(
            harness.make_qcow2(os.path.join(self.top, 'other.qcow2'),
                               '16M'), 'qcow2')
        self._fail_once('createmedium', self.instance(image_ref=image_id),
                        image_id=image_id)

    def test_full_clone_and_resize(self):
        self.flags(use_linked_clones=False, group='virtualbox')
        for step in ('clonemedium', 'modifymedium'):
            self._fail_once(step, self.instance(root_gb=1))

    def test_download_fails(self):
        image_id = self.glance.add(
            harness.make_qcow2(os.path.join(self.top, 'other.qcow2'),
                               '16M'), 'qcow2')
        original = self.glance.download
        self.glance.download = lambda *a, **k: (_ for _ in ()).throw(
            exception.GlanceConnectionFailed(
                server='glance:9292', reason='connection reset'))
        err = self.assertRaises(exception.NovaException, self.spawn,
                                self.instance(image_ref=image_id),
                                image_id=image_id)
        self.assert_nova_error(err)
        self.assert_consistent([self.bystander])
        self.assertEqual([], [n for n in os.listdir(
            self.driver._pathutils.image_cache_dir()) if image_id in n])
        self.glance.download = original
        instance = self.instance(image_ref=image_id)
        self.spawn(instance, image_id=image_id)
        self.assert_consistent([self.bystander, instance])


class LateFaultTestCase(_ReliabilityBase):
    """A creation that did its work and then failed transiently (the
    simulator's "late" fault): the driver undoes it and tries again, and
    the operation succeeds with nothing extra left."""

    def _late_once(self, subcommand, operation):
        self.faults({subcommand: {'late': 1.0, 'count': 1}})
        operation()
        with open(os.path.join(self.sim.home, 'faults.json')) as f:
            self.assertEqual(0, json.load(f)[subcommand]['count'],
                             'the fault did not fire')
        self.faults(None)

    def test_spawn_steps(self):
        for step in ('createvm', 'createmedium', 'bandwidthctl'):
            instance = self.instance(flavor=objects.Flavor(
                memory_mb=256, vcpus=1, root_gb=0, ephemeral_gb=0, swap=0,
                extra_specs={'quota:disk_total_bytes_sec': '10485760'}))
            self._late_once(step, lambda: self.spawn(instance))
            self.assert_consistent([instance])
            self.assertEqual(
                'BandwidthGroup0="nova-disk",Disk,10485760\n',
                self.vbox.run('bandwidthctl', instance.uuid, 'list',
                              '--machinereadable').stdout)
            self.driver.destroy(self.ctx, instance, [])
            self.assert_consistent([])

    def test_snapshot_steps(self):
        server = self.instance()
        self.spawn(server)
        self.driver._snapshotops._image_api = self.glance
        self.glance.update = lambda *args, **kwargs: None
        for step in ('snapshot', 'clonemedium'):
            self._late_once(step, lambda: self.driver.snapshot(
                self.ctx, server, str(uuidlib.uuid4()),
                lambda **kwargs: None))
            self.assert_consistent([server])
            self.assertNotIn('CurrentSnapshotName', self.vbox.show_vm_info(
                server.uuid))


class SnapshotResizeHardFaultTestCase(_ReliabilityBase):
    """Each VBoxManage step of snapshot and of a same-host resize failing
    once, hard: a Nova error, nothing left, and the operation works on the
    next try."""

    def setUp(self):
        super().setUp()
        self.server = self.instance(display_name='server')
        self.spawn(self.server)
        self.driver._snapshotops._image_api = self.glance
        self.uploads = []
        self.glance.update = self._upload

    def _upload(self, context, image_id, meta, data=None, **kwargs):
        if getattr(self, 'upload_error', None):
            raise self.upload_error
        self.uploads.append((image_id, len(data.read())))

    def _snapshot(self):
        image_id = str(uuidlib.uuid4())
        self.driver.snapshot(self.ctx, self.server, image_id,
                             lambda **kwargs: None)
        return image_id

    def _snapshot_fails(self, subcommand=None):
        if subcommand:
            self.faults({subcommand: {'hard': 1.0, 'count': 1}})
        err = self.assertRaises(exception.NovaException, self._snapshot)
        self.assert_nova_error(err)
        self.faults(None)
        self.assert_consistent([self.server])
        snapshots = os.path.join(self.instances, '_snapshots')
        self.assertEqual([], os.listdir(snapshots)
                         if os.path.isdir(snapshots) else [])
        self.assertEqual('running',
                         self.vbox.show_vm_info(self.server.uuid)['VMState'])
        image_id = self._snapshot()
        self.assertEqual(image_id, self.uploads[-1][0])
        self.assert_consistent([self.server])

    def test_snapshot_take(self):
        self._snapshot_fails('snapshot')

    def test_snapshot_clone(self):
        self._snapshot_fails('clonemedium')

    def test_snapshot_upload(self):
        self.upload_error = exception.GlanceConnectionFailed(
            server='glance:9292', reason='connection reset')
        err = self.assertRaises(exception.NovaException, self._snapshot)
        self.assert_nova_error(err)
        self.upload_error = None
        self.assert_consistent([self.server])
        self._snapshot()

    def test_snapshot_cleanup(self):
        # The upload went through; only forgetting the flat copy fails.
        self.faults({'closemedium': {'hard': 1.0, 'count': 1}})
        try:
            self._snapshot()
        except exception.NovaException as err:
            self.assert_nova_error(err)
        self.faults(None)
        self.assert_consistent([self.server])

    def _new_flavor(self):
        return objects.Flavor(memory_mb=512, vcpus=2, root_gb=0,
                              ephemeral_gb=0, swap=0, extra_specs={},
                              flavorid='2', name='bigger')

    def _migrate(self):
        return self.driver.migrate_disk_and_power_off(
            self.ctx, self.server, CONF.host, self._new_flavor(), [])

    def _finish(self, disk_info):
        old = self.server.flavor
        self.server.flavor = self._new_flavor()
        migration = objects.Migration(source_compute=CONF.host,
                                      dest_compute=CONF.host)
        try:
            self.driver.finish_migration(
                self.ctx, migration, self.server, disk_info, [],
                self.glance.image_meta(self.image_id), True, {})
        except Exception:
            self.server.flavor = old
            raise

    def _revert(self):
        migration = objects.Migration(source_compute=CONF.host,
                                      dest_compute=CONF.host)
        self.driver.finish_revert_migration(self.ctx, self.server, [],
                                            migration)

    def test_resize_snapshot_take(self):
        self.faults({'snapshot': {'hard': 1.0, 'count': 1}})
        err = self.assertRaises(exception.NovaException, self._migrate)
        self.assert_nova_error(err)
        self.faults(None)
        # Nova reverts: the VM is as it was, without a resize snapshot.
        self._revert()
        self.assertEqual([], self.checker.check(
            self.vbox, self.driver._pathutils, [self.server],
            allowed_snapshots=()))
        self.assertEqual(256, self.vbox.show_vm_info(
            self.server.uuid)['memory'])

    def test_resize_modifyvm(self):
        disk_info = self._migrate()
        self.faults({'modifyvm': {'hard': 1.0, 'count': 1}})
        err = self.assertRaises(exception.NovaException, self._finish,
                                disk_info)
        self.assert_nova_error(err)
        self.faults(None)
        self.assert_consistent([self.server])
        self._revert()
        self.assertEqual([], self.checker.check(
            self.vbox, self.driver._pathutils, [self.server],
            allowed_snapshots=()))
        info = self.vbox.show_vm_info(self.server.uuid)
        self.assertEqual(256, info['memory'])
        self.assertEqual('running', info['VMState'])

    def test_resize_startvm(self):
        disk_info = self._migrate()
        self.faults({'startvm': {'hard': 1.0, 'count': 1}})
        err = self.assertRaises(exception.NovaException, self._finish,
                                disk_info)
        self.assert_nova_error(err)
        self.faults(None)
        self._revert()
        self.assertEqual([], self.checker.check(
            self.vbox, self.driver._pathutils, [self.server],
            allowed_snapshots=()))

    def test_resize_confirm_snapshot_delete(self):
        disk_info = self._migrate()
        self._finish(disk_info)
        migration = objects.Migration(source_compute=CONF.host,
                                      dest_compute=CONF.host)
        self.faults({'snapshot': {'hard': 1.0, 'count': 1}})
        err = self.assertRaises(exception.NovaException,
                                self.driver.confirm_migration, self.ctx,
                                migration, self.server, [])
        self.assert_nova_error(err)
        self.faults(None)
        self.driver.confirm_migration(self.ctx, migration, self.server, [])
        self.assertEqual([], self.checker.check(
            self.vbox, self.driver._pathutils, [self.server],
            allowed_snapshots=()))
        self.assertEqual(512, self.vbox.show_vm_info(
            self.server.uuid)['memory'])


class VolumeFileTestCase(_ReliabilityBase):
    """Instances with volume files - a VDI attached as it is, a raw file
    through a VMDK descriptor - destroyed under faults, after a failed
    spawn, after a snapshot or during a resize: the files are never
    deleted nor written, and VirtualBox forgets them with the instance."""

    def setUp(self):
        super().setUp()
        self.volume_seeds = itertools.count(1)
        # An instance that stays, with a volume of its own: what is done
        # to the others must not touch it.
        self.bystander_volume = self.make_volume('vdi',
                                                 next(self.volume_seeds))
        self.bystander = self.instance(display_name='bystander')
        self.spawn(self.bystander, block_device_info=self.volume_mapping(
            [self.bystander_volume]))

    def _volumes(self):
        return [self.make_volume(volume_format, next(self.volume_seeds))
                for volume_format in ('vdi', 'raw')]

    def _spawn_with_volumes(self, config_drive=False):
        volumes = self._volumes()
        mapping = self.volume_mapping(volumes)
        if config_drive:
            instance = test_configdrive.metadata_instance(
                self.ctx, uuid=str(uuidlib.uuid4()),
                id=random.randrange(1 << 28, 1 << 31),
                display_name='with volumes', image_ref=self.image_id,
                host='laptop', flavor=objects.Flavor(
                    id=1, flavorid='1', name='tiny', memory_mb=256,
                    vcpus=1, root_gb=0, ephemeral_gb=0, swap=0,
                    extra_specs={}))
            instance.trusted_certs = None  # else loaded from the database
        else:
            instance = self.instance(display_name='with volumes')
        self.spawn(instance, block_device_info=mapping)
        self.assertEqual(sorted(v.path for v in volumes),
                         sorted(self.registered_volumes(volumes)))
        return instance, volumes, mapping

    def _assert_only_bystander_left(self, volumes):
        self.assert_consistent([self.bystander])
        self.assert_volumes_intact(volumes + [self.bystander_volume])
        self.assert_volumes_unregistered(volumes)
        self.assertEqual([self.bystander_volume.path],
                         self.registered_volumes([self.bystander_volume]))

    def _fault_count(self, subcommand):
        with open(os.path.join(self.sim.home, 'faults.json')) as f:
            return json.load(f)[subcommand]['count']

    def test_destroy_under_faults(self):
        """storageattach, closemedium and unregistervm each failing once
        while an instance with a config drive (closed by destroy) is
        destroyed, with its block_device_info or None, and destroyed
        again while destroy fails, as Nova's retried delete does:
        whatever destroy raised, the volume files are as they were, and
        in the end VirtualBox knows none of them. (Destroy detaches no
        volume today; storageattach fails for one that would.)"""
        if not shutil.which(CONF.mkisofs_cmd):
            self.skipTest('%s is not installed' % CONF.mkisofs_cmd)
        self.useFixture(test_configdrive.mock_security_groups())
        self.useFixture(fixtures.MockPatch(
            'nova.objects.BlockDeviceMappingList.get_by_instance_uuid',
            return_value=objects.BlockDeviceMappingList(objects=[])))
        steps = ('storageattach', 'closemedium', 'unregistervm')
        for kind in ('hard', 'transient', 'late'):
            for with_mapping in (True, False):
                instance, volumes, mapping = self._spawn_with_volumes(
                    config_drive=True)
                self.faults({step: {kind: 1.0, 'count': 1}
                             for step in steps})
                errors = []
                for _attempt in range(len(steps) + 1):
                    try:
                        self.driver.destroy(
                            self.ctx, instance, [],
                            mapping if with_mapping else None)
                    except Exception as err:
                        errors.append(err)
                    else:
                        break
                    finally:
                        self.assert_volumes_intact(volumes)
                else:
                    self.fail('destroy keeps failing: %s' % errors)
                for step in ('closemedium', 'unregistervm'):
                    self.assertEqual(0, self._fault_count(step),
                                     'the %s fault did not fire' % step)
                self.faults(None)
                for err in errors:
                    self.assert_nova_error(err)
                if kind != 'hard':
                    # Retried, or undone and retried.
                    self.assertEqual([], errors)
                self._assert_only_bystander_left(volumes)

    def test_detach_fails_then_destroy(self):
        """A detach whose storageattach fails leaves the volume attached;
        the destroy after it forgets the volume and keeps its bytes."""
        instance, volumes, mapping = self._spawn_with_volumes()
        bdm = mapping['block_device_mapping'][0]
        self.faults({'storageattach': {'hard': 1.0, 'count': 1}})
        err = self.assertRaises(
            exception.VolumeDetachFailed, self.driver.detach_volume,
            self.ctx, bdm['connection_info'], instance, bdm['mount_device'])
        self.assert_nova_error(err)
        self.faults(None)
        self.assert_volumes_intact(volumes)
        self.driver.destroy(self.ctx, instance, [], None)
        self._assert_only_bystander_left(volumes)

    def test_spawn_fails_at_startvm(self):
        volumes = self._volumes()
        mapping = self.volume_mapping(volumes)
        instance = self.instance()
        self.faults({'startvm': {'hard': 1.0, 'count': 1}})
        err = self.assertRaises(exception.InstancePowerOnFailure,
                                self.spawn, instance,
                                block_device_info=mapping)
        self.assert_nova_error(err)
        self.faults(None)
        self._assert_only_bystander_left(volumes)
        # Nothing left in the way: the same instance spawns with them.
        self.spawn(instance, block_device_info=mapping)
        self.assertEqual(sorted(v.path for v in volumes),
                         sorted(self.registered_volumes(volumes)))
        self.driver.destroy(self.ctx, instance, [], mapping)
        self._assert_only_bystander_left(volumes)

    def test_snapshot_then_destroy(self):
        instance, volumes, mapping = self._spawn_with_volumes()
        self.driver._snapshotops._image_api = self.glance
        uploads = []
        self.glance.update = (
            lambda context, image_id, meta, data=None, **kwargs:
            uploads.append((image_id, len(data.read()))))
        image_id = str(uuidlib.uuid4())
        self.driver.snapshot(self.ctx, instance, image_id,
                             lambda **kwargs: None)
        self.assertEqual([image_id], [upload[0] for upload in uploads])
        self.assert_volumes_intact(volumes)
        self.driver.destroy(self.ctx, instance, [], mapping)
        self._assert_only_bystander_left(volumes)

    def test_destroy_during_resize(self):
        """A same-host resize not yet confirmed: the VM has the offline
        snapshot nova-resize, taken with the volumes attached."""
        instance, volumes, mapping = self._spawn_with_volumes()
        flavor = objects.Flavor(memory_mb=512, vcpus=2, root_gb=0,
                                ephemeral_gb=0, swap=0, extra_specs={},
                                flavorid='2', name='bigger')
        disk_info = self.driver.migrate_disk_and_power_off(
            self.ctx, instance, CONF.host, flavor, [], mapping)
        instance.flavor = flavor
        migration = objects.Migration(source_compute=CONF.host,
                                      dest_compute=CONF.host)
        self.driver.finish_migration(
            self.ctx, migration, instance, disk_info, [],
            self.glance.image_meta(self.image_id), True, {}, mapping)
        self.assertIn((instance.name, 'nova-resize'), self.assert_consistent(
            [self.bystander, instance]).snapshots)
        self.assert_volumes_intact(volumes)
        self.driver.destroy(self.ctx, instance, [], mapping)
        self._assert_only_bystander_left(volumes)


class BadInputTestCase(_ReliabilityBase):

    def test_hostile_names_and_metadata(self):
        marker = os.path.join(self.top, 'pwned')
        name = ('it\'s "quoted" `touch %s` $(touch %s); rm -rf / #\n'
                '--memory 99999 \\ \t|& > /tmp/x' % (marker, marker))
        instance = self.instance(
            display_name=name, hostname='h',
            metadata={'k"\'$(x)': 'v\n`touch %s`' % marker,
                      '--uuid': '; echo hi'})
        self.spawn(instance)
        info = self.vbox.show_vm_info(instance.uuid)
        self.assertEqual(vmops.sanitize_description(name),
                         info['description'])
        self.assertEqual(256, info['memory'])
        self.assertEqual(instance.name, info['name'])
        self.assertFalse(os.path.exists(marker))
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(instance).state)
        self.assert_consistent([instance])
        self.driver.destroy(self.ctx, instance, [])
        self.assert_consistent([])

    def test_name_starting_with_dashes(self):
        instance = self.instance(display_name='--register --name x')
        self.spawn(instance)
        self.assertEqual('--register --name x', self.vbox.show_vm_info(
            instance.uuid)['description'])
        self.driver.destroy(self.ctx, instance, [])
        self.assert_consistent([])

    def _new_driver(self):
        return base_driver.load_compute_driver(fake_virt.FakeVirtAPI(),
                                               'virtualbox.VBoxDriver')

    def test_vboxmanage_missing(self):
        self.flags(vboxmanage_cmd=os.path.join(self.top, 'no', 'VBoxManage'),
                   group='virtualbox')
        err = self.assertRaises(vbox_exc.VBoxManageNotFound,
                                self._new_driver().init_host, 'laptop')
        self.assertIn('vboxmanage_cmd', str(err))

    def test_vboxmanage_too_old(self):
        fake = os.path.join(self.top, 'VBoxManage')
        with open(fake, 'w') as f:
            f.write('#!/bin/sh\necho 6.0.24r139119\n')
        os.chmod(fake, stat.S_IRWXU)
        self.flags(vboxmanage_cmd=fake, group='virtualbox')
        err = self.assertRaises(vbox_exc.VBoxVersionUnsupported,
                                self._new_driver().init_host, 'laptop')
        self.assertIn('6.0.24', str(err))

    def _init_with_config(self, text):
        path = os.path.join(self.top, 'nova.conf')
        with open(path, 'w') as f:
            f.write(text)
        # The Opt objects are shared with CONF, and this setUp's overrides
        # would win over the file.
        for line in text.splitlines():
            name = line.partition('=')[0].strip()
            if '=' in line and name in CONF.virtualbox:
                CONF.clear_override(name, group='virtualbox')
        conf = cfg.ConfigOpts()
        vbox_conf.register_opts(conf)
        conf([], project='nova', default_config_files=[path])
        self.useFixture(fixtures.MockPatchObject(vbox_driver, 'CONF', conf))
        try:
            driver = vbox_driver.VBoxDriver(fake_virt.FakeVirtAPI())
        except Exception as err:
            # nova.virt.driver.load_compute_driver turns a ValueError here
            # (oslo.config's ConfigFileValueError is one) into "Compute
            # driver ... is not of type ComputeDriver" and exits.
            self.fail('VBoxDriver() must not read the options before '
                      'init_host validates them; it raised %r' % err)
        return self.assertRaises(vbox_exc.VBoxConfigError,
                                 driver.init_host, 'laptop')

    def test_nonsense_config(self):
        err = self._init_with_config('[virtualbox]\nretry_count = many\n'
                                     'vrde_port = 9000-8000\n')
        self.assertIn('retry_count', str(err))

    def test_reversed_port_range(self):
        err = self._init_with_config('[virtualbox]\nvrde_port = 9000-8000\n')
        self.assertIn('vrde_port', str(err))
        self.assertIn('9000-8000', str(err))

    def test_unknown_choice(self):
        err = self._init_with_config('[virtualbox]\nstorage_bus = floppy\n')
        self.assertIn('storage_bus', str(err))

    # -- hostile images ---------------------------------------------------

    def _refused(self, image_id, expected_error=exception.ImageUnacceptable,
                 root_gb=0):
        instance = self.instance(image_ref=image_id, root_gb=root_gb)
        err = self.assertRaises(expected_error, self.spawn, instance,
                                image_id=image_id)
        self.assert_nova_error(err)
        self.assert_consistent([])
        cache = self.driver._pathutils.image_cache_dir()
        left = [n for n in (os.listdir(cache) if os.path.isdir(cache)
                            else []) if image_id in n]
        self.assertEqual([], left)
        return err

    def test_qcow2_declared_raw_bytes(self):
        image_id = self.glance.add(
            harness.make_raw(os.path.join(self.top, 'raw.img')), 'qcow2')
        err = self._refused(image_id)
        self.assertIn('qcow2', str(err))

    def test_qcow2_with_backing_file(self):
        secret = harness.make_raw(os.path.join(self.top, 'host-secret'))
        image_id = self.glance.add(harness.make_qcow2(
            os.path.join(self.top, 'backed.qcow2'), '1M', backing=secret),
            'qcow2')
        err = self._refused(image_id)
        self.assertIn('backing', str(err).lower())

    def test_vmdk_descriptor_to_host_file(self):
        secret = harness.make_raw(os.path.join(self.top, 'host-secret'))
        image_id = self.glance.add(harness.make_vmdk_descriptor(
            os.path.join(self.top, 'flat.vmdk'), secret), 'vmdk')
        self._refused(image_id)

    def test_huge_virtual_size(self):
        image_id = self.glance.add(harness.make_qcow2(
            os.path.join(self.top, 'huge.qcow2'), '1T'), 'qcow2')
        self._refused(image_id, exception.FlavorDiskSmallerThanImage,
                      root_gb=1)

    def test_nothing_left_by_hostile_images_for_the_next_spawn(self):
        image_id = self.glance.add(
            harness.make_raw(os.path.join(self.top, 'raw.img')), 'qcow2')
        self._refused(image_id)
        instance = self.instance()
        self.spawn(instance)
        self.assert_consistent([instance])
        shutil.rmtree(self.driver._pathutils.instance_dir(instance),
                      ignore_errors=True)
        # The checker sees a folder removed behind VirtualBox's back.
        self.assertNotEqual([], self.checker.check(
            self.vbox, self.driver._pathutils, [instance]))
