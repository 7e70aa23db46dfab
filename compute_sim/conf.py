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
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    register_group_opts(conf, compute_sim_group, compute_sim_opts)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(compute_sim_group.name, compute_sim_opts)]
