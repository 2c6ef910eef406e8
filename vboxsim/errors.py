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

"""Error texts of VBoxManage 7.2, as printed on stderr.

Every failure the simulator reports is a :class:`VBoxError`: the stderr text
(already formatted), the exit code and optionally text for stdout.  The helper
constructors below hold the exact wording seen in real 7.2.22 transcripts.
"""

PREFIX = "VBoxManage: error: "

RESULT_CODES = {
    "VBOX_E_OBJECT_NOT_FOUND": 0x80BB0001,
    "VBOX_E_INVALID_VM_STATE": 0x80BB0002,
    "VBOX_E_VM_ERROR": 0x80BB0003,
    "VBOX_E_FILE_ERROR": 0x80BB0004,
    "VBOX_E_IPRT_ERROR": 0x80BB0005,
    "VBOX_E_PDM_ERROR": 0x80BB0006,
    "VBOX_E_INVALID_OBJECT_STATE": 0x80BB0007,
    "VBOX_E_HOST_ERROR": 0x80BB0008,
    "VBOX_E_NOT_SUPPORTED": 0x80BB0009,
    "VBOX_E_XML_ERROR": 0x80BB000A,
    "VBOX_E_INVALID_SESSION_STATE": 0x80BB000B,
    "VBOX_E_OBJECT_IN_USE": 0x80BB000C,
    "NS_ERROR_FAILURE": 0x80004005,
    "E_ACCESSDENIED": 0x80070005,
    "E_INVALIDARG": 0x80070057,
    "NS_ERROR_INVALID_ARG": 0x80070057,
}

BANNER = (
    "Oracle VirtualBox Command Line Management Interface Version"
    " 7.2.22_Debian\nCopyright (C) 2005-2026 Oracle and/or its affiliates\n\n"
)


class VBoxError(Exception):
    """A failed command: what to print and how to exit."""

    def __init__(self, stderr, exit_code=1, stdout=""):
        super().__init__(stderr)
        self.stderr = stderr
        self.exit_code = exit_code
        self.stdout = stdout


def error_lines(*messages):
    return "".join(PREFIX + m + "\n" for m in messages)


def details_line(code, component, interface, callee=True):
    text = "Details: code %s (0x%08x), component %s, interface %s" % (
        code,
        RESULT_CODES[code],
        component,
        interface,
    )
    if callee:
        text += ", callee nsISupports"
    return PREFIX + text + "\n"


def context_line(call, line, source_file):
    return PREFIX + 'Context: "%s" at line %d of file %s\n' % (
        call,
        line,
        source_file,
    )


def com_error(
    messages,
    code,
    component,
    interface,
    context=None,
    callee=True,
    trailer=(),
    exit_code=1,
    progress_prefix="",
):
    """The usual three-part COM failure: messages, Details, Context."""
    if isinstance(messages, str):
        messages = [messages]
    text = progress_prefix + error_lines(*messages)
    text += details_line(code, component, interface, callee)
    if context:
        text += context_line(*context)
    text += error_lines(*trailer)
    return VBoxError(text, exit_code)


# Where each command looks the VM up (call text, line, file) in 7.2.22.
_FIND_ARGV0 = "FindMachine(Bstr(a->argv[0]).raw(), machine.asOutParam())"
FIND_MACHINE_CONTEXT = {
    "showvminfo": (
        "FindMachine(Bstr(VMNameOrUuid).raw(), machine.asOutParam())",
        3248,
        "VBoxManageInfo.cpp",
    ),
    "modifyvm": (_FIND_ARGV0, 893, "VBoxManageModifyVM.cpp"),
    "unregistervm": (
        "FindMachine(Bstr(VMName).raw(), machine.asOutParam())",
        228,
        "VBoxManageMisc.cpp",
    ),
    "startvm": (
        "FindMachine(Bstr(pszVM).raw(), machine.asOutParam())",
        907,
        "VBoxManageMisc.cpp",
    ),
    "controlvm": (_FIND_ARGV0, 363, "VBoxManageControlVM.cpp"),
    "discardstate": (
        "FindMachine(Bstr(VMName).raw(), machine.asOutParam())",
        1281,
        "VBoxManageMisc.cpp",
    ),
    "storagectl": (_FIND_ARGV0, 1054, "VBoxManageStorageController.cpp"),
    "storageattach": (_FIND_ARGV0, 328, "VBoxManageStorageController.cpp"),
    "snapshot": (
        "FindMachine(Bstr(a->argv[0]).raw(), pMachine.asOutParam())",
        456,
        "VBoxManageSnapshot.cpp",
    ),
    "clonevm": (
        "FindMachine(Bstr(pszSrcName).raw(), srcMachine.asOutParam())",
        618,
        "VBoxManageMisc.cpp",
    ),
    "setextradata": (_FIND_ARGV0, 1052, "VBoxManageMisc.cpp"),
    "getextradata": (_FIND_ARGV0, 1378, "VBoxManageMisc.cpp"),
    "guestproperty": (_FIND_ARGV0, 77, "VBoxManageGuestProp.cpp"),
    "bandwidthctl": (_FIND_ARGV0, 262, "VBoxManageBandwidthControl.cpp"),
    "export": (
        "FindMachine(Bstr(*itvm).raw(), m.asOutParam())",
        1602,
        "VBoxManageAppliance.cpp",
    ),
}


