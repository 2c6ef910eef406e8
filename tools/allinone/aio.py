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

"""A single-node OpenStack with the VirtualBox driver, in one command.

    python3.11 tools/allinone/aio.py start      # install if needed, start,
                                                # stay in front (Ctrl-C stops)
    python3.11 tools/allinone/aio.py start -d   # same, in the background
    python3.11 tools/allinone/aio.py status
    python3.11 tools/allinone/aio.py stop
    python3.11 tools/allinone/aio.py env        # shell lines for the CLI
    python3.11 tools/allinone/aio.py tempest [REGEX]  # Tempest judges it
    python3.11 tools/allinone/aio.py install    # only the venv

What runs, on 127.0.0.1 only (see node.py):
  process "keystone": Keystone :5000 (fernet tokens, SQLite)
  process "nova":   Nova API :8774, conductor, scheduler, compute
                    (compute_driver = virtualbox.VBoxDriver), Placement :8778;
                    Nova's RPC over oslo.messaging's in-memory fake:// bus
                    (no broker); SQLite databases. Nova's noVNC proxy :6080.
  process "neutron": Neutron API :9696 (ML2, mechanism driver virtualbox,
                    SQLite) and the VirtualBox agent on its own in-memory
                    bus (networking_virtualbox).
  process "glance": Glance API :9292, file store, SQLite.
  process "cinder": Cinder API :8776, scheduler and volume service (the file
                    backend: cinder_virtualbox), SQLite; only where volumes
                    can be served (see below).
  process "horizon": Horizon (OpenStack's dashboard, Django) :8080, static
                    files included (dashboard.py).
Every API is behind keystonemiddleware with Nova's (and the others') own
default policies. Keystone has the admin (project admin) and the user demo
(project demo, role member), passwords made at the first start and kept in
STATE/secrets.json (and STATE/clouds.yaml: clouds allinone-admin and
allinone-demo), and a service user per service (project service).

Volumes: Cinder with this repo's file-backed driver (cinder_virtualbox):
each volume a sparse file under STATE/cinder/volumes, exported by tgt as
an iSCSI LUN with its own CHAP secret on 127.0.0.1:3260, which the VMs
reach through VirtualBox's own iSCSI initiator. tgtd's management socket
answers root only, so volumes are on when the start runs as root (it
installs tgt with apt-get when missing and starts tgtd, which stays up
like a system service); otherwise the start says in one line why volumes
are off and the catalog has no volume service. Cinder's LVM driver is not
used: these machines, macOS and Windows have no device-mapper.

Networks (networks.py, at the first start): "private", the demo project's
own network (VXLAN type, 10.0.0.0/24, no gateway: it joins the project's
servers on this host), which the agent makes a VirtualBox internal network
named after the network's id; and "public" (flat and external, the
admin's, 172.24.4.0/24), the VirtualBox NAT network aio-public: servers on
it reach outside through the host. Each server gets its Neutron address from
VirtualBox's own DHCP server of its network, programmed by the agent.
No routers and no floating IPs (no L3 agent: Neutron's router service is
not loaded, so its API says "not found"); security groups exist in the API
but filter nothing (VirtualBox cannot; the noop firewall).

Host tools: the start checks for qemu-img (images become VirtualBox disks)
and genisoimage (config drives) and, as root with apt-get, installs
qemu-utils and genisoimage; otherwise it stops and says what to install.

Your own Nova options: .aio/local.conf (--local-conf, AIO_LOCAL_CONF), an
oslo.config INI file like nova.conf, e.g.

    [DEFAULT]
    reserved_host_memory_mb = 1024

It is read after the generated nova.conf (STATE/etc/nova/nova.conf, written
anew at every start), so its options win; the start says where it is.

The first start uploads the project's tiny test guest (tools/tinyguest: a
1 MiB disk that prints "nova-virtualbox tinyguest uuid=<server ID>" to the
console log and the screen, and powers off on the ACPI power button) as
the public image "tinyguest", as DevStack uploads cirros, and prints a
first "openstack server create" line that boots it.

Consoles: `openstack console log show` (COM1) and `openstack console url
show` (noVNC through Nova's proxy). The noVNC client is the noVNC
project's own release from npm, @novnc/novnc (NOVNC_PACKAGE; `npm install`
puts it into .aio/novnc, no root needed), under our page vnc_lite.html,
modelled on noVNC's; not Debian's novnc package (needs root, and is
older) nor PyPI (no upstream noVNC there). Without npm the start says
there is no client. Each VM's VirtualBox Remote Display (VRDE) serves its
screen with the VNC extension pack on 127.0.0.1, ports 15900-15979, when
VirtualBox has that pack. The simulator has no screens: the start and the
console page say so.

Everything lives under .aio/ in the checkout: the venv (.aio/venv), noVNC
(.aio/novnc) and the state (.aio/state: databases, images, VMs, logs),
which the next start reuses. VirtualBox is used when VBoxManage is on the
PATH, otherwise the bundled simulator (vboxmanage-sim), and the start says
which. When VBoxManage is tools/real-vbox's command (VirtualBox in a
chroot), the VMs live where the chroot sees them: the state's instances
folder when it is under a folder the chroot shares (/tmp, /var/lib/nova),
else /var/lib/nova/allinone-<hash of the state folder>/instances.

Only the standard library here: this runs before the venv exists.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import multihost  # noqa: E402  (standard library only)
import node  # noqa: E402  (the processes' module; standard library at import)
REPO = os.path.dirname(os.path.dirname(HERE))
AIO_DIR = os.path.join(REPO, '.aio')
DEFAULT_VENV = os.path.join(AIO_DIR, 'venv')
DEFAULT_STATE = os.path.join(AIO_DIR, 'state')
# The user's own Nova options, kept across starts (see the docstring).
DEFAULT_LOCAL_CONF = os.path.join(AIO_DIR, 'local.conf')

# What the venv holds besides this checkout (pip install ., not editable).
REQUIREMENTS = [
    'openstack-placement==16.0.0',
    'glance==33.0.0',
    'neutron==29.0.0',
    'cinder==29.0.0',
    'keystone==30.0.0',
    'horizon==27.0.0',
    'Django>=5.2,<5.3',
    'python-openstackclient',
    'cheroot',
    'SQLAlchemy>=2.0,<2.1',
    # MariaDB's driver, for the multi-host mode's databases.
    'PyMySQL',
]
PORTS = {'keystone': 5000, 'nova': 8774, 'placement': 8778, 'glance': 9292,
         'neutron': 9696, 'cinder': 8776, 'novncproxy': 6080,
         'horizon': 8080}
# Started together; Nova's services wait for the service users and endpoints
# that identity.py makes once Keystone answers.
SERVICES = ('keystone', 'glance', 'neutron', 'nova', 'horizon')
# Started with them where the host can serve volumes (volume_backend).
VOLUME_SERVICE = 'cinder'
# Cinder's file-backed driver (this repo): volumes are files under
# STATE/cinder/volumes, exported by tgt as iSCSI LUNs with CHAP.
FILE_BACKEND = 'file'
FILE_DRIVER = 'cinder_virtualbox.file_iscsi.FileISCSIDriver'
ISCSI_PORT = 3260
REGION = 'RegionOne'
# Nova's compute host, which the VirtualBox agent serves: Neutron binds a
# server's ports for the host whose agent is alive.
HOST = 'allinone'
# Neutron's provider network for external access: its physical network,
# which the agent maps to a VirtualBox NAT network of this name (with
# "-OFFSET" after a --port-offset: VirtualBox's NAT networks are per user).
PUBLIC_PHYSNET = 'public'
NAT_NETWORK = 'aio-public'
# The users whose passwords STATE/secrets.json keeps: admin and demo, one
# password for the services' own users (identity.py's SERVICE_USERS), and
# the multi-host mode's RabbitMQ and MariaDB users.
SECRETS = ('admin', 'demo', 'service', 'broker', 'database')
# SQLite's file of each service's database (MariaDB's database of the same
# name in the multi-host mode).
SQLITE_DATABASES = {'keystone': 'keystone/keystone.sqlite',
                    'nova_api': 'nova/nova_api.sqlite',
                    'nova_cell0': 'nova/nova_cell0.sqlite',
                    'nova_cell1': 'nova/nova_cell1.sqlite',
                    'placement': 'placement/placement.sqlite',
                    'glance': 'glance/glance.sqlite',
                    'neutron': 'neutron/neutron.sqlite',
                    'cinder': 'cinder/cinder.sqlite'}
# The processes of the multi-host mode besides node.py's (multihost.py):
# their pid files, under STATE.
BACKING_PIDS = {'sshd': 'run/sshd.pid', 'mariadb': 'run/mysqld.pid',
                'rabbitmq': 'rabbitmq/rabbitmq.pid'}
# A host that joined runs only these node.py processes.
JOINED_SERVICES = ('compute', 'agent')
# The VMs' VNC servers (VRDE): VirtualBox binds the first free port of the
# range when a VM starts. Away from 5900.., where VNC servers of the
# machine's desktops and other tests' VMs listen.
VRDE_PORTS = (15900, 15979)
# The noVNC client library (npm), see the module docstring.
NOVNC_PACKAGE = '@novnc/novnc@1.7.0'
NOVNC_PAGE = 'vnc_lite.html'
# The first image and the flavor the printed first server create uses.
FIRST_IMAGE = 'tinyguest'
FIRST_FLAVOR = 'm1.nano'
FIRST_NETWORK = 'private'
# Where the VM folders go when VirtualBox runs in tools/real-vbox's chroot
# and the state is not in a folder it shares: /var/lib/nova is one of the
# folders provision.sh shares by default.
CHROOT_VM_DIR = '/var/lib/nova/allinone-%s/instances'
# Host commands the driver runs, and the Debian package of each: qemu-img
# converts images into VirtualBox disks; genisoimage ([DEFAULT]
# mkisofs_cmd) builds config drives.
HOST_TOOLS = {'qemu-img': 'qemu-utils', 'genisoimage': 'genisoimage'}
# clouds.yaml's clouds: the admin, and the demo user in its own project
# (what `aio.py env` points the CLI at).
ADMIN_CLOUD = 'allinone-admin'
DEMO_CLOUD = 'allinone-demo'
# The checkout files whose change means our package must be reinstalled.
SOURCE_DIRS = ('nova', 'vboxsim', 'networking_virtualbox',
               'cinder_virtualbox')
SOURCE_FILES = ('setup.cfg', 'setup.py', 'requirements.txt')


def say(text):
    print('aio: %s' % text, flush=True)


class Failed(Exception):
    pass


# --- Installation ---------------------------------------------------------

def source_fingerprint():
    digest = hashlib.sha256()
    paths = [os.path.join(REPO, f) for f in SOURCE_FILES]
    for top in SOURCE_DIRS:
        for root, dirs, files in os.walk(os.path.join(REPO, top)):
            dirs[:] = sorted(d for d in dirs if d != '__pycache__')
            paths.extend(os.path.join(root, f) for f in sorted(files)
                         if not f.endswith('.pyc'))
    for path in paths:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            continue
        digest.update(('%s %d %d\n' % (os.path.relpath(path, REPO),
                                       st.st_size, st.st_mtime_ns)).encode())
    return digest.hexdigest()


def pip(venv, *args, cwd=REPO):
    log = os.path.join(os.path.dirname(venv), 'pip.log')
    command = [os.path.join(venv, 'bin', 'python'), '-m', 'pip', '-q',
               '--disable-pip-version-check'] + list(args)
    with open(log, 'w') as out:
        code = subprocess.run(command, cwd=cwd, stdout=out,
                              stderr=subprocess.STDOUT).returncode
    if code:
        with open(log) as f:
            sys.stdout.write(f.read()[-5000:])
        raise Failed('pip %s failed (output above, all of it in %s)'
                     % (' '.join(args), log))


def clean_source(target):
    """Copy the checkout's own files (tracked or new, not ignored, plus .git
    for pbr's version) to target: building from the checkout itself would
    make setuptools walk .aio/ and .tox/ (a minute)."""
    listing = subprocess.run(
        ['git', 'ls-files', '--cached', '--others', '--exclude-standard',
         '-z'], cwd=REPO, capture_output=True)
    if listing.returncode:
        raise Failed('git ls-files failed: %s' % listing.stderr.decode())
    for rel in listing.stdout.decode().split('\0'):
        src = os.path.join(REPO, rel)
        if not rel or rel.startswith('.aio') or not os.path.isfile(src):
            continue
        os.makedirs(os.path.dirname(os.path.join(target, rel)),
                    exist_ok=True)
        shutil.copy2(src, os.path.join(target, rel))
    git = os.path.join(REPO, '.git')
    if os.path.isdir(git):
        shutil.copytree(git, os.path.join(target, '.git'), symlinks=True)
    else:
        # A git worktree: .git is a file naming the repository.
        shutil.copy2(git, os.path.join(target, '.git'))


def pip_install_checkout(venv, *args):
    import tempfile
    with tempfile.TemporaryDirectory(prefix='aio-src-') as tmp:
        src = os.path.join(tmp, 'nova-virtualbox')
        clean_source(src)
        pip(venv, 'install', *args, src, cwd=tmp)


def install(venv, force=False):
    """Create the venv and install everything; later, only our package when
    the checkout changed. Returns the venv's Python."""
    python = os.path.join(venv, 'bin', 'python')
    marker = os.path.join(venv, 'aio-installed.json')
    wanted = {'requirements': REQUIREMENTS, 'python': sys.version.split()[0]}
    done = {}
    if os.path.exists(marker):
        with open(marker) as f:
            done = json.load(f)
    fingerprint = source_fingerprint()
    if not force and done.get('requirements') == REQUIREMENTS and \
            os.path.exists(python):
        if done.get('source') == fingerprint:
            return python
        say('the checkout changed: reinstalling nova-virtualbox into %s'
            % venv)
        started = time.monotonic()
        pip_install_checkout(venv, '--no-deps', '--force-reinstall',
                             '--no-build-isolation')
        say('reinstalled in %.0f s' % (time.monotonic() - started))
    else:
        if sys.version_info[:2] != (3, 11):
            say('warning: Nova 34 is tested with Python 3.11; this is %s'
                % sys.version.split()[0])
        say('installing Nova 34, Keystone 30, Placement 16, Glance 33, '
            'Neutron 29, Cinder 29, Horizon 27, the openstack CLI and this '
            'driver into %s (a few minutes, once)' % venv)
        started = time.monotonic()
        os.makedirs(os.path.dirname(venv), exist_ok=True)
        ignore = os.path.join(AIO_DIR, '.gitignore')
        if os.path.dirname(venv) == AIO_DIR and not os.path.exists(ignore):
            with open(ignore, 'w') as f:
                f.write('*\n')
        if not os.path.exists(python):
            subprocess.run([sys.executable, '-m', 'venv', venv], check=True)
        pip(venv, 'install', '--upgrade', 'pip', 'setuptools', 'wheel',
            'pbr')
        pip_install_checkout(venv, *REQUIREMENTS)
        say('installed in %.0f s' % (time.monotonic() - started))
    wanted['source'] = fingerprint
    with open(marker, 'w') as f:
        json.dump(wanted, f)
    return python


