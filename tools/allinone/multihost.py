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

"""The all-in-one's multi-host mode (``aio.py start --multi-host`` on the
controller, ``aio.py join JOIN_FILE`` on each other VirtualBox host).

The controller runs RabbitMQ (oslo.messaging's transport for Nova and
Neutron, so that compute services and agents of other machines reach
them) and MariaDB (every service's database), each from Debian's packages,
as this user's own processes with their data under STATE (no system
service is touched). It writes STATE/join.json: what another host needs to
serve as a compute host (the controller's address and ports, the broker's
password, the service users' password, the migration key). The database
password stays on the controller: compute hosts reach the database only
through Nova's conductor.

Every host (the controller is a compute host too) runs its own sshd on
SSH_PORT for the disk copies of cold migrations and resizes between hosts:
Nova's remote filesystem helpers run rsync over ssh (RSYNC_RSH) with the
cloud's migration key, which every host's sshd accepts. The VM folders
live at the same path on every host (the controller's instances path), as
Nova expects of its hosts.

Only the standard library here: aio.py imports it before the venv exists.
"""

import os
import shutil
import socket
import subprocess
import time
import urllib.parse

# The controller's ports (plus aio.py's --port-offset); sshd's is the same
# on every host (one RSYNC_RSH serves every destination).
RABBIT_PORT = 5672
MYSQL_PORT = 3306
SSH_PORT = 2222
# Debian packages: the command that tells each is installed.
CONTROLLER_PACKAGES = {'rabbitmq-server': '/usr/lib/rabbitmq/bin/'
                       'rabbitmq-server',
                       'mariadb-server': 'mariadbd'}
HOST_PACKAGES = {'openssh-server': '/usr/sbin/sshd', 'rsync': 'rsync'}
# MariaDB's user for every service, and one database per service.
DB_USER = 'aio'
DATABASES = ('keystone', 'nova_api', 'nova_cell0', 'nova_cell1',
             'placement', 'glance', 'neutron', 'cinder')
BROKER_USER = 'aio'
JOIN_FILE = 'join.json'
# What a joining host takes from the controller's settings.
JOINED_SETTINGS = ('keystone', 'nova', 'placement', 'glance', 'neutron',
                   'cinder', 'novncproxy', 'horizon', 'rabbit', 'ssh',
                   'region', 'instances', 'nat_network', 'volume_backend')


def missing_packages(controller):
    """The Debian packages this host lacks for the multi-host mode."""
    wanted = dict(HOST_PACKAGES, **(CONTROLLER_PACKAGES if controller
                                    else {}))
    return [package for package, command in sorted(wanted.items())
            if not (os.path.exists(command) if os.path.isabs(command)
                    else shutil.which(command))]


def transport_url(settings, secrets):
    """oslo.messaging's URL: the controller's RabbitMQ, else the
    in-memory bus of one process."""
    if not settings.get('multi_host'):
        return 'fake://'
    return 'rabbit://%s:%s@%s:%d/' % (
        BROKER_USER, urllib.parse.quote(secrets['broker'], safe=''),
        settings['controller'], settings['rabbit'])


def database_url(settings, secrets, name):
    """SQLAlchemy's URL of one service's MariaDB database."""
    return 'mysql+pymysql://%s:%s@%s:%d/%s?charset=utf8mb4' % (
        DB_USER, urllib.parse.quote(secrets['database'], safe=''),
        settings['controller'], settings['mysql'], name)


def rsync_rsh(settings):
    """How Nova's rsync reaches another host: the cloud's migration key,
    the hosts' sshd port, this host's own known_hosts."""
    ssh = ssh_dir(settings['state'])
    return ('ssh -p %d -i %s -o BatchMode=yes -o IdentitiesOnly=yes '
            '-o UserKnownHostsFile=%s -o StrictHostKeyChecking=accept-new '
            '-o LogLevel=ERROR'
            % (settings['ssh'], os.path.join(ssh, 'migration_key'),
               os.path.join(ssh, 'known_hosts')))


