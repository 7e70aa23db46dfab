"""Recorders that stand in for the services' RPC APIs, and placement with scripted claims.

Each fake has the methods of the RPC API it replaces (compute_sim.rpcapi.ComputeAPI,
conductor.rpcapi.ConductorAPI, scheduler.rpcapi.SchedulerAPI, an oslo.messaging Notifier) and
records every cast or call, so a test can drive one piece of the build path for real and read
what it sent. A fake given `forward` also hands each cast on (Loopback wires a world with
them). ScriptedPlacement wraps the real in-process placement client and lets a test script how
claims go (a lost race, an error) per resource provider; TokenlessStore answers candidates as a
real Placement does, in full and without a delta token.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from altsim.objects import BuildRequest, Instance, RequestSpec, RetryInfo, Selection
from placement_sim.candidate_filters import NO_FILTERS, CandidateFilters
from placement_sim.candidates import AllocationCandidates
from placement_sim.client import InProcessPlacementClient, PlacementClient
from placement_sim.store import CandidatesAnswer, PlacementStore
from scheduler.manager import SchedulerManager


class FakeNotifier:
    """Records notifications as (priority, event type, payload)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict]] = []

    def info(self, ctxt: dict, event_type: str, payload: dict) -> None:
        self.events.append(("info", event_type, payload))

    def error(self, ctxt: dict, event_type: str, payload: dict) -> None:
        self.events.append(("error", event_type, payload))

    def of_type(self, event_type: str) -> list[dict]:
        """The payloads of every notification of `event_type`, in order."""
        return [payload for _, kind, payload in self.events if kind == event_type]

    def priorities(self, event_type: str) -> list[str]:
        """The priority ("info", "error") of every notification of `event_type`, in order."""
        return [priority for priority, kind, _ in self.events if kind == event_type]


@dataclass
class BuildCast:
    """One build_and_run_instance cast, as the compute would have received it."""

    ctxt: dict
    host: str
    instance: Instance
    request_spec: RequestSpec
    retry: RetryInfo | None
    host_list: list[Selection]
    limits: dict


class FakeComputeAPI:
    """compute_sim.rpcapi.ComputeAPI look-alike that records build_and_run_instance casts."""

    def __init__(self, cell_uuid: str | None = None,
                 forward: Callable[[str, BuildCast], None] | None = None) -> None:
        """`cell_uuid`: the cell whose bus it stands for; `forward(cell_uuid, cast)` is
        called with every cast after it is recorded."""
        self.cell_uuid = cell_uuid
        self.casts: list[BuildCast] = []
        self._forward = forward

    def build_and_run_instance(self, ctxt: dict, host: str, instance: Instance,
                               request_spec: RequestSpec, retry: RetryInfo | None,
                               host_list: list[Selection], limits: dict) -> None:
        cast = BuildCast(ctxt, host, instance, request_spec, retry, list(host_list), limits)
        self.casts.append(cast)
        if self._forward is not None:
            self._forward(self.cell_uuid or "", cast)


@dataclass
class RescheduleCast:
    """One build_instances cast (a reschedule), as the cell conductor would have received it."""

    ctxt: dict
    instance: Instance
    request_spec: RequestSpec
    retry: RetryInfo
    host_list: list[Selection]


class FakeConductorAPI:
    """conductor.rpcapi.ConductorAPI look-alike that records build_instances casts."""

    def __init__(self, forward: Callable[[RescheduleCast], None] | None = None) -> None:
        """`forward(cast)` is called with every build_instances cast after it is recorded."""
        self.build_instances_casts: list[RescheduleCast] = []
        self.schedule_and_build_casts: list[tuple[list[BuildRequest], list[RequestSpec]]] = []
        self._forward = forward

    def build_instances(self, ctxt: dict, instance: Instance, request_spec: RequestSpec,
                        retry: RetryInfo, host_list: list[Selection]) -> None:
        cast = RescheduleCast(ctxt, instance, request_spec, retry, list(host_list))
        self.build_instances_casts.append(cast)
        if self._forward is not None:
            self._forward(cast)

    def schedule_and_build_instances(self, ctxt: dict, build_requests: list[BuildRequest],
                                     request_specs: list[RequestSpec]) -> None:
        self.schedule_and_build_casts.append((build_requests, request_specs))


