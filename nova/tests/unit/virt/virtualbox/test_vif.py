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

import os
from unittest import mock

import testtools

from nova.compute import task_states
from nova import exception
from nova.network import model as network_model
from nova import objects
from nova.tests.unit.virt.virtualbox import test_base
from nova.virt.virtualbox import constants
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import vboxmanage
from nova.virt.virtualbox import vif as vbox_vif

# `list hostonlyifs` of a host with two interfaces (the 7.2 transcript 75
# is empty: the machine it was taken on has none). Same format.
HOSTONLYIFS = """Name:            vboxnet0
GUID:            786f6276-656e-4074-8000-0a0027000000
DHCP:            Disabled
IPAddress:       192.168.56.1
NetworkMask:     255.255.255.0
IPV6Address:
IPV6NetworkMaskPrefixLength: 0
HardwareAddress: 0a:00:27:00:00:00
MediumType:      Ethernet
Wireless:        No
Status:          Up
VBoxNetworkName: HostInterfaceNetworking-vboxnet0

Name:            vboxnet1
GUID:            786f6276-656e-4174-8000-0a0027000001
DHCP:            Disabled
IPAddress:       192.168.57.1
NetworkMask:     255.255.255.0
IPV6Address:
IPV6NetworkMaskPrefixLength: 0
HardwareAddress: 0a:00:27:00:00:01
MediumType:      Ethernet
Wireless:        No
Status:          Up
VBoxNetworkName: HostInterfaceNetworking-vboxnet1

"""

NATNETS_52 = """NetworkName:    NatNetwork
IP:             10.0.2.1
Network:        10.0.2.0/24
IPv6 Enabled:   No
IPv6 Prefix:    fd17:625c:f037:2::/64
DHCP Enabled:   Yes
Enabled:        Yes
loopback mappings (ipv4)
        127.0.0.1=2
"""


def make_vif(number, physnet=None, label='private', net_id=None,
             active=True):
    network = network_model.Network(
        id=net_id or 'net-%d' % number, label=label, bridge='br-int',
        physical_network=physnet)
    return network_model.VIF(
        id='port-%d' % number, address='fa:16:3e:00:00:%02x' % number,
        network=network, type=network_model.VIF_TYPE_OVS, active=active)


def image_meta(**props):
    return objects.ImageMeta.from_dict({'properties': props})


class VIFTestBase(test_base.VBoxTestCase):

    def setUp(self):
        super().setUp()
        self.vifops = vbox_vif.VIFOps(self.vbox)
        self.instance = test_base.FakeInstance()


