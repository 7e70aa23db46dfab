"""The super conductor's RPC endpoint (API level): schedule_and_build_instances.

Its cell-level counterpart, build_instances (the reschedule path), is conductor/cell_manager.py;
a cell conductor process never imports this module.
"""

from __future__ import annotations

import oslo_messaging as messaging

from altsim.objects import BuildRequest, PayloadError, RequestSpec
from conductor.tasks.schedule_and_build import ScheduleAndBuild


class SuperConductorManager:
    target = messaging.Target(version="1.0")

    def __init__(self, schedule_and_build: ScheduleAndBuild) -> None:
        self._schedule_and_build = schedule_and_build

    def schedule_and_build_instances(self, ctxt: dict, build_requests: list[BuildRequest],
                                     request_specs: list[RequestSpec]) -> None:
        _check_list("build_requests", build_requests, BuildRequest)
        _check_list("request_specs", request_specs, RequestSpec)
        if len(build_requests) != len(request_specs):
            raise PayloadError(f"schedule_and_build_instances: {len(build_requests)} build "
                               f"requests but {len(request_specs)} request specs")
        self._schedule_and_build(ctxt, build_requests, request_specs)


def _check_list(name: str, values: object, cls: type) -> None:
    if not isinstance(values, list) or not values or not all(isinstance(v, cls) for v in values):
        raise PayloadError(f"{name} must be a non-empty list of {cls.__name__}")
