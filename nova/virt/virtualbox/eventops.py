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

"""Power states in few VBoxManage calls, and lifecycle events.

``StateCache`` answers ``get_info(use_cache=True)`` for many instances from
one ``list runningvms`` (VMs with a VM process) and one ``list vms`` (the
registered ones), each at most ``CACHE_SECONDS`` old, plus what the
filesystem tells:

* a registered VM without a VM process is ``saved`` when its Snapshots
  folder holds a ``.sav`` file (SUSPENDED), else powered off (SHUTDOWN;
  ``aborted`` is SHUTDOWN too). A VM that also has VirtualBox snapshots
  (their live-snapshot ``.sav`` files look the same) is asked exactly;
* a VM with a VM process is running, paused, stuck (gurumeditation) or
  passing between states: ``list runningvms`` does not say which. The
  VM process says it in ``Logs/VBox.log`` ("Console: Machine state changed
  to 'Paused'"): its last such line answers for a VM not known yet (the
  first sync after nova-compute starts costs no call per VM) or whose log
  gained a "Changing the VM state" line. A state is kept and trusted while
  the VM stayed in the list, its log gained no such line, and the driver
  did not act on it; otherwise (or where the log names no steady state)
  ``showvminfo`` is asked.

What it cannot see: a VM paused or resumed by someone else, on a host
whose VM process does not write ``Logs/VBox.log`` in the VM folder,
keeps its last known state until ``showvminfo`` is asked
again: by the lifecycle poller, which re-verifies one running VM per tick
in turn, or by Nova (``use_cache=False`` before it acts on a change). For
Nova this only delays the PAUSED/RUNNING power state in its database; any
transition into or out of running, and saved versus powered off, is seen
within ``CACHE_SECONDS``.

``LifecyclePoller``: one native daemon thread that, every
``[virtualbox] lifecycle_event_interval`` seconds, runs ``list
runningvms``, reads ``showvminfo`` only for Nova's VMs whose running-ness
changed (or whose log shows a state change, plus one running VM in turn)
and emits a ``LifecycleEvent`` for each power state change it sees.
Transitions the driver makes itself (``own_operation``) are not reported:
Nova knows them and would only log them.
"""

import collections
import glob
import os
import threading
import time

from oslo_log import log as logging

from nova.compute import power_state
from nova import exception
from nova.virt import event as virtevent
from nova.virt import hardware
from nova.virt.virtualbox import constants
from nova.virt.virtualbox import exception as vbox_exc

import nova.conf

LOG = logging.getLogger(__name__)
CONF = nova.conf.CONF

# How old the lists of running and registered VMs may be when they answer
# get_info(use_cache=True).
CACHE_SECONDS = 5.0
# What the VM process writes to Logs/VBox.log at every VM state change
# (vboxsim/data/vbox-log-states.txt, from a real VM): the VMM's line, and
# Main's, which names the machine state.
LOG_STATE_LINE = b'Changing the VM state from'
LOG_MACHINE_STATE = b"Console: Machine state changed to '"
# Main's names of the steady states of a VM process.
LOGGED_STATES = {b'Running': constants.STATE_RUNNING,
                 b'Paused': constants.STATE_PAUSED}
LOG_READ_MAX = 256 * 1024
VBOX_LOG = os.path.join('Logs', 'VBox.log')

_EVENTS = {
    power_state.SHUTDOWN: virtevent.EVENT_LIFECYCLE_STOPPED,
    power_state.CRASHED: virtevent.EVENT_LIFECYCLE_STOPPED,
    power_state.PAUSED: virtevent.EVENT_LIFECYCLE_PAUSED,
    power_state.SUSPENDED: virtevent.EVENT_LIFECYCLE_SUSPENDED,
}

# What is known of one VM: its VMState, whether it had a VM process then,
# the size of its VBox.log then, and whether showvminfo said so (not
# assumed from a list).
Seen = collections.namedtuple('Seen', 'state running log_size verified at')


def power_state_of(vm_state):
    return constants.POWER_STATE_MAP.get(vm_state, power_state.NOSTATE)


