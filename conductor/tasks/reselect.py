"""`[scheduler] legacy_retry`: a reschedule asks the scheduler again, as pre-Queens Nova did.

The request spec goes back to select_destinations with every host tried so far in
`ignore_hosts` and no alternates asked for; the scheduler's answer replaces the alternates a
Queens build would have carried. This is an up-call from the cell, so it only works where the
cell shares the API bus (one cell; altsim_lab.scenario.topology refuses more).

The scheduler client is injected as anything with `select_destinations`, so this module, like
the rest of the cell conductor, never imports the scheduler package.
"""

from __future__ import annotations

from typing import Protocol

from altsim.db.cell import CellDatabase
from altsim.events import SELECT_EVENT
from altsim.objects import Instance, RequestSpec, RetryInfo, Selection


class SchedulerClient(Protocol):
    def select_destinations(self, ctxt: dict, request_spec: RequestSpec,
                            instance_uuids: list[str], return_alternates: bool = True,
                            num_alternates: int | None = None) -> list[list[Selection]]: ...


class Reselect:
    """`scheduler_claims`: the scheduler claims what it returns ([scheduler] claim_in =
    scheduler, with placement), so the chosen host must not be claimed a second time."""

    def __init__(self, scheduler_api: SchedulerClient, cell_db: CellDatabase,
                 scheduler_claims: bool) -> None:
        self._scheduler_api = scheduler_api
        self._cell_db = cell_db
        self._scheduler_claims = scheduler_claims

    def __call__(self, ctxt: dict, instance: Instance, request_spec: RequestSpec,
                 retry: RetryInfo) -> list[Selection]:
        tried = sorted({*request_spec.ignore_hosts, *(host for host, _ in retry.hosts)})
        spec = request_spec.model_copy(update={"ignore_hosts": tried, "num_instances": 1,
                                               "instance_uuid": instance.uuid})
        try:
            [host_list] = self._scheduler_api.select_destinations(
                ctxt, spec, [instance.uuid], return_alternates=True, num_alternates=0)
        except Exception as exc:
            self._record(instance, "failed", [], tried, str(exc))
            raise
        self._record(instance, "success", [s.service_host for s in host_list], tried, None)
        if self._scheduler_claims:
            # Already claimed by the scheduler: hand it on as a host to take without a claim.
            host_list = [s.model_copy(update={"allocation_request": None}) for s in host_list]
        return host_list

    def _record(self, instance: Instance, result: str, selection: list[str],
                ignored: list[str], reason: str | None) -> None:
        self._cell_db.add_event(instance.uuid, SELECT_EVENT, result=result, reason=reason,
                                host=selection[0] if selection else None,
                                details={"selection": selection, "ignore_hosts": ignored})
