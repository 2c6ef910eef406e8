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

"""The service processes of the all-in-one cloud (run with the venv's Python).

``node.py nova STATE_DIR``: one process holding Nova's API (WSGI, port 8774),
conductor, scheduler and compute (VBoxDriver), its noVNC proxy (6080) and
Placement (WSGI, 8778). Nova's services talk over oslo.messaging's
in-memory ``fake://`` transport, the way Nova's own functional tests run
them: no broker, so they must share a process. Native threads, no eventlet.

``node.py keystone STATE_DIR``: Keystone (WSGI, 5000), set up with
keystone-manage (database, fernet keys, the admin user and the identity
endpoint) at each start; aio.py then adds the rest (identity.py).

``node.py neutron STATE_DIR``: Neutron's API (WSGI, 9696) with ML2 and
the ``virtualbox`` mechanism driver, its RPC listeners and the VirtualBox
agent (networking_virtualbox), on their own in-memory bus.

``node.py glance STATE_DIR``: Glance's API (WSGI, 9292) with its file store.
Glance keeps its options in oslo.config's global CONF like Nova, so it gets a
process of its own.

``node.py horizon STATE_DIR``: Horizon (WSGI, 8080, and its static files),
configured by dashboard.py; Django's settings are process-wide, so it gets
a process of its own.

Keystone, Nova, Glance, Neutron and Horizon serve WSGI with cheroot (threaded
HTTP/1.1 with chunked uploads: Nova uploads snapshots to Glance chunked), on
127.0.0.1; an application's wsgi.input.close() does not close the connection
(KeptInput). Their SQLite transactions wait for each other (sqlite_tx).
Each process writes its progress to STATE_DIR/run/NAME.status (one line per
step, "ready" last) for aio.py to show, and stops cleanly on SIGTERM or
SIGINT.
"""

import json
import logging
import os
import signal
import sys
import threading
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
# STATE_DIR/run/IDENTITY_READY: written by aio.py when Keystone's service
# users and catalog are there (identity.py), removed before a start.
IDENTITY_READY = 'identity.ready'


class KeptInput:
    """A request's wsgi.input whose close() leaves the connection open.

    cheroot's wsgi.input.close() closes the reading side of the client's
    keep-alive connection, and Glance closes its upload stream once stored
    (glance.location: ``data.close()``). cheroot then fails to read the
    next request on that connection and answers it "500 Internal Server
    Error" without calling the application ("ValueError: I/O operation on
    closed file" in glance.out). Nova uploads a snapshot and at once GETs
    the image on the same pooled connection: when the GET went out before
    the 500 arrived, Nova got the 500, reverted image_uploading and deleted
    the image it had just uploaded. PEP 3333 gives wsgi.input no close();
    the server closes the connection when it is done with it.
    """

    def __init__(self, stream):
        self._stream = stream

    def read(self, *args):
        return self._stream.read(*args)

    def readline(self, *args):
        return self._stream.readline(*args)

    def readlines(self, *args):
        return self._stream.readlines(*args)

    def __iter__(self):
        return iter(self._stream)

    def __getattr__(self, name):
        return getattr(self._stream, name)

    def close(self):
        pass


def keep_input_open(app):
    def wrapped(environ, start_response):
        if 'wsgi.input' in environ:
            environ['wsgi.input'] = KeptInput(environ['wsgi.input'])
        return app(environ, start_response)
    return wrapped


def start_server(label, address, port, app):
    """A started cheroot WSGI server for ``app`` on ``address:port``."""
    from cheroot import wsgi
    server = wsgi.Server((address, port), keep_input_open(app),
                         numthreads=16, server_name='aio-' + label)
    server.prepare()
    thread = threading.Thread(target=server.serve, name='wsgi-' + label,
                              daemon=True)
    thread.start()
    return server


