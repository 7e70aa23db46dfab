"""The cell conductor's RPC endpoint: build_instances, the reschedule path.

This module and what it imports must never reach the scheduler or the API DB (cells cannot call
up); a unit test checks its import closure.
"""

from __future__ import annotations

import oslo_messaging as messaging

from altsim.objects import Instance, PayloadError, RequestSpec, RetryInfo, Selection
from conductor.tasks.reschedule import Reschedule


class CellConductorManager:
    target = messaging.Target(version="1.0")

    def __init__(self, reschedule: Reschedule) -> None:
        self._reschedule = reschedule

    def build_instances(self, ctxt: dict, instance: Instance, request_spec: RequestSpec,
                        retry: RetryInfo, host_list: list[Selection]) -> None:
        for name, value, cls in (("instance", instance, Instance),
                                 ("request_spec", request_spec, RequestSpec),
                                 ("retry", retry, RetryInfo)):
            if not isinstance(value, cls):
                raise PayloadError(f"build_instances: {name} must be a {cls.__name__}, "
                                   f"got {type(value).__name__}")
        if not isinstance(host_list, list) or not all(isinstance(s, Selection)
                                                      for s in host_list):
            raise PayloadError("build_instances: host_list must be a list of Selection")
        self._reschedule(ctxt, instance, request_spec, retry, host_list)
