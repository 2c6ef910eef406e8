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

"""Tests of the consoles: VRDE ports, passwords, TLS, serial log."""

import logging
import os
import socket
import stat
import subprocess
import sys
import textwrap
import threading
from unittest import mock

import fixtures

from nova.console import type as console_type
from nova import exception
from nova.tests.unit.virt.virtualbox import test_base
from nova.tests.unit.virt.virtualbox import test_vncrelay
from nova.virt import fake as fake_virt
from nova.virt.virtualbox import consoleops
from nova.virt.virtualbox import driver
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import pathutils
from nova.virt.virtualbox import vboxmanage
from nova.virt.virtualbox import vncrelay

UUID = '4fd89640-4231-4c44-a7b5-a3c7ca859849'

# `VBoxManage list extpacks` of the real VirtualBox 7.2 with the VNC pack
# (some lines end in blanks).
EXTPACKS_VNC = '\n'.join([
    'Extension Packs: 1',
    'Pack no. 0:   VNC',
    'Version:        7.2.22',
    'Revision:       175245',
    'Edition:        ',
    'Description:    VNC plugin module',
    'VRDE Module:    VBoxVNC',
    'Crypto Module:  ',
    'Usable:         true',
    'Why unusable:   ',
    ''])
# The same layout with Oracle's pack added (made up from the above).
EXTPACKS_BOTH = EXTPACKS_VNC.replace('Packs: 1', 'Packs: 2') + '\n'.join([
    '',
    'Pack no. 1:   Oracle VM VirtualBox Extension Pack',
    'Version:        7.0.20',
    'Revision:       163906',
    'Edition:        ',
    'Description:    Oracle Cloud Infrastructure integration, Host Webcam, '
    'VirtualBox RDP, PXE ROM, Disk Encryption, NVMe, full VM encryption.',
    'VRDE Module:    VBoxVRDP',
    'Crypto Module:  VBoxPuelCrypto',
    'Usable:         true',
    'Why unusable:   ',
    ''])


def instance(number):
    return test_base.FakeInstance(
        uuid='4fd89640-4231-4c44-a7b5-%012d' % number,
        name='instance-%08x' % number)


class _Base(test_base.VBoxTestCase):

    def setUp(self):
        super().setUp()
        self.lock_path = self.useFixture(fixtures.TempDir()).path
        self.flags(lock_path=self.lock_path, group='oslo_concurrency')
        self.pathutils = pathutils.PathUtils()
        self.ops = consoleops.ConsoleOps(self.vbox, self.pathutils)
        self.inst = test_base.FakeInstance()
        self.vbox.run.return_value = vboxmanage.Result(EXTPACKS_BOTH, '')

    def vm_dir(self, inst):
        path = self.pathutils.instance_dir(inst)
        os.makedirs(path, exist_ok=True)
        return path

    def vms_path(self):
        """The folder of the VM folders."""
        return os.path.dirname(self.pathutils.instance_dir(self.inst))

    def vrde(self, **flags):
        flags.setdefault('remote_display', True)
        self.flags(group='virtualbox', **flags)


