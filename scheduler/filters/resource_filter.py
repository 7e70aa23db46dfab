"""ResourceFilter: the flavor fits what the host has left, counting this request's own claims.

Placement already offered only hosts with room for one instance; this catches a multi-create
whose earlier instances filled the host after the candidates were read.
"""

from __future__ import annotations

import numpy as np

from altsim.objects import RequestSpec
from scheduler.filters.base import HostFilter
from scheduler.host_columns import Columns
from scheduler.host_state import HostState


class ResourceFilter(HostFilter):
    def host_passes(self, host: HostState, spec: RequestSpec, now: float) -> bool:
        free = host.free_resources
        for resource_class, amount in spec.flavor.resources.items():
            if free.get(resource_class, 0) < amount:
                return False
        return True

    def passing(self, hosts: Columns, spec: RequestSpec, now: float) -> np.ndarray:
        fits = np.ones(len(hosts), bool)
        for resource_class, amount in spec.flavor.resources.items():
            fits &= hosts.free(resource_class) >= amount
        return fits
