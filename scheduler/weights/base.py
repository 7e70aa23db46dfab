"""The shape of a weigher: a multiplier from config and a raw weight per host."""

from __future__ import annotations

import numpy as np
from oslo_config import cfg

from altsim.objects import RequestSpec
from scheduler.host_columns import Columns
from scheduler.host_state import HostState


class HostWeigher:
    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf

    def multiplier(self) -> float:
        raise NotImplementedError

    def raw_weight(self, host: HostState, spec: RequestSpec) -> float:
        raise NotImplementedError

    def raw_weights(self, hosts: list[HostState], spec: RequestSpec) -> list[float]:
        """Raw weights of many hosts at once (override where a loop can be tighter)."""
        return [self.raw_weight(host, spec) for host in hosts]

    def raw_weight_column(self, hosts: Columns, spec: RequestSpec) -> np.ndarray:
        """The raw weights as a float array (override with array operations;
        tests/unit/test_host_columns.py checks every override against raw_weight)."""
        return np.array(self.raw_weights(hosts.states, spec), dtype=float)

    def applies(self) -> bool:
        """False when the weigher would give every host the same weight (skip the work)."""
        return True
