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

"""The all-in-one cloud on REAL VirtualBox, driven with the openstack CLI.

    python3.11 tools/allinone/tests/realvbox.py     (as root)

Needs tools/real-vbox's VirtualBox (/usr/local/bin/vboxmanage-real, or the
command in REALVBOX_CMD), where VMs really run (the instruction
interpreter: tiny guests only), and Debian's chromium and chromium-driver
for the console check. Puts a VBoxManage link to it first on the PATH,
starts the cloud with a fresh state folder under /tmp (which the chroot
sees) on ports 21000 above the usual ones, and as a user would:

- runs the first "openstack server create" line the start printed, as
  printed: the tiny guest (tools/tinyguest), ACTIVE, and its console log
  shows the banner with the server's own ID;
- opens `openstack console url show`'s URL in headless Chromium (through
  chromedriver's WebDriver HTTP API), keeps a screenshot of the page, and
  checks noVNC reached the VM's screen; keeps VirtualBox's own screenshot
  of the VM's screen too;
- stop/start, pause/unpause, suspend/resume, soft reboot (the guest
  answers the ACPI power button), each checked in Nova's state, in
  VirtualBox's and, where the guest shows it, in the console log;
- as root (volumes on): a Cinder volume (a file exported by tgt with CHAP)
  hot-plugged into the running VM: VirtualBox's initiator logs in and shows
  the LUN's size; detached and deleted;
- a snapshot, and a server booted from it shows the banner with ITS ID;
- deletes the servers, and VirtualBox holds none of their VMs.

Screenshots and the services' logs go to $ARTIFACTS_DIR, else
.aio/artifacts/realvbox-<time>. Ends with "N passed, N failed, N skipped"
and exits 1 when a step failed. Whatever happens, it stops the cloud and
removes the VMs of ITS servers only (VirtualBox's registry is shared with
whoever else uses it). AIO_TEST_KEEP=1 keeps the state folder.
"""

import base64
import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)
import lifecycle  # noqa: E402  (this folder, not a package)

OFFSET = int(os.environ.get('AIO_REALVBOX_PORT_OFFSET', '21000'))
REAL_VBOXMANAGE = '/usr/local/bin/vboxmanage-real'
BANNER = 'nova-virtualbox tinyguest uuid='
POWERING_OFF = 'tinyguest: ACPI power off'
GUEST_SECONDS = 90
StepFailed = lifecycle.StepFailed

# step name -> why it is expected to fail today (a failure is reported as
# skipped with the reason, a pass as a failure so the list is kept true).
EXPECTED_MISSING = {}


def real_vboxmanage():
    """The real VBoxManage command (a path: the all-in-one finds it on the
    PATH through a link), or None. REALVBOX_CMD=off means none; another
    REALVBOX_CMD is used when it is an executable's path."""
    command = os.environ.get('REALVBOX_CMD', '')
    if command == 'off':
        return None
    for candidate in (command, REAL_VBOXMANAGE):
        if candidate and os.path.isfile(candidate) and \
                os.access(candidate, os.X_OK):
            return candidate
    return None


