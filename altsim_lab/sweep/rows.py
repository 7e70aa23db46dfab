"""sweep.csv: one row per run, the swept options first, then the seed and the run's numbers.

A row is built from the run's report summary only (altsim_lab.scenario.report), so the CSV says
exactly what each run's `altsim run --report` would have said.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from altsim_lab.sweep.grid import value_text

# The run's numbers, in CSV order; error_rate is the only one not read straight from the summary.
METRICS = ("instances", "active", "error", "reschedules", "claim_failures", "error_rate",
           "time_to_active_p50_s", "time_to_active_p95_s", "builds_per_s", "messages")


def run_row(point: dict[str, Any], seed: int, summary: dict[str, Any]) -> dict[str, Any]:
    """The CSV row of one run: its point, seed and summary numbers (None when unknown)."""
    row: dict[str, Any] = {**point, "seed": seed}
    for name in METRICS:
        row[name] = summary.get(name)
    instances = summary.get("instances") or 0
    row["error_rate"] = round(summary["error"] / instances, 6) if instances else None
    return row


def columns(keys: Iterable[str]) -> list[str]:
    return [*keys, "seed", *METRICS]


class CsvWriter:
    """Writes rows as they come, so an interrupted sweep keeps the runs it finished."""

    def __init__(self, stream: TextIO, keys: Iterable[str]) -> None:
        self._stream = stream
        self._writer = csv.DictWriter(stream, fieldnames=columns(keys))
        self._writer.writeheader()

    def write(self, row: dict[str, Any]) -> None:
        self._writer.writerow({key: _cell(value) for key, value in row.items()})
        self._stream.flush()


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as stream:
        return list(csv.DictReader(stream))


def _cell(value: Any) -> str:
    return "" if value is None else value_text(value)
