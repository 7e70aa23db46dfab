"""Configuration: every package registers its options on a ConfigOpts passed in (never the global).

`make_conf()` builds a fresh ConfigOpts with every altsim option registered; tests and the
scenario runner build one per service so that two services in one process never share state.
"""

from __future__ import annotations

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
    for group, opts in oslo_messaging.opts.list_opts():
        if group is None:
            conf.register_opts(opts)
    for register in register_extra:
        register(conf)
    return conf
