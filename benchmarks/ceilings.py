"""What the broker and the messaging library allow, measured on the broker altsim runs on.

    python -m benchmarks.ceilings [--url rabbit://guest:guest@127.0.0.1:5672/] [--messages N]

Four numbers, each from one thread, on a vhost of its own (created and deleted here):
- kombu_publish_per_s: raw kombu publishes of a small message to one queue;
- kombu_consume_per_s: raw kombu consumes (auto-ack) of those messages;
- oslo_call_per_s: sequential oslo.messaging RPC calls to a threading-executor server;
- oslo_cast_per_s: oslo.messaging casts, from the first sent to the last handled.
altsim's daemons cannot go faster than these; BENCHMARKS.md sets its rates beside them.
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from typing import Any

import kombu

from altsim import rpc
from altsim.conf import make_conf
from altsim_lab.deploy.launcher import rabbitmqctl, vhost_url

PAYLOAD = {"instance_uuid": str(uuid.uuid4()), "host": "host-00001", "attempt": 1}


def kombu_rates(url: str, count: int) -> dict[str, float]:
    with kombu.Connection(url.replace("rabbit://", "amqp://")) as connection:
        queue = kombu.Queue(f"bench-{uuid.uuid4().hex[:8]}", auto_delete=False)
        producer = connection.Producer(serializer="json")
        queue(connection.default_channel).declare()
        started = time.perf_counter()
        for _ in range(count):
            producer.publish(PAYLOAD, routing_key=queue.name, declare=[])
        publish_s = time.perf_counter() - started
        received = 0

        def on_message(_body: Any, message: kombu.Message) -> None:
            nonlocal received
            received += 1

        started = time.perf_counter()
        with connection.Consumer(queue, callbacks=[on_message], no_ack=True,
                                 prefetch_count=None):
            while received < count:
                connection.drain_events(timeout=30)
        consume_s = time.perf_counter() - started
        queue(connection.default_channel).delete()
    return {"kombu_publish_per_s": count / publish_s, "kombu_consume_per_s": count / consume_s}


class _Endpoint:
    def __init__(self, expected_casts: int) -> None:
        self.casts = 0
        self.expected = expected_casts
        self.done = threading.Event()
        self._lock = threading.Lock()

    def ping(self, ctxt: dict, payload: dict) -> dict:
        return payload

    def note(self, ctxt: dict, payload: dict) -> None:
        with self._lock:
            self.casts += 1
            if self.casts >= self.expected:
                self.done.set()


def oslo_rates(url: str, count: int) -> dict[str, float]:
    conf = make_conf()
    conf([], project="altsim", default_config_files=[], default_config_dirs=[])
    transport = rpc.get_rpc_transport(conf, url)
    endpoint = _Endpoint(count)
    server = rpc.make_server(transport, "bench", "bench-host", [endpoint])
    server.start()
    try:
        client = rpc.make_client(transport, "bench", "1.0").prepare(server="bench-host")
        client.call({}, "ping", payload=PAYLOAD)  # connections and queues are up after this
        started = time.perf_counter()
        for _ in range(count):
            client.call({}, "ping", payload=PAYLOAD)
        call_s = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(count):
            client.cast({}, "note", payload=PAYLOAD)
        if not endpoint.done.wait(120):
            raise RuntimeError(f"only {endpoint.casts} of {count} casts arrived in 120 s")
        cast_s = time.perf_counter() - started
    finally:
        rpc.stop_servers([server])
        transport.cleanup()
    return {"oslo_call_per_s": count / call_s, "oslo_cast_per_s": count / cast_s}


def measure(base_url: str, messages: int) -> dict[str, float]:
    vhost = f"altsim-bench-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", vhost)
    rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    try:
        url = vhost_url(base_url, vhost)
        return {**kombu_rates(url, messages * 5), **oslo_rates(url, messages)}
    finally:
        rabbitmqctl("delete_vhost", vhost)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="rabbit://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--messages", type=int, default=2000,
                        help="oslo calls and casts (kombu sends five times as many)")
    args = parser.parse_args()
    for key, value in measure(args.url, args.messages).items():
        print(f"{key:24s} {value:10.0f}")


if __name__ == "__main__":
    main()
