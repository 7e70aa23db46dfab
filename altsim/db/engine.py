"""Engine creation: one place that knows how to make SQLite safe for many threads.

SQLite is the embedded default. Concurrent writers in one process need WAL (readers do not block
the writer), a busy timeout (writers wait instead of failing), and BEGIN IMMEDIATE (a transaction
takes the write lock up front, so two transactions never deadlock upgrading a read lock).
Other databases (PostgreSQL) get a plain engine.
"""

from __future__ import annotations

import contextlib
import functools
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from altsim import runtime

READ_ONLY = "altsim_read_only"
_engines: dict[str, sa.Engine] = {}
_sqlite_locks: dict[str, runtime.Lock] = {}
_lock = threading.Lock()


_NAMED_PARAM = re.compile(r"(?<![:\w]):(\w+)")


@functools.lru_cache(maxsize=256)
def _for_driver(sql: str, paramstyle: str) -> str:
    """altsim's SQL names parameters `:name`; pyformat drivers (psycopg) want `%(name)s`,
    and a literal `%` (a LIKE pattern, a modulo) doubled."""
    if paramstyle in ("pyformat", "format"):
        return _NAMED_PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))
    return sql  # sqlite3 takes :name whatever SQLAlchemy's default style for it is


class Transaction:
    """Plain, portable SQL with `:name` parameters, run on the driver's own cursor."""

    def __init__(self, cursor: Any, paramstyle: str) -> None:
        self._cursor = cursor
        self._paramstyle = paramstyle

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> int:
        """Run one statement; returns the number of rows it changed."""
        self._cursor.execute(_for_driver(sql, self._paramstyle), params or {})
        return self._cursor.rowcount

    def query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
        self._cursor.execute(_for_driver(sql, self._paramstyle), params or {})
        return [tuple(row) for row in self._cursor.fetchall()]


class Database:
    """Base of the API and cell databases: one engine per URL, transactions via `begin()`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = get_engine(url)
        with _lock:
            # SQLite's busy handler waits for a lock by sleeping in growing steps (up to 100 ms),
            # so threads of one process contending for the write lock lose most of their time
            # asleep. Queueing them on a Python lock instead hands the database over at once.
            # A runtime Lock: a deterministic run may switch threads inside a transaction
            # (a message sent before it commits), and whoever waits must wait in its scheduler.
            self._local_lock = (_sqlite_locks.setdefault(url, runtime.Lock())
                                if url.startswith("sqlite") else None)
        self._paramstyle = self.engine.dialect.paramstyle

    @contextlib.contextmanager
    def begin(self) -> Iterator[Transaction]:
        """A write transaction on a pooled DBAPI connection.

        Writes go straight to the driver with plain SQL (see Transaction): on the build path
        SQLAlchemy's per-statement machinery cost more than SQLite itself did.
        """
        runtime.yield_point("db")
        if self._local_lock is None:
            with self._raw_transaction("") as tx:
                yield tx
            return
        with self._local_lock, self._raw_transaction("BEGIN IMMEDIATE") as tx:
            yield tx

    @contextlib.contextmanager
    def _raw_transaction(self, begin_sql: str) -> Iterator[Transaction]:
        raw = self.engine.raw_connection()
        cursor = raw.cursor()
        try:
            if begin_sql:  # SQLite runs in autocommit mode here: open the transaction
                cursor.execute(begin_sql)
            yield Transaction(cursor, self._paramstyle)
            if begin_sql:
                cursor.execute("COMMIT")
            else:
                raw.commit()
        except BaseException:
            if begin_sql:
                cursor.execute("ROLLBACK")
            else:
                raw.rollback()
            raise
        finally:
            cursor.close()
            raw.close()

    @contextlib.contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A read-only transaction: with SQLite's WAL it needs neither the write lock nor the
        queue for it, so readers never wait behind writers."""
        runtime.yield_point("db")
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{READ_ONLY: True})
            with conn.begin():
                yield conn

    def select(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple]:
        """One SELECT (plain SQL, `:name` parameters) on a pooled DBAPI connection: what
        `read` gives one statement, without SQLAlchemy's compile of it, which is cached per
        engine and so paid again by every new deployment's databases. Values come back as
        the driver gives them (a boolean as 0/1 and JSON as text on SQLite): the caller
        converts. A driver's error is raised as SQLAlchemy raises it from a Connection (e.g.
        sqlalchemy.exc.OperationalError), which is what callers catch."""
        runtime.yield_point("db")
        driver_error = self.engine.dialect.loaded_dbapi.Error
        try:
            with self._raw_transaction("") as tx:
                return tx.query(sql, params)
        except driver_error as exc:
            raise sa.exc.DBAPIError.instance(sql, params, exc, driver_error,
                                             dialect=self.engine.dialect) from exc

    def raw_queries(self, *statements: str) -> list[list[tuple]]:
        """Run plain parameterless SELECTs on a pooled DBAPI connection, bypassing SQLAlchemy's
        Connection layer, which costs more than the query itself for the scheduler's hottest,
        smallest reads. Each statement sees committed data; they are not one snapshot, and
        they take no write lock."""
        runtime.yield_point("db")
        with self._raw_transaction("") as tx:
            return [tx.query(statement) for statement in statements]

    def snapshot_queries(self, *queries: tuple[str, dict[str, Any]],
                         stop: Callable[[list[list[tuple]]], bool] = lambda results: False,
                         ) -> list[list[tuple] | None]:
        """Run SELECTs (sql, params) in order, all seeing one snapshot of the database, with
        no write lock; after each, `stop(results so far)` may end the run early (the
        queries not run give None). SQLite's WAL gives a deferred transaction one snapshot
        from its first read; other databases need REPEATABLE READ for it."""
        results: list[list[tuple] | None] = []
        with self._raw_transaction("BEGIN" if self._local_lock is not None else "") as tx:
            if self._local_lock is None:
                tx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            for sql, params in queries:
                results.append(tx.query(sql, params))
                if stop(results):  # type: ignore[arg-type]
                    break
        return results + [None] * (len(queries) - len(results))

    @contextlib.contextmanager
    def joined(self, conn: Transaction | None) -> Iterator[Transaction]:
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
    # No rollback when a connection goes back to the pool: SQLite runs in autocommit mode
    # here and every transaction is ended where it is opened (begin/read), so the pool's
    # safety-net ROLLBACK was a wasted statement on every one of a build's many checkouts.
    engine = sa.create_engine(url, future=True, pool_size=20, max_overflow=40,
                              pool_reset_on_return=None,
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
