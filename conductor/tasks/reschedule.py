"""The cell conductor's reschedule: unclaim, count the attempt, claim an alternate, cast.

The cell conductor has its cell's bus and DB and placement, nothing else: it never asks the
scheduler and never reads the API DB. It can only walk down the alternates it was handed.
"""

from __future__ import annotations

import logging

from altsim.db.cell import CellDatabase
from altsim.exceptions import MaxRetriesExceeded
from altsim.objects import Fault, Instance, RequestSpec, RetryInfo, Selection
from altsim.rpc import Notifier
from compute_sim.rpcapi import ComputeAPI
from placement_sim.client import PlacementClient

LOG = logging.getLogger(__name__)

CLAIM_EVENT = "conductor_claim_resources"


class Reschedule:
    def __init__(self, cell_db: CellDatabase, placement: PlacementClient, compute_api: ComputeAPI,
                 notifier: Notifier, max_attempts: int) -> None:
        self._cell_db = cell_db
        self._placement = placement
        self._compute_api = compute_api
        self._notifier = notifier
        self._max_attempts = max_attempts

    def __call__(self, ctxt: dict, instance: Instance, request_spec: RequestSpec,
                 retry: RetryInfo, host_list: list[Selection]) -> None:
        self._unclaim(instance)
        retry = retry.model_copy(update={"num_attempts": retry.num_attempts + 1})
        try:
            if retry.num_attempts > self._max_attempts:
                raise MaxRetriesExceeded.exceeded_attempts(self._max_attempts, instance.uuid,
                                                           retry.exc_reason)
            if not host_list:
                raise MaxRetriesExceeded.exhausted_hosts(instance.uuid)
            host, remaining = self._claim_alternate(instance, host_list)
        except Exception as exc:  # noqa: BLE001 - any failure ends the build in ERROR (rule 21)
            self._fail(ctxt, instance, exc)
            return
        self._cast(ctxt, instance, request_spec, retry, host, remaining)

    def _unclaim(self, instance: Instance) -> None:
        # The seeds' wording: the cell conductor removes the failed host's allocations. Only
        # one host holds the instance's allocations at a time, so that is the whole consumer.
        self._placement.delete_allocation_for_instance(instance.uuid)

    def _claim_alternate(self, instance: Instance,
                         host_list: list[Selection]) -> tuple[Selection, list[Selection]]:
        remaining = list(host_list)
        while remaining:
            host = remaining.pop(0)
            if host.allocation_request is None or self._placement.claim_resources(
                    instance.uuid, host.allocation_request, instance.project_id,
                    instance.user_id):
                return host, remaining
            LOG.info("Claim for instance %s on alternate %s failed", instance.uuid,
                     host.service_host)
            self._cell_db.add_event(instance.uuid, CLAIM_EVENT, result="failed",
                                    host=host.service_host, reason="claim failed in placement")
        raise MaxRetriesExceeded.exhausted_hosts(instance.uuid)

    def _cast(self, ctxt: dict, instance: Instance, request_spec: RequestSpec, retry: RetryInfo,
              host: Selection, remaining: list[Selection]) -> None:
        retry = retry.model_copy(update={"hosts": [*retry.hosts,
                                                   (host.service_host, host.nodename)]})
        instance = instance.model_copy(update={"availability_zone": host.availability_zone})
        self._cell_db.update_instance(instance.uuid, availability_zone=host.availability_zone)
        LOG.info("Rescheduling instance %s to %s (attempt %d); alternates left: %s",
                 instance.uuid, host.service_host, retry.num_attempts,
                 [s.service_host for s in remaining])
        self._compute_api.build_and_run_instance(ctxt, host.service_host, instance,
                                                 request_spec, retry, remaining, host.limits)

    def _fail(self, ctxt: dict, instance: Instance, exc: Exception) -> None:
        fault = Fault(code=500, message=str(exc), details=type(exc).__name__)
        LOG.warning("Build of instance %s failed: %s", instance.uuid, fault.message)
        self._cell_db.set_error(instance.uuid, fault)
        self._placement.delete_allocation_for_instance(instance.uuid)
        self._notifier.error(ctxt, "compute_task.build_instances.error", {
            "instance_uuid": instance.uuid, "name": instance.name,
            "cell_uuid": instance.cell_uuid, "state": "error", "fault": fault.message})
