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

"""A Cinder volume through VirtualBox's own iSCSI initiator, for real.

Cinder's side is our FileISCSIDriver (cinder_virtualbox.file_iscsi) in a
process of its own, as cinder-volume is: Cinder and Nova register
conflicting options in oslo.config's one global CONF, so they cannot share
a process anyway. It makes a 1 GiB volume file, exports it through a tgtd
of the test's own (its own control socket and portal on 127.0.0.1; a tgtd
of the host is never touched) with a CHAP account, and answers
initialize_connection with the connector Nova's driver gives. Nova's side
is the driver (VBoxDriver) on real VirtualBox 7.2 with the tiny guest
(tools/tinyguest) running in driverless mode.

The guest cannot read a disk, so VirtualBox itself proves the bytes: the
test writes random markers into the volume's file and VirtualBox reads them
back through its initiator (``mediumio cat`` and ``clonemedium``): the
right LUN, reached with the right credentials. A wrong secret is refused
(tgtd logs the failed CHAP login, startvm fails). The CHAP secret is on no
process's command line and in none of Nova's, Cinder's and tgtd's logs;
VirtualBox 7.2 itself writes it into the VM's VBox.log (an expected
failure, test_secret_stays_out_of_the_vm_log, until the driver keeps it
out).

Needs root (tgtd answers only root), tgtd (package tgt) and the real
VBoxManage (tools/real-vbox/provision.sh); skipped otherwise.
"""

import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
import uuid as uuidlib

import fixtures

from cinder_virtualbox.tests import own_tgtd
from nova.compute import power_state
from nova import exception
from nova import objects
from nova import test
from nova.tests.functional.virtualbox import test_running_realvbox
from nova.tests.functional.virtualbox import vbox_harness
from nova.virt.virtualbox import parsers

GIB = 1024 ** 3
MIB = 1024 ** 2
WAIT_SECONDS = 60

# cinder-volume, reduced to its driver: one JSON request a line on stdin,
# one JSON answer a line on stdout; the volumes' provider_location and
# provider_auth stay here, as in Cinder's database. Logs at DEBUG go to
# stderr, which the test reads for the secret.
CINDER_VOLUME = r'''
import json
import logging
import sys

logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)

from cinder import context
from cinder import objects
from cinder.tests.unit import fake_volume
from cinder.volume import configuration
from cinder.volume import driver as volume_driver
from oslo_config import cfg

from cinder_virtualbox import file_iscsi

objects.register_all()
GROUP = 'realvbox'
settings = json.loads(sys.stdin.readline())
conf = configuration.Configuration(
    file_iscsi.file_iscsi_opts + volume_driver.volume_opts,
    config_group=GROUP)
for name, value in settings.items():
    cfg.CONF.set_override(name, value, group=GROUP)
ctxt = context.get_admin_context()
drv = file_iscsi.FileISCSIDriver(configuration=conf, host='realvbox@file')
drv.do_setup(ctxt)
drv.check_for_setup_error()
volumes = {}


def handle(request):
    op = request['op']
    if op == 'create':
        volume = fake_volume.fake_volume_obj(
            ctxt, id=request['id'], size=request['size'],
            provider_location=None, provider_auth=None)
        drv.create_volume(volume)
        volumes[volume.id] = volume
        return {'path': drv.local_path(volume)}
    volume = volumes[request['id']]
    if op == 'create_export':
        volume.update(drv.create_export(ctxt, volume, request['connector']))
        return {}
    if op == 'initialize_connection':
        return drv.initialize_connection(volume, request['connector'])
    if op == 'terminate_connection':
        drv.terminate_connection(volume, request['connector'])
        return {}
    if op == 'remove_export':
        drv.remove_export(ctxt, volume)
        return {}
    if op == 'delete':
        drv.delete_volume(volume)
        del volumes[volume.id]
        return {}
    raise ValueError(op)


print(json.dumps({'ready': True}), flush=True)
for line in sys.stdin:
    try:
        answer = {'result': handle(json.loads(line))}
    except Exception as err:
        answer = {'error': '%s: %s' % (type(err).__name__, err)}
    print(json.dumps(answer), flush=True)
'''