def start_novncproxy(address, port, web_dir):
    """Nova's noVNC proxy (what nova-novncproxy serves), started in a
    thread of this process on ``address:port``, serving ``web_dir``.

    It must live in the process of the compute: before it connects a
    console it asks the compute over RPC (validate_console_port), and RPC
    is this process's in-memory bus. nova-novncproxy's websockify server
    forks a process per connection, whose copy of the bus has no compute
    behind it (the request waits for the RPC timeout); websockify's
    LibProxyServer serves each connection in a thread instead. It would
    chdir the whole process to the web folder: the handler reads files
    from ``web_dir`` instead.
    """
    from websockify import websocketproxy as websockify_proxy

    from nova.console.securityproxy import rfb
    from nova.console import websocketproxy

    class Handler(websocketproxy.NovaProxyRequestHandler):
        def translate_path(self, path):
            self.directory = web_dir
            return super().translate_path(path)

    class Server(websockify_proxy.LibProxyServer):
        daemon_threads = True

        def stop(self):
            self.shutdown()
            self.server_close()

    server = Server(RequestHandlerClass=Handler, listen_host=address,
                    listen_port=port)
    server.only_upgrade = False  # serve the page too, not only WebSockets
    server.file_only = True
    server.security_proxy = rfb.RFBSecurityProxy()
    server.logger = websocketproxy.NovaWebSocketProxy.get_logger()
    threading.Thread(target=server.serve_forever, name='wsgi-novncproxy',
                     daemon=True).start()
    return server


class Node:

    def __init__(self, name, state_dir):
        self.name = name
        self.state_dir = state_dir
        self.settings = json.load(open(os.path.join(state_dir, 'aio.json')))
        self.status_path = os.path.join(state_dir, 'run', name + '.status')
        self.servers = []
        self.stopping = threading.Event()
        with open(self.status_path, 'w'):
            pass

    def step(self, text):
        with open(self.status_path, 'a') as f:
            f.write(text + '\n')

    def wait_for_identity(self, timeout=300):
        """Wait until aio.py has made Keystone's service users and
        catalog (it writes IDENTITY_READY once identity.py is done)."""
        path = os.path.join(self.state_dir, 'run', IDENTITY_READY)
        if os.path.exists(path):
            return
        self.step('waiting for Keystone\'s users and catalog')
        deadline = time.monotonic() + timeout
        while not os.path.exists(path):
            if time.monotonic() > deadline:
                raise RuntimeError('Keystone\'s users and catalog were not '
                                   'made in %d s' % timeout)
            time.sleep(0.3)

    @property
    def address(self):
        """Where the APIs listen (aio.py's bind: loopback unless other
        hosts must reach them)."""
        return self.settings.get('bind', '127.0.0.1')

    def serve(self, label, port, app):
        self.servers.append(start_server(label, self.address, port, app))

    def wait(self, on_stop):
        def handler(signum, frame):
            self.stopping.set()
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
        self.step('ready')
        while not self.stopping.wait(1):
            pass
        self.step('stopping')
        for server in self.servers:
            server.stop()
        on_stop()
        self.step('stopped')


