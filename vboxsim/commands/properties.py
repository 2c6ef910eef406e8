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

"""setextradata, getextradata, guestproperty, setproperty, bandwidthctl."""

import fnmatch
import os

from vboxsim.args import Args
from vboxsim.commands import common
from vboxsim import errors
from vboxsim import render
from vboxsim import state as statelib

GUESTPROP_FILE = "VBoxManageGuestProp.cpp"


def _extradata_owner(registry, name, command):
    if name == "global":
        return registry.data["system"].setdefault("extradata", {})
    return common.find_vm(registry, name, command)["extradata"]


def setextradata(ctx, argv):
    if len(argv) not in (2, 3):
        raise errors.syntax_error("Incorrect number of parameters")
    with ctx.store.transaction() as registry:
        extradata = _extradata_owner(registry, argv[0], "setextradata")
        if len(argv) == 3 and argv[2] != "":
            extradata[argv[1]] = argv[2]
        else:
            extradata.pop(argv[1], None)
    return 0


def getextradata(ctx, argv):
    if len(argv) != 2:
        raise errors.syntax_error("Incorrect number of parameters")
    with ctx.store.transaction() as registry:
        extradata = _extradata_owner(registry, argv[0], "getextradata")
        if argv[1] == "enumerate":
            ctx.out(
                "".join(
                    "Key: %s, Value: %s\n" % item
                    for item in sorted(extradata.items())
                )
            )
        elif argv[1] in extradata:
            ctx.out("Value: %s\n" % extradata[argv[1]])
        else:
            ctx.out("No value set!\n")
    return 0


def _guestprop_get(ctx, vm, args):
    name = args.value("get")
    verbose = "--verbose" in args.rest()
    prop = vm["guestprops"].get(name)
    if prop is None:
        ctx.out("No value set!\n")
        return
    ctx.out("Value: %s\n" % prop["value"])
    if verbose:
        ctx.out(
            "Timestamp: %d\nFlags: %s\n"
            % (prop["timestamp_ns"], prop["flags"])
        )


def _guestprop_set(ctx, vm, args):
    name = args.value("set")
    value = None
    flags = ""
    while args:
        opt = args.next()
        if opt == "--flags":
            flags = args.value(opt)
        elif value is None:
            value = opt
        else:
            raise errors.syntax_error("Invalid parameter '%s'" % opt)
    if value is None:
        vm["guestprops"].pop(name, None)
    else:
        vm["guestprops"][name] = {
            "value": value,
            "timestamp_ns": statelib.now_ns(),
            "flags": ", ".join(
                f.strip().upper() for f in flags.split(",") if f.strip()
            ),
        }


def _guestprop_enumerate(ctx, vm, args):
    patterns = []
    old_format = False
    while args:
        opt = args.next()
        if opt == "--old-format":
            old_format = True
        elif opt in ("--relative", "--no-timestamp", "--no-flags"):
            continue
        elif opt == "--patterns":
            patterns += args.value(opt).split("|")
        else:
            patterns += opt.split("|")
    props = sorted(
        (name, prop)
        for name, prop in vm["guestprops"].items()
        if not patterns or any(fnmatch.fnmatchcase(name, p) for p in patterns)
    )
    if not props:
        ctx.out("No properties found.\n")
        return
    if old_format:
        for name, prop in props:
            ctx.out(
                "Name: %s, value: %s, timestamp: %d, flags: %s\n"
                % (name, prop["value"], prop["timestamp_ns"], prop["flags"])
            )
        return
    name_width = max(len(name) for name, _ in props)
    value_width = max(len(prop["value"]) + 2 for _, prop in props)
    for name, prop in props:
        line = "%-*s = %-*s @ %s" % (
            name_width,
            name,
            value_width,
            "'%s'" % prop["value"],
            statelib.format_prop_time(prop["timestamp_ns"]),
        )
        ctx.out(line + (" " + prop["flags"] if prop["flags"] else "") + "\n")


def guestproperty(ctx, argv):
    if len(argv) < 2:
        raise errors.syntax_error("Incorrect parameters")
    action, vm_name = argv[0], argv[1]
    args = Args(argv[2:])
    with ctx.store.transaction() as registry:
        vm = common.find_vm(registry, vm_name, "guestproperty")
        if action == "get":
            _guestprop_get(ctx, vm, args)
        elif action == "set":
            _guestprop_set(ctx, vm, args)
        elif action in ("delete", "unset"):
            vm["guestprops"].pop(args.value(action), None)
        elif action == "enumerate":
            _guestprop_enumerate(ctx, vm, args)
        elif action == "wait":
            pattern = args.value(action)
            if not any(
                fnmatch.fnmatchcase(n, pattern) for n in vm["guestprops"]
            ):
                ctx.out(
                    "Time out or interruption while waiting for a"
                    " notification.\n"
                )
                return 1
        else:
            raise errors.syntax_error("Invalid parameter '%s'" % action)
    return 0


