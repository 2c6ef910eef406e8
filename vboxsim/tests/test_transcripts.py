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

"""Replay the 125 real VBoxManage 7.2.22 transcripts, in order, through the
simulator.

Every transcript that the simulator can reproduce is compared byte for byte
(stdout, stderr, exit code) after normalising UUIDs, timestamps, MAC addresses
and the two path roots (the real run used /tmp and /root; the replay uses a
temporary directory).
"""

from vboxsim.tests import base
from vboxsim.tests import transcript

# Transcripts deliberately not replayed, with the reason.
SKIPPED = {
    "02-wrapper-version": (
        "Debian's /usr/bin/VBoxManage wrapper prints a kernel-module warning;"
        " not VBoxManage"
    ),
    "03-list-hostinfo": (
        "host-specific figures; format checked in test_cli.HostInfoTest"
    ),
    "74-list-bridgedifs": (
        "host network interfaces; format checked in test_cli.HostInfoTest"
    ),
    "67-startvm-headless": (
        "real host had no vboxdrv, the simulator starts VMs (see"
        " test_lifecycle)"
    ),
    "113-startvm-m1-headless": (
        "real host had no vboxdrv, the simulator starts VMs"
    ),
    "115-startvm-m1-default-type": (
        "GUI frontend missing on the real host; simulator reproduces it only"
        " without DISPLAY"
    ),
    "116-startvm-m1-sdl": "real host had no vboxdrv, the simulator starts VMs",
    "132-startvm-m2-headless": (
        "real host had no vboxdrv, the simulator starts VMs"
    ),
    "133-VBoxHeadless-direct": "runs VBoxHeadless, not VBoxManage",
}


class TranscriptReplayTest(base.SimTestCase):

    def _rewrite(self, arg):
        return (
            self.tmp + arg
            if arg.startswith("/tmp/") or arg == "/tmp/vms"
            else arg
        )

    def test_replay_all_transcripts_in_order(self):
        root = self.path("root")
        self.home = root
        import os

        os.makedirs(root)
        os.environ["HOME"] = root
        real = transcript.Normaliser()
        sim = transcript.Normaliser(
            paths=[
                (self.tmp + "/tmp/", "/tmp/"),
                (self.tmp + "/tmp", "/tmp"),
                (root, "/root"),
            ]
        )
        os.makedirs(self.path("tmp"))
        compared = 0
        for name in transcript.all_names():
            recorded = transcript.load(name)
            if recorded.name in SKIPPED:
                continue
            argv = [self._rewrite(arg) for arg in recorded.argv]
            code, out, err = self.vbox(*argv)
            with self.subTest(transcript=recorded.name):
                self.assertEqual(
                    (
                        recorded.exit_code,
                        real(recorded.stdout),
                        real(recorded.stderr),
                    ),
                    (code, sim(out), sim(err)),
                    recorded.command,
                )
            compared += 1
        self.assertEqual(len(transcript.all_names()) - len(SKIPPED), compared)
