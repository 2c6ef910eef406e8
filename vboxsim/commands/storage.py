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

"""storagectl and storageattach."""

import os
import sys
import uuid as uuidlib

from vboxsim.args import Args, on_off
from vboxsim.commands import common
from vboxsim.commands.medium import MEDIUM_TYPES, set_medium_type
from vboxsim.commands.vm import new_controller
from vboxsim import errors
from vboxsim import media as medialib
from vboxsim import model

CTL_FILE = "VBoxManageStorageController.cpp"
DEVICE_TYPES = {"hdd": "hdd", "dvddrive": "dvddrive", "fdd": "fdd"}
MEDIUM_DEVICE = {"hdd": "hdd", "dvddrive": "dvd", "fdd": "floppy"}


def _argument_error(message):
    return errors.VBoxError(errors.error_lines(message))


def _find_controller(vm, name):
    for ctl in vm["storage"]:
        if ctl["name"] == name:
            return ctl
    return None


def storagectl(ctx, argv):
    if not argv:
        raise errors.syntax_error("Storage controller name required")
    args = Args(argv[1:])
    name = bus = controller = rename = None
    portcount = bootable = hostiocache = None
    remove = False
    while args:
        opt = args.next()
        if opt == "--name":
            name = args.value(opt)
        elif opt == "--add":
            bus = args.value(opt).lower()
        elif opt == "--controller":
            controller = args.value(opt).lower()
        elif opt in ("--portcount", "--sataportcount"):
            portcount = int(args.value(opt))
        elif opt == "--bootable":
            bootable = on_off(args.value(opt), opt)
        elif opt == "--hostiocache":
            hostiocache = on_off(args.value(opt), opt)
        elif opt == "--rename":
            rename = args.value(opt)
        elif opt == "--remove":
            remove = True
        else:
            raise errors.syntax_error("Invalid parameter '%s'" % opt)
    if not name:
        raise errors.syntax_error("Storage controller name not specified")
    with ctx.store.transaction() as registry:
        vm = common.find_vm(registry, argv[0], "storagectl")
        common.require_unlocked(vm, CTL_FILE, 1113)
        ctl = _find_controller(vm, name)
        if remove:
            if ctl is None:
                raise errors.com_error(
                    "Could not find a storage controller named '%s'" % name,
                    "VBOX_E_OBJECT_NOT_FOUND",
                    "SessionMachine",
                    "IMachine",
                    (
                        "RemoveStorageController(Bstr(pszCtl).raw())",
                        1072,
                        CTL_FILE,
                    ),
                )
            vm["storage"] = [c for c in vm["storage"] if c["name"] != name]
            return 0
        if bus:
            if bus not in model.STORAGE_BUSES:
                raise _argument_error("Invalid --add argument '%s'" % bus)
            if ctl is not None:
                raise errors.com_error(
                    "Storage controller named '%s' already exists" % name,
                    "VBOX_E_OBJECT_IN_USE",
                    "SessionMachine",
                    "IMachine",
                    (
                        "AddStorageController(Bstr(pszCtl).raw(),"
                        " StorageBus_%s, ctl.asOutParam())"
                        % bus.upper(),
                        1088,
                        CTL_FILE,
                    ),
                )
            ctl = new_controller(name, bus, vm["storage"])
            vm["storage"].append(ctl)
            _check_controller_type(ctl, controller)
        elif ctl is None:
            raise _argument_error(
                "Couldn't find the controller with the name: '%s'" % name
            )
        if controller:
            _check_controller_type(ctl, controller)
            if controller not in model.CONTROLLER_TYPES:
                raise _argument_error(
                    "Invalid --type argument '%s'" % controller
                )
            ctl["type"] = model.CONTROLLER_TYPES[controller][0]
        if portcount is not None:
            ctl["portcount"] = max(1, min(portcount, ctl["maxports"]))
        if bootable is not None:
            ctl["bootable"] = bootable
        if hostiocache is not None:
            ctl["hostiocache"] = hostiocache
        if rename:
            ctl["name"] = rename
    return 0


