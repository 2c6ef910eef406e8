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

"""Tempest, OpenStack's own test suite, as the all-in-one cloud's judge.

``aio.py tempest [REGEX] [--ci]`` calls ``run(settings, regex, ci)`` with
the running cloud's settings (STATE/aio.json). It

  * installs Tempest (TEMPEST, from PyPI) into the all-in-one's venv when
    it is not there;
  * makes STATE/tempest a Tempest workspace (``tempest init``, once; the
    workspace registry is STATE/tempest-workspace.yaml, not ~/.tempest);
  * writes STATE/tempest/etc/tempest.conf (mode 0600: it holds the admin's
    password) for this cloud: Keystone and the admin's credentials
    (STATE/secrets.json), dynamic test projects and users, the image
    ``tinyguest`` and the flavors m1.nano/m1.tiny by their IDs, the
    services there are (Nova, Glance, Neutron; no Cinder, Swift yet),
    Neutron's extensions and feature flags that say what the VirtualBox
    driver does;
  * makes the shared network SHARED_NETWORK (once) that test servers boot
    on: Tempest's isolated networks always come with a router, and this
    Neutron has none (see tempest_conf);
  * runs ``tempest run``: REGEX, or else the CI subset (tempest-subset.txt),
    never the tests tempest-excluded.txt excludes; two workers, one per
    core of a small machine; and prints ``N passed, N failed, N skipped``
    last.

tempest-excluded.txt is the one place that says what is not run and why:
its [excluded] section is handed to Tempest as its exclude list, and its
[skipped] section lists the tests Tempest itself skips (a feature flag
off, a service missing) with the reason. With ``ci`` a skip that file
does not list fails the run, and so does a run of fewer than MIN_RUN
tests: nothing is left out silently.

Only the standard library: aio.py imports this before any venv exists.
"""

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPEST = 'tempest==47.0.0'
SUBSET_FILE = os.path.join(HERE, 'tempest-subset.txt')
EXCLUDED_FILE = os.path.join(HERE, 'tempest-excluded.txt')
# Tests that must run (pass or fail, not skipped) in a CI run.
MIN_RUN = 100
# Workers: two cores in CI; the cloud's own processes share them. A third
# worker made the whole subset slower (each test took half as long again).
CONCURRENCY = 2
# Seconds a test may take (OS_TEST_TIMEOUT), waits for servers included.
TEST_TIMEOUT = 600
# What the cloud has: the first image (aio.py's FIRST_IMAGE) and flavors.
IMAGE = 'tinyguest'
FLAVOR = 'm1.nano'
FLAVOR_ALT = 'm1.tiny'
KEYSTONE_PORT = 5000
# The network every test project's servers boot on (Tempest's
# fixed_network_name): shared, a VXLAN network as the demo's "private",
# without a gateway (no router to be one). The pool leaves the low
# addresses out, as networks.py's: the agent gives VirtualBox's DHCP
# server the lowest address no port gets.
SHARED_NETWORK = 'tempest-shared'
SHARED_SUBNET = {'cidr': '10.254.0.0/20', 'gateway_ip': None,
                 'allocation_pools': [{'start': '10.254.0.10',
                                       'end': '10.254.15.250'}]}
# networks.py's external network (Tempest's public_network_id).
PUBLIC_NETWORK = 'public'
REGION = 'RegionOne'
DOMAIN = 'Default'


def say(text):
    print('tempest: %s' % text, flush=True)


class Failed(Exception):
    pass


# --- The lists ----------------------------------------------------------

def read_list(text):
    """[(regex, reason)] of a list file's text: one regex a line, its
    reason after '#'; blank lines and lines that start with '#' are
    comments. The same format stestr reads for --exclude-list."""
    entries = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        regex, _hash, reason = line.partition('#')
        entries.append((regex.strip(), reason.strip()))
    return entries


