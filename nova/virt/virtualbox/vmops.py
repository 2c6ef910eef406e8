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

"""Instances as VirtualBox VMs: create, run, stop, destroy, and their state.

Every VM is addressed by the instance UUID (``createvm --uuid``). Each
public operation holds the instance's lock, so two operations on one
instance never interleave while different instances run in parallel.
Waits for the guest are polls of ``showvminfo`` against a monotonic
deadline: bounded, never a blind sleep.

Where the disks go is disklayout's decision; this module makes them.
"""

import calendar
import os
import time

from oslo_concurrency import lockutils
from oslo_log import log as logging
from oslo_utils import excutils

from nova import exception
from nova.i18n import _
from nova.virt.virtualbox import configdrive
from nova.virt.virtualbox import consoleops
from nova.virt.virtualbox import constants
from nova.virt.virtualbox import disklayout
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import imagecache
from nova.virt.virtualbox import pathutils
from nova.virt.virtualbox import vboxmanage
from nova.virt.virtualbox import volumeops

import nova.conf

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

SOFT_REBOOT = 'SOFT'

# Nova's os_type (linux, windows) -> VirtualBox OS type; any other value of
# hw_vbox_os_type or os_type is taken as a VirtualBox OS type as is.
NOVA_OS_TYPES = {
    'linux': 'Linux_64',
    'windows': 'Windows2019_64',
}
FIRMWARE_TYPES = {'uefi': 'efi', 'bios': 'bios'}
DESCRIPTION_MAX = 255
# How long an operation waits for a VM in a passing state (starting,
# stopping, saving, ...) to settle before acting on it.
SETTLE_TIMEOUT = 60
VBOX_LOG_TAIL_LINES = 5


def sanitize_description(text):
    """The display name as one printable line VirtualBox stores verbatim:
    control characters (newlines, tabs) become spaces, runs of spaces one,
    and it is cut to DESCRIPTION_MAX characters."""
    text = ''.join(c if c.isprintable() else ' ' for c in text or '')
    return ' '.join(text.split())[:DESCRIPTION_MAX]


class _Rollback(object):
    """Undo steps of a spawn, run newest first when a later step fails.

    A step that fails is logged and the next one still runs: rollback does
    all it can.
    """

    def __init__(self, instance):
        self._instance = instance
        self._steps = []

    def add(self, name, func, *args):
        self._steps.append((name, func, args))

    def forget(self, name):
        self._steps = [step for step in self._steps if step[0] != name]

    def run(self):
        while self._steps:
            name, func, args = self._steps.pop()
            try:
                func(*args)
            except Exception:
                LOG.exception('Spawn rollback: undoing the %s failed; '
                              'going on with the rest', name,
                              instance=self._instance)


