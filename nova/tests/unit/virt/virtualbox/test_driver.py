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

import json
import os
import subprocess
import sys
import textwrap
from unittest import mock

import fixtures

from nova.tests.unit.virt.virtualbox import test_base
from nova.tests.unit.virt.virtualbox import transcript_file
from nova.virt import driver as base_driver
from nova.virt import fake as fake_virt
from nova.virt.virtualbox import driver as vbox_driver
from nova.virt.virtualbox import exception as vbox_exc


class VBoxDriverTestCase(test_base.VBoxTestCase):

    def setUp(self):
        super().setUp()
        self.driver = vbox_driver.VBoxDriver(fake_virt.FakeVirtAPI(),
                                             vbox=self.vbox)
        self.driver._vmops = mock.Mock()
        self.driver._hostops = mock.Mock()

    def test_public_api_signatures(self):
        self.assertPublicAPISignatures(
            base_driver.ComputeDriver(None),
            vbox_driver.VBoxDriver(None, vbox=self.vbox))

    def test_load_compute_driver(self):
        drv = base_driver.load_compute_driver(fake_virt.FakeVirtAPI(),
                                              'virtualbox.VBoxDriver')
        self.assertIsInstance(drv, vbox_driver.VBoxDriver)

    def test_init_host_checks_config_version_and_path(self):
        self.flags(instances_path=os.path.join(self.instances_path, 'new'))
        self.vbox.check_version.return_value = ((7, 2, 22), '7.2.22')
        self.driver.init_host('laptop')
        self.vbox.check_version.assert_called_once_with()
        self.assertTrue(os.path.isdir(os.path.join(self.instances_path,
                                                   'new')))

    def test_init_host_refuses_a_bad_config(self):
        self.flags(vrde_port='9000-8000', group='virtualbox')
        err = self.assertRaises(vbox_exc.VBoxConfigError,
                                self.driver.init_host, 'laptop')
        self.assertIn('vrde_port', str(err))
        self.vbox.check_version.assert_not_called()

    def test_init_host_refuses_old_virtualbox(self):
        self.vbox.check_version.side_effect = (
            vbox_exc.VBoxVersionUnsupported(version='6.0.24',
                                            min_version='6.1.0'))
        self.assertRaises(vbox_exc.VBoxVersionUnsupported,
                          self.driver.init_host, 'laptop')

    def test_delegation(self):
        instance = mock.sentinel.instance
        self.driver._events = mock.Mock()
        cases = [
            ('list_instances', (), self.driver._vmops.list_instances, ()),
            ('list_instance_uuids', (),
             self.driver._vmops.list_instance_uuids, ()),
            ('get_info', (instance,), self.driver._events.get_info,
             (instance, True)),
            ('get_num_instances', (),
             self.driver._events.get_num_instances, ()),
            ('get_available_nodes', (),
             self.driver._hostops.get_available_nodes, ()),
            ('get_available_resource', ('node',),
             self.driver._hostops.get_available_resource, ()),
            ('get_host_uptime', (), self.driver._hostops.get_host_uptime,
             ()),
            ('get_host_cpu_stats', (),
             self.driver._hostops.get_host_cpu_stats, ()),
        ]
        for method, args, target, expected_args in cases:
            result = getattr(self.driver, method)(*args)
            target.assert_called_once_with(*expected_args)
            self.assertIs(target.return_value, result, method)

    def test_update_provider_tree_passes_ratios_and_reserved_disk(self):
        self.flags(reserved_host_disk_mb=2048, cpu_allocation_ratio=2.0)
        tree = mock.Mock()
        tree.data.return_value.inventory = {}
        self.driver.update_provider_tree(tree, 'node')
        args = self.driver._hostops.update_provider_tree.call_args[0]
        self.assertEqual((tree, 'node'), args[:2])
        self.assertEqual(2.0, args[2]['VCPU'])
        self.assertEqual(2, args[3])

    def test_host_ip(self):
        self.flags(my_ip='10.1.2.3')
        self.assertEqual('10.1.2.3', self.driver.get_host_ip_addr())

    def test_missing_features_raise_not_implemented(self):
        # Live migration and MKS consoles are not VirtualBox features.
        self.assertRaises(NotImplementedError, self.driver.get_mks_console,
                          None, None)
        self.assertRaises(NotImplementedError,
                          self.driver.live_migration_abort, None)


