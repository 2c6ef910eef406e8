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

"""startvm, controlvm and discardstate: the simulated VM lifecycle.

The simulator has no VM process: the running state lives in the registry.  An
ACPI power button press records a deadline (``VBOXSIM_ACPI_DELAY`` seconds,
default 1.0; negative = the guest ignores ACPI); any later invocation that
loads the registry moves the VM to ``poweroff`` once the deadline has passed
(see state.advance_guests).
"""

import os
import re
import socket

from vboxsim.args import Args
from vboxsim.commands import common
from vboxsim.commands import modifyvm
from vboxsim import errors
from vboxsim import guest as guestlib
from vboxsim import model
from vboxsim import state as statelib
from vboxsim import vmlog

MISC_FILE = "VBoxManageMisc.cpp"
CONTROL_FILE = "VBoxManageControlVM.cpp"
SESSION_NAMES = {
    "headless": "headless",
    "gui": "GUI/Qt",
    "separate": "headless",
    "sdl": "GUI/SDL",
}
DEFAULT_ACPI_DELAY = 1.0


def acpi_delay():
    try:
        return float(os.environ.get("VBOXSIM_ACPI_DELAY", DEFAULT_ACPI_DELAY))
    except ValueError:
        return DEFAULT_ACPI_DELAY


def _launch_failed_gui(vm):
    return errors.com_error(
        "Could not launch the VM process for the machine '%s'"
        " (VERR_FILE_NOT_FOUND)"
        % vm["name"],
        "VBOX_E_IPRT_ERROR",
        "MachineWrap",
        "IMachine",
        (
            (
                "LaunchVMProcess(a->session, sessionType.raw(),"
                " ComSafeArrayAsInParam(aBstrEnv), progress.asOutParam())"
            ),
            920,
            MISC_FILE,
        ),
    )


def startvm(ctx, argv):
    args = Args(argv)
    names = []
    session_type = "gui"
    while args:
        opt = args.next()
        if opt == "--type":
            session_type = args.value(opt).lower()
        elif opt in ("--putenv", "-E", "--password", "--password-id"):
            args.value(opt)
        else:
            names.append(opt)
    if not names:
        raise errors.syntax_error("VM name required")
    if session_type not in SESSION_NAMES:
        raise errors.VBoxError(
            errors.error_lines("Invalid session type '%s'" % session_type),
            exit_code=2,
        )
    for name in names:
        with ctx.store.transaction() as registry:
            vm = common.find_vm(registry, name, "startvm")
            if vm["state"] in common.RUNNING_STATES:
                raise errors.launch_locked(vm["name"])
            if session_type == "gui" and not os.environ.get("DISPLAY"):
                raise _launch_failed_gui(vm)
            restored = vm["state"] in ("saved", "aborted-saved")
            _remove_state_file(vm)
            statelib.set_vm_state(vm, "running")
            vm.update(
                session=SESSION_NAMES[session_type],
                acpi_deadline_ns=None,
                crash_deadline_ns=_crash_deadline(),
                vrde_port_in_use=_vrde_port(registry, vm),
                # a VM restored from a saved state reports a guest facility
                # (7.2.22: "GuestAdditionsFacility_Seamless Mode=0,<ms>")
                restored_ms=(statelib.now_ns() // 1000000 if restored
                             else None),
            )
            guestlib.power_on(registry, vm, restored)
        ctx.out(
            'Waiting for VM "%s" to power on...\nVM "%s" has been successfully'
            " started.\n" % (name, name)
        )
    return 0


def _port_ranges(text):
    for part in (text or "3389").split(","):
        first, _, last = part.strip().partition("-")
        try:
            first = int(first)
            last = int(last or first)
        except ValueError:
            continue
        for port in range(first, last + 1):
            yield port


