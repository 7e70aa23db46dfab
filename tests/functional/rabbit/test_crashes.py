"""Crash tests: the broker restarted, services killed or cut off in the middle of a launched run.

Each test runs a reschedule-heavy workload (a third of all spawns fail and are rescheduled)
over RabbitMQ, does one thing to the deployment once part of it has finished, and then checks
the promise of docs/reliability.md on what happened:
- nothing stuck: the run ended, every instance ACTIVE or ERROR, none in BUILD;
- every accepted request accounted for: one instance, in some cell, for each request sent, and
  no request refused;
- nothing leaked: `altsim-manage placement audit` on the live deployment after the run finds
  no allocation without a live instance (and the report's own count agrees);
- nothing lost: every ACTIVE instance still holds its allocation in placement.
Each is bounded: the build-timeout sweep ends any build a crash lost within seconds, and the
run itself times out. The broker restart stops and starts the machine's RabbitMQ, which others
may be using: it runs only with ALTSIM_DISRUPTIVE_TESTS=1 (the other tests disrupt only the
services their own run started).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from altsim.objects import VmState
from altsim_lab.manage.audit import instance_states
from altsim_lab.scenario.runner import Progress, RunResult, run_scenario
from altsim_lab.scenario.schema import Scenario, parse_scenario

pytestmark = pytest.mark.rabbit

RUN_TIMEOUT_S = 150.0
# A build lost with a killed service ends this long after it began (the sweep runs every
# second): short, so the tests end soon, and far above a build's few hundred milliseconds.
BUILD_TIMEOUT_S = 8


def crash_scenario(name: str, instances: int, build_timeout_s: float = BUILD_TIMEOUT_S,
                   **config: Any) -> Scenario:
    """Two cells of 12 hosts (room for every instance in either cell alone), a third of all
    spawns failing reschedulably, 20 requests in flight at once."""
    return parse_scenario({
        "name": name, "seed": 11,
        "config": {
            "scheduler.max_attempts": 4,
            "conductor.build_timeout": build_timeout_s,
            "conductor.build_timeout_interval": 1,
            # A killed compute's hosts are down for the scheduler within a few seconds.
            "compute_sim.report_interval": 1,
            "filter_scheduler.service_down_time": 3,
            **config,
        },
        "cells": [{"name": cell, "host_count": 12,
                   "host_resources": {"VCPU": 64, "MEMORY_MB": 262144, "DISK_GB": 4000}}
                  for cell in ("cell1", "cell2")],
        "flavors": {"small": {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}},
        "faults": [{"hosts": ["*"], "action": "reschedule", "probability": 0.33,
                    "latency_ms": [30, 120]}],
        "requests": [{"name": "vm", "flavor": "small", "count": instances, "concurrency": 20}],
    }, source=f"<{name}>")


@dataclass
class CrashRun:
    result: RunResult
    audit: subprocess.CompletedProcess
    finished_before: int  # instances finished when the fault began
    finished_after_fault: int = 0  # ... and once it was over (the service back, if it comes)
    fault_ended_s: float = 0.0  # when it was over, in seconds since the run began (about)
    notes: dict[str, Any] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)  # service -> its log, at the end
    unallocated: list[str] = field(default_factory=list)  # ACTIVE instances placement lost

    def services_logging(self, text: str) -> list[str]:
        return sorted(name for name, log in self.logs.items() if text in log)


def run_with_fault(scenario: Scenario, rabbit_url: str,
                   fault: Callable[[Any], dict[str, Any] | None],
                   after_finished: int) -> CrashRun:
    """Run `scenario` launched; once `after_finished` instances have finished, `fault(dep)`;
    audit placement on the live deployment at the end."""
    finished = 0
    lock = threading.Condition()
    marks: dict[str, Any] = {}
    audits: list[subprocess.CompletedProcess] = []

    def on_finished(uuid: str, status: str) -> None:
        nonlocal finished
        with lock:
            finished += 1
            lock.notify_all()

    def during(deployment: Any) -> None:
        began = time.time()  # the workload starts as this thread does
        with lock:
            if not lock.wait_for(lambda: finished >= after_finished, timeout=RUN_TIMEOUT_S):
                raise AssertionError(f"only {finished} instances finished before the fault")
            marks["before"] = finished
        marks["notes"] = fault(deployment) or {}
        marks["ended_s"] = time.time() - began
        with lock:
            marks["after"] = finished

    logs: dict[str, str] = {}
    unallocated: list[str] = []

    def audit(deployment: Any) -> None:
        logs.update((path.stem, path.read_text(errors="replace"))
                    for path in Path(deployment.workdir).glob("*.log"))
        unallocated.extend(
            uuid for uuid, state in instance_states(deployment.api_db).items()
            if state == VmState.ACTIVE.value
            and not deployment.placement.get_allocations_for_consumer(uuid))
        config = deployment.write_client_config(deployment.workdir / "manage.conf")
        audits.append(subprocess.run(
            [str(Path(sys.executable).with_name("altsim-manage")), "--config-file",
             str(config), "placement", "audit"], capture_output=True, text=True, timeout=120))

    result = run_scenario(scenario, timeout_s=RUN_TIMEOUT_S, transport_url=rabbit_url,
                          progress=Progress(on_finished=on_finished), during=during,
                          inspect=audit)
    assert audits, f"the run ended before the audit: {result.errors}"
    return CrashRun(result, audits[0], marks.get("before", -1), marks.get("after", -1),
                    marks.get("ended_s", 0.0), marks.get("notes", {}), logs, unallocated)


def assert_nothing_lost(run: CrashRun, instances: int) -> dict[str, Any]:
    """The promise, checked on what happened; returns the report's summary."""
    summary = run.result.report["summary"]
    assert not run.result.errors, run.result.errors
    assert not run.result.timed_out
    # The fault came in the middle of the run, not before or after it.
    assert 0 < run.finished_before < instances, run.finished_before
    # Nothing stuck, every accepted request an instance that ended ACTIVE or ERROR.
    assert summary["instances"] == instances
    assert summary["building"] == 0
    assert summary["active"] + summary["error"] == instances
    statuses = {entry["status"] for entry in run.result.report["instances"]}
    assert statuses <= {"ACTIVE", "ERROR"}, statuses
    # No allocation that a live instance does not own.
    assert summary["leaked_allocations"] == 0
    assert run.audit.returncode == 0, run.audit.stdout + run.audit.stderr
    # No ACTIVE instance whose allocation placement no longer has.
    assert summary["active"] > 0
    assert not run.unallocated, run.unallocated
    return summary


