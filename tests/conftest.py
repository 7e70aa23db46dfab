"""Fixtures of this repository's tests, built from altsim_lab.testing (where the world, the
fakes, Loopback and make_test_conf live: test modules import them from there)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from altsim_lab.testing import ServiceProcesses, World

DISRUPTIVE_ENV = "ALTSIM_DISRUPTIVE_TESTS"


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked `disruptive` restarts or stops a service it did not start (the machine's
    RabbitMQ, which other test runs and other users share): it runs only when asked for."""
    if item.get_closest_marker("disruptive") and os.environ.get(DISRUPTIVE_ENV) != "1":
        pytest.skip(f"disruptive: it restarts or stops a shared service it did not start; "
                    f"set {DISRUPTIVE_ENV}=1 to run it (.ci/run does)")


@pytest.fixture(autouse=True)
def _root_log_handlers_restored() -> Iterator[None]:
    """Commands run in-process (altsim-manage's oslo.log setup, the altsim cliff app) add
    handlers to the root logger that write to this test's captured stderr; a later test would
    log into a closed stream. Each test leaves the root logger as it found it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """An empty World (API DB, cell0, placement) in tmp_path; add cells and hosts to it."""
    w = World(tmp_path)
    yield w
    w.close()


@pytest.fixture
def service_processes() -> Iterator[ServiceProcesses]:
    """Start daemons with it: every one is stopped (killed if need be) when the test ends."""
    processes = ServiceProcesses()
    yield processes
    processes.stop_all()
