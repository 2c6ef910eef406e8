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

"""VirtualBox facts the driver relies on, in one place."""

from nova.compute import power_state

# The oldest VirtualBox the driver accepts, and the first whose modifyvm
# takes the hyphenated option names (--nic-type1 rather than --nictype1).
MIN_VERSION = (6, 1, 0)
HYPHENATED_OPTIONS_VERSION = (7, 0, 0)

# VMState values of `showvminfo --machinereadable`, exactly as VirtualBox's
# VBoxManageInfo.cpp prints them. There is no "stuck": a hung guest shows
# "gurumeditation". Anything VirtualBox does not know prints "unknown".
STATE_POWEROFF = 'poweroff'
STATE_SAVED = 'saved'
STATE_TELEPORTED = 'teleported'
STATE_ABORTED = 'aborted'
STATE_ABORTED_SAVED = 'aborted-saved'
STATE_RUNNING = 'running'
STATE_PAUSED = 'paused'
STATE_GURU_MEDITATION = 'gurumeditation'
STATE_TELEPORTING = 'teleporting'
STATE_LIVE_SNAPSHOTTING = 'livesnapshotting'
STATE_STARTING = 'starting'
STATE_STOPPING = 'stopping'
STATE_SAVING = 'saving'
STATE_RESTORING = 'restoring'
STATE_TELEPORTING_PAUSED = 'teleportingpausedvm'
STATE_TELEPORTING_IN = 'teleportingin'
STATE_DELETING_SNAPSHOT_LIVE = 'deletingsnapshotlive'
STATE_DELETING_SNAPSHOT_LIVE_PAUSED = 'deletingsnapshotlivepaused'
STATE_ONLINE_SNAPSHOTTING = 'onlinesnapshotting'
STATE_RESTORING_SNAPSHOT = 'restoringsnapshot'
STATE_DELETING_SNAPSHOT = 'deletingsnapshot'
STATE_SETTING_UP = 'settingup'
STATE_SNAPSHOTTING = 'snapshotting'
STATE_UNKNOWN = 'unknown'

# VirtualBox VMState -> Nova power state. A state that is passing through
# (starting, saving, snapshotting, ...) maps to where the guest is now:
# a running guest is RUNNING while it is snapshotted live; a VM being set up
# from saved state is not running yet. Only "unknown" is NOSTATE.
POWER_STATE_MAP = {
    STATE_POWEROFF: power_state.SHUTDOWN,
    STATE_ABORTED: power_state.SHUTDOWN,
    STATE_TELEPORTED: power_state.SHUTDOWN,
    STATE_SAVED: power_state.SUSPENDED,
    STATE_ABORTED_SAVED: power_state.SUSPENDED,
    STATE_RUNNING: power_state.RUNNING,
    STATE_PAUSED: power_state.PAUSED,
    STATE_GURU_MEDITATION: power_state.CRASHED,
    STATE_TELEPORTING: power_state.RUNNING,
    STATE_LIVE_SNAPSHOTTING: power_state.RUNNING,
    STATE_ONLINE_SNAPSHOTTING: power_state.RUNNING,
    STATE_DELETING_SNAPSHOT_LIVE: power_state.RUNNING,
    STATE_DELETING_SNAPSHOT_LIVE_PAUSED: power_state.PAUSED,
    STATE_TELEPORTING_PAUSED: power_state.PAUSED,
    STATE_TELEPORTING_IN: power_state.PAUSED,
    STATE_STARTING: power_state.RUNNING,
    STATE_RESTORING: power_state.SUSPENDED,
    STATE_STOPPING: power_state.SHUTDOWN,
    STATE_SAVING: power_state.SUSPENDED,
    STATE_SNAPSHOTTING: power_state.SHUTDOWN,
    STATE_RESTORING_SNAPSHOT: power_state.SHUTDOWN,
    STATE_DELETING_SNAPSHOT: power_state.SHUTDOWN,
    STATE_SETTING_UP: power_state.SHUTDOWN,
    STATE_UNKNOWN: power_state.NOSTATE,
}

# States in which the VM process holds the machine: modifyvm and
# unregistervm need it powered off first.
ACTIVE_STATES = frozenset([
    STATE_RUNNING, STATE_PAUSED, STATE_GURU_MEDITATION, STATE_TELEPORTING,
    STATE_LIVE_SNAPSHOTTING, STATE_ONLINE_SNAPSHOTTING,
    STATE_DELETING_SNAPSHOT_LIVE, STATE_DELETING_SNAPSHOT_LIVE_PAUSED,
    STATE_TELEPORTING_PAUSED, STATE_TELEPORTING_IN, STATE_STARTING,
    STATE_RESTORING, STATE_STOPPING, STATE_SAVING,
])

# States that last only while VirtualBox is busy; callers wait them out.
TRANSITIONAL_STATES = frozenset([
    STATE_STARTING, STATE_STOPPING, STATE_SAVING, STATE_RESTORING,
    STATE_SNAPSHOTTING, STATE_LIVE_SNAPSHOTTING, STATE_ONLINE_SNAPSHOTTING,
    STATE_RESTORING_SNAPSHOT, STATE_DELETING_SNAPSHOT,
    STATE_DELETING_SNAPSHOT_LIVE, STATE_DELETING_SNAPSHOT_LIVE_PAUSED,
    STATE_SETTING_UP, STATE_TELEPORTING, STATE_TELEPORTING_IN,
    STATE_TELEPORTING_PAUSED,
])

# Storage buses: Nova/Glance hw_disk_bus -> (VirtualBox storagectl --add,
# controller model, controller name we give it, ports).
STORAGE_BUS_SATA = 'sata'
STORAGE_BUS_IDE = 'ide'
STORAGE_BUS_SCSI = 'scsi'
STORAGE_BUS_VIRTIO = 'virtio'
STORAGE_CONTROLLERS = {
    STORAGE_BUS_SATA: ('sata', 'IntelAhci', 'SATA', 30),
    STORAGE_BUS_IDE: ('ide', 'PIIX4', 'IDE', 2),
    STORAGE_BUS_SCSI: ('scsi', 'LsiLogic', 'SCSI', 16),
    STORAGE_BUS_VIRTIO: ('virtio', 'VirtIO', 'VirtIO', 30),
}

# Device types of storageattach --type.
DEVICE_HDD = 'hdd'
DEVICE_DVD = 'dvddrive'
MEDIUM_NONE = 'none'
MEDIUM_EMPTY_DRIVE = 'emptydrive'

# Nova hw_vif_model -> VirtualBox --nic-type.
NIC_MODELS = {
    'e1000': '82540EM',
    'e1000e': '82545EM',
    'pcnet': 'Am79C973',
    'virtio': 'virtio',
    'rtl8139': 'Am79C973',
}
NIC_TYPES = ('82540EM', '82543GC', '82545EM', 'Am79C970A', 'Am79C973',
             'virtio', 'usbnet')

# A piix3 VM has 8 network adapters (ICH9 has more, but piix3 is the
# default chipset and what we create).
MAX_NICS = 8

HYPERVISOR_TYPE = 'vbox'

# Ports bound by Neutron's virtualbox mechanism driver (networking_virtualbox
# in this repository): their binding:vif_type, and the binding:vif_details
# keys that name the NIC's attachment (a modifyvm --nicN value) and its
# target. networking_virtualbox/constants.py holds the same values for
# neutron-server, which does not import Nova; a unit test keeps them equal.
VIF_TYPE_VBOX = 'vbox'
VIF_DETAILS_VBOX_ATTACHMENT = 'vbox_attachment'
VIF_DETAILS_VBOX_NETWORK = 'vbox_network'
