"""Engine creation: one place that knows how to make SQLite safe for many threads.

SQLite is the embedded default. Concurrent writers in one process need WAL (readers do not block
the writer), a busy timeout (writers wait instead of failing), and BEGIN IMMEDIATE (a transaction
takes the write lock up front, so two transactions never deadlock upgrading a read lock).
Other databases (PostgreSQL) get a plain engine.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy import event

READ_ONLY = "altsim_read_only"
_engines: dict[str, sa.Engine] = {}
_sqlite_locks: dict[str, threading.Lock] = {}
_lock = threading.Lock()


class Database:
    """Base of the API and cell databases: one engine per URL, transactions via `begin()`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = get_engine(url)
        with _lock:
            # SQLite's busy handler waits for a lock by sleeping in growing steps (up to 100 ms),
            # so threads of one process contending for the write lock lose most of their time
            # asleep. Queueing them on a Python lock instead hands the database over at once.
            self._local_lock = (_sqlite_locks.setdefault(url, threading.Lock())
                                if url.startswith("sqlite") else None)

    @contextlib.contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        if self._local_lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._local_lock, self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read-only transaction: with SQLite's WAL it needs neither the write lock nor the
        queue for it, so readers never wait behind writers."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{READ_ONLY: True})
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def joined(self, conn: sa.Connection | None) -> Iterator[sa.Connection]:
        """Run in the caller's transaction when given one (to group steps), else in a new one."""
        if conn is not None:
            yield conn
        else:
            with self.begin() as new_conn:
                yield new_conn


def get_engine(url: str) -> sa.Engine:
    """The shared engine for a URL (services in one process reuse each other's pools)."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = _create_engine(url)
        return engine


def dispose_engine(url: str) -> None:
    with _lock:
        engine = _engines.pop(url, None)
        _sqlite_locks.pop(url, None)
    if engine is not None:
        engine.dispose()


def _create_engine(url: str) -> sa.Engine:
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True, future=True)
    engine = sa.create_engine(url, future=True, pool_size=20, max_overflow=40,
                              connect_args={"check_same_thread": False, "timeout": 60})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Take transaction control away from pysqlite so that "begin" below is the only BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        read_only = connection.get_execution_options().get(READ_ONLY)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine
