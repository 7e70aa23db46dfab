"""The client's views of a deployment (altsim_lab.client) agree with the run report, embedded.

Each test runs an example scenario and, before the services stop, looks at the live deployment
through a client Connection (the same one `altsim server ...` uses), then compares with the
report, which is built from the same databases by other code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from altsim_lab.client import hosts, servers
from altsim_lab.client.connection import (
    ClientError,
    Connection,
    InvalidClientInput,
    load_client_conf,
)
from altsim_lab.deploy.launcher import write_config
from altsim_lab.scenario.runner import RunResult, run_scenario
from altsim_lab.scenario.schema import load_scenario

SCENARIOS = Path(__file__).parents[2] / "etc" / "altsim" / "scenarios"


def _run_and_look(name: str, look, tmp_path: Path) -> tuple[RunResult, dict[str, Any]]:  # type: ignore[no-untyped-def]
    seen: dict[str, Any] = {}

    def inspect(deployment) -> None:  # type: ignore[no-untyped-def]
        path = write_config(tmp_path / f"{name}.conf", {
            "DEFAULT": {"transport_url": deployment.topology.api_transport_url},
            "api_database": {"connection": deployment.topology.api_db_url}})
        connection = Connection(load_client_conf([str(path)]), placement=deployment.placement)
        try:
            look(connection, seen)
        finally:
            connection.close()

    result = run_scenario(load_scenario(SCENARIOS / f"{name}.yaml"), timeout_s=60,
                          inspect=inspect)
    return result, seen


def _by_name(report: dict) -> dict[str, dict]:
    return {entry["name"]: entry for entry in report["instances"]}


def test_server_views_match_the_report_after_a_reschedule(tmp_path: Path):
    def look(connection: Connection, seen: dict) -> None:
        seen["servers"] = servers.list_servers(connection)
        server = servers.find_server(connection, "web-1")
        seen["events"] = servers.server_events(connection, server)
        seen["hosts"] = hosts.list_hosts(connection)
        seen["cells"] = hosts.list_cells(connection)

    result, seen = _run_and_look("reschedule-once", look, tmp_path)
    assert result.ok, result.report["expectations"]
    web = _by_name(result.report)["web-1"]
    [server] = seen["servers"]
    assert (server.id, server.name, server.status, server.host) == (
        web["uuid"], "web-1", "ACTIVE", "host2")
    # every build attempt, host by host, with the reason of the failed one
    builds = [(e.host, e.result, e.reason) for e in seen["events"] if e.kind == "build"]
    assert builds == [("host1", "rescheduled", "spawn failed: simulated libvirt error"),
                      ("host2", "active", None)]
    assert [(a["host"], a["result"]) for a in web["attempts"]] == [b[:2] for b in builds]
    schedule = seen["events"][0]
    assert schedule.kind == "schedule"
    assert schedule.details == "selection: " + ", ".join(web["selection"])
    by_host = {h.host: h for h in seen["hosts"]}
    # The client shows the compute node rows, where host1's failure is not yet (Nova's lag:
    # no claim on host1 since, no periodic task yet); the report has what host1 counted.
    assert by_host["host1"].failed_builds == 0 == by_host["host2"].failed_builds
    assert {h["name"]: h["failed_builds"] for h in result.report["hosts"]} == {
        "host1": 1, "host2": 0, "host3": 0}
    assert by_host["host2"].used["VCPU"] == 1 and by_host["host1"].used.get("VCPU", 0) == 0
    assert by_host["host2"].usage_text("MEMORY_MB") == "512/16384"
    assert by_host["host2"].instances == 1
    assert [(c.name, c.hosts) for c in seen["cells"]] == [("cell0", 0), ("cell1", 3)]


def test_lost_claims_and_faults_are_shown(tmp_path: Path):
    def look(connection: Connection, seen: dict) -> None:
        web = servers.find_server(connection, "web-1")
        seen["race"] = servers.server_events(connection, web)

    result, seen = _run_and_look("last-slot-race", look, tmp_path)
    assert result.ok, result.report["expectations"]
    steps = [(e.kind, e.host, e.result) for e in seen["race"]]
    assert steps == [("schedule", "host1", "success"), ("build", "host1", "rescheduled"),
                     ("unclaim", "host1", "deleted"), ("claim", "host2", "failed"),
                     ("build", "host3", "active")]

    def look_error(connection: Connection, seen: dict) -> None:
        seen["servers"] = servers.list_servers(connection)

    result, seen = _run_and_look("retries-exhausted", look_error, tmp_path)
    assert result.ok, result.report["expectations"]
    report = _by_name(result.report)
    for server in seen["servers"]:
        assert server.status == report[server.name]["status"]
        expected_fault = (report[server.name]["fault"] or {}).get("message")
        assert server.fault == expected_fault
    assert any(s.status == "ERROR" and s.fault for s in seen["servers"])


def test_create_servers_builds_them_through_the_live_deployment(tmp_path: Path):
    def look(connection: Connection, seen: dict) -> None:
        ids = servers.create_servers(connection, "extra", "small", count=2)
        seen["created"] = servers.wait_for(connection, ids, timeout_s=30)
        with pytest.raises(ClientError, match="more than one server is named"):
            servers.create_servers(connection, "web-1", "small")
            servers.find_server(connection, "web-1")
        with pytest.raises(ClientError, match=r"no flavor named 'huge' \(known: medium, small\)"):
            servers.create_servers(connection, "x", "huge")
        with pytest.raises(ClientError, match="no server with a name or ID of 'nope'"):
            servers.find_server(connection, "nope")

    _result, seen = _run_and_look("clean-run", look, tmp_path)
    assert [(s.name, s.status) for s in seen["created"]] == [("extra-1", "ACTIVE"),
                                                             ("extra-2", "ACTIVE")]
    assert all(s.host and s.cell_uuid for s in seen["created"])


def test_server_names_follow_nova_multi_create():
    assert servers.server_names("web", 1) == ["web"]
    assert servers.server_names("web", 3) == ["web-1", "web-2", "web-3"]
    with pytest.raises(InvalidClientInput, match="--count: must be from 1 to 100000, got 0"):
        servers.server_names("web", 0)
