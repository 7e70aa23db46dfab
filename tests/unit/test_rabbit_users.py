"""Per-cell RabbitMQ users without a broker: the plan, the URLs each level gets, the one
import that makes them (password hashes, never a password on a command line), and their
deletion at the end, after a launch error or Ctrl-C too (rabbitmqctl recorded, not run)."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from altsim_lab.deploy import launcher
from altsim_lab.deploy.launcher import LaunchedDeployment, LaunchError
from altsim_lab.deploy.rabbit_users import (
    broker_definitions,
    password_hash,
    plan_users,
    topology_with_users,
    with_credentials,
)
from altsim_lab.scenario.runner import run_scenario
from altsim_lab.scenario.schema import parse_scenario
from altsim_lab.scenario.topology import plan_topology

BASE = "rabbit://guest:guest@127.0.0.1:5672/"


def scenario(cells: int = 2, legacy: bool = False):  # type: ignore[no-untyped-def]
    return parse_scenario({
        "name": "users", "config": {"scheduler.legacy_retry": legacy},
        "cells": [{"name": f"cell{n}", "host_count": 1, "host_resources": {"VCPU": 1}}
                  for n in range(1, cells + 1)],
        "flavors": {"small": {"VCPU": 1}}, "requests": [{"name": "web", "flavor": "small"}]})


def topology(tmp_path: Path, cells: int = 2, legacy: bool = False):  # type: ignore[no-untyped-def]
    return plan_topology(scenario(cells, legacy), "run-1", tmp_path,
                         "rabbit://guest:guest@127.0.0.1:5672/{run_id}-{name}")


def test_with_credentials_replaces_every_hosts_and_encodes_them():
    assert with_credentials("rabbit://guest:guest@h1:5672,guest:guest@h2/vh?x=1", "u",
                            "p@ss/w") == "rabbit://u:p%40ss%2Fw@h1:5672,u:p%40ss%2Fw@h2/vh?x=1"
    assert with_credentials("rabbit://h/vh", "u", "p") == "rabbit://u:p@h/vh"


def test_each_level_gets_a_user_and_its_urls_carry_it(tmp_path: Path):
    plain = topology(tmp_path)
    users = plan_users(plain)
    assert set(users) == {"run-1-api", "run-1-cell1", "run-1-cell2"}
    assert all(user.name == vhost and len(user.password) >= 20
               for vhost, user in users.items())
    assert len({user.password for user in users.values()}) == 3
    changed = topology_with_users(plain, users)
    api = users["run-1-api"]
    assert changed.api_transport_url == (f"rabbit://run-1-api:{api.password}"
                                         f"@127.0.0.1:5672/run-1-api")
    for cell in changed.cells:
        user = users[f"run-1-{cell.mapping.name}"]
        assert cell.mapping.transport_url.startswith(f"rabbit://{user.name}:{user.password}@")
    # Only the URLs change.
    assert [c.mapping.database_connection for c in changed.cells] == \
        [c.mapping.database_connection for c in plain.cells]


def test_a_legacy_retry_cell_shares_the_api_user(tmp_path: Path):
    users = plan_users(topology(tmp_path, cells=1, legacy=True))
    assert list(users) == ["run-1-api"]


def test_password_hash_is_rabbitmqs_salted_sha256():
    raw = base64.b64decode(password_hash("secret", salt=b"\x01\x02\x03\x04"))
    assert raw[:4] == b"\x01\x02\x03\x04"
    assert raw[4:] == hashlib.sha256(b"\x01\x02\x03\x04secret").digest()


def test_the_definitions_give_each_user_its_own_vhost_only(tmp_path: Path):
    users = plan_users(topology(tmp_path))
    vhosts = list(users)
    defined = broker_definitions(vhosts, users, "guest")
    assert [v["name"] for v in defined["vhosts"]] == vhosts
    assert sorted((p["user"], p["vhost"]) for p in defined["permissions"]) == \
        sorted((vhost, vhost) for vhost in vhosts)
    text = json.dumps(defined)
    assert not any(user.password in text for user in users.values())
    # Without users of its own a vhost is the shared user's.
    shared = broker_definitions(vhosts, {}, "guest")
    assert shared["users"] == [] and {p["user"] for p in shared["permissions"]} == {"guest"}


class Broker:
    """rabbitmqctl as recorded calls: (args, stdin)."""

    def __init__(self, monkeypatch) -> None:  # type: ignore[no-untyped-def]
        self.calls: list[tuple[tuple[str, ...], str | None]] = []
        monkeypatch.setattr(launcher, "rabbitmqctl", self)

    def __call__(self, *args: str, stdin: str | None = None) -> None:
        self.calls.append((args, stdin))

    def commands(self, name: str) -> list[tuple[str, ...]]:
        return sorted(args for args, _ in self.calls if args[0] == name)


@pytest.mark.parametrize("failure", [LaunchError("placement would not start"),
                                     KeyboardInterrupt()], ids=["launch-error", "ctrl-c"])
def test_the_users_are_made_in_one_call_and_deleted_after_a_failed_launch(
        monkeypatch, failure: BaseException):
    broker = Broker(monkeypatch)
    made: dict = {}

    def fail(self, *args) -> None:  # type: ignore[no-untyped-def]
        made.update(self.level_users())
        raise failure

    monkeypatch.setattr(LaunchedDeployment, "_launch", fail)
    with pytest.raises(type(failure)):
        run_scenario(scenario(), transport_url=BASE, per_cell_users=True)
    [(args, stdin)] = [call for call in broker.calls if call[0][0] == "import_definitions"]
    assert {u["name"] for u in json.loads(stdin)["users"]} == set(made)
    # No password on any command line, in the import or elsewhere.
    assert not any(user.password in " ".join(args) or user.password in (stdin or "")
                   for args, stdin in broker.calls for user in made.values())
    assert broker.commands("delete_vhost") == [("delete_vhost", v) for v in sorted(made)]
    assert broker.commands("delete_user") == [("delete_user", v) for v in sorted(made)]


def test_without_per_cell_users_no_user_is_made_or_deleted(monkeypatch):
    broker = Broker(monkeypatch)

    def fail(self, *args) -> None:  # type: ignore[no-untyped-def]
        raise LaunchError("stop here")

    monkeypatch.setattr(LaunchedDeployment, "_launch", fail)
    with pytest.raises(LaunchError):
        run_scenario(scenario(), transport_url=BASE, per_cell_users=False)
    [(_, stdin)] = [call for call in broker.calls if call[0][0] == "import_definitions"]
    assert json.loads(stdin)["users"] == []
    assert broker.commands("delete_user") == []
    assert len(broker.commands("delete_vhost")) == 3


def test_a_failed_rabbitmqctl_message_masks_what_it_quotes(monkeypatch):
    def failing_run(argv, **kwargs):  # type: ignore[no-untyped-def]
        raise subprocess.CalledProcessError(
            2, argv, stderr="refused rabbit://u:leaked-pw-123@h/ for user u")

    monkeypatch.setattr(launcher.subprocess, "run", failing_run)
    with pytest.raises(LaunchError) as err:
        launcher.rabbitmqctl("add_vhost", "x")
    assert "leaked-pw-123" not in str(err.value)
    assert "rabbit://u:***@h/" in str(err.value)


@pytest.mark.parametrize(("flag", "passed"), [([], None), (["--per-cell-users"], True),
                                              (["--no-per-cell-users"], False)])
def test_altsim_run_passes_its_per_cell_users_flag(monkeypatch, flag: list[str], passed):
    from altsim_lab.cmd import altsim as cli
    from altsim_lab.cmd import run as run_command
    from altsim_lab.scenario.runner import RunResult

    seen: dict = {}

    def fake_run(scenario, **kwargs):  # type: ignore[no-untyped-def]
        seen.update(kwargs)
        return RunResult({"scenario": scenario.name, "transport": "rabbit", "summary": {},
                          "instances": [], "expectations": []}, timed_out=False)

    monkeypatch.setattr(run_command, "run_scenario", fake_run)
    path = Path(__file__).parents[2] / "etc" / "altsim" / "scenarios" / "reschedule-once.yaml"
    assert cli.main(["-q", "run", str(path), "--transport-url", BASE, *flag]) == 0
    assert seen["per_cell_users"] is passed
