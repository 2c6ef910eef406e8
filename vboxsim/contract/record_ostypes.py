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

"""Record createvm's defaults per OS type on the real VBoxManage.

    python -m vboxsim.contract.record_ostypes [--real CMD]

Creates a VM named nova-ct-ostype-defaults for every x86 OS type of
data/ostypes.txt (and once without --ostype) under a temporary folder,
reads showvminfo --machinereadable, unregisters and deletes it, and writes
data/ostype_defaults.json, which vboxsim.model.new_vm applies.  About one
minute on real 7.2.22.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from vboxsim.contract import runner
from vboxsim import model

VM = "nova-ct-ostype-defaults"
FIELDS = ["memory", "vram", "pae", "longmode", "x2apic", "ioapic",
          "rtcuseutc", "hpet", "triplefaultreset", "chipset", "firmware",
          "paravirt", "nic", "nictype", "uart"]


def _row(info):
    def on(key):
        return info[key] == "on"
    return [int(info["memory"]), int(info["vram"]), on("pae"),
            on("longmode"), on("x2apic"), on("ioapic"), on("rtcuseutc"),
            on("hpet"), on("triplefaultreset"), info["chipset"],
            info["firmware"], info["effparavirtprovider"], info["nic1"],
            info.get("nictype1", ""), info["uart1"] != "off"]


def record(cmd):
    text = open(os.path.join(model.DATA_DIR, "ostypes.txt")).read()
    ids = [m.group(1) for m in re.finditer(
        r"ID / Description: (\S+) -- .*\n.*\nArchitecture:\s+x86", text)]
    work = tempfile.mkdtemp(prefix="nova-ct-ostypes-", dir="/tmp")
    rows = {}
    try:
        for ostype in [""] + ids:
            argv = ["createvm", "--name", VM, "--basefolder", work,
                    "--register"]
            if ostype:
                argv += ["--ostype", ostype]
            subprocess.run(cmd + argv, check=True, capture_output=True)
            try:
                out = subprocess.run(
                    cmd + ["showvminfo", VM, "--machinereadable"],
                    check=True, capture_output=True, text=True).stdout
            finally:
                subprocess.run(cmd + ["unregistervm", VM, "--delete"],
                               capture_output=True)
            info = {}
            for line in out.splitlines():
                key, _, value = line.partition("=")
                info[key] = value.strip('"')
            rows[ostype] = _row(info)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--real", default=None)
    args = ap.parse_args(argv)
    cmd = args.real or runner.real_command_from_env()
    if not cmd:
        ap.error("no real VBoxManage")
    rows = record(cmd.split())
    data = {"note": "createvm defaults per --ostype (\"\" = no --ostype), "
                    "recorded on real VirtualBox 7.2.22 by "
                    "vboxsim/contract/record_ostypes.py",
            "fields": FIELDS, "types": dict(sorted(rows.items()))}
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    with open(os.path.join(model.DATA_DIR, model.OSTYPE_DEFAULTS_FILE),
              "w") as f:
        f.write(text.replace('],"', '],\n"') + "\n")
    print("%d OS types" % len(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
