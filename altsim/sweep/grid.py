"""The runs of a sweep: `--set group.option=v1,v2` axes, their cross product, the seeds.

Each value list is read as a YAML flow sequence without its brackets, so values get the types
they would have in a scenario's `config:` (`1,3` are integers, `true` a boolean), a value with a
comma is quoted (`"A,B",C`) and a dict is written in braces (`{host1: 30},{host1: 10}`).
Every point is checked the way `altsim run` checks a scenario's `config:`, before anything runs.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import yaml

from altsim.conf.overrides import ConfigOverrideError
from altsim.scenario.schema import Scenario
from altsim.scenario.topology import check_config


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
    return axes


def points(axes: list[Axis]) -> list[dict[str, Any]]:
    """The cross product, the first axis varying slowest."""
    keys = [axis.key for axis in axes]
    return [dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(axis.values for axis in axes))]


def point_label(point: dict[str, Any]) -> str:
    return " ".join(f"{key}={value_text(value)}" for key, value in point.items())


def with_point(scenario: Scenario, point: dict[str, Any], seed: int) -> Scenario:
    """The scenario with the point's options over its own `config:` and the given seed."""
    return scenario.model_copy(update={"config": {**scenario.config, **point}, "seed": seed})


def plan_runs(scenario: Scenario, axes: list[Axis], repeat: int) -> list[Run]:
    """Every point `repeat` times, seeds scenario.seed .. scenario.seed + repeat - 1; each
    value and each point is checked first (SweepError naming the option and value)."""
    if repeat < 1:
        raise SweepError(f"--repeat: must be at least 1, got {repeat}")
    for axis in axes:  # one value at a time first, so the error names the culprit
        for value in axis.values:
            _check(with_point(scenario, {axis.key: value}, scenario.seed),
                   f"--set {axis.key}={value_text(value)}")
    runs = []
    for point in points(axes):
        _check(with_point(scenario, point, scenario.seed), f"--set {point_label(point)}")
        runs.extend(Run(point, seed, with_point(scenario, point, seed))
                    for seed in range(scenario.seed, scenario.seed + repeat))
    return runs


def _check(scenario: Scenario, where: str) -> None:
    try:
        check_config(scenario)
    except (ConfigOverrideError, ValueError) as exc:
        raise SweepError(f"{where}: {exc}") from None


def value_text(value: Any) -> str:
    """A value as the CSV, the tables and the plots show it: scalars as written (booleans as
    in YAML), dicts and lists as compact JSON."""
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
