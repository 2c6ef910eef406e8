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

"""Contract runner: one VBoxManage scenario on real VBoxManage and vboxsim.

A scenario is a text file in ``scenarios/`` with one VBoxManage command per
line (without the ``VBoxManage`` word).  Syntax:

* ``# ...`` comments and blank lines are ignored;
* ``set NAME=value`` defines ``$NAME`` for later lines (``$WORK`` is the
  per-run temporary directory, ``$SCENARIO`` the scenario name);
* a command is split like a POSIX shell line (quotes, backslashes), then
  ``$NAME`` / ``${NAME}`` are substituted in each word;
* a command may start with flags in brackets, e.g. ``[real-only rc=1]``:

  ``real-only``  run only on the real VBoxManage (e.g. ``startvm``, which
                 cannot work there but does on the simulator); recorded in
                 the golden file, not run on the simulator;
  ``host``       host-dependent output (host network interfaces): only the
                 exit code and stderr are compared; stdout is recorded in the
                 golden file for reference;
  ``rc-only``    compare only the exit code: the real binary's message for
                 this step differs from run to run (``modifyvm --memory
                 lots`` prints stray bytes from its error path);
  ``rc=N``       assert the exit code on every side that runs the step;
  ``sleep=S``    wait S seconds after the step (real VBoxSVC settles);
  ``capture=NAME[@N]``  set ``$NAME`` to the N-th (default first) UUID the
                 step printed on stdout, for later steps and cleanup;
  ``until=REGEX``  poll: run the step again (every 0.2 s) until its stdout
                 matches REGEX (``re.search``, multi-line; no spaces or
                 ``]``), for what real VirtualBox does in its own time (a
                 guest answering the ACPI power button); only the last run
                 is compared; not matching within the timeout is a failure;
  ``timeout=S``  how long ``until`` polls (default 30 s);

* ``$GUEST`` and ``$GUEST_NOACPI`` are raw disk images of the tiny test
  guest (``tools/tinyguest/build.py``; the second ignores the ACPI power
  button), built into the side's work dir when a scenario uses them; a
  scenario that uses them is skipped, with the reason, where the guest
  cannot be built (no C compiler or assembler);

* ``cleanup:`` starts the cleanup section: its commands run before the
  scenario (to remove leftovers of an aborted run, output ignored) and after
  it, even when a step failed; a cleanup command that uses a variable that
  was never set (e.g. a capture from a step that did not run) is skipped.

After the cleanup section a safety net ("scrub") unregisters this
scenario's VMs (``nova-ct-*``) and closes its media (under the work dir,
children first) that were not registered before, so the real VirtualBox
registry is left as it was even when a scenario is wrong.  Objects of other
users are never touched.

Every side gets its own temporary work directory under /tmp; outputs are
normalised (work dir, home dir, UUIDs, timestamps, MAC addresses, host
figures, progress lines) before comparison.

The real VirtualBox registry may be shared with other people's work, so a
scenario only ever sees and touches its own objects: VMs named
``nova-ct-*`` and media stored under its work dir (or whose UUID an earlier
step printed).  ``list vms|runningvms|hdds|dvds`` and ``list vms --long``
output is filtered to those, and they are compared before and after each
scenario: a scenario that leaks fails.

CLI::

    python -m vboxsim.contract.runner [--real CMD] [--sim] [--golden]
                                      [--record] [-v] [scenario ...]

With ``--real`` and ``--sim`` the two are compared; with only one of them it
is compared with the golden files; ``--record`` writes the golden files from
the real side.
"""

import argparse
import concurrent.futures
import dataclasses
import difflib
import fcntl
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIO_DIR = os.path.join(HERE, "scenarios")
GOLDEN_DIR = os.path.join(HERE, "golden")
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_REAL = "/usr/local/bin/vboxmanage-real"
# One scenario at a time on the real VirtualBox (parallel test workers, or two
# people running the suite): scenarios reuse fixed VM names.
REAL_LOCK = "/tmp/.nova-ct-real.lock"
STEP_TIMEOUT = 120
KNOWN_FLAGS = ("real-only", "host", "rc-only")
POLL_INTERVAL = 0.2
DEFAULT_POLL_TIMEOUT = 30.0
# $NAME -> whether the tiny guest ignores the ACPI power button
GUEST_VARIABLES = {"GUEST": False, "GUEST_NOACPI": True}
TINYGUEST_BUILD = os.path.join(REPO_ROOT, "tools", "tinyguest", "build.py")


