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

"""A small client of tgtd's management socket: what ``tgtadm`` does.

The file volume driver talks to tgtd (the Linux SCSI target daemon, Debian
package ``tgt``, 1.0.85) itself instead of running ``tgtadm`` or
``tgt-admin``, because those take a CHAP secret on their command line,
where every user of the host can read it. Here the secret goes only into
the socket.

The protocol (tgt 1.0.85, ``usr/tgtadm.h``, ``usr/tgtadm.c``,
``usr/mgmt.c``): one request per connection to the Unix socket
``/var/run/tgtd/socket.N`` (N is tgtd's ``--control-port``, 0 by
default). The request is ``struct tgtadm_req`` (120 bytes, native byte
order) followed by a NUL-terminated parameter string ``key=value,...``;
its ``len`` counts both. The answer is ``struct tgtadm_rsp`` (``err``,
``len``, 8 bytes) followed by ``len - 8`` bytes of NUL-terminated text for
``show``. tgtd answers only a peer of its own uid and gid (SO_PEERCRED); it
closes anyone else's connection without a word.
"""

import errno
import re
import socket
import struct

DEFAULT_SOCKET = '/var/run/tgtd/socket'
LLD = 'iscsi'

# enum tgtadm_mode and enum tgtadm_op of tgt 1.0.85 (usr/tgtadm.h).
MODE_SYSTEM, MODE_TARGET, MODE_DEVICE, MODE_PORTAL, MODE_LLD = range(5)
MODE_SESSION, MODE_CONNECTION, MODE_ACCOUNT = range(5, 8)
(OP_NEW, OP_DELETE, OP_SHOW, OP_BIND, OP_UNBIND, OP_UPDATE, OP_STATS,
 OP_START, OP_STOP) = range(9)
ACCOUNT_INCOMING = 0
# tgtadm's "no tid given" (-1) and GLOBAL_TID (~0U) are the same 4 bytes;
# "no lun given" is UINT64_MAX.
NO_TID = -1
NO_LUN = 0xffffffffffffffff

# mode, op, lld[64], len, tid, sid, lun, cid, host_no, device_type, ac_dir,
# pack, force: the compiler pads nothing (sid lands on offset 80).
REQUEST = struct.Struct('=II64sIiQQIIIIII')
RESPONSE = struct.Struct('=II')
assert REQUEST.size == 120

# enum tgtadm_errno of 1.0.85 (usr/tgtadm_error.h) with tgtadm's own
# wording (tgtadm_strerror in usr/tgtadm.c).
ERRORS = [
    ('SUCCESS', 'success'),
    ('UNKNOWN_ERR', 'unknown error'),
    ('NOMEM', 'out of memory'),
    ('NO_DRIVER', "can't find the driver"),
    ('NO_TARGET', "can't find the target"),
    ('NO_LUN', "can't find the logical unit"),
    ('NO_SESSION', "can't find the session"),
    ('NO_CONNECTION', "can't find the connection"),
    ('NO_BINDING', "can't find the binding"),
    ('TARGET_EXIST', 'this target already exists'),
    ('LUN_EXIST', 'this logical unit number already exists'),
    ('BINDING_EXIST', 'this binding already exists'),
    ('ACL_EXIST', 'this access control rule already exists'),
    ('ACL_NOEXIST', 'this access control rule does not exist'),
    ('USER_EXIST', 'this account already exists'),
    ('NO_USER', "can't find the account"),
    ('TOO_MANY_USER', 'too many accounts'),
    ('INVALID_REQUEST', 'invalid request'),
    ('OUTACCOUNT_EXIST', 'this target already has an outgoing account'),
    ('TARGET_ACTIVE', 'this target is still active'),
    ('LUN_ACTIVE', 'this logical unit is still active'),
    ('DRIVER_ACTIVE', 'this driver is busy'),
    ('UNSUPPORTED_OPERATION', "this operation isn't supported"),
    ('UNKNOWN_PARAM', 'unknown parameter'),
    ('PREVENT_REMOVAL', 'this device has Prevent Removal set'),
]
CODES = {name: code for code, (name, _text) in enumerate(ERRORS)}

# tgtd refuses other characters in a target name (tgt_target_create).
_IQN_RE = re.compile(r'^[A-Za-z0-9:.-]+$')
# The parameter string is split at ',' and '='; keep names and secrets to
# characters that cannot be mistaken for either.
_TOKEN_RE = re.compile(r'^[A-Za-z0-9._:@+-]+$')


class TgtdError(Exception):
    """tgtd refused a request, or could not be asked."""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code

    @property
    def name(self):
        if self.code is not None and self.code < len(ERRORS):
            return ERRORS[self.code][0]
        return None


class TgtdUnavailable(TgtdError):
    """No tgtd listens on the socket (not installed or not started)."""


class TgtdPermissionDenied(TgtdError):
    """tgtd does not answer this user (it answers only its own, root)."""


