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

"""Horizon, OpenStack's dashboard, in the all-in-one (node.py horizon).

``run(node)`` serves Horizon (openstack_dashboard, Django) on
127.0.0.1:``settings['horizon']`` with cheroot, static files included, in
one process of its own (Django's settings are process-wide, like
oslo.config's).

Configuration: Horizon reads its deployment's options from a module
``local.local_settings`` (its settings.py imports it). We write that module
at every start to STATE/horizon/local/local_settings.py, from the cloud's
settings (STATE/aio.json): Keystone's URL, the Default domain, a
local-memory cache holding the sessions (one process: no memcached), the
hosts 127.0.0.1 and localhost, logging to STATE/logs/horizon.log, the
launch wizard's defaults (launch_instance_defaults(): volume boot sources
and "Create New Volume" where the cloud has volumes, aio.json's
volume_backend, else images and instance snapshots only), no volume
backups (no cinder-backup runs) and no device name for an attached volume
(the driver picks the SATA port), what this Neutron offers
(OPENSTACK_NEUTRON_NETWORK: no routers, so no floating IPs; new networks
of the type VXLAN; IPv4), and the image formats the driver boots. Panels
of services the catalog does not list (volumes without Cinder) Horizon
hides by itself. Django's SECRET_KEY is generated once into
STATE/horizon/secret_key (0600) and read from there, never written into
the settings file or a log.

Static files: Horizon's pages need its files collected (collectstatic) and
its SCSS and JavaScript compressed offline (django-compressor's
``compress``), 5-15 s here; done once into STATE/horizon/static and again
only when Horizon's or Django's version changes (the stamp
STATE/horizon/static/.aio-stamp), so later starts are fast. We serve them
ourselves under /static/ beside the Django application.

What the settings cannot say, changed in this process after Django's
set-up: the project overview's volume limits are left out without Cinder;
Extend Volume and Upload to Image are offered only for a detached volume
(VirtualBox cannot grow an attached disk, Cinder uploads none); Admin >
Volume Types offers no encryption (the file backend refuses encrypted
volumes, no key manager runs); a table row's update that finds its
object gone (a 404 the page expects) is logged at INFO, not as a
WARNING; Horizon's parallel calls run at most as
many at a time as a client has connections (the launch wizard's Glance
metadata definitions), and those of no function return nothing instead
of failing; an instance's Attach Interface action is not offered (the
driver cannot add a NIC, Nova refuses every attach); the Security Groups
pages say that their rules filter nothing (Neutron keeps them,
VirtualBox cannot enforce them: the noop firewall).
"""

import json
import mimetypes
import os
import posixpath
import secrets
import shutil
import sys
import time

STATIC_URL = '/static/'
# Changes when what we put into the static folder changes.
STATIC_RECIPE = 1


def keystone_url(settings):
    """Keystone's v3 URL (settings['keystone'] is its port)."""
    return 'http://127.0.0.1:%d/v3' % settings['keystone']


def secret_key_path(state_dir):
    return os.path.join(state_dir, 'horizon', 'secret_key')


def ensure_secret_key(state_dir):
    """Create Django's SECRET_KEY once (0600); later starts keep it, so
    sessions and signed values survive a restart of the process."""
    path = secret_key_path(state_dir)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)
        return path
    with os.fdopen(fd, 'w') as f:
        f.write(secrets.token_urlsafe(48))
    return path


def launch_instance_defaults(settings):
    """The launch wizard's defaults: with volumes (settings'
    volume_backend, aio.py's volume_backend()) every boot source, images
    booting onto the instance's own disk unless "Create New Volume" is
    chosen, and such a volume deleted with its instance (files of a
    cloud's volumes are on this host's disk); without Cinder images and
    instance snapshots only, no volume to create."""
    volumes = bool(settings.get('volume_backend'))
    return {
        'config_drive': False,
        'create_volume': False,
        'hide_create_volume': not volumes,
        'vol_delete_on_instance_delete': True,
        'disable_image': False,
        'disable_instance_snapshot': False,
        'disable_volume': not volumes,
        'disable_volume_snapshot': not volumes,
        'enable_scheduler_hints': True,
        'enable_metadata': True,
        'default_availability_zone': 'Any',
    }


