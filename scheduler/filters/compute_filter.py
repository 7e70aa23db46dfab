"""ComputeFilter: only hosts whose compute service is enabled and up."""

from __future__ import annotations

import numpy as np
from oslo_config import cfg

from altsim.objects import RequestSpec
from scheduler.filters.base import HostFilter
from scheduler.host_columns import Columns
from scheduler.host_state import HostState


class ComputeFilter(HostFilter):
    def __init__(self, conf: cfg.ConfigOpts) -> None:
        super().__init__(conf)
        self._down_after = conf.filter_scheduler.service_down_time

    def host_passes(self, host: HostState, spec: RequestSpec, now: float) -> bool:
        return not host.disabled and now - host.updated_at <= self._down_after

    def passing(self, hosts: Columns, spec: RequestSpec, now: float) -> np.ndarray:
        return ~hosts.disabled & (now - hosts.updated_at <= self._down_after)
