"""Per-run databases on a database server: named, created and dropped here.

A launched run given a server URL (`altsim run --transport-url ... --database-url
postgresql+psycopg://postgres@127.0.0.1:5432/`) gets one database per level, the API database,
cell0 and each cell, named from the run id (`altsim_<hex>_api`, `altsim_<hex>_cell0`,
`altsim_<hex>_<cell>`), so runs sharing a server never meet. Names are lowercase identifiers
of at most 63 characters; a level whose name had to be changed to fit (upper case, `-`, too
long, or taken by another level) gets a short hash of its real name appended.

CREATE and DROP DATABASE cannot run inside a transaction, so they go over a maintenance
connection in AUTOCOMMIT mode, to the server URL's own database or else `postgres`. A drop
first ends the connections still open on the database (`WITH (FORCE)` from PostgreSQL 13 on,
pg_terminate_backend before that), so a service that did not close its pool cannot keep its
database alive.

Only PostgreSQL servers are provisioned; SQLite, the default, needs nothing (a file is created
on first use). URLs are only ever shown with their password masked.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence

import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

LOG = logging.getLogger(__name__)

SUPPORTED_BACKENDS = ("postgresql",)
MAINTENANCE_DATABASE = "postgres"
MAX_NAME_LENGTH = 63  # PostgreSQL's NAMEDATALEN - 1
CONNECT_TIMEOUT_S = 10
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ProvisionError(RuntimeError):
    """The server refused or could not be reached; the message names it, password masked."""


def masked(url: str | URL) -> str:
    """A database URL as it may be shown: the password replaced by `***`."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "***"


def parse_server_url(url: str) -> URL:
    """The server URL parsed; ValueError (password masked) if it is not one we can provision."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        raise ValueError(f"not a database URL: {masked(url)}") from None
    if parsed.get_backend_name() not in SUPPORTED_BACKENDS:
        raise ValueError(f"cannot create databases on {masked(parsed)}: only "
                         f"{', '.join(SUPPORTED_BACKENDS)} servers are supported, e.g. "
                         f"postgresql+psycopg://user@127.0.0.1:5432/")
    return parsed


def database_names(run_id: str, levels: Sequence[str]) -> list[str]:
    """One database name per level (same order), unique among them and valid identifiers."""
    prefix = _sanitized(run_id)
    if not prefix[:1].isalpha():
        prefix = f"altsim_{prefix}"
    names: list[str] = []
    for level in levels:
        part = _sanitized(level)
        name = f"{prefix}_{part}"
        if part != level or name in names or len(name) > MAX_NAME_LENGTH:
            digest = hashlib.sha256(level.encode()).hexdigest()[:8]
            name = f"{name[:MAX_NAME_LENGTH - len(digest) - 1]}_{digest}"
        names.append(name)
    return names


def _sanitized(text: str) -> str:
    return re.sub(r"[^a-z0-9_]", "_", text.lower())


class DatabaseServer:
    """A database server on which databases are created and dropped by name."""

    def __init__(self, url: str) -> None:
        self.url = parse_server_url(url)
        self._maintenance_url = (self.url if self.url.database
                                 else self.url.set(database=MAINTENANCE_DATABASE))

    def __repr__(self) -> str:
        return f"DatabaseServer({masked(self.url)})"

    def url_for(self, name: str) -> str:
        """The URL of one database on this server (with its password: for configs only)."""
        return self.url.set(database=name).render_as_string(hide_password=False)

    def create(self, name: str) -> None:
        LOG.info("creating database %s on %s", name, masked(self.url))
        statement = f"CREATE DATABASE {self._quoted(name)}"
        self._run(f"creating database {name}", lambda conn: conn.exec_driver_sql(statement))

    def drop(self, name: str) -> None:
        """Drop a database if it exists, ending whatever connections are still open on it."""
        LOG.info("dropping database %s on %s", name, masked(self.url))
        quoted = self._quoted(name)

        def drop(conn: sa.Connection) -> None:
            if conn.dialect.server_version_info >= (13,):
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
                return
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :name AND pid <> pg_backend_pid()"),
                         {"name": name})
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted}")

        self._run(f"dropping database {name}", drop)

    def databases(self, prefix: str = "") -> set[str]:
        """Names of the databases on the server that start with `prefix`."""
        found: set[str] = set()

        def collect(conn: sa.Connection) -> None:
            found.update(row[0] for row in conn.execute(
                sa.text("SELECT datname FROM pg_database")) if row[0].startswith(prefix))

        self._run("listing databases", collect)
        return found

    def _quoted(self, name: str) -> str:
        if not _IDENTIFIER.match(name):
            raise ValueError(f"not a database name altsim makes: {name!r}")
        return name  # lowercase letters, digits and _ only: nothing to quote

    def _run(self, what: str, work: Callable[[sa.Connection], object]) -> None:
        engine = sa.create_engine(self._maintenance_url, isolation_level="AUTOCOMMIT",
                                  poolclass=NullPool,
                                  connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
        try:
            with engine.connect() as conn:
                work(conn)
        except sa.exc.SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            raise ProvisionError(f"{what} on {masked(self.url)} failed: "
                                 f"{str(reason).strip()}") from None
        finally:
            engine.dispose()
