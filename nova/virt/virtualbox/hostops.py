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

"""The host as Nova sees it: resources, inventory, uptime, CPU stats.

Host figures come from VirtualBox itself (``list hostinfo``) and from the
filesystem holding the instances.
"""

import datetime
import os
import platform
import socket
import time

import os_resource_classes as orc
from oslo_serialization import jsonutils
import psutil

from oslo_log import log as logging

import nova.conf
from nova.objects import fields as obj_fields
from nova.virt.virtualbox import constants
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import pathutils

CONF = nova.conf.CONF
LOG = logging.getLogger(__name__)


def _host_arch():
    machine = platform.machine().lower()
    return {'amd64': obj_fields.Architecture.X86_64,
            'x86_64': obj_fields.Architecture.X86_64,
            'arm64': obj_fields.Architecture.AARCH64,
            'aarch64': obj_fields.Architecture.AARCH64,
            }.get(machine, obj_fields.Architecture.canonicalize(machine))


class HostOps(object):

    def __init__(self, vboxmanage, path_utils=None, running_vms=None):
        self._vbox = vboxmanage
        self._pathutils = path_utils or pathutils.PathUtils()
        # {uuid: name} of the VMs with a VM process (eventops' cache).
        self._running_vms = running_vms or (lambda: {
            uuid: name for name, uuid in self._vbox.list_running_vms()})
        # uuid -> (settings file, its mtime, memory MB, CPUs) of the
        # user's running VMs, so showvminfo is asked once per VM start.
        self._user_vms = {}

    def get_hypervisor_version(self):
        """VirtualBox's version as Nova's integer (7.2.22 -> 7002022)."""
        major, minor, build = self._vbox.version()[0]
        return major * 1000000 + minor * 1000 + build

    def get_hostname(self):
        return CONF.host or socket.gethostname()

    def get_available_nodes(self):
        return [self.get_hostname()]

    def _host_resources(self):
        host = self._vbox.host_info()
        disk_total, disk_free, disk_used = self._pathutils.disk_usage()
        return {
            'vcpus': host['cpus'],
            'memory_mb': host['memory_mb'],
            # What the host really uses now, the user's own VMs included.
            'memory_mb_used': max(
                0, host['memory_mb'] - host['memory_available_mb']),
            'local_gb': disk_total,
            'local_gb_used': disk_used,
            'disk_available_least': disk_free,
            'cpu_info': {
                'arch': _host_arch(),
                'model': host['cpu_model'],
                'vendor': _cpu_vendor(host['cpu_model']),
                'topology': {'sockets': 1, 'cores': host['cores'] or
                             host['cpus'], 'threads': 1},
                'features': [],
                'mhz': host['cpu_mhz'],
            },
        }

    def get_available_resource(self):
        """The dict Nova's resource tracker wants."""
        res = self._host_resources()
        return {
            'vcpus': res['vcpus'],
            'memory_mb': res['memory_mb'],
            'local_gb': res['local_gb'],
            # Nova's resource tracker recounts the instances' vCPUs.
            'vcpus_used': 0,
            'memory_mb_used': res['memory_mb_used'],
            'local_gb_used': res['local_gb_used'],
            'hypervisor_type': constants.HYPERVISOR_TYPE,
            'hypervisor_version': self.get_hypervisor_version(),
            'hypervisor_hostname': self.get_hostname(),
            'cpu_info': jsonutils.dumps(res['cpu_info']),
            'disk_available_least': res['disk_available_least'],
            'supported_instances': [
                (_host_arch(), obj_fields.HVType.VBOX, obj_fields.VMMode.HVM)],
            'numa_topology': None,
        }

    def _user_vm_usage(self):
        """(memory MB, vCPUs) of the user's own running VMs: one ``list
        runningvms`` and one showvminfo per such VM not seen running with
        the same settings file before."""
        memory = cpus = 0
        running = self._running_vms()
        for uuid, name in running.items():
            if self._pathutils.is_nova_vm(name):
                continue
            known = self._user_vms.get(uuid)
            if known is not None:
                try:
                    if os.path.getmtime(known[0]) == known[1]:
                        memory += known[2]
                        cpus += known[3]
                        continue
                except OSError:
                    pass
            try:
                info = self._vbox.show_vm_info(uuid)
            except vbox_exc.VBoxObjectNotFound:
                continue  # stopped and gone since the list
            try:
                mtime = os.path.getmtime(info.get('CfgFile', ''))
            except OSError:
                mtime = None
            used = (int(info.get('memory') or 0), int(info.get('cpus') or 0))
            self._user_vms[uuid] = (info.get('CfgFile', ''), mtime) + used
            memory += used[0]
            cpus += used[1]
        for uuid in set(self._user_vms) - set(running):
            del self._user_vms[uuid]
        return memory, cpus

    def update_provider_tree(self, provider_tree, nodename,
                             allocation_ratios, reserved_disk_gb):
        """Set VCPU, MEMORY_MB and DISK_GB inventory: what the user's own
        running VMs use is reserved."""
        res = self._host_resources()
        user_memory, user_cpus = self._user_vm_usage()
        if user_memory or user_cpus:
            LOG.debug('The user\'s own running VMs use %(mem)d MB and '
                      '%(cpus)d vCPUs; reserved for them',
                      {'mem': user_memory, 'cpus': user_cpus})
        inventory = {
            orc.VCPU: _inventory_record(
                res['vcpus'], allocation_ratios[orc.VCPU],
                min(res['vcpus'], CONF.reserved_host_cpus + user_cpus)),
            orc.MEMORY_MB: _inventory_record(
                res['memory_mb'], allocation_ratios[orc.MEMORY_MB],
                min(res['memory_mb'],
                    CONF.reserved_host_memory_mb + user_memory)),
            orc.DISK_GB: _inventory_record(
                res['local_gb'], allocation_ratios[orc.DISK_GB],
                reserved_disk_gb),
        }
        provider_tree.update_inventory(nodename, inventory)

    @staticmethod
    def get_host_uptime():
        """Text like uptime(1) prints, from the host's boot time."""
        now = time.time()
        seconds = int(now - psutil.boot_time())
        days, rest = divmod(seconds, 86400)
        hours, rest = divmod(rest, 3600)
        minutes = rest // 60
        clock = datetime.datetime.fromtimestamp(now).strftime('%H:%M:%S')
        try:
            load = ', '.join('%.2f' % x for x in psutil.getloadavg())
        except (AttributeError, OSError):
            load = '0.00, 0.00, 0.00'
        day_text = '%d day%s, ' % (days, '' if days == 1 else 's') if days \
            else ''
        return ' %s up %s%2d:%02d,  %d users,  load average: %s' % (
            clock, day_text, hours, minutes, len(psutil.users()), load)

    @staticmethod
    def get_host_cpu_stats():
        """Cumulative host CPU times in nanoseconds and the frequency."""
        times = psutil.cpu_times()
        freq = psutil.cpu_freq()
        nanos = 1000 * 1000 * 1000
        return {
            'kernel': int(times.system * nanos),
            'idle': int(times.idle * nanos),
            'user': int(times.user * nanos),
            'iowait': int(getattr(times, 'iowait', 0) * nanos),
            'frequency': int(freq.current) if freq else 0,
        }


def _inventory_record(total, allocation_ratio, reserved):
    """One resource class of the compute node's Placement inventory."""
    return {'total': total, 'min_unit': 1, 'max_unit': total,
            'step_size': 1, 'allocation_ratio': allocation_ratio,
            'reserved': reserved}


def _cpu_vendor(model):
    lowered = model.lower()
    for needle, vendor in (('intel', 'Intel'), ('amd', 'AMD'),
                           ('apple', 'Apple'), ('arm', 'ARM')):
        if needle in lowered:
            return vendor
    return 'unknown'
