"""What a scenario deploys, independent of how: cells with their URLs and DBs, hosts, configs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import oslo_messaging.opts
from oslo_config import cfg

import compute_sim.conf
import conductor.conf
import placement_sim.conf
import scheduler.conf
from altsim import rpc
from altsim.conf import make_conf
from altsim.conf.template import cloned_conf
from altsim.db.api import CellMapping
from altsim.objects import CELL0_UUID
from altsim_lab.config_overrides import ConfigOverrideError, apply_overrides
from altsim_lab.deploy.provision import DatabaseServer, database_names
from altsim_lab.scenario.schema import Scenario
from compute_sim.host import SimulatedHost
from compute_sim.hosts_file import simulated_host
from conductor.wiring import conductor_claims
from scheduler.filters import enabled_filters
from scheduler.weights import enabled_weighers

_CELL_NAMESPACE = uuid.UUID("0b5d6f43-7f4e-4c0c-9f0e-2a3c1c1f3e11")
SERVICE_OPTION_PACKAGES = (scheduler.conf.register_opts, conductor.conf.register_opts,
                           compute_sim.conf.register_opts, placement_sim.conf.register_opts)


@dataclass(frozen=True)
class Cell:
    mapping: CellMapping
    hosts: list[SimulatedHost]


@dataclass(frozen=True)
class Topology:
    api_transport_url: str
    api_db_url: str
    cell0: CellMapping
    cells: list[Cell]

    def database_urls(self) -> list[str]:
        """Every database of the run: the API database, cell0's, then each cell's."""
        return [self.api_db_url, self.cell0.database_connection,
                *(cell.mapping.database_connection for cell in self.cells)]

    def host_cell_names(self) -> dict[str, str]:
        return {host.name: cell.mapping.name for cell in self.cells for host in cell.hosts}


# Every embedded service shares one interpreter and its GIL: a few workers per RPC server keep
# the CPU as busy as 64 do, without the thread convoys that cost a third of the throughput at
# 20 concurrent requests (benchmarks/embedded_build_path.py). A scenario may set it higher.
EMBEDDED_EXECUTOR_POOL_SIZE = 4


def blank_service_conf(messaging: bool = False) -> cfg.ConfigOpts:
    """A fresh ConfigOpts with every service's options, parsed, with no scenario applied: a
    copy of one built once per process (altsim.conf.template), which costs a tenth of
    building it. With `messaging`, what a transport of it reads is registered too
    (altsim.rpc.prepare_conf)."""
    if not messaging:
        return cloned_conf("altsim_lab.service_conf", _build_blank_service_conf)
    conf = cloned_conf("altsim_lab.service_conf.messaging", _build_messaging_service_conf)
    rpc.mark_prepared(conf)
    return conf


def _build_blank_service_conf() -> cfg.ConfigOpts:
    conf = make_conf(SERVICE_OPTION_PACKAGES)
    oslo_messaging.opts.set_defaults(conf, executor_thread_pool_size=EMBEDDED_EXECUTOR_POOL_SIZE)
    conf([], project="altsim", default_config_files=[], default_config_dirs=[])
    return conf


def _build_messaging_service_conf() -> cfg.ConfigOpts:
    conf = _build_blank_service_conf()
    rpc.prepare_conf(conf)
    return conf


def service_conf(scenario: Scenario, host: str, messaging: bool = False) -> cfg.ConfigOpts:
    """A fresh ConfigOpts for one service, with the scenario's config applied; `messaging`
    for one that transports are made of (the scenario's config was checked on a plain one,
    check_config, so it sets nothing the messaging registrations add)."""
    conf = blank_service_conf(messaging)
    conf.set_override("seed", scenario.seed)
    conf.set_override("host", host)
    apply_overrides(conf, scenario.config)
    return conf


def check_config(scenario: Scenario) -> None:
    """Reject a scenario `config:` that no service would accept, before anything starts."""
    conf = service_conf(scenario, "check")
    try:
        enabled_filters(conf)
        enabled_weighers(conf)
    except ValueError as exc:
        raise ConfigOverrideError(f"config.{exc}") from None
    _check_legacy_retry(scenario, conf)
    _check_static_weights(scenario, conf)


def _check_static_weights(scenario: Scenario, conf: cfg.ConfigOpts) -> None:
    """A weight for a host the scenario does not have weighs nothing: a typo, refused."""
    for host in conf.filter_scheduler.static_host_weights:
        if not scenario.has_host(host):
            raise ConfigOverrideError(f"config.filter_scheduler.static_host_weights: {host!r} "
                                      f"matches no host of the scenario")


def build_path(conf: cfg.ConfigOpts) -> dict[str, object]:
    """Who claims and unclaims in a run with this config: what an instance's recorded events
    leave out (they record lost claims, not the ones made), for the report's readers."""
    placement = bool(conf.scheduler.use_placement)
    claims_by = None
    if placement:
        claims_by = "super_conductor" if conductor_claims(conf) else "scheduler"
    return {"placement": placement, "claims_by": claims_by,
            "unclaim_by": conf.conductor.unclaim_by if placement else None,
            "legacy_retry": bool(conf.scheduler.legacy_retry),
            "max_attempts": conf.scheduler.max_attempts}


def _check_legacy_retry(scenario: Scenario, conf: cfg.ConfigOpts) -> None:
    if conf.scheduler.legacy_retry and len(scenario.cells) != 1:
        raise ConfigOverrideError(
            f"config.scheduler.legacy_retry: true needs exactly one cell, the scenario has "
            f"{len(scenario.cells)} ({', '.join(c.name for c in scenario.cells)}): a legacy "
            f"reschedule calls the scheduler from the cell, which only works when the cell "
            f"shares the API bus, and cells of their own cannot call up")


def plan_topology(scenario: Scenario, run_id: str, workdir: Path,
                  transport_template: str = "memory:///{run_id}-{name}",
                  database_server: DatabaseServer | None = None) -> Topology:
    """Names every bus and database of the run; nothing is created yet. Databases are SQLite
    files in `workdir`, or, given a `database_server`, databases on it named from the run id
    (altsim_lab.deploy.provision). With [scheduler] legacy_retry the one cell is on the API bus (its
    transport_url is the API one): a legacy reschedule calls the scheduler from the cell;
    every other configuration gives each cell a bus of its own. ConfigOverrideError for a
    legacy_retry scenario with more than one cell."""
    conf = service_conf(scenario, "plan")
    _check_legacy_retry(scenario, conf)
    shared_bus = conf.scheduler.legacy_retry

    def url(name: str) -> str:
        return transport_template.format(run_id=run_id, name="api" if shared_bus else name)

    levels = ["api", "cell0", *(spec.name for spec in scenario.cells)]
    if database_server is None:
        db_urls = [f"sqlite:///{workdir / level}.db" for level in levels]
    else:
        db_urls = [database_server.url_for(name)
                   for name in database_names(run_id, levels)]
    api_db_url, cell0_db_url, *cell_db_urls = db_urls
    cells = []
    for spec, db_url in zip(scenario.cells, cell_db_urls, strict=True):
        mapping = CellMapping(uuid=str(uuid.uuid5(_CELL_NAMESPACE, spec.name)), name=spec.name,
                              transport_url=url(spec.name), database_connection=db_url)
        hosts = [simulated_host(h) for h in spec.all_hosts()]
        cells.append(Cell(mapping, hosts))
    cell0 = CellMapping(uuid=CELL0_UUID, name="cell0", transport_url="none:///",
                        database_connection=cell0_db_url)
    return Topology(api_transport_url=url("api"), api_db_url=api_db_url, cell0=cell0,
                    cells=cells)
