"""Per point of a sweep: the mean of each number over the point's runs, with its min and max."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass
from typing import Any

# What the table and the plots show per point; the per-instance counts and
# messages_per_active (RPC messages per instance that went ACTIVE) are derived per run.
SUMMARY_METRICS = ("error_rate", "reschedules_per_instance", "claim_failures_per_instance",
                   "time_to_active_p50_s", "time_to_active_p95_s", "builds_per_s", "messages",
                   "messages_per_active")


@dataclass(frozen=True)
class Spread:
    """Mean, min and max of one number over a point's runs (the runs where it is known)."""

    mean: float
    low: float
    high: float
    count: int

    @classmethod
    def of(cls, values: list[float | None]) -> Spread | None:
        known = [float(v) for v in values if v is not None]
        if not known:
            return None
        return cls(statistics.fmean(known), min(known), max(known), len(known))


@dataclass(frozen=True)
class PointSummary:
    point: dict[str, Any]
    runs: int
    metrics: dict[str, Spread | None]


def per_run(row: dict[str, Any]) -> dict[str, float | None]:
    """The summary numbers of one CSV row (as written by rows.run_row)."""
    instances = row.get("instances") or 0
    values = {name: row.get(name) for name in SUMMARY_METRICS}
    values["reschedules_per_instance"] = row["reschedules"] / instances if instances else None
    values["claim_failures_per_instance"] = (row["claim_failures"] / instances if instances
                                             else None)
    messages, active = row.get("messages"), row.get("active")
    values["messages_per_active"] = messages / active if messages is not None and active else None
    return values


def summarize(rows: list[dict[str, Any]], keys: list[str]) -> list[PointSummary]:
    """One summary per point, in the order the points first appear in `rows`."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(json.dumps([row[k] for k in keys], sort_keys=True), []).append(row)
    summaries = []
    for members in groups.values():
        numbers = [per_run(row) for row in members]
        summaries.append(PointSummary(
            point={key: members[0][key] for key in keys}, runs=len(members),
            metrics={name: Spread.of([n[name] for n in numbers]) for name in SUMMARY_METRICS}))
    return summaries


def shown(name: str, spread: Spread | None) -> tuple[str, str]:
    """(mean, "min-max") in the metric's display unit (UNITS); the range is "" when the runs
    agree, and the mean "-" when no run had a value."""
    if spread is None:
        return "-", ""
    scale = _SCALE.get(name, 1.0)
    mean, low, high = (_number(v * scale) for v in (spread.mean, spread.low, spread.high))
    return mean, "" if low == high else f"{low}-{high}"


def _number(value: float) -> str:
    """Two or three significant digits: enough to compare points, short enough for a table."""
    if value == int(value):
        return str(int(value))
    if abs(value) >= 10:
        return f"{value:.0f}"
    return f"{value:.1f}" if abs(value) >= 1 else f"{value:.2f}"


def format_spread(name: str, spread: Spread | None) -> str:
    """`mean unit (min-max)` on one line, for pages."""
    mean, span = shown(name, spread)
    unit = "" if mean == "-" or not UNITS[name] else (
        UNITS[name] if UNITS[name] == "%" else f" {UNITS[name]}")
    return mean + unit + (f" ({span})" if span else "")


# From the summary's unit to the display unit (UNITS)
_SCALE = {"error_rate": 100.0, "time_to_active_p50_s": 1000.0, "time_to_active_p95_s": 1000.0}
UNITS = {"error_rate": "%", "reschedules_per_instance": "", "claim_failures_per_instance": "",
         "time_to_active_p50_s": "ms",
         "time_to_active_p95_s": "ms", "builds_per_s": "", "messages": "",
         "messages_per_active": ""}
HEADINGS = {"error_rate": "error rate", "reschedules_per_instance": "reschedules / instance",
            "claim_failures_per_instance": "lost claims / instance",
            "time_to_active_p50_s": "to ACTIVE p50", "time_to_active_p95_s": "to ACTIVE p95",
            "builds_per_s": "builds/s", "messages": "RPC messages",
            "messages_per_active": "RPC messages per ACTIVE"}
