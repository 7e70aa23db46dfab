"""Unit tests of an instance's build path drawn from a report dict: the steps of a retry with a
lost claim, a hung spawn ended by the build timeout, a burial in cell0 and a legacy reselect;
the sequence diagram as PNG and SVG; and the report's hung attempt from the events."""

from __future__ import annotations

from pathlib import Path

import pytest

from altsim.db.cell import ActionEvent
from altsim_lab.pictures.build_path import CELL, PLACEMENT, SCHEDULER, SUPER, build_path
from altsim_lab.pictures.sequence import draw_sequence
from altsim_lab.scenario.report import _attempts

SCHEDULER_CLAIMS = {"placement": True, "claims_by": "scheduler",
                    "unclaim_by": "cell_conductor", "legacy_retry": False}


def event(at: float, actor: str, kind: str, host: str | None, result: str,
          **extra: object) -> dict:
    return {"at_s": at, "actor": actor, "kind": kind, "event": f"made-up {kind}",
            "host": host, "result": result, **extra}


def retried() -> dict:
    """last-slot-race's web-1: host1 fails, host2's claim is lost, host3 builds it."""
    return {"name": "web-1", "status": "ACTIVE", "host": "host3", "cell": "cell1",
            "selection": ["host1", "host2", "host3"], "claim_failures": ["host2"],
            "timed_out": False, "submitted_s": 0.001, "finished_s": 0.43,
            "attempts": [{"host": "host1", "result": "rescheduled", "reason": "spawn timed out",
                          "duration_s": 0.4, "start_s": 0.01},
                         {"host": "host3", "result": "active", "duration_s": 0.0001,
                          "start_s": 0.42}],
            "events": [
                event(0.009, "super_conductor", "schedule", "host1", "success",
                      details={"selection": ["host1", "host2", "host3"]}),
                event(0.01, "compute", "build", "host1", "rescheduled",
                      reason="spawn timed out", duration_s=0.4),
                event(0.411, "cell_conductor", "unclaim", "host1", "deleted"),
                event(0.412, "cell_conductor", "claim", "host2", "failed",
                      reason="claim failed in placement"),
                event(0.42, "compute", "build", "host3", "active", duration_s=0.0001)]}


def hung() -> dict:
    """build-timeout's web-1: host1 never answers; the sweep ends it after 2 s."""
    return {"name": "web-1", "status": "ERROR", "host": None, "cell": "cell1",
            "selection": ["host1", "host2"], "claim_failures": [], "timed_out": True,
            "submitted_s": 0.002, "finished_s": 2.1,
            "fault": {"code": 500, "message": "Build of instance u aborted: timed out"},
            "attempts": [{"host": "host1", "result": "timed_out", "reason": "no answer",
                          "duration_s": 2.05, "start_s": 0.03, "recorded_by": "build_timeout"}],
            "events": [
                event(0.03, "super_conductor", "schedule", "host1", "success"),
                event(2.08, "cell_conductor", "timeout", "host1", "timed_out",
                      reason="Instance build timed out",
                      details={"build_timeout_s": 2.0, "building_s": 2.05})]}


def report(*entries: dict, path: dict | None = None) -> dict:
    return {"scenario": "made-up", "seed": 1, "transport": "embedded",
            "build_path": SCHEDULER_CLAIMS if path is None else path,
            "instances": list(entries), "summary": {}, "expectations": []}


def steps(entry: dict, path: dict | None = None) -> list[tuple[str, str | None, str]]:
    found = build_path(report(entry, path=path), entry["name"])
    return [(s.source, s.target, s.text) for s in found.steps]


def test_a_retry_with_a_lost_claim_is_told_step_by_step():
    # Given the report entry of an instance rescheduled once after losing an alternate's claim
    told = steps(retried())
    # Then the path reads: API, scheduler (claim, answer), host1 fails, the cell conductor
    # unclaims, loses host2, claims host3, host3 goes ACTIVE
    assert told == [
        ("API", SUPER, "create web-1"),
        (SUPER, SCHEDULER, "select_destinations"),
        (SCHEDULER, PLACEMENT, "claim host1"),
        (SCHEDULER, SUPER, "host1; alternates: host2, host3"),
        (SUPER, "host1", "build_and_run_instance (attempt 1; alternates: host2, host3)"),
        ("host1", CELL, "failed after 400 ms: spawn timed out; reschedule"),
        (CELL, PLACEMENT, "unclaim host1"),
        (CELL, PLACEMENT, "claim host2: lost (placement refused it)"),
        (CELL, PLACEMENT, "claim host3"),
        (CELL, "host3", "build_and_run_instance (attempt 2; alternates: none)"),
        ("host3", None, "ACTIVE (spawned in 0.1 ms)")]
    path_ = build_path(report(retried()), "web-1")
    assert path_.lanes == ["API", SUPER, SCHEDULER, PLACEMENT, CELL, "host1", "host3"]
    assert path_.outcome == "ACTIVE on host3 after 2 attempts, 1 lost claim"
    assert [s.tone for s in path_.steps if s.tone != "plain"] == ["ok", "fail", "lost", "ok",
                                                                  "ok"]


def test_a_hung_spawn_is_ended_by_the_sweep_on_its_host():
    told = steps(hung())
    assert told[4:] == [
        (SUPER, "host1", "build_and_run_instance (attempt 1; alternates: host2)"),
        ("host1", None, "no answer in 2.05 s: the spawn hangs"),
        (CELL, None, "build-timeout sweep ends it: ERROR (2.05 s in BUILD, limit 2 s)"),
        (CELL, PLACEMENT, "delete the claim on host1")]
    assert build_path(report(hung()), "web-1").outcome == \
        "ERROR after 1 attempt (build timed out)"


