#!/usr/bin/env python3
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

"""VBoxManage calls and wall time of one Nova power-state sync cycle and one
lifecycle poller tick, on the simulator with the real 7.2 latency.

A sync cycle is what ComputeManager._sync_power_states asks the driver:
get_num_instances() then get_info(instance) for every instance (use_cache
defaults to True). Run it with Nova and the driver installed (the tox
``sim`` environment)::

    /tmp/tox-ev/sim/bin/python tools/power_sync_cost.py 1 50 200

The VMs are registered and started with the simulator directly (no latency),
half of the 200 running; then VBOXSIM_LATENCY=real for the measured part.
"""

import os
import shlex
import sys
import tempfile
import time
import uuid as uuidlib


def main(counts):
    import subprocess

    import nova.conf
    from nova import objects
    from nova.virt.virtualbox import conf as vbox_conf
    from nova.virt.virtualbox import eventops
    from nova.virt.virtualbox import pathutils
    from nova.virt.virtualbox import vboxmanage

    conf = nova.conf.CONF
    vbox_conf.register_opts(conf)
    conf([], project='nova')
    objects.register_all()
    print('%-5s %-8s %-6s %-12s %-10s %s' % (
        'VMs', 'cycle', 'calls', 'calls/inst', 'wall s', 'old: showvminfo '
        'per instance'))
    for count in counts:
        work = tempfile.mkdtemp(prefix='vbox-sync-')
        home = os.path.join(work, 'sim')
        os.environ.update(VBOXSIM_HOME=home, VBOXSIM_LATENCY='0')
        command = '%s -m vboxsim' % shlex.quote(sys.executable)
        conf.set_override('instances_path', work)
        conf.set_override('vboxmanage_cmd', command, group='virtualbox')

        def sim(*args):
            subprocess.run(shlex.split(command) + list(args), check=True,
                           capture_output=True)
        instances = []
        for n in range(count):
            uuid = str(uuidlib.uuid4())
            inst = objects.Instance(id=n + 1, uuid=uuid)
            sim('createvm', '--name', inst.name, '--uuid', uuid,
                '--basefolder', work, '--groups', '/nova', '--register')
            if n % 2 == 0:
                sim('startvm', uuid, '--type', 'headless')
            instances.append(inst)
        os.environ['VBOXSIM_LATENCY'] = 'real'
        vbox = vboxmanage.VBoxManage.from_conf(conf)
        calls = []
        real_run = vbox.run

        def counted(*args, **kwargs):
            calls.append(args[:2])
            return real_run(*args, **kwargs)
        vbox.run = counted
        paths = pathutils.PathUtils()
        cache = eventops.StateCache(vbox, paths)
        poller = eventops.LifecyclePoller(cache, paths, lambda e: None)
        for label in ('first', 'steady', 'tick'):
            del calls[:]
            start = time.monotonic()
            if label == 'tick':
                poller.poll()
                poller.poll()
                del calls[:]
                start = time.monotonic()
                poller.poll()
            else:
                cache.count_instances()
                for inst in instances:
                    cache.get_info(inst)
            wall = time.monotonic() - start
            print('%-5d %-8s %-6d %-12.2f %-10.2f %s' % (
                count, label, len(calls), len(calls) / count, wall,
                '%d calls' % (count + 1) if label != 'tick' else '-'))
            time.sleep(eventops.CACHE_SECONDS + 0.5)


if __name__ == '__main__':
    main([int(a) for a in sys.argv[1:]] or [1, 50, 200])