def setproperty(ctx, argv):
    if len(argv) != 2:
        raise errors.syntax_error("Incorrect number of parameters")
    key, value = argv
    with ctx.store.transaction() as registry:
        system = registry.data["system"]
        if key == "machinefolder":
            system["machinefolder"] = (
                None if value == "default" else os.path.abspath(value)
            )
        else:
            system.setdefault("other", {})[key] = value
    return 0


# ---------------------------------------------------------------- bandwidth
# groups
BW_FILE = "VBoxManageBandwidthControl.cpp"
DISK_UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3}
NETWORK_UNITS = {"k": 1000, "m": 1000**2, "g": 1000**3}  # bits per second


def parse_limit(text, group_type):
    """--limit N[k|m|g]: bytes/s (binary units) for disk, bits/s (decimal) for
    network; default m."""
    text = text.strip()
    units = DISK_UNITS if group_type == "disk" else NETWORK_UNITS
    factor = units["m"]
    if text and text[-1].lower() in units:
        factor = units[text[-1].lower()]
        text = text[:-1]
    value = int(text) * factor
    return value if group_type == "disk" else value // 8


# Where each action looks the group up (call text, line) in 7.2.22.
_GROUP_CONTEXT = {
    "set": ("GetBandwidthGroup(name.raw(), bwGroup.asOutParam())", 252),
    "remove": ("DeleteBandwidthGroup(name.raw())", 273),
}


def _find_group(vm, name, action="set"):
    for group in vm["bandwidth_groups"]:
        if group["name"] == name:
            return group
    call, line = _GROUP_CONTEXT[action]
    raise errors.com_error(
        "Could not find a bandwidth group named '%s'" % name,
        "VBOX_E_OBJECT_NOT_FOUND",
        "BandwidthControlWrap",
        "IBandwidthControl",
        (call, line, BW_FILE),
    )


def _group_in_use(vm, name):
    return any(
        att.get("bwgroup") == name
        for ctl in vm["storage"]
        for att in ctl["attachments"]
    ) or any(nic.get("bwgroup") == name for nic in vm["nics"])


def _list_groups(ctx, vm, args):
    if "--machinereadable" in args.rest():
        ctx.out(render.machine_readable_groups(vm))
    elif not vm["bandwidth_groups"]:
        ctx.out("<none>\n")
    else:
        ctx.out(
            "\n"
            + "".join(
                "#%d: Name: '%s', Type: %s, Limit: %s\n"
                % (
                    index,
                    group["name"],
                    group["type"].capitalize(),
                    render.limit_text(group),
                )
                for index, group in enumerate(vm["bandwidth_groups"])
            )
        )


def bandwidthctl(ctx, argv):
    if len(argv) < 2:
        raise errors.syntax_error("Too few parameters")
    action = argv[1]
    args = Args(argv[2:])
    with ctx.store.transaction() as registry:
        vm = common.find_vm(registry, argv[0], "bandwidthctl")
        if action == "list":
            _list_groups(ctx, vm, args)
            return 0
        name = args.value(action)
        group_type = limit = None
        while args:
            opt = args.next()
            if opt == "--type":
                group_type = args.value(opt).lower()
            elif opt == "--limit":
                limit = args.value(opt)
            else:
                raise errors.syntax_error("Invalid parameter '%s'" % opt)
        if action == "add":
            if group_type not in ("disk", "network") or limit is None:
                raise errors.syntax_error(
                    "Invalid type or limit for bandwidth group '%s'" % name
                )
            if any(group["name"] == name for group in vm["bandwidth_groups"]):
                raise errors.com_error(
                    "Bandwidth group named '%s' already exists" % name,
                    "VBOX_E_OBJECT_IN_USE",
                    "BandwidthControlWrap",
                    "IBandwidthControl",
                    (
                        (
                            "CreateBandwidthGroup(name.raw(), enmType,"
                            " (PRInt64)cMaxBytesPerSec)"
                        ),
                        188,
                        BW_FILE,
                    ),
                )
            vm["bandwidth_groups"].append({
                "name": name,
                "type": group_type,
                "limit": parse_limit(limit, group_type),
            })
        elif action == "set":
            group = _find_group(vm, name)
            if limit is not None:
                group["limit"] = parse_limit(limit, group["type"])
        elif action == "remove":
            group = _find_group(vm, name, action)
            if _group_in_use(vm, name):
                raise errors.com_error(
                    "The bandwidth group '%s' is still in use" % name,
                    "VBOX_E_OBJECT_IN_USE",
                    "BandwidthControlWrap",
                    "IBandwidthControl",
                    ("DeleteBandwidthGroup(name.raw())", 273, BW_FILE),
                )
            vm["bandwidth_groups"].remove(group)
        else:
            raise errors.syntax_error("Invalid parameter '%s'" % action)
    return 0