# ---------------------------------------------------------------- scenarios

@dataclasses.dataclass
class Step:
    lineno: int
    text: str            # command as written (variables unexpanded)
    argv: list           # words, variables unexpanded
    flags: frozenset = frozenset()
    rc: int = None
    sleep: float = 0.0
    capture: tuple = None    # (variable, n-th UUID)
    until: str = None        # poll until stdout matches this regex
    timeout: float = DEFAULT_POLL_TIMEOUT

    @property
    def real_only(self):
        return "real-only" in self.flags


@dataclasses.dataclass
class Scenario:
    name: str
    path: str
    variables: list      # [(name, raw value)] in order
    steps: list
    cleanup: list


class ScenarioError(Exception):
    pass


_FLAGS_RE = re.compile(r"^\[([^\]]*)\]\s*")
_VAR_RE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def parse_scenario(path):
    name = os.path.splitext(os.path.basename(path))[0]
    variables, steps, cleanup = [], [], []
    target = steps
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if stripped == "cleanup:":
                target = cleanup
                continue
            if stripped.startswith("set "):
                var, sep, value = stripped[4:].partition("=")
                if not sep or not re.fullmatch(r"\w+", var.strip()):
                    raise ScenarioError("%s:%d: bad set line" % (path, lineno))
                variables.append((var.strip(), value.strip()))
                continue
            flags, rc, sleep, capture = set(), None, 0.0, None
            until, timeout = None, DEFAULT_POLL_TIMEOUT
            m = _FLAGS_RE.match(stripped)
            if m:
                for flag in m.group(1).split():
                    if flag.startswith("rc="):
                        rc = int(flag[3:])
                    elif flag.startswith("sleep="):
                        sleep = float(flag[6:])
                    elif flag.startswith("capture="):
                        var, _, nth = flag[8:].partition("@")
                        capture = (var, int(nth or 1))
                    elif flag.startswith("until="):
                        until = flag[6:]
                        try:
                            re.compile(until)
                        except re.error as exc:
                            raise ScenarioError("%s:%d: bad until: %s"
                                                % (path, lineno, exc))
                    elif flag.startswith("timeout="):
                        timeout = float(flag[8:])
                    elif flag in KNOWN_FLAGS:
                        flags.add(flag)
                    else:
                        raise ScenarioError("%s:%d: unknown flag %r"
                                            % (path, lineno, flag))
                stripped = stripped[m.end():]
            try:
                argv = shlex.split(stripped, comments=False, posix=True)
            except ValueError as exc:
                raise ScenarioError("%s:%d: %s" % (path, lineno, exc))
            target.append(Step(lineno, stripped, argv, frozenset(flags),
                               rc, sleep, capture, until, timeout))
    return Scenario(name, path, variables, steps, cleanup)


def list_scenarios(names=None):
    found = sorted(f[:-4] for f in os.listdir(SCENARIO_DIR)
                   if f.endswith(".txt"))
    if not names:
        return found
    missing = [n for n in names if n not in found]
    if missing:
        raise ScenarioError("unknown scenario(s): %s" % ", ".join(missing))
    return list(names)


def load(name):
    return parse_scenario(os.path.join(SCENARIO_DIR, name + ".txt"))


def expand(word, env):
    def repl(m):
        key = m.group(1) or m.group(2)
        if key not in env:
            raise ScenarioError("undefined variable $%s" % key)
        return env[key]
    return _VAR_RE.sub(repl, word)


def guest_variables(scenario):
    """The $GUEST* variables the scenario uses."""
    words = [raw for _, raw in scenario.variables]
    for step in scenario.steps + scenario.cleanup:
        words += step.argv
    used = set()
    for word in words:
        for m in _VAR_RE.finditer(word):
            key = m.group(1) or m.group(2)
            if key in GUEST_VARIABLES:
                used.add(key)
    return sorted(used)


class GuestUnavailable(Exception):
    pass


_GUEST_IMAGES = {}


def guest_image(ignore_acpi=False):
    """The tiny guest's raw disk image (bytes), built once per process."""
    if ignore_acpi not in _GUEST_IMAGES:
        if not os.path.exists(TINYGUEST_BUILD):
            raise GuestUnavailable("%s not found" % TINYGUEST_BUILD)
        spec = importlib.util.spec_from_file_location(
            "nova_ct_tinyguest_build", TINYGUEST_BUILD)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        try:
            sector = module.boot_sector(ignore_acpi)
        except module.BuildError as exc:
            raise GuestUnavailable("the tiny guest cannot be built: %s"
                                   % exc)
        _GUEST_IMAGES[ignore_acpi] = sector.ljust(module.IMAGE_BYTES, b"\0")
    return _GUEST_IMAGES[ignore_acpi]


