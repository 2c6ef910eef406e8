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

"""An RFB relay between Nova's VNC proxy and VirtualBox's VNC server.

Why. VirtualBox's VNC VRDE server (the VNC extension pack) offers only the
RFB security type "VNC Authentication" (2), and accepts no response at all
when the VM has no ``VNCPassword``. Nova's VNC proxy speaks only "None"
(1) and VeNCrypt to the compute host, so it cannot reach that server
directly ("No matching auth scheme").

How. :class:`VNCRelays` keeps one :class:`VNCRelay` per instance: a
listener in nova-compute whose port stays the same for the instance while
nova-compute runs (Nova's proxy asks get_vnc_console again to validate the
port of a console token). Each connection it accepts is a
:class:`RelaySession`: the relay connects to the VM's VRDE port, does the
RFB 3.8 handshake with VirtualBox answering VNC Authentication with the
instance's password, then offers security type None to its client and
relays bytes both ways until either side closes. The password never leaves
the relay: it is in no log line, no exception and no console URL.

Threads, not eventlet: nova-compute runs on native threads. Each listener
has an accepting thread and each session two relaying threads; all are
daemons, so none keeps nova-compute from exiting.
"""

import socket
import struct
import threading

from cryptography.hazmat.decrepit.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers import modes
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

RFB_VERSION_3_8 = b'RFB 003.008\n'
RFB_VERSION_LENGTH = 12
SECURITY_NONE = 1
SECURITY_VNC_AUTH = 2
SECURITY_RESULT_OK = 0
VNC_AUTH_CHALLENGE_LENGTH = 16
VNC_PASSWORD_LENGTH = 8

# Seconds a peer may take to answer during the handshake; once relaying,
# a console may stay idle for as long as its user likes.
HANDSHAKE_TIMEOUT = 30
CONNECT_TIMEOUT = 10
# Longest failure reason read from VirtualBox: a reason is a sentence.
MAX_REASON_LENGTH = 1024
RELAY_BUFFER_SIZE = 65536
# How often a listener's accepting thread looks whether it was closed:
# under eventlet (Nova's unit tests) nothing wakes a blocked accept().
ACCEPT_POLL_SECONDS = 1


class RFBHandshakeError(Exception):
    """An RFB handshake that did not end in a console. Its message tells
    what went wrong and never holds the password."""


def _reverse_bits(byte):
    return int('{:08b}'.format(byte)[::-1], 2)


def vnc_auth_response(password, challenge):
    """The answer to a VNC Authentication challenge.

    VNC encrypts the 16-byte challenge with DES in ECB mode, keyed by the
    password cut or padded with NULs to 8 bytes, each key byte with its
    bits in reverse order (a quirk of the first VNC's DES code). TripleDES
    with the same key three times is single DES.
    """
    key = password.encode('utf-8')[:VNC_PASSWORD_LENGTH]
    key = bytes(_reverse_bits(b)
                for b in key.ljust(VNC_PASSWORD_LENGTH, b'\0'))
    encryptor = Cipher(algorithms.TripleDES(key * 3),
                       modes.ECB()).encryptor()
    return encryptor.update(challenge) + encryptor.finalize()


def _recv_exact(sock, count, peer):
    data = b''
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise RFBHandshakeError('%s closed the connection during the '
                                    'RFB handshake' % peer)
        data += chunk
    return data


def _recv_u32(sock, peer):
    return struct.unpack('!I', _recv_exact(sock, 4, peer))[0]


def _recv_reason(sock, peer):
    """The failure reason string that follows a failure in RFB 3.8."""
    length = _recv_u32(sock, peer)
    if length > MAX_REASON_LENGTH:
        return '(a reason of %d bytes, not read)' % length
    return _recv_exact(sock, length, peer).decode('utf-8', 'replace')


