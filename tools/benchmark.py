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
  after new VMs appear, the first after a restart (a state cache that
  knows no VM), then a steady one) at 1, 50 and 200 instances;
* 20 concurrent spawns of one new image (threads, like Nova's build pool):
  Glance downloads and qemu-img conversions, wall time against one spawn;
* disk bytes per new instance, linked clone against full copy;
* hosts: 20 new servers of one image on one compute host against 10 on
  each of two (each host a process of its own with its own simulator,
  instances path and image cache, as two nova-computes are): VBoxManage
  calls in all and the wall time until the last one is up.

No network: the image is a qcow2 made by qemu-img, served by a fake Glance.
The 50 and 200 instances are registered with the simulator directly, in
process and without latency; the measurements then run with latency.

    python tools/benchmark.py [--quick] [--json FILE] [--real [CMD]]

Figures, not asserts: lines over a budget are flagged with "OVER".
The simulator runs resident by default (vboxsim/service.py: a service
forking a child per call, and a native client the benchmark compiles), as
the real VBoxManage is a small native client of the resident VBoxSVC.
``--simulator process`` runs a Python process per call instead
(``vboxmanage-sim``, what the tests use): each call then also costs 30-50
ms of CPU for the interpreter, which with many concurrent calls on few
cores, not the driver, sets the wall times. Either way the figures include
the simulator's own CPU ("sim cpu").

``--real [CMD]`` measures the same driver on real VirtualBox instead
(default /usr/local/bin/vboxmanage-real: VirtualBox 7.2 in a chroot where
only /tmp and /var/lib/nova are shared, so everything lives in a
/tmp/vbox-bench-real-* folder), with the tiny guest (tools/tinyguest)
running: no simulator, no latency emulation. Per lifecycle operation: the
VBoxManage calls, wall seconds, seconds from the operation's start to the
guest's banner in the console log of this boot (operations that boot it),
this process's CPU, the VBoxManage clients' CPU ("vbm"), VBoxSVC's CPU
("svc") and the slowest VBoxManage commands. Then N concurrent spawns of
one image against one spawn (to running and to the banner), and
list_instances, resources and Nova's power-state sync at 1, 20 and 50
running guests (booted in batches of --batch, default the number of
cores, and halted before measuring). Everything it made (its VMs by UUID,
its media, its folder) is removed at the end, also on failure or SIGTERM;
other VMs are never touched. ``--real --quick``: 1 and 5 VMs, 3 concurrent
spawns, about a minute.
"""

import argparse
import concurrent.futures
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
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


def configure_nova(top, instances, vboxmanage_cmd,
                   wait_soft_reboot_seconds):
    """Nova's configuration for a benchmark run under ``top``, with no
    lifecycle poller: its calls would land in the measurements at random
    (one tick of it is measured on its own)."""
    import nova.conf
    from nova import objects
    from nova.virt.virtualbox import conf as vbox_conf

    conf = nova.conf.CONF
    vbox_conf.register_opts(conf)
    conf([], project='nova', default_config_files=[])
    conf.set_override('instances_path', instances)
    conf.set_override('host', 'bench')
    conf.set_override('lock_path', os.path.join(top, 'locks'),
                      group='oslo_concurrency')
    conf.set_override('vboxmanage_cmd', vboxmanage_cmd, group='virtualbox')
    conf.set_override('retry_interval', 0.1, group='virtualbox')
    conf.set_override('wait_soft_reboot_seconds', wait_soft_reboot_seconds,
                      group='virtualbox')
    conf.set_override('lifecycle_event_interval', 0, group='virtualbox')
    objects.register_all()
    return conf


class _DriverBench(object):
    """What both benchmarks share: the driver as nova-compute starts it,
    and what they measure at each number of instances (the periodic host
    calls and the first power-state sync cycle)."""

    def start_driver(self):
        from nova import context as nova_context
        from nova.virt import driver as base_driver
        from nova.virt import fake as fake_virt

        self.driver = base_driver.load_compute_driver(
            fake_virt.FakeVirtAPI(), 'virtualbox.VBoxDriver')
        self.driver.init_host('bench')
        self.ctx = nova_context.get_admin_context()
        self.vbox = self.driver._vbox

    def spawn_concurrently(self, instances, image_id):
        """Spawn ``instances`` of one image at once, on threads as Nova's
        build pool does: (figures, errors)."""
        errors = []

        def one(instance):
            try:
                self.spawn(instance, image_id)
            except Exception as err:
                errors.append('%s: %r' % (instance.name, err))
        with concurrent.futures.ThreadPoolExecutor(len(instances)) as pool:
            _, fig = self.measure(lambda: list(pool.map(one, instances)))
        return fig, errors

    def periodic_and_first_sync(self, level, fresh, note=lambda fig: ''):
        """list_instances, resources + provider tree and the first cycle of
        Nova's power-state sync at ``level`` instances, ``fresh`` of them
        new; returns the sync cycle, for the steady ones."""
        from nova.compute import provider_tree

        d = self.driver
        _, fig = self.measure(d.list_instances)
        self.results['scale'].setdefault('list_instances',
                                         {})[str(level)] = fig
        self.row('periodic', 'list_instances @%d' % level, fig)
        tree = provider_tree.ProviderTree()
        tree.new_root('bench', str(uuidlib.uuid4()))

        def resources():
            d.get_available_resource('bench')
            d.update_provider_tree(tree, 'bench')
        _, fig = self.measure(resources)
        self.results['scale'].setdefault(
            'get_available_resource+update_provider_tree',
            {})[str(level)] = fig
        self.row('periodic', 'resources+provider tree @%d' % level, fig)

        def sync():
            d.get_num_instances()
            for instance in self.live:
                d.get_info(instance, use_cache=True)
        # The first cycle after new VMs: what the driver spawned itself it
        # reads with showvminfo; the others' state (running and paused
        # look alike in "list runningvms") comes from their VBox.log.
        _, fig = self.measure(sync)
        self.results['power_sync'].setdefault('first', {})[str(level)] = fig
        self.row('power sync', 'first cycle, %d new VMs @%d' % (
            len(fresh), level), fig, note=note(fig))
        # nova-compute restarted: a state cache that knows no VM.
        from nova.virt.virtualbox import eventops
        d._events.cache = eventops.StateCache(d._vbox, d._pathutils)
        _, fig = self.measure(sync)
        self.results['power_sync'].setdefault('restart', {})[str(level)] = fig
        self.row('power sync', 'first cycle after a restart @%d' % level,
                 fig, note=note(fig))
        return sync


class Bench(_DriverBench):

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
        self.instances = os.path.join(self.top, 'instances')
        self.conf = configure_nova(self.top, self.instances,
                                   self.simulator_command(),
                                   wait_soft_reboot_seconds=10)

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
        d = self.driver
        for level in levels:
            missing = level - len(self.live)
            fresh = []
            if missing > 0:
                fresh = self._register_directly(missing)
                self.live += fresh
            assert len(d.list_instances()) == level, 'not %d VMs' % level
            self.latency(True)
            sync = self.periodic_and_first_sync(level, fresh)
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
        self.latency(True)
        fig, errors = self.spawn_concurrently(instances, image_id)
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


def run_host_worker(args):
    """One compute host of the hosts figure: ``args.host_worker`` spawns
    of one new image at once; its figures to ``args.json``."""
    bench = Bench(args)
    try:
        bench.configure()
        bench.patch_images()
        bench.start_driver()
        image_id = bench.make_image('cirros')
        bench.latency(True)
        instances = [bench.instance(image_id)
                     for _ in range(args.host_worker)]
        fig, errors = bench.spawn_concurrently(instances, image_id)
        fig['errors'] = errors
    finally:
        bench.cleanup()
    with open(args.json, 'w') as f:
        json.dump(fig, f)
    return 0


def hosts_figure(bench, count):
    """``count`` spawns on one host, then spread over two hosts at once
    (worker processes): calls in all, wall until the last host is done."""
    figures = {}
    for hosts in (1, 2):
        outs = [os.path.join(bench.top, 'host%d-%d.json' % (hosts, i))
                for i in range(hosts)]
        started = time.monotonic()
        workers = [subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), '--host-worker',
             str(count // hosts), '--json', out, '--latency',
             bench.args.latency, '--simulator', bench.args.simulator])
            for out in outs]
        codes = [w.wait() for w in workers]
        wall = time.monotonic() - started
        per_host = []
        for code, out in zip(codes, outs):
            if code:
                raise RuntimeError('host worker exited with %d' % code)
            with open(out) as f:
                per_host.append(json.load(f))
        fig = {'calls': sum(h['calls'] for h in per_host),
               'wall_s': round(max(h['wall_s'] for h in per_host), 3),
               'cpu_s': round(sum(h['cpu_s'] for h in per_host), 3),
               'sim_cpu_s': round(sum(h['sim_cpu_s'] for h in per_host), 3),
               'process_wall_s': round(wall, 3),
               'errors': sum((h['errors'] for h in per_host), [])}
        figures[str(hosts)] = fig
        bench.row('hosts', '%d spawns on %d host%s' % (
            count // hosts * hosts, hosts, 's (%d each)' % (count // hosts)
            if hosts > 1 else ''), fig,
            note='%d failed; %.1f s with the processes\' start' % (
                len(fig['errors']), wall))
    bench.results['hosts'] = figures


# -- real VirtualBox ----------------------------------------------------------

REAL_DEFAULT_CMD = '/usr/local/bin/vboxmanage-real'
# Only /tmp (and /var/lib/nova) mean the same inside the real VirtualBox's
# chroot: instances path and image cache go there.
REAL_TOP = '/tmp'
GUEST_WAIT_SECONDS = 120


def load_tinyguest():
    """tools/tinyguest/build.py (next to this file) as a module."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        'tinyguest', 'build.py')
    spec = importlib.util.spec_from_file_location('tinyguest_build', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _proc_cpu(pid):
    """User+system CPU seconds of process ``pid`` (None when gone)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def _processes(match):
    """{pid: argv} of the processes whose argv ``match(argv)``."""
    from nova.tests.functional.virtualbox import vbox_harness
    return vbox_harness.processes(match)


class _Uploads(object):
    """Glance for snapshot(): the uploaded image lands in a file."""

    def __init__(self, folder):
        self.folder = folder
        self.bytes = 0

    def update(self, context, image_id, meta, data, purge_props=False):
        path = os.path.join(self.folder, 'uploaded-%s.vdi' % image_id)
        with open(path, 'wb') as f:
            shutil.copyfileobj(data, f)
        self.bytes = os.path.getsize(path)
        os.unlink(path)


class RealBench(_DriverBench):
    """The driver on real VirtualBox with the tiny guest running."""

    def __init__(self, args):
        import random

        self.args = args
        self.command = args.real
        self.rows = []
        self.results = {'operations': {}, 'scale': {}, 'power_sync': {},
                        'concurrent_spawn': {}, 'errors': []}
        self.top = tempfile.mkdtemp(prefix='vbox-bench-real-', dir=REAL_TOP)
        os.chmod(self.top, 0o755)
        os.chdir(self.top)
        self.guest = load_tinyguest()
        self.created = []       # every instance spawned (cleanup)
        self.images = []        # every cached base image made (cleanup)
        self.live = []          # instances running for the scale levels
        self._next_id = random.randint(0x100000, 0xe00000)
        self._calls = []
        self._calls_lock = threading.Lock()

    # -- setup ----------------------------------------------------------------

    def vbm(self, *args, check=False):
        import shlex
        import subprocess

        proc = subprocess.run(shlex.split(self.command) + list(args),
                              capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)
        if check and proc.returncode:
            raise RuntimeError('VBoxManage %s: %s' % (
                ' '.join(args), proc.stderr.strip()))
        return proc

    def configure(self):
        self.instances = os.path.join(self.top, 'instances')
        self.conf = configure_nova(self.top, self.instances, self.command,
                                   wait_soft_reboot_seconds=30)

    def start_driver(self):
        super().start_driver()
        self.paths = self.driver._pathutils
        self.version = self.vbox.version()[1]
        self.uploads = _Uploads(self.top)
        self.driver._snapshotops._image_api = self.uploads
        # Time every VBoxManage call, to say where an operation's time goes.
        run_once = self.vbox._run_once

        def timed(args, timeout):
            started = time.monotonic()
            try:
                return run_once(args, timeout)
            finally:
                name = str(args[0]) if args else ''
                if name == 'controlvm' and len(args) > 2:
                    name = 'controlvm %s' % args[2]
                with self._calls_lock:
                    self._calls.append((name, time.monotonic() - started))
        self.vbox._run_once = timed

    def make_base(self):
        """The tiny guest in the image cache, as the cache leaves a base
        image (convertfromraw, then closemedium)."""
        image_id = str(uuidlib.uuid4())
        path = self.paths.cached_image_path(image_id)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        raw = path + '.raw'
        self.guest.write_image(raw)
        self.images.append(image_id)
        self.vbm('convertfromraw', raw, path, '--format', 'VDI', check=True)
        os.unlink(raw)
        self.vbm('closemedium', 'disk', path, check=True)
        return image_id

    def instance(self, image_id):
        from nova.tests.functional.virtualbox import vbox_harness

        number = self._next_id
        self._next_id += 1
        return vbox_harness.make_instance(image_id, number=number,
                                          root_gb=0,
                                          memory_mb=self.args.memory)

    def image_meta(self, image_id):
        from nova import objects

        return objects.ImageMeta.from_dict({
            'id': image_id, 'disk_format': 'vdi',
            'container_format': 'bare', 'properties': {}})

    def spawn(self, instance, image_id):
        self.created.append(instance)
        self.driver.spawn(self.ctx, instance, self.image_meta(image_id), [],
                          None, {}, network_info=[], block_device_info=None)

    # -- the guest ----------------------------------------------------------

    def banner_seen(self, instance):
        """The guest's banner with its UUID in the console log of this
        boot (VirtualBox empties it when the VM process starts; the
        driver moves the boot before to console.log.1 first)."""
        try:
            with open(self.paths.console_log_path(instance), 'rb') as f:
                text = f.read()
        except OSError:
            return False
        return (self.guest.BANNER + instance.uuid).encode() in text

    def powering_off_seen(self, instance):
        try:
            with open(self.paths.console_log_path(instance), 'rb') as f:
                return self.guest.POWERING_OFF.encode() in f.read()
        except OSError:
            return False

    def wait_banner(self, instances, started=None):
        """Seconds from ``started`` until every instance's guest printed
        its banner, by instance uuid."""
        started = time.monotonic() if started is None else started
        seen = {}
        deadline = time.monotonic() + GUEST_WAIT_SECONDS
        while len(seen) < len(instances):
            for instance in instances:
                if instance.uuid not in seen and self.banner_seen(instance):
                    seen[instance.uuid] = round(time.monotonic() - started,
                                                3)
            if len(seen) == len(instances):
                break
            if time.monotonic() > deadline:
                raise RuntimeError('no guest banner within %d s in %s' % (
                    GUEST_WAIT_SECONDS, ', '.join(
                        i.uuid for i in instances if i.uuid not in seen)))
            time.sleep(0.05)
        return seen

    def vm_cpu(self, seconds):
        """Cores the VM processes of the running instances use over
        ``seconds``."""
        uuids = [i.uuid.encode() for i in self.live]
        pids = _processes(lambda argv: argv[0].endswith(b'VBoxHeadless')
                          and any(u in argv for u in uuids))
        before = {pid: _proc_cpu(pid) for pid in pids}
        time.sleep(seconds)
        used = 0.0
        for pid, cpu in before.items():
            after = _proc_cpu(pid)
            if cpu is not None and after is not None:
                used += after - cpu
        return used / seconds

    # -- measuring ------------------------------------------------------------

    def _svc_cpu(self):
        """CPU seconds of VBoxSVC (VirtualBox's resident service), by pid."""
        pids = _processes(lambda argv: argv[0].endswith(b'VBoxSVC'))
        return {pid: _proc_cpu(pid) or 0.0 for pid in pids}

    def measure(self, func, *args, **kwargs):
        calls = self.vbox.call_count
        with self._calls_lock:
            del self._calls[:]
        svc = self._svc_cpu()
        wall = time.monotonic()
        cpu = time.process_time()
        times = os.times()
        children = times.children_user + times.children_system
        result = func(*args, **kwargs)
        elapsed = time.monotonic() - wall
        times = os.times()
        svc_after = self._svc_cpu()
        with self._calls_lock:
            timed = list(self._calls)
        by_name = {}
        for name, seconds in timed:
            count, total = by_name.get(name, (0, 0.0))
            by_name[name] = (count + 1, total + seconds)
        return result, {
            'calls': self.vbox.call_count - calls,
            'wall_s': round(elapsed, 3),
            'cpu_s': round(time.process_time() - cpu, 3),
            # The VBoxManage clients (this process's children): not
            # VBoxSVC, not the VM processes.
            'vbm_cpu_s': round(times.children_user + times.children_system -
                               children, 3),
            'svc_cpu_s': round(sum(c - svc.get(pid, 0.0)
                                   for pid, c in svc_after.items()), 3),
            'vboxmanage_s': round(sum(s for _n, s in timed), 3),
            'calls_by_command': {
                name: {'calls': n, 'seconds': round(s, 3)}
                for name, (n, s) in by_name.items()}}

    @staticmethod
    def where(fig, top=3):
        """The slowest VBoxManage commands of a measurement, and the time
        outside VBoxManage (sleeps between polls, the driver)."""
        parts = sorted(fig['calls_by_command'].items(),
                       key=lambda kv: -kv[1]['seconds'])[:top]
        text = ', '.join('%s %s%.2f' % (
            name, '%dx ' % v['calls'] if v['calls'] > 1 else '',
            v['seconds']) for name, v in parts)
        outside = fig['wall_s'] - fig['vboxmanage_s']
        if fig['calls'] and outside > 0.2:
            text += ', outside VBoxManage %.2f' % outside
        return text

    def row(self, section, name, figures, note=''):
        self.rows.append((section, name, figures, '', note))
        banner = figures.get('banner_s')
        print('%-11s %-38s %5s %7.2f %7s %6.2f %6.2f %6.2f %s' % (
            section, name, figures.get('calls', '-'), figures['wall_s'],
            '%.2f' % banner if banner is not None else '-',
            figures.get('cpu_s', 0), figures.get('vbm_cpu_s', 0),
            figures.get('svc_cpu_s', 0), note), flush=True)

    def error(self, section, name, err):
        text = '%s: %s: %r' % (section, name, err)
        self.results['errors'].append(text)
        print('%-11s %-38s ERROR %r' % (section, name, err), flush=True)

    # -- phases ---------------------------------------------------------------

    def lifecycle(self):
        from nova.compute import power_state

        d, ctx = self.driver, self.ctx
        self.image_id = self.make_base()
        vm = self.instance(self.image_id)
        started = time.monotonic()
        _, fig = self.measure(self.spawn, vm, self.image_id)
        fig['banner_s'] = self.wait_banner([vm], started)[vm.uuid]
        self.one_spawn = fig
        self.results['operations']['spawn'] = fig
        self.row('lifecycle', 'spawn (cached image, first use)', fig,
                 self.where(fig))

        def snapshot():
            d.snapshot(ctx, vm, str(uuidlib.uuid4()),
                       lambda **kwargs: None)

        # (name, call, boots the guest, check afterwards)
        ops = [
            ('get_info', lambda: d.get_info(vm, use_cache=False), False),
            ('power_off soft (ACPI, timeout 30)',
             lambda: d.power_off(vm, timeout=30, retry_interval=10), False),
            ('power_on', lambda: d.power_on(ctx, vm, []), True),
            ('power_off hard', lambda: d.power_off(vm), False),
            ('power_on', lambda: d.power_on(ctx, vm, []), True),
            ('pause', lambda: d.pause(vm), False),
            ('unpause', lambda: d.unpause(vm), False),
            ('suspend', lambda: d.suspend(ctx, vm), False),
            ('resume', lambda: d.resume(ctx, vm, []), False),
            ('reboot SOFT', lambda: d.reboot(ctx, vm, [], 'SOFT'), True),
            ('reboot HARD', lambda: d.reboot(ctx, vm, [], 'HARD'), True),
            ('snapshot (running)', snapshot, False),
            ('destroy (running)', lambda: d.destroy(ctx, vm, []), False),
        ]
        expected = {'power_off': power_state.SHUTDOWN,
                    'pause': power_state.PAUSED,
                    'suspend': power_state.SUSPENDED}
        seen = {}
        for name, func, boots in ops:
            key = name if name not in seen else '%s #%d' % (
                name, seen[name] + 1)
            seen[name] = seen.get(name, 0) + 1
            started = time.monotonic()
            try:
                _, fig = self.measure(func)
                if boots:
                    fig['banner_s'] = self.wait_banner([vm],
                                                       started)[vm.uuid]
            except Exception as err:
                self.error('lifecycle', key, err)
                continue
            note = self.where(fig)
            if name.startswith('power_off soft'):
                answered = self.powering_off_seen(vm)
                fig['answered_by_guest'] = answered
                note = ('%s; %s' % ('answered by the guest' if answered
                                    else 'NOT answered by the guest', note))
            if name.startswith('snapshot'):
                fig['uploaded_bytes'] = self.uploads.bytes
            if not name.startswith(('destroy', 'snapshot', 'get_info')):
                want = next((v for k, v in expected.items()
                             if name.startswith(k)), power_state.RUNNING)
                state = d.get_info(vm, use_cache=False).state
                if state != want:
                    note = 'STATE %s not %s; %s' % (state, want, note)
                    self.results['errors'].append('%s: state %s' % (key,
                                                                    state))
            self.results['operations'][key] = fig
            self.row('lifecycle', key, fig, note)

    def concurrent_spawns(self, count):
        image_id = self.make_base()
        instances = [self.instance(image_id) for _i in range(count)]
        started = time.monotonic()
        fig, errors = self.spawn_concurrently(instances, image_id)
        booted = [i for i in instances
                  if not any(e.startswith(i.name) for e in errors)]
        banners = self.wait_banner(booted, started) if booted else {}
        fig['banner_s'] = max(banners.values()) if banners else None
        one_spawn = self.one_spawn
        fig.update({
            'spawns': count, 'failed': len(errors), 'errors': errors[:5],
            'banner_first_s': min(banners.values()) if banners else None,
            'one_spawn_wall_s': one_spawn['wall_s'],
            'one_spawn_banner_s': one_spawn['banner_s'],
            'ratio_running': round(fig['wall_s'] /
                                   max(one_spawn['wall_s'], 1e-6), 2),
            'ratio_banner': round((fig['banner_s'] or 0) /
                                  max(one_spawn['banner_s'], 1e-6), 2)})
        self.results['concurrent_spawn'] = fig
        self.row('concurrent', '%d spawns of one image' % count, fig,
                 '%d failed; %.1fx one spawn to running, %.1fx to the '
                 'banner (first banner %.2f s)' % (
                     len(errors), fig['ratio_running'], fig['ratio_banner'],
                     fig['banner_first_s'] or 0))
        self.destroy_all(instances, 'concurrent', '%d destroys (running)'
                         % count, threads=count)

    def destroy_all(self, instances, section, name, threads=4):
        errors = []

        def one(instance):
            try:
                self.driver.destroy(self.ctx, instance, [])
            except Exception as err:
                errors.append('%s: %r' % (instance.name, err))
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            _, fig = self.measure(lambda: list(pool.map(one, instances)))
        fig['failed'] = len(errors)
        fig['errors'] = errors[:5]
        self.results.setdefault('destroys', {})[name] = fig
        self.row(section, name, fig, '%d threads, %d failed' % (
            threads, len(errors)))

    def boot(self, count):
        """``count`` more running guests, spawned in batches of
        --batch (default the number of cores) so the cores are not
        swamped; returns once every guest printed its banner (and
        halted)."""
        image_id = self.image_id
        batch = self.args.batch or os.cpu_count() or 1
        fresh = [self.instance(image_id) for _i in range(count)]
        for start in range(0, count, batch):
            group = fresh[start:start + batch]
            with concurrent.futures.ThreadPoolExecutor(len(group)) as pool:
                list(pool.map(lambda i: self.spawn(i, image_id), group))
            self.live += group
            self.wait_banner(group)
        return fresh

    def scale(self, levels):
        d = self.driver
        calls = []
        for level in levels:
            missing = level - len(self.live)
            started = time.monotonic()
            fresh = self.boot(missing) if missing > 0 else []
            booted_s = time.monotonic() - started
            # Every guest halted: let the last boots' CPU settle, and say
            # what the halted guests' VM processes use meanwhile.
            guests_cpu = self.vm_cpu(2.0)
            listed = d.list_instances()
            assert len(listed) == level, '%d VMs, not %d' % (len(listed),
                                                             level)
            load = os.getloadavg()[0]
            print('%-11s %d VMs running (%d booted in %.0f s), guests '
                  'halted: their VM processes use %.0f%% of a core; load '
                  '%.2f' % ('scale', level, len(fresh), booted_s,
                            guests_cpu * 100, load), flush=True)
            self.results['scale'].setdefault('boot', {})[str(level)] = {
                'booted': len(fresh), 'wall_s': round(booted_s, 1),
                'load_1min': load,
                'halted_guests_cpu_cores': round(guests_cpu, 3)}
            sync = self.periodic_and_first_sync(level, fresh, self.where)
            # Steady cycles: the median of 5 (one VBoxManage call can wait
            # for VBoxSVC, busy with other clients).
            cycles = sorted((self.measure(sync)[1] for _i in range(5)),
                            key=lambda f: f['wall_s'])
            fig = dict(cycles[len(cycles) // 2])
            fig['calls_per_instance'] = round(fig['calls'] / level, 2)
            fig['cycles_wall_s'] = [f['wall_s'] for f in cycles]
            self.results['power_sync'][str(level)] = fig
            calls.append(fig['calls'])
            self.row('power sync', 'steady cycle @%d (median of 5)' % level,
                     fig, '%.2f calls/instance; 5 cycles %.2f-%.2f s' % (
                         fig['calls_per_instance'], cycles[0]['wall_s'],
                         cycles[-1]['wall_s']))
        self.results['power_sync']['limit'] = (
            '%s calls per steady cycle at %s running VMs' % (
                '/'.join(str(c) for c in calls),
                '/'.join(str(n) for n in levels)))
        self.destroy_all(self.live, 'scale', 'destroy %d (running)'
                         % len(self.live))
        self.live = []

    # -- cleanup --------------------------------------------------------------

    def cleanup(self):
        """Everything this run made, and nothing else: its VMs by UUID, its
        media (under its own folder), its folder."""
        driver = getattr(self, 'driver', None)
        created = {i.uuid: i for i in self.created}
        if driver is not None:
            for instance in created.values():
                try:
                    driver.destroy(self.ctx, instance, [])
                except Exception as err:
                    print('cleanup: destroy %s: %r' % (instance.uuid, err))
        registered = self.vbm('list', 'vms').stdout
        for uuid in created:
            if uuid in registered:
                self.vbm('controlvm', uuid, 'poweroff')
                self.vbm('unregistervm', uuid, '--delete')
        import signal
        for pid in _processes(lambda argv: argv[0].endswith(b'VBoxHeadless')
                              and any(u.encode() in argv for u in created)):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if driver is not None:
            for image_id in self.images:
                for path in (self.paths.cached_pin_path(image_id),
                             self.paths.cached_image_path(image_id)):
                    if os.path.exists(path):
                        self.vbm('closemedium', 'disk', path, '--delete')
        # Any medium left registered under this run's folder, children
        # first (a base cannot close before its differencing children).
        for _round in range(3):
            left = [line.split(':', 1)[1].strip()
                    for line in self.vbm('list', 'hdds').stdout.splitlines()
                    if line.startswith('Location:') and
                    line.split(':', 1)[1].strip().startswith(self.top + '/')]
            if not left:
                break
            for path in reversed(left):
                self.vbm('closemedium', 'disk', path, '--delete')
        if left:
            print('cleanup: media still registered: %s' % ', '.join(left))
        if not self.args.keep:
            os.chdir('/')
            shutil.rmtree(self.top, ignore_errors=True)


def run_real(args):
    import signal

    # A SIGTERM cleans up as an interrupt does.
    signal.signal(signal.SIGTERM, lambda *_a: sys.exit(143))
    if args.json:
        args.json = os.path.abspath(args.json)
    quick = args.quick
    levels = [int(x) for x in (args.levels or
                               ('1,5' if quick else '1,20,50')).split(',')]
    concurrency = args.concurrency or (3 if quick else 10)
    started = time.monotonic()
    bench = RealBench(args)
    status = 0
    print('VBoxDriver benchmark on real VirtualBox (%s), running tiny '
          'guests of %d MB; %s; %d cores, load average %s' % (
              args.real, args.memory, time.strftime('%Y-%m-%d %H:%M %Z'),
              os.cpu_count(), ' '.join('%.2f' % x for x in os.getloadavg())),
          flush=True)
    try:
        bench.configure()
        bench.start_driver()
        print('VirtualBox %s; folder %s' % (bench.version, bench.top))
        print('%-11s %-38s %5s %7s %7s %6s %6s %6s %s' % (
            'section', 'operation', 'calls', 'wall s', 'banner', 'cpu s',
            'vbm', 'svc', 'where the time goes (VBoxManage s)'))
        bench.lifecycle()
        bench.concurrent_spawns(concurrency)
        bench.scale(levels)
    except BaseException as err:
        bench.results['errors'].append('aborted: %r' % err)
        print('aborted: %r' % err, flush=True)
        status = 1
        if not isinstance(err, Exception):
            raise
    finally:
        bench.cleanup()
        bench.results['machine'] = machine()
        bench.results['date'] = time.strftime('%Y-%m-%dT%H:%M:%S%z')
        bench.results['virtualbox'] = getattr(bench, 'version', None)
        bench.results['vboxmanage'] = args.real
        bench.results['total_wall_s'] = round(time.monotonic() - started, 1)
        print('total %.1f s; load average now %s; errors: %s' % (
            bench.results['total_wall_s'],
            ' '.join('%.2f' % x for x in os.getloadavg()),
            '; '.join(bench.results['errors']) or 'none'), flush=True)
        if args.json:
            with open(args.json, 'w') as f:
                json.dump(bench.results, f, indent=1, sort_keys=True,
                          default=str)
    return 1 if status or bench.results['errors'] else 0


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
    parser.add_argument('--real', nargs='?', const=REAL_DEFAULT_CMD,
                        metavar='CMD',
                        help='measure on real VirtualBox with running tiny '
                             'guests instead (VBoxManage command, default '
                             '%s); quick: 1 and 5 VMs, 3 concurrent '
                             'spawns' % REAL_DEFAULT_CMD)
    parser.add_argument('--memory', type=int, default=16,
                        help='--real: MB of memory per VM (default 16)')
    parser.add_argument('--batch', type=int,
                        help='--real: VMs booted at once for the scale '
                             'levels (default the number of cores)')
    parser.add_argument('--host-worker', type=int, help=argparse.SUPPRESS)
    parser.add_argument('-v', '--verbose', action='store_true')
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose
                        else logging.ERROR)
    if args.real:
        return run_real(args)
    if args.host_worker:
        return run_host_worker(args)
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
        hosts_figure(bench, concurrency)
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
