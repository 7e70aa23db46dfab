"""Client side of the compute RPC API (a cell bus only).

Version history:
    1.0 - build_and_run_instance(instance, request_spec, retry, host_list, limits), cast to
          server=<host>; retry is None when rescheduling is disabled.

Namespace `simulation` (compute_sim/simulation.py), not part of Nova's compute API:
    1.0 - add_fault_rule(rule) and update_available_resource(), both calls to server=<host>.
    1.1 - add_host(spec), a call to server=<any host of the process>: one more host served
          by that process.
"""

from __future__ import annotations

import oslo_messaging as messaging

from altsim import rpc
from altsim.objects import Instance, RequestSpec, RetryInfo, Selection
from compute_sim.faults import FaultRule
from compute_sim.hosts_file import HostSpec

RPC_TOPIC = "compute"
SIMULATION_NAMESPACE = "simulation"
# A control call is answered as soon as the compute process takes it from its queue: long
# enough for a busy process, short enough that a test whose compute is gone fails soon.
SIMULATION_TIMEOUT_S = 30.0


class ComputeAPI:
    def __init__(self, transport: messaging.Transport) -> None:
        self.client = rpc.make_client(transport, RPC_TOPIC, "1.0")

    def build_and_run_instance(self, ctxt: dict, host: str, instance: Instance,
                               request_spec: RequestSpec, retry: RetryInfo | None,
                               host_list: list[Selection], limits: dict) -> None:
        cctxt = self.client.prepare(server=host)
        cctxt.cast(ctxt, "build_and_run_instance", instance=instance, request_spec=request_spec,
                   retry=retry, host_list=host_list, limits=limits)


class SimulationAPI:
    """What a test does to a running simulated compute, on its cell's bus: each method is a
    call that returns once the compute process has done it."""

    def __init__(self, transport: messaging.Transport,
                 timeout: float = SIMULATION_TIMEOUT_S) -> None:
        self.client = rpc.make_client(transport, RPC_TOPIC, "1.0")
        self._timeout = timeout

    def add_fault_rule(self, ctxt: dict, host: str, rule: FaultRule) -> None:
        """Install `rule` in the fault injector of the process serving `host` (it applies to
        every host of that process the rule names): the builds that start after this
        returns follow it."""
        self._prepare(host).call(ctxt, "add_fault_rule", rule=rule.model_dump(mode="json"))

    def update_available_resource(self, ctxt: dict, host: str) -> int:
        """Run the periodic task of the process serving `host` (for all its hosts) now;
        returns how many compute node rows it wrote."""
        return self._prepare(host).call(ctxt, "update_available_resource")

    def add_host(self, ctxt: dict, via_host: str, spec: HostSpec) -> None:
        """Start serving one more host, `spec`, in the process serving `via_host` (a host
        of the cell it goes in): returns once it is in placement and the cell DB and its
        `compute.<name>` queue is served. Mapping it to its cell is the caller's (nova-manage
        cell_v2 discover_hosts: a compute cannot reach the API database)."""
        self._prepare(via_host, "1.1").call(ctxt, "add_host", spec=spec.model_dump(mode="json"))

    def _prepare(self, host: str, version: str = "1.0") -> messaging.RPCClient:
        return self.client.prepare(server=host, namespace=SIMULATION_NAMESPACE,
                                   version=version, timeout=self._timeout)
