"""Shared fakes and a small in-process "world" for the build-path unit tests.

Everything here is real except the RPC clients: real SQLite API and cell databases in tmp_path,
the real in-process placement (PlacementStore + InProcessPlacementClient), the real Selector,
ScheduleAndBuild, Reschedule and ComputeManager. The RPC APIs they call are replaced by recorders
(FakeComputeAPI, FakeConductorAPI, FakeSchedulerAPI, FakeNotifier), and `Loopback` wires the
conductors and computes of a world together synchronously (a queue of casts pumped in order), so
a whole build with its reschedules runs in-process in milliseconds.
"""

from __future__ import annotations

import collections
import logging
import uuid as uuidlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from oslo_config import cfg

import compute_sim.conf
import conductor.conf
import scheduler.conf
from altsim.conf import make_conf
from altsim.db import cell_schema
from altsim.db.api import ApiDatabase, CellMapping
from altsim.db.cell import CellDatabase
from altsim.db.engine import dispose_engine
from altsim.objects import (
    CELL0_UUID,
    BuildRequest,
    Flavor,
    Instance,
    RequestSpec,
    RetryInfo,
    Selection,
)
from compute_sim.faults import FaultInjector, FaultRule
from compute_sim.host import SimulatedHost
from compute_sim.manager import ComputeManager
from compute_sim.resources import resources_for
from conductor import wiring
from conductor.tasks.cell0 import BuryInCell0
from placement_sim.candidates import AllocationCandidates
from placement_sim.client import InProcessPlacementClient
from placement_sim.store import CandidatesAnswer, PlacementStore
from scheduler.filters import enabled_filters
from scheduler.manager import SchedulerManager
from scheduler.selector import Selector
from scheduler.service import build_scheduler_manager
from scheduler.weights import enabled_weighers

PROJECT = "test-project"
USER = "test-user"
SMALL = Flavor(name="small", resources={"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1})
HOST_RESOURCES = {"VCPU": 8, "MEMORY_MB": 16384, "DISK_GB": 100}
_UUID_NS = uuidlib.UUID("1d0c6f55-4d5b-4bb5-9d1e-6f0a7e3c2b10")

SERVICE_OPTION_PACKAGES = (scheduler.conf.register_opts, conductor.conf.register_opts,
                           compute_sim.conf.register_opts)


def make_test_conf(overrides: dict[str, Any] | None = None) -> cfg.ConfigOpts:
    """A private ConfigOpts with every altsim option; overrides are {"group.name": value}."""
    conf = make_conf(SERVICE_OPTION_PACKAGES)
    conf([], default_config_files=[], default_config_dirs=[])
    for key, value in (overrides or {}).items():
        group, _, name = key.rpartition(".")
        conf.set_override(name, value, group=group or None)
    return conf


def instance_uuid(name: str) -> str:
    """Deterministic instance uuids, so seeded choices repeat run to run."""
    return str(uuidlib.uuid5(_UUID_NS, name))


# -- recorders standing in for the RPC APIs ------------------------------------------------------

class FakeNotifier:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict]] = []

    def info(self, ctxt: dict, event_type: str, payload: dict) -> None:
        self.events.append(("info", event_type, payload))

    def error(self, ctxt: dict, event_type: str, payload: dict) -> None:
        self.events.append(("error", event_type, payload))

    def of_type(self, event_type: str) -> list[dict]:
        return [payload for _, kind, payload in self.events if kind == event_type]

    def priorities(self, event_type: str) -> list[str]:
        return [priority for priority, kind, _ in self.events if kind == event_type]


@dataclass
class BuildCast:
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
    ctxt: dict
    instance: Instance
    request_spec: RequestSpec
    retry: RetryInfo
    host_list: list[Selection]


class FakeConductorAPI:
    """conductor.rpcapi.ConductorAPI look-alike that records build_instances casts."""

    def __init__(self, forward: Callable[[RescheduleCast], None] | None = None) -> None:
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
        assert self.result is not None
        return self.result



@pytest.fixture(autouse=True)
def _root_log_handlers_restored() -> Iterator[None]:
    """Commands run in-process (altsim-manage's oslo.log setup, the altsim cliff app) add
    handlers to the root logger that write to this test's captured stderr; a later test would
    log into a closed stream. Each test leaves the root logger as it found it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)

class ScriptedPlacement:
    """A real in-process placement client with scripted claim behaviour per provider.

    `race`: on the first claim against one of these providers, another consumer takes all that is
    left on it just before the claim (a lost race between candidate listing and claim), so the
    real placement refuses the claim. `raise_on`: claims against these providers raise the given
    exception. Every claim attempt is recorded as (consumer, provider uuid, result).
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

    def get_allocation_candidates(self, resources: dict[str, int],
                                  limit: int = 1000) -> AllocationCandidates:
        if self._candidates_error is not None:
            raise self._candidates_error
        return self._inner.get_allocation_candidates(resources, limit=limit)

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
                         since: str | None) -> CandidatesAnswer:
        self.sinces.append(since)
        body = self._inner.allocation_candidates(resources, limit)
        return CandidatesAnswer(body["allocation_requests"], body["provider_summaries"], [],
                                None, None)


