"""ConfigOpts copied from a per-process template (altsim.conf.template): each copy reads as a
ConfigOpts built from scratch reads, and what one copy is told shows on no other."""

from __future__ import annotations

from typing import Any

import pytest
from oslo_config import cfg

from altsim import rpc
from altsim.conf import template
from altsim_lab.scenario.topology import (
    _build_blank_service_conf,
    _build_messaging_service_conf,
    service_conf,
)
from altsim_lab.testing.cloud_spec import CloudSpec

pytestmark = pytest.mark.skipif(not template._SUPPORTED,
                                reason="this oslo.config has no state snapshot: no copies")


def values(conf: cfg.ConfigOpts) -> dict[tuple[str | None, str], Any]:
    """Every option's value, DEFAULT's and each group's."""
    read: dict[tuple[str | None, str], Any] = {}
    for name in conf:
        if isinstance(conf[name], cfg.ConfigOpts.GroupAttr):
            for option in conf[name]:
                read[(name, option)] = conf[name][option]
        else:
            read[(None, name)] = conf[name]
    return read


def scenario(config: dict[str, Any] | None = None) -> Any:
    spec = CloudSpec(name="t", seed=7)
    for key, value in (config or {}).items():
        spec.set_config(key, value)
    return spec.scenario()


@pytest.mark.parametrize("build, messaging", [(_build_blank_service_conf, False),
                                              (_build_messaging_service_conf, True)])
def test_a_copy_reads_every_option_as_a_conf_built_anew(build: Any, messaging: bool) -> None:
    built = build()
    copied = service_conf(scenario(), "x", messaging=messaging)
    built.set_override("seed", 7)
    built.set_override("host", "x")

    assert values(copied) == values(built)
    assert len(values(copied)) > 40  # every service's options, not an empty copy
    if messaging:
        assert copied.oslo_messaging_rabbit.amqp_durable_queues is True
        assert copied.control_exchange == rpc.CONTROL_EXCHANGE


def test_an_override_or_default_on_one_copy_shows_on_no_other() -> None:
    one = service_conf(scenario({"scheduler.max_attempts": 5}), "one", messaging=True)
    two = service_conf(scenario(), "two", messaging=True)
    one.set_default("rabbit_retry_interval", 9, group="oslo_messaging_rabbit")
    one.set_override("enabled_filters", ["ResourceFilter"], group="filter_scheduler")

    three = service_conf(scenario(), "three", messaging=True)
    for other in (two, three):
        assert other.scheduler.max_attempts == 3
        assert other.oslo_messaging_rabbit.rabbit_retry_interval == 1
        assert other.filter_scheduler.enabled_filters == ["ComputeFilter"]
        assert other.host != "one"
    assert (one.scheduler.max_attempts, one.host) == (5, "one")
    assert one.oslo_messaging_rabbit.rabbit_retry_interval == 9


def test_a_list_value_set_on_a_template_is_each_copys_own() -> None:
    def build() -> cfg.ConfigOpts:
        conf = cfg.ConfigOpts()
        conf.register_opt(cfg.ListOpt("names", default=[]))
        conf([], default_config_files=[], default_config_dirs=[])
        conf.set_override("names", ["a"])
        return conf

    first = template.cloned_conf(("test", "list"), build)
    first._opts["names"]["override"].append("b")  # a writer that mutates in place

    assert template.cloned_conf(("test", "list"), build).names == ["a"]


def test_the_template_is_built_once_per_key() -> None:
    built: list[cfg.ConfigOpts] = []

    def build() -> cfg.ConfigOpts:
        conf = cfg.ConfigOpts()
        conf([], default_config_files=[], default_config_dirs=[])
        built.append(conf)
        return conf

    copies = [template.cloned_conf(("test", "once"), build) for _ in range(3)]

    assert len(built) == 1
    assert len({id(c) for c in [built[0], *copies]}) == 4
