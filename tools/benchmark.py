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

"""Benchmark of VBoxDriver on the VBoxManage simulator.

Runs the real driver (nova.virt.virtualbox.driver.VBoxDriver) against the
installed simulator with the per-call latency of the real VirtualBox 7.2
(VBOXSIM_LATENCY=real, see vboxsim/README.md) and
prints, per driver operation, the VBoxManage calls it made, its wall
seconds, the driver's own CPU seconds (time.process_time: this process,
not the VBoxManage children) and the simulator's CPU seconds (its
processes, and qemu-img's):

* every lifecycle operation; spawn from a cached image against its budget
  of 7 calls, destroy against 3;
* the periodic host calls (get_available_resource + update_provider_tree,
  list_instances, one tick of the lifecycle-event poller) and Nova's
  power-state sync (get_num_instances, then get_info(use_cache=True) per
  instance, as ComputeManager._sync_power_states does: the first cycle
  after new VMs appear, then a steady one) at 1, 50 and 200 instances;
* 20 concurrent spawns of one new image (threads, like Nova's build pool):
  Glance downloads and qemu-img conversions, wall time against one spawn;
* disk bytes per new instance, linked clone against full copy.

No network: the image is a qcow2 made by qemu-img, served by a fake Glance.
The 50 and 200 instances are registered with the simulator directly, in
process and without latency; the measurements then run with latency.

    python tools/benchmark.py [--quick] [--json FILE]

Figures, not asserts: lines over a budget are flagged with "OVER".
The simulator runs resident by default (vboxsim/service.py: a service
forking a child per call, and a native client the benchmark compiles), as
the real VBoxManage is a small native client of the resident VBoxSVC.
``--simulator process`` runs a Python process per call instead
(``vboxmanage-sim``, what the tests use): each call then also costs 30-50
ms of CPU for the interpreter, which with many concurrent calls on few
cores, not the driver, sets the wall times. Either way the figures include
the simulator's own CPU ("sim cpu").
"""

import argparse
import concurrent.futures
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
import uuid as uuidlib

SPAWN_BUDGET = 7
DESTROY_BUDGET = 3
CONCURRENT_RATIO_BUDGET = 3.0


def du(path):
    """Bytes allocated on disk under ``path`` (like du -s)."""
    if os.path.isfile(path):
        return os.lstat(path).st_blocks * 512
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_blocks * 512
            except OSError:
                pass
    return total


