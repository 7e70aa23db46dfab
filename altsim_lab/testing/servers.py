"""The real servers a test tier runs against: is a RabbitMQ broker or a PostgreSQL server
there, and what databases are on it.

broker_problem() and postgres_problem() say why a server cannot be used (None when it can), so
that a fixture skips with that reason on a user's machine, or fails under CI where the server
must be there; postgres_databases() lists databases by name prefix, for a test to check that
a run dropped every database it made. They talk to the servers directly (a socket, psycopg),
not through altsim, so they cannot share a fault with what they test.
"""

from __future__ import annotations

import shutil
import socket

import psycopg
from sqlalchemy.engine import make_url

from altsim_lab.deploy.provision import masked


def broker_problem(host: str = "127.0.0.1", port: int = 5672) -> str | None:
    """Why the RabbitMQ broker at host:port cannot be used (rabbitmqctl missing, nothing
    listening), or None."""
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not on PATH"
    try:
        with socket.create_connection((host, port), timeout=2):
            return None
    except OSError as exc:
        return f"no RabbitMQ on {host}:{port} ({exc})"


def postgres_problem(server_url: str) -> str | None:
    """Why the PostgreSQL server of `server_url` cannot be reached, or None."""
    try:
        with maintenance_connection(server_url):
            return None
    except psycopg.Error as exc:
        return f"no PostgreSQL at {masked(server_url)} ({' '.join(str(exc).split())})"


def maintenance_connection(server_url: str) -> psycopg.Connection:
    """A plain psycopg connection to the server's maintenance database (not through altsim)."""
    url = make_url(server_url)
    return psycopg.connect(host=url.host, port=url.port or 5432, user=url.username,
                           password=url.password, dbname=url.database or "postgres",
                           connect_timeout=5, autocommit=True)


def postgres_databases(server_url: str, prefix: str) -> set[str]:
    """The databases on the server whose name starts with `prefix`, read from pg_database."""
    with maintenance_connection(server_url) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE starts_with(datname, %s)",
                            (prefix,)).fetchall()
    return {name for (name,) in rows}
