"""A small real cloud on disk for tests: an API database, cell0, cells with hosts, placement.

A World is everything the build path reads and writes, made real: SQLite API and cell
databases in a folder the test gives, the real in-process placement (PlacementStore and
InProcessPlacementClient) with a provider per host, cell and host mappings as
`altsim-manage` would write them. It builds the scheduling pieces on top (a Selector, a
SchedulerManager), writes what nova-api would for a request, and reads back rows, faults,
action events, usages and allocations by host name. Names map to uuids deterministically, so
seeded choices repeat from run to run. Close it to release its database engines.
"""

from __future__ import annotations

import json
import uuid as uuidlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from oslo_config import cfg

from altsim.db import cell_schema
from altsim.db.api import ApiDatabase, CellMapping
from altsim.db.cell import CellDatabase
from altsim.db.engine import dispose_engine
from altsim.objects import CELL0_UUID, BuildRequest, Flavor, Instance, RequestSpec, Selection
from altsim_lab.testing.fakes import FakeNotifier
from compute_sim.host import SimulatedHost
from placement_sim.client import InProcessPlacementClient
from placement_sim.store import PlacementStore
from scheduler.filters import enabled_filters
from scheduler.manager import SchedulerManager
from scheduler.selector import Selector
from scheduler.service import build_scheduler_manager
from scheduler.weights import enabled_weighers

PROJECT = "test-project"
USER = "test-user"
SMALL = Flavor(name="small", resources={"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1})
HOST_RESOURCES = {"VCPU": 8, "MEMORY_MB": 16384, "DISK_GB": 100}
UUID_NAMESPACE = uuidlib.UUID("1d0c6f55-4d5b-4bb5-9d1e-6f0a7e3c2b10")


def instance_uuid(name: str) -> str:
    """Deterministic instance uuids, so seeded choices repeat run to run."""
    return str(uuidlib.uuid5(UUID_NAMESPACE, name))


class World:
    """An API DB, cell0, cells with hosts (cell DB rows, host mappings, placement providers)."""

    def __init__(self, tmp_path: Path) -> None:
        """Databases are made in `tmp_path`; cells and hosts are added with add_cell/add_host."""
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
        """Dispose of every database engine the world opened."""
        for url in self._urls:
            dispose_engine(url)

    # topology
    def add_cell(self, name: str) -> CellMapping:
        """The cell of this name, made (database, mapping) on first use."""
        if name not in self.cells:
            cell_db = CellDatabase(self._url(name))
            cell_db.sync()
            mapping = CellMapping(str(uuidlib.uuid5(UUID_NAMESPACE, f"cell:{name}")), name,
                                  f"memory:///unused-{name}", cell_db.url)
            self.api_db.create_cell(mapping)
            self.cells[name] = mapping
            self.cell_dbs[mapping.uuid] = cell_db
        return self.cells[name]

    def add_host(self, name: str, cell: str = "cell1", **resources: int) -> SimulatedHost:
        """A host in `cell` with HOST_RESOURCES (`resources` override some), registered in
        the cell DB and placement and mapped in the API DB."""
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
        """The resource provider uuid of a host."""
        return self.hosts[host].node_uuid

    def usage(self, host: str) -> dict[str, int]:
        return self.placement.get_usages(self.rp(host))

    def used_hosts(self) -> set[str]:
        """The hosts with anything allocated on them."""
        return {h for h in self.hosts if any(self.usage(h).values())}

    def allocations(self, consumer: str) -> dict[str, dict[str, int]]:
        """A consumer's allocations by host name."""
        by_rp = {host.node_uuid: name for name, host in self.hosts.items()}
        return {by_rp[rp]: res
                for rp, res in self.placement.get_allocations_for_consumer(consumer).items()}

    def failed_builds(self, host: str) -> int:
        return next(n.failed_builds for n in self.cell_db_of(host).list_compute_nodes()
                    if n.host == host)

    def node_usage(self, host: str) -> dict[str, int]:
        """What the host's compute node row says its instances use (its tracker's report)."""
        rows = self.cell_db_of(host).compute_node_rows()[1] or []
        return next(json.loads(row.resources_used or "{}") for row in rows if row.host == host)

    # scheduling pieces
    def selector(self, conf: cfg.ConfigOpts, placement: Any = None,
                 clock: Callable[[], float] | None = None) -> Selector:
        """The scheduler's Selector over this world, with the filters and weighers `conf`
        enables."""
        from scheduler.host_manager import HostManager
        kwargs = {} if clock is None else {"clock": clock}
        return Selector(placement or self.placement, HostManager(self.cell_dbs),
                        enabled_filters(conf), enabled_weighers(conf),
                        conf.filter_scheduler.host_subset_size, conf.seed,
                        conf.scheduler.max_placement_results, **kwargs)

    def scheduler_manager(self, conf: cfg.ConfigOpts, placement: Any = None,
                          notifier: FakeNotifier | None = None) -> SchedulerManager:
        """The scheduler's RPC endpoint over this world, built as the service builds it."""
        return build_scheduler_manager(conf, placement or self.placement, self.cell_dbs,
                                       notifier or FakeNotifier(), self.api_db)

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

    # reading back
    def row(self, instance: Instance | str, cell: str | None = None) -> dict[str, Any]:
        """An instance's row, from `cell`, its own cell, or else every cell DB and cell0."""
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
        """The message of an instance's fault, if it has one."""
        db = db or self.cell_dbs[instance.cell_uuid]
        fault = db.list_faults().get(instance.uuid)
        return None if fault is None else fault.message

    def events(self, instance: Instance | str, db: CellDatabase | None = None) -> list[Any]:
        """An instance's action events (from cell0 for a bare uuid, unless `db` is given)."""
        instance_uuid_ = instance if isinstance(instance, str) else instance.uuid
        if db is None:
            db = self.cell_dbs[instance.cell_uuid] if isinstance(instance, Instance) \
                else self.cell0_db
        return db.list_events().get(instance_uuid_, [])
