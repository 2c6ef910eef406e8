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

"""The one door to VirtualBox: runs VBoxManage and reads what it prints.

Every ops module talks to VirtualBox through a :class:`VBoxManage` object.
It runs the command as an argument list (never through a shell) with a
timeout that kills the whole process group, retries transient failures
(session locks, objects not ready) and turns every other failure at once
into a :mod:`nova.virt.virtualbox.exception` error parsed from VirtualBox's
own ``VBoxManage: error:`` lines. Secrets passed as :class:`Secret` never
reach a log line or an exception message. What the queries print is read
by :mod:`nova.virt.virtualbox.parsers`.
"""

import collections
import itertools
import os
import re
import shlex
import signal
import subprocess
import threading
import time

from oslo_log import log as logging
from oslo_utils import units

from nova import exception
from nova.virt.virtualbox import constants
from nova.virt.virtualbox import exception as vbox_exc
from nova.virt.virtualbox import parsers

LOG = logging.getLogger(__name__)

TIMEOUT_DEFAULT = 'default'
TIMEOUT_LONG = 'long'

ERROR_PREFIX = 'VBoxManage: error: '
# VBoxManage's locale: C for its messages untranslated, as the parsers read
# them; UTF-8 for its arguments, which IPRT converts from the locale's
# codeset: in plain C it refuses any non-ASCII argument (the description of
# the VM of a server named "café") with "RTR3Init: VERR_NO_TRANSLATION".
VBOX_LOCALE = 'C.UTF-8'
_DETAILS_RE = re.compile(
    r'^Details: code (?P<name>\S+) \((?P<hex>0x[0-9a-fA-F]+)\)'
    r'(?:, component (?P<component>[^,]+))?'
    r'(?:, interface (?P<interface>[^,]+))?')

# Messages VirtualBox prints for conditions that pass by themselves: another
# client holds the session lock, VBoxSVC is (re)starting, a VM is between
# states. Retried up to [virtualbox] retry_count times.
_TRANSIENT_PATTERNS = (
    'is already locked',
    'while it is locked',
    'The object is not ready',
    'object functionality is limited',
    'Failed to create the VirtualBox object',
    'NS_ERROR_FACTORY_NOT_REGISTERED',
    'NS_ERROR_CALL_FAILED',
    'Failed to create a session object',
    'is being unlocked',
    # Another task (a clone, a resize, another VBoxManage) holds a medium.
    'is locked for writing by another task',
    'is locked for reading by another task',
    # showvminfo of a VM whose VM process is stopping or has just died,
    # before VBoxSVC has closed its session.
    'Failed to get a console object from the direct session',
    'Operation aborted (extended info not available)',
    # Another client's session request on the VM is being served.
    'already has a lock request pending',
)
_TRANSIENT_CODES = frozenset([
    'VBOX_E_INVALID_SESSION_STATE',
])
_NOT_FOUND_CODES = frozenset(['VBOX_E_OBJECT_NOT_FOUND'])
_NOT_FOUND_PATTERNS = (
    'Could not find a registered machine',
    'Could not find file for the medium',
    'Could not find a snapshot',
    'Could not find a storage controller',
)
_INVALID_STATE_CODES = frozenset(['VBOX_E_INVALID_VM_STATE'])
_INVALID_STATE_PATTERNS = ('is not currently running',)
_IN_USE_CODES = frozenset(['VBOX_E_OBJECT_IN_USE'])
_EXISTS_PATTERNS = ('VERR_ALREADY_EXISTS', 'already exists')

# modifyvm options renamed in VirtualBox 7.0 (new spelling -> 6.1's).
# The driver writes the new names; the wrapper translates for 6.1.
_LEGACY_OPTIONS = {
    '--nic-type': '--nictype',
    '--mac-address': '--macaddress',
    '--cable-connected': '--cableconnected',
    '--bridge-adapter': '--bridgeadapter',
    '--host-only-adapter': '--hostonlyadapter',
    '--nat-network': '--nat-network',
    '--nat-pf': '--natpf',
    '--uart-mode': '--uartmode',
    '--vrde-port': '--vrdeport',
    '--vrde-address': '--vrdeaddress',
    '--vrde-auth-type': '--vrdeauthtype',
    '--vrde-property': '--vrdeproperty',
    '--vrde-extpack': '--vrdeextpack',
    '--vrde-multi-con': '--vrdemulticon',
    '--rtc-use-utc': '--rtcuseutc',
    '--os-type': '--ostype',
    '--graphicscontroller': '--graphicscontroller',
}
_NUMBERED_OPTION_RE = re.compile(r'^(--[a-z-]+?)(\d+)$')


