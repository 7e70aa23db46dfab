"""index.html of a sweep's folder: the table per point, links to sweep.csv and the plots
(templates/sweep.html.j2 of altsim_lab.pictures, offline like every altsim page)."""

from __future__ import annotations

from pathlib import Path

from altsim_lab.pictures.html import environment
from altsim_lab.sweep.grid import Axis, value_text
from altsim_lab.sweep.summary import HEADINGS, SUMMARY_METRICS, PointSummary, format_spread


def write_sweep_index(path: Path, scenario: str, axes: list[Axis], repeat: int,
                      summaries: list[PointSummary], pictures: list[str]) -> None:
    env = environment()
    env.filters["value_text"] = value_text
    html = env.get_template("sweep.html.j2").render(
        scenario=scenario, axes=axes, repeat=repeat, summaries=summaries, pictures=pictures,
        metrics=SUMMARY_METRICS, headings=HEADINGS, format_spread=format_spread)
    path.write_text(html)