def read_excluded(text):
    """{'excluded': [(regex, reason)], 'skipped': [(regex, reason)]} of
    tempest-excluded.txt's text: entries under a line ``[excluded]`` are
    not run, those under ``[skipped]`` are Tempest's own skips. Every
    entry needs a reason."""
    sections = {'excluded': [], 'skipped': []}
    current = None
    lines = []

    def flush():
        if current is not None:
            sections[current].extend(read_list('\n'.join(lines)))

    for line in text.splitlines():
        match = re.match(r'^\[(\w+)\]\s*$', line)
        if match:
            flush()
            current, lines = match.group(1), []
            if current not in sections:
                raise Failed('tempest-excluded.txt: unknown section [%s]'
                             % current)
            continue
        if current is None and line.strip() and \
                not line.lstrip().startswith('#'):
            raise Failed('tempest-excluded.txt: %r is in no section'
                         % line)
        lines.append(line)
    flush()
    for name, entries in sections.items():
        for regex, reason in entries:
            if not reason:
                raise Failed('tempest-excluded.txt: [%s] %s has no reason'
                             % (name, regex))
            re.compile(regex)
    return sections


def stestr_list(entries):
    """An stestr include or exclude list file's text for ``entries``."""
    return ''.join('%s  # %s\n' % (regex, reason) if reason else regex + '\n'
                   for regex, reason in entries)


def listed(test_id, entries):
    """The reason of the first entry whose regex finds ``test_id``."""
    for regex, reason in entries:
        if re.search(regex, test_id):
            return reason or '(no reason)'
    return None


# --- Results ------------------------------------------------------------

# subunit-trace's line for each test: "{0} ID [1.23s] ... ok", "... FAILED",
# "... SKIPPED: reason". ID can be "setUpClass (module.Class)".
RESULT_LINE = re.compile(
    r'^\{\d+\} (?P<id>.+?)(?: \[[\d.]+s\])? \.\.\. '
    r'(?P<status>ok|FAILED|SKIPPED|inprogress)(?:: (?P<reason>.*))?\s*$')


def parse_results(lines):
    """{test id: (status, reason)} of tempest run's output lines; status
    is 'passed', 'failed' or 'skipped'."""
    results = {}
    for line in lines:
        match = RESULT_LINE.match(line.rstrip('\n'))
        if not match or match.group('status') == 'inprogress':
            continue
        status = {'ok': 'passed', 'FAILED': 'failed',
                  'SKIPPED': 'skipped'}[match.group('status')]
        results[match.group('id')] = (status, match.group('reason') or '')
    return results


def counts(results):
    return {status: sum(1 for s, _r in results.values() if s == status)
            for status in ('passed', 'failed', 'skipped')}


def short_id(test_id):
    """A test's ID without Tempest's ``[id-...,tags]`` suffix."""
    return re.sub(r'\[[^\]]*\]$', '', test_id)


def unlisted_skips(results, skipped_entries):
    """[(test id, reason)] of the skips tempest-excluded.txt does not
    list."""
    return [(test_id, reason)
            for test_id, (status, reason) in sorted(results.items())
            if status == 'skipped' and
            listed(test_id, skipped_entries) is None]


# --- The cloud ----------------------------------------------------------

def keystone_url(settings):
    """Keystone's v3 URL: settings['keystone'] is its port (or a URL)."""
    keystone = settings.get('keystone')
    if isinstance(keystone, str) and '://' in keystone:
        url = keystone.rstrip('/')
    else:
        port = keystone or KEYSTONE_PORT + (
            settings['nova'] - 8774 if 'nova' in settings else 0)
        url = 'http://127.0.0.1:%d' % int(port)
    return url if url.endswith('/v3') else url + '/v3'


def read_secrets(state):
    path = os.path.join(state, 'secrets.json')
    try:
        with open(path) as f:
            secrets = json.load(f)
    except FileNotFoundError:
        raise Failed('%s is missing: this cloud has no Keystone (start it '
                     'with an aio.py that has one)' % path)
    if not secrets.get('admin'):
        raise Failed('%s has no admin password' % path)
    return secrets