def novnc_dir(venv):
    """Where the noVNC client library goes: beside the venv."""
    return os.path.join(os.path.dirname(venv), 'novnc')


def install_novnc(venv):
    """Install NOVNC_PACKAGE with npm unless it is there. Returns the
    package's folder (core/, vendor/), or None when npm is missing."""
    prefix = novnc_dir(venv)
    name, _at, version = NOVNC_PACKAGE.rpartition('@')
    package = os.path.join(prefix, 'node_modules', *name.split('/'))
    try:
        with open(os.path.join(package, 'package.json')) as f:
            if json.load(f).get('version') == version:
                return package
    except (OSError, ValueError):
        pass
    npm = shutil.which('npm')
    if npm is None:
        say('warning: npm is not installed, so neither is the noVNC client: '
            'the console URLs will lead to a page that says so')
        return None
    say('installing the noVNC client (%s) into %s with npm'
        % (NOVNC_PACKAGE, prefix))
    os.makedirs(prefix, exist_ok=True)
    result = subprocess.run(
        [npm, 'install', '--prefix', prefix, '--no-audit', '--no-fund',
         '--loglevel=error', NOVNC_PACKAGE], capture_output=True, text=True)
    if result.returncode:
        raise Failed('npm install %s failed: %s' % (
            NOVNC_PACKAGE, (result.stderr or result.stdout)[-3000:]))
    return package


# --- Host tools -------------------------------------------------------------