def restart_broker() -> float:
    """Stop RabbitMQ's application (every connection closed, transient queues gone) and start
    it again; returns the seconds it was down."""
    started = time.monotonic()
    for command in (["stop_app"], ["start_app"], ["await_startup"]):
        subprocess.run(["rabbitmqctl", "-q", *command], check=True, capture_output=True,
                       timeout=120)
    return time.monotonic() - started


@pytest.mark.disruptive  # every other user of this RabbitMQ loses its connections too
def test_a_broker_restart_mid_run_loses_nothing(rabbit_url: str):
    instances = 300
    # A generous build timeout: nothing should be lost, so nothing should need the sweep.
    scenario = crash_scenario("broker-restart", instances, build_timeout_s=60)
    run = run_with_fault(scenario, rabbit_url, lambda _: {"down_s": restart_broker()},
                         after_finished=60)
    summary = assert_nothing_lost(run, instances)
    # The workload went on after the broker came back, and with durable queues and
    # confirmed persistent casts, no build was lost to it (none had to be timed out).
    assert run.finished_after_fault < instances
    assert summary["timed_out"] == 0, summary
    assert summary["reschedules"] > 0
    assert summary["active"] > 0.9 * instances, summary
    # Every daemon lost its connection and made a new one.
    reconnected = run.services_logging("Reconnected to AMQP server")
    assert {"conductor-super", "conductor-cell1", "compute-cell1",
            "scheduler"} <= set(reconnected), reconnected


