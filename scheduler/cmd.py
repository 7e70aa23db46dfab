"""altsim-scheduler: the scheduler daemon on the API bus."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from altsim import daemon, rpc
from altsim.db.api import ApiDatabase
from altsim.db.cell import CellDatabase
from altsim.objects import CELL0_UUID
from placement_sim import conf as placement_conf
from scheduler import conf as scheduler_conf
from scheduler.service import build_scheduler_server


@daemon.refusing_startup_problems
def main(argv: Sequence[str] | None = None) -> int:
    conf = daemon.load_conf(argv, [scheduler_conf.register_opts, placement_conf.register_opts])
    if not conf.api_database.connection:
        sys.exit("altsim-scheduler: [api_database] connection is required")
    api_db = ApiDatabase(conf.api_database.connection)
    cell_dbs = {cell.uuid: CellDatabase(cell.database_connection)
                for cell in api_db.list_cells() if cell.uuid != CELL0_UUID}
    server = build_scheduler_server(
        conf, rpc.get_rpc_transport(conf, conf.transport_url),
        placement_conf.make_placement_client(conf), cell_dbs,
        rpc.get_notification_transport(conf, conf.transport_url), api_db)
    return daemon.serve(f"scheduler {conf.host}", [server])


if __name__ == "__main__":
    sys.exit(main())
