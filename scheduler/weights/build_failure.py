"""BuildFailureWeigher: hosts with recent failed builds sink (the counter resets on success)."""

from __future__ import annotations

import numpy as np

from altsim.objects import RequestSpec
from scheduler.host_columns import Columns
from scheduler.host_state import HostState
from scheduler.weights.base import HostWeigher


class BuildFailureWeigher(HostWeigher):
    def multiplier(self) -> float:
        return float(self.conf.filter_scheduler.build_failure_weight_multiplier)

    def raw_weight(self, host: HostState, spec: RequestSpec) -> float:
        return -float(host.failed_builds)

    def raw_weight_column(self, hosts: Columns, spec: RequestSpec) -> np.ndarray:
        return -hosts.failed_builds
