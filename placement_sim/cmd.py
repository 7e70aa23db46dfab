"""altsim-placement: the placement simulator's HTTP API over an in-memory store, journaled to
[placement] state_path when set (placement_sim/durable_store.py)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn
from oslo_config import cfg
from oslo_log import log

from altsim import gc_tuning, masking
from altsim.config_files import ConfigFileError, parse_config
from placement_sim import conf as placement_conf
from placement_sim.durable_answers import DurableAnswers
from placement_sim.durable_store import JournaledStore, StateError
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
    try:
        store = _open_store(group)
    except StateError as exc:
        print(f"altsim-placement: [placement] state_path: {exc}", file=sys.stderr, flush=True)
        return 2
    app = create_app(store, None if group.noauth else group.auth_token)
    if isinstance(store, JournaledStore) and group.state_fsync:
        app.add_middleware(DurableAnswers, sync=store.sync)
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


def _open_store(group: cfg.ConfigOpts.GroupAttr) -> PlacementStore:
    """In memory, or kept in state_path; there the HTTP answers wait for durability
    (DurableAnswers) rather than each write on the event loop."""
    if not group.state_path:
        return PlacementStore(group.candidates_order)
    store = JournaledStore(Path(group.state_path), fsync=group.state_fsync,
                           sync_each_write=False,
                           snapshot_every=group.state_snapshot_every,
                           candidates_order=group.candidates_order)
    LOG.info("altsim-placement state in %s", group.state_path)
    return store


if __name__ == "__main__":
    sys.exit(main())