def transition(old_power, new_power):
    """The lifecycle event of a power state change, or None."""
    if old_power == new_power or new_power == power_state.NOSTATE:
        return None
    if new_power == power_state.RUNNING:
        return (virtevent.EVENT_LIFECYCLE_RESUMED
                if old_power == power_state.PAUSED
                else virtevent.EVENT_LIFECYCLE_STARTED)
    return _EVENTS.get(new_power)


class _ListRead(object):
    """One VBoxManage list call in flight; the callers that need the list
    while it runs wait for it and share its answer."""

    def __init__(self, generation, started):
        # StateCache._generation when the call started: an operation that
        # ended since may have changed what it lists.
        self.generation = generation
        self.started = started
        self.done = threading.Event()
        self.vms = None
        self.error = None


class _VMList(object):
    """One list of VMs as last read, and its read in flight."""

    def __init__(self, list_call, on_store=None):
        # The VBoxManage call: {uuid: name}.
        self.list_call = list_call
        # Called, under the lock, with each list stored and when its call
        # started.
        self.on_store = on_store
        self.vms = {}
        self.at = None
        self.in_flight = None


class StateCache(object):
    """Power states of Nova's VMs; thread-safe.

    The lock guards memory only: VBoxManage runs outside it, so the
    bookkeeping of every driver operation never waits for a slow call.
    """

    def __init__(self, vbox, path_utils, clock=time.monotonic):
        self._vbox = vbox
        self._pathutils = path_utils
        self._clock = clock
        self._lock = threading.RLock()
        self._running = _VMList(self._read_running)
        self._registered = _VMList(self._read_registered,
                                   on_store=self._forget_unregistered)
        # Counts the ends of the driver's operations: a list read that
        # started before one is not stored as fresh.
        self._generation = 0
        self._known = {}
        self._dirty = set()
        self._busy = collections.Counter()
        self._quiet = set()

    # -- the two lists ------------------------------------------------------

    def _fresh(self, at, max_age):
        return (at is not None and max_age > 0 and
                self._clock() - at <= max_age)

    def _read_running(self):
        return {uuid: name for name, uuid in self._vbox.list_running_vms()}

    def _read_registered(self):
        return {uuid: name for name, uuid in self._vbox.list_vms()
                if self._pathutils.is_nova_vm(name)}

    def _forget_unregistered(self, registered, started):
        """Drops what is known of VMs no longer registered; a state
        recorded after the list was asked for may be of a VM registered
        since, and is kept."""
        for uuid in set(self._known) - set(registered):
            if self._known[uuid].at <= started:
                del self._known[uuid]

    def _vms(self, vm_list, max_age):
        """{uuid: name} of ``vm_list``, read anew unless at most
        ``max_age`` seconds old, by one VBoxManage call at a time."""
        asked = None
        while True:
            with self._lock:
                if asked is None:
                    asked = self._generation
                if self._fresh(vm_list.at, max_age):
                    return dict(vm_list.vms)
                read = vm_list.in_flight
                mine = read is None
                if mine:
                    read = vm_list.in_flight = _ListRead(self._generation,
                                                         self._clock())
            if mine:
                return self._run(vm_list, read)
            # The caller making the call sets done whatever happens.
            read.done.wait()
            if read.generation < asked:
                continue  # may miss what an operation ended since did
            if read.error is not None:
                raise read.error
            if read.vms is not None:
                return dict(read.vms)

    def _run(self, vm_list, read):
        """Makes the call of ``read`` (outside the lock), then stores its
        list unless an operation ended while it ran."""
        vms = None
        try:
            vms = vm_list.list_call()
            return dict(vms)
        except Exception as e:
            read.error = e
            raise
        finally:
            with self._lock:
                vm_list.in_flight = None
                read.vms = vms
                if vms is not None and read.generation == self._generation:
                    vm_list.vms = dict(vms)
                    vm_list.at = self._clock()
                    if vm_list.on_store is not None:
                        vm_list.on_store(vms, read.started)
            read.done.set()

    def running_vms(self, max_age=CACHE_SECONDS):
        """{uuid: name} of every VM with a VM process (the user's too)."""
        return self._vms(self._running, max_age)

    def nova_vms(self, max_age=CACHE_SECONDS):
        """{uuid: name} of Nova's registered VMs."""
        return self._vms(self._registered, max_age)

    def count_instances(self):
        """get_num_instances, which starts Nova's power-state sync: one
        ``list vms`` and one ``list runningvms``, both read now (a call
        already in flight is shared), for the get_info calls of the sync
        that follows. (A list of running VMs kept from earlier would call
        a VM started since then, outside the driver, powered off.)"""
        count = len(self.nova_vms(max_age=0))
        self.running_vms(max_age=0)
        return count

    # -- the driver's own operations ----------------------------------------

    def begin(self, uuid):
        with self._lock:
            self._busy[uuid] += 1

    def end(self, uuid):
        with self._lock:
            self._busy[uuid] -= 1
            if self._busy[uuid] <= 0:
                del self._busy[uuid]
            self._dirty.add(uuid)
            self._quiet.add(uuid)
            # The lists may have been read before the operation ended,
            # and so may be those being read now.
            self._generation += 1
            self._running.at = None
            self._registered.at = None

    def busy(self, uuid):
        with self._lock:
            return uuid in self._busy

    def has_quiet(self, uuid):
        with self._lock:
            return uuid in self._quiet

    def quiet_marks(self):
        with self._lock:
            return set(self._quiet)

    def drop_quiet(self, marks):
        """Forget ``marks`` (of VMs without a VM process: the driver's
        power off or destroy is done, and nothing is left to re-read)."""
        with self._lock:
            self._quiet -= set(marks)

    def take_quiet(self, uuid):
        with self._lock:
            if uuid in self._quiet:
                self._quiet.discard(uuid)
                return True
            return False

    # -- states --------------------------------------------------------------

    def _log_path(self, name):
        return os.path.join(self._pathutils.vm_dir(name), VBOX_LOG)

    def _log_size(self, name):
        try:
            return os.path.getsize(self._log_path(name))
        except OSError:
            return None

    def log_changed(self, name, seen):
        """Whether VBox.log tells of a VM state change since ``seen``; a
        log that grew without one moves ``seen`` on (no re-read)."""
        size = self._log_size(name)
        if size is None or size == seen.log_size:
            return False
        if seen.log_size is None or size < seen.log_size:
            return True  # a new VM process (a new log)
        data = self._log_tail(name, max(seen.log_size, size - LOG_READ_MAX),
                              size)
        return data is None or LOG_STATE_LINE in data

    def _log_tail(self, name, start, size):
        """Bytes ``start`` to ``size`` of the VM's VBox.log; None when it
        cannot be read."""
        try:
            with open(self._log_path(name), 'rb') as handle:
                handle.seek(start)
                return handle.read(size - start)
        except OSError:
            return None

    def logged_state(self, name):
        """(VMState, log size) from the last machine state line in the tail
        of a running VM's VBox.log; None where it names no steady state of
        a VM process (or there is no such log)."""
        size = self._log_size(name)
        if not size:
            return None
        data = self._log_tail(name, max(0, size - LOG_READ_MAX), size)
        at = data.rfind(LOG_MACHINE_STATE) if data else -1
        if at < 0:
            return None
        at += len(LOG_MACHINE_STATE)
        state = LOGGED_STATES.get(data[at:data.find(b"'", at)])
        return None if state is None else (state, size)

    def exact(self, uuid, name):
        """VMState from one ``showvminfo``, remembered.

        :raises InstanceNotFound: VirtualBox has no such VM.
        """
        log_size = self._log_size(name) if name else None
        try:
            info = self._vbox.show_vm_info(uuid)
        except vbox_exc.VBoxObjectNotFound:
            with self._lock:
                self._known.pop(uuid, None)
                self._registered.vms.pop(uuid, None)
            raise exception.InstanceNotFound(instance_id=uuid)
        state = info.get('VMState', constants.STATE_UNKNOWN)
        with self._lock:
            self._known[uuid] = Seen(state, state in constants.ACTIVE_STATES,
                                     log_size, True, self._clock())
            self._dirty.discard(uuid)
        return state

    def known(self, uuid):
        with self._lock:
            return self._known.get(uuid)

    def assume(self, uuid, name, running):
        """Remember a VM seen in a list without asking showvminfo (the
        poller's first look): answers come from it only once verified."""
        with self._lock:
            if uuid not in self._known:
                self._known[uuid] = Seen(
                    constants.STATE_RUNNING if running
                    else constants.STATE_POWEROFF, running,
                    self._log_size(name), False, self._clock())

    def _saved_file(self, name):
        """True: saved; False: not; None: cannot tell (snapshots)."""
        folder = self._pathutils.vm_dir(name)
        if not glob.glob(os.path.join(glob.escape(folder), 'Snapshots',
                                      '*.sav')):
            return False
        try:
            with open(os.path.join(folder, name + '.vbox'), 'rb') as f:
                settings = f.read()
        except OSError:
            return None
        return None if b'<Snapshot ' in settings else True

    def state(self, uuid, name):
        """The VMState of a Nova VM, from the cache where it can tell.

        :raises InstanceNotFound: VirtualBox has no such VM.
        """
        running = self.running_vms()
        with self._lock:
            seen = self._known.get(uuid)
            dirty = uuid in self._dirty
        if uuid in running:
            if (seen is not None and seen.verified and seen.running and
                    not dirty and
                    seen.state not in constants.TRANSITIONAL_STATES and
                    not self.log_changed(name, seen)):
                return seen.state
            # Unknown since nova-compute started, or changed: the VM
            # process's own log tells running from paused, without a call.
            logged = None if dirty else self.logged_state(name)
            if logged is None:
                return self.exact(uuid, name)
            state, log_size = logged
            with self._lock:
                self._known[uuid] = Seen(state, True, log_size, True,
                                         self._clock())
            return state
        if uuid not in self.nova_vms():
            return self.exact(uuid, name)  # just made, or gone
        saved = self._saved_file(name)
        if saved is None:
            return self.exact(uuid, name)
        if saved:
            state = (seen.state if seen is not None and not seen.running and
                     seen.state in (constants.STATE_SAVED,
                                    constants.STATE_ABORTED_SAVED)
                     else constants.STATE_SAVED)
        else:
            state = (seen.state if seen is not None and not seen.running and
                     seen.state in (constants.STATE_POWEROFF,
                                    constants.STATE_ABORTED)
                     else constants.STATE_POWEROFF)
        with self._lock:
            self._known[uuid] = Seen(state, False, None, False, self._clock())
            self._dirty.discard(uuid)
        return state

    def get_info(self, instance, use_cache=True):
        if use_cache:
            state = self.state(instance.uuid, instance.name)
        else:
            state = self.exact(instance.uuid, instance.name)
        return hardware.InstanceInfo(state=power_state_of(state),
                                     internal_id=instance.uuid)


