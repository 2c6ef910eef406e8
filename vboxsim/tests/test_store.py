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

"""Concurrency (file lock), fault injection and latency."""

import contextlib
import fcntl
import io
import json
import os
import subprocess
import sys
import time
from unittest import mock

from vboxsim import cli
from vboxsim import faults
from vboxsim import latency
from vboxsim.tests import base


class ConcurrencyTest(base.SimTestCase):

    def _spawn(self, *argv):
        env = dict(os.environ, PYTHONPATH=base.REPO_ROOT)
        return subprocess.Popen(
            [sys.executable, "-m", "vboxsim"] + list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    def test_twenty_processes_create_vms_at_once(self):
        procs = [
            self._spawn("createvm", "--name", "vm%02d" % i, "--register")
            for i in range(20)
        ]
        results = [(p.wait(), p.stderr.read()) for p in procs]
        for proc in procs:
            proc.stdout.close()
            proc.stderr.close()
        self.assertEqual([(0, "")] * 20, results)
        listed = self.ok("list", "vms").splitlines()
        self.assertEqual(
            sorted('"vm%02d"' % i for i in range(20)),
            sorted(line.split()[0] for line in listed),
        )
        with open(os.path.join(self.sim_home, "registry.json")) as handle:
            self.assertEqual(20, len(json.load(handle)["vms"]))
        for i in range(20):
            self.assertTrue(
                os.path.isfile(
                    os.path.join(
                        self.home,
                        "VirtualBox VMs",
                        "vm%02d" % i,
                        "vm%02d.vbox" % i,
                    )
                )
            )

    def test_parallel_modifications_of_one_vm_are_not_lost(self):
        self.ok("createvm", "--name", "vm", "--register")
        procs = [
            self._spawn("setextradata", "vm", "key%d" % i, "value%d" % i)
            for i in range(12)
        ]
        for proc in procs:
            proc.communicate()
        out = self.ok("getextradata", "vm", "enumerate")
        self.assertEqual(12, len(out.splitlines()))


class FaultTest(base.SimTestCase):

    def setUp(self):
        super().setUp()
        self.ok("createvm", "--name", "vm", "--register")

    def write_faults(self, config):
        with open(os.path.join(self.sim_home, "faults.json"), "w") as handle:
            json.dump(config, handle)

    def test_transient_fault_is_the_real_lock_error_without_state_change(self):
        self.write_faults({"modifyvm": {"transient": 1.0}})
        code, out, err = self.vbox("modifyvm", "vm", "--memory", "256")
        self.assertEqual((1, ""), (code, out))
        self.assertIn(
            "VBoxManage: error: The machine 'vm' is already locked for a"
            " session (or being unlocked)\n",
            err,
        )
        self.assertIn("VBOX_E_INVALID_OBJECT_STATE (0x80bb0007)", err)
        os.unlink(os.path.join(self.sim_home, "faults.json"))
        self.assertNotEqual("256", self.mr("vm")["memory"])

    def test_late_fault_fails_after_the_work_is_done(self):
        self.write_faults({"createvm": {"late": 1.0, "count": 1}})
        code, out, err = self.vbox("createvm", "--name", "late",
                                   "--register")
        self.assertEqual((1, ""), (code, out))
        self.assertIn("The object is not ready", err)
        # It was made: a plain retry now says so.
        code, _out, err = self.vbox("createvm", "--name", "late",
                                    "--register")
        self.assertEqual(1, code)
        self.assertIn("already exists", err)

    def test_transient_fault_on_reads_is_object_not_ready(self):
        self.write_faults({"showvminfo": {"transient": 1.0}})
        code, _, err = self.vbox("showvminfo", "vm")
        self.assertEqual(1, code)
        self.assertIn("The object is not ready", err)

    def test_hard_fault_with_count_fires_once(self):
        self.write_faults({"startvm": {"hard": 1.0, "count": 1}})
        code, out, err = self.vbox("startvm", "vm", "--type", "headless")
        self.assertEqual(1, code)
        self.assertIn("NS_ERROR_FAILURE", err)
        self.assertEqual('Waiting for VM "vm" to power on...\n', out)
        with open(os.path.join(self.sim_home, "faults.json")) as handle:
            self.assertEqual(0, json.load(handle)["startvm"]["count"])
        self.ok("startvm", "vm", "--type", "headless")

    def test_env_faults_and_wildcard(self):
        os.environ["VBOXSIM_FAULTS"] = json.dumps({"*": {"hard": 1.0}})
        code, _, err = self.vbox("getextradata", "vm", "enumerate")
        self.assertEqual(1, code)
        self.assertIn("VBOX_E_FILE_ERROR", err)

    def test_seeded_probability_is_reproducible(self):
        def run_series():
            self.write_faults({"getextradata": {"transient": 0.5}, "seed": 7})
            counter = os.path.join(self.sim_home, "faults-counter")
            if os.path.exists(counter):
                os.unlink(counter)
            return [
                self.vbox("getextradata", "vm", "enumerate")[0]
                for _ in range(20)
            ]

        first = run_series()
        self.assertEqual(first, run_series())
        self.assertIn(0, first)
        self.assertIn(1, first)

    def test_transient_fault_texts_per_command_kind(self):
        self.write_faults({"*": {"transient": 1.0}})
        _, _, err = self.vbox("startvm", "vm", "--type", "headless")
        self.assertIn("The machine 'vm' is already locked by a session", err)
        _, _, err = self.vbox("setextradata", "vm", "k", "v")
        self.assertIn("The machine 'vm' is already locked for a session", err)
        _, _, err = self.vbox("closemedium", "disk", "/x.vdi")
        self.assertIn("Medium '/x.vdi' is locked for writing", err)
        _, _, err = self.vbox("list", "vms")
        self.assertIn("The object is not ready", err)

    def test_stall_delays_then_runs(self):
        self.write_faults({"list": {"stall": 1.0, "seconds": 1.0, "count": 1}})
        started = time.monotonic()
        self.assertEqual('"vm"', self.ok("list", "vms").split()[0])
        self.assertGreaterEqual(time.monotonic() - started, 1.0)
        started = time.monotonic()
        self.ok("list", "vms")  # the single stall is used up
        self.assertLess(time.monotonic() - started, 1.0)

    def test_no_fault_file_means_no_faults(self):
        self.assertIsNone(
            faults.check(self.sim_home, "modifyvm", ["modifyvm", "vm"])
        )


class LatencyTest(base.SimTestCase):

    def test_real_latency_model(self):
        os.environ["VBOXSIM_LATENCY"] = "real"
        self.assertAlmostEqual(
            0.1, latency.seconds_for("showvminfo", ["showvminfo", "x"], 0)
        )
        self.assertAlmostEqual(
            0.025 + 0.0016 * 50,
            latency.seconds_for("list", ["list", "vms"], 50),
        )
        os.environ["VBOXSIM_LATENCY_SCALE"] = "2"
        self.assertAlmostEqual(
            0.2, latency.seconds_for("showvminfo", ["showvminfo", "x"], 0)
        )

    def test_cold_service_costs_more(self):
        os.environ["VBOXSIM_LATENCY"] = "real"
        argv = ["list", "vms"]
        warm = latency.seconds_for("list", argv, 1)
        self.assertAlmostEqual(
            warm + latency.SERVICE_START,
            latency.seconds_for("list", argv, 1, cold=True),
        )
        self.assertTrue(latency.service_is_cold(self.sim_home, "list"))
        os.makedirs(self.sim_home, exist_ok=True)
        latency.mark_service_used(self.sim_home, "list")
        self.assertFalse(latency.service_is_cold(self.sim_home, "list"))
        self.assertFalse(latency.service_is_cold(self.sim_home, "--version"))

    def test_fixed_and_zero_latency(self):
        os.environ["VBOXSIM_LATENCY"] = "0.5"
        self.assertEqual(0.5, latency.seconds_for("modifyvm", ["modifyvm"], 0))
        os.environ["VBOXSIM_LATENCY"] = "0"
        self.assertEqual(0.0, latency.seconds_for("modifyvm", ["modifyvm"], 0))

    def test_cli_sleeps_when_latency_is_on(self):
        started = time.monotonic()
        self.assertEqual(
            0, self.cli("--version", env={"VBOXSIM_LATENCY": "0.4"}).returncode
        )
        self.assertGreaterEqual(time.monotonic() - started, 0.4)

    def test_latency_is_slept_outside_the_registry_lock(self):
        """So parallel callers overlap their modelled latency instead of
        queueing behind it."""
        lock_free_during_sleep = []

        def fake_sleep(seconds):
            with open(os.path.join(self.sim_home, "registry.lock")) as handle:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    lock_free_during_sleep.append(seconds)
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

        os.environ["VBOXSIM_LATENCY"] = "0.7"
        with mock.patch.object(
            latency.time, "sleep", fake_sleep
        ), contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(0, cli.main(["list", "vms"]))
        self.assertEqual(1, len(lock_free_during_sleep))
        self.assertGreater(lock_free_during_sleep[0], 0)
