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

"""Fault injection controlled by ``$VBOXSIM_HOME/faults.json`` and/or
``$VBOXSIM_FAULTS``.

Format::

    {"<command>|*": {"transient": p, "hard": p, "count": n}, "seed": 42}

A transient fault is the real session-lock / "object is not ready" failure, a
hard fault a realistic non-transient error; neither changes state.  ``count``
limits how many times a rule fires (decremented in faults.json under the
registry lock; rules given only through the environment cannot be counted down
and fire every time). With a ``seed`` the n-th decision of a run is
reproducible.
"""

import json
import os

from vboxsim import errors

READ_ONLY = {
    "showvminfo",
    "list",
    "getextradata",
    "showmediuminfo",
    "guestproperty",
}


def _load(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (FileNotFoundError, ValueError):
        return {}


def _save(path, config):
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        json.dump(config, handle, indent=1, sort_keys=True)
    os.replace(tmp, path)


class Stall:
    """A fault that delays the call (like VBoxSVC's occasional 10 s
    housekeeping stall) and then lets it run normally."""

    def __init__(self, seconds):
        self.seconds = seconds


DEFAULT_STALL_SECONDS = 10.0


class Late:
    """A transient failure reported after the command did its work (a
    VBoxManage that lost its session to VBoxSVC at the end): what callers
    retrying a creation must undo first."""

    def __init__(self, error):
        self.error = error


def _decide(rule, key, rng):
    for kind in ("transient", "hard", "stall", "late"):
        probability = float(rule.get(kind, 0) or 0)
        if probability > 0 and rng.random() < probability:
            return kind
    return None


def check(home, command, argv):
    """Return a VBoxError to report instead of running the command, a Stall,
    a Late (run it, then report its error), or None.

    Must be called with the registry lock held.
    """
    path = os.path.join(home, "faults.json")
    file_config = _load(path)
    env_config = json.loads(os.environ.get("VBOXSIM_FAULTS") or "{}")
    if not file_config and not env_config:
        return None
    import random  # here: most runs inject no fault

    config = dict(env_config)
    config.update(file_config)
    seed = config.get("seed")
    counter_path = os.path.join(home, "faults-counter")
    calls = int(_load(counter_path) or 0) if seed is not None else 0
    rng = (
        random.Random("%s-%d" % (seed, calls))
        if seed is not None
        else random.SystemRandom()
    )
    if seed is not None:
        _save(counter_path, calls + 1)
    for key in (command, "*"):
        rule = config.get(key)
        if not isinstance(rule, dict):
            continue
        if "count" in rule and int(rule["count"]) <= 0:
            continue
        kind = _decide(rule, key, rng)
        if kind is None:
            continue
        if "count" in rule and key in file_config:
            file_config[key]["count"] = int(rule["count"]) - 1
            _save(path, file_config)
        if kind == "stall":
            return Stall(float(rule.get("seconds", DEFAULT_STALL_SECONDS)))
        if kind == "late":
            return Late(build_error("transient", command, argv))
        return build_error(kind, command, argv)
    return None


MEDIUM_COMMANDS = {
    "createmedium",
    "clonemedium",
    "modifymedium",
    "closemedium",
    "createhd",
    "clonehd",
    "modifyhd",
}
NO_VM_COMMANDS = {"setproperty", "registervm", "createvm", "import"}


def _target(command, argv):
    """The VM (or medium) name an invocation is about, for the error text."""
    operands = [a for a in argv[1:] if not a.startswith("-")]
    if command == "guestproperty":
        operands = operands[1:]
    if command in MEDIUM_COMMANDS and operands[:1] in (["disk"], ["dvd"]):
        operands = operands[1:]
    return operands[0] if operands else ""


def _transient(command, target):
    if command in READ_ONLY or command in NO_VM_COMMANDS or not target:
        return errors.object_not_ready()
    if command in MEDIUM_COMMANDS:
        return errors.com_error(
            "Medium '%s' is locked for writing by another task" % target,
            "VBOX_E_INVALID_OBJECT_STATE",
            "MediumWrap",
            "IMedium",
            (
                "RTEXITCODE handle%s(HandlerArg*)" % command.capitalize(),
                1,
                errors.SOURCE_FILES.get(command, "VBoxManageDisk.cpp"),
            ),
            callee=False,
        )
    if command == "startvm":
        return errors.launch_locked(target)
    return errors.machine_locked(
        target, errors.SOURCE_FILES.get(command, "VBoxManageMisc.cpp")
    )


def build_error(kind, command, argv):
    target = _target(command, argv)
    if kind == "transient":
        return _transient(command, target)
    if command == "startvm":
        error = errors.com_error(
            "The virtual machine '%s' has terminated unexpectedly during"
            " startup with exit code 1 (0x1)" % target,
            "NS_ERROR_FAILURE",
            "MachineWrap",
            "IMachine",
            callee=False,
        )
        error.stdout = 'Waiting for VM "%s" to power on...\n' % target
        return error
    return errors.hard_failure(command)
