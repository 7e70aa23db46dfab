"""Buses: transports, RPC servers and clients, notifiers, and the router to each cell's bus.

One oslo.messaging transport per level: the API bus and one bus per cell. A cell-level service is
given its cell's URL only, so it has no way to address API-level topics; the super conductor reaches
the cells through a CellRouter built once from the CellMappings, never through a transport hidden
on a request context.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any

import oslo_messaging as messaging
from oslo_config import cfg

from altsim import amqp_polling, durable_messaging, runtime
from altsim.conf.messaging import mark_oslo_messaging_opts, register_oslo_messaging_opts
from altsim.db.api import CellMapping
from altsim.exceptions import REMOTE_EXCEPTION_MODULES
from altsim.objects import CELL0_UUID, PayloadSerializer
from altsim.sim import executor as sim_executor

CONTROL_EXCHANGE = "altsim"
NOTIFICATION_TOPIC = "notifications"

SERIALIZER = PayloadSerializer()


# Set in a ConfigOpts' own __dict__ (not an option: ConfigOpts is unhashable, so no set of
# them) once prepare_conf has run on it, so that each further transport of that conf skips it.
_PREPARED = "_altsim_messaging_prepared"


def prepare_conf(conf: cfg.ConfigOpts) -> None:
    """Register on `conf` what a transport of it reads, with altsim's messaging defaults
    (every get_*_transport does it first; done once a conf)."""
    if not conf.__dict__.get(_PREPARED):
        _prepare_conf(conf)
        mark_prepared(conf)


def mark_prepared(conf: cfg.ConfigOpts) -> None:
    """`conf` is a copy of one prepare_conf prepared (altsim.conf.template): nothing to
    register again."""
    conf.__dict__[_PREPARED] = True
    mark_oslo_messaging_opts(conf)


def _prepare_conf(conf: cfg.ConfigOpts) -> None:
    # oslo.messaging registers some groups its clients read on the global CONF only.
    register_oslo_messaging_opts(conf)
    # get_rpc_transport would register the transport options itself; registering them first
    # lets this conf (and only this conf: set_transport_defaults would change the process-wide
    # default) use altsim's exchange unless the operator set another.
    conf.register_opts(messaging.transport._transport_opts)
    conf.set_default("control_exchange", CONTROL_EXCHANGE)
    # Durable queues and quick reconnects: a broker restart loses no accepted cast.
    durable_messaging.apply_defaults(conf)


def get_rpc_transport(conf: cfg.ConfigOpts, url: str) -> messaging.Transport:
    prepare_conf(conf)
    amqp_polling.apply()
    return messaging.get_rpc_transport(conf, url=url,
                                       allowed_remote_exmods=REMOTE_EXCEPTION_MODULES)


def get_notification_transport(conf: cfg.ConfigOpts, url: str) -> messaging.Transport:
    prepare_conf(conf)
    amqp_polling.apply()
    return messaging.get_notification_transport(conf, url=url)


def make_server(transport: messaging.Transport, topic: str, server: str,
                endpoints: Sequence[Any]) -> messaging.RPCServer:
    target = messaging.Target(topic=topic, server=server)
    return sim_executor.use_for(messaging.get_rpc_server(transport, target, list(endpoints),
                                                         serializer=SERIALIZER))


def make_client(transport: messaging.Transport, topic: str, version: str) -> messaging.RPCClient:
    target = messaging.Target(topic=topic, version=version)
    return messaging.get_rpc_client(transport, target, serializer=SERIALIZER)


def stop_servers(servers: Sequence[Any]) -> None:
    """Stop RPC servers or notification listeners and wait for all of them, in parallel.

    Each server's pool stops at once (altsim.prompt_stop_pool), but a server still waits for
    the messages it is handling; waiting for all of them together costs the longest, not the
    sum.
    """
    for server in servers:
        server.stop()
    waiters = [runtime.Thread(target=server.wait, name="stop-server") for server in servers]
    for waiter in waiters:
        waiter.start()
    for waiter in waiters:
        waiter.join()


def new_context(request_id: str | None = None) -> dict[str, str]:
    """The request context that travels with every message: today just the request id."""
    return {"request_id": request_id or f"req-{runtime.uuid4()}"}


class Notifier:
    """Versioned-style notifications (instance.create.end, ...) on a service's own bus."""

    def __init__(self, transport: messaging.Transport, publisher_id: str) -> None:
        self._notifier = messaging.Notifier(transport, publisher_id=publisher_id,
                                            driver="messagingv2", topics=[NOTIFICATION_TOPIC],
                                            serializer=SERIALIZER)

    def info(self, ctxt: dict, event_type: str, payload: dict) -> None:
        self._notifier.info(ctxt, event_type, payload)

    def error(self, ctxt: dict, event_type: str, payload: dict) -> None:
        self._notifier.error(ctxt, event_type, payload)


class CellRouter:
    """Cell uuid -> that cell's RPC transport, built once from the CellMappings."""

    def __init__(self, conf: cfg.ConfigOpts, cells: Iterable[CellMapping]) -> None:
        self._conf = conf
        self._urls = {cell.uuid: cell.transport_url for cell in cells if cell.uuid != CELL0_UUID}
        self._transports: dict[str, messaging.Transport] = {}
        self._lock = threading.Lock()

    def transport(self, cell_uuid: str) -> messaging.Transport:
        with self._lock:
            transport = self._transports.get(cell_uuid)
            if transport is None:
                url = self._urls.get(cell_uuid)
                if url is None:
                    raise LookupError(f"no bus known for cell {cell_uuid}")
                transport = self._transports[cell_uuid] = get_rpc_transport(self._conf, url)
            return transport

    def cleanup(self) -> None:
        with self._lock:
            for transport in self._transports.values():
                transport.cleanup()
            self._transports.clear()