def run_nova(node):
    # Native threads for every Nova service in this process, as nova-compute
    # runs in 2026.2; eventlet is refused from here on.
    os.environ['OS_NOVA_DISABLE_EVENTLET_PATCHING'] = '1'
    from nova import monkey_patch
    monkey_patch.patch(backend='threading')
    # Before any database is opened: transactions of the many threads wait
    # for each other instead of failing with "database is locked".
    import sqlite_tx
    sqlite_tx.install()

    from oslo_config import cfg
    from oslo_log import log as logging
    from paste import deploy

    from nova.api.openstack import wsgi_app
    from nova.cmd import manage
    from nova import context
    from nova import objects
    from nova import rpc
    from nova import service
    from nova import servicegroup

    settings = node.settings
    if not settings.get('multi_host'):
        # One in-memory bus for the whole process, whatever URL a cell
        # mapping names (Nova's RPCFixture does the same for its
        # functional tests).
        buses = {}
        real_create_transport = rpc.create_transport

        def one_bus(url):
            if None not in buses:
                buses[None] = real_create_transport(None)
            return buses[None]
        rpc.create_transport = one_bus

    log = read_nova_config(node)
    CONF = cfg.CONF

    node.step('Nova: creating or upgrading the databases')
    manage.ApiDbCommands().sync()
    cells = manage.CellV2Commands()
    ctxt = context.get_admin_context()
    mappings = objects.CellMappingList.get_all(ctxt)
    if not any(m.is_cell0() for m in mappings):
        cells.map_cell0(database_connection=settings['cell0_db'])
    if not any(m.name == 'cell1' for m in mappings):
        cells.create_cell(name='cell1', transport_url=CONF.transport_url,
                          database_connection=CONF.database.connection)
    manage.DbCommands().sync()

    node.step('Placement: starting on %s:%d'
              % (node.address, settings['placement']))
    placement_app = load_placement(node)
    node.serve('placement', settings['placement'], placement_app)

    # Conductor, scheduler and compute open their Placement client as
    # Nova's Keystone user at once.
    node.wait_for_identity()
    node.step('Nova: starting conductor and scheduler')
    init_host_libraries()
    services = [
        service.Service.create(binary='nova-conductor', topic='conductor'),
        service.Service.create(binary='nova-scheduler', topic='scheduler'),
    ]
    for svc in services:
        svc.start()

    services.append(start_compute(node))

    node.step('Nova: mapping the compute host to cell1')
    deadline = time.monotonic() + 60
    while True:
        objects.host_mapping.discover_hosts(ctxt)
        try:
            objects.HostMapping.get_by_host(ctxt, CONF.host)
            break
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)

    # After a restart the compute's service record is as old as the last
    # stop, and the scheduler's ComputeFilter refuses the host ("has not
    # been heard from") until the first report, seconds after the start.
    node.step('Nova: waiting for the compute service to report in')
    group = servicegroup.API()
    deadline = time.monotonic() + 60
    while not group.service_is_up(
            objects.Service.get_by_compute_host(ctxt, CONF.host)):
        if time.monotonic() > deadline:
            raise RuntimeError('nova-compute did not report in 60 s')
        time.sleep(1)

    node.step('Nova API: starting on %s:%d' % (node.address, settings['nova']))
    wsgi_app._setup_service(CONF.host, 'osapi_compute')
    api = deploy.loadapp('config:%s' % CONF.wsgi.api_paste_config,
                         name='osapi_compute')
    node.serve('nova', settings['nova'], api)

    node.step('noVNC proxy: starting on %s:%d'
              % (node.address, settings['novncproxy']))
    node.servers.append(start_novncproxy(node.address,
                                         settings['novncproxy'],
                                         settings['novnc_web']))

    node.wait(lambda: stop_services(log, 'Nova', services))
    # Non-daemon threads of the libraries must not keep the process alive.
    logging.getLogger('aio.node').info('stopped')
    os._exit(0)


def read_nova_config(node):
    """Parse nova.conf (and the user's local.conf over it), set logging
    up, register Nova's objects; returns our logger."""
    from oslo_config import cfg
    from oslo_log import log as logging

    from nova import config
    from nova import objects

    conf_file = os.path.join(node.state_dir, 'etc', 'nova', 'nova.conf')
    node.step('Nova: reading %s' % conf_file)
    argv = ['nova-aio', '--config-file', conf_file]
    local_conf = node.settings.get('nova_local_conf')
    if local_conf:
        # The user's own options (aio.py's local.conf): the later file wins.
        node.step('Nova: reading your options in %s' % local_conf)
        argv += ['--config-file', local_conf]
    config.parse_args(argv)
    quiet_cache_backends()
    logging.setup(cfg.CONF, 'nova')
    objects.register_all()
    return logging.getLogger('aio.node')


def run_compute(node):
    """nova-compute alone, on a host that joined a controller (aio.py
    join): as nova/cmd/compute.py runs it, no database (the controller's
    conductor reads it), the controller's RabbitMQ."""
    os.environ['OS_NOVA_DISABLE_EVENTLET_PATCHING'] = '1'
    from nova import monkey_patch
    monkey_patch.patch(backend='threading')

    from nova.conductor import rpcapi as conductor_rpcapi
    import nova.db.main.api
    from nova.objects import base as objects_base

    log = read_nova_config(node)
    init_host_libraries()
    nova.db.main.api.DISABLE_DB_ACCESS = True
    objects_base.NovaObject.indirection_api = \
        conductor_rpcapi.ConductorAPI()
    compute = start_compute(node)
    node.wait(lambda: stop_services(log, 'Nova', [compute]))
    os._exit(0)


