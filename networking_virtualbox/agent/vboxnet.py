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

"""What the agent reads from and writes to VirtualBox.

* :func:`parse_vms_long`: every VM with its NICs from one ``list vms
  --long`` (the agent's whole sweep: one call whatever the number of VMs
  and ports);
* :func:`parse_dhcp_servers`: VirtualBox's DHCP servers with their options
  and per-MAC fixed addresses from one ``list dhcpservers``;
* :func:`dhcp_settings`: a Neutron subnet as a DHCP server's settings;
* :func:`dhcpserver_args`: the one ``dhcpserver add`` or ``modify`` that
  brings a server from what it has to what the ports need, or None.

Every command line built here was run on real VBoxManage 7.2
(``nova/tests/functional/virtualbox/test_neutron_realvbox.py``).
"""

import collections
import ipaddress
import re

from networking_virtualbox import constants

# A NIC of a VM as `list vms --long` shows it. mac: Neutron's spelling
# (fa:16:3e:..); mode: modifyvm's --nicN value; network: the attachment's
# target (None for nat and null); cable: bool; running: whether the VM has
# a VM process (controlvm) or not (modifyvm).
Nic = collections.namedtuple(
    'Nic', ['vm_uuid', 'vm_name', 'number', 'mac', 'mode', 'network',
            'cable', 'running'])

# "Attachment: ..." texts of VBoxManageInfo.cpp -> --nicN values.
_ATTACHMENT_KINDS = {
    'NAT': 'nat',
    'Null': 'null',
    'Internal Network': constants.ATTACH_INTNET,
    'NAT Network': constants.ATTACH_NATNETWORK,
    'Bridged Interface': constants.ATTACH_BRIDGED,
    'Host-only Interface': constants.ATTACH_HOSTONLY,
    'Host Only Network': constants.ATTACH_HOSTONLYNET,
    'Generic': 'generic',
    'Cloud Network': 'cloud',
}
_ATTACHMENT_RE = re.compile(r"^(?P<kind>[^']*?)(?: '(?P<name>.*)')?$")
_NIC_RE = re.compile(r'^NIC (?P<number>\d+):\s+MAC: (?P<mac>[0-9A-Fa-f]{12}), '
                     r'Attachment: (?P<attachment>.*?), '
                     r'Cable connected: (?P<cable>on|off)(?:,|$)')
# A VM's block starts with its name; a shared folder's line "Name: 'x',
# Host path: ..." is not one (one space, a quote).
_VM_START_RE = re.compile(r'^Name:\s{2,}(?P<name>.*)$')
# States without a VM process (VBoxManageInfo.cpp's human texts): NICs of
# these VMs are changed with modifyvm; any other state has a VM process and
# takes controlvm.
STOPPED_STATES = ('powered off', 'saved', 'aborted', 'aborted-saved',
                  'teleported')


def neutron_mac(vbox_mac):
    """VirtualBox's FA163E000001 -> Neutron's fa:16:3e:00:00:01."""
    digits = vbox_mac.lower()
    return ':'.join(digits[i:i + 2] for i in range(0, 12, 2))


def _attachment(text):
    match = _ATTACHMENT_RE.match(text.strip())
    kind = match.group('kind').strip()
    return _ATTACHMENT_KINDS.get(kind, kind.lower()), match.group('name')


def parse_vms_long(text, strip=lambda t: t):
    """``list vms --long`` -> [{name, uuid, groups, state, running,
    nics: [Nic]}]; ``strip`` removes the wrapper's WARNING block."""
    vms = []
    current = None
    for line in strip(text).splitlines():
        start = _VM_START_RE.match(line)
        if start:
            current = {'name': start.group('name').strip(), 'uuid': None,
                       'groups': [], 'state': '', 'nics': []}
            vms.append(current)
            continue
        if current is None:
            continue
        key, sep, value = line.partition(':')
        if not sep or key.startswith(' '):
            continue
        value = value.strip()
        if key == 'UUID' and current['uuid'] is None:
            current['uuid'] = value.lower()
        elif key == 'Groups':
            current['groups'] = [g for g in value.split(',') if g]
        elif key == 'State' and not current['state']:
            # "running (since 2026-12-02T10:37:30.871000000)"
            current['state'] = value.split(' (since')[0].strip()
        else:
            nic = _NIC_RE.match(line)
            if nic:
                mode, network = _attachment(nic.group('attachment'))
                current['nics'].append(
                    (int(nic.group('number')), neutron_mac(nic.group('mac')),
                     mode, network, nic.group('cable') == 'on'))
    for vm in vms:
        vm['running'] = vm['state'] not in STOPPED_STATES
        vm['nics'] = [Nic(vm['uuid'], vm['name'], number, mac, mode, network,
                          cable, vm['running'])
                      for number, mac, mode, network, cable in vm['nics']]
    return vms


