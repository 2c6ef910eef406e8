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

"""snapshot VM take|list|delete|restore|restorecurrent|showvminfo|edit."""

import copy
import os
import uuid as uuidlib

from vboxsim.args import Args
from vboxsim.commands import common
from vboxsim import errors
from vboxsim import media as medialib
from vboxsim import model
from vboxsim import render
from vboxsim import state as statelib
from vboxsim import vdi
from vboxsim import vmlog

SNAP_FILE = "VBoxManageSnapshot.cpp"
NO_SNAPSHOTS = "This machine does not have any snapshots\n"


def _snapshot_not_found(vm, name, line=537):
    # Machine::findSnapshotByName says so first when there is none at all.
    return errors.com_error(
        "Could not find a snapshot named '%s'" % name
        if vm.get("snapshot_root")
        else NO_SNAPSHOTS.rstrip("\n"),
        "VBOX_E_OBJECT_NOT_FOUND",
        "SessionMachine",
        "IMachine",
        (
            "FindSnapshot(Bstr(a->argv[2]).raw(), pSnapshot.asOutParam())",
            line,
            SNAP_FILE,
        ),
    )


def _fork_disks(registry, vm, machine):
    """Attach a fresh differencing image on top of each normal hard disk of
    ``machine``."""
    folder = model.snapshot_folder(vm)
    for ctl in machine["storage"]:
        for att in ctl["attachments"]:
            medium = (
                registry.medium_by_uuid(att.get("medium"))
                if att.get("medium")
                else None
            )
            if (
                medium is None
                or medium["device"] != "hdd"
                or medium["type"] not in ("normal",)
                or medium["format"] == "iSCSI"
            ):
                continue
            os.makedirs(folder, exist_ok=True)
            diff_uuid = str(uuidlib.uuid4())
            diff = medialib.create_diff(
                registry,
                medium,
                os.path.join(folder, "{%s}.vdi" % diff_uuid),
                "VDI",
                diff_uuid,
            )
            diff["registry"] = medium.get("registry") or vm["uuid"]
            att["medium"] = diff["uuid"]


def _referenced(registry, medium_uuid):
    return any(
        att.get("medium") == medium_uuid
        for vm in registry.vms
        for _s, _c, att in model.all_attachments(vm)
    )


def _drop_unreferenced_diffs(registry, candidates):
    for medium_uuid in candidates:
        medium = registry.medium_by_uuid(medium_uuid)
        if (
            medium
            and medium.get("parent")
            and not _referenced(registry, medium_uuid)
            and not registry.children_of(medium)
        ):
            medialib.delete_storage(medium)
            registry.remove_medium(medium)


def _current_disks(vm):
    return [
        att["medium"]
        for ctl in vm["storage"]
        for att in ctl["attachments"]
        if att.get("medium")
    ]


def _unique_name(vm, name):
    """--uniquename Number: append the first free number (s1 -> s12)."""
    taken = {
        snap["name"] for snap in model.iter_snapshots(vm.get("snapshot_root"))
    }
    if name not in taken:
        return name
    number = 2
    while "%s%d" % (name, number) in taken:
        number += 1
    return "%s%d" % (name, number)


def take(ctx, registry, vm, args):
    name = args.value("take") if args else None
    if not name:
        raise errors.syntax_error("Missing snapshot name")
    description = ""
    live = False
    while args:
        opt = args.next()
        if opt in ("--description", "-d"):
            description = args.value(opt)
        elif opt == "--uniquename":
            args.value(opt)
            name = _unique_name(vm, name)
        elif opt == "--live":
            live = True
        elif opt == "--pause":
            pass
        else:
            raise errors.syntax_error("Invalid parameter '%s'" % opt)
    if live and vm["state"] not in common.RUNNING_STATES:
        raise errors.com_error(
            "Cannot take a live snapshot of a virtual machine unless it is"
            " running.",
            "VBOX_E_INVALID_VM_STATE",
            "SessionMachine",
            "IMachine",
            (
                "TakeSnapshot(name.raw(), desc.raw(), fPause,"
                " snapId.asOutParam(), progress.asOutParam())",
                487,
                SNAP_FILE,
            ),
        )
    snap = {
        "uuid": str(uuidlib.uuid4()),
        "name": name,
        "description": description,
        "timestamp_ns": statelib.now_ns(),
        "online": vm["state"] in common.RUNNING_STATES,
        "machine": model.hardware_copy(vm),
        "children": [],
    }
    parent = (
        model.find_snapshot(vm, vm["current_snapshot"])
        if vm.get("current_snapshot")
        else None
    )
    if parent:
        parent["children"].append(snap)
    elif vm.get("snapshot_root"):
        vm["snapshot_root"]["children"].append(snap)
    else:
        vm["snapshot_root"] = snap
    vm["current_snapshot"] = snap["uuid"]
    _fork_disks(registry, vm, vm)
    ctx.progress()
    ctx.out("Snapshot taken. UUID: %s\n" % snap["uuid"])