def missing_host_tools(path=None):
    """{command: Debian package} of the HOST_TOOLS not on ``path`` (None:
    the PATH)."""
    return {command: package for command, package in HOST_TOOLS.items()
            if shutil.which(command, path=path) is None}


def ensure_host_tools(path=None, can_install=None):
    """Install the missing HOST_TOOLS with apt-get when root, else raise
    Failed saying what to install: without them the first server create
    only fails with "Exceeded maximum number of retries"."""
    missing = missing_host_tools(path)
    if not missing:
        return
    packages = sorted(set(missing.values()))
    if can_install is None:
        can_install = os.geteuid() == 0 and shutil.which('apt-get')
    if not can_install:
        raise Failed('%s not found: install %s (Debian/Ubuntu: sudo apt-get '
                     'install %s) and start again' % (
                         ' and '.join(sorted(missing)), ' and '.join(packages),
                         ' '.join(packages)))
    apt_install(packages, sorted(missing))
    still = missing_host_tools(path)
    if still:
        raise Failed('%s still not found after apt-get install %s' % (
            ' and '.join(sorted(still)), ' '.join(packages)))


def apt_install(packages, commands):
    """apt-get install ``packages`` (for ``commands``), or raise Failed
    saying what to install."""
    say('installing %s (for %s) with apt-get' % (
        ' '.join(packages), ', '.join(commands)))
    # RUNLEVEL=1: packages of servers (MariaDB, RabbitMQ) do not start
    # the system's own copy on their ports.
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive', RUNLEVEL='1')
    for command in (['apt-get', 'update', '-qq'],
                    ['apt-get', 'install', '-y', '-qq',
                     '--no-install-recommends'] + packages):
        result = subprocess.run(command, env=env, capture_output=True,
                                text=True)
        if result.returncode:
            last = (result.stderr or result.stdout).strip().splitlines()
            raise Failed('%s failed (%s): install %s yourself' % (
                ' '.join(command[:2]), last[-1] if last else 'no output',
                ' '.join(packages)))


def volume_backend(is_root=None):
    """(Cinder backend, None) when this host can serve volumes, else
    (None, why not, in one line). The file backend needs tgt's daemon,
    whose management socket only root may use; as root with apt-get the
    start installs tgt and starts tgtd when they are missing."""
    if is_root is None:
        is_root = os.geteuid() == 0
    if not is_root:
        return None, ('volumes need root: Cinder exports them with tgt, '
                      'whose daemon only root may drive (start as root)')
    if shutil.which('tgtd') is None:
        if not shutil.which('apt-get'):
            return None, 'volumes need tgt (tgtd): install it'
        try:
            apt_install(['tgt'], ['tgtd'])
        except Failed as e:
            return None, 'volumes need tgt (tgtd): %s' % e
    show = ['tgtadm', '--lld', 'iscsi', '--mode', 'target', '--op', 'show']
    if subprocess.run(show, capture_output=True).returncode:
        # tgtd daemonizes; it stays up after a stop, as a system service
        # would, so the volumes attached to VMs stay reachable.
        subprocess.run(['tgtd'], check=False, capture_output=True)
        deadline = time.monotonic() + 10
        while subprocess.run(show, capture_output=True).returncode:
            if time.monotonic() > deadline:
                return None, 'volumes need tgtd, which did not start'
            time.sleep(0.2)
    return FILE_BACKEND, None


def read_local_conf(path):
    """Check the user's own Nova options parse as an INI file; returns
    ``path``, or None when there is no such file."""
    import configparser
    if not os.path.exists(path):
        return None
    # strict=False: oslo.config allows a multi-valued option to repeat.
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read(path)
    except configparser.Error as e:
        raise Failed('%s is not an INI file like nova.conf: %s' % (
            path, ' '.join(str(e).split())))
    return path


# --- Configuration ----------------------------------------------------------

def ini(sections):
    lines = []
    for section, options in sections.items():
        lines.append('[%s]' % section)
        lines.extend('%s = %s' % (k, v) for k, v in options.items())
        lines.append('')
    return '\n'.join(lines)


def find_vboxmanage(venv, simulator):
    """The VBoxManage command line, and whether it is the simulator."""
    if not simulator:
        for name in ('VBoxManage', 'vboxmanage'):
            found = shutil.which(name)
            if found:
                return found, False
    return os.path.join(venv, 'bin', 'vboxmanage-sim'), True


def chroot_of(vboxmanage):
    """The root of the chroot that tools/real-vbox's command runs VirtualBox
    in, or None for any other VBoxManage."""
    try:
        with open(os.path.realpath(vboxmanage), 'rb') as f:
            head = f.read(4096).decode('utf-8', 'replace')
    except OSError:
        return None
    if 'tools/real-vbox/provision.sh' not in head:
        return None
    match = re.search(r"^root='([^']+)'$", head, re.M)
    return match.group(1) if match else None


def seen_by_chroot(root, path):
    """Whether the chroot sees ``path`` as the same folder (a bind mount of
    a folder it shares), so VirtualBox finds there what Nova writes."""
    try:
        return os.path.samefile(path, root + path)
    except OSError:
        return False


def place_instances(settings):
    """The instances folder (VM folders, image cache, console logs):
    VirtualBox in tools/real-vbox's chroot only sees the folders the chroot
    shares, so there the VMs go to one of those when the state is not."""
    path = os.path.join(settings['state'], 'nova', 'instances')
    os.makedirs(path, exist_ok=True)
    root = None if settings['simulated'] else chroot_of(
        settings['vboxmanage'])
    if root is None or seen_by_chroot(root, path):
        return path
    shared = CHROOT_VM_DIR % hashlib.sha256(
        settings['state'].encode()).hexdigest()[:8]
    os.makedirs(shared, exist_ok=True)
    if not seen_by_chroot(root, shared):
        raise Failed('VirtualBox runs in the chroot %s, which sees neither '
                     '%s nor %s: pass a --state-dir under a folder it '
                     'shares (tools/real-vbox/provision.sh '
                     'REALVBOX_SHARED_DIRS)' % (root, path, shared))
    say('VirtualBox runs in the chroot %s, which does not see %s: the VMs '
        'go to %s' % (root, settings['state'], shared))
    return shared


def has_vnc_pack(settings):
    """Whether VirtualBox has a usable VNC extension pack (the simulator
    lists one)."""
    result = subprocess.run([settings['vboxmanage'], 'list', 'extpacks'],
                            env=service_env(settings), capture_output=True,
                            text=True, timeout=120)
    usable = {}
    pack = None
    for line in result.stdout.splitlines():
        match = re.match(r'Pack no\.\s*\d+:\s*(.*?)\s*$', line)
        if match:
            pack = match.group(1)
        elif pack is not None and line.startswith('Usable:'):
            usable[pack] = line.partition(':')[2].strip() == 'true'
    return usable.get('VNC', False)


def runs_driverless(settings):
    """Whether real VirtualBox runs on Linux without its kernel driver
    (tools/real-vbox on a machine without kernel modules): VMs then run in
    its instruction interpreter, and a NIC on an internal, NAT, bridged or
    host-only network cannot start (VERR_SUP_DRIVERLESS at startvm)."""
    return (not settings['simulated'] and sys.platform.startswith('linux')
            and not os.path.exists('/dev/vboxdrv'))


def settings_for(args):
    state = os.path.abspath(args.state_dir)
    ports = {name: port + args.port_offset for name, port in PORTS.items()}
    vbox, simulated = find_vboxmanage(args.venv, args.simulator)
    vrde_ports = tuple(port + args.port_offset for port in VRDE_PORTS)
    address = getattr(args, 'address', None) or '127.0.0.1'
    settings = dict(ports, state=state, venv=args.venv, vboxmanage=vbox,
                    simulated=simulated, debug=args.debug, region=REGION,
                    vrde_ports=vrde_ports,
                    novnc_web=os.path.join(state, 'novnc'),
                    local_conf=os.path.abspath(args.local_conf),
                    host=HOST, nat_network=NAT_NETWORK + (
                        '-%d' % args.port_offset if args.port_offset else ''),
                    multi_host=bool(getattr(args, 'multi_host', False)),
                    # The controller's address (its APIs, broker, databases)
                    # and this host's own (Nova's my_ip, its sshd).
                    controller=address, my_ip=address,
                    # Loopback stays loopback; a LAN address means other
                    # machines must reach the APIs.
                    bind='127.0.0.1' if address == '127.0.0.1' else '0.0.0.0',
                    rabbit=multihost.RABBIT_PORT + args.port_offset,
                    mysql=multihost.MYSQL_PORT + args.port_offset,
                    ssh=multihost.SSH_PORT + args.port_offset)
    secrets = read_secrets(state)
    for name in ('nova_cell0', 'neutron', 'glance'):
        settings[name.replace('nova_', '') + '_db'] = database_url(
            settings, secrets, name)
    return settings