def _port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def _vrde_port(registry, vm):
    """The TCP port the VM's VRDE server listens on: the first port of
    vrdeports that no other running VM holds and that can be bound (the
    real server binds it on every address); -1 without a VRDE server (VRDE
    off, or no VRDE extension pack chosen)."""
    vrde = vm["vrde"]
    if not vrde["enabled"] or not vrde.get("extpack"):
        return -1
    taken = set(other.get("vrde_port_in_use") for other in registry.vms
                if other is not vm
                and other["state"] in common.RUNNING_STATES)
    for port in _port_ranges(vrde["properties"].get("TCP/Ports")):
        if port not in taken and _port_free(port):
            return port
    return -1


def _crash_deadline():
    """VBOXSIM_CRASH_AFTER=S: the VM process dies S seconds after start."""
    crash_after = os.environ.get("VBOXSIM_CRASH_AFTER")
    if not crash_after:
        return None
    return statelib.now_ns() + int(float(crash_after) * 1e9)


def _remove_state_file(vm):
    if vm.get("state_file") and os.path.exists(vm["state_file"]):
        os.unlink(vm["state_file"])
    vm["state_file"] = None


def _invalid_state(vm, call, line):
    return errors.com_error(
        "Invalid machine state: %s"
        % vmlog.CONSOLE_NAMES.get(vm["state"], vm["state"]),
        "VBOX_E_INVALID_VM_STATE",
        "ConsoleWrap",
        "IConsole",
        (call, line, CONTROL_FILE),
    )


def _power_off(vm):
    statelib.set_vm_state(vm, "poweroff")
    vm.update(session=None, acpi_deadline_ns=None, crash_deadline_ns=None)


def _save_state(vm):
    now = statelib.now_ns()
    folder = model.snapshot_folder(vm)
    os.makedirs(folder, exist_ok=True)
    # Machine::i_composeSavedStateFilename: 2026-11-24T14-43-01-791000000Z.sav
    stamp = statelib.format_state_time(now).replace(":", "-").replace(".", "-")
    path = os.path.join(folder, "%sZ.sav" % stamp)
    with open(path, "wb") as handle:
        handle.write(
            b"\x7fVirtualBox SavedState V2.0\n\0" + vm["uuid"].encode()
        )
    statelib.set_vm_state(vm, "saved", now)
    vm.update(
        session=None,
        acpi_deadline_ns=None,
        crash_deadline_ns=None,
        state_file=path,
    )


def _press_power_button(vm, registry):
    if vm["state"] == "paused":
        raise _invalid_state(vm, "PowerButton()", 658)
    answers = guestlib.press_power_button(registry, vm)
    delay = acpi_delay()
    if answers is False or delay < 0 or not vm["acpi"]:
        return
    vm["acpi_deadline_ns"] = statelib.now_ns() + int(delay * 1e9)
    if delay == 0:
        _power_off(vm)


def _pause(vm):
    if vm["state"] == "paused":
        raise errors.com_error(
            "Already paused",
            "VBOX_E_INVALID_VM_STATE",
            "ConsoleWrap",
            "IConsole",
            ("Pause()", 388, CONTROL_FILE),
        )
    if vm["state"] != "running":
        raise _invalid_state(vm, "Pause()", 388)
    statelib.set_vm_state(vm, "paused")


def _resume(vm):
    if vm["state"] != "paused":
        raise errors.com_error(
            "Cannot resume the machine as it is not paused (machine state: %s)"
            % vmlog.CONSOLE_NAMES[vm["state"]],
            "VBOX_E_INVALID_VM_STATE",
            "ConsoleWrap",
            "IConsole",
            ("Resume()", 393, CONTROL_FILE),
        )
    statelib.set_vm_state(vm, "running")


def _reset(vm, registry):
    vm["acpi_deadline_ns"] = None
    guestlib.reset(registry, vm)


# controlvm settings that mirror a modifyvm option (value count taken from
# modifyvm)
CONTROL_TO_MODIFY = {
    "setlinkstate": "--cableconnected",
    "nic": "--nic",
    "nictrace": "--nictrace",
    "nictracefile": "--nictracefile",
    "natpf": "--natpf",
    "vrde": "--vrde",
    "vrdeport": "--vrdeport",
    "vrdeproperty": "--vrdeproperty",
    "cpuexecutioncap": "--cpuexecutioncap",
    "clipboard": "--clipboard",
    "draganddrop": "--draganddrop",
    "clipboardmode": "--clipboard",
}


