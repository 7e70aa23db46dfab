"""The sweep's PNGs: error rate, reschedules and lost claims per instance and time to ACTIVE
against each swept option, the mean over a point's runs with min-max bars, one line per value of
the other swept options. Drawn with matplotlib's object API on the Agg canvas: no display, no
pyplot state."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

from altsim_lab.sweep.grid import Axis, value_text
from altsim_lab.sweep.summary import PointSummary, Spread


@dataclass(frozen=True)
class Chart:
    """One picture: which summary metrics it draws (one line style each), how to show them."""

    name: str
    title: str
    ylabel: str
    metrics: tuple[tuple[str, str], ...]   # (metric, legend suffix)
    scale: float = 1.0
    missing: str = "no run finished"       # written where a point has no value


CHARTS = (
    Chart("error_rate", "Error rate", "instances in ERROR (%)", (("error_rate", ""),), 100.0),
    Chart("reschedules_per_instance", "Reschedules per instance",
          "reschedules per instance (count)", (("reschedules_per_instance", ""),)),
    Chart("claim_failures_per_instance", "Lost claims per instance",
          "claims lost per instance (count)", (("claim_failures_per_instance", ""),)),
    Chart("time_to_active", "Time to ACTIVE", "time from request to ACTIVE (ms)",
          (("time_to_active_p50_s", "p50"), ("time_to_active_p95_s", "p95")), 1000.0,
          missing="no instance\nwent ACTIVE"),
)
_LINES = ("-", "--", ":")                  # one per metric of a chart (p50, p95)
_MARKERS = ("o", "s", "^", "D", "v", "P")  # one per line of values of the other options


def draw_sweep(out_dir: Path, scenario: str, axes: list[Axis],
               summaries: list[PointSummary]) -> list[Path]:
    """Write <chart>-vs-<option>.png for every chart and swept option; returns the paths."""
    paths = []
    for axis in axes:
        for chart in CHARTS:
            path = out_dir / f"{chart.name}-vs-{axis.key}.png"
            _draw(path, scenario, axis, [a for a in axes if a is not axis], chart, summaries)
            paths.append(path)
    return paths


def _draw(path: Path, scenario: str, axis: Axis, others: list[Axis], chart: Chart,
          summaries: list[PointSummary]) -> None:
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.add_subplot()
    positions, numeric = _positions(axis)
    combos = [dict(zip([o.key for o in others], combo, strict=True))
              for combo in itertools.product(*(o.values for o in others))]
    runs = max((s.runs for s in summaries), default=0)
    span = (max(positions) - min(positions)) or 1.0
    drawn: set[float] = set()
    for index, combo in enumerate(combos):
        color = f"C{index % 10}"
        # Lines that coincide (0% errors at several values) are nudged apart to stay visible.
        dodge = (index - (len(combos) - 1) / 2) * 0.012 * span
        for number, (metric, suffix) in enumerate(chart.metrics):
            spreads = [_spread(summaries, {**combo, axis.key: value}, metric)
                       for value in axis.values]
            label = ", ".join(filter(None, [suffix, *map(value_text, combo.values())]))
            style = {"color": color, "linestyle": _LINES[number % len(_LINES)],
                     "marker": _MARKERS[index % len(_MARKERS)],
                     "markerfacecolor": color if number == 0 else "white"}
            _line(ax, [x + dodge for x in positions], spreads, chart.scale, style,
                  label or None)
            drawn.update(x for x, s in zip(positions, spreads, strict=True) if s is not None)
    ax.set_xticks(positions, [value_text(v) for v in axis.values])
    margin = 0.08 * span if numeric else 0.5
    ax.set_xlim(min(positions) - margin, max(positions) + margin)
    ax.set_xlabel(axis.key)
    ax.set_ylabel(chart.ylabel)
    top = max(ax.get_ylim()[1], 1e-9)
    ax.set_ylim(-0.03 * top, top)  # a little below 0, so values of 0 are not cut in half
    ax.grid(True, alpha=0.3)
    for x in positions:
        if x not in drawn:  # say why the line has a gap rather than leave it unexplained
            ax.annotate(chart.missing, (x, 0), xytext=(0, 12), textcoords="offset points",
                        ha="center", fontsize=8, color="#555")
    ax.set_title(f"{chart.title} vs {axis.key}\n{scenario}: mean of {runs} run(s) per point, "
                 "bars from min to max", fontsize=11)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, title=", ".join(o.key for o in others) or None,
                  title_fontsize=8)
    fig.savefig(path, dpi=100)


def _positions(axis: Axis) -> tuple[list[float], bool]:
    """Numbers are placed at their value; anything else (booleans too) in the given order."""
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in axis.values)
    if numeric:
        return [float(v) for v in axis.values], True
    return [float(i) for i in range(len(axis.values))], False


def _spread(summaries: list[PointSummary], point: dict, metric: str) -> Spread | None:
    for summary in summaries:
        if summary.point == point:
            return summary.metrics.get(metric)
    return None


def _line(ax, xs: list[float], spreads: list[Spread | None], scale: float,  # type: ignore[no-untyped-def]
          style: dict[str, str], label: str | None) -> None:
    known = [(x, s) for x, s in zip(xs, spreads, strict=True) if s is not None]
    if not known:
        return
    x = [k[0] for k in known]
    mean = [k[1].mean * scale for k in known]
    below = [(k[1].mean - k[1].low) * scale for k in known]
    above = [(k[1].high - k[1].mean) * scale for k in known]
    ax.errorbar(x, mean, yerr=[below, above], capsize=4, label=label, **style)
