"""What every deployment of a scenario shares, however its services run: the planned topology,
its databases, and the buses the runner itself uses (to submit requests, to hear completions)."""

from __future__ import annotations

from typing import Any

import oslo_messaging as messaging

from altsim import rpc
from altsim.db.api import Aggregate, ApiDatabase
from altsim.db.cell import CellDatabase
from altsim.db.discover import discover_hosts
from altsim.db.engine import dispose_engine
from altsim.db.schema_image import create_schema
from altsim.objects import Flavor
from altsim_lab.scenario.schema import Scenario
from altsim_lab.scenario.topology import Cell, Topology, service_conf
from altsim_lab.scenario.tracker_usage import TrackerUsage
from compute_sim.host import aggregate_uuid_for
from compute_sim.hosts_file import HostSpec, simulated_host


class Deployment:
    transport_name = ""
    placement: Any  # a placement_sim PlacementClient, set by the subclass
    # Part of every instance uuid (altsim_lab.nova_api.instance_uuid_for): "" unless the run
    # shares its placement with others.
    instance_salt = ""

    def __init__(self, scenario: Scenario, topology: Topology) -> None:
        self.scenario = scenario
        self.topology = topology
        self.api_db = ApiDatabase(topology.api_db_url)
        self.cell_dbs = {cell.mapping.uuid: CellDatabase(cell.mapping.database_connection)
                         for cell in topology.cells}
        self.cell0_db = CellDatabase(topology.cell0.database_connection)
        self._transports: list[messaging.Transport] = []
        # One ConfigOpts per service name for its transports: building one registers every
        # option again, which was a fifth of what a small deterministic run cost (explore).
        self._transport_confs: dict[str, Any] = {}
        self._cell_rpc: dict[str, messaging.Transport] = {}  # cell name -> the lab's client

    # what the runner needs to reach
    def api_rpc_transport(self) -> messaging.Transport:
        return self._transport("rpc", self.topology.api_transport_url, "client")

    def cell_rpc_transport(self, cell_name: str) -> messaging.Transport:
        """The runner's RPC transport on a cell's bus (to reach its computes' simulation
        controls, compute_sim.rpcapi.SimulationAPI), made once per cell."""
        if cell_name not in self._cell_rpc:
            url = next(c.mapping.transport_url for c in self.topology.cells
                       if c.mapping.name == cell_name)
            self._cell_rpc[cell_name] = self._transport("rpc", url, "client")
        return self._cell_rpc[cell_name]

    def notification_transports(self) -> list[messaging.Transport]:
        return [self._transport("notification", url, "collector")
                for url in self._transport_urls()]

    def rpc_messages(self) -> int | None:
        """RPC casts and calls sent on the run's buses so far, or None where they are not
        counted (a real broker keeps no per-vhost publish count without its management
        plugin)."""
        return None

    def add_compute(self, cell_name: str, spec: HostSpec) -> None:
        """One more simulated host in a running cell (Nova's functional tests'
        `_start_compute`): served by the cell's compute, registered in placement and the cell
        DB, then mapped as `nova-manage cell_v2 discover_hosts` would. The compute refuses a
        name already taken."""
        cell = next(c for c in self.topology.cells if c.mapping.name == cell_name)
        host = simulated_host(spec)
        self._start_host(cell, spec)
        cell.hosts.append(host)
        discover_hosts(self.api_db)

    def _start_host(self, cell: Cell, spec: HostSpec) -> None:
        """Have the running compute of `cell` serve one more host; returns once it does."""
        raise NotImplementedError

    def resource_usage(self) -> Any:
        """What the report reads usage and allocations from: placement, or without it
        ([scheduler] use_placement = false) the computes' trackers through the cell DBs."""
        if service_conf(self.scenario, "report").scheduler.use_placement:
            return self.placement
        return TrackerUsage(self.cell_dbs.values())

    # shared building blocks
    def _transport_urls(self) -> list[str]:
        """Every bus of the run, each once (a legacy_retry cell shares the API bus)."""
        return list(dict.fromkeys([self.topology.api_transport_url,
                                   *(cell.mapping.transport_url
                                     for cell in self.topology.cells)]))

    def _conf(self, host: str) -> Any:
        """The scenario's ConfigOpts for `host`, built once (for its transports, and what
        else only reads options every service sees alike)."""
        conf = self._transport_confs.get(host)
        if conf is None:
            conf = self._transport_confs[host] = service_conf(self.scenario, host,
                                                                messaging=True)
        return conf

    def _transport(self, kind: str, url: str, host: str) -> messaging.Transport:
        conf = self._conf(host)
        transport = (rpc.get_rpc_transport(conf, url) if kind == "rpc"
                     else rpc.get_notification_transport(conf, url))
        self._transports.append(transport)
        return transport

    def _create_databases(self) -> None:
        create_schema(self.api_db)
        create_schema(self.cell0_db)
        self.api_db.create_cell(self.topology.cell0)
        for cell in self.topology.cells:
            create_schema(self.cell_dbs[cell.mapping.uuid])
            self.api_db.create_cell(cell.mapping)
        for name, flavor in self.scenario.flavors.items():
            self.api_db.create_flavor(Flavor(name=name, resources=dict(flavor.resources),
                                             extra_specs=dict(flavor.extra_specs)))
        # The host aggregates and their metadata, as nova-api keeps them (the hosts are put
        # in their placement aggregates by their computes, compute_sim.host).
        for name in sorted(self._aggregate_names()):
            spec = self.scenario.aggregates.get(name)
            self.api_db.create_aggregate(Aggregate(
                uuid=aggregate_uuid_for(name), name=name,
                metadata=dict(spec.metadata) if spec is not None else {}))

    def _aggregate_names(self) -> set[str]:
        return set(self.scenario.aggregates).union(
            *(cell.aggregate_names() for cell in self.scenario.cells))

    def _release(self) -> None:
        """Close the runner's transports and the database pools."""
        for transport in self._transports:
            transport.cleanup()
        for url in self.topology.database_urls():
            dispose_engine(url)
