"""The real-services tier: RabbitMQ at 127.0.0.1:5672 (guest/guest) and rabbitmqctl, and
PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth) for the runs that keep their databases
on a server.

Without a broker or a database server these tests skip and say how to enable them; under
CI=true they must run, so a missing one is a failure there.
"""

from __future__ import annotations

import os
import shutil
import socket

import psycopg
import pytest
from sqlalchemy.engine import make_url

from altsim_lab.deploy.provision import masked

RABBIT_URL = os.environ.get("ALTSIM_RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5672/")
# A server URL: altsim creates (and drops) the databases of each run on it.
POSTGRES_URL = os.environ.get("ALTSIM_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/")


def _broker_problem() -> str | None:
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not on PATH"
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            return None
    except OSError as exc:
        return f"no RabbitMQ on 127.0.0.1:5672 ({exc})"


def _require(what: str, problem: str | None, how_to: str) -> None:
    """Skip on a user's machine, with how to enable the tests, or fail under CI=true."""
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs {what} for the rabbit tier: {problem}")
    pytest.skip(f"{problem}: {how_to} to run these")


@pytest.fixture(scope="session")
def rabbit_url() -> str:
    _require("RabbitMQ", _broker_problem(), "start RabbitMQ (rabbitmq-server -detached)")
    return RABBIT_URL


def _postgres_problem() -> str | None:
    try:
        with _maintenance_connection(POSTGRES_URL):
            return None
    except psycopg.Error as exc:
        return f"no PostgreSQL at {masked(POSTGRES_URL)} ({' '.join(str(exc).split())})"


def _maintenance_connection(server_url: str) -> psycopg.Connection:
    """A plain psycopg connection to the server's maintenance database (not through altsim)."""
    url = make_url(server_url)
    return psycopg.connect(host=url.host, port=url.port or 5432, user=url.username,
                           password=url.password, dbname=url.database or "postgres",
                           connect_timeout=5, autocommit=True)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A PostgreSQL server URL on which tests may create and drop databases."""
    _require("PostgreSQL", _postgres_problem(),
             "start PostgreSQL (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) "
             "main start) with trust auth for postgres on 127.0.0.1, or point "
             "ALTSIM_POSTGRES_URL at a server where you may create databases,")
    return POSTGRES_URL


def postgres_databases(server_url: str, prefix: str) -> set[str]:
    """The databases on the server whose name starts with `prefix`, read from pg_database."""
    with _maintenance_connection(server_url) as conn:
        rows = conn.execute("SELECT datname FROM pg_database WHERE starts_with(datname, %s)",
                            (prefix,)).fetchall()
    return {name for (name,) in rows}
