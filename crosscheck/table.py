"""The cross-check's results as a Markdown table, kept in a marked section of docs/fidelity.md.

`python -m crosscheck --table` rewrites what lies between START and END (the markers stay), so
the page shows what was cross-checked, against which Nova, with what result.
"""

from __future__ import annotations

import datetime
from pathlib import Path

from crosscheck import known
from crosscheck.check import Outcome
from crosscheck.venv import REPO_ROOT, pinned_version

FIDELITY = REPO_ROOT / "docs" / "fidelity.md"
START = "<!-- crosscheck-table:start (python -m crosscheck --table writes this section) -->"
END = "<!-- crosscheck-table:end -->"


class TableError(ValueError):
    """The page has no marked section to write the table into."""


def render(outcomes: list[Outcome]) -> str:
    nova, placement = pinned_version("nova"), pinned_version("openstack-placement")
    today = datetime.date.today().isoformat()
    lines = [f"Nova {nova} and Placement {placement} (crosscheck/requirements.txt), "
             f"`python -m crosscheck --table` on {today}.", "",
             "| scenario | compared | result |", "|---|---|---|"]
    lines += [_row(outcome) for outcome in sorted(outcomes, key=lambda o: o.scenario)]
    lines += ["", _legend()]
    return "\n".join(lines)


def _row(outcome: Outcome) -> str:
    if outcome.excluded:
        return f"| `{outcome.scenario}` | nothing | not compared: {outcome.excluded} |"
    if outcome.comparison is None:
        return f"| `{outcome.scenario}` | nothing | **run failed**: {_cell(outcome.error)} |"
    comparison = outcome.comparison
    if comparison.not_compared:
        compared = (", ".join(comparison.compared) + " (not: "
                    + ", ".join(comparison.not_compared) + ")")
    else:
        compared = f"all {len(comparison.compared)} categories"
    return f"| `{outcome.scenario}` | {compared} | {_result(outcome)} |"


def _result(outcome: Outcome) -> str:
    comparison = outcome.comparison
    assert comparison is not None
    if comparison.agrees:
        return "agrees"
    parts = []
    for key in comparison.known_shown:
        categories = sorted({m.category for m in comparison.mismatches if m.known == key})
        parts.append(f"differs on {', '.join(categories)}: known difference {key}")
    unexpected = sorted({m.category for m in comparison.unexpected})
    if unexpected:
        parts.append(f"**differs on {', '.join(unexpected)}: not known**")
    for key in comparison.stale_known:
        parts.append(f"**known difference {key} no longer shows**")
    return "; ".join(parts)


def _legend() -> str:
    return "\n\n".join(f"**Known difference {difference.key}: {difference.title}.** "
                       f"{difference.explanation}" for difference in known.KNOWN_DIFFERENCES)


def _cell(text: str | None) -> str:
    return (text or "").splitlines()[0].replace("|", "\\|")[:200]


def write(outcomes: list[Outcome], page: Path = FIDELITY) -> None:
    text = page.read_text()
    if START not in text or END not in text:
        raise TableError(f"{page}: no section marked {START!r} ... {END!r}")
    before, rest = text.split(START, 1)
    _, after = rest.split(END, 1)
    page.write_text(f"{before}{START}\n{render(outcomes)}\n{END}{after}")
