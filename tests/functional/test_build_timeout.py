"""The build-timeout sweep in the embedded deployment and in the cell conductor daemon.

Embedded: a hung spawn is ended by the cell conductor's periodic sweep, recorded as the
services recorded it, and the sweep's thread is gone once the run has stopped. Daemon:
`altsim-conductor` (role cell, on its own in-memory bus) sweeps a stuck build of its cell DB,
which the test waits for on the daemon's log line, then stops cleanly on SIGTERM.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from pathlib import Path

import pytest

from altsim.db.cell import CellDatabase
from altsim.db.engine import dispose_engine
from altsim.events import TIMEOUT_EVENT
from altsim.objects import Flavor, Instance
from altsim_lab.scenario.runner import run_scenario
from altsim_lab.scenario.schema import parse_scenario
from altsim_lab.testing import ServiceProcesses

CONDUCTOR = str(Path(sys.executable).with_name("altsim-conductor"))
WAIT_S = 30.0
SWEPT_LINE = "Instance failed to spawn: Build of instance"


def hung_scenario(timeout_s: float = 0.3) -> dict:
    return {
        "name": "hung", "seed": 1,
        "config": {"conductor.build_timeout": timeout_s,
                   "conductor.build_timeout_interval": 0.05,
                   "filter_scheduler.static_host_weights": {"host1": 20, "host2": 10}},
        "cells": [{"name": "cell1", "hosts": [
            {"name": "host1", "resources": {"VCPU": 4}},
            {"name": "host2", "resources": {"VCPU": 4}}]}],
        "flavors": {"small": {"VCPU": 1}},
        "faults": [{"hosts": ["host1"], "action": "hang"}],
        "requests": [{"name": "web", "flavor": "small", "count": 2, "concurrency": 2}],
        "expect": {"error": 2, "timed_out": 2, "leaked_allocations": 0}}


def test_an_embedded_run_ends_hung_builds_and_stops_its_sweep():
    # Given two builds that hang on host1, and a 0.3 s build timeout
    seen: dict = {}

    def look(deployment) -> None:  # type: ignore[no-untyped-def]
        seen["threads"] = {t.name for t in threading.enumerate()}
        [cell_db] = deployment.cell_dbs.values()
        seen["events"] = [e for events in cell_db.list_events().values() for e in events
                          if e.event == TIMEOUT_EVENT]

    # When the scenario runs embedded
    result = run_scenario(parse_scenario(hung_scenario()), timeout_s=60, inspect=look)

    # Then the sweep ended both (the runner heard it), recording the host each was stuck on
    assert result.ok, (result.errors, result.report["expectations"])
    assert [e["timed_out"] for e in result.report["instances"]] == [True, True]
    assert [(e.host, e.result) for e in seen["events"]] == [("host1", "timed_out")] * 2
    # ... its thread ran during the run and is gone after it
    assert "build-timeout-conductor-cell1" in seen["threads"]
    assert "build-timeout-conductor-cell1" not in {t.name for t in threading.enumerate()}


def test_a_sweep_never_touches_builds_that_finish_in_time():
    scenario = hung_scenario(timeout_s=30)
    scenario["faults"] = [{"hosts": ["host1"], "latency_ms": 50}]
    scenario["expect"] = {"active": 2, "timed_out": 0}
    result = run_scenario(parse_scenario(scenario), timeout_s=60)
    assert result.ok, (result.errors, result.report["expectations"])


TRANSPORT_PASSWORD = "bus-password-0123456789"
TOKEN = "placement-token-0123456789"


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> dict:
    """A cell conductor daemon given a cell DB with a build stuck for 100 s, a 1 s timeout, a
    password in its transport URL and a placement token; it runs until it has swept."""
    workdir = tmp_path_factory.mktemp("cell-conductor")
    url = f"sqlite:///{workdir / 'cell1.db'}"
    cell_db = CellDatabase(url)
    cell_db.sync()
    instance = Instance(uuid="5e0d3b1e-0000-4000-8000-000000000001", name="stuck",
                        project_id="p", user_id="u", flavor=Flavor(name="f", resources={}),
                        cell_uuid="c")
    cell_db.create_instance(instance)
    cell_db.start_action(instance.uuid, "req-stuck")
    cell_db.update_instance(instance.uuid, created_at=time.time() - 100)
    config = workdir / "conductor.conf"
    config.write_text(
        "[DEFAULT]\nhost = conductor-cell1\n"
        f"transport_url = memory://altsim:{TRANSPORT_PASSWORD}@/build-timeout-daemon\n"
        f"[database]\nconnection = {url}\n"
        "[conductor]\nrole = cell\nbuild_timeout = 1\nbuild_timeout_interval = 0.05\n"
        f"[placement]\nauth_token = {TOKEN}\n")
    with ServiceProcesses() as processes:
        # Waited for until it has swept; its output raw, since the test checks the daemon's
        # own masking, and whole.
        daemon = processes.start("conductor-cell1", [CONDUCTOR, "--config-file", str(config)],
                                 ready=re.escape(SWEPT_LINE), mask=None, keep=None)
        daemon.wait_ready(WAIT_S)
        daemon.terminate()
        code = daemon.wait(WAIT_S)
    result = {"code": code, "output": daemon.output,
              "row": next(r for r in cell_db.list_instance_rows() if r["uuid"] == instance.uuid),
              "fault": cell_db.list_faults()[instance.uuid].message,
              "events": cell_db.list_events(instance.uuid)[instance.uuid]}
    dispose_engine(url)
    return result


def test_the_cell_conductor_daemon_sweeps_its_cell_and_stops_cleanly(swept: dict):
    assert swept["code"] == 0, swept["output"]
    assert swept["row"]["vm_state"] == "error"
    assert "aborted: Instance build timed out after" in swept["fault"]
    assert [(e.event, e.result) for e in swept["events"]] == [(TIMEOUT_EVENT, "timed_out")]
    # The sweep's log line carries the build's own request id, as its RPC handlers do.
    assert any("req-stuck" in line and SWEPT_LINE in line
               for line in swept["output"].splitlines()), swept["output"]
    assert "cell conductor conductor-cell1 stopping" in swept["output"]


def test_the_daemon_shows_its_bus_with_the_password_masked(swept: dict):
    assert "bus memory://altsim:***@/build-timeout-daemon" in swept["output"]
    assert TRANSPORT_PASSWORD not in swept["output"]
    assert TOKEN not in swept["output"]
