"""Writing a study's page: its Markdown template, the tables in it, the paths it links to."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

ROOT = Path(__file__).resolve().parents[1]          # the checkout: commands run from here
DOCS = ROOT / "docs" / "studies"                   # where the pages live by default


def markdown_table(headings: Sequence[str], rows: Sequence[Sequence[Any]],
                   right: Sequence[bool] | None = None) -> str:
    """A GitHub Markdown table; `right` says which columns are right-aligned (numbers)."""
    right = list(right) if right is not None else [False] * len(headings)
    lines = ["| " + " | ".join(headings) + " |",
             "|" + "|".join("---:" if r else "---" for r in right) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write_page(path: Path, template: str, **context: Any) -> None:
    # Markdown, not HTML: nothing to escape, and a missing name must fail, not print nothing.
    env = Environment(loader=PackageLoader("studies", "templates"), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(env.get_template(template).render(**context))


def link(target: Path, page: Path) -> str:
    """`target` as the page at `page` links to it: relative, with forward slashes."""
    return Path(os.path.relpath(target.resolve(), page.parent.resolve())).as_posix()


def percent(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f}%"


def number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def elapsed(started: float) -> str:
    """Time since `started` (time.monotonic()) as a page says it."""
    seconds = time.monotonic() - started
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} minutes"
