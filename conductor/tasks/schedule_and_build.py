"""The super conductor's build: schedule, map each instance to its cell, create it there, cast.

Steps, each a method: ask the scheduler (any failure buries the whole request in cell0); find
the chosen host's cell through its HostMapping; with `[scheduler] claim_in = conductor`, claim
the chosen host in placement, falling to the alternates when a claim is lost (none left: that
instance is buried in cell0); create the instance and its create action in that cell's DB; map
it and drop the BuildRequest; cast build_and_run_instance on the cell's bus with the alternates
left as host_list.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from altsim.db.api import ApiDatabase, CellMapping, HostMappingNotFound
from altsim.db.cell import CellDatabase
from altsim.events import CLAIM_EVENT, CLAIM_LOST, SCHEDULE_EVENT
from altsim.exceptions import NoValidHost
from altsim.objects import BuildRequest, Instance, RequestSpec, RetryInfo, Selection
from compute_sim.rpcapi import ComputeAPI
from conductor.tasks.attempts import Attempts
from conductor.tasks.cell0 import BuryInCell0
from conductor.tasks.claims import claim_first
from placement_sim.client import PlacementClient
from scheduler.rpcapi import SchedulerAPI

LOG = logging.getLogger(__name__)


class ScheduleAndBuild:
    """`claim_with`: the placement client to claim the chosen host with ([scheduler] claim_in
    = conductor); None when the scheduler claimed it already (or nothing is claimed).
    `unclaim_with`: the placement client with which to delete what the scheduler may have
    claimed for instances buried after a failure other than NoValidHost (None: nothing is
    claimed by the scheduler)."""

    def __init__(self, api_db: ApiDatabase, cell_dbs: Mapping[str, CellDatabase],
                 scheduler_api: SchedulerAPI, compute_api_for: Callable[[str], ComputeAPI],
                 bury: BuryInCell0, attempts: Attempts,
                 claim_with: PlacementClient | None = None,
                 unclaim_with: PlacementClient | None = None) -> None:
        self._api_db = api_db
        self._cell_dbs = cell_dbs
        self._scheduler_api = scheduler_api
        self._compute_api_for = compute_api_for
        self._bury = bury
        self._attempts = attempts
        self._claim_with = claim_with
        self._unclaim_with = unclaim_with
        # Host -> cell. A HostMapping never changes once made (moving a host to another cell
        # is a delete and re-discover, which the simulator does not do), so unlike Nova's
        # per-request cache this one lives as long as the task.
        self._cells_by_host: dict[str, CellMapping] = {}

    def __call__(self, ctxt: dict, build_requests: list[BuildRequest],
                 request_specs: list[RequestSpec]) -> None:
        host_lists = self._schedule(ctxt, build_requests, request_specs)
        if host_lists is None:
            return
        for build_request, spec, host_list in zip(build_requests, request_specs, host_lists,
                                                  strict=True):
            cell = self._cell_for(ctxt, build_request, host_list[0].service_host)
            if cell is None:
                continue
            claimed = self._claim(ctxt, build_request, host_list)
            if claimed is not None:
                self._build_in_cell(ctxt, build_request, spec, host_list, claimed, cell)

    def _schedule(self, ctxt: dict, build_requests: list[BuildRequest],
                  request_specs: list[RequestSpec]) -> list[list[Selection]] | None:
        uuids = [spec.instance_uuid for spec in request_specs]
        try:
            return self._scheduler_api.select_destinations(
                ctxt, request_specs[0], uuids, return_alternates=True,
                num_alternates=self._attempts.alternates_to_request(request_specs[0]))
        except Exception as exc:  # noqa: BLE001 - Nova buries on any scheduling failure
            LOG.warning("Failed to schedule instances %s: %s", uuids, exc)
            self._bury(ctxt, build_requests, exc)
            if not isinstance(exc, NoValidHost):
                self._drop_claims(uuids)
            return None

    def _drop_claims(self, uuids: list[str]) -> None:
        """Delete what the scheduler may have claimed for instances it did place: with a
        reply lost (a MessagingTimeout, e.g. across a broker restart) its claims would
        otherwise outlive the instances. (After NoValidHost the scheduler has dropped its
        own, as Nova's does.)"""
        if self._unclaim_with is None:
            return
        for uuid in uuids:
            try:
                if self._unclaim_with.delete_allocation_for_instance(uuid):
                    LOG.info("Deleted the allocations of unscheduled instance %s", uuid)
            except Exception as exc:  # noqa: BLE001 - what is left shows in placement audit
                LOG.error("Could not delete the allocations of instance %s: %s", uuid, exc)

    def _cell_for(self, ctxt: dict, build_request: BuildRequest,
                  host: str) -> CellMapping | None:
        cell = self._cells_by_host.get(host)
        if cell is None:
            try:
                cell = self._cells_by_host[host] = self._api_db.get_cell_for_host(host)
            except HostMappingNotFound as exc:
                self._bury(ctxt, [build_request], exc)
                return None
        return cell

    def _claim(self, ctxt: dict, build_request: BuildRequest,
               host_list: list[Selection]) -> _Claimed | None:
        """The host to build on and the alternates left; None if the instance was buried."""
        if self._claim_with is None:
            return _Claimed(host_list[0], list(host_list[1:]), [])
        lost: list[str] = []
        try:
            host, remaining = claim_first(self._claim_with, build_request.instance_uuid,
                                          build_request.project_id, build_request.user_id,
                                          host_list, lost.append)
            if host is None:
                raise NoValidHost()
        except Exception as exc:  # noqa: BLE001 - as a scheduling failure: bury in cell0
            LOG.warning("Could not claim any host of %s for instance %s: %s",
                        [s.service_host for s in host_list], build_request.instance_uuid, exc)
            self._bury(ctxt, [build_request], exc, [s.service_host for s in host_list], lost)
            return None
        return _Claimed(host, remaining, lost)

    def _build_in_cell(self, ctxt: dict, build_request: BuildRequest, spec: RequestSpec,
                       host_list: list[Selection], claimed: _Claimed,
                       cell: CellMapping) -> None:
        chosen, alternates = claimed.host, claimed.alternates
        instance = Instance(uuid=build_request.instance_uuid, name=build_request.name,
                            project_id=build_request.project_id, user_id=build_request.user_id,
                            flavor=build_request.flavor, cell_uuid=cell.uuid,
                            availability_zone=chosen.availability_zone)
        cell_db = self._cell_dbs[cell.uuid]
        with cell_db.begin() as conn:
            cell_db.create_instance(instance, conn=conn)
            cell_db.start_action(instance.uuid, ctxt.get("request_id"), conn=conn)
            for host in claimed.lost:
                cell_db.add_event(instance.uuid, CLAIM_EVENT, result="failed", host=host,
                                  reason=CLAIM_LOST, conn=conn)
            cell_db.add_event(instance.uuid, SCHEDULE_EVENT, result="success",
                              host=chosen.service_host,
                              details={"selection": [s.service_host for s in host_list]},
                              conn=conn)
        self._api_db.map_instance(instance.uuid, cell.uuid, delete_build_request=True)
        retry = None
        if self._attempts.allowed(spec) > 1:
            retry = RetryInfo(num_attempts=1, hosts=[(chosen.service_host, chosen.nodename)])
        LOG.info("Selected host: %s; Selected node: %s; Alternates: %s", chosen.service_host,
                 chosen.nodename, [s.service_host for s in alternates])
        self._compute_api_for(cell.uuid).build_and_run_instance(
            ctxt, chosen.service_host, instance, spec, retry, alternates, chosen.limits)


@dataclass(frozen=True)
class _Claimed:
    host: Selection              # claimed, or claimed by the scheduler
    alternates: list[Selection]  # what is left of the list after it
    lost: list[str]              # hosts whose claim the super conductor lost first
