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

"""dhcpserver add|modify|remove and natnetwork add|modify|remove|list, and
the listings they feed (list dhcpservers, list natnets).

As VirtualBox 7.2.22 does them for what neutron-virtualbox-agent uses
(contract scenario 17-dhcpserver-natnetwork): a DHCP server per network
name (``--interface=IF`` names ``HostInterfaceNetworking-IF``) with its
range, global options (1, the netmask, always first) and per-MAC fixed
addresses; NAT networks with their CIDR, gateway (the first address) and
DHCP flag. The errors are 7.2's own lines and exit codes, including its
``natnetwork remove --netname=NAME`` refusal (it wants ``--netname
NAME``). Group, VM and lease-time configurations are not simulated.
"""

import ipaddress

from vboxsim.args import Args
from vboxsim import errors

HOSTONLY_PREFIX = "HostInterfaceNetworking-"
# The server VirtualBox itself makes for its first host-only interface.
DEFAULT_DHCPSERVER = {
    "network": HOSTONLY_PREFIX + "vboxnet0",
    "server_ip": "192.168.56.100",
    "lower_ip": "192.168.56.101",
    "upper_ip": "192.168.56.254",
    "netmask": "255.255.255.0",
    "enabled": True,
    "options": {},
    "macs": {},
}
# VirtualBox 7.2 gives every NAT network this IPv6 prefix by default.
NATNET_IPV6_PREFIX = "fd17:625c:f037:2::/64"
REMOVE_USAGE = "\nUsage:\n\n  VBoxManage natnetwork remove <--netname=name>\n"


def dhcpservers(registry):
    """The registry's DHCP servers (a registry from before they were
    simulated has VirtualBox's default one)."""
    return registry.data.setdefault(
        "dhcpservers", [dict(DEFAULT_DHCPSERVER, options={}, macs={})])


def natnets(registry):
    return registry.data.setdefault("natnets", [])


def _fail(message, exit_code=2):
    return errors.VBoxError(errors.error_lines(message), exit_code=exit_code)


def _syntax(message):
    return errors.VBoxError(
        errors.BANNER + errors.error_lines(message), exit_code=2)


def _mac(text):
    digits = text.replace(":", "").replace("-", "").lower()
    if len(digits) != 12 or any(c not in "0123456789abcdef" for c in digits):
        raise _syntax("Invalid MAC address: %s" % text)
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def _ip(text, option):
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise _syntax("Invalid IPv4 address for %s: '%s'" % (option, text))


# -- dhcpserver ---------------------------------------------------------------

_DHCP_VALUE_OPTIONS = {
    "--server-ip": "server_ip", "--ip": "server_ip",
    "--netmask": "netmask",
    "--lower-ip": "lower_ip", "--lowerip": "lower_ip",
    "--upper-ip": "upper_ip", "--upperip": "upper_ip",
}


def dhcpserver(ctx, argv):
    if not argv or argv[0] not in ("add", "modify", "remove"):
        raise _syntax("Unknown subcommand: %s" % (argv[0] if argv else ""))
    action = argv[0]
    args = Args(argv[1:])
    network = None
    settings = {}
    enabled = None
    global_options = {}
    deleted_options = []
    macs = []  # [(mac, fixed address or None, remove)]
    mac = None
    while args:
        opt = args.next()
        if opt in ("--network", "--netname"):
            network = args.value(opt)
        elif opt in ("--interface", "--ifname"):
            network = HOSTONLY_PREFIX + args.value(opt)
        elif opt in _DHCP_VALUE_OPTIONS:
            settings[_DHCP_VALUE_OPTIONS[opt]] = _ip(args.value(opt), opt)
        elif opt == "--enable":
            enabled = True
        elif opt == "--disable":
            enabled = False
        elif opt == "--global":
            mac = None
        elif opt == "--set-opt" and mac is None:
            number = int(args.value(opt))
            global_options[number] = args.value(opt)
        elif opt == "--del-opt" and mac is None and action == "modify":
            deleted_options.append(int(args.value(opt)))
        elif opt == "--mac-address":
            mac = _mac(args.value(opt))
            macs.append([mac, None, False])
        elif opt == "--fixed-address" and mac is not None:
            macs[-1][1] = _ip(args.value(opt), opt)
        elif (opt == "--remove-config" and mac is not None and
              action == "modify"):
            macs[-1][2] = True
        else:
            raise _syntax("Unknown option: %s" % opt)
    if network is None:
        raise _syntax("You need to specify either --network or --interface "
                      "to identify the DHCP server")
    with ctx.store.transaction() as registry:
        servers = dhcpservers(registry)
        server = next((s for s in servers if s["network"] == network), None)
        if action == "remove":
            if server is None:
                raise _fail("Failed to find DHCP server for network '%s'"
                            % network, exit_code=1)
            servers.remove(server)
            return 0
        if action == "add":
            if server is not None:
                raise _fail("DHCP server already exists")
            for option in ("--server-ip", "--netmask", "--lower-ip",
                           "--upper-ip"):
                if _DHCP_VALUE_OPTIONS[option] not in settings:
                    raise _syntax("Missing required option: %s" % option)
            if enabled is None:
                raise _syntax("Missing required option: --enable or "
                              "--disable")
            server = {"network": network, "enabled": enabled, "options": {},
                      "macs": {}}
            server.update(settings)
            servers.append(server)
        else:
            if server is None:
                raise _fail("DHCP server does not exist")
            server.update(settings)
            if enabled is not None:
                server["enabled"] = enabled
        for number in deleted_options:
            server["options"].pop(str(number), None)
        for number, value in global_options.items():
            server["options"][str(number)] = value
        for mac_address, fixed, remove in macs:
            if remove:
                server["macs"].pop(mac_address, None)
            else:
                entry = server["macs"].setdefault(mac_address, {})
                if fixed is not None:
                    entry["fixed"] = fixed
    return 0


