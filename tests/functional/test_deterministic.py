"""Deterministic embedded runs: the same scenario and seeds give the same report, byte for byte
but for the wall-clock fields, and the schedule seed alone decides the races."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from altsim_lab.deploy.deterministic import WALL_FIELDS, Determinism
from altsim_lab.scenario.report import report_json
from altsim_lab.scenario.runner import RunResult, run_scenario
from altsim_lab.scenario.schema import Scenario, load_scenario, parse_scenario

SCENARIOS = sorted((Path(__file__).parents[2] / "etc" / "altsim" / "scenarios").glob("*.yaml"))
SMALL = {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}


def _run(scenario: Scenario, schedule_seed: int | None = None) -> RunResult:
    return run_scenario(scenario, timeout_s=120, deterministic=Determinism(schedule_seed))


def without_wall_fields(report: dict[str, Any]) -> str:
    """The report as report.json holds it, minus the fields measured on the wall clock."""
    report = copy.deepcopy(report)
    for path in WALL_FIELDS:
        *parents, leaf = path.split(".")
        node = report
        for part in parents:
            node = node[part]
        del node[leaf]
    return report_json(report)


def _outcome(result: RunResult) -> tuple:
    return tuple((i["name"], i["status"], i["host"], tuple(i["claim_failures"]))
                 for i in result.report["instances"])


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_example_scenario_replays_byte_identical(path: Path):
    scenario = load_scenario(path)
    first, second = _run(scenario), _run(scenario)
    assert not first.errors, first.errors
    assert first.ok, [c for c in first.report["expectations"] if not c["ok"]]
    assert without_wall_fields(first.report) == without_wall_fields(second.report)
    assert first.report["summary"]["sim_time_s"] is not None
    assert first.report["deterministic"]["schedule_seed"] == scenario.seed


def _outcomes_over_seeds(scenario: Scenario, seeds: range) -> dict[tuple, int]:
    """Distinct outcomes and a schedule seed giving each; every seed replayed once."""
    found: dict[tuple, int] = {}
    for seed in seeds:
        result = _run(scenario, seed)
        assert without_wall_fields(result.report) == without_wall_fields(
            _run(scenario, seed).report), f"schedule seed {seed} did not replay"
        found.setdefault(_outcome(result), seed)
    return found


def test_claim_in_conductor_outcome_depends_on_the_schedule_seed_alone():
    scenario = load_scenario(next(p for p in SCENARIOS if p.stem == "claim-in-conductor"))
    outcomes = _outcomes_over_seeds(scenario, range(1, 7))
    assert len(outcomes) > 1, outcomes


def _scenario(name: str, hosts: dict[str, dict[str, int]], requests: list[dict],
              **extra: Any) -> Scenario:
    return parse_scenario({
        "name": name, "seed": 1,
        "cells": [{"name": "cell1", "hosts": [{"name": h, "resources": r}
                                              for h, r in hosts.items()]}],
        "flavors": {"small": SMALL, "whole": {"VCPU": 1, "MEMORY_MB": 8192, "DISK_GB": 1}},
        "requests": requests, **extra})


def test_two_requests_in_the_scheduler_race_for_the_same_candidate_for_some_seeds():
    # Given two hosts with room for one server each, host1 preferred, and two requests at once
    scenario = _scenario(
        "scheduler-read-race",
        {"host1": {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1},
         "host2": {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}},
        [{"name": "web", "flavor": "small", "count": 2, "concurrency": 2}],
        config={"filter_scheduler.static_host_weights": {"host1": 20, "host2": 10}})
    # When they run under several schedule seeds
    outcomes = _outcomes_over_seeds(scenario, range(1, 11))
    # Then some seeds let both read host1 free before either claims (one loses its claim on
    # host1 in the scheduler), others serialise them (no claim is lost); all end ACTIVE
    lost = {sum(len(i[3]) for i in outcome) for outcome in outcomes}
    assert lost == {0, 1}, outcomes
    assert all(i[1] == "ACTIVE" for outcome in outcomes for i in outcome)


def test_last_slot_race_is_won_by_either_side_depending_on_the_seed():
    # Given web-1 failing once on host1, and filler wanting all of host2 at the same moment
    scenario = _scenario(
        "last-slot-race-unscripted",
        {"host1": {"VCPU": 8, "MEMORY_MB": 4096, "DISK_GB": 100},
         "host2": {"VCPU": 8, "MEMORY_MB": 8192, "DISK_GB": 100},
         "host3": {"VCPU": 8, "MEMORY_MB": 4096, "DISK_GB": 100}},
        [{"name": "web", "flavor": "small"}, {"name": "filler", "flavor": "whole"}],
        config={"filter_scheduler.static_host_weights": {"host1": 30, "host2": 20,
                                                         "host3": 10}},
        faults=[{"hosts": ["host1"], "action": "reschedule", "first": 1}])
    outcomes = _outcomes_over_seeds(scenario, range(1, 13))
    # Then for some seeds web-1 is scheduled with host2 as an alternate, filler takes host2
    # meanwhile and web-1's claim there fails (the race); for others filler was placed first
    # and web-1 never had host2 to lose; either way both end ACTIVE and nothing is lost
    web = {o[0] for o in outcomes}
    assert ("web-1", "ACTIVE", "host3", ("host2",)) in web, outcomes
    assert ("web-1", "ACTIVE", "host3", ()) in web, outcomes
    assert all(i[1] == "ACTIVE" for outcome in outcomes for i in outcome)


def test_the_cli_refuses_what_it_cannot_control(tmp_path: Path):
    path = next(p for p in SCENARIOS if p.stem == "clean-run")
    proc = subprocess.run(
        [sys.executable, "-m", "altsim_lab.cmd.altsim", "run", str(path), "--deterministic",
         "--transport-url", "rabbit://guest:guest@127.0.0.1:5672/", "-q"],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "--transport-url" in proc.stderr and "deterministic" in proc.stderr


def test_the_cli_report_replays_across_processes(tmp_path: Path):
    path = next(p for p in SCENARIOS if p.stem == "claim-in-conductor")
    reports = []
    for n, hash_seed in enumerate(("1", "2")):
        out = tmp_path / f"r{n}.json"
        proc = subprocess.run(
            [sys.executable, "-m", "altsim_lab.cmd.altsim", "run", str(path), "--deterministic",
             "--schedule-seed", "4", "--report", str(out), "-q"],
            capture_output=True, text=True, timeout=120,
            env={**__import__("os").environ, "PYTHONHASHSEED": hash_seed})
        assert proc.returncode == 0, proc.stderr
        reports.append(without_wall_fields(json.loads(out.read_text())))
    assert reports[0] == reports[1]


def test_a_cpu_hog_beside_the_run_changes_nothing_but_wall_time():
    scenario = load_scenario(next(p for p in SCENARIOS if p.stem == "claim-in-conductor"))
    quiet = without_wall_fields(_run(scenario, 4).report)
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        busy = without_wall_fields(_run(scenario, 4).report)
    finally:
        hog.kill()
        hog.wait()
    assert busy == quiet


def test_deterministic_true_in_the_scenario_file_is_the_same_as_asking():
    path = next(p for p in SCENARIOS if p.stem == "claim-in-conductor")
    data = {**load_scenario(path).model_dump(mode="json"), "deterministic": True}
    from_file = run_scenario(parse_scenario(data), timeout_s=120)
    asked = _run(load_scenario(path))
    assert from_file.report["deterministic"]["schedule_seed"] == load_scenario(path).seed
    assert without_wall_fields(from_file.report) == without_wall_fields(asked.report)