def http_json(url, body=None, token=None, headers=None, timeout=60):
    """(decoded JSON, response headers) of a GET, or a POST of ``body``."""
    request = urllib.request.Request(url, method='POST' if body else 'GET')
    request.add_header('Accept', 'application/json')
    if body is not None:
        request.data = json.dumps(body).encode()
        request.add_header('Content-Type', 'application/json')
    if token:
        request.add_header('X-Auth-Token', token)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response), response.headers
    except urllib.error.HTTPError as e:
        if e.code == 300:
            return json.load(e), e.headers  # a version list (Cinder's root)
        raise Failed('%s %s: HTTP %d %s' % (request.get_method(), url,
                                            e.code, e.read()[:300]))
    except OSError as e:
        raise Failed('%s %s: %s' % (request.get_method(), url, e))


def admin_token(identity, password):
    """(token, catalog) of the admin, scoped to the admin project."""
    domain = {'name': DOMAIN}
    body = {'auth': {
        'identity': {'methods': ['password'], 'password': {'user': {
            'name': 'admin', 'domain': domain, 'password': password}}},
        'scope': {'project': {'name': 'admin', 'domain': domain}}}}
    data, headers = http_json(identity + '/auth/tokens', body)
    return headers['X-Subject-Token'], data['token'].get('catalog', [])


def endpoint(catalog, service_type):
    """The public URL of ``service_type`` in RegionOne, or None."""
    for service in catalog:
        if service.get('type') != service_type:
            continue
        for point in service.get('endpoints', []):
            if point.get('interface') == 'public' and \
                    point.get('region_id', point.get('region')) in (
                        REGION, None):
                return point['url'].rstrip('/')
    return None


def discover(settings, password):
    """What tempest.conf needs to know of the running cloud."""
    identity = keystone_url(settings)
    token, catalog = admin_token(identity, password)
    services = {t for t in ('compute', 'image', 'network', 'volumev3',
                            'block-storage', 'object-store', 'placement')
                if endpoint(catalog, t)}
    compute = endpoint(catalog, 'compute')
    image = endpoint(catalog, 'image')
    network = endpoint(catalog, 'network')
    if not compute or not image or not network:
        raise Failed('the catalog has no compute, image or network '
                     'endpoint: %s' % sorted(services))
    images = http_json('%s/v2/images?name=%s' % (
        image, urllib.parse.quote(IMAGE)), token=token)[0]['images']
    images = [i for i in images if i.get('status') == 'active']
    if not images:
        raise Failed('no active image %r in Glance: aio.py start uploads '
                     'it' % IMAGE)
    flavors = {f['name']: f['id'] for f in http_json(
        compute + '/flavors', token=token)[0]['flavors']}
    for name in (FLAVOR, FLAVOR_ALT):
        if name not in flavors:
            raise Failed('no flavor %s (aio.py start creates it)' % name)
    extensions = sorted(e['alias'] for e in http_json(
        network + '/v2.0/extensions', token=token)[0]['extensions'])
    ensure_shared_network(network, token)
    public = http_json('%s/v2.0/networks?router:external=true&name=%s' % (
        network, PUBLIC_NETWORK), token=token)[0]['networks']
    volume = (endpoint(catalog, 'block-storage')
              or endpoint(catalog, 'volumev3'))
    return {'identity': identity, 'services': services,
            'image_ref': images[0]['id'],
            'flavor_ref': flavors[FLAVOR], 'flavor_ref_alt':
            flavors[FLAVOR_ALT],
            'max_microversion': max_microversion(compute, 'v2.1', token),
            'volume_max_microversion': volume and max_microversion(
                volume, 'v3.0', token),
            'network_extensions': extensions,
            'public_network_id': public[0]['id'] if public else ''}


def max_microversion(url, version_id, token):
    """The newest microversion of API ``version_id`` that the service at
    ``url`` (an endpoint of the catalog) offers, from its version list at
    the endpoint's root; 'latest' if it names none."""
    root = url.split('/v', 1)[0] + '/'
    versions = http_json(root, token=token)[0]['versions']
    return max((v.get('version') or '' for v in versions
                if v.get('id') == version_id), default='') or 'latest'