def init_host_libraries():
    """privsep, os-brick and os-vif, as nova-compute sets them up."""
    import shlex

    import os_brick
    import os_vif
    from oslo_config import cfg
    from oslo_privsep import priv_context

    from nova import utils

    priv_context.init(root_helper=shlex.split(utils.get_root_helper()))
    os_brick.setup(cfg.CONF)
    os_vif.initialize()


def start_compute(node):
    """nova-compute with this driver, started; returns its service."""
    from oslo_config import cfg

    from nova.compute import rpcapi as compute_rpcapi
    from nova import service

    CONF = cfg.CONF
    node.step('Nova: starting compute %s with %s (%s), controller %s'
              % (CONF.host, CONF.compute_driver, node.settings['vboxmanage'],
                 node.settings.get('controller', '127.0.0.1')))
    compute = service.Service.create(
        binary='nova-compute', topic=compute_rpcapi.RPC_TOPIC,
        topic_alt=compute_rpcapi.RPC_TOPIC_ALT)
    compute.start()
    return compute


def start_vbox_agent(node):
    """The VirtualBox agent's loop (its options registered and read) in a
    thread of this process; returns the agent."""
    from networking_virtualbox.agent import vbox_agent

    node.step('VirtualBox agent: starting (host %s)' % node.settings['host'])
    agent = vbox_agent.build_agent()
    threading.Thread(target=agent.start, name='virtualbox-agent',
                     daemon=True).start()
    return agent


def run_agent(node):
    """The VirtualBox agent alone, on a host that joined a controller:
    what neutron-virtualbox-agent runs, over the controller's RabbitMQ."""
    from oslo_service import backend
    backend.init_backend(backend.BackendType.THREADING)

    from neutron.common import config as common_config

    from networking_virtualbox import config as vbox_config

    conf_file = os.path.join(node.state_dir, 'etc', 'neutron',
                             'neutron.conf')
    node.step('VirtualBox agent: reading %s' % conf_file)
    common_config.register_common_config_options()
    vbox_config.register_opts()
    common_config.init(['--config-file', conf_file])
    common_config.setup_logging()
    agent = start_vbox_agent(node)
    node.wait(lambda: agent.stop(graceful=False))
    os._exit(0)


def stop_services(log, project, services):
    """Stop oslo.service services, the last started first; one that fails
    to stop does not keep the others running."""
    log.info('stopping %s services', project)
    for svc in reversed(services):
        try:
            svc.stop()
        except Exception:
            log.exception('while stopping %s', svc.binary)


def quiet_cache_backends():
    """Register the dictionary cache backend (Keystone's, and Nova's with
    [cache] disabled) before it is loaded: dogpile otherwise imports every
    dogpile.cache backend installed to find it, and oslo_cache's
    memcache_pool one fails without python-memcached, an ERROR in the
    service's log at every start. No option avoids that
    import: it happens whatever [cache] backend is configured."""
    from dogpile import cache
    cache.register_backend('oslo_cache.dict', 'oslo_cache.backends.dictionary',
                           'DictCacheBackend')


def load_placement(node):
    from oslo_config import cfg
    from placement import conf as placement_conf
    from placement import db_api
    from placement import deploy

    config = cfg.ConfigOpts()
    placement_conf.register_opts(config)
    config([], project='placement', default_config_files=[
        os.path.join(node.state_dir, 'etc', 'placement', 'placement.conf')])
    db_api.configure(config)
    return deploy.loadapp(config)


