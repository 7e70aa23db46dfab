"""What a compute does with a build's resources, with placement or without, and its
failed-build count.

Every host has its own tracker (compute_sim/tracker.py), which counts what its instances use
and writes it to the host's compute node row, as Nova's resource tracker does. With placement
(`PlacementResources`) the scheduler or a conductor claimed before the build arrived: the
tracker only counts, and the compute deletes the allocations when a build fails for good, and
before it casts a reschedule when `[conductor] unclaim_by = compute` (Nova master). Without
placement (`TrackerResources`) the tracker is the only check of what fits. Either way a failed
build's resources go back to the tracker.
"""

from __future__ import annotations

from typing import Protocol

from oslo_config import cfg

from altsim.db.cell import CellDatabase
from altsim.objects import Instance
from compute_sim.failed_builds import FailedBuilds, FlushedByTracker, WrittenWithOutcome
from compute_sim.host import SimulatedHost
from compute_sim.tracker import ResourceTracker
from placement_sim.client import PlacementClient


class BuildResources(Protocol):
    tracker: ResourceTracker

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
    def __init__(self, placement: PlacementClient, unclaim_on_reschedule: bool,
                 tracker: ResourceTracker) -> None:
        self._placement = placement
        self._unclaim_on_reschedule = unclaim_on_reschedule
        self.tracker = tracker

    def claim(self, instance: Instance) -> str | None:
        # Claimed in placement before the build was cast here: the tracker only counts.
        return self.tracker.claim(instance.uuid, instance.flavor.resources)

    def release_failed(self, instance: Instance) -> None:
        self.tracker.release(instance.uuid)
        self._placement.delete_allocation_for_instance(instance.uuid)

    def release_rescheduled(self, instance: Instance) -> bool | None:
        self.tracker.release(instance.uuid)
        if not self._unclaim_on_reschedule:
            return None  # [conductor] unclaim_by = cell_conductor
        return self._placement.delete_allocation_for_instance(instance.uuid)


class TrackerResources:
    def __init__(self, tracker: ResourceTracker) -> None:
        self.tracker = tracker

    def claim(self, instance: Instance) -> str | None:
        return self.tracker.claim(instance.uuid, instance.flavor.resources)

    def release_failed(self, instance: Instance) -> None:
        self.tracker.release(instance.uuid)

    def release_rescheduled(self, instance: Instance) -> bool | None:
        return self.tracker.release(instance.uuid)


def tracker_for(conf: cfg.ConfigOpts, host: SimulatedHost,
                cell_db: CellDatabase) -> ResourceTracker:
    """One host's tracker: it checks what fits only without placement, and keeps the failed
    builds unless they are written with each outcome."""
    return ResourceTracker(host, cell_db, check_fit=not conf.scheduler.use_placement,
                           keeps_failed_builds=conf.compute_sim.failed_builds_flush == "tracker")


def resources_for(conf: cfg.ConfigOpts, tracker: ResourceTracker,
                  placement: PlacementClient) -> BuildResources:
    """One host's way with resources under `[scheduler] use_placement` and `[conductor]
    unclaim_by` (a compute process registers the [conductor] options for the latter)."""
    if not conf.scheduler.use_placement:
        return TrackerResources(tracker)
    return PlacementResources(placement, conf.conductor.unclaim_by == "compute", tracker)


def failed_builds_for(conf: cfg.ConfigOpts, tracker: ResourceTracker, cell_db: CellDatabase,
                      host: SimulatedHost) -> FailedBuilds:
    """How the host's build outcomes reach its failed_builds ([compute_sim]
    failed_builds_flush)."""
    if conf.compute_sim.failed_builds_flush == "tracker":
        return FlushedByTracker(tracker)
    return WrittenWithOutcome(cell_db, host.node_uuid)
