"""One scenario cross-checked: the Nova run, the altsim run, the comparison.

The scenarios are altsim's examples (etc/altsim/scenarios) and the cross-check's own
(crosscheck/scenarios: what an example cannot show through Nova's harness). Both reports are
kept in the scenario's working directory (altsim.json, nova.json, with Nova's plan and logs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from altsim_lab.scenario.schema import load_scenario
from crosscheck import known
from crosscheck.altsim_run import AltsimRunError, run_altsim
from crosscheck.compare import Comparison, compare
from crosscheck.nova_run import NovaRunError, run_nova
from crosscheck.plan import build_plan
from crosscheck.venv import PACKAGE_DIR, REPO_ROOT

EXAMPLES_DIR = REPO_ROOT / "etc" / "altsim" / "scenarios"
OWN_DIR = PACKAGE_DIR / "scenarios"
DEFAULT_TIMEOUT_S = 180.0


@dataclass
class Outcome:
    scenario: str
    path: Path
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


def check_scenario(path: Path, python: Path, workdir: Path,
                   timeout_s: float = DEFAULT_TIMEOUT_S) -> Outcome:
    scenario = load_scenario(path)
    outcome = Outcome(scenario.name, path)
    outcome.excluded = known.excluded_reason(scenario.name)
    if outcome.excluded:
        return outcome
    plan = build_plan(scenario, timeout_s)
    rundir = workdir / scenario.name
    try:
        nova = run_nova(plan, python, rundir)
        if nova["errors"]:
            outcome.error = "Nova run failed: " + " | ".join(nova["errors"])
            return outcome
        ours = run_altsim(scenario, timeout_s)
    except (NovaRunError, AltsimRunError) as exc:
        outcome.error = str(exc)
        return outcome
    (rundir / "altsim.json").write_text(json.dumps(ours, indent=2))
    outcome.comparison = compare(scenario.name, ours, nova)
    outcome.comparison.ignored_options = dict(plan["ignored_options"])
    return outcome
