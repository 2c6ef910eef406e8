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

"""NICs and volumes of a VM on the simulator and on the real VBoxManage.

The real VBoxManage cannot start a VM on these machines, so the running-VM
cases run on the simulator only.
"""

import os
import random
import socket
import subprocess
import time
import uuid

import fixtures

from nova.network import model as network_model
from nova import objects
from nova import test
from nova.tests.functional.virtualbox import vbox_fixtures
from nova.virt.virtualbox import conf as vbox_conf
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import parsers
from nova.virt.virtualbox import vboxmanage
from nova.virt.virtualbox import vif as vbox_vif
from nova.virt.virtualbox import volumeops

import nova.conf

CONF = nova.conf.CONF
vbox_conf.register_opts(CONF)

IQN = 'iqn.2010-10.org.openstack:volume-0b5e'
SECRET = 'ChapSecret-7'


class FakeInstance(object):
    def __init__(self):
        self.uuid = str(uuid.uuid4())
        self.name = 'instance-%08x' % (uuid.UUID(self.uuid).int % 2 ** 32)


def make_vif(number, physnet=None, label='private'):
    network = network_model.Network(id='net-%d' % number, label=label,
                                    bridge='br-int',
                                    physical_network=physnet)
    return network_model.VIF(id='port-%d' % number,
                             address='fa:16:3e:00:01:%02x' % number,
                             network=network, type='ovs', active=True)


def iscsi_info(chap=True):
    data = {'target_portal': '127.0.0.1:3260', 'target_iqn': IQN,
            'target_lun': 1, 'volume_id': 'vol-1'}
    if chap:
        data.update(auth_method='CHAP', auth_username='nova',
                    auth_password=SECRET)
    return {'driver_volume_type': 'iscsi', 'data': data}


TGTD = '/usr/sbin/tgtd'
TGTADM = '/usr/sbin/tgtadm'


