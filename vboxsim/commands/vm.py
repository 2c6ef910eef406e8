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

"""createvm, registervm, unregistervm, showvminfo, clonevm."""

import copy
import os
import uuid as uuidlib

from vboxsim.args import Args
from vboxsim.cli import usage_text
from vboxsim.commands import common
from vboxsim import errors
from vboxsim import media as medialib
from vboxsim import model
from vboxsim import render
from vboxsim import settings_file
from vboxsim import state as statelib


def _apply_defaults(vm):
    """createvm --default: what IMachine::applyDefaults sets for the OS."""
    vm["graphicscontroller"] = (
        "vmsvga" if model.os_family(vm["ostype"]) == "linux" else "vboxsvga"
    )
    vm["vram"] = 16
    vm["mouse"] = "usbtablet"
    vm["usb"]["ohci"] = True
    vm["storage"] = [
        new_controller("IDE", "ide", []),
        new_controller("SATA", "sata", []),
    ]
    vm["storage"][1]["portcount"] = 1


def new_controller(name, bus, existing):
    ctl_type, ports, max_ports, devices = model.STORAGE_BUSES[bus]
    return {
        "name": name,
        "bus": bus,
        "type": ctl_type,
        "portcount": ports,
        "maxports": max_ports,
        "devices": devices,
        "bootable": True,
        "hostiocache": bus == "ide",
        "instance": str(sum(1 for c in existing if c["bus"] == bus)),
        "attachments": [],
    }


def createvm(ctx, argv):
    args = Args(argv)
    name = ostype = basefolder = None
    vm_uuid = None
    groups = ["/"]
    register = default = False
    while args:
        opt = args.next()
        if opt == "--name":
            name = args.value(opt)
        elif opt in ("--ostype", "--os-type"):
            ostype = args.value(opt)
        elif opt == "--basefolder":
            basefolder = args.value(opt)
        elif opt == "--uuid":
            vm_uuid = args.value(opt).strip("{}").lower()
        elif opt == "--groups":
            groups = common.parse_groups(args.value(opt))
        elif opt == "--register":
            register = True
        elif opt == "--default":
            default = True
        elif opt in (
            "--platform-architecture",
            "--platform-arch",
            "--cipher",
            "--password-id",
            "--password",
        ):
            args.value(opt)
        else:
            raise errors.syntax_error("Invalid parameter '%s'" % opt)
    if not name:
        raise errors.syntax_error("Parameter --name is required")
    resolved_ostype = model.canonical_ostype(ostype or "Other")
    if resolved_ostype is None:
        raise errors.VBoxError(
            errors.error_lines("Unknown or invalid guest OS type given.")
        )
    with ctx.store.transaction() as registry:
        cfgfile = common.compose_settings_path(
            registry, name, basefolder, groups
        )
        if os.path.exists(cfgfile):
            raise common.settings_exists_error(cfgfile)
        vm_uuid = vm_uuid or str(uuidlib.uuid4())
        existing = registry.find_vm(vm_uuid)
        vm = model.new_vm(
            name, vm_uuid, resolved_ostype, cfgfile, groups, statelib.now_ns(),
            defaults=None if ostype else "",
        )
        if default:
            _apply_defaults(vm)
        settings_file.write(vm, registry.data)
        if register and existing:
            # the new settings file stays on disk, unregistered
            raise errors.com_error(
                "Registered machine with UUID {%s} ('%s') already exists"
                % (vm_uuid, existing["cfgfile"]),
                "NS_ERROR_INVALID_ARG",
                "VirtualBoxWrap",
                "IVirtualBox",
                ("RegisterMachine(machine)", 450, "VBoxManageMisc.cpp"),
            )
        if register:
            registry.add_vm(vm)
    ctx.out(
        "Virtual machine '%s' is created%s.\nUUID: %s\nSettings file: '%s'\n"
        % (name, " and registered" if register else "", vm_uuid, cfgfile)
    )
    return 0


