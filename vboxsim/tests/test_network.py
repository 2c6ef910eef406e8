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

"""dhcpserver and natnetwork in the simulator: state kept, listings,
VirtualBox 7.2's errors and exit codes (byte for byte against the real
7.2.22 in contract scenario 17-dhcpserver-natnetwork)."""

from vboxsim.tests import base

NET = "0b6c5d3e-1111-2222-3333-444455556666"


class DhcpServerTest(base.SimTestCase):

    def add(self, *extra):
        return self.vbox(
            "dhcpserver", "add", "--network=%s" % NET,
            "--server-ip=10.0.0.2", "--netmask=255.255.255.0",
            "--lower-ip=10.0.0.10", "--upper-ip=10.0.0.254", "--enable",
            *extra)

    def test_default_host_only_server(self):
        out = self.ok("list", "dhcpservers")
        self.assertTrue(out.startswith(
            "NetworkName:    HostInterfaceNetworking-vboxnet0\n"))
        self.assertTrue(out.endswith("Individual Configs:   None\n"))

    def test_add_modify_remove_kept_across_calls(self):
        code, out, err = self.add("--set-opt=3", "10.0.0.1", "--set-opt=6",
                                  "8.8.8.8 1.1.1.1",
                                  "--mac-address=fa163e000001",
                                  "--fixed-address=10.0.0.11")
        self.assertEqual((0, "", ""), (code, out, err))
        listing = self.ok("list", "dhcpservers")
        block = listing.split("\n\n")[1]
        self.assertIn("NetworkName:    %s\nDhcpd IP:       10.0.0.2\n" % NET,
                      block)
        self.assertIn("        1/legacy: 255.255.255.0\n"
                      "        3/legacy: 10.0.0.1\n"
                      "        6/legacy: 8.8.8.8 1.1.1.1\n"
                      "Groups:               None\n"
                      "Individual Config:    MAC fa:16:3e:00:00:01\n"
                      "    Fixed Address:    10.0.0.11\n", block)
        self.ok("dhcpserver", "modify", "--network", NET, "--del-opt=3",
                "--lower-ip=10.0.0.20", "--mac-address=fa:16:3e:00:00:02",
                "--fixed-address=10.0.0.12", "--mac-address=fa:16:3e:00:00:01",
                "--remove-config")
        block = self.ok("list", "dhcpservers").split("\n\n")[1]
        self.assertNotIn("3/legacy", block)
        self.assertIn("LowerIPAddress: 10.0.0.20\n", block)
        self.assertNotIn("fa:16:3e:00:00:01", block)
        self.assertIn("MAC fa:16:3e:00:00:02\n    Fixed Address:    "
                      "10.0.0.12\n", block)
        self.ok("dhcpserver", "remove", "--network=%s" % NET)
        self.assertEqual(1, self.ok("list", "dhcpservers").count(
            "NetworkName:"))

    def test_interface_names_the_host_only_server(self):
        self.ok("dhcpserver", "modify", "--interface=vboxnet0",
                "--mac-address=fa:16:3e:00:00:05",
                "--fixed-address=192.168.56.105")
        self.assertIn("Individual Config:    MAC fa:16:3e:00:00:05",
                      self.ok("list", "dhcpservers"))

    def test_errors_as_real_72(self):
        self.add()
        self.assertEqual(
            (2, "", "VBoxManage: error: DHCP server already exists\n"),
            self.add())
        self.assertEqual(
            (2, "", "VBoxManage: error: DHCP server does not exist\n"),
            self.vbox("dhcpserver", "modify", "--network=nosuch",
                      "--enable"))
        self.assertEqual(
            (1, "", "VBoxManage: error: Failed to find DHCP server for "
                    "network 'nosuch'\n"),
            self.vbox("dhcpserver", "remove", "--network=nosuch"))
        code, out, err = self.vbox("dhcpserver", "add", "--network=x",
                                   "--server-ip=10.0.0.2")
        self.assertEqual(2, code)
        self.assertIn("Missing required option: --netmask", err)
        code, out, err = self.vbox("dhcpserver", "modify", "--network=x",
                                   "--bogus")
        self.assertEqual(2, code)
        self.assertIn("Unknown option: --bogus", err)


class NatNetworkTest(base.SimTestCase):

    def test_add_list_modify_remove(self):
        self.assertEqual("", self.ok("list", "natnets"))
        self.ok("natnetwork", "add", "--netname", "nn", "--network",
                "10.77.1.0/24", "--enable", "--dhcp", "on")
        self.assertEqual(
            "Name:         nn\nNetwork:      10.77.1.0/24\n"
            "Gateway:      10.77.1.1\nDHCP Server:  Yes\nIPv6:         No\n"
            "IPv6 Prefix:  fd17:625c:f037:2::/64\nIPv6 Default: No\n\n",
            self.ok("list", "natnets"))
        self.ok("natnetwork", "modify", "--netname=nn", "--dhcp=off")
        self.assertIn("DHCP Server:  No\n", self.ok("list", "natnets"))
        self.assertIn("Enabled:      Yes\n", self.ok("natnetwork", "list"))
        self.assertTrue(self.ok("natnetwork", "list").endswith(
            "1 networks found\n"))
        self.ok("natnetwork", "remove", "--netname", "nn")
        self.assertEqual("", self.ok("list", "natnets"))

    def test_errors_as_real_72(self):
        self.ok("natnetwork", "add", "--netname", "nn", "--network",
                "10.77.1.0/24")
        self.assertEqual(
            (2, "", "VBoxManage: error: NATNetwork server already exists\n"),
            self.vbox("natnetwork", "add", "--netname", "nn", "--network",
                      "10.77.1.0/24"))
        code, out, err = self.vbox("natnetwork", "remove", "--netname=nn")
        self.assertEqual(2, code)
        self.assertIn("VBoxManage: error: Not enough parameters\n\nUsage:",
                      err)
        self.ok("natnetwork", "remove", "--netname", "nn")
        self.assertEqual(
            (2, "", "VBoxManage: error: NATNetwork server does not exist\n"),
            self.vbox("natnetwork", "remove", "--netname", "nn"))
        code, out, err = self.vbox("natnetwork", "add", "--netname", "x")
        self.assertEqual(2, code)
        self.assertIn("You need to specify the --network option", err)


class NullAttachmentTest(base.SimTestCase):

    def test_nic_attached_to_nothing_shows_none(self):
        # Real 7.2 prints "Attachment: none" for --nicN null (a NIC the
        # driver detached from a running VM).
        self.ok("createvm", "--name", "vm1", "--register")
        self.ok("modifyvm", "vm1", "--nic1", "null")
        self.assertIn("Attachment: none, Cable connected: on",
                      self.ok("list", "vms", "--long"))