def ensure_shared_network(network, token):
    """SHARED_NETWORK and its subnet, made by the admin when missing."""
    url = network + '/v2.0/'
    found = http_json(url + 'networks?name=' + SHARED_NETWORK,
                      token=token)[0]['networks']
    if found:
        net = found[0]
    else:
        net = http_json(url + 'networks', {'network': {
            'name': SHARED_NETWORK, 'shared': True}}, token=token)[0][
                'network']
        say('made the shared network %s for test servers' % SHARED_NETWORK)
    if not net['subnets']:
        http_json(url + 'subnets', {'subnet': dict(
            SHARED_SUBNET, name=SHARED_NETWORK + '-subnet',
            network_id=net['id'], ip_version=4, enable_dhcp=True)},
            token=token)


# --- tempest.conf -------------------------------------------------------

def flag(value):
    return 'true' if value else 'false'


def tempest_conf(settings, password, cloud, workspace):
    """tempest.conf's sections ({section: {option: value}}) for the cloud
    ``cloud`` (what discover() found)."""
    services = cloud['services']
    simulated = bool(settings.get('simulated'))
    return {
        'DEFAULT': {
            'log_dir': os.path.join(workspace, 'logs'),
            'log_file': 'tempest.log',
        },
        'oslo_concurrency': {
            'lock_path': os.path.join(workspace, 'tempest_lock')},
        'auth': {
            # A project and users of their own for each test class,
            # deleted after it.
            'use_dynamic_credentials': 'true',
            # Tempest 47 gives a test project a network of its own only
            # with a router (every class that asks for a network asks
            # for one), and this Neutron has no router API: test servers
            # boot on SHARED_NETWORK instead ([compute]
            # fixed_network_name); tempest.api.network makes its own.
            'create_isolated_networks': 'false',
            'admin_username': 'admin',
            'admin_password': password,
            'admin_project_name': 'admin',
            'admin_domain_name': DOMAIN,
            'default_credentials_domain_name': DOMAIN,
        },
        'identity': {
            'uri_v3': cloud['identity'],
            'auth_version': 'v3',
            'region': REGION,
            'v3_endpoint_type': 'public',
        },
        'identity-feature-enabled': {
            'api_v2': 'false',
            'api_v3': 'true',
        },
        'compute': {
            'image_ref': cloud['image_ref'],
            # One small image is enough: DevStack's cirros is both too.
            'image_ref_alt': cloud['image_ref'],
            'flavor_ref': cloud['flavor_ref'],
            'flavor_ref_alt': cloud['flavor_ref_alt'],
            'region': REGION,
            'endpoint_type': 'publicURL',
            'min_compute_nodes': '1',
            'fixed_network_name': SHARED_NETWORK,
            'max_microversion': cloud['max_microversion'],
            # The simulator builds a server in about a second.
            'build_timeout': '120' if simulated else '300',
        },
        'compute-feature-enabled': compute_features(settings),
        'image': {
            'region': REGION,
            'endpoint_type': 'publicURL',
        },
        'image-feature-enabled': {
            'api_v2': 'true',
        },
        'placement': {'region': REGION, 'endpoint_type': 'public'},
        'network': {
            'catalog_type': 'network',
            'public_network_id': cloud['public_network_id'],
            'region': REGION,
            'endpoint_type': 'publicURL',
        },
        'network-feature-enabled': {
            # What Neutron offers, so that tests of routers, floating IPs
            # (no L3 service plugin), DHCP agents and the like skip,
            # saying why.
            'api_extensions': ','.join(cloud['network_extensions']),
            'floating_ips': flag('router' in cloud['network_extensions']),
            # VirtualBox's DHCP servers hand out IPv4 addresses only.
            'ipv6': 'false',
        },
        'volume': dict({
            'region': REGION,
            'endpoint_type': 'publicURL',
            'storage_protocol': 'iSCSI',
            # A test volume is a sparse file: quick to make, however big.
            'build_timeout': '120' if simulated else '300',
        }, **({
            # Up to what this Cinder offers, so that tests of newer volume
            # APIs (rebuild of a volume-backed server: 3.68) run.
            'max_microversion': cloud['volume_max_microversion']}
            if cloud.get('volume_max_microversion') else {})),
        'volume-feature-enabled': volume_features(),
        'validation': {
            # Tempest's validation logs into the guest over SSH: the
            # simulator runs no guest, the tiny guest has no sshd, and
            # there are no floating IPs to reach one.
            'run_validation': 'false',
        },
        'service_available': {
            'nova': 'true',
            'glance': 'true',
            'neutron': 'true',
            'cinder': flag({'volumev3', 'block-storage'} & services),
            'swift': flag('object-store' in services),
            # Horizon's Tempest tests are not what this run is for; the
            # all-in-one has its own browser test for it.
            'horizon': 'false',
        },
        # Nova 34 and oslo.policy 6 always enforce scope and the new
        # default roles.
        'enforce_scope': {'nova': 'true', 'glance': 'true',
                          'placement': 'true'},
    }


