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

"""tools/allinone/sqlite_tx.py: concurrent oslo.db transactions on one
SQLite file, in threads of one process, as in the all-in-one's Nova.

Needs SQLAlchemy and oslo.db (the all-in-one venv, or tox's):

    .aio/venv/bin/python -m unittest discover -s tools/allinone/tests
"""

import os
import subprocess
import sys
import tempfile
import threading
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

THREADS = 6


def race(path, threads=THREADS):
    """Each thread, in one oslo.db writer transaction, reads the row, waits
    until every thread has read, then updates it - what instance.save() and
    the service heartbeats do. Returns the errors (strings)."""
    from oslo_db.sqlalchemy import enginefacade
    import sqlalchemy as sa

    facade = enginefacade.transaction_context()
    facade.configure(connection='sqlite:///%s' % path)
    with facade.writer.connection.using(_Context()) as conn:
        conn.exec_driver_sql('CREATE TABLE IF NOT EXISTS t '
                             '(id INTEGER PRIMARY KEY, n INTEGER)')
        conn.exec_driver_sql('INSERT OR REPLACE INTO t VALUES (1, 0)')
    barrier = threading.Barrier(threads, timeout=2)
    errors = []

    def work():
        try:
            with facade.writer.connection.using(_Context()) as conn:
                n = conn.execute(sa.text('SELECT n FROM t')).scalar()
                try:
                    barrier.wait()
                except threading.BrokenBarrierError:
                    pass  # serialised (install()) or another failed
                conn.execute(sa.text('UPDATE t SET n = :n'), {'n': n + 1})
        except Exception as e:
            errors.append(str(e).splitlines()[0])
            barrier.abort()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    with facade.reader.connection.using(_Context()) as conn:
        total = conn.execute(sa.text('SELECT n FROM t')).scalar()
    if not errors and total != threads:
        errors.append('lost updates: n is %s, not %d' % (total, threads))
    return errors


class _Context(object):
    """What enginefacade needs of a request context."""


class SQLiteTransactionsTest(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='sqlite-tx-')

    def test_race_fails_without(self):
        # The control: plain oslo.db fails at once with "database is
        # locked" (run in a process of its own: install() is global).
        code = ('import sys; sys.path.insert(0, %r); import test_sqlite_tx;'
                'print(test_sqlite_tx.race(%r))'
                % (HERE, os.path.join(self.tmp, 'plain.sqlite')))
        out = subprocess.run([sys.executable, '-c', code], check=True,
                             capture_output=True, text=True,
                             timeout=120).stdout
        self.assertIn('database is locked', out)

    def test_race_waits_with_install(self):
        import sqlite_tx
        sqlite_tx.install()
        self.assertEqual(
            [], race(os.path.join(self.tmp, 'immediate.sqlite')))

    def test_independent_transaction_inside_writer(self):
        # A reader the same thread opens inside its own write transaction
        # (oslo.db's "independent", as Placement does) must not wait for
        # the write lock its own thread holds.
        from oslo_db.sqlalchemy import enginefacade
        import sqlalchemy as sa

        import sqlite_tx
        sqlite_tx.install()
        facade = enginefacade.transaction_context()
        facade.configure(connection='sqlite:///%s' % os.path.join(
            self.tmp, 'nested.sqlite'))
        ctx = _Context()
        with facade.writer.connection.using(ctx) as conn:
            conn.exec_driver_sql('CREATE TABLE t (n INTEGER)')
            conn.exec_driver_sql('INSERT INTO t VALUES (1)')
        with facade.writer.connection.using(ctx) as conn:
            conn.exec_driver_sql('UPDATE t SET n = 2')
            with facade.reader.independent.connection.using(
                    _Context()) as inner:
                self.assertEqual(1, inner.execute(
                    sa.text('SELECT n FROM t')).scalar())


if __name__ == '__main__':
    unittest.main()
