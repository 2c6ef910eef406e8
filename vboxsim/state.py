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

"""On-disk state of the simulator and the lock that guards it.

Layout under ``$VBOXSIM_HOME`` (default ``~/.vboxsim``)::

    registry.json   registered VMs (full settings), media, system properties
    registry.lock   fcntl lock file; every invocation holds it while it runs
    faults.json     optional fault-injection control (see faults.py)

Each VM's settings are also written to its real CfgFile path (``<machine
folder>/<name>/<name>.vbox``) by :mod:`vboxsim.settings_file`.
"""

import contextlib
import fcntl
import json
import os
import time


REGISTRY_VERSION = 1


def home_dir():
    return os.environ.get("VBOXSIM_HOME") or os.path.expanduser("~/.vboxsim")


def now_ns():
    return time.time_ns()


def format_state_time(ns):
    """VMStateChangeTime format: 2026-11-23T23:48:01.202000000 (UTC, ms
    precision)."""
    seconds, rest = divmod(int(ns), 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return stamp + ".%03d000000" % (
        rest // 1_000_000
    )


def format_prop_time(ns):
    """Guest property timestamp format: 2026-11-23T23:48:02.443Z."""
    seconds, rest = divmod(int(ns), 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return stamp + ".%03dZ" % (rest // 1_000_000)


def empty_registry():
    return {
        "version": REGISTRY_VERSION,
        "system": {"machinefolder": None},
        "vms": [],
        "media": [],
    }


class Registry:
    """The loaded registry plus lookup helpers; mutate, then the store saves
    it."""

    def __init__(self, data):
        self.data = data

    # ---- system properties -------------------------------------------------
    @property
    def machine_folder(self):
        return self.data["system"].get("machinefolder") or os.path.expanduser(
            "~/VirtualBox VMs"
        )

    # ---- VMs ----------------------------------------------------------------
    @property
    def vms(self):
        return self.data["vms"]

    def find_vm(self, name_or_uuid):
        """Like IVirtualBox::FindMachine: UUID (with or without braces) or
        name."""
        key = name_or_uuid.strip("{}").lower()
        for vm in self.vms:
            if vm["uuid"] == key:
                return vm
        for vm in self.vms:
            if vm["name"] == name_or_uuid:
                return vm
        return None

    def add_vm(self, vm):
        self.vms.append(vm)

    def remove_vm(self, vm):
        self.data["vms"] = [v for v in self.vms if v["uuid"] != vm["uuid"]]

    # ---- media --------------------------------------------------------------
    @property
    def media(self):
        return self.data["media"]

    def find_medium(self, location_or_uuid, device=None):
        key = location_or_uuid.strip("{}").lower()
        path = (
            os.path.abspath(location_or_uuid)
            if "|" not in location_or_uuid
            else location_or_uuid
        )
        for medium in self.media:
            if device and medium["device"] != device:
                continue
            if medium["uuid"] == key or medium["location"] == path:
                return medium
        return None

    def medium_by_uuid(self, uuid):
        for medium in self.media:
            if medium["uuid"] == uuid:
                return medium
        return None

    def children_of(self, medium):
        return [m for m in self.media if m.get("parent") == medium["uuid"]]

    def remove_medium(self, medium):
        self.data["media"] = [
            m for m in self.media if m["uuid"] != medium["uuid"]
        ]


class Store:
    """Serialises registry access across processes with an fcntl lock."""

    def __init__(self, home=None):
        self.home = home or home_dir()
        self.path = os.path.join(self.home, "registry.json")
        self.lock_path = os.path.join(self.home, "registry.lock")

    @contextlib.contextmanager
    def locked(self):
        os.makedirs(self.home, exist_ok=True)
        with open(self.lock_path, "a+") as lock_file:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)

    def _read(self):
        """The registry's JSON text (that of an empty one if none)."""
        try:
            with open(self.path) as handle:
                return handle.read()
        except FileNotFoundError:
            return json.dumps(empty_registry())

    def _save(self, data):
        # Compact, so json's C encoder writes it (indent would use the
        # Python one): every call of the simulator is a new process, and
        # its CPU is what a benchmark of many concurrent calls measures.
        # os.replace makes the write atomic for a simulator killed
        # mid-way; an OS crash is not simulated, so no fsync.
        tmp = self.path + ".tmp.%d" % os.getpid()
        with open(tmp, "w") as handle:
            json.dump(data, handle, sort_keys=True, separators=(",", ":"))
        os.replace(tmp, self.path)

    @contextlib.contextmanager
    def transaction(self, save_on_error=False):
        """Lock, load, apply lazy guest transitions, yield, save what changed.

        A failing command normally leaves the registry as it was; with
        ``save_on_error`` partial changes are kept, as a real VBoxManage does
        for ``unregistervm --delete`` that fails half-way.
        """
        with self.locked():
            text = self._read()
            # Two parses of one text: cheaper than a deep copy.
            before = json.loads(text)
            registry = Registry(json.loads(text))
            advance_guests(registry)
            try:
                yield registry
            except BaseException:
                if save_on_error:
                    self._commit(before, registry.data)
                else:
                    # drop the failed command's changes, keep lazy guest
                    # transitions
                    fresh = Registry(json.loads(text))
                    advance_guests(fresh)
                    self._commit(before, fresh.data)
                raise
            self._commit(before, registry.data)

    def _commit(self, before, after):
        if after != before:
            log_state_changes(before, after)
            self._save(after)
            write_changed_settings(before, after)


def advance_guests(registry, now=None):
    """Lazily complete guest events whose deadline has passed: an ACPI
    shutdown (-> poweroff) or a simulated VM process crash (-> aborted)."""
    now = now or now_ns()
    for vm in registry.vms:
        if vm["state"] not in ("running", "paused"):
            continue
        events = [
            (vm.get("acpi_deadline_ns"), "poweroff"),
            (vm.get("crash_deadline_ns"), "aborted"),
        ]
        due = sorted(
            (when, state)
            for when, state in events
            if when is not None and now >= when
        )
        if due and (due[0][1] == "aborted" or vm["state"] == "running"):
            when, new_state = due[0]
            set_vm_state(vm, new_state, when)
            vm.update(
                session=None, acpi_deadline_ns=None, crash_deadline_ns=None
            )


def set_vm_state(vm, state, when_ns=None):
    vm["state"] = state
    vm["state_change_ns"] = when_ns or now_ns()


def log_state_changes(before, after):
    """Each VM's state change into its VBox.log, as its VM process
    writes it (vmlog)."""
    old = {vm["uuid"]: vm["state"] for vm in before["vms"]}
    changed = [(vm, old[vm["uuid"]]) for vm in after["vms"]
               if old.get(vm["uuid"], vm["state"]) != vm["state"]]
    if changed:
        # Imported here: most calls change no state.
        from vboxsim import vmlog

        for vm, old_state in changed:
            vmlog.record(vm, old_state, vm.get("state_change_ns") or now_ns())


def write_changed_settings(before, after):
    """Rewrite the .vbox file of every registered VM whose settings changed."""
    old = {vm["uuid"]: vm for vm in before["vms"]}

    def owned(data, vm_uuid):
        return [m for m in data["media"] if m.get("registry") == vm_uuid]

    for vm in after["vms"]:
        changed = old.get(vm["uuid"]) != vm or owned(
            before, vm["uuid"]
        ) != owned(after, vm["uuid"])
        if changed and os.path.isdir(os.path.dirname(vm["cfgfile"])):
            # Imported here: read-only calls never need its XML modules.
            from vboxsim import settings_file

            settings_file.write(vm, after)
