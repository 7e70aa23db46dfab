"""Options of the scheduler: which filters and weighers run, and how the pick is made."""

from __future__ import annotations

from oslo_config import cfg

from altsim.conf.groups import register_group_opts

filter_scheduler_group = cfg.OptGroup("filter_scheduler", help="Filtering and weighing hosts.")

filter_scheduler_opts = [
    cfg.IntOpt("host_subset_size", default=1, min=1,
               help="The chosen host is picked at random (seeded from [DEFAULT] seed and the "
                    "instance) among the N best weighed hosts. 1 always takes the best; the "
                    "others keep their weighed order as claim fallbacks and alternates."),
    cfg.ListOpt("enabled_filters", default=["ComputeFilter"],
                help="Filters every host must pass, in order. Available: ComputeFilter "
                     "(service enabled and up), ResourceFilter (the flavor fits what the "
                     "scheduler's view of the host has left, after the other instances of "
                     "the same request). The default is Nova's default list less the four "
                     "filters altsim has nothing for (ComputeCapabilitiesFilter, "
                     "ImagePropertiesFilter and the two server group filters: altsim has no "
                     "flavor extra specs, images or server groups, so in Nova they would "
                     "pass every host of these requests). Like Nova's, it has no resource "
                     "filter: placement offers only hosts with room for one instance, and "
                     "an instance of a multi-create that no longer fits is refused by "
                     "placement's claim, host after host. Add ResourceFilter to drop such "
                     "hosts before claiming (altsim's former default), and with "
                     "[scheduler] use_placement = false, where nothing else looks at "
                     "resources before the compute (pre-Pike Nova's default filters had "
                     "RamFilter and DiskFilter)."),
    cfg.ListOpt("weight_classes",
                default=["RAMWeigher", "CPUWeigher", "DiskWeigher", "BuildFailureWeigher",
                         "StaticWeigher"],
                help="Weighers whose normalized, multiplied weights are summed. Equal sums "
                     "tie-break by host name, so a run is reproducible."),
    cfg.FloatOpt("ram_weight_multiplier", default=1.0,
                 help="Multiplier of free MEMORY_MB (positive spreads, negative stacks)."),
    cfg.FloatOpt("cpu_weight_multiplier", default=1.0, help="Multiplier of free VCPU."),
    cfg.FloatOpt("disk_weight_multiplier", default=1.0, help="Multiplier of free DISK_GB."),
    cfg.FloatOpt("build_failure_weight_multiplier", default=1000000.0,
                 help="Multiplier of a host's recent failed builds (subtracted), so a host "
                      "that keeps failing sinks below every healthy one, as in Nova."),
    cfg.DictOpt("static_host_weights", default={},
                help="Fixed weights per host, e.g. host1:100,host2:50; unlisted hosts weigh 0. "
                     "Makes host order explicit for reproducible scenarios."),
    cfg.FloatOpt("static_weight_multiplier", default=1000.0,
                 help="Multiplier of static_host_weights; large by default so that a static "
                      "order wins over the resource weighers."),
    cfg.IntOpt("service_down_time", default=60, min=1,
               help="A compute whose last heartbeat is older than this many seconds is down."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    register_group_opts(conf, filter_scheduler_group, filter_scheduler_opts)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(filter_scheduler_group.name, filter_scheduler_opts)]