# StorageControllerType enum values, used in the "Invalid controller type N"
# error
CONTROLLER_TYPE_NUMBERS = {
    "LsiLogic": 1,
    "BusLogic": 2,
    "IntelAhci": 3,
    "PIIX3": 4,
    "PIIX4": 5,
    "ICH6": 6,
    "I82078": 7,
    "LsiLogicSas": 8,
    "USB": 9,
    "NVMe": 10,
    "VirtioSCSI": 11,
}


def _check_controller_type(ctl, controller):
    """A --controller type must belong to the controller's bus."""
    if (
        controller
        and controller in model.CONTROLLER_TYPES
        and model.CONTROLLER_TYPES[controller][1] != ctl["bus"]
    ):
        ctl_type = model.CONTROLLER_TYPES[controller][0]
        raise errors.com_error(
            "Invalid controller type %d" % CONTROLLER_TYPE_NUMBERS[ctl_type],
            "NS_ERROR_INVALID_ARG",
            "StorageControllerWrap",
            "IStorageController",
            (
                "COMSETTER(ControllerType)(StorageControllerType_%s)"
                % ctl_type,
                1155,
                CTL_FILE,
            ),
        )


class AttachRequest:
    def __init__(self):
        self.controller = None
        self.port = None
        self.device = None
        self.type = None
        self.medium = None
        self.mtype = None
        self.comment = None
        self.flags = {}
        self.iscsi = {}


ISCSI_OPTIONS = {
    "--server": "TargetAddress",
    "--target": "TargetName",
    "--tport": "port",
    "--lun": "LUN",
    "--encodedlun": "LUN",
    "--username": "InitiatorUsername",
    "--password": "InitiatorSecret",
    "--initiator": "InitiatorName",
}
FLAG_OPTIONS = {
    "--nonrotational": "nonrotational",
    "--discard": "discard",
    "--hotpluggable": "hotpluggable",
    "--passthrough": "passthrough",
    "--tempeject": "tempeject",
}


def _read_password(path):
    """--passwordfile: the first line of the file ("-" = stdin)."""
    if path == "-":
        return sys.stdin.readline().rstrip("\n")
    try:
        with open(path) as handle:
            return handle.readline().rstrip("\n")
    except OSError:
        raise errors.VBoxError(
            errors.error_lines("Failed to read password from file '%s'" % path)
        )


def _parse_attach(argv):
    args = Args(argv)
    req = AttachRequest()
    while args:
        opt = args.next()
        if opt == "--storagectl":
            req.controller = args.value(opt)
        elif opt == "--port":
            req.port = int(args.value(opt))
        elif opt == "--device":
            req.device = int(args.value(opt))
        elif opt == "--type":
            req.type = args.value(opt).lower()
        elif opt == "--medium":
            req.medium = args.value(opt)
        elif opt == "--mtype":
            req.mtype = args.value(opt).lower()
        elif opt == "--comment":
            req.comment = args.value(opt)
        elif opt in FLAG_OPTIONS:
            req.flags[FLAG_OPTIONS[opt]] = on_off(args.value(opt), opt)
        elif opt in ISCSI_OPTIONS:
            req.iscsi[ISCSI_OPTIONS[opt]] = args.value(opt)
        elif opt == "--bandwidthgroup":
            value = args.value(opt)
            req.flags["bwgroup"] = "" if value == "none" else value
        elif opt == "--passwordfile":
            req.iscsi["InitiatorSecret"] = _read_password(args.value(opt))
        elif opt in ("--setuuid", "--setparentuuid", "--intnet"):
            args.value(opt)
        elif opt in ("--forceunmount", "--readonly"):
            pass
        else:
            raise errors.syntax_error("Invalid parameter '%s'" % opt)
    if req.controller is None:
        raise errors.syntax_error("Storage controller name not specified")
    return req


