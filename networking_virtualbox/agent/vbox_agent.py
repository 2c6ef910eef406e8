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

"""neutron-virtualbox-agent: the L2 agent of VirtualBox hosts.

It runs beside nova-compute and is built on Neutron's common L2 agent loop
(the macvtap agent's): every ``[agent] polling_interval`` it sweeps
VirtualBox once and tells Neutron what changed.

* Devices are MAC addresses: the NICs of the VMs in Nova's VirtualBox group
  (``[virtualbox] vm_group``) are the ports this host serves; Neutron finds
  a port by its MAC. A sweep is one ``VBoxManage list vms --long`` whatever
  the number of VMs and ports; nothing is polled per port.
* A new NIC (Nova makes them with the VM, before it starts it and while it
  waits for Neutron) is reported up: Neutron marks the port ACTIVE and
  sends Nova ``network-vif-plugged``. A NIC gone (VM deleted, port
  detached) is reported down.
* Admin state down is the NIC's cable pulled (``controlvm setlinkstateN
  off`` on a running VM, ``modifyvm --cable-connectedN off`` on a stopped
  one), up is plugged back; nothing is called when the cable already is
  as it should be.
* Addresses: VirtualBox's own DHCP server of the NIC's network (internal
  network, NAT network, host-only interface) gets the port's Neutron IP as
  a fixed address for its MAC, and the subnet's gateway and DNS servers;
  one ``dhcpserver`` call per server that changes, none when nothing did.
  A mapped NAT network that does not exist is created with the subnet's
  CIDR. An internal network's DHCP server made for a Neutron network is
  removed with the network's last port.
* State reports carry the mappings (``configurations``), which the
  ``virtualbox`` mechanism driver binds with.
* Security groups: Neutron's noop firewall only; VirtualBox cannot filter.
"""

import sys
import threading

from neutron_lib.agent import topics
from oslo_config import cfg
from oslo_log import log as logging
import oslo_messaging
from oslo_service import service

from neutron.api.rpc.callbacks import resources
from neutron.api.rpc.handlers import resources_rpc
from neutron.api.rpc.handlers import securitygroups_rpc as sg_rpc
from neutron.common import config as common_config
from neutron.plugins.ml2.drivers.agent import _agent_manager_base as amb
from neutron.plugins.ml2.drivers.agent import _common_agent as ca

from networking_virtualbox.agent import novawrapper
from networking_virtualbox.agent import vboxnet
from networking_virtualbox import config
from networking_virtualbox import constants

LOG = logging.getLogger(__name__)

NOOP_FIREWALLS = (None, '', 'noop',
                  'neutron.agent.firewall.NoopFirewallDriver')


def subnet_dict(subnet):
    """A Neutron Subnet object (resources RPC) as the plain dict
    vboxnet.dhcp_settings reads."""
    return {
        'id': subnet.id,
        'network_id': subnet.network_id,
        'cidr': str(subnet.cidr),
        'gateway_ip': str(subnet.gateway_ip) if subnet.gateway_ip else None,
        'enable_dhcp': subnet.enable_dhcp,
        'dns_nameservers': [d.address for d in sorted(
            subnet.dns_nameservers or (), key=lambda d: d.order)],
        'allocation_pools': [{'start': str(p.start), 'end': str(p.end)}
                             for p in subnet.allocation_pools or ()],
    }


class VBoxRPCCallBack(sg_rpc.SecurityGroupAgentRpcCallbackMixin,
                      amb.CommonAgentManagerRpcCallBackBase):
    """Neutron's notifications: a port update marks its MAC for the next
    sweep (admin state, fixed IPs); the security group ones go to the noop
    firewall."""

    target = oslo_messaging.Target(version='1.4')

    def port_update(self, context, **kwargs):
        port = kwargs['port']
        LOG.debug('port_update received for port %s', port['id'])
        self.updated_devices.add(port['mac_address'])

    def network_delete(self, context, **kwargs):
        # Its ports are gone first; their removal cleans the DHCP server.
        LOG.debug('network_delete received for %s', kwargs.get('network_id'))

    def network_update(self, context, **kwargs):
        LOG.debug('network_update received for %s',
                  kwargs.get('network', {}).get('id'))


