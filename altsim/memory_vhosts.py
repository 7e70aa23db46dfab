"""The process's in-memory vhosts by name, and what tests and runs ask of them.

A vhost is created the first time a ``memory://`` transport names it and lives until
:func:`delete_vhost`; every transport of one name in the process shares it.  Besides the lookup
the driver uses (:func:`get_vhost`), this is the public side of the in-memory bus, re-exported
by :mod:`altsim.memory_driver`: :func:`delete_vhost` (tests and the embedded runner clean up
with it), :func:`vhost_stats` (the benchmarks count messages with it), :func:`list_vhosts` (to
spot leaks) and :func:`join` (tests wait with it instead of sleeping).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

from altsim.memory_broker import Vhost

_VHOSTS: dict[str, Vhost] = {}
_VHOSTS_LOCK = threading.Lock()


def get_vhost(name: str) -> Vhost:
    """Vhost ``name``, created empty if no transport has used the name yet."""
    with _VHOSTS_LOCK:
        vhost = _VHOSTS.get(name)
        if vhost is None:
            vhost = _VHOSTS[name] = Vhost(name)
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


def _vhosts_named(names: Sequence[str]) -> dict[str, Vhost]:
    """The vhosts of these names that exist now (every vhost if no name is given)."""
    with _VHOSTS_LOCK:
        return {name: vhost for name, vhost in _VHOSTS.items() if not names or name in names}