class LifecyclePoller(object):
    """One daemon thread turning state changes into lifecycle events."""

    def __init__(self, cache, path_utils, emit):
        self._cache = cache
        self._pathutils = path_utils
        self._emit = emit
        self._stop = threading.Event()
        self._thread = None
        self._rotation = 0
        self._based = False
        # uuid -> name of Nova's VMs that had a VM process last tick.
        self._watched = {}

    def start(self, interval):
        if not interval or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, args=(interval,),
            name='vbox-lifecycle-events', daemon=True)
        self._thread.start()
        LOG.info('Reporting VirtualBox VM state changes to Nova every %s s',
                 interval)

    def stop(self, timeout=None):
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout)

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    def _loop(self, interval):
        while not self._stop.wait(interval):
            try:
                self.poll()
            except Exception:
                LOG.exception('Checking VirtualBox VM states failed; '
                              'trying again in %s s', interval)

    def _to_check(self, running):
        """uuid -> name of the VMs to read with showvminfo this tick."""
        check = {}
        for uuid, name in running.items():
            if self._cache.busy(uuid):
                continue
            seen = self._cache.known(uuid)
            if self._cache.has_quiet(uuid):
                check[uuid] = name  # the driver acted on it: re-read
            elif seen is None:
                # First look: remembered without a call, verified in turn.
                self._cache.assume(uuid, name, True)
            elif not seen.running or self._cache.log_changed(name, seen):
                check[uuid] = name
        for uuid, name in self._watched.items():
            if uuid not in running and not self._cache.busy(uuid):
                check[uuid] = name
        # One running VM in turn: a pause or resume leaves no other trace
        # where VBox.log is not written.
        steady = sorted(uuid for uuid in running
                        if uuid not in check and not self._cache.busy(uuid))
        if steady:
            self._rotation %= len(steady)
            uuid = steady[self._rotation]
            self._rotation += 1
            check[uuid] = running[uuid]
        return check

    def _baseline(self, running):
        """First tick: Nova's VMs without a VM process are remembered as
        such (no showvminfo), so a later start is reported."""
        if self._based:
            return
        for uuid, name in self._cache.nova_vms().items():
            self._cache.assume(uuid, name, uuid in running)
        self._based = True

    def poll(self):
        """One tick: one ``list runningvms`` (and one ``list vms`` on the
        first); returns the events sent."""
        # Marks set from here on may belong to a VM the list below missed.
        marks = self._cache.quiet_marks()
        running = {uuid: name for uuid, name in
                   self._cache.running_vms(max_age=0).items()
                   if self._pathutils.is_nova_vm(name)}
        self._baseline(running)
        events = []
        for uuid, name in sorted(self._to_check(running).items()):
            seen = self._cache.known(uuid)
            quiet = self._cache.take_quiet(uuid)
            try:
                state = self._cache.exact(uuid, name)
            except exception.InstanceNotFound:
                continue  # deleted: nothing for Nova to sync
            except Exception:
                LOG.exception('Reading the state of VM %s failed', uuid)
                continue
            if seen is None or quiet or self._cache.busy(uuid):
                continue
            if (not seen.verified and seen.running and
                    state in constants.ACTIVE_STATES):
                continue  # running or paused before: not known which
            event = transition(power_state_of(seen.state),
                               power_state_of(state))
            if event is not None:
                events.append(virtevent.LifecycleEvent(uuid, event))
        self._cache.drop_quiet(marks - set(running))
        # A VM the driver works on is checked once it is done with it.
        self._watched = dict(running, **{
            uuid: name for uuid, name in self._watched.items()
            if uuid not in running and self._cache.busy(uuid)})
        for event in events:
            LOG.info('VM %(uuid)s %(name)s outside Nova; telling Nova',
                     {'uuid': event.get_instance_uuid(),
                      'name': event.get_name()})
            self._emit(event)
        return events


class EventOps(object):
    """What driver.py delegates to: the cache, the poller, and the marks
    of the driver's own operations."""

    def __init__(self, vbox, path_utils, emit):
        self.cache = StateCache(vbox, path_utils)
        self.poller = LifecyclePoller(self.cache, path_utils, emit)

    def start(self):
        self.poller.start(CONF.virtualbox.lifecycle_event_interval)

    def stop(self):
        self.poller.stop(timeout=CONF.virtualbox.vboxmanage_timeout)

    def get_info(self, instance, use_cache=True):
        return self.cache.get_info(instance, use_cache)

    def get_num_instances(self):
        return self.cache.count_instances()

    def own_operation(self, instance):
        return _OwnOperation(self.cache, instance.uuid)


class _OwnOperation(object):

    def __init__(self, cache, uuid):
        self._cache = cache
        self._uuid = uuid

    def __enter__(self):
        self._cache.begin(self._uuid)

    def __exit__(self, *exc):
        self._cache.end(self._uuid)
        return False