class VBoxManager(amb.CommonAgentManagerBase):
    """The VirtualBox half of the agent loop (see the module's doc).

    :param vbox: a VBoxManage wrapper (``run(*args)``).
    :param get_subnets: callable(network ids) -> [subnet dict]; set by the
        agent loop once its RPC is up.
    """

    def __init__(self, vbox, mappings, tenant_network_types=(),
                 vm_group='/nova', manage_dhcp=True, host=None):
        self._vbox = vbox
        self.mappings = mappings
        self.tenant_network_types = list(tenant_network_types)
        self.vm_group = vm_group
        self.manage_dhcp = manage_dhcp
        self.host = host or cfg.CONF.host
        self.get_subnets = None
        self._nics = None

    # -- the sweep ------------------------------------------------------------

    def sweep(self):
        """Read every VM's NICs: one ``list vms --long``. NICs of VMs
        outside Nova's group, without an adapter or attached to nothing (a
        port detached from a running VM) are not ports."""
        try:
            out = self._vbox.run('list', 'vms', '--long').stdout
        except novawrapper.vbox_exc.VBoxManageError as err:
            # A registered VM whose settings file is gone (deleted by hand)
            # is listed "<inaccessible!>" with an error for it, exit 0, and
            # the other VMs listed as usual: a sweep must not stop there.
            if err.exit_code != 0 or '<inaccessible!>' not in err.stdout:
                raise
            LOG.warning('VirtualBox has inaccessible VMs (a settings file '
                        'gone); their NICs are not seen: %s', err)
            out = err.stdout
        nics = {}
        for vm in vboxnet.parse_vms_long(
                out, novawrapper.parsers.strip_wrapper_warning):
            if self.vm_group not in vm['groups']:
                continue
            for nic in vm['nics']:
                if nic.mode in ('null', 'none'):
                    continue
                if nic.mac in nics:
                    LOG.warning('MAC %s is on NIC %d of VM %s and on NIC %d '
                                'of VM %s; using the first', nic.mac,
                                nics[nic.mac].number, nics[nic.mac].vm_name,
                                nic.number, nic.vm_name)
                    continue
                nics[nic.mac] = nic
        self._nics = nics
        return nics

    def get_all_devices(self):
        # The loop asks several times per iteration (scan, state report,
        # error handling): the iteration's sweep answers all of them.
        if self._nics is None:
            self.sweep()
        return set(self._nics)

    def nic(self, device):
        return (self._nics or {}).get(device)

    def get_devices_modified_timestamps(self, devices):
        return {}

    # -- per port -------------------------------------------------------------

    def plug_interface(self, network_id, network_segment, device,
                       device_owner):
        """Nothing to plug: Nova made the NIC with the VM, attached where
        the binding says, and VirtualBox connects it when the VM starts.
        The port is plugged when its NIC exists."""
        nic = self.nic(device)
        if nic is None:
            return False
        LOG.debug('Port %(mac)s is NIC %(n)d of VM %(vm)s (%(mode)s '
                  '%(network)s, segment %(type)s)',
                  {'mac': device, 'n': nic.number, 'vm': nic.vm_name,
                   'mode': nic.mode, 'network': nic.network,
                   'type': network_segment.network_type})
        return True

    def ensure_port_admin_state(self, device, admin_state_up):
        """Admin state is the NIC's cable; changed only when it differs."""
        nic = self.nic(device)
        if nic is None or nic.cable == bool(admin_state_up):
            return
        state = 'on' if admin_state_up else 'off'
        if nic.running:
            try:
                self._vbox.run('controlvm', nic.vm_uuid,
                               'setlinkstate%d' % nic.number, state)
            except novawrapper.vbox_exc.VBoxInvalidVMState:
                # Stopped since the sweep: its settings then.
                self._vbox.run('modifyvm', nic.vm_uuid,
                               '--cable-connected%d' % nic.number, state)
        else:
            self._vbox.run('modifyvm', nic.vm_uuid,
                           '--cable-connected%d' % nic.number, state)
        LOG.info('Port %(mac)s (NIC %(n)d of VM %(vm)s): cable %(state)s',
                 {'mac': device, 'n': nic.number, 'vm': nic.vm_name,
                  'state': state})
        self._nics[device] = nic._replace(cable=bool(admin_state_up))

    # -- DHCP -----------------------------------------------------------------

    def sync_dhcp(self, devices_details):
        """Program the DHCP servers of the ports in ``devices_details``
        (get_devices_details_list): each port's IPv4 address as a fixed
        address for its MAC, the subnet's settings as the server's. One
        ``list dhcpservers`` and one call per server that changes."""
        if not self.manage_dhcp:
            return
        ports = []
        for details in devices_details:
            nic = self.nic(details.get('device'))
            if 'port_id' not in details or nic is None:
                continue
            server = vboxnet.dhcp_server_of(nic)
            if server is None:
                continue
            ports.append((details, nic, server))
        if not ports:
            return
        subnets = {s['id']: s for s in self.get_subnets(
            sorted({d['network_id'] for d, _, _ in ports}))}
        # server name -> [selector, settings, {mac: ip}, nic]
        plans = {}
        for details, nic, (name, selector) in ports:
            for fixed_ip in details.get('fixed_ips') or ():
                subnet = subnets.get(fixed_ip.get('subnet_id'))
                settings = subnet and vboxnet.dhcp_settings(subnet)
                if settings is None:
                    continue
                plan = plans.setdefault(name, [selector, settings, {}, nic,
                                               subnet])
                plan[2][details['device']] = fixed_ip['ip_address']
                break
        if not plans:
            return
        if any(nic.mode == constants.ATTACH_NATNETWORK
               for _, _, _, nic, _ in plans.values()):
            self._ensure_nat_networks(plans)
        existing = self._dhcp_servers()
        for name, (selector, settings, fixed, nic, _) in sorted(
                plans.items()):
            args = vboxnet.dhcpserver_args(selector, existing.get(name),
                                           settings, fixed)
            if args:
                self._vbox.run(*args)
                LOG.info('DHCP server %(name)s: %(n)d fixed address(es) '
                         'for ports of this host',
                         {'name': name, 'n': len(fixed)})

    def _dhcp_servers(self):
        out = self._vbox.run('list', 'dhcpservers').stdout
        return vboxnet.parse_dhcp_servers(
            out, novawrapper.parsers.strip_wrapper_warning)

    def _ensure_nat_networks(self, plans):
        out = self._vbox.run('list', 'natnets').stdout
        have = {block.get('Name') or block.get('NetworkName') for block in
                novawrapper.parsers.parse_colon_blocks(out)}
        for selector, settings, fixed, nic, subnet in plans.values():
            if nic.mode != constants.ATTACH_NATNETWORK or nic.network in have:
                continue
            # Separate arguments: VBoxManage 7.2's natnetwork remove does
            # not take --netname=NAME; add and modify take both.
            self._vbox.run('natnetwork', 'add', '--netname', nic.network,
                           '--network', subnet['cidr'], '--enable',
                           '--dhcp', 'on')
            have.add(nic.network)
            LOG.info('Created NAT network %(name)s (%(cidr)s)',
                     {'name': nic.network, 'cidr': subnet['cidr']})

    def forget_dhcp(self, devices):
        """Remove the fixed addresses of MACs no longer on this host from
        every DHCP server that has them, and the DHCP server of an internal
        network made for a Neutron network (named after its id) once no NIC
        uses it and it holds no address."""
        if not self.manage_dhcp or not devices:
            return
        devices = {d.lower() for d in devices}
        in_use = {vboxnet.dhcp_server_of(n)[0] for n in
                  (self._nics or {}).values()
                  if vboxnet.dhcp_server_of(n)}
        for name, server in sorted(self._dhcp_servers().items()):
            gone = devices & set(server.fixed)
            if not gone:
                continue
            selector = ('--interface=%s' % name[len(
                vboxnet.HOSTONLY_DHCP_PREFIX):]
                if name.startswith(vboxnet.HOSTONLY_DHCP_PREFIX)
                else '--network=%s' % name)
            if (set(server.fixed) <= devices and name not in in_use and
                    _is_uuid(name)):
                self._vbox.run('dhcpserver', 'remove', selector)
                LOG.info('Removed DHCP server %s: its network has no port '
                         'on this host', name)
                continue
            self._vbox.run(*vboxnet.dhcpserver_args(
                selector, server, None, {}, gone))
            LOG.info('DHCP server %(name)s: removed %(n)d fixed '
                     'address(es)', {'name': name, 'n': len(gone)})

    # -- what the loop asks ---------------------------------------------------

    def get_agent_configurations(self):
        return {constants.CONF_MAPPINGS: self.mappings,
                constants.CONF_TENANT_TYPES: self.tenant_network_types,
                constants.CONF_DHCP: self.manage_dhcp,
                constants.CONF_VM_GROUP: self.vm_group}

    def get_agent_id(self):
        return 'virtualbox-%s' % self.host

    def get_extension_driver_type(self):
        return constants.EXTENSION_DRIVER_TYPE

    def get_rpc_callbacks(self, context, agent, sg_agent):
        return VBoxRPCCallBack(context, agent, sg_agent)

    def get_agent_api(self, **kwargs):
        return None

    def get_rpc_consumers(self):
        return [[topics.PORT, topics.UPDATE],
                [topics.NETWORK, topics.DELETE],
                [topics.NETWORK, topics.UPDATE],
                [topics.SECURITY_GROUP, topics.UPDATE]]

    # No ARP spoofing protection: VirtualBox has no filter to put it in.
    def setup_arp_spoofing_protection(self, device, device_details):
        pass

    def delete_arp_spoofing_protection(self, devices):
        pass

    def delete_unreferenced_arp_protection(self, current_devices):
        pass


