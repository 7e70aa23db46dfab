"""The allocation candidates a placement client answers, as one frozen value read by field.

`AllocationCandidates` holds placement's candidates (the allocation request of each provider,
which the scheduler claims, and the provider summaries, both in provider-name order) and,
where placement numbers its changes (altsim's does, a real Placement does not), the answer's
token and the `Journal` of the deltas the client applied since its last full answer for the
same request: a reader that saw an earlier answer of the same journal may look at the
providers changed since alone (scheduler.host_table). Without a token there is no journal,
and a reader looks at every summary.

Read as a mapping it is the GET /allocation_candidates body (`allocation_requests`,
`provider_summaries`), and it equals any body with the same candidates whatever its token: a
client's answer kept current from deltas equals placement's full one.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from placement_sim.candidates_delta import CandidatesToken

_BODY_KEYS = ("allocation_requests", "provider_summaries")


@dataclass(frozen=True, slots=True, eq=False)
class AllocationCandidates(Mapping[str, Any]):
    """One request's candidates. Never changed once made (threads may share it); the dicts
    it holds are placement's shared objects, read-only to every reader."""

    requests_by_provider: dict[str, dict[str, Any]]   # provider -> its allocation request
    provider_summaries: dict[str, dict[str, Any]]     # provider -> its summary
    token: CandidatesToken | None = None              # None: a placement without deltas
    journal: Journal | None = None                    # None without a token
    allocation_requests: list[dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        # One list per answer, as placement's body has it (frozen: set through object).
        object.__setattr__(self, "allocation_requests", list(self.requests_by_provider.values()))

    @classmethod
    def full(cls, allocation_requests: Sequence[dict[str, Any]],
             provider_summaries: Mapping[str, dict[str, Any]],
             token: CandidatesToken | None = None) -> AllocationCandidates:
        """A full answer: each provider's request is the first that allocates from it, and
        a token starts a journal."""
        requests: dict[str, dict[str, Any]] = {}
        for request in allocation_requests:
            for provider in request["allocations"]:
                requests.setdefault(provider, request)
        return cls(requests, dict(provider_summaries), token,
                   Journal(token.number) if token is not None else None)

    # The placement body, read as a mapping.
    def __getitem__(self, key: str) -> Any:
        if key == "allocation_requests":
            return self.allocation_requests
        if key == "provider_summaries":
            return self.provider_summaries
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(_BODY_KEYS)

    def __len__(self) -> int:
        return len(_BODY_KEYS)


# Deltas a journal remembers: a reader further behind looks at every provider once more.
JOURNAL_LENGTH = 256


class Journal:
    """The deltas applied to one request's candidates since its last full answer (whose
    change number is `start`), in order: their change numbers, and the providers each
    changed or removed. Appended under the client's lock; read without it. Between
    JOURNAL_LENGTH and twice that are kept."""

    def __init__(self, start: int) -> None:
        self.start = start
        self.numbers: list[int] = []   # each entry's change number, ascending
        self.entries: list[tuple[tuple[str, ...], tuple[str, ...]]] = []

    def record(self, number: int, changed: tuple[str, ...], removed: tuple[str, ...]) -> None:
        # Entries first, numbers last: a reader that sees a number finds its entry.
        self.entries.append((changed, removed))
        self.numbers.append(number)
        if len(self.numbers) > 2 * JOURNAL_LENGTH:
            # New lists rather than deleting in place: readers may hold the old ones.
            self.start = self.numbers[JOURNAL_LENGTH - 1]
            self.entries = self.entries[JOURNAL_LENGTH:]
            self.numbers = self.numbers[JOURNAL_LENGTH:]

    def between(self, after: int, upto: int) -> tuple[set[str], set[str]] | None:
        """(changed, removed) providers over the deltas after change `after` up to `upto`,
        or None when the journal does not reach back to `after`. A provider removed and then
        changed again cannot happen (a delta never adds one), so the sets are disjoint."""
        start, numbers, entries = self.start, self.numbers, self.entries
        if after < start:
            return None
        first = bisect.bisect_right(numbers, after)
        if after != start and (first == 0 or numbers[first - 1] != after):
            return None  # `after` is not a change this journal recorded
        last = bisect.bisect_right(numbers, upto)
        changed: set[str] = set()
        removed: set[str] = set()
        for now_changed, now_removed in entries[first:last]:
            changed.update(now_changed)
            removed.update(now_removed)
        return changed - removed, removed
