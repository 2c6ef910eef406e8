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

"""Neutron ports as VirtualBox network adapters.

Every VIF of an instance's network_info becomes one VirtualBox NIC (NIC 1
for the first VIF) with the port's MAC address and the image's NIC model.

A port bound by Neutron's ``virtualbox`` mechanism driver (this
repository's ``networking_virtualbox``; ``binding:vif_type`` ``vbox``)
says where its NIC goes, and only that is used: ``binding:vif_details``
``vbox_attachment`` (bridged, hostonly, hostonlynet, intnet, natnetwork)
and ``vbox_network`` (the host interface, internal network or NAT network).
A ``vbox`` binding without them is refused, never guessed.

Ports bound otherwise (ovs, bridge, a test fixture's binding) get their
attachment from configuration: ``[virtualbox] physical_network_mappings``
maps a Neutron physical network (or network name, or id) to a VirtualBox
attachment::

    physnet1:bridged:eth0        bridged to host interface eth0
    physnet2:hostonly:vboxnet0   host-only interface vboxnet0
    lab:hostonlynet:labnet       host-only network (macOS/arm builds)
    private:intnet:nova-net      internal network nova-net
    isolated:intnet              an internal network named after the
                                 Neutron network's id
    nat1:natnetwork:NatNetwork   NAT network NatNetwork
    public:nat                   the VM's own NAT (no target)

and ``default_network_attachment`` (default ``nat``) serves unmapped
networks, so a guest always has a working network on a laptop. Neutron
must bind the port, though: a port it cannot bind (binding_failed) is
refused by Nova before the driver sees it.

Nothing has to be plugged on the host: VirtualBox connects the NIC when
the VM starts. The VirtualBox Neutron agent (neutron-virtualbox-agent)
finds a ``vbox`` port's NIC by its MAC and reports it up, so Neutron sends
network-vif-plugged and spawn waits for it (``[DEFAULT]
vif_plugging_timeout``, ``vif_plugging_is_fatal``). No agent sees the
NICs of other ports, so for them the driver waits only when
``[virtualbox] wait_for_vif_plugged_events`` says so (see
:meth:`VIFOps.neutron_events`).

NICs are made only with the VM: VirtualBox cannot add an adapter to a
running VM, so the driver does not offer interface attach and Nova refuses
it; detaching a port works (:meth:`VIFOps.detach_interface`).
"""

import contextlib

from oslo_log import log as logging

from nova.compute import task_states
import nova.conf
from nova import exception
from nova.i18n import _
from nova.virt.virtualbox import constants
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import parsers

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

# Attachment modes: name -> (modifyvm --nicN value, option naming the
# target or None, whether a target is required).
MODE_BRIDGED = 'bridged'
MODE_HOSTONLY = 'hostonly'
MODE_HOSTONLYNET = 'hostonlynet'
MODE_INTNET = 'intnet'
MODE_NAT = 'nat'
MODE_NATNETWORK = 'natnetwork'
MODES = {
    MODE_BRIDGED: ('bridged', '--bridge-adapter', True),
    MODE_HOSTONLY: ('hostonly', '--host-only-adapter', True),
    MODE_HOSTONLYNET: ('hostonlynet', '--host-only-net', True),
    MODE_INTNET: ('intnet', '--intnet', False),
    MODE_NAT: ('nat', None, False),
    MODE_NATNETWORK: ('natnetwork', '--nat-network', True),
}
# A slot without an adapter, and what a NIC detached from a running VM is
# left attached to (VirtualBox cannot remove an adapter from a running VM).
NIC_NONE = 'none'
NIC_NULL = 'null'


class TooManyNICs(exception.Invalid):
    msg_fmt = _("Instance %(instance_uuid)s needs %(count)d network "
                "interfaces but a VirtualBox VM has at most %(maximum)d "
                "network adapters (piix3 chipset).")


