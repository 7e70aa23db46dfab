"""index.html of a run's report folder, from the jinja2 templates beside this module.

Autoescaped (fault messages and names are user text); pictures are referenced by relative path
and the CSS is inline, so a page opens offline, from any copy of its folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape


def environment() -> Environment:
    """The templates of every altsim page (base.html.j2 holds the shared CSS)."""
    return Environment(loader=PackageLoader("altsim_lab.pictures", "templates"),
                       autoescape=select_autoescape(["html", "j2"]), trim_blocks=True,
                       lstrip_blocks=True)


def write_run_index(path: Path, report: dict[str, Any], timeline: str) -> None:
    html = environment().get_template("run.html.j2").render(report=report, timeline=timeline)
    path.write_text(html)
