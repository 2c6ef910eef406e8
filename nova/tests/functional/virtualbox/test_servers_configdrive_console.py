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

"""The config drive and the VNC console through Nova's REST API.

In-process Nova drives VBoxDriver on the VBoxManage simulator: a server
booted with config_drive gets ``<vm folder>/configdrive.iso`` on its DVD
drive carrying Nova's metadata, and a server on a VNC VRDE gets a console
URL whose port is the one VirtualBox and the VM folder hold.
"""

import json
import os
import shutil
from urllib import parse

from oslo_serialization import base64

from nova import context as nova_context
from nova import objects
from nova.tests.functional.virtualbox import test_servers
from nova.tests.unit.virt.virtualbox import test_configdrive
from nova.virt.virtualbox import pathutils

import nova.conf

CONF = nova.conf.CONF

USER_DATA = b'#cloud-config\nhostname: cd-test\n'


class VBoxServersConfigDriveTestCase(test_servers.VBoxServersTestBase):

    def test_config_drive_on_dvd(self):
        if not shutil.which(CONF.mkisofs_cmd):
            self.skipTest('%s is not installed (apt-get install '
                          'genisoimage): no config drive can be built'
                          % CONF.mkisofs_cmd)
        body = self._build_server(image_uuid=self.image_id, networks='none')
        body['config_drive'] = True
        body['user_data'] = base64.encode_as_text(USER_DATA)
        server = self.api.post_server({'server': body})
        server = self._wait_for_state_change(server, 'ACTIVE')
        self.assertEqual('running', self._vm_state(server))

        instance = objects.Instance.get_by_uuid(
            nova_context.get_admin_context(), server['id'])
        vm_dir = pathutils.PathUtils().instance_dir(instance)
        iso = os.path.join(vm_dir, 'configdrive.iso')
        self.assertTrue(os.path.isfile(iso))
        # vmops' CONFIG_DRIVE_SLOT: port 1, device 1 of the IDE controller.
        info = self.vbox.show_vm_info(server['id'])
        self.assertEqual(iso, info['IDE-1-1'])

        files, label = test_configdrive.read_iso9660(iso)
        self.assertEqual('config-2', label)
        meta = json.loads(files['openstack/latest/meta_data.json'])
        self.assertEqual(server['id'], meta['uuid'])
        self.assertEqual(server['name'], meta['name'])
        self.assertIn('openstack/latest/network_data.json', files)
        json.loads(files['openstack/latest/network_data.json'])
        self.assertEqual(USER_DATA, files['openstack/latest/user_data'])

        self._delete_server(server)
        self.assertFalse(os.path.exists(iso))
        self._assert_nothing_left()


class VBoxServersVNCConsoleTestCase(test_servers.VBoxServersTestBase):

    def setUp(self):
        self.flags(remote_display=True, vrde_module='VNC',
                   vrde_unique_port=True, vrde_port='5900-5999',
                   group='virtualbox')
        self.flags(enabled=True, group='vnc')
        super().setUp()

    def test_vnc_console(self):
        server = self._boot()
        info = self.vbox.show_vm_info(server['id'])
        self.assertEqual('on', info['vrde'])

        resp = self.api.api_post(
            '/servers/%s/remote-consoles' % server['id'],
            {'remote_console': {'protocol': 'vnc', 'type': 'novnc'}}).body
        console = resp['remote_console']
        self.assertEqual('vnc', console['protocol'])
        self.assertEqual('novnc', console['type'])
        url = parse.urlparse(console['url'])
        self.assertIn(url.scheme, ('http', 'https'))
        self.assertIn('token', parse.unquote(console['url']))
        self.assertNotIn('password', console['url'].lower())

        # The URL carries a token, not the port: ask the driver for the
        # connection the token was made for.
        ctxt = nova_context.get_admin_context()
        instance = objects.Instance.get_by_uuid(ctxt, server['id'])
        # The port is the driver's relay's, the same every time (the
        # proxy validates it); the VRDE port is the instance's own, and
        # the VM has a VNC password.
        vnc = self.compute.driver.get_vnc_console(ctxt, instance)
        self.assertEqual(vnc.port, self.compute.driver.get_vnc_console(
            ctxt, instance).port)
        self.assertNotEqual(str(vnc.port), info['vrdeports'])
        self.assertIn(int(info['vrdeports']), range(5900, 6000))
        paths = pathutils.PathUtils()
        with open(paths.vrde_port_path(instance)) as f:
            self.assertEqual(int(info['vrdeports']), int(f.read().strip()))
        self.assertTrue(os.path.exists(paths.vrde_password_path(instance)))

        self._delete_server(server)
        self._assert_nothing_left()