def registervm(ctx, argv):
    args = Args(argv)
    path = None
    while args:
        opt = args.next()
        if opt == "--password":
            args.value(opt)
        elif path is None:
            path = opt
        else:
            raise errors.syntax_error("Invalid parameter '%s'" % opt)
    if path is None:
        raise errors.syntax_error("Incorrect number of parameters")
    full = os.path.abspath(path)
    if not os.path.isfile(full):
        raise errors.com_error(
            "Could not find file '%s' (VERR_FILE_NOT_FOUND)" % full,
            "VBOX_E_FILE_ERROR",
            "MachineWrap",
            "IMachine",
            (
                (
                    "OpenMachine(Bstr(a->argv[0]).raw(),"
                    " Bstr(strPassword).raw(), machine.asOutParam())"
                ),
                168,
                "VBoxManageMisc.cpp",
            ),
        )
    with ctx.store.transaction() as registry:
        vm = settings_file.read(
            full,
            lambda n, u, o, c: model.new_vm(
                n, u, o, c, now_ns=statelib.now_ns()
            ),
        )
        if registry.find_vm(vm["uuid"]):
            raise errors.com_error(
                "Trying to open a VM config '%s' which has the same UUID as an"
                " existing virtual machine" % full,
                "VBOX_E_OBJECT_IN_USE",
                "VirtualBoxWrap",
                "IVirtualBox",
                (
                    (
                        "OpenMachine(Bstr(a->argv[0]).raw(),"
                        " Bstr(strPassword).raw(), machine.asOutParam())"
                    ),
                    168,
                    "VBoxManageMisc.cpp",
                ),
            )
        vm.update(
            state="poweroff",
            session=None,
            acpi_deadline_ns=None,
            crash_deadline_ns=None,
        )
        registry.add_vm(vm)
        for record in settings_file.read_media_registry(full):
            if registry.medium_by_uuid(record["uuid"]) is None:
                medium = medialib.make_record(
                    record["location"],
                    record["format"],
                    0,
                    medium_uuid=record["uuid"],
                    parent=record["parent"],
                )
                medium["registry"] = vm["uuid"]
                if os.path.exists(record["location"]):
                    probed = medialib.probe(record["location"])
                    medium.update(format=probed[0], capacity=probed[1])
                registry.media.append(medium)
    return 0


def _delete_vm_files(vm):
    folder = model.machine_dir(vm)
    for path in (
        vm["cfgfile"],
        vm["cfgfile"] + "-prev",
        vm["cfgfile"][:-len(".vbox")] + ".nvram",
        vm.get("state_file") or "",
    ):
        if path and os.path.exists(path):
            os.unlink(path)
    import shutil  # here, as in the other command modules: import cost

    shutil.rmtree(os.path.join(folder, "Logs"), ignore_errors=True)
    for leftover in (
        os.path.join(folder, "Snapshots"),
        folder,
    ):  # only when nothing else is left
        try:
            os.rmdir(leftover)
        except OSError:
            pass


def _media_to_delete(registry, vm, with_removable):
    """Media the VM attaches (current state and snapshots) that no other VM
    uses, deepest first."""
    found = []
    for _snap, _ctl, att in model.all_attachments(vm):
        medium = (
            registry.medium_by_uuid(att.get("medium"))
            if att.get("medium")
            else None
        )
        if (
            medium
            and medium not in found
            and (medium["device"] == "hdd" or with_removable)
        ):
            found.append(medium)
    others = [v for v in registry.vms if v["uuid"] != vm["uuid"]]

    def used_by_others(medium):
        return any(
            att.get("medium") == medium["uuid"]
            for other in others
            for _s, _c, att in model.all_attachments(other)
        )

    def depth(medium):
        return len(medialib.chain(registry, medium))

    doomed = [m for m in found if not used_by_others(m)]
    doomed += _orphaned_ancestors(registry, doomed)
    return sorted(doomed, key=depth, reverse=True)


def _orphaned_ancestors(registry, doomed):
    """Parents VirtualBox 7.2 deletes with their last child.

    Observed on the real 7.2.22 (tools/real-vbox/FINDINGS.md): when an
    attached differencing disk is its parent's only child, `unregistervm
    --delete` deletes the parent too, and so on up the chain, whichever
    media registry the parent was in (a base made by `createmedium` and
    never attached, or one attached to another VM before).  A parent stays
    when it has another child (even one attached to the same VM or not
    attached at all, like the image cache's pin), when it is not of type
    normal (immutable, multiattach, ...) or when a VM still attaches it.
    Plain `unregistervm` forgets the same parents.
    """
    extra = []
    for medium in doomed:
        parent = registry.medium_by_uuid(medium.get("parent") or "")
        child = medium
        while parent is not None and parent not in doomed + extra:
            if (
                parent.get("type", "normal") != "normal"
                or registry.children_of(parent) != [child]
                or medialib.users(registry, parent)
            ):
                break
            extra.append(parent)
            child = parent
            parent = registry.medium_by_uuid(parent.get("parent") or "")
    return extra


