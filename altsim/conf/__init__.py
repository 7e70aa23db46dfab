"""Configuration: every package registers its options on a ConfigOpts passed in (never the global).

`make_conf()` builds a fresh ConfigOpts with every altsim option registered; tests and the
scenario runner build one per service so that two services in one process never share state.
"""

from __future__ import annotations

import functools

import oslo_messaging.opts
from oslo_config import cfg

from altsim.conf import common


def make_conf(register_extra=()) -> cfg.ConfigOpts:
    """A fresh ConfigOpts with the core options and those of the given packages' `register_opts`."""
    conf = cfg.ConfigOpts()
    common.register_opts(conf)
    # oslo.messaging's own [DEFAULT] options (transport_url, executor_thread_pool_size,
    # rpc_response_timeout, ...) are registered up front so that config files and scenarios
    # can set them like any other option before a transport exists.
    conf.register_opts(_messaging_default_opts())
    for register in register_extra:
        register(conf)
    return conf


@functools.cache
def _messaging_default_opts() -> tuple[cfg.Opt, ...]:
    """oslo.messaging's [DEFAULT] options, once per process: list_opts() deep-copies every
    option of the library on each call (a third of a test cloud's start-up). Sharing the Opt
    definitions is safe: a ConfigOpts keeps its values and defaults (set_default) in its own
    tables, never on the Opt."""
    return tuple(opt for group, opts in oslo_messaging.opts.list_opts() if group is None
                 for opt in opts)
