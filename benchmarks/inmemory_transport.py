"""Benchmark: oslo.messaging's ``fake://`` driver against altsim's event-driven ``memory://``.

Measures, per transport, the latency of sequential RPC ``call()``s (one server, one client, the
next call sent when the previous one returned) and the throughput of ``cast()``s (N casts to one
server, timed from the first send until the endpoint has handled all N).  Prints a table and
writes the numbers to ``benchmarks/results/inmemory_transport.json``.

Run: ``python -m benchmarks.inmemory_transport [--calls 200] [--fake-calls 20] [--casts 5000]``
(the ``memory`` entry point must be installed: ``pip install -e . --no-deps``).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import threading
import time
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

import oslo_messaging
from oslo_config import cfg

from altsim import memory_driver

RESULTS = Path(__file__).resolve().parent / "results" / "inmemory_transport.json"
TOPIC = "bench"


class Endpoint:
    """``ping`` answers calls; ``tick`` counts casts and signals when ``expected`` arrived."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.expected = 0
        self.done = threading.Event()

    def ping(self, ctxt: dict, i: int) -> int:
        return i

    def tick(self, ctxt: dict, i: int) -> None:
        with self.lock:
            self.count += 1
            if self.count == self.expected:
                self.done.set()

    def expect(self, n: int) -> None:
        with self.lock:
            self.count = 0
            self.expected = n
            self.done.clear()


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def bench_transport(url: str, calls: int, casts: int, cast_timeout: float) -> dict[str, Any]:
    conf = cfg.ConfigOpts()
    # fake:// does not register these itself; without them every call fails on a private conf.
    memory_driver.register_oslo_messaging_opts(conf)
    transport = oslo_messaging.get_rpc_transport(conf, url=url)
    endpoint = Endpoint()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the 'executor' argument
        server = oslo_messaging.get_rpc_server(
            transport, oslo_messaging.Target(topic=TOPIC, server="s1"), [endpoint],
            executor="threading")
    server.start()
    client = oslo_messaging.get_rpc_client(transport, oslo_messaging.Target(topic=TOPIC))
    caller = client.prepare(timeout=30)
    try:
        caller.call({}, "ping", i=-1)  # warm-up: imports, executor threads

        latencies = []
        for i in range(calls):
            start = time.perf_counter()
            assert caller.call({}, "ping", i=i) == i
            latencies.append(time.perf_counter() - start)

        endpoint.expect(casts)
        start = time.perf_counter()
        for i in range(casts):
            client.cast({}, "tick", i=i)
        sent = time.perf_counter() - start
        if not endpoint.done.wait(cast_timeout):
            raise RuntimeError(f"{url}: only {endpoint.count}/{casts} casts handled "
                               f"after {cast_timeout} s")
        handled = time.perf_counter() - start
    finally:
        server.stop()
        server.wait()
        transport.cleanup()

    return {
        "url": url,
        "calls": calls,
        "call_latency_ms": {
            "median": statistics.median(latencies) * 1e3,
            "mean": statistics.fmean(latencies) * 1e3,
            "p95": _percentile(latencies, 0.95) * 1e3,
            "min": min(latencies) * 1e3,
            "max": max(latencies) * 1e3,
        },
        "casts": casts,
        "cast_send_s": sent,
        "cast_all_handled_s": handled,
        "casts_per_s": casts / handled,
    }


def bench_driver_only(url: str, messages: int) -> float:
    """Microseconds per message for the driver alone: send() to a listener whose callback just
    collects (no RPCClient, no RPC server, no executor).  Only for push-style drivers."""
    conf = cfg.ConfigOpts()
    transport = oslo_messaging.get_rpc_transport(conf, url=url)
    driver = transport._driver  # the driver interface itself, below oslo's client and server
    listener = driver.listen(oslo_messaging.Target(topic="raw", server="s1"), 1, None)
    received: list[Any] = []
    listener.start(received.extend)
    target = oslo_messaging.Target(topic="raw")
    start = time.perf_counter()
    for i in range(messages):
        driver.send(target, {}, {"method": "tick", "args": {"i": i}})
    elapsed = time.perf_counter() - start
    listener.stop()
    assert len(received) == messages
    return elapsed / messages * 1e6


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="sequential calls on memory://")
    parser.add_argument("--fake-calls", type=int, default=20,
                        help="sequential calls on fake:// (each costs ~50 ms)")
    parser.add_argument("--casts", type=int, default=5000, help="casts per transport")
    parser.add_argument("--cast-timeout", type=float, default=300.0)
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    vhost = "bench"
    memory_driver.delete_vhost(vhost)  # start from empty queues
    runs = {
        "fake://": bench_transport("fake://", args.fake_calls, args.casts, args.cast_timeout),
        f"memory:///{vhost}": bench_transport(f"memory:///{vhost}", args.calls, args.casts,
                                              args.cast_timeout),
    }
    # Cross-check the memory run with the broker's own counters: warm-up + calls + casts.
    stats = memory_driver.vhost_stats(vhost)
    runs[f"memory:///{vhost}"]["vhost_published"] = stats["published"]
    memory_driver.delete_vhost(vhost)
    # What the memory driver itself costs per message, to set against the totals above (which
    # are dominated by oslo's RPC client, dispatcher and executor).
    runs[f"memory:///{vhost}"]["driver_only_us_per_msg"] = bench_driver_only(
        f"memory:///{vhost}", args.casts)
    memory_driver.delete_vhost(vhost)

    fake, memory = runs["fake://"], runs[f"memory:///{vhost}"]
    result = {
        "benchmark": "inmemory_transport",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "oslo.messaging": metadata.version("oslo.messaging"),
        "machine": platform.platform(),
        "runs": runs,
        "speedup": {
            "call_latency_median": fake["call_latency_ms"]["median"]
            / memory["call_latency_ms"]["median"],
            "cast_throughput": memory["casts_per_s"] / fake["casts_per_s"],
        },
    }

    header = (f"{'transport':<18}{'calls':>7}{'median ms':>11}{'p95 ms':>9}"
              f"{'casts':>7}{'handled s':>11}{'casts/s':>10}")
    print(header)
    print("-" * len(header))
    for url, run in runs.items():
        lat = run["call_latency_ms"]
        print(f"{url:<18}{run['calls']:>7}{lat['median']:>11.3f}{lat['p95']:>9.3f}"
              f"{run['casts']:>7}{run['cast_all_handled_s']:>11.3f}{run['casts_per_s']:>10.0f}")
    print(f"speedup: call median x{result['speedup']['call_latency_median']:.0f}, "
          f"cast throughput x{result['speedup']['cast_throughput']:.1f}")
    print(f"memory driver alone (send -> callback, no oslo client/server): "
          f"{memory['driver_only_us_per_msg']:.1f} us/message")

    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")
    return result


if __name__ == "__main__":
    main()
