"""The runs of a sweep: `--set group.option=v1,v2` axes, their cross product, the seeds.

An axis is a config option (`scheduler.max_attempts`, as in a scenario's `config:`) or a path
into the scenario itself that starts with one of SCENARIO_SECTIONS (`faults.0.probability`,
`requests.0.count`, `flavors.small.VCPU`), so a sweep can vary the workload and the faults too.
Each value list is read as a YAML flow sequence without its brackets, so values get the types
they would have in a scenario's `config:` (`1,3` are integers, `true` a boolean), a value with a
comma is quoted (`"A,B",C`) and a dict is written in braces (`{host1: 30},{host1: 10}`).
Every point is checked the way `altsim run` checks a scenario's `config:`, before anything runs.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

import yaml

from altsim_lab.config_overrides import ConfigOverrideError
from altsim_lab.scenario.schema import Scenario, ScenarioError, parse_scenario
from altsim_lab.scenario.topology import check_config

# First names of an axis that is a path into the scenario, not a config option. No config
# group has one of these names, so the two kinds cannot be confused.
SCENARIO_SECTIONS = ("faults", "requests", "cells", "flavors")


# A sweep past this many runs is a typo in --repeat or one --set too many (each run takes
# seconds to minutes); refused before any point is planned.
MAX_RUNS = 10_000


class SweepError(ValueError):
    """A malformed --set, a repeat below 1, or a value no service accepts: exit 2."""


@dataclass(frozen=True)
class Axis:
    """One swept option and the values it takes, in the order given."""

    key: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Run:
    """One run of the sweep: a point (option -> value), a seed, and the scenario to run."""

    point: dict[str, Any]
    seed: int
    scenario: Scenario


def parse_axis(text: str) -> Axis:
    """`group.option=v1,v2,...` -> Axis; SweepError naming the argument when malformed."""
    key, sep, values_text = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise SweepError(f"--set {text!r}: expected group.option=value[,value...]")
    try:
        values = yaml.safe_load(f"[{values_text}]")
    except yaml.YAMLError:
        raise SweepError(f"--set {key}: cannot read the values {values_text!r} (a value "
                         "with a comma needs quotes, a dict braces)") from None
    if not isinstance(values, list) or not values:
        raise SweepError(f"--set {key}: no value given")
    if len({value_text(v) for v in values}) != len(values):
        raise SweepError(f"--set {key}: a value is given twice in {values_text!r}")
    return Axis(key, tuple(values))


def parse_axes(texts: list[str]) -> list[Axis]:
    axes = [parse_axis(text) for text in texts]
    keys = [axis.key for axis in axes]
    for key in keys:
        if keys.count(key) > 1:
            raise SweepError(f"--set {key}: given twice; list every value in one --set")
        if key == "seed":
            raise SweepError("--set seed: the seeds come from --repeat (seed .. seed+N-1)")
    return axes


def points(axes: list[Axis]) -> list[dict[str, Any]]:
    """The cross product, the first axis varying slowest."""
    keys = [axis.key for axis in axes]
    return [dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(axis.values for axis in axes))]


def point_label(point: dict[str, Any]) -> str:
    return " ".join(f"{key}={value_text(value)}" for key, value in point.items())


def is_scenario_path(key: str) -> bool:
    return key.partition(".")[0] in SCENARIO_SECTIONS


def with_point(scenario: Scenario, point: dict[str, Any], seed: int) -> Scenario:
    """The scenario with the point's options over its own `config:`, its scenario paths set,
    and the given seed; SweepError naming the axis when a path is not in the scenario, or
    ScenarioError when the value makes the scenario invalid."""
    options = {key: value for key, value in point.items() if not is_scenario_path(key)}
    updated = scenario.model_copy(update={"config": {**scenario.config, **options},
                                          "seed": seed})
    paths = {key: value for key, value in point.items() if is_scenario_path(key)}
    if not paths:
        return updated
    document = updated.model_dump()
    # A sweep checks no expectation, and one naming an instance a smaller `count` no longer
    # makes would refuse the point.
    document.pop("expect")
    for key, value in paths.items():
        _set_path(document, key, value)
    return parse_scenario(document, f"--set {point_label(paths)}")


def _set_path(document: dict[str, Any], key: str, value: Any) -> None:
    """Set document[a][b]... for key `a.b...`: every part must already be there (a list entry
    by its index), so a misspelt path is an error, never a new key nobody reads."""
    parts = key.split(".")
    node: Any = document
    for depth, part in enumerate(parts):
        index = _index(node, part, key, ".".join(parts[:depth]))
        if depth == len(parts) - 1:
            node[index] = value
        else:
            node = node[index]


def _index(node: Any, part: str, key: str, where: str) -> int | str:
    if isinstance(node, list):
        if part.isdigit() and int(part) < len(node):
            return int(part)
        count = f"{len(node)} entry" if len(node) == 1 else f"{len(node)} entries"
        raise SweepError(f"--set {key}: {where} has {count} (numbered from 0), not {part!r}")
    if isinstance(node, dict) and part in node:
        return part
    known = ", ".join(sorted(map(str, node))) if isinstance(node, dict) and node else "nothing"
    raise SweepError(f"--set {key}: {where} has no {part!r} (it has {known})")


def plan_runs(scenario: Scenario, axes: list[Axis], repeat: int) -> list[Run]:
    """Every point `repeat` times, seeds scenario.seed .. scenario.seed + repeat - 1; each
    value and each point is checked first (SweepError naming the option and value)."""
    if repeat < 1:
        raise SweepError(f"--repeat: must be at least 1, got {repeat}")
    total = math.prod(len(axis.values) for axis in axes) * repeat
    if total > MAX_RUNS:
        raise SweepError(f"--set and --repeat: {total} runs; a sweep has at most {MAX_RUNS}")
    for axis in axes:  # one value at a time first, so the error names the culprit
        for value in axis.values:
            _checked(scenario, {axis.key: value}, scenario.seed)
    runs = []
    for point in points(axes):
        _checked(scenario, point, scenario.seed)
        runs.extend(Run(point, seed, with_point(scenario, point, seed))
                    for seed in range(scenario.seed, scenario.seed + repeat))
    return runs


def _checked(scenario: Scenario, point: dict[str, Any], seed: int) -> Scenario:
    """with_point, then the config checked as `altsim run` checks it; SweepError naming the
    point otherwise."""
    where = f"--set {point_label(point)}"
    try:
        updated = with_point(scenario, point, seed)
        check_config(updated)
    except SweepError:
        raise
    except ScenarioError as exc:  # its message already starts with `--set <paths>:`
        raise SweepError(str(exc)) from None
    except (ConfigOverrideError, ValueError) as exc:
        raise SweepError(f"{where}: {exc}") from None
    return updated


def value_text(value: Any) -> str:
    """A value as the CSV, the tables and the plots show it: scalars as written (booleans as
    in YAML), dicts and lists as compact JSON."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