def _machine_delete_failed(messages, code, progress):
    """IMachine::deleteConfig failed half-way (the VM stays unregistered)."""
    return errors.com_error(
        ["Machine delete failed"] + messages,
        code,
        "MediumWrap",
        "IMedium",
        (
            "RTEXITCODE handleUnregisterVM(HandlerArg*)",
            243,
            "VBoxManageMisc.cpp",
        ),
        callee=False,
        progress_prefix="%s%s\n" % (progress, code),
    )


def _delete_machine_media(registry, vm, doomed):
    """Delete the VM's disks, deepest first, failing like VirtualBox 7.2."""
    by_depth = sorted(doomed, key=lambda m: len(medialib.chain(registry, m)))
    for medium in by_depth:
        location = medium["location"]
        if medium["format"] != "iSCSI" and not os.path.exists(location):
            # Nothing was deleted: the media stay registered.
            for owned in registry.media:
                if owned.get("registry") == vm["uuid"]:
                    owned["registry"] = None
            raise _machine_delete_failed(
                [
                    "Could not open the medium '%s'." % location,
                    "VD: error VERR_FILE_NOT_FOUND opening image file '%s'"
                    " (VERR_FILE_NOT_FOUND)" % location,
                ],
                "NS_ERROR_FAILURE",
                "0%...",
            )
    for medium in doomed:
        children = registry.children_of(medium)
        if children:
            # The real progress stops at 20% here.
            medialib.forget_orphans(registry)
            raise _machine_delete_failed(
                [
                    "Cannot close medium '%s' because it has %d child media"
                    % (medium["location"], len(children))
                ],
                "VBOX_E_OBJECT_IN_USE",
                "0%...10%...20%...",
            )
        medialib.delete_storage(medium)
        registry.remove_medium(medium)


def unregistervm(ctx, argv):
    args = Args(argv)
    name = None
    delete = delete_all = False
    while args:
        opt = args.next()
        if opt == "--delete":
            delete = True
        elif opt == "--delete-all":
            delete = delete_all = True
        elif name is None:
            name = opt
        else:
            raise errors.syntax_error("Invalid parameter '%s'" % opt)
    if name is None:
        raise errors.syntax_error("VM name required")
    with ctx.store.transaction(save_on_error=True) as registry:
        vm = common.find_vm(registry, name, "unregistervm")
        if vm["state"] in common.RUNNING_STATES:
            raise errors.com_error(
                "Cannot unregister the machine '%s' while it is locked"
                % vm["name"],
                "VBOX_E_INVALID_OBJECT_STATE",
                "MachineWrap",
                "IMachine",
                (
                    (
                        "Unregister(fDeleteAll ?"
                        " CleanupMode_DetachAllReturnHardDisksAndVMRemovable"
                        " :CleanupMode_DetachAllReturnHardDisksOnly,"
                        " ComSafeArrayAsOutParam(aMedia))"
                    ),
                    232,
                    "VBoxManageMisc.cpp",
                ),
            )
        if delete:
            doomed = _media_to_delete(registry, vm, delete_all)
        else:
            # The parents that --delete would delete leave the registry.
            # (ancestors of the attached disks: not attached themselves).
            for medium in _media_to_delete(registry, vm, False):
                if medium.get("registry") is None and not medialib.users(
                    registry, medium
                ):
                    medium["registry"] = vm["uuid"]
        registry.remove_vm(vm)
        if not delete:
            medialib.forget_orphans(registry)
            return 0
        _delete_machine_media(registry, vm, doomed)
        _delete_vm_files(vm)
        medialib.forget_orphans(registry)
    ctx.progress()
    return 0


def showvminfo(ctx, argv):
    args = Args(argv)
    name = None
    machine_readable = False
    while args:
        opt = args.next()
        if opt == "--machinereadable":
            machine_readable = True
        elif opt in ("--details",):
            pass
        elif opt in ("--log", "--password-id", "--password"):
            args.value(opt)
        elif name is None:
            name = opt
        else:
            raise errors.syntax_error("Invalid parameter '%s'" % opt)
    if name is None:
        raise errors.VBoxError("", stdout=usage_text("showvminfo"))
    with ctx.store.transaction() as registry:
        vm = common.find_vm(registry, name, "showvminfo")
        if machine_readable:
            ctx.out(render.showvminfo_machinereadable(vm, registry))
        else:
            ctx.out(render.showvminfo_human(vm, registry))
    return 0


