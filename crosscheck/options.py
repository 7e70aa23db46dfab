"""altsim's options as Nova's: what the Nova side sets so both run the same configuration.

The effective altsim values (the scenario's `config:` over altsim's defaults) of the options
Nova shares are set on Nova under Nova's names; altsim's StaticWeigher is added to Nova's
weighers; capacities are made to match (no reserved host memory, disk or CPUs, Nova's
compute-node allocation ratios as the scenario's where all hosts agree) and Nova's quotas are
off (altsim has none). Every other option
the scenario sets is listed in `ignored` with the reason, so a comparison says what was not
carried over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from oslo_config import cfg

from altsim_lab.scenario.schema import Scenario
from altsim_lab.scenario.topology import service_conf

STATIC_WEIGHER = "crosscheck.nova_side.weigher.StaticWeigher"
NOVA_DEFAULT_WEIGHERS = "nova.scheduler.weights.all_weighers"
NOVA_WEIGHERS = {
    "RAMWeigher": "nova.scheduler.weights.ram.RAMWeigher",
    "CPUWeigher": "nova.scheduler.weights.cpu.CPUWeigher",
    "DiskWeigher": "nova.scheduler.weights.disk.DiskWeigher",
    "BuildFailureWeigher": "nova.scheduler.weights.compute.BuildFailureWeigher",
    "StaticWeigher": STATIC_WEIGHER,
}
# altsim filters with a Nova filter of the same name; ResourceFilter has none (Nova leaves
# capacity to placement's candidates and the claims).
NOVA_FILTERS = {"ComputeFilter"}

# Options whose altsim value is set on Nova as (group, name); None is Nova's [DEFAULT].
SHARED = {
    ("scheduler", "max_attempts"): ("scheduler", "max_attempts"),
    ("filter_scheduler", "host_subset_size"): ("filter_scheduler", "host_subset_size"),
    ("filter_scheduler", "ram_weight_multiplier"): ("filter_scheduler", "ram_weight_multiplier"),
    ("filter_scheduler", "cpu_weight_multiplier"): ("filter_scheduler", "cpu_weight_multiplier"),
    ("filter_scheduler", "disk_weight_multiplier"):
        ("filter_scheduler", "disk_weight_multiplier"),
    ("filter_scheduler", "service_down_time"): (None, "service_down_time"),
    ("scheduler", "enable_isolated_aggregate_filtering"):
        ("scheduler", "enable_isolated_aggregate_filtering"),
}
# Handled apart from SHARED (weighers, filters, the multiplier Nova's TestCase zeroes).
HANDLED = {"filter_scheduler.enabled_filters", "filter_scheduler.weight_classes",
           "filter_scheduler.static_host_weights", "filter_scheduler.static_weight_multiplier",
           "filter_scheduler.build_failure_weight_multiplier"}
# Scenario options left out on purpose, and why.
NOT_CARRIED = {
    "scheduler.workers": "Nova's harness runs one scheduler; altsim's workers share "
                         "placement, so the outcome does not depend on their number",
    "conductor.unclaim_by": "Nova's compute always deletes the allocations before it casts "
                            "the reschedule, as altsim does with unclaim_by = compute",
    "scheduler.host_view": "Nova's scheduler always reads free resources from the compute "
                           "node rows, as altsim does with host_view = compute_nodes",
    "compute_sim.failed_builds_flush": "Nova's compute always leaves its failed builds to its "
                                       "resource tracker's next write, as altsim does with "
                                       "failed_builds_flush = tracker",
    "update_resources_interval": "Nova's harness runs no periodic task (periodic_enable is "
                                 "false in its test config)",
    "placement.candidates_order": "Nova's harness runs real Placement, which answers in its "
                                  "own order; the order matters only where [scheduler] "
                                  "max_placement_results cuts the candidates, which is not "
                                  "carried over either",
}
CAPACITY_FLAGS = [(None, "reserved_host_memory_mb", 0), (None, "reserved_host_disk_mb", 0),
                  (None, "reserved_host_cpus", 0)]
# altsim has no quotas: Nova's would refuse a scenario's eleventh server.
QUOTA_FLAGS = [("quota", "driver", "nova.quota.NoopQuotaDriver")]
RATIO_FLAGS = {"VCPU": "cpu_allocation_ratio", "MEMORY_MB": "ram_allocation_ratio",
               "DISK_GB": "disk_allocation_ratio"}

Flag = tuple[str | None, str, Any]


@dataclass(frozen=True)
class NovaOptions:
    flags: list[Flag]                   # set before Nova's services start
    flags_after_setup: list[Flag]       # set again after nova.test.TestCase.setUp
    static_weights: dict[str, float]
    static_weight_multiplier: float
    ignored: dict[str, str] = field(default_factory=dict)   # scenario key -> why


def nova_options(scenario: Scenario) -> NovaOptions:
    conf = service_conf(scenario, "crosscheck")
    fs = conf.filter_scheduler
    flags: list[Flag] = [(nova_group, nova_name, getattr(_group(conf, group), name))
                         for (group, name), (nova_group, nova_name) in SHARED.items()]
    flags += CAPACITY_FLAGS + QUOTA_FLAGS + _ratio_flags(scenario)
    flags.append(("filter_scheduler", "weight_classes", _weighers(scenario, fs.weight_classes)))
    if "filter_scheduler.enabled_filters" in scenario.config:
        flags.append(("filter_scheduler", "enabled_filters",
                      [name for name in fs.enabled_filters if name in NOVA_FILTERS]))
    return NovaOptions(
        flags=flags,
        flags_after_setup=[("filter_scheduler", "build_failure_weight_multiplier",
                            fs.build_failure_weight_multiplier)],
        static_weights={host: float(weight) for host, weight in fs.static_host_weights.items()},
        static_weight_multiplier=float(fs.static_weight_multiplier),
        ignored=_ignored(scenario))


def _group(conf: cfg.ConfigOpts, group: str | None) -> Any:
    return conf if group is None else getattr(conf, group)


def _weighers(scenario: Scenario, names: list[str]) -> list[str]:
    """Nova's default weighers (all of them) plus the static one, unless the scenario names
    its weighers, which are then mapped one for one."""
    if "filter_scheduler.weight_classes" not in scenario.config:
        return [NOVA_DEFAULT_WEIGHERS, STATIC_WEIGHER]
    return [NOVA_WEIGHERS[name] for name in names]


def _ratio_flags(scenario: Scenario) -> list[Flag]:
    """Nova's compute nodes take their allocation ratios from its config (the inventories
    the driver reports take each host's own): the scenario's where every host agrees."""
    hosts = [host for cell in scenario.cells for host in cell.all_hosts()]
    flags: list[Flag] = []
    for rc, option in RATIO_FLAGS.items():
        ratios = {host.allocation_ratio.get(rc, 1.0) for host in hosts}
        flags.append((None, option, ratios.pop() if len(ratios) == 1 else 1.0))
    return flags


def _ignored(scenario: Scenario) -> dict[str, str]:
    shared = {f"{group}.{name}" if group else name for group, name in SHARED}
    ignored = {}
    for key in scenario.config:
        if key in shared or key in HANDLED:
            continue
        ignored[key] = NOT_CARRIED.get(key, "no Nova counterpart in the harness")
    return ignored
