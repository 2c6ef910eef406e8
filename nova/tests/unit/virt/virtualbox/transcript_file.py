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

"""Reads the verbatim VBoxManage transcripts kept beside this file.

Standard library only: also loaded by stand-in VBoxManage processes.
"""

import collections
import os

TRANSCRIPT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              'transcripts')

Transcript = collections.namedtuple(
    'Transcript', ['command', 'exit_code', 'stdout', 'stderr'])

_STDOUT = '----- stdout -----\n'
_STDERR = '----- stderr -----\n'
_END = '----- end -----'


def read_transcript(name):
    """The command line, exit code and verbatim stdout/stderr of one
    transcript file."""
    with open(os.path.join(TRANSCRIPT_DIR, name), encoding='utf-8') as f:
        text = f.read()
    command = text.splitlines()[0][2:]
    exit_code = None
    for line in text.splitlines():
        if line.startswith('# exit code: '):
            exit_code = int(line.split(':', 1)[1])
            break
    out_start = text.index(_STDOUT) + len(_STDOUT)
    err_mark = text.index(_STDERR, out_start)
    end = text.rindex(_END)
    return Transcript(command, exit_code, text[out_start:err_mark],
                      text[err_mark + len(_STDERR):end])
