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

"""Tests of the VNC console relay against a VNC server played by the test.

:class:`FakeVirtualBoxVNC` listens on a real socket and speaks as the VNC
extension pack of VirtualBox 7.2 does: RFB 3.8, security type 2 only, a
challenge whose answer it checks against responses computed by OpenSSL
(``openssl enc -des-ecb -provider legacy``), not by the code under test.
"""

import logging
import socket
import struct
import threading

import fixtures

from nova.console.securityproxy import rfb as nova_rfb
from nova import test
from nova.virt.virtualbox import vncrelay

CHALLENGE = bytes(range(16))
# (password, DES response to CHALLENGE) from OpenSSL: the key is the
# password cut or NUL-padded to 8 bytes, each byte's bits reversed.
OPENSSL_RESPONSES = [
    ('secret12', bytes.fromhex('adcd997f8e16fee575e973f93c2b62b4')),
    # Only the first 8 characters count: the UUID as password.
    ('4fd89640-4231', bytes.fromhex('c939f4ca6b0b22e41ec1bae138943a69')),
    ('abc', bytes.fromhex('9c22b4f2088c3465a1562c4b9d6edb04')),
]
PASSWORD, RESPONSE = OPENSSL_RESPONSES[0]
# ServerInit: 640x480, a 32-bit pixel format, the name "vm".
SERVER_INIT = (struct.pack('!HH', 640, 480) + bytes(16) +
               struct.pack('!I', 2) + b'vm')
TIMEOUT = 10


def recv_exact(sock, count):
    data = b''
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError('closed after %r' % data)
        data += chunk
    return data


