"""Client side of the compute RPC API (a cell bus only).

Version history:
    1.0 - build_and_run_instance(instance, request_spec, retry, host_list, limits), cast to
          server=<host>; retry is None when rescheduling is disabled.
"""

from __future__ import annotations

import oslo_messaging as messaging

from altsim import rpc
from altsim.objects import Instance, RequestSpec, RetryInfo, Selection

RPC_TOPIC = "compute"


class ComputeAPI:
    def __init__(self, transport: messaging.Transport) -> None:
        self.client = rpc.make_client(transport, RPC_TOPIC, "1.0")

    def build_and_run_instance(self, ctxt: dict, host: str, instance: Instance,
                               request_spec: RequestSpec, retry: RetryInfo | None,
                               host_list: list[Selection], limits: dict) -> None:
        cctxt = self.client.prepare(server=host)
        cctxt.cast(ctxt, "build_and_run_instance", instance=instance, request_spec=request_spec,
                   retry=retry, host_list=host_list, limits=limits)
