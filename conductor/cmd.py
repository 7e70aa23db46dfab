"""altsim-conductor: the super conductor ([conductor] role = super, API level) or a cell's
conductor (role = cell: its cell's bus and DB only, no API database at all)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from altsim import daemon, rpc
from altsim.db.cell import CellDatabase
from conductor import conf as conductor_conf
from placement_sim import conf as placement_conf


def main(argv: Sequence[str] | None = None) -> int:
    conf = daemon.load_conf(argv, [conductor_conf.register_opts, placement_conf.register_opts])
    transport = rpc.get_rpc_transport(conf, conf.transport_url)
    notifications = rpc.get_notification_transport(conf, conf.transport_url)
    if conf.conductor.role == "cell":
        if conf.api_database.connection:
            daemon.refuse("altsim-conductor: a cell conductor must not be given "
                          "[api_database] connection: cells cannot call up")
        if not conf.database.connection:
            sys.exit("altsim-conductor: role = cell needs [database] connection")
        from conductor.service import LegacyRetryError, build_cell_conductor_server
        try:
            server = build_cell_conductor_server(conf, transport, notifications,
                                                 CellDatabase(conf.database.connection),
                                                 placement_conf.make_placement_client(conf))
        except LegacyRetryError as exc:
            sys.exit(f"altsim-conductor: {exc}")
        return daemon.serve(f"cell conductor {conf.host}", [server])
    if not conf.api_database.connection:
        sys.exit("altsim-conductor: role = super needs [api_database] connection")
    from conductor.service import LegacyRetryError, build_super_conductor_from_api_db
    try:
        # Placement: with [scheduler] claim_in = conductor this conductor claims.
        server, router = build_super_conductor_from_api_db(
            conf, transport, notifications, placement_conf.make_placement_client(conf))
    except LegacyRetryError as exc:
        sys.exit(f"altsim-conductor: {exc}")
    return daemon.serve(f"super conductor {conf.host}", [server], on_stop=router.cleanup)


if __name__ == "__main__":
    sys.exit(main())
