"""What a MultiServerRPCServer must do on any transport, as one function the memory-driver
test and the RabbitMQ test both run: every `<topic>.<server>` queue is served, each message
by the endpoint of the server it was addressed to, calls get their answer, and a message for
a server the process does not carry is not answered and does not stop the others."""

from __future__ import annotations

import threading
from collections.abc import Callable

import oslo_messaging
import pytest

from altsim import rpc
from altsim.multi_server import MultiServerRPCServer

TOPIC = "compute"


class Endpoint:
    target = oslo_messaging.Target(version="1.0")

    def __init__(self, name: str, seen: list[tuple[str, int]], arrived: threading.Event,
                 expected: int) -> None:
        self.name, self._seen, self._arrived, self._expected = name, seen, arrived, expected
        self._lock = threading.Lock()

    def note(self, ctxt: dict, number: int) -> None:
        with self._lock:
            self._seen.append((self.name, number))
            if len(self._seen) >= self._expected:
                self._arrived.set()

    def whoami(self, ctxt: dict) -> str:
        return self.name


def check_dispatch_by_queue(transport: oslo_messaging.Transport, servers: int = 50,
                            also: Callable[[MultiServerRPCServer], None] = lambda s: None,
                            ) -> None:
    """Run the checks, and `also` on the running server (for a transport's own checks)."""
    names = [f"host{i:03d}" for i in range(servers)]
    seen: list[tuple[str, int]] = []
    arrived = threading.Event()
    server = MultiServerRPCServer(
        transport, TOPIC, {name: [Endpoint(name, seen, arrived, 3 * servers)]
                           for name in names}, rpc.SERIALIZER)
    server.start()
    try:
        client = rpc.make_client(transport, TOPIC, "1.0")
        # Given three casts to every server, interleaved
        for number in range(3):
            for name in names:
                client.prepare(server=name).cast({}, "note", number=number)
        # Then each is handled by its own server's endpoint (in any order: the server's
        # worker threads handle messages side by side)
        assert arrived.wait(30), f"only {len(seen)} of {3 * servers} casts arrived"
        for name in names:
            assert sorted(n for who, n in seen if who == name) == [0, 1, 2]
        # and a call gets the answer of the server it was sent to
        assert client.prepare(server=names[-1], timeout=10).call({}, "whoami") == names[-1]
        # A server this process does not carry: nobody answers
        with pytest.raises(oslo_messaging.MessagingTimeout):
            client.prepare(server="elsewhere", timeout=1).call({}, "whoami")
        # and the others are served still
        assert client.prepare(server=names[0], timeout=10).call({}, "whoami") == names[0]
        also(server)
    finally:
        rpc.stop_servers([server])
