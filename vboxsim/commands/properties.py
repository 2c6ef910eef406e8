"""setextradata, getextradata, guestproperty, setproperty, bandwidthctl."""

import fnmatch
import os

from vboxsim import errors
from vboxsim import state as statelib
from vboxsim.args import Args
from vboxsim.commands import common

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
            ctx.out("".join("Key: %s, Value: %s\n" % item for item in sorted(extradata.items())))
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
        ctx.out("Timestamp: %d\nFlags: %s\n" % (prop["timestamp_ns"], prop["flags"]))


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
        vm["guestprops"][name] = {"value": value, "timestamp_ns": statelib.now_ns(),
                                  "flags": ", ".join(f.strip().upper() for f in flags.split(",") if f.strip())}


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
    props = sorted((name, prop) for name, prop in vm["guestprops"].items()
                   if not patterns or any(fnmatch.fnmatchcase(name, p) for p in patterns))
    if not props:
        ctx.out("No properties found.\n")
        return
    if old_format:
        for name, prop in props:
            ctx.out("Name: %s, value: %s, timestamp: %d, flags: %s\n" % (name, prop["value"], prop["timestamp_ns"],
                                                                          prop["flags"]))
        return
    name_width = max(len(name) for name, _ in props)
    value_width = max(len(prop["value"]) + 2 for _, prop in props)
    for name, prop in props:
        line = "%-*s = %-*s @ %s" % (name_width, name, value_width, "'%s'" % prop["value"],
                                     statelib.format_prop_time(prop["timestamp_ns"]))
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
            if not any(fnmatch.fnmatchcase(n, pattern) for n in vm["guestprops"]):
                ctx.out("Time out or interruption while waiting for a notification.\n")
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
            system["machinefolder"] = None if value == "default" else os.path.abspath(value)
        else:
            system.setdefault("other", {})[key] = value
    return 0


# ---------------------------------------------------------------- bandwidth groups
UNITS = {"k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}


def _parse_limit(text):
    text = text.strip()
    if text and text[-1].lower() in UNITS:
        return int(text[:-1]) * UNITS[text[-1].lower()], text
    return int(text) * UNITS["m"], text + "M"


def _find_group(vm, name):
    for group in vm["bandwidth_groups"]:
        if group["name"] == name:
            return group
    raise errors.com_error("Could not find a bandwidth group named '%s'" % name, "VBOX_E_OBJECT_NOT_FOUND",
                           "BandwidthControlWrap", "IBandwidthControl",
                           ("GetBandwidthGroup(Bstr(name).raw(), bwGroup.asOutParam())", 190,
                            "VBoxManageBandwidthControl.cpp"))


def bandwidthctl(ctx, argv):
    if len(argv) < 2:
        raise errors.syntax_error("Too few parameters")
    action = argv[1]
    args = Args(argv[2:])
    with ctx.store.transaction() as registry:
        vm = common.find_vm(registry, argv[0], "bandwidthctl")
        if action == "list":
            machine_readable = "--machinereadable" in args.rest()
            for group in vm["bandwidth_groups"]:
                if machine_readable:
                    ctx.out('name="%s"\ntype="%s"\nlimit=%d\n\n' % (group["name"], group["type"], group["limit"]))
                else:
                    ctx.out("Name: '%s', Type: %s, Limit: %s\n" % (group["name"], group["type"].capitalize(),
                                                                   group["limit_text"]))
            return 0
        name = args.value(action)
        group_type = limit = None
        while args:
            opt = args.next()
            if opt == "--type":
                group_type = args.value(opt).lower()
            elif opt == "--limit":
                limit = _parse_limit(args.value(opt))
            else:
                raise errors.syntax_error("Invalid parameter '%s'" % opt)
        if action == "add":
            if group_type not in ("disk", "network") or limit is None:
                raise errors.syntax_error("Invalid type or limit for bandwidth group '%s'" % name)
            vm["bandwidth_groups"].append({"name": name, "type": group_type, "limit": limit[0],
                                           "limit_text": limit[1]})
        elif action == "set":
            group = _find_group(vm, name)
            if limit is not None:
                group.update(limit=limit[0], limit_text=limit[1])
        elif action == "remove":
            vm["bandwidth_groups"].remove(_find_group(vm, name))
        else:
            raise errors.syntax_error("Invalid parameter '%s'" % action)
    return 0