def compute_features(settings):
    """[compute-feature-enabled]: what the VirtualBox driver does (the
    README's feature table), as the all-in-one configures it."""
    simulated = bool(settings.get('simulated'))
    return {
        'disk_config': 'true',
        'console_output': 'true',
        # Set admin password: the driver does not (README).
        'change_password': 'false',
        'pause': 'true',
        'suspend': 'true',
        'shelve': 'true',
        'shelve_migrate': 'false',
        # Resize and cold migration to the same host: the all-in-one sets
        # allow_resize_to_same_host; one host, so no migration elsewhere.
        'resize': 'true',
        'cold_migration': 'true',
        'live_migration': 'false',
        'live_migrate_back_and_forth': 'false',
        'block_migration_for_live_migration': 'false',
        'volume_backed_live_migration': 'false',
        'can_migrate_between_any_hosts': 'false',
        # No metadata service: this Neutron has no metadata agent.
        'metadata_service': 'false',
        # VRDE's VNC through noVNC; the simulator has no screens, so no
        # RFB server answers there.
        'vnc_console': flag(settings.get('vnc') and not simulated),
        'spice_console': 'false',
        'serial_console': 'false',
        'rescue': 'true',
        # Stable device rescue (hw_rescue_device/bus): not in the driver.
        'stable_rescue': 'false',
        'enable_instance_password': 'true',
        # VirtualBox cannot add a NIC to a running VM.
        'interface_attach': 'false',
        'snapshot': 'true',
        # File injection: not in the driver (README; the config drive
        # carries files instead).
        'personality': 'false',
        'config_drive': 'true',
        'attach_encrypted_volume': 'false',
        'swap_volume': 'false',
        'volume_multiattach': 'false',
        'ide_bus': 'true',
        'unified_limits': 'false',
        'vtpm_live_migration': 'false',
    }


def volume_features():
    """[volume-feature-enabled]: what the all-in-one's Cinder does with
    this repo's file-backed driver (cinder_virtualbox, README)."""
    return {
        'api_v3': 'true',
        'snapshot': 'true',
        'clone': 'true',
        'extend_attached_volume': 'false',
        'manage_volume': 'false',
        'manage_snapshot': 'false',
        'multi_backend': 'false',
        # No cinder-backup service.
        'backup': 'false',
        'volume_revert': 'false',
    }


def render_conf(sections):
    lines = ['# Written by tools/allinone/tempestrun.py for this cloud at '
             'every "aio.py tempest".']
    for section, options in sections.items():
        lines.append('[%s]' % section)
        lines.extend('%s = %s' % item for item in options.items())
        lines.append('')
    return '\n'.join(lines)