class CinderVolumeService(fixtures.Fixture):
    """The Cinder volume driver in a process of its own (see the
    module's docstring)."""

    def __init__(self, tgt, volumes_dir):
        super().__init__()
        self.tgt = tgt
        self.volumes_dir = volumes_dir

    def _setUp(self):
        self.log_path = os.path.join(self.tgt.folder, 'cinder-volume.log')
        with open(self.log_path, 'wb') as log:
            self.proc = subprocess.Popen(
                [sys.executable, '-c', CINDER_VOLUME],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                text=True, cwd=self.tgt.folder)
        self.addCleanup(self._stop)
        self._send({'file_volumes_dir': self.volumes_dir,
                    'file_volumes_target_ip': '127.0.0.1',
                    'file_volumes_target_port': self.tgt.portal_port,
                    'tgtd_control_port': self.tgt.control_port})
        if not self._receive().get('ready'):
            raise AssertionError('cinder-volume did not start: %s' %
                                 self.log())

    def _stop(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()

    def _send(self, message):
        self.proc.stdin.write(json.dumps(message) + '\n')
        self.proc.stdin.flush()

    def _receive(self):
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError('cinder-volume exited: %s' % self.log())
        return json.loads(line)

    def call(self, op, volume_id, **fields):
        self._send(dict(fields, op=op, id=volume_id))
        answer = self._receive()
        if 'error' in answer:
            raise AssertionError('cinder %s: %s' % (op, answer['error']))
        return answer['result']

    def log(self):
        with open(self.log_path, encoding='utf-8', errors='replace') as f:
            return f.read()


class CinderVolumeRealVBoxTestCase(test_running_realvbox.TinyGuestBase,
                                   test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.tgt = self.useFixture(own_tgtd.OwnTgtd())
        # VirtualBox reaches the files through tgtd only: any folder of
        # the test's own.
        self.cinder = self.useFixture(CinderVolumeService(
            self.tgt, os.path.join(self.useFixture(
                fixtures.TempDir()).path, 'file-volumes')))
        self.iqns = []
        self.nova_log = self.useFixture(fixtures.FakeLogger(
            level=logging.DEBUG))
        self.flags(iscsi_initiator_name='iqn.2026-12.org.nova-virtualbox:'
                                        'laptop-%s' % uuidlib.uuid4().hex[:8],
                   group='virtualbox')
        # Every command line this process starts from here on (the
        # driver's VBoxManage calls, the test's own), to look for the
        # secret in.
        self.argvs = []
        real_popen = subprocess.Popen

        def popen(argv, *args, **kwargs):
            self.argvs.append(list(argv))
            return real_popen(argv, *args, **kwargs)
        self.useFixture(fixtures.MonkeyPatch(
            'nova.virt.virtualbox.vboxmanage.subprocess.Popen', popen))

    # -- helpers -----------------------------------------------------------

    def _instance(self):
        return super()._instance(
            display_name='volume-reader', os_type=None,
            flavor=objects.Flavor(memory_mb=64, vcpus=1, root_gb=0,
                                  ephemeral_gb=0, swap=0, extra_specs={}))

    def _leave_nothing(self, instance):
        """Only what this test made: its VM's process, the VM, and media
        of this test's target left registered by a failure."""
        for pid in vbox_harness.vm_processes(instance.uuid):
            os.kill(pid, signal.SIGKILL)
        self.vbm.run('controlvm', instance.uuid, 'poweroff')
        self.vbm.run('unregistervm', instance.uuid)
        for medium in parsers.parse_colon_blocks(
                self.vbm.run('list', 'hdds').stdout):
            if any(iqn in medium.get('Location', '') for iqn in self.iqns):
                self.vbm.run('closemedium', 'disk', medium['UUID'])

    def _banner_seen(self, instance, boots=1):
        banner = self.guest.BANNER + instance.uuid
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            lines = [line for line in self.driver.get_console_output(
                self.ctx, instance).splitlines() if line]
            if lines.count(banner) >= boots:
                return
            if time.monotonic() > deadline:
                self.fail('the guest of %s did not boot: %r' % (
                    instance.uuid, lines))
            time.sleep(0.1)

    def _vm(self, instance):
        return parsers.parse_machine_readable(
            self._vbm('showvminfo', instance.uuid, '--machinereadable'))

    def _volume(self, instance, markers=None):
        """A Cinder volume of 1 GiB holding ``markers`` ({offset: bytes}),
        exported for this instance's connector: (id, file, bdm)."""
        volume_id = str(uuidlib.uuid4())
        path = self.cinder.call('create', volume_id, size=1)['path']
        self.assertEqual(GIB, os.path.getsize(path))
        with open(path, 'r+b') as f:
            for offset, data in (markers or {}).items():
                f.seek(offset)
                f.write(data)
        connector = self.driver.get_volume_connector(instance)
        self.cinder.call('create_export', volume_id, connector=connector)
        info = self.cinder.call('initialize_connection', volume_id,
                                connector=connector)
        self.assertEqual('iscsi', info['driver_volume_type'])
        self.assertEqual('CHAP', info['data']['auth_method'])
        self.iqns.append(info['data']['target_iqn'])
        bdm = {'connection_info': info, 'mount_device': '/dev/sdb',
               'boot_index': None}
        return volume_id, path, bdm

    def _target(self, volume_id):
        return self.tgt.client.find_target(
            'iqn.2010-10.org.openstack:volume-%s' % volume_id)

    def _secret_on_a_command_line(self, secret):
        """VBoxManage calls of the driver, then every process of the host
        (VBoxSVC, the VM's VBoxHeadless, tgtd, cinder-volume)."""
        seen = [' '.join(argv) for argv in self.argvs
                if any(secret in str(arg) for arg in argv)]
        seen += [b' '.join(argv).decode('utf-8', 'replace') for argv in
                 vbox_harness.processes(
                     lambda argv: any(secret.encode() in arg
                                      for arg in argv)).values()]
        return seen

    def _medium_info(self, medium):
        """showmediuminfo without the lines naming the secret (VirtualBox
        prints the initiator's secret among the medium's properties)."""
        text = self._vbm('showmediuminfo', 'disk', medium)
        return parsers.parse_medium_info('\n'.join(
            line for line in text.splitlines()
            if 'InitiatorSecret' not in line))

    def _read_through_virtualbox(self, medium, offset, size):
        """``mediumio cat``: VirtualBox opens the medium (an iSCSI
        login) and reads ``size`` bytes at ``offset``."""
        result = subprocess.run(
            shlex.split(self.vbm.command) + [
                'mediumio', '--disk=%s' % medium, 'cat',
                '--offset=%d' % offset, '--size=%d' % size, '--output=-'],
            capture_output=True, timeout=120)
        self.assertEqual(0, result.returncode, result.stderr)
        return result.stdout

    def _vm_logs(self, instance):
        folder = self._vm(instance)['LogFldr']
        text = ''
        for name in os.listdir(folder):
            if name.startswith('VBox.log'):
                with open(os.path.join(folder, name), errors='replace') as f:
                    text += f.read()
        return text

    # -- tests ---------------------------------------------------------------

    def test_marked_volume_read_by_virtualbox_initiator(self):
        instance = self._instance()
        start, last = os.urandom(32), os.urandom(32)
        volume_id, path, bdm = self._volume(
            instance, {MIB: start, GIB - 512: last})
        info = bdm['connection_info']
        secret = info['data']['auth_password']
        bdi = {'block_device_mapping': [bdm]}

        # Spawned with the volume: VirtualBox's initiator logs in at
        # startvm, which fails when it cannot; the guest boots.
        self._spawn(instance, bdi=bdi)
        self._banner_seen(instance)
        self.assertEqual(power_state.RUNNING,
                         self.driver.get_info(instance).state)
        vm = self._vm(instance)
        iqn = info['data']['target_iqn']
        self.assertEqual('127.0.0.1|%s|1' % iqn, vm['SATA-1-0'])
        medium = vm['SATA-ImageUUID-1-0']
        # tgtd sees VirtualBox's initiator, by the connector's name,
        # logged in to this volume's target while the VM runs.
        self.assertEqual(1, self._target(volume_id).sessions)
        self.assertIn('Initiator: %s ' %
                      self.driver.get_volume_connector(instance)['initiator'],
                      self.tgt.show())
        self.assertEqual([], self._secret_on_a_command_line(secret))
        shown = self._medium_info(medium)
        self.assertEqual(('locked write', 'iSCSI', 1024),
                         (shown['State'], shown['Storage format'],
                          shown['capacity_mb']))
        self.assertIn(instance.uuid, shown['in_use_by'])

        # The VM off (so nothing else holds the LUN), VirtualBox reads it
        # itself: the markers at their offsets, through a range read and
        # through a copy of the whole LUN.
        self.driver.power_off(instance, timeout=30, retry_interval=10)
        self.assertEqual(power_state.SHUTDOWN,
                         self.driver.get_info(instance).state)
        self.assertEqual(0, self._target(volume_id).sessions)
        shown = self._medium_info(medium)
        self.assertEqual(('created', 1024),
                         (shown['State'], shown['capacity_mb']))
        self.assertEqual(start + bytes(480),
                         self._read_through_virtualbox(medium, MIB, 512))
        self.assertEqual(last + bytes(480),
                         self._read_through_virtualbox(medium, GIB - 512,
                                                       512))
        copy = os.path.join(self.instances, 'lun-copy.raw')
        self.assertIn("Clone medium created in format 'RAW'", self._vbm(
            'clonemedium', 'disk', medium, copy, '--format', 'RAW'))
        self._vbm('closemedium', 'disk', copy)
        self.assertEqual(GIB, os.path.getsize(copy))
        with open(copy, 'rb') as f:
            f.seek(MIB)
            self.assertEqual(start, f.read(len(start)))
            f.seek(GIB - 512)
            self.assertEqual(last, f.read(len(last)))
        os.unlink(copy)

        # Started again by Nova, still with the volume: a second login.
        self.driver.power_on(self.ctx, instance, [], block_device_info=bdi)
        self._banner_seen(instance, boots=2)
        self.assertEqual(1, self._target(volume_id).sessions)
        self.driver.power_off(instance, timeout=30, retry_interval=10)

        # Detach, then Cinder removes the export and the volume: no
        # medium, no target, no account, no file left.
        self.driver.detach_volume(self.ctx, info, instance, '/dev/sdb')
        self.assertIn(self._vm(instance).get('SATA-1-0'), (None, 'none'))
        self.assertNotIn(iqn, self._vbm('list', 'hdds'))
        connector = self.driver.get_volume_connector(instance)
        self.cinder.call('terminate_connection', volume_id,
                         connector=connector)
        self.cinder.call('remove_export', volume_id)
        self.assertIsNone(self._target(volume_id))
        self.assertEqual([], self.tgt.client.show_accounts())
        self.cinder.call('delete', volume_id)
        self.assertFalse(os.path.exists(path))
        self.assertEqual([], os.listdir(os.path.dirname(path)))
        self.driver.destroy(self.ctx, instance, [])
        self.assertNotIn(instance.uuid, self._vbm('list', 'vms'))

        # The secret went to VirtualBox in a file, on calls seen here.
        self.assertIn('--passwordfile', [
            arg for argv in self.argvs if 'storageattach' in argv
            for arg in argv])
        self.assertEqual([], self._secret_on_a_command_line(secret))
        self._assert_secret_in_no_log(secret)

    def _assert_secret_in_no_log(self, *secrets):
        with open(self.tgt.log_path, errors='replace') as f:
            tgtd_log = f.read()
        for name, text in (('Nova', self.nova_log.output),
                           ('cinder-volume', self.cinder.log()),
                           ('tgtd', tgtd_log)):
            for secret in secrets:
                self.assertNotIn(secret, text,
                                 'the secret is in the log of %s' % name)

    def test_wrong_chap_secret_is_refused(self):
        instance = self._instance()
        volume_id, path, bdm = self._volume(instance)
        info = bdm['connection_info']
        secret = info['data']['auth_password']
        wrong = json.loads(json.dumps(info))
        wrong['data']['auth_password'] = secret[::-1]
        self.assertNotEqual(secret, secret[::-1])
        self._spawn(instance, power_on=False)
        self.driver.attach_volume(self.ctx, wrong, instance, '/dev/sdb')
        # VirtualBox keeps the medium, but cannot open it: the login fails,
        # and tgtd says why.
        medium = self._vm(instance)['SATA-ImageUUID-1-0']
        shown = self._medium_info(medium)
        self.assertEqual(('inaccessible', 0),
                         (shown['State'], shown['capacity_mb']))
        refused = "Could not open the medium '127.0.0.1|%s|1'." % (
            info['data']['target_iqn'])
        self.assertEqual(refused, shown['Access Error'])
        err = self.assertRaises(exception.InstancePowerOnFailure,
                                self.driver.power_on, self.ctx, instance, [])
        self.assertIn(refused, str(err))
        self.assertIn('VERR_IO_GEN_FAILURE', str(err))
        self.assertEqual(power_state.SHUTDOWN,
                         self.driver.get_info(instance).state)
        self.assertEqual(0, self._target(volume_id).sessions)
        with open(self.tgt.log_path, errors='replace') as f:
            self.assertIn('CHAP initiator auth.: authentication of %s '
                          'failed' % self.driver.get_volume_connector(
                              instance)['initiator'], f.read())

        # Detached, and attached with the right secret: the VM starts.
        self.driver.detach_volume(self.ctx, wrong, instance, '/dev/sdb')
        self.assertNotIn(info['data']['target_iqn'],
                         self._vbm('list', 'hdds'))
        self.driver.attach_volume(self.ctx, info, instance, '/dev/sdb')
        self.driver.power_on(self.ctx, instance, [])
        self._banner_seen(instance)
        self.assertEqual(1, self._target(volume_id).sessions)
        # Destroyed with its volume mapped: the volume is detached, not
        # deleted, and Cinder can remove it.
        self.driver.destroy(self.ctx, instance, [], block_device_info={
            'block_device_mapping': [bdm]})
        self.assertNotIn(info['data']['target_iqn'],
                         self._vbm('list', 'hdds'))
        self.assertTrue(os.path.exists(path))
        self.cinder.call('remove_export', volume_id)
        self.cinder.call('delete', volume_id)
        self.assertFalse(os.path.exists(path))
        self.assertEqual([], self._secret_on_a_command_line(secret))
        self.assertEqual([], self._secret_on_a_command_line(secret[::-1]))
        self._assert_secret_in_no_log(secret, secret[::-1])

    def test_secret_stays_out_of_the_vm_log(self):
        instance = self._instance()
        volume_id, path, bdm = self._volume(instance)
        secret = bdm['connection_info']['data']['auth_password']
        self._spawn(instance, bdi={'block_device_mapping': [bdm]})
        self._banner_seen(instance)
        vm_log = self._vm_logs(instance)
        self.assertIn('InitiatorUsername', vm_log)
        # VirtualBox 7.2 writes the medium's configuration, the initiator's
        # secret included, into the VM's release log (the CFGM dump) at
        # every start.
        self.expectFailure(
            'VirtualBox 7.2 logs InitiatorSecret in VBox.log',
            self.assertNotIn, secret, vm_log)
