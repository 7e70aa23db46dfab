"""`altsim run --report-dir DIR`: the run's report.json, timeline.png, a build-path diagram per
interesting instance (the first MAX_DIAGRAMS, most telling first) and index.html together."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from altsim_lab.pictures.build_path import build_path
from altsim_lab.pictures.html import write_run_index
from altsim_lab.pictures.sequence import draw_sequence
from altsim_lab.pictures.timeline import draw_timeline
from altsim_lab.scenario.interesting import interesting_first, why
from altsim_lab.scenario.report import report_json

TIMELINE = "timeline.png"
DIAGRAMS = "build-paths"
MAX_DIAGRAMS = 8  # each takes a few tenths of a second; show-run draws any other


def write_report_dir(directory: Path, report: dict[str, Any]) -> int:
    """Writes everything; returns how many build-path diagrams it drew."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "report.json").write_text(report_json(report))
    draw_timeline(report, directory / TIMELINE)
    diagrams = draw_diagrams(directory, report)
    write_run_index(directory / "index.html", report, TIMELINE, diagrams)
    return len(diagrams)


def draw_diagrams(directory: Path, report: dict[str, Any]) -> list[dict[str, Any]]:
    """A PNG (for the page) and an SVG of each of the first interesting instances; what the
    page needs to show them."""
    chosen = [e for e in interesting_first(report["instances"]) if why(e)][:MAX_DIAGRAMS]
    if chosen:
        (directory / DIAGRAMS).mkdir(parents=True, exist_ok=True)
    drawn: list[dict[str, Any]] = []
    subtitle = f"{report['scenario']} ({report['transport']}, seed {report['seed']})"
    for entry in chosen:
        stem = f"{DIAGRAMS}/{file_name(entry['name'])}"
        if any(d["png"] == f"{stem}.png" for d in drawn):  # two names, one file name
            stem += f"-{len(drawn) + 1}"
        path_ = build_path(report, entry["name"])
        for suffix in (".png", ".svg"):
            draw_sequence(path_, directory / f"{stem}{suffix}", subtitle)
        drawn.append({"name": entry["name"], "why": ", ".join(why(entry)),
                      "png": f"{stem}.png", "svg": f"{stem}.svg",
                      "anchor": stem.replace("/", "-")})
    return drawn


def file_name(instance: str) -> str:
    """An instance name as a file name (names are the scenario's, so anything may be in
    them)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", instance).lstrip(".") or "instance"
