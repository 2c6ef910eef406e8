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

"""Tests of the config drive: Nova's metadata as an ISO on a DVD drive."""

import json
import os
import shutil
import struct
from unittest import mock

import fixtures
from oslo_concurrency import processutils
from oslo_serialization import base64

from nova import context as nova_context
from nova import exception
from nova.network import model as network_model
from nova import objects
from nova.tests.unit import fake_instance
from nova.tests.unit.virt.virtualbox import test_base
from nova.virt.virtualbox import configdrive
from nova.virt.virtualbox import pathutils

SECTOR = 2048


def read_iso9660(path):
    """{path: bytes} of every file of an ISO 9660 image, named by their
    Rock Ridge names (or the ISO names without ";1")."""
    with open(path, 'rb') as f:
        data = f.read()
    pvd = data[16 * SECTOR:17 * SECTOR]
    assert pvd[0:6] == b'\x01CD001', 'not an ISO 9660 image'
    files = {}

    def record_name(rec):
        name_len = rec[32]
        raw = rec[33:33 + name_len]
        su_start = 33 + name_len + (1 - name_len % 2)
        su = rec[su_start:]
        i = 0
        nm = b''
        while i + 4 <= len(su):
            sig, length = su[i:i + 2], su[i + 2]
            if length < 4:
                break
            if sig == b'NM':
                nm += su[i + 5:i + length]
            i += length
        if nm:
            return nm.decode()
        return raw.decode('ascii', 'replace').split(';')[0]

    def walk(extent, size, prefix):
        block = data[extent * SECTOR:extent * SECTOR + size]
        pos = 0
        while pos < len(block):
            length = block[pos]
            if length == 0:
                # Records do not cross sectors: go on at the next one.
                pos = (pos // SECTOR + 1) * SECTOR
                continue
            rec = block[pos:pos + length]
            pos += length
            if rec[32] == 1 and rec[33] in (0, 1):
                continue  # "." and ".."
            lba = struct.unpack('<I', rec[2:6])[0]
            rec_size = struct.unpack('<I', rec[10:14])[0]
            name = prefix + record_name(rec)
            if rec[25] & 2:
                walk(lba, rec_size, name + '/')
            else:
                files[name] = data[lba * SECTOR:lba * SECTOR + rec_size]

    root = pvd[156:190]
    walk(struct.unpack('<I', root[2:6])[0],
         struct.unpack('<I', root[10:14])[0], '')
    return files, pvd[40:72].decode().strip()


def network_info():
    subnet = network_model.Subnet(
        cidr='192.168.1.0/24',
        gateway=network_model.IP('192.168.1.1', type='gateway'),
        dns=[network_model.IP('8.8.8.8', type='dns')],
        ips=[network_model.FixedIP(address='192.168.1.100')])
    network = network_model.Network(id='net-1', bridge='br0',
                                    label='private', subnets=[subnet])
    vif = network_model.VIF(id='9a5b3b3e-62a5-4c2a-a2a4-3c5dd0a3f8b1',
                            address='fa:16:3e:12:34:56', network=network,
                            type=network_model.VIF_TYPE_OTHER)
    return network_model.NetworkInfo([vif])


def metadata_instance(context, **updates):
    fields = dict(
        uuid='4fd89640-4231-4c44-a7b5-a3c7ca859849', config_drive='True',
        user_data=base64.encode_as_text(b'#cloud-config\nhostname: vb\n'),
        hostname='vb', display_name='vb', key_name='mykey',
        key_data='ssh-ed25519 AAAAC3Nza test@vb', launched_at=None)
    fields.update(updates)
    inst = fake_instance.fake_instance_obj(context, **fields)
    inst.system_metadata = {}
    inst.metadata = {'role': 'web'}
    inst.keypairs = objects.KeyPairList(objects=[objects.KeyPair(
        name='mykey', public_key='ssh-ed25519 AAAAC3Nza test@vb',
        type='ssh')])
    inst.ec2_ids = objects.EC2Ids(instance_id='i-0000002a', ami_id='ami-1',
                                  kernel_id=None, ramdisk_id=None)
    inst.device_metadata = None
    inst.numa_topology = None
    inst.info_cache = objects.InstanceInfoCache(
        network_info=network_model.NetworkInfo([]))
    return inst


class ConfigDriveTestCase(test_base.VBoxTestCase):

    def setUp(self):
        super().setUp()
        self.context = nova_context.RequestContext('user', 'project')
        self.pathutils = pathutils.PathUtils()
        self.cd = configdrive.ConfigDrive(self.vbox, self.pathutils)
        self.useFixture(mock_security_groups())
        # Nova reads the block device mappings from its database.
        self.useFixture(fixtures.MockPatch(
            'nova.objects.BlockDeviceMappingList.get_by_instance_uuid',
            return_value=objects.BlockDeviceMappingList(objects=[])))

    def test_not_required(self):
        inst = metadata_instance(self.context, config_drive='')
        self.assertIsNone(self.cd.create(self.context, inst, [], None,
                                         network_info()))
        self.assertFalse(os.path.exists(self.pathutils.config_drive_path(
            inst)))

    def test_required_by_image_or_conf(self):
        inst = metadata_instance(self.context, config_drive='')
        self.assertFalse(self.cd.required(inst))
        self.flags(force_config_drive=True)
        self.assertTrue(self.cd.required(inst))
        self.flags(force_config_drive=False)
        inst.system_metadata['image_img_config_drive'] = 'mandatory'
        self.assertTrue(self.cd.required(inst))

    def test_vfat_is_refused(self):
        self.flags(config_drive_format='vfat')
        inst = metadata_instance(self.context)
        self.assertRaises(exception.ConfigDriveUnsupportedFormat,
                          self.cd.create, self.context, inst, [], None,
                          network_info())

    @mock.patch('nova.virt.configdrive.ConfigDriveBuilder.make_drive')
    def test_missing_tool_is_a_clear_error(self, make_drive):
        inst = metadata_instance(self.context)
        path = self.pathutils.config_drive_path(inst)

        def fail(iso):
            with open(iso, 'wb') as f:
                f.write(b'partial')
            raise processutils.ProcessExecutionError(
                stderr='genisoimage: not found')
        make_drive.side_effect = fail
        err = self.assertRaises(configdrive.ConfigDriveBuildFailed,
                                self.cd.create, self.context, inst, [],
                                None, network_info())
        self.assertIn('genisoimage', str(err))
        self.assertIn('mkisofs_cmd', str(err))
        self.assertFalse(os.path.exists(path))

    def test_oserror_is_a_clear_error(self):
        self.flags(mkisofs_cmd=os.path.join(self.instances_path, 'none'))
        inst = metadata_instance(self.context)
        self.assertRaises(configdrive.ConfigDriveBuildFailed,
                          self.cd.create, self.context, inst, [], None,
                          network_info())

    def test_iso_contents(self):
        if not shutil.which('genisoimage'):
            self.skipTest('genisoimage is not installed (apt-get install '
                          'genisoimage)')
        inst = metadata_instance(self.context)
        path = self.cd.create(self.context, inst,
                              [('/etc/motd', b'hello')], 'S3cret!',
                              network_info())
        self.assertEqual(os.path.join(self.pathutils.instance_dir(inst),
                                      'configdrive.iso'), path)
        self.assertEqual('instance-00000001', inst.name)
        files, label = read_iso9660(path)
        self.assertEqual('config-2', label)
        meta = json.loads(files['openstack/latest/meta_data.json'])
        self.assertEqual(inst.uuid, meta['uuid'])
        self.assertEqual('S3cret!', meta['admin_pass'])
        self.assertEqual({'role': 'web'}, meta['meta'])
        self.assertEqual({'mykey': 'ssh-ed25519 AAAAC3Nza test@vb'},
                         meta['public_keys'])
        self.assertEqual([{'path': '/etc/motd',
                           'content_path': '/content/0000'}],
                         meta['files'])
        self.assertEqual(b'hello', files['openstack/content/0000'])
        self.assertEqual(b'#cloud-config\nhostname: vb\n',
                         files['openstack/latest/user_data'])
        net = json.loads(files['openstack/latest/network_data.json'])
        self.assertEqual('fa:16:3e:12:34:56',
                         net['links'][0]['ethernet_mac_address'])
        self.assertEqual('192.168.1.100', net['networks'][0]['ip_address'])
        self.assertIn('ec2/latest/meta-data.json', files)

    def test_rescue_drive_carries_the_rescue_password(self):
        if not shutil.which('genisoimage'):
            self.skipTest('genisoimage is not installed (apt-get install '
                          'genisoimage)')
        inst = metadata_instance(self.context)
        path = self.cd.create(self.context, inst, None, 'R3scue!',
                              network_info(), rescue=True)
        self.assertEqual(os.path.join(self.pathutils.instance_dir(inst),
                                      'configdrive-rescue.iso'), path)
        self.assertEqual(path, self.cd.rescue_path(inst))
        # The instance's own config drive is not touched.
        self.assertFalse(os.path.exists(self.cd.path(inst)))
        files, label = read_iso9660(path)
        self.assertEqual('config-2', label)
        meta = json.loads(files['openstack/latest/meta_data.json'])
        self.assertEqual('R3scue!', meta['admin_pass'])
        self.assertEqual(inst.uuid, meta['uuid'])
        self.assertNotIn('files', meta)

    def test_rescue_drive_not_required(self):
        inst = metadata_instance(self.context, config_drive='')
        self.assertIsNone(self.cd.create(self.context, inst, None, 'pw',
                                         network_info(), rescue=True))
        self.assertFalse(os.path.exists(self.cd.rescue_path(inst)))

    def test_attach_args_and_attach(self):
        inst = test_base.FakeInstance()
        args = self.cd.attach_args(inst, 'SATA', 1)
        self.assertEqual(
            ['storageattach', inst.uuid, '--storagectl', 'SATA', '--port',
             '1', '--device', '0', '--type', 'dvddrive', '--medium',
             os.path.join(os.path.dirname(self.pathutils.instance_dir(inst)),
                          inst.name, 'configdrive.iso')], args)
        self.cd.attach(inst, 'IDE', 0, device=1, path='/x/cd.iso')
        self.vbox.run.assert_called_once_with(
            'storageattach', inst.uuid, '--storagectl', 'IDE', '--port',
            '0', '--device', '1', '--type', 'dvddrive', '--medium',
            '/x/cd.iso')


def mock_security_groups():
    return fixtures.MockPatch(
        'nova.network.security_group_api.get_instance_security_groups',
        return_value=[{'name': 'default'}])
