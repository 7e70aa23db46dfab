"""altsim against Nova, one test per scenario (crosscheck/known.py says what is left out).

A scenario passes when every category compared agrees; it is an expected failure (xfail, with
every mismatch in its reason) when its only mismatches are known differences listed for it in
crosscheck/known.py, and it fails on any other mismatch, or when a known difference listed as
always showing in it no longer does (then known.py is out of date).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from altsim_lab.scenario.schema import Scenario
from crosscheck import check, known

SCENARIOS = check.load(check.scenario_paths())


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_altsim_agrees_with_nova(scenario: Scenario, nova_reports: dict[str, dict[str, Any]],
                                 crosscheck_workdir: Path) -> None:
    reason = known.excluded_reason(scenario.name)
    if reason:
        pytest.skip(f"not compared: {reason}")
    outcome = check.compare_with_altsim(scenario, nova_reports[scenario.name],
                                        crosscheck_workdir)
    assert outcome.error is None, outcome.error
    comparison = outcome.comparison
    assert comparison is not None
    unexpected = "\n".join(m.describe() for m in comparison.unexpected)
    assert not comparison.unexpected, f"altsim and Nova disagree:\n{unexpected}"
    assert not comparison.stale_known, (
        f"known differences {comparison.stale_known} no longer show in {scenario.name}: "
        f"update crosscheck/known.py")
    if comparison.mismatches:
        pytest.xfail("known differences " + ", ".join(comparison.known_shown) + ":\n"
                     + "\n".join(m.describe() for m in comparison.mismatches))