class MappingTestCase(VIFTestBase):

    def test_parse_mappings_every_mode(self):
        mappings = vbox_vif.parse_mappings([
            'physnet1:bridged:eth0', 'physnet2:hostonly:vboxnet0',
            'private:intnet:nova-net', 'lab:intnet', 'out:nat',
            'nn:natnetwork:NatNetwork', 'mac:hostonlynet:HostNet'])
        self.assertEqual(vbox_vif.Attachment('bridged', 'eth0'),
                         mappings['physnet1'])
        self.assertEqual(vbox_vif.Attachment('hostonly', 'vboxnet0'),
                         mappings['physnet2'])
        self.assertEqual(vbox_vif.Attachment('intnet', 'nova-net'),
                         mappings['private'])
        self.assertEqual(vbox_vif.Attachment('intnet'), mappings['lab'])
        self.assertEqual(vbox_vif.Attachment('nat'), mappings['out'])
        self.assertEqual(vbox_vif.Attachment('natnetwork', 'NatNetwork'),
                         mappings['nn'])
        self.assertEqual(vbox_vif.Attachment('hostonlynet', 'HostNet'),
                         mappings['mac'])

    def test_parse_mappings_errors_name_the_entry(self):
        for bad, text in (('physnet1', 'NETWORK:MODE'),
                          ('physnet1:warp:eth0', 'unknown attachment'),
                          ('physnet1:bridged', 'needs a target'),
                          ('physnet1:nat:eth0', 'takes no target'),
                          (':bridged:eth0', 'NETWORK:MODE')):
            err = self.assertRaises(ValueError, vbox_vif.parse_mappings,
                                    [bad])
            self.assertIn(text, str(err))
        err = self.assertRaises(ValueError, vbox_vif.parse_mappings,
                                ['a:nat', 'a:intnet'])
        self.assertIn('twice', str(err))

    def test_attachment_by_physnet_then_name_then_id(self):
        self.flags(physical_network_mappings=[
            'physnet1:bridged:eth0', 'private:intnet:nova-net',
            'net-id-9:hostonly:vboxnet1'], group='virtualbox')
        self.assertEqual(
            vbox_vif.Attachment('bridged', 'eth0'),
            self.vifops.attachment_for(make_vif(1, physnet='physnet1')))
        self.assertEqual(
            vbox_vif.Attachment('intnet', 'nova-net'),
            self.vifops.attachment_for(make_vif(2, physnet='other')))
        self.assertEqual(
            vbox_vif.Attachment('hostonly', 'vboxnet1'),
            self.vifops.attachment_for(make_vif(3, label='x',
                                                net_id='net-id-9')))

    def test_unmapped_network_gets_nat_by_default(self):
        self.assertEqual(vbox_vif.Attachment('nat'),
                         self.vifops.attachment_for(make_vif(1)))
        self.flags(default_network_attachment='intnet:lab',
                   group='virtualbox')
        self.assertEqual(vbox_vif.Attachment('intnet', 'lab'),
                         self.vifops.attachment_for(make_vif(1)))

    def test_bad_option_is_a_config_error(self):
        self.flags(default_network_attachment='null', group='virtualbox')
        err = self.assertRaises(vbox_exc.VBoxConfigError,
                                self.vifops.attachment_for, make_vif(1))
        self.assertIn('default_network_attachment', str(err))


class ValidateTestCase(VIFTestBase):

    def _lists(self, **outputs):
        def run(*args, **kwargs):
            if args[:1] == ('list',) and args[1] in outputs:
                value = outputs[args[1]]
                if isinstance(value, Exception):
                    raise value
                return vboxmanage.Result(value, '')
            raise AssertionError('unexpected call %r' % (args,))
        self.vbox.run.side_effect = run

    def test_default_nat_needs_no_call(self):
        self.vifops.validate()
        self.vbox.run.assert_not_called()

    def test_names_found_in_real_listings(self):
        self.flags(physical_network_mappings=[
            'physnet1:bridged:eth0', 'physnet2:hostonly:vboxnet1',
            'nn:natnetwork:NatNetwork', 'p:intnet:anything'],
            group='virtualbox')
        self._lists(bridgedifs=self.stdout_of('74-list-bridgedifs.txt'),
                    hostonlyifs=HOSTONLYIFS, natnets=NATNETS_52)
        self.vifops.validate()
        self.assertEqual(3, self.vbox.run.call_count)

    def test_missing_interface_is_a_clear_error(self):
        self.flags(physical_network_mappings=[
            'physnet1:bridged:wlan0', 'physnet2:hostonly:vboxnet0'],
            group='virtualbox')
        self._lists(bridgedifs=self.stdout_of('74-list-bridgedifs.txt'),
                    hostonlyifs=self.stdout_of('75-list-hostonlyifs.txt'))
        err = self.assertRaises(vbox_exc.VBoxConfigError,
                                self.vifops.validate)
        text = str(err)
        self.assertIn("'physnet1' to bridged 'wlan0'", text)
        self.assertIn('eth0, ifb0, ifb1', text)
        self.assertIn("'physnet2' to hostonly 'vboxnet0'", text)
        self.assertIn('host-only interfaces: none', text)

    def test_default_attachment_is_validated_too(self):
        self.flags(default_network_attachment='bridged:en0',
                   group='virtualbox')
        self._lists(bridgedifs=self.stdout_of('74-list-bridgedifs.txt'))
        err = self.assertRaises(vbox_exc.VBoxConfigError,
                                self.vifops.validate)
        self.assertIn('default_network_attachment', str(err))

    def test_hostonlynet_unknown_to_this_build(self):
        self.flags(physical_network_mappings=['p:hostonlynet:HostNet'],
                   group='virtualbox')
        self._lists(hostonlynets=vbox_exc.VBoxSyntaxError(
            command='list hostonlynets', exit_code=2,
            messages=['Unknown subcommand "hostonlynets".']))
        err = self.assertRaises(vbox_exc.VBoxConfigError,
                                self.vifops.validate)
        self.assertIn('hostonlynet', str(err))


