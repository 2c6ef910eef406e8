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

"""Shared base of the VirtualBox driver's unit tests.

Real VBoxManage 7.2 output lives in ``transcripts/`` (verbatim copies); the
tests feed it to the parsers and to a mocked VBoxManage so that every
parser is proven on what VirtualBox really prints.
"""

import functools
import os
from unittest import mock

import fixtures

from nova import test
from nova.tests.unit.virt.virtualbox import transcript_file
from nova.virt.virtualbox import conf as vbox_conf
from nova.virt.virtualbox import vboxmanage

import nova.conf

CONF = nova.conf.CONF
vbox_conf.register_opts(CONF)

TRANSCRIPT_DIR = transcript_file.TRANSCRIPT_DIR
Transcript = transcript_file.Transcript
read_transcript = transcript_file.read_transcript


def read_public(name):
    """A capture of an older VirtualBox from a public project (raw text)."""
    with open(os.path.join(TRANSCRIPT_DIR, 'public', name),
              encoding='utf-8') as f:
        return f.read()


def transcript_names(prefix=''):
    return sorted(n for n in os.listdir(TRANSCRIPT_DIR)
                  if n.endswith('.txt') and n.startswith(prefix))


def use_wrapper_helpers(vbox):
    """Let a mocked wrapper's helpers built on its other methods
    (close_medium, grow_medium, show_instance_info) run their own code, so
    that a test sees their commands on run and sets show_vm_info only."""
    for name in ('close_medium', 'grow_medium', 'show_instance_info'):
        getattr(vbox, name).side_effect = functools.partial(
            getattr(vboxmanage.VBoxManage, name), vbox)


class FakeInstance(object):
    """Just the Instance fields the ops modules read."""

    def __init__(self, uuid='4fd89640-4231-4c44-a7b5-a3c7ca859849',
                 name='instance-0000002a', **fields):
        self.uuid = uuid
        self.name = name
        for key, value in fields.items():
            setattr(self, key, value)


class VBoxTestCase(test.NoDBTestCase):
    """Base of the driver's unit tests: a mocked VBoxManage wrapper and
    [virtualbox] paths in a temporary folder."""

    def setUp(self):
        super().setUp()
        self.instances_path = self.useFixture(fixtures.TempDir()).path
        self.flags(instances_path=self.instances_path)
        self.vbox = mock.create_autospec(vboxmanage.VBoxManage,
                                         instance=True)
        self.vbox.version.return_value = ((7, 2, 22), '7.2.22_Debianr175245')
        use_wrapper_helpers(self.vbox)

    def stdout_of(self, name):
        return read_transcript(name).stdout
