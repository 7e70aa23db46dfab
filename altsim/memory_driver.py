"""Event-driven in-memory oslo.messaging driver (``memory://``).

oslo.messaging's stock ``fake://`` driver is a poor fit for a simulator that runs a whole cloud in
one process: its listeners poll in 50 ms sleeps (so every ``call()`` costs ~50 ms and every RPC
server owns a polling thread), and all fake transports share one global exchange registry, so the
API bus and the cell buses could reach each other's topics.

This driver models a RabbitMQ broker in memory instead:

* The TransportURL's virtual host names an isolated broker ("vhost"): ``memory:///api`` and
  ``memory:///run-1234-cell1`` never see each other's messages; two transports with the same
  virtual host in one process share queues.  ``memory://`` (no virtual host) means vhost ``/``.
* Within a vhost, exchanges (``target.exchange`` or the transport's default exchange) route
  messages by key to named queues, as oslo's rabbit driver lays them out:

  - RPC server on ``Target(topic=T, server=S)`` consumes queue ``T`` (shared by every server of
    topic T: competing consumers, round-robin), queue ``T.S`` (its own) and a private,
    auto-deleted fanout queue ``T_fanout_<id>``;
  - ``cast``/``call`` to ``Target(topic=T)`` goes to queue ``T``, with ``server=S`` to ``T.S``,
    with ``fanout=True`` to every fanout queue of T (dropped when there is none, as in RabbitMQ);
  - notifications for ``"<topic>.<priority>"`` (the Notifier builds that topic) go to the queue of
    that name and to one queue per listener pool, ``"<topic>.<priority>:<pool>"``.

* Queues exist from their first declaration (listener creation) or first publish and keep a
  backlog while nobody consumes; an attaching consumer gets the backlog.
* Delivery is push-style: publishing hands the message straight to a consumer's callback (which,
  for oslo servers, just submits it to the server's executor).  There are no threads and no sleeps
  in the driver, so a process can hold thousands of RPC servers.
* Payloads are deep-copied through ``jsonutils`` on send, so sender and receiver never share
  mutable state and a non-JSON payload fails at send time, as it would on a real broker.

Module layout: this module is the oslo.messaging driver (it maps targets onto queues);
:mod:`altsim.memory_broker` models one vhost (queues, backlog, delivery, counters, idleness),
:mod:`altsim.memory_vhosts` keeps the vhosts by name, :mod:`altsim.memory_listener` is the
listener and the incoming messages it hands to servers, and :mod:`altsim.conf.messaging`
registers oslo.messaging's global-only options on a private conf.

Public helpers, importable from here: :func:`delete_vhost` drops a vhost (tests and the embedded
runner clean up with it), :func:`vhost_stats` reports message counters (the benchmarks count
messages with it), :func:`list_vhosts` names the vhosts (to spot leaks), :func:`join` waits until
vhosts are idle (every message handled: tests wait with it instead of sleeping; it raises
:class:`JoinTimeout`), and :func:`register_oslo_messaging_opts` registers on a private
ConfigOpts the option groups that oslo.messaging's RPC client/server need but only register on
the global cfg.CONF.
"""

from __future__ import annotations

import queue
from collections.abc import Sequence
from typing import Any

import oslo_messaging
from oslo_messaging._drivers import base
from oslo_serialization import jsonutils

from altsim import runtime
from altsim.conf.messaging import mark_oslo_messaging_opts, register_oslo_messaging_opts
from altsim.memory_broker import Envelope, Vhost
from altsim.memory_listener import MemoryListener
from altsim.memory_vhosts import (
    JoinTimeout,
    delete_vhost,
    get_vhost,
    join,
    list_vhosts,
    vhost_stats,
)

__all__ = [
    "DEFAULT_VHOST",
    "JoinTimeout",
    "MemoryDriver",
    "delete_vhost",
    "join",
    "list_vhosts",
    "mark_oslo_messaging_opts",
    "register_oslo_messaging_opts",
    "vhost_stats",
]

#: The vhost used when the URL names none (``memory://``), as in RabbitMQ.
DEFAULT_VHOST = "/"


