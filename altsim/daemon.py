"""What every altsim daemon does around its RPC servers: config, logging, readiness, shutdown.

A daemon reads its options from --config-file (a fresh ConfigOpts, never the global one), logs
with oslo.log, starts its servers, prints one readiness line that a launcher waits for, and on
SIGTERM or SIGINT stops its servers, letting messages in progress finish.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from oslo_config import cfg
from oslo_log import log

from altsim.rpc import stop_servers

READY_PREFIX = "altsim daemon ready:"
LOG = logging.getLogger(__name__)


def load_conf(argv: Sequence[str] | None, register: Sequence[Callable[[cfg.ConfigOpts], None]],
              project: str = "altsim") -> cfg.ConfigOpts:
    """Parse --config-file etc. into a fresh ConfigOpts with the given packages' options."""
    from altsim.conf import make_conf

    conf = make_conf(register)
    log.register_options(conf)
    conf(list(sys.argv[1:] if argv is None else argv), project=project)
    log.setup(conf, project)
    return conf


def serve(name: str, servers: Sequence[Any], on_stop: Callable[[], None] = lambda: None) -> int:
    """Start the servers, announce readiness, block until SIGTERM/SIGINT, then stop them."""
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    for server in servers:
        server.start()
    print(f"{READY_PREFIX} {name}", flush=True)
    LOG.info("%s serving with %d RPC server(s)", name, len(servers))
    while not stopping.wait(1.0):
        pass
    LOG.info("%s stopping", name)
    stop_servers(servers)
    on_stop()
    return 0