def _is_uuid(name):
    parts = name.split('-')
    return (len(name) == 36 and [len(p) for p in parts] == [8, 4, 4, 4, 12]
            and all(c in '0123456789abcdef-' for c in name.lower()))


class _Stopped(Exception):
    """Ends the agent loop (stop() was called)."""


class VBoxAgentLoop(ca.CommonAgentLoop):
    """Neutron's common agent loop with one VirtualBox sweep per iteration
    and the DHCP servers programmed before ports are reported up (a guest
    Nova starts on network-vif-plugged then finds its address ready); it
    ends at the next iteration after stop() (the base loop never ends, so a
    SIGTERM would wait for the launcher's graceful shutdown timeout)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._stopped = threading.Event()

    def stop(self, graceful=True):
        self._stopped.set()
        super().stop(graceful)

    def daemon_loop(self):
        try:
            super().daemon_loop()
        except _Stopped:
            LOG.info('VirtualBox agent loop ended')

    def setup_rpc(self):
        super().setup_rpc()
        self._pull_rpc = resources_rpc.ResourcesPullRpcApi()
        self.mgr.get_subnets = self.get_subnets

    def get_subnets(self, network_ids):
        """The subnets of these networks, in one RPC."""
        subnets = self._pull_rpc.bulk_pull(
            self.context, resources.SUBNET,
            filter_kwargs={'network_id': list(network_ids)})
        return [subnet_dict(s) for s in subnets]

    def scan_devices(self, previous, sync):
        if self._stopped.is_set():
            raise _Stopped()
        self.mgr.sweep()
        return super().scan_devices(previous, sync)

    def treat_devices_added_updated(self, devices):
        try:
            details_list = self.plugin_rpc.get_devices_details_list(
                self.context, devices, self.agent_id, host=cfg.CONF.host)
        except Exception:
            LOG.exception('Unable to get port details for %s', devices)
            return True
        resync = False
        try:
            self.mgr.sync_dhcp(details_list)
        except Exception:
            # The ports still go up (their NICs exist); the next iteration
            # programs the DHCP servers again.
            LOG.exception('Could not program the DHCP servers for %s',
                          devices)
            resync = True
        for details in details_list:
            self._process_device_if_exists(details)
        return resync

    def treat_devices_removed(self, devices):
        resync = super().treat_devices_removed(devices)
        try:
            self.mgr.forget_dhcp(devices)
        except Exception:
            LOG.exception('Could not remove DHCP entries of %s', devices)
            resync = True
        return resync


def parse_mappings(entries):
    try:
        return constants.parse_mappings(entries)
    except ValueError as err:
        LOG.error('[virtualbox] physical_network_mappings: %s. Agent '
                  'terminated!', err)
        sys.exit(1)


def validate_firewall_driver():
    driver = cfg.CONF.SECURITYGROUP.firewall_driver
    if driver not in NOOP_FIREWALLS:
        LOG.error('[securitygroup] firewall_driver is %r, but VirtualBox '
                  'cannot filter a VM\'s traffic: only the noop firewall '
                  'works with this agent. Set firewall_driver = noop. Agent '
                  'terminated!', driver)
        sys.exit(1)


def make_vboxmanage(conf):
    group = conf.virtualbox
    return novawrapper.vboxmanage.VBoxManage(
        command=group.vboxmanage_cmd, retry_count=group.retry_count,
        retry_interval=group.retry_interval,
        timeout=group.vboxmanage_timeout)


def build_agent(conf=cfg.CONF):
    """The agent loop from configuration already read (Neutron's options
    and ours registered): what main runs, and what a process that hosts the
    agent itself (neutron-server with an in-process message bus) starts
    in a thread of its own with ``start()``."""
    validate_firewall_driver()
    group = conf.virtualbox
    manager = VBoxManager(make_vboxmanage(conf),
                          parse_mappings(group.physical_network_mappings),
                          group.tenant_network_types, group.vm_group,
                          group.manage_dhcp, conf.host)
    LOG.info('VirtualBox agent initialized (mappings %s)', manager.mappings)
    return VBoxAgentLoop(manager, conf.AGENT.polling_interval,
                         conf.AGENT.quitting_rpc_timeout,
                         constants.AGENT_TYPE, constants.AGENT_BINARY)


def main():
    """The agent process (console script: networking_virtualbox.cmd.agent,
    which selects oslo.service's backend first)."""
    common_config.register_common_config_options()
    config.register_opts()
    common_config.init(sys.argv[1:])
    common_config.setup_logging()
    agent = build_agent()
    launcher = service.launch(cfg.CONF, agent, restart_method='mutate')
    launcher.wait()