def test_without_placement_nothing_is_claimed_and_a_give_up_is_the_cell_conductors():
    entry = retried()
    entry["events"] = [e for e in entry["events"] if e["kind"] in ("schedule", "build")]
    entry["events"][-1] = event(0.42, "compute", "build", "host3", "rescheduled",
                                reason="Insufficient compute resources")
    entry.update(status="ERROR", host=None, claim_failures=[],
                 fault={"code": 500, "message": "Exhausted all hosts available"})
    told = steps(entry, {"placement": False, "claims_by": None})
    assert not [t for t in told if PLACEMENT in t[:2]]
    assert told[-1] == (CELL, None, "gives up: ERROR (Exhausted all hosts available)")


def test_a_burial_in_cell0_after_lost_claims_in_the_super_conductor():
    entry = {"name": "b-2", "status": "ERROR", "host": None, "cell": "cell0",
             "selection": ["host1", "host2"], "claim_failures": ["host1", "host2"],
             "attempts": [], "submitted_s": 0.0,
             "events": [event(0.07, "super_conductor", "claim", "host1", "failed"),
                        event(0.07, "super_conductor", "claim", "host2", "failed"),
                        event(0.07, "super_conductor", "schedule", None, "failed",
                              reason="No valid host was found.")]}
    told = steps(entry, {"placement": True, "claims_by": "super_conductor"})
    assert told[2:] == [
        (SCHEDULER, SUPER, "host1; alternates: host2"),
        (SUPER, PLACEMENT, "claim host1: lost (placement refused it)"),
        (SUPER, PLACEMENT, "claim host2: lost (placement refused it)"),
        (SUPER, None, "buries it in cell0: ERROR (No valid host was found.)")]


def test_a_legacy_reschedule_asks_the_scheduler_which_claims_for_it():
    entry = retried()
    entry.update(selection=["host1"], claim_failures=[])
    entry["events"] = [entry["events"][0], entry["events"][1], entry["events"][2],
                       event(0.415, "cell_conductor", "reselect", "host3", "success",
                             details={"selection": ["host3"], "ignore_hosts": ["host1"]}),
                       entry["events"][4]]
    told = steps(entry)
    assert told[7:] == [
        (CELL, SCHEDULER, "select_destinations again, ignoring host1"),
        (SCHEDULER, PLACEMENT, "claim host3"),
        (SCHEDULER, CELL, "host3"),
        (CELL, "host3", "build_and_run_instance (attempt 2; alternates: none)"),
        ("host3", None, "ACTIVE (spawned in 0.1 ms)")]


def test_an_unknown_instance_or_an_old_report_is_named():
    with pytest.raises(LookupError, match="no instance 'web-9' in the report .*web-1"):
        build_path(report(retried()), "web-9")
    old = retried()
    del old["events"]
    with pytest.raises(LookupError, match="older altsim"):
        build_path(report(old), "web-1")


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG\r\n\x1a\n"), (".svg", b"<?xml")])
def test_the_diagram_is_drawn_as_png_or_svg(tmp_path: Path, suffix: str, magic: bytes):
    out = tmp_path / f"web-1{suffix}"
    draw_sequence(build_path(report(retried()), "web-1"), out, "made-up, seed 1")
    assert out.read_bytes().startswith(magic)
    assert out.stat().st_size > 10_000
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        draw_sequence(build_path(report(retried()), "web-1"), tmp_path / "x.jpg")


def action(name: str, at: float, host: str | None, result: str, reason: str | None = None,
           details: object = None, took: float = 0.0) -> ActionEvent:
    return ActionEvent(event=name, host=host, result=result, reason=reason, details=details,
                       start_time=at, finish_time=at + took)


def test_the_report_records_a_hung_spawn_as_a_timed_out_attempt_on_its_host():
    # Given a build cast to host1 at 100.01 that the sweep ended at 102.05
    schedule = action("conductor_schedule_and_build_instances", 100.01, "host1", "success")
    timeout = action("conductor_build_timeout", 102.05, "host1", "timed_out",
                     "Instance build timed out", {"building_s": 2.04, "build_timeout_s": 2})
    # Then the report has one attempt on host1, timed out, lasting from the cast to the sweep
    [attempt] = _attempts([schedule, timeout], started_at=100.0)
    assert attempt == {"host": "host1", "result": "timed_out",
                       "reason": "no answer from the compute: Instance build timed out after "
                                 "2.04 s in BUILD",
                       "duration_s": 2.04, "start_s": 0.01, "recorded_by": "build_timeout"}
    # ... and if the compute answers after all, too late, its own record replaces it
    late = action("compute_build_and_run_instance", 100.02, "host1", "timed_out",
                  "the spawn finished after the build had timed out (succeed)", took=2.5)
    [attempt] = _attempts([schedule, timeout, late], started_at=100.0)
    assert (attempt["host"], attempt["start_s"], attempt["duration_s"]) == ("host1", 0.02, 2.5)
    assert "recorded_by" not in attempt
    # ... while a timeout with no host (still scheduling) is no attempt at all
    nowhere = action("conductor_build_timeout", 102.05, None, "timed_out")
    assert _attempts([schedule, nowhere], started_at=100.0) == []
