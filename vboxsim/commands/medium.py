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

"""createmedium, clonemedium, modifymedium, closemedium, showmediuminfo."""

import os
import uuid as uuidlib

from vboxsim.args import Args, parse_size_mb
from vboxsim import errors
from vboxsim import media as medialib
from vboxsim import render
from vboxsim import vdi

MB = 1024 * 1024
DEVICE_WORDS = {"disk": "hdd", "dvd": "dvd", "floppy": "floppy"}
MEDIUM_TYPES = {
    "normal": "normal",
    "writethrough": "writethrough",
    "immutable": "immutable",
    "shareable": "shareable",
    "readonly": "readonly",
    "multiattach": "multiattach",
}


def _device_and_args(argv):
    """Optional leading `disk|dvd|floppy` word."""
    if argv and argv[0] in DEVICE_WORDS:
        return DEVICE_WORDS[argv[0]], Args(argv[1:])
    return "hdd", Args(argv)


def _create_failed(
    path,
    fmt,
    context_line,
    what="Failed to create medium",
    detail="Could not create the medium storage unit '%s'.",
):
    return errors.com_error(
        [
            what,
            detail % path,
            "%s: cannot create image '%s' (VERR_ALREADY_EXISTS)" % (fmt, path),
        ],
        "VBOX_E_FILE_ERROR",
        "MediumWrap",
        "IMedium",
        context_line,
        callee=False,
        progress_prefix="0%...VBOX_E_FILE_ERROR\n",
    )


def createmedium(ctx, argv):
    device, args = _device_and_args(argv)
    filename = fmt = diffparent = None
    size_bytes = None
    fixed = False
    while args:
        opt = args.next()
        if opt == "--filename":
            filename = args.value(opt)
        elif opt == "--size":
            size_bytes = parse_size_mb(args.value(opt)) * MB
        elif opt == "--sizebyte":
            size_bytes = int(args.value(opt))
        elif opt == "--format":
            fmt = args.value(opt)
        elif opt == "--diffparent":
            diffparent = args.value(opt)
        elif opt == "--variant":
            fixed = "fixed" in args.value(opt).lower()
        elif opt in ("-o", "--property", "--property-file"):
            args.value(opt)
        else:
            raise errors.syntax_error("Invalid parameter '%s'" % opt)
    if not filename:
        raise errors.syntax_error("Parameters --filename is required")
    if size_bytes is None and not diffparent:
        raise errors.syntax_error("Parameter --size is required")
    path = os.path.abspath(filename)
    context = (
        "RTEXITCODE handleCreateMedium(HandlerArg*)",
        630,
        "VBoxManageDisk.cpp",
    )
    with ctx.store.transaction() as registry:
        if diffparent:
            parent = medialib.open_medium(registry, diffparent, "hdd")
            fmt_name = fmt or parent["format"].lower()
            if os.path.exists(path):
                raise _create_failed(path, parent["format"].upper(), context)
            record = medialib.create_diff(registry, parent, path, fmt_name)
        else:
            fmt_name = medialib.format_for(path, fmt)
            if os.path.exists(path):
                raise _create_failed(path, fmt_name, context)
            record = medialib.make_record(
                path,
                fmt_name,
                size_bytes,
                device=device,
                variant="fixed" if fixed else "dynamic",
            )
            medialib.create_base(
                path, fmt_name, size_bytes, fixed, record["uuid"]
            )
            registry.media.append(record)
    ctx.progress()
    ctx.out("Medium created. UUID: %s\n" % record["uuid"])
    return 0