def machine_not_found(name, command):
    return com_error(
        "Could not find a registered machine named '%s'" % name,
        "VBOX_E_OBJECT_NOT_FOUND",
        "VirtualBoxWrap",
        "IVirtualBox",
        FIND_MACHINE_CONTEXT.get(command, FIND_MACHINE_CONTEXT["showvminfo"]),
    )


def machine_locked(
    name,
    source_file="VBoxManageModifyVM.cpp",
    line=897,
    call="LockMachine(a->session, LockType_Write)",
):
    """The session lock is held (a running VM or another VBoxManage)."""
    return com_error(
        "The machine '%s' is already locked for a session (or being unlocked)"
        % name,
        "VBOX_E_INVALID_OBJECT_STATE",
        "MachineWrap",
        "IMachine",
        (call, line, source_file),
    )


def launch_locked(name):
    """startvm while another session holds the VM."""
    return com_error(
        "The machine '%s' is already locked by a session (or being locked or"
        " unlocked)" % name,
        "VBOX_E_INVALID_OBJECT_STATE",
        "MachineWrap",
        "IMachine",
        (
            (
                "LaunchVMProcess(a->session, sessionType.raw(),"
                " ComSafeArrayAsInParam(aBstrEnv), progress.asOutParam())"
            ),
            920,
            "VBoxManageMisc.cpp",
        ),
    )


def object_not_ready(
    call="COMGETTER(State)(&machineState)",
    line=1013,
    source_file="VBoxManageInfo.cpp",
):
    return com_error(
        "The object is not ready",
        "E_ACCESSDENIED",
        "MachineWrap",
        "IMachine",
        (call, line, source_file),
    )


def not_running(name):
    return VBoxError(
        error_lines("Machine '%s' is not currently running." % name)
    )


def medium_file_not_found(path):
    return com_error(
        "Could not find file for the medium '%s' (VERR_FILE_NOT_FOUND)" % path,
        "VBOX_E_FILE_ERROR",
        "MediumWrap",
        "IMedium",
        (
            (
                "OpenMedium(Bstr(pszFilenameOrUuid).raw(), enmDevType,"
                " enmAccessMode, fForceNewUuidOnOpen, pMedium.asOutParam())"
            ),
            197,
            "VBoxManageDisk.cpp",
        ),
    )


def syntax_error(message, usage=""):
    """Syntax errors print the banner, the message and the usage text."""
    return VBoxError(BANNER + error_lines(message) + usage, exit_code=2)


SOURCE_FILES = {
    "modifyvm": "VBoxManageModifyVM.cpp",
    "storagectl": "VBoxManageStorageController.cpp",
    "storageattach": "VBoxManageStorageController.cpp",
    "showvminfo": "VBoxManageInfo.cpp",
    "list": "VBoxManageList.cpp",
    "snapshot": "VBoxManageSnapshot.cpp",
    "controlvm": "VBoxManageControlVM.cpp",
    "guestproperty": "VBoxManageGuestProp.cpp",
    "bandwidthctl": "VBoxManageBandwidthControl.cpp",
    "createmedium": "VBoxManageDisk.cpp",
    "clonemedium": "VBoxManageDisk.cpp",
    "modifymedium": "VBoxManageDisk.cpp",
    "closemedium": "VBoxManageDisk.cpp",
    "showmediuminfo": "VBoxManageDisk.cpp",
    "export": "VBoxManageAppliance.cpp",
    "import": "VBoxManageAppliance.cpp",
}


def hard_failure(command):
    """A realistic non-transient failure used by fault injection (settings file
    I/O error)."""
    return com_error(
        ["Could not save the settings file (VERR_DISK_FULL)"],
        "VBOX_E_FILE_ERROR",
        "SessionMachine",
        "IMachine",
        ("SaveSettings()", 1, SOURCE_FILES.get(command, "VBoxManageMisc.cpp")),
    )
