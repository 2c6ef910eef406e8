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

"""What a VM process writes to ``Logs/VBox.log`` in its VM folder, as far
as anyone reads it: each machine state change, in VirtualBox 7.2's words
(vboxsim/data/vbox-log-states.txt, from a real VM): the VMM's "Changing
the VM state from 'A' to 'B'" and Main's "Console: Machine state changed
to 'Name'". A VM process that starts begins a new log; the last one is kept
as VBox.log.1.
"""

import os

# The machine state names of Main (showvminfo's VMState in capitals).
CONSOLE_NAMES = {
    "poweroff": "PoweredOff",
    "running": "Running",
    "paused": "Paused",
    "saved": "Saved",
    "aborted": "Aborted",
    "aborted-saved": "AbortedSaved",
}
# The VMM's state behind each, as its log line names it.
_VMM_NAMES = {"running": "RUNNING", "paused": "SUSPENDED"}
_OFFLINE_VMM = "OFF"
_ONLINE = ("running", "paused")


def _stamp(vm, now_ns):
    """The log's time: since the VM process started."""
    elapsed = max(0, now_ns - vm.get("log_started_ns", now_ns)) // 1000
    seconds, micros = divmod(elapsed, 1000000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return "%02d:%02d:%02d.%06d " % (hours, minutes, seconds, micros)


def record(vm, old_state, now_ns):
    """Append ``vm``'s change from ``old_state`` to its state now to its
    VBox.log; a start (from any offline state) begins a new log. A VM
    process that died (aborted) wrote nothing."""
    new_state = vm["state"]
    if new_state == "aborted":
        return
    folder = os.path.join(os.path.dirname(vm["cfgfile"]), "Logs")
    path = os.path.join(folder, "VBox.log")
    started = old_state not in _ONLINE and new_state in _ONLINE
    if not started and not os.path.exists(path):
        return  # no VM process of ours ever wrote one
    os.makedirs(folder, exist_ok=True)
    if started:
        if os.path.exists(path):
            os.replace(path, path + ".1")
        vm["log_started_ns"] = now_ns
    old_vmm = ("CREATED" if started
               else _VMM_NAMES.get(old_state, _OFFLINE_VMM))
    lines = ["Changing the VM state from '%s' to '%s'" % (
        old_vmm, _VMM_NAMES.get(new_state, _OFFLINE_VMM)),
        "Console: Machine state changed to '%s'" % CONSOLE_NAMES.get(
            new_state, new_state)]
    with open(path, "a") as log:
        log.writelines(_stamp(vm, now_ns) + line + "\n" for line in lines)
