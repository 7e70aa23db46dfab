"""Assemble the super and the cell conductor services (used embedded and by the daemon).

With `[scheduler] legacy_retry` the one cell shares the API bus, and two servers on topic
`conductor` there would take each other's messages; so the super conductor also serves the
cell's build_instances (with a scheduler client to ask again), as pre-cells-v2 Nova's single
conductor did, and no cell conductor runs.
"""

from __future__ import annotations

from collections.abc import Mapping

import oslo_messaging as messaging
from oslo_config import cfg

from altsim import rpc
from altsim.db.api import ApiDatabase
from altsim.db.cell import CellDatabase
from altsim.objects import CELL0_UUID
from altsim.periodic import PeriodicTask
from compute_sim.rpcapi import ComputeAPI
from conductor import wiring
from conductor.cell_manager import CellConductorManager
from conductor.rpcapi import RPC_TOPIC
from conductor.tasks.build_timeout import BuildTimeout
from placement_sim.client import PlacementClient


class LegacyRetryError(ValueError):
    """A deployment [scheduler] legacy_retry cannot run on (it needs one cell on the API bus)."""


def build_super_conductor_server(conf: cfg.ConfigOpts, transport: messaging.Transport,
                                 notification_transport: messaging.Transport,
                                 api_db: ApiDatabase, cell_dbs: Mapping[str, CellDatabase],
                                 cell0_db: CellDatabase, router: rpc.CellRouter,
                                 placement: PlacementClient) -> messaging.RPCServer:
    # Imported here so that building a cell conductor never imports the scheduler's client.
    from conductor.super_manager import SuperConductorManager
    from conductor.tasks.cell0 import BuryInCell0
    from scheduler.rpcapi import SchedulerAPI

    legacy_cell = _legacy_retry_cell(cell_dbs) if conf.scheduler.legacy_retry else None
    notifier = rpc.Notifier(notification_transport, f"conductor.{conf.host}")
    compute_apis: dict[str, ComputeAPI] = {}

    def compute_api_for(cell_uuid: str) -> ComputeAPI:
        if cell_uuid not in compute_apis:
            compute_apis[cell_uuid] = ComputeAPI(router.transport(cell_uuid))
        return compute_apis[cell_uuid]

    # Nova's scheduler client: long_rpc_timeout, with rpc_response_timeout as the call
    # monitor's (nova/scheduler/rpcapi.py, select_destinations).
    scheduler_api = SchedulerAPI(transport, conf.long_rpc_timeout, conf.rpc_response_timeout)
    task = wiring.schedule_and_build(conf, api_db, cell_dbs, scheduler_api, compute_api_for,
                                     BuryInCell0(api_db, cell0_db, notifier), placement)
    endpoints: list[object] = [SuperConductorManager(task)]
    if legacy_cell is not None:
        endpoints.append(CellConductorManager(wiring.reschedule(
            conf, cell_dbs[legacy_cell], placement, compute_api_for(legacy_cell), notifier,
            scheduler_api)))
    return rpc.make_server(transport, RPC_TOPIC, conf.host, endpoints)


def _legacy_retry_cell(cell_dbs: Mapping[str, CellDatabase]) -> str:
    if len(cell_dbs) != 1:
        raise LegacyRetryError(
            f"[scheduler] legacy_retry = true needs exactly one cell, found {len(cell_dbs)}: "
            f"a reschedule then calls the scheduler, which only a cell on the API bus can")
    return next(iter(cell_dbs))


def build_super_conductor_from_api_db(
        conf: cfg.ConfigOpts, transport: messaging.Transport,
        notification_transport: messaging.Transport, placement: PlacementClient,
) -> tuple[messaging.RPCServer, rpc.CellRouter]:
    """The super conductor of a deployment: its cells, their DBs and buses from CellMappings.
    LegacyRetryError when [scheduler] legacy_retry is set on a deployment it cannot serve."""
    api_db = ApiDatabase(conf.api_database.connection)
    cells = api_db.list_cells()
    cell_dbs = {cell.uuid: CellDatabase(cell.database_connection)
                for cell in cells if cell.uuid != CELL0_UUID}
    cell0 = next((cell for cell in cells if cell.uuid == CELL0_UUID), None)
    if cell0 is None:
        raise SystemExit("altsim-conductor: the API database has no cell0 mapping "
                         "(altsim-manage cell create cell0 ...)")
    if conf.scheduler.legacy_retry:
        # The cell's computes cast their reschedules on their own bus: it must be this one.
        off_bus = [cell.name for cell in cells
                   if cell.uuid != CELL0_UUID and cell.transport_url != conf.transport_url]
        if off_bus:
            raise LegacyRetryError(
                f"[scheduler] legacy_retry = true needs the cell on the API bus, but cell "
                f"{off_bus[0]}'s transport_url is not this conductor's transport_url")
    router = rpc.CellRouter(conf, cells)
    server = build_super_conductor_server(conf, transport, notification_transport, api_db,
                                          cell_dbs, CellDatabase(cell0.database_connection),
                                          router, placement)
    return server, router


def build_cell_conductor_server(conf: cfg.ConfigOpts, transport: messaging.Transport,
                                notification_transport: messaging.Transport,
                                cell_db: CellDatabase,
                                placement: PlacementClient) -> messaging.RPCServer:
    if conf.scheduler.legacy_retry:
        raise LegacyRetryError(
            "[scheduler] legacy_retry = true: no cell conductor runs; the super conductor "
            "serves the one cell's reschedules on the API bus")
    notifier = rpc.Notifier(notification_transport, f"conductor.{conf.host}")
    task = wiring.reschedule(conf, cell_db, placement, ComputeAPI(transport), notifier)
    return rpc.make_server(transport, RPC_TOPIC, conf.host, [CellConductorManager(task)])


def build_timeout_sweeper(conf: cfg.ConfigOpts, notification_transport: messaging.Transport,
                          cell_db: CellDatabase, placement: PlacementClient,
                          cell_uuid: str | None = None) -> PeriodicTask | None:
    """The cell conductor's periodic build-timeout sweep of its cell DB, not started yet;
    None when [conductor] build_timeout is 0."""
    options = conf.conductor
    if not options.build_timeout:
        return None
    notifier = rpc.Notifier(notification_transport, f"conductor.{conf.host}")
    task = BuildTimeout(cell_db, placement if conf.scheduler.use_placement else None,
                        notifier, options.build_timeout, cell_uuid)
    return PeriodicTask(f"build-timeout-{conf.host}", options.build_timeout_interval, task)


def legacy_retry_sweeper(conf: cfg.ConfigOpts, notification_transport: messaging.Transport,
                         placement: PlacementClient) -> PeriodicTask | None:
    """With [scheduler] legacy_retry no cell conductor runs: the super conductor, which
    serves the one cell, sweeps it (None without legacy_retry, or with build_timeout 0)."""
    if not conf.scheduler.legacy_retry:
        return None
    cells = [cell for cell in ApiDatabase(conf.api_database.connection).list_cells()
             if cell.uuid != CELL0_UUID]
    if len(cells) != 1:
        return None  # refused already by build_super_conductor_from_api_db
    return build_timeout_sweeper(conf, notification_transport,
                                 CellDatabase(cells[0].database_connection), placement,
                                 cells[0].uuid)
