"""Configuration for tests: a private ConfigOpts with every option of altsim and its services.

Each test builds its own (never the global cfg.CONF), so an override in one test cannot leak
into another; overrides are given as {"group.name": value}, the way a scenario's `config`
section spells them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from oslo_config import cfg

import compute_sim.conf
import conductor.conf
import scheduler.conf
from altsim.conf import make_conf

# The services' option registrars, added to the kernel's own by make_conf.
SERVICE_OPTION_PACKAGES: tuple[Callable[[cfg.ConfigOpts], None], ...] = (
    scheduler.conf.register_opts, conductor.conf.register_opts,
    compute_sim.conf.register_opts)


def make_test_conf(overrides: dict[str, Any] | None = None) -> cfg.ConfigOpts:
    """A private ConfigOpts with every altsim option; overrides are {"group.name": value}
    (a name without a group is a DEFAULT option)."""
    conf = make_conf(SERVICE_OPTION_PACKAGES)
    conf([], default_config_files=[], default_config_dirs=[])
    for key, value in (overrides or {}).items():
        group, _, name = key.rpartition(".")
        conf.set_override(name, value, group=group or None)
    return conf
