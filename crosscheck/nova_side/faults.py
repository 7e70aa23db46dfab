"""The scenario's fault rules decided as altsim's compute_sim decides them, on the stdlib only.

The Nova side cannot import compute_sim (its virtualenv has no pydantic, and no altsim), so the
rule is restated here: the first matching rule with an action fires for the first N spawns on
the host and/or with a probability drawn from (seed, rule index, host, instance, attempt); the
first matching rule with `latency_ms` sets how long the spawn takes (times the plan's time
scale, crosscheck.plan). The instance key is
altsim's uuid for the instance's name (the plan gives it), so Nova draws the same numbers as
altsim. tests/unit/test_crosscheck_faults.py holds this against compute_sim.faults.
"""

from __future__ import annotations

import fnmatch
import hashlib
import threading
from collections import defaultdict
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Decision:
    action: str            # succeed, reschedule, abort or hang
    reason: str = ""
    latency_s: float = 0.0


def _unit(seed: int, *parts: object) -> float:
    """A number in [0, 1) fixed by its inputs (the same hash and key as compute_sim's)."""
    key = ":".join(str(part) for part in (seed, *parts)).encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") / 2.0 ** 64


def _matches(rule: dict[str, Any], host: str) -> bool:
    return any(fnmatch.fnmatchcase(host, pattern) for pattern in rule["hosts"])


class Faults:
    """Decides each spawn; counts spawns per host for the `first` rules."""

    def __init__(self, rules: list[dict[str, Any]], seed: int, time_scale: float = 1.0) -> None:
        self._rules = list(rules)
        self._seed = seed
        self._time_scale = time_scale
        self._spawns: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def decide(self, host: str, instance_key: str, attempt: int) -> Decision:
        with self._lock:
            self._spawns[host] += 1
            spawn_number = self._spawns[host]
        matching = [(index, rule) for index, rule in enumerate(self._rules)
                    if _matches(rule, host)]
        latency = next((self._latency(rule, index, host, instance_key, attempt)
                        for index, rule in matching if rule.get("latency_ms") is not None), 0.0)
        for index, rule in matching:
            if rule.get("action") and self._fires(rule, index, host, instance_key, attempt,
                                                  spawn_number):
                return Decision(rule["action"], rule.get("reason", ""), latency)
        return Decision("succeed", "", latency)

    def _fires(self, rule: dict[str, Any], index: int, host: str, instance_key: str,
               attempt: int, spawn_number: int) -> bool:
        if rule.get("first") is not None and spawn_number > rule["first"]:
            return False
        if rule.get("probability") is not None:
            draw = _unit(self._seed, "fault", index, host, instance_key, attempt)
            return draw < rule["probability"]
        return True

    def _latency(self, rule: dict[str, Any], index: int, host: str, instance_key: str,
                 attempt: int) -> float:
        value = rule["latency_ms"]
        if isinstance(value, (list, tuple)):
            low, high = value
            value = low + (high - low) * _unit(self._seed, "latency", index, host,
                                               instance_key, attempt)
        return float(value or 0.0) * self._time_scale / 1000.0
