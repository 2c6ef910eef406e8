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

"""Two VirtualBox compute hosts of one cloud, on one machine (as root).

    python3.11 tools/allinone/tests/twohost.py

Starts a controller with ``aio.py start --multi-host`` (RabbitMQ, MariaDB;
its own compute host "allinone" on 127.0.0.1) and joins a second host,
"second" on 127.0.0.2, with ``aio.py join`` and the controller's join file:
its own state, VirtualBox simulator home and sshd. Hosts of one cloud keep
their VMs at the same path; on one machine the second host runs in a mount
namespace of its own (unshare) where its own folder is mounted over the
controller's instances path, so each host sees only its own VM folders and
a migration's disks travel over ssh (rsync) from one to the other.

Then, with the openstack CLI: both hypervisors and agents up, Placement's
two providers; a server on each host (root and ephemeral disks, a config
drive, a NIC on the private network, a volume where the cloud has volumes);
a cold migration from the second host to the first, the source kept until
the confirm; a resize from the first to the second, reverted; the same
with the second host's nova-compute killed before the revert (the revert
waits in RabbitMQ and completes when the host is back); an evacuation of
the second host's server while that host is down, its VM removed there
when the host comes back; tools/check_consistency.py on both hosts;
delete. One line per step, "N passed, N failed"; exit 1 on a
failure. AIO_TEST_KEEP=1 keeps the state folders.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lifecycle  # noqa: E402  (the single-host test's helpers)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
OFFSET = int(os.environ.get('AIO_TEST_PORT_OFFSET', '21000'))
SECOND = 'second'
SECOND_IP = '127.0.0.2'
FIRST = 'allinone'
ADMIN = 'allinone-admin'
StepFailed = lifecycle.StepFailed


class TwoHosts(lifecycle.Run):

    def __init__(self):
        super().__init__(OFFSET)
        self.second = tempfile.mkdtemp(prefix='aio-test-second-')
        self.second_instances = os.path.join(self.second, 'instances')
        os.makedirs(self.second_instances)
        # The scheduler must send a resize to the other host.
        with open(self.local_conf, 'w') as f:
            f.write('[DEFAULT]\nallow_resize_to_same_host = false\n')

    def join(self):
        """aio.py join in a mount namespace where the second host's folder
        is the controller's instances path."""
        settings = json.load(open(os.path.join(self.state, 'aio.json')))
        script = ('mount --bind "$1" "$2" && shift 2 && exec "$@"')
        command = ['unshare', '--mount', '--propagation', 'private', 'sh',
                   '-c', script, 'sh', self.second_instances,
                   settings['instances'], sys.executable, lifecycle.AIO,
                   '--state-dir', os.path.join(self.second, 'state'),
                   '--port-offset', str(self.offset), 'join',
                   os.path.join(self.state, 'join.json'), '--address',
                   SECOND_IP, '--host', SECOND, '--simulator']
        env = dict(self.env, VBOXSIM_HOME=self.home(SECOND))
        result = subprocess.run(command, env=env, capture_output=True,
                                text=True, timeout=600)
        if result.returncode:
            raise StepFailed('join: exit %d\n%s%s' % (
                result.returncode, result.stdout[-3000:],
                result.stderr[-3000:]))
        return result.stdout

    def kill_second_compute(self):
        """The second host's nova-compute disappears (SIGKILL), its
        VirtualBox left as it is; aio.py's stop then sees it gone."""
        import signal
        with open(os.path.join(self.second, 'state', 'run',
                               'compute.pid')) as f:
            pid = int(f.read())
        os.kill(pid, signal.SIGKILL)
        self.stop_second()

    def stop_second(self):
        subprocess.run([sys.executable, lifecycle.AIO, '--state-dir',
                        os.path.join(self.second, 'state'), 'stop'],
                       capture_output=True, timeout=300)

    def home(self, host):
        return os.path.join(self.second if host == SECOND else self.state,
                            'vboxsim')

    def vms(self, host):
        """{VM name: UUID} of a host's VirtualBox."""
        out = self.vbox_on(host, 'list', 'vms')
        return {line.rsplit(' ', 1)[0].strip('"'): line.rsplit(' ', 1)[1]
                for line in out.splitlines() if line.strip()}

    def vbox_on(self, host, *args):
        sim = os.path.join(self.venv, 'bin', 'vboxmanage-sim')
        return subprocess.run([sim] + list(args),
                              env=dict(self.env, VBOXSIM_HOME=self.home(host)),
                              capture_output=True, text=True, check=True,
                              timeout=60).stdout

    def info_on(self, host, vm):
        info = {}
        for line in self.vbox_on(host, 'showvminfo', vm,
                                 '--machinereadable').splitlines():
            key, _sep, value = line.partition('=')
            info[key.strip('"')] = value.strip('"')
        return info

    def server(self, server):
        return self.nova_get('/servers/%s' % server)['server']

    def consistent(self, host):
        """tools/check_consistency.py with the host's own nova.conf, in its
        own mount namespace for the second host."""
        state = os.path.join(self.second, 'state') if host == SECOND \
            else self.state
        command = [os.path.join(self.venv, 'bin', 'python'),
                   os.path.join(REPO, 'tools', 'check_consistency.py'),
                   '--config-file', os.path.join(state, 'etc', 'nova',
                                                 'nova.conf')]
        if host == SECOND:
            try:
                with open(os.path.join(state, 'run', 'compute.pid')) as f:
                    pid = f.read().strip()
            except FileNotFoundError:
                raise StepFailed('the second host is not running')
            command = ['nsenter', '--mount=/proc/%s/ns/mnt' % pid] + command
        result = subprocess.run(
            command, env=dict(self.env, VBOXSIM_HOME=self.home(host)),
            capture_output=True, text=True, timeout=120)
        if result.returncode:
            raise StepFailed('%s is not consistent:\n%s%s' % (
                host, result.stdout[-2000:], result.stderr[-2000:]))