def database_url(settings, secrets, name):
    """SQLAlchemy's URL of a service's database: SQLite under STATE, or
    the controller's MariaDB in the multi-host mode."""
    if settings.get('multi_host'):
        return multihost.database_url(settings, secrets, name)
    return 'sqlite:///%s/%s' % (settings['state'], SQLITE_DATABASES[name])


def write_config(settings):
    state = settings['state']
    etc = os.path.join(state, 'etc')
    for sub in ('etc/keystone', 'etc/nova', 'etc/glance', 'etc/placement',
                'etc/neutron', 'run', 'logs', 'nova/instances', 'nova/locks',
                'keystone', 'placement', 'glance/images', 'glance/staging',
                'glance/tasks', 'neutron/locks', 'etc/cinder',
                'cinder/locks', 'cinder/volumes', 'vboxsim'):
        os.makedirs(os.path.join(state, sub), exist_ok=True)
    url = 'http://%s:%%d' % settings['controller']
    debug = str(bool(settings['debug'])).lower()
    instances = settings.get('instances') or '%s/nova/instances' % state

    secrets = read_secrets(state)
    identity = url % settings['keystone'] + '/v3'
    transport = multihost.transport_url(settings, secrets)

    def database(name):
        return database_url(settings, secrets, name)

    def service_user(name, **more):
        # The service's own Keystone user (identity.py makes it).
        return dict({
            'auth_type': 'password', 'auth_url': identity,
            'username': name, 'password': secrets['service'],
            'project_name': 'service', 'user_domain_name': 'Default',
            'project_domain_name': 'Default', 'region_name': REGION},
            **more)

    def authtoken(name):
        # keystonemiddleware in front of the service's API; no memcached:
        # its in-process token cache.
        return service_user(name, www_authenticate_uri=identity)

    nova = {
        'DEFAULT': {
            'host': settings['host'],
            'my_ip': settings['my_ip'],
            'state_path': '%s/nova' % state,
            'instances_path': instances,
            # VirtualBox's VM names: apart from other Nova's instance-*
            # VMs in a VirtualBox shared with other users.
            'instance_name_template': 'aio-%08x',
            'compute_driver': 'virtualbox.VBoxDriver',
            'transport_url': transport,
            'log_file': '%s/logs/nova.log' % state,
            'debug': debug,
            # One host: a resize must be able to land on it (the driver
            # reports COMPUTE_SAME_HOST_COLD_MIGRATE for cold migrations,
            # which need no option).
            'allow_resize_to_same_host': 'true',
        },
        'vnc': {
            'enabled': 'true',
            'server_listen': settings['my_ip'],
            'server_proxyclient_address': settings['my_ip'],
            'novncproxy_host': settings['bind'],
            'novncproxy_port': settings['novncproxy'],
            'novncproxy_base_url': (url % settings['novncproxy'] + '/' +
                                    NOVNC_PAGE),
        },
        'api_database': {'connection': database('nova_api')},
        'database': {'connection': database('nova_cell1')},
        'wsgi': {'api_paste_config': os.path.join(
            settings['venv'], 'etc', 'nova', 'api-paste.ini')},
        'oslo_concurrency': {'lock_path': '%s/nova/locks' % state},
        'keystone_authtoken': authtoken('nova'),
        # Nova's calls made for a user carry its own token as well, so a
        # token that expires during a long operation still works.
        'service_user': service_user('nova', send_service_user_token='true'),
        'placement': service_user('nova'),
        'glance': service_user('nova'),
        'neutron': service_user('nova'),
        'keystone': service_user('nova'),
        'cinder': service_user('nova'),
        'compute': {'heal_instance_info_cache_interval': '-1'},
        'virtualbox': dict(vboxmanage_cmd=settings['vboxmanage'],
                           **vrde_options(settings)),
    }
    if settings['multi_host']:
        # Disks go to other hosts with rsync over each host's sshd
        # (RSYNC_RSH: multihost.rsync_rsh).
        nova['libvirt'] = {'remote_filesystem_transport': 'rsync'}
        # A host that joins is mapped to cell1 within seconds.
        nova['scheduler'] = {'discover_hosts_in_cells_interval': '10'}
    placement = {
        'DEFAULT': {'debug': debug},
        'api': {'auth_strategy': 'keystone'},
        'keystone_authtoken': authtoken('placement'),
        'placement_database': {
            'connection': database('placement'),
            'sync_on_startup': 'true'},
    }
    glance = {
        'DEFAULT': {
            'enabled_backends': 'local:file',
            'worker_self_reference_url': url % settings['glance'],
            'log_file': '%s/logs/glance.log' % state,
            'debug': debug,
        },
        'glance_store': {'default_backend': 'local'},
        'local': {'filesystem_store_datadir': '%s/glance/images' % state},
        'os_glance_staging_store': {
            'filesystem_store_datadir': '%s/glance/staging' % state},
        'os_glance_tasks_store': {
            'filesystem_store_datadir': '%s/glance/tasks' % state},
        'database': {'connection': settings['glance_db']},
        'keystone_authtoken': authtoken('glance'),
        'paste_deploy': {
            'flavor': 'keystone',
            'config_file': os.path.join(settings['venv'], 'etc', 'glance',
                                        'glance-api-paste.ini')},
    }
    keystone = {
        'DEFAULT': {
            'log_file': '%s/logs/keystone.log' % state,
            'debug': debug,
        },
        'database': {'connection': database('keystone')},
        'token': {'provider': 'fernet'},
        # bcrypt's least cost (Keystone's default 12 makes every token and
        # every Tempest test user cost most of a second on a laptop): the
        # passwords here are random 120-bit tokens, which no hash cost is
        # needed to protect, in a database only this user can read.
        'identity': {'password_hash_rounds': '4'},
        # Keystone's cache, inside its one process: without it every API
        # call of every service has its token's roles read from SQLite
        # again (Keystone was the busiest process of a Tempest run).
        'cache': {'enabled': 'true', 'backend': 'oslo_cache.dict'},
        'fernet_tokens': {
            'key_repository': '%s/keystone/fernet-keys' % state},
        'fernet_receipts': {
            'key_repository': '%s/keystone/fernet-keys' % state},
        'credential': {
            'key_repository': '%s/keystone/credential-keys' % state},
    }
    neutron = {
        'DEFAULT': {
            'host': settings['host'],
            'core_plugin': 'ml2',
            # No L3 agent, no routers: see the module docstring.
            'service_plugins': '',
            'transport_url': transport,
            'auth_strategy': 'keystone',
            'state_path': '%s/neutron' % state,
            # Addresses come from VirtualBox's DHCP servers (the agent):
            # there is no DHCP agent to tell.
            'dhcp_agent_notification': 'false',
            'log_file': '%s/logs/neutron.log' % state,
            'debug': debug,
        },
        'database': {'connection': settings['neutron_db']},
        'keystone_authtoken': authtoken('neutron'),
        # Port events (network-vif-plugged) to Nova as Neutron's user.
        'nova': service_user('neutron'),
        'oslo_concurrency': {'lock_path': '%s/neutron/locks' % state},
        'ml2': {
            'type_drivers': 'flat,vxlan',
            'project_network_types': 'vxlan',
            'mechanism_drivers': 'virtualbox',
            'extension_drivers': 'port_security',
        },
        # VXLAN ids only name tenant networks: each is a VirtualBox
        # internal network, no tunnel is built.
        'ml2_type_vxlan': {'vni_ranges': '1:1000'},
        'ml2_type_flat': {'flat_networks': PUBLIC_PHYSNET},
        # VirtualBox cannot filter a VM's traffic.
        'securitygroup': {'firewall_driver': 'noop'},
        # The agent's sweep (one VBoxManage call): a new server's port goes
        # ACTIVE, and Nova starts its VM, within a second of its NIC.
        'agent': {'polling_interval': '1'},
        'virtualbox': {
            'physical_network_mappings': '%s:natnetwork:%s' % (
                PUBLIC_PHYSNET, settings['nat_network']),
            'vboxmanage_cmd': settings['vboxmanage'],
        },
    }
    cinder = {
        'DEFAULT': {
            'host': settings['host'],
            # Cinder's API, scheduler and volume service share a process
            # (and Nova calls its API over HTTP): its own in-memory bus.
            'transport_url': 'fake://',
            'auth_strategy': 'keystone',
            'state_path': '%s/cinder' % state,
            'enabled_backends': settings.get('volume_backend') or '',
            'default_volume_type': '__DEFAULT__',
            # Its start waits this long for every volume service's first
            # report, whatever came in (a minute by default); the one here
            # answers the scheduler's request for them at once.
            'scheduler_driver_init_wait_time': '1',
            'resource_query_filters_file': os.path.join(
                settings['venv'], 'etc', 'cinder', 'resource_filters.json'),
            'log_file': '%s/logs/cinder.log' % state,
            'debug': debug,
        },
        'database': {'connection': database('cinder')},
        'keystone_authtoken': authtoken('cinder'),
        'nova': service_user('cinder'),
        'oslo_concurrency': {'lock_path': '%s/cinder/locks' % state},
        'coordination': {'backend_url': 'file://%s/cinder/locks' % state},
        FILE_BACKEND: {
            'volume_driver': FILE_DRIVER,
            'volume_backend_name': FILE_BACKEND,
            'file_volumes_dir': '%s/cinder/volumes' % state,
            'file_volumes_target_ip': settings['controller'],
            'file_volumes_target_port': str(ISCSI_PORT),
        },
    }
    if settings.get('joined'):
        write_joined_config(settings, nova, neutron)
        return
    # One folder per service: a --config-dir reads every file in it.
    files = {'keystone/keystone.conf': ini(keystone),
             'nova/nova.conf': ini(nova),
             'neutron/neutron.conf': ini(neutron),
             'cinder/cinder.conf': ini(cinder),
             'placement/placement.conf': ini(placement),
             'glance/glance-api.conf': ini(glance)}
    for name, text in files.items():
        # They hold the services' password: for this user's eyes only.
        with private(os.path.join(etc, name)) as f:
            f.write('# Written by tools/allinone/aio.py at every start: '
                    'put your own Nova options in %s.\n'
                    % settings['local_conf'])
            f.write(text)
    # Found beside neutron.conf and cinder.conf (api_paste_config is
    # deprecated).
    for service in ('neutron', 'cinder'):
        shutil.copy(os.path.join(settings['venv'], 'etc', service,
                                 'api-paste.ini'), os.path.join(etc, service))
    write_settings(settings)
    write_clouds_yaml(settings)


