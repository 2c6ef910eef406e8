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

"""Shared test scaffolding: a private VBOXSIM_HOME/HOME per test, in-process
and CLI runs."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

from vboxsim import cli
from vboxsim import state

REPO_ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)


class SimTestCase(unittest.TestCase):
    """Each test gets an empty simulator: its own home, machine folder and no
    latency."""

    extra_env = {}

    def setUp(self):
        super().setUp()
        self.tmp = tempfile.mkdtemp(prefix="vboxsim-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.home = os.path.join(self.tmp, "home")
        self.sim_home = os.path.join(self.tmp, "vboxsim")
        os.makedirs(self.home)
        env = {
            "HOME": self.home,
            "VBOXSIM_HOME": self.sim_home,
            "VBOXSIM_LATENCY": "0",
            "VBOXSIM_ACPI_DELAY": "1.0",
        }
        env.update(self.extra_env)
        patcher = mock.patch.dict(os.environ, env)
        patcher.start()
        self.addCleanup(patcher.stop)
        os.environ.pop("VBOXSIM_FAULTS", None)

    def vbox(self, *argv):
        """Run one invocation in-process: (exit code, stdout, stderr)."""
        return cli.run(list(argv), state.Store(self.sim_home))

    def ok(self, *argv):
        code, out, err = self.vbox(*argv)
        self.assertEqual(
            0, code, "%s failed: %s%s" % (" ".join(argv), out, err)
        )
        return out

    def cli(self, *argv, env=None):
        """Run `python -m vboxsim ...` as a separate process."""
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env["PYTHONPATH"] = (
            REPO_ROOT + os.pathsep + full_env.get("PYTHONPATH", "")
        )
        return subprocess.run(
            [sys.executable, "-m", "vboxsim"] + list(argv),
            capture_output=True,
            text=True,
            env=full_env,
            cwd=self.tmp,
        )

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def mr(self, vm):
        """showvminfo --machinereadable as a dict (last value wins)."""
        values = {}
        for line in self.ok(
            "showvminfo", vm, "--machinereadable"
        ).splitlines():
            key, sep, value = line.partition("=")
            if sep:
                values[key.strip('"')] = value.strip('"')
        return values