@pytest.mark.parametrize("restart", [True, False], ids=["restarted", "left-dead"])
def test_a_killed_compute_loses_nothing(rabbit_url: str, restart: bool):
    instances = 160
    scenario = crash_scenario("compute-killed", instances)

    def kill_compute(deployment: Any) -> dict[str, Any]:
        deployment.kill("compute-cell1")
        if restart:
            time.sleep(2)  # a while dead: casts to its hosts wait in their queues
            deployment.restart("compute-cell1")
        return {}

    run = run_with_fault(scenario, rabbit_url, kill_compute, after_finished=40)
    summary = assert_nothing_lost(run, instances)
    # An ACTIVE instance is dated by its compute (launched_at), not by when the runner heard
    # of it, and the fault's clock starts before the run's: a build dated after the kill
    # returned was built after it, whenever its news came.
    late = _active_by_cell(run, after_s=run.fault_ended_s)
    if restart:
        # The restarted compute served builds again: what waited in its queues (a build it
        # had taken but not acknowledged comes back too) and new ones.
        assert late.get("cell1", 0) > 0, late
    else:
        # The builds it held died with it, and the casts to its hosts wait for nobody: the
        # sweep ended them all, and once its hosts were down the other cell took the rest.
        assert summary["timed_out"] >= 1, summary
        assert late.get("cell1", 0) == 0 and late.get("cell2", 0) > 0, (
            late, run.fault_ended_s, run.result.report["unnotified"],
            [(e["name"], e["finished_s"]) for e in run.result.report["instances"]
             if e["cell"] == "cell1" and e["status"] == "ACTIVE"
             and e["finished_s"] > run.fault_ended_s])


def test_a_killed_cell_conductor_restarted_loses_nothing(rabbit_url: str):
    instances = 160
    scenario = crash_scenario("conductor-killed", instances)

    def kill_conductor(deployment: Any) -> dict[str, Any]:
        deployment.kill("conductor-cell1")
        time.sleep(2)  # reschedules cast to it meanwhile wait in its queue
        deployment.restart("conductor-cell1")
        return {}

    run = run_with_fault(scenario, rabbit_url, kill_conductor, after_finished=40)
    summary = assert_nothing_lost(run, instances)
    assert summary["reschedules"] > 0
    assert summary["active"] > 0.8 * instances, summary


def test_placement_cut_off_for_seconds_loses_nothing(rabbit_url: str):
    instances = 160
    # Requests time out after half a second: the cut-off is felt as failures, which each
    # service sends again for up to [placement] unavailable_patience (the default, 30 s).
    scenario = crash_scenario("placement-cut-off", instances, **{"placement.timeout": 0.5})

    def cut_off(deployment: Any) -> dict[str, Any]:
        deployment.pause("placement")
        time.sleep(4)
        deployment.resume("placement")
        return {}

    run = run_with_fault(scenario, rabbit_url, cut_off, after_finished=40)
    summary = assert_nothing_lost(run, instances)
    # Requests did fail while it was cut off, and were sent again until it came back...
    assert run.services_logging("sending it again"), sorted(run.logs)
    # ... so nothing failed for it.
    assert summary["timed_out"] == 0, summary
    assert summary["active"] > 0.8 * instances, summary


def test_a_killed_placement_restarted_loses_nothing(rabbit_url: str):
    instances = 160
    scenario = crash_scenario("placement-killed", instances)

    def kill_placement(deployment: Any) -> dict[str, Any]:
        deployment.kill("placement")
        time.sleep(2)  # a while dead: every request to it is refused meanwhile
        deployment.restart("placement")
        return {}

    run = run_with_fault(scenario, rabbit_url, kill_placement, after_finished=40)
    # Nothing lost includes the claims of before the kill: placement came back with them.
    summary = assert_nothing_lost(run, instances)
    assert run.services_logging("sending it again"), sorted(run.logs)
    assert run.logs["placement"].count("altsim-placement state in") == 2
    assert summary["active"] > 0.8 * instances, summary


def _active_by_cell(run: CrashRun, after_s: float = 0.0) -> dict[str, int]:
    """Cell -> instances that went ACTIVE there more than `after_s` into the run."""
    counts: dict[str, int] = {}
    for entry in run.result.report["instances"]:
        if entry["status"] == "ACTIVE" and entry["finished_s"] > after_s:
            counts[entry["cell"]] = counts.get(entry["cell"], 0) + 1
    return counts
