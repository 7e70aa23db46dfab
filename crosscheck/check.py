"""Scenarios cross-checked: the Nova runs (all in one process), each altsim run, the comparison.

The scenarios are altsim's examples (etc/altsim/scenarios) and the cross-check's own
(crosscheck/scenarios: what an example cannot show through Nova's harness). Both reports are
kept in each scenario's working directory (altsim.json, nova.json, with Nova's plan and log).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from altsim_lab.scenario.schema import Scenario, load_scenario
from crosscheck import known
from crosscheck.altsim_run import AltsimRunError, run_altsim
from crosscheck.compare import Comparison, compare
from crosscheck.nova_run import run_nova
from crosscheck.options import nova_options
from crosscheck.plan import build_plan
from crosscheck.venv import PACKAGE_DIR, REPO_ROOT

EXAMPLES_DIR = REPO_ROOT / "etc" / "altsim" / "scenarios"
OWN_DIR = PACKAGE_DIR / "scenarios"
DEFAULT_TIMEOUT_S = 180.0


@dataclass
class Outcome:
    scenario: str
    excluded: str | None = None
    comparison: Comparison | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Excluded, or compared with no unexpected mismatch and every deterministic known
        difference of the scenario showing as listed."""
        if self.excluded:
            return True
        comparison = self.comparison
        return (self.error is None and comparison is not None and not comparison.unexpected
                and not comparison.stale_known)


def scenario_paths() -> list[Path]:
    return sorted(EXAMPLES_DIR.glob("*.yaml")) + sorted(OWN_DIR.glob("*.yaml"))


def resolve(name_or_path: str) -> Path:
    """A scenario given by path, or by name among the examples and the cross-check's own."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return path
    for candidate in scenario_paths():
        if candidate.stem == name_or_path:
            return candidate
    known_names = ", ".join(p.stem for p in scenario_paths())
    raise FileNotFoundError(f"{name_or_path}: no such scenario file or name (known: "
                            f"{known_names})")


def load(paths: list[Path]) -> list[Scenario]:
    return [load_scenario(path) for path in paths]


def excluded(scenario: Scenario) -> Outcome | None:
    """The outcome of a scenario crosscheck.known excludes, None for one to compare."""
    reason = known.excluded_reason(scenario.name)
    return Outcome(scenario.name, excluded=reason) if reason else None


def run_nova_side(scenarios: list[Scenario], python: Path, workdir: Path,
                  timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, dict[str, Any]]:
    """Nova's reports for the scenarios to compare (one Nova process for all)."""
    plans = {scenario.name: build_plan(scenario, timeout_s) for scenario in scenarios
             if not known.excluded_reason(scenario.name)}
    return run_nova(plans, python, workdir) if plans else {}


def compare_with_altsim(scenario: Scenario, nova: dict[str, Any], workdir: Path,
                        timeout_s: float = DEFAULT_TIMEOUT_S) -> Outcome:
    """Runs the scenario through altsim and compares with Nova's report of it."""
    outcome = Outcome(scenario.name)
    if nova["errors"]:
        outcome.error = "Nova run failed: " + " | ".join(nova["errors"])
        return outcome
    try:
        ours = run_altsim(scenario, timeout_s)
    except AltsimRunError as exc:
        outcome.error = str(exc)
        return outcome
    rundir = workdir / scenario.name
    rundir.mkdir(parents=True, exist_ok=True)
    (rundir / "altsim.json").write_text(json.dumps(ours, indent=2))
    outcome.comparison = compare(scenario.name, ours, nova)
    outcome.comparison.ignored_options = nova_options(scenario).ignored
    return outcome
