"""A sequence diagram of one instance's build path (PNG or SVG, by the file's suffix).

A lane per service and per compute host that spawned it, top to bottom in the order things
happened: arrows for requests and casts (dashed for a claim lost in placement), boxes for what
a service decided or how a spawn ended, coloured by outcome, with the time since the run
began on the left. The steps come from altsim_lab.pictures.build_path.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from altsim_lab.pictures.build_path import SERVICES, BuildPath, Step

TONES = {"plain": "#222222", "ok": "#2ca02c", "lost": "#e6550d", "fail": "#d62728",
         "hung": "#8c564b"}
LANE_GAP = 1.9     # inches between lanes
LEFT = 0.95        # inches for the time column
LINE = 0.16        # inches per line of 8-point text
HEADER = 1.25      # inches for the title and the lane heads
FONT = 8
CHAR_IN = FONT * 0.55 / 72  # the width of an average character, in inches
SUFFIXES = (".png", ".svg")


def draw_sequence(path_: BuildPath, out: Path, subtitle: str = "") -> None:
    """Write the diagram to `out` (.png or .svg); ValueError for another suffix."""
    if out.suffix.lower() not in SUFFIXES:
        raise ValueError(f"{out}: the picture must be a .png or .svg file")
    rows = [_wrapped(step, path_.lanes) for step in path_.steps]
    width = LEFT + LANE_GAP * len(path_.lanes) + 0.3
    height = HEADER + sum(_row_height(lines) for lines in rows) + 0.55
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")
    _title(ax, path_, subtitle, width)
    _lanes(ax, path_.lanes, height)
    y = HEADER
    spawning: dict[str, float] = {}  # host -> where the cast to it arrived
    for step, lines in zip(path_.steps, rows, strict=True):
        y += _row_height(lines)
        _time(ax, step, y)
        if step.source in spawning:
            _activation(ax, step, _x(path_.lanes, step.source), spawning.pop(step.source), y)
        if step.target is None:
            _note(ax, step, lines, y, path_.lanes, width)
        else:
            _message(ax, step, lines, y, path_.lanes)
            if step.target not in SERVICES:
                spawning[step.target] = y
    ax.text(0.1, height - 0.2, "arrow: a request or cast (dashed: a claim placement refused); "
            "box: what a service did; bar: a compute at work; left: time since the run began",
            fontsize=7, color="#666666", va="center")
    fig.savefig(out, dpi=100)


def _x(lanes: list[str], lane: str) -> float:
    return LEFT + LANE_GAP * (lanes.index(lane) + 0.5)


def _wrapped(step: Step, lanes: list[str]) -> list[str]:
    """The step's text in lines that fit between its arrow's ends (a note: two lanes)."""
    span = 2.4 if step.target is None else abs(lanes.index(step.target)
                                             - lanes.index(step.source))
    chars = max(24, int(LANE_GAP * span / CHAR_IN))
    return textwrap.wrap(step.text, chars, break_on_hyphens=False) or [""]


def _row_height(lines: list[str]) -> float:
    return 0.22 + LINE * len(lines)


def _title(ax, path_: BuildPath, subtitle: str, width: float) -> None:  # type: ignore[no-untyped-def]
    ax.text(width / 2, 0.25, f"{path_.name}: {path_.outcome}", fontsize=12,
            fontweight="bold", ha="center", va="center")
    if subtitle:
        ax.text(width / 2, 0.5, subtitle, fontsize=8, color="#555555", ha="center",
                va="center")


def _lanes(ax, lanes: list[str], height: float) -> None:  # type: ignore[no-untyped-def]
    for lane in lanes:
        x = _x(lanes, lane)
        ax.plot([x, x], [HEADER - 0.2, height - 0.45], color="#bbbbbb", linewidth=1,
                linestyle=(0, (4, 3)), zorder=0)
        host = lane not in SERVICES
        label = f"compute\n{lane}" if host else lane.replace(" ", "\n", 1)
        box = FancyBboxPatch((x - LANE_GAP * 0.4, HEADER - 0.62), LANE_GAP * 0.8, 0.42,
                             boxstyle="round,pad=0.02,rounding_size=0.06",
                             facecolor="#e8f0fa" if host else "#f2f2f2",
                             edgecolor="#4a6fa5" if host else "#888888", zorder=2)
        ax.add_patch(box)
        ax.text(x, HEADER - 0.41, label, ha="center", va="center", fontsize=9,
                fontweight="bold", zorder=3)


def _time(ax, step: Step, y: float) -> None:  # type: ignore[no-untyped-def]
    if step.at_s is None:
        return
    text = f"{step.at_s:.2f} s" if step.at_s >= 2 else f"{step.at_s * 1000:.1f} ms"
    ax.text(LEFT - 0.1, y - 0.08, text, ha="right", va="center", fontsize=7,
            color="#777777")


def _message(ax, step: Step, lines: list[str], y: float, lanes: list[str]) -> None:  # type: ignore[no-untyped-def]
    start, end = _x(lanes, step.source), _x(lanes, step.target or step.source)
    colour = TONES.get(step.tone, TONES["plain"])
    ax.annotate("", xy=(end, y - 0.08), xytext=(start, y - 0.08),
                arrowprops={"arrowstyle": "-|>", "color": colour, "linewidth": 1.3,
                            "linestyle": "--" if step.tone == "lost" else "-",
                            "shrinkA": 2, "shrinkB": 2}, zorder=3)
    ax.text((start + end) / 2, y - 0.13, "\n".join(lines), ha="center", va="bottom",
            fontsize=FONT, color=colour, linespacing=1.15, zorder=4,
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.5, "alpha": 0.9})


def _activation(ax, step: Step, x: float, top: float, bottom: float) -> None:  # type: ignore[no-untyped-def]
    """The compute at work, from the cast's arrival to its first answer (the step says how
    long)."""
    colour = "#4a6fa5" if step.tone == "plain" else TONES.get(step.tone, TONES["plain"])
    ax.add_patch(FancyBboxPatch((x - 0.05, top - 0.08), 0.1, bottom - top,
                                boxstyle="square,pad=0", facecolor=colour, alpha=0.3,
                                edgecolor=colour, linewidth=0.8, zorder=2))


def _note(ax, step: Step, lines: list[str], y: float, lanes: list[str],  # type: ignore[no-untyped-def]
          width: float) -> None:
    colour = TONES.get(step.tone, TONES["plain"])
    half = max(len(line) for line in lines) * CHAR_IN / 2 + 0.12
    centre = min(max(_x(lanes, step.source), LEFT + half), width - half - 0.05)
    ax.text(centre, y - 0.08 - LINE * len(lines) / 2 + 0.04, "\n".join(lines), ha="center",
            va="center", fontsize=FONT, color=colour, linespacing=1.15, zorder=4,
            bbox={"boxstyle": "round,pad=0.35", "facecolor": "white", "edgecolor": colour,
                  "linewidth": 1.2})
