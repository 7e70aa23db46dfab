"""Per-cell RabbitMQ users over a real broker: a cell's credentials cannot even open the API
vhost (or another cell's), every service runs with its own level's user, no password or token
shows in any daemon's log or the report, the outcome is the one a shared user gives, and the
users are gone after the run, also after a failed launch or Ctrl-C."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import amqp.exceptions
import kombu
import pytest

from altsim_lab.deploy import launcher
from altsim_lab.deploy.launcher import LaunchedDeployment
from altsim_lab.scenario.runner import run_scenario
from altsim_lab.scenario.schema import parse_scenario

pytestmark = pytest.mark.rabbit
FAULT_SECRET = "fault-password-9d3e1b"
# Two cells, deterministic: web-1 fails once on a1 and goes to a2; a2 is then full and a1
# sinks (BuildFailureWeigher), so web-3 and web-4 go to cellb's b1.
SCENARIO = {
    "name": "two-cells-per-cell-users", "seed": 7,
    "config": {"filter_scheduler.static_host_weights": {"a1": 40, "a2": 30, "b1": 20,
                                                        "b2": 10}},
    "cells": [{"name": "cella", "hosts": [{"name": "a1", "resources": {"VCPU": 2}},
                                          {"name": "a2", "resources": {"VCPU": 2}}]},
              {"name": "cellb", "hosts": [{"name": "b1", "resources": {"VCPU": 8}},
                                          {"name": "b2", "resources": {"VCPU": 8}}]}],
    "flavors": {"small": {"VCPU": 1}},
    "faults": [{"hosts": ["a1"], "action": "reschedule", "first": 1,
                "reason": f"spawn failed: rabbit://nova:{FAULT_SECRET}@rabbit.example/"}],
    "requests": [{"name": "web", "flavor": "small", "count": 4}],
    "expect": {"active": 4, "reschedules": 1, "leaked_allocations": 0, "instances": {
        # As in Nova, a1's failure reaches its compute node row (which the weighers read) only
        # with a1's next claim: web-2 still goes there, and only then does a1 sink.
        "web-1": {"attempts": ["a1", "a2"]}, "web-2": {"host": "a1"},
        "web-3": {"host": "a2"}, "web-4": {"host": "b1"}}}}


def broker_users() -> set[str]:
    out = subprocess.run(["rabbitmqctl", "-q", "list_users"], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return {line.split("\t")[0] for line in out.splitlines()[1:] if line.strip()}


def opens(user: Any, vhost: str) -> bool:
    """True if `user` may open `vhost`; False if the broker refuses that user there."""
    url = f"amqp://{user.name}:{user.password}@127.0.0.1:5672/{vhost}"
    try:
        with kombu.Connection(url, connect_timeout=10) as conn:
            conn.connect()
            return conn.connected
    except amqp.exceptions.NotAllowed as exc:
        assert "refused for user" in str(exc), exc  # refused, not a vhost that is missing
        return False


def outcome(report: dict) -> list[tuple]:
    return [(e["name"], e["status"], e["host"], [a["host"] for a in e["attempts"]])
            for e in report["instances"]]


@pytest.fixture(scope="module")
def with_users(rabbit_url: str) -> dict[str, Any]:
    """The scenario launched with per-cell users, every daemon logging at DEBUG, and what the
    live deployment showed."""
    seen: dict[str, Any] = {}
    real_write_config = launcher.write_config

    def debug_config(path: Path, sections: dict) -> Path:
        sections.setdefault("DEFAULT", {})["debug"] = True
        return real_write_config(path, sections)

    def look(deployment: LaunchedDeployment) -> None:
        users = deployment.level_users()
        api_vhost = deployment.topology.api_transport_url.rsplit("/", 1)[1]
        cells = {cell.mapping.name: cell.mapping.transport_url.rsplit("/", 1)[1]
                 for cell in deployment.topology.cells}
        seen.update(users=users, api_vhost=api_vhost, cell_vhosts=cells,
                    live_users=broker_users(), token=deployment._token,
                    access={(user.vhost, vhost): opens(user, vhost) for user in users.values()
                            for vhost in [api_vhost, *cells.values()]},
                    configs={path.stem: path.read_text()
                             for path in deployment.workdir.glob("*.conf")})
        seen["logs"] = {path.name: path.read_text(errors="replace")
                        for path in deployment.workdir.glob("*.log")}

    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(launcher, "write_config", debug_config)
    try:
        result = run_scenario(parse_scenario(SCENARIO), timeout_s=120,
                              transport_url=rabbit_url, inspect=look, per_cell_users=True)
    finally:
        monkeypatch.undo()
    seen.update(result=result, users_after=broker_users())
    return seen


def test_a_cell_user_cannot_open_the_api_vhost_or_another_cells(with_users: dict[str, Any]):
    access, api = with_users["access"], with_users["api_vhost"]
    cells = with_users["cell_vhosts"]
    assert set(with_users["users"]) == {api, *cells.values()}
    for vhost in cells.values():
        assert access[(vhost, vhost)], "a cell's user must open its own vhost"
        assert not access[(vhost, api)], "a cell's user opened the API vhost"
        assert not any(access[(vhost, other)] for other in cells.values() if other != vhost)
    assert access[(api, api)]
    assert not any(access[(api, vhost)] for vhost in cells.values())


def test_each_service_was_given_its_own_levels_user(with_users: dict[str, Any]):
    users, configs = with_users["users"], with_users["configs"]
    api_user = users[with_users["api_vhost"]]
    for cell, vhost in with_users["cell_vhosts"].items():
        for service in (f"conductor-{cell}", f"compute-{cell}"):
            assert f"://{users[vhost].name}:" in configs[service]
            assert api_user.name not in configs[service], f"{service} has the API user"
    for service in ("scheduler", "conductor-super"):
        assert f"://{api_user.name}:" in configs[service]
    assert set(with_users["users"]) <= with_users["live_users"]


def test_no_password_or_token_in_any_log_or_the_report(with_users: dict[str, Any]):
    secrets = [user.password for user in with_users["users"].values()]
    secrets += [with_users["token"], FAULT_SECRET]
    report = json.dumps(with_users["result"].report)
    assert len(with_users["logs"]) >= 6  # placement, scheduler, 3 conductors, 2 computes
    for name, text in {**with_users["logs"], "report": report}.items():
        for secret in secrets:
            assert secret not in text, f"a secret in {name}"
    # The debug logs did say things about the buses, and the fault reason went through
    # compute-cella's log masked.
    assert "rabbit://nova:***@rabbit.example/" in with_users["logs"]["compute-cella.log"]


def test_the_outcome_is_the_one_a_shared_user_gives(with_users: dict[str, Any],
                                                    rabbit_url: str):
    result = with_users["result"]
    assert result.ok, (result.errors, result.report["expectations"])
    shared = run_scenario(parse_scenario(SCENARIO), timeout_s=120, transport_url=rabbit_url,
                          per_cell_users=False)
    assert shared.ok, (shared.errors, shared.report["expectations"])
    assert outcome(result.report) == outcome(shared.report)
    keys = ("active", "error", "reschedules", "leaked_allocations")
    assert [result.report["summary"][k] for k in keys] == \
        [shared.report["summary"][k] for k in keys]


def test_the_runs_users_are_deleted_after_it(with_users: dict[str, Any]):
    assert not {user.name for user in with_users["users"].values()} & with_users["users_after"]


def test_the_users_are_deleted_after_ctrl_c_during_the_launch(rabbit_url: str, monkeypatch):
    # (A launch error takes the same way out: tests/unit/test_rabbit_users.py.)
    made: set[str] = set()

    def interrupted(self, *args) -> None:  # type: ignore[no-untyped-def]
        made.update(user.name for user in self.level_users().values())
        assert made <= broker_users(), "the users were not made before the services"
        raise KeyboardInterrupt

    monkeypatch.setattr(LaunchedDeployment, "_launch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_scenario(parse_scenario(SCENARIO), transport_url=rabbit_url, per_cell_users=True)
    assert len(made) == 3 and not made & broker_users()
