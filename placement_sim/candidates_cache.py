"""The placement client's last allocation candidates per request, kept current from deltas.

A scheduler asks for the candidates of the same few flavors request after request, and between
two requests only the providers claimed on changed. Where placement offers it (altsim's does:
PlacementStore.candidates_since, over HTTP the `altsim_since` parameter) the client asks only
for what changed since its last answer and applies it to what it has; the result is what a full
answer would have been. It stays the same objects for unchanged providers, which lets the
scheduler's HostTable skip them at the cost of an identity check. Against a placement without
deltas (a real one) every answer is in full, as before.

Answers come in provider-name order; a delta that makes a provider a candidate again (it had
room again, or it is new) cannot be put in its place, so the client then asks for a full one.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Mapping
from typing import Any

from placement_sim.store import CandidatesAnswer

Fetch = Callable[[Mapping[str, int], "int | None", "str | None"], CandidatesAnswer]


class Candidates(dict):
    """A candidates body, as placement answers it, with what the client knows besides: the
    allocation requests by provider (which the scheduler looks them up by), the answer's
    token, and the journal of the deltas applied since the last full answer for this
    request, so a reader that saw an earlier body of the same journal can look at the
    providers that changed since alone."""

    requests_by_provider: dict[str, dict[str, Any]]
    token: str | None
    journal: Journal


class Journal:
    """The deltas applied to one request's candidates since its last full answer, in order:
    their change numbers, and the providers each changed or removed. Appended under the
    cache's lock; read without it. Between JOURNAL_LENGTH and twice that are kept."""

    def __init__(self, start: int | None) -> None:
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
        if start is None or after < start:
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


# Deltas a journal remembers: a reader further behind looks at every provider once more.
JOURNAL_LENGTH = 256


class _Known:
    """One request's candidates as of the change `token` names (never changed in place:
    threads may still be reading an older one)."""

    def __init__(self, token: str | None, requests: dict[str, dict[str, Any]],
                 summaries: dict[str, dict[str, Any]], journal: Journal) -> None:
        self.token = token
        self.requests = requests        # provider -> its allocation request
        self.summaries = summaries      # provider -> its summary
        self.journal = journal
        body = Candidates(allocation_requests=list(requests.values()),
                          provider_summaries=summaries)
        body.requests_by_provider, body.token, body.journal = requests, token, journal
        self.body = body


class CandidatesCache:
    def __init__(self) -> None:
        self._known: dict[tuple, _Known] = {}
        self._lock = threading.Lock()

    def get(self, resources: Mapping[str, int], limit: int | None,
            fetch: Fetch) -> Candidates:
        """The candidates for `resources`, fetched with `fetch(resources, limit, since)`."""
        key = (tuple(sorted(resources.items())), limit)
        with self._lock:
            known = self._known.get(key)
        answer = fetch(resources, limit, known.token if known else None)
        with self._lock:
            current = self._known.get(key)
            if not answer.delta:
                latest = _full(answer)
            elif current is not None and (current.token == answer.token
                                          or _newer(current.token, answer.token)):
                return current.body  # a thread applied this answer or a later one meanwhile
            elif current is not None and (current.token == answer.since
                                          or _newer(current.token, answer.since)):
                # Another thread may have moved `current` on from `since` meanwhile: this
                # delta still holds the latest state of every provider changed from `since`
                # up to its token, a superset of what changed after `current`.
                latest = _applied(current, answer)
            else:
                latest = None
            if latest is not None:
                if current is None or not _newer(current.token, latest.token):
                    self._known[key] = latest
                return latest.body
        # The delta cannot be applied (what it was computed against has moved, or it makes a
        # provider a candidate again): ask for everything.
        answer = fetch(resources, limit, None)
        latest = _full(answer)
        with self._lock:
            current = self._known.get(key)
            if current is None or not _newer(current.token, latest.token):
                self._known[key] = latest
        return latest.body


def _full(answer: CandidatesAnswer) -> _Known:
    requests = {}
    for request in answer.allocation_requests:
        for provider in request["allocations"]:
            requests.setdefault(provider, request)
    return _Known(answer.token, requests, dict(answer.provider_summaries),
                  Journal(change_number(answer.token)))


def _applied(known: _Known, answer: CandidatesAnswer) -> _Known | None:
    """`known` with the delta applied, or None when the delta adds a provider (it would go
    at the end, out of name order)."""
    requests, summaries = dict(known.requests), dict(known.summaries)
    removed = tuple(provider for provider in answer.removed if provider in requests)
    for provider in removed:
        del requests[provider]
        summaries.pop(provider, None)
    for request in answer.allocation_requests:
        for provider in request["allocations"]:
            if provider not in requests:
                return None
            requests[provider] = request
    for provider, summary in answer.provider_summaries.items():
        if provider not in summaries:
            return None
        summaries[provider] = summary
    number = change_number(answer.token)
    if number is not None:
        known.journal.record(number, tuple(answer.provider_summaries), removed)
    return _Known(answer.token, requests, summaries, known.journal)


def change_number(token: str | None) -> int | None:
    """The change number a token ("<placement>:<number>") names."""
    number = (token or "").partition(":")[2]
    return int(number) if number.isdigit() else None


def _newer(token: str | None, than: str | None) -> bool:
    """Whether `token` names a later change than `than` of the same placement."""
    epoch, _, number = (token or "").partition(":")
    other_epoch, _, other = (than or "").partition(":")
    return (epoch == other_epoch and number.isdigit() and other.isdigit()
            and int(number) > int(other))