class MemoryDriver(base.BaseDriver):
    """oslo.messaging driver for ``memory:///<vhost>`` URLs (see the module docstring)."""

    def __init__(self, conf: Any, url: Any, default_exchange: str | None = None,
                 allowed_remote_exmods: list[str] | None = None) -> None:
        super().__init__(conf, url, default_exchange, allowed_remote_exmods)
        register_oslo_messaging_opts(conf)
        self._vhost_name: str = url.virtual_host or DEFAULT_VHOST
        # Create the vhost now so vhost_stats() works as soon as a transport exists.
        get_vhost(self._vhost_name)

    def _vhost(self) -> Vhost:
        # Looked up per operation so a transport survives delete_vhost() of its name.
        return get_vhost(self._vhost_name)

    def _exchange(self, target: Any) -> str:
        return target.exchange or self._default_exchange or "openstack"

    def require_features(self, requeue: bool = False) -> None:
        """Requeueing is supported; nothing else is asked for."""

    @staticmethod
    def _envelope(ctxt: Any, message: Any, reply_q: runtime.Queue | None,
                  timeout: float | None) -> Envelope:
        # jsonutils is what the real drivers encode with, so the same payloads fail here.
        payload = jsonutils.dumps({"ctxt": ctxt, "message": message})
        expires_at = runtime.monotonic() + timeout if timeout is not None else None
        return Envelope(payload, reply_q, expires_at)

    def send(self, target: Any, ctxt: Any, message: Any, wait_for_reply: bool | None = None,
             timeout: float | None = None, call_monitor_timeout: float | None = None,
             retry: int | None = None, transport_options: Any = None) -> Any:
        # retry and transport_options are moot: an in-memory publish cannot fail transiently.
        # A deterministic run may switch to another thread here, as a broker round trip could.
        runtime.yield_point("send")
        # A runtime Queue: a deterministic run waits for the reply (and its timeout) in its
        # scheduler and in simulated time, any other run as queue.Queue does.
        reply_q: runtime.Queue | None = runtime.Queue() if wait_for_reply else None
        envelope = self._envelope(ctxt, message, reply_q, timeout)
        vhost = self._vhost()
        vhost.count_sent("call" if wait_for_reply else "cast")
        exchange = self._exchange(target)
        if target.fanout:
            vhost.publish_fanout(exchange, target.topic, envelope)
        elif target.server:
            vhost.publish(exchange, f"{target.topic}.{target.server}", envelope)
        else:
            vhost.publish(exchange, target.topic, envelope)
        if reply_q is None:
            return None
        try:
            reply, failure = reply_q.get(timeout=timeout)
        except queue.Empty:
            raise oslo_messaging.MessagingTimeout(
                f"No reply on topic {target.topic}") from None
        if failure:
            # As the fake driver does: re-raise the server's exception itself (real drivers
            # serialize it and rebuild it, or a RemoteError, from allowed_remote_exmods).
            raise failure[1]
        return reply

    def send_notification(self, target: Any, ctxt: Any, message: Any, version: float,
                          retry: int | None = None) -> None:
        # The Notifier already built target.topic as "<topic>.<priority>"
        # (oslo_messaging/notify/messaging.py), which is exactly our queue / routing key.
        runtime.yield_point("notify")
        envelope = self._envelope(ctxt, message, None, None)
        vhost = self._vhost()
        vhost.count_sent("notification")
        vhost.publish(self._exchange(target), target.topic, envelope)

    def listen(self, target: Any, batch_size: int, batch_timeout: float | None) -> base.Listener:
        vhost = self._vhost()
        exchange = self._exchange(target)
        topic = target.topic
        # Declared now (not at start) so messages sent before the server starts are kept.
        queues = [vhost.declare(exchange, topic, topic)]
        if target.server:
            server_key = f"{topic}.{target.server}"
            queues.append(vhost.declare(exchange, server_key, server_key))
        queues.append(vhost.declare_fanout(exchange, topic))
        return MemoryListener(vhost, queues, batch_size, batch_timeout)

    def listen_servers(self, topic: str, servers: Sequence[str], batch_size: int,
                       batch_timeout: float | None) -> base.Listener:
        """One listener on queue `<topic>.<server>` of every server (altsim.multi_server)."""
        vhost = self._vhost()
        exchange = self._exchange(oslo_messaging.Target(topic=topic))
        queues = [vhost.declare(exchange, f"{topic}.{server}", f"{topic}.{server}")
                  for server in servers]
        return MemoryListener(vhost, queues, batch_size, batch_timeout)

    def listen_for_notifications(self, targets_and_priorities: Sequence[tuple[Any, str]],
                                 pool: str | None, batch_size: int,
                                 batch_timeout: float | None) -> base.Listener:
        vhost = self._vhost()
        queues = []
        for target, priority in targets_and_priorities:
            key = f"{target.topic}.{priority}"
            # Each pool gets its own queue (its own copy of every message); listeners of one pool
            # (or of no pool) compete for that queue's messages.
            name = key if pool is None else f"{key}:{pool}"
            queues.append(vhost.declare(self._exchange(target), name, key))
        return MemoryListener(vhost, queues, batch_size, batch_timeout, notification=True)

    def cleanup(self) -> None:
        """Nothing to release: the vhost is shared with other transports; see delete_vhost()."""