class Lun(object):
    def __init__(self, lun):
        self.lun = lun
        self.type = None
        self.path = None
        self.backing_type = None
        self.size_mb = None

    def __repr__(self):
        return 'Lun(%d, %r, %r)' % (self.lun, self.type, self.path)


class Target(object):
    def __init__(self, tid, name):
        self.tid = tid
        self.name = name
        self.luns = {}
        self.accounts = []          # incoming (CHAP) accounts bound
        self.outgoing_accounts = []
        self.acls = []              # initiator addresses and names
        self.sessions = 0           # I_T nexuses: logged-in initiators

    def __repr__(self):
        return 'Target(%d, %r)' % (self.tid, self.name)


def parse_targets(text):
    """``show`` of mode target -> [Target]. The format is tgt_target_show_all
    (usr/target.c): "Target N: IQN", sections at 4 spaces, their entries at
    8, a LUN's fields at 12."""
    targets = []
    target = section = lun = None
    for line in text.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(' '))
        body = line.strip()
        if indent == 0:
            m = re.match(r'^Target (\d+): (.*)$', body)
            target = Target(int(m.group(1)), m.group(2)) if m else None
            if target:
                targets.append(target)
            section = lun = None
        elif target is None:
            continue
        elif indent == 4:
            section, lun = body.rstrip(':'), None
        elif section == 'LUN information':
            if indent == 8 and body.startswith('LUN:'):
                lun = Lun(int(body.split(':', 1)[1]))
                target.luns[lun.lun] = lun
            elif lun is not None and indent == 12:
                key, _sep, value = body.partition(':')
                value = value.strip()
                if key == 'Type':
                    lun.type = value
                elif key == 'Backing store path':
                    lun.path = None if value == 'None' else value
                elif key == 'Backing store type':
                    lun.backing_type = value
                elif key == 'Size':
                    m = re.match(r'^(\d+) MB', value)
                    lun.size_mb = int(m.group(1)) if m else None
        elif indent == 8:
            if section == 'Account information':
                if body.endswith(' (outgoing)'):
                    target.outgoing_accounts.append(body[:-len(' (outgoing)')])
                else:
                    target.accounts.append(body)
            elif section == 'ACL information':
                target.acls.append(body)
            elif section == 'I_T nexus information' and body.startswith(
                    'I_T nexus:'):
                target.sessions += 1
    return targets


def parse_accounts(text):
    """``show`` of mode account -> [user]: "Account list:" and a user per
    line (account_show, usr/target.c); nothing at all when there is none."""
    return [line.strip() for line in text.splitlines()
            if line.startswith(' ') and line.strip()]


def _check(kind, value, pattern):
    if not isinstance(value, str) or not pattern.match(value):
        # The value itself stays out: it may be a secret.
        raise ValueError('%s has characters tgtd cannot take' % kind)


def recv_exactly(sock, size):
    """``size`` bytes from a stream socket, fewer when it closes first."""
    data = b''
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


