"""Assemble the super and the cell conductor services (used embedded and by the daemon)."""

from __future__ import annotations

from collections.abc import Mapping

import oslo_messaging as messaging
from oslo_config import cfg

from altsim import rpc
from altsim.db.api import ApiDatabase
from altsim.db.cell import CellDatabase
from altsim.objects import CELL0_UUID
from compute_sim.rpcapi import ComputeAPI
from conductor.cell_manager import CellConductorManager
from conductor.rpcapi import RPC_TOPIC
from conductor.tasks.reschedule import Reschedule
from placement_sim.client import PlacementClient


def build_super_conductor_server(conf: cfg.ConfigOpts, transport: messaging.Transport,
                                 notification_transport: messaging.Transport,
                                 api_db: ApiDatabase, cell_dbs: Mapping[str, CellDatabase],
                                 cell0_db: CellDatabase,
                                 router: rpc.CellRouter) -> messaging.RPCServer:
    # Imported here so that building a cell conductor never imports the scheduler's client.
    from conductor.manager import SuperConductorManager
    from conductor.tasks.cell0 import BuryInCell0
    from conductor.tasks.schedule_and_build import ScheduleAndBuild
    from scheduler.rpcapi import SchedulerAPI

    notifier = rpc.Notifier(notification_transport, f"conductor.{conf.host}")
    compute_apis: dict[str, ComputeAPI] = {}

    def compute_api_for(cell_uuid: str) -> ComputeAPI:
        if cell_uuid not in compute_apis:
            compute_apis[cell_uuid] = ComputeAPI(router.transport(cell_uuid))
        return compute_apis[cell_uuid]

    task = ScheduleAndBuild(api_db, cell_dbs, SchedulerAPI(transport), compute_api_for,
                            BuryInCell0(api_db, cell0_db, notifier), conf.scheduler.max_attempts)
    return rpc.make_server(transport, RPC_TOPIC, conf.host, [SuperConductorManager(task)])


def build_super_conductor_from_api_db(
        conf: cfg.ConfigOpts, transport: messaging.Transport,
        notification_transport: messaging.Transport,
) -> tuple[messaging.RPCServer, rpc.CellRouter]:
    """The super conductor of a deployment: its cells, their DBs and buses from CellMappings."""
    api_db = ApiDatabase(conf.api_database.connection)
    cells = api_db.list_cells()
    cell_dbs = {cell.uuid: CellDatabase(cell.database_connection)
                for cell in cells if cell.uuid != CELL0_UUID}
    cell0 = next((cell for cell in cells if cell.uuid == CELL0_UUID), None)
    if cell0 is None:
        raise SystemExit("altsim-conductor: the API database has no cell0 mapping "
                         "(altsim-manage cell create cell0 ...)")
    router = rpc.CellRouter(conf, cells)
    server = build_super_conductor_server(conf, transport, notification_transport, api_db,
                                          cell_dbs, CellDatabase(cell0.database_connection),
                                          router)
    return server, router


def build_cell_conductor_server(conf: cfg.ConfigOpts, transport: messaging.Transport,
                                notification_transport: messaging.Transport,
                                cell_db: CellDatabase,
                                placement: PlacementClient) -> messaging.RPCServer:
    notifier = rpc.Notifier(notification_transport, f"conductor.{conf.host}")
    task = Reschedule(cell_db, placement, ComputeAPI(transport), notifier,
                      conf.scheduler.max_attempts)
    return rpc.make_server(transport, RPC_TOPIC, conf.host, [CellConductorManager(task)])
