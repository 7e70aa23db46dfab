"""The embedded deployment: every service in this process, on in-memory buses, SQLite, placement
in-process. The services are the same RPC servers the daemons run; only the transport driver
(`memory://`, one isolated bus per level) and the placement client differ.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import oslo_messaging as messaging

from altsim import memory_driver, rpc
from altsim.db.discover import discover_hosts
from altsim.periodic import PeriodicTask
from altsim_lab.deploy.deployment import Deployment
from altsim_lab.scenario.schema import Scenario
from altsim_lab.scenario.topology import Cell, plan_topology, service_conf
from compute_sim.faults import FaultInjector
from compute_sim.host import SimulatedHost
from compute_sim.hosts_file import HostSpec, simulated_host
from compute_sim.service import ComputeSimService
from conductor.service import (
    build_cell_conductor_server,
    build_super_conductor_server,
    build_timeout_sweeper,
)
from placement_sim.client import InProcessPlacementClient
from placement_sim.store import PlacementStore
from scheduler.service import build_scheduler_server

LOG = logging.getLogger(__name__)


class EmbeddedDeployment(Deployment):
    transport_name = "embedded"

    def __init__(self, scenario: Scenario, run_id: str, workdir: Path) -> None:
        super().__init__(scenario, plan_topology(scenario, run_id, workdir))
        # Placement in-process, with the scenario's [placement] options: read from the
        # scheduler's transport conf, built anyway (a ConfigOpts of its own costs ms a start).
        self.placement = InProcessPlacementClient(PlacementStore(
            self._conf("scheduler").placement.candidates_order))
        self._servers: list[messaging.RPCServer] = []
        self._computes: dict[str, ComputeSimService] = {}  # cell name -> its compute
        self._sweepers: list[PeriodicTask] = []
        self._router: rpc.CellRouter | None = None
        # Every compute's fault injector: a test adds rules to it at run time (add_rule).
        self.faults = FaultInjector(scenario.faults, scenario.seed)

    # lifecycle
    def start(self) -> None:
        self._create_databases()
        self._start_cells()
        self._start_api_level()

    def stop(self, also: Sequence[Any] = ()) -> None:
        """Stop every service (and `also`, e.g. the runner's listeners) in one parallel wait."""
        for sweeper in self._sweepers:
            sweeper.stop()
        for compute in self._computes.values():
            compute.stop_tasks()
        rpc.stop_servers([*also, *self._servers,
                          *(server for compute in self._computes.values()
                            for server in compute.servers)])
        if self._router is not None:
            self._router.cleanup()
        self._release()
        for vhost in self._vhosts():
            memory_driver.delete_vhost(vhost)

    def join(self, timeout: float) -> None:
        """Wait until every message sent on the run's buses has been handled, with what the
        handlers sent meanwhile (altsim.memory_driver.join; JoinTimeout after `timeout` s)."""
        memory_driver.join(*self._vhosts(), timeout=timeout)

    def run_periodics(self) -> int:
        """Every compute's update_available_resource task, now, in this thread (Nova's
        functional tests' `_run_periodics`); returns how many compute node rows it wrote."""
        return sum(compute.update_available_resource() for compute in self._computes.values())

    def _vhosts(self) -> list[str]:
        return [urlsplit(url).path.lstrip("/") for url in self._transport_urls()]

    def rpc_messages(self) -> int:
        """Casts and calls published on the run's in-memory buses (API and every cell),
        by the runner's client and every service; replies and notifications not included."""
        total = 0
        for vhost in self._vhosts():
            sent = memory_driver.vhost_stats(vhost)["sent"]
            total += sent["call"] + sent["cast"]
        return total

    # building blocks
    def _start_host(self, cell: Cell, spec: HostSpec) -> None:
        # What the cell's compute daemon does when asked over its bus (launched).
        self._computes[cell.mapping.name].add_host(simulated_host(spec))

    def _start_compute(self, cell: Cell, hosts: list[SimulatedHost]) -> None:
        url, cell_db = cell.mapping.transport_url, self.cell_dbs[cell.mapping.uuid]
        compute = ComputeSimService(
            service_conf(self.scenario, f"compute-{cell.mapping.name}"),
            self._transport("rpc", url, "compute"),
            self._transport("notification", url, "compute"), cell_db, self.placement,
            hosts, self.faults)
        compute.start()
        self._computes[cell.mapping.name] = compute

    def _start_cells(self) -> None:
        for cell in self.topology.cells:
            url, cell_db = cell.mapping.transport_url, self.cell_dbs[cell.mapping.uuid]
            conductor_conf = service_conf(self.scenario, f"conductor-{cell.mapping.name}")
            notifications = self._transport("notification", url, "conductor")
            if not conductor_conf.scheduler.legacy_retry:  # else the super conductor serves it
                self._start(build_cell_conductor_server(
                    conductor_conf, self._transport("rpc", url, "conductor"), notifications,
                    cell_db, self.placement))
            # The cell conductor's periodic task (the super conductor's with legacy_retry).
            sweeper = build_timeout_sweeper(conductor_conf, notifications, cell_db,
                                            self.placement, cell.mapping.uuid)
            if sweeper is not None:
                sweeper.start()
                self._sweepers.append(sweeper)
            self._start_compute(cell, cell.hosts)
        discover_hosts(self.api_db)

    def _start_api_level(self) -> None:
        api_url = self.topology.api_transport_url
        scheduler_conf = service_conf(self.scenario, "scheduler")
        self._start(build_scheduler_server(
            scheduler_conf, self._transport("rpc", api_url, "scheduler"), self.placement,
            self.cell_dbs, self._transport("notification", api_url, "scheduler"),
            self.api_db))
        conductor_conf = service_conf(self.scenario, "conductor-super")
        self._router = rpc.CellRouter(conductor_conf, self.api_db.list_cells())
        self._start(build_super_conductor_server(
            conductor_conf, self._transport("rpc", api_url, "conductor"),
            self._transport("notification", api_url, "conductor"), self.api_db, self.cell_dbs,
            self.cell0_db, self._router, self.placement))

    def _start(self, server: messaging.RPCServer) -> None:
        server.start()
        self._servers.append(server)