def _render_dhcpserver(server):
    lines = [
        "NetworkName:    %s" % server["network"],
        "Dhcpd IP:       %s" % server["server_ip"],
        "LowerIPAddress: %s" % server["lower_ip"],
        "UpperIPAddress: %s" % server["upper_ip"],
        "NetworkMask:    %s" % server["netmask"],
        "Enabled:        %s" % ("Yes" if server["enabled"] else "No"),
        "Global Configuration:",
        "    minLeaseTime:     default",
        "    defaultLeaseTime: default",
        "    maxLeaseTime:     default",
        "    Forced options:   None",
        "    Suppressed opts.: None",
        "%9d/legacy: %s" % (1, server["netmask"]),
    ]
    for number in sorted(int(n) for n in server["options"] if n != "1"):
        lines.append("%9d/legacy: %s" % (number,
                                         server["options"][str(number)]))
    lines.append("Groups:               None")
    if not server["macs"]:
        lines.append("Individual Configs:   None")
    # VirtualBox keeps them in a map keyed by MAC: sorted.
    for mac in sorted(server["macs"]):
        lines.append("Individual Config:    MAC %s" % mac)
        fixed = server["macs"][mac].get("fixed")
        if fixed:
            lines.append("    Fixed Address:    %s" % fixed)
        lines += ["    minLeaseTime:     default",
                  "    defaultLeaseTime: default",
                  "    maxLeaseTime:     default",
                  "    Forced options:   None",
                  "    Suppressed opts.: None",
                  "    DHCP options:     None"]
    return "\n".join(lines)


def list_dhcpservers(registry, long_form):
    servers = dhcpservers(registry)
    if not servers:
        return ""
    return "\n\n".join(_render_dhcpserver(s) for s in servers) + "\n"


# -- natnetwork ---------------------------------------------------------------

def natnetwork(ctx, argv):
    if not argv or argv[0] not in ("add", "modify", "remove", "list"):
        raise _syntax("Unknown subcommand: %s" % (argv[0] if argv else ""))
    action = argv[0]
    if action == "remove" and any(a.startswith("--netname=")
                                  for a in argv[1:]):
        # 7.2's remove reads --netname as an option with a separate value.
        raise errors.VBoxError(
            errors.BANNER + errors.error_lines("Not enough parameters") +
            REMOVE_USAGE, exit_code=2)
    if action == "list":
        with ctx.store.transaction() as registry:
            ctx.out(_list_natnetwork_command(natnets(registry)))
        return 0
    args = Args(argv[1:])
    name = cidr = dhcp = enabled = None
    while args:
        opt = args.next()
        if opt in ("--netname", "-t"):
            name = args.value(opt)
        elif opt in ("--network", "-n"):
            cidr = args.value(opt)
        elif opt in ("--dhcp", "-h"):
            dhcp = args.value(opt).lower() in ("on", "true", "yes", "1")
        elif opt == "--enable":
            enabled = True
        elif opt == "--disable":
            enabled = False
        else:
            raise _syntax("Unknown option: %s" % opt)
    if name is None:
        raise _syntax("You need to specify the --netname option")
    with ctx.store.transaction() as registry:
        networks = natnets(registry)
        net = next((n for n in networks if n["name"] == name), None)
        if action == "add":
            if cidr is None:
                raise _syntax("You need to specify the --network option")
            if net is not None:
                raise _fail("NATNetwork server already exists")
            net = {"name": name, "dhcp": True, "enabled": True}
            networks.append(net)
        elif net is None:
            raise _fail("NATNetwork server does not exist")
        elif action == "remove":
            networks.remove(net)
            return 0
        if cidr is not None:
            try:
                net["network"] = str(ipaddress.IPv4Network(cidr,
                                                           strict=False))
            except ValueError:
                raise _fail("Invalid parameter '%s'" % cidr)
        if dhcp is not None:
            net["dhcp"] = dhcp
        if enabled is not None:
            net["enabled"] = enabled
    return 0


def _gateway(net):
    return str(ipaddress.IPv4Network(net["network"]).network_address + 1)


def list_natnets(registry, long_form):
    return "".join(
        "Name:         %s\n"
        "Network:      %s\n"
        "Gateway:      %s\n"
        "DHCP Server:  %s\n"
        "IPv6:         No\n"
        "IPv6 Prefix:  %s\n"
        "IPv6 Default: No\n\n" % (net["name"], net["network"], _gateway(net),
                                  "Yes" if net["dhcp"] else "No",
                                  NATNET_IPV6_PREFIX)
        for net in natnets(registry))


def _list_natnetwork_command(networks):
    """natnetwork list: as list natnets, plus Enabled and the default
    loopback mapping."""
    entries = "".join(
        "Name:         %s\n"
        "Enabled:      %s\n"
        "Network:      %s\n"
        "Gateway:      %s\n"
        "DHCP Server:  %s\n"
        "IPv6:         No\n"
        "IPv6 Prefix:  %s\n"
        "IPv6 Default: No\n"
        "loopback mappings (ipv4)\n"
        "        127.0.0.1=2\n\n" % (
            net["name"], "Yes" if net["enabled"] else "No", net["network"],
            _gateway(net), "Yes" if net["dhcp"] else "No",
            NATNET_IPV6_PREFIX)
        for net in networks)
    return "NAT Networks:\n\n%s%d networks found\n" % (entries,
                                                       len(networks))
