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

"""Configuration options of the VirtualBox driver: [virtualbox] and [rdp].

The options of the 2015 driver keep their names and defaults; the rest are
what a real deployment needs. ``list_opts`` feeds oslo-config-generator
through the ``oslo.config.opts`` entry point ``nova.virt.virtualbox``.
"""

import os
import re

from oslo_config import cfg

virtualbox_group = cfg.OptGroup(
    'virtualbox',
    title='VirtualBox options',
    help='Options of the VirtualBox compute driver '
         '(compute_driver = virtualbox.VBoxDriver).')

rdp_group = cfg.OptGroup(
    'rdp',
    title='VirtualBox Remote Display (RDP) options',
    help='Transport security of the RDP server that VirtualBox Remote '
         'Display (VRDE) offers when [virtualbox] vrde_module is the '
         'built-in RDP module.')

# "3389" or "5000-5050,5100"; oslo.config rejects anything else on read.
PORT_RANGES_REGEX = r'^\s*\d+(\s*-\s*\d+)?(\s*,\s*\d+(\s*-\s*\d+)?)*\s*$'

virtualbox_opts = [
    # --- Options of the original driver, same names and defaults ---------
    cfg.BoolOpt('remote_display',
                default=False,
                help='Enable VirtualBox Remote Display (VRDE) for every '
                     'instance, so its console can be reached over RDP or, '
                     'with the VNC extension pack, over VNC.'),
    cfg.IntOpt('retry_count',
               default=3,
               min=0,
               max=100,
               help='How many times a VBoxManage call that failed for a '
                    'transient reason (session locked, object not ready) is '
                    'tried again before the error is raised. 0 disables '
                    'retries.'),
    cfg.FloatOpt('retry_interval',
                 default=1,
                 min=0,
                 max=60,
                 help='Seconds to wait before the first retry of a transient '
                      'VBoxManage failure; each further retry waits twice as '
                      'long, capped at 10 times this value. Also the interval '
                      'between state checks while waiting for a guest.'),
    cfg.StrOpt('vboxmanage_cmd',
               default='VBoxManage',
               help='The VBoxManage command: a name found on PATH or an '
                    'absolute path, optionally followed by arguments '
                    '(split like a shell would, never run through one). '
                    'Point it at the simulator (vboxmanage-sim) to run '
                    'without VirtualBox.'),
    cfg.BoolOpt('vrde_unique_port',
                default=False,
                help='Give every instance its own VRDE port taken from '
                     'vrde_port, instead of letting VirtualBox pick one from '
                     'the range. A port is never shared by two instances and '
                     'is freed when the instance is destroyed.'),
    cfg.StrOpt('vrde_module',
               default='Oracle VM VirtualBox Extension Pack',
               help='The VRDE extension pack that serves the remote '
                    'display: "Oracle VM VirtualBox Extension Pack" for RDP '
                    'or "VNC" for the VNC extension pack (needed by '
                    'get_vnc_console).'),
    cfg.StrOpt('vrde_port',
               default='3389',
               regex=PORT_RANGES_REGEX,
               help='VRDE port or port ranges, e.g. "3389" or '
                    '"5000-5050,5100". With vrde_unique_port each instance '
                    'gets one port of these.'),
    cfg.BoolOpt('vrde_require_instance_uuid_as_password',
                default=False,
                help='Use the instance UUID as its VNC password (VNC '
                     'extension pack only). When off, each instance gets a '
                     'random password of vrde_password_length characters.'),
    cfg.IntOpt('vrde_password_length',
               default=None,
               min=1,
               max=128,
               help='Length of the random VNC password generated for each '
                    'instance (VNC extension pack only: VirtualBox\'s VNC '
                    'server admits no one without a password). Unset means '
                    '8, all that VNC authentication uses.'),
    cfg.IntOpt('wait_soft_reboot_seconds',
               default=60,
               min=0,
               help='Seconds to wait for a guest to shut down after the ACPI '
                    'power button during a soft reboot before falling back '
                    'to a hard reboot.'),
    # --- Added for real deployments ----------------------------------------
    cfg.IntOpt('vboxmanage_timeout',
               default=60,
               min=1,
               help='Seconds after which a VBoxManage query or configuration '
                    'call is killed and reported as timed out.'),
    cfg.IntOpt('vboxmanage_long_timeout',
               default=1800,
               min=1,
               help='Seconds after which a long VBoxManage call (medium '
                    'clone or resize, snapshot, import) is killed.'),
    cfg.BoolOpt('use_linked_clones',
                default=True,
                help='Give each instance a differencing disk on the cached '
                     'image (fast, small) when Nova\'s [DEFAULT] '
                     'use_cow_images is also on; otherwise a full copy.'),
    cfg.StrOpt('instances_path',
               help='Folder holding the instances\' VM folders and disks. '
                    'Unset means Nova\'s [DEFAULT] instances_path.'),
    cfg.StrOpt('image_cache_path',
               help='Folder of the cached, converted base images. Unset '
                    'means "_base" inside the instances path.'),
    cfg.StrOpt('vm_group',
               default='/nova',
               regex=r'^/[^,\s]*$',
               help='VirtualBox group the driver puts its VMs in, so they '
                    'stand apart from the user\'s own VMs in the VirtualBox '
                    'window. The driver only ever lists, changes or deletes '
                    'VMs it marked as its own.'),
    cfg.HostAddressOpt('vrde_address',
                       default='127.0.0.1',
                       help='Address the VRDE server of each instance '
                            'listens on. With vrde_module VNC, the console '
                            'relay nova-compute runs for Nova\'s VNC proxy '
                            'listens on it too, on a port the system picks, '
                            'and admits the proxy without a password: keep '
                            'it on 127.0.0.1 when the proxy runs on this '
                            'host, else on an address only the proxy can '
                            'reach.'),
    cfg.StrOpt('os_type',
               default='Linux_64',
               help='VirtualBox OS type (VBoxManage list ostypes) used when '
                    'the image has no os_type/hw_vbox_os_type property.'),
    cfg.StrOpt('storage_bus',
               default='sata',
               choices=[('sata', 'SATA AHCI controller'),
                        ('ide', 'PIIX4 IDE controller'),
                        ('scsi', 'LsiLogic SCSI controller'),
                        ('virtio', 'virtio-scsi controller')],
               help='Default disk bus when the image has no hw_disk_bus.'),
    cfg.StrOpt('nic_type',
               default='82540EM',
               choices=[('82540EM', 'Intel PRO/1000 MT Desktop'),
                        ('82543GC', 'Intel PRO/1000 T Server'),
                        ('82545EM', 'Intel PRO/1000 MT Server'),
                        ('Am79C970A', 'PCnet-PCI II'),
                        ('Am79C973', 'PCnet-FAST III'),
                        ('virtio', 'virtio-net')],
               help='Default NIC model when the image has no hw_vif_model.'),
    cfg.IntOpt('console_log_max_bytes',
               default=1024 * 1024,
               min=1024,
               help='The most bytes of the serial console log that '
                    'get_console_output returns (the end of the log).'),
    # --- Lifecycle events ---
    cfg.IntOpt('lifecycle_event_interval',
               default=10,
               min=0,
               help='Seconds between two checks for instances powered off, '
                    'paused, resumed, started or saved outside Nova (the '
                    'VirtualBox window, VBoxManage), each reported to Nova '
                    'as a lifecycle event so it syncs the instance at once '
                    'instead of at the next sync_power_state_interval. One '
                    'background thread; each check costs one "VBoxManage '
                    'list runningvms" plus one showvminfo per VM whose '
                    'state changed and one more to re-verify a running VM '
                    '(in turn). 0 disables the events.'),
    # --- Images (imagecache) ---
    # --- Consoles (consoleops) ---
    # --- Networking (vif) ---
    cfg.ListOpt('physical_network_mappings',
                default=[],
                help='Which VirtualBox network each Neutron network\'s '
                     'NICs are attached to: a comma-separated list of '
                     'NETWORK:MODE[:TARGET], where NETWORK is the Neutron '
                     'physical network (provider:physical_network), else '
                     'the network name, else its id, and MODE[:TARGET] is '
                     'bridged:<host interface> (VBoxManage list '
                     'bridgedifs), hostonly:<host-only interface> '
                     '(list hostonlyifs), hostonlynet:<host-only network> '
                     '(list hostonlynets, VirtualBox 7 on macOS), '
                     'intnet[:<internal network>] (default name: the '
                     'Neutron network id), natnetwork:<NAT network> '
                     '(list natnets) or nat (the VM\'s own NAT). Example: '
                     '"physnet1:bridged:eth0,private:intnet:nova-net". '
                     'Names that do not exist on the host stop '
                     'nova-compute at start.'),
    cfg.StrOpt('default_network_attachment',
               default='nat',
               help='MODE[:TARGET] for NICs on networks that '
                    'physical_network_mappings does not name (same '
                    'syntax). The default "nat" gives each guest '
                    'VirtualBox\'s own NAT with DHCP, so it reaches the '
                    'outside world without any host setup; the addresses '
                    'Neutron assigned are not used on it.'),
    cfg.BoolOpt('wait_for_vif_plugged_events',
                default=False,
                help='Also wait for Neutron\'s network-vif-plugged event '
                     'of ports bound with other VIF types than vbox (up to '
                     '[DEFAULT] vif_plugging_timeout seconds, before a new '
                     'instance starts; failing it when [DEFAULT] '
                     'vif_plugging_is_fatal). Ports bound vif_type vbox (the '
                     'virtualbox ML2 mechanism driver) are always waited '
                     'for: the VirtualBox Neutron agent reports them up. '
                     'Off by default: no other Neutron agent sees '
                     'VirtualBox NICs, so their event never comes.'),
    # --- Volumes (volumeops) ---
    cfg.StrOpt('iscsi_initiator_name',
               help='iSCSI initiator name (IQN) that VirtualBox\'s built-in '
                    'initiator uses and that Cinder is told to allow. '
                    'Unset means the InitiatorName of '
                    '/etc/iscsi/initiatorname.iscsi when that file exists, '
                    'else a name generated once and kept in the instances '
                    'path (virtualbox-initiatorname).'),
]