class FakeSchedulerAPI:
    """scheduler.rpcapi.SchedulerAPI look-alike: canned lists, an error, or a real manager."""

    def __init__(self, result: list[list[Selection]] | None = None,
                 error: BaseException | None = None,
                 delegate: SchedulerManager | None = None) -> None:
        """Answers with `error` raised if given, else what `delegate` answers, else `result`;
        every call is recorded in `calls`."""
        self.result = result
        self.error = error
        self.delegate = delegate
        self.calls: list[dict[str, Any]] = []

    def select_destinations(self, ctxt: dict, request_spec: RequestSpec,
                            instance_uuids: list[str], return_alternates: bool = True,
                            num_alternates: int | None = None) -> list[list[Selection]]:
        self.calls.append({"request_spec": request_spec, "instance_uuids": list(instance_uuids),
                           "return_alternates": return_alternates,
                           "num_alternates": num_alternates})
        if self.error is not None:
            raise self.error
        if self.delegate is not None:
            # Imported here: oslo.messaging must come after altsim, which silences eventlet's
            # deprecation warning on import.
            from oslo_messaging.rpc.dispatcher import ExpectedException
            try:
                return self.delegate.select_destinations(ctxt, request_spec, instance_uuids,
                                                         return_alternates, num_alternates)
            except ExpectedException as exc:
                # What the RPC server does with @expected_exceptions: the caller gets the
                # original exception.
                raise exc.exc_info[1] from None
        assert self.result is not None, "FakeSchedulerAPI needs a result, an error or a delegate"
        return self.result


class ScriptedPlacement:
    """A real in-process placement client with scripted claim behaviour per provider.

    `race`: on the first claim against one of these providers, another consumer takes all that is
    left on it just before the claim (a lost race between candidate listing and claim), so the
    real placement refuses the claim. `raise_on`: claims against these providers raise the given
    exception. `candidates_error`: every allocation-candidates request raises it. Every claim
    attempt is recorded in `claims` as (consumer, provider uuid, result; None when it raised).
    """

    def __init__(self, inner: InProcessPlacementClient, race: Iterable[str] = (),
                 raise_on: dict[str, BaseException] | None = None,
                 candidates_error: BaseException | None = None) -> None:
        self._inner = inner
        self._race = set(race)
        self._raise_on = dict(raise_on or {})
        self._candidates_error = candidates_error
        self.claims: list[tuple[str, str, bool | None]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def get_allocation_candidates(self, resources: dict[str, int], limit: int = 1000,
                                  filters: CandidateFilters = NO_FILTERS,
                                  ) -> AllocationCandidates:
        if self._candidates_error is not None:
            raise self._candidates_error
        return self._inner.get_allocation_candidates(resources, limit=limit, filters=filters)

    def claim_resources(self, consumer_uuid: str, allocation_request: dict[str, Any],
                        project_id: str, user_id: str,
                        consumer_generation: int | None = None) -> bool:
        (rp_uuid,) = allocation_request["allocations"]
        if rp_uuid in self._raise_on:
            self.claims.append((consumer_uuid, rp_uuid, None))
            raise self._raise_on[rp_uuid]
        if rp_uuid in self._race:
            self._race.discard(rp_uuid)
            fill(self._inner, rp_uuid)
        result = self._inner.claim_resources(consumer_uuid, allocation_request, project_id,
                                             user_id, consumer_generation)
        self.claims.append((consumer_uuid, rp_uuid, result))
        return result


class TokenlessStore:
    """A placement store that answers candidates as a real Placement does: in full, with no
    token (so its client never asks for a delta). Records each `since` it is asked with."""

    def __init__(self, inner: PlacementStore) -> None:
        self._inner = inner
        self.sinces: list[str | None] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def candidates_since(self, resources: dict[str, int], limit: int | None,
                         since: str | None,
                         filters: CandidateFilters = NO_FILTERS) -> CandidatesAnswer:
        self.sinces.append(since)
        body = self._inner.allocation_candidates(resources, limit, filters)
        return CandidatesAnswer(body["allocation_requests"], body["provider_summaries"], [],
                                None, None)


def fill(placement: PlacementClient, rp_uuid: str) -> str:
    """Allocate everything still free on a provider to a new consumer (any placement
    client: in-process or HTTP); returns its uuid."""
    inventories = placement.get_inventories(rp_uuid)["inventories"]
    usages = placement.get_usages(rp_uuid)
    free = {rc: int((inv["total"] - inv["reserved"]) * inv["allocation_ratio"]) - usages[rc]
            for rc, inv in inventories.items()}
    consumer = str(uuid.uuid4())  # a real placement takes only a uuid as a consumer
    assert placement.claim_resources(
        consumer, {"allocations": {rp_uuid: {"resources": free}}}, "filler", "filler")
    return consumer
