"""Options of the simulated computes."""

from __future__ import annotations

from oslo_config import cfg

from altsim.conf.groups import register_group_opts

compute_sim_group = cfg.OptGroup("compute_sim", help="The simulated compute hosts.")

compute_sim_opts = [
    cfg.StrOpt("scenario_file",
               help="A scenario YAML (see etc/altsim/scenarios) whose cell named by `cell` "
                    "lists the hosts this process simulates, and whose `faults` and `seed` "
                    "drive their spawns."),
    cfg.StrOpt("cell", help="Name of this process's cell in scenario_file."),
    cfg.IntOpt("report_interval", default=10, min=1,
               help="Seconds between heartbeats of the simulated hosts; the scheduler treats "
                    "a host silent for [filter_scheduler] service_down_time as down."),
    cfg.StrOpt("failed_builds_flush", default="tracker", choices=[
                   ("tracker", "each host's resource tracker counts its failed builds in "
                               "memory and writes the count to the compute node row with "
                               "its next write: the host's next instance claim or release, "
                               "or the update_available_resource periodic task ([DEFAULT] "
                               "update_resources_interval). Nova: "
                               "ComputeManager._build_failed only calls "
                               "ResourceTracker.build_failed"),
                   ("immediate", "the count is written in the transaction that records "
                                 "each build's outcome (altsim's former behaviour)")],
               help="When a host's failed-build count (and its reset after a success) reaches "
                    "the compute node row, where the scheduler's BuildFailureWeigher reads "
                    "it. With tracker, two servers booted one after the other onto a host "
                    "that fails every spawn both go there, as in Nova; with immediate the "
                    "second is steered away at once."),
]

default_opts = [
    cfg.FloatOpt("update_resources_interval", default=60.0,
                 help="Seconds between runs of each compute process's "
                      "update_available_resource periodic task, which writes to each host's "
                      "compute node row what its tracker holds and the row does not have yet "
                      "(with [compute_sim] failed_builds_flush = tracker: the failed-build "
                      "count). 0 or less: never. Nova's option of this name defaults to 0, "
                      "which runs the task at the periodic tasks' default spacing, 60 s."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(default_opts)
    register_group_opts(conf, compute_sim_group, compute_sim_opts)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    return [(None, default_opts), (compute_sim_group.name, compute_sim_opts)]