def fill(placement: InProcessPlacementClient, rp_uuid: str) -> str:
    """Allocate everything still free on a provider to a filler consumer; returns its uuid."""
    inventories = placement._store.get_inventories(rp_uuid)["inventories"]
    usages = placement.get_usages(rp_uuid)
    free = {rc: int((inv["total"] - inv["reserved"]) * inv["allocation_ratio"]) - usages[rc]
            for rc, inv in inventories.items()}
    consumer = f"filler-{uuidlib.uuid4()}"
    assert placement.claim_resources(
        consumer, {"allocations": {rp_uuid: {"resources": free}}}, "filler", "filler")
    return consumer


# -- the world -----------------------------------------------------------------------------------

class World:
    """An API DB, cell0, cells with hosts (cell DB rows, host mappings, placement providers)."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.store = PlacementStore()
        self.placement = InProcessPlacementClient(self.store, sleep=lambda s: None)
        self._urls: list[str] = []
        self.api_db = ApiDatabase(self._url("api"))
        self.api_db.sync()
        self.cell0_db = CellDatabase(self._url("cell0"))
        self.cell0_db.sync()
        self.api_db.create_cell(CellMapping(CELL0_UUID, "cell0", "none:///", self.cell0_db.url))
        self.cells: dict[str, CellMapping] = {}          # name -> mapping
        self.cell_dbs: dict[str, CellDatabase] = {}      # cell uuid -> db
        self.hosts: dict[str, SimulatedHost] = {}
        self.host_cell: dict[str, str] = {}              # host -> cell uuid

    def _url(self, name: str) -> str:
        url = f"sqlite:///{self.tmp_path / name}.db"
        self._urls.append(url)
        return url

    def close(self) -> None:
        for url in self._urls:
            dispose_engine(url)

    # topology
    def add_cell(self, name: str) -> CellMapping:
        if name not in self.cells:
            cell_db = CellDatabase(self._url(name))
            cell_db.sync()
            mapping = CellMapping(str(uuidlib.uuid5(_UUID_NS, f"cell:{name}")), name,
                                  f"memory:///unused-{name}", cell_db.url)
            self.api_db.create_cell(mapping)
            self.cells[name] = mapping
            self.cell_dbs[mapping.uuid] = cell_db
        return self.cells[name]

    def add_host(self, name: str, cell: str = "cell1", **resources: int) -> SimulatedHost:
        mapping = self.add_cell(cell)
        host = SimulatedHost(name, {**HOST_RESOURCES, **resources})
        host.register(self.cell_dbs[mapping.uuid], self.placement)
        self.api_db.map_host(name, mapping.uuid)
        self.hosts[name] = host
        self.host_cell[name] = mapping.uuid
        return host

    def add_hosts(self, cell: str, names: Iterable[str], **resources: int) -> None:
        for name in names:
            self.add_host(name, cell, **resources)

    def cell_uuid(self, cell: str) -> str:
        return self.cells[cell].uuid

    def cell_db_of(self, host: str) -> CellDatabase:
        return self.cell_dbs[self.host_cell[host]]

    def set_compute_node(self, host: str, **values: Any) -> None:
        """Change a compute node row (disabled, updated_at, failed_builds) directly."""
        with self.cell_db_of(host).engine.begin() as conn:
            conn.execute(cell_schema.compute_nodes.update()
                         .where(cell_schema.compute_nodes.c.host == host).values(**values))

    # placement views
    def rp(self, host: str) -> str:
        return self.hosts[host].node_uuid

    def usage(self, host: str) -> dict[str, int]:
        return self.placement.get_usages(self.rp(host))

    def used_hosts(self) -> set[str]:
        return {h for h in self.hosts if any(self.usage(h).values())}

    def allocations(self, consumer: str) -> dict[str, dict[str, int]]:
        by_rp = {host.node_uuid: name for name, host in self.hosts.items()}
        return {by_rp[rp]: res
                for rp, res in self.placement.get_allocations_for_consumer(consumer).items()}

    def failed_builds(self, host: str) -> int:
        return next(n.failed_builds for n in self.cell_db_of(host).list_compute_nodes()
                    if n.host == host)

    # scheduling pieces
    def selector(self, conf: cfg.ConfigOpts, placement: Any = None,
                 clock: Callable[[], float] | None = None) -> Selector:
        from scheduler.host_manager import HostManager
        kwargs = {} if clock is None else {"clock": clock}
        return Selector(placement or self.placement, HostManager(self.cell_dbs),
                        enabled_filters(conf), enabled_weighers(conf),
                        conf.filter_scheduler.host_subset_size, conf.seed,
                        conf.scheduler.max_placement_results, **kwargs)

    def scheduler_manager(self, conf: cfg.ConfigOpts, placement: Any = None,
                          notifier: FakeNotifier | None = None) -> SchedulerManager:
        return build_scheduler_manager(conf, placement or self.placement, self.cell_dbs,
                                       notifier or FakeNotifier())

    def spec(self, name: str, flavor: Flavor = SMALL, num_instances: int = 1,
             num_alternates: int | None = None) -> RequestSpec:
        return RequestSpec(instance_uuid=instance_uuid(name), name=name, project_id=PROJECT,
                           user_id=USER, flavor=flavor, num_instances=num_instances,
                           request_id="req-test", num_alternates=num_alternates)

    def new_request(self, names: list[str], flavor: Flavor = SMALL,
                    num_alternates: int | None = None,
                    ) -> tuple[list[BuildRequest], list[RequestSpec]]:
        """What nova-api writes for one (multi-)create: BuildRequests, specs, mappings."""
        build_requests, specs = [], []
        for name in names:
            build_request = BuildRequest(instance_uuid=instance_uuid(name), name=name,
                                         project_id=PROJECT, user_id=USER, flavor=flavor)
            spec = self.spec(name, flavor, len(names), num_alternates)
            self.api_db.create_build_request(build_request, spec)
            build_requests.append(build_request)
            specs.append(spec)
        return build_requests, specs

    def selection(self, host: str, **updates: Any) -> Selection:
        """The Selection the scheduler would return for a host (its own allocation request)."""
        values = {"service_host": host, "nodename": host, "compute_node_uuid": self.rp(host),
                  "cell_uuid": self.host_cell[host],
                  "allocation_request": {"allocations": {
                      self.rp(host): {"resources": dict(SMALL.resources)}}}}
        values.update(updates)
        return Selection(**values)

    def create_instance(self, name: str, cell: str = "cell1", claim_on: str | None = None,
                        flavor: Flavor = SMALL, availability_zone: str | None = "nova",
                        ) -> Instance:
        """An instance row in a cell DB with its create action (what the super conductor made),
        optionally with its allocation on `claim_on` (what the scheduler claimed)."""
        instance = Instance(uuid=instance_uuid(name), name=name, project_id=PROJECT,
                            user_id=USER, flavor=flavor, cell_uuid=self.cell_uuid(cell),
                            availability_zone=availability_zone)
        cell_db = self.cell_dbs[instance.cell_uuid]
        cell_db.create_instance(instance)
        cell_db.start_action(instance.uuid, "req-test")
        if claim_on is not None:
            assert self.placement.claim_resources(
                instance.uuid, {"allocations": {self.rp(claim_on): {
                    "resources": dict(flavor.resources)}}}, PROJECT, USER)
        return instance

    def row(self, instance: Instance | str, cell: str | None = None) -> dict[str, Any]:
        instance_uuid_ = instance if isinstance(instance, str) else instance.uuid
        cell_uuid = self.cell_uuid(cell) if cell else (
            instance.cell_uuid if isinstance(instance, Instance) else None)
        dbs = [self.cell_dbs[cell_uuid]] if cell_uuid else [*self.cell_dbs.values(),
                                                             self.cell0_db]
        for db in dbs:
            for row in db.list_instance_rows():
                if row["uuid"] == instance_uuid_:
                    return row
        raise LookupError(instance_uuid_)

    def fault(self, instance: Instance, db: CellDatabase | None = None) -> str | None:
        db = db or self.cell_dbs[instance.cell_uuid]
        fault = db.list_faults().get(instance.uuid)
        return None if fault is None else fault.message

    def events(self, instance: Instance | str, db: CellDatabase | None = None) -> list[Any]:
        instance_uuid_ = instance if isinstance(instance, str) else instance.uuid
        if db is None:
            db = self.cell_dbs[instance.cell_uuid] if isinstance(instance, Instance) \
                else self.cell0_db
        return db.list_events().get(instance_uuid_, [])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    w = World(tmp_path)
    yield w
    w.close()


# -- the whole build path, synchronously -----------------------------------------------------------

@dataclass
class Loopback:
    """Super conductor -> compute -> cell conductor -> compute ..., casts pumped from a queue.

    The scheduler is the real SchedulerManager (called in-process), placement the world's real
    one, and each compute a real ComputeManager with the given fault rules.
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
        self.computes = {
            name: ComputeManager(host, self.world.cell_db_of(name), self.placement,
                                 self.conductor_apis[self.world.host_cell[name]], self.notifier,
                                 self.faults, sleep=lambda s: None,
                                 resources=resources_for(self.conf, host,
                                                         self.world.cell_db_of(name),
                                                         self.placement))
            for name, host in self.world.hosts.items()}
        self.schedule_and_build = wiring.schedule_and_build(
            self.conf, self.world.api_db, self.world.cell_dbs, self.scheduler_api,
            self.compute_apis.__getitem__,
            BuryInCell0(self.world.api_db, self.world.cell0_db, self.notifier), self.placement)

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

    def spawn_hosts(self, instance_uuid_: str) -> list[tuple[str, str]]:
        """(host, result) of every spawn attempt of an instance, in order."""
        from compute_sim.manager import BUILD_EVENT
        return [(e.host, e.result) for db in self.world.cell_dbs.values()
                for e in db.list_events().get(instance_uuid_, []) if e.event == BUILD_EVENT]
