"""index.html of a run's report folder, from the jinja2 templates beside this module.

Autoescaped (fault messages and names are user text); pictures are referenced by relative path
and the CSS is inline, so a page opens offline, from any copy of its folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from altsim_lab.scenario.interesting import why


def environment() -> Environment:
    """The templates of every altsim page (base.html.j2 holds the shared CSS)."""
    return Environment(loader=PackageLoader("altsim_lab.pictures", "templates"),
                       autoescape=select_autoescape(["html", "j2"]), trim_blocks=True,
                       lstrip_blocks=True)


def write_run_index(path: Path, report: dict[str, Any], timeline: str,
                    diagrams: list[dict[str, Any]] | None = None) -> None:
    """`diagrams`: the build-path diagrams drawn, each {name, why, png, svg, anchor}."""
    diagrams = diagrams or []
    interesting = sum(1 for entry in report["instances"] if why(entry))
    html = environment().get_template("run.html.j2").render(
        report=report, timeline=timeline, diagrams=diagrams, interesting=interesting,
        drawn={d["name"]: d["anchor"] for d in diagrams})
    path.write_text(html)