def address_towards(controller):
    """This host's address on the way to the controller (no packet is
    sent: a UDP socket's connect only picks the route)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect((controller, 9))
        return s.getsockname()[0]


def ssh_dir(state):
    return os.path.join(state, 'ssh')


# --- The controller's broker and databases -------------------------------

def _private_file(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write(text)


def _wait(check, timeout, what):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError('%s did not start in %d s' % (what, timeout))
        time.sleep(0.3)


def rabbit_env(settings):
    """RabbitMQ's environment: its node, data and logs under STATE."""
    base = os.path.join(settings['state'], 'rabbitmq')
    return dict(
        os.environ,
        RABBITMQ_NODENAME='aio-%d@localhost' % settings['rabbit'],
        RABBITMQ_NODE_IP_ADDRESS=settings['controller'],
        RABBITMQ_NODE_PORT=str(settings['rabbit']),
        RABBITMQ_DIST_PORT=str(settings['rabbit'] + 20000),
        RABBITMQ_MNESIA_BASE=os.path.join(base, 'mnesia'),
        RABBITMQ_LOG_BASE=os.path.join(base, 'log'),
        RABBITMQ_PID_FILE=os.path.join(base, 'rabbitmq.pid'),
        RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(base, 'enabled_plugins'),
        RABBITMQ_CONFIG_FILE=os.path.join(base, 'rabbitmq'))


def start_rabbitmq(settings, secrets, log):
    """RabbitMQ for this cloud, its user made from its configuration file
    (no password on a command line). Returns its Popen."""
    base = os.path.join(settings['state'], 'rabbitmq')
    os.makedirs(base, exist_ok=True)
    with open(os.path.join(base, 'enabled_plugins'), 'w') as f:
        f.write('[].\n')
    _private_file(os.path.join(base, 'rabbitmq.conf'), (
        'default_user = %s\ndefault_pass = %s\n'
        'default_permissions.configure = .*\n'
        'default_permissions.read = .*\ndefault_permissions.write = .*\n'
        'log.file.level = warning\n' % (BROKER_USER, secrets['broker'])))
    env = rabbit_env(settings)
    bindir = os.path.dirname(CONTROLLER_PACKAGES['rabbitmq-server'])
    # The script itself, not Debian's /usr/sbin wrapper, which runs it as
    # the rabbitmq user (who cannot write STATE).
    proc = subprocess.Popen([os.path.join(bindir, 'rabbitmq-server')],
                            stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, env=env,
                            start_new_session=True)
    waited = subprocess.run(
        [os.path.join(bindir, 'rabbitmqctl'), '-n', env['RABBITMQ_NODENAME'],
         'wait', env['RABBITMQ_PID_FILE'], '--timeout', '120'],
        env=env, capture_output=True, text=True)
    if waited.returncode:
        proc.kill()
        raise RuntimeError('RabbitMQ did not start: %s (its log: %s)' % (
            (waited.stderr or waited.stdout).strip()[-500:],
            env['RABBITMQ_LOG_BASE']))
    return proc


def stop_rabbitmq(settings):
    env = rabbit_env(settings)
    bindir = os.path.dirname(CONTROLLER_PACKAGES['rabbitmq-server'])
    subprocess.run([os.path.join(bindir, 'rabbitmqctl'), '-n',
                    env['RABBITMQ_NODENAME'], 'stop'], env=env,
                   capture_output=True, timeout=120)


def mysql_socket(settings):
    return os.path.join(settings['state'], 'run', 'mysqld.sock')


def _mysql(settings, sql):
    """Run SQL as MariaDB's root over its socket (root's password-less
    socket login): the statements, passwords included, on stdin."""
    return subprocess.run(['mariadb', '--no-defaults', '-u', 'root',
                           '-S', mysql_socket(settings)], input=sql,
                          capture_output=True, text=True, timeout=60)


