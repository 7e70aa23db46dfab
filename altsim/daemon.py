"""What every altsim daemon does around its RPC servers: config, logging, readiness, shutdown.

A daemon reads its options from --config-file (a fresh ConfigOpts, never the global one), logs
with oslo.log, starts its servers, prints one readiness line that a launcher waits for, and on
SIGTERM or SIGINT stops its servers, letting messages in progress finish.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from oslo_config import cfg
from oslo_log import log

from altsim import config_files, gc_tuning, masking, profiling
from altsim.rpc import stop_servers

READY_PREFIX = "altsim daemon ready:"
EXIT_CONFIG = 2  # a bad config file, as `altsim run` exits for a bad scenario
LOG = logging.getLogger(__name__)


def read_conf(argv: Sequence[str] | None, register: Sequence[Callable[[cfg.ConfigOpts], None]],
              project: str = "altsim") -> cfg.ConfigOpts:
    """Parse --config-file etc. into a fresh ConfigOpts with the given packages' options.
    ConfigFileError (one line naming the file, the option and the value) for a config file
    that is missing, not INI, or holds a bad value."""
    from altsim.conf import make_conf

    conf = make_conf(register)
    log.register_options(conf)
    config_files.parse_config(conf, list(sys.argv[1:] if argv is None else argv), project)
    log.setup(conf, project)
    # This process's own secrets (its bus and database passwords, the placement token)
    # never show in its log lines, whatever logs them (oslo.messaging, SQLAlchemy, a
    # traceback).
    masking.register_conf_secrets(conf)
    masking.install_log_masking()
    gc_tuning.tune()
    return conf


def _log_endpoints(conf: cfg.ConfigOpts) -> None:
    """One line naming this process's bus and databases, passwords masked: the first thing
    to check when a service talks to the wrong place."""
    where = [(label, value) for label, value in (
        ("bus", getattr(conf, "transport_url", None)),
        ("database", conf.database.connection), ("API database", conf.api_database.connection))
        if value]
    if where:
        LOG.info("%s", "; ".join(f"{label} {masking.mask_url(value)}" for label, value in where))


def load_conf(argv: Sequence[str] | None, register: Sequence[Callable[[cfg.ConfigOpts], None]],
              project: str = "altsim") -> cfg.ConfigOpts:
    """read_conf for a daemon: a bad config file is one line on stderr and exit status 2,
    never a traceback."""
    try:
        conf = read_conf(argv, register, project)
    except config_files.ConfigFileError as exc:
        refuse(f"{os.path.basename(sys.argv[0])}: {exc}")
    _log_endpoints(conf)
    return conf


def refuse(message: str) -> NoReturn:
    """Refuse to start over a configuration problem: the message on stderr, exit status 2."""
    print(masking.mask_text(message), file=sys.stderr, flush=True)
    raise SystemExit(EXIT_CONFIG)


def startup_problem(exc: BaseException) -> str | None:
    """What an exception raised while a daemon starts says about its configuration, in one
    line; None if it is not one of those (a bug, shown with its traceback)."""
    import amqp.exceptions  # the rabbit driver's client library
    import sqlalchemy.exc

    text = " ".join(str(exc).split())
    if isinstance(exc, amqp.exceptions.AccessRefused):
        return (f"the broker refused the login ({text}): check the user and password of "
                "transport_url")
    if isinstance(exc, amqp.exceptions.NotAllowed):
        return f"the broker refused the vhost ({text}): check the vhost of transport_url"
    if isinstance(exc, (sqlalchemy.exc.OperationalError, sqlalchemy.exc.ProgrammingError)):
        reason = " ".join(str(exc.orig).split()) if exc.orig is not None else text
        if "no such table" in reason or "does not exist" in reason:
            return (f"a database has no altsim schema ({reason}): create the API and cell "
                    "schemas with `altsim-manage db sync`")
        return f"cannot use a database ({reason}): check its [database] connection"
    return None


def refusing_startup_problems(main: Callable[..., int]) -> Callable[..., int]:
    """Wrap a daemon's main: a configuration problem met while starting (startup_problem)
    is one line on stderr and exit status 2, as a bad config file is, not a traceback."""

    @functools.wraps(main)
    def guarded(*args: Any, **kwargs: Any) -> int:
        try:
            return main(*args, **kwargs)
        except Exception as exc:
            problem = startup_problem(exc)
            if problem is None:
                raise
            refuse(f"{os.path.basename(sys.argv[0])}: {problem}")

    return guarded


def serve(name: str, servers: Sequence[Any], on_stop: Callable[[], None] = lambda: None) -> int:
    """Start the servers, announce readiness, block until SIGTERM/SIGINT, then stop them."""
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    for server in servers:
        server.start()
    gc_tuning.freeze_startup_objects()
    print(f"{READY_PREFIX} {name}", flush=True)
    LOG.info("%s serving with %d RPC server(s)", name, len(servers))
    with profiling.profiled(name):  # only with ALTSIM_PROFILE_DIR set
        while not stopping.wait(1.0):
            pass
    LOG.info("%s stopping", name)
    stop_servers(servers)
    on_stop()
    return 0
