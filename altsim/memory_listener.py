"""oslo.messaging's consuming side of ``memory://``: the listener and the messages it hands over.

The listener is a consumer of :mod:`altsim.memory_broker` queues that turns each delivered
envelope into an oslo.messaging incoming message and gives the batch to the server's callback;
the incoming message carries a call's reply back to the waiting caller and tells its vhost when
it is done with, which is what ``join()`` waits for.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from oslo_messaging._drivers import base
from oslo_serialization import jsonutils

from altsim.memory_broker import Envelope, Queue, Vhost

LOG = logging.getLogger(__name__)

_Callback = Callable[[list[base.IncomingMessage]], Any]


class MemoryIncomingMessage(base.RpcIncomingMessage):
    """A message handed to a server; also used for notifications (which never reply).

    It tells its vhost when it is done with, for join(). oslo.messaging's RPC server
    acknowledges a message before dispatching it and replies (to a cast too) once the endpoint
    has returned, so an RPC message is done at its reply; a notification listener acknowledges
    or requeues after dispatching, so a notification is done then.
    """

    def __init__(self, vhost: Vhost, q: Queue, envelope: Envelope,
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


class MemoryListener(base.Listener):
    """Push-style listener: the publishing thread calls ``on_incoming_callback`` directly.

    ``on_incoming_callback`` is never called with the vhost lock held; a per-listener lock is held
    instead, so that once :meth:`stop` returns no callback is running or will run.
    """

    def __init__(self, vhost: Vhost, queues: Sequence[Queue], batch_size: int,
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

    def hand_over(self, vhost: Vhost, q: Queue, batch: Iterable[Envelope]) -> bool:
        """Give ``batch`` to the callback; False if this listener cannot take it."""
        with self._deliver_lock:
            callback = self.on_incoming_callback
            if not self._attached or callback is None:
                return False
            incomings: list[base.IncomingMessage] = [
                MemoryIncomingMessage(vhost, q, envelope, self._notification) for envelope in batch]
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