def write_private(path, text):
    """Write ``text`` to ``path``, readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write(text)


# --- Installation and workspace -------------------------------------------

def installed_version(python):
    result = subprocess.run(
        [python, '-c', 'import importlib.metadata as m; '
         'print(m.version("tempest"))'], capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else None


def ensure_tempest(venv, log_dir):
    python = os.path.join(venv, 'bin', 'python')
    wanted = TEMPEST.partition('==')[2]
    have = installed_version(python)
    if have == wanted:
        return
    say('installing %s into %s (once; about a minute)' % (TEMPEST, venv))
    started = time.monotonic()
    log = os.path.join(log_dir, 'tempest-pip.log')
    with open(log, 'w') as out:
        # Only what Tempest lacks: the cloud's own packages stay as they
        # are (pip's only-if-needed upgrades).
        code = subprocess.run(
            [python, '-m', 'pip', 'install', '-q',
             '--disable-pip-version-check', TEMPEST],
            stdout=out, stderr=subprocess.STDOUT).returncode
    if code:
        with open(log) as f:
            sys.stdout.write(f.read()[-3000:])
        raise Failed('pip install %s failed (all of it in %s)'
                     % (TEMPEST, log))
    say('installed in %.0f s' % (time.monotonic() - started))


def ensure_workspace(venv, state):
    """STATE/tempest as a Tempest workspace; returns its path."""
    workspace = os.path.join(state, 'tempest')
    if os.path.exists(os.path.join(workspace, '.stestr.conf')):
        return workspace
    if os.path.isdir(workspace) and os.listdir(workspace):
        raise Failed('%s exists but is no Tempest workspace (no '
                     '.stestr.conf): remove it' % workspace)
    result = subprocess.run(
        [os.path.join(venv, 'bin', 'tempest'), 'init', '--name',
         'allinone', '--workspace-path',
         os.path.join(state, 'tempest-workspace.yaml'), workspace],
        capture_output=True, text=True, cwd=state)
    if result.returncode:
        raise Failed('tempest init %s failed: %s' % (
            workspace, (result.stderr or result.stdout)[-2000:]))
    return workspace


# --- Running --------------------------------------------------------------

def tempest_command(venv, workspace, regex, lists):
    command = [os.path.join(venv, 'bin', 'tempest'), 'run',
               '--workspace-path', os.path.join(os.path.dirname(workspace),
                                                'tempest-workspace.yaml'),
               '--config-file', os.path.join(workspace, 'etc',
                                             'tempest.conf'),
               '--concurrency', str(CONCURRENCY),
               '--exclude-list', lists['exclude']]
    if regex:
        command += ['--regex', regex]
    else:
        command += ['--include-list', lists['include']]
    return command


def stream(command, cwd, env, log_path):
    """Run ``command``, echoing and logging its output; (code, lines)."""
    lines = []
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(command, cwd=cwd, env=env,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                stdin=subprocess.DEVNULL)
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            log.write(line)
            lines.append(line)
        return proc.wait(), lines


def stale_skips(results, skipped_entries):
    """[(regex, reason)] of the listed skips that no skipped test of
    ``results`` matches: in a run of the whole subset, the list says more
    than is true."""
    skipped = [test_id for test_id, (status, _r) in results.items()
               if status == 'skipped']
    return [(regex, reason) for regex, reason in skipped_entries
            if not any(re.search(regex, test_id) for test_id in skipped)]


def judge(results, code, excluded, ci):
    """The run's exit code, saying why it is not 0."""
    total = counts(results)
    status = 0
    if total['failed'] or (code and not results):
        status = 1
    if code and not total['failed'] and results:
        say('tempest run exited %d without a failed test' % code)
        status = 1
    if ci:
        for test_id, reason in unlisted_skips(results, excluded['skipped']):
            say('skip not listed in %s: %s (%s)' % (
                os.path.basename(EXCLUDED_FILE), short_id(test_id), reason))
            status = 1
        ran = total['passed'] + total['failed']
        if ran < MIN_RUN:
            say('only %d tests ran, fewer than %d' % (ran, MIN_RUN))
            status = 1
    return status


def counts_line(total):
    return '%d passed, %d failed, %d skipped' % (
        total['passed'], total['failed'], total['skipped'])


# The counts of the last run() in this process (tests/tempest_ci.py prints
# them again after stopping the cloud).
last_counts = {'passed': 0, 'failed': 0, 'skipped': 0}


