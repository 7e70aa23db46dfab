"""The compute's simulation-control endpoint: what a test does to a running simulated host.

Nova's compute has nothing like it: a hypervisor fails on its own. A simulated one fails as its
fault rules say, and a test of a launched cloud (every service its own process) adds rules
while it runs, with the same meaning as in an embedded cloud: a rule applies to the builds that
start after it is installed. So `add_fault_rule` is an RPC *call* that returns once the rule is
in the process's fault injector. `update_available_resource` runs the process's periodic task
now (Nova's functional tests' `_run_periodics`) and returns how many compute node rows it
wrote.

The endpoint answers on the host's own `compute.<host>` queue in the RPC namespace
`simulation`, so a message in the default namespace (a build) can never reach it, and it
serves on the cell's bus only, like the rest of the compute: whoever sends it already holds the
cell's credentials. One process has one fault injector for all its hosts: a rule sent to any
of them applies to every host of the process the rule names. A malformed rule is refused with
a PayloadError naming each bad key (oslo.messaging logs it and replies with the error); the
process keeps serving.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import oslo_messaging as messaging
import pydantic

from altsim.objects import PayloadError
from altsim.validation_errors import describe
from compute_sim.faults import FaultInjector, FaultRule
from compute_sim.rpcapi import SIMULATION_NAMESPACE

LOG = logging.getLogger(__name__)


def parse_rule(rule: Any) -> FaultRule:
    """A FaultRule from a message's `rule` (a mapping of FaultRule's keys), or a PayloadError
    naming each key that is wrong."""
    if not isinstance(rule, dict):
        raise PayloadError(f"add_fault_rule: rule must be a mapping of a fault rule's keys, "
                           f"got {type(rule).__name__}")
    try:
        return FaultRule.model_validate(rule)
    except pydantic.ValidationError as exc:
        raise PayloadError(f"add_fault_rule: rule: {describe(exc.errors())}") from None


class SimulationEndpoint:
    """`simulation` namespace of every host a compute process serves."""

    target = messaging.Target(namespace=SIMULATION_NAMESPACE, version="1.0")

    def __init__(self, faults: FaultInjector, update_available_resource: Callable[[], int]
                 ) -> None:
        self._faults = faults
        self._update_available_resource = update_available_resource

    def add_fault_rule(self, ctxt: dict, rule: Any) -> None:
        parsed = parse_rule(rule)
        self._faults.add_rule(parsed)
        LOG.info("Fault rule added at run time: %s", parsed.model_dump(exclude_defaults=True))

    def update_available_resource(self, ctxt: dict) -> int:
        return self._update_available_resource()
