"""altsim-conductor: the super conductor ([conductor] role = super, API level) or a cell's
conductor (role = cell: its cell's bus and DB only, no API database at all)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from altsim import daemon, rpc
from altsim.db.cell import CellDatabase
from altsim.periodic import PeriodicTask
from conductor import conf as conductor_conf
from placement_sim import conf as placement_conf


@daemon.refusing_startup_problems
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
        from conductor.service import (
            LegacyRetryError,
            build_cell_conductor_server,
            build_timeout_sweeper,
        )
        cell_db = CellDatabase(conf.database.connection)
        placement = placement_conf.make_placement_client(conf)
        try:
            server = build_cell_conductor_server(conf, transport, notifications, cell_db,
                                                 placement)
        except LegacyRetryError as exc:
            sys.exit(f"altsim-conductor: {exc}")
        sweeper = build_timeout_sweeper(conf, notifications, cell_db, placement)
        return _serve(f"cell conductor {conf.host}", server, sweeper)
    if not conf.api_database.connection:
        sys.exit("altsim-conductor: role = super needs [api_database] connection")
    from conductor.service import (
        LegacyRetryError,
        build_super_conductor_from_api_db,
        legacy_retry_sweeper,
    )
    placement = placement_conf.make_placement_client(conf)
    try:
        # Placement: with [scheduler] claim_in = conductor this conductor claims.
        server, router = build_super_conductor_from_api_db(conf, transport, notifications,
                                                           placement)
    except LegacyRetryError as exc:
        sys.exit(f"altsim-conductor: {exc}")
    return _serve(f"super conductor {conf.host}", server,
                  legacy_retry_sweeper(conf, notifications, placement), router.cleanup)


def _serve(name: str, server: object, sweeper: PeriodicTask | None,
           on_stop: Callable[[], None] = lambda: None) -> int:
    """Serve, with the build-timeout sweep (if any) running beside the RPC server."""
    if sweeper is None:
        return daemon.serve(name, [server], on_stop=on_stop)
    sweeper.start()

    def stop() -> None:
        sweeper.stop()
        on_stop()

    return daemon.serve(name, [server], on_stop=stop)


if __name__ == "__main__":
    sys.exit(main())