class Bench(object):

    def __init__(self, args):
        self.args = args
        self.rows = []
        self.results = {'operations': {}, 'scale': {}, 'power_sync': {},
                        'concurrent_spawn': {}, 'disk': {}}
        self.top = tempfile.mkdtemp(prefix='vbox-bench-')
        self.sim_home = os.path.join(self.top, 'sim')
        os.makedirs(self.sim_home)
        # Run where no source tree shadows the installed packages.
        os.chdir(self.top)
        os.environ['VBOXSIM_HOME'] = self.sim_home
        os.environ['VBOXSIM_ACPI_DELAY'] = str(args.acpi_delay)
        self.latency(False)
        self._next_id = 1

    # -- setup ----------------------------------------------------------------

    def latency(self, on):
        os.environ['VBOXSIM_LATENCY'] = self.args.latency if on else '0'

    def configure(self):
        import nova.conf
        from nova import objects
        from nova.virt.virtualbox import conf as vbox_conf

        self.conf = conf = nova.conf.CONF
        vbox_conf.register_opts(conf)
        conf([], project='nova', default_config_files=[])
        self.instances = os.path.join(self.top, 'instances')
        conf.set_override('instances_path', self.instances)
        conf.set_override('host', 'bench')
        conf.set_override('lock_path', os.path.join(self.top, 'locks'),
                          group='oslo_concurrency')
        conf.set_override('vboxmanage_cmd', self.simulator_command(),
                          group='virtualbox')
        conf.set_override('retry_interval', 0.1, group='virtualbox')
        conf.set_override('wait_soft_reboot_seconds', 10, group='virtualbox')
        # No background poller: its calls would land in the measurements at
        # random; one tick of it is measured on its own (scale()).
        conf.set_override('lifecycle_event_interval', 0, group='virtualbox')
        objects.register_all()

    def patch_images(self):
        """A fake Glance; count downloads and conversions."""
        from nova.tests.functional.virtualbox import vbox_harness
        from nova.virt import images

        self.harness = vbox_harness
        self.glance = vbox_harness.FakeGlance()
        images.IMAGE_API = self.glance
        self.converts = vbox_harness.Counter(images.convert_image)
        images.convert_image = self.converts

    def make_image(self, name, data_mb=16, size_mb=64):
        """A qcow2 of ``size_mb`` virtual with ``data_mb`` of random data
        (so a full copy has something to copy)."""
        raw = os.path.join(self.top, name + '.raw')
        with open(raw, 'wb') as f:
            f.write(os.urandom(data_mb * 1024 * 1024))
            f.truncate(size_mb * 1024 * 1024)
        path = os.path.join(self.top, name + '.qcow2')
        self.harness.qemu_img('convert', '-f', 'raw', '-O', 'qcow2', raw,
                              path)
        os.unlink(raw)
        return self.glance.add(path, 'qcow2')

    def start_driver(self):
        from nova import context as nova_context
        from nova.virt import driver as base_driver
        from nova.virt import fake as fake_virt

        self.driver = base_driver.load_compute_driver(
            fake_virt.FakeVirtAPI(), 'virtualbox.VBoxDriver')
        self.driver.init_host('bench')
        self.ctx = nova_context.get_admin_context()
        self.vbox = self.driver._vbox

    def instance(self, image_id, root_gb=0):
        number = self._next_id
        self._next_id += 1
        return self.harness.make_instance(image_id, number=number,
                                          root_gb=root_gb)

    # -- measuring ------------------------------------------------------------

    def simulator_command(self):
        """The simulator the driver runs: resident (vboxsim.service with
        its native client, as VBoxManage is a small client of VBoxSVC) when
        a C compiler can build the client, else a Python process per call
        (the installed ``vboxmanage-sim``)."""
        from vboxsim import service

        self.resident = None
        client = None
        if self.args.simulator == 'resident':
            client = service.build_client(os.path.join(self.top, 'vbm'))
        if client:
            self.resident = service.Resident(client).start()
            os.environ.update(self.resident.environ())
            self.mode = 'resident service, native client'
            return client
        self.mode = 'a Python process per call'
        script = os.path.join(os.path.dirname(sys.executable),
                              'vboxmanage-sim')
        if os.access(script, os.X_OK):
            return script
        return '%s -m vboxsim' % sys.executable

    def _children_cpu(self):
        times = os.times()
        own = times.children_user + times.children_system
        return own + (self.resident.cpu_seconds() if self.resident else 0)

    def measure(self, func, *args, **kwargs):
        calls = self.vbox.call_count
        wall = time.monotonic()
        cpu = time.process_time()
        children = self._children_cpu()
        result = func(*args, **kwargs)
        return result, {
            'calls': self.vbox.call_count - calls,
            'wall_s': round(time.monotonic() - wall, 3),
            'cpu_s': round(time.process_time() - cpu, 3),
            # The simulator's processes (and qemu-img): the real
            # VBoxManage's CPU is not modelled, only its latency.
            'sim_cpu_s': round(self._children_cpu() - children, 3)}

    def row(self, section, name, figures, budget=None, note=''):
        flag = ''
        if budget is not None:
            figures['budget'] = budget
            flag = 'OVER' if figures['calls'] > budget else 'ok'
        self.rows.append((section, name, figures, flag, note))
        print('%-12s %-44s %6s %8.3f %8.3f %8.3f %4s %s' % (
            section, name, figures['calls'], figures['wall_s'],
            figures['cpu_s'], figures['sim_cpu_s'], flag, note), flush=True)

    def spawn(self, instance, image_id):
        meta = self.glance.image_meta(image_id)
        self.driver.spawn(self.ctx, instance, meta, [], None, {},
                          network_info=[], block_device_info=None)

    # -- phases ---------------------------------------------------------------

    def lifecycle(self):
        image_id = self.make_image('cirros')
        self.image_id = image_id
        self.latency(True)
        first = self.instance(image_id)
        _, fig = self.measure(self.spawn, first, image_id)
        self.results['operations']['spawn_first_use'] = fig
        self.first_spawn = fig
        self.row('lifecycle', 'spawn (image not cached: fetch+convert+pin)',
                 fig)
        second = self.instance(image_id)
        _, fig = self.measure(self.spawn, second, image_id)
        self.results['operations']['spawn_cached'] = fig
        self.cached_spawn = fig
        self.row('lifecycle', 'spawn from a cached image', fig,
                 SPAWN_BUDGET)
        d, ctx = self.driver, self.ctx
        ops = [
            ('get_info', lambda: d.get_info(second)),
            ('list_instances', d.list_instances),
            ('power_off (hard)', lambda: d.power_off(second)),
            ('power_on', lambda: d.power_on(ctx, second, [])),
            ('power_off (ACPI, timeout 10)',
             lambda: d.power_off(second, timeout=10, retry_interval=5)),
            ('power_on', lambda: d.power_on(ctx, second, [])),
            ('reboot HARD', lambda: d.reboot(ctx, second, [], 'HARD')),
            ('reboot SOFT', lambda: d.reboot(ctx, second, [], 'SOFT')),
            ('pause', lambda: d.pause(second)),
            ('unpause', lambda: d.unpause(second)),
            ('suspend', lambda: d.suspend(ctx, second)),
            ('resume', lambda: d.resume(ctx, second, [])),
            ('get_diagnostics', lambda: d.get_diagnostics(second)),
            ('destroy (running)', lambda: d.destroy(ctx, second, [])),
            ('destroy again (already gone)',
             lambda: d.destroy(ctx, second, [])),
        ]
        for name, func in ops:
            _, fig = self.measure(func)
            budget = DESTROY_BUDGET if name.startswith('destroy') else None
            self.results['operations'][name] = fig
            self.row('lifecycle', name, fig, budget)
        self.live = [first]
        self.latency(False)

    def _register_directly(self, count):
        """Register VMs of Nova instances with the simulator, in process
        (no interpreter start, no latency), running like Nova's would."""
        from vboxsim import cli as sim_cli

        made = []
        vms_dir = self.driver._pathutils.instances_dir()
        for _i in range(count):
            instance = self.instance(self.image_id)
            for argv in (['createvm', '--name', instance.name, '--uuid',
                          instance.uuid, '--ostype', 'Linux_64',
                          '--basefolder', vms_dir, '--groups',
                          self.conf.virtualbox.vm_group, '--register'],
                         ['startvm', instance.uuid, '--type', 'headless']):
                code, _out, err = sim_cli.run(argv)
                if code:
                    raise RuntimeError('simulator %s: %s' % (argv[0], err))
            made.append(instance)
        return made

    def scale(self, levels):
        from nova.compute import provider_tree

        d = self.driver
        node = 'bench'
        for level in levels:
            missing = level - len(self.live)
            fresh = []
            if missing > 0:
                fresh = self._register_directly(missing)
                self.live += fresh
            assert len(d.list_instances()) == level, 'not %d VMs' % level
            self.latency(True)
            tree = provider_tree.ProviderTree()
            tree.new_root(node, str(uuidlib.uuid4()))

            def resources():
                d.get_available_resource(node)
                d.update_provider_tree(tree, node)

            _, fig = self.measure(resources)
            self.results['scale'].setdefault(
                'get_available_resource+update_provider_tree',
                {})[str(level)] = fig
            self.row('periodic', 'resources+provider tree @%d' % level, fig)
            _, fig = self.measure(d.list_instances)
            self.results['scale'].setdefault('list_instances',
                                             {})[str(level)] = fig
            self.row('periodic', 'list_instances @%d' % level, fig)

            def sync():
                d.get_num_instances()
                for instance in self.live:
                    d.get_info(instance, use_cache=True)

            # The first cycle reads each running VM it has not read yet
            # (running and paused look alike in "list runningvms").
            _, fig = self.measure(sync)
            self.results['power_sync'].setdefault(
                'first', {})[str(level)] = fig
            self.row('power sync', 'first cycle with %d new VMs @%d' % (
                len(fresh), level), fig)
            _, fig = self.measure(sync)
            fig['calls_per_instance'] = round(fig['calls'] / level, 2)
            self.results['power_sync'][str(level)] = fig
            self.row('power sync', 'one _sync_power_states cycle @%d' % level,
                     fig, note='%.2f calls/instance'
                     % fig['calls_per_instance'])
            _, fig = self.measure(self.driver._events.poller.poll)
            self.results['scale'].setdefault('lifecycle_poll',
                                             {})[str(level)] = fig
            self.row('periodic', 'lifecycle event poll @%d' % level, fig)
            self.latency(False)
        calls = [self.results['power_sync'][str(level)]['calls']
                 for level in levels]
        if max(calls) <= min(calls) + 1:
            reason = ('%s calls per cycle at %s instances: does not grow '
                      'with the instances. get_num_instances reads "list '
                      'vms" and "list runningvms"; get_info(use_cache=True) '
                      'answers from them (eventops.StateCache), plus one '
                      '"showvminfo" per VM whose process appeared since '
                      'the last cycle (a VM process does not say running '
                      'from paused).' % (
                          '/'.join(str(c) for c in calls),
                          '/'.join(str(n) for n in levels)))
        else:
            reason = ('%s calls per cycle at %s instances: grows with the '
                      'instances' % ('/'.join(str(c) for c in calls),
                                     '/'.join(str(n) for n in levels)))
        self.results['power_sync']['limit'] = reason
        print('%-12s %s' % ('power sync', reason))

    def concurrent_spawns(self, count):
        image_id = self.make_image('concurrent')
        instances = [self.instance(image_id) for _i in range(count)]
        downloads = self.glance.downloads
        converts = self.converts.calls
        errors = []

        def one(instance):
            try:
                self.spawn(instance, image_id)
            except Exception as err:
                errors.append('%s: %r' % (instance.name, err))

        self.latency(True)
        with concurrent.futures.ThreadPoolExecutor(count) as pool:
            _, fig = self.measure(lambda: list(pool.map(one, instances)))
        ratio = fig['wall_s'] / max(self.first_spawn['wall_s'], 1e-6)
        fig.update({
            'spawns': count, 'failed': len(errors), 'errors': errors[:5],
            'glance_downloads': self.glance.downloads - downloads,
            'qemu_img_conversions': self.converts.calls - converts,
            'one_uncached_spawn_wall_s': self.first_spawn['wall_s'],
            'one_cached_spawn_wall_s': self.cached_spawn['wall_s'],
            'ratio_to_one_spawn': round(ratio, 2)})
        self.results['concurrent_spawn'] = fig
        ok = (not errors and fig['glance_downloads'] == 1 and
              fig['qemu_img_conversions'] == 1 and
              ratio <= CONCURRENT_RATIO_BUDGET)
        # What the simulator's own CPU forces on this machine's cores: a
        # floor the driver cannot go under (real VBoxManage costs little
        # CPU per call; the simulator is a Python process per call).
        cores = os.cpu_count() or 1
        fig['sim_cpu_floor_s'] = round(fig['sim_cpu_s'] / cores, 3)
        self.row('concurrent', '%d spawns of one new image' % count, fig,
                 note='%s: %d failed, %d downloads, %d conversions, '
                      '%.1fx one spawn; the simulator\'s CPU alone needs '
                      '%.1f s of %d cores' % (
                          'ok' if ok else 'OVER', len(errors),
                          fig['glance_downloads'],
                          fig['qemu_img_conversions'], ratio,
                          fig['sim_cpu_floor_s'], cores))
        with concurrent.futures.ThreadPoolExecutor(count) as pool:
            _, fig = self.measure(lambda: list(pool.map(
                lambda i: self.driver.destroy(self.ctx, i, []), instances)))
        self.results['concurrent_spawn']['destroy_all'] = fig
        self.row('concurrent', '%d destroys' % count, fig)
        self.latency(False)

    def disk(self):
        paths = self.driver._pathutils
        base = paths.cached_image_path(self.image_id)
        figures = {'base_image_bytes': du(base)}
        for linked in (True, False):
            self.conf.set_override('use_linked_clones', linked,
                                   group='virtualbox')
            instance = self.instance(self.image_id)
            self.spawn(instance, self.image_id)
            used = du(paths.instance_dir(instance))
            figures['linked_clone' if linked else 'full_copy'] = used
            self.driver.destroy(self.ctx, instance, [])
        self.conf.clear_override('use_linked_clones', group='virtualbox')
        self.results['disk'] = figures
        print('%-12s base image %d KiB; new instance: linked clone %d KiB, '
              'full copy %d KiB (VM folder, allocated blocks)' % (
                  'disk', figures['base_image_bytes'] // 1024,
                  figures['linked_clone'] // 1024,
                  figures['full_copy'] // 1024), flush=True)

    def cleanup(self):
        if getattr(self, 'resident', None):
            self.resident.stop()
        # The simulator's state lives in the temporary folder too: removing
        # it removes every VM (the simulator runs no VM processes).
        if not self.args.keep:
            shutil.rmtree(self.top, ignore_errors=True)


def machine():
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {'python': platform.python_version(), 'cpus': os.cpu_count(),
            'loadavg': load, 'platform': platform.platform()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true',
                        help='1 and 10 instances, 5 concurrent spawns')
    parser.add_argument('--json', metavar='FILE',
                        help='write the figures as JSON to FILE')
    parser.add_argument('--latency', default='real',
                        help='VBOXSIM_LATENCY while measuring (default '
                             'real; a number of seconds or 0)')
    parser.add_argument('--acpi-delay', type=float, default=1.0,
                        help='seconds a guest takes to power off after ACPI')
    parser.add_argument('--concurrency', type=int,
                        help='concurrent spawns (default 20, quick 5)')
    parser.add_argument('--levels', help='instance counts for the periodic '
                        'calls (default 1,50,200; quick 1,10)')
    parser.add_argument('--simulator', choices=('resident', 'process'),
                        default='resident',
                        help='resident: the simulator as a service with a '
                             'native client (needs a C compiler; else '
                             'process); process: a Python process per '
                             'VBoxManage call')
    parser.add_argument('--keep', action='store_true',
                        help='keep the temporary folder')
    parser.add_argument('-v', '--verbose', action='store_true')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose
                        else logging.ERROR)
    levels = [int(x) for x in (args.levels or
                               ('1,10' if args.quick else '1,50,200')
                               ).split(',')]
    concurrency = args.concurrency or (5 if args.quick else 20)
    if not shutil.which('qemu-img'):
        parser.error('qemu-img is needed to make the test image')

    if args.json:
        args.json = os.path.abspath(args.json)
    started = time.monotonic()
    bench = Bench(args)
    print('VBoxDriver benchmark on the VBoxManage simulator (latency %s), '
          'load average %s' % (args.latency, machine()['loadavg']))
    print('%-12s %-44s %6s %8s %8s %8s %4s %s' % (
        'section', 'operation', 'calls', 'wall s', 'cpu s', 'sim cpu',
        'flag', 'note'))
    try:
        bench.configure()
        print('simulator: %s' % bench.mode)
        bench.results['simulator'] = bench.mode
        bench.patch_images()
        bench.start_driver()
        bench.lifecycle()
        # Before the 50/200 VMs are registered: the simulator rewrites its
        # whole registry file on every call, so a big registry would
        # serialise the concurrent spawns on its lock.
        bench.concurrent_spawns(concurrency)
        bench.disk()
        bench.scale(levels)
    finally:
        bench.cleanup()
    bench.results['machine'] = machine()
    bench.results['latency'] = args.latency
    bench.results['total_wall_s'] = round(time.monotonic() - started, 1)
    over = [name for _s, name, _f, flag, note in bench.rows
            if flag == 'OVER' or note.startswith('OVER')]
    bench.results['over_budget'] = over
    print('total %.1f s; over budget: %s' % (
        bench.results['total_wall_s'], ', '.join(over) or 'nothing'))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(bench.results, f, indent=1, sort_keys=True,
                      default=str)
    return 0


if __name__ == '__main__':
    # Started as tools/benchmark.py: the source tree's tools folder is on
    # sys.path, not the repository root; the installed packages are used.
    sys.exit(main())
