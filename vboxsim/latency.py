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

"""Per-call latency modelled on the real VBoxManage 7.2 (TIMING.md).

``VBOXSIM_LATENCY``: ``real`` (default), a number of seconds for every call, or
``0``.
``VBOXSIM_LATENCY_SCALE``: multiplier (default 1).

With ``real`` latency a call that finds VBoxSVC "cold" (no call during the last
5 s, after which the real VBoxSVC exits) pays the service start-up time too.
"""

import os
import time

# Warm-VBoxSVC medians in seconds.
REAL_SECONDS = {
    "--version": 0.012,
    "showvminfo": 0.100,
    "modifyvm": 0.031,
    "createvm": 0.028,
    "unregistervm": 0.024,
    "guestproperty": 0.027,
    "storageattach": 0.035,
    "storagectl": 0.029,
    "createmedium": 0.025,
    "clonemedium": 0.026,
    "startvm": 0.5,
    "snapshot": 0.033,
    "clonevm": 0.030,
}
DEFAULT_SECONDS = 0.025
NO_SERVICE_COMMANDS = ("", "--version", "-v", "-V", "--dump-build-type")
SERVICE_IDLE_EXIT = 5.0  # VBoxSVC exits this long after its last client
SERVICE_START = 0.038  # cold minus warm `list vms` (TIMING.md)
SERVICE_MARK = "vboxsvc.alive"
LIST_VMS_BASE = 0.025
LIST_VMS_PER_VM = 0.0016
# `list vms --long` prints every VM's showvminfo: the Neutron agent's sweep
# took 0.04 / 0.30 / 0.82 s at 1 / 20 / 50 stopped VMs on real 7.2.22
# (2026-12-02, 2 cores, loaded).
LIST_VMS_LONG_PER_VM = 0.016
LIST_RUNNING = 0.025


def real_seconds(command, argv, vm_count):
    if command == "list" and argv[1:2] == ["vms"]:
        if "--long" in argv[2:] or "-l" in argv[2:]:
            return LIST_VMS_BASE + LIST_VMS_LONG_PER_VM * vm_count
        return LIST_VMS_BASE + LIST_VMS_PER_VM * vm_count
    if command == "list" and argv[1:2] == ["runningvms"]:
        return LIST_RUNNING
    return REAL_SECONDS.get(command, DEFAULT_SECONDS)


def service_is_cold(home, command):
    """True when the simulated VBoxSVC would have to be started."""
    if command in NO_SERVICE_COMMANDS:
        return False
    try:
        idle = time.time() - os.path.getmtime(os.path.join(home, SERVICE_MARK))
    except OSError:
        return True
    return idle > SERVICE_IDLE_EXIT


def mark_service_used(home, command):
    if command in NO_SERVICE_COMMANDS:
        return
    mark = os.path.join(home, SERVICE_MARK)
    try:
        with open(mark, "a"):
            os.utime(mark)
    except OSError:
        pass


def _float_env(name, default):
    try:
        return float(os.environ[name])
    except (KeyError, ValueError):
        return default


def seconds_for(command, argv, vm_count, cold=False):
    """The modelled latency; unparsable settings fall back to ``real``."""
    base = _float_env("VBOXSIM_LATENCY", None)
    if base is None:
        base = real_seconds(command, argv, vm_count)
        base += SERVICE_START if cold else 0.0
    return max(0.0, base * _float_env("VBOXSIM_LATENCY_SCALE", 1.0))


def wait(command, argv, vm_count, elapsed, cold=False):
    """Sleep what is left of the modelled latency after ``elapsed`` seconds of
    work."""
    remaining = seconds_for(command, argv, vm_count, cold) - elapsed
    if remaining > 0:
        time.sleep(remaining)
