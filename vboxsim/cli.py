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

"""Entry point: VBoxManage-compatible argument dispatch."""

import json
import os
import sys
import time

from vboxsim import errors
from vboxsim import faults
from vboxsim import latency
from vboxsim import state as statelib

VERSION = "7.2.22_Debianr175245"
PROGRESS = "0%...10%...20%...30%...40%...50%...60%...70%...80%...90%...100%\n"
DATA_DIR = os.path.join(os.path.dirname(__file__), "data")


class Context:
    """What a command handler gets: the store and buffers for stdout/stderr."""

    def __init__(self, store):
        self.store = store
        self.stdout = []
        self.stderr = []

    def out(self, text):
        self.stdout.append(text)

    def err(self, text):
        self.stderr.append(text)

    def progress(self):
        self.stderr.append(PROGRESS)


def usage_text(name):
    with open(os.path.join(DATA_DIR, "usage_%s.txt" % name)) as handle:
        return handle.read()


def _strip_global_options(argv):
    """Drop -q/--nologo and --settingspw[file][=]value before the command."""
    while argv and (
        argv[0] in ("-q", "--nologo") or argv[0].startswith("--settingspw")
    ):
        takes_value = argv[0] in ("--settingspw", "--settingspwfile")
        argv = argv[2:] if takes_value else argv[1:]
    return argv


def _locale_is_ascii():
    """Whether the C runtime's locale would be C/POSIX (LC_ALL, LC_CTYPE,
    LANG, the first one set)."""
    for name in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = os.environ.get(name)
        if value:
            return value in ("C", "POSIX")
    return True


def run(argv, store=None):
    """Run one VBoxManage invocation; returns (exit code, stdout, stderr)."""
    store = store or statelib.Store()
    if _locale_is_ascii() and any(not arg.isascii() for arg in argv):
        # IPRT cannot convert the arguments to UTF-8 in the C locale
        return 3, "", ("VBoxManage: fatal error: RTR3Init:"
                       " VERR_NO_TRANSLATION\n")
    argv = _strip_global_options(list(argv))
    ctx = Context(store)
    if not argv:
        return 0, errors.BANNER + usage_text("main"), ""
    command = argv[0]
    if command in ("--version", "-V", "-v", "--dump-build-type"):
        return (
            0,
            (VERSION if command != "--dump-build-type" else "release") + "\n",
            "",
        )
    # Imported here: the command modules import this one (usage texts).
    from vboxsim import commands

    handler = commands.handler(command.lower())
    if handler is None:
        text = (
            errors.BANNER
            + errors.error_lines("Invalid command '%s'" % command)
            + "\n"
            + usage_text("main")
            + "\n"
            + errors.error_lines("Invalid command '%s'" % command)
        )
        return 2, "", text
    try:
        with store.locked():
            fault = faults.check(store.home, command.lower(), argv)
        if isinstance(fault, faults.Stall):
            time.sleep(fault.seconds)  # outside the lock, then run normally
        elif fault is not None and not isinstance(fault, faults.Late):
            raise fault
        try:
            code = handler(ctx, argv[1:])
        except ValueError:
            # A non-numeric value for a numeric option: RTGetOpt's failure
            # prints the banner and an empty error message (seen in 7.2.22).
            raise errors.VBoxError(errors.BANNER + errors.PREFIX)
        if isinstance(fault, faults.Late) and code == 0:
            ctx.stdout, ctx.stderr = [], []
            raise fault.error
    except errors.VBoxError as failure:
        ctx.out(failure.stdout)
        ctx.err(failure.stderr)
        code = failure.exit_code
    return code, "".join(ctx.stdout), "".join(ctx.stderr)


def _vm_count(store):
    try:
        with open(store.path) as handle:
            return len(json.load(handle)["vms"])
    except (OSError, ValueError, KeyError):
        return 0


def execute(argv):
    """One VBoxManage call as a process makes it: run it, then wait out
    the modelled latency. Returns (exit code, stdout, stderr)."""
    started = time.monotonic()
    store = statelib.Store()
    stripped = _strip_global_options(argv)
    command = stripped[0].lower() if stripped else ""
    cold = latency.service_is_cold(store.home, command)
    code, out, err = run(argv, store)
    vm_count = _vm_count(store) if command == "list" else 0
    latency.wait(command, stripped, vm_count, time.monotonic() - started, cold)
    latency.mark_service_used(store.home, command)
    return code, out, err


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    code, out, err = execute(argv)
    sys.stdout.write(out)
    sys.stdout.flush()
    sys.stderr.write(err)
    sys.stderr.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