class Secret(str):
    """A command argument that must never be logged (a password)."""

    MASK = '***'


def masked_command(args):
    """The command line as text for logs and errors, secrets masked."""
    shown = []
    for arg in args:
        if isinstance(arg, Secret):
            # Keep a "Name=" prefix so the log still says which was set.
            name, sep, _ = arg.partition('=')
            shown.append(name + sep + Secret.MASK if sep else Secret.MASK)
        else:
            shown.append(arg)
    return ' '.join(shlex.quote(a) for a in shown)


Result = collections.namedtuple('Result', ['stdout', 'stderr'])


class VBoxManage(object):
    """Runs VBoxManage; one instance serves the whole driver.

    :param command: the VBoxManage command line ([virtualbox]
        vboxmanage_cmd): a program, optionally with leading arguments.
    """

    def __init__(self, command='VBoxManage', retry_count=3,
                 retry_interval=1.0, timeout=60, long_timeout=1800,
                 conf=None):
        self._conf = conf
        self._configure(command, retry_count, retry_interval, timeout,
                        long_timeout)
        self._version = None
        self._version_lock = threading.Lock()
        # Every VBoxManage process started; read by the benchmark.
        self._counter = itertools.count()
        self.call_count = 0

    def _configure(self, command, retry_count, retry_interval, timeout,
                   long_timeout):
        self._command = shlex.split(command) or ['VBoxManage']
        self._retry_count = retry_count
        self._retry_interval = retry_interval
        self._timeouts = {TIMEOUT_DEFAULT: timeout,
                          TIMEOUT_LONG: long_timeout}

    @classmethod
    def from_conf(cls, conf):
        """A wrapper whose settings come from ``conf`` ([virtualbox]),
        read at its first call rather than now: the driver is built before
        init_host has validated the options, and nova-compute reports a
        bad value read here as "not of type ComputeDriver"."""
        return cls(conf=conf)

    def _read_conf(self):
        if self._conf is None:
            return
        vbox = self._conf.virtualbox
        self._configure(vbox.vboxmanage_cmd, vbox.retry_count,
                        vbox.retry_interval, vbox.vboxmanage_timeout,
                        vbox.vboxmanage_long_timeout)
        self._conf = None

    # -- running ------------------------------------------------------------

    def run(self, *args, timeout=TIMEOUT_DEFAULT, retry=True, undo=None):
        """Run ``VBoxManage ARGS`` and return its :class:`Result`.

        Transient failures are retried when ``retry`` is true: pass False
        for a command that is not safe to repeat. A command that creates
        something (createvm, createmedium, clonemedium...) is not safe to
        repeat as is, but is with ``undo``: a callable that removes what a
        failed attempt may have left (and is fine when there is nothing),
        called before each new attempt; if it fails, the original error is
        raised. ``timeout`` is TIMEOUT_DEFAULT, TIMEOUT_LONG or a number of
        seconds.
        """
        self._read_conf()
        args = self._spell_for_version(args)
        attempts = self._retry_count + 1 if retry else 1
        for attempt in range(attempts):
            try:
                return self._run_once(args, timeout)
            except vbox_exc.VBoxTransientError as err:
                if attempt + 1 >= attempts:
                    raise
                if undo is not None:
                    self._undo(args, undo, err)
                delay = min(self._retry_interval * 2 ** attempt,
                            self._retry_interval * 10)
                LOG.debug('VBoxManage %(cmd)s failed transiently (%(err)s);'
                          ' retry %(n)d of %(max)d in %(delay).1f s',
                          {'cmd': args[0] if args else '', 'err': err,
                           'n': attempt + 1, 'max': attempts - 1,
                           'delay': delay})
                time.sleep(delay)

    @staticmethod
    def _undo(args, undo, err):
        try:
            undo()
        except Exception as undo_err:
            LOG.warning('Could not undo a failed VBoxManage %(cmd)s before '
                        'trying again: %(undo)s',
                        {'cmd': args[0] if args else '', 'undo': undo_err})
            raise err
        LOG.debug('Undid what the failed VBoxManage %s may have left',
                  args[0] if args else '')

    def _run_once(self, args, timeout):
        seconds = self._timeouts.get(timeout, timeout)
        argv = self._command + [str(a) for a in args]
        shown = masked_command(args)
        LOG.debug('Running VBoxManage %s', shown)
        env = dict(os.environ, LC_ALL=VBOX_LOCALE, LANG=VBOX_LOCALE)
        self.call_count = next(self._counter) + 1
        started = time.monotonic()
        try:
            # A new session, so a timeout can kill VBoxManage and anything
            # it started as one group.
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE,
                                    env=env, start_new_session=True)
        except OSError as err:
            raise vbox_exc.VBoxManageNotFound(
                command=' '.join(self._command), reason=err.strerror or err,
                min_version=format_version(constants.MIN_VERSION))
        # A timer kills the group rather than communicate(timeout=...):
        # the same code then works on native threads and under eventlet,
        # whose green subprocess raises a TimeoutExpired of another class.
        killed = threading.Event()
        timer = threading.Timer(seconds, _kill_group, (proc, killed))
        timer.daemon = True
        timer.start()
        try:
            out, err = proc.communicate()
        finally:
            timer.cancel()
        if killed.is_set():
            raise vbox_exc.VBoxManageTimeout(command=shown, timeout=seconds)
        stdout = _decode(out)
        stderr = _decode(err)
        LOG.debug('VBoxManage %(cmd)s: exit %(rc)s in %(secs).3f s',
                  {'cmd': args[0] if args else '', 'rc': proc.returncode,
                   'secs': time.monotonic() - started})
        error_lines = [line[len(ERROR_PREFIX):]
                       for line in stderr.splitlines()
                       if line.startswith(ERROR_PREFIX)]
        # Some failures exit 0 (discardstate); the error lines decide too.
        if proc.returncode != 0 or error_lines:
            raise classify_error(shown, proc.returncode, stderr, stdout)
        return Result(parsers.strip_wrapper_warning(stdout), stderr)

    def _spell_for_version(self, args):
        if (self._version is None or not args or args[0] != 'modifyvm' or
                self._version[0] >= constants.HYPHENATED_OPTIONS_VERSION):
            return args
        return tuple(_legacy_spelling(a) for a in args)

    # -- version -------------------------------------------------------------

    def version(self):
        """(major, minor, build) and the full string, read once."""
        with self._version_lock:
            if self._version is None:
                text = self.run('--version').stdout
                self._version = parsers.parse_version(text)
            return self._version

    def check_version(self):
        """Raise VBoxVersionUnsupported for VirtualBox older than 6.1."""
        numbers, text = self.version()
        if numbers < constants.MIN_VERSION:
            raise vbox_exc.VBoxVersionUnsupported(
                version=text,
                min_version=format_version(constants.MIN_VERSION))
        return numbers, text

    # -- queries used by several ops modules ---------------------------------

    def list_vms(self):
        """[(name, uuid)] of every registered VM, in one call."""
        return parsers.parse_list_vms(self.run('list', 'vms').stdout)

    def list_running_vms(self):
        """[(name, uuid)] of the VMs that have a VM process, in one call."""
        return parsers.parse_list_vms(self.run('list', 'runningvms').stdout)

    def show_vm_info(self, vm):
        """``showvminfo VM --machinereadable`` as a dict.

        :raises VBoxObjectNotFound: no such VM.
        """
        return parsers.parse_machine_readable(
            self.run('showvminfo', vm, '--machinereadable').stdout)

    def show_instance_info(self, instance):
        """show_vm_info of a Nova instance's VM, which has the instance's
        UUID.

        :raises InstanceNotFound: VirtualBox has no such VM.
        """
        try:
            return self.show_vm_info(instance.uuid)
        except vbox_exc.VBoxObjectNotFound:
            raise exception.InstanceNotFound(instance_id=instance.uuid)

    def host_info(self):
        return parsers.parse_host_info(self.run('list', 'hostinfo').stdout)

    def list_hdds(self):
        return parsers.parse_colon_blocks(self.run('list', 'hdds').stdout)

    def show_medium_info(self, path):
        """``showmediuminfo disk PATH`` as a dict (see
        parsers.parse_medium_info).

        :raises VBoxObjectNotFound: no such file or medium.
        """
        return parsers.parse_medium_info(
            self.run('showmediuminfo', 'disk', path).stdout)

    # -- changes used by several ops modules ---------------------------------

    def grow_medium(self, medium, size_gb):
        """``modifymedium disk MEDIUM --resizebyte``: the disk's capacity
        becomes ``size_gb`` GiB. In bytes, because VBoxManage refuses
        ``--resize`` (megabytes) beyond 1000 times the current size: a
        small image grown for a big flavor."""
        self.run('modifymedium', 'disk', medium, '--resizebyte',
                 str(size_gb * units.Gi), timeout=TIMEOUT_LONG)

    def close_medium(self, medium, device='disk', delete=False):
        """``closemedium DEVICE MEDIUM [--delete]``: VirtualBox forgets the
        medium (a path or UUID) and, with ``delete``, deletes its file. A
        medium VirtualBox does not know is fine: cleanups repeat.

        :returns: whether VirtualBox held the medium.
        """
        args = ['closemedium', device, medium]
        if delete:
            args.append('--delete')
        try:
            self.run(*args)
        except vbox_exc.VBoxObjectNotFound:
            return False
        return True