class Client(object):
    """One tgtd, reached at ``<socket_path>.<control_port>``."""

    def __init__(self, control_port=0, socket_path=DEFAULT_SOCKET,
                 timeout=30):
        self.path = '%s.%d' % (socket_path, control_port)
        self.control_port = control_port
        self.timeout = timeout

    # -- the wire -----------------------------------------------------------

    @staticmethod
    def encode(mode, op, params='', tid=NO_TID, lun=NO_LUN,
               ac_dir=ACCOUNT_INCOMING, force=0):
        """The request bytes tgtadm sends for the same operation."""
        body = params.encode('utf-8') + b'\0' if params else b''
        header = REQUEST.pack(mode, op, LLD.encode('ascii'),
                              REQUEST.size + len(body), tid, 0, lun, 0, 0,
                              0, ac_dir, 0, force)
        return header + body

    def _connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.path)
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            raise TgtdUnavailable(
                'tgtd is not running (nothing listens on %s): install the '
                'tgt package and start tgtd%s' % (
                    self.path, ' -C %d' % self.control_port
                    if self.control_port else ''))
        except PermissionError:
            sock.close()
            raise TgtdPermissionDenied(
                'permission denied on %s: tgtd answers only the user it '
                'runs as; run this as root' % self.path)
        except OSError as e:
            sock.close()
            raise TgtdError('cannot reach tgtd at %s: %s' % (
                self.path, e.strerror or e))
        return sock

    def exchange(self, message, what):
        """Sends one request's bytes, returns the answer's bytes (header and
        text) as tgtd wrote them."""
        sock = self._connect()
        try:
            try:
                sock.sendall(message)
                header = recv_exactly(sock, RESPONSE.size)
            except socket.timeout:
                raise TgtdError('tgtd at %s did not answer %s within %ss' %
                                (self.path, what, self.timeout))
            except OSError as e:
                header = b''
                if e.errno not in (errno.EPIPE, errno.ECONNRESET):
                    raise TgtdError('%s to tgtd at %s failed: %s' %
                                    (what, self.path, e.strerror or e))
            if len(header) < RESPONSE.size:
                # What ipc_perm does to a peer of another uid or gid.
                raise TgtdPermissionDenied(
                    'tgtd at %s closed the connection without answering: it '
                    'answers only the user it runs as; run this as root' %
                    self.path)
            _err, length = RESPONSE.unpack(header)
            body = recv_exactly(sock, max(length - RESPONSE.size, 0))
        finally:
            sock.close()
        return header + body

    def request(self, mode, op, params='', what=None, **fields):
        """Sends one request, returns the text of the answer ('' when
        there is none). ``what`` names the request in an error (never the
        parameters: they may hold a secret)."""
        what = what or 'request'
        answer = self.exchange(self.encode(mode, op, params, **fields), what)
        err, _length = RESPONSE.unpack_from(answer)
        if err:
            text = ERRORS[err][1] if err < len(ERRORS) else 'error %d' % err
            raise TgtdError('tgtd: %s: %s' % (what, text), code=err)
        body = answer[RESPONSE.size:]
        return body.split(b'\0', 1)[0].decode('utf-8', 'replace')

    # -- operations ---------------------------------------------------------

    def show_targets(self):
        return parse_targets(self.request(MODE_TARGET, OP_SHOW,
                                          what='show targets'))

    def find_target(self, iqn):
        for target in self.show_targets():
            if target.name == iqn:
                return target
        return None

    def show_accounts(self):
        return parse_accounts(self.request(MODE_ACCOUNT, OP_SHOW,
                                           what='show accounts'))

    def new_target(self, tid, iqn):
        _check('target name', iqn, _IQN_RE)
        self.request(MODE_TARGET, OP_NEW, 'targetname=%s' % iqn, tid=tid,
                     what='new target %d %s' % (tid, iqn))

    def create_target(self, iqn, attempts=5):
        """A new target named ``iqn`` on a free tid -> its tid. tgtd wants
        the caller to choose the tid; another client may take the same one
        between our show and our new, hence the retries."""
        _check('target name', iqn, _IQN_RE)
        for _attempt in range(attempts):
            targets = self.show_targets()
            for target in targets:
                if target.name == iqn:
                    raise TgtdError('tgtd: target %s exists already (tid %d)'
                                    % (iqn, target.tid),
                                    code=CODES['TARGET_EXIST'])
            tid = max([t.tid for t in targets] + [0]) + 1
            try:
                self.new_target(tid, iqn)
                return tid
            except TgtdError as e:
                if e.name != 'TARGET_EXIST':
                    raise
        raise TgtdError('tgtd: no free target id for %s after %d tries' %
                        (iqn, attempts))

    def delete_target(self, tid, force=False):
        self.request(MODE_TARGET, OP_DELETE, tid=tid, force=int(force),
                     what='delete target %d' % tid)

    def new_lun(self, tid, lun, path, bstype='rdwr'):
        if ',' in path or '\0' in path:
            raise ValueError('tgtd cannot take a backing store path with a '
                             'comma: %s' % path)
        self.request(MODE_DEVICE, OP_NEW,
                     'path=%s,bstype=%s' % (path, bstype), tid=tid, lun=lun,
                     what='new LUN %d of target %d (%s)' % (lun, tid, path))

    def delete_lun(self, tid, lun):
        self.request(MODE_DEVICE, OP_DELETE, tid=tid, lun=lun,
                     what='delete LUN %d of target %d' % (lun, tid))

    def bind_address(self, tid, address='ALL'):
        self.request(MODE_TARGET, OP_BIND, 'initiator-address=%s' % address,
                     tid=tid, what='bind %s to target %d' % (address, tid))

    def new_account(self, user, secret):
        _check('CHAP user name', user, _TOKEN_RE)
        _check('CHAP secret', secret, _TOKEN_RE)
        # account_mgmt cuts "user=U" at the first ',' and takes the rest
        # after "password=" as the secret: this order, nothing after it.
        self.request(MODE_ACCOUNT, OP_NEW,
                     'user=%s,password=%s' % (user, secret),
                     what='new account %s' % user)

    def delete_account(self, user):
        _check('CHAP user name', user, _TOKEN_RE)
        self.request(MODE_ACCOUNT, OP_DELETE, 'user=%s' % user,
                     what='delete account %s' % user)

    def bind_account(self, tid, user):
        _check('CHAP user name', user, _TOKEN_RE)
        self.request(MODE_ACCOUNT, OP_BIND, 'user=%s' % user, tid=tid,
                     what='bind account %s to target %d' % (user, tid))

    def unbind_account(self, tid, user):
        _check('CHAP user name', user, _TOKEN_RE)
        self.request(MODE_ACCOUNT, OP_UNBIND, 'user=%s' % user, tid=tid,
                     what='unbind account %s from target %d' % (user, tid))
