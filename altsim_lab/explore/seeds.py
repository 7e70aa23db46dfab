"""Run one scenario under many schedule seeds (in worker processes if asked) and group what
came out: each distinct outcome with the seeds that gave it, and every broken invariant."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

from altsim_lab.deploy.deterministic import Determinism
from altsim_lab.explore.invariants import violations
from altsim_lab.scenario.runner import run_scenario
from altsim_lab.scenario.schema import Scenario, parse_scenario


class SeedsError(ValueError):
    """A --schedule-seeds value that is not a list of seeds and ranges."""


def parse_seeds(text: str) -> list[int]:
    """"1-500", "7", "1-10,20,30-40" -> the seeds, in order, each once."""
    seeds: list[int] = []
    for part in text.split(","):
        low, _, high = part.strip().partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise SeedsError(f"--schedule-seeds {text}: {part!r} is not a seed or a range "
                             f"like 1-500") from None
        if first < 0 or last < first:
            raise SeedsError(f"--schedule-seeds {text}: {part!r} is not an ascending range "
                             f"of non-negative seeds")
        seeds.extend(range(first, last + 1))
    return list(dict.fromkeys(seeds))


@dataclass(frozen=True)
class SeedResult:
    seed: int
    outcome: str
    violations: tuple[str, ...]


@dataclass
class Outcome:
    text: str
    seeds: list[int] = field(default_factory=list)
    violations: tuple[str, ...] = ()


def describe(report: dict[str, Any]) -> str:
    """An outcome in one line: the counts that tell interleavings apart."""
    s = report["summary"]
    return (f"{s['active']} ACTIVE, {s['error']} ERROR, {s['claim_failures']} lost claims, "
            f"{s['reschedules']} reschedules")


def run_seed(scenario_data: dict[str, Any], seed: int, timeout_s: float) -> SeedResult:
    """One deterministic run (module-level so worker processes can run it)."""
    logging.getLogger().setLevel(logging.CRITICAL)
    scenario = parse_scenario(scenario_data)
    result = run_scenario(scenario, timeout_s=timeout_s, deterministic=Determinism(seed))
    return SeedResult(seed, describe(result.report),
                      tuple(violations(scenario, result.report, result.errors)))


def explore(scenario: Scenario, seeds: Iterable[int], timeout_s: float, jobs: int = 1,
            on_done: Callable[[SeedResult], None] = lambda r: None) -> list[SeedResult]:
    """Every seed's result, in seed order."""
    data = scenario.model_dump(mode="json")
    seeds = list(seeds)
    results: list[SeedResult] = []
    if jobs <= 1:
        for seed in seeds:
            results.append(run_seed(data, seed, timeout_s))
            on_done(results[-1])
        return results
    # Fresh interpreters (spawn), not forks of this threaded process.
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        for result in pool.map(run_seed, [data] * len(seeds), seeds,
                               [timeout_s] * len(seeds)):
            results.append(result)
            on_done(result)
    return results


def group(results: Iterable[SeedResult]) -> list[Outcome]:
    """Distinct (outcome, violations) pairs, most frequent first, seeds in order."""
    by_key: dict[tuple[str, tuple[str, ...]], Outcome] = {}
    for result in results:
        key = (result.outcome, result.violations)
        by_key.setdefault(key, Outcome(result.outcome, violations=result.violations))
        by_key[key].seeds.append(result.seed)
    return sorted(by_key.values(), key=lambda o: (-len(o.seeds), o.seeds[0]))
