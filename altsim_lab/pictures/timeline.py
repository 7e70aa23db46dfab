"""timeline.png of one run: a row per instance, a segment per build attempt from its start to its
end, coloured by its result and labelled with its host, with the wait before the first attempt,
lost claims (labelled with the host lost) and ERRORs marked. A spawn the compute never answered
(the build-timeout sweep ended it) is hatched. Past MAX_ROWS instances every rescheduled, ERROR
or unfinished one is kept and the others sampled (altsim_lab.pictures.sampling), and the
picture says so."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from altsim_lab.pictures.sampling import sample_rows

MAX_ROWS = 200
MAX_LABELS = 60        # more y tick labels than this would overlap: label every k-th row
MIN_WIDTH = 0.004      # of the time axis: an instant attempt still shows as a segment
COLOURS = {"active": "#2ca02c", "rescheduled": "#ff7f0e", "failed": "#d62728",
           "aborted": "#9467bd", "timed_out": "#8c564b"}
WAIT_COLOUR = "#9e9e9e"
LOST_COLOUR = "#e6550d"
HUNG_HATCH = "//"
HUNG_LINES = "#c9a99a"
LABEL_FONT = 7
CHAR_IN = LABEL_FONT * 0.6 / 72   # a label character's width, in inches (with some room)


def draw_timeline(report: dict[str, Any], path: Path) -> None:
    instances = report["instances"]
    sample = sample_rows(instances, MAX_ROWS)
    shown = sample.shown
    end = _time_span(report)
    min_width = end * MIN_WIDTH
    fig = Figure(figsize=(12, _height(len(shown))), layout="constrained")
    ax = fig.add_subplot()
    marks = _Marks()
    for row, entry in enumerate(shown):
        marks.add(row, entry, end, min_width)
    marks.draw(ax)
    _axes(ax, shown, end, room=0.1 if len(shown) <= MAX_LABELS else 0.02)
    _legend(ax)
    ax.set_title(_title(report), fontsize=11)
    notes = [f"each segment is at least {MIN_WIDTH:.1%} of the time axis wide, so an "
             "instant attempt stays visible"]
    if sample.note:
        notes.insert(0, sample.note)
    fig.supxlabel("\n".join(notes), fontsize=8, color="#555")
    # Labels go where they fit, which depends on the axes' final width in inches.
    fig.draw_without_rendering()
    span = ax.get_xlim()[1] - ax.get_xlim()[0]
    marks.label(ax, len(shown), span / ax.get_window_extent().width * fig.dpi)
    fig.savefig(path, dpi=100)


def _height(rows: int) -> float:
    per_row = 0.42 if rows <= 20 else 0.24 if rows <= 60 else 0.12
    return 2.6 + max(rows, 2) * per_row


def _time_span(report: dict[str, Any]) -> float:
    """The right end of the time axis: the last moment anything happened."""
    moments = [report["summary"].get("duration_s") or 0.0]
    for entry in report["instances"]:
        moments += [entry.get("finished_s") or 0.0]
        moments += [(a.get("start_s") or 0.0) + a["duration_s"] for a in entry["attempts"]]
    return max(max(moments), 1e-3)


@dataclass
class _Bar:
    row: int
    left: float
    width: float
    result: str
    host: str
    hung: bool          # the compute never answered: the build-timeout sweep recorded it
    next_left: float    # where the row's next segment starts (the axis end for the last)


@dataclass
class _Marks:
    """Everything to draw, gathered first: one matplotlib call per kind keeps a 200-row
    picture fast to draw."""

    bars: list[_Bar] = field(default_factory=list)
    waits: list[tuple[int, float, float]] = field(default_factory=list)      # row, from, to
    lost: list[tuple[float, int, str]] = field(default_factory=list)         # at, row, host
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
        starts = [a["start_s"] for a in attempts[1:]] + [end * 1.1] * bool(attempts)
        self.bars += [_Bar(row, a["start_s"], max(a["duration_s"], min_width), a["result"],
                           a["host"] or "?", a.get("recorded_by") == "build_timeout", after)
                      for a, after in zip(attempts, starts, strict=True)]
        self.lost += [(first if at is None else at, row, host) for at, host in
                      zip(entry.get("claim_failures_at_s", []), entry["claim_failures"],
                          strict=False)]
        if entry["status"] == "ERROR" and entry.get("finished_s") is not None:
            self.errors.append((entry["finished_s"], row))

    def draw(self, ax) -> None:  # type: ignore[no-untyped-def]
        waits = [w for w in self.waits if w[2] > w[1]]
        if waits:
            ax.hlines(*zip(*waits, strict=True), colors=WAIT_COLOUR, linewidth=1.2)
        if self.bars:
            ax.barh([b.row for b in self.bars], [b.width for b in self.bars],
                    left=[b.left for b in self.bars], height=0.5,
                    color=[COLOURS.get(b.result, "black") for b in self.bars],
                    edgecolor="none")
        hung = [b for b in self.bars if b.hung]
        if hung:  # hatched over the timed_out colour: nobody answered
            ax.barh([b.row for b in hung], [b.width for b in hung],
                    left=[b.left for b in hung], height=0.5, color="none",
                    edgecolor=HUNG_LINES, hatch=HUNG_HATCH, linewidth=0)
        if self.lost:  # above the row's segments, so a mark never hides an attempt
            at, rows, _hosts = zip(*self.lost, strict=True)
            ax.plot(at, [r - 0.4 for r in rows], linestyle="none", marker="x",
                    color=LOST_COLOUR, markersize=6, markeredgewidth=1.6)
        if self.errors:
            ax.plot(*zip(*self.errors, strict=True), linestyle="none", marker="D",
                    color=COLOURS["failed"], markersize=5)

    def label(self, ax, rows: int, per_inch: float) -> None:  # type: ignore[no-untyped-def]
        """Each segment's host: inside it when it fits, else just after it when the row
        has room before its next segment (and the picture has room between rows); each lost
        claim's host beside its mark."""
        roomy = rows <= MAX_LABELS
        for bar in self.bars:
            text = bar.host + (": no answer" if bar.hung else "")
            need = len(text) * CHAR_IN * per_inch
            if need < bar.width:
                ax.text(bar.left + bar.width / 2, bar.row, text, ha="center", va="center",
                        fontsize=LABEL_FONT, color="white", fontweight="bold",
                        bbox={"facecolor": COLOURS.get(bar.result, "black"), "pad": 1,
                              "edgecolor": "none"})
            elif roomy and need < bar.next_left - (bar.left + bar.width):
                ax.text(bar.left + bar.width + 0.3 * CHAR_IN * per_inch, bar.row, bar.host,
                        ha="left", va="center", fontsize=LABEL_FONT, color="#333333",
                        bbox={"facecolor": "white", "pad": 0.5, "edgecolor": "none"})
        if roomy:
            for at, row, hosts in _grouped(self.lost, 8 * CHAR_IN * per_inch):
                text, pad = f"lost {', '.join(hosts)}", 0.8 * CHAR_IN * per_inch
                # Left of the mark when the label would run off the axes.
                fits = at + pad + len(text) * CHAR_IN * per_inch < ax.get_xlim()[1]
                ax.text(at + pad if fits else at - pad, row - 0.4, text,
                        ha="left" if fits else "right", va="center", fontsize=LABEL_FONT,
                        color=LOST_COLOUR)


