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

"""Records tgtd-1.0.85.json: every request of the unit tests' scenario as
the client sends it and tgtd's answer, byte for byte, from a real tgtd.

Run as root against a tgtd of your own (never the system's):
``tgtd -f -C 4711 --iscsi portal=127.0.0.1:3261 &`` then
``python -m cinder_virtualbox.tests.unit.transcripts.capture_tgtd 4711``.
The CHAP secret in it is a fixed test value, not a secret of any host.
"""

import json
import os
import sys
import tempfile

from cinder_virtualbox import tgtd

PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                    'tgtd-1.0.85.json')
IQN_A = 'iqn.2010-10.org.openstack:volume-0a0a0a0a-aaaa-4aaa-8aaa-0a0a0a0a0a0a'
IQN_B = 'iqn.2010-10.org.openstack:volume-0b0b0b0b-bbbb-4bbb-8bbb-0b0b0b0b0b0b'
USER = 'TestUser23456789abcd'
SECRET = 'CaptureOnly23456'


class Recorder(tgtd.Client):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.records = []
        self.step = None

    def exchange(self, message, what):
        answer = super().exchange(message, what)
        self.records.append({'step': self.step, 'request': message.hex(),
                             'response': answer.hex()})
        return answer


def main(argv):
    client = Recorder(control_port=int(argv[1]))
    if client.show_targets() or client.show_accounts():
        sys.exit('this tgtd has targets or accounts: use a tgtd of your own')
    folder = tempfile.mkdtemp(prefix='capture-tgtd-')
    files = []
    for name, size in (('a', 1 << 30), ('b', 2 << 30)):
        files.append(os.path.join(folder, 'volume-' + name))
        with open(files[-1], 'wb') as f:
            f.truncate(size)

    def step(name, call, *args):
        client.step = name
        try:
            call(*args)
        except tgtd.TgtdError as e:
            print('%s: %s' % (name, e))

    step('show targets, none', client.show_targets)
    step('show accounts, none', client.show_accounts)
    step('new target 1', client.new_target, 1, IQN_A)
    step('new target 1 again', client.new_target, 1, IQN_A)
    step('new target 2 same name', client.new_target, 2, IQN_A)
    step('new lun 1 of target 1', client.new_lun, 1, 1, files[0])
    step('new lun 1 of target 1 again', client.new_lun, 1, 1, files[0])
    step('bind ALL to target 1', client.bind_address, 1, 'ALL')
    step('new account', client.new_account, USER, SECRET)
    step('new account again', client.new_account, USER, SECRET)
    step('bind account to target 1', client.bind_account, 1, USER)
    step('bind account to target 1 again', client.bind_account, 1, USER)
    step('show targets, one', client.show_targets)
    step('show accounts, one', client.show_accounts)
    step('new target 2', client.new_target, 2, IQN_B)
    step('new lun 1 of target 2', client.new_lun, 2, 1, files[1])
    step('bind ALL to target 2', client.bind_address, 2, 'ALL')
    step('show targets, two', client.show_targets)
    step('unbind account from target 1', client.unbind_account, 1, USER)
    step('unbind account from target 1 again', client.unbind_account, 1,
         USER)
    step('bind unknown account', client.bind_account, 1, 'NoSuchUser')
    step('delete account', client.delete_account, USER)
    step('delete account again', client.delete_account, USER)
    step('delete lun 1 of target 1', client.delete_lun, 1, 1)
    step('delete lun 1 of target 1 again', client.delete_lun, 1, 1)
    step('delete target 1', client.delete_target, 1)
    step('delete target 1 again', client.delete_target, 1)
    step('delete target 2 forced', client.delete_target, 2, True)
    step('new lun of unknown target', client.new_lun, 9, 1, files[0])
    step('new target 3', client.new_target, 3, IQN_A)
    step('new lun with missing file', client.new_lun, 3, 1,
         os.path.join(folder, 'missing'))
    step('delete target 3', client.delete_target, 3)
    step('show targets, none again', client.show_targets)
    for path in files:
        os.unlink(path)
    os.rmdir(folder)
    with open(PATH, 'w') as f:
        json.dump({'tgtd': '1.0.85 (Debian 1:1.0.85-1+deb12u1)',
                   'control_port': client.control_port,
                   'folder': folder,
                   'exchanges': client.records}, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main(sys.argv)