# controlvm nicN <kind> <target>: the modifyvm option naming the target
NIC_TARGET_OPTIONS = {
    "bridged": "--bridgeadapter",
    "hostonly": "--hostonlyadapter",
    "hostonlynet": "--host-only-net",
    "intnet": "--intnet",
    "natnetwork": "--nat-network",
    "generic": "--nic-generic-drv",
}


def _apply_setting(ctx, vm, action, values):
    """Apply a runtime setting (setlinkstateN, nicN, natpfN, vrde...)
    through the matching modifyvm handler."""
    match = re.match(r"^([a-z]+?)(\d*)$", action)
    base, slot = match.group(1), match.group(2)
    option = CONTROL_TO_MODIFY.get(base)
    if option is None:
        return False
    argv = [option + slot] + values[:1]
    if base == "nic" and len(values) > 1 and values[0] in NIC_TARGET_OPTIONS:
        argv += [NIC_TARGET_OPTIONS[values[0]] + slot, values[1]]
    else:
        argv = [option + slot] + values
    for change in modifyvm._read_changes(Args(argv)):
        handler = modifyvm.HANDLERS.get(change.key, modifyvm._store_other)
        handler(ctx, vm, change)
    return True


def controlvm(ctx, argv):
    if len(argv) < 2:
        raise errors.syntax_error("Not enough parameters")
    action = argv[1].lower()
    values = argv[2:]
    with ctx.store.transaction() as registry:
        vm = common.find_vm(registry, argv[0], "controlvm")
        if vm["state"] not in common.RUNNING_STATES:
            raise errors.not_running(vm["name"])
        if action == "poweroff":
            _power_off(vm)
            ctx.progress()
        elif action == "savestate":
            _save_state(vm)
            ctx.progress()
        elif action in ("acpipowerbutton", "shutdown"):
            if action == "shutdown" and "--force" in values:
                _power_off(vm)
            else:
                _press_power_button(vm, registry)
        elif action == "pause":
            _pause(vm)
        elif action == "resume":
            _resume(vm)
        elif action in ("reset", "reboot"):
            _reset(vm, registry)
        elif action in (
            "acpisleepbutton",
            "keyboardputscancode",
            "keyboardputstring",
            "keyboardputfile",
            "setvideomodehint",
            "setscreenlayout",
            "screenshotpng",
            "guestmemoryballoon",
            "usbattach",
            "usbdetach",
            "webcam",
            "addencpassword",
            "removeencpassword",
            "removeallencpasswords",
            "changeuartmode1",
            "changeuartmode2",
            "recording",
            "setcredentials",
            "teleport",
            "plugcpu",
            "unplugcpu",
            "vm-process-priority",
            "autostart-enabled1",
            "autostart-delay",
        ):
            pass
        elif not _apply_setting(ctx, vm, action, values):
            raise errors.syntax_error("Invalid parameter '%s'" % argv[1])
    return 0


def discardstate(ctx, argv):
    if not argv:
        raise errors.syntax_error("VM name required")
    with ctx.store.transaction() as registry:
        vm = common.find_vm(registry, argv[0], "discardstate")
        common.require_unlocked(vm, MISC_FILE, 1287)
        if vm["state"] not in ("saved", "aborted-saved"):
            # The real VBoxManage reports this error but still exits 0
            # (transcript 66).
            error = errors.com_error(
                "Cannot discard the saved state as the machine is not in the"
                " Saved or Aborted-Saved state (machine state: %s)"
                % vmlog.CONSOLE_NAMES.get(vm["state"], vm["state"]),
                "VBOX_E_INVALID_VM_STATE",
                "SessionMachine",
                "IMachine",
                ("DiscardSavedState(true )", 1292, MISC_FILE),
            )
            ctx.err(error.stderr)
            return 0
        _remove_state_file(vm)
        statelib.set_vm_state(vm, "poweroff")
    return 0