def _iscsi_medium(registry, iscsi):
    # Real 7.2.22: "<server>|<target>", plus "|<lun>" for a LUN other than
    # 0; --tport goes into the TargetAddress property, not the location.
    server = iscsi.get("TargetAddress", "")
    if iscsi.get("port"):
        server = "%s:%s" % (server, iscsi["port"])
    lun = iscsi.get("LUN", "")
    location = "%s|%s" % (iscsi.get("TargetAddress", ""),
                          iscsi.get("TargetName", ""))
    if lun and lun not in ("0", "enc0"):
        location += "|" + lun
    medium = medialib.make_record(location, "iSCSI", 0)
    existing = registry.find_medium(location, "hdd")
    if existing is not None:  # CreateMedium always makes a new one
        raise errors.com_error(
            "Cannot register the hard disk '%s' {%s} because a hard disk '%s'"
            " with UUID {%s} already exists"
            % (location, medium["uuid"], location, existing["uuid"]),
            "NS_ERROR_INVALID_ARG",
            "VirtualBoxWrap",
            "IVirtualBox",
            (
                (
                    'CreateMedium(Bstr("iSCSI").raw(), bstrISCSIMedium.raw(),'
                    " AccessMode_ReadWrite, DeviceType_HardDisk,"
                    " pMedium2Mount.asOutParam())"
                ),
                624,
                CTL_FILE,
            ),
        )
    registry.media.append(medium)
    medium["properties"] = {k: v for k, v in iscsi.items() if k != "port"}
    if iscsi.get("port"):
        medium["properties"]["TargetAddress"] = server
    return medium


def _implicit_diff(registry, vm, base):
    """Immutable and multiattach media are attached through a per-VM
    differencing image."""
    folder = model.snapshot_folder(vm)
    os.makedirs(folder, exist_ok=True)
    diff_uuid = str(uuidlib.uuid4())
    diff = medialib.create_diff(
        registry,
        base,
        os.path.join(folder, "{%s}.vdi" % diff_uuid),
        "VDI",
        diff_uuid,
    )
    diff["registry"] = vm["uuid"]
    diff["implicit"] = True
    return diff


def _detach(registry, vm, ctl, att):
    """Detaching leaves the medium (even an implicit diff) registered, as
    VirtualBox does; once the VM no longer uses it, it leaves the VM's media
    registry for the global one.
    """
    ctl["attachments"].remove(att)
    medium = (
        registry.medium_by_uuid(att.get("medium"))
        if att.get("medium")
        else None
    )
    if medium is None or any(
        a.get("medium") == medium["uuid"]
        for _s, _c, a in model.all_attachments(vm)
    ):
        return
    while medium is not None:
        if medium.get("registry") == vm["uuid"]:
            medium["registry"] = None
        medium = (
            registry.medium_by_uuid(medium["parent"])
            if medium.get("parent")
            else None
        )


def _refuse_double_attach(registry, vm, ctl, req, port, device):
    """AttachDevice refuses a hard disk this VM already has in another slot."""
    if not req.medium or req.medium.lower() in (
        "none",
        "emptydrive",
        "iscsi",
        "additions",
    ):
        return
    medium = registry.find_medium(req.medium, "hdd")
    if medium is None or (req.type or "hdd") != "hdd":
        return
    for other_ctl in vm["storage"]:
        for att in other_ctl["attachments"]:
            same_slot = (
                other_ctl is ctl
                and att["port"] == port
                and att["device"] == device
            )
            if att.get("medium") == medium["uuid"] and not same_slot:
                raise errors.com_error(
                    "Medium '%s' is already attached to this virtual machine"
                    % medium["location"],
                    "VBOX_E_OBJECT_IN_USE",
                    "SessionMachine",
                    "IMachine",
                    (
                        (
                            "AttachDevice(Bstr(pszCtl).raw(), port, device,"
                            " DeviceType_HardDisk, pMedium2Mount)"
                        ),
                        782,
                        CTL_FILE,
                    ),
                )


# Controller types Machine::i_isControllerHotplugCapable() accepts.
HOTPLUG_CONTROLLER_TYPES = ("IntelAhci", "USB")
ATTACH_CONTEXT = (
    (
        "AttachDevice(Bstr(pszCtl).raw(), port, device,"
        " DeviceType_HardDisk, pMedium2Mount)"
    ),
    1082,
    CTL_FILE,
)
DETACH_CONTEXT = ("DetachDevice(Bstr(pszCtl).raw(), port, device)", 413,
                  CTL_FILE)


