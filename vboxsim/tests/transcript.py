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

"""Reading the verbatim VBoxManage 7.2 transcripts and normalising outputs for
comparison."""

import dataclasses
import os
import re
import shlex

TRANSCRIPT_DIR = os.path.join(os.path.dirname(__file__), "transcripts")

UUID_RE = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?")
MAC_RE = re.compile(r"080027[0-9A-F]{6}")


@dataclasses.dataclass
class Transcript:
    name: str
    command: str
    argv: list
    exit_code: int
    stdout: str
    stderr: str


def load(filename):
    with open(os.path.join(TRANSCRIPT_DIR, filename)) as handle:
        text = handle.read()
    header, _, rest = text.partition("----- stdout -----\n")
    stdout, _, rest = rest.partition("----- stderr -----\n")
    stderr, _, _ = rest.rpartition("----- end -----")
    command = header.splitlines()[0][2:]
    exit_code = int(re.search(r"# exit code: (\d+)", header).group(1))
    argv = (
        shlex.split(command)[1:]
        if command.startswith("VBoxManage ") or command == "VBoxManage"
        else None
    )
    return Transcript(filename[:-4], command, argv, exit_code, stdout, stderr)


def all_names():
    def number(name):
        return int(name.split("-", 1)[0])

    return sorted(
        (n for n in os.listdir(TRANSCRIPT_DIR) if n.endswith(".txt")),
        key=number,
    )


class Normaliser:
    """Replaces run-specific values with stable placeholders.

    UUIDs become <UUID-n> numbered by first appearance over the whole run (so
    the same VM or medium keeps its number across commands), timestamps <TIME>,
    VirtualBox MAC addresses 080027<MAC>, and the given path prefixes their
    canonical form.
    """

    def __init__(self, paths=()):
        self.uuids = {}
        self.paths = list(paths)

    def _uuid(self, match):
        value = match.group(0)
        if value not in self.uuids:
            self.uuids[value] = "<UUID-%d>" % (len(self.uuids) + 1)
        return self.uuids[value]

    def __call__(self, text):
        for prefix, canonical in self.paths:
            text = text.replace(prefix, canonical)
        text = UUID_RE.sub(self._uuid, text)
        text = TIME_RE.sub("<TIME>", text)
        return MAC_RE.sub("080027<MAC>", text)
