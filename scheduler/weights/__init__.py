"""Host weighers, one per module; `weigh_hosts` sums their normalized, multiplied weights.

As in Nova, each weigher's raw values are min-max normalized across the candidate hosts to [0, 1]
before its multiplier applies, so no weigher dominates by the scale of its unit alone.
"""

from __future__ import annotations

import numpy as np
from oslo_config import cfg

from altsim.objects import RequestSpec
from scheduler.host_columns import Columns
from scheduler.host_state import HostState
from scheduler.plugins import load_plugins
from scheduler.weights.base import HostWeigher
from scheduler.weights.build_failure import BuildFailureWeigher
from scheduler.weights.resources import CPUWeigher, DiskWeigher, RAMWeigher
from scheduler.weights.static import StaticWeigher

ALL_WEIGHERS: dict[str, type[HostWeigher]] = {
    cls.__name__: cls for cls in (RAMWeigher, CPUWeigher, DiskWeigher, BuildFailureWeigher,
                                  StaticWeigher)}


def enabled_weighers(conf: cfg.ConfigOpts) -> list[HostWeigher]:
    return load_plugins(conf, "filter_scheduler.weight_classes",
                        conf.filter_scheduler.weight_classes, ALL_WEIGHERS)


def _normalize(values: list[float]) -> list[float]:
    low, high = min(values), max(values)
    if high == low:
        return [0.0] * len(values)
    return [(value - low) / (high - low) for value in values]


def weigh_hosts(weighers: list[HostWeigher], hosts: list[HostState],
                spec: RequestSpec) -> list[HostState]:
    """Hosts best first; equal weights keep host-name order."""
    if not hosts:
        return []
    totals = [0.0] * len(hosts)
    for weigher in weighers:
        multiplier = weigher.multiplier()
        if multiplier == 0 or not weigher.applies():
            continue
        normalized = _normalize(weigher.raw_weights(hosts, spec))
        totals = [total + multiplier * value
                  for total, value in zip(totals, normalized, strict=True)]
    order = sorted(range(len(hosts)), key=lambda i: (-totals[i], hosts[i].host))
    return [hosts[i] for i in order]


def weighed_order(weighers: list[HostWeigher], hosts: Columns,
                  spec: RequestSpec) -> np.ndarray:
    """weigh_hosts on columns: the positions of `hosts`, best first. The same arithmetic in
    the same order (so the same totals, to the last bit) and the same tie-break: `hosts` are
    in host-name order and the sort is stable."""
    totals = np.zeros(len(hosts))
    if not len(hosts):
        return np.zeros(0, dtype=np.intp)
    for weigher in weighers:
        multiplier = weigher.multiplier()
        if multiplier == 0 or not weigher.applies():
            continue
        raw = weigher.raw_weight_column(hosts, spec)
        low, high = raw.min(), raw.max()
        normalized = np.zeros(len(hosts)) if high == low else (raw - low) / (high - low)
        totals = totals + multiplier * normalized
    return np.argsort(-totals, kind="stable")
