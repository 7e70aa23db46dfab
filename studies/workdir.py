"""The scenario a study runs: its file in docs/studies/<slug>/, or, when the run asks for
another instance count (--quick) or other seeds (a follow-up on fresh seeds), a copy in the
study's output folder that says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


def scenario_with_count(source: Path, folder: Path, count: int) -> Path:
    """`source` itself when every request entry already asks for `count` servers; else a copy
    with each entry's count set, written into `folder`."""
    data = yaml.safe_load(source.read_text())
    if all(request.get("count", 1) == count for request in data["requests"]):
        return source
    for request in data["requests"]:
        request["count"] = count
    return _write_copy(source, folder, data, f"count {count} per request entry", f"count-{count}")


def scenario_with_seed(source: Path, folder: Path, seed: int) -> Path:
    """A copy of `source` whose runs start at `seed`, written into `folder`."""
    data = yaml.safe_load(source.read_text())
    data["seed"] = seed
    return _write_copy(source, folder, data, f"seed {seed}", f"seed-{seed}")


def _write_copy(source: Path, folder: Path, data: dict[str, Any], change: str,
                suffix: str) -> Path:
    """`data` written as `scenario-<suffix>.yaml` in `folder`, its description saying which
    file it copies and what changed."""
    data["description"] = (f"{data.get('description', '').strip()} (A copy of {source.name} "
                           f"with {change}.)")
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / f"scenario-{suffix}.yaml"
    copy.write_text(yaml.safe_dump(data, sort_keys=False))
    return copy
