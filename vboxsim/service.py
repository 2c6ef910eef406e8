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

"""Resident mode: the simulator as a service with a native client, like
VBoxSVC and VBoxManage.

Every simulated VBoxManage call is normally a new Python process, and most
of its CPU (30-50 ms) goes to starting the interpreter and importing the
simulator, which the real VBoxManage, a small native client of the
resident VBoxSVC, does not spend. Where many calls run at once on few
cores (tools/benchmark.py's concurrent spawns) that CPU, not the code under
test, sets the wall time. In resident mode a native client
(``native/client.c``, compiled by whoever uses it: ``build_client``) hands
each call to this service, which forks a child per call with everything
imported; the child takes the caller's arguments, environment and working
directory and runs exactly what a ``vboxmanage-sim`` process runs
(:func:`vboxsim.cli.execute`, modelled latency included). Outputs, exit
codes and state are the same bytes either way (vboxsim/tests/
test_service.py).

    python -m vboxsim.service NAME     serve on the Linux abstract socket NAME

The client finds the service through ``VBOXSIM_SERVICE_SOCKET`` (NAME) and
runs ``$VBOXSIM_PYTHON -m vboxsim`` itself when the variable is unset or
the service does not answer. The service exits after ``IDLE_SECONDS``
without calls, or on SIGTERM.

Protocol (integers are 4-byte big-endian): the request is the number of
arguments, the number of environment entries, then each argument, each
``NAME=VALUE`` entry and the working directory as a length and its bytes;
the answer is the exit code, then stdout and stderr as a length and its
bytes. No answer at all means the call was not run.
"""

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import traceback

IDLE_SECONDS = 300.0
CLIENT_SOURCE = os.path.join(os.path.dirname(__file__), "native", "client.c")
_U32 = struct.Struct(">I")


def _read_exact(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise EOFError("request cut short")
        data += chunk
    return data


def _read_string(conn):
    return _read_exact(conn, _read_exact_u32(conn))


def _read_exact_u32(conn):
    return _U32.unpack(_read_exact(conn, 4))[0]


def read_request(conn):
    """(argv, {name: value}, cwd), all bytes."""
    argc = _read_exact_u32(conn)
    envc = _read_exact_u32(conn)
    argv = [_read_string(conn) for _i in range(argc)]
    env = dict(_read_string(conn).partition(b"=")[::2] for _i in range(envc))
    return argv, env, _read_string(conn)


def _encode(text):
    # As a Python process with LC_ALL=C (what the driver sets) writes it.
    return text.encode("utf-8", "surrogateescape")


def handle(conn):
    """In the forked child: run the call on ``conn`` and answer."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # qemu-img is waited for
    argv, env, cwd = read_request(conn)
    os.environb.clear()
    os.environb.update(env)
    try:
        os.chdir(cwd)
        from vboxsim import cli

        code, out, err = cli.execute([os.fsdecode(a) for a in argv])
    except Exception:
        # What the Python process would have printed and exited with.
        code, out, err = 1, "", traceback.format_exc()
    out, err = _encode(out), _encode(err)
    conn.sendall(_U32.pack(code & 0xFFFFFFFF) + _U32.pack(len(out)) + out +
                 _U32.pack(len(err)) + err)


def _serve_one(listener):
    conn, _addr = listener.accept()
    if os.fork() == 0:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        status = 0
        try:
            listener.close()
            conn.setblocking(True)
            handle(conn)
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    conn.close()


def _preload():
    """Everything a call imports, once, for all the children."""
    import importlib

    from vboxsim import cli  # noqa: F401
    from vboxsim import commands

    for module, _function in set(commands._HANDLERS.values()):
        importlib.import_module("vboxsim.commands." + module)
    for module in ("hostinfo", "settings_file", "media", "vdi"):
        importlib.import_module("vboxsim." + module)
    import random  # noqa: F401
    import shutil  # noqa: F401,F811
    import subprocess  # noqa: F401,F811


class _Stopped(Exception):
    pass


def _stop(*_args):
    raise _Stopped()


def _reap(*_args):
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def serve(name, idle=IDLE_SECONDS):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind("\0" + name)
    except OSError:
        return 1  # one serves this name already
    listener.listen(128)
    _preload()
    # Children are reaped (not ignored), so their CPU counts in this
    # process's children times (Resident.cpu_seconds).
    signal.signal(signal.SIGCHLD, _reap)
    signal.signal(signal.SIGTERM, _stop)
    listener.settimeout(idle)
    try:
        while True:
            _serve_one(listener)
    except (socket.timeout, _Stopped):
        pass
    # Calls queued already are served; later ones find no service and run
    # in their own process.
    listener.setblocking(False)
    while True:
        try:
            _serve_one(listener)
        except (BlockingIOError, InterruptedError):
            break
    listener.close()
    return 0


def build_client(target, compiler=None):
    """Compile the native client to ``target``; returns its path, or None
    when there is no C compiler or it fails."""
    compiler = compiler or shutil.which("cc") or shutil.which("gcc")
    if not compiler or not sys.platform.startswith("linux"):
        return None
    done = subprocess.run([compiler, "-O2", "-o", target, CLIENT_SOURCE],
                          capture_output=True)
    return target if done.returncode == 0 else None


class Resident(object):
    """A running service and the environment its clients need."""

    def __init__(self, client, name=None):
        self.client = client
        self.name = name or "vboxsim-%d-%d" % (os.getuid(), os.getpid())
        self.process = None

    def environ(self):
        return {"VBOXSIM_SERVICE_SOCKET": self.name,
                "VBOXSIM_PYTHON": sys.executable}

    def start(self, timeout=10.0):
        import time

        top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            p for p in (top, os.environ.get("PYTHONPATH")) if p))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vboxsim.service", self.name],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True, env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect("\0" + self.name)
                return self
            except OSError:
                time.sleep(0.02)
            finally:
                probe.close()
            if self.process.poll() is not None:
                break
        self.stop()
        raise RuntimeError("the vboxsim service did not start")

    def cpu_seconds(self):
        """CPU seconds of the service and of its finished children."""
        try:
            with open("/proc/%d/stat" % self.process.pid) as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, AttributeError):
            return 0.0
        # utime, stime, cutime, cstime: fields 14-17 of proc(5)
        ticks = sum(int(value) for value in fields[11:15])
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1]))
