"""The conductors' tasks built from a ConfigOpts: which switch gives which collaborator.

One place turns `[scheduler] claim_in, use_placement, legacy_retry` and `[conductor]
alternates_from, unclaim_by` into the arguments of ScheduleAndBuild and Reschedule, for the
service builders and for tests that wire a whole build path in-process.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from oslo_config import cfg

from altsim.db.cell import CellDatabase
from altsim.rpc import Notifier
from compute_sim.rpcapi import ComputeAPI
from conductor.tasks.attempts import Attempts
from conductor.tasks.reschedule import Reschedule
from conductor.tasks.reselect import Reselect, SchedulerClient
from placement_sim.client import PlacementClient

if TYPE_CHECKING:  # the super conductor's side; a cell conductor never imports it
    from altsim.db.api import ApiDatabase
    from conductor.tasks.cell0 import BuryInCell0
    from conductor.tasks.schedule_and_build import ScheduleAndBuild


def conductor_claims(conf: cfg.ConfigOpts) -> bool:
    """The super conductor claims the chosen host (nothing is claimed without placement)."""
    return conf.scheduler.claim_in == "conductor" and conf.scheduler.use_placement


def schedule_and_build(conf: cfg.ConfigOpts, api_db: ApiDatabase,
                       cell_dbs: Mapping[str, CellDatabase], scheduler_api: SchedulerClient,
                       compute_api_for: Callable[[str], ComputeAPI], bury: BuryInCell0,
                       placement: PlacementClient) -> ScheduleAndBuild:
    from conductor.tasks.schedule_and_build import ScheduleAndBuild

    scheduler_claims = conf.scheduler.use_placement and not conductor_claims(conf)
    return ScheduleAndBuild(api_db, cell_dbs, scheduler_api, compute_api_for, bury,
                            Attempts.from_conf(conf),
                            claim_with=placement if conductor_claims(conf) else None,
                            unclaim_with=placement if scheduler_claims else None)


def reschedule(conf: cfg.ConfigOpts, cell_db: CellDatabase, placement: PlacementClient,
               compute_api: ComputeAPI, notifier: Notifier,
               scheduler_api: SchedulerClient | None = None) -> Reschedule:
    """The reschedule task of a cell; `scheduler_api` only with legacy_retry (it then asks the
    scheduler again instead of walking down alternates)."""
    options = conf.scheduler
    reselect = None
    if scheduler_api is not None:
        reselect = Reselect(scheduler_api, cell_db,
                            scheduler_claims=options.use_placement and not conductor_claims(conf))
    unclaim = options.use_placement and conf.conductor.unclaim_by == "cell_conductor"
    return Reschedule(cell_db, placement, compute_api, notifier, Attempts.from_conf(conf),
                      unclaim=unclaim, reselect=reselect)