def start_mariadb(settings, secrets, log):
    """MariaDB for this cloud: its data under STATE/mysql, the databases
    and their user made at each start when missing. Returns its Popen."""
    data = os.path.join(settings['state'], 'mysql')
    if not os.path.isdir(os.path.join(data, 'mysql')):
        made = subprocess.run(
            ['mariadb-install-db', '--no-defaults', '--datadir=' + data,
             '--user=%s' % _user(), '--auth-root-authentication-method=socket',
             '--skip-test-db'], capture_output=True, text=True)
        if made.returncode:
            raise RuntimeError('mariadb-install-db failed: %s'
                               % made.stdout[-500:] + made.stderr[-500:])
    proc = subprocess.Popen(
        ['mariadbd', '--no-defaults', '--datadir=' + data,
         '--socket=' + mysql_socket(settings), '--port=%d' % settings['mysql'],
         '--bind-address=' + settings['controller'], '--user=%s' % _user(),
         '--pid-file=' + os.path.join(settings['state'], 'run',
                                      'mysqld.pid'),
         '--log-error=' + os.path.join(settings['state'], 'logs',
                                       'mariadb.log'),
         '--max-connections=1000', '--skip-name-resolve'],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    _wait(lambda: proc.poll() is not None or
          _mysql(settings, 'SELECT 1;').returncode == 0, 60, 'MariaDB')
    if proc.poll() is not None:
        raise RuntimeError('MariaDB exited at its start: see %s'
                           % os.path.join(settings['state'], 'logs',
                                          'mariadb.log'))
    password = secrets['database'].replace("'", "''")
    sql = ["CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s';"
           % (DB_USER, password),
           "ALTER USER '%s'@'%%' IDENTIFIED BY '%s';" % (DB_USER, password)]
    for name in DATABASES:
        sql.append('CREATE DATABASE IF NOT EXISTS %s CHARACTER SET utf8mb4;'
                   % name)
        sql.append("GRANT ALL ON %s.* TO '%s'@'%%';" % (name, DB_USER))
    done = _mysql(settings, '\n'.join(sql))
    if done.returncode:
        proc.terminate()
        raise RuntimeError('could not make the databases: %s'
                           % done.stderr.strip()[-500:])
    return proc


def _user():
    import pwd
    return pwd.getpwuid(os.geteuid()).pw_name


# --- Every host's sshd for migrations -------------------------------------

def ensure_migration_key(state, joined=None):
    """The cloud's migration key pair in STATE/ssh: made on the controller,
    taken from the join file (``joined``) on another host; every host's
    sshd accepts it."""
    ssh = ssh_dir(state)
    os.makedirs(ssh, mode=0o700, exist_ok=True)
    key = os.path.join(ssh, 'migration_key')
    if joined:
        _private_file(key, joined['private'])
        _private_file(key + '.pub', joined['public'])
    elif not os.path.exists(key):
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C',
                        'nova-virtualbox migrations', '-f', key], check=True)
    with open(key) as f:
        private = f.read()
    with open(key + '.pub') as f:
        public = f.read()
    _private_file(os.path.join(ssh, 'authorized_keys'), public)
    return {'private': private, 'public': public}


def start_sshd(settings, log):
    """This host's sshd on its address and SSH_PORT (plus the offset), its
    own host key, the migration key as the only way in. Returns its
    Popen."""
    ssh = ssh_dir(settings['state'])
    host_key = os.path.join(ssh, 'host_key')
    if not os.path.exists(host_key):
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f',
                        host_key], check=True)
    config = os.path.join(ssh, 'sshd_config')
    with open(config, 'w') as f:
        f.write('\n'.join([
            'ListenAddress %s:%d' % (settings['my_ip'], settings['ssh']),
            'HostKey %s' % host_key,
            'AuthorizedKeysFile %s' % os.path.join(ssh, 'authorized_keys'),
            'PidFile %s' % os.path.join(settings['state'], 'run',
                                        'sshd.pid'),
            # The state may live under /tmp, whose mode StrictModes
            # refuses; the key file is ours, 0600 in a 0700 folder.
            'StrictModes no',
            'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
            'PermitRootLogin prohibit-password', 'UsePAM no',
            'AllowTcpForwarding no', 'X11Forwarding no', '']))
    if os.geteuid() == 0:
        os.makedirs('/run/sshd', mode=0o755, exist_ok=True)  # privsep
    proc = subprocess.Popen([HOST_PACKAGES['openssh-server'], '-D', '-e',
                             '-f', config], stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)

    def listening():
        if proc.poll() is not None:
            return True
        with socket.socket() as s:
            return s.connect_ex((settings['my_ip'], settings['ssh'])) == 0
    _wait(listening, 30, 'sshd')
    if proc.poll() is not None:
        raise RuntimeError('sshd exited at its start: see %s' % log.name)
    return proc


# --- The join file --------------------------------------------------------

def join_path(state):
    return os.path.join(state, JOIN_FILE)


def write_join_file(settings, secrets, key):
    """STATE/join.json for `aio.py join` on another host (secret: the
    broker's and the service users' passwords, the migration key)."""
    import json
    joined = {name: settings[name] for name in JOINED_SETTINGS}
    joined.update(controller=settings['controller'],
                  secrets={'service': secrets['service'],
                           'broker': secrets['broker']},
                  migration_key=key)
    _private_file(join_path(settings['state']),
                  json.dumps(joined, indent=1) + '\n')


def read_join_file(path):
    import json
    with open(path) as f:
        joined = json.load(f)
    missing = [n for n in JOINED_SETTINGS + ('controller', 'secrets',
                                             'migration_key')
               if n not in joined]
    if missing:
        raise ValueError('%s is not a join file of aio.py start '
                         '--multi-host (no %s)' % (path, ', '.join(missing)))
    return joined
