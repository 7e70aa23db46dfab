"""The same user test, every service launched over the real broker by
`pytest --altsim-transport-url`; and what a test does to a running cloud (faults, the periodic
task, a host filled, stopped or started) reaching the launched services."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import oslo_messaging
import pytest

from altsim.rpc import new_context
from altsim_lab.testing import Cloud, CloudError
from compute_sim.hosts_file import HostSpec
from compute_sim.rpcapi import SimulationAPI

pytestmark = pytest.mark.rabbit
EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "tests"
# A reschedule; run_periodics reaching the computes; a NoValidHost that came over RPC as the
# fault text. (Every example but the one with `meanwhile` passes launched; these three keep
# the tier's cost down.)
LAUNCHED_EXAMPLES = ("test_reschedule_once.py", "test_build_failure_weigher.py",
                     "test_multi_create_does_not_fit.py")


def test_examples_run_launched_over_rabbit(rabbit_url: str, tmp_path: Path) -> None:
    for name in LAUNCHED_EXAMPLES:
        (tmp_path / name).write_text((EXAMPLES / name).read_text())
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}

    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "--altsim-transport-url", rabbit_url], cwd=tmp_path,
                            capture_output=True, text=True, timeout=300, env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(LAUNCHED_EXAMPLES)} passed" in result.stdout


# host1 is weighed first, then host2, then host3; no periodic task but the test's.
CONFIG = {"filter_scheduler.static_host_weights": {"host1": 30, "host2": 20, "host3": 10},
          "update_resources_interval": 0}


def test_a_fault_given_once_launched_applies_to_the_builds_after_it(rabbit_url: str) -> None:
    with Cloud(cells={"cell1": ["host1", "host2", "host3"]}, config=CONFIG,
               transport_url=rabbit_url) as cloud:
        # Given server A built on host1, every service its own process over RabbitMQ
        a = cloud.boot("a", "small")
        cloud.wait_for_state(a, "ACTIVE")
        assert a.host == "host1" and [x.host for x in a.attempts] == ["host1"]

        # When host1 is made to fail its next spawn, then server B is booted
        cloud.fail_spawn("host1", reason="host1 broke after A")
        b = cloud.boot("b", "small")

        # Then B's first attempt failed on host1 and B went ACTIVE on its alternate
        cloud.wait_for_state(b, "ACTIVE")
        assert b.selection[:2] == ["host1", "host2"]
        assert [(x.host, x.result, x.reason) for x in b.attempts] == [
            ("host1", "rescheduled", "host1 broke after A"), ("host2", "active", None)]
        assert cloud.usage("host1")["VCPU"] == 1  # A's only: B's claim there was removed

        # and the compute's periodic task, run when asked, writes host1's failed build
        assert cloud.failed_builds("host1") == 0
        assert cloud.run_periodics() == 1
        assert cloud.failed_builds("host1") == 1


def test_a_host_stopped_or_filled_once_launched_is_not_chosen_till_started_again(
        rabbit_url: str) -> None:
    with Cloud(cells={"cell1": ["host1", "host2", "host3"]}, config=CONFIG,
               transport_url=rabbit_url) as cloud:
        cloud.start()
        cloud.stop_compute("host1")
        cloud.fill("host2")

        server = cloud.boot("vm", "small")

        cloud.wait_for_state(server, "ACTIVE")
        assert server.selection == ["host3"]
        # the filler is no leak; and host1, started again, is weighed first again
        assert (cloud.audit()["leaked"], cloud.audit()["missing"]) == (0, 0)
        cloud.start_compute("host1")
        assert cloud.boot("back", "small").host == "host1"
        with pytest.raises(CloudError, match="`meanwhile` only in an embedded cloud"):
            cloud.fail_spawn("host3", meanwhile=lambda: None)


def test_a_host_started_once_launched_takes_the_next_boot(rabbit_url: str) -> None:
    with Cloud(cells={"cell1": ["host1"]}, config={"update_resources_interval": 0},
               transport_url=rabbit_url) as cloud:
        # Given a launched cloud whose one host is full
        cloud.start()
        cloud.fill("host1")

        # When host2 is started in it (the cell's compute process serves it), then a
        # server is booted
        cloud.start_compute("host2", resources={"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 10})
        server = cloud.boot("vm", "small")

        # Then the server is built on host2 at once, its usage there and nothing leaked
        cloud.wait_for_state(server, "ACTIVE")
        assert server.selection == ["host2"]
        assert [(a.host, a.result) for a in server.attempts] == [("host2", "active")]
        assert cloud.usage("host2") == {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
        audit = cloud.audit()
        assert (audit["leaked"], audit["missing"], audit["mismatches"]) == (0, 0, 0)
        assert {(h["name"], h["cell"]) for h in cloud.report()["hosts"]} == {
            ("host1", "cell1"), ("host2", "cell1")}
        # and the compute process refuses a name it has, answering over the bus
        api = SimulationAPI(cloud.deployment.cell_rpc_transport("cell1"))
        with pytest.raises(oslo_messaging.RemoteError,
                           match="a host named 'host2' already exists in this cell"):
            api.add_host(new_context(), "host1", HostSpec(name="host2", resources={"VCPU": 1}))