def local_settings(node):
    """The text of Horizon's local_settings module for this cloud."""
    settings = node.settings
    state = node.state_dir
    horizon_dir = os.path.join(state, 'horizon')
    level = 'DEBUG' if settings.get('debug') else 'INFO'
    logging_conf = {
        'version': 1,
        # Loggers created before this configuration must still reach the
        # file (Horizon's modules get theirs at import).
        'disable_existing_loggers': False,
        'formatters': {'plain': {
            'format': '%(asctime)s %(process)d %(levelname)s %(name)s '
                      '%(message)s'}},
        'handlers': {'file': {
            'class': 'logging.FileHandler',
            'filename': os.path.join(state, 'logs', 'horizon.log'),
            'formatter': 'plain'}},
        'root': {'handlers': ['file'], 'level': level},
        'loggers': {
            # Every SQL-free template render at DEBUG: too much.
            'django.template': {'level': 'INFO'},
            # keystoneauth and the clients log every request at DEBUG.
            'keystoneauth': {'level': 'INFO'},
            'urllib3': {'level': 'WARNING'},
        },
    }
    values = {
        'DEBUG': False,
        'ALLOWED_HOSTS': ['127.0.0.1', 'localhost'],
        'LOCAL_PATH': horizon_dir,
        'STATIC_ROOT': os.path.join(horizon_dir, 'static'),
        'STATIC_URL': STATIC_URL,
        'COMPRESS_OFFLINE': True,
        'OPENSTACK_KEYSTONE_URL': keystone_url(settings),
        'OPENSTACK_KEYSTONE_DEFAULT_DOMAIN': 'Default',
        'OPENSTACK_KEYSTONE_DEFAULT_ROLE': 'member',
        'OPENSTACK_ENDPOINT_TYPE': 'publicURL',
        # One process serves every request: its memory is the cache, and
        # the sessions live in it (a restart logs everybody out).
        'CACHES': {'default': {
            'BACKEND': 'django.core.cache.backends.locmem.LocMemCache'}},
        'SESSION_ENGINE': 'django.contrib.sessions.backends.cache',
        'TIME_ZONE': 'UTC',
        # Nova's VNC console through its noVNC proxy.
        'CONSOLE_TYPE': 'VNC',
        'LAUNCH_INSTANCE_DEFAULTS': launch_instance_defaults(settings),
        # No cinder-backup runs: no Volume Backups panel or Create Backup
        # action (Horizon's default, said here).
        'OPENSTACK_CINDER_FEATURES': {'enable_backup': False},
        # A volume's device is the next free SATA port of the VM, chosen by
        # the driver: no Device Name field where volumes are attached.
        'OPENSTACK_HYPERVISOR_FEATURES': {
            'can_set_mount_point': False,
            'can_set_password': False,
            'enable_quotas': True,
            'requires_keypair': False,
        },
        # What ML2 here offers (aio.py's neutron.conf). Horizon's defaults
        # would offer routers and floating IPs, which Neutron answers with
        # "not found" (no L3 service plugin); IPv6 subnets, whose addresses
        # VirtualBox's DHCP servers (IPv4) never give out; and network
        # types ML2 refuses. Of its types, flat has its one network on its
        # one physical network (public) already: the admin makes VXLAN
        # ones. Security groups stay: Nova gives every port one, the API
        # keeps their rules (which filter nothing, their pages say).
        'OPENSTACK_NEUTRON_NETWORK': {
            'enable_auto_allocated_network': False,
            'enable_distributed_router': False,
            'enable_fip_topology_check': False,
            'enable_ha_router': False,
            'enable_ipv6': False,
            'enable_quotas': True,
            'enable_rbac_policy': True,
            'enable_router': False,
            'supported_provider_types': ['vxlan'],
            'supported_vnic_types': ['normal'],
            # A count of DHCP agents: there are none, VirtualBox's DHCP
            # servers give the addresses.
            'show_agents_column': False,
        },
        # The formats the driver boots (README: raw, qcow2, vmdk, vdi,
        # vhd, ISO), not Horizon's list, whose entries Glance lacks (the
        # placeholder "", docker, ova) are a WARNING at every images page.
        'OPENSTACK_IMAGE_BACKEND': {'image_formats': [
            ('raw', 'Raw'), ('qcow2', 'QCOW2 - QEMU Emulator'),
            ('vmdk', 'VMDK - Virtual Machine Disk'),
            ('vdi', 'VDI - Virtual Disk Image'),
            ('vhd', 'VHD - Virtual Hard Disk'),
            ('iso', 'ISO - Optical Disk Image')]},
        'LOGGING': logging_conf,
    }
    lines = ['# Written by tools/allinone/dashboard.py at every start: '
             'edits are lost.',
             '# Horizon imports it as local.local_settings.', '']
    for name in sorted(values):
        lines.append('%s = %r' % (name, values[name]))
    lines += ['',
              '# The key itself stays in its 0600 file.',
              'with open(%r) as _f:' % secret_key_path(state),
              '    SECRET_KEY = _f.read().strip()',
              '']
    return '\n'.join(lines)


