"""The whole build path of a World, run synchronously in one thread, in milliseconds.

Loopback wires the real pieces together with fakes in place of the RPC APIs: the super
conductor's ScheduleAndBuild calls the real SchedulerManager in-process, and every cast (to a
compute, to a cell conductor for a reschedule) is put on a queue that build() pumps in order
until it is empty, so a build and all its reschedules finish before build() returns. Each
compute is a real ComputeManager with the given fault rules; every switch of the conf applies,
as the service builders apply them (conductor.wiring). Nothing runs periodically: call
update_available_resource() where the computes' periodic task would have run.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from oslo_config import cfg

from altsim.events import BUILD_EVENT
from altsim.objects import Flavor
from altsim_lab.testing.fakes import (
    BuildCast,
    FakeComputeAPI,
    FakeConductorAPI,
    FakeNotifier,
    FakeSchedulerAPI,
    RescheduleCast,
)
from altsim_lab.testing.world import SMALL, World
from compute_sim.faults import FaultInjector, FaultRule
from compute_sim.manager import ComputeManager
from compute_sim.resources import failed_builds_for, resources_for, tracker_for
from conductor import wiring
from conductor.tasks.cell0 import BuryInCell0


@dataclass
class Loopback:
    """Super conductor -> compute -> cell conductor -> compute ..., casts pumped from a queue.

    The scheduler is the real SchedulerManager (called in-process), placement the world's real
    one (or `placement`, e.g. a ScriptedPlacement), and each compute a real ComputeManager with
    the given fault rules. Build the world's cells and hosts first: the wiring is made once.
    """

    world: World
    conf: cfg.ConfigOpts
    rules: list[FaultRule] = field(default_factory=list)
    placement: Any = None

    def __post_init__(self) -> None:
        self.placement = self.placement or self.world.placement
        self.notifier = FakeNotifier()
        self.queue: collections.deque[Callable[[], None]] = collections.deque()
        self.faults = FaultInjector(self.rules, self.conf.seed)
        self.scheduler_api = FakeSchedulerAPI(delegate=self.world.scheduler_manager(
            self.conf, self.placement, self.notifier))
        self.compute_apis = {cell_uuid: FakeComputeAPI(cell_uuid, self._to_compute)
                             for cell_uuid in self.world.cell_dbs}
        self.conductor_apis = {cell_uuid: FakeConductorAPI(self._to_cell_conductor(cell_uuid))
                               for cell_uuid in self.world.cell_dbs}
        # Every switch of the conf applies, as the service builders apply them.
        legacy_scheduler = self.scheduler_api if self.conf.scheduler.legacy_retry else None
        self.reschedules = {
            cell_uuid: wiring.reschedule(self.conf, cell_db, self.placement,
                                         self.compute_apis[cell_uuid], self.notifier,
                                         legacy_scheduler)
            for cell_uuid, cell_db in self.world.cell_dbs.items()}
        self.trackers = {name: tracker_for(self.conf, host, self.world.cell_db_of(name))
                         for name, host in self.world.hosts.items()}
        self.computes = {
            name: ComputeManager(host, self.world.cell_db_of(name), self.placement,
                                 self.conductor_apis[self.world.host_cell[name]], self.notifier,
                                 self.faults, sleep=lambda s: None,
                                 resources=resources_for(self.conf, self.trackers[name],
                                                         self.placement),
                                 failed_builds=failed_builds_for(
                                     self.conf, self.trackers[name],
                                     self.world.cell_db_of(name), host))
            for name, host in self.world.hosts.items()}
        self.schedule_and_build = wiring.schedule_and_build(
            self.conf, self.world.api_db, self.world.cell_dbs, self.scheduler_api,
            self.compute_apis.__getitem__,
            BuryInCell0(self.world.api_db, self.world.cell0_db, self.notifier), self.placement)

    def update_available_resource(self) -> None:
        """What every compute's periodic task does (compute_sim/service.py)."""
        for tracker in self.trackers.values():
            tracker.update_available_resource()

    def _to_compute(self, cell_uuid: str, cast: BuildCast) -> None:
        assert self.world.host_cell[cast.host] == cell_uuid, "cast left the cell"
        compute = self.computes[cast.host]
        self.queue.append(lambda: compute.build_and_run_instance(
            cast.ctxt, cast.instance, cast.request_spec, cast.retry, cast.host_list,
            cast.limits))

    def _to_cell_conductor(self, cell_uuid: str) -> Callable[[RescheduleCast], None]:
        def forward(cast: RescheduleCast) -> None:
            reschedule = self.reschedules[cell_uuid]
            self.queue.append(lambda: reschedule(cast.ctxt, cast.instance, cast.request_spec,
                                                 cast.retry, cast.host_list))
        return forward

    def build(self, names: list[str], flavor: Flavor = SMALL,
              num_alternates: int | None = None) -> list[str]:
        """Create servers in one request and run every cast to completion; returns uuids."""
        build_requests, specs = self.world.new_request(names, flavor, num_alternates)
        self.schedule_and_build({"request_id": "req-loop"}, build_requests, specs)
        while self.queue:
            self.queue.popleft()()
        return [spec.instance_uuid for spec in specs]

    def spawn_hosts(self, instance_uuid: str) -> list[tuple[str, str]]:
        """(host, result) of every spawn attempt of an instance, in order."""
        return [(e.host, e.result) for db in self.world.cell_dbs.values()
                for e in db.list_events().get(instance_uuid, []) if e.event == BUILD_EVENT]
