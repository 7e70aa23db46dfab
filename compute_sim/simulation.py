"""The compute's simulation-control endpoint: what a test does to a running simulated host.

Nova's compute has nothing like it: a hypervisor fails on its own. A simulated one fails as its
fault rules say, and a test of a launched cloud (every service its own process) adds rules
while it runs, with the same meaning as in an embedded cloud: a rule applies to the builds that
start after it is installed. So `add_fault_rule` is an RPC *call* that returns once the rule is
in the process's fault injector. `update_available_resource` runs the process's periodic task
now (Nova's functional tests' `_run_periodics`) and returns how many compute node rows it
wrote. `add_host` is Nova's functional tests' `_start_compute` of a new host: the process
starts serving one more host of its cell and returns once the host is in placement and in the
cell DB and its queue is served, so the next boot may land on it.

The endpoint answers on the host's own `compute.<host>` queue in the RPC namespace
`simulation`, so a message in the default namespace (a build) can never reach it, and it
serves on the cell's bus only, like the rest of the compute: whoever sends it already holds the
cell's credentials. One process has one fault injector for all its hosts: a rule sent to any
of them applies to every host of the process the rule names. A malformed rule or host spec is
refused with a PayloadError naming each bad key (oslo.messaging logs it and replies with the
error); the process keeps serving.

Why `add_host` goes to an existing host's queue: a compute process consumes nothing but its
hosts' own queues (altsim.multi_server leaves out the shared `compute` topic, which every
process of every cell on a bus would share), and there is no queue of the process itself.
Any host of the process reaches it, since one process carries every host of its cell; a
queue of the process's own would be one more thing to declare, name and keep across restarts,
for the one call that has no host yet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import oslo_messaging as messaging
import pydantic

from altsim.objects import PayloadError
from altsim.validation_errors import describe
from compute_sim.faults import FaultInjector, FaultRule
from compute_sim.host import SimulatedHost
from compute_sim.hosts_file import HostSpec, simulated_host
from compute_sim.rpcapi import SIMULATION_NAMESPACE

LOG = logging.getLogger(__name__)
Model = TypeVar("Model", bound=pydantic.BaseModel)


def _parse(model: type[Model], value: Any, where: str, what: str) -> Model:
    """`model` from a message's argument (`where`: method and argument), or a PayloadError
    naming each key that is wrong."""
    if not isinstance(value, dict):
        raise PayloadError(f"{where} must be a mapping of {what}'s keys, "
                           f"got {type(value).__name__}")
    try:
        return model.model_validate(value)
    except pydantic.ValidationError as exc:
        raise PayloadError(f"{where}: {describe(exc.errors())}") from None


def parse_rule(rule: Any) -> FaultRule:
    """A FaultRule from a message's `rule` (a mapping of FaultRule's keys)."""
    return _parse(FaultRule, rule, "add_fault_rule: rule", "a fault rule")


def parse_host(spec: Any) -> HostSpec:
    """A HostSpec from a message's `spec` (a mapping of a hosts file's host keys)."""
    return _parse(HostSpec, spec, "add_host: spec", "a host")


class SimulationEndpoint:
    """`simulation` namespace of every host a compute process serves."""

    # 1.1: add_host.
    target = messaging.Target(namespace=SIMULATION_NAMESPACE, version="1.1")

    def __init__(self, faults: FaultInjector, update_available_resource: Callable[[], int],
                 add_host: Callable[[SimulatedHost], None]) -> None:
        self._faults = faults
        self._update_available_resource = update_available_resource
        self._add_host = add_host

    def add_fault_rule(self, ctxt: dict, rule: Any) -> None:
        parsed = parse_rule(rule)
        self._faults.add_rule(parsed)
        LOG.info("Fault rule added at run time: %s", parsed.model_dump(exclude_defaults=True))

    def update_available_resource(self, ctxt: dict) -> int:
        return self._update_available_resource()

    def add_host(self, ctxt: dict, spec: Any) -> None:
        host = simulated_host(parse_host(spec))
        self._add_host(host)
        LOG.info("Host %s added at run time: %s", host.name, host.resources)