# Runs in a fresh interpreter exactly as nova-compute starts in Nova 34:
# monkey_patch.patch(backend='threading') poisons any import of eventlet.
NATIVE_THREADS_SCRIPT = textwrap.dedent('''\
    import json, sys
    from nova import monkey_patch
    monkey_patch.patch(backend='threading')
    import nova.conf
    from nova.virt import driver
    from nova.virt import fake
    CONF = nova.conf.CONF
    CONF(['--config-file', sys.argv[1]], project='nova')
    drv = driver.load_compute_driver(fake.FakeVirtAPI(),
                                     'virtualbox.VBoxDriver')
    drv.init_host('laptop')
    res = drv.get_available_resource('laptop')
    try:
        import eventlet  # noqa
        poisoned = False
    except ImportError:
        poisoned = True
    print(json.dumps({'vcpus': res['vcpus'], 'poisoned': poisoned,
                      'eventlet': 'eventlet' in sys.modules,
                      'instances': drv.list_instances()}))
    ''')

# A VBoxManage that answers from the real transcripts.
TRANSCRIPT_VBOXMANAGE = textwrap.dedent('''\
    import importlib.util, sys
    spec = importlib.util.spec_from_file_location('t', %(reader)r)
    reader = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reader)
    answers = {'--version': '01-version.txt',
               'list hostinfo': '03-list-hostinfo.txt',
               'list vms': '23-list-vms.txt'}
    t = reader.read_transcript(answers[' '.join(sys.argv[1:])])
    sys.stdout.write(t.stdout)
    sys.stderr.write(t.stderr)
    sys.exit(t.exit_code)
    ''')