class RealRun(lifecycle.Run):

    def __init__(self, vboxmanage):
        super().__init__(offset=OFFSET)
        # The state where tools/real-vbox's chroot sees the VM folders.
        shutil.rmtree(self.state)
        self.state = tempfile.mkdtemp(prefix='aio-realvbox-', dir='/tmp')
        self.vboxmanage = vboxmanage
        self.bin = os.path.join(self.state, 'bin')
        os.makedirs(self.bin)
        os.symlink(vboxmanage, os.path.join(self.bin, 'VBoxManage'))
        self.env = dict(os.environ,
                        PATH=self.bin + os.pathsep + os.environ['PATH'])
        self.artifacts = os.environ.get('ARTIFACTS_DIR') or os.path.join(
            REPO, '.aio', 'artifacts',
            'realvbox-%s' % time.strftime('%Y%m%d-%H%M%S'))
        os.makedirs(self.artifacts, exist_ok=True)
        self.servers = set()
        self.volumes = None  # the start's volume backend

    def step(self, name, func):
        passed = super().step(name, func)
        if not passed and self.results[-1] == 'FAIL':
            self.keep_vm_logs(name)
        return passed

    def keep_vm_logs(self, step):
        """Copy VirtualBox's logs of this run's VMs (VBox.log: why a VM
        aborted) to the artifacts before the VMs and their folders go."""
        vms = os.path.join(self.state, 'nova', 'instances', 'nova')
        target = os.path.join(self.artifacts, 'vm-logs',
                              step.replace(' ', '_').replace('/', '_'))
        try:
            names = os.listdir(vms)
        except OSError:
            return
        for name in names:
            logs = os.path.join(vms, name, 'Logs')
            if os.path.isdir(logs):
                shutil.copytree(logs, os.path.join(target, name),
                                dirs_exist_ok=True)

    def vbm(self, *args, check=True):
        result = subprocess.run([self.vboxmanage] + list(args),
                                capture_output=True, text=True, timeout=120)
        if check and result.returncode:
            raise StepFailed('VBoxManage %s: %s' % (' '.join(args),
                                                    result.stderr.strip()))
        return result.stdout

    def console_log(self, server):
        return self.os('console', 'log', 'show', server)

    def wait_console(self, server, text, timeout=GUEST_SECONDS):
        """Wait until the last line of the console log shows ``text``: the
        guest prints a line when it boots and when it powers off, so the
        last line tells which it did last, whatever VirtualBox and the
        driver keep of earlier boots."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.console_log(server)
            lines = [line for line in log.splitlines() if line.strip()]
            if lines and text in lines[-1]:
                return log
            if time.monotonic() > deadline:
                raise StepFailed('the console log of %s does not end with '
                                 '%r after %d s; it ends with:\n%s'
                                 % (server, text, timeout, log[-500:]))
            time.sleep(1)

    def leftover_vms(self):
        """The VMs of this run's servers that VirtualBox still holds."""
        listing = self.vbm('list', 'vms', check=False)
        return [line for line in listing.splitlines()
                if any(uuid in line for uuid in self.servers)]

    def remove_leftovers(self):
        """Power off and delete the VMs of this run's servers, then forget
        the disks VirtualBox still registers in this run's state folder
        (the image cache's): no other VM or disk."""
        for uuid in self.servers:
            if uuid not in self.vbm('list', 'vms', check=False):
                continue
            print('cleanup: removing VM %s' % uuid, flush=True)
            self.vbm('controlvm', uuid, 'poweroff', check=False)
            for _attempt in range(10):
                if not self.vbm('unregistervm', uuid, '--delete',
                                check=False).strip() and \
                        uuid not in self.vbm('list', 'vms', check=False):
                    break
                time.sleep(1)
        close_media_under(self.vboxmanage, self.state)


def close_media_under(vboxmanage, folder):
    """closemedium every disk VirtualBox registers under ``folder``;
    differencing disks close before their parents, so go round until
    nothing closes any more."""
    def ours():
        listing = subprocess.run([vboxmanage, 'list', 'hdds'],
                                 capture_output=True, text=True,
                                 timeout=120).stdout
        media, uuid = [], None
        for line in listing.splitlines():
            key, _sep, value = line.partition(':')
            if key == 'UUID':
                uuid = value.strip()
            elif key == 'Location' and value.strip().startswith(
                    folder.rstrip('/') + '/'):
                media.append(uuid)
        return media
    left = ours()
    while left:
        for uuid in left:
            subprocess.run([vboxmanage, 'closemedium', 'disk', uuid],
                           capture_output=True, timeout=120)
        still = ours()
        if len(still) == len(left):
            print('cleanup: VirtualBox keeps %d disks under %s'
                  % (len(still), folder), flush=True)
            return
        left = still


# --- The browser ------------------------------------------------------------