def _hotplug(vm, ctl, req, existing, port, device):
    """Hard disk hot-plug on a running VM.

    storageattach takes a shared session when the VM runs, and
    AttachDevice/DetachDevice of the running machine hot-plug: only on a
    hot-plug capable controller (SATA, USB), and a detach (or a
    replacement) only of an attachment marked hot-pluggable; a disk
    hot-plugged in is marked hot-pluggable. Only the plain attach/detach
    (a medium, no flags or comment) is modelled; anything else on a running
    VM stays a session lock error. ``--mtype`` is allowed: VBoxManage sets
    it on the medium (not the machine) before AttachDevice. Returns True
    when the request is such a hot-plug and may go on.
    """
    # --hotpluggable on: 7.2.22 attaches the medium, then fails to mark the
    # slot (SetHotPluggableForDevice on a running machine)
    flag_only = (req.flags == {"hotpluggable": True}
                 and vm["state"] in common.RUNNING_STATES
                 and req.medium is not None
                 and req.medium.lower() != "none")
    if (
        vm["state"] not in common.RUNNING_STATES
        or req.medium is None
        or (req.flags and not flag_only)
        or req.comment is not None
        or req.medium.lower() == "emptydrive"
        or (req.type or (existing or {}).get("type") or "hdd") != "hdd"
    ):
        return False
    detaching = req.medium.lower() == "none"
    if detaching and existing is None:
        return True  # DetachDevice's own "No storage device" error follows
    if ctl["type"] not in HOTPLUG_CONTROLLER_TYPES:
        raise errors.com_error(
            "Controller '%s' does not support hotplugging" % ctl["name"],
            "VBOX_E_INVALID_VM_STATE",
            "SessionMachine",
            "IMachine",
            DETACH_CONTEXT if detaching else ATTACH_CONTEXT,
        )
    if existing is not None and not existing.get("hotpluggable"):
        raise errors.com_error(
            "The device slot %d on port %d of controller '%s' does not"
            " support hotplugging" % (device, port, ctl["name"]),
            "VBOX_E_NOT_SUPPORTED",
            "SessionMachine",
            "IMachine",
            DETACH_CONTEXT,
        )
    if not detaching:
        req.flags["hotpluggable"] = True
    req.refuse_hotpluggable_flag = flag_only
    return True