def authenticate_to_server(sock, password):
    """The client side of the RFB 3.8 handshake with VirtualBox, up to
    and including the SecurityResult: VNC Authentication with
    ``password``, or None when the server offers it.

    :raises RFBHandshakeError: the server speaks another protocol, offers
        neither type or refuses the password.
    """
    peer = "VirtualBox's VNC server"
    version = _recv_exact(sock, RFB_VERSION_LENGTH, peer)
    if not version.startswith(b'RFB 003.') or version < RFB_VERSION_3_8:
        raise RFBHandshakeError('%s speaks %r, not RFB 3.8' % (peer, version))
    sock.sendall(RFB_VERSION_3_8)
    count = _recv_exact(sock, 1, peer)[0]
    if not count:
        raise RFBHandshakeError('%s refused the connection: %s'
                                % (peer, _recv_reason(sock, peer)))
    offered = _recv_exact(sock, count, peer)
    if SECURITY_NONE in offered:
        sock.sendall(bytes((SECURITY_NONE,)))
    elif SECURITY_VNC_AUTH in offered:
        sock.sendall(bytes((SECURITY_VNC_AUTH,)))
        challenge = _recv_exact(sock, VNC_AUTH_CHALLENGE_LENGTH, peer)
        sock.sendall(vnc_auth_response(password, challenge))
    else:
        raise RFBHandshakeError('%s offers security types %s, neither None '
                                'nor VNC Authentication'
                                % (peer, list(offered)))
    if _recv_u32(sock, peer) != SECURITY_RESULT_OK:
        raise RFBHandshakeError('%s refused the VNC password: %s'
                                % (peer, _recv_reason(sock, peer)))


def greet_client(sock):
    """The server side of the RFB 3.8 handshake with the client (Nova's
    proxy), offering security type None, up to the SecurityResult.

    :raises RFBHandshakeError: the client speaks another protocol or
        chooses another type.
    """
    peer = 'the VNC client'
    sock.sendall(RFB_VERSION_3_8)
    version = _recv_exact(sock, RFB_VERSION_LENGTH, peer)
    if version != RFB_VERSION_3_8:
        raise RFBHandshakeError('%s speaks %r, not RFB 3.8' % (peer, version))
    sock.sendall(bytes((1, SECURITY_NONE)))
    chosen = _recv_exact(sock, 1, peer)[0]
    if chosen != SECURITY_NONE:
        raise RFBHandshakeError('%s chose security type %d, not None'
                                % (peer, chosen))
    sock.sendall(struct.pack('!I', SECURITY_RESULT_OK))


def refuse_client(sock, reason):
    """Tell an RFB 3.8 client why there is no console: no security types
    and a reason, which Nova's proxy passes on to the user."""
    reason = reason.encode('utf-8')
    try:
        sock.sendall(RFB_VERSION_3_8)
        _recv_exact(sock, RFB_VERSION_LENGTH, 'the VNC client')
        sock.sendall(b'\0' + struct.pack('!I', len(reason)) + reason)
    except (OSError, RFBHandshakeError):
        pass  # the client went away; nothing more to tell it


