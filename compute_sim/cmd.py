"""altsim-compute: one process simulating every host of a cell, each on its `compute.<host>`."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from altsim import daemon, rpc
from altsim.db.cell import CellDatabase
from compute_sim import conf as compute_conf
from compute_sim.faults import FaultInjector
from compute_sim.hosts_file import HostsFileError, load_hosts_file, simulated_host
from compute_sim.service import ComputeSimService
from conductor import conf as conductor_conf
from placement_sim import conf as placement_conf


@daemon.refusing_startup_problems
def main(argv: Sequence[str] | None = None) -> int:
    # [conductor] too: unclaim_by decides whether this compute unclaims before a reschedule.
    conf = daemon.load_conf(argv, [compute_conf.register_opts, conductor_conf.register_opts,
                                   placement_conf.register_opts])
    options = conf.compute_sim
    if conf.api_database.connection:
        daemon.refuse("altsim-compute: a compute must not be given [api_database] connection: "
                      "cells cannot call up")
    if not (options.scenario_file and options.cell and conf.database.connection):
        sys.exit("altsim-compute: needs [compute_sim] scenario_file and cell, and [database] "
                 "connection")
    try:
        scenario = load_hosts_file(options.scenario_file)
    except HostsFileError as exc:  # names the file, the key and the problem
        daemon.refuse(f"altsim-compute: [compute_sim] scenario_file: {exc}")
    cell = scenario.cell(options.cell)
    if cell is None:
        daemon.refuse(f"altsim-compute: {options.scenario_file}: no cell named "
                      f"{options.cell!r} ([compute_sim] cell)")
    hosts = [simulated_host(h) for h in cell.all_hosts()]
    service = ComputeSimService(
        conf, rpc.get_rpc_transport(conf, conf.transport_url),
        rpc.get_notification_transport(conf, conf.transport_url),
        CellDatabase(conf.database.connection), placement_conf.make_placement_client(conf),
        hosts, FaultInjector(scenario.faults, scenario.seed))
    service.start_tasks()
    return daemon.serve(f"compute {options.cell} ({len(hosts)} hosts)", service.servers,
                        on_stop=service.stop_tasks)


if __name__ == "__main__":
    sys.exit(main())