def _kill_group(proc, killed):
    killed.set()
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (OSError, AttributeError):
        # Gone already, or a platform without process groups (Windows).
        proc.kill()


def _decode(data):
    return data.decode('utf-8', 'replace').replace('\r\n', '\n')


def _legacy_spelling(arg):
    if not isinstance(arg, str) or not arg.startswith('--'):
        return arg
    option, sep, value = arg.partition('=')
    match = _NUMBERED_OPTION_RE.match(option)
    base, number = (match.groups() if match else (option, ''))
    legacy = _LEGACY_OPTIONS.get(base)
    if legacy is None:
        return arg
    renamed = legacy + number + sep + value
    return Secret(renamed) if isinstance(arg, Secret) else renamed


def format_version(numbers):
    return '.'.join(str(n) for n in numbers)


# -- errors -------------------------------------------------------------------

def parse_error(stderr):
    """Split VBoxManage's stderr into (messages, details dict).

    ``messages`` are the ``VBoxManage: error:`` lines without the Details and
    Context lines; ``details`` has name, hex, component, interface and
    context where VirtualBox printed them.
    """
    messages = []
    details = {}
    for line in stderr.splitlines():
        if not line.startswith(ERROR_PREFIX):
            continue
        text = line[len(ERROR_PREFIX):].strip()
        match = _DETAILS_RE.match(text)
        if match:
            details.update((k, v.strip()) for k, v in match.groupdict().items()
                           if v)
        elif text.startswith('Context: '):
            details['context'] = text[len('Context: '):]
        elif text:
            messages.append(text)
    return messages, details