def skip_reason(scenario):
    """Why the scenario cannot run here (None when it can)."""
    for var in guest_variables(scenario):
        try:
            guest_image(GUEST_VARIABLES[var])
        except GuestUnavailable as exc:
            return "needs $%s: %s" % (var, exc)
    return None


def _write_guests(scenario, work, env):
    for var in guest_variables(scenario):
        path = os.path.join(work, "%s.raw" % var.lower().replace("_", "-"))
        with open(path, "wb") as f:
            f.write(guest_image(GUEST_VARIABLES[var]))
        os.chmod(path, 0o644)
        env[var] = path


# ------------------------------------------------------------------ backends

class Backend:
    """One side of the comparison: runs VBoxManage argument vectors."""

    label = "?"
    home = None          # directory standing for VirtualBox's $HOME

    def run(self, argv, cwd):
        start = time.monotonic()
        proc = subprocess.run(self.command() + list(argv), cwd=cwd,
                              env=self.environ(), stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=STEP_TIMEOUT)
        elapsed = time.monotonic() - start
        return Result(proc.returncode,
                      proc.stdout.decode("utf-8", "replace"),
                      proc.stderr.decode("utf-8", "replace"), elapsed)

    def command(self):
        raise NotImplementedError

    def environ(self):
        return dict(os.environ)

    def start(self):
        pass

    def stop(self):
        pass


class RealBackend(Backend):
    label = "real"
    home = "/root"       # HOME the provisioned wrapper gives VBoxManage

    def __init__(self, cmd):
        self.cmd = shlex.split(cmd) if isinstance(cmd, str) else list(cmd)

    def command(self):
        return self.cmd


class SimBackend(Backend):
    label = "sim"

    def __init__(self, python=None):
        self.python = python or sys.executable
        self.home = None

    def start(self):
        self.home = tempfile.mkdtemp(prefix="nova-ct-simhome-", dir="/tmp")

    def stop(self):
        if self.home:
            shutil.rmtree(self.home, ignore_errors=True)
            self.home = None

    def command(self):
        return [self.python, "-m", "vboxsim"]

    def environ(self):
        env = dict(os.environ)
        env["VBOXSIM_HOME"] = self.home
        env["VBOXSIM_LATENCY"] = "0"
        env["HOME"] = self.home
        env["LC_ALL"] = "C"
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (REPO_ROOT, env.get("PYTHONPATH")) if p)
        return env


def real_command_from_env():
    """The real VBoxManage command, or None when it is not available.

    REALVBOX_CMD=off (or none) disables the real tier even when the default
    command exists (then the simulator is checked against the golden files).
    """
    cmd = os.environ.get("REALVBOX_CMD", "").strip()
    if cmd.lower() in ("off", "none"):
        return None
    if cmd:
        return cmd
    if os.access(DEFAULT_REAL, os.X_OK):
        return DEFAULT_REAL
    return None


def sim_available():
    return os.path.exists(os.path.join(REPO_ROOT, "vboxsim", "__main__.py"))


# --------------------------------------------------------------- normalising

@dataclasses.dataclass
class Result:
    rc: int
    stdout: str
    stderr: str
    elapsed: float = 0.0


_UUID_RE = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                      r"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_TIME_RE = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?")
# Saved state file names: Machine::i_composeSavedStateFilename's time stamp
_SAV_TIME_RE = re.compile(r"\b\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d+Z\.sav\b")
# A guest facility's status line ends with the time of its last change (ms
# since the epoch)
_FACILITY_TIME_RE = re.compile(r"^(GuestAdditionsFacility_[^=\n]*=\d+),\d+$",
                               re.M)
_MAC_RE = re.compile(r"\b080027[0-9A-Fa-f]{6}\b")
_MAC_COLON_RE = re.compile(r"\b08:00:27(?::[0-9a-fA-F]{2}){3}\b")
_PROGRESS_RE = re.compile(r"^(?:\d+%\.\.\.)+", re.M)
_HOST_LINE_RE = re.compile(
    r"^(Processor online count|Processor count|Processor online core count|"
    r"Processor core count|Processor#\d+ speed|Processor#\d+ description|"
    r"Memory size|Memory available|Operating system version|"
    r"Processor supports [^:]+):.*$", re.M)
