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


# Nova's defaults: [DEFAULT] long_rpc_timeout and rpc_response_timeout.
LONG_RPC_TIMEOUT_S = 1800.0
CALL_MONITOR_TIMEOUT_S = 60.0


class SchedulerAPI:
    def __init__(self, transport: messaging.Transport, timeout: float = LONG_RPC_TIMEOUT_S,
                 call_monitor_timeout: float | None = CALL_MONITOR_TIMEOUT_S) -> None:
        """As Nova's scheduler client calls select_destinations: waiting up to `timeout`
        seconds for the answer while the scheduler sends a heartbeat at least every
        `call_monitor_timeout` seconds (None: no heartbeats, `timeout` alone), so a request
        slowed by placement is waited for and one sent to a dead scheduler is not."""
        self.client = rpc.make_client(transport, RPC_TOPIC, "1.0")
        self.timeout = timeout
        self.call_monitor_timeout = call_monitor_timeout

    def select_destinations(self, ctxt: dict, request_spec: RequestSpec,
                            instance_uuids: list[str], return_alternates: bool = True,
                            num_alternates: int | None = None) -> list[list[Selection]]:
        cctxt = self.client.prepare(timeout=self.timeout,
                                    call_monitor_timeout=self.call_monitor_timeout)
        return cctxt.call(ctxt, "select_destinations", request_spec=request_spec,
                          instance_uuids=instance_uuids, return_alternates=return_alternates,
                          num_alternates=num_alternates)