rdp_opts = [
    cfg.BoolOpt('encrypted_rdp',
                default=False,
                help='Require TLS for RDP connections to instance consoles.'),
    cfg.StrOpt('security_method',
               default='RDP',
               choices=[('RDP', 'standard RDP security'),
                        ('TLS', 'TLS only'),
                        ('Negotiate', 'TLS when the client can, RDP else')],
               help='RDP security method (VRDE property '
                    'Security/Method).'),
    cfg.StrOpt('server_certificate',
               help='Path of the PEM server certificate for TLS RDP.'),
    cfg.StrOpt('server_private_key',
               help='Path of the PEM private key of server_certificate.'),
    cfg.StrOpt('server_ca',
               help='Path of the PEM CA certificate that signed '
                    'server_certificate.'),
]


def register_opts(conf):
    conf.register_group(virtualbox_group)
    conf.register_opts(virtualbox_opts, group=virtualbox_group)
    conf.register_group(rdp_group)
    conf.register_opts(rdp_opts, group=rdp_group)


def list_opts():
    return [(virtualbox_group, virtualbox_opts),
            (rdp_group, rdp_opts)]


def parse_port_ranges(text):
    """Turn "3389" or "5000-5050,5100" into a sorted list of ports.

    :raises ValueError: with a message naming the bad part.
    """
    if not re.match(PORT_RANGES_REGEX, text):
        raise ValueError('vrde_port %r is not a port or a comma-separated '
                         'list of ports and ranges like "5000-5050,5100"'
                         % text)
    ports = set()
    for part in text.split(','):
        low, _, high = part.partition('-')
        low = int(low)
        high = int(high) if high.strip() else low
        if not 1 <= low <= high <= 65535:
            raise ValueError('vrde_port range %r must lie within 1-65535 '
                             'with its low end first' % part.strip())
        ports.update(range(low, high + 1))
    return sorted(ports)