def write_settings(settings):
    # Database URLs carry MariaDB's password in the multi-host mode.
    with private(os.path.join(settings['state'], 'aio.json')) as f:
        json.dump(settings, f, indent=1)


def write_joined_config(settings, nova, neutron):
    """A host that joined a controller: nova-compute's nova.conf and the
    VirtualBox agent's neutron.conf, without databases (Nova's conductor
    and neutron-server read them for it) or APIs of their own."""
    for section in ('api_database', 'database', 'wsgi', 'keystone_authtoken'):
        del nova[section]
    del nova['scheduler']
    for section in ('database', 'keystone_authtoken', 'nova'):
        del neutron[section]
    files = {'nova/nova.conf': ini(nova),
             'neutron/neutron.conf': ini(neutron)}
    for name, text in files.items():
        with private(os.path.join(settings['state'], 'etc', name)) as f:
            f.write('# Written by tools/allinone/aio.py join at every '
                    'start.\n')
            f.write(text)
    write_settings(settings)


def vrde_options(settings):
    """[virtualbox] options of the VMs' remote display: VNC on 127.0.0.1,
    without password (Nova's proxy cannot give one), when VirtualBox has
    the VNC extension pack."""
    if not settings.get('vnc'):
        return {'remote_display': 'false'}
    return {
        'remote_display': 'true',
        'vrde_module': 'VNC',
        'vrde_address': settings['my_ip'],
        'vrde_port': '%d-%d' % settings['vrde_ports'],
        # Real VirtualBox binds the first free port of the range when the
        # VM starts, skipping ports that other programs hold; the simulator
        # binds nothing and shows no port, so there each instance holds one
        # (vrde.port) for a console URL to exist.
        'vrde_unique_port': str(bool(settings['simulated'])).lower(),
    }


def write_novnc_web(settings, package):
    """Nova's noVNC proxy's web folder: the noVNC library (``package``,
    None when not installed) and our page, with a notice when there is no
    screen to show."""
    web = settings['novnc_web']
    shutil.rmtree(web, ignore_errors=True)
    if package:
        shutil.copytree(package, web, ignore=shutil.ignore_patterns(
            'docs', '*.md'))
    else:
        os.makedirs(web)
    notice = ''
    if package is None:
        notice = ('The noVNC client is not installed (npm was not found): '
                  'install npm and start the all-in-one again.')
    elif settings['simulated']:
        notice = ('This all-in-one runs on the VirtualBox simulator: no VM '
                  'runs, so there is no screen behind this console.')
    with open(os.path.join(HERE, NOVNC_PAGE)) as f:
        page = f.read()
    with open(os.path.join(web, NOVNC_PAGE), 'w') as f:
        f.write(page.replace('<!-- AIO_NOTICE -->', notice))


def endpoints(settings):
    """Keystone's catalog: {service type: URL}."""
    url = 'http://%s:%%d' % settings.get('controller', '127.0.0.1')
    points = {'identity': url % settings['keystone'] + '/v3',
              'compute': url % settings['nova'] + '/v2.1',
              'image': url % settings['glance'],
              'placement': url % settings['placement'],
              'network': url % settings['neutron']}
    if settings.get('volume_backend'):
        # Cinder's v3 API under both types in use: block-storage (the
        # CLI), volumev3 (Nova's [cinder] catalog_info, Tempest).
        for kind in ('block-storage', 'volumev3'):
            points[kind] = url % settings['cinder'] + '/v3/$(project_id)s'
    return points


def write_clouds_yaml(settings):
    """clouds.yaml with the admin's and the demo user's clouds, password
    authentication (JSON is valid YAML)."""
    secrets = read_secrets(settings['state'])
    clouds = {}
    for cloud, user in ((ADMIN_CLOUD, 'admin'), (DEMO_CLOUD, 'demo')):
        clouds[cloud] = {
            'auth': {'auth_url': endpoints(settings)['identity'],
                     'username': user, 'password': secrets[user],
                     'project_name': user, 'user_domain_name': 'Default',
                     'project_domain_name': 'Default'},
            'region_name': REGION, 'identity_api_version': '3'}
    with private(clouds_yaml_path(settings['state'])) as f:
        json.dump({'clouds': clouds}, f, indent=2)
        f.write('\n')