class VRDEArgsTestCase(_Base):

    def test_disabled(self):
        self.assertEqual(['--vrde', 'off'], self.ops.vrde_args(self.inst))
        self.assertEqual({}, self.ops.used_ports())

    def test_rdp_shared_range(self):
        self.vrde(vrde_port='5000-5010, 5020', vrde_address='10.0.0.5')
        self.assertEqual(
            ['--vrde', 'on',
             '--vrde-extpack', 'Oracle VM VirtualBox Extension Pack',
             '--vrde-port', '5000-5010,5020', '--vrde-address', '10.0.0.5',
             '--vrde-auth-type', 'null'],
            self.ops.vrde_args(self.inst))
        # Without unique ports nothing is reserved.
        self.assertFalse(os.path.exists(
            self.pathutils.vrde_port_path(self.inst)))

    def test_rdp_ignores_passwords(self):
        self.vrde(vrde_password_length=12,
                  vrde_require_instance_uuid_as_password=True)
        args = self.ops.vrde_args(self.inst)
        self.assertFalse([a for a in args if 'VNCPassword' in a])
        self.assertNotIn(self.inst.uuid, ' '.join(args))

    def test_unique_port(self):
        self.vrde(vrde_unique_port=True, vrde_port='6000-6001')
        args = self.ops.vrde_args(self.inst)
        self.assertEqual('6000', args[args.index('--vrde-port') + 1])
        path = self.pathutils.vrde_port_path(self.inst)
        with open(path) as f:
            self.assertEqual('6000\n', f.read())
        self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))

    def test_bad_port_range_is_config_error(self):
        self.vrde(vrde_port='7000-6000')
        self.assertRaises(vbox_exc.VBoxConfigError, self.ops.vrde_args,
                          self.inst)

    def test_extpack_checked_once(self):
        self.vrde(vrde_module='VNC')
        self.ops.vrde_args(self.inst)
        self.ops.vrde_args(instance(2))
        self.vbox.run.assert_called_once_with('list', 'extpacks')

    def test_serial_args(self):
        self.assertEqual(
            ['--uart1', '0x3F8', '4', '--uart-mode1', 'file',
             os.path.join(self.vms_path(), self.inst.name, 'console.log')],
            self.ops.serial_args(self.inst))


class ExtPackTestCase(_Base):

    def test_parse(self):
        self.assertEqual({'VNC': True},
                         consoleops.parse_extpacks(EXTPACKS_VNC))
        self.assertEqual({'VNC': True,
                          'Oracle VM VirtualBox Extension Pack': True},
                         consoleops.parse_extpacks(EXTPACKS_BOTH))
        self.assertEqual({}, consoleops.parse_extpacks(
            'Extension Packs: 0\n'))
        self.assertEqual({'VNC': False}, consoleops.parse_extpacks(
            EXTPACKS_VNC.replace('Usable:         true',
                                 'Usable:         false')))

    def test_remote_display_off(self):
        self.assertIsNone(self.ops.check_host())
        self.vbox.run.assert_not_called()

    def test_vnc(self):
        self.vrde(vrde_module='VNC')
        self.vbox.run.return_value = vboxmanage.Result(EXTPACKS_VNC, '')
        self.assertEqual('VNC', self.ops.check_host())

    def test_oracle_pack_either_name(self):
        self.vrde(vrde_module='Oracle VirtualBox Extension Pack')
        args = self.ops.vrde_args(self.inst)
        self.assertEqual('Oracle VM VirtualBox Extension Pack',
                         args[args.index('--vrde-extpack') + 1])

    def test_missing(self):
        self.vrde()
        self.vbox.run.return_value = vboxmanage.Result(EXTPACKS_VNC, '')
        err = self.assertRaises(vbox_exc.VBoxConfigError,
                                self.ops.vrde_args, self.inst)
        self.assertIn("'Oracle VM VirtualBox Extension Pack' is not an "
                      "installed", str(err))
        self.assertIn('installed: VNC', str(err))

    def test_unusable(self):
        self.vrde(vrde_module='VNC')
        self.vbox.run.return_value = vboxmanage.Result(
            EXTPACKS_VNC.replace('Usable:         true',
                                 'Usable:         false'), '')
        err = self.assertRaises(vbox_exc.VBoxConfigError,
                                self.ops.check_host)
        self.assertIn('not usable', str(err))


