"""The real-services tier: RabbitMQ at 127.0.0.1:5672 (guest/guest) and rabbitmqctl, and
PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth) for the runs that keep their databases
on a server.

Without a broker or a database server these tests skip and say how to enable them; under
CI=true they must run, so a missing one is a failure there. Whether a server is there is asked
of altsim_lab.testing.servers.
"""

from __future__ import annotations

import os

import pytest

from altsim_lab.testing import broker_problem, postgres_problem

RABBIT_URL = os.environ.get("ALTSIM_RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5672/")
# A server URL: altsim creates (and drops) the databases of each run on it.
POSTGRES_URL = os.environ.get("ALTSIM_POSTGRES_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/")


def _require(what: str, problem: str | None, how_to: str) -> None:
    """Skip on a user's machine, with how to enable the tests, or fail under CI=true."""
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs {what} for the rabbit tier: {problem}")
    pytest.skip(f"{problem}: {how_to} to run these")


@pytest.fixture(scope="session")
def rabbit_url() -> str:
    _require("RabbitMQ", broker_problem(), "start RabbitMQ (rabbitmq-server -detached)")
    return RABBIT_URL


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A PostgreSQL server URL on which tests may create and drop databases."""
    _require("PostgreSQL", postgres_problem(POSTGRES_URL),
             "start PostgreSQL (pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) "
             "main start) with trust auth for postgres on 127.0.0.1, or point "
             "ALTSIM_POSTGRES_URL at a server where you may create databases,")
    return POSTGRES_URL