def _grouped(lost: list[tuple[float, int, str]],
             near: float) -> list[tuple[float, int, list[str]]]:
    """Lost claims of a row closer than `near` to the previous one share its label (a
    conductor losing two claims in a row loses them within microseconds)."""
    groups: list[tuple[float, int, list[str]]] = []
    for at, row, host in sorted(lost, key=lambda mark: (mark[1], mark[0])):
        if groups and groups[-1][1] == row and at - groups[-1][0] < near:
            groups[-1][2].append(host)
        else:
            groups.append((at, row, [host]))
    return groups


def _axes(ax, shown: list[dict[str, Any]], end: float,  # type: ignore[no-untyped-def]
          room: float) -> None:
    """`room`: the share of the time axis past the end, for the last segments' labels."""
    label_every = max(1, -(-len(shown) // MAX_LABELS))
    rows = range(0, len(shown), label_every)
    ax.set_yticks(list(rows), [shown[r]["name"] for r in rows],
                  fontsize=8 if len(shown) <= MAX_LABELS else 6)
    ax.set_ylim(len(shown) - 0.4, -0.8)  # first instance on top, room for its lost claims
    ax.set_xlim(0, end * (1 + room))
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
    handles += [Patch(facecolor=COLOURS["timed_out"], edgecolor="white", hatch=HUNG_HATCH,
                      label="attempt: no answer, ended by\nthe build-timeout sweep"),
                Line2D([], [], color=WAIT_COLOUR,
                       label="waiting: scheduling, rescheduling, queues"),
                Line2D([], [], color=LOST_COLOUR, marker="x", linestyle="none",
                       markeredgewidth=1.6, label="claim lost on the host named"),
                Line2D([], [], color=COLOURS["failed"], marker="D", linestyle="none",
                       label="instance went ERROR")]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8,
              title="a segment is an attempt,\nlabelled with its host", title_fontsize=8,
              alignment="left")


def _title(report: dict[str, Any]) -> str:
    s = report["summary"]
    return (f"{report['scenario']}: build attempts per instance ({report['transport']}, "
            f"seed {report['seed']})\n{s['instances']} instances, {s['active']} ACTIVE, "
            f"{s['error']} ERROR, {s['reschedules']} reschedules, "
            f"{s['claim_failures']} lost claims")
