"""altsim-placement as a process, and the [placement] options."""

from __future__ import annotations

import re
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from oslo_config import cfg

from altsim_lab.testing import ServiceProcess, ServiceProcesses
from placement_sim import conf as placement_conf

TOKEN = "cmd-token"
READY_RE = re.compile(r"^altsim-placement ready on (http://127\.0\.0\.1:\d+)$")
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 5.0


def command() -> list[str]:
    script = Path(sys.executable).with_name("altsim-placement")
    return [str(script)] if script.exists() else [sys.executable, "-m", "placement_sim.cmd"]


def write_conf(tmp_path: Path, **options: object) -> Path:
    path = tmp_path / "placement.conf"
    lines = ["[DEFAULT]", "host = placement", "[placement]", "bind_host = 127.0.0.1",
             "bind_port = 0", *(f"{k} = {v}" for k, v in options.items())]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def start(tmp_path: Path,
          service_processes: ServiceProcesses) -> Callable[..., ServiceProcess]:
    """Starts altsim-placement with the given [placement] options (stopped at the end)."""
    def start_placement(**options: object) -> ServiceProcess:
        return service_processes.start(
            "placement", [*command(), "--config-file", str(write_conf(tmp_path, **options))],
            ready=READY_RE, keep=None)

    return start_placement


def test_altsim_placement_serves_and_stops_on_sigterm(start):
    placement = start(auth_token=TOKEN)
    url = placement.wait_ready(START_TIMEOUT_S)[1]
    with httpx.Client(base_url=url, timeout=5.0) as http:
        root = http.get("/")
        assert root.status_code == 200
        assert root.json()["versions"][0]["max_version"] == "1.39"
        assert http.get("/resource_providers").status_code == 401
        resp = http.get("/resource_providers", headers={
            "X-Auth-Token": TOKEN, "OpenStack-API-Version": "placement 1.36"})
        assert resp.status_code == 200
        assert resp.json() == {"resource_providers": []}
        assert resp.headers["OpenStack-API-Version"] == "placement 1.36"
    assert placement.stop(timeout=STOP_TIMEOUT_S) == 0


def test_altsim_placement_stops_on_sigint_too(start):
    placement = start(noauth="true")
    url = placement.wait_ready(START_TIMEOUT_S)[1]
    assert httpx.get(url + "/resource_providers", timeout=5.0).status_code == 200
    assert placement.stop(signal.SIGINT, timeout=STOP_TIMEOUT_S) == 0


@pytest.mark.parametrize("options", [{}, {"auth_token": ""}, {"noauth": "false"}],
                         ids=["no-token", "empty-token", "noauth-false"])
def test_altsim_placement_refuses_to_start_without_a_token(start, options):
    placement = start(**options)
    assert placement.wait(START_TIMEOUT_S) == 2  # a configuration problem, as elsewhere
    assert "auth_token is required" in placement.output


HEADERS = {"X-Auth-Token": TOKEN, "OpenStack-API-Version": "placement 1.36"}
RP = "11111111-2222-3333-4444-555555555555"
CONSUMER = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


@pytest.mark.parametrize("fsync", ["true", "false"])
def test_a_killed_placement_restarts_with_its_allocations(start, tmp_path: Path, fsync: str):
    # Given a placement keeping its state, with a provider and an allocation
    placement = start(auth_token=TOKEN, state_path=tmp_path / "state", state_fsync=fsync)
    url = placement.wait_ready(START_TIMEOUT_S)[1]
    with httpx.Client(base_url=url, timeout=5.0, headers=HEADERS) as http:
        assert http.post("/resource_providers", json={"uuid": RP, "name": "host1"}
                         ).status_code == 200
        assert http.put(f"/resource_providers/{RP}/inventories", json={
            "resource_provider_generation": 0,
            "inventories": {"VCPU": {"total": 8}}}).status_code == 200
        assert http.put(f"/allocations/{CONSUMER}", json={
            "allocations": {RP: {"resources": {"VCPU": 3}}}, "project_id": "p",
            "user_id": "u", "consumer_generation": None}).status_code == 204
        before = http.get(f"/allocations/{CONSUMER}").json()
    # When it is killed (no shutdown at all) and started again on the same folder
    placement.kill()
    placement = start(auth_token=TOKEN, state_path=tmp_path / "state", state_fsync=fsync)
    url = placement.wait_ready(START_TIMEOUT_S)[1]
    # Then the allocation is there, with the same generations, and writes go on from them
    with httpx.Client(base_url=url, timeout=5.0, headers=HEADERS) as http:
        assert http.get(f"/allocations/{CONSUMER}").json() == before
        assert http.get(f"/resource_providers/{RP}/usages").json()["usages"] == {"VCPU": 3}
        assert http.put(f"/allocations/{CONSUMER}", json={
            "allocations": {}, "project_id": "p", "user_id": "u",
            "consumer_generation": before["consumer_generation"]}).status_code == 204
    assert placement.stop(timeout=STOP_TIMEOUT_S) == 0


def test_an_unusable_state_path_is_refused(start, tmp_path: Path):
    (tmp_path / "not-a-folder").write_text("")
    placement = start(noauth="true", state_path=tmp_path / "not-a-folder")
    assert placement.wait(START_TIMEOUT_S) == 2
    assert "[placement] state_path" in placement.output
    assert "not-a-folder" in placement.output


def test_placement_options_and_defaults():
    conf = cfg.ConfigOpts()
    placement_conf.register_opts(conf)
    conf([])
    group = conf.placement
    # No timeout for an answer, as Nova's report client (connecting: CONNECT_TIMEOUT_S).
    assert (group.endpoint_url, group.auth_token, group.timeout) == (None, None, None)
    assert (group.bind_host, group.bind_port, group.noauth) == ("127.0.0.1", 8778, False)
    [(name, opts)] = placement_conf.list_opts()
    assert name == "placement"
    assert {o.name for o in opts} == {"endpoint_url", "auth_token", "timeout",
                                      "unavailable_patience", "bind_host", "bind_port",
                                      "noauth", "state_path", "state_fsync",
                                      "state_snapshot_every", "candidates_order"}
    assert group.candidates_order == "hash"
    assert (group.state_path, group.state_fsync) == ("", True)
    assert group.unavailable_patience == 30.0
    assert next(o for o in opts if o.name == "auth_token").secret
    # Registered per ConfigOpts: an override on one does not leak into another.
    conf.set_override("timeout", 1.0, group="placement")
    other = cfg.ConfigOpts()
    placement_conf.register_opts(other)
    other([])
    assert other.placement.timeout is None