def private(path):
    """``path`` opened for writing, readable by this user only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, 'w')


def read_secrets(state):
    """STATE/secrets.json: the passwords of SECRETS, made at the first
    start (random) and kept."""
    import secrets as randomness
    path = os.path.join(state, 'secrets.json')
    try:
        with open(path) as f:
            kept = json.load(f)
    except FileNotFoundError:
        kept = {}
    if all(kept.get(name) for name in SECRETS):
        return kept
    kept = dict({name: randomness.token_urlsafe(15) for name in SECRETS},
                **{k: v for k, v in kept.items() if v})
    write_secrets(state, kept)
    return kept


def write_secrets(state, secrets):
    os.makedirs(state, exist_ok=True)
    with private(os.path.join(state, 'secrets.json')) as f:
        json.dump(secrets, f, indent=1)


def clouds_yaml_path(state):
    return os.path.join(state, 'clouds.yaml')


def env_lines(settings):
    return ['export OS_CLIENT_CONFIG_FILE=%s'
            % clouds_yaml_path(settings['state']),
            'export OS_CLOUD=%s' % DEMO_CLOUD,
            'export PATH=%s/bin:$PATH' % settings['venv']]


# --- Processes ----------------------------------------------------------

def pid_path(state, name):
    return os.path.join(state, 'run', name + '.pid')


def read_pid(state, name):
    """The pid of a running process of this state: a node.py service, or
    one of BACKING_PIDS (which write their own pid files)."""
    backing = name in BACKING_PIDS
    path = os.path.join(state, BACKING_PIDS[name]) if backing else \
        pid_path(state, name)
    try:
        with open(path) as f:
            pid = int(f.read().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    # Make sure the pid is still ours (not reused): its command line names
    # node.py (but for BACKING_PIDS) and this state folder.
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            cmdline = f.read().decode(errors='replace')
        if backing:
            # RabbitMQ's command line names no folder: its environment
            # does (multihost.rabbit_env).
            with open('/proc/%d/environ' % pid, 'rb') as f:
                cmdline += f.read().decode(errors='replace')
        if state not in cmdline or not (backing or 'node.py' in cmdline):
            return None
    except FileNotFoundError:
        if not os.path.isdir('/proc'):
            return pid
        return None
    return pid


def services_of(settings):
    """The node.py processes a start with these settings runs."""
    if settings.get('joined'):
        return JOINED_SERVICES
    return SERVICES + ((VOLUME_SERVICE,) if settings.get('volume_backend')
                       else ())


def backing_of(settings):
    """The processes of BACKING_PIDS a start with these settings runs."""
    if not settings.get('multi_host'):
        return ()
    return ('sshd',) if settings.get('joined') else tuple(BACKING_PIDS)


def running(state):
    names = SERVICES + (VOLUME_SERVICE,) + JOINED_SERVICES + \
        tuple(BACKING_PIDS)
    return {name: pid for name in names
            for pid in [read_pid(state, name)] if pid}


def saved_settings(state):
    """The settings of the last start (aio.json), {} before any."""
    try:
        with open(os.path.join(state, 'aio.json')) as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def port_free(port, address='127.0.0.1'):
    import socket
    with socket.socket() as s:
        # As the servers do: connections of a previous run in TIME_WAIT
        # do not make the port busy.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError:
            return False
    return True


def service_env(settings):
    """The environment of the services and of our VBoxManage calls."""
    env = dict(os.environ)
    env['PATH'] = os.path.join(settings['venv'], 'bin') + os.pathsep + \
        env.get('PATH', '')
    if settings['simulated']:
        env.setdefault('VBOXSIM_HOME', os.path.join(settings['state'],
                                                    'vboxsim'))
    if settings.get('multi_host'):
        env['RSYNC_RSH'] = multihost.rsync_rsh(settings)
    return env


def launch(settings, names):
    """Start node.py for each service of ``names``: {name: Popen}."""
    state = settings['state']
    python = os.path.join(settings['venv'], 'bin', 'python')
    env = service_env(settings)
    children = {}
    for name in names:
        log = os.path.join(state, 'logs', name + '.log')
        if os.path.exists(log):
            os.replace(log, log + '.1')  # this run's log starts empty
        try:
            os.unlink(os.path.join(state, 'run', name + '.status'))
        except FileNotFoundError:
            pass
        log = open(os.path.join(state, 'logs', name + '.out'), 'ab')
        proc = subprocess.Popen(
            [python, os.path.join(HERE, 'node.py'), name, state],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=env, cwd=state, start_new_session=True)
        log.close()
        with open(pid_path(state, name), 'w') as f:
            f.write('%d\n' % proc.pid)
        children[name] = proc
    return children


def wait_ready(settings, children, timeout, shown):
    """Show each service's progress until all are ready. ``shown``: how
    many lines of each service's status were shown (kept across calls)."""
    state = settings['state']
    for name in children:
        shown.setdefault(name, 0)
    deadline = time.monotonic() + timeout
    while True:
        ready = True
        for name, proc in children.items():
            path = os.path.join(state, 'run', name + '.status')
            try:
                with open(path) as f:
                    lines = f.read().splitlines()
            except FileNotFoundError:
                lines = []
            for line in lines[shown[name]:]:
                say('  [%s] %s' % (name, line))
            shown[name] = len(lines)
            if any(line.startswith('failed') for line in lines):
                raise Failed('%s failed to start: see %s' % (
                    name, os.path.join(state, 'logs', name + '.out')))
            if proc.poll() is not None:
                raise Failed('%s exited with %s while starting: see %s' % (
                    name, proc.returncode,
                    os.path.join(state, 'logs', name + '.out')))
            if not lines or lines[-1] != 'ready':
                ready = False
        if ready:
            return
        if time.monotonic() > deadline:
            raise Failed('not ready after %d s: see %s/logs' % (timeout,
                                                                state))
        time.sleep(0.3)


def check_http(settings):
    for name in ('keystone', 'nova', 'placement', 'glance', 'neutron',
                 'horizon'):
        url = 'http://127.0.0.1:%d/' % settings[name]
        try:
            urllib.request.urlopen(url, timeout=10).read()
        except urllib.error.HTTPError:
            pass  # it answered
        except OSError as e:
            raise Failed('%s does not answer on %s: %s' % (name, url, e))


def stop_all(state, timeout=60, children=None):
    everything = running(state)
    # Children started just now may not have exec'd node.py yet.
    for name, proc in (children or {}).items():
        if proc.poll() is None:
            everything.setdefault(name, proc.pid)
    if not everything:
        return False
    # The services first, then the broker, databases and sshd they use.
    for backing in (False, True):
        pids = {name: pid for name, pid in everything.items()
                if (name in BACKING_PIDS) == backing}
        if pids:
            _stop(state, pids, timeout)
    say('stopped')
    return True


def _stop(state, pids, timeout):
    say('stopping %s' % ', '.join('%s (pid %d)' % i for i in pids.items()))
    for pid in pids.values():
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = {n: p for n, p in pids.items() if _alive(p)}
        if not left:
            break
        time.sleep(0.3)
    for name, pid in pids.items():
        if _alive(pid):
            say('%s did not stop in %d s: killing it' % (name, timeout))
            for kill in (os.killpg, os.kill):  # os.kill: not a leader
                try:
                    kill(pid, signal.SIGKILL)
                    break
                except ProcessLookupError:
                    pass
        if name not in BACKING_PIDS:
            try:
                os.unlink(pid_path(state, name))
            except FileNotFoundError:
                pass


def _alive(pid):
    try:
        # Reap it if it is our child (foreground start).
        done, _status = os.waitpid(pid, os.WNOHANG)
        if done:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open('/proc/%d/stat' % pid) as f:
            if f.read().split(') ', 1)[1].startswith('Z'):
                return False
    except (FileNotFoundError, IndexError):
        pass
    return True


def first_server_create(settings):
    """The printed first server create: on the private network, or
    without networks where VirtualBox cannot start a NIC on one."""
    nic = '--nic none' if settings['driverless'] else \
        '--network %s' % FIRST_NETWORK
    return ('openstack server create --flavor %s --image %s %s --wait vm1'
            % (FIRST_FLAVOR, FIRST_IMAGE, nic))


def vbox_version(settings):
    result = subprocess.run([settings['vboxmanage'], '--version'],
                            env=service_env(settings), capture_output=True,
                            text=True, timeout=120)
    return 'version %s' % (result.stdout.strip() or '?')


def console_note(settings):
    """What `openstack console url show` leads to, in one line."""
    if not settings['vnc']:
        return ('consoles: the console log only; VirtualBox has no VNC '
                'extension pack, so no VM screens (openstack console url '
                'show answers "Unavailable console type")')
    if not settings['novnc']:
        return ('consoles: noVNC is not installed (no npm): console URLs '
                'lead to a page that says so')
    if settings['simulated']:
        return ('consoles: the SIMULATOR runs no VM, so there is NO SCREEN '
                'behind a console URL (its page says so); the console log '
                'shows what the simulator writes')
    return ('consoles: each VM\'s screen over VNC (VirtualBox VRDE with a '
            'per-VM password, 127.0.0.1:%d-%d, answered by the driver\'s '
            'console relay) through noVNC' % settings['vrde_ports'])