def classify_error(command, exit_code, stderr, stdout=''):
    """The exception for a failed call, by result code and message."""
    messages, details = parse_error(stderr)
    code_name = details.get('name')
    if not messages:
        # "snapshot list" with no snapshots and a few others print their
        # complaint on stdout.
        messages = [line.strip() for line in
                    parsers.strip_wrapper_warning(stdout).splitlines()
                    if line.strip()][-3:]
    text = '\n'.join(messages) + '\n' + stderr
    if exit_code == 2:
        cls = vbox_exc.VBoxSyntaxError
    elif (code_name in _TRANSIENT_CODES or
          any(p in text for p in _TRANSIENT_PATTERNS)):
        cls = vbox_exc.VBoxTransientError
    elif (code_name in _NOT_FOUND_CODES or
          any(p in text for p in _NOT_FOUND_PATTERNS)):
        cls = vbox_exc.VBoxObjectNotFound
    elif (code_name in _INVALID_STATE_CODES or
          any(p in text for p in _INVALID_STATE_PATTERNS)):
        cls = vbox_exc.VBoxInvalidVMState
    elif code_name in _IN_USE_CODES:
        cls = vbox_exc.VBoxObjectInUse
    elif any(p in text for p in _EXISTS_PATTERNS):
        cls = vbox_exc.VBoxAlreadyExists
    else:
        cls = vbox_exc.VBoxManageError
    if exit_code == 2 and len(messages) > 1:
        # Syntax errors are followed by the whole usage text; keep the
        # message that says what was wrong.
        messages = messages[:1]
    return cls(command=command, exit_code=exit_code, code_name=code_name,
               messages=messages, stderr=stderr,
               stdout=parsers.strip_wrapper_warning(stdout))