def storageattach(ctx, argv):
    if not argv:
        raise errors.syntax_error("VM name required")
    req = _parse_attach(argv[1:])
    with ctx.store.transaction() as registry:
        vm = common.find_vm(registry, argv[0], "storageattach")
        ctl = _find_controller(vm, req.controller)
        if ctl is None:
            raise _argument_error(
                "Could not find a controller named '%s'" % req.controller
            )
        port = req.port or 0
        device = req.device or 0
        _refuse_double_attach(registry, vm, ctl, req, port, device)
        if port >= ctl["portcount"] or port < 0:
            raise _argument_error(
                "The port number %d is out of range [0, %d]"
                % (port, ctl["portcount"] - 1)
            )
        existing = next(
            (
                a
                for a in ctl["attachments"]
                if a["port"] == port and a["device"] == device
            ),
            None,
        )
        if _hotplug(vm, ctl, req, existing, port, device):
            pass
        elif (
            vm["state"] in common.RUNNING_STATES
            and (req.type or (existing or {}).get("type")) != "dvddrive"
            and not (existing or {}).get("hotpluggable")
        ):
            common.require_unlocked(
                vm, CTL_FILE, 349, "LockMachine(a->session, LockType_Write)"
            )
        if (
            "bwgroup" in req.flags
            and req.flags["bwgroup"]
            and not any(
                g["name"] == req.flags["bwgroup"]
                for g in vm["bandwidth_groups"]
            )
        ):
            raise errors.com_error(
                "Could not find a bandwidth group named '%s'"
                % req.flags["bwgroup"],
                "VBOX_E_OBJECT_NOT_FOUND",
                "BandwidthControlWrap",
                "IBandwidthControl",
                (
                    (
                        "GetBandwidthGroup(Bstr(pszBandwidthGroup).raw(),"
                        " bwGroup.asOutParam())"
                    ),
                    1095,
                    CTL_FILE,
                ),
            )
        if req.medium is None:
            if existing is None:
                raise _argument_error(
                    "No DVD/Floppy Drive attached to the controller '%s' at"
                    " the port: %d, device: %d"
                    % (req.controller, port, device)
                )
            existing.update(req.flags)
            return 0
        if req.medium.lower() == "none":
            if existing is None:
                raise errors.com_error(
                    "No storage device attached to device slot %d on port %d"
                    " of controller '%s'" % (device, port, ctl["name"]),
                    "VBOX_E_OBJECT_NOT_FOUND",
                    "SessionMachine",
                    "IMachine",
                    (
                        "DetachDevice(Bstr(pszCtl).raw(), port, device)",
                        413,
                        CTL_FILE,
                    ),
                )
            _detach(registry, vm, ctl, existing)
            return 0
        dev_type = DEVICE_TYPES.get(
            req.type or (existing or {}).get("type") or "hdd", "hdd"
        )
        medium = None
        if req.medium.lower() == "emptydrive":
            if dev_type == "hdd":
                raise _argument_error(
                    "Invalid medium for a hard disk: emptydrive"
                )
        elif req.medium.lower() == "iscsi":
            medium = _iscsi_medium(registry, req.iscsi)
            ctx.out("iSCSI disk created. UUID: %s\n" % medium["uuid"])
        else:
            try:
                medium = medialib.open_medium(
                    registry, req.medium, MEDIUM_DEVICE[dev_type]
                )
            except errors.VBoxError as failure:
                failure.stderr += errors.error_lines(
                    'Invalid UUID or filename "%s"' % req.medium
                )
                raise
        if medium is not None and req.mtype:
            if req.mtype not in MEDIUM_TYPES:
                raise errors.syntax_error(
                    "Invalid medium type '%s'" % req.mtype
                )
            set_medium_type(
                medium,
                req.mtype,
                ("COMSETTER(Type)(enmMediumType)", 718, CTL_FILE),
            )
        if medium is not None and req.comment is not None:
            medium["description"] = req.comment
        if (
            medium is not None
            and medium["type"] == "normal"
            and dev_type == "hdd"
        ):
            for other in registry.vms:
                if other["uuid"] != vm["uuid"] and any(
                    a.get("medium") == medium["uuid"]
                    for c in other["storage"]
                    for a in c["attachments"]
                ):
                    raise errors.com_error(
                        "Medium '%s' is already attached to this or another"
                        " virtual machine"
                        % medium["location"],
                        "VBOX_E_OBJECT_IN_USE",
                        "SessionMachine",
                        "IMachine",
                        (
                            (
                                "AttachDevice(Bstr(pszCtl).raw(), port,"
                                " device, DeviceType_HardDisk, pMedium2Mount)"
                            ),
                            1082,
                            CTL_FILE,
                        ),
                    )
        if existing is not None:
            _detach(registry, vm, ctl, existing)
        attach_uuid = None
        if medium is not None:
            if medium.get("registry") is None:
                medium["registry"] = vm["uuid"]
            medium["ever_attached"] = True
            attach_uuid = medium["uuid"]
            if dev_type == "hdd" and medium["type"] in (
                "multiattach",
                "immutable",
            ):
                attach_uuid = _implicit_diff(registry, vm, medium)["uuid"]
        flags = {
            "hotpluggable": False,
            "nonrotational": False,
            "discard": False,
            "passthrough": False,
            "tempeject": False,
        }
        flags.update(req.flags)
        ctl["attachments"].append(
            dict(
                port=port,
                device=device,
                type=dev_type,
                medium=attach_uuid,
                **flags
            )
        )
        ctl["attachments"].sort(key=lambda a: (a["port"], a["device"]))
        state = vm["state"]
    if getattr(req, "refuse_hotpluggable_flag", False):
        raise errors.com_error(
            "The machine is not mutable (state is %s)" % state.capitalize(),
            "VBOX_E_INVALID_VM_STATE",
            "SessionMachine",
            "IMachine",
            ("SetHotPluggableForDevice(Bstr(pszCtl).raw(), port, device,"
             " TRUE)", 910, CTL_FILE),
        )
    return 0
