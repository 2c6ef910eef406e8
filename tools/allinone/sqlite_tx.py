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

"""SQLite transactions that wait for each other instead of failing.

The all-in-one services keep their databases in SQLite files and run many
native threads in one process (Nova's API, conductor, scheduler, compute and
Placement; Glance's WSGI threads). oslo.db opens a SQLite transaction with a
plain (deferred) ``BEGIN``: it takes a shared lock at its first read and
asks for the write lock at its first write. When two such transactions have
read and both want to write - ``instance.save()`` reads the row then updates
it, the service heartbeats of conductor, scheduler and compute do the same
every 10 s - SQLite sees a deadlock and fails one of them at once with
"database is locked", without waiting its busy timeout. In the all-in-one
that failed whatever was saving at that moment: the compute's last
``instance.save()`` of a snapshot (Nova then reverts image_uploading and
deletes the image it had just uploaded), a build's network allocation,
a heartbeat.

``install()`` makes the outermost transaction of a thread on a database
begin with ``BEGIN IMMEDIATE``: it takes the write lock up front, waiting
(busy timeout) while another transaction holds it, so no transaction ever
has to upgrade a read lock and the deadlock cannot happen. Transactions of
a process on one SQLite file run one at a time: fine at all-in-one scale. A
transaction a thread opens while it already has one open on the same file
(oslo.db's ``independent`` transactions, e.g. Placement re-reading a
provider inside its allocation transaction) keeps the deferred ``BEGIN``:
waiting for the write lock its own thread holds would hang until the
timeout.
"""

import sqlite3
import threading
import weakref

# Seconds a transaction waits for the write lock (Python's default: 5).
BUSY_TIMEOUT = 60

_installed = False
_local = threading.local()


def _open_in_thread(database):
    """The thread's connections to ``database`` that began a transaction
    (weak: a connection that is gone no longer counts)."""
    opened = getattr(_local, 'opened', None)
    if opened is None:
        opened = _local.opened = {}
    return opened.setdefault(database, weakref.WeakSet())


def _on_connect(dbapi_connection, connection_record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute('PRAGMA busy_timeout = %d'
                                 % (BUSY_TIMEOUT * 1000))


def _on_begin(conn):
    # Runs before oslo.db's own engine listener, which emits BEGIN unless
    # conn.info says a transaction was begun.
    if conn.dialect.name != 'sqlite' or 'in_transaction' in conn.info:
        return
    database = conn.engine.url.database
    if not database or database == ':memory:':
        return  # one connection for all (StaticPool): nothing to wait for
    opened = _open_in_thread(database)
    nested = any(other is not conn and not other.closed and
                 other.in_transaction() for other in list(opened))
    conn.exec_driver_sql('BEGIN' if nested else 'BEGIN IMMEDIATE')
    conn.info['in_transaction'] = True  # oslo.db's marker
    opened.add(conn)


def install():
    """Apply to every SQLAlchemy engine of this process, before or after it
    is made. Idempotent."""
    global _installed
    if _installed:
        return
    import sqlalchemy
    from sqlalchemy.engine import Engine
    sqlalchemy.event.listen(Engine, 'connect', _on_connect)
    sqlalchemy.event.listen(Engine, 'begin', _on_begin)
    _installed = True
