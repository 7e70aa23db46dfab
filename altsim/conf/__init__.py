"""Configuration: every package registers its options on a ConfigOpts passed in (never the global).

`make_conf()` builds a fresh ConfigOpts with every altsim option registered; tests and the
scenario runner build one per service so that two services in one process never share state.
"""

from __future__ import annotations

from oslo_config import cfg

from altsim.conf import common


def make_conf(register_extra=()) -> cfg.ConfigOpts:
    """A fresh ConfigOpts with the core options and those of the given packages' `register_opts`."""
    conf = cfg.ConfigOpts()
    common.register_opts(conf)
    for register in register_extra:
        register(conf)
    return conf
