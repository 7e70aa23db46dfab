"""The shape of a host filter: a pure function of (host state, request spec)."""

from __future__ import annotations

from oslo_config import cfg

from altsim.objects import RequestSpec
from scheduler.host_state import HostState


class HostFilter:
    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.conf = conf

    def host_passes(self, host: HostState, spec: RequestSpec, now: float) -> bool:
        raise NotImplementedError