def write_settings(node):
    """Write STATE/horizon/local/local_settings.py and put STATE/horizon
    first on sys.path, where Horizon's ``from local.local_settings import
    *`` finds it (before openstack_dashboard's own folder, which
    settings.py appends)."""
    horizon_dir = os.path.join(node.state_dir, 'horizon')
    package = os.path.join(horizon_dir, 'local')
    os.makedirs(package, exist_ok=True)
    ensure_secret_key(node.state_dir)
    init = os.path.join(package, '__init__.py')
    if not os.path.exists(init):
        open(init, 'w').close()
    path = os.path.join(package, 'local_settings.py')
    with open(path + '.new', 'w') as f:
        f.write(local_settings(node))
    os.replace(path + '.new', path)
    sys.path.insert(0, horizon_dir)
    os.environ['DJANGO_SETTINGS_MODULE'] = 'openstack_dashboard.settings'
    return path


def versions():
    from importlib import metadata
    return {'horizon': metadata.version('horizon'),
            'django': metadata.version('django'),
            'recipe': STATIC_RECIPE}


def ensure_static(node, static_root):
    """Collect and compress Horizon's static files into static_root unless
    they are there for these versions. The stamp is written last, so an
    interrupted build is never taken for a finished one."""
    from django.core import management

    stamp = os.path.join(static_root, '.aio-stamp')
    wanted = versions()
    try:
        with open(stamp) as f:
            if json.load(f) == wanted:
                return False
    except (OSError, ValueError):
        pass
    node.step('Horizon: collecting and compressing its static files into '
              '%s (once per Horizon version)' % static_root)
    started = time.monotonic()
    # Files of another Horizon version must not linger.
    shutil.rmtree(static_root, ignore_errors=True)
    management.call_command('collectstatic', interactive=False, verbosity=0)
    management.call_command('compress', force=True, verbosity=0)
    with open(stamp, 'w') as f:
        json.dump(wanted, f)
    node.step('Horizon: static files ready in %.0f s'
              % (time.monotonic() - started))
    return True


def static_files(app, root, prefix=STATIC_URL):
    """``app`` with the files under ``root`` served at ``prefix``."""
    root = os.path.realpath(root)

    def serve(environ, start_response):
        path = environ.get('PATH_INFO', '')
        if not path.startswith(prefix):
            return app(environ, start_response)
        rel = posixpath.normpath(path[len(prefix):]).lstrip('/')
        full = os.path.realpath(os.path.join(root, rel))
        if environ['REQUEST_METHOD'] not in ('GET', 'HEAD') or \
                not full.startswith(root + os.sep) or \
                not os.path.isfile(full):
            start_response('404 Not Found',
                           [('Content-Type', 'text/plain')])
            return [b'not found\n']
        kind, encoding = mimetypes.guess_type(full)
        headers = [('Content-Type', kind or 'application/octet-stream'),
                   ('Content-Length', str(os.path.getsize(full))),
                   # Compressed files carry their content's hash in their
                   # names; the others change only with Horizon's version.
                   ('Cache-Control', 'public, max-age=86400')]
        if encoding:
            headers.append(('Content-Encoding', encoding))
        start_response('200 OK', headers)
        if environ['REQUEST_METHOD'] == 'HEAD':
            return [b'']
        f = open(full, 'rb')
        wrapper = environ.get('wsgi.file_wrapper')
        if wrapper:
            return wrapper(f, 65536)
        with f:
            return [f.read()]
    return serve


def no_interface_attach():
    """An instance's Attach Interface action is not offered: VirtualBox
    cannot add a NIC to a VM, so the driver says so
    (supports_attach_interface False) and Nova refuses every attach; the
    action would lead only to that error. Detach works and stays."""
    from openstack_dashboard.dashboards.project.instances import tables

    tables.AttachInterface.allowed = lambda self, request, instance: False


SECURITY_GROUPS_NOTICE = (
    'Security group rules are kept but not enforced: VirtualBox cannot '
    'filter a VM\'s traffic, every port lets everything through.')


def security_groups_say_they_filter_nothing():
    """The Security Groups pages (the list, a group's rules) show
    SECURITY_GROUPS_NOTICE: Neutron's API keeps groups and rules, and Nova
    gives every port a group, but the firewall is noop, and a rule must
    not look like protection."""
    from horizon import messages
    from openstack_dashboard.dashboards.project.security_groups import views

    for view in (views.IndexView, views.DetailView):
        def get(self, request, *args, real=view.get, **kwargs):
            messages.info(request, SECURITY_GROUPS_NOTICE)
            return real(self, request, *args, **kwargs)
        view.get = get


