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

"""Consoles: VirtualBox Remote Display (VRDE) and the serial console log.

VRDE serves each VM's screen over RDP (the Oracle extension pack) or VNC
(the VNC extension pack, [virtualbox] vrde_module = VNC). Spawn asks
:meth:`ConsoleOps.vrde_args` and :meth:`ConsoleOps.serial_args` for
``modifyvm`` options and puts them into its own ``modifyvm``.

Ports. With [virtualbox] vrde_unique_port each instance holds one port of
[virtualbox] vrde_port, written to ``<vm folder>/vrde.port``. The ports in
use are the ports in those files: they survive a restart of nova-compute,
and removing the VM folder on destroy frees the port. A port is taken under
an inter-process lock, so neither threads nor several nova-compute
processes on one host can hand out the same port twice. Without
vrde_unique_port VirtualBox picks the first free port of the range when the
VM starts, and ``showvminfo`` tells which.

Extension packs. The VRDE server comes from an extension pack:
:meth:`ConsoleOps.check_host` (``list extpacks``) checks that the
configured one is installed and usable, taking either name of Oracle's
pack ("Oracle VM VirtualBox Extension Pack" before 7.1, "Oracle VirtualBox
Extension Pack" since); VirtualBox itself refuses ``--vrde-extpack`` naming
a pack it lacks.

Transport security (RDP only). [rdp] encrypted_rdp or a security_method
other than RDP sets the ``Security/*`` VRDE properties to the configured
certificate, key and CA. Otherwise VirtualBox's default stays: 7.x turns
TLS on with a certificate it generates into the VM folder.

Passwords (VNC only). The VNC extension pack's server offers nothing but
VNC Authentication and, without a ``VNCPassword`` property, accepts no
answer at all: every instance gets a password. It is the instance UUID
(vrde_require_instance_uuid_as_password) or a random password of
vrde_password_length characters (8 when unset: VNC authentication uses
only the first 8), kept in ``<vm folder>/vrde.password`` (mode 0600). It is
passed to VBoxManage as a :class:`vboxmanage.Secret`, so it is never
logged, and it is never part of a console URL. VirtualBox keeps the
password in clear in the VM's settings file, so the VM folder is made
private (0700). The Oracle RDP server takes no per-VM password (it
authenticates against host accounts through VBoxAuth), so the password
options do not apply to RDP.

Nova's VNC console. Nova's noVNC proxy speaks only the "None" and VeNCrypt
security types to the compute host, not VNC Authentication, so
get_vnc_console gives it the host and port of a relay in nova-compute
(:mod:`vncrelay`): one listener per instance on vrde_address, started on
demand, which answers VirtualBox's VNC Authentication with the instance's
password and offers "None" to the proxy. :meth:`ConsoleOps.close_vnc_console`
closes it when the instance is destroyed, :meth:`ConsoleOps.close_vnc_consoles`
all of them when nova-compute stops. Users of a VNC client of their own
connect to the VRDE port with the password instead.

Serial console. The first serial port (COM1) writes to
``<vm folder>/console.log``, which VirtualBox empties whenever the VM
starts; the log of the boot before is kept as ``console.log.1``, and
get_console_output returns the end of both.
"""

import os
import re
import secrets
import string

from oslo_concurrency import lockutils
from oslo_log import log as logging

import nova.conf
from nova.console import type as console_type
from nova import exception
from nova.i18n import _
from nova.virt.virtualbox import conf as vbox_conf
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import pathutils
from nova.virt.virtualbox import vboxmanage
from nova.virt.virtualbox import vncrelay

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

VRDE_MODULE_VNC = 'VNC'
# Oracle's pack: its name before VirtualBox 7.1 and since. Either setting
# of vrde_module means whichever of them is installed.
ORACLE_PACK_NAMES = ('Oracle VM VirtualBox Extension Pack',
                     'Oracle VirtualBox Extension Pack')

# The first serial port: COM1's I/O base and IRQ.
SERIAL_IO_BASE = '0x3F8'
SERIAL_IRQ = '4'

PORT_LOCK_NAME = 'vbox-vrde-ports'
PASSWORD_ALPHABET = string.ascii_letters + string.digits
# The password length when vrde_password_length is unset: all that VNC
# authentication uses.
DEFAULT_VNC_PASSWORD_LENGTH = vncrelay.VNC_PASSWORD_LENGTH

# VRDE listen addresses that mean "every address": the console's host is
# then the address Nova's proxy is told to use for this compute host.
_WILDCARD_ADDRESSES = ('', '0.0.0.0', '::', '[::]')
_IPV6_WILDCARD_ADDRESSES = ('::', '[::]')


