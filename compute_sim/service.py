"""The simulated computes of one cell in one process: one RPC server for every host, one
heartbeat, one update_available_resource periodic task; and on every host's queue, a test's
simulation controls (run-time fault rules, the periodic task now: compute_sim/simulation.py).

Each host has its own `compute.<host>` queue, as each nova-compute has; one MultiServerRPCServer
consumes them all on one connection and hands each message to the manager of its queue's host,
so a process can carry thousands of hosts (altsim.multi_server).

How each host handles resources follows the switches: with placement (`[scheduler]
use_placement`) it registers a provider and deletes allocations on failures (also before a
reschedule with `[conductor] unclaim_by = compute`); without, its tracker checks what fits.
Every host's tracker writes its usage to its compute node row on each claim and release, and
the periodic task (`[DEFAULT] update_resources_interval`) writes what is left to write: the
failed-build counts kept since (`[compute_sim] failed_builds_flush = tracker`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

import oslo_messaging as messaging
from oslo_config import cfg

from altsim import rpc, runtime
from altsim.db.cell import CellDatabase
from altsim.multi_server import MultiServerRPCServer
from altsim.periodic import PeriodicTask
from compute_sim.faults import FaultInjector
from compute_sim.heartbeat import Heartbeat
from compute_sim.host import SimulatedHost
from compute_sim.manager import ComputeManager
from compute_sim.resources import failed_builds_for, resources_for, tracker_for
from compute_sim.rpcapi import RPC_TOPIC
from compute_sim.simulation import SimulationEndpoint
from compute_sim.tracker import ResourceTracker
from conductor.rpcapi import ConductorAPI
from placement_sim.client import PlacementClient

LOG = logging.getLogger(__name__)


class ComputeSimService:
    """Registers every host (cell DB and placement) and serves each on its own `compute.<host>`
    queue, all through one RPC server."""

    def __init__(self, conf: cfg.ConfigOpts, transport: messaging.Transport,
                 notification_transport: messaging.Transport, cell_db: CellDatabase,
                 placement: PlacementClient, hosts: Iterable[SimulatedHost],
                 faults: FaultInjector) -> None:
        conductor_api = ConductorAPI(transport)
        notifier = rpc.Notifier(notification_transport, f"compute.{conf.host}")
        self.hosts = list(hosts)
        _register(self.hosts, cell_db, placement if conf.scheduler.use_placement else None)
        managers: dict[str, list[ComputeManager | SimulationEndpoint]] = {}
        self.trackers: list[ResourceTracker] = []
        # Every host's queue also takes a test's run-time faults (namespace `simulation`).
        simulation = SimulationEndpoint(faults, self.update_available_resource)
        for host in self.hosts:
            tracker = tracker_for(conf, host, cell_db)
            self.trackers.append(tracker)
            managers[host.name] = [ComputeManager(
                host, cell_db, placement, conductor_api, notifier, faults,
                resources=resources_for(conf, tracker, placement),
                failed_builds=failed_builds_for(conf, tracker, cell_db, host)), simulation]
        self.servers: list[messaging.RPCServer] = [
            MultiServerRPCServer(transport, RPC_TOPIC, managers, rpc.SERIALIZER)]
        self.heartbeat = Heartbeat(cell_db, [h.node_uuid for h in self.hosts],
                                    conf.compute_sim.report_interval)
        interval = conf.update_resources_interval
        self.resource_updates = (PeriodicTask(f"update-available-resource-{conf.host}",
                                              interval, self.update_available_resource)
                                 if interval > 0 else None)

    def start(self) -> None:
        for server in self.servers:
            server.start()
        self.start_tasks()

    def stop(self) -> None:
        self.stop_tasks()
        rpc.stop_servers(self.servers)

    def start_tasks(self) -> None:
        """The heartbeat and the periodic task (the daemon serves the RPC servers itself)."""
        self.heartbeat.start()
        if self.resource_updates is not None:
            self.resource_updates.start()

    def stop_tasks(self) -> None:
        if self.resource_updates is not None:
            self.resource_updates.stop()
        self.heartbeat.stop()

    def update_available_resource(self) -> int:
        """Nova's periodic of that name: every host's tracker writes what its row lacks;
        returns how many rows were written."""
        return sum(tracker.update_available_resource() for tracker in self.trackers)


# Registrations in flight at once: placement answers one in well under a millisecond, so a few
# requests in the air hide the round trips of a process registering thousands of hosts.
REGISTRATION_THREADS = 8


def _register(hosts: list[SimulatedHost], cell_db: CellDatabase,
              placement: PlacementClient | None) -> None:
    """Every host's provider in placement (unless none is used), then every compute node row
    in one transaction. Logs how long it took: thousands of hosts take seconds."""
    started = runtime.monotonic()
    if placement is not None and runtime.is_deterministic():
        for host in hosts:  # one at a time, in host order: a deterministic run's order
            host.register_provider(placement)
    elif placement is not None:
        with ThreadPoolExecutor(REGISTRATION_THREADS, thread_name_prefix="register") as pool:
            for _ in pool.map(lambda host: host.register_provider(placement), hosts):
                pass  # iterating re-raises the first failure
    cell_db.register_compute_nodes([host.compute_node() for host in hosts])
    LOG.info("Registered %d hosts in %.1f s", len(hosts), runtime.monotonic() - started)
