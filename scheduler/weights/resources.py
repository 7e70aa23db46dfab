"""RAM, CPU and disk weighers: more free resource weighs more (spreading by default)."""

from __future__ import annotations

import numpy as np

from altsim.objects import RequestSpec
from scheduler.host_columns import Columns
from scheduler.host_state import HostState
from scheduler.weights.base import HostWeigher


class _FreeResourceWeigher(HostWeigher):
    resource_class = ""
    option = ""

    def multiplier(self) -> float:
        return float(getattr(self.conf.filter_scheduler, self.option))

    def raw_weight(self, host: HostState, spec: RequestSpec) -> float:
        return host.free_resources.get(self.resource_class, 0)

    def raw_weights(self, hosts: list[HostState], spec: RequestSpec) -> list[float]:
        resource_class = self.resource_class
        return [host.free_resources.get(resource_class, 0) for host in hosts]

    def raw_weight_column(self, hosts: Columns, spec: RequestSpec) -> np.ndarray:
        return hosts.free(self.resource_class).astype(float)


class RAMWeigher(_FreeResourceWeigher):
    resource_class, option = "MEMORY_MB", "ram_weight_multiplier"


class CPUWeigher(_FreeResourceWeigher):
    resource_class, option = "VCPU", "cpu_weight_multiplier"


class DiskWeigher(_FreeResourceWeigher):
    resource_class, option = "DISK_GB", "disk_weight_multiplier"