def clonemedium(ctx, argv):
    device, args = _device_and_args(argv)
    positional = []
    fmt = None
    fixed = False
    while args:
        opt = args.next()
        if opt == "--format":
            fmt = args.value(opt)
        elif opt == "--variant":
            fixed = "fixed" in args.value(opt).lower()
        elif opt == "--existing":
            pass
        else:
            positional.append(opt)
    if len(positional) != 2:
        raise errors.syntax_error("Incorrect number of parameters")
    source_name, target_name = positional
    target = os.path.abspath(target_name)
    with ctx.store.transaction() as registry:
        source = medialib.open_medium(registry, source_name, device)
        fmt_name = (
            medialib.format_for(target, fmt)
            if fmt
            else source["format"].upper()
        )
        if os.path.exists(target):
            raise _create_failed(
                target,
                fmt_name,
                (
                    "RTEXITCODE handleCloneMedium(HandlerArg*)",
                    1208,
                    "VBoxManageDisk.cpp",
                ),
                what="Failed to clone medium",
                detail="Could not create the clone medium '%s'.",
            )
        new_uuid = str(uuidlib.uuid4())
        medialib.copy_contents(
            registry, source, target, fmt_name, new_uuid, fixed=fixed
        )
        record = medialib.make_record(
            target,
            fmt_name,
            source["capacity"],
            device=device,
            medium_uuid=new_uuid,
            variant="fixed" if fixed else "dynamic",
        )
        registry.media.append(record)
    ctx.progress()
    ctx.out(
        "Clone medium created in format '%s'. UUID: %s\n"
        % (fmt_name, new_uuid)
    )
    return 0


def _multiattach_refused(location, context):
    return errors.com_error(
        "Cannot change type for medium '%s': the media type 'MultiAttach' can"
        " only be used on media registered with a machine that was created"
        " with VirtualBox 4.0 or later" % location,
        "VBOX_E_INVALID_OBJECT_STATE",
        "MediumWrap",
        "IMedium",
        context,
        trailer=(
            ("Failed to set the medium type",)
            if "StorageController" in context[2]
            else ()
        ),
    )


def set_medium_type(medium, new_type, context):
    """IMedium::COMSETTER(Type) with the 'never attached to a machine'
    restriction."""
    if new_type == "multiattach" and not medium.get("ever_attached"):
        raise _multiattach_refused(medium["location"], context)
    medium["type"] = new_type