def run(settings, regex=None, ci=False):
    """Install, configure and run Tempest against the running cloud
    ``settings`` (STATE/aio.json); the exit code. Prints "N passed, N
    failed, N skipped" last."""
    try:
        status, total = _run(settings, regex, ci)
    except Failed as e:
        say('ERROR: %s' % e)
        status, total = 1, {'passed': 0, 'failed': 1, 'skipped': 0}
    last_counts.update(total)
    print(counts_line(total), flush=True)
    return status


def _run(settings, regex, ci):
    state = settings['state']
    venv = settings['venv']
    with open(EXCLUDED_FILE) as f:
        excluded = read_excluded(f.read())
    with open(SUBSET_FILE) as f:
        subset = read_list(f.read())
    password = read_secrets(state)['admin']
    os.makedirs(os.path.join(state, 'logs'), exist_ok=True)
    ensure_tempest(venv, os.path.join(state, 'logs'))
    workspace = ensure_workspace(venv, state)
    cloud = discover(settings, password)
    conf = os.path.join(workspace, 'etc', 'tempest.conf')
    write_private(conf, render_conf(tempest_conf(settings, password, cloud,
                                                 workspace)))
    say('configuration: %s (image %s %s, flavors %s %s)' % (
        conf, IMAGE, cloud['image_ref'], FLAVOR, FLAVOR_ALT))
    lists = {'include': os.path.join(workspace, 'include-list.txt'),
             'exclude': os.path.join(workspace, 'exclude-list.txt')}
    with open(lists['include'], 'w') as f:
        f.write(stestr_list(subset))
    with open(lists['exclude'], 'w') as f:
        f.write(stestr_list(excluded['excluded']))
    command = tempest_command(venv, workspace, regex, lists)
    say('running %s (%d workers; log %s)' % (
        'the tests matching %r' % regex if regex else 'the CI subset '
        '(%s)' % os.path.basename(SUBSET_FILE), CONCURRENCY,
        os.path.join(workspace, 'logs', 'tempest.log')))
    env = dict(os.environ,
               TEMPEST_CONFIG_DIR=os.path.join(workspace, 'etc'),
               TEMPEST_CONFIG='tempest.conf',
               PATH=os.path.join(venv, 'bin') + os.pathsep +
               os.environ.get('PATH', ''))
    for name in ('OS_CLOUD', 'OS_CLIENT_CONFIG_FILE'):
        env.pop(name, None)
    # Each test's own limit (Tempest's base test honours it): a test that
    # hangs fails instead of holding the run, and CI, forever.
    env.setdefault('OS_TEST_TIMEOUT', str(TEST_TIMEOUT))
    started = time.monotonic()
    code, lines = stream(command, workspace, env,
                         os.path.join(workspace, 'logs', 'run.log'))
    results = parse_results(lines)
    status = judge(results, code, excluded, ci)
    if not regex:
        # Not an error: a run elsewhere (real VirtualBox: VNC consoles)
        # skips less than the simulator's.
        for entry, _reason in stale_skips(results, excluded['skipped']):
            say('note: %s lists %r as skipped, and no test was skipped '
                'for it' % (os.path.basename(EXCLUDED_FILE), entry))
    total = counts(results)
    say('took %.0f s; output in %s' % (time.monotonic() - started,
                                       os.path.join(workspace, 'logs',
                                                    'run.log')))
    return status, total


def main(argv):
    """``tempestrun.py STATE_DIR [REGEX] [--ci]``: the same without aio.py."""
    args = [a for a in argv[1:] if a != '--ci']
    if not args or len(args) > 2:
        sys.stderr.write('usage: tempestrun.py STATE_DIR [REGEX] [--ci]\n')
        return 2
    with open(os.path.join(args[0], 'aio.json')) as f:
        settings = json.load(f)
    return run(settings, args[1] if len(args) > 1 else None,
               ci='--ci' in argv)


if __name__ == '__main__':
    sys.exit(main(sys.argv))
