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

Module-level helpers: :func:`delete_vhost` drops a vhost (tests and the embedded runner clean up
with it), :func:`vhost_stats` reports message counters (the benchmarks count messages with it),
:func:`join` waits until vhosts are idle (every message handled: tests wait with it instead of
sleeping), and :func:`register_oslo_messaging_opts` registers on a private ConfigOpts the option
groups that oslo.messaging's RPC client/server need but only register on the global cfg.CONF.
"""

from __future__ import annotations

import collections
import importlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import oslo_messaging
from oslo_messaging._drivers import base
from oslo_serialization import jsonutils

from altsim import runtime

LOG = logging.getLogger(__name__)

#: The vhost used when the URL names none (``memory://``), as in RabbitMQ.
DEFAULT_VHOST = "/"

_Callback = Callable[[list[base.IncomingMessage]], Any]


class _Envelope:
    """One published message as it sits in a queue.

    The payload stays a JSON string while queued: every delivered copy (fanout, pools, requeues)
    is decoded afresh, so no two consumers ever share a dict.
    """

    __slots__ = ("payload", "reply_q", "expires_at", "msg_id")

    def __init__(self, payload: str, reply_q: runtime.Queue | None,
                 expires_at: float | None) -> None:
        self.payload = payload
        self.reply_q = reply_q
        self.expires_at = expires_at
        self.msg_id = runtime.uuid4().hex


class _Queue:
    """A named queue inside one exchange of one vhost.  Guarded by the vhost's lock."""

    def __init__(self, exchange: str, name: str, auto_delete: bool = False) -> None:
        self.exchange = exchange
        self.name = name
        # Private fanout queues die with their listener, like RabbitMQ's auto-delete queues.
        self.auto_delete = auto_delete
        self.deleted = False
        self.messages: collections.deque[_Envelope] = collections.deque()
        self.consumers: list[_MemoryListener] = []
        self.next_consumer = 0
        # Only one thread hands out a queue's messages at a time; this keeps per-queue order
        # (as a broker does) without ever running a consumer callback under the vhost lock.
        self.draining = False
        # Messages handed to a consumer whose handler has not finished yet (join() waits them).
        self.in_flight = 0
        self.published = 0
        self.delivered = 0
        self.requeued = 0
        self.expired = 0