class FakeVirtualBoxVNC(object):
    """A VNC server as VirtualBox's VNC extension pack: after ServerInit it
    echoes what it receives, until the peer closes."""

    def __init__(self, response=RESPONSE, security_types=b'\x02'):
        self.response = response
        self.security_types = security_types
        self.listener = socket.create_server(('127.0.0.1', 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = 0
        self.authenticated = threading.Event()
        self.refused = threading.Event()
        self.peer_closed = threading.Event()
        self.conns = []
        self.errors = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                conn, _peer = self.listener.accept()
            except OSError:
                return
            self.accepted += 1
            self.conns.append(conn)
            threading.Thread(target=self._session, args=(conn,),
                             daemon=True).start()

    def _session(self, conn):
        try:
            conn.settimeout(TIMEOUT)
            conn.sendall(b'RFB 003.008\n')
            if recv_exact(conn, 12) != b'RFB 003.008\n':
                raise AssertionError('not RFB 3.8')
            conn.sendall(bytes((len(self.security_types),)) +
                         self.security_types)
            chosen = recv_exact(conn, 1)[0]
            if chosen == 2:
                conn.sendall(CHALLENGE)
                if recv_exact(conn, 16) != self.response:
                    reason = b'Authentication failed'
                    conn.sendall(struct.pack('!II', 1, len(reason)) + reason)
                    self.refused.set()
                    conn.close()
                    return
            elif chosen != 1 or 1 not in self.security_types:
                raise AssertionError('security type %d chosen' % chosen)
            conn.sendall(struct.pack('!I', 0))
            self.authenticated.set()
            if recv_exact(conn, 1) != b'\x01':
                raise AssertionError('ClientInit not shared')
            conn.sendall(SERVER_INIT)
            while True:
                data = conn.recv(4096)
                if not data:
                    self.peer_closed.set()
                    return
                conn.sendall(data)
        except Exception as err:
            self.errors.append(err)
            conn.close()

    def close(self):
        self.listener.close()
        for conn in self.conns:
            # shutdown, not only close: on native threads a close does not
            # end the session thread's blocked recv, and no FIN leaves
            # while it waits (the relay would never see VirtualBox go).
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()


def nova_proxy_handshake(sock):
    """What Nova's RFB security proxy does with a compute host that offers
    security type None, plus the ClientInit of noVNC; the ServerInit."""
    assert recv_exact(sock, 12) == b'RFB 003.008\n'
    sock.sendall(b'RFB 003.008\n')
    count = recv_exact(sock, 1)[0]
    types = recv_exact(sock, count)
    assert 1 in types, types
    sock.sendall(b'\x01')
    assert recv_exact(sock, 4) == b'\0\0\0\0'
    sock.sendall(b'\x01')
    return recv_exact(sock, len(SERVER_INIT))


def refusal_reason(sock):
    """The reason of a server that offers no security type."""
    assert recv_exact(sock, 12) == b'RFB 003.008\n'
    sock.sendall(b'RFB 003.008\n')
    assert recv_exact(sock, 1) == b'\0'
    length = struct.unpack('!I', recv_exact(sock, 4))[0]
    return recv_exact(sock, length).decode()


class VNCAuthResponseTestCase(test.NoDBTestCase):

    def test_matches_openssl(self):
        for password, response in OPENSSL_RESPONSES:
            self.assertEqual(response,
                             vncrelay.vnc_auth_response(password, CHALLENGE),
                             password)


class RelayTestCase(test.NoDBTestCase):

    def setUp(self):
        super().setUp()
        self.logger = self.useFixture(fixtures.FakeLogger(
            level=logging.DEBUG))
        self.relays = vncrelay.VNCRelays()
        self.addCleanup(self.relays.close_all)

    def vbox(self, **kwargs):
        server = FakeVirtualBoxVNC(**kwargs)
        self.addCleanup(server.close)
        return server

    def connect(self, port):
        sock = socket.create_connection(('127.0.0.1', port), timeout=TIMEOUT)
        self.addCleanup(sock.close)
        return sock

    def test_nova_proxy_gets_the_vm_screen(self):
        server = self.vbox()
        port = self.relays.open('uuid-1', '127.0.0.1', '127.0.0.1',
                                server.port, PASSWORD)
        self.assertNotEqual(server.port, port)
        sock = self.connect(port)
        self.assertEqual(SERVER_INIT, nova_proxy_handshake(sock))
        self.assertTrue(server.authenticated.wait(TIMEOUT))
        # Then bytes both ways, as they are.
        message = bytes(range(256)) * 64
        sock.sendall(message)
        self.assertEqual(message, recv_exact(sock, len(message)))
        # The client closes: so does the relay's connection to VirtualBox.
        sock.close()
        self.assertTrue(server.peer_closed.wait(TIMEOUT))
        self.assertEqual([], server.errors)
        self.assertNotIn(PASSWORD, self.logger.output)

    def test_novas_own_security_proxy(self):
        """Nova's RFBSecurityProxy, as nova-novncproxy runs it, to the
        relay; the test plays noVNC on the tenant side."""
        server = self.vbox()
        port = self.relays.open('uuid-1', '127.0.0.1', '127.0.0.1',
                                server.port, PASSWORD)
        compute = self.connect(port)
        tenant, tenant_peer = socket.socketpair()
        self.addCleanup(tenant.close)
        self.addCleanup(tenant_peer.close)
        tenant.settimeout(TIMEOUT)
        result = {}

        def proxy():
            try:
                result['sock'] = nova_rfb.RFBSecurityProxy().connect(
                    tenant_peer, compute)
            except Exception as err:
                result['error'] = err
        thread = threading.Thread(target=proxy, daemon=True)
        thread.start()
        self.assertEqual(b'RFB 003.008\n', recv_exact(tenant, 12))
        tenant.sendall(b'RFB 003.008\n')
        self.assertEqual(b'\x01\x01', recv_exact(tenant, 2))
        tenant.sendall(b'\x01')
        thread.join(TIMEOUT)
        self.assertNotIn('error', result)
        # Normal proxying from here: the SecurityResult and ServerInit.
        secured = result['sock']
        self.assertEqual(b'\0\0\0\0', recv_exact(secured, 4))
        secured.sendall(b'\x01')
        self.assertEqual(SERVER_INIT, recv_exact(secured, len(SERVER_INIT)))

    def test_wrong_password_is_told_without_the_password(self):
        server = self.vbox(response=bytes(16))
        port = self.relays.open('uuid-1', '127.0.0.1', '127.0.0.1',
                                server.port, PASSWORD)
        reason = refusal_reason(self.connect(port))
        self.assertTrue(server.refused.wait(TIMEOUT))
        self.assertIn('refused the VNC password: Authentication failed',
                      reason)
        self.assertNotIn(PASSWORD, reason)
        self.assertIn('no console', self.logger.output)
        self.assertNotIn(PASSWORD, self.logger.output)

    def test_no_vnc_server_behind(self):
        # The simulator, a stopped VM: the relay listens, and tells why
        # there is no console.
        closed = socket.create_server(('127.0.0.1', 0))
        closed_port = closed.getsockname()[1]
        closed.close()
        port = self.relays.open('uuid-1', '127.0.0.1', '127.0.0.1',
                                closed_port, PASSWORD)
        reason = refusal_reason(self.connect(port))
        self.assertIn("VM's VNC server at 127.0.0.1 port %d does not answer"
                      % closed_port, reason)

    def test_server_offering_none(self):
        server = self.vbox(security_types=b'\x01')
        port = self.relays.open('uuid-1', '127.0.0.1', '127.0.0.1',
                                server.port, PASSWORD)
        self.assertEqual(SERVER_INIT,
                         nova_proxy_handshake(self.connect(port)))

    def test_server_closing_closes_the_client(self):
        server = self.vbox()
        port = self.relays.open('uuid-1', '127.0.0.1', '127.0.0.1',
                                server.port, PASSWORD)
        sock = self.connect(port)
        nova_proxy_handshake(sock)
        server.close()  # the VM powered off
        self.assertEqual(b'', sock.recv(1))

    def test_port_stable_until_closed(self):
        server = self.vbox()
        port = self.relays.open('uuid-1', '127.0.0.1', '127.0.0.1',
                                server.port, PASSWORD)
        other = self.relays.open('uuid-2', '127.0.0.1', '127.0.0.1',
                                 server.port, 'abc')
        self.assertNotEqual(port, other)
        # Asked again (Nova's proxy validating the port): the same relay,
        # pointed at the VRDE port of now.
        moved = self.vbox()
        self.assertEqual(port, self.relays.open(
            'uuid-1', '127.0.0.1', '127.0.0.1', moved.port, PASSWORD))
        self.assertEqual({'uuid-1': port, 'uuid-2': other},
                         self.relays.ports())
        nova_proxy_handshake(self.connect(port))
        self.assertTrue(moved.authenticated.wait(TIMEOUT))
        self.assertEqual(0, server.accepted)
        # An open session ends with its relay.
        sock = self.connect(port)
        nova_proxy_handshake(sock)
        self.relays.close('uuid-1')
        self.assertEqual(b'', sock.recv(1))
        self.assertRaises(ConnectionRefusedError, socket.create_connection,
                          ('127.0.0.1', port), TIMEOUT)
        self.relays.close('uuid-1')  # closed already: nothing to do
        self.assertEqual({'uuid-2': other}, self.relays.ports())
        self.relays.close_all()
        self.assertEqual({}, self.relays.ports())
        self.assertRaises(ConnectionRefusedError, socket.create_connection,
                          ('127.0.0.1', other), TIMEOUT)

    def test_no_thread_left(self):
        server = self.vbox()
        before = set(threading.enumerate())
        port = self.relays.open('uuid-1', '127.0.0.1', '127.0.0.1',
                                server.port, PASSWORD)
        sock = self.connect(port)
        nova_proxy_handshake(sock)
        self.relays.close_all()
        self.assertEqual(b'', sock.recv(1))
        for thread in set(threading.enumerate()) - before:
            if thread.name.startswith('vnc-relay'):
                thread.join(TIMEOUT)
                self.assertFalse(thread.is_alive(), thread.name)

    def test_repr_hides_the_password(self):
        self.relays.open('uuid-1', '127.0.0.1', '127.0.0.1', 1, PASSWORD)
        relay = self.relays._relays['uuid-1']
        self.assertNotIn(PASSWORD, repr(relay))
