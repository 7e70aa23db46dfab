"""A scenario as the Nova side's plan: plain JSON the harness reads without altsim.

The plan holds the scenario's topology (every host expanded, with its inventory, ratios,
reserved amounts, traits and aggregates), flavors (and their extra specs), host aggregates
with their metadata, fault rules and requests as altsim reads them (defaults filled
in), Nova's flags (crosscheck.options), the instance order of altsim's report, and for each
instance name the key altsim's fault rules draw on (its uuid in altsim), so that a rule with
a probability fires for the same instances in both.

The scenario's times (`start_ms`, `latency_ms`) are stretched TIME_SCALE times on the Nova
side: a build through Nova's harness costs hundreds of milliseconds of CPU where altsim's
costs one, so only stretched do events come in the order the scenario's milliseconds give
them in altsim (in abort, "later" is sent after web-1 has failed; in last-slot-race, filler
takes host2 while web-1 is still spawning on host1).
"""

from __future__ import annotations

from typing import Any

from altsim_lab.nova_api import instance_uuid_for
from altsim_lab.scenario.schema import Scenario
from crosscheck.options import nova_options

TIME_SCALE = 10.0


def build_plan(scenario: Scenario, timeout_s: float) -> dict[str, Any]:
    options = nova_options(scenario)
    return {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "cells": [{"name": cell.name,
                   "hosts": [host.model_dump(mode="json") for host in cell.all_hosts()]}
                  for cell in scenario.cells],
        "flavors": {name: dict(flavor.resources) for name, flavor in scenario.flavors.items()},
        "flavor_extra_specs": {name: dict(flavor.extra_specs)
                               for name, flavor in scenario.flavors.items()
                               if flavor.extra_specs},
        # Every host aggregate, with its metadata (its hosts name it in their `aggregates`).
        "aggregates": {name: dict(spec.metadata) if (spec := scenario.aggregates.get(name))
                       else {}
                       for name in sorted(set(scenario.aggregates).union(
                           *(cell.aggregate_names() for cell in scenario.cells)))},
        "faults": [rule.model_dump(mode="json") for rule in scenario.faults],
        "requests": [entry.model_dump(mode="json") for entry in scenario.requests],
        "instance_order": scenario.instance_names(),
        "fault_keys": {name: instance_uuid_for(scenario.seed, scenario.name, name)
                       for name in scenario.instance_names()},
        "flags": [list(flag) for flag in options.flags],
        "flags_after_setup": [list(flag) for flag in options.flags_after_setup],
        "static_weights": options.static_weights,
        "static_weight_multiplier": options.static_weight_multiplier,
        "ignored_options": options.ignored,
        "time_scale": TIME_SCALE,
        "timeout_s": timeout_s,
    }