class _Vhost:
    """An isolated in-process broker: exchanges, their queues and bindings."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()
        self.deleted = False
        # exchange -> queue name -> queue
        self.queues: dict[str, dict[str, _Queue]] = {}
        # exchange -> routing key -> queues bound to it (direct routing)
        self.bindings: dict[str, dict[str, list[_Queue]]] = {}
        # exchange -> topic -> private fanout queues of that topic's RPC servers
        self.fanout: dict[str, dict[str, list[_Queue]]] = {}
        self.published = 0
        self.unroutable = 0
        # What join() watches: messages being handled, a condition on the vhost lock notified
        # when the vhost may have become idle, and a count of everything that can make it busy
        # again (publish, requeue, attach), by which join() knows nothing moved while it looked.
        self.in_flight = 0
        self.changed = threading.Condition(self.lock)
        self.activity = 0
        # Publishes by kind ("call", "cast", "notification"): a run's RPC traffic apart from
        # its notifications, which go through the same publish path.
        self.sent: collections.Counter[str] = collections.Counter()

    def count_sent(self, kind: str) -> None:
        with self.lock:
            self.sent[kind] += 1

    # -- topology (callers hold self.lock) ------------------------------------------------------

    def _declare_locked(self, exchange: str, name: str, key: str) -> _Queue:
        """Return queue ``name`` of ``exchange``, creating it and binding it to ``key``."""
        queues = self.queues.setdefault(exchange, {})
        q = queues.get(name)
        if q is None:
            q = queues[name] = _Queue(exchange, name)
        bound = self.bindings.setdefault(exchange, {}).setdefault(key, [])
        if q not in bound:
            bound.append(q)
        return q

    def _delete_queue_locked(self, q: _Queue) -> None:
        q.deleted = True
        q.messages.clear()
        q.consumers.clear()
        self.queues.get(q.exchange, {}).pop(q.name, None)
        for bound in self.bindings.get(q.exchange, {}).values():
            if q in bound:
                bound.remove(q)
        for fanout_queues in self.fanout.get(q.exchange, {}).values():
            if q in fanout_queues:
                fanout_queues.remove(q)

    def declare(self, exchange: str, name: str, key: str) -> _Queue:
        with self.lock:
            return self._declare_locked(exchange, name, key)

    def declare_fanout(self, exchange: str, topic: str) -> _Queue:
        with self.lock:
            q = _Queue(exchange, f"{topic}_fanout_{runtime.uuid4().hex}", auto_delete=True)
            self.queues.setdefault(exchange, {})[q.name] = q
            self.fanout.setdefault(exchange, {}).setdefault(topic, []).append(q)
            return q

    def drop(self) -> None:
        """Forget every queue and consumer (the vhost was deleted)."""
        with self.lock:
            self.deleted = True
            self.changed.notify_all()
            for queues in self.queues.values():
                for q in queues.values():
                    q.deleted = True
                    q.messages.clear()
                    q.consumers.clear()
            self.queues.clear()
            self.bindings.clear()
            self.fanout.clear()

    # -- publishing -----------------------------------------------------------------------------

    def publish(self, exchange: str, key: str, envelope: _Envelope) -> None:
        """Route to every queue bound to ``key``, declaring queue ``key`` first if need be.

        Declaring on publish keeps the backlog of a topic nobody listens to yet (a cast sent
        before its server starts), like the rabbit driver's default notification queues.
        """
        with self.lock:
            self.published += 1
            self.activity += 1
            self._declare_locked(exchange, key, key)
            targets = list(self.bindings[exchange][key])
            for q in targets:
                q.messages.append(envelope)
                q.published += 1
        for q in targets:
            self.drain(q)

    def publish_fanout(self, exchange: str, topic: str, envelope: _Envelope) -> None:
        """Copy to the private fanout queue of every RPC server of ``topic``.

        With no server listening the message is dropped, as a RabbitMQ fanout exchange does.
        """
        with self.lock:
            self.published += 1
            self.activity += 1
            targets = list(self.fanout.get(exchange, {}).get(topic, ()))
            if not targets:
                self.unroutable += 1
            for q in targets:
                q.messages.append(envelope)
                q.published += 1
        for q in targets:
            self.drain(q)

    def requeue(self, q: _Queue, envelope: _Envelope) -> None:
        with self.lock:
            if q.deleted:
                return
            self.activity += 1
            q.messages.append(envelope)
            q.requeued += 1
        self.drain(q)

    def settle(self, q: _Queue) -> None:
        """A handed-over message is done with (its handler returned, or it was requeued)."""
        with self.lock:
            q.in_flight -= 1
            self.in_flight -= 1
            if self.in_flight == 0:
                self.changed.notify_all()

    # -- consuming ------------------------------------------------------------------------------

    def attach(self, listener: _MemoryListener, queues: Sequence[_Queue]) -> None:
        with self.lock:
            self.activity += 1  # a backlog nobody consumed is about to be delivered
            for q in queues:
                if not q.deleted and listener not in q.consumers:
                    q.consumers.append(listener)
        for q in queues:
            self.drain(q)  # hand over the backlog

    def detach(self, listener: _MemoryListener, queues: Sequence[_Queue]) -> None:
        with self.lock:
            for q in queues:
                if listener in q.consumers:
                    q.consumers.remove(listener)
                if q.auto_delete and not q.consumers:
                    self._delete_queue_locked(q)
            self.changed.notify_all()  # a backlog without a consumer is not waited for

    def drain(self, q: _Queue) -> None:
        """Hand ``q``'s messages to its consumers until it is empty or has no consumer.

        Runs on whichever thread published (or attached, or requeued).  If another thread is
        already draining ``q`` it will pick our message up, so we return at once.
        """
        with self.lock:
            if q.draining:
                return
            q.draining = True
        while True:
            with self.lock:
                now = runtime.monotonic()
                # Calls whose caller has given up are dropped, like RabbitMQ's per-message TTL
                # (the rabbit driver sets expiration=timeout), so a late server does no stale work.
                while q.messages and q.messages[0].expires_at is not None \
                        and q.messages[0].expires_at <= now:
                    q.messages.popleft()
                    q.expired += 1
                if q.deleted or not q.messages or not q.consumers:
                    q.draining = False
                    if self.in_flight == 0:
                        self.changed.notify_all()
                    return
                consumer = q.consumers[q.next_consumer % len(q.consumers)]
                q.next_consumer += 1
                count = min(max(consumer.batch_size or 1, 1), len(q.messages))
                batch = [q.messages.popleft() for _ in range(count)]
                q.delivered += count
                q.in_flight += count
                self.in_flight += count
            # Outside the vhost lock: the callback may publish (it may even be synchronous).
            if consumer.hand_over(self, q, batch):
                continue
            # The consumer stopped between being picked and being called, or its callback
            # failed: put the messages back at the head so another consumer gets them in order.
            with self.lock:
                q.delivered -= count
                q.in_flight -= count
                self.in_flight -= count
                if q.deleted:
                    continue
                q.messages.extendleft(reversed(batch))
                if consumer in q.consumers:
                    q.consumers.remove(consumer)

    # -- idleness (join) --------------------------------------------------------------------------

    def _busy_queues_locked(self) -> list[_Queue]:
        """Queues with a message being handled, or waiting for a consumer that is attached.

        A backlog on a queue nobody consumes (notifications no listener reads, a server's queue
        while it is down) is not busy: nothing would ever deliver it, as on a real broker.
        """
        if self.deleted:
            return []
        return [q for queues in self.queues.values() for q in queues.values()
                if q.in_flight or (q.messages and q.consumers)]

    def _idle_locked(self) -> bool:
        # in_flight first: while a run is busy it answers without a scan of every queue.
        return self.deleted or (self.in_flight == 0 and not self._busy_queues_locked())

    def wait_idle(self, deadline: float) -> bool:
        """Wait until idle or `deadline` (time.monotonic()); return whether idle."""
        with self.changed:
            return self.changed.wait_for(self._idle_locked,
                                         timeout=max(0.0, deadline - time.monotonic()))

    def activity_count(self) -> int:
        with self.lock:
            return self.activity

    def busy(self) -> list[str]:
        """What keeps this vhost busy, one line a queue (for join()'s error)."""
        with self.lock:
            queues = self._busy_queues_locked()
            lines = [f"{self.name} {q.exchange}/{q.name}: {q.in_flight} being handled, "
                     f"{len(q.messages)} waiting" for q in queues]
            # Taken from a queue deleted since (a stopped server's fanout queue).
            unlisted = self.in_flight - sum(q.in_flight for q in queues)
            if unlisted > 0 and not self.deleted:
                lines.append(f"{self.name}: {unlisted} being handled")
            return lines

    def stats(self) -> dict[str, Any]:
        with self.lock:
            queues = {
                f"{exchange}/{name}": {
                    "published": q.published,
                    "delivered": q.delivered,
                    "requeued": q.requeued,
                    "expired": q.expired,
                    "backlog": len(q.messages),
                    "consumers": len(q.consumers),
                }
                for exchange, by_name in self.queues.items()
                for name, q in by_name.items()
            }
            return {
                "name": self.name,
                "published": self.published,
                "sent": {kind: self.sent[kind] for kind in ("call", "cast", "notification")},
                "unroutable": self.unroutable,
                "queues": queues,
            }


# -- vhost registry ---------------------------------------------------------------------------

_VHOSTS: dict[str, _Vhost] = {}
_VHOSTS_LOCK = threading.Lock()


def _get_vhost(name: str) -> _Vhost:
    with _VHOSTS_LOCK:
        vhost = _VHOSTS.get(name)
        if vhost is None:
            vhost = _VHOSTS[name] = _Vhost(name)
        return vhost


def delete_vhost(name: str) -> bool:
    """Drop vhost ``name`` with all its queues; return whether it existed.

    Its listeners stop receiving.  Transports still pointing at the name transparently get a new,
    empty vhost on their next operation.
    """
    with _VHOSTS_LOCK:
        vhost = _VHOSTS.pop(name, None)
    if vhost is None:
        return False
    vhost.drop()
    return True


def vhost_stats(name: str) -> dict[str, Any]:
    """Counters of vhost ``name``; raises KeyError if there is no such vhost.

    Returns ``{"name", "published", "sent", "unroutable", "queues"}``: ``published`` counts
    publish operations (one per cast/call/notification, whatever the number of queues it
    reached), ``sent`` the same by kind (``{"call": n, "cast": n, "notification": n}``;
    replies to calls are not published, so not counted), ``unroutable`` fanouts that found no
    listener, and ``queues`` maps ``"<exchange>/<queue>"`` to ``{"published", "delivered",
    "requeued", "expired", "backlog", "consumers"}``.
    """
    with _VHOSTS_LOCK:
        vhost = _VHOSTS.get(name)
    if vhost is None:
        raise KeyError(name)
    return vhost.stats()


def list_vhosts() -> list[str]:
    """Names of the existing vhosts (to spot leaks in tests)."""
    with _VHOSTS_LOCK:
        return sorted(_VHOSTS)


class JoinTimeout(TimeoutError):
    """join() gave up: messages were still waiting or being handled (listed in the message)."""


def join(*vhosts: str, timeout: float = 30.0) -> None:
    """Wait until every message sent on `vhosts` (all vhosts if none is named) has been
    delivered and its handler has returned; raise JoinTimeout after `timeout` seconds.

    A test sends casts, calls join(), then asserts, instead of sleeping or polling. A message
    is done when an RPC server has replied to it (oslo.messaging replies to casts too, with
    nothing, once the endpoint returns) or a notification listener has acknowledged or
    requeued it; what a handler sends before it returns is waited for as well, so a chain of
    casts (a build and its reschedules) is joined whole, across vhosts when they are all
    named. Not waited for: a backlog on a queue nobody consumes (it would wait forever), and
    work a handler leaves to a thread of its own. Never call it from a handler: it would wait
    for itself. Raises KeyError for a name no transport has used (a mistyped vhost).
    """
    with _VHOSTS_LOCK:
        unknown = [name for name in vhosts if name not in _VHOSTS]
    if unknown:
        raise KeyError(f"no vhost {', '.join(unknown)}")
    deadline = time.monotonic() + timeout
    while True:
        # Idle one after the other is not idle together: a handler on one vhost may send to
        # another already waited for. So wait for each, and accept only a round during which
        # nothing was published, requeued or attached anywhere.
        found = _vhosts_named(vhosts)
        before = {name: vhost.activity_count() for name, vhost in found.items()}
        for vhost in found.values():
            if not vhost.wait_idle(deadline):
                busy = [line for v in _vhosts_named(vhosts).values() for line in v.busy()]
                raise JoinTimeout(f"the in-memory buses were not idle after {timeout:g} s: "
                                  + "; ".join(busy or ["(idle by now)"]))
        after = {name: vhost.activity_count() for name, vhost in _vhosts_named(vhosts).items()}
        if after == before:
            return


def _vhosts_named(names: Sequence[str]) -> dict[str, _Vhost]:
    """The vhosts of these names that exist now (every vhost if no name is given)."""
    with _VHOSTS_LOCK:
        return {name: vhost for name, vhost in _VHOSTS.items() if not names or name in names}


# -- messages and listeners -------------------------------------------------------------------


class _IncomingMessage(base.RpcIncomingMessage):
    """A message handed to a server; also used for notifications (which never reply).

    It tells its vhost when it is done with, for join(). oslo.messaging's RPC server
    acknowledges a message before dispatching it and replies (to a cast too) once the endpoint
    has returned, so an RPC message is done at its reply; a notification listener acknowledges
    or requeues after dispatching, so a notification is done then.
    """

    def __init__(self, vhost: _Vhost, q: _Queue, envelope: _Envelope,
                 notification: bool) -> None:
        decoded = jsonutils.loads(envelope.payload)
        super().__init__(decoded["ctxt"], decoded["message"], msg_id=envelope.msg_id)
        self._vhost = vhost
        self._queue = q
        self._envelope = envelope
        self._done_on_ack = notification
        self._settled = False

    def _settle(self) -> None:
        if not self._settled:
            self._settled = True
            self._vhost.settle(self._queue)

    @property
    def queue_name(self) -> str:
        """The queue the message came from (altsim.multi_server routes by it)."""
        return self._queue.name

    def acknowledge(self) -> None:
        """A message left its queue when it was handed over; a notification is done now."""
        if self._done_on_ack:
            self._settle()

    def requeue(self) -> None:
        # Back in its queue before it stops being in flight, so join() never sees a gap.
        self._vhost.requeue(self._queue, self._envelope)
        self._settle()

    def heartbeat(self) -> None:
        """Heartbeats only matter to brokers that can lose a consumer; not needed here."""

    def reply(self, reply: Any = None, failure: Any = None) -> None:
        try:
            self._reply(reply, failure)
        finally:
            self._settle()

    def _reply(self, reply: Any, failure: Any) -> None:
        reply_q = self._envelope.reply_q
        if reply_q is None:
            return
        if failure is None:
            try:
                # Copy the result as a broker would, so the caller cannot share the server's
                # objects and a non-JSON result is noticed.
                reply = jsonutils.loads(jsonutils.dumps(reply))
            except Exception as exc:
                LOG.exception("Cannot serialize the reply to message %s", self.msg_id)
                failure = (type(exc), exc, exc.__traceback__)
                reply = None
        reply_q.put((reply, failure))


class _MemoryListener(base.Listener):
    """Push-style listener: the publishing thread calls ``on_incoming_callback`` directly.

    ``on_incoming_callback`` is never called with the vhost lock held; a per-listener lock is held
    instead, so that once :meth:`stop` returns no callback is running or will run.
    """

    def __init__(self, vhost: _Vhost, queues: Sequence[_Queue], batch_size: int,
                 batch_timeout: float | None, notification: bool = False) -> None:
        super().__init__(batch_size, batch_timeout)
        self._vhost = vhost
        self._queues = list(queues)
        self._notification = notification  # its messages are done when acknowledged
        # Re-entrant so a callback that stops its own listener does not deadlock.
        self._deliver_lock = threading.RLock()
        self._attached = False

    def start(self, on_incoming_callback: _Callback) -> None:
        super().start(on_incoming_callback)
        with self._deliver_lock:
            self._attached = True
        self._vhost.attach(self, self._queues)

    def hand_over(self, vhost: _Vhost, q: _Queue, batch: Iterable[_Envelope]) -> bool:
        """Give ``batch`` to the callback; False if this listener cannot take it."""
        with self._deliver_lock:
            callback = self.on_incoming_callback
            if not self._attached or callback is None:
                return False
            incomings: list[base.IncomingMessage] = [
                _IncomingMessage(vhost, q, envelope, self._notification) for envelope in batch]
            try:
                callback(incomings)
            except Exception:
                # E.g. the server's executor is already shut down: stop taking messages and let
                # the drainer give them to someone else.
                LOG.exception("Consumer of %s failed to accept messages; detaching it", q.name)
                self._attached = False
                return False
            return True

    def stop(self) -> None:
        # Leave the queues first so no drainer picks us any more, then wait (on the delivery
        # lock) for a callback in progress; a drainer that picked us just before finds us
        # detached and puts its messages back for another consumer.
        self._vhost.detach(self, self._queues)
        with self._deliver_lock:
            self._attached = False
        super().stop()

    def cleanup(self) -> None:
        """Nothing held: no threads, no connections."""


# -- the driver -------------------------------------------------------------------------------


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


class MemoryDriver(base.BaseDriver):
    """oslo.messaging driver for ``memory:///<vhost>`` URLs (see the module docstring)."""

    def __init__(self, conf: Any, url: Any, default_exchange: str | None = None,
                 allowed_remote_exmods: list[str] | None = None) -> None:
        super().__init__(conf, url, default_exchange, allowed_remote_exmods)
        register_oslo_messaging_opts(conf)
        self._vhost_name: str = url.virtual_host or DEFAULT_VHOST
        # Create the vhost now so vhost_stats() works as soon as a transport exists.
        _get_vhost(self._vhost_name)

    def _vhost(self) -> _Vhost:
        # Looked up per operation so a transport survives delete_vhost() of its name.
        return _get_vhost(self._vhost_name)

    def _exchange(self, target: Any) -> str:
        return target.exchange or self._default_exchange or "openstack"

    def require_features(self, requeue: bool = False) -> None:
        """Requeueing is supported; nothing else is asked for."""

    @staticmethod
    def _envelope(ctxt: Any, message: Any, reply_q: runtime.Queue | None,
                  timeout: float | None) -> _Envelope:
        # jsonutils is what the real drivers encode with, so the same payloads fail here.
        payload = jsonutils.dumps({"ctxt": ctxt, "message": message})
        expires_at = runtime.monotonic() + timeout if timeout is not None else None
        return _Envelope(payload, reply_q, expires_at)

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
        return _MemoryListener(vhost, queues, batch_size, batch_timeout)

    def listen_servers(self, topic: str, servers: Sequence[str], batch_size: int,
                       batch_timeout: float | None) -> base.Listener:
        """One listener on queue `<topic>.<server>` of every server (altsim.multi_server)."""
        vhost = self._vhost()
        exchange = self._exchange(oslo_messaging.Target(topic=topic))
        queues = [vhost.declare(exchange, f"{topic}.{server}", f"{topic}.{server}")
                  for server in servers]
        return _MemoryListener(vhost, queues, batch_size, batch_timeout)

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
        return _MemoryListener(vhost, queues, batch_size, batch_timeout, notification=True)

    def cleanup(self) -> None:
        """Nothing to release: the vhost is shared with other transports; see delete_vhost()."""