class NicArgsTestCase(VIFTestBase):

    def test_mac_formatting(self):
        self.assertEqual('fa163e0a0b0c',
                         vbox_vif.mac_arg('FA:16:3E:0A:0B:0C'))
        self.assertEqual('fa163e0a0b0c',
                         vbox_vif.mac_arg('fa-16-3e-0a-0b-0c'))
        for bad in ('', None, 'fa:16:3e', 'zz:16:3e:0a:0b:0c'):
            self.assertRaises(exception.InvalidInput, vbox_vif.mac_arg, bad)

    def test_the_binding_vif_type_does_not_matter(self):
        # Only the MAC and the network mapping make a NIC: a port bound ovs
        # (NeutronFixture's default), bridge, or by any other mechanism
        # driver but ours (vbox, VBoxBindingTestCase) gives the same
        # settings.
        expected = self.vifops.nic_settings(1, make_vif(1), '82540EM')
        for vif_type in (network_model.VIF_TYPE_BRIDGE,
                         network_model.VIF_TYPE_OTHER,
                         network_model.VIF_TYPE_TAP):
            vif = make_vif(1)
            vif['type'] = vif_type
            self.assertEqual(expected,
                             self.vifops.nic_settings(1, vif, '82540EM'))

    def test_nic_args_numbers_from_one_and_clears_the_rest(self):
        self.flags(physical_network_mappings=[
            'physnet1:bridged:eth0', 'physnet2:hostonly:vboxnet0',
            'private:intnet:nova-net', 'nn:natnetwork:NatNetwork'],
            group='virtualbox')
        network_info = network_model.NetworkInfo([
            make_vif(1, physnet='physnet1'), make_vif(2, physnet='physnet2'),
            make_vif(3), make_vif(4, label='nn'), make_vif(5, label='pub')])
        args = self.vifops.nic_args(self.instance, network_info,
                                    image_meta(hw_vif_model='virtio'))
        expected = [
            '--nic1', 'bridged', '--bridge-adapter1', 'eth0',
            '--nic-type1', 'virtio', '--mac-address1', 'fa163e000001',
            '--cable-connected1', 'on',
            '--nic2', 'hostonly', '--host-only-adapter2', 'vboxnet0',
            '--nic-type2', 'virtio', '--mac-address2', 'fa163e000002',
            '--cable-connected2', 'on',
            '--nic3', 'intnet', '--intnet3', 'nova-net',
            '--nic-type3', 'virtio', '--mac-address3', 'fa163e000003',
            '--cable-connected3', 'on',
            '--nic4', 'natnetwork', '--nat-network4', 'NatNetwork',
            '--nic-type4', 'virtio', '--mac-address4', 'fa163e000004',
            '--cable-connected4', 'on',
            '--nic5', 'nat',
            '--nic-type5', 'virtio', '--mac-address5', 'fa163e000005',
            '--cable-connected5', 'on',
            '--nic6', 'none', '--nic7', 'none', '--nic8', 'none']
        self.assertEqual(expected, args)

    def test_intnet_without_name_is_named_after_the_network_id(self):
        self.flags(default_network_attachment='intnet', group='virtualbox')
        vif = make_vif(1, net_id='3f2c7a1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b')
        args = self.vifops.nic_args(self.instance, [vif], image_meta())
        self.assertEqual(['--nic1', 'intnet', '--intnet1',
                          '3f2c7a1e-8b4d-4e6f-9a0b-1c2d3e4f5a6b'], args[:4])

    def test_same_label_different_networks_get_different_intnets(self):
        # Two projects may each have a network labelled "private"; their
        # guests must not share one VirtualBox internal network.
        self.flags(physical_network_mappings=['lab:intnet'],
                   group='virtualbox')
        for attachment in ('intnet', 'nat'):
            self.flags(default_network_attachment=attachment,
                       group='virtualbox')
            label = 'lab' if attachment == 'nat' else 'private'
            first = self.vifops.nic_settings(
                1, make_vif(1, label=label, net_id='net-a'), '82540EM')
            second = self.vifops.nic_settings(
                1, make_vif(2, label=label, net_id='net-b'), '82540EM')
            self.assertEqual(['--nic1', 'intnet', '--intnet1', 'net-a'],
                             first[:4])
            self.assertEqual(['--nic1', 'intnet', '--intnet1', 'net-b'],
                             second[:4])

    def test_intnet_named_by_the_mapping_keeps_that_name(self):
        self.flags(physical_network_mappings=['private:intnet:nova-net'],
                   group='virtualbox')
        for number, net_id in ((1, 'net-a'), (2, 'net-b')):
            args = self.vifops.nic_settings(
                1, make_vif(number, net_id=net_id), '82540EM')
            self.assertEqual(['--nic1', 'intnet', '--intnet1', 'nova-net'],
                             args[:4])

    def test_intnet_of_a_network_without_id_uses_its_label(self):
        self.flags(default_network_attachment='intnet', group='virtualbox')
        vif = make_vif(1)
        vif['network']['id'] = None
        args = self.vifops.nic_settings(1, vif, '82540EM')
        self.assertEqual(['--nic1', 'intnet', '--intnet1', 'private'],
                         args[:4])

    def test_no_network_no_nic(self):
        args = self.vifops.nic_args(self.instance, [],
                                    image_meta(hw_vif_model='vmxnet3'))
        self.assertEqual(['--nic%d' % n for n in range(1, 9)],
                         args[0::2])
        self.assertEqual(['none'] * 8, args[1::2])

    def test_nic_model_selection(self):
        self.assertEqual('82540EM', self.vifops.nic_type(image_meta()))
        self.flags(nic_type='Am79C973', group='virtualbox')
        self.assertEqual('Am79C973', self.vifops.nic_type(image_meta()))
        for model, nic in (('virtio', 'virtio'), ('e1000', '82540EM'),
                           ('e1000e', '82545EM'), ('pcnet', 'Am79C973'),
                           ('rtl8139', 'Am79C973')):
            self.assertEqual(nic, self.vifops.nic_type(
                image_meta(hw_vif_model=model)))
        err = self.assertRaises(exception.UnsupportedHardware,
                                self.vifops.nic_type,
                                image_meta(hw_vif_model='vmxnet3'))
        self.assertIn('vmxnet3', str(err))

    def test_eight_nics_fit_nine_do_not(self):
        eight = [make_vif(n) for n in range(1, 9)]
        args = self.vifops.nic_args(self.instance, eight, image_meta())
        self.assertIn('--nic8', args)
        self.assertNotIn('none', args)
        err = self.assertRaises(vbox_vif.TooManyNICs, self.vifops.nic_args,
                                self.instance, eight + [make_vif(9)],
                                image_meta())
        self.assertIn('at most 8', str(err))
        self.assertIn(self.instance.uuid, str(err))


