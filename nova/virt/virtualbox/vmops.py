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

"""Instances as VirtualBox VMs: listing and state."""

from oslo_log import log as logging

from nova.compute import power_state
from nova import exception
from nova.virt import hardware
from nova.virt.virtualbox import constants
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import pathutils

LOG = logging.getLogger(__name__)


class VMOps(object):

    def __init__(self, vboxmanage, path_utils=None):
        self._vbox = vboxmanage
        self._pathutils = path_utils or pathutils.PathUtils()

    # -- listing: one `list vms` call, whatever the number of VMs -----------

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
        try:
            return self._vbox.show_vm_info(instance.uuid)
        except vbox_exc.VBoxObjectNotFound:
            raise exception.InstanceNotFound(instance_id=instance.uuid)

    def get_info(self, instance):
        """Nova's InstanceInfo from one ``showvminfo`` call."""
        info = self.vm_info(instance)
        state = info.get('VMState', constants.STATE_UNKNOWN)
        return hardware.InstanceInfo(
            state=constants.POWER_STATE_MAP.get(state, power_state.NOSTATE),
            internal_id=info.get('UUID'))
