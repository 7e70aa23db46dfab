"""Client side of the scheduler RPC API.

Version history:
    1.0 - select_destinations(request_spec, instance_uuids, return_alternates, num_alternates)
          returning one list of Selections per instance: the chosen host (claimed), then the
          alternates from the same cell.
"""

from __future__ import annotations

import oslo_messaging as messaging

from altsim import rpc
from altsim.objects import RequestSpec, Selection

RPC_TOPIC = "scheduler"


class SchedulerAPI:
    def __init__(self, transport: messaging.Transport, timeout: float = 60.0) -> None:
        self.client = rpc.make_client(transport, RPC_TOPIC, "1.0")
        self.timeout = timeout

    def select_destinations(self, ctxt: dict, request_spec: RequestSpec,
                            instance_uuids: list[str], return_alternates: bool = True,
                            num_alternates: int | None = None) -> list[list[Selection]]:
        cctxt = self.client.prepare(timeout=self.timeout)
        return cctxt.call(ctxt, "select_destinations", request_spec=request_spec,
                          instance_uuids=instance_uuids, return_alternates=return_alternates,
                          num_alternates=num_alternates)
