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

"""The two VirtualBoxes the driver is tested against beyond mocks.

SimulatorFixture: the bundled VBoxManage 7.2 simulator with its state in
a temporary folder. RealVBoxFixture: the real VBoxManage 7.2 that
tools/real-vbox/provision.sh sets up (REALVBOX_CMD, else
/usr/local/bin/vboxmanage-real); skipped when absent, unless
REALVBOX_REQUIRED=1 (the realvbox tox environment), where absence fails.
Either gives the command line for [virtualbox] vboxmanage_cmd, the only
thing that differs for the driver.
"""

import os
import re
import shlex
import subprocess
import sys
import tempfile
import time

import fixtures
import testtools

from nova.virt.virtualbox import parsers

REALVBOX_DEFAULT = '/usr/local/bin/vboxmanage-real'


class SimulatorFixture(fixtures.Fixture):
    """vboxmanage-sim with fresh state, no latency unless asked."""

    def __init__(self, latency='0', acpi_delay='0.2'):
        super().__init__()
        self.latency = latency
        self.acpi_delay = acpi_delay

    def _setUp(self):
        self.home = self.useFixture(fixtures.TempDir()).path
        for name, value in (('VBOXSIM_HOME', self.home),
                            ('VBOXSIM_LATENCY', self.latency),
                            ('VBOXSIM_ACPI_DELAY', self.acpi_delay)):
            self.useFixture(fixtures.EnvironmentVariable(name, value))
        self.command = '%s -m vboxsim' % shlex.quote(sys.executable)

    def run(self, *args):
        """Run the simulator directly (as a user or the GUI would)."""
        return subprocess.run(shlex.split(self.command) + list(args),
                              capture_output=True, text=True)


def real_vboxmanage():
    """The real VBoxManage command line, or None."""
    command = os.environ.get('REALVBOX_CMD')
    if command:
        return command
    if os.access(REALVBOX_DEFAULT, os.X_OK):
        return REALVBOX_DEFAULT
    return None


class RealVBoxFixture(fixtures.Fixture):
    """The real VBoxManage 7.2 (configuration commands only: no VM can
    start on these machines)."""

    def _setUp(self):
        self.command = real_vboxmanage()
        if not self.command:
            message = ('real VBoxManage not provisioned: run '
                       'tools/real-vbox/provision.sh as root or set '
                       'REALVBOX_CMD')
            if os.environ.get('REALVBOX_REQUIRED') == '1':
                raise AssertionError(message)
            raise testtools.TestCase.skipException(message)
        # Paths must mean the same inside the chroot: /tmp is shared.
        self.workdir = self.useFixture(fixtures.TempDir(
            rootdir=tempfile.gettempdir())).path
        # Runs before the folder goes: the registry is VirtualBox's one.
        self.addCleanup(self.forget_leftovers)

    def run(self, *args):
        return subprocess.run(shlex.split(self.command) + list(args),
                              capture_output=True, text=True)

    def forget_leftovers(self):
        """Unregister the VMs and media under this fixture's folder that a
        test left registered (its own cleanup failed, or ran while the VM's
        session was still closing): the real registry is shared by the
        tests that follow, which would find them inaccessible."""
        for uuid in self._own_vms():
            self.run('controlvm', uuid, 'poweroff')
            deadline = time.monotonic() + 15
            # The session of a VM just powered off may stay locked a moment.
            while (self.run('unregistervm', uuid).returncode
                   and time.monotonic() < deadline):
                time.sleep(0.2)
        # Children before parents: closemedium refuses a parent.
        for _ in range(5):
            media = self._own_media()
            if not media:
                break
            for kind, uuid in media:
                self.run('closemedium', kind, uuid)

    def _own(self, path):
        return path.startswith(self.workdir + os.sep)

    def _own_vms(self):
        listing = self.run('list', 'vms', '--long').stdout
        return [fields['UUID'] for fields in (
            parsers.parse_colon_pairs(block)
            for block in re.split(r'(?m)^(?=Name:)', listing))
            if self._own(fields.get('Config file', ''))]

    def _own_media(self):
        return [(kind, medium['UUID'])
                for kind, listing in (('disk', 'hdds'), ('dvd', 'dvds'))
                for medium in parsers.parse_colon_blocks(
                    self.run('list', listing).stdout)
                if self._own(medium.get('Location', ''))]
