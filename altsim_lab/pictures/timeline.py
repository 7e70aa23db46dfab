"""timeline.png of one run: a row per instance, a segment per build attempt from its start to its
end, coloured by its result, with the wait before the first attempt, lost claims and ERRORs
marked. Past MAX_ROWS instances every k-th one is drawn, and the picture says so."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

MAX_ROWS = 200
MAX_LABELS = 60        # more y tick labels than this would overlap: label every k-th row
MIN_WIDTH = 0.004      # of the time axis: an instant attempt still shows as a segment
COLOURS = {"active": "#2ca02c", "rescheduled": "#ff7f0e", "failed": "#d62728",
           "aborted": "#9467bd", "timed_out": "#8c564b"}
WAIT_COLOUR = "#9e9e9e"


def draw_timeline(report: dict[str, Any], path: Path) -> None:
    instances = report["instances"]
    shown, step = _sample(instances)
    end = _time_span(report)
    min_width = end * MIN_WIDTH
    fig = Figure(figsize=(12, _height(len(shown))), layout="constrained")
    ax = fig.add_subplot()
    marks = _Marks()
    for row, entry in enumerate(shown):
        marks.add(row, entry, end, min_width)
    marks.draw(ax)
    _axes(ax, shown, end)
    _legend(ax)
    ax.set_title(_title(report), fontsize=11)
    notes = [f"each segment is at least {MIN_WIDTH:.1%} of the time axis wide, so an "
             "instant attempt stays visible"]
    if step > 1:
        notes.insert(0, f"showing {len(shown)} of {len(instances)} instances: one in "
                        f"every {step}, in scenario order")
    fig.supxlabel("; ".join(notes), fontsize=8, color="#555")
    fig.savefig(path, dpi=100)


def _sample(instances: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    step = max(1, math.ceil(len(instances) / MAX_ROWS))
    return instances[::step], step


def _height(rows: int) -> float:
    per_row = 0.3 if rows <= 20 else 0.2 if rows <= 60 else 0.12
    return 2.2 + max(rows, 2) * per_row


def _time_span(report: dict[str, Any]) -> float:
    """The right end of the time axis: the last moment anything happened."""
    moments = [report["summary"].get("duration_s") or 0.0]
    for entry in report["instances"]:
        moments += [entry.get("finished_s") or 0.0]
        moments += [(a.get("start_s") or 0.0) + a["duration_s"] for a in entry["attempts"]]
    return max(max(moments), 1e-3)


@dataclass
class _Marks:
    """Everything to draw, gathered first: one matplotlib call per kind keeps a 200-row
    picture fast to draw."""

    bars: list[tuple[int, float, float, str]] = field(default_factory=list)  # row, left, width
    waits: list[tuple[int, float, float]] = field(default_factory=list)      # row, from, to
    lost: list[tuple[float, int]] = field(default_factory=list)              # at, row
    errors: list[tuple[float, int]] = field(default_factory=list)            # at, row

    def add(self, row: int, entry: dict[str, Any], end: float, min_width: float) -> None:
        attempts = [a for a in entry["attempts"] if a.get("start_s") is not None]
        first = attempts[0]["start_s"] if attempts else entry.get("finished_s") or end
        # Waits: API, scheduler and queues before the first attempt; the cell conductor and
        # queues between attempts.
        if entry.get("submitted_s") is not None:
            self.waits.append((row, entry["submitted_s"], first))
        self.waits += [(row, a["start_s"] + a["duration_s"], b["start_s"])
                       for a, b in zip(attempts, attempts[1:], strict=False)]
        self.bars += [(row, a["start_s"], max(a["duration_s"], min_width),
                       COLOURS.get(a["result"], "black")) for a in attempts]
        self.lost += [(first if at is None else at, row)
                      for at in entry.get("claim_failures_at_s", [])]
        if entry["status"] == "ERROR" and entry.get("finished_s") is not None:
            self.errors.append((entry["finished_s"], row))

    def draw(self, ax) -> None:  # type: ignore[no-untyped-def]
        waits = [w for w in self.waits if w[2] > w[1]]
        if waits:
            ax.hlines(*zip(*waits, strict=True), colors=WAIT_COLOUR, linewidth=1.2)
        if self.bars:
            rows, lefts, widths, colours = zip(*self.bars, strict=True)
            ax.barh(rows, widths, left=lefts, height=0.6, color=colours, edgecolor="none")
        for points, style in ((self.lost, {"marker": "x", "color": "black", "markersize": 6}),
                              (self.errors, {"marker": "D", "color": COLOURS["failed"],
                                             "markersize": 5})):
            if points:
                ax.plot(*zip(*points, strict=True), linestyle="none", **style)


def _axes(ax, shown: list[dict[str, Any]], end: float) -> None:  # type: ignore[no-untyped-def]
    label_every = max(1, math.ceil(len(shown) / MAX_LABELS))
    rows = range(0, len(shown), label_every)
    ax.set_yticks(list(rows), [shown[r]["name"] for r in rows],
                  fontsize=8 if len(shown) <= MAX_LABELS else 6)
    ax.set_ylim(len(shown) - 0.5, -0.5)  # first instance on top
    ax.set_xlim(0, end * 1.02)
    if end < 2:  # an embedded run is over in milliseconds: 0.0125 s reads better as 12.5
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: f"{x * 1000:g}"))
        ax.set_xlabel("milliseconds since the run started")
    else:
        ax.set_xlabel("seconds since the run started")
    ax.set_ylabel("instance")
    ax.grid(True, axis="x", alpha=0.3)


def _legend(ax) -> None:  # type: ignore[no-untyped-def]
    handles = [Patch(color=colour, label=f"attempt: {result}")
               for result, colour in COLOURS.items()]
    handles += [Line2D([], [], color=WAIT_COLOUR,
                       label="waiting: scheduling, rescheduling, queues"),
                Line2D([], [], color="black", marker="x", linestyle="none",
                       label="claim lost"),
                Line2D([], [], color=COLOURS["failed"], marker="D", linestyle="none",
                       label="instance went ERROR")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8)


def _title(report: dict[str, Any]) -> str:
    s = report["summary"]
    return (f"{report['scenario']}: build attempts per instance ({report['transport']}, "
            f"seed {report['seed']})\n{s['instances']} instances, {s['active']} ACTIVE, "
            f"{s['error']} ERROR, {s['reschedules']} reschedules, "
            f"{s['claim_failures']} lost claims")