def announce(settings, started):
    points = endpoints(settings)
    if settings['simulated']:
        say('*** VirtualBox (VBoxManage) was not found: using the bundled '
            'VirtualBox SIMULATOR (%s, state in %s). No real VM runs. ***'
            % (settings['vboxmanage'], os.path.join(settings['state'],
                                                    'vboxsim')))
    else:
        say('VirtualBox: REAL, %s (%s); VMs in %s' % (
            settings['vboxmanage'], vbox_version(settings),
            settings['instances']))
    say('OpenStack is up in %.0f s, on 127.0.0.1 only; Keystone\'s '
        'catalog:' % (time.monotonic() - started))
    for service, url in points.items():
        say('  %-35s %s' % (service, url))
    if settings['no_volumes']:
        say('  %-35s none: %s' % ('volume', settings['no_volumes']))
    else:
        say('volumes: Cinder\'s %s backend (files under %s, exported by tgt '
            'as iSCSI LUNs with CHAP on %s:%d)' % (
                settings['volume_backend'],
                os.path.join(settings['state'], 'cinder', 'volumes'),
                settings['controller'], ISCSI_PORT))
    say('networks: %s (the demo project\'s, a VirtualBox internal network) '
        'and public (the admin\'s, the VirtualBox NAT network %s); '
        'addresses by VirtualBox\'s DHCP servers; no routers or floating '
        'IPs' % (FIRST_NETWORK, settings['nat_network']))
    if settings['driverless']:
        say('*** VirtualBox runs WITHOUT its kernel driver (no /dev/vboxdrv):'
            ' a VM with a NIC on a network cannot start '
            '(VERR_SUP_DRIVERLESS), so boot servers without networks '
            '(--nic none). Install VirtualBox\'s kernel modules for '
            'networks. ***')
    say('  %-35s http://127.0.0.1:%d/%s' % (
        'console (noVNC proxy)', settings['novncproxy'], NOVNC_PAGE))
    say(console_note(settings))
    say('  %-35s http://127.0.0.1:%d/ (log in as demo or admin, domain '
        'Default)' % ('dashboard (Horizon)', settings['horizon']))
    say('your own Nova options: %s (%s; read over the generated %s at '
        'every start)' % (settings['local_conf'], 'in use'
                          if settings['nova_local_conf'] else 'none yet',
                          os.path.join(settings['state'], 'etc', 'nova',
                                       'nova.conf')))
    say('users (Keystone, domain Default): admin (project admin) and demo '
        '(project demo, role member); their passwords are in %s and %s, '
        'readable only by you' % (
            clouds_yaml_path(settings['state']),
            os.path.join(settings['state'], 'secrets.json')))
    say('Use the openstack CLI as the demo user (OS_CLOUD=%s; the admin: '
        '--os-cloud %s):' % (DEMO_CLOUD, ADMIN_CLOUD))
    for line in env_lines(settings):
        print('    ' + line)
    print('    %s\n'
          '    openstack console log show vm1\n'
          '    openstack console url show vm1\n'
          '    openstack --os-cloud %s hypervisor list' % (
              first_server_create(settings), ADMIN_CLOUD), flush=True)
    say('logs: %s' % os.path.join(settings['state'], 'logs'))


def as_admin(settings, what, script, *args):
    """Run one of our openstacksdk scripts with the venv's Python as the
    admin (OS_CLOUD), saying what it printed."""
    python = os.path.join(settings['venv'], 'bin', 'python')
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=clouds_yaml_path(
        settings['state']), OS_CLOUD=ADMIN_CLOUD)
    result = subprocess.run([python, os.path.join(HERE, script)] +
                            list(args), env=env, capture_output=True,
                            text=True)
    if result.returncode:
        raise Failed('%s failed: %s' % (
            what, (result.stderr or result.stdout)[-2000:]))
    if result.stdout.strip():
        say(result.stdout.strip())


def ensure_identity(settings):
    """The demo and service projects and users, and the catalog."""
    catalog = endpoints(settings)
    del catalog['identity']  # keystone-manage bootstrap made that one
    as_admin(settings, 'setting up projects, users and the catalog',
             'identity.py', os.path.join(settings['state'], 'secrets.json'),
             REGION, json.dumps(catalog))


def ensure_flavors(settings):
    """Nova has no flavors out of the box: add the classic small ones."""
    as_admin(settings, 'creating flavors', 'flavors.py')


def ensure_networks(settings):
    """The demo project's private network and the shared public one,
    and Neutron's default security group rules."""
    as_admin(settings, 'creating the networks', 'networks.py',
             FIRST_NETWORK, PUBLIC_PHYSNET)


def ensure_first_image(settings):
    """Upload the tiny test guest as the public image FIRST_IMAGE unless
    an image of that name exists."""
    as_admin(settings, 'uploading the first image', 'image.py', '--name',
             FIRST_IMAGE, '--work-dir',
             os.path.join(settings['state'], 'run'))


def cmd_start(args):
    started = time.monotonic()
    state = os.path.abspath(args.state_dir)
    refuse_if_running(state)
    ensure_host_tools()
    install(args.venv)
    novnc = install_novnc(args.venv)
    settings = settings_for(args)
    kept = saved_settings(state)
    if kept and not kept.get('joined') and \
            kept.get('multi_host', False) != settings['multi_host']:
        raise Failed('%s holds a cloud started %s --multi-host (its '
                     'databases are %s): start it the same way, or pass '
                     'another --state-dir' % (
                         state, 'with' if kept['multi_host'] else 'without',
                         'MariaDB\'s' if kept['multi_host'] else 'SQLite'))
    if kept.get('joined'):
        raise Failed('%s is the state of a host that joined a controller: '
                     'use "aio.py join" with it, or pass another '
                     '--state-dir' % state)
    settings['nova_local_conf'] = read_local_conf(settings['local_conf'])
    check_ports(settings, list(PORTS) + (
        ['rabbit', 'mysql', 'ssh'] if settings['multi_host'] else []))
    settings['instances'] = place_instances(settings)
    settings['vnc'] = has_vnc_pack(settings)
    settings['driverless'] = runs_driverless(settings)
    settings['volume_backend'], settings['no_volumes'] = volume_backend()
    settings['novnc'] = novnc is not None
    write_config(settings)
    write_novnc_web(settings, novnc)
    say('starting (state in %s; it is kept for the next start)' % state)
    identity_ready = os.path.join(state, 'run', node.IDENTITY_READY)
    if os.path.exists(identity_ready):
        os.unlink(identity_ready)
    children = {}
    shown = {}
    try:
        if settings['multi_host']:
            start_backing(settings)
        children = launch(settings, services_of(settings))
        wait_ready(settings, {'keystone': children['keystone']},
                   args.timeout, shown)
        ensure_identity(settings)
        with open(identity_ready, 'w'):
            pass  # node.py's nova waits for it before its compute starts
        wait_ready(settings, children, args.timeout, shown)
        check_http(settings)
        ensure_flavors(settings)
        ensure_networks(settings)
        ensure_first_image(settings)
    except BaseException:
        stop_all(state, children=children)
        raise
    announce(settings, started)
    if args.detach:
        say('running in the background; stop with: %s %s%s stop' % (
            os.path.basename(sys.executable), os.path.relpath(__file__),
            '' if state == DEFAULT_STATE else ' --state-dir %s' % state))
        return 0
    say('press Ctrl-C to stop')
    stop_signals = []

    def handler(signum, frame):
        stop_signals.append(signum)
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    while not stop_signals:
        if any(proc.poll() is not None for proc in children.values()):
            say('a service exited; stopping the others (see %s/logs)'
                % state)
            break
        time.sleep(0.5)
    stop_all(state, children=children)
    return 0


def refuse_if_running(state):
    already = running(state)
    if already:
        raise Failed('already running (%s); "aio.py stop" first' % ', '.join(
            '%s pid %d' % i for i in already.items()))


def check_ports(settings, names):
    for name in names:
        if not port_free(settings[name], settings['bind']):
            raise Failed('port %s:%d (%s) is in use; stop what uses it or '
                         'pass --port-offset' % (settings['bind'],
                                                 settings[name], name))


def ensure_packages(settings):
    """The Debian packages of the multi-host mode (multihost.py), installed
    as root with apt-get, else named."""
    missing = multihost.missing_packages(not settings.get('joined'))
    if not missing:
        return
    if os.geteuid() != 0 or not shutil.which('apt-get'):
        raise Failed('the multi-host mode needs %s: install %s (as root: '
                     'apt-get install %s)' % (', '.join(missing),
                                              'them' if len(missing) > 1
                                              else 'it', ' '.join(missing)))
    apt_install(missing, ['the multi-host mode'])