def run_glance(node):
    settings = node.settings
    etc = os.path.join(node.state_dir, 'etc', 'glance')
    os.environ['OS_GLANCE_CONFIG_DIR'] = etc
    import sqlite_tx
    sqlite_tx.install()
    import subprocess
    node.step('Glance: creating or upgrading the database')
    manage = [os.path.join(sys.prefix, 'bin', 'glance-manage'),
              '--config-file', os.path.join(etc, 'glance-api.conf')]
    subprocess.run(manage + ['db_sync'], check=True,
                   stdout=subprocess.DEVNULL)
    # Glance's metadata definitions (what DevStack loads): Horizon's launch
    # wizard reads them (its Metadata step), once.
    loaded = os.path.join(node.state_dir, 'glance', 'metadefs-loaded')
    if not os.path.exists(loaded):
        node.step('Glance: loading the metadata definitions')
        subprocess.run(manage + ['db_load_metadefs', os.path.join(
            sys.prefix, 'etc', 'glance', 'metadefs')], check=True,
            stdout=subprocess.DEVNULL)
        with open(loaded, 'w'):
            pass
    from glance.common import wsgi_app
    node.step('Glance: loading the API (database in %s)'
              % settings['glance_db'])
    app = wsgi_app.init_app()
    node.step('Glance: starting on %s:%d' % (node.address, settings['glance']))
    node.serve('glance', settings['glance'], app)

    def stop():
        wsgi_app.drain_workers()
    node.wait(stop)
    os._exit(0)


def run_keystone(node):
    """Keystone: database, token and credential keys, the admin user and
    the identity endpoint (keystone-manage, idempotent: a later start keeps
    them), then its WSGI application."""
    import getpass
    import grp
    import subprocess
    settings = node.settings
    etc = os.path.join(node.state_dir, 'etc', 'keystone')
    os.environ['OS_KEYSTONE_CONFIG_DIR'] = etc
    import sqlite_tx
    sqlite_tx.install()
    manage = [os.path.join(sys.prefix, 'bin', 'keystone-manage'),
              '--config-file', os.path.join(etc, 'keystone.conf')]
    # The key folders belong to whoever runs the cloud (as root,
    # keystone-manage wants them named).
    owner = ['--keystone-user', getpass.getuser(), '--keystone-group',
             grp.getgrgid(os.getgid()).gr_name]
    with open(os.path.join(node.state_dir, 'secrets.json')) as f:
        password = json.load(f)['admin']
    url = 'http://%s:%d/v3' % (settings.get('controller', '127.0.0.1'),
                               settings['keystone'])
    steps = [('creating or upgrading the database', ['db_sync'], {})]
    if not os.path.isdir(os.path.join(node.state_dir, 'keystone',
                                      'credential-keys')):
        steps += [('token and credential keys', ['fernet_setup'] + owner,
                   {}),
                  (None, ['credential_setup'] + owner, {})]
    # Bootstrap again only for another identity URL (a --port-offset):
    # it takes seconds and the rest it makes is kept in the database.
    bootstrapped = os.path.join(node.state_dir, 'keystone', 'bootstrapped')
    try:
        with open(bootstrapped) as f:
            done = f.read() == url
    except FileNotFoundError:
        done = False
    steps += [] if done else [
        # The password goes by the environment, not the command line.
        ('the admin user, the roles and the identity endpoint',
         ['bootstrap', '--bootstrap-username', 'admin',
          '--bootstrap-project-name', 'admin',
          '--bootstrap-role-name', 'admin',
          '--bootstrap-service-name', 'keystone',
          '--bootstrap-region-id', settings['region'],
          '--bootstrap-admin-url', url, '--bootstrap-internal-url', url,
          '--bootstrap-public-url', url],
         {'OS_BOOTSTRAP_PASSWORD': password}),
    ]
    log = os.path.join(node.state_dir, 'logs', 'keystone-manage.log')
    for text, args, env in steps:
        if text:
            node.step('Keystone: %s' % text)
        with open(log, 'a') as out:
            # No cache for keystone-manage (oslo.config reads the option
            # from the environment): configuring one imports every cache
            # backend, and memcache_pool's failure is an ERROR line.
            subprocess.run(manage + args, check=True, stdout=out,
                           stderr=subprocess.STDOUT,
                           env=dict(os.environ, OS_CACHE__ENABLED='false',
                                    **env))
    with open(bootstrapped, 'w') as f:
        f.write(url)
    quiet_cache_backends()
    from keystone.server import wsgi
    # Keystone parses the command line for its options: ours are not.
    sys.argv[1:] = []
    node.step('Keystone: starting on %s:%d'
              % (node.address, settings['keystone']))
    node.serve('keystone', settings['keystone'],
               wsgi.initialize_public_application())
    quiet_forbidden()
    node.wait(lambda: None)
    os._exit(0)