def make_vbox_vif(number, attachment, network, active=True, **kwargs):
    """A port bound by Neutron's virtualbox mechanism driver."""
    vif = make_vif(number, active=active, **kwargs)
    vif['type'] = constants.VIF_TYPE_VBOX
    vif['details'] = {'port_filter': False, 'connectivity': 'l2'}
    if attachment is not None:
        vif['details'][constants.VIF_DETAILS_VBOX_ATTACHMENT] = attachment
    if network is not None:
        vif['details'][constants.VIF_DETAILS_VBOX_NETWORK] = network
    return vif


class VBoxBindingTestCase(VIFTestBase):
    """Ports bound vif_type vbox: the binding alone places the NIC."""

    def test_each_attachment_from_vif_details(self):
        net_id = '0b6c5d3e-1111-2222-3333-444455556666'
        for attachment, network, args in [
                ('intnet', net_id, ['--nic1', 'intnet', '--intnet1',
                                    net_id]),
                ('natnetwork', 'NatNetwork', ['--nic1', 'natnetwork',
                                              '--nat-network1',
                                              'NatNetwork']),
                ('bridged', 'eth0.42', ['--nic1', 'bridged',
                                        '--bridge-adapter1', 'eth0.42']),
                ('hostonly', 'vboxnet0', ['--nic1', 'hostonly',
                                          '--host-only-adapter1',
                                          'vboxnet0']),
                ('hostonlynet', 'labnet', ['--nic1', 'hostonlynet',
                                           '--host-only-net1', 'labnet'])]:
            vif = make_vbox_vif(1, attachment, network)
            self.assertEqual(
                args + ['--nic-type1', '82540EM', '--mac-address1',
                        'fa163e000001', '--cable-connected1', 'on'],
                self.vifops.nic_settings(1, vif, '82540EM'))

    def test_binding_wins_over_the_mappings(self):
        # The network is mapped to NAT for other ports; the binding says
        # where this one goes.
        self.flags(physical_network_mappings=['physnet1:nat'],
                   group='virtualbox')
        vif = make_vbox_vif(1, 'intnet', 'n1', physnet='physnet1')
        self.assertEqual(vbox_vif.Attachment('intnet', 'n1'),
                         self.vifops.attachment_for(vif))

    def test_binding_without_attachment_is_refused_not_guessed(self):
        for attachment, network in [(None, None), ('intnet', None),
                                    (None, 'n1'), ('nat', 'n1'),
                                    ('warp', 'n1'), ('intnet', '')]:
            vif = make_vbox_vif(1, attachment, network)
            err = self.assertRaises(vbox_vif.InvalidVBoxBinding,
                                    self.vifops.nic_settings, 1, vif,
                                    '82540EM')
            self.assertIn('port-1', str(err))

    def test_mixed_network_info(self):
        # A vbox port and a port of another binding on one VM.
        self.flags(physical_network_mappings=['lab:intnet:labnet'],
                   group='virtualbox')
        network_info = network_model.NetworkInfo([
            make_vbox_vif(1, 'natnetwork', 'NatNetwork'),
            make_vif(2, physnet='lab')])
        args = self.vifops.nic_args(self.instance, network_info,
                                    image_meta())
        self.assertEqual(['--nic1', 'natnetwork', '--nat-network1',
                          'NatNetwork'], args[:4])
        self.assertIn('--intnet2', args)
        self.assertEqual('labnet', args[args.index('--intnet2') + 1])

    def test_constants_match_the_neutron_side(self):
        # networking_virtualbox/constants.py imports nothing: read it here
        # without Neutron installed.
        path = os.path.join(os.environ.get('NOVA_VIRTUALBOX_SRC', ''),
                            'networking_virtualbox', 'constants.py')
        if not os.path.exists(path):
            self.skipTest('no source tree (NOVA_VIRTUALBOX_SRC)')
        values = {}
        with open(path) as handle:
            exec(compile(handle.read(), path, 'exec'), values)
        self.assertEqual(constants.VIF_TYPE_VBOX, values['VIF_TYPE'])
        self.assertEqual(constants.VIF_DETAILS_VBOX_ATTACHMENT,
                         values['VIF_DETAILS_ATTACHMENT'])
        self.assertEqual(constants.VIF_DETAILS_VBOX_NETWORK,
                         values['VIF_DETAILS_NETWORK'])
        self.assertEqual(set(vbox_vif.BOUND_MODES),
                         set(values['ATTACHMENTS']))


