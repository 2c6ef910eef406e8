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

"""Resident mode (service.py + native/client.c) answers exactly as a
Python process per call does."""

import os
import shutil
import subprocess
import tempfile
import unittest

from vboxsim import service
from vboxsim.tests import base

UUID = "3d6e8a9b-1111-4c22-8d33-0123456789ab"


class ResidentTestCase(base.SimTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.client = service.build_client(os.path.join(
            tempfile.gettempdir(), "vboxsim-client-%d" % os.getpid()))
        if cls.client is None:
            raise unittest.SkipTest("no C compiler, or not Linux")

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "client", None):
            os.unlink(cls.client)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.resident = service.Resident(self.client).start()
        self.addCleanup(self.resident.stop)

    def via_client(self, *argv, env=None, stdin=None):
        full_env = dict(os.environ, **self.resident.environ())
        full_env.update(env or {})
        return subprocess.run([self.client] + list(argv), env=full_env,
                              capture_output=True, input=stdin, cwd=self.tmp)

    def via_process(self, *argv, env=None, stdin=None):
        return subprocess.run(
            [self.client] + list(argv), capture_output=True, input=stdin,
            cwd=self.tmp, env=dict(os.environ, **(env or {}),
                                   VBOXSIM_SERVICE_SOCKET="",
                                   VBOXSIM_PYTHON=self.resident.environ()[
                                       "VBOXSIM_PYTHON"],
                                   PYTHONPATH=base.REPO_ROOT))

    def assert_same(self, *argv, env=None):
        """Run ``argv`` in resident mode and as a process, each on a fresh
        simulator state: same exit code and bytes."""
        served = self.via_client(*argv, env=env)
        self.reset_state()
        alone = self.via_process(*argv, env=env)
        self.reset_state()
        self.assertEqual(
            (alone.returncode, alone.stdout, alone.stderr),
            (served.returncode, served.stdout, served.stderr))
        return served

    def reset_state(self):
        shutil.rmtree(self.sim_home, ignore_errors=True)
        shutil.rmtree(os.path.join(self.tmp, "vms"), ignore_errors=True)

    def test_outputs_errors_and_exit_codes_are_the_same(self):
        self.assertEqual(0, self.assert_same("--version").returncode)
        self.assertEqual(0, self.assert_same("list", "vms").returncode)
        self.assertEqual(
            1, self.assert_same("showvminfo", "nosuch").returncode)
        self.assertEqual(2, self.assert_same("nosuchcommand").returncode)
        # A relative path resolves in the caller's working directory; a
        # name with a quote, a space and a non-ASCII letter goes through.
        created = self.assert_same(
            "createvm", "--name", "it's ä vm", "--uuid", UUID,
            "--basefolder", "vms", "--register")
        self.assertEqual(0, created.returncode, created.stderr)
        self.assertIn(os.path.join(self.tmp, "vms").encode(), created.stdout)

    def test_state_is_shared_with_process_calls(self):
        self.assertEqual(0, self.via_client(
            "createvm", "--name", "one", "--uuid", UUID, "--basefolder",
            "vms", "--register").returncode)
        listed = self.via_process("list", "vms")
        self.assertEqual(b'"one" {%s}\n' % UUID.encode(), listed.stdout)

    def test_environment_reaches_the_call(self):
        faults = '{"list": {"hard": 1}}'
        self.assert_same("list", "vms", env={"VBOXSIM_FAULTS": faults})
        self.assertEqual(1, self.via_client(
            "list", "vms", env={"VBOXSIM_FAULTS": faults}).returncode)

    def test_without_a_service_the_client_runs_the_call_itself(self):
        self.resident.stop()
        done = self.via_client("list", "vms")
        self.assertEqual((0, b"", b""),
                         (done.returncode, done.stdout, done.stderr))

    def test_a_call_reading_stdin_runs_in_the_client(self):
        args = ("storageattach", "nosuch", "--storagectl", "SATA",
                "--port", "0", "--device", "0", "--type", "hdd",
                "--medium", "iscsi", "--server", "127.0.0.1", "--target",
                "iqn.x", "--passwordfile", "-")
        served = self.via_client(*args, stdin=b"secret\n")
        alone = self.via_process(*args, stdin=b"secret\n")
        self.assertEqual(alone.stderr, served.stderr)

    def test_service_cpu_is_read(self):
        # Its start-up (importing the whole simulator) costs CPU already.
        self.assertGreater(self.resident.cpu_seconds(), 0)
