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

"""Host facts for `list hostinfo` and `list bridgedifs`, read from the real
host.

``VBOXSIM_HOST_CPUS`` and ``VBOXSIM_HOST_MEMORY_MB`` override CPU count and
memory.
"""

import datetime
import fcntl
import os
import platform
import socket
import struct
import zlib

SIOCGIFADDR = 0x8915
SIOCGIFNETMASK = 0x891B


def _cpuinfo():
    info = {"model name": "Unknown", "cpu MHz": "0", "flags": ""}
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in info and info[key] in ("Unknown", "0", ""):
                    info[key] = value.strip()
    except OSError:
        pass
    return info


def _meminfo_mb(key):
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def cpu_count():
    return int(os.environ.get("VBOXSIM_HOST_CPUS") or os.cpu_count() or 1)


def memory_mb():
    override = os.environ.get("VBOXSIM_HOST_MEMORY_MB")
    return (
        (int(override), int(override))
        if override
        else (_meminfo_mb("MemTotal"), _meminfo_mb("MemAvailable"))
    )


def hostinfo_text():
    cpu = _cpuinfo()
    flags = set(cpu["flags"].split())
    count = cpu_count()
    total, available = memory_mb()
    now = datetime.datetime.now(datetime.timezone.utc)
    hwvirt = bool(flags & {"vmx", "svm"})

    def yes(flag):
        return "yes" if flag else "no"

    lines = [
        "Host Information:",
        "",
        "Host time: %s.%03d000000Z"
        % (now.strftime("%Y-%m-%dT%H:%M:%S"), now.microsecond // 1000),
        "Processor online count: %d" % count,
        "Processor count: %d" % count,
        "Processor online core count: %d" % count,
        "Processor core count: %d" % count,
        "Processor supports HW virtualization: %s" % yes(hwvirt),
        "Processor supports PAE: %s" % yes("pae" in flags),
        "Processor supports long mode: %s" % yes("lm" in flags),
        "Processor supports nested paging: %s"
        % yes(hwvirt and bool(flags & {"ept", "npt"})),
        "Processor supports unrestricted guest: %s"
        % yes(hwvirt and "unrestricted_guest" in flags),
        "Processor supports nested HW virtualization: %s"
        % yes(hwvirt and "nested_virt" in flags),
        "Processor supports virt. vmsave/vmload: %s"
        % yes("v_vmsave_vmload" in flags),
    ]
    for index in range(count):
        lines.append(
            "Processor#%d speed: %d MHz"
            % (index, round(float(cpu["cpu MHz"])))
        )
        lines.append(
            "Processor#%d description: %s" % (index, cpu["model name"])
        )
    lines += [
        "Memory size: %d MByte" % total,
        "Memory available: %d MByte" % available,
        "Operating system: Linux",
        "Operating system version: %s" % platform.release(),
    ]
    return "\n".join(lines) + "\n"


def _ioctl_addr(name, request):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(
                sock.fileno(), request, struct.pack("256s", name[:15].encode())
            )
            return socket.inet_ntoa(packed[20:24])
        except OSError:
            return "0.0.0.0"


def _ipv6(name):
    """(address, prefix length): a global address, else the link-local one."""
    found = []
    try:
        with open("/proc/net/if_inet6") as handle:
            for line in handle:
                fields = line.split()
                if len(fields) == 6 and fields[5] == name:
                    packed = bytes.fromhex(fields[0])
                    address = socket.inet_ntop(socket.AF_INET6, packed)
                    found.append((fields[0].startswith("fe80"), address,
                                  int(fields[2], 16)))
    except OSError:
        pass
    if not found:
        return "", 0
    _link_local, address, prefix = sorted(found, key=lambda f: f[0])[0]
    return address, prefix


def _read(path, default=""):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return default


def bridged_interfaces():
    net = "/sys/class/net"
    names = sorted(os.listdir(net)) if os.path.isdir(net) else []
    result = []
    for name in names:
        if name == "lo":
            continue
        mac = _read(os.path.join(net, name, "address"), "00:00:00:00:00:00")
        ipv6, prefix = _ipv6(name)
        digest = zlib.crc32(name.encode())
        result.append({
            "name": name,
            "mac": mac,
            "guid": (
                "effffff9-%04x-%04x-8000-%s"
                % (
                    digest & 0xFFFF,
                    0x4000 | (digest >> 16) & 0x0FFF,
                    mac.replace(":", ""),
                )
            ),
            "ip": _ioctl_addr(name, SIOCGIFADDR),
            "mask": _ioctl_addr(name, SIOCGIFNETMASK),
            "ipv6": ipv6,
            "prefix": prefix,
            "status": (
                "Up"
                if _read(os.path.join(net, name, "operstate"))
                in ("up", "unknown")
                else "Down"
            ),
            "wireless": (
                "Yes"
                if os.path.isdir(os.path.join(net, name, "wireless"))
                else "No"
            ),
        })
    return result


def bridgedifs_text():
    out = []
    for nic in bridged_interfaces():
        out.append(
            "Name:            %(name)s\nGUID:            %(guid)s\nDHCP:      "
            "      Disabled\nIPAddress:       %(ip)s\nNetworkMask:    "
            " %(mask)s\nIPV6Address:    "
            " %(ipv6)s\nIPV6NetworkMaskPrefixLength:"
            " %(prefix)d\nHardwareAddress: %(mac)s\nMediumType:     "
            " Ethernet\nWireless:        %(wireless)s\nStatus:         "
            " %(status)s\nVBoxNetworkName:"
            " HostInterfaceNetworking-%(name)s\n\n" % nic
        )
    return "".join(out)
