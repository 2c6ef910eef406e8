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

"""The shared constants' mapping reader and VLAN naming."""

import testtools

from networking_virtualbox import constants


class MappingsTestCase(testtools.TestCase):

    def test_every_mode(self):
        self.assertEqual(
            {'p1': {'mode': 'bridged', 'target': 'eth0'},
             'p2': {'mode': 'intnet', 'target': None},
             'p3': {'mode': 'natnetwork', 'target': 'Nat Net'}},
            constants.parse_mappings(['p1:bridged:eth0', ' p2:INTNET ', '',
                                      'p3:natnetwork:Nat Net']))

    def test_errors_name_the_entry(self):
        for bad, text in (('p1', 'PHYSNET:MODE'),
                          (':bridged:eth0', 'PHYSNET:MODE'),
                          ('p1:nat', 'unknown attachment'),
                          ('p1:warp:x', 'unknown attachment'),
                          ('p1:hostonly', 'needs a target')):
            err = self.assertRaises(ValueError, constants.parse_mappings,
                                    [bad])
            self.assertIn(text, str(err))
        err = self.assertRaises(ValueError, constants.parse_mappings,
                                ['p:intnet', 'p:bridged:eth0'])
        self.assertIn('twice', str(err))

    def test_vlan_target(self):
        self.assertEqual('eth0.42', constants.vlan_target(
            'bridged', 'eth0', 'n1', 42))
        self.assertEqual('lab.42', constants.vlan_target(
            'intnet', 'lab', 'n1', 42))
        self.assertEqual('n1', constants.vlan_target('intnet', None, 'n1',
                                                     42))
        for mode in ('hostonly', 'hostonlynet', 'natnetwork'):
            self.assertIsNone(constants.vlan_target(mode, 'x', 'n1', 42))