_PROCESSOR_N_RE = re.compile(r"^Processor#([1-9]\d*) .*\n", re.M)
# Real 7.2.22 shows a NAT adapter's localhostReachable as 0 while the
# VBoxSVC that created the VM runs, and as 1 once a new VBoxSVC (the old one
# exits after a few idle seconds) has read the VM's settings file back
# (`<NAT/>` without the attribute): timing, not behaviour.
_LOCALHOST_REACHABLE_RE = re.compile(r'^(localhostReachable\d*)="[01]"$',
                                     re.M)


class Normaliser:
    """Per-scenario, per-side normalisation with stable UUID numbering."""

    def __init__(self, work, home, known_uuids=()):
        self.paths = []
        if work:
            self.paths.append((work, "$WORK"))
        if home:
            self.paths.append((home, "$HOME"))
        self.paths.sort(key=lambda p: -len(p[0]))
        self.uuids = {}
        for value, label in known_uuids:
            self.uuids[value.lower()] = "<%s>" % label

    def _uuid(self, m):
        key = m.group(0).lower()
        if key not in self.uuids:
            self.uuids[key] = "<UUID-%d>" % (len(self.uuids) + 1)
        return self.uuids[key]

    def text(self, s):
        for path, label in self.paths:
            s = re.sub(re.escape(path) + r"(?=[/'\"\s,:)]|$)", label, s,
                       flags=re.M)
        s = _UUID_RE.sub(self._uuid, s)
        s = _TIME_RE.sub("<TIME>", s)
        s = _SAV_TIME_RE.sub("<TIME>Z.sav", s)
        s = _FACILITY_TIME_RE.sub(r"\1,<TIME>", s)
        s = _MAC_RE.sub("080027<MAC>", s)
        s = _MAC_COLON_RE.sub("08:00:27:<MAC>", s)
        s = _PROGRESS_RE.sub("<PROGRESS>", s)
        s = _LOCALHOST_REACHABLE_RE.sub(r'\1="<0|1>"', s)
        if "Processor online count:" in s:      # list hostinfo
            s = _PROCESSOR_N_RE.sub("", s)
            s = _HOST_LINE_RE.sub(lambda m: m.group(1) + ": <HOST>", s)
        return s

    def result(self, r):
        return Result(r.rc, self.text(r.stdout), self.text(r.stderr),
                      r.elapsed)


# ------------------------------------------------------------------ running

@dataclasses.dataclass
class StepOutcome:
    step: Step
    argv: list                      # expanded
    result: Result = None           # normalised; None when not run
    raw: Result = None
    errors: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class SideRun:
    backend: str
    outcomes: list
    leaks: list
    errors: list
    seconds: float


_VMLIST_RE = re.compile(r'^"(.*)" \{([0-9a-fA-F-]{36})\}$', re.M)
# Scenario VMs are named nova-ct-*; scenario files live in the side's work
# dir.  The real registry may be shared with other people's experiments:
# nothing else is ever touched, listed or counted as a leak.
OWN_VM_PREFIX = "nova-ct-"
_OPEN_ERROR_RE = re.compile(r"VBoxManage: error: Runtime error opening "
                            r"'([^']*)'")


def _media(backend, cwd):
    """{uuid: (kind, parent uuid or None, location)} of hdds and dvds."""
    media = {}
    for kind, probe in (("disk", ["list", "hdds"]), ("dvd", ["list", "dvds"])):
        r = backend.run(probe, cwd)
        for block in _media_blocks(r.stdout):
            fields = _block_fields(block)
            if "UUID" in fields:
                parent = fields.get("Parent UUID", "base")
                media[fields["UUID"]] = (kind,
                                         None if parent == "base" else parent,
                                         fields.get("Location", ""))
    return media


def _media_blocks(text):
    return [b for b in re.split(r"\n\s*\n", text) if b.strip()]


def _block_fields(block):
    fields = {}
    for line in block.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    return fields


def _own_location(location, work):
    return location.startswith(work.rstrip("/") + "/")


def _own_vms(backend, cwd):
    return [(n, u) for n, u in _VMLIST_RE.findall(
        backend.run(["list", "vms"], cwd).stdout)
        if n.startswith(OWN_VM_PREFIX)]