def start_backing(settings):
    """The multi-host mode's RabbitMQ and MariaDB (on the controller) and
    this host's sshd; the controller then writes the join file."""
    ensure_packages(settings)
    state = settings['state']
    secrets = read_secrets(state)
    # A joined host wrote the controller's key already (cmd_join).
    key = None if settings.get('joined') else \
        multihost.ensure_migration_key(state)
    logs = os.path.join(state, 'logs')
    steps = [('sshd', lambda log: multihost.start_sshd(settings, log))]
    if not settings.get('joined'):
        steps = [
            ('mariadb',
             lambda log: multihost.start_mariadb(settings, secrets, log)),
            ('rabbitmq',
             lambda log: multihost.start_rabbitmq(settings, secrets, log)),
        ] + steps
    for name, start in steps:
        say('starting %s' % name)
        with open(os.path.join(logs, name + '.out'), 'ab') as log:
            try:
                start(log)
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                raise Failed('%s: %s' % (name, e))
    if not settings.get('joined'):
        multihost.write_join_file(settings, secrets, key)


def cmd_stop(args):
    if not stop_all(os.path.abspath(args.state_dir)):
        say('not running')
    return 0


def cmd_join(args):
    """Serve as one more compute host of a controller started with
    --multi-host: nova-compute and the VirtualBox agent, and this host's
    sshd for migrations, from the controller's join file."""
    started = time.monotonic()
    try:
        joined = multihost.read_join_file(args.join_file)
    except (OSError, ValueError) as e:
        raise Failed('cannot read the join file: %s (copy STATE/%s from '
                     'the controller)' % (e, multihost.JOIN_FILE))
    state = os.path.abspath(args.state_dir)
    refuse_if_running(state)
    kept = saved_settings(state)
    if kept and not kept.get('joined'):
        raise Failed('%s holds a controller\'s cloud: pass another '
                     '--state-dir for this host' % state)
    ensure_host_tools()
    install(args.venv)
    settings = settings_for(args)
    settings.update({name: joined[name]
                     for name in multihost.JOINED_SETTINGS})
    my_ip = args.address or multihost.address_towards(joined['controller'])
    settings.update(joined=True, multi_host=True,
                    controller=joined['controller'], my_ip=my_ip,
                    bind=my_ip, host=args.host or socket.gethostname(),
                    novnc=False)
    write_secrets(state, dict(read_secrets(state), **joined['secrets']))
    settings['nova_local_conf'] = read_local_conf(settings['local_conf'])
    check_ports(settings, ['ssh'])
    os.makedirs(settings['instances'], exist_ok=True)
    settings['vnc'] = has_vnc_pack(settings)
    settings['driverless'] = runs_driverless(settings)
    write_config(settings)
    multihost.ensure_migration_key(state, joined['migration_key'])
    children = {}
    try:
        start_backing(settings)
        children = launch(settings, JOINED_SERVICES)
        wait_ready(settings, children, args.timeout, {})
    except BaseException:
        stop_all(state, children=children)
        raise
    say('host %s (%s) joined the controller at %s in %.0f s: nova-compute '
        'with %s VirtualBox (%s), the VirtualBox agent, sshd on %s:%d for '
        'migrations; VMs in %s; logs in %s' % (
            settings['host'], my_ip, settings['controller'],
            time.monotonic() - started,
            'the SIMULATED' if settings['simulated'] else 'REAL',
            settings['vboxmanage'], my_ip, settings['ssh'],
            settings['instances'], os.path.join(state, 'logs')))
    say('the controller maps it to its cell within seconds: openstack '
        '--os-cloud %s hypervisor list (on the controller)' % ADMIN_CLOUD)
    say('stop it with: %s %s --state-dir %s stop' % (
        os.path.basename(sys.executable), os.path.relpath(__file__), state))
    return 0


def cmd_status(args):
    state = os.path.abspath(args.state_dir)
    pids = running(state)
    kept = saved_settings(state)
    names = services_of(kept) + backing_of(kept)
    for name in names:
        say('%-7s %s' % (name, 'running, pid %d' % pids[name]
                         if name in pids else 'stopped'))
    return 0 if set(pids) == set(names) else 3


def cmd_env(args):
    settings = settings_for(args)
    for line in env_lines(settings):
        print(line)
    return 0


def cmd_tempest(args):
    """Tempest against the running cloud (tempestrun.py)."""
    state = os.path.abspath(args.state_dir)
    settings = saved_settings(state)
    if not set(services_of(settings)) <= set(running(state)):
        raise Failed('the cloud is not running: start it first (aio.py '
                     'start -d)')
    import tempestrun
    return tempestrun.run(settings, regex=args.regex, ci=args.ci)


def cmd_install(args):
    install(args.venv, force=args.force)
    install_novnc(args.venv)
    say('venv ready: %s' % args.venv)
    return 0


def add_service_options(parser):
    """What both start and join take: the simulator, debug logging, the
    time to wait for the services."""
    parser.add_argument('--simulator', action='store_true',
                        help='use the VirtualBox simulator even when '
                             'VBoxManage is installed')
    parser.add_argument('--debug', action='store_true',
                        help='debug logging in the services')
    parser.add_argument('--timeout', type=int, default=300,
                        help='seconds to wait for the services (300)')


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog='aio.py', description='A single-node OpenStack (Nova with the '
        'VirtualBox driver, Placement, Glance) on 127.0.0.1.')
    parser.add_argument('--state-dir', default=os.environ.get(
        'AIO_STATE_DIR', DEFAULT_STATE), help='databases, images, VMs, logs '
        '(default .aio/state; kept between starts)')
    parser.add_argument('--venv', default=os.environ.get(
        'AIO_VENV', DEFAULT_VENV), help='the virtualenv (default .aio/venv)')
    parser.add_argument('--port-offset', type=int, default=int(
        os.environ.get('AIO_PORT_OFFSET', '0')), help='added to every port '
        '(8774 Nova, 8778 Placement, 9292 Glance, 9696 Neutron)')
    parser.add_argument('--local-conf', default=os.environ.get(
        'AIO_LOCAL_CONF', DEFAULT_LOCAL_CONF), help='your own Nova options '
        '(oslo.config INI), read over the generated nova.conf (default '
        '.aio/local.conf)')
    sub = parser.add_subparsers(dest='command', required=True)
    start = sub.add_parser('start', help='install if needed and start')
    start.add_argument('-d', '--detach', action='store_true',
                       help='return once started, leave it running')
    add_service_options(start)
    start.add_argument('--multi-host', action='store_true',
                       help='RabbitMQ and MariaDB (installed as root with '
                            'apt-get), so that other VirtualBox hosts can '
                            'join: see STATE/join.json')
    start.add_argument('--address', help='the address other hosts reach '
                       'this one at (--multi-host; default 127.0.0.1: '
                       'hosts on this machine only)')
    start.set_defaults(func=cmd_start)
    join = sub.add_parser('join', help='serve as one more compute host of '
                          'a controller started with --multi-host')
    join.add_argument('join_file', help="the controller's STATE/join.json, "
                      'copied here (it holds secrets)')
    join.add_argument('--address', help='the address the controller and '
                      'the other hosts reach this one at (default: the one '
                      'this host reaches the controller from)')
    join.add_argument('--host', help="Nova's name of this host (default: "
                      'its hostname)')
    add_service_options(join)
    join.set_defaults(func=cmd_join)
    sub.add_parser('stop', help='stop everything').set_defaults(
        func=cmd_stop)
    sub.add_parser('status', help='what runs').set_defaults(func=cmd_status)
    env = sub.add_parser('env', help='shell lines to point the openstack '
                         'CLI here')
    env.add_argument('--simulator', action='store_true',
                     help=argparse.SUPPRESS)
    env.add_argument('--debug', action='store_true', help=argparse.SUPPRESS)
    env.set_defaults(func=cmd_env)
    tempest = sub.add_parser(
        'tempest', help='run Tempest (installed on first use) against the '
        'running cloud: the CI subset, or the tests REGEX matches')
    tempest.add_argument('regex', nargs='?', help='e.g. '
                         'tempest.api.compute.servers (default: the CI '
                         'subset, tools/allinone/tempest-subset.txt)')
    tempest.add_argument('--ci', action='store_true', help='fail on a skip '
                         'tempest-excluded.txt does not list, or when too '
                         'few tests ran')
    tempest.set_defaults(func=cmd_tempest)
    inst = sub.add_parser('install', help='only create or update the venv')
    inst.add_argument('--force', action='store_true',
                      help='run the full pip install again')
    inst.set_defaults(func=cmd_install)
    args = parser.parse_args(argv)
    args.venv = os.path.abspath(args.venv)
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return args.func(args)
    except Failed as e:
        say('ERROR: %s' % e)
        return 1


if __name__ == '__main__':
    sys.exit(main())