class InvalidVBoxBinding(exception.Invalid):
    msg_fmt = _("Port %(port_id)s is bound with vif_type vbox, but its "
                "vif_details %(details)s do not name a VirtualBox "
                "attachment: vbox_attachment must be one of %(modes)s and "
                "vbox_network its target.")


# Attachments a vbox binding may name: those that join a network shared
# by VMs (a VM's own NAT is not one).
BOUND_MODES = (MODE_BRIDGED, MODE_HOSTONLY, MODE_HOSTONLYNET, MODE_INTNET,
               MODE_NATNETWORK)


class Attachment(object):
    """Where one NIC is connected: a mode and its target (or None)."""

    def __init__(self, mode, target=None):
        self.mode = mode
        self.target = target

    def __eq__(self, other):
        return (isinstance(other, Attachment) and
                (self.mode, self.target) == (other.mode, other.target))

    def __repr__(self):
        return 'Attachment(%r, %r)' % (self.mode, self.target)

    def args(self, number, key):
        """modifyvm arguments for NIC ``number``; ``key`` names an intnet
        without a target (see :meth:`VIFOps.internal_network_name`)."""
        nic_value, option, _required = MODES[self.mode]
        args = ['--nic%d' % number, nic_value]
        if option:
            args += ['%s%d' % (option, number), self.target or key]
        return args


def parse_attachment(text, where):
    """"MODE[:TARGET]" -> Attachment; ValueError saying what is wrong."""
    mode, sep, target = text.strip().partition(':')
    mode = mode.strip().lower()
    target = target.strip() or None
    if mode not in MODES:
        raise ValueError('%s: unknown attachment %r in %r; use one of %s'
                         % (where, mode, text, ', '.join(sorted(MODES))))
    if MODES[mode][1] is None and target:
        raise ValueError('%s: %r takes no target (%r)' % (where, mode, text))
    if MODES[mode][2] and not target:
        raise ValueError('%s: %r needs a target, e.g. "%s:%s"'
                         % (where, mode, mode, _EXAMPLES[mode]))
    return Attachment(mode, target)


_EXAMPLES = {MODE_BRIDGED: 'eth0', MODE_HOSTONLY: 'vboxnet0',
             MODE_HOSTONLYNET: 'HostNetwork', MODE_NATNETWORK: 'NatNetwork'}


def parse_mappings(entries):
    """[physical_network_mappings entries] -> {key: Attachment}.

    An entry is ``KEY:MODE[:TARGET]``; KEY is a Neutron physical network,
    network name or network id.

    :raises ValueError: naming the bad entry.
    """
    mappings = {}
    for entry in entries or ():
        entry = entry.strip()
        if not entry:
            continue
        key, sep, rest = entry.partition(':')
        key = key.strip()
        if not key or not sep or not rest.strip():
            raise ValueError('[virtualbox] physical_network_mappings: %r is '
                             'not NETWORK:MODE[:TARGET], e.g. '
                             '"physnet1:bridged:eth0"' % entry)
        if key in mappings:
            raise ValueError('[virtualbox] physical_network_mappings: %r is '
                             'mapped twice' % key)
        mappings[key] = parse_attachment(
            rest, '[virtualbox] physical_network_mappings')
    return mappings


def mac_arg(address):
    """Neutron's fa:16:3e:12:34:56 -> VirtualBox's fa163e123456."""
    digits = (address or '').replace(':', '').replace('-', '').lower()
    if len(digits) != 12 or any(c not in '0123456789abcdef' for c in digits):
        raise exception.InvalidInput(
            reason=_('%r is not a MAC address') % address)
    return digits


def _vif_get(vif, key, default=None):
    try:
        value = vif.get(key, default)
    except AttributeError:
        value = getattr(vif, key, default)
    return default if value is None else value