class Browser:
    """Headless Chromium through chromedriver's WebDriver HTTP API (JSON
    over HTTP: no client library needed)."""

    def __init__(self):
        driver = shutil.which('chromedriver')
        chromium = shutil.which('chromium')
        if not driver or not chromium:
            raise StepFailed('chromium and chromedriver are needed (apt-get '
                             'install chromium chromium-driver)')
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        self.base = 'http://127.0.0.1:%d' % port
        self.process = subprocess.Popen(
            [driver, '--port=%d' % port], stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.call('GET', '/status')
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.close()
                    raise StepFailed('chromedriver did not start')
                time.sleep(0.2)
        options = {'binary': chromium,
                   'args': ['--headless=new', '--no-sandbox',
                            '--disable-gpu', '--window-size=900,560']}
        self.session = self.call('POST', '/session', {'capabilities': {
            'alwaysMatch': {'browserName': 'chrome',
                            'goog:chromeOptions': options}}})['sessionId']

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method,
            headers={'Content-Type': 'application/json'})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.load(response)['value']

    def session_call(self, method, path, body=None):
        return self.call(method, '/session/%s%s' % (self.session, path),
                         body)

    def open(self, url):
        self.session_call('POST', '/url', {'url': url})

    def script(self, source):
        return self.session_call('POST', '/execute/sync',
                                 {'script': source, 'args': []})

    def screenshot(self, path):
        with open(path, 'wb') as f:
            f.write(base64.b64decode(self.session_call('GET',
                                                       '/screenshot')))
        return path

    def close(self):
        try:
            if getattr(self, 'session', None):
                self.session_call('DELETE', '')
        except OSError:
            pass
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


# noVNC draws the VM's screen on a canvas in #screen: how many of its
# pixels are not black (the text screen's background).
CANVAS_PIXELS = '''
const canvas = document.querySelector('#screen canvas');
if (!canvas || !canvas.width) { return null; }
const data = canvas.getContext('2d').getImageData(
    0, 0, canvas.width, canvas.height).data;
let lit = 0;
for (let i = 0; i < data.length; i += 4) {
    if (data[i] || data[i + 1] || data[i + 2]) { lit++; }
}
return [canvas.width, canvas.height, lit];
'''


def png_lit_bytes(path):
    """How many colour bytes of a PNG's scanlines are not zero (an
    approximation good enough to tell a black screen from one with text:
    filters of a black image leave zeros)."""
    with open(path, 'rb') as f:
        data = f.read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        raise StepFailed('%s is not a PNG' % path)
    pos, idat, width = 8, b'', 0
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], 'big')
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if kind == b'IHDR':
            width = int.from_bytes(body[:4], 'big')
            channels = {2: 3, 6: 4}.get(body[9], 1)
        elif kind == b'IDAT':
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = 1 + width * channels
    return sum(1 for row in range(0, len(raw), stride)
               for byte in raw[row + 1:row + stride] if byte)


