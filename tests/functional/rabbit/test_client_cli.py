"""The `altsim` client against a launched deployment (every service its own process over
RabbitMQ), run as a user would: the console script, a config file, -f json."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from altsim_lab.scenario.runner import run_scenario
from altsim_lab.scenario.schema import load_scenario

SCENARIO = Path(__file__).parents[3] / "etc" / "altsim" / "scenarios" / "reschedule-once.yaml"
ALTSIM = str(Path(sys.executable).with_name("altsim"))
pytestmark = pytest.mark.rabbit


def _altsim(config: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([ALTSIM, "--config-file", str(config), *args], capture_output=True,
                          text=True, timeout=120)


def _json(config: Path, *args: str) -> Any:
    proc = _altsim(config, *args, "-f", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def seen(rabbit_url: str) -> dict[str, Any]:
    """Run reschedule-once launched; before it stops, drive it with the CLI."""
    outputs: dict[str, Any] = {}

    def drive(deployment) -> None:  # type: ignore[no-untyped-def]
        outputs["deployment"] = deployment
        config = deployment.write_client_config(deployment.workdir / "client.conf")
        outputs["events"] = _json(config, "server", "event", "list", "web-1")
        outputs["show"] = _json(config, "server", "show", "web-1")
        outputs["hosts"] = _json(config, "host", "list")
        outputs["cells"] = _json(config, "cell", "list")
        outputs["value"] = _altsim(config, "server", "list", "-f", "value", "-c", "Name",
                                   "-c", "Host").stdout
        outputs["missing"] = _altsim(config, "server", "show", "nope")
        outputs["created"] = _json(config, "server", "create", "extra", "--flavor", "small",
                                   "--count", "2", "--wait", "--timeout", "60")
        outputs["after"] = _json(config, "server", "list")
        outputs["yaml"] = _altsim(config, "flavor", "list", "-f", "yaml").stdout

    run_scenario(load_scenario(SCENARIO), timeout_s=120, transport_url=rabbit_url,
                 inspect=drive)
    return outputs


def test_server_event_list_shows_each_attempt_host_by_host(seen: dict[str, Any]):
    steps = [(e["Event"], e["Host"], e["Result"], e["Reason"]) for e in seen["events"]]
    assert steps == [
        ("schedule", "host1", "success", None),
        ("build", "host1", "rescheduled", "spawn failed: simulated libvirt error"),
        ("unclaim", "host1", "deleted", None),  # by the cell conductor, before its claim
        ("build", "host2", "active", None),
    ]
    assert seen["events"][0]["Details"] == "selection: host1, host2, host3"


def test_server_show_and_list(seen: dict[str, Any]):
    show = seen["show"]
    assert (show["status"], show["host"], show["cell"], show["attempts"]) == (
        "ACTIVE", "host2", "cell1", 2)
    assert show["attempted_hosts"] == "host1:rescheduled, host2:active"
    assert seen["value"].split() == ["web-1", "host2"]
    assert seen["missing"].returncode == 1
    assert "no server with a name or ID of 'nope' exists" in seen["missing"].stderr


def test_host_list_shows_usage_and_failed_builds(seen: dict[str, Any]):
    rows = {row["Host"]: row for row in seen["hosts"]}
    assert set(rows) == {"host1", "host2", "host3"}
    # The compute node rows: host1's failure is still in its tracker (Nova's lag: no claim
    # on host1 since wrote it, and the periodic task runs every 60 s).
    assert rows["host1"]["Failed Builds"] == 0 and rows["host2"]["Failed Builds"] == 0
    assert rows["host2"]["VCPU"] == "1/8" and rows["host1"]["VCPU"] == "0/8"
    assert {row["Cell"] for row in seen["hosts"]} == {"cell1"}


def test_cell_list_masks_passwords(seen: dict[str, Any]):
    cells = {row["Name"]: row for row in seen["cells"]}
    assert set(cells) == {"cell0", "cell1"} and cells["cell1"]["Hosts"] == 3
    # The cell's own RabbitMQ user (the launcher's default), its password masked.
    [user] = [u for vhost, u in seen["deployment"].level_users().items()
              if vhost.endswith("-cell1")]
    assert f"://{user.name}:***@" in cells["cell1"]["Transport URL"]
    assert user.password not in json.dumps(seen["cells"])


def test_server_create_waits_for_the_builds(seen: dict[str, Any]):
    assert [(s["Name"], s["Status"], s["Cell"]) for s in seen["created"]] == [
        ("extra-1", "ACTIVE", "cell1"), ("extra-2", "ACTIVE", "cell1")]
    assert {s["Name"] for s in seen["after"]} == {"web-1", "extra-1", "extra-2"}
    assert "- Name: small\n" in seen["yaml"]


def test_every_daemon_stopped_cleanly_on_one_sigterm(seen: dict[str, Any]):
    processes = seen["deployment"]._processes
    assert processes and {p.name: p.popen.returncode for p in processes} == {
        p.name: 0 for p in processes}
