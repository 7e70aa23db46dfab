"""Nova's build-path rules (numbered as in docs/fidelity.md) shown end to end: a scenario runs
embedded (every service,
in-memory buses, SQLite, in-process placement) and the rules are checked on its JSON report.
"""

from __future__ import annotations

from typing import Any

from altsim_lab.scenario.runner import run_scenario
from altsim_lab.scenario.schema import parse_scenario

SMALL = {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}
ROOMY = {"VCPU": 8, "MEMORY_MB": 16384, "DISK_GB": 100}
ZERO = {"VCPU": 0, "MEMORY_MB": 0, "DISK_GB": 0}


def run(name: str, cells: list[dict], requests: list[dict], config: dict | None = None,
        faults: list[dict] | None = None, flavors: dict | None = None) -> dict[str, Any]:
    scenario = parse_scenario({
        "name": name, "seed": 17,
        "config": {"scheduler.max_attempts": 3, "filter_scheduler.host_subset_size": 1,
                   "filter_scheduler.build_failure_weight_multiplier": 1000000.0,
                   **(config or {})},
        "cells": cells, "flavors": flavors or {"small": SMALL}, "faults": faults or [],
        "requests": requests})
    result = run_scenario(scenario, timeout_s=60)
    assert not result.errors, result.errors
    assert not result.timed_out
    return result.report


def cell(name: str, *hosts: str, **resources: int) -> dict:
    return {"name": name, "hosts": [{"name": h, "resources": {**ROOMY, **resources}}
                                    for h in hosts]}


def weights(**by_host: int) -> dict:
    return {"filter_scheduler.static_host_weights": by_host}


def instance(report: dict, name: str) -> dict:
    return next(e for e in report["instances"] if e["name"] == name)


def host(report: dict, name: str) -> dict:
    return next(h for h in report["hosts"] if h["name"] == name)


def attempts(entry: dict) -> list[tuple[str, str]]:
    return [(a["host"], a["result"]) for a in entry["attempts"]]


# -- rules 1, 2, 4, 5, 12 -------------------------------------------------------------------------

def test_rules_01_02_04_05_12_multi_create_across_two_cells():
    """Two instances in one request; each host has room for one. web-1 goes to the best host
    (a1, cell1); a1 is then full, so web-2 goes to b1 in cell2. Each list holds its chosen host
    then the alternates of that host's cell only, never a host chosen for the other instance;
    each list is min(max_attempts, eligible hosts of the cell) long; each instance lives in its
    chosen host's cell and went ACTIVE there at the first attempt."""
    report = run("rules-multi-cell",
                 [cell("cell1", "a1", "a2", **SMALL), cell("cell2", "b1", "b2", "b3", **SMALL)],
                 [{"name": "web", "flavor": "small", "num_instances": 2}],
                 config={"scheduler.max_attempts": 3,
                         **weights(a1=60, b1=50, a2=40, b2=30, b3=20)})
    web1, web2 = instance(report, "web-1"), instance(report, "web-2")
    assert web1["selection"] == ["a1", "a2"]          # cell1 has only one alternate
    assert web2["selection"] == ["b1", "b2", "b3"]    # max_attempts 3
    assert (web1["cell"], web2["cell"]) == ("cell1", "cell2")
    assert (web1["status"], web1["host"], attempts(web1)) == ("ACTIVE", "a1", [("a1", "active")])
    assert (web2["status"], web2["host"], attempts(web2)) == ("ACTIVE", "b1", [("b1", "active")])
    assert web1["allocations"] == {"a1": SMALL} and web2["allocations"] == {"b1": SMALL}
    assert report["summary"]["leaked_allocations"] == 0


# -- rules 15, 23, 27 -----------------------------------------------------------------------------

def test_rules_15_23_27_reschedule_once_then_the_failed_host_recovers():
    """web-1 fails on h1 and is rebuilt on h2: afterwards only h2 holds it, h1 shows zero usage
    and one failed build (altsim: the cell conductor removed h1's allocation). With the failure
    weigher off, `later` lands on h1 again, succeeds, and h1's failed_builds is back to 0 (as its
    compute counts them; its compute node row gets the reset at its periodic task)."""
    report = run("rules-reschedule-recover", [cell("cell1", "h1", "h2", "h3")],
                 [{"name": "web", "flavor": "small"},
                  {"name": "later", "flavor": "small", "start_ms": 300}],
                 config={**weights(h1=30, h2=20, h3=10),
                         "filter_scheduler.build_failure_weight_multiplier": 0.0},
                 faults=[{"hosts": ["h1"], "action": "reschedule", "first": 1,
                          "reason": "libvirt error"}])
    web = instance(report, "web-1")
    assert attempts(web) == [("h1", "rescheduled"), ("h2", "active")]
    assert web["attempts"][0]["reason"] == "libvirt error"
    assert web["allocations"] == {"h2": SMALL}
    later = instance(report, "later-1")
    assert (later["host"], attempts(later)) == ("h1", [("h1", "active")])
    assert host(report, "h1")["usage"] == SMALL      # only `later` now
    assert host(report, "h1")["failed_builds"] == 0  # reset by the success
    assert host(report, "h2")["usage"] == SMALL
    assert host(report, "h3")["usage"] == ZERO
    assert report["summary"]["reschedules"] == 1
    assert report["summary"]["leaked_allocations"] == 0