def _megabytes(size):
    """A size as VBoxManage prints it there: MB with one truncated
    decimal."""
    return "%d.%d" % (size // MB, size % MB * 10 // MB)


def _resize(medium, new_bytes):
    if new_bytes < medium["capacity"]:
        raise errors.com_error(
            [
                "Failed to resize medium",
                "Shrinking is not yet supported for medium '%s'"
                % medium["location"],
            ],
            "VBOX_E_NOT_SUPPORTED",
            "MediumWrap",
            "IMedium",
            (
                "RTEXITCODE handleModifyMedium(HandlerArg*)",
                937,
                "VBoxManageDisk.cpp",
            ),
            callee=False,
            progress_prefix="0%...VBOX_E_NOT_SUPPORTED\n",
        )
    if vdi.is_vdi(medium["location"]):
        # In place, also for a differencing image (qemu-img refuses those).
        vdi.grow(medium["location"], new_bytes)
    elif medialib.qemu_img():
        medialib.run_qemu_img(
            "resize", "-q", medium["location"], str(new_bytes)
        )
    medium["capacity"] = new_bytes


def modifymedium(ctx, argv):
    device, args = _device_and_args(argv)
    name = None
    changes = []
    while args:
        opt = args.next()
        if opt == "--type":
            changes.append(("type", args.value(opt).lower()))
        elif opt == "--resize":
            changes.append(("resize_mb", parse_size_mb(args.value(opt)) * MB))
        elif opt == "--resizebyte":
            changes.append(("resize", int(args.value(opt))))
        elif opt == "--compact":
            changes.append(("compact", None))
        elif opt == "--autoreset":
            changes.append(("autoreset", args.value(opt).lower() == "on"))
        elif opt == "--description":
            changes.append(("description", args.value(opt)))
        elif opt == "--property":
            changes.append(("property", args.value(opt)))
        elif opt in ("--move", "--setlocation"):
            changes.append(("move", args.value(opt)))
        elif name is None:
            name = opt
        else:
            raise errors.syntax_error("Invalid parameter '%s'" % opt)
    if name is None:
        raise errors.syntax_error("Medium name or UUID required")
    progress = False
    moved = False
    with ctx.store.transaction() as registry:
        medium = medialib.open_medium(registry, name, device)
        for what, value in changes:
            if what == "type":
                if value not in MEDIUM_TYPES:
                    raise errors.VBoxError(
                        errors.error_lines("Invalid medium type '%s'" % value),
                        exit_code=2,
                    )
                set_medium_type(
                    medium,
                    value,
                    (
                        "COMSETTER(Type)(enmMediumType)",
                        896,
                        "VBoxManageDisk.cpp",
                    ),
                )
            elif what == "resize_mb" and value > medium["capacity"] * 1000:
                # VBoxManage's own guard on --resize (megabytes), checked
                # before anything changes; --resizebyte has none.
                raise errors.VBoxError(
                    errors.error_lines(
                        "Error: Attempt to resize the medium from %s MB to"
                        " %s MB. Use --resizebyte if this is intended!"
                        % (_megabytes(medium["capacity"]), _megabytes(value))
                    ),
                    exit_code=1,
                )
            elif what in ("resize", "resize_mb"):
                _resize(medium, value)
                progress = True
            elif what == "compact":
                if vdi.is_vdi(medium["location"]) and not medium.get("parent"):
                    vdi.rewrite(medium["location"])
                progress = True
            elif what == "autoreset":
                medium["auto_reset"] = value
            elif what == "description":
                medium["description"] = value
            elif what == "property":
                key, _, prop_value = value.partition("=")
                medium["properties"][key] = prop_value
            elif what == "move":
                _refuse_move_while_running(registry, medium)
                _move(medium, value)
                moved = progress = True
    if progress:
        ctx.progress()
    if moved:
        ctx.out("Move medium with UUID %s finished\n" % medium["uuid"])
    return 0


def _refuse_move_while_running(registry, medium):
    """Real 7.2.22 moves no medium of a VM with a session, and says so
    oddly: its success line on stdout, the error on stderr, exit code 0."""
    for vm, current, _snaps in medialib.users(registry, medium):
        if current and vm["state"] in ("running", "paused"):
            error = errors.com_error(
                "At least the VM '%s' to whom this medium '%s' attached has"
                " currently an opened session. Stop all VMs before"
                " relocating this medium" % (vm["uuid"], medium["location"]),
                "VBOX_E_INVALID_VM_STATE",
                "MediumWrap",
                "IMedium",
                (
                    "MoveTo(Bstr(strLocation).raw(),"
                    " pProgress.asOutParam())",
                    954,
                    "VBoxManageDisk.cpp",
                ),
                exit_code=0,
            )
            error.stdout = ("Move medium with UUID %s finished\n"
                            % medium["uuid"])
            raise error


def _move(medium, destination):
    """IMedium::MoveTo: a directory keeps the file name."""
    target = os.path.abspath(destination)
    if os.path.isdir(target) or destination.endswith("/"):
        target = os.path.join(target, os.path.basename(medium["location"]))
    if os.path.exists(target):
        raise errors.com_error(
            "Cannot move medium '%s' to '%s': the file already exists"
            % (medium["location"], target),
            "VBOX_E_FILE_ERROR",
            "MediumWrap",
            "IMedium",
            (
                "MoveTo(Bstr(pszNewLocation).raw(), pProgress.asOutParam())",
                1007,
                "VBoxManageDisk.cpp",
            ),
        )
    os.makedirs(os.path.dirname(target), exist_ok=True)
    import shutil  # here: few calls move a medium

    shutil.move(medium["location"], target)
    medium["location"] = target


def _in_use_error(medium, count):
    return errors.com_error(
        "Medium '%s' cannot be closed because it is still attached to %d"
        " virtual machines" % (medium["location"], count),
        "VBOX_E_OBJECT_IN_USE",
        "MediumWrap",
        "IMedium",
        ("Close()", 1877, "VBoxManageDisk.cpp"),
    )


def closemedium(ctx, argv):
    device, args = _device_and_args(argv)
    name = None
    delete = False
    while args:
        opt = args.next()
        if opt == "--delete":
            delete = True
        elif name is None:
            name = opt
        else:
            raise errors.syntax_error("Invalid parameter '%s'" % opt)
    if name is None:
        raise errors.syntax_error("Medium name or UUID required")
    with ctx.store.transaction() as registry:
        medium = medialib.open_medium(registry, name, device)
        users = medialib.users(registry, medium)
        if users:
            raise _in_use_error(medium, len(users))
        children = registry.children_of(medium)
        if children:
            message = (
                "Cannot close medium '%s' because it has %d child media"
                % (medium["location"], len(children))
            )
            close_error = errors.com_error(
                message,
                "VBOX_E_OBJECT_IN_USE",
                "MediumWrap",
                "IMedium",
                ("Close()", 1877, "VBoxManageDisk.cpp"),
            )
            if delete:
                delete_error = errors.com_error(
                    message,
                    "VBOX_E_OBJECT_IN_USE",
                    "MediumWrap",
                    "IMedium",
                    (
                        "DeleteStorage(pProgress.asOutParam())",
                        1868,
                        "VBoxManageDisk.cpp",
                    ),
                    trailer=(
                        (
                            "Failed to delete medium. Error code"
                            " VBOX_E_OBJECT_IN_USE"
                        ),
                    ),
                )
                close_error.stderr = delete_error.stderr + close_error.stderr
            raise close_error
        if delete:
            medialib.delete_storage(medium)
        registry.remove_medium(medium)
    if delete:
        ctx.progress()
    return 0


def showmediuminfo(ctx, argv):
    device, args = _device_and_args(argv)
    rest = [a for a in args.rest() if not a.startswith("--")]
    if len(rest) != 1:
        raise errors.syntax_error("Medium name or UUID required")
    with ctx.store.transaction() as registry:
        medium = medialib.open_medium(registry, rest[0], device)
        ctx.out(render.medium_info(medium, registry, long_form=True))
    return 0


CONVERT_SOURCE = "/build/reproducible-path/virtualbox-7.2.22-dfsg/src/VBox"


def convertfromraw(ctx, argv):
    """convertfromraw RAW OUT [--format VDI|VMDK|VHD] [--uuid U]
    [--variant V]: an image file made from a raw disk, not registered.
    Everything it prints goes to stderr (7.2.22)."""
    args = Args(argv)
    files, fmt, image_uuid, fixed = [], "VDI", None, False
    while args:
        opt = args.next()
        if opt in ("--format", "-o"):
            fmt = args.value(opt).upper()
        elif opt in ("--uuid", "-u"):
            image_uuid = args.value(opt)
        elif opt in ("--variant", "-m"):
            fixed = "fixed" in args.value(opt).lower()
        else:
            files.append(opt)
    if len(files) != 2:
        raise errors.syntax_error("Incorrect number of parameters")
    source, target = files
    ctx.err('Converting from raw image file="%s" to file="%s"...\n'
            % (source, target))
    try:
        with open(source, "rb") as handle:
            data = handle.read()
    except OSError:
        raise errors.VBoxError(errors.error_lines(
            'Cannot open file "%s": VERR_FILE_NOT_FOUND' % source))
    size = len(data)
    ctx.err("Creating %s image with size %d bytes (%dMB)...\n"
            % ("fixed" if fixed else "dynamic", size,
               (size + (1 << 20) - 1) >> 20))
    if size % 512:
        raise errors.VBoxError(errors.error_lines(
            "VD: The given disk size %d is not aligned on a sector boundary "
            "(512 bytes)" % size,
            "Error code VERR_VD_INVALID_SIZE at %s/Storage/VD.cpp(6054) in "
            "function int VDCreateBase(PVDISK, const char*, const char*, "
            "uint64_t, unsigned int, const char*, PCVDGEOMETRY, "
            "PCVDGEOMETRY, PCRTUUID, unsigned int, PVDINTERFACE, "
            "PVDINTERFACE)" % CONVERT_SOURCE,
            'Cannot create the disk image "%s": VERR_VD_INVALID_SIZE'
            % target))
    if os.path.exists(target):
        raise errors.VBoxError(errors.error_lines(
            "%s: cannot create image '%s'" % (fmt, target),
            "Error code VERR_ALREADY_EXISTS at %s/Storage/VDI.cpp(706) in "
            "function int vdiImageCreateFile(PVDIIMAGEDESC, unsigned int, "
            "PVDINTERFACEPROGRESS, unsigned int, unsigned int)"
            % CONVERT_SOURCE,
            'Cannot create the disk image "%s": VERR_ALREADY_EXISTS'
            % target))
    image_uuid = image_uuid or medialib.new_uuid()
    if fmt == "VDI":
        blocks = {}
        for offset in range(0, size, vdi.BLOCK_SIZE):
            blocks[offset // vdi.BLOCK_SIZE] = data[offset:offset
                                                    + vdi.BLOCK_SIZE]
        vdi.write_image(target, size, image_uuid, blocks, fixed=fixed)
    else:
        medialib.run_qemu_img("convert", "-f", "raw", "-O",
                              {"VHD": "vpc"}.get(fmt, fmt.lower()),
                              source, target)
    os.chmod(target, 0o600)
    return 0
