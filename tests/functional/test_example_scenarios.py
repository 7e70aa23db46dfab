"""Every example scenario runs embedded, meets its own expectations, and yields a complete report
(every field the README lists).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from altsim_lab.scenario.runner import run_scenario
from altsim_lab.scenario.schema import load_scenario

SCENARIOS = sorted((Path(__file__).parents[2] / "etc" / "altsim" / "scenarios").glob("*.yaml"))

SUMMARY_KEYS = {"instances", "active", "error", "building", "timed_out", "reschedules",
                "claim_failures", "leaked_allocations", "duration_s", "builds_per_s"}
INSTANCE_KEYS = {"name", "uuid", "status", "host", "cell", "selection", "attempts",
                 "claim_failures", "fault", "timed_out", "allocations", "events"}
# timed_out: a spawn that hung or finished after its build had timed out ([conductor]
# build_timeout).
ATTEMPT_RESULTS = {"active", "rescheduled", "aborted", "failed", "timed_out"}
EVENT_ACTORS = {"scheduler", "super_conductor", "cell_conductor", "compute"}


def test_there_are_at_least_six_examples():
    assert len(SCENARIOS) >= 6


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_example_scenario_meets_its_expectations(path: Path):
    scenario = load_scenario(path)
    assert scenario.expect.model_dump(exclude_none=True, exclude_defaults=True), \
        f"{path.name} has no expect block"
    result = run_scenario(scenario, timeout_s=120)
    missed = [c for c in result.report["expectations"] if not c["ok"]]
    assert not result.errors, result.errors
    assert not missed, missed
    assert result.report["expectations"], "no expectation was checked"
    _assert_report_shape(result.report, scenario)


def _assert_report_shape(report: dict, scenario) -> None:
    assert report["scenario"] == scenario.name
    assert report["description"] == scenario.description.strip()
    assert report["seed"] == scenario.seed
    assert report["transport"] == "embedded"
    assert SUMMARY_KEYS <= set(report["summary"])
    names = [entry["name"] for entry in report["instances"]]
    assert names == scenario.instance_names()
    for entry in report["instances"]:
        assert INSTANCE_KEYS <= set(entry), entry
        assert entry["status"] in {"ACTIVE", "ERROR", "BUILD"}
        for attempt in entry["attempts"]:
            assert attempt["result"] in ATTEMPT_RESULTS
            assert attempt["host"], entry  # every attempt names its host, a hung one too
        assert {event["actor"] for event in entry["events"]} <= EVENT_ACTORS, entry["events"]
        if entry["status"] == "ACTIVE":
            # Rule 23: only the final host holds the instance's allocations.
            assert list(entry["allocations"]) == [entry["host"]]
            assert entry["attempts"][-1] == {**entry["attempts"][-1], "host": entry["host"],
                                             "result": "active"}
        else:
            assert entry["allocations"] == {}
    for host in report["hosts"]:
        assert {"name", "cell", "usage", "failed_builds"} <= set(host)


def test_cli_exits_1_and_names_the_missed_expectation(tmp_path: Path):
    scenario = (SCENARIOS[0].parent / "reschedule-once.yaml").read_text()
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(scenario.replace("web-1: {status: ACTIVE, host: host2",
                                      "web-1: {status: ACTIVE, host: host3"))
    report = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, "-m", "altsim_lab.cmd.altsim", "run", str(wrong), "-q",
                           "--report", str(report)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "instances.web-1.host" in proc.stderr
    assert "expected 'host3', got 'host2'" in proc.stderr
    checks = json.loads(report.read_text())["expectations"]
    assert [c["check"] for c in checks if not c["ok"]] == ["instances.web-1.host"]


def test_cli_exits_0_and_writes_the_report(tmp_path: Path):
    report = tmp_path / "report.json"  # in a folder that exists: --report makes none
    proc = subprocess.run([sys.executable, "-m", "altsim_lab.cmd.altsim", "run",
                           str(SCENARIOS[0].parent / "reschedule-once.yaml"), "--report",
                           str(report)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "1 reschedule," in proc.stdout
    assert json.loads(report.read_text())["summary"]["reschedules"] == 1


@pytest.mark.parametrize("mutation, named", [
    ("flavor: small, count: 1}", "requests.0.flavour"),
    ("scheduler.max_attempts: 3", "config.scheduler.max_atempts"),
    ("scheduler.max_attempts: 3", "config.scheduler.max_attempts"),
])
def test_cli_exits_2_naming_the_bad_key(tmp_path: Path, mutation: str, named: str):
    source = (SCENARIOS[0].parent / "reschedule-once.yaml").read_text()
    replacement = {
        "requests.0.flavour": "flavour: small, count: 1}",
        "config.scheduler.max_atempts": "scheduler.max_atempts: 3",
        "config.scheduler.max_attempts": "scheduler.max_attempts: 0",
    }[named]
    bad = tmp_path / "bad.yaml"
    bad.write_text(source.replace(mutation, replacement, 1))
    proc = subprocess.run([sys.executable, "-m", "altsim_lab.cmd.altsim", "run", str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "bad.yaml" in proc.stderr
    assert named in proc.stderr
