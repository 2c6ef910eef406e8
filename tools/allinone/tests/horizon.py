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

"""The all-in-one's Horizon in a real headless browser, as a user would.

    python3.11 tools/allinone/tests/horizon.py

Needs Debian's chromium and chromium-driver (apt-get install chromium
chromium-driver). Starts the cloud (tools/allinone/aio.py) with a fresh
state folder on the VirtualBox simulator with no latency, on ports 22000
above the usual ones (AIO_HORIZON_PORT_OFFSET), then in headless Chromium,
driven through chromedriver's WebDriver HTTP API (realvbox.Browser):

- logs in to Horizon as demo (the password from STATE/secrets.json) and
  checks the menu: Networks and Security Groups, no Routers or Floating
  IPs (no L3 service); Volumes and Snapshots where the cloud has volumes
  (the start ran as root: aio.json's volume_backend), else none; the
  overview's limits: Compute, Network, Volume where there are volumes,
  no Routers or Floating IPs;
- Project > Network > Networks lists "private" (demo's) and "public"
  (external); the Security Groups page lists "default" and says its rules
  filter nothing;
- launches an instance with the Angular launch wizard: tinyguest, m1.nano,
  the network "private" (the one allocated); "Create New Volume" for the
  image offered (not chosen; deleted with the instance) with volumes only;
- sees it Active in the instances table with an address of private's
  subnet, and without the actions that could only fail (Attach Interface,
  Associate Floating IP; Attach Volume without volumes);
- opens its page and its Interfaces tab: its Neutron port on "private",
  with that address;
- its Console tab: the noVNC page of Nova's proxy in an iframe, which says
  the simulator has no screen, and that the proxy took the token and found
  no VNC server behind it (no VM runs);
- with volumes: creates a 1 GiB volume in Project > Volumes > Volumes
  and sees it Available, without the actions VirtualBox or the file
  backend cannot do (Create Backup: no cinder-backup; Extend Volume is
  offered only while detached); attaches it to the instance (Manage
  Attachments), sees it In-use on the instance, and the table no longer
  offers Extend Volume; detaches it (Manage Attachments, Detach Volume)
  and sees it Available; deletes it and sees it gone (without volumes
  these steps are skipped);
- deletes the instance and sees it gone;
- checks Horizon's log holds no ERROR or WARNING line;

and stops the cloud. A screenshot of every step (and of a failure) goes to
$AIO_ARTIFACTS, else .aio/artifacts/horizon/, with Horizon's log. Prints
one line per step and "N passed, N failed, N skipped"; exits 1 when a step
failed. AIO_TEST_KEEP=1 keeps the state folder.
"""

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)
import lifecycle  # noqa: E402  (this folder, not a package)
import realvbox  # noqa: E402

OFFSET = int(os.environ.get('AIO_HORIZON_PORT_OFFSET', '22000'))
SERVER = 'hz-vm1'
IMAGE = 'tinyguest'
FLAVOR = 'm1.nano'
# networks.py's: the demo project's network and its subnet's prefix, and
# the admin's external one.
NETWORK = 'private'
NETWORK_PREFIX = '10.0.0.'
PUBLIC = 'public'
# What dashboard.py's Security Groups pages say.
NOT_ENFORCED = 'not enforced'
VOLUME = 'hz-vol1'
# What the simulator's console page says (aio.py's write_novnc_web).
NO_SCREEN = 'no screen behind this console'
# How WebDriver names an element in its JSON.
ELEMENT = 'element-6066-11e4-a52e-4f735466cecf'
StepFailed = lifecycle.StepFailed


def transfer_row(item, icon, click):
    """A script for the launch wizard's transfer tables: is there a
    visible row with a cell reading ``item`` and a button with the icon
    ``icon`` (fa-arrow-up: available, fa-arrow-down: allocated)? It clicks
    that button when ``click``."""
    return '''
    for (const row of document.querySelectorAll('.ng-wizard tr')) {
        if (row.offsetParent === null) { continue; }
        const cells = Array.from(row.querySelectorAll('td'))
            .map(td => td.textContent.trim());
        const icon = row.querySelector('button.%s, button .%s');
        if (cells.includes(%s) && icon) {
            if (%s) { icon.closest('button').click(); }
            return true;
        }
    }
    return false;''' % (icon, icon, js_string(item),
                        'true' if click else 'false')


