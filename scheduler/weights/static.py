"""StaticWeigher: fixed per-host weights from [filter_scheduler] static_host_weights."""

from __future__ import annotations

import numpy as np

from altsim.objects import RequestSpec
from scheduler.host_columns import Columns
from scheduler.host_state import HostState
from scheduler.weights.base import HostWeigher


class StaticWeigher(HostWeigher):
    def __init__(self, conf) -> None:  # type: ignore[no-untyped-def]
        super().__init__(conf)
        weights = conf.filter_scheduler.static_host_weights
        try:
            self._weights = {host: float(value) for host, value in weights.items()}
        except ValueError as exc:
            raise ValueError(f"filter_scheduler.static_host_weights: weights must be numbers "
                             f"({exc})") from None

    def multiplier(self) -> float:
        return float(self.conf.filter_scheduler.static_weight_multiplier)

    def applies(self) -> bool:
        return bool(self._weights)

    def raw_weight(self, host: HostState, spec: RequestSpec) -> float:
        return self._weights.get(host.host, 0.0)

    def raw_weight_column(self, hosts: Columns, spec: RequestSpec) -> np.ndarray:
        weights = self._weights
        return np.fromiter((weights.get(host, 0.0) for host in hosts.hosts), float, len(hosts))
