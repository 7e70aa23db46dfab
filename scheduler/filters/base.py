"""The shape of a host filter: a pure function of (host state, request spec)."""

from __future__ import annotations

import numpy as np
from oslo_config import cfg

from altsim.objects import RequestSpec
from scheduler.host_columns import Columns
from scheduler.host_state import HostState


class HostFilter:
    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf

    def host_passes(self, host: HostState, spec: RequestSpec, now: float) -> bool:
        """The rule, for one host: what the filter means."""
        raise NotImplementedError

    def passing(self, hosts: Columns, spec: RequestSpec, now: float) -> np.ndarray:
        """The same rule for every host at once, as a mask (override with array operations;
        tests/unit/test_host_columns.py checks every override against host_passes)."""
        return np.fromiter((self.host_passes(h, spec, now) for h in hosts.states), bool,
                           len(hosts))