# The launch wizard's steps whose forms are invalid, and why.
INVALID_STEPS = '''
    const scope = angular.element(document.querySelector('.ng-wizard'))
        .scope();
    return scope.steps.filter(s => scope.wizardForm[s.formName] &&
                              scope.wizardForm[s.formName].$invalid)
        .map(s => s.title + ': ' + JSON.stringify(Object.keys(
            scope.wizardForm[s.formName].$error)));'''


class Browser(realvbox.Browser):
    """realvbox's headless Chromium, with a window Horizon's pages fit in,
    and the few element commands a form needs."""

    def __init__(self):
        super().__init__()
        self.session_call('POST', '/window/rect',
                          {'width': 1280, 'height': 900})

    def find(self, css):
        """The element ``css`` selects, or None."""
        try:
            return self.session_call('POST', '/element', {
                'using': 'css selector', 'value': css})[ELEMENT]
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return None
            raise

    def wait(self, script, what, timeout=30):
        """The first true value ``script`` (a function body) returns."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.script(script)
            if value:
                return value
            if time.monotonic() > deadline:
                raise StepFailed('%s: not after %d s' % (what, timeout))
            time.sleep(0.3)

    def click(self, css, timeout=30):
        element = self.wait_element(css, timeout)
        self.session_call('POST', '/element/%s/click' % element, {})

    def type(self, css, text, timeout=30):
        element = self.wait_element(css, timeout)
        self.session_call('POST', '/element/%s/clear' % element, {})
        self.session_call('POST', '/element/%s/value' % element,
                          {'text': text})

    def wait_element(self, css, timeout=30):
        """The displayed element ``css`` selects, once there is one."""
        deadline = time.monotonic() + timeout
        while True:
            element = self.find(css)
            if element and self.session_call(
                    'GET', '/element/%s/displayed' % element):
                return element
            if time.monotonic() > deadline:
                raise StepFailed('no %s on %s after %d s' % (
                    css, self.url(), timeout))
            time.sleep(0.3)

    def url(self):
        return self.session_call('GET', '/url')

    def text(self):
        return self.script('return document.body.innerText;')

    def enter_frame(self, css):
        element = self.wait_element(css)
        self.session_call('POST', '/frame', {'id': {ELEMENT: element}})

    def leave_frame(self):
        self.session_call('POST', '/frame/parent', {})


def js_string(value):
    return json.dumps(value)


class HorizonRun(lifecycle.Run):

    def __init__(self):
        super().__init__(offset=OFFSET)
        self.artifacts = os.environ.get('AIO_ARTIFACTS') or os.path.join(
            REPO, '.aio', 'artifacts', 'horizon')
        os.makedirs(self.artifacts, exist_ok=True)
        for name in os.listdir(self.artifacts):
            if name.endswith('.png'):  # this run's screenshots only
                os.unlink(os.path.join(self.artifacts, name))
        self.browser = None
        self.shots = 0
        self.server_id = None

    def step(self, name, func):
        def guarded():
            try:
                func()
            except urllib.error.HTTPError as e:
                raise StepFailed('WebDriver: %s %s' % (
                    e.code, e.read().decode(errors='replace')[:500]))
            except OSError as e:
                raise StepFailed('%s: %s' % (type(e).__name__, e))
        passed = super().step(name, guarded)
        if not passed and self.browser:
            try:
                self.screenshot(name + '-FAILED')
            except (OSError, StepFailed):
                pass
        return passed

    def screenshot(self, name):
        self.shots += 1
        path = os.path.join(self.artifacts, '%02d-%s.png' % (
            self.shots, name.replace(' ', '-').replace('/', '-')))
        return self.browser.screenshot(path)

    def settings(self):
        with open(os.path.join(self.state, 'aio.json')) as f:
            return json.load(f)

    def base(self):
        return 'http://127.0.0.1:%d' % self.settings()['horizon']

    def open(self, path):
        self.browser.open(self.base() + path)

    def volumes_on(self):
        return bool(self.settings().get('volume_backend'))

    def volume_row(self):
        """The volumes table's row of our volume as {id, status, text,
        actions}, or null."""
        return self.browser.script('''
            for (const row of document.querySelectorAll(
                    '#volumes tbody tr[data-object-id]')) {
                const link = row.querySelector('td a');
                if (link && link.textContent.trim() === %s) {
                    const id = row.getAttribute('data-object-id');
                    const status = row.querySelector('td.status_up, '
                        + 'td.status_down, td.status_unknown');
                    return {id: id,
                            status: status ? status.textContent.trim() : '',
                            text: row.innerText.replace(/\\s+/g, ' '),
                            actions: Array.from(row.querySelectorAll(
                                '[id^="volumes__row_' + id + '__action_"]'))
                                .map(e => e.id.split('__action_')[1])};
                }
            }
            return null;''' % js_string(VOLUME))

    def wait_volume(self, status, timeout=120):
        """Reload the volumes page until our volume's status is
        ``status`` (None: until it is gone); its row."""
        deadline = time.monotonic() + timeout
        row = None
        while True:
            self.open('/project/volumes/')
            self.browser.wait('return document.readyState === "complete";',
                              'the volumes page')
            row = self.volume_row()
            if status is None and row is None:
                return None
            if row and row['status'] == status:
                return row
            if row and row['status'].lower().startswith('error'):
                raise StepFailed('the volume went to %s' % row['status'])
            if time.monotonic() > deadline:
                raise StepFailed('the volume is not %s after %d s: %s' % (
                    status or 'gone', timeout, row))
            time.sleep(2)

    def submit_modal(self):
        """Submit the open modal form and wait for the page it leads to."""
        self.browser.click('.modal-dialog .modal-footer '
                           'input[type="submit"]')
        self.browser.wait('return !document.querySelector(".modal-dialog")'
                          ' && document.readyState === "complete";',
                          'the form closing', timeout=60)

    def instance_row(self):
        """The instances table's row of our server as
        [id, name, status, the row's text], or null."""
        return self.browser.script('''
            for (const row of document.querySelectorAll(
                    '#instances tbody tr[data-object-id]')) {
                const link = row.querySelector('td a');
                if (link && link.textContent.trim() === %s) {
                    const status = row.querySelector('td.status_up, '
                        + 'td.status_down, td.status_unknown');
                    return [row.getAttribute('data-object-id'),
                            link.textContent.trim(),
                            status ? status.textContent.trim() : '',
                            row.innerText];
                }
            }
            return null;''' % js_string(SERVER))


def volume_steps(run, create, attach, detach, delete):
    """The volume's steps where the cloud has volumes, each after the one
    before it passed; skipped otherwise."""
    steps = (('create volume %s' % VOLUME, create),
             ('attach volume to %s' % SERVER, attach),
             ('detach volume', detach),
             ('delete volume', delete))
    why = None if run.volumes_on() else 'no volumes (not started as root)'
    for name, func in steps:
        if why:
            run.skip(name, why)
        elif not run.step(name, func):
            why = 'a volume step before it failed'


def main():
    run = HorizonRun()
    print('state: %s' % run.state, flush=True)
    print('screenshots: %s' % run.artifacts, flush=True)

    def start():
        started = time.monotonic()
        run.aio('start', '-d', timeout=1800)
        print('     the all-in-one started in %.0f s'
              % (time.monotonic() - started), flush=True)
        run.venv = run.settings()['venv']

    def login_page():
        with urllib.request.urlopen(run.base() + '/auth/login/',
                                    timeout=60) as response:
            if response.status != 200:
                raise StepFailed('login page: HTTP %d' % response.status)
        run.browser = Browser()
        run.open('/auth/login/')
        run.browser.wait_element('#loginBtn')
        run.screenshot('login-page')

    def log_in():
        with open(os.path.join(run.state, 'secrets.json')) as f:
            password = json.load(f)['demo']
        run.browser.type('#id_username', 'demo')
        run.browser.type('#id_password', password)
        run.screenshot('login-filled')
        run.browser.click('#loginBtn')
        run.browser.wait('return !location.pathname.startsWith("/auth/") '
                         '&& document.readyState === "complete";',
                         'the page after logging in', timeout=60)
        text = run.browser.text()
        run.screenshot('logged-in')
        if 'demo' not in text:
            raise StepFailed('logged in, but the page does not name demo: '
                             '%s' % text[:300])
        # Neutron's panels, but none of a missing service (routers and
        # floating IPs are the L3 service's; volumes Cinder's).
        panels = set(run.browser.script('''
            return Array.from(document.querySelectorAll('a[href]'))
                .map(a => a.getAttribute('href'))
                .filter(h => /^\\/project\\/[a-z_]+\\/$/.test(h));'''))
        volume_panels = {'/project/volumes/', '/project/snapshots/'}
        missing = {'/project/networks/', '/project/security_groups/'} - panels
        wrong = {'/project/routers/', '/project/floating_ips/'} & panels
        if run.volumes_on():
            missing |= volume_panels - panels
        else:
            wrong |= volume_panels & panels
        if missing or wrong:
            raise StepFailed('the menu lacks %s, offers %s' % (
                sorted(missing), sorted(wrong)))
        # The overview's Limit Summary: Compute and Network, of Network
        # what exists, Volume where there are volumes.
        titles = set(run.browser.script(
            'return Array.from(document.querySelectorAll('
            '"h4, .quota_title")).map(h => h.textContent.trim());'))
        wanted = {'Compute', 'Network', 'Networks', 'Ports'}
        unwanted = {'Routers', 'Floating IPs'}
        volume_limits = {'Volume', 'Volumes', 'Volume Snapshots',
                         'Volume Storage'}
        if run.volumes_on():
            wanted |= volume_limits
        else:
            unwanted |= volume_limits
        if not wanted <= titles or unwanted & titles:
            raise StepFailed('the overview\'s limits: %s' % sorted(titles))

    def networks_page():
        run.open('/project/networks/')
        rows = run.browser.wait('''
            const rows = Array.from(document.querySelectorAll(
                '#networks tbody tr[data-object-id]'));
            return rows.length && rows.map(r => Array.from(
                r.querySelectorAll('td')).map(
                    td => td.textContent.trim().replace(/\\s+/g, ' ')));
            ''', 'the networks table')
        run.screenshot('networks')
        names = {row[1]: row for row in rows}
        if set(names) != {NETWORK, PUBLIC} or \
                NETWORK_PREFIX + '0/24' not in names[NETWORK][2]:
            raise StepFailed('the networks page lists %s' % rows)
        print('     networks: %s' % ', '.join(
            ' '.join(row[1:3]) for row in rows), flush=True)

    def security_groups_page():
        run.open('/project/security_groups/')
        run.browser.wait_element('#security_groups tbody '
                                 'tr[data-object-id]')
        text = run.browser.text()
        run.screenshot('security-groups')
        if 'default' not in text or NOT_ENFORCED not in text:
            raise StepFailed('the security groups page says: %s'
                             % text[:500])

    def launch():
        run.open('/project/instances/')
        run.browser.click('#instances__action_launch-ng')
        browser = run.browser
        browser.wait_element('.ng-wizard #name', timeout=60)
        # Until the wizard has Nova's limits, every flavor is over quota,
        # and stays so for the wizard when picked that early.
        browser.wait('return angular.element(document.querySelector('
                     '".ng-wizard")).injector().get("launchInstanceModel")'
                     '.initialized;', 'the launch wizard\'s data', timeout=60)
        browser.type('.ng-wizard #name', SERVER)
        run.screenshot('launch-details')
        for step, item in (('Source', IMAGE), ('Flavor', FLAVOR),
                           ('Networks', NETWORK)):
            browser.script('''
                for (const a of document.querySelectorAll(
                        '.ng-wizard .wizard-nav li.nav-item a')) {
                    if (a.textContent.trim().startsWith(%s)) {
                        a.click(); return true;
                    }
                }
                return false;''' % js_string(step))
            # The item's row in the table of available ones, and its
            # button that moves it up to the allocated one. The wizard
            # allocates a project's only network itself.
            browser.wait('return (() => {%s})() || (() => {%s})();' % (
                transfer_row(item, 'fa-arrow-down', False),
                transfer_row(item, 'fa-arrow-up', True)),
                'the %s %s in the launch wizard' % (step, item),
                timeout=60)
            browser.wait(transfer_row(item, 'fa-arrow-down', False),
                         '%s allocated' % item)
            run.screenshot('launch-%s' % step.lower())
        # The model's networks, which Nova gets as the server's NICs.
        chosen = browser.script(
            'return angular.element(document.querySelector(".ng-wizard"))'
            '.injector().get("launchInstanceModel").newInstanceSpec'
            '.networks.map(n => n.name);')
        if chosen != [NETWORK]:
            raise StepFailed('the wizard launches on %s' % chosen)
        # "Create New Volume" for the image: offered with volumes (not
        # chosen: the image boots onto the instance's disk; a volume made
        # so would go with its instance), else not.
        new_volume = browser.script(
            'const m = angular.element(document.querySelector('
            '".ng-wizard")).injector().get("launchInstanceModel"); '
            'return [m.allowCreateVolumeFromImage && '
            '!m.newInstanceSpec.hide_create_volume, '
            'm.newInstanceSpec.vol_create, '
            'm.newInstanceSpec.vol_delete_on_instance_delete];')
        if new_volume[:2] != [run.volumes_on(), False] or \
                (run.volumes_on() and new_volume[2] is not True):
            raise StepFailed('the wizard\'s Create New Volume (offered, '
                             'chosen, deleted with the instance): %s'
                             % new_volume)
        try:
            browser.wait('const b = document.querySelector('
                         '".ng-wizard button.finish"); '
                         'return b && !b.disabled;',
                         'the wizard\'s Launch Instance button enabled')
        except StepFailed as e:
            raise StepFailed('%s; invalid: %s' % (e, browser.script(
                INVALID_STEPS)))
        browser.click('.ng-wizard button.finish')
        browser.wait('return !document.querySelector(".ng-wizard");',
                     'the launch wizard closing', timeout=60)
        run.screenshot('launched')

    def active():
        deadline = time.monotonic() + 180
        row = None
        while time.monotonic() < deadline:
            run.open('/project/instances/')
            run.browser.wait('return document.readyState === "complete";',
                             'the instances page')
            row = run.instance_row()
            if row:
                run.server_id = row[0]
                if row[2] == 'Active':
                    break
                if row[2] == 'Error':
                    raise StepFailed('the instance went to Error')
            time.sleep(2)
        else:
            raise StepFailed('the instance is not Active after 180 s: %s'
                             % row)
        run.screenshot('active')
        if NETWORK_PREFIX not in row[3]:
            raise StepFailed('no address on %s in the row: %r' % (
                NETWORK, row[3]))
        # The row's actions menu holds every action allowed on it.
        offered = run.browser.script('''
            return Array.from(document.querySelectorAll(
                '[id^="instances__row_%s__action_"]'))
                .map(e => e.id.split('__action_')[1]);''' % run.server_id)
        print('     actions: %s' % ', '.join(offered), flush=True)
        wrong = {'attach_interface', 'associate'}
        if not run.volumes_on():
            wrong.add('attach_volume')
        elif 'attach_volume' not in offered:
            raise StepFailed('no Attach Volume action')
        if wrong & set(offered):
            raise StepFailed('actions that can only fail: %s'
                             % sorted(wrong & set(offered)))

    def instance_page(tab):
        """The instance's page, as a user goes there (its name in the
        table), and its tab ``tab`` (loaded when clicked)."""
        if not run.server_id:
            raise StepFailed('no instance')
        run.open('/project/instances/')
        run.browser.click('#instances tr[data-object-id="%s"] td a[href$='
                          '"/%s/"]' % (run.server_id, run.server_id))
        run.browser.wait('return location.pathname.endsWith(%s);'
                         % js_string('/%s/' % run.server_id),
                         'the instance\'s page')
        run.browser.click('a[data-target="#instance_details__%s"]' % tab)

    def interfaces():
        instance_page('interfaces')
        rows = run.browser.wait(
            '''const table = document.querySelector('#interfaces');
            return table && Array.from(table.querySelectorAll(
                'tbody tr[data-object-id]')).map(
                    r => r.innerText.trim().replace(/\\s+/g, ' '));''',
            'the Interfaces tab\'s table', timeout=60)
        run.screenshot('interfaces')
        print('     interfaces: %s' % rows, flush=True)
        if len(rows) != 1 or NETWORK not in rows[0] or \
                NETWORK_PREFIX not in rows[0]:
            raise StepFailed('the Interfaces tab lists %s, not one port '
                             'on %s' % (rows, NETWORK))

    def console():
        instance_page('console')
        proxy = 'http://127.0.0.1:%d/' % run.settings()['novncproxy']
        src = run.browser.wait('''
            const frame = document.querySelector(
                '#instance_details__console iframe');
            return frame && frame.src;''', 'the console iframe', timeout=60)
        # Horizon passes the proxy's token in noVNC's path parameter.
        if not src.startswith(proxy) or \
                'token=' not in urllib.parse.unquote(src):
            raise StepFailed('the console iframe shows %s, not Nova\'s '
                             'noVNC proxy %s' % (src, proxy))
        run.browser.enter_frame('#instance_details__console iframe')
        try:
            run.browser.wait('return document.body && document.body'
                             '.innerText.includes(%s);' % js_string(NO_SCREEN),
                             'the console page\'s notice', timeout=30)
            # Nova's proxy took the token and asked the compute for the
            # VM's VNC server, which on the simulator does not answer: the
            # page says why (a bad token would end without a reason).
            state = run.browser.wait(
                'const s = document.body.dataset.state; return s !== '
                '"loading" && s !== "connecting" && [s, document'
                '.getElementById("status").textContent];',
                'the console connecting', timeout=30)
        finally:
            run.browser.leave_frame()
        print('     console page: %s' % state[1], flush=True)
        if state[0] != 'failed' or 'VNC server' not in state[1]:
            raise StepFailed('the console page says %r, not that the '
                             'VM\'s VNC server does not answer' % state[1])
        run.screenshot('console')

    def delete():
        if not run.server_id:
            raise StepFailed('no instance')
        run.open('/project/instances/')
        browser = run.browser
        # The checkbox is drawn by its label (the input itself is hidden).
        browser.click('#instances tr[data-object-id="%s"] '
                      '.multi_select_column label' % run.server_id)
        browser.wait('return !document.querySelector('
                     '"#instances__action_delete").classList'
                     '.contains("disabled");', 'Delete Instances enabled')
        browser.click('#instances__action_delete')
        browser.wait_element('.modal-footer .btn-danger')
        run.screenshot('delete-confirm')
        browser.click('.modal-footer .btn-danger')
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            time.sleep(2)
            run.open('/project/instances/')
            browser.wait('return document.readyState === "complete";',
                         'the instances page')
            if not run.instance_row():
                run.screenshot('deleted')
                return
        raise StepFailed('the instance is still listed after 120 s')

    def volume_create():
        run.open('/project/volumes/')
        browser = run.browser
        browser.click('#volumes__action_create')
        browser.type('.modal-dialog #id_name', VOLUME)
        browser.type('.modal-dialog #id_size', '1')
        run.screenshot('volume-create')
        run.submit_modal()
        row = run.wait_volume('Available')
        run.screenshot('volume-available')
        print('     volume: %s; actions: %s' % (
            row['text'], ', '.join(row['actions'])), flush=True)
        if 'extend' not in row['actions'] or \
                'backups' in row['actions'] or \
                'attachments' not in row['actions']:
            raise StepFailed('a detached volume\'s actions: %s'
                             % row['actions'])

    def manage_attachments(row):
        # The action is in the row's menu: opened, then the action's link,
        # which opens the form as a modal.
        run.browser.click('#volumes tr[data-object-id="%s"] '
                          '.dropdown-toggle' % row['id'])
        run.browser.click('#volumes__row_%s__action_attachments'
                          % row['id'])
        run.browser.wait_element('.modal-dialog', timeout=60)

    def volume_attach():
        if not run.server_id:
            raise StepFailed('no instance')
        row = run.wait_volume('Available', timeout=10)
        manage_attachments(row)
        browser = run.browser
        # Horizon's themable select: its menu, then the instance's item
        # (the <select> behind it is hidden).
        browser.click('.modal-dialog .themable-select .dropdown-toggle')
        browser.click('.modal-dialog .themable-select '
                      'a[data-select-value="%s"]' % run.server_id)
        chosen = browser.script(
            'return document.querySelector("#id_instance").value;')
        if chosen != run.server_id:
            raise StepFailed('the attach form chose %r, not the instance '
                             '%s' % (chosen, run.server_id))
        run.screenshot('volume-attach')
        run.submit_modal()
        row = run.wait_volume('In-use')
        run.screenshot('volume-in-use')
        print('     volume: %s; actions: %s' % (
            row['text'], ', '.join(row['actions'])), flush=True)
        if SERVER not in row['text']:
            raise StepFailed('the in-use volume\'s row does not name %s: %s'
                             % (SERVER, row['text']))
        if 'extend' in row['actions']:
            raise StepFailed('Extend Volume offered while attached')

    def volume_detach():
        row = run.wait_volume('In-use', timeout=10)
        manage_attachments(row)
        browser = run.browser
        button = browser.wait('''
            const b = document.querySelector(
                '.modal-dialog #attachments tbody '
                + 'button[id*="__action_detach"]');
            return b && b.id;''', 'the attachment\'s Detach Volume',
                              timeout=60)
        run.screenshot('volume-attachments')
        browser.click('#' + button)
        # Confirmed in a second dialog.
        browser.wait_element('.modal-footer .btn-danger')
        browser.click('.modal-footer .btn-danger')
        row = run.wait_volume('Available')
        run.screenshot('volume-detached')
        if SERVER in row['text']:
            raise StepFailed('the detached volume\'s row still names %s'
                             % SERVER)

    def volume_delete():
        row = run.wait_volume('Available', timeout=10)
        browser = run.browser
        browser.click('#volumes tr[data-object-id="%s"] '
                      '.multi_select_column label' % row['id'])
        browser.wait('return !document.querySelector('
                     '"#volumes__action_delete").classList'
                     '.contains("disabled");', 'Delete Volumes enabled')
        browser.click('#volumes__action_delete')
        browser.wait_element('.modal-footer .btn-danger')
        run.screenshot('volume-delete-confirm')
        browser.click('.modal-footer .btn-danger')
        run.wait_volume(None)
        run.screenshot('volume-deleted')

    def clean_log():
        path = os.path.join(run.state, 'logs', 'horizon.log')
        with open(path) as f:
            bad = [line for line in f
                   if ' ERROR ' in line or ' WARNING ' in line]
        if bad:
            raise StepFailed('%d ERROR or WARNING lines in %s, the first: '
                             '%s' % (len(bad), path, bad[0].strip()[:300]))

    try:
        if run.step('start', start):
            if run.step('Horizon login page', login_page):
                if run.step('log in as demo', log_in):
                    run.step('networks page', networks_page)
                    run.step('security groups page', security_groups_page)
                    if run.step('launch instance on %s (wizard)' % NETWORK,
                                launch):
                        run.step('instance ACTIVE', active)
                        run.step('interfaces tab', interfaces)
                        run.step('console tab', console)
                        volume_steps(run, volume_create, volume_attach,
                                     volume_detach, volume_delete)
                        run.step('delete instance', delete)
            run.step('no ERROR or WARNING in horizon.log', clean_log)
        else:
            for name in ('Horizon login page', 'log in as demo',
                         'launch instance on %s (wizard)' % NETWORK):
                run.skip(name, 'the all-in-one did not start')
    finally:
        if run.browser:
            run.browser.close()
        for name in ('horizon.log', 'horizon.out'):
            src = os.path.join(run.state, 'logs', name)
            if os.path.exists(src):
                shutil.copy(src, os.path.join(run.artifacts, name))
        run.step('stop', lambda: run.aio('stop', timeout=180))
        if os.environ.get('AIO_TEST_KEEP'):
            print('state kept in %s' % run.state)
        else:
            shutil.rmtree(run.state, ignore_errors=True)
    failed = run.results.count('FAIL')
    print('%d passed, %d failed, %d skipped' % (
        run.results.count('PASS'), failed, run.results.count('SKIP')),
        flush=True)
    return 1 if failed else 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except subprocess.TimeoutExpired as e:
        print('timed out: %s' % e)
        sys.exit(1)