def _registry(backend, cwd, work):
    """What this scenario may have left behind: its VMs and media."""
    vms = sorted(_own_vms(backend, cwd))
    running = sorted(n for n, _ in _VMLIST_RE.findall(
        backend.run(["list", "runningvms"], cwd).stdout)
        if n.startswith(OWN_VM_PREFIX))
    media = sorted("%s %s %s" % (k, u, loc)
                   for u, (k, _, loc) in _media(backend, cwd).items()
                   if _own_location(loc, work))
    return (["VM %s {%s}" % vm for vm in vms] +
            ["running %s" % n for n in running] +
            ["medium %s" % m for m in media])


def _registered_ids(backend, cwd):
    return (set(u for _, u in _own_vms(backend, cwd)),
            set(_media(backend, cwd)))


def _power_off(backend, uuid, cwd):
    """controlvm poweroff, then wait until the VM is off."""
    backend.run(["controlvm", uuid, "poweroff"], cwd)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        info = backend.run(["showvminfo", uuid, "--machinereadable"], cwd)
        if re.search(r'^VMState="(poweroff|aborted)"$', info.stdout, re.M):
            return
        time.sleep(POLL_INTERVAL)


def _scrub(backend, cwd, before, work):
    """Remove this scenario's VMs and media registered since `before`.

    Only VMs named nova-ct-* and media stored under the work dir are
    touched; returns what was removed."""
    old_vms, old_media = before
    done = []
    for _, uuid in _own_vms(backend, cwd):
        if uuid not in old_vms:
            info = backend.run(["showvminfo", uuid, "--machinereadable"], cwd)
            m = re.search(r'^CfgFile="(.*)"$', info.stdout, re.M)
            if not (m and _own_location(m.group(1), work)):
                continue
            vm_state = re.search(r'^VMState="(.*)"$', info.stdout, re.M)
            vm_state = vm_state.group(1) if vm_state else ""
            if vm_state in ("saved", "aborted-saved"):
                backend.run(["discardstate", uuid], cwd)
            elif vm_state not in ("poweroff", "aborted", ""):
                _power_off(backend, uuid, cwd)
            for _ in range(10):     # the VM process may still hold a lock
                if not backend.run(["unregistervm", uuid, "--delete"],
                                   cwd).rc:
                    break
                time.sleep(0.3)
            else:
                backend.run(["unregistervm", uuid], cwd)
            done.append("VM " + uuid)
    failed = set()
    for _ in range(8):
        new = {u: v for u, v in _media(backend, cwd).items()
               if u not in old_media and u not in failed
               and _own_location(v[2], work)}
        if not new:
            break
        parents = set(v[1] for v in new.values() if v[1])
        for uuid, (kind, _, _) in new.items():
            if uuid in parents:
                continue                         # children first
            if (backend.run(["closemedium", kind, uuid, "--delete"], cwd).rc
                    and backend.run(["closemedium", kind, uuid], cwd).rc):
                failed.add(uuid)
                continue
            done.append("medium " + uuid)
    return done


def _own_vm_block(block, work):
    """A `list vms --long` block of this scenario: its name, or, for an
    inaccessible VM (named ``<inaccessible!>``), its config file."""
    fields = _block_fields(block)
    return (fields.get("Name", "").startswith(OWN_VM_PREFIX)
            or _own_location(fields.get("Config file", ""), work))


def _filter_long_listing(result, work):
    """`list vms --long` reduced to this scenario's VMs: their blocks (each
    starts at ``Name:``) and the errors real VBoxManage prints about other
    VMs it cannot read (three lines from "Runtime error opening 'PATH'")."""
    blocks = re.split(r"(?m)^(?=Name:)", result.stdout)
    result.stdout = "".join(
        b for b in blocks if b.startswith("Name:") and _own_vm_block(b, work))
    kept, dropping = [], False
    for line in result.stderr.splitlines(True):
        opened = _OPEN_ERROR_RE.search(line)
        if opened:
            dropping = not _own_location(opened.group(1), work)
        elif not line.startswith("VBoxManage: error: "):
            dropping = False
        if not dropping:
            kept.append(line)
    result.stderr = "".join(kept)


def _filter_listing(argv, stdout, work, seen):
    """Keep only this scenario's objects in `list vms|runningvms|hdds|dvds`."""
    if argv[:1] != ["list"] or len(argv) != 2:
        return stdout
    if argv[1] in ("vms", "runningvms"):
        return "".join(line for line in stdout.splitlines(True)
                       if line.startswith('"' + OWN_VM_PREFIX))
    if argv[1] in ("hdds", "dvds"):
        keep = []
        for block in _media_blocks(stdout):
            f = _block_fields(block)
            if (_own_location(f.get("Location", ""), work)
                    or f.get("UUID", "").lower() in seen):
                keep.append(block.strip("\n") + "\n\n")
        return "".join(keep)
    return stdout


