"""The scheduler's RPC endpoint: validates a select_destinations call and delegates it."""

from __future__ import annotations

import logging

import oslo_messaging as messaging
from oslo_config import cfg

from altsim import runtime
from altsim.events import SELECT_DESTINATIONS_END, SELECT_DESTINATIONS_ERROR
from altsim.exceptions import NoValidHost
from altsim.objects import PayloadError, RequestSpec, Selection
from altsim.rpc import Notifier
from scheduler.selector import RequestNotPlaced, Selector

LOG = logging.getLogger(__name__)


class SchedulerManager:
    target = messaging.Target(version="1.0")

    def __init__(self, conf: cfg.ConfigOpts, selector: Selector, notifier: Notifier) -> None:
        self._conf = conf
        self._selector = selector
        self._notifier = notifier

    @messaging.expected_exceptions(NoValidHost)
    def select_destinations(self, ctxt: dict, request_spec: RequestSpec,
                            instance_uuids: list[str], return_alternates: bool = True,
                            num_alternates: int | None = None) -> list[list[Selection]]:
        if not isinstance(request_spec, RequestSpec):
            raise TypeError(f"select_destinations: request_spec must be a RequestSpec, "
                            f"got {type(request_spec).__name__}")
        if not instance_uuids:
            raise ValueError("select_destinations: instance_uuids is empty")
        _check_args(instance_uuids, return_alternates, num_alternates)
        alternates = self._alternates_wanted(return_alternates, num_alternates)
        started = runtime.monotonic()
        try:
            destinations = self._selector.select(request_spec, list(instance_uuids), alternates)
        except RequestNotPlaced as exc:
            # Without a resource filter an instance that no longer fits loses a claim on
            # every host before the request fails: reported, as the successful ones are.
            self._notifier.error(ctxt, SELECT_DESTINATIONS_ERROR, {
                "request_id": ctxt.get("request_id"),
                "instances": {uuid: {"selection": [], "claim_failures": lost}
                              for uuid, lost in exc.claim_failures.items()}})
            LOG.info("No valid host for instances %s; lost claims %s", instance_uuids,
                     exc.claim_failures)
            raise NoValidHost() from None
        self._notifier.info(ctxt, SELECT_DESTINATIONS_END, {
            "request_id": ctxt.get("request_id"),
            "instances": {uuid: {"selection": [s.service_host for s in d.selections],
                                 "claim_failures": d.claim_failures}
                          for uuid, d in zip(instance_uuids, destinations, strict=True)}})
        # The scheduler's own time for the request (candidates, filters, weighers, claims),
        # without the wait in its queue: the figure the benchmarks quote as its latency.
        LOG.info("select_destinations for %d instance(s) took %.4f s", len(instance_uuids),
                 runtime.monotonic() - started)
        for uuid, instance in zip(instance_uuids, destinations, strict=True):
            LOG.info("Selected %s for instance %s; alternates %s; lost claims on %s",
                     instance.selections[0].service_host, uuid,
                     [s.service_host for s in instance.selections[1:]],
                     instance.claim_failures)
        return [instance.selections for instance in destinations]

    def _alternates_wanted(self, return_alternates: bool, num_alternates: int | None) -> int:
        if not return_alternates:
            return 0
        if num_alternates is not None:
            if num_alternates < 0:
                raise ValueError(f"num_alternates must be >= 0, got {num_alternates}")
            return num_alternates
        if self._conf.scheduler.legacy_retry:
            return 0  # pre-Queens: a reschedule asks again instead of using alternates
        return self._conf.scheduler.max_attempts - 1


def _check_args(instance_uuids: object, return_alternates: object,
                num_alternates: object) -> None:
    # A string would be scheduled as one instance per character, each claimed in placement.
    if not isinstance(instance_uuids, list) or not all(
            isinstance(u, str) and u for u in instance_uuids):
        raise PayloadError("select_destinations: instance_uuids must be a list of non-empty "
                           f"strings, got {instance_uuids!r:.200}")
    if not isinstance(return_alternates, bool):
        raise PayloadError("select_destinations: return_alternates must be a boolean, got "
                           f"{return_alternates!r:.200}")
    if num_alternates is not None and (isinstance(num_alternates, bool)
                                       or not isinstance(num_alternates, int)):
        raise PayloadError("select_destinations: num_alternates must be an integer or null, "
                           f"got {num_alternates!r:.200}")
