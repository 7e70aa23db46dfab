"""Assemble the scheduler service from its collaborators (used embedded and by the daemon)."""

from __future__ import annotations

from collections.abc import Mapping

import oslo_messaging as messaging
from oslo_config import cfg

from altsim import rpc
from altsim.db.api import ApiDatabase
from altsim.db.cell import CellDatabase
from placement_sim.client import PlacementClient
from scheduler.filters import enabled_filters
from scheduler.host_manager import HostManager
from scheduler.manager import SchedulerManager
from scheduler.request_filters import RequestFilters
from scheduler.rpcapi import RPC_TOPIC
from scheduler.selector import Selector
from scheduler.weights import enabled_weighers


def build_scheduler_manager(conf: cfg.ConfigOpts, placement: PlacementClient,
                            cell_dbs: Mapping[str, CellDatabase], notifier: rpc.Notifier,
                            api_db: ApiDatabase | None = None) -> SchedulerManager:
    """`api_db`: where the host aggregates are read, needed with `[scheduler]
    enable_isolated_aggregate_filtering` (ValueError without)."""
    options = conf.scheduler
    host_manager = HostManager(cell_dbs, options.host_view)
    aggregates = None
    if options.enable_isolated_aggregate_filtering:
        if api_db is None:
            raise ValueError("[scheduler] enable_isolated_aggregate_filtering needs the API "
                             "database (its host aggregates)")
        aggregates = api_db.list_aggregates
    selector = Selector(placement, host_manager, enabled_filters(conf), enabled_weighers(conf),
                        conf.filter_scheduler.host_subset_size, conf.seed,
                        options.max_placement_results, claims=options.claim_in == "scheduler",
                        host_source=(None if options.use_placement
                                     else host_manager.get_node_host_states),
                        request_filters=RequestFilters(aggregates))
    return SchedulerManager(conf, selector, notifier)


def build_scheduler_server(conf: cfg.ConfigOpts, transport: messaging.Transport,
                           placement: PlacementClient, cell_dbs: Mapping[str, CellDatabase],
                           notification_transport: messaging.Transport,
                           api_db: ApiDatabase | None = None) -> messaging.RPCServer:
    notifier = rpc.Notifier(notification_transport, f"scheduler.{conf.host}")
    manager = build_scheduler_manager(conf, placement, cell_dbs, notifier, api_db)
    return rpc.make_server(transport, RPC_TOPIC, conf.host, [manager])
