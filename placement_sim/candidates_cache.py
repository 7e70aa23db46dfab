"""The placement client's last allocation candidates per request, kept current from deltas.

A scheduler asks for the candidates of the same few flavors request after request, and between
two requests only the providers claimed on changed. Where placement offers it (altsim's does:
PlacementStore.candidates_since, over HTTP the `altsim_since` parameter) the client asks only
for what changed since its last answer and applies it to what it has; the result is what a full
answer would have been. It keeps the same objects for unchanged providers, which lets the
scheduler's HostTable skip them at the cost of an identity check, and records each delta in
the answer's journal (placement_sim.candidates). Against a placement without deltas (a real
one: no token) every answer is in full, as before.

Answers come in provider-name order; a delta that makes a provider a candidate again (it had
room again, or it is new) cannot be put in its place, so the client then asks for a full one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from placement_sim.candidate_filters import NO_FILTERS, CandidateFilters
from placement_sim.candidates import AllocationCandidates
from placement_sim.candidates_delta import CandidatesToken
from placement_sim.store import CandidatesAnswer

# fetch(resources, limit, since): the store's candidates_since (tokens as placement spells them)
Fetch = Callable[[Mapping[str, int], "int | None", "str | None"], CandidatesAnswer]


class CandidatesCache:
    def __init__(self) -> None:
        self._known: dict[tuple, AllocationCandidates] = {}
        self._lock = threading.Lock()

    def get(self, resources: Mapping[str, int], limit: int | None,
            fetch: Fetch, filters: CandidateFilters = NO_FILTERS) -> AllocationCandidates:
        """The candidates for `resources` (and `filters`, which `fetch` applies), fetched
        with `fetch(resources, limit, since)`."""
        key = (tuple(sorted(resources.items())), limit, filters)
        with self._lock:
            known = self._known.get(key)
        since = known.token if known is not None else None
        answer = fetch(resources, limit, None if since is None else str(since))
        token = CandidatesToken.parse(answer.token)
        with self._lock:
            current = self._known.get(key)
            held = current.token if current is not None else None
            if not answer.delta:
                latest = AllocationCandidates.full(answer.allocation_requests,
                                                   answer.provider_summaries, token)
            elif current is None or token is None:
                latest = None  # nothing to apply it to, or a token this client cannot read
            elif _reached(held, token):
                return current  # a thread applied this answer or a later one meanwhile
            elif _reached(held, CandidatesToken.parse(answer.since)):
                # Another thread may have moved `current` on from `since` meanwhile: this
                # delta still holds the latest state of every provider changed from `since`
                # up to its token, a superset of what changed after `current`.
                latest = _applied(current, answer, token)
            else:
                latest = None
            if latest is not None:
                self._keep(key, latest)
                return latest
        # The delta cannot be applied (what it was computed against has moved, or it makes a
        # provider a candidate again): ask for everything.
        answer = fetch(resources, limit, None)
        latest = AllocationCandidates.full(answer.allocation_requests,
                                           answer.provider_summaries,
                                           CandidatesToken.parse(answer.token))
        with self._lock:
            self._keep(key, latest)
        return latest

    def _keep(self, key: tuple, latest: AllocationCandidates) -> None:
        """Remember `latest` unless a later answer is remembered already. Lock held."""
        current = self._known.get(key)
        if current is None or current.token is None or not current.token.later_than(
                latest.token):
            self._known[key] = latest


def _reached(held: CandidatesToken | None, token: CandidatesToken | None) -> bool:
    """Whether candidates as of `held` are as of `token` or a later change."""
    return held is not None and (held == token or held.later_than(token))


def _applied(known: AllocationCandidates, answer: CandidatesAnswer,
             token: CandidatesToken) -> AllocationCandidates | None:
    """`known` with the delta applied, or None when the delta adds a provider (it would go
    at the end, out of name order)."""
    requests, summaries = dict(known.requests_by_provider), dict(known.provider_summaries)
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
    if known.journal is not None:
        known.journal.record(token.number, tuple(answer.provider_summaries), removed)
    return AllocationCandidates(requests, summaries, token, known.journal)