class VIFOps(object):
    """Turns network_info into NIC settings and changes NICs of a VM."""

    def __init__(self, vboxmanage):
        self._vbox = vboxmanage

    # -- configuration --------------------------------------------------------

    def _mappings(self):
        try:
            return parse_mappings(CONF.virtualbox.physical_network_mappings)
        except ValueError as err:
            raise vbox_exc.VBoxConfigError(reason=str(err))

    def _default(self):
        try:
            return parse_attachment(
                CONF.virtualbox.default_network_attachment,
                '[virtualbox] default_network_attachment')
        except ValueError as err:
            raise vbox_exc.VBoxConfigError(reason=str(err))

    def validate(self):
        """Check the mappings against the host (init_host).

        One ``list`` call per kind of host network the configuration names
        (none for the default ``nat``).

        :raises VBoxConfigError: naming the option and what exists.
        """
        attachments = list(self._mappings().items())
        attachments.append(('(default_network_attachment)', self._default()))
        wanted = {}
        for key, att in attachments:
            if att.mode in _HOST_LISTS and att.target:
                wanted.setdefault(att.mode, []).append((key, att.target))
        problems = []
        for mode, names in sorted(wanted.items()):
            available = self._host_networks(mode)
            for key, target in names:
                if target not in available:
                    problems.append(
                        '%s maps %r to %s %r, which does not exist on this '
                        'host (%s: %s)' % (
                            '[virtualbox] physical_network_mappings'
                            if not key.startswith('(') else
                            '[virtualbox] default_network_attachment',
                            key, mode, target, _HOST_LISTS[mode][1],
                            ', '.join(sorted(available)) or 'none'))
        if problems:
            raise vbox_exc.VBoxConfigError(reason='; '.join(problems))

    def _host_networks(self, mode):
        subcommand, what = _HOST_LISTS[mode]
        try:
            out = self._vbox.run('list', subcommand).stdout
        except vbox_exc.VBoxSyntaxError:
            raise vbox_exc.VBoxConfigError(
                reason='this VirtualBox has no %s ("VBoxManage list %s" '
                       'is unknown); choose another attachment than %r'
                       % (what, subcommand, mode))
        names = set()
        for block in parsers.parse_colon_blocks(out):
            name = block.get('Name') or block.get('NetworkName')
            if name:
                names.add(name)
        return names

    def attachment_for(self, vif):
        """The Attachment of a VIF: a vbox binding's own; else by the
        network's physical network, then its name, then its id; else the
        default."""
        if _vif_get(vif, 'type') == constants.VIF_TYPE_VBOX:
            return self.bound_attachment(vif)
        mappings = self._mappings()
        network = _vif_get(vif, 'network', {}) or {}
        meta = _vif_get(network, 'meta', {}) or {}
        for key in (meta.get('physical_network'),
                    _vif_get(network, 'label'), _vif_get(network, 'id')):
            if key and key in mappings:
                return mappings[key]
        return self._default()

    @staticmethod
    def bound_attachment(vif):
        """The Attachment a vbox binding's vif_details name.

        :raises InvalidVBoxBinding: they name none (or one a shared
            network cannot have).
        """
        details = _vif_get(vif, 'details', {}) or {}
        mode = details.get(constants.VIF_DETAILS_VBOX_ATTACHMENT)
        target = details.get(constants.VIF_DETAILS_VBOX_NETWORK)
        if mode not in BOUND_MODES or not target or not isinstance(
                target, str):
            raise InvalidVBoxBinding(port_id=_vif_get(vif, 'id'),
                                     details=dict(details),
                                     modes=', '.join(BOUND_MODES))
        return Attachment(mode, target)

    @staticmethod
    def nic_type(image_meta):
        """VirtualBox --nic-type from the image's hw_vif_model, else
        [virtualbox] nic_type.

        :raises UnsupportedHardware: a model VirtualBox has no NIC for.
        """
        model = None
        props = getattr(image_meta, 'properties', None)
        if props is not None and props.obj_attr_is_set('hw_vif_model'):
            model = props.hw_vif_model
        if not model:
            return CONF.virtualbox.nic_type
        if model in constants.NIC_MODELS:
            return constants.NIC_MODELS[model]
        raise exception.UnsupportedHardware(model=model,
                                            virt=constants.HYPERVISOR_TYPE)

    @staticmethod
    def internal_network_name(vif):
        """The VirtualBox internal network of a VIF whose intnet attachment
        names none: the Neutron network's id.

        Not its label (name): labels are per project, so two projects'
        "private" networks would share one internal network. VirtualBox
        takes names of up to 127 characters; a UUID is 36. Only a network
        without an id falls back to its label.
        """
        network = _vif_get(vif, 'network', {}) or {}
        return (_vif_get(network, 'id') or _vif_get(network, 'label') or
                'nova-net')

    def nic_settings(self, number, vif, nic_type):
        """modifyvm arguments giving NIC ``number`` this VIF."""
        att = self.attachment_for(vif)
        return (att.args(number, self.internal_network_name(vif)) +
                ['--nic-type%d' % number, nic_type,
                 '--mac-address%d' % number,
                 mac_arg(_vif_get(vif, 'address')),
                 '--cable-connected%d' % number, 'on'])

    def nic_args(self, instance, network_info, image_meta):
        """Every NIC of a new VM, for vmops' single modifyvm: NIC 1 for the
        first VIF; the remaining of the 8 slots are set to none.

        :raises TooManyNICs: more VIFs than VirtualBox has adapters.
        """
        vifs = list(network_info or [])
        if len(vifs) > constants.MAX_NICS:
            raise TooManyNICs(instance_uuid=instance.uuid, count=len(vifs),
                              maximum=constants.MAX_NICS)
        nic_type = self.nic_type(image_meta) if vifs else None
        args = []
        for index, vif in enumerate(vifs):
            args += self.nic_settings(index + 1, vif, nic_type)
        for number in range(len(vifs) + 1, constants.MAX_NICS + 1):
            args += ['--nic%d' % number, 'none']
        return args

    # -- Neutron events -------------------------------------------------------

    @staticmethod
    def neutron_events(network_info):
        """The network-vif-plugged events worth waiting for, of the VIFs
        Neutron reports down (as the libvirt driver does), when [DEFAULT]
        vif_plugging_timeout is set: those of vbox ports, which the
        VirtualBox agent reports up; those of other ports only when
        [virtualbox] wait_for_vif_plugged_events is on (no agent sees their
        NICs, so the event would not come)."""
        if not CONF.vif_plugging_timeout:
            return []
        return [('network-vif-plugged', vif['id'])
                for vif in network_info or []
                if vif.get('active', True) is False and (
                    CONF.virtualbox.wait_for_vif_plugged_events or
                    _vif_get(vif, 'type') == constants.VIF_TYPE_VBOX)]

    @contextlib.contextmanager
    def wait_for_vif_plugged(self, virtapi, instance, network_info):
        """Wrap the VM start of spawn: waits for the events above, honouring
        vif_plugging_timeout and vif_plugging_is_fatal. With no events (no
        vbox port, the option off) it yields at once, so spawn never hangs
        on a laptop where no Neutron agent reports VirtualBox NICs."""
        events = self.neutron_events(network_info)
        if getattr(instance, 'task_state', None) == \
                task_states.REBUILD_SPAWNING:
            # A rebuild re-creates the VM on this host with the same ports
            # (MACs) within one of the agent's sweeps: the agent sees no NIC
            # go or come, so Neutron sends no event, however stale the
            # "active" of the cache Nova passes (libvirt's event comes from
            # OVS seeing the tap device re-created). The NIC's attachment
            # is the VM's own, and the DHCP entry is kept for the MAC.
            events = []
        if not events:
            yield
            return

        def failed(event_name, instance):
            LOG.error('Neutron reported failure on event %s',
                      event_name, instance=instance)
            if CONF.vif_plugging_is_fatal:
                raise exception.VirtualInterfaceCreateException()

        try:
            with virtapi.wait_for_instance_event(
                    instance, events, timeout=CONF.vif_plugging_timeout,
                    error_callback=failed):
                yield
        except exception.InstanceEventTimeout:
            LOG.warning('Timeout waiting for %s for instance with vm_state '
                        '%s and task_state %s.', events,
                        getattr(instance, 'vm_state', None),
                        getattr(instance, 'task_state', None),
                        instance=instance)
            if CONF.vif_plugging_is_fatal:
                raise exception.VirtualInterfaceCreateException()

    # -- plug, unplug, detach -------------------------------------------------

    def plug_vifs(self, instance, network_info):
        """Nothing to do on the host: a NIC's attachment is part of the VM
        and VirtualBox connects it when the VM starts."""
        LOG.debug('plug_vifs: VirtualBox connects NICs itself',
                  instance=instance)

    def unplug_vifs(self, instance, network_info):
        """Nothing to do on the host (the NICs go with the VM)."""
        LOG.debug('unplug_vifs: VirtualBox disconnects NICs itself',
                  instance=instance)

    def _nics(self, instance):
        """(VMState, {nic number: (nic value, MAC lower case)}) from one
        showvminfo call."""
        info = self._vbox.show_instance_info(instance)
        nics = {}
        for number in range(1, constants.MAX_NICS + 1):
            value = info.get('nic%d' % number)
            if value is None:
                continue
            mac = str(info.get('macaddress%d' % number, '')).lower()
            nics[number] = (value, mac)
        return info.get('VMState', constants.STATE_UNKNOWN), nics

    def detach_interface(self, instance, vif):
        """Remove the NIC with the VIF's MAC address: ``modifyvm --nicN
        none`` on a stopped VM. A running VM's adapter cannot be removed,
        so its cable is pulled and it is attached to nothing (``controlvm
        setlinkstateN off``, ``controlvm nicN null``): the guest loses the
        link at once. VirtualBox saves that setting, so the adapter stays
        in the VM, disconnected, after the VM stops too.

        A MAC that no NIC has is not an error (detach is repeated by Nova
        after failures): it is logged and ignored.
        """
        try:
            state, nics = self._nics(instance)
        except exception.InstanceNotFound:
            LOG.info('VM gone; nothing to detach', instance=instance)
            return None
        mac = mac_arg(_vif_get(vif, 'address'))
        numbers = [n for n, (value, nic_mac) in sorted(nics.items())
                   if value != NIC_NONE and nic_mac == mac]
        if not numbers:
            LOG.warning('No NIC has MAC address %s; nothing to detach', mac,
                        instance=instance)
            return None
        number = numbers[0]
        running = state in constants.ACTIVE_STATES
        if running and nics[number][0] == NIC_NULL:
            LOG.info('NIC %d is disconnected already', number,
                     instance=instance)
        elif running:
            self._vbox.run('controlvm', instance.uuid,
                           'setlinkstate%d' % number, 'off')
            self._vbox.run('controlvm', instance.uuid, 'nic%d' % number,
                           'null')
            LOG.info('Disconnected NIC %d of the running VM (port %s); the '
                     'adapter stays until the VM is stopped', number,
                     _vif_get(vif, 'id'), instance=instance)
        else:
            self._vbox.run('modifyvm', instance.uuid, '--nic%d' % number,
                           NIC_NONE)
            LOG.info('Removed NIC %d (port %s)', number, _vif_get(vif, 'id'),
                     instance=instance)
        return number


# Attachment modes whose targets must exist on the host, and how to list
# them: mode -> (VBoxManage list subcommand, what it lists).
_HOST_LISTS = {
    MODE_BRIDGED: ('bridgedifs', 'host interfaces for bridging'),
    MODE_HOSTONLY: ('hostonlyifs', 'host-only interfaces'),
    MODE_HOSTONLYNET: ('hostonlynets', 'host-only networks'),
    MODE_NATNETWORK: ('natnets', 'NAT networks'),
}