def no_volume_limits_without_cinder():
    """The project overview's Limit Summary shows a "Volume" heading with
    nothing under it when the catalog has no volume service: its network
    section asks whether there is a network service, the volume one does
    not ask; now it does."""
    from openstack_dashboard import api
    from openstack_dashboard.usage import views

    for section in views.CHART_DEFS:
        if section['charts'][0].quota_key == 'volumes':
            section.setdefault('allowed',
                               api.cinder.is_volume_service_enabled)


def volume_actions_only_detached():
    """Extend Volume and Upload to Image only for a detached volume:
    Horizon offers them in-use too, but VirtualBox cannot grow a disk a VM
    holds (the driver's supports_extend_volume is False; the file backend
    says online_extend_support False), and Cinder uploads an attached
    volume only where enable_force_upload is set (it is not: the VM may be
    writing to it); both would only end in an error. Detach first."""
    from openstack_dashboard.dashboards.project.volumes import tables

    for action in (tables.ExtendVolume, tables.UploadToImage):
        def allowed(self, request, volume=None, real=action.allowed):
            return (real(self, request, volume) and
                    volume.status == 'available')
        action.allowed = allowed


def no_volume_encryption():
    """Admin > Volume Types offers no Create or Update Encryption: the
    file backend refuses encrypted volumes and no key manager (Barbican)
    runs, so a volume of an encrypted type could only fail. Delete
    Encryption stays, for a type made so elsewhere."""
    from openstack_dashboard.dashboards.admin.volume_types import tables

    for action in (tables.CreateVolumeTypeEncryption,
                   tables.UpdateVolumeTypeEncryption):
        action.allowed = lambda self, request, volume_type=None: False


def row_gone_is_no_warning():
    """A table row's update that finds its object gone is logged at INFO,
    not as Django's WARNING "Not Found": Horizon's tables poll the rows of
    objects in transition (a volume or instance being deleted) with
    ?action=row_update, and the 404 once the object is gone is how the
    page learns to drop the row, not a fault. Other 404s stay WARNINGs."""
    import logging

    def row_gone(record):
        request = getattr(record, 'request', None)
        if getattr(record, 'status_code', None) == 404 and \
                request is not None and \
                request.GET.get('action') == 'row_update':
            record.levelno, record.levelname = logging.INFO, 'INFO'
        return True
    logging.getLogger('django.request').addFilter(row_gone)
    return row_gone


def parallel_calls_in_one_pool():
    """Horizon's call_functions_parallel() runs each function in a thread
    of its own, all at once. Ours runs at most as many at a time as a
    client's connection pool keeps (requests': 10), and returns nothing
    for no function:

    - the launch wizard asks for the details of Glance's metadata
      definition namespaces, one call per namespace (more than 10 of
      Glance's 30), at once through one Glance client: every connection
      beyond its pool's 10 is dropped afterwards with a urllib3 WARNING
      in the log;
    - with no function, futurist refuses a pool of 0 workers (ValueError:
      an ERROR with a traceback in the log, and a 500), e.g. when no
      namespace applies.
    """
    import functools

    import futurist
    from openstack_dashboard.utils import futurist_utils
    from requests import adapters

    def call_functions_parallel(*worker_defs):
        calls = []
        for func_def in worker_defs:
            if callable(func_def):
                func_def = [func_def]
            args = func_def[1] if len(func_def) > 1 else []
            kwargs = func_def[2] if len(func_def) > 2 else {}
            calls.append(functools.partial(func_def[0], *args, **kwargs))
        if not calls:
            return ()
        workers = min(len(calls), adapters.DEFAULT_POOLSIZE)
        with futurist.ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(call) for call in calls]
        return tuple(future.result() for future in futures)
    futurist_utils.call_functions_parallel = call_functions_parallel


def run(node):
    settings = node.settings
    port = settings['horizon']
    path = write_settings(node)
    node.step('Horizon: settings in %s, Keystone at %s'
              % (path, keystone_url(settings)))
    import django
    from django.conf import settings as django_settings
    django.setup()
    parallel_calls_in_one_pool()
    no_volume_limits_without_cinder()
    volume_actions_only_detached()
    no_volume_encryption()
    row_gone_is_no_warning()
    no_interface_attach()
    security_groups_say_they_filter_nothing()
    static_root = django_settings.STATIC_ROOT
    ensure_static(node, static_root)

    from django.core.wsgi import get_wsgi_application
    app = static_files(get_wsgi_application(), static_root)
    node.step('Horizon: starting on http://127.0.0.1:%d/' % port)
    node.serve('horizon', port, app)

    node.wait(lambda: None)
    os._exit(0)
