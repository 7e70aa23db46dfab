"""What a compute does with a build's resources, with placement or with its own tracker.

With placement (`PlacementResources`) the scheduler or a conductor claimed before the build
arrived: the compute only deletes the allocations when a build fails for good, and before it
casts a reschedule when `[conductor] unclaim_by = compute` (Nova master). Without placement
(`TrackerResources`) the compute claims on its own tracker when the build starts and gives the
resources back whenever the build fails, reschedule included.
"""

from __future__ import annotations

from typing import Protocol

from oslo_config import cfg

from altsim.db.cell import CellDatabase
from altsim.objects import Instance
from compute_sim.host import SimulatedHost
from compute_sim.tracker import ResourceTracker
from placement_sim.client import PlacementClient


class BuildResources(Protocol):
    def claim(self, instance: Instance) -> str | None:
        """None when the build may go on, else why it does not fit (reschedulable)."""
        ...

    def release_failed(self, instance: Instance) -> None:
        """The build failed for good (ERROR)."""
        ...

    def release_rescheduled(self, instance: Instance) -> bool | None:
        """The build goes to the cell conductor: None if this compute leaves the resources
        to it, else whether there was something to give back."""
        ...


class PlacementResources:
    def __init__(self, placement: PlacementClient, unclaim_on_reschedule: bool) -> None:
        self._placement = placement
        self._unclaim_on_reschedule = unclaim_on_reschedule

    def claim(self, instance: Instance) -> str | None:
        return None  # claimed in placement before the build was cast here

    def release_failed(self, instance: Instance) -> None:
        self._placement.delete_allocation_for_instance(instance.uuid)

    def release_rescheduled(self, instance: Instance) -> bool | None:
        if not self._unclaim_on_reschedule:
            return None  # [conductor] unclaim_by = cell_conductor
        return self._placement.delete_allocation_for_instance(instance.uuid)


class TrackerResources:
    def __init__(self, tracker: ResourceTracker) -> None:
        self._tracker = tracker

    def claim(self, instance: Instance) -> str | None:
        return self._tracker.claim(instance.uuid, instance.flavor.resources)

    def release_failed(self, instance: Instance) -> None:
        self._tracker.release(instance.uuid)

    def release_rescheduled(self, instance: Instance) -> bool | None:
        return self._tracker.release(instance.uuid)


def resources_for(conf: cfg.ConfigOpts, host: SimulatedHost, cell_db: CellDatabase,
                  placement: PlacementClient) -> BuildResources:
    """One host's way with resources under `[scheduler] use_placement` and `[conductor]
    unclaim_by` (a compute process registers the [conductor] options for the latter)."""
    if not conf.scheduler.use_placement:
        return TrackerResources(ResourceTracker(host, cell_db))
    return PlacementResources(placement, conf.conductor.unclaim_by == "compute")