def restore(ctx, registry, vm, snap):
    if vm["state"] in common.RUNNING_STATES:
        raise errors.com_error(
            "Cannot delete the current state of the running machine (machine"
            " state: %s)"
            % vmlog.CONSOLE_NAMES[vm["state"]],
            "VBOX_E_INVALID_VM_STATE",
            "SessionMachine",
            "IMachine",
            (
                "RestoreSnapshot(pSnapshot, pProgress.asOutParam())",
                600,
                SNAP_FILE,
            ),
        )
    ctx.out("Restoring snapshot '%s' (%s)\n" % (snap["name"], snap["uuid"]))
    old_disks = _current_disks(vm)
    keep = {
        k: vm[k]
        for k in (
            "uuid",
            "name",
            "cfgfile",
            "snapshot_root",
            "extradata",
            "groups",
        )
    }
    vm.update(copy.deepcopy(snap["machine"]))
    vm.update(keep)
    vm["current_snapshot"] = snap["uuid"]
    _fork_disks(registry, vm, vm)
    statelib.set_vm_state(vm, "saved" if snap.get("online") else "poweroff")
    vm.update(session=None, acpi_deadline_ns=None, crash_deadline_ns=None)
    _drop_unreferenced_diffs(registry, old_disks)
    ctx.progress()


def _merge_away(registry, medium_uuid):
    """Delete a snapshot's disk state: merge its single child into it, or drop
    it if unused."""
    medium = registry.medium_by_uuid(medium_uuid)
    if medium is None or _referenced(registry, medium_uuid):
        return
    children = registry.children_of(medium)
    if not children:
        if medium.get("parent"):
            medialib.delete_storage(medium)
            registry.remove_medium(medium)
        return
    if len(children) > 1:
        return
    child = children[0]
    if vdi.is_vdi(child["location"]) and vdi.is_vdi(medium["location"]):
        vdi.merge_into_parent(child["location"], medium["location"])
    for vm in registry.vms:
        for _s, _c, att in model.all_attachments(vm):
            if att.get("medium") == child["uuid"]:
                att["medium"] = medium["uuid"]
                # Now attached, it is the VM's as any attached disk is
                # (real 7.2.22: a plain unregistervm forgets it).
                if medium.get("registry") is None:
                    medium["registry"] = vm["uuid"]
    for grandchild in registry.children_of(child):
        grandchild["parent"] = medium["uuid"]
    medialib.delete_storage(child)
    registry.remove_medium(child)


def delete(ctx, registry, vm, snap):
    ctx.out("Deleting snapshot '%s' (%s)\n" % (snap["name"], snap["uuid"]))
    parent = model.snapshot_parent(vm, snap)
    if parent:
        index = parent["children"].index(snap)
        parent["children"][index:index + 1] = snap["children"]
    elif len(snap["children"]) > 1:
        raise errors.com_error(
            "Snapshot '%s' of the machine '%s' has more than one child"
            " snapshot (%d)"
            % (snap["name"], vm["name"], len(snap["children"])),
            "VBOX_E_INVALID_OBJECT_STATE",
            "SessionMachine",
            "IMachine",
            (
                "DeleteSnapshot(bstrSnapGuid.raw(), pProgress.asOutParam())",
                577,
                SNAP_FILE,
            ),
        )
    else:
        vm["snapshot_root"] = snap["children"][0] if snap["children"] else None
    if vm.get("current_snapshot") == snap["uuid"]:
        vm["current_snapshot"] = parent["uuid"] if parent else None
    _drop_unreferenced_diffs(registry, [])
    for medium_uuid in _current_disks(snap["machine"]):
        _merge_away(registry, medium_uuid)
    ctx.progress()


def list_snapshots(ctx, vm, args):
    options = args.rest()
    if not vm.get("snapshot_root"):
        raise errors.VBoxError("", exit_code=1, stdout=NO_SNAPSHOTS)
    if "--machinereadable" in options:
        ctx.out("".join(render.snapshot_tree_mr(vm)))
    else:
        ctx.out("".join(render.snapshot_tree_human(vm)))


def edit(vm, args):
    target = args.value("edit") if args else None
    snap = (
        model.find_snapshot(vm, vm.get("current_snapshot") or "")
        if target == "--current"
        else model.find_snapshot(vm, target or "")
    )
    if snap is None:
        raise _snapshot_not_found(vm, target or "")
    while args:
        opt = args.next()
        if opt in ("--name", "-n"):
            snap["name"] = args.value(opt)
        elif opt in ("--description", "-d"):
            snap["description"] = args.value(opt)
        else:
            raise errors.syntax_error("Invalid parameter '%s'" % opt)


def snapshot(ctx, argv):
    if len(argv) < 2:
        raise errors.syntax_error("Not enough parameters")
    args = Args(argv[2:])
    action = argv[1]
    with ctx.store.transaction() as registry:
        vm = common.find_vm(registry, argv[0], "snapshot")
        if action == "take":
            take(ctx, registry, vm, args)
        elif action == "list":
            list_snapshots(ctx, vm, args)
        elif action == "edit":
            edit(vm, args)
        elif action in ("delete", "restore", "showvminfo"):
            name = args.value(action) if args else None
            if name is None:
                raise errors.syntax_error("Missing snapshot name")
            snap = model.find_snapshot(vm, name)
            if snap is None:
                raise _snapshot_not_found(vm, name)
            if action == "delete":
                delete(ctx, registry, vm, snap)
            elif action == "restore":
                restore(ctx, registry, vm, snap)
            else:
                ctx.out(
                    render.showvminfo_human(vm, registry, snapshot_view=snap)
                )
        elif action == "restorecurrent":
            snap = model.find_snapshot(vm, vm.get("current_snapshot") or "")
            if snap is None:
                raise errors.VBoxError("", exit_code=1, stdout=NO_SNAPSHOTS)
            restore(ctx, registry, vm, snap)
        else:
            raise errors.syntax_error("Invalid parameter '%s'" % action)
    return 0
