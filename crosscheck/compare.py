"""altsim's report against Nova's, field by field, per instance, per host and in the counts.

Categories compared (crosscheck.known may leave some out for a scenario, saying why):

- per instance: `status`, `host`, `cell`, `selection` (the scheduler's list, chosen host
  first), `attempts` (host, result and reason of each), `claim_failures` (the hosts whose
  claim was lost, in order), `fault` (code and message, every uuid written <uuid>),
  `allocations` (per host, per resource class);
- per instance, blind to which host: `outcomes` (the attempts' results), `allocated` (the
  resources held, whichever host) — for scenarios whose hosts tie;
- per host: `usage` (placement's), `failed_builds`; over all hosts: `total_usage`, and
  `spread` (every host's usage whichever host, in one fixed order: how evenly builds spread);
- `counts`: active, error, building, reschedules, claim_failures, leaked_allocations.

Every mismatch is named by category and key (an instance, a host or a count), with both
values, and tagged with the known difference that explains it, if one does.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from crosscheck import known

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
COUNTS = ("active", "error", "building", "reschedules", "claim_failures", "leaked_allocations")
_ATTEMPT_KEYS = ("host", "result", "reason")

Report = dict[str, Any]
Extract = Callable[[Report], dict[str, Any]]


def _per_instance(value: Callable[[dict[str, Any]], Any]) -> Extract:
    return lambda report: {entry["name"]: value(entry) for entry in report["instances"]}


def _per_host(value: Callable[[dict[str, Any]], Any]) -> Extract:
    return lambda report: {entry["name"]: value(entry) for entry in report["hosts"]}


def _attempts(entry: dict[str, Any]) -> list[dict[str, Any]]:
    return [{key: attempt[key] for key in _ATTEMPT_KEYS if attempt.get(key) is not None}
            for attempt in entry["attempts"]]


def _fault(entry: dict[str, Any]) -> dict[str, Any] | None:
    fault = entry.get("fault")
    if not fault:
        return None
    return {"code": fault.get("code"), "message": _UUID.sub("<uuid>", fault.get("message", ""))}


def _allocated(entry: dict[str, Any]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for resources in entry["allocations"].values():
        total.update(resources)
    return dict(total)


def _total_usage(report: Report) -> dict[str, Any]:
    total: Counter[str] = Counter()
    for host in report["hosts"]:
        total.update(host["usage"])
    return {"all hosts": dict(total)}


def _spread(report: Report) -> dict[str, Any]:
    usages = [dict(host["usage"]) for host in report["hosts"]]
    return {"hosts": sorted(usages, key=lambda usage: sorted(usage.items()), reverse=True)}


def _counts(report: Report) -> dict[str, Any]:
    return {name: report["summary"].get(name) for name in COUNTS}


CATEGORIES: dict[str, Extract] = {
    "status": _per_instance(lambda e: e["status"]),
    "host": _per_instance(lambda e: e["host"]),
    "cell": _per_instance(lambda e: e["cell"]),
    "selection": _per_instance(lambda e: list(e["selection"])),
    "attempts": _per_instance(_attempts),
    "outcomes": _per_instance(lambda e: [a["result"] for a in e["attempts"]]),
    "claim_failures": _per_instance(lambda e: list(e["claim_failures"])),
    "fault": _per_instance(_fault),
    "allocations": _per_instance(lambda e: {h: dict(r) for h, r in e["allocations"].items()}),
    "allocated": _per_instance(_allocated),
    "usage": _per_host(lambda e: dict(e["usage"])),
    "failed_builds": _per_host(lambda e: e["failed_builds"]),
    "total_usage": _total_usage,
    "spread": _spread,
    "counts": _counts,
}


@dataclass(frozen=True)
class Mismatch:
    category: str
    key: str
    altsim: Any
    nova: Any
    known: str | None = None        # the known difference that explains it

    def describe(self) -> str:
        tag = f" [known difference {self.known}]" if self.known else ""
        return f"{self.category} {self.key}: altsim {self.altsim!r}, Nova {self.nova!r}{tag}"


@dataclass
class Comparison:
    scenario: str
    compared: list[str]
    not_compared: dict[str, str]
    mismatches: list[Mismatch] = field(default_factory=list)
    ignored_options: dict[str, str] = field(default_factory=dict)

    @property
    def unexpected(self) -> list[Mismatch]:
        return [m for m in self.mismatches if m.known is None]

    @property
    def known_shown(self) -> list[str]:
        return sorted({m.known for m in self.mismatches if m.known})

    @property
    def stale_known(self) -> list[str]:
        """Known differences listed as always showing in this scenario that did not."""
        return [difference.key for difference in known.expected_in(self.scenario)
                if difference.deterministic and difference.key not in self.known_shown]

    @property
    def agrees(self) -> bool:
        return not self.mismatches

    def disagreeing_categories(self) -> list[str]:
        return sorted({m.category for m in self.mismatches})


def compare(scenario: str, altsim: Report, nova: Report) -> Comparison:
    skipped = known.not_compared(scenario)
    compared = [name for name in CATEGORIES if name not in skipped]
    comparison = Comparison(scenario, compared, skipped)
    for category in compared:
        extract = CATEGORIES[category]
        ours, theirs = extract(altsim), extract(nova)
        for key in sorted(set(ours) | set(theirs), key=str):
            if ours.get(key) != theirs.get(key):
                comparison.mismatches.append(Mismatch(
                    category, key, ours.get(key), theirs.get(key),
                    known.explaining(scenario, category)))
    return comparison
