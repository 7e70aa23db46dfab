"""run_scenario's `during` hook, and the runner finishing a build whose notification was lost
(embedded: the same runner and collector as a launched run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from altsim_lab.scenario import collector as collector_module
from altsim_lab.scenario.collector import Collector
from altsim_lab.scenario.runner import run_scenario
from altsim_lab.scenario.schema import load_scenario

SCENARIOS = Path(__file__).parents[2] / "etc" / "altsim" / "scenarios"


def test_during_gets_the_live_deployment_and_the_run_waits_for_it():
    seen: list[Any] = []

    def during(deployment: Any) -> None:
        seen.append(deployment.cell_dbs)

    result = run_scenario(load_scenario(SCENARIOS / "reschedule-once.yaml"), during=during)
    assert result.ok, (result.errors, result.report["expectations"])
    assert len(seen) == 1 and seen[0]


def test_an_exception_from_during_is_one_of_the_runs_errors():
    def during(deployment: Any) -> None:
        raise RuntimeError("could not kill it")

    result = run_scenario(load_scenario(SCENARIOS / "reschedule-once.yaml"), during=during)
    assert result.errors == ["during the run: RuntimeError: could not kill it"]
    assert not result.ok


def test_a_build_whose_notification_is_lost_is_found_in_its_cell_db(monkeypatch):
    monkeypatch.setattr(collector_module, "QUIET_S", 0.2)
    real_handle = Collector.handle

    def lose_create_end(self: Collector, event_type: str, payload: dict) -> None:
        if event_type == "instance.create.end":
            return  # as if the compute died between its commit and its notify
        real_handle(self, event_type, payload)

    monkeypatch.setattr(Collector, "handle", lose_create_end)
    result = run_scenario(load_scenario(SCENARIOS / "reschedule-once.yaml"), timeout_s=30)
    assert not result.timed_out and not result.errors, result.errors
    assert result.report["unnotified"] == ["web-1"]
    assert result.report["summary"]["active"] == 1
    assert result.ok, result.report["expectations"]


def test_a_run_that_notifies_everything_has_nothing_unnotified():
    result = run_scenario(load_scenario(SCENARIOS / "reschedule-once.yaml"))
    assert result.report["unnotified"] == []
