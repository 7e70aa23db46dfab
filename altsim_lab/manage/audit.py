"""Placement audit: allocations no live instance (ACTIVE, or still building) accounts for, and
usages that disagree with their provider's allocations (what nova-manage placement audit looks
for)."""

from __future__ import annotations

from dataclasses import dataclass, field

from altsim.db.api import ApiDatabase
from altsim.db.cell import CellDatabase
from altsim.objects import VmState
from placement_sim.client import PlacementClient

_LIVE_STATES = {VmState.ACTIVE.value, VmState.BUILDING.value}


@dataclass(frozen=True)
class OrphanAllocation:
    provider_uuid: str
    provider_name: str
    consumer_uuid: str
    resources: dict[str, int]
    reason: str  # why the consumer does not count, e.g. "no instance", "vm_state error"


@dataclass(frozen=True)
class UsageMismatch:
    provider_uuid: str
    provider_name: str
    resource_class: str
    usage: int
    allocated: int


@dataclass
class AuditReport:
    orphans: list[OrphanAllocation] = field(default_factory=list)
    mismatches: list[UsageMismatch] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # consumers whose allocations went

    @property
    def clean(self) -> bool:
        return not self.orphans and not self.mismatches


def instance_states(api_db: ApiDatabase) -> dict[str, str]:
    """instance uuid -> vm_state, read from every cell DB (cell0 included)."""
    states: dict[str, str] = {}
    for cell in api_db.list_cells():
        for row in CellDatabase(cell.database_connection).list_instance_rows():
            states[row["uuid"]] = row["vm_state"]
    return states


def audit_placement(api_db: ApiDatabase, placement: PlacementClient,
                    delete: bool = False) -> AuditReport:
    """Audit placement against the cells' instances; with `delete`, remove the allocations
    of every orphan consumer (all of its allocations, as delete_allocation_for_instance
    does)."""
    states = instance_states(api_db)
    report = AuditReport()
    # The deployment's hosts' providers only: a placement it shares holds others' too, whose
    # consumers are no instances of these cells and must never be called orphans (or deleted).
    hosts = api_db.host_cells()
    for provider in placement.list_resource_providers():
        if provider.get("name") not in hosts:
            continue
        rp_uuid, rp_name = provider["uuid"], provider.get("name", provider["uuid"])
        allocations = placement.get_provider_allocations(rp_uuid)
        allocated: dict[str, int] = {}
        for consumer, resources in sorted(allocations.items()):
            for rc, amount in resources.items():
                allocated[rc] = allocated.get(rc, 0) + amount
            state = states.get(consumer)
            # A live instance owns its allocation: ACTIVE, or still building (in a cell, or
            # claimed by the scheduler and not yet out of its BuildRequest).
            if state in _LIVE_STATES or (state is None
                                         and api_db.build_request_exists(consumer)):
                continue
            reason = "no instance in any cell" if state is None else f"vm_state {state}"
            report.orphans.append(OrphanAllocation(rp_uuid, rp_name, consumer,
                                                   dict(resources), reason))
        usages = placement.get_usages(rp_uuid)
        for rc in sorted(set(usages) | set(allocated)):
            if usages.get(rc, 0) != allocated.get(rc, 0):
                report.mismatches.append(UsageMismatch(rp_uuid, rp_name, rc,
                                                       usages.get(rc, 0), allocated.get(rc, 0)))
    if delete:
        for consumer in dict.fromkeys(o.consumer_uuid for o in report.orphans):
            if placement.delete_allocation_for_instance(consumer):
                report.deleted.append(consumer)
    return report
