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

"""CI stage: Tempest judges the all-in-one cloud on the simulator.

    python3.11 tools/allinone/tests/tempest_ci.py

Starts the cloud (tools/allinone/aio.py, installing the venv the first
time; AIO_VENV as for aio.py) with a fresh state folder, on ports 28000..
(offset 23000, AIO_TEST_PORT_OFFSET) and on the VirtualBox simulator with
no latency, runs Tempest's CI subset through tempestrun.run(..., ci=True)
(tools/allinone/tempest-subset.txt, less tools/allinone/tempest-excluded.txt;
Tempest is installed into the venv the first time), stops the cloud and
ends with "N passed, N failed, N skipped". Exits 1 when a test failed, a
skip is not listed with its reason in tempest-excluded.txt, or fewer than
tempestrun.MIN_RUN tests ran. AIO_TEST_KEEP=1 keeps the state folder
(Tempest's workspace, its log and the services' logs are in it).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ALLINONE = os.path.dirname(HERE)
AIO = os.path.join(ALLINONE, 'aio.py')
OFFSET = int(os.environ.get('AIO_TEST_PORT_OFFSET', '23000'))

sys.path.insert(0, ALLINONE)
import tempestrun  # noqa: E402  (stdlib only, beside aio.py)


def aio(state, env, *args, timeout=900):
    command = [sys.executable, AIO, '--state-dir', state, '--port-offset',
               str(OFFSET)] + list(args)
    return subprocess.run(command, env=env, timeout=timeout,
                          capture_output=True, text=True)


def keep_logs(state):
    """After a failure: the services' and Tempest's logs into the
    artifacts folder (AIO_ARTIFACTS, else .aio/artifacts/tempest-TIME), and
    the services' ERROR lines here, so CI's output tells the cause."""
    repo = os.path.dirname(os.path.dirname(ALLINONE))
    target = os.environ.get('AIO_ARTIFACTS') or os.path.join(
        repo, '.aio', 'artifacts',
        'tempest-%s' % time.strftime('%Y%m%d-%H%M%S'))
    for sub in ('logs', os.path.join('tempest', 'logs')):
        source = os.path.join(state, sub)
        if os.path.isdir(source):
            shutil.copytree(source, os.path.join(target, sub),
                            dirs_exist_ok=True)
    print('logs kept in %s' % target)
    logs = os.path.join(state, 'logs')
    for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else []:
        with open(os.path.join(logs, name), errors='replace') as f:
            errors = [line.rstrip()[:400] for line in f if ' ERROR ' in line]
        for line in errors[:20]:
            print('%s: %s' % (name, line))


def main():
    started = time.monotonic()
    state = tempfile.mkdtemp(prefix='aio-tempest-')
    print('state: %s' % state, flush=True)
    # The simulator without its latency: Tempest's timeouts are for real
    # clouds, and the run must stay well inside CI's time.
    env = dict(os.environ, VBOXSIM_LATENCY='0', VBOXSIM_ACPI_DELAY='0.2',
               VBOXSIM_HOME=os.path.join(state, 'vboxsim'),
               AIO_LOCAL_CONF=os.path.join(state, 'local.conf'))
    # tempestrun and Tempest run in this process's environment.
    os.environ.update(VBOXSIM_HOME=env['VBOXSIM_HOME'])
    code = 1
    try:
        result = aio(state, env, 'start', '--detach', '--simulator')
        if result.returncode:
            print(result.stdout[-5000:] + result.stderr[-3000:])
            print('the all-in-one did not start')
            tempestrun.last_counts.update(failed=1)
            return 1
        print('all-in-one started in %.0f s' % (time.monotonic() - started),
              flush=True)
        with open(os.path.join(state, 'aio.json')) as f:
            settings = json.load(f)
        # tempestrun prints "N passed, N failed, N skipped" last.
        code = tempestrun.run(settings, ci=True)
    finally:
        stopped = aio(state, env, 'stop', timeout=300)
        if stopped.returncode:
            print(stopped.stdout + stopped.stderr)
        if code:
            keep_logs(state)
        if os.environ.get('AIO_TEST_KEEP'):
            print('kept %s' % state)
        else:
            shutil.rmtree(state, ignore_errors=True)
        print('Tempest CI stage took %.0f s' % (time.monotonic() - started),
              flush=True)
        # The judge's line, last.
        print(tempestrun.counts_line(tempestrun.last_counts), flush=True)
    return code


if __name__ == '__main__':
    sys.exit(main())
