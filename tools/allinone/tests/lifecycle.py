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

"""The all-in-one cloud driven as a user would, with the openstack CLI.

    python3.11 tools/allinone/tests/lifecycle.py

Starts the cloud (tools/allinone/aio.py, installing the venv the first time)
with a fresh state folder, on ports 28774.. (offset 20000) and on the
VirtualBox simulator with no latency, then runs the steps below with
`openstack ...` commands, stops the cloud, starts it again on the same state
and checks it kept the image, and stops it. Prints one line per step and
ends with "N passed, N failed, N skipped"; exits 1 when a step failed.
AIO_TEST_DEBUG=1 starts the services with debug logging; AIO_TEST_KEEP=1
keeps the state folder (logs in STATE/logs). The cloud gets a local.conf of
the test's own (AIO_LOCAL_CONF) with one option the test checks.

A step the driver does not support yet is EXPECTED_MISSING below: it still
runs, and is reported as skipped (with the reason) when it fails, and as a
failure when it passes (so the list is kept true).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
AIO = os.path.join(os.path.dirname(HERE), 'aio.py')
sys.path.insert(0, os.path.dirname(HERE))
import tempestrun  # noqa: E402  (beside aio.py; standard library only)
OFFSET = int(os.environ.get('AIO_TEST_PORT_OFFSET', '20000'))

# step name -> why it is expected to fail today.
EXPECTED_MISSING = {
}
# The test's local.conf option, seen in Placement's inventory.
RESERVED_MB = 1234
# step name -> a known intermittent failure: a failure is reported as
# skipped with the reason, a pass as a pass.
KNOWN_ISSUES = {
}


class StepFailed(Exception):
    pass


def delete_servers(run, ids, timeout):
    """Delete servers vm1 and vm2 (those made) and check none is left."""
    servers = [ids[k] for k in ('vm1', 'vm2') if k in ids]
    if servers:
        run.os('server', 'delete', '--wait', *servers, timeout=timeout)
    left = run.os('server', 'list', '-f', 'json')
    if left:
        raise StepFailed('servers left: %s' % left)


def take_snapshot(run, ids):
    """Snapshot server vm1 to the image vm1-snap (its id in ids['snap'])
    and check Glance has it active."""
    img = run.os('server', 'image', 'create', '--name', 'vm1-snap',
                 '--wait', ids['vm1'], '-f', 'json', timeout=300)
    ids['snap'] = img['id']
    info = run.os('image', 'show', img['id'], '-f', 'json')
    if info['status'] != 'active':
        raise StepFailed('snapshot image is %s' % info['status'])


class Run:

    def __init__(self, offset=OFFSET):
        self.offset = offset
        self.state = tempfile.mkdtemp(prefix='aio-test-')
        self.results = []
        self.local_conf = os.path.join(self.state, 'local.conf')
        self.env = dict(os.environ, VBOXSIM_LATENCY='0',
                        VBOXSIM_ACPI_DELAY='0.2',
                        VBOXSIM_HOME=os.path.join(self.state, 'vboxsim'),
                        AIO_LOCAL_CONF=self.local_conf)
        self.venv = None

    def aio(self, *args, check=True, timeout=900):
        command = [sys.executable, AIO, '--state-dir', self.state,
                   '--port-offset', str(self.offset)] + list(args)
        result = subprocess.run(command, env=self.env, timeout=timeout,
                                capture_output=True, text=True)
        if check and result.returncode:
            raise StepFailed('aio.py %s: exit %d\n%s%s' % (
                ' '.join(args), result.returncode, result.stdout[-3000:],
                result.stderr[-3000:]))
        return result.stdout

    def os_fails(self, *args):
        """The message of `openstack ARGS`, which must fail."""
        try:
            out = self.os(*args)
        except StepFailed as e:
            return str(e)
        raise StepFailed('openstack %s succeeded: %s' % (' '.join(args),
                                                         out))

    def os(self, *args, timeout=120, cloud='allinone-demo'):
        """Run `openstack ARGS` as the demo user (``cloud``: the admin's
        is allinone-admin); JSON-decoded output when -f json."""
        command = [os.path.join(self.venv, 'bin', 'openstack')] + list(args)
        env = dict(self.env, OS_CLIENT_CONFIG_FILE=os.path.join(
            self.state, 'clouds.yaml'), OS_CLOUD=cloud)
        result = subprocess.run(command, env=env, timeout=timeout,
                                capture_output=True, text=True)
        if result.returncode:
            raise StepFailed('openstack %s: %s' % (
                ' '.join(args), (result.stderr or result.stdout).strip()))
        if '-f' in args and 'json' in args:
            return json.loads(result.stdout or 'null')
        return result.stdout

    def admin(self, *args, **kwargs):
        """`openstack ARGS` as the admin."""
        return self.os(*args, cloud='allinone-admin', **kwargs)

    def admin_token(self):
        """A Keystone token of the admin, scoped to its project (password
        authentication, as the CLI does it)."""
        if not getattr(self, '_token', None):
            identity = 'http://127.0.0.1:%d/v3' % (5000 + self.offset)
            password = tempestrun.read_secrets(self.state)['admin']
            self._token = tempestrun.admin_token(identity, password)[0]
        return self._token

    def api_get(self, port, path, headers=None):
        """GET from an API directly as the admin: each `openstack` run
        takes seconds to start, too slow to poll with."""
        import urllib.request
        request = urllib.request.Request(
            'http://127.0.0.1:%d%s' % (port + self.offset, path),
            headers=dict(headers or {}, **{'X-Auth-Token':
                                           self.admin_token()}))
        return json.load(urllib.request.urlopen(request, timeout=30))

    def nova_get(self, path):
        return self.api_get(8774, '/v2.1' + path, {
            'OpenStack-API-Version': 'compute 2.100'})

    def wait_volume(self, volume, wanted, timeout=120, kind='volume',
                    cloud='allinone-demo'):
        """Wait for a volume (or ``kind``: volume snapshot) of ``cloud``'s
        project to reach ``wanted`` (None: gone)."""
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            try:
                status = self.os(*kind.split(), 'show', volume, '-f',
                                 'json', cloud=cloud)['status']
            except StepFailed as e:
                if wanted is None and 'No ' in str(e):
                    return
                raise
            if status == wanted:
                return
            if status.startswith('error'):
                raise StepFailed('%s %s went to %s' % (kind, volume, status))
            time.sleep(1)
        raise StepFailed('%s %s is %s after %d s, not %s' % (
            kind, volume, status, timeout, wanted))

    def wait_status(self, server, wanted, timeout=120):
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            info = self.nova_get('/servers/%s' % server)['server']
            status = info['status']
            if status == wanted:
                return info
            if status == 'ERROR':
                raise StepFailed('server %s went to ERROR: %s' % (
                    server, info.get('fault')))
            time.sleep(1)
        raise StepFailed('server %s is %s after %d s, not %s' % (
            server, status, timeout, wanted))

    def step(self, name, func):
        started = time.monotonic()
        try:
            func()
        except (StepFailed, subprocess.TimeoutExpired, KeyError,
                ValueError) as e:
            outcome, detail = 'FAIL', str(e)
            if name in EXPECTED_MISSING or name in KNOWN_ISSUES:
                why = EXPECTED_MISSING.get(name) or KNOWN_ISSUES[name]
                outcome, detail = 'SKIP', 'known: %s (%s)' % (
                    why, str(e).splitlines()[0][:200])
        else:
            outcome, detail = 'PASS', ''
            if name in EXPECTED_MISSING:
                outcome, detail = 'FAIL', ('passes but is listed in '
                                           'EXPECTED_MISSING: remove it')
        took = time.monotonic() - started
        print('%-4s %-28s %5.1f s  %s' % (outcome, name, took, detail),
              flush=True)
        self.results.append(outcome)
        return outcome == 'PASS'

    def skip(self, name, why):
        print('%-4s %-28s %5.1f s  %s' % ('SKIP', name, 0, why), flush=True)
        self.results.append('SKIP')

    def vbox(self, *args):
        """The simulator's output of `VBoxManage ARGS`."""
        sim = os.path.join(self.venv, 'bin', 'vboxmanage-sim')
        return subprocess.run([sim] + list(args), env=self.env,
                              capture_output=True, text=True, check=True,
                              timeout=60).stdout

    def vm_info(self, name):
        """showvminfo --machinereadable as {key: value}."""
        info = {}
        for line in self.vbox('showvminfo', name,
                              '--machinereadable').splitlines():
            key, _sep, value = line.partition('=')
            info[key.strip('"')] = value.strip('"')
        return info

    def vm_memory_mb(self, name):
        return int(self.vm_info(name)['memory'])

    def vbox_vms(self):
        return [line for line in self.vbox('list', 'vms').splitlines()
                if line.strip()]

    def dhcp_fixed(self):
        """{VirtualBox DHCP server's network name: {MAC: fixed IP}}."""
        servers, name, mac = {}, None, None
        for line in self.vbox('list', 'dhcpservers').splitlines():
            key, _sep, value = (part.strip() for part in line.partition(':'))
            if key == 'NetworkName':
                name = value
                servers[name] = {}
            elif key == 'Individual Config' and value.startswith('MAC '):
                mac = value[4:].lower()
            elif key == 'Fixed Address' and mac:
                servers[name][mac] = value
        return servers