def validate(conf):
    """Check what oslo.config's types cannot: cross-option rules and files.

    :returns: a list of problems, each telling the operator what to fix.
    """
    problems = []
    # Read every option once, so a bad value stops nova-compute at start
    # rather than at the first operation that reads it.
    for group, opts in list_opts():
        for opt in opts:
            try:
                getattr(conf[group.name], opt.name)
            except (cfg.ConfigFileValueError, ValueError) as err:
                problems.append('[%s] %s: %s' % (group.name, opt.name, err))
    if problems:
        return problems
    vbox = conf.virtualbox
    try:
        parse_port_ranges(vbox.vrde_port)
    except ValueError as err:
        problems.append('[virtualbox] %s' % err)
    if vbox.vboxmanage_long_timeout < vbox.vboxmanage_timeout:
        problems.append('[virtualbox] vboxmanage_long_timeout (%s) must not '
                        'be shorter than vboxmanage_timeout (%s)'
                        % (vbox.vboxmanage_long_timeout,
                           vbox.vboxmanage_timeout))
    rdp = conf.rdp
    if rdp.encrypted_rdp or rdp.security_method != 'RDP':
        for name in ('server_certificate', 'server_private_key'):
            path = getattr(rdp, name)
            if not path:
                problems.append('[rdp] %s must be set when encrypted_rdp is '
                                'on or security_method is not RDP' % name)
            elif not os.path.isfile(path):
                problems.append('[rdp] %s %r is not a readable file'
                                % (name, path))
        if rdp.server_ca and not os.path.isfile(rdp.server_ca):
            problems.append('[rdp] server_ca %r is not a readable file'
                            % rdp.server_ca)
    return problems