class TgtFixture(fixtures.Fixture):
    """A real iSCSI target: Debian's tgtd on 127.0.0.1 with one 16 MiB LUN
    behind CHAP (user nova, password SECRET). Skips without tgt (apt-get
    install tgt) or without root."""

    target = 'iqn.2010-10.org.openstack:volume-tgt'

    def setUp(self):
        # Before Fixture.setUp, which would turn a skip into a SetupError.
        if not os.access(TGTD, os.X_OK) or os.geteuid() != 0:
            raise test.TestCase.skipException(
                'no tgtd (apt-get install tgt) or not root')
        super().setUp()

    def _setUp(self):
        folder = self.useFixture(fixtures.TempDir()).path
        lun = os.path.join(folder, 'lun.img')
        with open(lun, 'wb') as f:
            f.truncate(16 * 1024 * 1024)
        with socket.socket() as probe:
            probe.bind(('127.0.0.1', 0))
            self.port = probe.getsockname()[1]
        self.control = str(random.randint(100, 30000))
        self.proc = subprocess.Popen(
            [TGTD, '-f', '-C', self.control, '--iscsi',
             'portal=127.0.0.1:%d' % self.port],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(self._stop)
        deadline = time.monotonic() + 10
        while self._adm('--op', 'show', '--mode', 'target').returncode:
            if time.monotonic() > deadline:
                raise AssertionError('tgtd did not start')
            time.sleep(0.1)
        for args in (
                ('--op', 'new', '--mode', 'target', '--tid', '1', '-T',
                 self.target),
                ('--op', 'new', '--mode', 'logicalunit', '--tid', '1',
                 '--lun', '1', '-b', lun),
                ('--op', 'bind', '--mode', 'target', '--tid', '1', '-I',
                 'ALL'),
                ('--op', 'new', '--mode', 'account', '--user', 'nova',
                 '--password', SECRET),
                ('--op', 'bind', '--mode', 'account', '--tid', '1',
                 '--user', 'nova')):
            result = self._adm(*args)
            if result.returncode:
                raise AssertionError('tgtadm %s: %s' % (args, result.stderr))

    def _adm(self, *args):
        return subprocess.run([TGTADM, '-C', self.control, '--lld', 'iscsi']
                              + list(args), capture_output=True, text=True)

    def _stop(self):
        self._adm('--op', 'delete', '--mode', 'target', '--tid', '1',
                  '--force')
        self._adm('--op', 'delete', '--mode', 'system')
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class _NetworkVolumeTests(object):

    backend = None

    def setUp(self):
        super().setUp()
        self.vbm = self.useFixture(self.backend())
        folder = getattr(self.vbm, 'workdir', None)
        self.instances = self.useFixture(fixtures.TempDir(
            rootdir=folder)).path
        self.flags(instances_path=self.instances, host='laptop')
        self.flags(vboxmanage_cmd=self.vbm.command,
                   iscsi_initiator_name='iqn.1994-05.com.example:laptop',
                   group='virtualbox')
        self.vbox = vboxmanage.VBoxManage.from_conf(CONF)
        self.vifops = vbox_vif.VIFOps(self.vbox)
        self.volops = volumeops.VolumeOps(self.vbox)
        self.instance = FakeInstance()
        self._vbm('createvm', '--name', self.instance.name, '--uuid',
                  self.instance.uuid, '--ostype', 'Linux_64',
                  '--basefolder', self.instances, '--register')
        self.addCleanup(self._cleanup)
        self._vbm('storagectl', self.instance.uuid, '--name', 'SATA',
                  '--add', 'sata', '--controller', 'IntelAhci',
                  '--portcount', '4')

    def _vbm(self, *args):
        result = self.vbm.run(*args)
        self.assertEqual(0, result.returncode, result.stderr)
        return result.stdout

    def _cleanup(self):
        self.vbm.run('controlvm', self.instance.uuid, 'poweroff')
        self.vbm.run('unregistervm', self.instance.uuid, '--delete')
        for medium in parsers.parse_colon_blocks(
                self.vbm.run('list', 'hdds').stdout):
            if medium.get('Location', '').startswith(self.instances):
                self.vbm.run('closemedium', 'disk', medium['UUID'])

    def _info(self):
        return self.vbox.show_vm_info(self.instance.uuid)

    def _bridged_name(self):
        blocks = parsers.parse_colon_blocks(
            self._vbm('list', 'bridgedifs'))
        self.assertTrue(blocks)
        return blocks[0]['Name']

    # -- NICs ------------------------------------------------------------

    def test_nic_args_give_each_nic_its_mac_and_attachment(self):
        bridge = self._bridged_name()
        self.flags(physical_network_mappings=[
            'physnet1:bridged:%s' % bridge, 'private:intnet:nova-net'],
            group='virtualbox')
        self.vifops.validate()
        vifs = [make_vif(1, physnet='physnet1'), make_vif(2),
                make_vif(3, label='x')]
        args = self.vifops.nic_args(
            self.instance, vifs, objects.ImageMeta.from_dict(
                {'properties': {'hw_vif_model': 'virtio'}}))
        self.vbox.run('modifyvm', self.instance.uuid, *args)
        info = self._info()
        self.assertEqual('bridged', info['nic1'])
        self.assertEqual(bridge, info['bridgeadapter1'])
        self.assertEqual('FA163E000101', info['macaddress1'])
        self.assertEqual('virtio', info['nictype1'])
        self.assertEqual('on', info['cableconnected1'])
        self.assertEqual('intnet', info['nic2'])
        self.assertEqual('nova-net', info['intnet2'])
        self.assertEqual('FA163E000102', info['macaddress2'])
        self.assertEqual('nat', info['nic3'])
        self.assertEqual('FA163E000103', info['macaddress3'])
        for number in range(4, 9):
            self.assertEqual('none', info['nic%d' % number])

    def test_missing_host_interface_is_a_clear_error(self):
        self.flags(physical_network_mappings=['physnet1:bridged:nosuch0'],
                   group='virtualbox')
        err = self.assertRaises(vbox_exc.VBoxConfigError,
                                self.vifops.validate)
        self.assertIn("'nosuch0'", str(err))
        self.assertIn(self._bridged_name(), str(err))

    def test_detach_interface_on_stopped_vm_removes_the_nic(self):
        meta = objects.ImageMeta.from_dict({})
        self.vbox.run('modifyvm', self.instance.uuid, *self.vifops.nic_args(
            self.instance, [make_vif(1), make_vif(2)], meta))
        self.assertEqual(2, self.vifops.detach_interface(self.instance,
                                                         make_vif(2)))
        info = self._info()
        self.assertEqual('none', info['nic2'])
        self.assertEqual('nat', info['nic1'])
        self.assertEqual('FA163E000101', info['macaddress1'])

    # -- volumes -----------------------------------------------------------

    def _slot(self, port):
        info = self._info()
        return (info.get('SATA-%d-0' % port),
                info.get('SATA-ImageUUID-%d-0' % port),
                info.get('SATA-hot-pluggable-%d-0' % port))

    def _registered(self, text):
        return text in self._vbm('list', 'hdds')

    def test_iscsi_volume_on_stopped_vm(self):
        logger = self.useFixture(fixtures.FakeLogger(level='DEBUG'))
        self.volops.attach_volume(iscsi_info(), self.instance, '/dev/sdb')
        location, medium, hot = self._slot(1)
        self.assertIn(IQN, location)
        self.assertEqual('on', hot)
        # The secret went through the password file.
        self.assertIn('InitiatorSecret=%s' % SECRET,
                      self._vbm('showmediuminfo', 'disk', medium))
        self.assertNotIn(SECRET, logger.output)
        self.volops.detach_volume(iscsi_info(), self.instance, '/dev/sdb')
        self.assertIn(self._slot(1)[0], (None, 'none'))
        self.assertFalse(self._registered(IQN))

    def _raw_volume(self):
        path = os.path.join(self.useFixture(fixtures.TempDir(
            rootdir=getattr(self.vbm, 'workdir', None))).path, 'volume-2')
        with open(path, 'wb') as f:
            f.truncate(4 * 1024 * 1024)
        return {'driver_volume_type': 'local',
                'data': {'device_path': path, 'volume_id': 'vol-2'}}

    def test_file_volume_on_stopped_vm(self):
        info = self._raw_volume()
        self.volops.attach_volume(info, self.instance, '/dev/sdc')
        location, medium, hot = self._slot(2)
        self.assertEqual(self.volops.descriptor_path(self.instance, info),
                         location)
        self.volops.detach_volume(info, self.instance, '/dev/sdc')
        self.assertIn(self._slot(2)[0], (None, 'none'))
        self.assertFalse(os.path.exists(location))
        self.assertTrue(os.path.exists(info['data']['device_path']))

    def test_volume_stays_out_of_snapshots(self):
        """Attached writethrough: a VirtualBox snapshot (the live Glance
        snapshot's, a resize's) leaves the volume attached as itself, so
        the detach finds and removes it."""
        info = self._raw_volume()
        bdi = {'block_device_mapping': [
            {'connection_info': info, 'mount_device': '/dev/sdb',
             'boot_index': None}]}
        self.volops.attach_volumes_for_spawn(self.instance, bdi)
        descriptor = self.volops.descriptor_path(self.instance, info)
        self._vbm('snapshot', self.instance.uuid, 'take', 'nova-resize')
        self.assertEqual(descriptor, self._slot(1)[0])
        self.volops.detach_volume(info, self.instance, '/dev/sdb')
        self.assertIn(self._slot(1)[0], (None, 'none'))
        self.assertTrue(os.path.exists(info['data']['device_path']))

    # -- running VMs (a VM with no bootable disk: it runs in its BIOS) -------

    def _start(self):
        self._vbm('startvm', self.instance.uuid, '--type', 'headless')
        self.assertEqual('running', self._info()['VMState'])

    def test_detach_interface_on_running_vm_disconnects_the_nic(self):
        meta = objects.ImageMeta.from_dict({})
        self.vbox.run('modifyvm', self.instance.uuid, *self.vifops.nic_args(
            self.instance, [make_vif(1), make_vif(2)], meta))
        self._start()
        self.assertEqual(2, self.vifops.detach_interface(self.instance,
                                                         make_vif(2)))
        info = self._info()
        self.assertEqual('null', info['nic2'])
        self.assertEqual('off', info['cableconnected2'])
        self.assertEqual('nat', info['nic1'])
        self.assertEqual('on', info['cableconnected1'])
        # Repeated by Nova after a failure: nothing more to do.
        self.assertEqual(2, self.vifops.detach_interface(self.instance,
                                                         make_vif(2)))
        # The disconnected adapter outlives the run.
        self._vbm('controlvm', self.instance.uuid, 'poweroff')
        info = self._info()
        self.assertEqual('null', info['nic2'])
        self.assertEqual('off', info['cableconnected2'])

    def _iscsi_volume(self):
        """An iSCSI volume the VM can start with."""
        return iscsi_info(chap=False)

    def test_volumes_on_running_vm(self):
        stopped_time = self._iscsi_volume()
        self.volops.attach_volume(stopped_time, self.instance, '/dev/sdb')
        self._start()
        # Attached hot-pluggable while stopped: leaves the running VM.
        self.volops.detach_volume(stopped_time, self.instance, '/dev/sdb')
        self.assertIn(self._slot(1)[0], (None, 'none'))
        # Hot-plugged into the running VM's SATA controller: marked
        # hot-pluggable by VirtualBox, so it can leave again.
        raw = self._raw_volume()
        self.volops.attach_volume(raw, self.instance, '/dev/sdc')
        self.assertIn('volume-vol-2.vmdk', self._slot(2)[0])
        self.assertEqual('on', self._info()['SATA-hot-pluggable-2-0'])
        self.volops.detach_volume(raw, self.instance, '/dev/sdc')
        self.assertIn(self._slot(2)[0], (None, 'none'))


class SimulatorNetworkVolumesTestCase(_NetworkVolumeTests, test.NoDBTestCase):
    backend = vbox_fixtures.SimulatorFixture


class RealVBoxNetworkVolumesTestCase(_NetworkVolumeTests,
                                     test.NoDBTestCase):
    backend = vbox_fixtures.RealVBoxFixture

    def _iscsi_volume(self):
        """A LUN of a real target: VirtualBox's initiator logs in when the
        VM starts (and startvm fails when it cannot)."""
        tgt = self.useFixture(TgtFixture())
        return {'driver_volume_type': 'iscsi',
                'data': {'target_portal': '127.0.0.1:%d' % tgt.port,
                         'target_iqn': tgt.target, 'target_lun': 1,
                         'auth_method': 'CHAP', 'auth_username': 'nova',
                         'auth_password': SECRET, 'volume_id': 'vol-t'}}

    def test_iscsi_volume_from_a_real_target_with_chap(self):
        info = self._iscsi_volume()
        self.volops.attach_volume(info, self.instance, '/dev/sdb')
        location, medium, hot = self._slot(1)
        # showmediuminfo opens the medium: VirtualBox's initiator logs in
        # with the CHAP secret from the password file and reads the size.
        shown = parsers.parse_medium_info(
            self._vbm('showmediuminfo', 'disk', medium))
        self.assertEqual('created', shown['State'])
        self.assertEqual(16, shown['capacity_mb'])
        self.volops.detach_volume(info, self.instance, '/dev/sdb')
        self.assertFalse(self._registered(info['data']['target_iqn']))
