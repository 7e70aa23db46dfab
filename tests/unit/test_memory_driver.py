"""Tests of the event-driven in-memory oslo.messaging driver (altsim.memory_driver).

They go through the public oslo.messaging API, so the ``memory`` entry point must be installed
(``pip install -e . --no-deps``).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import oslo_messaging
import pytest
from oslo_config import cfg

from altsim import memory_driver

WAIT = 5.0  # generous bound for things that should happen within milliseconds


class Endpoint:
    """Records what it receives; ``echo`` is the call target, ``record`` the cast target."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.received: list[Any] = []
        self.lock = threading.Lock()

    def echo(self, ctxt: dict, value: Any) -> dict:
        return {"server": self.name, "value": value}

    def record(self, ctxt: dict, value: Any) -> None:
        with self.lock:
            self.received.append(value)

    def boom(self, ctxt: dict) -> None:
        raise ValueError("kaboom")


class NotificationEndpoint:
    def __init__(self) -> None:
        self.received: list[tuple[str, str, Any]] = []

    def info(self, ctxt: dict, publisher_id: str, event_type: str, payload: Any,
             metadata: dict) -> None:
        self.received.append((publisher_id, event_type, payload))


class Bus:
    """One test's vhosts, transports and servers, torn down by the fixture."""

    def __init__(self) -> None:
        self.prefix = f"test-{uuid.uuid4().hex[:8]}"
        self.conf = cfg.ConfigOpts()
        self.vhosts: set[str] = set()
        self.servers: list[Any] = []

    def url(self, vhost: str = "main") -> str:
        name = f"{self.prefix}-{vhost}"
        self.vhosts.add(name)
        return f"memory:///{name}"

    def join(self, timeout: float = WAIT) -> None:
        """Wait until every message sent on this test's vhosts has been handled."""
        memory_driver.join(*self.vhosts, timeout=timeout)

    def transport(self, vhost: str = "main") -> oslo_messaging.Transport:
        return oslo_messaging.get_rpc_transport(self.conf, url=self.url(vhost))

    def server(self, transport: oslo_messaging.Transport, topic: str, server: str,
               endpoint: Any) -> Any:
        srv = oslo_messaging.get_rpc_server(
            transport, oslo_messaging.Target(topic=topic, server=server), [endpoint])
        srv.start()
        self.servers.append(srv)
        return srv

    def client(self, transport: oslo_messaging.Transport, topic: str,
               **prepare: Any) -> oslo_messaging.RPCClient:
        client = oslo_messaging.get_rpc_client(transport, oslo_messaging.Target(topic=topic))
        return client.prepare(**prepare) if prepare else client

    def close(self) -> None:
        stop_and_wait(self.servers)
        for name in self.vhosts:
            memory_driver.delete_vhost(name)


