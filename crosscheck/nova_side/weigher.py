"""altsim's StaticWeigher on Nova's weigher interface: fixed weights per host.

altsim's scenarios make host order explicit with `[filter_scheduler] static_host_weights`;
Nova has no such weigher, so the harness adds this one to Nova's weighers (`weight_classes`).
Nova normalizes each weigher's raw weights across the hosts and multiplies them, as altsim
does, so with the same multiplier the static order dominates both the same way. Nova builds
weighers itself, without arguments: the harness sets the class's weights before the scheduler
starts.
"""

from __future__ import annotations

from typing import Any, ClassVar

from nova.scheduler import weights

WEIGHER_PATH = "crosscheck.nova_side.weigher.StaticWeigher"


class StaticWeigher(weights.BaseHostWeigher):
    host_weights: ClassVar[dict[str, float]] = {}
    multiplier: ClassVar[float] = 1000.0

    def weight_multiplier(self, host_state: Any) -> float:
        return self.multiplier

    def _weigh_object(self, host_state: Any, weight_properties: Any) -> float:
        return self.host_weights.get(host_state.host, 0.0)
