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

"""Helpers shared by the command modules."""

import os

from vboxsim import errors
from vboxsim import model

RUNNING_STATES = ("running", "paused")


def find_vm(registry, name, command):
    vm = registry.find_vm(name)
    if vm is None:
        raise errors.machine_not_found(name, command)
    return vm


def require_unlocked(
    vm,
    source_file="VBoxManageModifyVM.cpp",
    line=901,
    call="LockMachine(a->session, LockType_Write)",
):
    """Commands needing a write session fail while the VM process holds it."""
    if vm["state"] in RUNNING_STATES:
        raise errors.machine_locked(vm["name"], source_file, line, call)


def compose_settings_path(registry, name, basefolder=None, groups=None):
    """IVirtualBox::ComposeMachineFilename."""
    base = basefolder or registry.machine_folder
    group = (groups or ["/"])[0]
    if group not in ("", "/"):
        base = os.path.join(base, group.strip("/"))
    leaf = model.sanitise_filename(name)
    return os.path.join(os.path.abspath(base), leaf, leaf + ".vbox")


def settings_exists_error(path):
    return errors.com_error(
        "Machine settings file '%s' already exists" % path,
        "VBOX_E_FILE_ERROR",
        "MachineWrap",
        "IMachine",
        (
            (
                "CreateMachine(bstrSettingsFile.raw(), bstrName.raw(),"
                " platformArch, ComSafeArrayAsInParam(groups),"
                " bstrOsTypeId.raw(), createFlags.raw(), bstrCipher.raw(),"
                " bstrPasswordId.raw(), Bstr(strPassword).raw(),"
                " machine.asOutParam())"
            ),
            429,
            "VBoxManageMisc.cpp",
        ),
    )


def parse_groups(text):
    groups = [g.strip() for g in text.split(",") if g.strip()]
    return [g if g.startswith("/") else "/" + g for g in groups] or ["/"]