class EventsTestCase(VIFTestBase):

    def test_no_events_by_default_so_spawn_never_waits(self):
        virtapi = mock.Mock()
        with self.vifops.wait_for_vif_plugged(
                virtapi, self.instance, [make_vif(1, active=False)]):
            pass
        virtapi.wait_for_instance_event.assert_not_called()

    def test_vbox_ports_are_waited_for_without_the_option(self):
        # The VirtualBox agent reports them up: wait for the down ones.
        events = self.vifops.neutron_events([
            make_vbox_vif(1, 'intnet', 'n1', active=False),
            make_vbox_vif(2, 'intnet', 'n1', active=True),
            make_vif(3, active=False)])
        self.assertEqual([('network-vif-plugged', 'port-1')], events)
        self.flags(vif_plugging_timeout=0)
        self.assertEqual([], self.vifops.neutron_events(
            [make_vbox_vif(1, 'intnet', 'n1', active=False)]))

    def test_a_rebuild_waits_for_no_event(self):
        # The same ports come back on a VM re-created within one agent
        # sweep: Neutron sends nothing, waiting would time out.
        self.instance.task_state = task_states.REBUILD_SPAWNING
        virtapi = mock.MagicMock()
        with self.vifops.wait_for_vif_plugged(
                virtapi, self.instance,
                [make_vbox_vif(1, 'intnet', 'n1', active=False)]):
            pass
        virtapi.wait_for_instance_event.assert_not_called()
        self.instance.task_state = task_states.SPAWNING
        with self.vifops.wait_for_vif_plugged(
                virtapi, self.instance,
                [make_vbox_vif(1, 'intnet', 'n1', active=False)]):
            pass
        virtapi.wait_for_instance_event.assert_called_once()

    def test_spawn_waits_for_a_vbox_port_and_fails_on_timeout(self):
        self.flags(vif_plugging_timeout=5, vif_plugging_is_fatal=True)
        virtapi = mock.Mock()
        virtapi.wait_for_instance_event.return_value.__enter__ = (
            mock.Mock(side_effect=exception.InstanceEventTimeout))
        virtapi.wait_for_instance_event.return_value.__exit__ = mock.Mock()
        started = []
        with testtools.ExpectedException(
                exception.VirtualInterfaceCreateException):
            with self.vifops.wait_for_vif_plugged(
                    virtapi, self.instance,
                    [make_vbox_vif(1, 'intnet', 'n1', active=False)]):
                started.append(True)
        self.assertEqual(
            [('network-vif-plugged', 'port-1')],
            virtapi.wait_for_instance_event.call_args[0][1])
        self.assertEqual(5, virtapi.wait_for_instance_event.call_args[1][
            'timeout'])

    def test_events_when_asked_for_down_ports_only(self):
        self.flags(wait_for_vif_plugged_events=True, group='virtualbox')
        events = self.vifops.neutron_events(
            [make_vif(1, active=False), make_vif(2, active=True)])
        self.assertEqual([('network-vif-plugged', 'port-1')], events)
        self.flags(vif_plugging_timeout=0)
        self.assertEqual([], self.vifops.neutron_events(
            [make_vif(1, active=False)]))

    def test_wait_uses_timeout_and_fatal_timeout_raises(self):
        self.flags(wait_for_vif_plugged_events=True, group='virtualbox')
        self.flags(vif_plugging_timeout=7, vif_plugging_is_fatal=True)
        virtapi = mock.Mock()
        virtapi.wait_for_instance_event.return_value.__enter__ = (
            mock.Mock(side_effect=exception.InstanceEventTimeout()))
        virtapi.wait_for_instance_event.return_value.__exit__ = mock.Mock()

        def spawn():
            with self.vifops.wait_for_vif_plugged(
                    virtapi, self.instance, [make_vif(1, active=False)]):
                pass
        self.assertRaises(exception.VirtualInterfaceCreateException, spawn)
        kwargs = virtapi.wait_for_instance_event.call_args[1]
        self.assertEqual(7, kwargs['timeout'])

    def test_timeout_not_fatal_goes_on(self):
        self.flags(wait_for_vif_plugged_events=True, group='virtualbox')
        self.flags(vif_plugging_is_fatal=False)
        virtapi = mock.Mock()
        virtapi.wait_for_instance_event.return_value.__enter__ = (
            mock.Mock(return_value=None))
        virtapi.wait_for_instance_event.return_value.__exit__ = mock.Mock(
            side_effect=exception.InstanceEventTimeout())
        ran = []
        with self.vifops.wait_for_vif_plugged(
                virtapi, self.instance, [make_vif(1, active=False)]):
            ran.append(True)
        self.assertEqual([True], ran)


