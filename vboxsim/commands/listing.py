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

"""list vms|runningvms|hostinfo|systemproperties|hdds|dvds|..."""

import os

from vboxsim.cli import DATA_DIR, usage_text
from vboxsim import errors
from vboxsim import media as medialib
from vboxsim import render

ONLINE_STATES = (
    "running",
    "paused",
    "gurumeditation",
    "saving",
    "stopping",
    "starting",
)


def _data(name):
    with open(os.path.join(DATA_DIR, name)) as handle:
        return handle.read()


def _vms(registry, long_form, only_running=False):
    out = []
    for vm in registry.vms:
        if only_running and vm["state"] not in ONLINE_STATES:
            continue
        out.append(
            render.showvminfo_human(vm, registry)
            if long_form
            else '"%s" {%s}\n' % (vm["name"], vm["uuid"])
        )
    return "".join(out)


def _media(device):
    def lister(registry, long_form):
        return "".join(
            render.medium_info(m, registry, long_form) + "\n"
            for m in medialib.visible_media(registry, device)
        )

    return lister


def _host(function_name):
    """A lister from vboxsim.hostinfo, imported when used: its imports
    (platform, socket...) would slow down every "list vms"."""

    def lister(registry, long_form):
        from vboxsim import hostinfo

        return getattr(hostinfo, function_name)()

    return lister


def _network(function_name):
    """A lister from vboxsim.commands.network (DHCP servers, NAT
    networks: state of the registry), imported when used."""

    def lister(registry, long_form):
        from vboxsim.commands import network

        return getattr(network, function_name)(registry, long_form)

    return lister


def _groups(registry, long_form):
    seen = []
    for vm in registry.vms:
        for group in vm["groups"]:
            if group not in seen:
                seen.append(group)
    return "".join('"%s"\n' % g for g in seen)


LISTERS = {
    "vms": lambda reg, long_form: _vms(reg, long_form),
    "runningvms": lambda reg, long_form: _vms(
        reg, long_form, only_running=True
    ),
    "hostinfo": _host("hostinfo_text"),
    "systemproperties": (
        lambda reg, long_form: _data("systemproperties.txt").replace(
            "{machinefolder}", reg.machine_folder
        )
    ),
    "hdds": _media("hdd"),
    "dvds": _media("dvd"),
    "floppies": _media("floppy"),
    "ostypes": lambda reg, long_form: _data("ostypes.txt"),
    "bridgedifs": _host("bridgedifs_text"),
    "hostonlyifs": lambda reg, long_form: "",
    "hostonlynets": lambda reg, long_form: "",
    "natnets": _network("list_natnets"),
    "intnets": lambda reg, long_form: "",
    "dhcpservers": _network("list_dhcpservers"),
    "extpacks": lambda reg, long_form: _data("extpacks.txt"),
    "groups": _groups,
    "hostdvds": lambda reg, long_form: "",
    "hostfloppies": lambda reg, long_form: "",
    "usbhost": lambda reg, long_form: "<none>\n\n",
    "usbfilters": lambda reg, long_form: (
        "Global USB Device Filters:\n\n<none>\n"
    ),
}


def list_command(ctx, argv):
    long_form = False
    what = None
    for arg in argv:
        if arg in ("--long", "-l"):
            long_form = True
        elif arg in ("--sorted", "-s") or arg.startswith("--platform-arch"):
            continue
        elif what is None:
            what = arg
        else:
            raise errors.syntax_error("Invalid parameter '%s'" % arg)
    if what is None or what not in LISTERS:
        message = (
            'Unknown subcommand "%s".' % what
            if what
            else "Missing subcommand."
        )
        raise errors.syntax_error(message, "\n" + usage_text("list"))
    with ctx.store.transaction() as registry:
        ctx.out(LISTERS[what](registry, long_form))
    return 0