class ForbiddenIsNotAnError:
    """Keystone logs a request its policy refuses (403, e.g. the CLI's
    `project list` as a user, which then lists the user's own projects) as
    an ERROR with a traceback: it is the client's, a WARNING without it."""

    def filter(self, record):
        from keystone import exception
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, exception.Forbidden):
            record.levelno, record.levelname = logging.WARNING, 'WARNING'
            record.exc_info = record.exc_text = None
        return True


class NoRoutersIsNotAnError:
    """Neutron logs as an ERROR, at each start, that the extension
    auto-allocated-topology (which needs routers) cannot be loaded: this
    cloud has no router service on purpose, a WARNING."""

    def filter(self, record):
        if 'auto-allocated-topology' in record.getMessage():
            record.levelno, record.levelname = logging.WARNING, 'WARNING'
        return True


def quiet_forbidden():
    logging.getLogger('keystone.server.flask.application').addFilter(
        ForbiddenIsNotAnError())


def run_neutron(node):
    """Neutron's API (ML2 with the virtualbox mechanism driver), its RPC
    listeners and the VirtualBox agent, in one process.

    The agent and the server talk over oslo.messaging's in-memory bus, so
    they share the process, as Nova's services share theirs. The agent
    reads VirtualBox with the compute's VBoxManage and names itself after
    the compute's host, which the mechanism driver binds ports for.
    """
    # Native threads, as neutron-rpc-server selects them.
    from oslo_service import backend
    backend.init_backend(backend.BackendType.THREADING)
    import sqlite_tx
    sqlite_tx.install()
    settings = node.settings
    os.environ['OS_NEUTRON_CONFIG_DIR'] = os.path.join(
        node.state_dir, 'etc', 'neutron')
    os.environ['OS_NEUTRON_CONFIG_FILES'] = 'neutron.conf'
    # Neutron parses the command line for its options: ours are not.
    sys.argv[1:] = []

    node.step('Neutron: creating the database tables that are missing')
    create_neutron_tables(settings['neutron_db'])

    from neutron_lib.plugins import directory
    from oslo_log import log as logging

    from neutron import server
    from neutron.server import api

    from networking_virtualbox import config as vbox_config

    node.step('Neutron: loading ML2 and the API')
    quiet_cache_backends()
    logging.getLogger('neutron.api.extensions').logger.addFilter(
        NoRoutersIsNotAnError())
    app = server.boot_server(api.api_server, prog='neutron-server')
    log = logging.getLogger('aio.node')
    # What neutron-rpc-server's workers do, in threads of this process.
    plugin = directory.get_plugin()
    listeners = (plugin.start_rpc_listeners() +
                 plugin.start_rpc_state_reports_listener())

    vbox_config.register_opts()
    agent = start_vbox_agent(node)

    node.step('Neutron: starting on %s:%d'
              % (node.address, settings['neutron']))
    node.serve('neutron', settings['neutron'], app)

    def stop():
        log.info('stopping the agent and the RPC listeners')
        agent.stop(graceful=False)
        for listener in listeners:
            listener.stop()
    node.wait(stop)
    os._exit(0)