def main():
    vboxmanage = real_vboxmanage()
    if vboxmanage is None:
        print('no real VirtualBox (%s): nothing to test' % REAL_VBOXMANAGE)
        print('0 passed, 0 failed, 1 skipped')
        return 0
    lifecycle.EXPECTED_MISSING.update(EXPECTED_MISSING)
    run = RealRun(vboxmanage)
    print('state: %s\nartifacts: %s' % (run.state, run.artifacts),
          flush=True)
    ids = {}
    debug = ['--debug'] if os.environ.get('AIO_TEST_DEBUG') else []

    def start():
        out = run.aio('start', '--detach', *debug)
        with open(os.path.join(run.artifacts, 'start.txt'), 'w') as f:
            f.write(out)
        settings = json.load(open(os.path.join(run.state, 'aio.json')))
        run.venv = settings['venv']
        run.volumes = settings['volume_backend']
        if 'VirtualBox: REAL' not in out or settings['simulated']:
            raise StepFailed('the start did not use real VirtualBox:\n%s'
                             % out)
        if not settings['vnc']:
            raise StepFailed('VirtualBox has no VNC extension pack')
        lines = [line.strip() for line in out.splitlines()
                 if line.strip().startswith('openstack server create')]
        if not lines:
            raise StepFailed('the start printed no server create line')
        ids['create'] = lines[0]

    def first_server():
        # As printed, with the openstack of the venv the printed PATH
        # line names.
        args = shlex.split(ids['create'])
        name = args[-1]
        srv = run.os(*(args[1:] + ['-f', 'json']), timeout=300)
        ids['vm1'] = srv['id']
        run.servers.add(srv['id'])
        if srv['status'] != 'ACTIVE' or srv['name'] != name:
            raise StepFailed('server %s is %s' % (name, srv['status']))
        ids['log'] = run.wait_console(srv['id'], BANNER + srv['id'])

    def console_page():
        url = run.os('console', 'url', 'show', ids['vm1'], '-f',
                     'json')['url']
        if '/vnc_lite.html?path=' not in url:
            raise StepFailed('console URL %s' % url)
        browser = Browser()
        try:
            browser.open(url)
            deadline = time.monotonic() + 60
            state = None
            while time.monotonic() < deadline:
                state = browser.script('return document.body.dataset.state')
                if state not in ('loading', 'connecting'):
                    break
                time.sleep(0.5)
            if state == 'connected':
                # Let the first full frame arrive.
                time.sleep(3)
            ids['title'] = browser.script('return document.title')
            ids['canvas'] = browser.script(CANVAS_PIXELS)
            ids['page_state'] = state
            shot = browser.screenshot(os.path.join(run.artifacts,
                                                   'novnc-console.png'))
        finally:
            browser.close()
        print('     page: %r, state %s, canvas %s, screenshot %s'
              % (ids['title'], state, ids['canvas'], shot), flush=True)
        if state in ('loading', None):
            raise StepFailed('the noVNC page did not load its client')
        if state == 'connecting':
            raise StepFailed('noVNC still connecting after 60 s')
        if state == 'failed' and 'Failed to connect:' not in ids['title']:
            # No reason from Nova's proxy: it never reached the VM's VNC
            # server (a token, origin or proxy failure).
            raise StepFailed('noVNC failed without a reason from Nova\'s '
                             'proxy: %r' % ids['title'])

    def novnc_screen():
        canvas = ids.get('canvas')
        if ids.get('page_state') != 'connected':
            raise StepFailed('noVNC did not connect: %r' % ids.get('title'))
        if not canvas or canvas[2] == 0:
            raise StepFailed('the noVNC canvas is blank: %s' % canvas)

    def vga_screen():
        # The guest's screen as VirtualBox has it, to compare with noVNC's
        # (written where the chroot sees it, then kept).
        path = os.path.join(run.state, 'virtualbox-screen.png')
        run.vbm('controlvm', ids['vm1'], 'screenshotpng', path)
        kept = shutil.copy(path, run.artifacts)
        if not png_lit_bytes(kept):
            raise StepFailed('the VM screen is black (%s)' % kept)

    def action(verb, wanted, console_text=None, vm_state=None):
        def do():
            run.os('server', verb, ids['vm1'])
            run.wait_status(ids['vm1'], wanted, timeout=GUEST_SECONDS)
            if console_text:
                run.wait_console(ids['vm1'], console_text)
            if vm_state:
                info = run.vbm('showvminfo', ids['vm1'], '--machinereadable')
                if 'VMState="%s"' % vm_state not in info:
                    raise StepFailed('VirtualBox: %s, not %s' % ([
                        line for line in info.splitlines()
                        if line.startswith('VMState=')], vm_state))
        return do

    def soft_reboots():
        with open(os.path.join(run.state, 'logs', 'nova.log')) as f:
            return sum(1 for line in f if ids['vm1'] in line and
                       'Instance rebooted softly' in line)

    def reboot():
        before = soft_reboots()
        run.os('server', 'reboot', '--soft', '--wait', ids['vm1'],
               timeout=GUEST_SECONDS * 2)
        run.wait_status(ids['vm1'], 'ACTIVE', timeout=GUEST_SECONDS)
        run.wait_console(ids['vm1'], BANNER + ids['vm1'])
        # The guest's "ACPI power off" line may be gone with the log
        # VirtualBox empties at power on: the driver's log says whether the
        # guest answered the power button or it fell back to a hard
        # reboot.
        if soft_reboots() <= before:
            raise StepFailed('no new "Instance rebooted softly" in '
                             'nova.log: the guest did not answer ACPI')

    def volume_hot_plug():
        # A Cinder volume (a file exported by tgt with CHAP) hot-plugged
        # into the running VM: VirtualBox's own initiator logs in at
        # once, and the medium shows the LUN's size.
        vol = run.os('volume', 'create', '--size', '1', 'vol1', '-f',
                     'json')
        ids['vol1'] = vol['id']
        run.wait_volume(vol['id'], 'available')
        run.os('server', 'add', 'volume', ids['vm1'], vol['id'])
        run.wait_volume(vol['id'], 'in-use')
        info = run.vbm('showvminfo', ids['vm1'], '--machinereadable')
        shown = [run.vbm('showmediuminfo', 'disk',
                         line.split('=', 1)[1].strip('"'))
                 for line in info.splitlines()
                 if line.startswith('"SATA-ImageUUID-')]
        disk = [text for text in shown if vol['id'] in text]
        if 'VMState="running"' not in info or not disk or \
                '1024 MBytes' not in disk[0]:
            raise StepFailed('the running VM has no 1 GiB iSCSI disk of '
                             '%s: %s' % (vol['id'], disk or shown))
        run.os('server', 'remove', 'volume', ids['vm1'], vol['id'])
        run.wait_volume(vol['id'], 'available')
        run.os('volume', 'delete', vol['id'])
        run.wait_volume(vol['id'], None)

    def snapshot():
        lifecycle.take_snapshot(run, ids)

    def boot_snapshot():
        srv = run.os('server', 'create', '--flavor', 'm1.nano', '--image',
                     ids['snap'], '--nic', 'none', '--wait', 'vm2', '-f',
                     'json', timeout=300)
        ids['vm2'] = srv['id']
        run.servers.add(srv['id'])
        if srv['status'] != 'ACTIVE':
            raise StepFailed('vm2 is %s' % srv['status'])
        run.wait_console(srv['id'], BANNER + srv['id'])

    def delete():
        lifecycle.delete_servers(run, ids, timeout=300)
        vms = run.leftover_vms()
        if vms:
            raise StepFailed('VirtualBox still holds %s' % vms)

    started = time.monotonic()
    try:
        if not run.step('start on real VirtualBox', start):
            pass  # no cloud, nothing of ours in VirtualBox
        elif run.step('first server, as printed', first_server):
            run.step('console url: noVNC page', console_page)
            run.step('noVNC shows the guest screen', novnc_screen)
            run.step('VirtualBox screenshot', vga_screen)
            run.step('server stop', action('stop', 'SHUTOFF', POWERING_OFF,
                                           vm_state='poweroff'))
            run.step('server start', action('start', 'ACTIVE',
                                            BANNER + ids['vm1'],
                                            vm_state='running'))
            run.step('server pause', action('pause', 'PAUSED',
                                            vm_state='paused'))
            run.step('server unpause', action('unpause', 'ACTIVE',
                                              vm_state='running'))
            run.step('server suspend', action('suspend', 'SUSPENDED',
                                              vm_state='saved'))
            run.step('server resume', action('resume', 'ACTIVE',
                                             vm_state='running'))
            run.step('server reboot --soft', reboot)
            if run.volumes:
                run.step('volume hot-plug (iSCSI, CHAP)', volume_hot_plug)
            if run.step('snapshot', snapshot):
                run.step('boot from snapshot', boot_snapshot)
            else:
                run.skip('boot from snapshot', 'the snapshot failed')
        if run.venv:
            run.step('delete servers', delete)
    finally:
        run.aio('stop', check=False)
        run.remove_leftovers()
        if os.path.isdir(os.path.join(run.state, 'logs')):
            shutil.copytree(os.path.join(run.state, 'logs'),
                            os.path.join(run.artifacts, 'logs'),
                            dirs_exist_ok=True)
        if os.environ.get('AIO_TEST_KEEP'):
            print('kept %s' % run.state)
        else:
            shutil.rmtree(run.state, ignore_errors=True)
    counts = {k: run.results.count(k) for k in ('PASS', 'FAIL', 'SKIP')}
    print('all-in-one on real VirtualBox took %.0f s; artifacts in %s'
          % (time.monotonic() - started, run.artifacts))
    print('%d passed, %d failed, %d skipped' % (
        counts['PASS'], counts['FAIL'], counts['SKIP']))
    return 1 if counts['FAIL'] else 0


if __name__ == '__main__':
    sys.exit(main())
