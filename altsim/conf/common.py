"""Options every altsim service shares: its host name, its databases, placement, retries."""

from __future__ import annotations

from oslo_config import cfg

from altsim.conf.groups import register_group_opts

default_opts = [
    cfg.StrOpt("host", default="altsim",
               help="Name of this service's host, used as its RPC server name."),
    cfg.IntOpt("seed", default=0,
               help="Seed from which every random choice of the simulation derives, so that a "
                    "run is reproducible however threads interleave."),
    cfg.IntOpt("long_rpc_timeout", default=1800, min=1,
               help="Seconds the super conductor waits for the scheduler's answer to "
                    "select_destinations, as long as the scheduler keeps saying it is working "
                    "on it (oslo.messaging's call monitor: a heartbeat at least every "
                    "rpc_response_timeout, whose absence ends the wait sooner). Nova's option "
                    "and default: a scheduler slowed by its placement is waited for, a dead "
                    "one is not."),
]

api_database_group = cfg.OptGroup("api_database", help="The API database (API-level services "
                                  "only: the scheduler and the super conductor).")
api_database_opts = [
    cfg.StrOpt("connection", secret=True,
               help="SQLAlchemy URL of the API database. Leave unset on cell services: a cell "
                    "service must not reach the API level."),
]

database_group = cfg.OptGroup("database", help="The cell database of a cell-level service.")
database_opts = [
    cfg.StrOpt("connection", secret=True,
               help="SQLAlchemy URL of this service's cell database."),
]

scheduler_group = cfg.OptGroup("scheduler", help="Scheduling and retries.")
scheduler_opts = [
    cfg.IntOpt("max_attempts", default=3, min=1,
               help="Maximum number of attempts to build an instance: the chosen host plus up "
                    "to max_attempts - 1 alternates from the same cell. 1 disables "
                    "rescheduling: a reschedulable failure puts the instance in ERROR at "
                    "once. Read by the scheduler (how many alternates to return) and by the "
                    "conductors (when to give up), as in Nova."),
    cfg.IntOpt("workers", default=1, min=1,
               help="Scheduler processes a launched deployment runs (`altsim run "
                    "--transport-url`), as Nova's [scheduler] workers: each serves the "
                    "`scheduler` topic, so concurrent requests are spread over them, and each "
                    "keeps its own view of the hosts (their claims still meet in "
                    "placement). One Python process uses one core at most; more workers use "
                    "more cores. A deployment run by hand starts as many altsim-scheduler "
                    "daemons as it wants instead; embedded runs have one scheduler."),
    cfg.IntOpt("max_placement_results", default=1000, min=1,
               help="Limit on the allocation candidates asked of placement per request."),
    cfg.StrOpt("claim_in", default="scheduler", choices=[
                   ("scheduler", "the scheduler claims the chosen host in placement and falls "
                                 "down its weighed list until a claim succeeds (Nova since "
                                 "Pike)"),
                   ("conductor", "the scheduler returns the chosen host and its alternates "
                                 "unclaimed; the super conductor claims the chosen host and, "
                                 "when that claim is lost to a race, the alternates in order "
                                 "(the Boston-summit plan)")],
               help="Who makes the first placement claim of a build. With conductor, each "
                    "lost claim is recorded as a conductor_claim_resources event, the hosts "
                    "tried are no longer passed on as alternates, and an instance none of "
                    "whose hosts can be claimed is buried in cell0 with NoValidHost. Read by "
                    "the scheduler and the super conductor. Ignored when use_placement is "
                    "false (nothing is claimed anywhere)."),
    cfg.BoolOpt("use_placement", default=True,
                help="false: no placement at all. Each simulated compute keeps its own "
                     "resource tracker and reports its totals and usage in its compute node "
                     "row; the scheduler builds host states from those rows (same filters "
                     "and weighers: add ResourceFilter to [filter_scheduler] "
                     "enabled_filters, as pre-Pike Nova's defaults had RamFilter and "
                     "DiskFilter, or nothing before the compute looks at resources) and "
                     "returns hosts without claims; a compute given a "
                     "build that does not fit fails it with a reschedulable 'Insufficient "
                     "compute resources' error, so it goes to the next alternate (Nova "
                     "before Pike, without claims in the scheduler). Read by every service."),
    cfg.StrOpt("host_view", default="compute_nodes", choices=[
                   ("compute_nodes", "each host's free resources as its compute node row "
                                     "reports them, which its own resource tracker updates "
                                     "when the build reaches it and claims (Nova: "
                                     "HostManager.get_host_states_by_uuids builds every "
                                     "request's HostStates anew from the rows)"),
                   ("placement", "each host's free resources from placement's provider "
                                 "summaries, which count every claim as soon as it is made "
                                 "(altsim's former view)")],
               help="Where the scheduler's filters and weighers read a host's free "
                    "resources; placement decides which hosts are candidates either way. "
                    "With compute_nodes, requests scheduled before the previous ones' builds "
                    "reach their computes see the same free resources and herd onto the same "
                    "best hosts (their claims then meet in placement, and a request whose "
                    "host filled up falls down its list); with placement they spread at "
                    "once. Read by the scheduler. Ignored when use_placement is false (the "
                    "rows are the only view)."),
    cfg.BoolOpt("enable_isolated_aggregate_filtering", default=False,
                help="true: Nova's isolate_aggregates request filter. Each request asks "
                     "placement to leave out the providers of every host aggregate whose "
                     "metadata has a `trait:<NAME>=required` key the flavor does not require "
                     "(`member_of=!in:<aggregates>`), so only the flavors that ask for an "
                     "aggregate's traits land on its hosts. Read by the scheduler, from the "
                     "API database's aggregates. Ignored when use_placement is false."),
    cfg.BoolOpt("legacy_retry", default=False,
                help="true: pre-Queens retries. The scheduler returns no alternates; a "
                     "reschedule asks the scheduler again for one host, excluding the hosts "
                     "already tried, until max_attempts attempts. That is a call from the "
                     "cell up to the scheduler, possible only where the cell shares the API "
                     "bus: a deployment with more than one cell is refused, and the one cell "
                     "runs on the API bus, where a single conductor (the super conductor) "
                     "also serves the cell's build_instances, as pre-cells-v2 Nova's one "
                     "conductor did. [conductor] alternates_from is then ignored."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(default_opts)
    register_group_opts(conf, api_database_group, api_database_opts)
    register_group_opts(conf, database_group, database_opts)
    register_group_opts(conf, scheduler_group, scheduler_opts)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [
        (None, default_opts),
        (api_database_group.name, api_database_opts),
        (database_group.name, database_opts),
        (scheduler_group.name, scheduler_opts),
    ]