def run_cinder(node):
    """Cinder's API, scheduler and volume service (the backend aio.py
    chose) in one process, on their own in-memory bus, with native threads
    (Cinder's threading mode: no eventlet monkey patching)."""
    os.environ['OS_CINDER_DISABLE_EVENTLET_PATCHING'] = '1'
    # Cinder 29 still hands image data to eventlet's tpool.Proxy
    # (image_utils), whose calls wait on the eventlet hub of the first
    # thread that used it: from any other native thread, an image upload
    # or download hung for good. With no tpool threads eventlet runs each
    # call in the calling thread, which is what threading mode means.
    os.environ['EVENTLET_THREADPOOL_SIZE'] = '0'
    warnings.filterwarnings('ignore', 'Zero threads in tpool',
                            RuntimeWarning)
    from cinder import monkey_patch
    monkey_patch.patch(backend='threading')
    import sqlite_tx
    sqlite_tx.install()
    import subprocess

    settings = node.settings
    etc = os.path.join(node.state_dir, 'etc', 'cinder')
    conf_file = os.path.join(etc, 'cinder.conf')
    node.step('Cinder: creating or upgrading the database')
    with open(os.path.join(node.state_dir, 'logs', 'cinder-manage.log'),
              'a') as out:
        subprocess.run([os.path.join(sys.prefix, 'bin', 'cinder-manage'),
                        '--config-file', conf_file, 'db', 'sync'],
                       check=True, stdout=out, stderr=subprocess.STDOUT)

    import os_brick
    from oslo_config import cfg
    from oslo_log import log as logging
    from oslo_privsep import priv_context
    from oslo_service import wsgi

    from cinder.common import config  # noqa: F401  (Cinder's options)
    from cinder import coordination
    from cinder import objects
    from cinder import rpc
    from cinder import service

    CONF = cfg.CONF
    objects.register_all()
    CONF(['--config-file', conf_file], project='cinder')
    quiet_cache_backends()
    logging.setup(CONF, 'cinder')
    log = logging.getLogger('aio.node')
    config.set_middleware_defaults()
    coordination.COORDINATOR.start()
    rpc.init(CONF)
    # Cinder runs as root here (tgtd answers only root), so its privsep
    # helper (image inspection for volumes made from images) starts as
    # is: "env" as the prefix, where Cinder would put sudo and rootwrap.
    priv_context.init(root_helper=['env'])
    os_brick.setup(CONF)

    backend = settings['volume_backend']
    node.step('Cinder: starting the scheduler and the volume service '
              '(backend %s)' % backend)
    # The volume service first: the scheduler's start waits (up to a
    # minute) for a volume service's capabilities.
    services = [
        service.Service.create(host='%s@%s' % (settings['host'], backend),
                               service_name=backend,
                               binary='cinder-volume', coordination=True),
        service.Service.create(binary='cinder-scheduler'),
    ]
    own_heartbeats(service.Service, services)
    for svc in services:
        svc.start()

    node.step('Cinder API: starting on %s:%d'
              % (node.address, settings['cinder']))
    node.serve('cinder', settings['cinder'],
               wsgi.Loader(CONF).load_app(name='osapi_volume'))

    def stop():
        stop_services(log, 'Cinder', services)
        coordination.COORDINATOR.stop()
    node.wait(stop)
    os._exit(0)


def own_heartbeats(service_class, services):
    """Cinder keeps the database id of a process's service in a class
    attribute (Service.service_id), which the heartbeat reads: with the
    volume service and the scheduler in one process both beat for the one
    made last, and the other shows "down" (the scheduler then refuses
    every volume). Each beats for its own record, one at a time."""
    lock = threading.Lock()
    for svc in services:
        def report_state(svc=svc, real=svc.report_state):
            with lock:
                service_class.service_id = svc.origin_service_id
                real()
        svc.report_state = report_state


def create_neutron_tables(connection):
    """Neutron's tables from its models, as Neutron's own tests make them:
    its alembic migrations alter constraints, which SQLite cannot. Only
    missing tables are made (Neutron is pinned: a table's columns do not
    change under a kept state)."""
    import sqlalchemy

    from neutron.db.migration.models import head
    engine = sqlalchemy.create_engine(connection)
    head.get_metadata().create_all(engine)
    engine.dispose()


def run_horizon(node):
    sys.path.insert(0, HERE)
    import dashboard
    dashboard.run(node)


SERVICES = {'keystone': run_keystone, 'nova': run_nova, 'glance': run_glance,
            'neutron': run_neutron, 'cinder': run_cinder,
            'horizon': run_horizon, 'compute': run_compute,
            'agent': run_agent}


def main(argv):
    if len(argv) != 3 or argv[1] not in SERVICES:
        sys.stderr.write('usage: node.py %s STATE_DIR\n'
                         % '|'.join(SERVICES))
        return 2
    node = Node(argv[1], os.path.abspath(argv[2]))
    try:
        SERVICES[argv[1]](node)
    except BaseException as e:
        node.step('failed: %s: %s' % (
            type(e).__name__, ' | '.join(str(e).splitlines())[:2000]))
        raise
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