class VMOps(object):

    def __init__(self, vbox, path_utils=None, image_cache=None,
                 vif_ops=None, console_ops=None, config_drive=None,
                 volume_ops=None, virtapi=None, reuse_disks=False):
        """:param reuse_disks: spawn attaches an ephemeral or swap disk
            file already in the VM folder (one a migration copied from
            the source host) instead of creating a blank one."""
        self._vbox = vbox
        self._pathutils = path_utils or pathutils.PathUtils()
        # The helpers keep their state in files and file locks, so one
        # made here and one of the driver's share it.
        self._imagecache = image_cache or imagecache.ImageCache(
            self._vbox, self._pathutils)
        self._console = console_ops or consoleops.ConsoleOps(
            self._vbox, self._pathutils)
        self._configdrive = config_drive or configdrive.ConfigDrive(
            self._vbox, self._pathutils)
        self._volumeops = volume_ops or volumeops.VolumeOps(
            self._vbox, self._pathutils)
        # vif.VIFOps builds the NICs; without it the VM gets none.
        self._vif = vif_ops
        # Nova's VirtAPI, for waiting on Neutron's network-vif-plugged
        # events around the VM's start (vif.VIFOps.wait_for_vif_plugged).
        self._virtapi = virtapi
        self._reuse_disks = reuse_disks

    @staticmethod
    def _lock(instance):
        return lockutils.lock(pathutils.lock_name(instance))

    # -- listing: one `list vms` call, whatever the number of VMs -------------

    def _nova_vms(self):
        """[(name, uuid)] of the registered VMs that are Nova's."""
        return [(name, uuid) for name, uuid in self._vbox.list_vms()
                if self._pathutils.is_nova_vm(name)]

    def list_instances(self):
        return [name for name, _uuid in self._nova_vms()]

    def list_instance_uuids(self):
        return [uuid for _name, uuid in self._nova_vms()]

    # -- state ----------------------------------------------------------------

    def vm_info(self, instance):
        """``showvminfo`` of the instance's VM.

        :raises InstanceNotFound: VirtualBox has no VM with its UUID.
        """
        return self._vbox.show_instance_info(instance)

    def instance_exists(self, instance):
        try:
            self.vm_info(instance)
        except exception.InstanceNotFound:
            return False
        return True

    def _state(self, instance):
        return self.vm_info(instance).get('VMState', constants.STATE_UNKNOWN)

    @staticmethod
    def _poll_interval():
        return max(CONF.virtualbox.retry_interval, 0.1)

    def _wait_for_state(self, instance, done, timeout):
        """Poll the VM's state until ``done(state)`` or ``timeout`` seconds.

        :returns: the last state seen (check it: it may be a timeout).
        """
        deadline = time.monotonic() + timeout
        while True:
            state = self._state(instance)
            remaining = deadline - time.monotonic()
            if done(state) or remaining <= 0:
                return state
            time.sleep(min(self._poll_interval(), remaining))

    def _settled_state(self, instance):
        """The VM's state once it is not passing between states."""
        return self._wait_for_state(
            instance, lambda s: s not in constants.TRANSITIONAL_STATES,
            SETTLE_TIMEOUT)

    def _poweroff(self, instance):
        """controlvm poweroff (VBoxInvalidVMState: the VM was not running).

        A failure after which the VM is stopped anyway is a power off done:
        its process ended meanwhile (real 7.2's "The VM session was
        aborted" when the VM process died during the power off).
        """
        try:
            self._run(instance, 'controlvm', instance.uuid, 'poweroff')
        except vbox_exc.VBoxInvalidVMState:
            raise
        except vbox_exc.VBoxManageError as err:
            with excutils.save_and_reraise_exception() as ctxt:
                state = self._settled_state(instance)
                if state not in constants.ACTIVE_STATES:
                    LOG.warning('The power off failed, but the VM is %(state)s'
                                ' (its process ended): %(err)s',
                                {'state': state, 'err': err},
                                instance=instance)
                    ctxt.reraise = False

    def _run(self, instance, *args, **kwargs):
        """A VBoxManage call on the instance's VM; a missing VM is Nova's
        InstanceNotFound."""
        try:
            return self._vbox.run(*args, **kwargs)
        except vbox_exc.VBoxObjectNotFound:
            raise exception.InstanceNotFound(instance_id=instance.uuid)

    # -- spawn ----------------------------------------------------------------

    def spawn(self, context, instance, image_meta, injected_files=None,
              admin_password=None, network_info=None,
              block_device_info=None, power_on=True):
        """Build the VM and start it: createvm, one modifyvm with every
        setting, the root disk, the controller and what it holds, the
        DVDs, startvm (tools/benchmark.py counts the calls). Any failure
        removes everything made so far; volumes are only forgotten, never
        deleted."""
        os_type = self._os_type(instance, image_meta)
        controller = disklayout.controller(image_meta)
        iso = disklayout.is_iso(image_meta)
        boot_volume = self._volumeops.boot_volume(block_device_info)
        if boot_volume is not None and iso:
            iso = False  # the volume boots; the image made it
        disks = disklayout.plan_disks(
            self._pathutils, instance, block_device_info, controller, iso,
            boot_volume is not None, self._configdrive.required(instance))
        with self._lock(instance):
            rollback = _Rollback(instance)
            try:
                self._build(context, instance, image_meta, network_info,
                            os_type, controller, rollback, iso,
                            block_device_info, boot_volume, disks)
                self._attach_dvds(context, instance, injected_files,
                                  admin_password, network_info, controller,
                                  iso and self._cached_iso(
                                      context, instance, image_meta))
                if power_on:
                    if self._volumeops.volumes(block_device_info):
                        # A start that timed out may leave the VM running,
                        # and unregistervm refuses a running VM: stop it
                        # before the rollback lets go of the volumes.
                        rollback.add('start', self._stop_quietly, instance)
                    self._start_new(instance, network_info)
            except Exception:
                with excutils.save_and_reraise_exception():
                    LOG.error('Spawn failed; removing what was made',
                              instance=instance)
                    rollback.run()
        LOG.info('Instance spawned (%s)',
                 'running' if power_on else 'powered off', instance=instance)

    def _build(self, context, instance, image_meta, network_info, os_type,
               controller, rollback, iso=False, block_device_info=None,
               boot_volume=None, disks=()):
        vm_dir = self._pathutils.instance_dir(instance)
        if not os.path.exists(vm_dir):
            # createvm may leave its settings file behind when it fails
            # (a duplicate UUID).
            rollback.add('VM folder', self._pathutils.remove_tree, vm_dir)
        self._create_vm(instance, os_type)
        rollback.forget('VM folder')
        rollback.add('VM folder', self._pathutils.remove_tree, vm_dir)
        # Runs once the VM is unregistered (newest steps first), which
        # leaves the DVD's medium registered.
        rollback.add('config drive', self._forget_config_drive, instance)
        rollback.add('VM', self._unregister, instance)

        self._vbox.run('modifyvm', instance.uuid,
                       *self._settings_args(instance, image_meta, os_type,
                                            network_info, iso))

        root_disk = None
        if boot_volume is None:
            # Registered with VirtualBox by its creation; once attached,
            # it is the VM's: forgotten with it, deleted with its folder.
            rollback.add('root disk', self._close_own_disk,
                         self._pathutils.root_disk_path(instance))
            # For an ISO image: a blank disk of root_gb to install to, or
            # None when root_gb is 0.
            root_disk = self._imagecache.create_root_disk(
                context, instance, image_meta, instance.flavor.root_gb)
        add, model, name, ports = controller
        self._vbox.run('storagectl', instance.uuid, '--name', name,
                       '--add', add, '--controller', model,
                       '--portcount', str(ports), '--bootable', 'on')
        if root_disk:
            group = ()
            limit = disklayout.disk_bytes_limit(instance.flavor, instance)
            if limit:
                self.add_bandwidth_group(instance, limit)
                group = ('--bandwidthgroup', disklayout.DISK_BANDWIDTH_GROUP)
            self._vbox.run('storageattach', instance.uuid, '--storagectl',
                           name, '--port', '0', '--device', '0',
                           '--type', constants.DEVICE_HDD,
                           '--medium', root_disk, *group)
        rollback.forget('root disk')

        if self._volumeops.volumes(block_device_info):
            # The rollback's plain unregistervm forgets the volumes and
            # deletes none of them.
            self._volumeops.attach_volumes_for_spawn(
                instance, block_device_info, controller=name,
                controller_type=model)
        for disk in disks:
            self._add_disk(instance, name, disk, rollback)

    def _add_disk(self, instance, controller, disk, rollback):
        """An ephemeral or swap disk: a dynamic VDI, not immutable (its
        data lasts across reboots), attached at its slot; with
        reuse_disks, the file already there when there is one."""
        step = '%s disk %s' % (disk.kind, disk.path)
        rollback.add(step, self._close_own_disk, disk.path)
        if not (self._reuse_disks and os.path.exists(disk.path)):
            self._vbox.run('createmedium', 'disk', '--filename', disk.path,
                           '--size', str(disk.size_mb), '--format', 'VDI',
                           undo=lambda: self._close_own_disk(disk.path))
        self._vbox.run('storageattach', instance.uuid, '--storagectl',
                       controller, '--port', str(disk.slot[0]),
                       '--device', str(disk.slot[1]),
                       '--type', constants.DEVICE_HDD, '--medium', disk.path)
        rollback.forget(step)

    def _os_type(self, instance, image_meta):
        sysmeta = getattr(instance, 'system_metadata', None) or {}
        for value in (sysmeta.get('image_hw_vbox_os_type'),
                      sysmeta.get('image_os_type'),
                      disklayout.image_prop(image_meta, 'os_type')):
            if value:
                return NOVA_OS_TYPES.get(value.lower(), value)
        return CONF.virtualbox.os_type

    def _create_vm(self, instance, os_type):
        # --groups here rather than in modifyvm: VirtualBox puts the VM
        # folder in a sub-folder per group, and modifyvm --groups would
        # move an existing VM's folder there.
        try:
            self._vbox.run('createvm', '--name', pathutils.vm_name(instance),
                           '--uuid', instance.uuid, '--ostype', os_type,
                           '--basefolder', self._pathutils.instances_dir(),
                           '--groups', CONF.virtualbox.vm_group,
                           '--register',
                           undo=lambda: self._undo_create_vm(instance))
        except vbox_exc.VBoxAlreadyExists:
            raise exception.InstanceExists(name=instance.name)
        except vbox_exc.VBoxManageError as err:
            if 'guest OS type' in str(err):
                raise exception.ImageUnacceptable(
                    image_id=instance.image_ref,
                    reason=_('VirtualBox has no OS type %s (see VBoxManage '
                             'list ostypes; set the image property '
                             'hw_vbox_os_type)') % os_type)
            raise

    def add_bandwidth_group(self, instance, limit):
        """The VM's disk bandwidth group of ``limit`` bytes/s; a retry
        after a transient failure first removes a group the failed
        attempt may have added."""
        self._vbox.run('bandwidthctl', instance.uuid, 'add',
                       disklayout.DISK_BANDWIDTH_GROUP, '--type', 'disk',
                       '--limit', disklayout.bandwidth_limit_arg(limit),
                       undo=lambda: self._remove_bandwidth_group(instance))

    def _remove_bandwidth_group(self, instance):
        try:
            self._vbox.run('bandwidthctl', instance.uuid, 'remove',
                           disklayout.DISK_BANDWIDTH_GROUP)
        except vbox_exc.VBoxObjectNotFound:
            pass

    def _undo_create_vm(self, instance):
        """Before createvm is tried again: a createvm that failed late may
        have written the settings file or even registered the VM, and the
        next attempt would then fail with "already exists". No VBoxManage
        call when there is no settings file (the usual transient failure,
        before VirtualBox did anything)."""
        settings = self._pathutils.settings_file(pathutils.vm_name(instance))
        if not os.path.exists(settings):
            return
        self._unregister(instance)
        for path in (settings, settings + '-prev'):
            self._pathutils.remove_file(path)

    def _settings_args(self, instance, image_meta, os_type, network_info,
                       iso=False):
        """Every setting of the VM, for its one modifyvm call. An ISO image
        boots from its DVD first (the installer), then the disk."""
        flavor = instance.flavor
        windows = os_type.lower().startswith('win')
        firmware = FIRMWARE_TYPES.get(
            disklayout.image_prop(image_meta, 'hw_firmware_type'), 'bios')
        args = ['--memory', str(flavor.memory_mb),
                '--cpus', str(flavor.vcpus),
                '--ioapic', 'on',
                '--rtc-use-utc', 'off' if windows else 'on',
                '--firmware', firmware,
                '--boot1', 'dvd' if iso else 'disk',
                '--boot2', 'disk' if iso else 'dvd',
                '--boot3', 'none', '--boot4', 'none',
                # A cloud server boots straight: no logo (its fade-in alone
                # costs seconds without hardware virtualization), no boot
                # menu. These spellings are VBoxManage's from 6.1 to 7.2.
                '--bioslogofadein', 'off', '--bioslogofadeout', 'off',
                '--bioslogodisplaytime', '0', '--biosbootmenu', 'disabled',
                # "=" so that a name starting with "-" stays a value.
                '--description=%s' % sanitize_description(
                    getattr(instance, 'display_name', ''))]
        if self._vif is not None:
            args += self._vif.nic_args(instance, network_info, image_meta)
        else:
            # createvm gives NIC 1 a NAT adapter Nova knows nothing of.
            args += ['--nic1', 'none']
        args += self._console.vrde_args(instance)
        args += self._console.serial_args(instance)
        return args

    def _cached_iso(self, context, instance, image_meta):
        """The cached ISO image's path (the image cache fetched it for the
        root disk already)."""
        path = self._imagecache.get_cached_image(context, instance,
                                                 image_meta)
        if not imagecache.ImageCache.is_iso(path):
            raise exception.ImageUnacceptable(
                image_id=disklayout.image_id(image_meta),
                reason=_('its disk_format is iso but the image cache holds '
                         '%s') % path)
        return path

    def _attach_dvds(self, context, instance, injected_files,
                     admin_password, network_info, controller, iso_path):
        """The ISO image to boot from and the config drive (built in the VM
        folder, so removed with it) as DVDs on port 1 of the IDE
        controller, added for them when the root controller is not IDE."""
        config_drive = self._configdrive.create(
            context, instance, injected_files, admin_password, network_info)
        if not (iso_path or config_drive):
            return
        add, model, name, ports = disklayout.DVD_CONTROLLER
        if controller[2] != name:
            self._vbox.run('storagectl', instance.uuid, '--name', name,
                           '--add', add, '--controller', model,
                           '--portcount', str(ports), '--bootable', 'on')
        if iso_path:
            self._vbox.run('storageattach', instance.uuid, '--storagectl',
                           name, '--port', str(disklayout.ISO_SLOT[0]),
                           '--device', str(disklayout.ISO_SLOT[1]),
                           '--type', constants.DEVICE_DVD,
                           '--medium', iso_path)
        if config_drive:
            port, device = disklayout.CONFIG_DRIVE_SLOT
            self._configdrive.attach(instance, name, port, device,
                                     path=config_drive)

    def _stop_quietly(self, instance):
        try:
            self._poweroff(instance)
        except vbox_exc.VBoxInvalidVMState:
            pass  # not running

    def _start_new(self, instance, network_info):
        """Start a new VM, waiting for Neutron's network-vif-plugged events
        when [virtualbox] wait_for_vif_plugged_events asks for it."""
        if self._vif is None:
            self._start(instance)
            return
        with self._vif.wait_for_vif_plugged(self._virtapi, instance,
                                            network_info):
            self._start(instance)

    def _close_own_disk(self, path):
        """Forget a disk the driver made and delete its file."""
        self._vbox.close_medium(path, delete=True)

    def _unregister(self, instance):
        """Plain unregistervm: VirtualBox forgets the VM and the media only
        it used, and deletes no file. (--delete would delete every hard
        disk the VM or any of its snapshots attaches, a volume's file
        included, even one detached since the snapshot.) The driver's own
        disks go with the VM folder. A VM already gone is fine; one that
        still runs (a start that timed out) is powered off first."""
        try:
            self._vbox.run('unregistervm', instance.uuid)
        except vbox_exc.VBoxObjectNotFound:
            return
        except (vbox_exc.VBoxInvalidVMState, vbox_exc.VBoxTransientError,
                vbox_exc.VBoxObjectInUse):
            LOG.info('VM still busy; powering it off before unregistering',
                     instance=instance)
            self._hard_power_off(instance)
            self._vbox.run('unregistervm', instance.uuid)

    # -- destroy --------------------------------------------------------------

    def destroy(self, instance, destroy_disks=True, block_device_info=None):
        """Power off, unregister, remove the VM folder; fine when the VM is
        gone already. Only what the driver made is deleted: its disks,
        config drive and descriptors live in the VM folder, and whatever
        else the VM attaches (volumes, whichever mapping Nova passes or
        none) is only forgotten by VirtualBox, never deleted."""
        with self._lock(instance):
            self._destroy(instance, destroy_disks)

    def cleanup(self, instance, destroy_disks=True, block_device_info=None):
        """What destroy may have left; nothing to do after a destroy."""
        self.destroy(instance, destroy_disks, block_device_info)

    def _destroy(self, instance, destroy_disks):
        self._console.close_vnc_console(instance)
        name = pathutils.vm_name(instance)
        if self._pathutils.is_nova_vm(name):
            try:
                self._poweroff(instance)
            except vbox_exc.VBoxInvalidVMState:
                pass  # not running
            except exception.InstanceNotFound:
                LOG.info('VM not registered; removing its files only',
                         instance=instance)
            else:
                LOG.debug('VM powered off', instance=instance)
            self._unregister(instance)
            if destroy_disks:
                self._forget_config_drive(instance)
        else:
            LOG.warning('No VM of this instance in %s; nothing to unregister',
                        self._pathutils.instance_dir(instance),
                        instance=instance)
        if destroy_disks:
            self._pathutils.remove_tree(self._pathutils.instance_dir(instance))

    def _forget_config_drive(self, instance):
        """unregistervm leaves DVD images in VirtualBox's media registry
        (it forgets the VM's hard disks only) until closed: the config
        drive, and the rescue config drive of a VM destroyed while
        rescued."""
        for iso in (self._pathutils.config_drive_path(instance),
                    self._pathutils.rescue_config_drive_path(instance)):
            if os.path.exists(iso):
                self._vbox.close_medium(iso, device='dvd')

    # -- power ----------------------------------------------------------------

    def power_off(self, instance, timeout=0, retry_interval=0):
        """Stop the VM: with a timeout, the ACPI power button first (pressed
        again every retry_interval seconds) and a hard power off when the
        guest has not shut down in time; without, a hard power off."""
        with self._lock(instance):
            try:
                if timeout and self._soft_power_off(instance, timeout,
                                                    retry_interval):
                    return
                self._hard_power_off(instance)
            except vbox_exc.VBoxError as err:
                raise exception.InstancePowerOffFailure(reason=err)

    def _press_power_button(self, instance):
        """False when the VM is not running (any more)."""
        try:
            self._run(instance, 'controlvm', instance.uuid, 'acpipowerbutton')
        except vbox_exc.VBoxInvalidVMState:
            return False
        return True

    def _soft_power_off(self, instance, timeout, retry_interval=0):
        """ACPI shutdown; True when the guest was off within ``timeout``."""
        if self._settled_state(instance) != constants.STATE_RUNNING:
            return False
        deadline = time.monotonic() + timeout
        press_at = time.monotonic()
        while True:
            if time.monotonic() >= press_at:
                if not self._press_power_button(instance):
                    return (self._state(instance) not in
                            constants.ACTIVE_STATES)
                press_at = (time.monotonic() + retry_interval
                            if retry_interval else float('inf'))
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                LOG.info('Guest did not shut down within %s s', timeout,
                         instance=instance)
                return False
            time.sleep(min(self._poll_interval(), remaining))
            if self._state(instance) not in constants.ACTIVE_STATES:
                LOG.info('Guest shut down', instance=instance)
                return True

    def _hard_power_off(self, instance):
        """controlvm poweroff; a saved VM loses its saved state instead."""
        try:
            self._poweroff(instance)
            return
        except vbox_exc.VBoxInvalidVMState:
            pass
        state = self._settled_state(instance)
        if state in (constants.STATE_SAVED, constants.STATE_ABORTED_SAVED):
            self._run(instance, 'discardstate', instance.uuid)
        elif state in constants.ACTIVE_STATES:
            self._poweroff(instance)

    def power_on(self, instance):
        with self._lock(instance):
            self._power_on(instance, exception.InstancePowerOnFailure)

    def _power_on(self, instance, failure):
        """Bring the VM to running from whatever state it is in."""
        try:
            state = self._settled_state(instance)
            if state == constants.STATE_RUNNING:
                return
            if state == constants.STATE_PAUSED:
                self._run(instance, 'controlvm', instance.uuid, 'resume')
                return
            if state in constants.ACTIVE_STATES:
                # gurumeditation: only a power off gets it out.
                self._poweroff(instance)
            self._start(instance)
        except (vbox_exc.VBoxError, exception.InstancePowerOnFailure) as err:
            if isinstance(err, failure):
                raise
            raise failure(reason=err)

    def _start(self, instance):
        """startvm --type headless: VirtualBox prints its success line once
        the VM runs, so no wait follows."""
        self._console.keep_previous_log(instance)
        try:
            self._run(instance, 'startvm', instance.uuid, '--type',
                      'headless')
        except vbox_exc.VBoxManageError as err:
            raise exception.InstancePowerOnFailure(
                reason=_('VirtualBox could not start the VM: %(err)s%(log)s')
                % {'err': err, 'log': self._vbox_log_tail(instance)})

    def _vbox_log_tail(self, instance):
        path = os.path.join(self._pathutils.instance_dir(instance), 'Logs',
                            'VBox.log')
        try:
            with open(path, encoding='utf-8', errors='replace') as f:
                lines = f.read().splitlines()[-VBOX_LOG_TAIL_LINES:]
        except OSError:
            return ''
        return _('; the end of %(path)s: %(lines)s') % {
            'path': path, 'lines': ' | '.join(lines)}

    # -- reboot ---------------------------------------------------------------

    def reboot(self, instance, reboot_type):
        """SOFT: ACPI shutdown (up to [virtualbox] wait_soft_reboot_seconds)
        then start, else a hard reboot. HARD: power off (or discard the
        saved state), then start."""
        with self._lock(instance):
            try:
                if reboot_type == SOFT_REBOOT and self._soft_reboot(instance):
                    return
                self._hard_reboot(instance)
            except (vbox_exc.VBoxError, exception.InstancePowerOnFailure) as e:
                raise exception.InstanceRebootFailure(reason=e)

    def _soft_reboot(self, instance):
        if not self._soft_power_off(
                instance, CONF.virtualbox.wait_soft_reboot_seconds):
            LOG.info('Soft reboot did not shut the guest down; rebooting it '
                     'hard', instance=instance)
            return False
        self._start(instance)
        LOG.info('Instance rebooted softly', instance=instance)
        return True

    def _hard_reboot(self, instance):
        """A power cycle of the VM, whatever its state, as libvirt's hard
        reboot recreates its domain. Not ``controlvm reset``: on VirtualBox
        7.2 the reset of a VM restored from a saved state hangs in its BIOS
        (a suspend and resume, then a hard reboot, never booted)."""
        self._hard_power_off(instance)
        self._start(instance)
        LOG.info('Instance rebooted hard', instance=instance)

    # -- pause, suspend, soft delete ------------------------------------------

    def _control(self, instance, action, method, failure=None, **kwargs):
        """controlvm ACTION; a VM in the wrong state is Nova's
        InstanceInvalidState, other errors ``failure`` (else as they are:
        VirtualBox errors are Nova exceptions)."""
        try:
            self._run(instance, 'controlvm', instance.uuid, action, **kwargs)
        except vbox_exc.VBoxInvalidVMState:
            raise exception.InstanceInvalidState(
                attr='power_state', instance_uuid=instance.uuid,
                state=self._state(instance), method=method)
        except vbox_exc.VBoxError as err:
            if failure is None:
                raise
            raise failure(reason=err)

    def pause(self, instance):
        with self._lock(instance):
            self._control(instance, 'pause', 'pause')

    def unpause(self, instance):
        """controlvm resume; a VM that runs already is fine (Nova's driver
        contract: unpausing an unpaused instance is not an error)."""
        with self._lock(instance):
            try:
                self._control(instance, 'resume', 'unpause')
            except exception.InstanceInvalidState:
                state = self.vm_info(instance).get('VMState')
                if state != constants.STATE_RUNNING:
                    raise

    def suspend(self, instance):
        """controlvm savestate: the VM's memory goes to a file in its
        folder. Real 7.2.22 at times fails the call after the state is
        saved (settings save: E_ACCESSDENIED "The object is not ready" of
        a console already gone, in VBox.log): the VM is saved all the same,
        which is what Nova asked for."""
        with self._lock(instance):
            try:
                self._control(instance, 'savestate', 'suspend',
                              exception.InstanceSuspendFailure,
                              timeout=vboxmanage.TIMEOUT_LONG)
            except exception.InstanceSuspendFailure as err:
                if self.vm_info(instance).get('VMState') != \
                        constants.STATE_SAVED:
                    raise
                LOG.warning('VirtualBox reported a failure (%s) but the VM '
                            'is saved', err, instance=instance)

    def resume(self, instance):
        with self._lock(instance):
            self._power_on(instance, exception.InstanceResumeFailure)

    def resume_state_on_host_boot(self, instance):
        """Nova expects the instance running: make it so."""
        with self._lock(instance):
            self._power_on(instance, exception.InstancePowerOnFailure)

    def soft_delete(self, instance):
        with self._lock(instance):
            try:
                self._hard_power_off(instance)
            except vbox_exc.VBoxError as err:
                raise exception.InstancePowerOffFailure(reason=err)

    def restore(self, instance):
        with self._lock(instance):
            self._power_on(instance, exception.InstancePowerOnFailure)

    # -- diagnostics ----------------------------------------------------------

    def get_diagnostics(self, instance):
        """What one ``showvminfo`` tells: state, memory, CPUs, uptime,
        disks and NICs (VirtualBox keeps no I/O counters without
        ``metrics setup``, which needs a running VM process)."""
        info = self.vm_info(instance)
        diags = {
            'state': info.get('VMState', constants.STATE_UNKNOWN),
            'memory_mb': info.get('memory'),
            'cpus': info.get('cpus'),
        }
        uptime = self._uptime(info)
        if uptime is not None:
            diags['uptime'] = uptime
        for key, value in info.items():
            if (isinstance(key, str) and key.count('-') >= 2 and
                    isinstance(value, str) and
                    value not in (constants.MEDIUM_NONE,
                                  constants.MEDIUM_EMPTY_DRIVE) and
                    key.rsplit('-', 2)[0] in self._controller_names(info)):
                diags['disk_%s' % key] = value
        for slot in range(1, constants.MAX_NICS + 1):
            kind = info.get('nic%d' % slot)
            if kind and kind != 'none':
                diags['nic%d' % slot] = kind
                mac = info.get('macaddress%d' % slot)
                if mac:
                    diags['nic%d_mac' % slot] = mac
        return diags

    @staticmethod
    def _controller_names(info):
        return [value for key, value in info.items()
                if str(key).startswith('storagecontrollername')]

    @staticmethod
    def _uptime(info):
        if info.get('VMState') != constants.STATE_RUNNING:
            return None
        changed = info.get('VMStateChangeTime', '')
        try:
            since = time.strptime(changed.split('.')[0], '%Y-%m-%dT%H:%M:%S')
        except ValueError:
            return None
        return max(0, int(time.time() - calendar.timegm(since)))