def _run_step(backend, step, argv, work, seen, outcome):
    """Run one step (polling it for ``until``); its filtered result."""
    deadline = time.monotonic() + step.timeout
    while True:
        raw = backend.run(argv, work)
        raw.stdout = _filter_listing(argv, raw.stdout, work, seen)
        if argv == ["list", "vms", "--long"]:
            _filter_long_listing(raw, work)
        if step.until is None or re.search(step.until, raw.stdout, re.M):
            return raw
        if time.monotonic() >= deadline:
            outcome.errors.append("stdout did not match %r within %g s"
                                  % (step.until, step.timeout))
            return raw
        time.sleep(POLL_INTERVAL)


def run_side(scenario, backend):
    """Run one scenario on one backend; always cleans up."""
    if not isinstance(backend, RealBackend):
        return _run_side(scenario, backend)
    with open(REAL_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _run_side(scenario, backend)


def _run_side(scenario, backend):
    t0 = time.monotonic()
    backend.start()
    work = tempfile.mkdtemp(prefix="nova-ct-%s-%s-" % (scenario.name,
                                                       backend.label),
                            dir="/tmp")
    os.chmod(work, 0o755)
    env = {"WORK": work, "SCENARIO": scenario.name}
    errors, outcomes, leaks = [], [], []
    known = []
    try:
        _write_guests(scenario, work, env)
        for var, raw in scenario.variables:
            env[var] = expand(raw, env)
            if _UUID_RE.fullmatch(env[var]):
                known.append((env[var], var))
        norm = Normaliser(work, backend.home, known)

        def run_cleanup():
            for s in scenario.cleanup:
                try:
                    argv = [expand(w, env) for w in s.argv]
                except ScenarioError:
                    continue
                backend.run(argv, work)
        run_cleanup()                            # leftovers of aborted runs
        before = _registry(backend, work, work)
        before_ids = _registered_ids(backend, work)
        seen = set()            # UUIDs printed by earlier steps of this run
        try:
            for step in scenario.steps:
                argv = [expand(w, env) for w in step.argv]
                outcome = StepOutcome(step, argv)
                outcomes.append(outcome)
                if step.real_only and not isinstance(backend, RealBackend):
                    continue
                raw = _run_step(backend, step, argv, work, seen, outcome)
                seen.update(u.lower() for u in _UUID_RE.findall(raw.stdout))
                outcome.raw = raw
                outcome.result = norm.result(raw)
                if step.rc is not None and raw.rc != step.rc:
                    outcome.errors.append("exit code %d, expected %d"
                                          % (raw.rc, step.rc))
                if step.capture:
                    var, nth = step.capture
                    found = _UUID_RE.findall(raw.stdout)
                    if len(found) >= nth:
                        env[var] = found[nth - 1]
                        norm.uuids.setdefault(env[var].lower(), "<%s>" % var)
                    else:
                        outcome.errors.append("no UUID #%d to capture" % nth)
                if step.sleep:
                    time.sleep(step.sleep)
        finally:
            run_cleanup()
            scrubbed = _scrub(backend, work, before_ids, work)
            after = _registry(backend, work, work)
            if scrubbed:
                errors.append("%s: note: scrub had to remove %s"
                              % (backend.label, ", ".join(scrubbed)))
            if after != before:
                leaks.append("".join(difflib.unified_diff(
                    [line + "\n" for line in before],
                    [line + "\n" for line in after],
                    "registry before", "registry after")))
    except (subprocess.TimeoutExpired, OSError, ScenarioError) as exc:
        errors.append("%s: %s" % (backend.label, exc))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        backend.stop()
    return SideRun(backend.label, outcomes, leaks, errors,
                   time.monotonic() - t0)


def render(result, stdout=True):
    if result is None:
        return ["(not run)\n"]
    lines = ["exit: %d\n" % result.rc, "--- stdout\n"]
    if stdout:
        lines += _lines(result.stdout)
    else:
        lines.append("(not compared: host-dependent)\n")
    lines.append("--- stderr\n")
    lines += _lines(result.stderr)
    return lines


def _lines(text):
    out = text.splitlines(True)
    if out and not out[-1].endswith("\n"):
        out[-1] += "\n\\ no newline at end\n"
    return out


@dataclasses.dataclass
class Report:
    scenario: str
    diffs: list                # [(step label, diff text)]
    problems: list             # other failures (rc asserts, leaks, errors)
    skipped: str = None
    seconds: float = 0.0
    notes: list = dataclasses.field(default_factory=list)

    @property
    def ok(self):
        return not self.diffs and not self.problems


def _step_label(step):
    return "line %d: %s" % (step.lineno, step.text)


def _unordered_media(step, result):
    """A `list hdds|dvds|floppies` result with its blocks sorted: real
    VBoxSVC lists media in the order it loaded them, which changes when it
    restarts between two steps (the global registry's media, then each
    VM's), so only the set of media is compared."""
    if (result is None or len(step.argv) != 2
            or step.argv[0] != "list"
            or step.argv[1] not in ("hdds", "dvds", "floppies")):
        return result
    blocks = sorted(b.strip("\n") + "\n\n"
                    for b in _media_blocks(result.stdout))
    return dataclasses.replace(result, stdout="".join(blocks))


def compare(expected, actual, exp_label, act_label, host_stdout=True):
    """Compare two lists of StepOutcome-like (step, result) pairs."""
    diffs = []
    for (step, exp), (_, act) in zip(expected, actual):
        if step.real_only:
            continue
        exp, act = _unordered_media(step, exp), _unordered_media(step, act)
        full = host_stdout or "host" not in step.flags
        if "rc-only" in step.flags:
            a = render(exp, full)[:1]
            b = render(act, full)[:1]
        else:
            a = render(exp, full)
            b = render(act, full)
        if a != b:
            diffs.append((_step_label(step), "".join(difflib.unified_diff(
                a, b, exp_label, act_label))))
    return diffs


def _notes(*sides):
    return [e for side in sides if side for e in side.errors
            if ": note: " in e]


def _problems(side):
    out = [e for e in side.errors if ": note: " not in e]
    for o in side.outcomes:
        for e in o.errors:
            out.append("%s %s: %s" % (side.backend, _step_label(o.step), e))
    for leak in side.leaks:
        out.append("%s: scenario leaked registry state:\n%s"
                   % (side.backend, leak))
    return out


def compare_live(scenario, real, sim):
    reason = skip_reason(scenario)
    if reason:
        return Report(scenario.name, [], [], skipped=reason), None
    if any(step.argv[:1] == ["startvm"] for step in scenario.steps):
        # A running VM takes host ports (VRDE) the other side would see
        # taken.
        return _compared(scenario, run_side(scenario, real),
                         run_side(scenario, sim))
    # Otherwise the sides share nothing (own work dirs, own registries):
    # side by side, each waits on its own VBoxManage.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        real_side = pool.submit(run_side, scenario, real)
        sim_run = run_side(scenario, sim)
        return _compared(scenario, real_side.result(), sim_run)


def _compared(scenario, real_run, sim_run):
    diffs = compare([(o.step, o.result) for o in real_run.outcomes],
                    [(o.step, o.result) for o in sim_run.outcomes],
                    "real", "sim", host_stdout=False)
    return Report(scenario.name, diffs,
                  _problems(real_run) + _problems(sim_run),
                  seconds=real_run.seconds + sim_run.seconds,
                  notes=_notes(real_run, sim_run)), real_run


# ------------------------------------------------------------------- golden

def golden_path(name):
    return os.path.join(GOLDEN_DIR, name + ".json")


def write_golden(scenario, side, version):
    steps = []
    for o in side.outcomes:
        r = o.result
        steps.append({
            "line": o.step.lineno,
            "command": o.step.text,
            "flags": sorted(o.step.flags),
            "exit": r.rc if r else None,
            # split("\n") keeps a missing final newline visible: "a\n" is
            # ["a", ""], "a" is ["a"]
            "stdout": r.stdout.split("\n") if r else None,
            "stderr": r.stderr.split("\n") if r else None,
            "seconds": round(r.elapsed, 3) if r else None,
        })
    data = {"scenario": scenario.name, "vboxmanage_version": version,
            "note": "normalised output of the real VBoxManage; written by "
                    "python -m vboxsim.contract.runner --record",
            "steps": steps}
    os.makedirs(GOLDEN_DIR, exist_ok=True)
    with open(golden_path(scenario.name), "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, ensure_ascii=False)
        f.write("\n")


def read_golden(scenario):
    """[(step, Result)] from the golden file, or None if missing."""
    path = golden_path(scenario.name)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    recorded = [s["command"] for s in data["steps"]]
    if recorded != [s.text for s in scenario.steps]:
        raise ScenarioError("golden file %s is stale: its commands differ "
                            "from the scenario; re-record it" % path)

    def joined(lines):
        return "\n".join(lines)
    out = []
    for step, g in zip(scenario.steps, data["steps"]):
        res = None
        if g["exit"] is not None:
            res = Result(g["exit"], joined(g["stdout"]), joined(g["stderr"]))
        out.append((step, res))
    return out


def compare_golden(scenario, backend):
    golden = read_golden(scenario)
    if golden is None:
        return Report(scenario.name, [], [], skipped="no golden file"), None
    reason = skip_reason(scenario)
    if reason:
        return Report(scenario.name, [], [], skipped=reason), None
    side = run_side(scenario, backend)
    diffs = compare(golden, [(o.step, o.result) for o in side.outcomes],
                    "golden(real)", backend.label, host_stdout=False)
    return Report(scenario.name, diffs, _problems(side),
                  seconds=side.seconds, notes=_notes(side)), side


# ---------------------------------------------------------------------- CLI

def print_report(rep, out=sys.stdout):
    if rep.skipped:
        print("SKIP %s: %s" % (rep.scenario, rep.skipped), file=out)
        return
    status = "ok" if rep.ok else "FAIL"
    print("%s %s (%.1f s)" % (status, rep.scenario, rep.seconds), file=out)
    for label, diff in rep.diffs:
        print("  step %s" % label, file=out)
        print(diff, file=out)
    for p in rep.problems:
        print("  problem: %s" % p, file=out)
    for n in rep.notes:
        print("  %s" % n, file=out)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m vboxsim.contract.runner",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("--real", metavar="CMD", nargs="?", const="",
                    help="real VBoxManage command (default: $REALVBOX_CMD or "
                         + DEFAULT_REAL + ")")
    ap.add_argument("--sim", action="store_true",
                    help="run the simulator (python -m vboxsim)")
    ap.add_argument("--record", action="store_true",
                    help="write golden files from the real side")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="print every step's normalised real output")
    ap.add_argument("scenario", nargs="*")
    args = ap.parse_args(argv)
    if args.real and args.real in list_scenarios():
        # "--real 03-createvm": the optional CMD swallowed a scenario name
        args.scenario.insert(0, args.real)
        args.real = ""

    real = None
    if args.real is not None:
        cmd = args.real or real_command_from_env()
        if not cmd:
            ap.error("no real VBoxManage (set REALVBOX_CMD or run "
                     "tools/real-vbox/provision.sh)")
        real = RealBackend(cmd)
    sim = SimBackend() if args.sim else None
    if real is None and sim is None:
        ap.error("give --real and/or --sim")
    if args.record and real is None:
        ap.error("--record needs --real")

    version = None
    if real is not None:
        version = real.run(["--version"], "/").stdout.strip()

    reports = []
    t0 = time.monotonic()
    for name in list_scenarios(args.scenario):
        scenario = load(name)
        if real is not None and sim is not None:
            rep, real_run = compare_live(scenario, real, sim)
        elif real is not None:
            if args.record and skip_reason(scenario):
                rep = Report(name, [], [], skipped=skip_reason(scenario))
                real_run = None
            elif args.record:
                real_run = run_side(scenario, real)
                write_golden(scenario, real_run, version)
                rep = Report(name, [], _problems(real_run),
                             seconds=real_run.seconds,
                             notes=_notes(real_run))
            else:
                rep, real_run = compare_golden(scenario, real)
        else:
            rep, real_run = compare_golden(scenario, sim)
            real_run = None
        if args.verbose and real_run is not None:
            for o in real_run.outcomes:
                print("$ VBoxManage %s   [%.3f s]" % (
                    shlex.join(o.argv), o.raw.elapsed if o.raw else 0))
                print("".join(render(o.result)), end="")
        print_report(rep)
        reports.append(rep)
    passed = sum(1 for r in reports if r.ok and not r.skipped)
    skipped = sum(1 for r in reports if r.skipped)
    failed = len(reports) - passed - skipped
    mode = ("real vs sim" if real and sim else
            "record real" if args.record else
            "%s vs golden" % ("real" if real else "sim"))
    print("contract (%s): %d scenarios, %d passed, %d failed, %d skipped "
          "in %.1f s" % (mode, len(reports), passed, failed, skipped,
                         time.monotonic() - t0))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
