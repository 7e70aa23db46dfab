"""Which instances of a run deserve a look, and in which order: the terminal's instance table,
the timeline's sampling and the report folder's build-path diagrams all put them first.

An instance is interesting when something on its build path went otherwise than planned: it
ended in ERROR (timed out or not), is still building, was rescheduled, or lost a claim.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Most telling first: an ERROR is what a reader came for, a lost claim alone ended well.
_REASONS = ("ERROR", "BUILD", "timed out", "rescheduled", "lost claims")


def why(entry: dict[str, Any]) -> list[str]:
    """What makes an instance (a report entry) interesting, most telling first; [] if
    nothing."""
    found = {
        "ERROR": entry["status"] == "ERROR",
        "BUILD": entry["status"] == "BUILD",
        "timed out": bool(entry.get("timed_out")),
        "rescheduled": any(a["result"] == "rescheduled" for a in entry["attempts"]),
        "lost claims": bool(entry.get("claim_failures")),
    }
    return [reason for reason in _REASONS if found[reason]]


def rank(entry: dict[str, Any]) -> int:
    """0 for an ERROR, ... len(_REASONS) for an instance with nothing to tell."""
    reasons = why(entry)
    return _REASONS.index(reasons[0]) if reasons else len(_REASONS)


def must_keep(entry: dict[str, Any]) -> bool:
    """An instance no sample of the run may leave out: ERROR (a timed-out one too), still
    building, or rescheduled."""
    return rank(entry) <= _REASONS.index("rescheduled")


def interesting_first(instances: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The interesting instances, most telling first, then the rest; scenario order within
    each rank (sorted() is stable)."""
    return sorted(instances, key=rank)


def count_interesting(instances: Sequence[dict[str, Any]]) -> int:
    return sum(1 for entry in instances if why(entry))
