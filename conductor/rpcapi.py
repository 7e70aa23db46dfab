"""Client side of the conductor RPC API.

The super conductor and the cell conductors all serve topic `conductor`, each on its own bus:
schedule_and_build_instances goes out on the API bus, build_instances on a cell bus.

Version history:
    1.0 - schedule_and_build_instances(build_requests, request_specs) (super, cast)
          build_instances(instance, request_spec, retry, host_list) (cell, cast)
"""

from __future__ import annotations

import oslo_messaging as messaging

from altsim import rpc
from altsim.objects import BuildRequest, Instance, RequestSpec, RetryInfo, Selection

RPC_TOPIC = "conductor"


class ConductorAPI:
    def __init__(self, transport: messaging.Transport) -> None:
        self.client = rpc.make_client(transport, RPC_TOPIC, "1.0")

    def schedule_and_build_instances(self, ctxt: dict, build_requests: list[BuildRequest],
                                     request_specs: list[RequestSpec]) -> None:
        cctxt = self.client.prepare()
        cctxt.cast(ctxt, "schedule_and_build_instances", build_requests=build_requests,
                   request_specs=request_specs)

    def build_instances(self, ctxt: dict, instance: Instance, request_spec: RequestSpec,
                        retry: RetryInfo, host_list: list[Selection]) -> None:
        cctxt = self.client.prepare()
        cctxt.cast(ctxt, "build_instances", instance=instance, request_spec=request_spec,
                   retry=retry, host_list=host_list)
