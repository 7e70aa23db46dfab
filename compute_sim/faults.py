"""Fault injection: which spawns fail, how, and how long a spawn takes.

Rules match hosts by name or glob. A rule with an action fails a spawn with a reschedulable
error (`reschedule`) or a terminal one (`abort`), or makes it hang (`hang`: the spawn never
answers, as a hypervisor that never comes back or a compute that dies mid-build, so the
instance stays in BUILD until `[conductor] build_timeout` ends it), for the first N builds on
the host and/or with a probability; a rule with `latency_ms` makes the spawn take that long
(fixed or a range). The random parts are a pure function of (seed, host, instance name,
attempt), so a scenario gives the same outcome however threads interleave and whatever uuids
a run gives its instances (a run against a shared placement salts them, so that reruns never
share a consumer); only "the first N builds" depends on arrival order, by nature.
"""

from __future__ import annotations

import fnmatch
import hashlib
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class FaultRule(BaseModel):
    """One rule of a scenario's `faults:` (the descriptions are docs/scenarios.md's table)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hosts: list[str] = Field(
        min_length=1, examples=[["host1", "cell2-*"]],
        description="Host names or glob patterns (`*`, `?`, `[abc]`, case-sensitive); the rule "
                    "applies to every host one of them matches. Each must match a host of the "
                    "scenario.")
    action: Literal["reschedule", "abort", "hang"] | None = Field(
        default=None, examples=["reschedule"],
        description="What a spawn the rule fires on does: `reschedule` fails it with a "
                    "reschedulable error (the cell conductor tries the next alternate), "
                    "`abort` fails it for good (ERROR, never retried), `hang` never answers "
                    "(the build stays in BUILD until `[conductor] build_timeout` ends it). "
                    "Without an action the rule only adds latency.")
    first: int | None = Field(
        default=None, ge=1, examples=[1],
        description="Fire only on each matching host's first N builds (every build the host "
                    "is sent counts, in arrival order). None: every build.")
    probability: float | None = Field(
        default=None, ge=0.0, le=1.0, examples=[0.1],
        description="Fire with this probability, a seeded draw for each (rule, host, "
                    "instance name, attempt). With `first`, both must hold. None: always.")
    reason: str = Field(
        default="simulated spawn failure", examples=["spawn failed: simulated libvirt error"],
        description="The failure's text: the attempt's reason in the report, and the "
                    "instance's fault message when it ends in ERROR.")
    latency_ms: float | tuple[float, float] | None = Field(
        default=None, examples=[[10, 50]],
        description="How long each spawn on a matching host takes, in milliseconds: a number, "
                    "or `[low, high]` for a seeded draw in that range (0 <= low <= high). "
                    "Applies whatever the outcome; the first matching rule with latency_ms "
                    "sets it.")

    @model_validator(mode="after")
    def _check(self) -> FaultRule:
        if self.action is None and self.latency_ms is None:
            raise ValueError("a fault rule needs an action or latency_ms")
        if self.action is None and (self.first is not None or self.probability is not None):
            raise ValueError("first and probability only apply to a rule with an action")
        if isinstance(self.latency_ms, tuple) and not 0 <= self.latency_ms[0] <= self.latency_ms[1]:
            raise ValueError("latency_ms range must be [low, high] with 0 <= low <= high")
        if isinstance(self.latency_ms, float) and self.latency_ms < 0:
            raise ValueError("latency_ms must be >= 0")
        return self

    def matches(self, host: str) -> bool:
        return any(fnmatch.fnmatchcase(host, pattern) for pattern in self.hosts)


@dataclass(frozen=True)
class SpawnDecision:
    action: Literal["succeed", "reschedule", "abort", "hang"]
    reason: str = ""
    latency_s: float = 0.0


def _unit(seed: int, *parts: object) -> float:
    """A number in [0, 1) fixed by its inputs."""
    key = ":".join(str(part) for part in (seed, *parts)).encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") / 2.0 ** 64


class FaultInjector:
    def __init__(self, rules: list[FaultRule], seed: int) -> None:
        self._rules = list(rules)
        # Per rule, each host's build count when the rule was added: a rule added at run
        # time counts its `first` N builds from then on (a scenario's rules from zero).
        self._counted_from: list[dict[str, int]] = [{} for _ in self._rules]
        self._on_fire: list[Callable[[], None] | None] = [None for _ in self._rules]
        self._seed = seed
        self._builds_seen: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def add_rule(self, rule: FaultRule, on_fire: Callable[[], None] | None = None) -> None:
        """Add a rule at run time (a test's fault): it applies to builds that start after it,
        its `first` N counted from now on each host. `on_fire`, if given, is called each time
        the rule fires, in the compute's thread, before the spawn's outcome is written: a test
        does something "meanwhile" (takes an alternate's last slot) at an exact moment."""
        with self._lock:
            self._rules = [*self._rules, rule]
            self._counted_from = [*self._counted_from, dict(self._builds_seen)]
            self._on_fire = [*self._on_fire, on_fire]

    def decide(self, host: str, instance_name: str, attempt: int) -> SpawnDecision:
        with self._lock:
            self._builds_seen[host] += 1
            build_number = self._builds_seen[host]
            rules, counted_from, on_fire = self._rules, self._counted_from, self._on_fire
        matching = [(index, rule) for index, rule in enumerate(rules) if rule.matches(host)]
        # Latency applies whatever the outcome: a spawn can be slow and then fail.
        latency = next((self._latency(rule, index, host, instance_name, attempt)
                        for index, rule in matching if rule.latency_ms is not None), 0.0)
        for index, rule in matching:
            number = build_number - counted_from[index].get(host, 0)
            if rule.action is not None and self._fires(rule, index, host, instance_name,
                                                       attempt, number):
                if on_fire[index] is not None:
                    on_fire[index]()
                return SpawnDecision(rule.action, rule.reason, latency)
        return SpawnDecision("succeed", "", latency)

    def _fires(self, rule: FaultRule, index: int, host: str, instance_name: str, attempt: int,
               build_number: int) -> bool:
        if rule.first is not None and build_number > rule.first:
            return False
        if rule.probability is not None:
            draw = _unit(self._seed, "fault", index, host, instance_name, attempt)
            return draw < rule.probability
        return True

    def _latency(self, rule: FaultRule, index: int, host: str, instance_name: str,
                 attempt: int) -> float:
        value = rule.latency_ms
        if isinstance(value, tuple):
            low, high = value
            value = low + (high - low) * _unit(self._seed, "latency", index, host,
                                               instance_name, attempt)
        return float(value or 0.0) / 1000.0
