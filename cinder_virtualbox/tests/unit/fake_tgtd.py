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

"""A fake tgtd for the unit tests: a Unix socket server that speaks tgtd
1.0.85's management protocol with its own bytes.

It keeps targets, LUNs, ACLs and accounts as tgtd does, answers with the
error numbers tgtd answers for the same request (usr/mgmt.c,
usr/target.c) and renders ``show`` in tgtd's own layout, so that the
client under test is the real one, on a real socket. test_tgtd replays the
requests recorded from a real tgtd (transcripts/tgtd-1.0.85.json) against
it and compares every answer byte for byte.

It records every request it received (``requests``), so tests can look for
a secret in what went over the wire, and can play a tgtd that restarted
(``restart``), has a logged-in initiator (``sessions``) or refuses the
caller as tgtd refuses a peer of another uid (``refuse``).
"""

import os
import re
import socket
import tempfile
import threading

from cinder_virtualbox import tgtd as proto

E = proto.CODES


def print_disksize(size):
    # tgtd's own rounding (print_disksize, usr/target.c).
    return ((size // 512) - (((size // 512) // 625) - 974)) // 1950


class FakeTgtd(object):
    def __init__(self, control_port=0, files=None):
        self.folder = tempfile.mkdtemp(prefix='fake-tgtd-')
        self.socket_path = os.path.join(self.folder, 'socket')
        self.control_port = control_port
        self.files = files      # {path: size} instead of the filesystem
        self.requests = []
        self.refuse = False
        self.lock = threading.Lock()
        self.restart()
        self._server = None
        self._thread = None

    # -- state ----------------------------------------------------------

    def restart(self):
        """What a tgtd restart leaves: nothing."""
        self.targets = {}       # tid -> dict
        self.accounts = {}      # user -> secret, in creation order

    def _size(self, path):
        if self.files is not None:
            return self.files.get(path)
        try:
            return os.stat(path).st_size
        except OSError:
            return None

    # -- server ---------------------------------------------------------

    def start(self):
        path = '%s.%d' % (self.socket_path, self.control_port)
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(path)
        self._server.listen(8)
        # accept() is not woken by close() from another thread: poll.
        self._server.settimeout(0.05)
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if not os.path.isdir(self.folder):
            return
        self._stopping = True
        if self._thread is not None:
            self._thread.join(5)
        if self._server is not None:
            self._server.close()
            self._server = None
        for name in os.listdir(self.folder):
            os.unlink(os.path.join(self.folder, name))
        os.rmdir(self.folder)

    def client(self, **kwargs):
        return proto.Client(control_port=self.control_port,
                            socket_path=self.socket_path, **kwargs)

    def _serve(self):
        while not self._stopping:
            try:
                conn, _addr = self._server.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(5)
            with conn:
                self._one(conn)

    def _one(self, conn):
        if self.refuse:
            return              # ipc_perm: closed without an answer
        header = proto.recv_exactly(conn, proto.REQUEST.size)
        if len(header) < proto.REQUEST.size:
            return
        length = proto.REQUEST.unpack(header)[3]
        body = proto.recv_exactly(conn, length - proto.REQUEST.size)
        self.requests.append(header + body)
        with self.lock:
            conn.sendall(self.answer(header + body))

    # -- tgtd -----------------------------------------------------------

    def answer(self, message):
        """The bytes tgtd answers to one request."""
        (mode, op, _lld, _len, tid, _sid, lun, _cid, _host, _devtype,
         _acdir, _pack, force) = proto.REQUEST.unpack_from(message)
        params = message[proto.REQUEST.size:].split(b'\0', 1)[0].decode()
        text = ''
        handler = {
            (proto.MODE_TARGET, proto.OP_NEW): self._target_new,
            (proto.MODE_TARGET, proto.OP_DELETE): self._target_delete,
            (proto.MODE_TARGET, proto.OP_BIND): self._target_bind,
            (proto.MODE_DEVICE, proto.OP_NEW): self._lun_new,
            (proto.MODE_DEVICE, proto.OP_DELETE): self._lun_delete,
            (proto.MODE_ACCOUNT, proto.OP_NEW): self._account_new,
            (proto.MODE_ACCOUNT, proto.OP_DELETE): self._account_delete,
            (proto.MODE_ACCOUNT, proto.OP_BIND): self._account_bind,
            (proto.MODE_ACCOUNT, proto.OP_UNBIND): self._account_unbind,
        }.get((mode, op))
        if (mode, op) == (proto.MODE_TARGET, proto.OP_SHOW):
            err, text = 0, self._show_targets()
        elif (mode, op) == (proto.MODE_ACCOUNT, proto.OP_SHOW):
            err, text = 0, self._show_accounts()
        elif handler is None:
            err = E['UNSUPPORTED_OPERATION']
        else:
            err = handler(tid=tid, lun=lun, params=params, force=force)
        if err or not text:
            return proto.RESPONSE.pack(err, proto.RESPONSE.size)
        data = text.encode() + b'\0'
        return proto.RESPONSE.pack(0, proto.RESPONSE.size + len(data)) + data

    @staticmethod
    def _param(params, key):
        m = re.search(r'(?:^|,)%s=([^,]*)' % re.escape(key), params)
        return m.group(1) if m else None

    def _target_new(self, tid, params, **_kw):
        name = self._param(params, 'targetname')
        if not name or not re.match(r'^[A-Za-z0-9:.-]+$', name):
            return E['INVALID_REQUEST']
        if tid in self.targets or any(t['name'] == name
                                      for t in self.targets.values()):
            return E['TARGET_EXIST']
        self.targets[tid] = {'name': name, 'luns': {}, 'accounts': [],
                             'acls': [], 'sessions': 0}
        return 0

    def _target_delete(self, tid, force, **_kw):
        target = self.targets.get(tid)
        if target is None:
            return E['NO_TARGET']
        if target['sessions'] and not force:
            return E['TARGET_ACTIVE']
        del self.targets[tid]
        return 0

    def _target_bind(self, tid, params, **_kw):
        target = self.targets.get(tid)
        if target is None:
            return E['NO_TARGET']
        address = self._param(params, 'initiator-address')
        if address in target['acls']:
            return E['ACL_EXIST']
        target['acls'].append(address)
        return 0

    def _lun_new(self, tid, lun, params, **_kw):
        target = self.targets.get(tid)
        if target is None:
            return E['NO_TARGET']
        if lun in target['luns']:
            return E['LUN_EXIST']
        path = self._param(params, 'path')
        size = self._size(path)
        if size is None:
            return E['INVALID_REQUEST']
        target['luns'][lun] = {'path': path, 'size': size,
                               'bstype': self._param(params, 'bstype')}
        return 0

    def _lun_delete(self, tid, lun, **_kw):
        target = self.targets.get(tid)
        if target is None:
            return E['NO_TARGET']
        if lun not in target['luns']:
            return E['NO_LUN']
        del target['luns'][lun]
        return 0

    def _account_new(self, params, **_kw):
        # account_mgmt's own cut: the user up to ',', the secret after
        # "password=".
        user, _sep, rest = params.partition(',')
        user = user[len('user='):]
        if user in self.accounts:
            return E['USER_EXIST']
        self.accounts[user] = rest[len('password='):]
        return 0

    def _account_delete(self, params, **_kw):
        user = self._param(params, 'user')
        if user not in self.accounts:
            return E['NO_USER']
        for target in self.targets.values():
            if user in target['accounts']:
                target['accounts'].remove(user)
        del self.accounts[user]
        return 0

    def _account_bind(self, tid, params, **_kw):
        target = self.targets.get(tid)
        if target is None:
            return E['NO_TARGET']
        user = self._param(params, 'user')
        if user not in self.accounts:
            return E['NO_USER']
        if user in target['accounts']:
            return E['USER_EXIST']
        target['accounts'].append(user)
        return 0

    def _account_unbind(self, tid, params, **_kw):
        target = self.targets.get(tid)
        if target is None:
            return E['NO_TARGET']
        user = self._param(params, 'user')
        if user not in self.accounts or user not in target['accounts']:
            return E['NO_USER']
        target['accounts'].remove(user)
        return 0

    def _show_accounts(self):
        if not self.accounts:
            return ''
        return 'Account list:\n' + ''.join(
            '    %s\n' % user for user in self.accounts)

    @staticmethod
    def _lun_text(tid, lun, kind, size, blocksize, bstype, path):
        return (
            '        LUN: %d\n'
            '            Type: %s\n'
            '            SCSI ID: IET     %04x%04x\n'
            '            SCSI SN: beaf%d%d\n'
            '            Size: %d MB, Block size: %d\n'
            '            Online: Yes\n'
            '            Removable media: No\n'
            '            Prevent removal: No\n'
            '            Readonly: No\n'
            '            SWP: No\n'
            '            Thin-provisioning: No\n'
            '            Backing store type: %s\n'
            '            Backing store path: %s\n'
            '            Backing store flags: \n' % (
                lun, kind, tid, lun, tid, lun, print_disksize(size),
                blocksize, bstype, path))

    def _show_targets(self):
        out = []
        for tid in sorted(self.targets):
            target = self.targets[tid]
            out.append('Target %d: %s\n'
                       '    System information:\n'
                       '        Driver: iscsi\n'
                       '        State: ready\n'
                       '    I_T nexus information:\n' % (tid, target['name']))
            for n in range(target['sessions']):
                out.append('        I_T nexus: %d\n'
                           '            Initiator: iqn.fake:initiator '
                           'alias: none\n'
                           '            Connection: 0\n'
                           '                IP Address: 127.0.0.1\n' %
                           (n + 1))
            out.append('    LUN information:\n')
            out.append(self._lun_text(tid, 0, 'controller', 0, 1, 'null',
                                      'None'))
            for lun in sorted(target['luns']):
                info = target['luns'][lun]
                out.append(self._lun_text(tid, lun, 'disk', info['size'],
                                          512, info['bstype'], info['path']))
            out.append('    Account information:\n')
            out.extend('        %s\n' % user for user in target['accounts'])
            out.append('    ACL information:\n')
            out.extend('        %s\n' % acl for acl in target['acls'])
        return ''.join(out)