class PortTestCase(_Base):

    def setUp(self):
        super().setUp()
        self.vrde(vrde_unique_port=True, vrde_port='5000-5002')

    def test_unique_and_idempotent(self):
        ports = [self.ops.reserve_port(instance(n)) for n in range(3)]
        self.assertEqual([5000, 5001, 5002], ports)
        self.assertEqual(5001, self.ops.reserve_port(instance(1)))
        self.assertEqual({5000: 'instance-00000000',
                          5001: 'instance-00000001',
                          5002: 'instance-00000002'},
                         self.ops.used_ports())

    def test_exhausted(self):
        for n in range(3):
            self.ops.reserve_port(instance(n))
        err = self.assertRaises(consoleops.VRDEPortsExhausted,
                                self.ops.reserve_port, instance(3))
        self.assertIsInstance(err, exception.ConsolePortRangeExhausted)
        self.assertIn('5000-5002', str(err))
        self.assertIn('vrde_port', str(err))
        self.assertFalse(os.path.exists(
            self.pathutils.instance_dir(instance(3))))

    def test_freed_by_folder_removal(self):
        for n in range(3):
            self.ops.reserve_port(instance(n))
        self.pathutils.remove_tree(self.pathutils.instance_dir(instance(1)))
        self.assertEqual(5001, self.ops.reserve_port(instance(7)))

    def test_survives_restart(self):
        self.ops.reserve_port(instance(0))
        other = consoleops.ConsoleOps(self.vbox, pathutils.PathUtils())
        self.assertEqual(5001, other.reserve_port(instance(1)))
        self.assertEqual(5000, other.reserve_port(instance(0)))

    def test_port_outside_range_is_replaced(self):
        path = os.path.join(self.vm_dir(self.inst), 'vrde.port')
        with open(path, 'w') as f:
            f.write('4000\n')
        self.assertEqual(5000, self.ops.reserve_port(self.inst))

    def test_garbage_files_hold_nothing(self):
        for name, text in (('a', 'junk'), ('b', ''), ('c', '5000')):
            folder = os.path.join(self.vms_path(), name)
            os.makedirs(folder)
            with open(os.path.join(folder, 'vrde.port'), 'w') as f:
                f.write(text)
        # A stray file in the instances folder is no VM folder.
        open(os.path.join(self.vms_path(), 'vrde.port'), 'w').close()
        self.assertEqual({5000: 'c'}, self.ops.used_ports())
        self.assertEqual(5001, self.ops.reserve_port(self.inst))

    def test_no_instances_folder(self):
        self.flags(instances_path=os.path.join(self.instances_path, 'new'))
        self.assertEqual({}, self.ops.used_ports())
        self.assertEqual(5000, self.ops.reserve_port(self.inst))

    def test_concurrent_threads(self):
        self.vrde(vrde_unique_port=True, vrde_port='5000-5029')
        results, errors = [], []

        def reserve(n):
            try:
                ops = consoleops.ConsoleOps(self.vbox, pathutils.PathUtils())
                results.append(ops.reserve_port(instance(n)))
            except Exception as err:
                errors.append(err)
        threads = [threading.Thread(target=reserve, args=(n,))
                   for n in range(30)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual([], errors)
        self.assertEqual(list(range(5000, 5030)), sorted(results))

    def test_concurrent_processes(self):
        script = textwrap.dedent('''
            import sys
            import nova.conf
            from nova.virt.virtualbox import conf as vbox_conf
            CONF = nova.conf.CONF
            vbox_conf.register_opts(CONF)
            base, lock_path, proc = sys.argv[1:4]
            CONF.set_override('instances_path', base)
            CONF.set_override('lock_path', lock_path, 'oslo_concurrency')
            CONF.set_override('remote_display', True, 'virtualbox')
            CONF.set_override('vrde_unique_port', True, 'virtualbox')
            CONF.set_override('vrde_port', '5000-5039', 'virtualbox')
            from nova.virt.virtualbox import consoleops

            class Instance(object):
                pass
            ops = consoleops.ConsoleOps(None)
            sys.stdin.readline()
            for n in range(10):
                inst = Instance()
                inst.uuid = 'p%s-%d' % (proc, n)
                inst.name = 'instance-p%s-%d' % (proc, n)
                print(ops.reserve_port(inst), flush=True)
        ''')
        procs = [subprocess.Popen(
            [sys.executable, '-c', script, self.instances_path,
             self.lock_path, str(p)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True) for p in range(4)]
        # Release them together, once each has imported Nova.
        for proc in procs:
            proc.stdin.write('go\n')
            proc.stdin.flush()
        ports = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            self.assertEqual(0, proc.returncode, err)
            ports += [int(line) for line in out.split()]
        self.assertEqual(list(range(5000, 5040)), sorted(ports))
        self.assertEqual(40, len(self.ops.used_ports()))


class PasswordTestCase(_Base):

    def setUp(self):
        super().setUp()
        self.vrde(vrde_module='VNC', vrde_unique_port=True,
                  vrde_port='5900-5999')

    def password_arg(self, args):
        found = [a for a in args if a.startswith('VNCPassword=')]
        self.assertEqual(1, len(found))
        self.assertIsInstance(found[0], vboxmanage.Secret)
        self.assertEqual('--vrde-property', args[args.index(found[0]) - 1])
        return found[0][len('VNCPassword='):]

    def test_always_a_password(self):
        # VirtualBox's VNC server lets no one in without one: 8 characters
        # (all VNC authentication uses) when no length is configured.
        args = self.ops.vrde_args(self.inst)
        self.assertEqual('VNC', args[args.index('--vrde-extpack') + 1])
        password = self.password_arg(args)
        self.assertEqual(8, len(password))
        path = self.pathutils.vrde_password_path(self.inst)
        self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
        with open(path) as f:
            self.assertEqual(password, f.read())

    def test_instance_uuid(self):
        self.vrde(vrde_module='VNC',
                  vrde_require_instance_uuid_as_password=True,
                  vrde_password_length=5)
        args = self.ops.vrde_args(self.inst)
        self.assertEqual(UUID, self.password_arg(args))
        self.assertFalse(os.path.exists(
            self.pathutils.vrde_password_path(self.inst)))

    def test_random_password_stored_privately(self):
        self.vrde(vrde_module='VNC', vrde_password_length=20)
        password = self.password_arg(self.ops.vrde_args(self.inst))
        self.assertEqual(20, len(password))
        self.assertTrue(password.isalnum())
        path = self.pathutils.vrde_password_path(self.inst)
        self.assertEqual(0o600, stat.S_IMODE(os.stat(path).st_mode))
        # The settings file keeps VNCPassword in clear: a private folder.
        self.assertEqual(0o700, stat.S_IMODE(os.stat(
            self.pathutils.instance_dir(self.inst)).st_mode))
        with open(path) as f:
            self.assertEqual(password, f.read())
        # The same password again (hard reboot), another for another VM.
        self.assertEqual(password,
                         self.password_arg(self.ops.vrde_args(self.inst)))
        self.assertNotEqual(
            password, self.password_arg(self.ops.vrde_args(instance(9))))

    def test_new_length_new_password(self):
        self.vrde(vrde_module='VNC', vrde_password_length=8)
        first = self.password_arg(self.ops.vrde_args(self.inst))
        self.vrde(vrde_module='VNC', vrde_password_length=10)
        second = self.password_arg(self.ops.vrde_args(self.inst))
        self.assertEqual(10, len(second))
        self.assertNotEqual(first, second)

    def test_never_logged(self):
        logger = self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
        self.vrde(vrde_module='VNC', vrde_password_length=16)
        args = self.ops.vrde_args(self.inst)
        password = self.password_arg(args)
        vbm = vboxmanage.VBoxManage(command='true')
        vbm.run('modifyvm', self.inst.uuid, *args)
        self.assertIn('VNCPassword=***', logger.output)
        self.assertIn('VRDE port 5900 reserved', logger.output)
        self.assertNotIn(password, logger.output)
        self.assertNotIn(password, vboxmanage.masked_command(args))


class TLSTestCase(_Base):

    def setUp(self):
        super().setUp()
        self.vrde()
        self.files = {}
        for name in ('cert.pem', 'key.pem', 'ca.pem'):
            self.files[name] = os.path.join(self.lock_path, name)
            open(self.files[name], 'w').close()

    def tls(self, **flags):
        self.flags(group='rdp', **flags)
        return self.ops.vrde_args(self.inst)[10:]

    def test_plain_rdp_leaves_virtualbox_default(self):
        self.assertEqual([], self.tls())

    def test_encrypted(self):
        self.assertEqual(
            ['--vrde-property', 'Security/Method=TLS',
             '--vrde-property',
             'Security/ServerCertificate=' + self.files['cert.pem'],
             '--vrde-property',
             'Security/ServerPrivateKey=' + self.files['key.pem'],
             '--vrde-property',
             'Security/CACertificate=' + self.files['ca.pem']],
            self.tls(encrypted_rdp=True,
                     server_certificate=self.files['cert.pem'],
                     server_private_key=self.files['key.pem'],
                     server_ca=self.files['ca.pem']))

    def test_negotiate_without_ca(self):
        self.assertEqual(
            ['--vrde-property', 'Security/Method=Negotiate',
             '--vrde-property',
             'Security/ServerCertificate=' + self.files['cert.pem'],
             '--vrde-property',
             'Security/ServerPrivateKey=' + self.files['key.pem']],
            self.tls(security_method='Negotiate',
                     server_certificate=self.files['cert.pem'],
                     server_private_key=self.files['key.pem']))

    def test_missing_key(self):
        err = self.assertRaises(vbox_exc.VBoxConfigError, self.tls,
                                encrypted_rdp=True,
                                server_certificate=self.files['cert.pem'])
        self.assertIn('server_private_key', str(err))

    def test_unreadable_file(self):
        err = self.assertRaises(vbox_exc.VBoxConfigError, self.tls,
                                security_method='TLS',
                                server_certificate=self.files['cert.pem'],
                                server_private_key=self.files['key.pem'],
                                server_ca='/nonexistent/ca.pem')
        self.assertIn('server_ca', str(err))

    def test_not_for_vnc(self):
        self.vrde(vrde_module='VNC')
        args = self.tls(encrypted_rdp=True)
        # The VNC password, no Security/* property.
        self.assertEqual(['--vrde-property'], args[:1])
        self.assertTrue(args[1].startswith('VNCPassword='))
        self.assertEqual(2, len(args))


class ConsoleTestCase(_Base):

    def test_vnc_unavailable(self):
        self.assertRaises(exception.ConsoleTypeUnavailable,
                          self.ops.get_vnc_console, None, self.inst)
        self.vrde()  # RDP
        self.assertRaises(exception.ConsoleTypeUnavailable,
                          self.ops.get_vnc_console, None, self.inst)

    def setUp(self):
        super().setUp()
        self.addCleanup(self.ops.close_vnc_consoles)
        self.logger = self.useFixture(fixtures.FakeLogger(
            level=logging.DEBUG))

    def virtualbox_vnc(self, password):
        """VirtualBox's VNC server of the instance, expecting
        ``password``."""
        server = test_vncrelay.FakeVirtualBoxVNC(
            response=vncrelay.vnc_auth_response(
                password, test_vncrelay.CHALLENGE))
        self.addCleanup(server.close)
        return server

    def stored_password(self):
        with open(self.pathutils.vrde_password_path(self.inst)) as f:
            return f.read()

    def assert_console_works(self, console, server):
        """Nova's proxy, connected to ``console``, gets the screen of
        ``server``."""
        with socket.create_connection((console.host, console.port),
                                      timeout=test_vncrelay.TIMEOUT) as sock:
            self.assertEqual(test_vncrelay.SERVER_INIT,
                             test_vncrelay.nova_proxy_handshake(sock))
        self.assertTrue(server.authenticated.wait(test_vncrelay.TIMEOUT))

    def test_vnc_unique_port_through_the_relay(self):
        closed = socket.create_server(('127.0.0.1', 0))
        port = closed.getsockname()[1]
        closed.close()
        self.vrde(vrde_module='VNC', vrde_unique_port=True,
                  vrde_port=str(port), vrde_address='127.0.0.1')
        self.ops.vrde_args(self.inst)
        server = test_vncrelay.FakeVirtualBoxVNC(
            response=vncrelay.vnc_auth_response(
                self.stored_password(), test_vncrelay.CHALLENGE))
        self.addCleanup(server.close)
        console = self.ops.get_vnc_console(None, self.inst)
        self.assertIsInstance(console, console_type.ConsoleVNC)
        self.assertEqual('127.0.0.1', console.host)
        # The relay's port, not VirtualBox's, which offers only VNC
        # Authentication.
        self.assertNotEqual(port, console.port)
        self.vbox.show_vm_info.assert_not_called()
        # Nothing answers on the VRDE port yet: the relay says so.
        with socket.create_connection(('127.0.0.1', console.port),
                                      timeout=10) as sock:
            self.assertIn('does not answer',
                          test_vncrelay.refusal_reason(sock))
        self.assertNotIn(self.stored_password(), self.logger.output)

    def test_vnc_console_answers_the_vm_password(self):
        self.vrde(vrde_module='VNC', vrde_password_length=12,
                  vrde_address='127.0.0.1', vrde_port='5900-5910')
        self.ops.vrde_args(self.inst)
        password = self.stored_password()
        server = self.virtualbox_vnc(password)
        self.vbox.show_vm_info.return_value = {'vrde': 'on',
                                               'vrdeport': str(server.port)}
        console = self.ops.get_vnc_console(None, self.inst)
        self.assert_console_works(console, server)
        self.assertNotIn(password, self.logger.output)

    def test_vnc_console_answers_the_instance_uuid(self):
        # Against OpenSSL's answer, not the relay's own.
        uuid_password, response = test_vncrelay.OPENSSL_RESPONSES[1]
        self.assertTrue(UUID.startswith(uuid_password))
        self.vrde(vrde_module='VNC', vrde_port='5900-5910',
                  vrde_require_instance_uuid_as_password=True)
        self.ops.vrde_args(self.inst)
        server = test_vncrelay.FakeVirtualBoxVNC(response=response)
        self.addCleanup(server.close)
        self.vbox.show_vm_info.return_value = {'vrde': 'on',
                                               'vrdeport': str(server.port)}
        self.assert_console_works(self.ops.get_vnc_console(None, self.inst),
                                  server)
        self.assertNotIn(UUID, self.logger.output)

    def test_vnc_console_port_stable_until_destroy(self):
        self.vrde(vrde_module='VNC', vrde_port='5900-5910')
        self.ops.vrde_args(self.inst)
        first = self.virtualbox_vnc(self.stored_password())
        self.vbox.show_vm_info.return_value = {'vrde': 'on',
                                               'vrdeport': str(first.port)}
        console = self.ops.get_vnc_console(None, self.inst)
        # Nova's proxy validates the port by asking again; the VM was
        # restarted meanwhile and VirtualBox picked another VRDE port.
        second = self.virtualbox_vnc(self.stored_password())
        self.vbox.show_vm_info.return_value = {'vrde': 'on',
                                               'vrdeport': str(second.port)}
        self.assertEqual(console.port,
                         self.ops.get_vnc_console(None, self.inst).port)
        self.assert_console_works(console, second)
        other = instance(9)
        self.ops.vrde_args(other)
        self.assertNotEqual(console.port,
                            self.ops.get_vnc_console(None, other).port)
        # Destroy closes the instance's relay, cleanup_host all of them.
        self.ops.close_vnc_console(self.inst)
        self.assertRaises(ConnectionRefusedError, socket.create_connection,
                          (console.host, console.port), 10)
        self.ops.close_vnc_consoles()
        self.assertEqual({}, self.ops._relays.ports())

    def test_vnc_wildcard_address(self):
        self.vrde(vrde_module='VNC', vrde_unique_port=True,
                  vrde_port='5900', vrde_address='0.0.0.0')
        self.flags(server_proxyclient_address='198.51.100.4', group='vnc')
        self.ops.vrde_args(self.inst)
        console = self.ops.get_vnc_console(None, self.inst)
        self.assertEqual('198.51.100.4', console.host)
        # The relay listens on every address too and reaches VirtualBox
        # on loopback.
        relay = self.ops._relays._relays[self.inst.uuid]
        self.assertEqual('0.0.0.0', relay.listen_address)
        self.assertEqual(('127.0.0.1', 5900), relay._target)

    def test_vnc_relay_cannot_listen(self):
        self.vrde(vrde_module='VNC', vrde_unique_port=True,
                  vrde_port='5900', vrde_address='192.0.2.7')
        self.ops.vrde_args(self.inst)
        self.assertRaises(exception.ConsoleTypeUnavailable,
                          self.ops.get_vnc_console, None, self.inst)
        self.assertIn('relay cannot listen on 192.0.2.7', self.logger.output)

    def test_vnc_shared_range_not_running(self):
        self.vrde(vrde_module='VNC', vrde_port='5900-5910')
        self.ops.vrde_args(self.inst)
        for info in ({'vrde': 'on', 'vrdeport': '-1'},
                     {'vrde': 'on', 'vrdeport': '0'},
                     {'vrde': 'off'}):
            self.vbox.show_vm_info.return_value = info
            self.assertRaises(exception.ConsoleTypeUnavailable,
                              self.ops.get_vnc_console, None, self.inst)
        self.assertEqual({}, self.ops._relays.ports())

    def test_vnc_vm_gone(self):
        self.vrde(vrde_module='VNC', vrde_port='5900-5910')
        self.vbox.show_vm_info.side_effect = vbox_exc.VBoxObjectNotFound()
        self.assertRaises(exception.InstanceNotFound,
                          self.ops.get_vnc_console, None, self.inst)

    def test_vnc_vm_without_password_is_unavailable(self):
        # A VM spawned before every instance got a VNC password: no one
        # gets into it.
        self.vrde(vrde_module='VNC', vrde_unique_port=True,
                  vrde_port='5900')
        self.ops.reserve_port(self.inst)
        self.assertRaises(exception.ConsoleTypeUnavailable,
                          self.ops.get_vnc_console, None, self.inst)
        self.assertIn('no VNC password', self.logger.output)
        self.assertEqual({}, self.ops._relays.ports())

    def test_serial_console_not_implemented(self):
        self.assertRaises(NotImplementedError, self.ops.get_serial_console,
                          None, self.inst)

    def test_console_output(self):
        self.flags(console_log_max_bytes=1024, group='virtualbox')
        path = self.pathutils.console_log_path(self.inst)
        self.vm_dir(self.inst)
        self.assertEqual('', self.ops.get_console_output(None, self.inst))
        with open(path, 'wb') as f:
            f.write(b'boot\xff\n')
        self.assertEqual('boot\xff\n',
                         self.ops.get_console_output(None, self.inst))
        with open(path, 'wb') as f:
            f.write(b'a' * 5000 + b'b' * 1000 + b'login: ')
        out = self.ops.get_console_output(None, self.inst)
        self.assertEqual(1024, len(out))
        self.assertTrue(out.endswith('b' * 1000 + 'login: '))

    def test_console_output_spans_this_boot_and_the_one_before(self):
        # VirtualBox empties console.log when the VM starts: the driver
        # keeps the log of the boot before as console.log.1.
        self.flags(console_log_max_bytes=1024, group='virtualbox')
        path = self.pathutils.console_log_path(self.inst)
        self.vm_dir(self.inst)
        self.ops.keep_previous_log(self.inst)
        self.assertEqual('', self.ops.get_console_output(None, self.inst))
        with open(path, 'wb') as f:
            f.write(b'first boot\nACPI power off\n')
        self.ops.keep_previous_log(self.inst)
        self.assertFalse(os.path.exists(path))
        with open(path, 'wb') as f:
            f.write(b'second boot\n')
        self.assertEqual('first boot\nACPI power off\nsecond boot\n',
                         self.ops.get_console_output(None, self.inst))
        # The limit counts both, the end of this boot first.
        with open(path, 'wb') as f:
            f.write(b'x' * 1000)
        out = self.ops.get_console_output(None, self.inst)
        self.assertEqual('off\n' + 'x' * 1000, out[-1004:])
        self.assertEqual(1024, len(out))
        # An empty log (a VM that printed nothing) does not replace the
        # boot before.
        open(path, 'wb').close()
        self.ops.keep_previous_log(self.inst)
        self.assertEqual('first boot\nACPI power off\n',
                         self.ops.get_console_output(None, self.inst))

    def test_console_output_instance_gone(self):
        self.assertRaises(exception.InstanceNotFound,
                          self.ops.get_console_output, None, self.inst)


class DriverConsolesTestCase(test_base.VBoxTestCase):

    def test_delegation(self):
        drv = driver.VBoxDriver(fake_virt.FakeVirtAPI(), vbox=self.vbox)
        self.assertIsInstance(drv._consoleops, consoleops.ConsoleOps)
        drv._consoleops = mock.Mock()
        for name in ('get_console_output', 'get_vnc_console',
                     'get_serial_console'):
            result = getattr(drv, name)(mock.sentinel.context,
                                        mock.sentinel.instance)
            method = getattr(drv._consoleops, name)
            method.assert_called_once_with(mock.sentinel.context,
                                           mock.sentinel.instance)
            self.assertIs(method.return_value, result)
