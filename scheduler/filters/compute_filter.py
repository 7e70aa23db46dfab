"""ComputeFilter: only hosts whose compute service is enabled and up."""

from __future__ import annotations

from altsim.objects import RequestSpec
from scheduler.filters.base import HostFilter
from scheduler.host_state import HostState


class ComputeFilter(HostFilter):
    def host_passes(self, host: HostState, spec: RequestSpec, now: float) -> bool:
        down_after = self.conf.filter_scheduler.service_down_time
        return not host.disabled and now - host.updated_at <= down_after