# -- DHCP servers -------------------------------------------------------------

# A DHCP server as the agent compares it: globals and {mac: ip}.
DhcpServer = collections.namedtuple(
    'DhcpServer', ['network', 'server_ip', 'netmask', 'lower_ip', 'upper_ip',
                   'enabled', 'options', 'fixed'])

_OPTION_RE = re.compile(r'^\s+(?P<number>\d+)/\w+: (?P<value>.*)$')
_MAC_CONFIG_RE = re.compile(r'^Individual Config:\s+MAC (?P<mac>\S+)')
_FIXED_RE = re.compile(r'^\s+Fixed Address:\s+(?P<ip>\S+)')
HOSTONLY_DHCP_PREFIX = 'HostInterfaceNetworking-'


def parse_dhcp_servers(text, strip=lambda t: t):
    """``list dhcpservers`` -> {network name: DhcpServer}. ``options`` are
    the global options {number: value} (1, the netmask, included);
    ``fixed`` the per-MAC fixed addresses {mac lower case: ip}."""
    servers = {}
    for block in re.split(r'\n\s*\n', strip(text)):
        fields = {}
        options = {}
        fixed = {}
        section = None
        mac = None
        for line in block.splitlines():
            if line.startswith('Global Configuration:'):
                section = 'global'
                continue
            if line.startswith('Groups:'):
                section = None
                continue
            mac_config = _MAC_CONFIG_RE.match(line)
            if mac_config:
                section = 'mac'
                mac = mac_config.group('mac').lower()
                fixed[mac] = None
                continue
            option = _OPTION_RE.match(line)
            if option and section == 'global':
                options[int(option.group('number'))] = option.group('value')
                continue
            address = _FIXED_RE.match(line)
            if address and section == 'mac':
                fixed[mac] = address.group('ip')
                continue
            key, sep, value = line.partition(':')
            if sep and not line.startswith(' '):
                fields.setdefault(key.strip(), value.strip())
        name = fields.get('NetworkName')
        if not name:
            continue
        servers[name] = DhcpServer(
            name, fields.get('Dhcpd IP'), fields.get('NetworkMask'),
            fields.get('LowerIPAddress'), fields.get('UpperIPAddress'),
            fields.get('Enabled') == 'Yes', options,
            {m: ip for m, ip in fixed.items() if ip})
    return servers


def dhcp_server_of(nic):
    """(name in list dhcpservers, dhcpserver selector argument) of the
    VirtualBox DHCP server that serves a NIC's network, or None: a bridged
    NIC is served by its LAN, a host-only network (macOS) by its own
    settings, a NAT NIC by VirtualBox's NAT."""
    if nic.mode in (constants.ATTACH_INTNET, constants.ATTACH_NATNETWORK):
        return nic.network, '--network=%s' % nic.network
    if nic.mode == constants.ATTACH_HOSTONLY:
        return (HOSTONLY_DHCP_PREFIX + nic.network,
                '--interface=%s' % nic.network)
    return None


def _pool_ranges(subnet):
    ranges = []
    for pool in subnet.get('allocation_pools') or ():
        ranges.append((ipaddress.ip_address(pool['start']),
                       ipaddress.ip_address(pool['end'])))
    return sorted(ranges)


