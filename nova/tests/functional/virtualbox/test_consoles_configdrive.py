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

"""Consoles and the config drive against the simulator and real VBoxManage.

Each test creates VMs as spawn does (createvm in the instances folder),
applies ConsoleOps' modifyvm arguments in one call or attaches the config
drive, reads the VM back with showvminfo and deletes everything.
"""

import os
import random
import shutil
import socket
import tempfile
import uuid

import fixtures

from nova import context as nova_context
from nova import exception
from nova import objects
from nova import test
from nova.tests.functional.virtualbox import vbox_fixtures
from nova.tests.unit.virt.virtualbox import test_base
from nova.tests.unit.virt.virtualbox import test_configdrive
from nova.virt.virtualbox import conf as vbox_conf
from nova.virt.virtualbox import configdrive
from nova.virt.virtualbox import consoleops
from nova.virt.virtualbox import pathutils
from nova.virt.virtualbox import vboxmanage

import nova.conf

CONF = nova.conf.CONF
vbox_conf.register_opts(CONF)


class _ConsoleTests(object):
    """The same checks on either VirtualBox; subclasses pick which."""

    backend = None

    def setUp(self):
        super().setUp()
        self.vbm = self.useFixture(self.backend())
        # /tmp: the real VBoxManage runs in a chroot that shares it.
        self.instances = self.useFixture(fixtures.TempDir(
            rootdir=tempfile.gettempdir())).path
        lock_path = self.useFixture(fixtures.TempDir()).path
        self.flags(instances_path=self.instances)
        self.flags(lock_path=lock_path, group='oslo_concurrency')
        self.flags(vboxmanage_cmd=self.vbm.command, retry_interval=0.1,
                   group='virtualbox')
        self.vbox = vboxmanage.VBoxManage.from_conf(CONF)
        self.pathutils = pathutils.PathUtils()
        self.ops = consoleops.ConsoleOps(self.vbox, self.pathutils)

    def new_instance(self):
        number = random.randrange(1 << 28, 1 << 31)
        return test_base.FakeInstance(uuid=str(uuid.uuid4()),
                                      name='instance-%08x' % number)

    def create_vm(self, inst):
        """createvm as spawn does; deleted again at the end."""
        folder = os.path.dirname(self.pathutils.instance_dir(inst))
        self.vbox.run('createvm', '--name', inst.name, '--uuid', inst.uuid,
                      '--basefolder', folder, '--register', retry=False)
        self.addCleanup(self.delete_vm, inst)
        self.assertTrue(self.pathutils.is_nova_vm(inst.name))

    def delete_vm(self, inst):
        """destroy: unregister with every medium, remove the folder."""
        try:
            self.vbox.run('unregistervm', inst.uuid, '--delete-all')
        except vboxmanage.vbox_exc.VBoxObjectNotFound:
            pass
        shutil.rmtree(self.pathutils.instance_dir(inst), ignore_errors=True)

    def info(self, inst):
        return self.vbox.show_vm_info(inst.uuid)

    def settings(self, inst):
        with open(os.path.join(self.pathutils.instance_dir(inst),
                               inst.name + '.vbox')) as f:
            return f.read()

    # -- VRDE and the serial port --------------------------------------------

    def test_vnc_unique_port_password_and_serial_in_one_modifyvm(self):
        self.flags(remote_display=True, vrde_module='VNC',
                   vrde_unique_port=True, vrde_port='15900-15901',
                   vrde_password_length=12, vrde_address='127.0.0.1',
                   group='virtualbox')
        self.assertEqual('VNC', self.ops.check_host())
        first, second, third = (self.new_instance() for _i in range(3))
        for inst in (first, second):
            self.create_vm(inst)
            args = self.ops.vrde_args(inst) + self.ops.serial_args(inst)
            self.vbox.run('modifyvm', inst.uuid, *args)
        info = self.info(first)
        self.assertEqual('on', info['vrde'])
        self.assertEqual('15900', info['vrdeports'])
        self.assertEqual('127.0.0.1', info['vrdeaddress'])
        self.assertEqual('null', info['vrdeauthtype'])
        self.assertEqual('0x03f8,4', info['uart1'])
        self.assertEqual(
            'file,' + self.pathutils.console_log_path(first),
            info['uartmode1'])
        self.assertEqual('15901', self.info(second)['vrdeports'])
        # showvminfo hides VNCPassword; the settings file keeps it.
        with open(self.pathutils.vrde_password_path(first)) as f:
            password = f.read()
        self.assertNotIn(password, str(info))
        self.assertIn('name="VNCPassword" value="%s"' % password,
                      self.settings(first))
        # Nova's VNC proxy gets the driver's relay, which answers the
        # password for it.
        self.addCleanup(self.ops.close_vnc_consoles)
        console = self.ops.get_vnc_console(None, first)
        self.assertEqual('127.0.0.1', console.host)
        self.assertNotIn(console.port, (15900, 15901))
        # Range exhausted until destroy frees a port.
        self.create_vm(third)
        self.assertRaises(consoleops.VRDEPortsExhausted,
                          self.ops.vrde_args, third)
        self.delete_vm(first)
        args = self.ops.vrde_args(third)
        self.vbox.run('modifyvm', third.uuid, *args)
        self.assertEqual('15900', self.info(third)['vrdeports'])

    def test_vnc_console_always_has_a_password(self):
        # VirtualBox's VNC server lets no one in without VNCPassword.
        self.flags(remote_display=True, vrde_module='VNC',
                   vrde_unique_port=True, vrde_port='15910-15919',
                   vrde_address='127.0.0.1', group='virtualbox')
        inst = self.new_instance()
        self.create_vm(inst)
        self.vbox.run('modifyvm', inst.uuid, *self.ops.vrde_args(inst))
        with open(self.pathutils.vrde_password_path(inst)) as f:
            password = f.read()
        self.assertEqual(8, len(password))
        self.assertIn('name="VNCPassword" value="%s"' % password,
                      self.settings(inst))
        # The console is the relay's: it listens even where nothing
        # answers behind it (the simulator has no VRDE server).
        self.addCleanup(self.ops.close_vnc_consoles)
        console = self.ops.get_vnc_console(None, inst)
        self.assertEqual('127.0.0.1', console.host)
        self.assertNotEqual(15910, console.port)
        socket.create_connection((console.host, console.port),
                                 timeout=10).close()

    def test_vrde_off(self):
        inst = self.new_instance()
        self.create_vm(inst)
        self.vbox.run('modifyvm', inst.uuid, *self.ops.vrde_args(inst))
        self.assertEqual('off', self.info(inst)['vrde'])
        self.assertRaises(exception.ConsoleTypeUnavailable,
                          self.ops.get_vnc_console, None, inst)

    def test_missing_extension_pack(self):
        self.flags(remote_display=True, vrde_module='No Such Pack',
                   group='virtualbox')
        err = self.assertRaises(vboxmanage.vbox_exc.VBoxConfigError,
                                self.ops.check_host)
        self.assertIn('No Such Pack', str(err))

    # -- config drive ---------------------------------------------------------

    def test_config_drive_as_dvd(self):
        if not shutil.which(CONF.mkisofs_cmd):
            self.skipTest('%s is not installed (apt-get install '
                          'genisoimage)' % CONF.mkisofs_cmd)
        self.useFixture(test_configdrive.mock_security_groups())
        self.useFixture(fixtures.MockPatch(
            'nova.objects.BlockDeviceMappingList.get_by_instance_uuid',
            return_value=objects.BlockDeviceMappingList(objects=[])))
        context = nova_context.RequestContext('user', 'project')
        inst = test_configdrive.metadata_instance(
            context, uuid=str(uuid.uuid4()),
            id=random.randrange(1 << 28, 1 << 31))
        self.create_vm(inst)
        cd = configdrive.ConfigDrive(self.vbox, self.pathutils)
        path = cd.create(context, inst, [], 'pw',
                         test_configdrive.network_info())
        files, label = test_configdrive.read_iso9660(path)
        self.assertEqual('config-2', label)
        self.assertIn('openstack/latest/meta_data.json', files)
        self.vbox.run('storagectl', inst.uuid, '--name', 'SATA', '--add',
                      'sata', '--portcount', '2')
        cd.attach(inst, 'SATA', 1)
        info = self.info(inst)
        self.assertEqual(path, info['SATA-1-0'])
        self.assertIn(path, self.vbox.run('list', 'dvds').stdout)
        # destroy: --delete-all deletes the ISO and forgets it.
        self.delete_vm(inst)
        self.assertFalse(os.path.exists(path))
        self.assertNotIn(path, self.vbox.run('list', 'dvds').stdout)


class SimulatorConsolesTestCase(_ConsoleTests, test.NoDBTestCase):
    backend = vbox_fixtures.SimulatorFixture


class RealVBoxConsolesTestCase(_ConsoleTests, test.NoDBTestCase):
    backend = vbox_fixtures.RealVBoxFixture
