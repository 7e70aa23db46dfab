"""The simulated computes of one cell in one process: one RPC server for every host, one
heartbeat, one update_available_resource periodic task; and on every host's queue, a test's
simulation controls (run-time fault rules, the periodic task now, one more host:
compute_sim/simulation.py).

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
from http import HTTPStatus

import oslo_messaging as messaging
from oslo_config import cfg

from altsim import rpc, runtime
from altsim.db.cell import CellDatabase
from altsim.multi_server import MultiServerRPCServer
from altsim.periodic import PeriodicTask
from compute_sim.faults import FaultInjector
from compute_sim.heartbeat import Heartbeat
from compute_sim.host import SimulatedHost, node_uuid_for
from compute_sim.manager import ComputeManager
from compute_sim.resources import failed_builds_for, resources_for, tracker_for
from compute_sim.rpcapi import RPC_TOPIC
from compute_sim.simulation import SimulationEndpoint
from compute_sim.tracker import ResourceTracker
from conductor.rpcapi import ConductorAPI
from placement_sim.client import PlacementClient
from placement_sim.exceptions import PlacementError

LOG = logging.getLogger(__name__)


class HostExists(ValueError):
    """add_host of a name this cell (or placement, for another cell's host) already has."""


class ComputeSimService:
    """Registers every host (cell DB and placement) and serves each on its own `compute.<host>`
    queue, all through one RPC server; and, at run time, one more host (add_host)."""

    def __init__(self, conf: cfg.ConfigOpts, transport: messaging.Transport,
                 notification_transport: messaging.Transport, cell_db: CellDatabase,
                 placement: PlacementClient, hosts: Iterable[SimulatedHost],
                 faults: FaultInjector) -> None:
        self._conf = conf
        self._transport = transport
        self._cell_db = cell_db
        self._placement = placement
        self._faults = faults
        self._conductor_api = ConductorAPI(transport)
        self._notifier = rpc.Notifier(notification_transport, f"compute.{conf.host}")
        # Every host's queue also takes a test's run-time controls (namespace `simulation`).
        self._simulation = SimulationEndpoint(faults, self.update_available_resource,
                                              self.add_host)
        self._adding = runtime.Lock()  # one add_host at a time: its name check holds
        self.hosts = list(hosts)
        _register(self.hosts, cell_db, self._registered_placement())
        self.trackers: list[ResourceTracker] = []
        endpoints = {host.name: self._endpoints(host) for host in self.hosts}
        # Every RPC server of the process: this one, then one per host added at run time.
        # The daemon (altsim.daemon.serve) and the embedded deployment stop what this list
        # holds when they stop, so add_host appends to it, never replaces it.
        self.servers: list[messaging.RPCServer] = [
            MultiServerRPCServer(transport, RPC_TOPIC, endpoints, rpc.SERIALIZER)]
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

    def add_host(self, host: SimulatedHost) -> None:
        """One more host of this cell, at run time (Nova's functional tests' `_start_compute`
        of a new host), as a host given at start is: served on its own `compute.<host>`
        queue, registered in placement and the cell DB, kept up by the heartbeat, written by
        the periodic task. Returns once all of that is done; HostExists if the name is taken.

        Its queue gets an RPC server of its own (one more connection over RabbitMQ): the
        running server's connection belongs to its polling thread, which nothing else may
        use to declare a consumer, and hosts added at run time are a test's few. The queue
        is served before the host is registered, so nothing can see the host before a build
        sent to it has a queue to wait in."""
        with self._adding:
            self._refuse_taken(host.name)
            tracker, endpoints = self._serve(host)
            server = MultiServerRPCServer(self._transport, RPC_TOPIC, {host.name: endpoints},
                                          rpc.SERIALIZER)
            server.start()
            try:
                _register([host], self._cell_db, self._registered_placement())
            except BaseException:
                rpc.stop_servers([server])
                raise
            self.servers.append(server)
            self.hosts.append(host)
            # Copied, not appended to: the periodic task and the heartbeat read them from
            # their own threads.
            self.trackers = [*self.trackers, tracker]
            self.heartbeat.add(host.node_uuid)

    def _endpoints(self, host: SimulatedHost) -> list[ComputeManager | SimulationEndpoint]:
        tracker, endpoints = self._serve(host)
        self.trackers.append(tracker)
        return endpoints

    def _serve(self, host: SimulatedHost
               ) -> tuple[ResourceTracker, list[ComputeManager | SimulationEndpoint]]:
        """The host's tracker, and what its queue serves: its manager, then the process's
        simulation controls."""
        conf, cell_db = self._conf, self._cell_db
        tracker = tracker_for(conf, host, cell_db)
        manager = ComputeManager(
            host, cell_db, self._placement, self._conductor_api, self._notifier, self._faults,
            resources=resources_for(conf, tracker, self._placement),
            failed_builds=failed_builds_for(conf, tracker, cell_db, host))
        return tracker, [manager, self._simulation]

    def _registered_placement(self) -> PlacementClient | None:
        """Where hosts register their providers: nowhere without placement."""
        return self._placement if self._conf.scheduler.use_placement else None

    def _refuse_taken(self, name: str) -> None:
        """HostExists if this process serves `name`, its cell DB has a compute node of that
        name, or placement a provider of its uuid (a host of another cell: the uuid is the
        name's, compute_sim.host.node_uuid_for, so the two would share one provider)."""
        if name in {host.name for host in self.hosts} or any(
                node.host == name for node in self._cell_db.list_compute_nodes()):
            raise HostExists(f"add_host: a host named {name!r} already exists in this cell")
        placement = self._registered_placement()
        if placement is not None and _has_provider(placement, node_uuid_for(name)):
            raise HostExists(f"add_host: a host named {name!r} already has a resource "
                             f"provider in placement (a host of another cell?)")


# Registrations in flight at once: placement answers one in well under a millisecond, so a few
# requests in the air hide the round trips of a process registering thousands of hosts.
REGISTRATION_THREADS = 8


def _has_provider(placement: PlacementClient, uuid: str) -> bool:
    try:
        placement.get_inventories(uuid)
    except PlacementError as exc:
        if exc.status == HTTPStatus.NOT_FOUND:
            return False
        raise
    return True


def _register(hosts: list[SimulatedHost], cell_db: CellDatabase,
              placement: PlacementClient | None) -> None:
    """Every host's provider in placement (unless none is used), then every compute node row
    in one transaction. Logs how long it took: thousands of hosts take seconds."""
    started = runtime.monotonic()
    if placement is not None and (runtime.is_deterministic()
                                  or len(hosts) <= REGISTRATION_THREADS // 2):
        # One at a time, in host order: a deterministic run's order; and for a few hosts,
        # whose round trips a pool would hide less than its threads cost to start.
        for host in hosts:
            host.register_provider(placement)
    elif placement is not None:
        with ThreadPoolExecutor(REGISTRATION_THREADS, thread_name_prefix="register") as pool:
            for _ in pool.map(lambda host: host.register_provider(placement), hosts):
                pass  # iterating re-raises the first failure
    cell_db.register_compute_nodes([host.compute_node() for host in hosts])
    LOG.info("Registered %d hosts in %.1f s", len(hosts), runtime.monotonic() - started)
