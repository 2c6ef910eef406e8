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

"""VBoxDriver: Nova's compute driver for VirtualBox.

A facade: each method hands its work to the ops module that owns it.
Loaded by nova-compute with ``compute_driver = virtualbox.VBoxDriver``.
"""

import contextlib
import functools
import inspect

from oslo_log import log as logging

import nova.conf
from nova.virt import driver
from nova.virt.virtualbox import conf as vbox_conf
from nova.virt.virtualbox import consoleops
from nova.virt.virtualbox import eventops
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import hostops
from nova.virt.virtualbox import imagecache
from nova.virt.virtualbox import migrationops
from nova.virt.virtualbox import pathutils
from nova.virt.virtualbox import recoveryops
from nova.virt.virtualbox import rescueops
from nova.virt.virtualbox import snapshotops
from nova.virt.virtualbox import vboxmanage
from nova.virt.virtualbox import vif
from nova.virt.virtualbox import vmops
from nova.virt.virtualbox import volumeops

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF
vbox_conf.register_opts(CONF)


def _own_operation(journal=None):
    """Marks the driver's own operation on an instance: no lifecycle
    event is sent for what it does (eventops), and a spawn or a destroy of
    the disks keeps a journal entry while it runs, so that a restart
    removes what a killed nova-compute left half-made (recoveryops)."""
    def decorate(func):
        signature = inspect.signature(func)

        @functools.wraps(func)
        def wrapper(self, *args, **kwargs):
            arguments = signature.bind(self, *args, **kwargs).arguments
            instance = arguments['instance']
            with contextlib.ExitStack() as stack:
                stack.enter_context(self._events.own_operation(instance))
                if journal and arguments.get('destroy_disks', True):
                    stack.enter_context(
                        self._recovery.journal(journal, instance))
                return func(self, *args, **kwargs)
        # Nova's API signature checks see the method's own arguments.
        wrapper.__signature__ = signature
        return wrapper
    return decorate