def main():
    run = Run()
    print('state: %s' % run.state, flush=True)
    image = os.path.join(run.state, 'hello.raw')
    sys.path.insert(0, os.path.dirname(HERE))
    import image as image_module
    image_module.build(image)
    ids = {}
    # The start's volume backend (after the start step): none when the
    # test does not run as root.
    volumes = []

    debug = ['--debug'] if os.environ.get('AIO_TEST_DEBUG') else []

    def start():
        with open(run.local_conf, 'w') as f:
            f.write('[DEFAULT]\nreserved_host_memory_mb = %d\n' % RESERVED_MB)
        out = run.aio('start', '--detach', '--simulator', *debug)
        settings = json.load(open(os.path.join(run.state, 'aio.json')))
        run.venv = settings['venv']
        volumes.append(settings['volume_backend'])
        if 'SIMULATOR' not in out or 'NO SCREEN' not in out:
            raise StepFailed('the start did not announce the simulator and '
                             'its screenless consoles:\n%s' % out)
        if '%s (in use' % run.local_conf not in out:
            raise StepFailed('the start did not say where local.conf is:'
                             '\n%s' % out)

    def hypervisor():
        hvs = run.admin('hypervisor', 'list', '--long', '-f', 'json')
        if len(hvs) != 1 or hvs[0]['Hypervisor Type'] != 'vbox' or \
                hvs[0]['State'] != 'up':
            raise StepFailed('hypervisors: %s' % hvs)
        # Placement, directly (the CLI needs the osc-placement plugin).
        rps = run.api_get(8778, '/resource_providers')['resource_providers']
        if len(rps) != 1 or rps[0]['name'] != 'allinone':
            raise StepFailed('resource providers: %s' % rps)
        inventory = run.api_get(8778, '/resource_providers/%s/inventories'
                                % rps[0]['uuid'])
        if not {'VCPU', 'MEMORY_MB', 'DISK_GB'} <= set(
                inventory['inventories']):
            raise StepFailed('inventory: %s' % inventory)
        reserved = inventory['inventories']['MEMORY_MB']['reserved']
        if reserved != RESERVED_MB:
            raise StepFailed('reserved memory %s MB, not local.conf\'s %d'
                             % (reserved, RESERVED_MB))

    def upload():
        img = run.os('image', 'create', '--disk-format', 'raw',
                     '--container-format', 'bare', '--file', image,
                     'hello', '-f', 'json')
        if img['status'] != 'active':
            raise StepFailed('image is %s' % img['status'])
        ids['image'] = img['id']
        # 1 GiB root disk: a zero-disk flavor is for volume-backed servers
        # only, unless one is admin (Nova's default policy).
        run.admin('flavor', 'create', '--vcpus', '1', '--ram', '128',
                  '--disk', '1', 'aio.test', '-f', 'json')

    def networks():
        # The first start made the demo project's private network; the
        # external public one is visible to every project.
        mine = {n['Name']: n['ID'] for n in run.os('network', 'list', '-f',
                                                   'json')}
        if set(mine) != {'private', 'public'}:
            raise StepFailed('demo sees the networks %s' % sorted(mine))
        ids['private'] = mine['private']
        agents = run.admin('network', 'agent', 'list', '-f', 'json')
        if [(a['Agent Type'], a['Host'], a['Alive']) for a in agents] != [
                ('VirtualBox agent', 'allinone', True)]:
            raise StepFailed('network agents: %s' % agents)

    def boot():
        # A second network of the project's own (after the boot without
        # --nic: with two, Nova would not choose).
        net = run.os('network', 'create', 'net2', '-f', 'json')
        run.os('subnet', 'create', '--network', 'net2', '--subnet-range',
               '10.1.0.0/24', 'net2-subnet', '-f', 'json')
        ids['net2'] = net['id']
        srv = run.os('server', 'create', '--flavor', 'aio.test', '--image',
                     'hello', '--network', 'private', '--network', 'net2',
                     'vm1', '-f', 'json')
        ids['vm1'] = srv['id']
        run.wait_status(srv['id'], 'ACTIVE')
        if not run.vbox_vms():
            raise StepFailed('ACTIVE but VirtualBox lists no VM')

    def two_nics():
        # Each port: ACTIVE (the agent reported it up), Nova told
        # (network-vif-plugged, which it waited for), a NIC on the
        # network's VirtualBox internal network with the port's MAC, and
        # the port's address fixed in that network's DHCP server.
        vm = run.wait_status(ids['vm1'], 'ACTIVE')[
            'OS-EXT-SRV-ATTR:instance_name']
        info = run.vm_info(vm)
        ports = run.api_get(9696, '/v2.0/ports?device_id=%s'
                            % ids['vm1'])['ports']
        dhcp = run.dhcp_fixed()
        with open(os.path.join(run.state, 'logs', 'nova.log')) as f:
            log = f.read()
        nics = {info.get('intnet%d' % n): info.get('macaddress%d' % n)
                for n in (1, 2)}
        if len(ports) != 2:
            raise StepFailed('vm1 has %d ports' % len(ports))
        for port in ports:
            mac, ip = port['mac_address'], port['fixed_ips'][0]['ip_address']
            if port['status'] != 'ACTIVE':
                raise StepFailed('port %s is %s' % (port['id'],
                                                    port['status']))
            if nics.get(port['network_id']) != mac.replace(':', '').upper():
                raise StepFailed('no NIC on %s with %s: %s' % (
                    port['network_id'], mac, info))
            if dhcp.get(port['network_id'], {}).get(mac) != ip:
                raise StepFailed('DHCP server of %s: %s, not %s for %s' % (
                    port['network_id'], dhcp.get(port['network_id']), ip,
                    mac))
            if 'network-vif-plugged:%s' % port['id'] not in log:
                raise StepFailed('Nova got no network-vif-plugged for %s'
                                 % port['id'])

    def first_image():
        img = run.os('image', 'show', 'tinyguest', '-f', 'json')
        if img['status'] != 'active' or img['visibility'] != 'public':
            raise StepFailed('the first image: %s' % img)

    def console_url():
        # The simulator has no screens: the console page must say so.
        import urllib.request
        url = run.os('console', 'url', 'show', ids['vm1'], '-f',
                     'json')['url']
        if '/vnc_lite.html?path=' not in url:
            raise StepFailed('console URL %s' % url)
        page = urllib.request.urlopen(url, timeout=30).read().decode()
        if 'no screen behind this console' not in page:
            raise StepFailed('the console page does not say the simulator '
                             'has no screen')
        rfb = urllib.request.urlopen(url.split('vnc_lite.html')[0] +
                                     'core/rfb.js', timeout=30)
        if 'javascript' not in rfb.headers.get('Content-Type', ''):
            raise StepFailed('noVNC core/rfb.js is served as %s'
                             % rfb.headers.get('Content-Type'))

    def boot_without_nic():
        # What a new user types first: no --nic (the CLI asks for "auto"):
        # the project's one network.
        srv = run.os('server', 'create', '--flavor', 'aio.test', '--image',
                     'hello', 'vm3', '-f', 'json')
        info = run.wait_status(srv['id'], 'ACTIVE')
        run.os('server', 'delete', '--wait', srv['id'], timeout=180)
        if list(info['addresses']) != ['private']:
            raise StepFailed('addresses %s' % info['addresses'])

    def resize():
        before = run.wait_status(ids['vm1'], 'ACTIVE')
        vm = before['OS-EXT-SRV-ATTR:instance_name']
        run.os('server', 'resize', '--flavor', 'm1.small', '--wait',
               ids['vm1'], timeout=300)
        run.wait_status(ids['vm1'], 'VERIFY_RESIZE')
        run.os('server', 'resize', 'confirm', ids['vm1'])
        info = run.wait_status(ids['vm1'], 'ACTIVE')
        if info['flavor']['original_name'] != 'm1.small':
            raise StepFailed('flavor after the resize: %s' % info['flavor'])
        memory = run.vm_memory_mb(vm)
        if memory != info['flavor']['ram']:
            raise StepFailed('VM %s has %d MB, the flavor %d' % (
                vm, memory, info['flavor']['ram']))

    def no_volumes():
        message = run.os_fails('volume', 'create', '--size', '1', 'vol1')
        if 'block-storage service' not in message:
            raise StepFailed('volume create: %s' % message)

    def volume_files(volume):
        folder = os.path.join(run.state, 'cinder', 'volumes')
        return [f for f in os.listdir(folder) if volume in f]

    def volume_create():
        vol = run.os('volume', 'create', '--size', '1', 'vol1', '-f', 'json')
        ids['vol1'] = vol['id']
        run.wait_volume(vol['id'], 'available')
        if not volume_files(vol['id']):
            raise StepFailed('no file of volume %s' % vol['id'])

    def iscsi_media(server):
        # The VM's iSCSI disks: the simulator's location names the
        # target, which Cinder names after the volume.
        vm = run.wait_status(server, 'ACTIVE')[
            'OS-EXT-SRV-ATTR:instance_name']
        return [v for k, v in run.vm_info(vm).items()
                if k.startswith('SATA-') and 'iqn.' in v]

    def volume_attach():
        run.os('server', 'add', 'volume', ids['vm1'], ids['vol1'])
        run.wait_volume(ids['vol1'], 'in-use')
        media = iscsi_media(ids['vm1'])
        if not any(ids['vol1'] in m for m in media):
            raise StepFailed('vm1 has no iSCSI disk of %s: %s' % (
                ids['vol1'], media))
        ids['chap'] = chap_secret(ids['vol1'])

    def volume_detach():
        run.os('server', 'remove', 'volume', ids['vm1'], ids['vol1'])
        run.wait_volume(ids['vol1'], 'available')
        if iscsi_media(ids['vm1']):
            raise StepFailed('vm1 still has %s' % iscsi_media(ids['vm1']))

    def chap_secret(volume):
        # Cinder keeps a volume's CHAP credentials in its database
        # (provider_auth "CHAP user secret").
        import sqlite3
        db = sqlite3.connect(os.path.join(run.state, 'cinder',
                                          'cinder.sqlite'))
        try:
            auth = db.execute('SELECT provider_auth FROM volumes WHERE id=?',
                              (volume,)).fetchone()[0]
        finally:
            db.close()
        if not auth or len(auth.split()) != 3:
            raise StepFailed('volume %s has no CHAP credentials: %r' % (
                volume, auth))
        return auth.split()[2]

    def volume_snapshot():
        snap = run.os('volume', 'snapshot', 'create', '--volume',
                      ids['vol1'], 'snap1', '-f', 'json')
        run.wait_volume(snap['id'], 'available', kind='volume snapshot')
        vol = run.os('volume', 'create', '--snapshot', snap['id'], 'vol2',
                     '-f', 'json')
        run.wait_volume(vol['id'], 'available')
        run.os('volume', 'delete', vol['id'])
        run.wait_volume(vol['id'], None)
        run.os('volume', 'snapshot', 'delete', snap['id'])
        run.wait_volume(snap['id'], None, kind='volume snapshot')

    def boot_from_volume():
        srv = run.os('server', 'create', '--flavor', 'aio.test',
                     '--block-device', 'source_type=image,uuid=%s,'
                     'destination_type=volume,volume_size=1,boot_index=0,'
                     'delete_on_termination=true' % ids['image'],
                     '--network', 'private', 'bfv', '-f', 'json')
        run.wait_status(srv['id'], 'ACTIVE', timeout=300)
        volumes = run.os('server', 'volume', 'list', srv['id'], '-f', 'json')
        if len(volumes) != 1 or not iscsi_media(srv['id']):
            raise StepFailed('boot volume %s, iSCSI disks %s' % (
                volumes, iscsi_media(srv['id'])))
        run.os('server', 'delete', '--wait', srv['id'], timeout=180)
        # delete_on_termination: Nova deletes it.
        run.wait_volume(volumes[0]['Volume ID'], None)

    def volume_attach_stopped():
        # Left attached to vm2, which the delete step removes.
        run.os('server', 'stop', ids['vm2'])
        run.wait_status(ids['vm2'], 'SHUTOFF')
        run.os('server', 'add', 'volume', ids['vm2'], ids['vol1'])
        run.wait_volume(ids['vol1'], 'in-use')
        run.os('server', 'start', ids['vm2'])
        if not any(ids['vol1'] in m for m in iscsi_media(ids['vm2'])):
            raise StepFailed('vm2 started without %s' % ids['vol1'])

    def volume_outlives_server():
        # Attached to vm2, which the delete step removed: the volume is
        # detached, kept, its file too.
        run.wait_volume(ids['vol1'], 'available')
        if not volume_files(ids['vol1']):
            raise StepFailed('the file of %s is gone' % ids['vol1'])
        run.os('volume', 'delete', ids['vol1'])
        run.wait_volume(ids['vol1'], None)
        if volume_files(ids['vol1']):
            raise StepFailed('volume %s deleted, its file kept: %s' % (
                ids['vol1'], volume_files(ids['vol1'])))

    def chap_not_logged():
        found = []
        for name in os.listdir(os.path.join(run.state, 'logs')):
            with open(os.path.join(run.state, 'logs', name),
                      errors='replace') as f:
                if ids['chap'] in f.read():
                    found.append(name)
        if found:
            raise StepFailed('the CHAP secret is in %s' % found)

    def quotas():
        for who, args in ((run.admin, ['demo']), (run.os, [])):
            shown = {q['Resource']: q['Limit'] for q in who(
                'quota', 'show', *args, '-f', 'json')}
            if shown.get('instances') != 10:
                raise StepFailed('quota show %s: %s' % (' '.join(args),
                                                        shown))

    def projects():
        mine = [p['Name'] for p in run.os('project', 'list', '-f', 'json')]
        every = [p['Name'] for p in run.admin('project', 'list', '-f',
                                              'json')]
        if mine != ['demo'] or set(every) != {'admin', 'demo', 'service'}:
            raise StepFailed('projects: demo sees %s, the admin %s' % (
                mine, every))

    def own_servers_only():
        # Nova's default policies: the demo user sees its own project's
        # servers only, the admin every project's when it asks.
        srv = run.admin('server', 'create', '--flavor', 'm1.nano',
                        '--image', 'tinyguest', '--network', 'public',
                        '--wait', 'adminvm', '-f', 'json', timeout=180)
        try:
            # The admin's external network: the VirtualBox NAT network.
            info = run.vm_info(srv['OS-EXT-SRV-ATTR:instance_name'])
            if (info.get('nic1'), info.get('nat-network1')) != (
                    'natnetwork', 'aio-public-%d' % run.offset):
                raise StepFailed('the server on public has %s %s' % (
                    info.get('nic1'), info.get('nat-network1')))
            demo = {s['ID'] for s in run.os('server', 'list', '-f', 'json')}
            every = {s['ID'] for s in run.admin(
                'server', 'list', '--all-projects', '-f', 'json')}
            if srv['id'] in demo or not {srv['id'], ids['vm1']} <= every:
                raise StepFailed('demo sees %s, the admin %s' % (demo,
                                                                 every))
            message = run.os_fails('server', 'show', srv['id'])
            if 'No Server found' not in message:
                raise StepFailed('demo showing the admin\'s server: %s'
                                 % message)
        finally:
            run.admin('server', 'delete', '--wait', srv['id'], timeout=180)

    def no_errors_logged():
        errors = []
        for name in ('keystone', 'nova', 'glance', 'neutron', 'cinder'):
            with open(os.path.join(run.state, 'logs', name + '.log')) as f:
                errors += [line.strip()[:300] for line in f
                           if ' ERROR ' in line]
        if errors:
            raise StepFailed('%d ERROR lines, the first: %s' % (
                len(errors), errors[0]))

    def action(verb, wanted):
        def do():
            run.os('server', verb, ids['vm1'])
            run.wait_status(ids['vm1'], wanted)
        return do

    def snapshot():
        take_snapshot(run, ids)

    def boot_snapshot():
        # The flavor vm1 was resized to: the snapshot needs its disk size.
        srv = run.os('server', 'create', '--flavor', 'm1.small', '--image',
                     ids['snap'], '--network', 'private', 'vm2', '-f',
                     'json')
        ids['vm2'] = srv['id']
        run.wait_status(srv['id'], 'ACTIVE')

    def delete():
        delete_servers(run, ids, timeout=180)

    def vbox_empty():
        vms = run.vbox_vms()
        if vms:
            raise StepFailed('VirtualBox still holds %s' % vms)
        # The agent's next sweeps take the fixed addresses out, and the
        # internal networks' DHCP servers with their last port.
        deadline = time.monotonic() + 30
        while True:
            dhcp = run.dhcp_fixed()
            left = {name: fixed for name, fixed in dhcp.items()
                    if fixed or name in (ids.get('private'), ids.get('net2'))}
            if not left:
                break
            if time.monotonic() > deadline:
                raise StepFailed('DHCP servers left: %s' % left)
            time.sleep(1)

    def restart():
        run.aio('stop')
        run.aio('start', '--detach', '--simulator', *debug)
        names = [i['Name'] for i in run.os('image', 'list', '-f', 'json')]
        if 'hello' not in names:
            raise StepFailed('images after a restart: %s' % names)
        flavors = [f['Name']
                   for f in run.admin('flavor', 'list', '-f', 'json')]
        if 'aio.test' not in flavors:
            raise StepFailed('flavors after a restart: %s' % flavors)

    started = time.monotonic()
    try:
        if run.step('start', start):
            run.step('hypervisor and placement', hypervisor)
            run.step('first image (tinyguest)', first_image)
            run.step('networks (Neutron)', networks)
            if run.step('image upload', upload) and \
                    run.step('server create without --nic', boot_without_nic) \
                    and run.step('server on two networks', boot):
                run.step('ports ACTIVE, NICs, DHCP', two_nics)
                run.step('console url (simulator notice)', console_url)
                run.step('demo sees its own servers only', own_servers_only)
                for name, verb, wanted in (
                        ('stop', 'stop', 'SHUTOFF'),
                        ('start', 'start', 'ACTIVE'),
                        ('reboot', 'reboot', 'ACTIVE'),
                        ('pause', 'pause', 'PAUSED'),
                        ('unpause', 'unpause', 'ACTIVE'),
                        ('suspend', 'suspend', 'SUSPENDED'),
                        ('resume', 'resume', 'ACTIVE')):
                    run.step('server ' + name, action(verb, wanted))
                run.step('resize and confirm', resize)
                if not run.step('snapshot', snapshot):
                    run.skip('boot from snapshot', 'the snapshot failed')
                else:
                    run.step('boot from snapshot', boot_snapshot)
                if volumes and run.step('volume create', volume_create):
                    run.step('volume attach (running)', volume_attach)
                    run.step('volume detach (running)', volume_detach)
                    run.step('volume snapshot, clone', volume_snapshot)
                    run.step('boot from volume', boot_from_volume)
                    if 'vm2' in ids:
                        run.step('volume attach (stopped)',
                                 volume_attach_stopped)
            run.step('delete servers', delete)
            run.step('VirtualBox holds nothing', vbox_empty)
            if volumes:
                if 'vol1' in ids:
                    run.step('volume outlives its server',
                             volume_outlives_server)
                if 'chap' in ids:
                    run.step('CHAP secret in no log', chap_not_logged)
            else:
                run.step('volume create: no Cinder', no_volumes)
            run.step('quota show', quotas)
            run.step('project list (Keystone)', projects)
            run.step('no ERROR in the logs', no_errors_logged)
            run.step('restart keeps state', restart)
    finally:
        run.aio('stop', check=False)
        if os.environ.get('AIO_TEST_KEEP'):
            print('kept %s' % run.state)
        else:
            shutil.rmtree(run.state, ignore_errors=True)
    counts = {k: run.results.count(k) for k in ('PASS', 'FAIL', 'SKIP')}
    print('all-in-one lifecycle took %.0f s' % (time.monotonic() - started))
    print('%d passed, %d failed, %d skipped' % (
        counts['PASS'], counts['FAIL'], counts['SKIP']))
    return 1 if counts['FAIL'] else 0


if __name__ == '__main__':
    sys.exit(main())
