"""The simulated computes of one cell in one process: one RPC server per host, one heartbeat.

How each host handles resources follows the switches: with placement (`[scheduler]
use_placement`) it registers a provider and deletes allocations on failures (also before a
reschedule with `[conductor] unclaim_by = compute`); without, it keeps its own tracker.
"""

from __future__ import annotations

from collections.abc import Iterable

import oslo_messaging as messaging
from oslo_config import cfg

from altsim import rpc
from altsim.db.cell import CellDatabase
from compute_sim.faults import FaultInjector
from compute_sim.heartbeat import Heartbeat
from compute_sim.host import SimulatedHost
from compute_sim.manager import ComputeManager
from compute_sim.resources import resources_for
from compute_sim.rpcapi import RPC_TOPIC
from conductor.rpcapi import ConductorAPI
from placement_sim.client import PlacementClient


class ComputeSimService:
    """Registers every host (cell DB and placement) and serves each on its own `compute.<host>`."""

    def __init__(self, conf: cfg.ConfigOpts, transport: messaging.Transport,
                 notification_transport: messaging.Transport, cell_db: CellDatabase,
                 placement: PlacementClient, hosts: Iterable[SimulatedHost],
                 faults: FaultInjector) -> None:
        conductor_api = ConductorAPI(transport)
        notifier = rpc.Notifier(notification_transport, f"compute.{conf.host}")
        self.hosts = list(hosts)
        self.servers: list[messaging.RPCServer] = []
        use_placement = conf.scheduler.use_placement
        for host in self.hosts:
            host.register(cell_db, placement if use_placement else None)
            manager = ComputeManager(host, cell_db, placement, conductor_api, notifier, faults,
                                     resources=resources_for(conf, host, cell_db, placement))
            self.servers.append(rpc.make_server(transport, RPC_TOPIC, host.name, [manager]))
        self.heartbeat = Heartbeat(cell_db, [h.node_uuid for h in self.hosts],
                                    conf.compute_sim.report_interval)

    def start(self) -> None:
        for server in self.servers:
            server.start()
        self.heartbeat.start()

    def stop(self) -> None:
        self.heartbeat.stop()
        rpc.stop_servers(self.servers)
