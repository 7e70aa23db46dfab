"""`altsim run --report-dir DIR`: the run's report.json, timeline.png and index.html together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from altsim_lab.pictures.html import write_run_index
from altsim_lab.pictures.timeline import draw_timeline
from altsim_lab.scenario.report import report_json

TIMELINE = "timeline.png"


def write_report_dir(directory: Path, report: dict[str, Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_text(report_json(report))
    draw_timeline(report, directory / TIMELINE)
    write_run_index(directory / "index.html", report, TIMELINE)