def stop_and_wait(servers: list[Any]) -> None:
    """Stop servers, then wait for them in parallel.

    wait() shuts the futurist executor down, and its idle workers only notice after up to 1 s
    (futurist's MAX_IDLE_FOR), so waiting for servers one after the other costs ~1 s each.
    """
    for srv in servers:
        srv.stop()  # runs once per server, so a server the test already stopped is fine
    threads = [threading.Thread(target=srv.wait) for srv in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@pytest.fixture
def bus() -> Iterator[Bus]:
    b = Bus()
    yield b
    b.close()
    for name in b.vhosts:
        assert name not in memory_driver.list_vhosts()


def test_call_returns_endpoint_value(bus: Bus) -> None:
    transport = bus.transport()
    bus.server(transport, "compute", "host1", Endpoint("host1"))
    result = bus.client(transport, "compute", timeout=WAIT).call({}, "echo", value=[1, "a"])
    assert result == {"server": "host1", "value": [1, "a"]}


def test_cast_is_delivered(bus: Bus) -> None:
    transport = bus.transport()
    endpoint = Endpoint()
    bus.server(transport, "compute", "host1", endpoint)
    bus.client(transport, "compute").cast({}, "record", value=42)
    bus.join()
    assert endpoint.received == [42]


def test_server_directed_cast_reaches_only_that_server(bus: Bus) -> None:
    transport = bus.transport()
    endpoints = {name: Endpoint(name) for name in ("host1", "host2", "host3")}
    for name, endpoint in endpoints.items():
        bus.server(transport, "compute", name, endpoint)
    client = bus.client(transport, "compute", server="host2")
    for i in range(10):
        client.cast({}, "record", value=i)
    bus.join()  # a misrouted copy would have been handled too
    assert len(endpoints["host2"].received) == 10
    assert endpoints["host1"].received == []
    assert endpoints["host3"].received == []
    # A server-directed call also lands on that server only.
    assert bus.client(transport, "compute", server="host3", timeout=WAIT).call(
        {}, "echo", value=0)["server"] == "host3"


def test_competing_consumers_share_topic_messages(bus: Bus) -> None:
    transport = bus.transport()
    endpoints = [Endpoint(f"host{i}") for i in range(3)]
    for endpoint in endpoints:
        bus.server(transport, "conductor", endpoint.name, endpoint)
    client = bus.client(transport, "conductor")
    for i in range(30):
        client.cast({}, "record", value=i)
    bus.join()
    # Each message handled exactly once, and every server got a share (round-robin).
    assert sorted(v for e in endpoints for v in e.received) == list(range(30))
    assert all(len(e.received) == 10 for e in endpoints)


def test_fanout_reaches_all_servers(bus: Bus) -> None:
    transport = bus.transport()
    endpoints = [Endpoint(f"host{i}") for i in range(4)]
    for endpoint in endpoints:
        bus.server(transport, "scheduler", endpoint.name, endpoint)
    bus.client(transport, "scheduler", fanout=True).cast({}, "record", value="sync")
    bus.join()
    assert all(e.received == ["sync"] for e in endpoints)


def test_vhosts_are_isolated(bus: Bus) -> None:
    transport_a = bus.transport("a")
    transport_b = bus.transport("b")
    endpoint_b = Endpoint("b")
    bus.server(transport_b, "conductor", "b1", endpoint_b)
    with pytest.raises(oslo_messaging.MessagingTimeout, match="conductor"):
        bus.client(transport_a, "conductor", timeout=0.2).call({}, "record", value="leak")
    bus.client(transport_a, "conductor").cast({}, "record", value="leak")
    bus.client(transport_a, "conductor", fanout=True).cast({}, "record", value="leak")
    bus.join()
    assert endpoint_b.received == []
    # The same vhost name, through another transport, does share queues.
    assert bus.client(bus.transport("b"), "conductor", timeout=WAIT).call(
        {}, "echo", value=1)["server"] == "b"


def test_backlog_is_delivered_when_server_starts(bus: Bus) -> None:
    transport = bus.transport()
    bus.client(transport, "compute").cast({}, "record", value="early")
    stats = memory_driver.vhost_stats(f"{bus.prefix}-main")
    assert stats["published"] == 1
    assert stats["queues"]["openstack/compute"]["backlog"] == 1
    endpoint = Endpoint("host1")
    bus.server(transport, "compute", "host1", endpoint)
    bus.join()
    assert endpoint.received == ["early"]
    stats = memory_driver.vhost_stats(f"{bus.prefix}-main")
    assert stats["queues"]["openstack/compute"]["backlog"] == 0
    assert stats["queues"]["openstack/compute"]["delivered"] == 1


def test_endpoint_exception_reaches_caller(bus: Bus) -> None:
    transport = bus.transport()
    bus.server(transport, "compute", "host1", Endpoint("host1"))
    with pytest.raises((ValueError, oslo_messaging.RemoteError), match="kaboom"):
        bus.client(transport, "compute", timeout=WAIT).call({}, "boom")


def test_non_json_payload_fails_at_send(bus: Bus) -> None:
    transport = bus.transport()
    with pytest.raises((TypeError, ValueError)):
        bus.client(transport, "compute").cast({}, "record", value=object())


def test_notifications_reach_listener(bus: Bus) -> None:
    url = bus.url("notify")
    notifier = oslo_messaging.Notifier(
        oslo_messaging.get_notification_transport(bus.conf, url=url),
        driver="messagingv2", topics=["notifications"], publisher_id="x")
    endpoint = NotificationEndpoint()
    listener = oslo_messaging.get_notification_listener(
        oslo_messaging.get_notification_transport(bus.conf, url=url),
        [oslo_messaging.Target(topic="notifications")], [endpoint])
    listener.start()
    bus.servers.append(listener)
    notifier.info({}, "instance.create.end", {"uuid": "abc"})
    bus.join()
    assert endpoint.received == [("x", "instance.create.end", {"uuid": "abc"})]


def test_sequential_calls_do_not_poll(bus: Bus) -> None:
    transport = bus.transport()
    bus.server(transport, "compute", "host1", Endpoint("host1"))
    client = bus.client(transport, "compute", timeout=WAIT)
    start = time.monotonic()
    for i in range(200):
        assert client.call({}, "echo", value=i)["value"] == i
    # fake:// would take ~10 s here (50 ms poll per call); this is a sanity bound.
    assert time.monotonic() - start < 2.0


def test_stop_then_start_another_server_loses_nothing(bus: Bus) -> None:
    transport = bus.transport()
    client = bus.client(transport, "compute")
    first = Endpoint("first")
    server = bus.server(transport, "compute", "host1", first)
    for i in range(20):
        client.cast({}, "record", value=i)
    bus.join()
    assert len(first.received) == 20
    server.stop()
    server.wait()
    for i in range(20, 50):
        client.cast({}, "record", value=i)  # nobody consuming: kept in the queue
    second = Endpoint("second")
    bus.server(transport, "compute", "host2", second)
    bus.join()
    assert len(second.received) == 30
    assert sorted(first.received + second.received) == list(range(50))


def test_concurrent_publishers_and_stopping_servers_lose_nothing(bus: Bus) -> None:
    """Servers stop while casts stream in: every cast is handled exactly once."""
    transport = bus.transport()
    endpoints = [Endpoint(f"host{i}") for i in range(4)]
    servers = [bus.server(transport, "compute", e.name, e) for e in endpoints]
    client = bus.client(transport, "compute")
    total = 2000

    def publish(offset: int) -> None:
        for i in range(offset, total, 4):
            client.cast({}, "record", value=i)

    threads = [threading.Thread(target=publish, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for srv in servers[:3]:
        srv.stop()
    for t in threads:
        t.join()
    bus.join()
    assert sorted(v for e in endpoints for v in e.received) == list(range(total))


def test_messages_a_consumer_cannot_take_go_to_another(bus: Bus) -> None:
    """A consumer whose callback fails (say its executor is shut down) gets detached and the
    messages it was handed are put back, in order, for the other consumers.

    Driven through the driver interface itself, since an oslo server never lets this happen on
    purpose; it is the same put-back path as a listener stopping between being picked and called.
    """
    driver = bus.transport()._driver
    target = oslo_messaging.Target(topic="compute", server="broken")
    broken = driver.listen(target, 1, None)
    healthy = driver.listen(oslo_messaging.Target(topic="compute", server="ok"), 1, None)
    attempts: list[Any] = []
    got: list[Any] = []

    def refuse(incoming: list[Any]) -> None:
        attempts.append(incoming[0].message["value"])
        raise RuntimeError("Can not schedule new futures after being shutdown")

    broken.start(refuse)
    healthy.start(lambda incoming: got.extend(m.message["value"] for m in incoming))
    for i in range(6):
        driver.send(oslo_messaging.Target(topic="compute"), {}, {"value": i})
    assert attempts == [0]  # tried once, then detached
    assert got == list(range(6))
    broken.stop()
    healthy.stop()


def test_delete_vhost_and_stats(bus: Bus) -> None:
    transport = bus.transport()
    name = f"{bus.prefix}-main"
    assert memory_driver.vhost_stats(name)["published"] == 0
    bus.client(transport, "compute").cast({}, "record", value=1)
    assert memory_driver.vhost_stats(name)["published"] == 1
    assert memory_driver.delete_vhost(name) is True
    assert memory_driver.delete_vhost(name) is False
    with pytest.raises(KeyError):
        memory_driver.vhost_stats(name)


def test_stats_count_calls_casts_and_notifications_apart(bus: Bus) -> None:
    # Given a server and a notifier on one vhost
    transport = bus.transport()
    name = f"{bus.prefix}-main"
    bus.server(transport, "compute", "host1", Endpoint("host1"))
    notifier = oslo_messaging.Notifier(
        oslo_messaging.get_notification_transport(bus.conf, url=bus.url()),
        driver="messagingv2", topics=["notifications"], publisher_id="x")
    # When it gets two casts, one call and one notification
    client = bus.client(transport, "compute", timeout=WAIT)
    client.cast({}, "record", value=1)
    client.cast({}, "record", value=2)
    client.call({}, "echo", value=3)
    notifier.info({}, "instance.create.end", {})
    # Then each kind is counted once per send; the call's reply is not a publish
    stats = memory_driver.vhost_stats(name)
    assert stats["sent"] == {"call": 1, "cast": 2, "notification": 1}
    assert stats["published"] == 4


# -- join(): wait until every message is handled ------------------------------------------------

class Slow:
    """A cast target that holds its handler until `release` is set (or `hold` seconds pass)."""

    def __init__(self, hold: float = WAIT) -> None:
        self.hold = hold
        self.release = threading.Event()
        self.done: list[int] = []

    def work(self, ctxt: dict, value: int) -> None:
        self.release.wait(self.hold)
        self.done.append(value)


def test_join_waits_for_a_slow_handler(bus: Bus) -> None:
    # Given a server whose handler takes 0.3 s
    transport = bus.transport()
    slow = Slow(hold=0.3)
    bus.server(transport, "compute", "host1", slow)
    # When a cast is sent and the test joins
    start = time.monotonic()
    bus.client(transport, "compute").cast({}, "work", value=1)
    bus.join()
    # Then join returned only once the handler had
    assert slow.done == [1]
    assert time.monotonic() - start >= 0.3


def test_join_times_out_naming_what_is_still_busy(bus: Bus) -> None:
    # Given a handler that does not return until released, and a second cast queued behind it
    transport = bus.transport()
    slow = Slow()
    bus.server(transport, "compute", "host1", slow)
    client = bus.client(transport, "compute", server="host1")
    client.cast({}, "work", value=1)
    # When the test joins for 0.2 s
    with pytest.raises(memory_driver.JoinTimeout, match=r"not idle after 0.2 s: .*"
                       r"openstack/compute.host1: 1 being handled") as err:
        bus.join(timeout=0.2)
    # Then it says which queue is busy, and joins once the handler is let go
    assert f"{bus.prefix}-main" in str(err.value)
    slow.release.set()
    bus.join()
    assert slow.done == [1]


def test_join_returns_at_once_when_idle(bus: Bus) -> None:
    transport = bus.transport()
    bus.server(transport, "compute", "host1", Endpoint("host1"))
    assert bus.client(transport, "compute", timeout=WAIT).call({}, "echo", value=1)
    # Nothing to wait for: a join that waited would raise at its timeout.
    bus.join(timeout=1.0)


def test_join_does_not_wait_for_a_queue_nobody_consumes(bus: Bus) -> None:
    # A backlog with no consumer would never be delivered: waiting for it would never end.
    transport = bus.transport()
    bus.client(transport, "nobody").cast({}, "record", value=1)
    bus.join(timeout=1.0)  # would raise JoinTimeout if it waited for the backlog
    assert memory_driver.vhost_stats(f"{bus.prefix}-main")["queues"]["openstack/nobody"][
        "backlog"] == 1


def test_join_refuses_a_vhost_nobody_used(bus: Bus) -> None:
    with pytest.raises(KeyError, match="no vhost never-used"):
        memory_driver.join("never-used", timeout=0.1)


class Relay:
    """Casts `relay` on to the other bus until `hops` runs out, after a pause each time, so
    the next cast is sent well after the one that led to it was taken off its queue."""

    def __init__(self, bus: Bus, name: str, other: str) -> None:
        self.name = name
        self.next = bus.client(bus.transport(other), "relay")
        self.seen: list[int] = []

    def relay(self, ctxt: dict, hops: int) -> None:
        time.sleep(0.02)
        self.seen.append(hops)
        if hops:
            self.next.cast(ctxt, "relay", hops=hops - 1)


def test_join_waits_for_casts_that_handlers_send_across_vhosts(bus: Bus) -> None:
    # Given a relay on each of two vhosts, each casting to the other
    relays = {"a": Relay(bus, "a", "b"), "b": Relay(bus, "b", "a")}
    for name, relay in relays.items():
        bus.server(bus.transport(name), "relay", name, relay)
    # When one cast starts a chain of 8 more and the test joins both vhosts
    bus.client(bus.transport("a"), "relay").cast({}, "relay", hops=8)
    bus.join()
    # Then every hop was handled, alternating between the vhosts
    assert relays["a"].seen == [8, 6, 4, 2, 0]
    assert relays["b"].seen == [7, 5, 3, 1]


class Requeuing:
    """A notification endpoint that asks for its first notification again."""

    def __init__(self) -> None:
        self.received: list[str] = []

    def info(self, ctxt: dict, publisher_id: str, event_type: str, payload: Any,
             metadata: dict) -> Any:
        self.received.append(event_type)
        time.sleep(0.02)
        if len(self.received) == 1:
            return oslo_messaging.NotificationResult.REQUEUE
        return oslo_messaging.NotificationResult.HANDLED


def test_join_waits_for_notifications_and_their_requeues(bus: Bus) -> None:
    url = bus.url("notify")
    endpoint = Requeuing()
    listener = oslo_messaging.get_notification_listener(
        oslo_messaging.get_notification_transport(bus.conf, url=url),
        [oslo_messaging.Target(topic="notifications")], [endpoint], allow_requeue=True)
    listener.start()
    bus.servers.append(listener)
    oslo_messaging.Notifier(oslo_messaging.get_notification_transport(bus.conf, url=url),
                            driver="messagingv2", topics=["notifications"],
                            publisher_id="x").info({}, "instance.create.end", {})
    bus.join()
    assert endpoint.received == ["instance.create.end"] * 2
