"""Deterministic embedded runs: the embedded deployment, run by a seeded scheduler in simulated
time (altsim.sim.scheduler), so the same scenario and seeds give the same report.

The scenario's `seed` keeps deciding the faults and the instance uuids; the schedule seed
decides the interleaving (which thread runs at each yield point) and seeds every uuid and
jitter drawn during the run. What cannot be controlled this way is refused up front with an
error naming it, never run non-deterministically.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from altsim.sim.scheduler import DeterministicScheduler

#: Report fields measured on the wall clock, the only ones that differ between two runs of the
#: same scenario and seeds (dotted paths into report.json).
WALL_FIELDS = ("summary.duration_s", "summary.builds_per_s")


class NotDeterministic(ValueError):
    """A run asked to be deterministic uses something the deterministic mode cannot control."""


@dataclass(frozen=True)
class Determinism:
    """How to run deterministically: the schedule seed (None: the scenario's seed)."""

    schedule_seed: int | None = None

    def seed_for(self, scenario_seed: int) -> int:
        return scenario_seed if self.schedule_seed is None else self.schedule_seed


def refuse_uncontrolled(transport_url: str | None, database_url: str | None,
                        during: Callable[[Any], None] | None) -> None:
    """NotDeterministic naming the first feature the mode cannot control."""
    if transport_url is not None:
        raise NotDeterministic(
            f"--transport-url {transport_url}: a launched run's services are processes of "
            f"their own over a real broker, in real time; deterministic runs are embedded")
    if database_url is not None:
        raise NotDeterministic("--database-url: a database server is shared with the outside "
                               "world; deterministic runs keep SQLite in their folder")
    if during is not None:
        raise NotDeterministic("a `during` hook runs beside the services in real time; "
                               "deterministic runs cannot schedule it")


def run_deterministic(determinism: Determinism, scenario_seed: int,
                      run: Callable[[], Any]) -> Any:
    """Run `run()` (which deploys, runs and reports a scenario) under a scheduler with the
    schedule seed; then put the wall-clock fields in its report and the simulated makespan
    beside them as `sim_time_s`."""
    seed = determinism.seed_for(scenario_seed)
    scheduler = DeterministicScheduler(seed)
    began = time.monotonic()
    result = scheduler.run(run, name="runner")
    wall_s = time.monotonic() - began
    report = result.report
    report["summary"] = _with_wall_times(report["summary"], wall_s)
    report["deterministic"] = {"schedule_seed": seed, "steps": scheduler.steps,
                               "sim_time_s": round(scheduler.clock.elapsed, 6),
                               "wall_fields": list(WALL_FIELDS)}
    return result


def _with_wall_times(summary: dict[str, Any], wall_s: float) -> dict[str, Any]:
    """The summary with duration_s and builds_per_s on the wall clock; the run's own duration
    (the last instance finished, in simulated time) becomes sim_time_s, next to them."""
    out: dict[str, Any] = {}
    for key, value in summary.items():
        if key == "duration_s":
            out["duration_s"] = round(wall_s, 3)
            out["sim_time_s"] = value
        elif key == "builds_per_s":
            out[key] = round(summary["active"] / wall_s, 2) if wall_s > 0 else 0.0
        else:
            out[key] = value
    return out

