"""The real-broker tier: RabbitMQ at 127.0.0.1:5672 (guest/guest) and rabbitmqctl.

Without a broker these tests skip and say how to enable them; under CI=true they must run, so a
missing broker is a failure there.
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest

RABBIT_URL = os.environ.get("ALTSIM_RABBIT_URL", "rabbit://guest:guest@127.0.0.1:5672/")


def _broker_problem() -> str | None:
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not on PATH"
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            return None
    except OSError as exc:
        return f"no RabbitMQ on 127.0.0.1:5672 ({exc})"


@pytest.fixture(scope="session")
def rabbit_url() -> str:
    problem = _broker_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs RabbitMQ for the rabbit tier: {problem}")
        pytest.skip(f"{problem}: start RabbitMQ (rabbitmq-server -detached) to run these")
    return RABBIT_URL