def _clone_disks(registry, source_machine, clone, link):
    """Give the clone its own disks: diffs on the source media (linked) or full
    copies."""
    folder = model.machine_dir(clone)
    disk_index = 0
    for ctl in clone["storage"]:
        for att in ctl["attachments"]:
            medium = (
                registry.medium_by_uuid(att.get("medium"))
                if att.get("medium")
                else None
            )
            if medium is None or medium["device"] != "hdd":
                continue
            if link:
                os.makedirs(model.snapshot_folder(clone), exist_ok=True)
                diff_uuid = str(uuidlib.uuid4())
                path = os.path.join(
                    model.snapshot_folder(clone), "{%s}.vdi" % diff_uuid
                )
                diff = medialib.create_diff(
                    registry, medium, path, "VDI", diff_uuid
                )
                att["medium"] = diff["uuid"]
                continue
            os.makedirs(folder, exist_ok=True)
            suffix = "" if disk_index == 0 else "-disk%d" % disk_index
            disk_index += 1
            path = os.path.join(folder, "%s%s.vdi" % (clone["name"], suffix))
            new_uuid = str(uuidlib.uuid4())
            medialib.copy_contents(registry, medium, path, "VDI", new_uuid)
            record = medialib.make_record(
                path, "VDI", medium["capacity"], medium_uuid=new_uuid
            )
            record.update(registry=clone["uuid"], ever_attached=True)
            registry.media.append(record)
            att["medium"] = new_uuid


def clonevm(ctx, argv):
    args = Args(argv)
    source = name = snapshot_name = basefolder = clone_uuid = None
    options = []
    groups = None
    register = False
    while args:
        opt = args.next()
        if opt == "--name":
            name = args.value(opt)
        elif opt == "--snapshot":
            snapshot_name = args.value(opt)
        elif opt == "--options":
            options += [o.strip().lower() for o in args.value(opt).split(",")]
        elif opt == "--mode":
            args.value(opt)
        elif opt == "--basefolder":
            basefolder = args.value(opt)
        elif opt == "--uuid":
            clone_uuid = args.value(opt).strip("{}").lower()
        elif opt == "--groups":
            groups = common.parse_groups(args.value(opt))
        elif opt == "--register":
            register = True
        elif source is None:
            source = opt
        else:
            raise errors.syntax_error("Invalid parameter '%s'" % opt)
    if source is None:
        raise errors.syntax_error("Missing source VM name")
    link = "link" in options
    with ctx.store.transaction() as registry:
        vm = common.find_vm(registry, source, "clonevm")
        name = name or "%s Clone" % vm["name"]
        machine = vm
        if snapshot_name:
            snap = model.find_snapshot(vm, snapshot_name)
            if snap is None:
                raise errors.com_error(
                    "Could not find a snapshot named '%s'" % snapshot_name,
                    "VBOX_E_OBJECT_NOT_FOUND",
                    "MachineWrap",
                    "IMachine",
                    (
                        (
                            "FindSnapshot(Bstr(pszSnapshotName).raw(),"
                            " srcSnapshot.asOutParam())"
                        ),
                        716,
                        "VBoxManageMisc.cpp",
                    ),
                )
            machine = snap["machine"]
        elif link:
            raise errors.com_error(
                "Linked clone can only be created from a snapshot",
                "E_INVALIDARG",
                "MachineWrap",
                "IMachine",
                (
                    (
                        "CloneTo(trgMachine, mode,"
                        " ComSafeArrayAsInParam(options),"
                        " progress.asOutParam())"
                    ),
                    680,
                    "VBoxManageMisc.cpp",
                ),
            )
        cfgfile = common.compose_settings_path(
            registry, name, basefolder, groups or vm["groups"]
        )
        if os.path.exists(cfgfile):
            raise common.settings_exists_error(cfgfile)
        clone = copy.deepcopy(model.hardware_copy(machine))
        clone.update(
            uuid=clone_uuid or str(uuidlib.uuid4()),
            name=name,
            cfgfile=cfgfile,
            groups=groups or vm["groups"],
            **model.fresh_runtime(statelib.now_ns()),
            extradata=copy.deepcopy(vm["extradata"]),
        )
        if "keephwuuids" not in options:
            clone["hardwareuuid"] = clone["uuid"]
        if "keepallmacs" not in options:
            for nic in clone["nics"]:
                if "keepnatmacs" not in options or nic["attachment"] != "nat":
                    nic["mac"] = model.random_mac()
        _clone_disks(registry, machine, clone, link)
        settings_file.write(clone, registry.data)
        if register:
            registry.add_vm(clone)
    ctx.progress()
    ctx.out('Machine has been successfully cloned as "%s"\n' % name)
    return 0