class VRDEPortsExhausted(exception.ConsolePortRangeExhausted):
    msg_fmt = _("Every VRDE port of [virtualbox] vrde_port "
                "(%(ports)s, %(count)d ports) is held by an instance on this "
                "host. Widen vrde_port, or turn vrde_unique_port off to let "
                "VirtualBox share the range.")


def parse_extpacks(text):
    """``VBoxManage list extpacks`` -> {pack name: usable}."""
    packs = {}
    name = None
    for line in text.splitlines():
        match = re.match(r'^Pack no\.\s*\d+:\s*(.*?)\s*$', line)
        if match:
            name = match.group(1)
            packs[name] = True
        elif name is not None and line.startswith('Usable:'):
            packs[name] = line.partition(':')[2].strip().lower() == 'true'
    return packs


def _read_port(path):
    """The port number stored in ``path``, or None (absent, unreadable or
    not a number: a file half-written by a crash holds no port)."""
    try:
        with open(path, encoding='ascii') as f:
            return int(f.read().strip())
    except (OSError, ValueError, UnicodeDecodeError):
        return None


def _write_private(path, text):
    """Write ``text`` to ``path`` readable by its owner only, atomically:
    a reader sees the old file or the whole new one."""
    tmp = '%s.tmp.%d' % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


class ConsoleOps(object):

    def __init__(self, vbox, path_utils=None):
        self._vbox = vbox
        self._pathutils = path_utils or pathutils.PathUtils()
        self._module = None
        self._relays = vncrelay.VNCRelays()

    # -- configuration --------------------------------------------------------

    @staticmethod
    def _is_vnc():
        return CONF.virtualbox.vrde_module == VRDE_MODULE_VNC

    def check_host(self):
        """Find the installed extension pack that serves [virtualbox]
        vrde_module (one ``list extpacks`` call). init_host should call it,
        so that a missing pack stops nova-compute with a clear message;
        otherwise the first :meth:`vrde_args` does.

        :returns: the pack's name, None when remote_display is off.
        :raises VBoxConfigError: the pack is not installed or not usable.
        """
        if not CONF.virtualbox.remote_display:
            return None
        wanted = CONF.virtualbox.vrde_module
        candidates = [wanted]
        if wanted in ORACLE_PACK_NAMES:
            candidates += [n for n in ORACLE_PACK_NAMES if n != wanted]
        packs = parse_extpacks(self._vbox.run('list', 'extpacks').stdout)
        for name in candidates:
            if name not in packs:
                continue
            if not packs[name]:
                raise vbox_exc.VBoxConfigError(
                    reason='the VRDE extension pack %r is installed but '
                           'not usable (VBoxManage list extpacks tells '
                           'why)' % name)
            self._module = name
            return name
        raise vbox_exc.VBoxConfigError(
            reason='[virtualbox] vrde_module %r is not an installed '
                   'VirtualBox extension pack (installed: %s). Install it '
                   '(VBoxManage extpack install), set vrde_module to an '
                   'installed VRDE pack or turn remote_display off.'
                   % (wanted, ', '.join(sorted(packs)) or 'none'))

    @staticmethod
    def _ports():
        try:
            return vbox_conf.parse_port_ranges(CONF.virtualbox.vrde_port)
        except ValueError as err:
            raise vbox_exc.VBoxConfigError(reason='[virtualbox] %s' % err)

    def _lock_path(self):
        return (CONF.oslo_concurrency.lock_path or
                self._pathutils.ensure_dir(self._pathutils.instances_dir()))

    # -- ports ----------------------------------------------------------------

    def used_ports(self):
        """{port: VM folder name} of the ports the instance folders hold.

        Reads the filesystem only: no VBoxManage call, whatever the number
        of VMs.
        """
        used = {}
        # The folder holding the VM folders, whatever pathutils makes it.
        base = os.path.dirname(self._pathutils.vm_dir('_'))
        try:
            names = os.listdir(base)
        except FileNotFoundError:
            return used
        for name in names:
            port = _read_port(os.path.join(base, name,
                                           pathutils.VRDE_PORT_NAME))
            if port is not None:
                used.setdefault(port, name)
        return used

    def reserve_port(self, instance):
        """The VRDE port of ``instance``, taking a free one if it holds none.

        Idempotent: an instance that holds a port of the range keeps it
        (hard reboot, a spawn retried). The port is written to the VM
        folder, which is created if needed; removing the folder frees it.

        :raises VRDEPortsExhausted: every port of the range is held.
        """
        ports = self._ports()
        path = self._pathutils.vrde_port_path(instance)
        with lockutils.lock(PORT_LOCK_NAME, lock_file_prefix='nova-',
                            external=True, lock_path=self._lock_path()):
            held = _read_port(path)
            if held in ports:
                return held
            used = self.used_ports()
            for port in ports:
                if port not in used:
                    break
            else:
                raise VRDEPortsExhausted(
                    ports=CONF.virtualbox.vrde_port, count=len(ports),
                    min_port=ports[0], max_port=ports[-1])
            self._pathutils.ensure_dir(
                self._pathutils.instance_dir(instance))
            _write_private(path, '%d\n' % port)
        LOG.debug('VRDE port %d reserved', port, instance=instance)
        return port

    def get_port(self, instance):
        """The instance's VRDE port: the one it holds, else the one
        VirtualBox bound when it started the VM; None when unknown."""
        port = _read_port(self._pathutils.vrde_port_path(instance))
        if port is not None:
            return port
        info = self._vbox.show_instance_info(instance)
        if info.get('vrde') != 'on':
            return None
        # A running VM reports the port its VRDE server bound; a stopped
        # one -1 and a failed bind 0.
        try:
            port = int(info.get('vrdeport', -1))
        except ValueError:
            return None
        return port if port > 0 else None

    # -- passwords ------------------------------------------------------------

    @staticmethod
    def _password_length():
        return (CONF.virtualbox.vrde_password_length or
                DEFAULT_VNC_PASSWORD_LENGTH)

    def _stored_password(self, instance):
        """The VNC password the instance's VM was given, None when it has
        none (spawned before every instance had one)."""
        if CONF.virtualbox.vrde_require_instance_uuid_as_password:
            return instance.uuid
        try:
            with open(self._pathutils.vrde_password_path(instance),
                      encoding='utf-8') as f:
                return f.read() or None
        except OSError:
            return None

    def _password(self, instance):
        """The VNC password of ``instance``, creating and storing a random
        one on first use or when vrde_password_length changed."""
        if CONF.virtualbox.vrde_require_instance_uuid_as_password:
            return instance.uuid
        length = self._password_length()
        stored = self._stored_password(instance)
        if stored is not None and len(stored) == length:
            return stored
        password = ''.join(secrets.choice(PASSWORD_ALPHABET)
                           for _i in range(length))
        path = self._pathutils.vrde_password_path(instance)
        self._pathutils.ensure_dir(self._pathutils.instance_dir(instance))
        _write_private(path, password)
        return password

    def _protect_vm_dir(self, instance):
        """VirtualBox keeps VNCPassword in clear in the VM's settings
        file: let only the owner (nova-compute's and VirtualBox's user) into
        the VM folder."""
        folder = self._pathutils.ensure_dir(
            self._pathutils.instance_dir(instance))
        os.chmod(folder, 0o700)

    # -- modifyvm builders ----------------------------------------------------

    @staticmethod
    def tls_properties():
        """``--vrde-property`` arguments for RDP transport security.

        Nothing when [rdp] asks for plain RDP security (encrypted_rdp off
        and security_method RDP): VirtualBox's own default then applies
        (7.x: TLS with a certificate it generates). encrypted_rdp with
        security_method RDP means TLS.

        :raises VBoxConfigError: a certificate or key is missing.
        """
        rdp = CONF.rdp
        method = rdp.security_method
        if rdp.encrypted_rdp and method == 'RDP':
            method = 'TLS'
        if method == 'RDP':
            return []
        files = [('Security/ServerCertificate', 'server_certificate',
                  rdp.server_certificate, True),
                 ('Security/ServerPrivateKey', 'server_private_key',
                  rdp.server_private_key, True),
                 ('Security/CACertificate', 'server_ca', rdp.server_ca,
                  False)]
        args = ['--vrde-property', 'Security/Method=%s' % method]
        for prop, option, path, required in files:
            if not path:
                if required:
                    raise vbox_exc.VBoxConfigError(
                        reason='[rdp] %s must be set for RDP security '
                               'method %s' % (option, method))
                continue
            if not os.path.isfile(path):
                raise vbox_exc.VBoxConfigError(
                    reason='[rdp] %s %r is not a readable file'
                           % (option, path))
            args += ['--vrde-property', '%s=%s' % (prop, path)]
        return args

    def vrde_args(self, instance):
        """``modifyvm`` arguments for the instance's remote display.

        Reserves the instance's port when vrde_unique_port is on and, with
        the VNC pack, creates its password, both in the VM folder.
        """
        vbox = CONF.virtualbox
        if not vbox.remote_display:
            return ['--vrde', 'off']
        if vbox.vrde_unique_port:
            port = str(self.reserve_port(instance))
        else:
            self._ports()
            port = vbox.vrde_port.replace(' ', '')
        if self._module is None:
            self.check_host()
        args = ['--vrde', 'on',
                '--vrde-extpack', self._module,
                '--vrde-port', port,
                '--vrde-address', vbox.vrde_address,
                '--vrde-auth-type', 'null']
        if self._is_vnc():
            password = self._password(instance)
            self._protect_vm_dir(instance)
            args += ['--vrde-property',
                     vboxmanage.Secret('VNCPassword=%s' % password)]
        else:
            args += self.tls_properties()
        return args

    def serial_args(self, instance):
        """``modifyvm`` arguments putting COM1 into the console log."""
        return ['--uart1', SERIAL_IO_BASE, SERIAL_IRQ,
                '--uart-mode1', 'file',
                self._pathutils.console_log_path(instance)]

    # -- Nova's console API ---------------------------------------------------

    def get_vnc_console(self, context, instance):
        """The host and port of the instance's console relay for Nova's
        VNC proxy, the relay started if needed: the same port every time
        while nova-compute runs, as the proxy checks it when a console
        token is used."""
        vbox = CONF.virtualbox
        if not vbox.remote_display or not self._is_vnc():
            raise exception.ConsoleTypeUnavailable(console_type='vnc')
        port = self.get_port(instance)
        if port is None:
            raise exception.ConsoleTypeUnavailable(console_type='vnc')
        password = self._stored_password(instance)
        if password is None:
            LOG.warning('No Nova VNC console: the instance\'s VM has no VNC '
                        'password, without which VirtualBox\'s VNC server '
                        'lets no one in. A rebuild gives it one.',
                        instance=instance)
            raise exception.ConsoleTypeUnavailable(console_type='vnc')
        address = vbox.vrde_address
        # The VRDE server listens on every address: reach it on loopback.
        target = address
        if address in _IPV6_WILDCARD_ADDRESSES:
            target = '::1'
        elif address in _WILDCARD_ADDRESSES:
            target = '127.0.0.1'
        try:
            relay_port = self._relays.open(instance.uuid, address,
                                           target.strip('[]'), port,
                                           password)
        except OSError as err:
            LOG.error('No Nova VNC console: its relay cannot listen on '
                      '%(address)s: %(err)s',
                      {'address': address, 'err': err}, instance=instance)
            raise exception.ConsoleTypeUnavailable(console_type='vnc')
        host = address
        if host in _WILDCARD_ADDRESSES:
            host = CONF.vnc.server_proxyclient_address
        return console_type.ConsoleVNC(host=host, port=relay_port)

    def close_vnc_console(self, instance):
        """Close the instance's console relay, if it has one; destroy calls
        it, since the port belongs to the instance."""
        self._relays.close(instance.uuid)

    def close_vnc_consoles(self):
        """Close every console relay; cleanup_host calls it."""
        self._relays.close_all()

    def get_serial_console(self, context, instance):
        # VirtualBox's "tcpserver" serial mode listens on every host address
        # with no authentication and takes a UART of its own: offering it
        # would open an unauthenticated root console to the network.
        raise NotImplementedError()

    def keep_previous_log(self, instance):
        """Before the VM starts: VirtualBox empties the console log when
        its VM process opens it, so the log of the boot that ended is kept
        as console.log.1 and the console output still shows how the guest
        went down and came back (a reboot, a stop and start)."""
        path = self._pathutils.console_log_path(instance)
        if os.path.isfile(path) and os.path.getsize(path):
            os.replace(path,
                       self._pathutils.previous_console_log_path(instance))

    def get_console_output(self, context, instance):
        """The end of the serial console log of this boot and the one
        before, at most [virtualbox] console_log_max_bytes (empty before
        the first boot).

        A str of the bytes as latin-1, as Nova's driver contract tests
        expect: the compute manager encodes it back to the same bytes.
        """
        remaining = CONF.virtualbox.console_log_max_bytes
        output = b''
        found = False
        for path in (self._pathutils.console_log_path(instance),
                     self._pathutils.previous_console_log_path(instance)):
            try:
                with open(path, 'rb') as f:
                    f.seek(0, os.SEEK_END)
                    f.seek(max(0, f.tell() - remaining))
                    tail = f.read(remaining)
            except FileNotFoundError:
                continue
            found = True
            output = tail + output
            remaining -= len(tail)
            if remaining <= 0:
                break
        if not found and not os.path.isdir(
                self._pathutils.instance_dir(instance)):
            raise exception.InstanceNotFound(instance_id=instance.uuid)
        return output.decode('latin-1')