def vm_info(state='poweroff', nics=()):
    """showvminfo as parsed: nics = [(value, MAC upper case)] from NIC 1."""
    info = {'VMState': state, 'UUID': test_base.FakeInstance().uuid}
    padded = list(nics) + [('none', None)] * (8 - len(nics))
    for number, (value, mac) in enumerate(padded, 1):
        info['nic%d' % number] = value
        if mac:
            info['macaddress%d' % number] = mac
    return info


class PlugDetachTestCase(VIFTestBase):

    def test_detach_on_stopped_vm_removes_the_nic(self):
        self.vbox.show_vm_info.return_value = vm_info(
            nics=[('nat', 'FA163E000001'), ('bridged', 'FA163E000002')])
        self.assertEqual(2, self.vifops.detach_interface(self.instance,
                                                         make_vif(2)))
        self.vbox.run.assert_called_once_with(
            'modifyvm', self.instance.uuid, '--nic2', 'none')

    def test_detach_on_running_vm_disconnects(self):
        self.vbox.show_vm_info.return_value = vm_info(
            state='running', nics=[('nat', 'FA163E000001')])
        self.assertEqual(1, self.vifops.detach_interface(self.instance,
                                                         make_vif(1)))
        self.assertEqual([
            mock.call('controlvm', self.instance.uuid, 'setlinkstate1',
                      'off'),
            mock.call('controlvm', self.instance.uuid, 'nic1', 'null'),
        ], self.vbox.run.call_args_list)

    def test_detach_again_on_running_vm_leaves_the_disconnected_nic(self):
        self.vbox.show_vm_info.return_value = vm_info(
            state='running', nics=[('nat', 'FA163E000001'),
                                   ('null', 'FA163E000002')])
        self.assertEqual(2, self.vifops.detach_interface(self.instance,
                                                         make_vif(2)))
        self.vbox.run.assert_not_called()

    def test_detach_unknown_mac_or_gone_vm_is_quiet(self):
        self.vbox.show_vm_info.return_value = vm_info(
            nics=[('nat', 'FA163E000001')])
        self.assertIsNone(self.vifops.detach_interface(self.instance,
                                                       make_vif(5)))
        self.vbox.show_vm_info.side_effect = vbox_exc.VBoxObjectNotFound(
            command='showvminfo', exit_code=1)
        self.assertIsNone(self.vifops.detach_interface(self.instance,
                                                       make_vif(1)))
        self.vbox.run.assert_not_called()

    def test_plug_and_unplug_need_no_call(self):
        self.vifops.plug_vifs(self.instance, [make_vif(1)])
        self.vifops.unplug_vifs(self.instance, [make_vif(1)])
        self.vbox.run.assert_not_called()