class RelaySession(object):
    """One console connection: the client's socket and VirtualBox's,
    first the handshake, then bytes relayed both ways."""

    def __init__(self, client, target, password, port, on_close):
        self._client = client
        self._server = None
        self._target = target
        self._password = password
        self._port = port
        self._on_close = on_close
        self._lock = threading.Lock()
        self._closed = False

    def run(self):
        """Handshake with VirtualBox, then with the client, then relay
        (in this thread one way, in a thread of its own the other); close
        both sockets once both ways are done.

        VirtualBox first: when it cannot give a console, the client is
        told why in RFB terms, which Nova's proxy shows its user.
        """
        try:
            if self._handshake():
                outward = threading.Thread(
                    target=self._relay, args=(self._server, self._client),
                    name='vnc-relay-%s-out' % self._port, daemon=True)
                outward.start()
                self._relay(self._client, self._server)
                outward.join()
        finally:
            self.close()
            for sock in (self._client, self._server):
                if sock is not None:
                    sock.close()
            self._on_close(self)

    def _handshake(self):
        """True when both sides are ready for the relaying."""
        try:
            self._client.settimeout(HANDSHAKE_TIMEOUT)
            self._connect_server()
            authenticate_to_server(self._server, self._password)
        except (OSError, EOFError, RFBHandshakeError) as err:
            LOG.warning('VNC console relay port %d: no console: %s',
                        self._port, err)
            refuse_client(self._client, str(err))
            return False
        try:
            greet_client(self._client)
            for sock in (self._client, self._server):
                sock.settimeout(None)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except (OSError, EOFError, RFBHandshakeError) as err:
            LOG.warning('VNC console relay port %d: %s', self._port, err)
            return False
        LOG.debug('VNC console relay port %d: relaying', self._port)
        return True

    def _connect_server(self):
        try:
            server = socket.create_connection(self._target,
                                              timeout=CONNECT_TIMEOUT)
        except OSError as err:
            raise RFBHandshakeError(
                "the VM's VNC server at %s port %d does not answer (is the "
                "VM running?): %s" % (self._target[0], self._target[1],
                                      err.strerror or err))
        with self._lock:
            if not self._closed:
                self._server = server
                server.settimeout(HANDSHAKE_TIMEOUT)
                return
        server.close()
        raise RFBHandshakeError('the console was closed')

    def _relay(self, source, sink):
        try:
            while True:
                data = source.recv(RELAY_BUFFER_SIZE)
                if not data:
                    break
                sink.sendall(data)
        except (OSError, EOFError):
            pass  # either side closed or reset: the session is over
        finally:
            self.close()

    def close(self):
        """End the session. Only shut the sockets down: that wakes the
        threads blocked on them (closing them would not, under eventlet),
        and :meth:`run` closes them once those threads are done."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            sockets = (self._client, self._server)
        for sock in sockets:
            if sock is None:
                continue
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # not connected any more


def _listen_address(address):
    """``address`` as socket functions take it: no IPv6 brackets."""
    return address.strip('[]')


class VNCRelay(object):
    """The listener of one instance's console, on ``listen_address`` and a
    port the system picks, serving until :meth:`close`.

    :meth:`point_at` tells it where the VM's VRDE server is and its
    password; each new connection uses the latest.
    """

    def __init__(self, listen_address):
        self.listen_address = listen_address
        host = _listen_address(listen_address)
        family = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM,
                                    flags=socket.AI_PASSIVE)[0][0]
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._listener.bind((host, 0))
            self._listener.listen()
            self._listener.settimeout(ACCEPT_POLL_SECONDS)
        except OSError:
            self._listener.close()
            raise
        self.port = self._listener.getsockname()[1]
        self._target = None
        self._password = None
        self._sessions = set()
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._serve,
                                        name='vnc-relay-%d' % self.port,
                                        daemon=True)
        self._thread.start()

    def __repr__(self):
        # Never the password.
        return '<VNCRelay on %s port %d to %s>' % (
            self.listen_address, self.port, self._target)

    def point_at(self, host, port, password):
        """Relay new connections to ``host``:``port``, answering its VNC
        Authentication with ``password``."""
        with self._lock:
            self._target = (host, port)
            self._password = password

    def _serve(self):
        while not self._closed.is_set():
            try:
                client, _peer = self._listener.accept()
            except socket.timeout:
                continue
            except OSError as err:
                if self._closed.is_set():
                    return
                LOG.warning('VNC console relay port %d: accept failed: %s',
                            self.port, err)
                # Out of file descriptors, say: do not spin.
                self._closed.wait(1)
                continue
            with self._lock:
                session = RelaySession(client, self._target, self._password,
                                       self.port, self._forget)
                self._sessions.add(session)
            threading.Thread(target=session.run,
                             name='vnc-relay-%d-in' % self.port,
                             daemon=True).start()

    def _forget(self, session):
        with self._lock:
            self._sessions.discard(session)

    def close(self):
        """Stop listening and end the sessions in progress."""
        self._closed.set()
        # shutdown wakes a thread blocked in accept() at once on Linux;
        # close alone does not.
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self._thread.join(5)
        with self._lock:
            sessions = list(self._sessions)
        for session in sessions:
            session.close()


class VNCRelays(object):
    """The console relays of the instances on this host, by instance UUID:
    started on demand, kept until the instance is destroyed or
    nova-compute stops."""

    def __init__(self):
        self._relays = {}
        self._lock = threading.Lock()

    def open(self, key, listen_address, target_host, target_port, password):
        """The port of ``key``'s relay, started if it has none, now
        relaying to ``target_host``:``target_port`` with ``password``.

        :raises OSError: the listener cannot be opened.
        """
        with self._lock:
            relay = self._relays.get(key)
            if relay is not None and relay.listen_address != listen_address:
                relay.close()
                relay = None
            if relay is None:
                relay = VNCRelay(listen_address)
                self._relays[key] = relay
                # Not naming ``key``: it may be the password (the instance
                # UUID with vrde_require_instance_uuid_as_password).
                LOG.info('VNC console relay listening on %(address)s port '
                         '%(port)d', {'address': listen_address,
                                      'port': relay.port})
            relay.point_at(target_host, target_port, password)
            return relay.port

    def close(self, key):
        """Close ``key``'s relay, if it has one."""
        with self._lock:
            relay = self._relays.pop(key, None)
        if relay is not None:
            relay.close()
            LOG.info('VNC console relay port %d closed', relay.port)

    def close_all(self):
        with self._lock:
            relays = list(self._relays.values())
            self._relays.clear()
        for relay in relays:
            relay.close()

    def ports(self):
        """{key: port} of the open relays."""
        with self._lock:
            return {key: relay.port for key, relay in self._relays.items()}
