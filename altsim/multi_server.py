"""One RPC server for many servers of a topic: every `compute.<host>` of a process on one listener.

oslo.messaging gives each RPCServer one listener, and over RabbitMQ each listener its own AMQP
connection and polling thread, so a process simulating thousands of hosts the usual way (an
RPCServer per `compute.<host>`, as each nova-compute has) holds thousands of connections and
threads and takes minutes to start. Here one listener consumes every `<topic>.<server>` queue
of the process, on one connection, and hands each message to the endpoints of the server whose
queue it came from: the queue a message arrives on says which host it is for, as it does for
Nova, so the RPC interface is unchanged and a client cannot tell the difference.

Each queue is still its own (a host's messages wait in its own queue while it is down, and
another process can serve other hosts of the same topic). Over RabbitMQ this uses the rabbit
driver's listener and connection classes (oslo.messaging's private API, checked by
tests/functional/rabbit/test_multi_server.py); the memory driver has `listen_servers` for it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import oslo_messaging as messaging
from oslo_messaging._drivers import amqpdriver
from oslo_messaging._drivers import base as driver_base
from oslo_messaging._drivers import common as driver_common
from oslo_messaging.rpc import dispatcher as rpc_dispatcher
from oslo_messaging.rpc.server import RPCServer

from altsim.sim import executor as sim_executor

LOG = logging.getLogger(__name__)


class UnknownServer(rpc_dispatcher.NoSuchMethod):
    """A message that came from no queue of this process's servers (logged and dropped)."""

    def __init__(self, queue: str | None, method: str) -> None:
        super().__init__(method)
        self.queue = queue

    def __str__(self) -> str:
        return f"no server of this process consumes queue {self.queue!r} (method {self.method})"


class QueueDispatcher:
    """Dispatches each message to the endpoints of the server its queue belongs to."""

    def __init__(self, topic: str, endpoints_by_server: Mapping[str, Sequence[Any]],
                 serializer: messaging.Serializer) -> None:
        self._prefix = f"{topic}."
        self._dispatchers = {server: rpc_dispatcher.RPCDispatcher(list(endpoints), serializer)
                             for server, endpoints in endpoints_by_server.items()}

    def dispatch(self, incoming: Any) -> Any:
        queue = getattr(incoming, "queue_name", None)
        server = queue[len(self._prefix):] if queue and queue.startswith(self._prefix) else None
        dispatcher = self._dispatchers.get(server) if server is not None else None
        if dispatcher is None:
            raise UnknownServer(queue, incoming.message.get("method", "?"))
        return dispatcher.dispatch(incoming)


class MultiServerRPCServer(RPCServer):
    """An RPCServer answering to Target(topic, server=S) for every S it is given."""

    def __init__(self, transport: messaging.Transport, topic: str,
                 endpoints_by_server: Mapping[str, Sequence[Any]],
                 serializer: messaging.Serializer) -> None:
        if not endpoints_by_server:
            raise ValueError(f"a server of topic {topic} needs at least one server name")
        self.topic = topic
        self.server_names = list(endpoints_by_server)
        super().__init__(transport, messaging.Target(topic=topic),
                         QueueDispatcher(topic, endpoints_by_server, serializer),
                         executor="threading")
        sim_executor.use_for(self)

    def _create_listener(self) -> Any:
        return listen_servers(self.transport, self.topic, self.server_names)


def listen_servers(transport: messaging.Transport, topic: str,
                   servers: Sequence[str]) -> driver_base.Listener:
    """One listener consuming `<topic>.<server>` for every server; each incoming message
    carries the name of the queue it came from as `queue_name`."""
    driver = transport._driver
    if hasattr(driver, "listen_servers"):
        return driver.listen_servers(topic, list(servers), 1, None)
    if isinstance(driver, amqpdriver.AMQPDriverBase):
        return _listen_amqp(driver, topic, servers)
    raise NotImplementedError(f"{type(driver).__name__} cannot serve many servers on one "
                              "listener (rabbit:// and memory:// can)")


class _QueueNamingListener(amqpdriver.RpcAMQPListener):
    """The rabbit driver's RPC listener, noting on each message the queue it came from (its
    routing key: the rabbit driver binds queue `<topic>.<server>` with that key)."""

    def __call__(self, message: Any) -> None:
        before = len(self.incoming)
        super().__call__(message)
        if len(self.incoming) > before:
            raw = getattr(message, "_raw_message", None)
            delivery = getattr(raw, "delivery_info", None) or {}
            self.incoming[-1].queue_name = delivery.get("routing_key")


def _listen_amqp(driver: Any, topic: str, servers: Sequence[str]) -> driver_base.Listener:
    # What AMQPDriverBase.listen does for one server, for many: one connection, one listener,
    # a topic consumer per server queue (the shared topic and fanout queues are left out:
    # nothing addresses a simulated host but by its own queue).
    conn = driver._get_connection(driver_common.PURPOSE_LISTEN)
    listener = _QueueNamingListener(driver, conn)
    exchange = driver._get_exchange(messaging.Target(topic=topic))
    for server in servers:
        conn.declare_topic_consumer(exchange_name=exchange, topic=f"{topic}.{server}",
                                    callback=listener)
    LOG.info("Consuming %d %s queues on one connection", len(servers), topic)
    return driver_base.PollStyleListenerAdapter(listener, 1, None)