def test_rule_23_failed_hosts_keep_zero_usage_and_count_their_failures():
    report = run("rules-two-reschedules", [cell("cell1", "h1", "h2", "h3", "h4")],
                 [{"name": "web", "flavor": "small"}],
                 config={"scheduler.max_attempts": 4, **weights(h1=40, h2=30, h3=20, h4=10)},
                 faults=[{"hosts": ["h1", "h2"], "action": "reschedule"}])
    web = instance(report, "web-1")
    assert attempts(web) == [("h1", "rescheduled"), ("h2", "rescheduled"), ("h3", "active")]
    assert web["allocations"] == {"h3": SMALL}
    assert [host(report, h)["usage"] for h in ("h1", "h2", "h3", "h4")] == [
        ZERO, ZERO, SMALL, ZERO]
    assert [host(report, h)["failed_builds"] for h in ("h1", "h2", "h3")] == [1, 1, 0]


# -- rules 17, 24, 25 -----------------------------------------------------------------------------

def test_rules_17_24_25_retries_exceeded():
    report = run("rules-retries-exceeded", [cell("cell1", "h1", "h2", "h3", "h4")],
                 [{"name": "web", "flavor": "small"}],
                 config={"scheduler.max_attempts": 3, **weights(h1=40, h2=30, h3=20, h4=10)},
                 faults=[{"hosts": ["*"], "action": "reschedule",
                          "reason": "hypervisor unreachable"}])
    web = instance(report, "web-1")
    assert web["status"] == "ERROR"
    assert web["selection"] == ["h1", "h2", "h3"]
    assert attempts(web) == [("h1", "rescheduled"), ("h2", "rescheduled"),
                             ("h3", "rescheduled")]
    assert web["fault"]["message"] == (
        f"Exceeded maximum number of retries. Exceeded max scheduling attempts 3 for instance "
        f"{web['uuid']}. Last exception: hypervisor unreachable")
    assert web["allocations"] == {}
    assert all(h["usage"] == ZERO for h in report["hosts"])
    assert report["summary"]["leaked_allocations"] == 0


# -- rules 18, 25 ---------------------------------------------------------------------------------

def test_rules_18_25_exhausted_hosts_never_leave_the_cell():
    """cell1 has two hosts, cell2 three (weighing less). max_attempts 5 would allow five
    attempts, but the build chosen in cell1 can only try cell1's two hosts, then the cell
    conductor gets an empty list."""
    report = run("rules-exhausted", [cell("cell1", "h1", "h2"), cell("cell2", "c1", "c2", "c3")],
                 [{"name": "web", "flavor": "small"}],
                 config={"scheduler.max_attempts": 5, **weights(h1=90, h2=80, c1=3)},
                 faults=[{"hosts": ["h*"], "action": "reschedule", "reason": "no"}])
    web = instance(report, "web-1")
    assert web["selection"] == ["h1", "h2"]
    assert attempts(web) == [("h1", "rescheduled"), ("h2", "rescheduled")]
    assert web["fault"]["message"] == (
        f"Exceeded maximum number of retries. Exhausted all hosts available for retrying build "
        f"failures for instance {web['uuid']}.")
    assert (web["status"], web["cell"], web["allocations"]) == ("ERROR", "cell1", {})
    assert all(host(report, h)["failed_builds"] == 0 for h in ("c1", "c2", "c3"))


# -- rule 14 --------------------------------------------------------------------------------------

def test_rule_14_max_attempts_1_errors_at_once_without_the_cell_conductor():
    report = run("rules-max-attempts-1", [cell("cell1", "h1", "h2")],
                 [{"name": "web", "flavor": "small"}],
                 config={"scheduler.max_attempts": 1, **weights(h1=20, h2=10)},
                 faults=[{"hosts": ["h1"], "action": "reschedule", "reason": "spawn failed"}])
    web = instance(report, "web-1")
    assert web["selection"] == ["h1"]
    assert attempts(web) == [("h1", "failed")]
    assert web["fault"]["message"] == "spawn failed"  # Nova: the bare reason
    assert web["claim_failures"] == []
    assert (web["status"], web["allocations"]) == ("ERROR", {})
    assert host(report, "h1")["failed_builds"] == 1
    assert report["summary"]["reschedules"] == 0