class VBoxDriver(driver.ComputeDriver):
    """Runs Nova instances as VirtualBox VMs through VBoxManage."""

    # Honest: a capability turns True only with the feature working end to
    # end (on the simulator, and on real VBoxManage where it can).
    capabilities = dict(
        driver.ComputeDriver.capabilities,
        has_imagecache=True,
        supports_migrate_to_same_host=True,
        # Evacuate rebuilds a server of a host that is down on another one
        # with Nova's default rebuild (spawn from the image, the volumes
        # attached again); the host, back up, destroys the VM it had.
        supports_evacuate=True,
        # VirtualBox cannot add a NIC to a running VM; False makes Nova
        # refuse every attach with its own 400 (AttachInterfaceNotSupported).
        supports_attach_interface=False,
        supports_extend_volume=False,
        supports_multiattach=False,
        supports_image_type_iso=True,
        supports_image_type_qcow2=True,
        supports_image_type_raw=True,
        supports_image_type_vdi=True,
        supports_image_type_vhd=True,
        supports_image_type_vmdk=True,
    )

    def __init__(self, virtapi, vbox=None):
        super().__init__(virtapi)
        self._vbox = vbox or vboxmanage.VBoxManage.from_conf(CONF)
        self._pathutils = pathutils.PathUtils()
        self._events = eventops.EventOps(self._vbox, self._pathutils,
                                         self.emit_event)
        self._hostops = hostops.HostOps(
            self._vbox, self._pathutils,
            running_vms=self._events.cache.running_vms)
        self._imagecache = imagecache.ImageCache(self._vbox, self._pathutils)
        self._consoleops = consoleops.ConsoleOps(self._vbox, self._pathutils)
        self._vifops = vif.VIFOps(self._vbox)
        self._volumeops = volumeops.VolumeOps(self._vbox, self._pathutils)
        self._vmops = self._make_vmops(self._imagecache)
        self._snapshotops = snapshotops.SnapshotOps(self._vbox,
                                                    self._pathutils)
        self._migrationops = migrationops.MigrationOps(
            self._vbox, self._vmops, self._pathutils, self._snapshotops,
            vm_ops_factory=self._make_vmops)
        self._rescueops = rescueops.RescueOps(
            self._vbox, self._vmops, self._imagecache, self._pathutils)
        self._recovery = recoveryops.RecoveryOps(
            self._vbox, self._pathutils, self._vmops,
            snapshot_ops=self._snapshotops)

    def _make_vmops(self, image_cache, reuse_disks=False):
        """A VMOps with every settings builder wired in; migrations build
        VMs at their destination through one of these (reusing the disks
        copied from the source)."""
        return vmops.VMOps(self._vbox, self._pathutils,
                           image_cache=image_cache, vif_ops=self._vifops,
                           console_ops=self._consoleops,
                           volume_ops=self._volumeops, virtapi=self.virtapi,
                           reuse_disks=reuse_disks)

    # -- host -----------------------------------------------------------------

    def init_host(self, host):
        problems = vbox_conf.validate(CONF)
        if problems:
            raise vbox_exc.VBoxConfigError(reason='; '.join(problems))
        numbers, text = self._vbox.check_version()
        self._vifops.validate()
        self._consoleops.check_host()
        self._pathutils.ensure_dir(self._pathutils.instances_dir())
        LOG.info('VirtualBox %(version)s found; instances in %(path)s',
                 {'version': text, 'path': self._pathutils.instances_dir()})
        self._recovery.recover()
        self._events.start()

    def cleanup_host(self, host):
        self._events.stop()
        self._consoleops.close_vnc_consoles()

    def get_available_nodes(self, refresh=False):
        return self._hostops.get_available_nodes()

    def get_available_resource(self, nodename):
        return self._hostops.get_available_resource()

    def update_provider_tree(self, provider_tree, nodename, allocations=None):
        inventory = provider_tree.data(nodename).inventory
        self._hostops.update_provider_tree(
            provider_tree, nodename, self._get_allocation_ratios(inventory),
            self._get_reserved_host_disk_gb_from_config())

    def get_host_ip_addr(self):
        return CONF.my_ip

    def get_host_uptime(self):
        return self._hostops.get_host_uptime()

    def get_host_cpu_stats(self):
        return self._hostops.get_host_cpu_stats()

    # -- instances ------------------------------------------------------------

    def list_instances(self):
        return self._vmops.list_instances()

    def list_instance_uuids(self):
        return self._vmops.list_instance_uuids()

    def get_info(self, instance, use_cache=True):
        return self._events.get_info(instance, use_cache)

    def get_num_instances(self):
        return self._events.get_num_instances()

    # -- lifecycle (vmops) ----------------------------------------------------

    @_own_operation(recoveryops.SPAWN)
    def spawn(self, context, instance, image_meta, injected_files,
              admin_password, allocations, network_info=None,
              block_device_info=None, power_on=True, accel_info=None):
        self._vmops.spawn(context, instance, image_meta, injected_files,
                          admin_password, network_info, block_device_info,
                          power_on)

    @_own_operation(recoveryops.DESTROY)
    def destroy(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, destroy_secrets=True):
        # Reverting a resize on this host: the VM is the original, which
        # finish_revert_migration restores; it must not be destroyed.
        if self._migrationops.keeps_vm_on_revert(instance):
            return
        self._vmops.destroy(instance, destroy_disks, block_device_info)

    @_own_operation(recoveryops.DESTROY)
    def cleanup(self, context, instance, network_info, block_device_info=None,
                destroy_disks=True, migrate_data=None, destroy_vifs=True,
                destroy_secrets=True):
        self._vmops.cleanup(instance, destroy_disks, block_device_info)

    @_own_operation()
    def power_off(self, instance, timeout=0, retry_interval=0):
        self._vmops.power_off(instance, timeout, retry_interval)

    @_own_operation()
    def power_on(self, context, instance, network_info,
                 block_device_info=None, accel_info=None, share_info=None):
        self._vmops.power_on(instance)

    @_own_operation()
    def reboot(self, context, instance, network_info, reboot_type,
               block_device_info=None, bad_volumes_callback=None,
               accel_info=None, share_info=None):
        self._vmops.reboot(instance, reboot_type)

    @_own_operation()
    def pause(self, instance):
        self._vmops.pause(instance)

    @_own_operation()
    def unpause(self, instance):
        self._vmops.unpause(instance)

    @_own_operation()
    def suspend(self, context, instance):
        self._vmops.suspend(instance)

    @_own_operation()
    def resume(self, context, instance, network_info, block_device_info=None,
               share_info=None):
        self._vmops.resume(instance)

    @_own_operation()
    def resume_state_on_host_boot(self, context, instance, network_info,
                                  share_info, block_device_info=None):
        self._vmops.resume_state_on_host_boot(instance)

    @_own_operation()
    def soft_delete(self, instance):
        self._vmops.soft_delete(instance)

    @_own_operation()
    def restore(self, instance):
        self._vmops.restore(instance)

    def instance_exists(self, instance):
        return self._vmops.instance_exists(instance)

    def get_diagnostics(self, instance):
        return self._vmops.get_diagnostics(instance)

    # -- images (imagecache) --------------------------------------------------

    def manage_image_cache(self, context, all_instances):
        self._imagecache.manage_image_cache(context, all_instances)

    def cache_image(self, context, image_id):
        return self._imagecache.cache_image(context, image_id)

    # -- snapshots, resize, rescue (snapshotops, migrationops) ----------------

    @_own_operation(recoveryops.SNAPSHOT)
    def snapshot(self, context, instance, image_id, update_task_state):
        self._snapshotops.snapshot(context, instance, image_id,
                                   update_task_state)

    @_own_operation()
    def migrate_disk_and_power_off(self, context, instance, dest,
                                   flavor, network_info,
                                   block_device_info=None,
                                   timeout=0, retry_interval=0):
        return self._migrationops.migrate_disk_and_power_off(
            context, instance, dest, flavor, network_info,
            block_device_info, timeout, retry_interval)

    @_own_operation()
    def finish_migration(self, context, migration, instance, disk_info,
                         network_info, image_meta, resize_instance,
                         allocations, block_device_info=None,
                         power_on=True, share_info=None):
        self._migrationops.finish_migration(
            context, migration, instance, disk_info, network_info,
            image_meta, resize_instance, block_device_info, power_on)

    @_own_operation()
    def confirm_migration(self, context, migration, instance,
                          network_info):
        self._migrationops.confirm_migration(context, migration,
                                             instance, network_info)

    @_own_operation()
    def finish_revert_migration(self, context, instance, network_info,
                                migration, block_device_info=None,
                                power_on=True, share_info=None):
        self._migrationops.finish_revert_migration(
            context, instance, network_info, migration,
            block_device_info, power_on)

    @_own_operation()
    def rescue(self, context, instance, network_info, image_meta,
               rescue_password, block_device_info, share_info):
        self._rescueops.rescue(context, instance, network_info,
                               image_meta, rescue_password,
                               block_device_info, share_info)

    @_own_operation()
    def unrescue(self, context, instance):
        self._rescueops.unrescue(context, instance)

    # -- consoles (consoleops) ------------------------------------------------

    def get_console_output(self, context, instance):
        return self._consoleops.get_console_output(context, instance)

    def get_vnc_console(self, context, instance):
        return self._consoleops.get_vnc_console(context, instance)

    def get_serial_console(self, context, instance):
        return self._consoleops.get_serial_console(context, instance)

    # -- networking (vif) -----------------------------------------------------

    def plug_vifs(self, instance, network_info):
        self._vifops.plug_vifs(instance, network_info)

    def unplug_vifs(self, instance, network_info):
        self._vifops.unplug_vifs(instance, network_info)

    def detach_interface(self, context, instance, vif):
        self._vifops.detach_interface(instance, vif)

    # -- volumes (volumeops) --------------------------------------------------

    def get_volume_connector(self, instance):
        return self._volumeops.get_volume_connector(instance)

    def attach_volume(self, context, connection_info, instance, mountpoint,
                      disk_bus=None, device_type=None, encryption=None):
        self._volumeops.attach_volume(connection_info, instance, mountpoint,
                                      disk_bus, encryption)

    def detach_volume(self, context, connection_info, instance, mountpoint,
                      encryption=None):
        self._volumeops.detach_volume(connection_info, instance, mountpoint)

    def extend_volume(self, context, connection_info, instance,
                      requested_size):
        self._volumeops.extend_volume(connection_info, instance,
                                      requested_size)
