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

"""A real tgtd of the test's own, for Cinder's tests and for Nova's.

Imports nothing of Cinder (only our tgtd client): Nova's tests use it too,
and Cinder and Nova cannot share one process's oslo.config.
"""

import os
import random
import shutil
import socket
import subprocess
import time
import unittest

import fixtures

from cinder_virtualbox import tgtd


def _free_tcp_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


class OwnTgtd(fixtures.Fixture):
    """A tgtd of the test's own: a control port no other tgtd uses (so its
    own management socket) and a free portal port on 127.0.0.1; stopped
    by its pid, so a tgtd of the host is never touched. Skips the test
    unless running as root with tgtd installed (tgtd answers root only).
    """

    def setUp(self):
        # Before Fixture.setUp: a skip raised in _setUp would reach the
        # test wrapped with fixtures' SetupError, an error.
        if os.geteuid() != 0 or not shutil.which('tgtd'):
            raise unittest.SkipTest('needs root and tgtd (apt-get install '
                                    'tgt)')
        super().setUp()

    def _setUp(self):
        self.folder = self.useFixture(fixtures.TempDir()).path
        self.log_path = os.path.join(self.folder, 'tgtd.log')
        for _attempt in range(20):
            # A short; clear of the default 0 a host's tgtd listens on.
            port = random.randint(20000, 32000)
            path = '%s.%d' % (tgtd.DEFAULT_SOCKET, port)
            if not os.path.exists(path) and not os.path.exists(
                    path + '.lock'):
                break
        self.control_port, self.socket = port, path
        self.portal_port = _free_tcp_port()
        self.client = tgtd.Client(port, timeout=5)
        self.proc = None
        self.addCleanup(self.stop)
        self.start()

    def start(self):
        """Start tgtd (again, after stop: the same ports, the same log)
        and wait until it answers."""
        with open(self.log_path, 'ab') as log:
            self.proc = subprocess.Popen(
                ['tgtd', '-f', '-C', str(self.control_port), '--iscsi',
                 'portal=127.0.0.1:%d' % self.portal_port],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while True:
            try:
                self.client.show_targets()
                return
            except tgtd.TgtdUnavailable:
                if (time.monotonic() > deadline or
                        self.proc.poll() is not None):
                    raise
                time.sleep(0.1)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            # tgtd 1.0.85 ignores SIGTERM (its handler does nothing) and
            # leaves only when offline with no target; a crash is also
            # what ensure_export must recover from.
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None
        # SIGKILL leaves tgtd's socket files, which are this port's, so
        # ours to remove.
        for leftover in (self.socket, self.socket + '.lock'):
            if os.path.exists(leftover):
                os.unlink(leftover)

    def show(self):
        """tgtd's own text for its targets (sessions name initiators)."""
        return self.client.request(tgtd.MODE_TARGET, tgtd.OP_SHOW,
                                   what='show targets')