def dhcp_settings(subnet):
    """A Neutron IPv4 subnet (dict: cidr, gateway_ip, dns_nameservers,
    allocation_pools) -> DhcpServer of its settings (no fixed addresses),
    or None for IPv6 (VirtualBox's DHCP server is IPv4 only) and subnets
    without DHCP.

    The server needs an address of its own that Neutron never gives a port:
    the lowest address outside the allocation pools that is not the
    gateway. A subnet whose pools cover every address leaves none; then the
    pool's last address is used and the range ends before it (a port that
    Neutron later gives that address would clash: leave one address out of
    the pools). The dynamic range is the first pool: addresses for MACs
    Neutron does not know (VirtualBox hands out no lease outside it).
    """
    if not subnet.get('enable_dhcp', True):
        return None
    network = ipaddress.ip_network(subnet['cidr'], strict=False)
    if network.version != 4 or network.num_addresses < 4:
        return None
    gateway = (ipaddress.ip_address(subnet['gateway_ip'])
               if subnet.get('gateway_ip') else None)
    pools = _pool_ranges(subnet) or [(network.network_address + 1,
                                      network.broadcast_address - 1)]
    first_host = network.network_address + 1
    last_host = network.broadcast_address - 1
    server_ip = None
    candidate = first_host
    for start, end in pools + [(last_host + 1, last_host + 1)]:
        while candidate < start and candidate <= last_host:
            if candidate != gateway:
                server_ip = candidate
                break
            candidate += 1
        if server_ip is not None:
            break
        candidate = max(candidate, end + 1)
    lower, upper = pools[0]
    if server_ip is None:
        server_ip = pools[-1][1]
        if upper == server_ip:
            upper = server_ip - 1
    options = {}
    if gateway is not None:
        options[constants.DHCP_OPTION_ROUTER] = str(gateway)
    dns = [str(d) for d in subnet.get('dns_nameservers') or ()]
    if dns:
        options[constants.DHCP_OPTION_DNS] = ' '.join(dns)
    return DhcpServer(None, str(server_ip), str(network.netmask), str(lower),
                      str(upper), True, options, {})


def dhcpserver_args(selector, existing, wanted, fixed, remove=()):
    """The ``dhcpserver`` arguments that make a server what ``wanted``
    (DhcpServer from dhcp_settings, or None to keep the server's globals)
    and ``fixed`` ({mac: ip} that must be there) say, without the MACs in
    ``remove``; ``existing`` is the server now (None: there is none).
    None when nothing has to change.

    One call carries it all: globals first, then a ``--mac-address`` group
    per MAC (VBoxManage applies the options after --mac-address to that
    MAC's configuration).
    """
    if existing is None:
        if wanted is None:
            return None
        args = ['dhcpserver', 'add', selector,
                '--server-ip=%s' % wanted.server_ip,
                '--netmask=%s' % wanted.netmask,
                '--lower-ip=%s' % wanted.lower_ip,
                '--upper-ip=%s' % wanted.upper_ip, '--enable']
        args += _option_args({}, wanted.options)
        current_fixed = {}
    else:
        args = ['dhcpserver', 'modify', selector]
        if wanted is not None:
            for option, have, want in (
                    ('--server-ip', existing.server_ip, wanted.server_ip),
                    ('--netmask', existing.netmask, wanted.netmask),
                    ('--lower-ip', existing.lower_ip, wanted.lower_ip),
                    ('--upper-ip', existing.upper_ip, wanted.upper_ip)):
                if have != want:
                    args.append('%s=%s' % (option, want))
            if not existing.enabled:
                args.append('--enable')
            args += _option_args(existing.options, wanted.options)
        current_fixed = existing.fixed
    for mac in sorted(fixed):
        if current_fixed.get(mac) != fixed[mac]:
            args += ['--mac-address=%s' % mac,
                     '--fixed-address=%s' % fixed[mac]]
    for mac in sorted(set(remove) - set(fixed)):
        if mac in current_fixed:
            args += ['--mac-address=%s' % mac, '--remove-config']
    return args if len(args) > 3 or existing is None else None


def _option_args(have, want):
    args = []
    for number in (constants.DHCP_OPTION_ROUTER, constants.DHCP_OPTION_DNS):
        if number in want and have.get(number) != want[number]:
            args += ['--set-opt=%d' % number, want[number]]
        elif number not in want and number in have:
            args.append('--del-opt=%d' % number)
    return args
