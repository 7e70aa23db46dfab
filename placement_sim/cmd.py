"""altsim-placement: the placement simulator's HTTP API over an in-memory store."""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence

import uvicorn
from oslo_config import cfg
from oslo_log import log

from altsim import gc_tuning, masking
from altsim.config_files import ConfigFileError, parse_config
from placement_sim import conf as placement_conf
from placement_sim.http_app import create_app
from placement_sim.store import PlacementStore

READY_PREFIX = "altsim-placement ready on"
LOG = log.getLogger(__name__)


class _Server(uvicorn.Server):
    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        if self.started:  # listening: announce the real address (bind_port may be 0)
            gc_tuning.freeze_startup_objects()
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            print(f"{READY_PREFIX} http://{host}:{port}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    conf = cfg.ConfigOpts()
    placement_conf.register_opts(conf)
    log.register_options(conf)
    try:
        parse_config(conf, list(sys.argv[1:] if argv is None else argv), project="altsim")
    except ConfigFileError as exc:  # one line naming the file, the option and the value
        print(f"altsim-placement: {exc}", file=sys.stderr, flush=True)
        return 2
    log.setup(conf, "altsim")
    masking.register_conf_secrets(conf)  # the token never shows in a log line
    masking.install_log_masking()
    gc_tuning.tune()
    group = conf.placement
    if not group.noauth and not group.auth_token:
        # Exit 2 as every daemon refuses a configuration problem (altsim.daemon.refuse).
        print("altsim-placement: [placement] auth_token is required unless noauth is true",
              file=sys.stderr, flush=True)
        return 2
    app = create_app(PlacementStore(), None if group.noauth else group.auth_token)
    # httptools and uvloop (installed with altsim; uvicorn's "auto" picks them) parse and
    # send a 1,000-provider candidates body several times faster than h11 and asyncio.
    server = _Server(uvicorn.Config(app, host=group.bind_host, port=group.bind_port,
                                    log_config=None, access_log=False, lifespan="off"))
    # uvicorn handles SIGTERM/SIGINT while serving (graceful shutdown) and re-raises the
    # signal afterwards to the handlers it found: make those a no-op so the exit code is 0.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    server.run()
    LOG.info("altsim-placement stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
