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

from nova.tests.unit.virt.virtualbox import test_base
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import parsers


class ParserTestCase(test_base.VBoxTestCase):
    """The parsers on real output."""

    def test_machine_readable_showvminfo(self):
        info = parsers.parse_machine_readable(
            self.stdout_of('20-showvminfo-t1-machinereadable.txt'))
        self.assertEqual('t1', info['name'])
        self.assertEqual('4fd89640-4231-4c44-a7b5-a3c7ca859849',
                         info['UUID'])
        self.assertEqual(512, info['memory'])
        self.assertEqual(1, info['cpus'])
        self.assertEqual('/tmp/t1.vdi', info['SATA-0-0'])
        self.assertEqual('emptydrive', info['SATA-1-0'])
        self.assertEqual('30', info['storagecontrollerportcount0'])
        self.assertEqual(-1, info['vrdeport'])
        self.assertEqual('5900', info['vrdeports'])
        self.assertEqual('<not set>', info['vrdeproperty[TCP/Address]'])
        self.assertEqual('ssh,tcp,127.0.0.1,2222,,22', info['Forwarding(0)'])
        self.assertEqual('/root/VirtualBox VMs/t1/t1.vbox', info['CfgFile'])
        self.assertEqual('', info['teleporteraddress'])
        self.assertEqual(0, info['GuestMemoryBalloon'])
        self.assertNotIn(' rec_screen0', info)

    def test_machine_readable_every_real_showvminfo(self):
        for name in ('68-showvminfo-t1-mr-after-startvm.txt',
                     '110-showvminfo-m1-mr.txt',
                     '114-showvminfo-m1-state-after-start.txt'):
            info = parsers.parse_machine_readable(self.stdout_of(name))
            self.assertEqual('poweroff', info['VMState'], name)
            self.assertIn('UUID', info)

    def test_machine_readable_older_versions(self):
        info = parsers.parse_machine_readable(test_base.read_public(
            'showvminfo-machinereadable-5.2-poweroff-snapshot-vrde-ohai.txt'))
        self.assertEqual('6294f16b-4f05-4430-afb9-773bdb237aec',
                         info['UUID'])
        self.assertEqual(1024, info['memory'])
        info = parsers.parse_machine_readable(test_base.read_public(
            'showvminfo-machinereadable-7.0.0-header-excerpt-templated.txt'))
        self.assertNotIn('Encryption', ''.join(info))

    def test_machine_readable_escapes_and_multiline_values(self):
        text = ('description="say \\"hi\\"\nsecond \\\\ line"\n'
                '"odd=key"="v"\n'
                'VideoMode="1024,768,32"@0,0 1\n'
                'Forwarding(0)="a"\nForwarding(0)="b"\n'
                'empty=""\n'
                'negative=-5\n')
        pairs = parsers.parse_machine_readable_pairs(text)
        self.assertEqual([
            ('description', 'say "hi"\nsecond \\ line'),
            ('odd=key', 'v'),
            ('VideoMode', '1024,768,32'),
            ('Forwarding(0)', 'a'),
            ('Forwarding(0)', 'b'),
            ('empty', ''),
            ('negative', -5),
        ], pairs)
        self.assertEqual('b', parsers.parse_machine_readable(text)[
            'Forwarding(0)'])

    def test_machine_readable_snapshot_list(self):
        info = parsers.parse_machine_readable(
            self.stdout_of('48-snapshot-list-machinereadable.txt'))
        self.assertEqual('s1', info['SnapshotName'])
        self.assertIn('CurrentSnapshotUUID', info)

    def test_list_vms(self):
        self.assertEqual([], parsers.parse_list_vms(
            self.stdout_of('06-list-vms-empty.txt')))
        vms = parsers.parse_list_vms(self.stdout_of('56-list-vms-3.txt'))
        self.assertEqual(['t1', 't1link', 't1full'], [n for n, _ in vms])
        self.assertEqual([('test-netboot',
                           'fbbe7c81-b536-4256-a315-c9d8d7321a66'),
                          ('ReactOS test',
                           '686dde2f-56c2-4e24-907a-86c3fc1afa13')],
                         parsers.parse_list_vms(
                             test_base.read_public('list-vms-7.x.txt')))
        self.assertEqual(2, len(parsers.parse_list_vms(
            test_base.read_public('list-vms-5.2.txt'))))

    def test_list_vms_tolerates_the_wrapper_warning(self):
        text = test_base.read_transcript('02-wrapper-version.txt').stdout
        text = text.replace('7.2.22_Debianr175245\n', '"a b" {%s}\n'
                            % ('1' * 8 + '-1111-1111-1111-' + '1' * 12))
        self.assertEqual(['a b'],
                         [n for n, _ in parsers.parse_list_vms(text)])

    def test_host_info(self):
        info = parsers.parse_host_info(
            self.stdout_of('03-list-hostinfo.txt'))
        self.assertEqual(2, info['cpus'])
        self.assertEqual(2, info['cores'])
        self.assertEqual(24105, info['memory_mb'])
        self.assertEqual(23921, info['memory_available_mb'])
        self.assertEqual('AMD EPYC', info['cpu_model'])
        self.assertEqual(2596, info['cpu_mhz'])
        self.assertEqual('Linux', info['Operating system'])

    def test_host_info_macos(self):
        for name in ('list-hostinfo-7.x-macos-x86.txt',
                     'list-hostinfo-7.x-macos-arm64.txt'):
            info = parsers.parse_host_info(test_base.read_public(name))
            self.assertGreater(info['cpus'], 0, name)
            self.assertGreater(info['memory_mb'], 0, name)

    def test_colon_pairs(self):
        props = parsers.parse_colon_pairs(
            self.stdout_of('04-list-systemproperties.txt'))
        self.assertEqual('7_2', props['API version'])
        self.assertEqual('/root/VirtualBox VMs',
                         props['Default machine folder'])
        self.assertEqual('30', props['Maximum SATA Port count'])
        props = parsers.parse_colon_pairs(
            self.stdout_of('80-list-systemproperties-after.txt'))
        self.assertEqual('/tmp/vms', props['Default machine folder'])

    def test_medium_info_base_diff_and_clone(self):
        base = parsers.parse_medium_info(
            self.stdout_of('27-showmediuminfo-t1-vdi.txt'))
        self.assertIsNone(base['parent_uuid'])
        self.assertEqual(64, base['capacity_mb'])
        self.assertEqual(2, base['size_on_disk_mb'])
        self.assertEqual(['4fd89640-4231-4c44-a7b5-a3c7ca859849'],
                         base['in_use_by'])
        diff = parsers.parse_medium_info(
            self.stdout_of('33-showmediuminfo-diff.txt'))
        self.assertEqual('6fd01dfb-0280-48a9-a79a-b17dc118cc6a',
                         diff['parent_uuid'])
        self.assertEqual('normal (differencing)', diff['Type'])
        self.assertEqual([], diff['in_use_by'])
        clone = parsers.parse_medium_info(
            self.stdout_of('31-showmediuminfo-clone-vmdk.txt'))
        self.assertEqual('VMDK', clone['Storage format'])
        multi = parsers.parse_medium_info(
            self.stdout_of('105-showmediuminfo-base-multiattach.txt'))
        self.assertEqual(32, multi['capacity_mb'])

    def test_list_hdds(self):
        self.assertEqual([], parsers.parse_colon_blocks(
            self.stdout_of('08-list-hdds-empty.txt')))
        disks = parsers.parse_colon_blocks(
            self.stdout_of('111-list-hdds-multiattach.txt'))
        self.assertTrue(disks)
        for disk in disks:
            self.assertIn('UUID', disk)
            self.assertIn('Location', disk)

    def test_bridged_and_hostonly_interfaces(self):
        for name in ('74-list-bridgedifs.txt', '75-list-hostonlyifs.txt'):
            for block in parsers.parse_colon_blocks(self.stdout_of(name)):
                self.assertIn('Name', block)

    def test_version(self):
        self.assertEqual(((7, 2, 22), '7.2.22_Debianr175245'),
                         parsers.parse_version(
                             self.stdout_of('01-version.txt')))
        self.assertEqual((7, 0, 18), parsers.parse_version(
            test_base.read_public(
                'version-with-logname-warning-7.0-kaosagnt-docker-'
                'machine.txt'))[0])
        self.assertEqual((5, 2, 6), parsers.parse_version(
            test_base.read_public(
                'version-with-vboxdrv-warning-5.2-minikube-2522.txt'))[0])
        self.assertRaises(vbox_exc.VBoxOutputError,
                          parsers.parse_version, 'garbage\n')

    def test_size_units(self):
        self.assertEqual(64, parsers.parse_size_mb('64 MBytes'))
        self.assertEqual(2048, parsers.parse_size_mb('2 GBytes'))
        self.assertEqual(1, parsers.parse_size_mb('512 KBytes'))
        self.assertIsNone(parsers.parse_size_mb('lots'))
        self.assertIsNone(parsers.parse_size_mb(None))
