"""Run a scenario through altsim, embedded, as `altsim run` does, and return its report."""

from __future__ import annotations

from typing import Any

from altsim_lab.scenario.runner import run_scenario
from altsim_lab.scenario.schema import Scenario


class AltsimRunError(RuntimeError):
    """altsim's run did not finish: the message says why."""


def run_altsim(scenario: Scenario, timeout_s: float) -> dict[str, Any]:
    result = run_scenario(scenario, timeout_s=timeout_s)
    if result.timed_out or result.errors:
        problems = "; ".join(result.errors) or f"not finished within {timeout_s} s"
        raise AltsimRunError(f"altsim run of {scenario.name}: {problems}")
    return result.report
