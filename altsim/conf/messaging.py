"""The oslo.messaging option groups that oslo.messaging registers on the global cfg.CONF only,
registered on a private ConfigOpts instead.

altsim.rpc's prepare_conf does it for every transport it builds (whatever the driver), and the
in-memory driver does it on its own conf as well, for transports built without altsim.rpc.
"""

from __future__ import annotations

import importlib
from typing import Any

# Option groups that RPCClient and RPCServer read from the transport's conf but that oslo.messaging
# registers on the global cfg.CONF only: (module, list attribute, group).
_GLOBAL_ONLY_OPTS = (
    ("oslo_messaging._tracing.client", "oslo_messaging_tracing", "oslo_messaging_tracing"),
    ("oslo_messaging._metrics.client", "oslo_messaging_metrics", "oslo_messaging_metrics"),
)


def register_oslo_messaging_opts(conf: Any) -> None:
    """Register on ``conf`` the options oslo.messaging only registers on the global cfg.CONF.

    RPCClient.call/cast read ``conf.oslo_messaging_tracing`` and ``conf.oslo_messaging_metrics``
    (and RPCServer the former) from the transport's conf, but oslo.messaging registers those
    groups on cfg.CONF alone at import time, so with a private ConfigOpts every call fails with
    NoSuchOptError.  Registering the same option objects again is a no-op, so this is harmless
    for cfg.CONF; modules an oslo.messaging version lacks are skipped.

    The memory driver calls this on its own conf; call it yourself before using another driver
    (rabbit://, fake://) with a private ConfigOpts.
    """
    if conf.__dict__.get(_REGISTERED):  # every transport of a conf calls this again
        return
    for module_name, attribute, group in _GLOBAL_ONLY_OPTS:
        try:
            opts = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError):
            continue
        conf.register_opts(opts, group=group)
    mark_oslo_messaging_opts(conf)


def mark_oslo_messaging_opts(conf: Any) -> None:
    """`conf` has what register_oslo_messaging_opts registers (e.g. a copy of one that had):
    later calls on it return at once. Kept in the conf's own __dict__ (a ConfigOpts is
    unhashable: no set of them), so a copy of a conf made otherwise has no mark."""
    conf.__dict__[_REGISTERED] = True


_REGISTERED = "_altsim_oslo_messaging_opts"
