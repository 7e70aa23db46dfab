"""Run `altsim sweep` for a study and read back what it wrote, point by point.

A study calls the sweep through altsim's own command line (in this process), so the page can
print the exact command that reproduces each table, and reads the numbers from the sweep.csv it
wrote: nothing reaches a page that the sweep did not measure.

Every sweep runs in the deterministic mode (`altsim sweep --deterministic`): each run's seed is
also its schedule seed, and times are simulated, so a rerun writes the same sweep.csv byte for
byte but for its `builds_per_s` column (active instances per wall second: how fast the machine
ran the simulator, not a property of the simulated cloud), and the same tables.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from altsim_lab.cmd.altsim import main as altsim_main
from altsim_lab.sweep.rows import METRICS, read_rows
from altsim_lab.sweep.summary import PointSummary, Spread, summarize

# The one column of sweep.csv measured on the wall clock, even in a deterministic sweep.
WALL_CLOCK_COLUMNS = ("builds_per_s",)
# The counts of a run that add up over a point's runs.
COUNTS = ("instances", "active", "error", "reschedules", "claim_failures", "messages")


class StudyError(RuntimeError):
    """A sweep of the study failed: the page is not written from partial numbers."""


@dataclass(frozen=True)
class Sweep:
    """One `altsim sweep` of a study: its scenario, --set axes, repeats and output folder."""

    scenario: Path
    sets: tuple[str, ...]
    repeat: int
    out: Path

    @property
    def keys(self) -> list[str]:
        return [axis.partition("=")[0].strip() for axis in self.sets]

    def argv(self) -> list[str]:
        args = ["sweep", str(self.scenario)]
        for axis in self.sets:
            args += ["--set", axis]
        return [*args, "--repeat", str(self.repeat), "--out", str(self.out), "--deterministic"]

    def command(self, root: Path) -> str:
        """The shell line that repeats this sweep from `root` (paths below it made relative)."""
        return "altsim " + " ".join(shlex.quote(_relative(part, root)) for part in self.argv())


@dataclass(frozen=True)
class Point:
    """A point of a sweep: its values, the sweep's summary (mean, min-max per metric) and the
    counts summed over its runs (None where a run did not count them: messages over RabbitMQ)."""

    values: dict[str, Any]
    summary: PointSummary
    totals: dict[str, int | None]

    def spread(self, metric: str) -> Spread | None:
        return self.summary.metrics.get(metric)

    def pooled_rate(self, count: str) -> float | None:
        """`count` over all the point's instances, every run pooled."""
        instances, value = self.totals["instances"] or 0, self.totals[count]
        return None if value is None or not instances else value / instances

    def per_active(self, count: str) -> float | None:
        active, value = self.totals["active"] or 0, self.totals[count]
        return None if value is None or not active else value / active


def run(sweep: Sweep) -> list[Point]:
    """Run the sweep (its progress bar and table go to the terminal); its points."""
    code = altsim_main(sweep.argv())
    if code != 0:
        raise StudyError(f"`{sweep.command(Path.cwd())}` exited {code}")
    return points(read_rows(sweep.out / "sweep.csv"), sweep.keys)


def points(csv_rows: list[dict[str, str]], keys: list[str]) -> list[Point]:
    """sweep.csv's rows as Points, in the order the points first appear."""
    rows = [_numbers(row) for row in csv_rows]
    found = []
    for summary in summarize(rows, keys):
        members = [row for row in rows if all(row[k] == summary.point[k] for k in keys)]
        found.append(Point(values=summary.point, summary=summary,
                           totals={name: _total(m[name] for m in members) for name in COUNTS}))
    return found


def _numbers(row: dict[str, str]) -> dict[str, Any]:
    """A CSV row with its metrics as numbers again (empty cells as None); options stay text."""
    parsed: dict[str, Any] = dict(row)
    for name in METRICS:
        cell = row[name]
        parsed[name] = None if cell == "" else (int(cell) if cell.lstrip("-").isdigit()
                                                else float(cell))
    return parsed


def _total(values: Any) -> int | None:
    known = list(values)
    return None if any(v is None for v in known) else sum(known)


def _relative(part: str, root: Path) -> str:
    path = Path(part)
    if not path.is_absolute():
        return part
    try:
        return str(path.relative_to(root.resolve()))
    except ValueError:
        return part