def main():
    if os.geteuid() != 0 or not shutil.which('unshare'):
        print('SKIP twohost: needs root (the second host\'s mount namespace,'
              ' RabbitMQ and MariaDB from apt-get)')
        return 0
    run = TwoHosts()
    print('state: %s and %s' % (run.state, run.second), flush=True)
    ids = {}
    volumes = []

    def start():
        out = run.aio('start', '--detach', '--simulator', '--multi-host')
        settings = json.load(open(os.path.join(run.state, 'aio.json')))
        run.venv = settings['venv']
        volumes.append(settings['volume_backend'])
        if not os.path.exists(os.path.join(run.state, 'join.json')):
            raise StepFailed('no join file:\n%s' % out)

    def join():
        out = run.join()
        if 'joined the controller' not in out:
            raise StepFailed(out)

    def both_up():
        deadline = time.monotonic() + 60
        while True:
            hvs = run.admin('hypervisor', 'list', '-f', 'json')
            if sorted((h['Hypervisor Hostname'], h['State'], h['Host IP'])
                      for h in hvs) == [(FIRST, 'up', '127.0.0.1'),
                                        (SECOND, 'up', SECOND_IP)]:
                break
            if time.monotonic() > deadline:
                raise StepFailed('hypervisors: %s' % hvs)
            time.sleep(2)
        rps = run.api_get(8778, '/resource_providers')['resource_providers']
        if sorted(rp['name'] for rp in rps) != [FIRST, SECOND]:
            raise StepFailed('resource providers: %s' % rps)
        for rp in rps:
            inventory = run.api_get(8778, '/resource_providers/%s/'
                                    'inventories' % rp['uuid'])
            if not {'VCPU', 'MEMORY_MB', 'DISK_GB'} <= set(
                    inventory['inventories']):
                raise StepFailed('%s inventory: %s' % (rp['name'],
                                                       inventory))
        agents = run.admin('network', 'agent', 'list', '-f', 'json')
        if sorted((a['Host'], a['Alive']) for a in agents) != [
                (FIRST, True), (SECOND, True)]:
            raise StepFailed('network agents: %s' % agents)

    def boot():
        run.admin('flavor', 'create', '--vcpus', '1', '--ram', '128',
                  '--disk', '1', '--ephemeral', '1', 'two.small')
        run.admin('flavor', 'create', '--vcpus', '1', '--ram', '256',
                  '--disk', '2', '--ephemeral', '1', 'two.big')
        private = run.admin('network', 'show', 'private', '-f',
                            'json')['id']
        # The scheduler alone spreads two servers over the two hosts.
        spread = {}
        for name in ('spread1', 'spread2'):
            server = run.admin(
                'server', 'create', '--flavor', 'two.small', '--image',
                'tinyguest', '--nic', 'net-id=%s' % private, '--wait', name,
                '-f', 'json', timeout=300)
            spread[server['id']] = server['OS-EXT-SRV-ATTR:host']
        run.admin('server', 'delete', '--wait', *spread, timeout=300)
        if sorted(spread.values()) != [FIRST, SECOND]:
            raise StepFailed('the scheduler put both on %s' % spread)
        for name, host in (('vm1', SECOND), ('vm2', FIRST),
                           ('vm3', SECOND)):
            server = run.admin(
                'server', 'create', '--flavor', 'two.small', '--image',
                'tinyguest', '--nic', 'net-id=%s' % private,
                '--config-drive', 'true', '--availability-zone',
                'nova:%s' % host, '--wait', name, '-f', 'json',
                timeout=300)
            ids[name] = server['id']
            if server['OS-EXT-SRV-ATTR:host'] != host:
                raise StepFailed('%s on %s, not %s' % (
                    name, server['OS-EXT-SRV-ATTR:host'], host))
        if volumes[0]:
            volume = run.admin('volume', 'create', '--size', '1', 'two-vol',
                               '-f', 'json')
            ids['volume'] = volume['id']
            run.wait_volume(volume['id'], 'available', cloud=ADMIN)
            run.admin('server', 'add', 'volume', ids['vm1'], volume['id'])
            run.wait_volume(volume['id'], 'in-use', cloud=ADMIN)

    def check_complete(host, server):
        """The server's VM on ``host`` has its root and ephemeral disks,
        its config drive, its port's MAC and its volume."""
        info = run.server(server)
        vm = info['OS-EXT-SRV-ATTR:instance_name']
        vminfo = run.info_on(host, vm)
        media = [v for k, v in vminfo.items() if '-ImageUUID-' not in k
                 and k.count('-') == 2 and v not in ('none', 'emptydrive')]
        names = sorted(os.path.basename(m) for m in media
                       if m.startswith('/'))
        for wanted in ('root', 'ephemeral.vdi', 'configdrive.iso'):
            if not any(wanted in name for name in names):
                raise StepFailed('%s on %s lacks %s: %s' % (
                    vm, host, wanted, media))
        if ids.get('volume') and server == ids['vm1'] and not any(
                '|' in m or 'iqn.' in m for m in media):
            raise StepFailed('%s on %s lacks its volume: %s' % (
                vm, host, media))
        macs = [a['OS-EXT-IPS-MAC:mac_addr'] for net in
                info['addresses'].values() for a in net]
        if not macs or macs[0].replace(':', '').upper() != \
                vminfo.get('macaddress1'):
            raise StepFailed('%s on %s: NIC %s, port %s' % (
                vm, host, vminfo.get('macaddress1'), macs))
        return vm

    def migrate_and_confirm():
        vm = check_complete(SECOND, ids['vm1'])
        run.admin('server', 'migrate', '--wait', ids['vm1'], timeout=300)
        info = run.wait_status(ids['vm1'], 'VERIFY_RESIZE')
        if info['OS-EXT-SRV-ATTR:host'] != FIRST:
            raise StepFailed('migrated to %s' % info['OS-EXT-SRV-ATTR:host'])
        check_complete(FIRST, ids['vm1'])
        if vm not in run.vms(SECOND):
            raise StepFailed('the source VM went before the confirm')
        run.admin('server', 'migrate', 'confirm', ids['vm1'])
        run.wait_status(ids['vm1'], 'ACTIVE')
        deadline = time.monotonic() + 60
        while vm in run.vms(SECOND) or os.path.exists(os.path.join(
                run.second_instances, 'nova', vm)):
            if time.monotonic() > deadline:
                raise StepFailed('the source VM or folder is left after '
                                 'the confirm: %s' % run.vms(SECOND))
            time.sleep(1)

    def resize_to_second():
        """vm2 (on the first host) resized onto the second: its VM."""
        vm = check_complete(FIRST, ids['vm2'])
        run.admin('server', 'resize', '--flavor', 'two.big', '--wait',
                  ids['vm2'], timeout=300)
        info = run.wait_status(ids['vm2'], 'VERIFY_RESIZE')
        if info['OS-EXT-SRV-ATTR:host'] != SECOND:
            raise StepFailed('resized on %s' % info['OS-EXT-SRV-ATTR:host'])
        return vm

    def reverted_to_first(vm):
        """After the revert: vm2 back on the first host, complete, with
        its flavor, and nothing left on the second."""
        info = run.wait_status(ids['vm2'], 'ACTIVE')
        if info['OS-EXT-SRV-ATTR:host'] != FIRST or \
                info['flavor']['original_name'] != 'two.small':
            raise StepFailed('after the revert: on %s with %s' % (
                info['OS-EXT-SRV-ATTR:host'], info['flavor']))
        check_complete(FIRST, ids['vm2'])
        if run.info_on(FIRST, vm)['memory'] != '128':
            raise StepFailed('the reverted VM has %s MB'
                             % run.info_on(FIRST, vm)['memory'])
        if vm in run.vms(SECOND):
            raise StepFailed('the destination VM is left after the revert')

    def resize_and_revert():
        vm = resize_to_second()
        if run.info_on(SECOND, vm)['memory'] != '256':
            raise StepFailed('the resized VM has %s MB'
                             % run.info_on(SECOND, vm)['memory'])
        run.admin('server', 'resize', 'revert', ids['vm2'])
        reverted_to_first(vm)

    def host_gone_mid_resize():
        # The destination disappears (nova-compute killed) between the
        # resize and its revert: the revert waits in RabbitMQ for the host,
        # and completes when it is back; both VirtualBoxes stay consistent.
        vm = resize_to_second()
        run.kill_second_compute()
        run.admin('server', 'resize', 'revert', ids['vm2'])
        time.sleep(5)
        info = run.server(ids['vm2'])
        if info['OS-EXT-STS:task_state'] != 'resize_reverting' or \
                vm not in run.vms(FIRST) or vm not in run.vms(SECOND):
            raise StepFailed('with the destination gone: task %s, VMs %s '
                             'and %s' % (info['OS-EXT-STS:task_state'],
                                         run.vms(FIRST), run.vms(SECOND)))
        run.join()
        reverted_to_first(vm)
        for host in (FIRST, SECOND):
            run.consistent(host)

    def evacuate():
        vm = check_complete(SECOND, ids['vm3'])
        run.stop_second()
        run.admin('compute', 'service', 'set', '--down', SECOND,
                  'nova-compute', '--os-compute-api-version', '2.11')
        run.admin('server', 'evacuate', ids['vm3'],
                  '--os-compute-api-version', '2.29')
        deadline = time.monotonic() + 120
        while run.server(ids['vm3'])['OS-EXT-SRV-ATTR:host'] != FIRST:
            if time.monotonic() > deadline:
                raise StepFailed('not evacuated in 120 s: %s'
                                 % run.server(ids['vm3']))
            time.sleep(1)
        info = run.wait_status(ids['vm3'], 'ACTIVE')
        if info.get('OS-EXT-STS:task_state'):
            raise StepFailed('evacuated, task state %s'
                             % info['OS-EXT-STS:task_state'])
        if info['OS-EXT-SRV-ATTR:host'] != FIRST:
            raise StepFailed('evacuated to %s' % info['OS-EXT-SRV-ATTR:host'])
        check_complete(FIRST, ids['vm3'])
        # The host comes back: its compute removes the evacuated VM.
        run.join()
        run.admin('compute', 'service', 'set', '--up', SECOND,
                  'nova-compute', '--os-compute-api-version', '2.11')
        if vm in run.vms(SECOND):
            raise StepFailed('the evacuated VM is left on %s' % SECOND)

    def consistent():
        for host in (FIRST, SECOND):
            run.consistent(host)

    def delete():
        servers = [ids[k] for k in ('vm1', 'vm2', 'vm3') if k in ids]
        run.admin('server', 'delete', '--wait', *servers, timeout=300)
        if ids.get('volume'):
            run.wait_volume(ids['volume'], 'available', cloud=ADMIN)
            run.admin('volume', 'delete', ids['volume'])
        for host in (FIRST, SECOND):
            if run.vms(host):
                raise StepFailed('VMs left on %s: %s' % (host,
                                                         run.vms(host)))

    steps = [('start controller', start), ('join second host', join),
             ('both hosts up', both_up), ('servers on both', boot),
             ('migrate + confirm', migrate_and_confirm),
             ('resize + revert', resize_and_revert),
             ('host gone mid-resize', host_gone_mid_resize),
             ('evacuate', evacuate), ('consistent', consistent),
             ('delete', delete)]
    try:
        for name, func in steps:
            if not run.step(name, func) and name in ('start controller',
                                                     'join second host'):
                break
    finally:
        run.stop_second()
        run.aio('stop', check=False)
        for path in (run.state, run.second):
            if os.environ.get('AIO_TEST_KEEP'):
                print('kept %s' % path)
            else:
                shutil.rmtree(path, ignore_errors=True)
    passed = run.results.count('PASS')
    failed = run.results.count('FAIL')
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed or passed != len(steps) else 0


if __name__ == '__main__':
    sys.exit(main())