class NativeThreadsTestCase(test_base.VBoxTestCase):

    def test_driver_starts_with_eventlet_poisoned(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        fake = os.path.join(tmp, 'vboxmanage.py')
        with open(fake, 'w') as f:
            f.write(TRANSCRIPT_VBOXMANAGE % {
                'reader': transcript_file.__file__})
        conf = os.path.join(tmp, 'nova-compute.conf')
        with open(conf, 'w') as f:
            f.write('[DEFAULT]\ninstances_path = %s\n'
                    '[virtualbox]\nvboxmanage_cmd = %s %s\n'
                    % (tmp, sys.executable, fake))
        env = dict(os.environ)
        env.pop('OS_NOVA_DISABLE_EVENTLET_PATCHING', None)
        proc = subprocess.run(
            [sys.executable, '-c', NATIVE_THREADS_SCRIPT, conf],
            capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(0, proc.returncode, proc.stderr)
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        self.assertEqual({'vcpus': 2, 'poisoned': True, 'eventlet': False,
                          'instances': []}, result)


class LifecycleDelegationTestCase(test_base.VBoxTestCase):
    """The lifecycle section of the driver hands each call to vmops."""

    def setUp(self):
        super().setUp()
        self.driver = vbox_driver.VBoxDriver(fake_virt.FakeVirtAPI(),
                                             vbox=self.vbox)
        self.vmops = self.driver._vmops = mock.Mock()
        self.driver._events = mock.MagicMock()
        self.driver._recovery = mock.MagicMock()

    def test_delegation(self):
        i, ctx, nw, bdi = (mock.sentinel.instance, mock.sentinel.ctx,
                           mock.sentinel.nw, mock.sentinel.bdi)
        image = mock.sentinel.image
        cases = [
            ('spawn', (ctx, i, image, ['f'], 'pw', {}, nw, bdi, False),
             'spawn', (ctx, i, image, ['f'], 'pw', nw, bdi, False)),
            ('destroy', (ctx, i, nw, bdi, False), 'destroy',
             (i, False, bdi)),
            ('cleanup', (ctx, i, nw), 'cleanup', (i, True, None)),
            ('power_off', (i, 30, 5), 'power_off', (i, 30, 5)),
            ('power_on', (ctx, i, nw), 'power_on', (i,)),
            ('reboot', (ctx, i, nw, 'SOFT'), 'reboot', (i, 'SOFT')),
            ('pause', (i,), 'pause', (i,)),
            ('unpause', (i,), 'unpause', (i,)),
            ('suspend', (ctx, i), 'suspend', (i,)),
            ('resume', (ctx, i, nw), 'resume', (i,)),
            ('resume_state_on_host_boot', (ctx, i, nw, None),
             'resume_state_on_host_boot', (i,)),
            ('soft_delete', (i,), 'soft_delete', (i,)),
            ('restore', (i,), 'restore', (i,)),
        ]
        for method, args, target, expected in cases:
            getattr(self.driver, method)(*args)
            getattr(self.vmops, target).assert_called_once_with(*expected)
        for method in ('instance_exists', 'get_diagnostics'):
            self.assertIs(getattr(self.vmops, method).return_value,
                          getattr(self.driver, method)(i))
            getattr(self.vmops, method).assert_called_once_with(i)

    def test_cleanup_passes_block_device_info(self):
        bdi = mock.sentinel.bdi
        instance = test_base.FakeInstance()
        self.driver.cleanup(mock.sentinel.ctx, instance, mock.sentinel.nw,
                            bdi, False)
        self.vmops.cleanup.assert_called_once_with(instance, False, bdi)

    def test_vmops_gets_volume_ops_and_virtapi(self):
        virtapi = fake_virt.FakeVirtAPI()
        drv = vbox_driver.VBoxDriver(virtapi, vbox=self.vbox)
        self.assertIs(drv._volumeops, drv._vmops._volumeops)
        self.assertIs(virtapi, drv._vmops._virtapi)
        self.assertIs(drv._vifops, drv._vmops._vif)
        made = drv._make_vmops(mock.sentinel.cache)
        self.assertIs(drv._volumeops, made._volumeops)
        self.assertIs(virtapi, made._virtapi)

    def test_iso_images_are_supported(self):
        self.assertTrue(
            vbox_driver.VBoxDriver.capabilities['supports_image_type_iso'])

    def test_instance_diagnostics_are_not_offered(self):
        # Nova's Diagnostics object only takes a driver of its own list
        # (libvirt, xenapi, vmwareapi, ironic, hyperv).
        self.assertRaises(NotImplementedError,
                          self.driver.get_instance_diagnostics, None)


class InterfaceTestCase(test_base.VBoxTestCase):
    """Ports: detach only; Nova refuses attach on the capability."""

    def setUp(self):
        super().setUp()
        self.driver = vbox_driver.VBoxDriver(fake_virt.FakeVirtAPI(),
                                             vbox=self.vbox)
        self.vifops = self.driver._vifops = mock.Mock()

    def test_evacuate_rebuilds_with_novas_default_and_no_shared_storage(
            self):
        # Nova's _rebuild_default_impl spawns the server anew, and the old
        # host, back up, destroys its VM with its disks (storage not
        # shared: check_instance_shared_storage_local is not implemented).
        self.assertTrue(
            vbox_driver.VBoxDriver.capabilities['supports_evacuate'])
        self.assertNotIn('rebuild', vars(vbox_driver.VBoxDriver))
        self.assertRaises(NotImplementedError,
                          self.driver.check_instance_shared_storage_local,
                          mock.sentinel.ctx, test_base.FakeInstance())
        self.assertFalse(self.driver.instance_on_disk(
            test_base.FakeInstance()))

    def test_attach_interface_is_not_offered(self):
        self.assertFalse(
            vbox_driver.VBoxDriver.capabilities['supports_attach_interface'])
        self.assertNotIn('attach_interface', vars(vbox_driver.VBoxDriver))
        self.assertRaises(NotImplementedError, self.driver.attach_interface,
                          mock.sentinel.ctx, test_base.FakeInstance(),
                          mock.sentinel.image_meta, mock.sentinel.vif)
        self.assertEqual([], self.vifops.mock_calls)

    def test_detach_interface_goes_to_vifops(self):
        instance = test_base.FakeInstance()
        self.driver.detach_interface(mock.sentinel.ctx, instance,
                                     mock.sentinel.vif)
        self.vifops.detach_interface.assert_called_once_with(
            instance, mock.sentinel.vif)
