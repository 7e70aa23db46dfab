"""The cross-check's own scenarios (crosscheck/scenarios) meet their expectations in altsim, as
the examples do (test_example_scenarios.py); the cross-check compares them with Nova."""

from __future__ import annotations

from pathlib import Path

import pytest

from altsim_lab.scenario.runner import run_scenario
from altsim_lab.scenario.schema import load_scenario
from crosscheck.check import OWN_DIR

SCENARIOS = sorted(OWN_DIR.glob("*.yaml"))


def test_the_crosscheck_has_scenarios_of_its_own():
    assert SCENARIOS


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_crosscheck_scenario_meets_its_expectations(path: Path):
    result = run_scenario(load_scenario(path), timeout_s=120)
    assert not result.errors, result.errors
    assert result.report["expectations"], "no expectation was checked"
    assert [c for c in result.report["expectations"] if not c["ok"]] == []
