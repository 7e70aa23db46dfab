"""Bad values in a scenario are refused when it is read, named by their key and value, instead
of being coerced (oslo.config turns `true` into 1 and 1.5 into 1) or refused by placement once
the run has started.

Two properties over hypothesis's values, and `altsim run` on a few of them: it exits 2 and its
message names the file, the key and the value.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from oslo_config import cfg

import compute_sim.conf
import conductor.conf
import scheduler.conf
from altsim.conf import common
from altsim_lab.cmd.altsim import main
from altsim_lab.config_overrides import ConfigOverrideError
from altsim_lab.scenario.schema import ScenarioError, parse_scenario
from altsim_lab.scenario.topology import service_conf
from compute_sim.host import SimulatedHost
from placement_sim.exceptions import PlacementError
from placement_sim.store import PlacementStore

BASE = {
    "name": "bad-values", "seed": 3,
    "cells": [{"name": "cell1", "hosts": [
        {"name": "h1", "resources": {"VCPU": 8, "MEMORY_MB": 16384, "DISK_GB": 100}}]}],
    "flavors": {"small": {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}},
    "requests": [{"name": "web", "flavor": "small"}],
}

scalars = (st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.just(10**400)
           | st.floats()
           | st.text(max_size=10) | st.sampled_from(["1", "0", "-3", "yes", "nan", "a:1"]))
yaml_values = scalars | st.lists(scalars, max_size=3) | st.dictionaries(
    st.text(max_size=5), scalars, max_size=3)


def _options() -> list[tuple[str, cfg.Opt]]:
    """Every option a scenario's `config:` may set ("group.option", [DEFAULT] ones bare)."""
    import oslo_messaging.opts

    found = [(None, opts) for group, opts in oslo_messaging.opts.list_opts() if group is None]
    for list_opts in (common.list_opts, scheduler.conf.list_opts, conductor.conf.list_opts,
                      compute_sim.conf.list_opts):
        found.extend(list_opts())
    return [(f"{group}.{opt.dest}" if group else opt.dest, opt)
            for group, opts in found for opt in opts]


OPTIONS = _options()


def _well_typed(opt: cfg.Opt, value: Any) -> bool:
    kind = opt.type
    if value is None:
        return opt.default is None
    if isinstance(kind, cfg.types.Boolean):
        return isinstance(value, bool)
    if isinstance(kind, cfg.types.Integer):
        return type(value) is int
    if isinstance(kind, cfg.types.Float):
        return type(value) is float and math.isfinite(value)
    if isinstance(kind, cfg.types.List):
        return isinstance(value, list)
    if isinstance(kind, cfg.types.Dict):
        return isinstance(value, dict)
    return isinstance(value, str)


@settings(max_examples=300, deadline=None, database=None)
@given(option=st.sampled_from(OPTIONS), value=yaml_values)
def test_a_config_value_is_refused_naming_key_and_value_or_read_back_well_typed(
        option: tuple[str, cfg.Opt], value: Any) -> None:
    key, opt = option
    scenario = parse_scenario({**BASE, "config": {key: value}}, "s.yaml")
    try:
        conf = service_conf(scenario, "x")
    except ConfigOverrideError as exc:
        assert str(exc).startswith(f"config.{key}: invalid value {value!r}: "), exc
        return
    group, _, name = key.rpartition(".")
    read = getattr(getattr(conf, group) if group else conf, name)
    assert _well_typed(opt, read), (key, value, read)


resource_classes = st.sampled_from(["VCPU", "MEMORY_MB", "DISK_GB", "CUSTOM_GPU"]) | st.text(
    max_size=6)
amounts = (st.integers(-5, 2**33) | st.floats() | st.booleans() | st.text(max_size=4)
           | st.none())


@settings(max_examples=200, deadline=None, database=None)
@given(where=st.sampled_from(["flavor", "resources", "reserved", "allocation_ratio",
                              "host_resources", "host_allocation_ratio"]),
       values=st.dictionaries(resource_classes, amounts, max_size=3))
def test_what_the_schema_accepts_placement_accepts(where: str, values: dict) -> None:
    data = copy.deepcopy(BASE)
    if where == "flavor":
        data["flavors"]["small"] = values
    elif where.startswith("host_"):
        data["cells"][0] = {"name": "cell1", "host_count": 2,
                            "host_resources": {"VCPU": 8, "MEMORY_MB": 1024}, where: values}
    else:
        data["cells"][0]["hosts"][0][where] = values
    try:
        scenario = parse_scenario(data, "s.yaml")
    except ScenarioError as exc:
        section = "flavors.small" if where == "flavor" else "cells.0"
        assert str(exc).startswith(f"s.yaml: {section}"), exc
        return
    # Then every host registers in placement and every flavor is a valid request
    store = PlacementStore()
    for spec in scenario.cells[0].all_hosts():
        host = SimulatedHost(spec.name, dict(spec.resources), dict(spec.allocation_ratio),
                             dict(spec.reserved))
        store.create_resource_provider(host.node_uuid, host.name)
        for rc in host.inventories():
            if rc.startswith("CUSTOM_"):  # created first, as a compute's report client does
                store.create_resource_class(rc)
        store.set_inventories(host.node_uuid, 0, host.inventories())
    for flavor in (spec.resources for spec in scenario.flavors.values()):
        try:
            store.allocation_candidates(dict(flavor), None)
        except PlacementError as exc:
            pytest.fail(f"accepted flavor {flavor} refused by placement: {exc}")


@pytest.mark.parametrize(("change", "named"), [
    ({"config": {"filter_scheduler.enabled_filters": 5}},
     "config.filter_scheduler.enabled_filters: invalid value 5"),
    ({"config": {"scheduler.max_attempts": None}},
     "config.scheduler.max_attempts: invalid value None"),
    ({"config": {"scheduler.max_attempts": True}},
     "config.scheduler.max_attempts: invalid value True"),
    ({"config": {"scheduler.max_attempts": 2.5}},
     "config.scheduler.max_attempts: invalid value 2.5"),
    ({"config": {"filter_scheduler.ram_weight_multiplier": float("inf")}},
     "config.filter_scheduler.ram_weight_multiplier: invalid value inf"),
    ({"flavors": {"small": {"VCPU": 1, "DISK_GB": 0}}}, "flavors.small.DISK_GB"),
    ({"flavors": {"small": {"vcpu": 1}}}, "flavors.small.vcpu"),
    ({"cells": [{"name": "cell1", "hosts": [
        {"name": "h1", "resources": {"VCPU": 8}, "reserved": {"VCPU": 9}}]}]},
     "cells.0.hosts.0: reserved.VCPU: 9 is more than the total 8"),
    ({"cells": [{"name": "cell1", "hosts": [
        {"name": "h1", "resources": {"VCPU": -8}}]}]}, "cells.0.hosts.0.resources.VCPU"),
])
def test_altsim_run_exits_2_naming_the_file_the_key_and_the_value(
        tmp_path, capsys, change: dict, named: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**copy.deepcopy(BASE), **change}))
    assert main(["run", str(path), "-q"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"{path}: {named}" in err, err