# -- rule 16 --------------------------------------------------------------------------------------

def test_rule_16_abort_never_reschedules():
    report = run("rules-abort", [cell("cell1", "h1", "h2", "h3")],
                 [{"name": "web", "flavor": "small"}],
                 config=weights(h1=30, h2=20, h3=10),
                 faults=[{"hosts": ["h1"], "action": "abort", "reason": "bad image"}])
    web = instance(report, "web-1")
    assert web["selection"] == ["h1", "h2", "h3"]
    assert attempts(web) == [("h1", "aborted")]
    assert web["fault"]["message"] == f"Build of instance {web['uuid']} aborted: bad image"
    assert (web["status"], web["allocations"]) == ("ERROR", {})
    assert host(report, "h1")["failed_builds"] == 1
    assert all(h["usage"] == ZERO for h in report["hosts"])


# -- rules 9, 10, 11 ------------------------------------------------------------------------------

def test_rules_09_11_multi_create_that_does_not_fit_is_buried_in_cell0():
    report = run("rules-no-fit", [cell("cell1", "h1", "h2", **SMALL)],
                 [{"name": "trio", "flavor": "small", "num_instances": 3}])
    for n in (1, 2, 3):
        entry = instance(report, f"trio-{n}")
        assert (entry["status"], entry["cell"], entry["host"]) == ("ERROR", "cell0", None)
        assert entry["fault"]["message"] == (
            "No valid host was found. There are not enough hosts available.")
        assert entry["attempts"] == [] and entry["allocations"] == {}
    assert all(h["usage"] == ZERO for h in report["hosts"])
    assert report["summary"]["leaked_allocations"] == 0


def test_rules_10_11_no_candidates_is_no_valid_host_in_cell0_and_others_still_build():
    report = run("rules-no-candidates", [cell("cell1", "h1", "h2")],
                 [{"name": "huge", "flavor": "huge"}, {"name": "web", "flavor": "small"}],
                 flavors={"small": SMALL, "huge": {"VCPU": 64, "MEMORY_MB": 512, "DISK_GB": 1}})
    huge = instance(report, "huge-1")
    assert (huge["status"], huge["cell"]) == ("ERROR", "cell0")
    assert huge["fault"]["message"].startswith("No valid host was found.")
    assert instance(report, "web-1")["status"] == "ACTIVE"


# -- rules 19, 20 ---------------------------------------------------------------------------------

def test_rules_19_20_every_alternate_lost_to_a_race_is_exhausted():
    """web-1 is slow to fail on h1. Meanwhile two other servers take the last room of h2 and h3
    (each flavor fits only there). The cell conductor's claims on both alternates fail, each is
    recorded as a claim failure, and the build ends with the Exhausted fault, leaking nothing."""
    report = run("rules-claims-lost",
                 [{"name": "cell1", "hosts": [
                     {"name": "h1", "resources": {**ROOMY, "MEMORY_MB": 4096}},
                     {"name": "h2", "resources": {**ROOMY, "MEMORY_MB": 8192}},
                     {"name": "h3", "resources": {**ROOMY, "MEMORY_MB": 6144}}]}],
                 [{"name": "web", "flavor": "small"},
                  {"name": "fill-h2", "flavor": "m8192", "start_ms": 50},
                  {"name": "fill-h3", "flavor": "m6144", "start_ms": 200}],
                 config=weights(h1=30, h2=20, h3=10),
                 flavors={"small": SMALL, "m8192": {**SMALL, "MEMORY_MB": 8192},
                          "m6144": {**SMALL, "MEMORY_MB": 6144}},
                 faults=[{"hosts": ["h1"], "action": "reschedule", "first": 1,
                          "reason": "spawn timed out"},
                         {"hosts": ["h1"], "latency_ms": 700}])
    assert instance(report, "fill-h2-1")["host"] == "h2"
    assert instance(report, "fill-h3-1")["host"] == "h3"
    web = instance(report, "web-1")
    assert web["selection"] == ["h1", "h2", "h3"]
    assert attempts(web) == [("h1", "rescheduled")]
    assert web["claim_failures"] == ["h2", "h3"]
    assert web["fault"]["message"] == (
        f"Exceeded maximum number of retries. Exhausted all hosts available for retrying build "
        f"failures for instance {web['uuid']}.")
    assert (web["status"], web["allocations"]) == ("ERROR", {})
    assert host(report, "h1")["usage"] == ZERO
    assert report["summary"]["claim_failures"] == 2
    assert report["summary"]["leaked_allocations"] == 0
