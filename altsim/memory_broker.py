"""The in-memory broker model behind ``memory://``: one vhost's exchanges, queues and delivery.

A :class:`Vhost` is an isolated broker: queues keyed by exchange and name, direct bindings by
routing key and per-topic fanout queues.  A queue keeps a backlog while nobody consumes it and
hands it over when a consumer attaches.  Delivery is push-style and runs on the thread that
published (or attached, or requeued): there are no threads and no sleeps here, so a process can
hold thousands of consumers.  A vhost also counts what it published and delivered (its
:meth:`Vhost.stats`) and tells when everything handed over has been handled
(:meth:`Vhost.wait_idle`), which :mod:`altsim.memory_vhosts` builds ``join()`` on.

It knows nothing of oslo.messaging: what a consumer is (the driver's listener) is the
:class:`Consumer` protocol, and payloads are opaque JSON strings.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from altsim import runtime


class Consumer(Protocol):
    """What a vhost delivers to: altsim.memory_listener's listener."""

    #: How many messages to hand over at once (None or less than 1: one).
    batch_size: int | None

    def hand_over(self, vhost: Vhost, q: Queue, batch: Iterable[Envelope]) -> bool:
        """Take ``batch`` from ``q``; False if this consumer cannot (it stopped, or failed)."""
        ...


class Envelope:
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


class Queue:
    """A named queue inside one exchange of one vhost.  Guarded by the vhost's lock."""

    def __init__(self, exchange: str, name: str, auto_delete: bool = False) -> None:
        self.exchange = exchange
        self.name = name
        # Private fanout queues die with their listener, like RabbitMQ's auto-delete queues.
        self.auto_delete = auto_delete
        self.deleted = False
        self.messages: collections.deque[Envelope] = collections.deque()
        self.consumers: list[Consumer] = []
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


class Vhost:
    """An isolated in-process broker: exchanges, their queues and bindings."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.lock = threading.Lock()
        self.deleted = False
        # exchange -> queue name -> queue
        self.queues: dict[str, dict[str, Queue]] = {}
        # exchange -> routing key -> queues bound to it (direct routing)
        self.bindings: dict[str, dict[str, list[Queue]]] = {}
        # exchange -> topic -> private fanout queues of that topic's RPC servers
        self.fanout: dict[str, dict[str, list[Queue]]] = {}
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

    def _declare_locked(self, exchange: str, name: str, key: str) -> Queue:
        """Return queue ``name`` of ``exchange``, creating it and binding it to ``key``."""
        queues = self.queues.setdefault(exchange, {})
        q = queues.get(name)
        if q is None:
            q = queues[name] = Queue(exchange, name)
        bound = self.bindings.setdefault(exchange, {}).setdefault(key, [])
        if q not in bound:
            bound.append(q)
        return q

    def _delete_queue_locked(self, q: Queue) -> None:
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

    def declare(self, exchange: str, name: str, key: str) -> Queue:
        with self.lock:
            return self._declare_locked(exchange, name, key)

    def declare_fanout(self, exchange: str, topic: str) -> Queue:
        with self.lock:
            q = Queue(exchange, f"{topic}_fanout_{runtime.uuid4().hex}", auto_delete=True)
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

    def publish(self, exchange: str, key: str, envelope: Envelope) -> None:
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

    def publish_fanout(self, exchange: str, topic: str, envelope: Envelope) -> None:
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

    def requeue(self, q: Queue, envelope: Envelope) -> None:
        with self.lock:
            if q.deleted:
                return
            self.activity += 1
            q.messages.append(envelope)
            q.requeued += 1
        self.drain(q)

    def settle(self, q: Queue) -> None:
        """A handed-over message is done with (its handler returned, or it was requeued)."""
        with self.lock:
            q.in_flight -= 1
            self.in_flight -= 1
            if self.in_flight == 0:
                self.changed.notify_all()

    # -- consuming ------------------------------------------------------------------------------

    def attach(self, consumer: Consumer, queues: Sequence[Queue]) -> None:
        with self.lock:
            self.activity += 1  # a backlog nobody consumed is about to be delivered
            for q in queues:
                if not q.deleted and consumer not in q.consumers:
                    q.consumers.append(consumer)
        for q in queues:
            self.drain(q)  # hand over the backlog

    def detach(self, consumer: Consumer, queues: Sequence[Queue]) -> None:
        with self.lock:
            for q in queues:
                if consumer in q.consumers:
                    q.consumers.remove(consumer)
                if q.auto_delete and not q.consumers:
                    self._delete_queue_locked(q)
            self.changed.notify_all()  # a backlog without a consumer is not waited for

    def drain(self, q: Queue) -> None:
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

    def _busy_queues_locked(self) -> list[Queue]:
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
