"""Fresh ConfigOpts copied from a template built and parsed once per process.

Building a service's ConfigOpts registers about a hundred options one by one and parses an
empty command line, about a millisecond of CPU; a test's fresh embedded cloud builds a dozen.
`cloned_conf(key, build)` calls `build()` once per key, keeps oslo.config's own state snapshot
of the result (`ConfigOpts.export_state`), and gives each caller a new ConfigOpts imported
from a copy of that snapshot.

What a copy shares with the template and with the other copies is only what oslo.config
itself treats as definitions, the `Opt` objects (make_conf already shares oslo.messaging's):
every table a ConfigOpts writes (its options' and groups' values, overrides and defaults, its
parsed namespace, its caches) is the copy's own, so `set_override` or `set_default` on one
copy shows on no other. Where oslo.config has no state snapshot (before it grew one),
every call builds anew.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Hashable
from typing import Any

from oslo_config import cfg

_snapshots: dict[Hashable, dict[str, Any]] = {}
_lock = threading.Lock()
_SUPPORTED = hasattr(cfg.ConfigOpts, "export_state") and hasattr(cfg.ConfigOpts,
                                                                    "import_state")
_NOT_SERIALIZABLE = getattr(cfg, "ConfigOptsSerializationError", cfg.Error)


def cloned_conf(key: Hashable, build: Callable[[], cfg.ConfigOpts]) -> cfg.ConfigOpts:
    """A new ConfigOpts equal to what `build()` returns; `build` runs once per `key` in the
    process, so it must depend on nothing but the key."""
    if not _SUPPORTED:
        return build()
    with _lock:
        snapshot = _snapshots.get(key)
        if snapshot is None:
            try:
                snapshot = build().export_state()
            except _NOT_SERIALIZABLE:  # e.g. driver options: no snapshot, built each time
                snapshot = {}
            _snapshots[key] = snapshot
    if not snapshot:
        return build()
    return cfg.ConfigOpts.import_state(_own_copy(snapshot))


def _own_copy(state: dict[str, Any]) -> dict[str, Any]:
    """The snapshot with every container a ConfigOpts keeps and writes copied (import_state
    adopts the dicts it is given), the Opt objects shared."""
    return {
        **state,
        "opts": _infos(state["opts"]),
        "groups": {name: {**group, "opts": _infos(group["opts"])}
                   for name, group in state["groups"].items()},
        "deprecated_opts": {group: {dest: dict(info) for dest, info in entries.items()}
                            for group, entries in state["deprecated_opts"].items()},
        "args": None if state["args"] is None else list(state["args"]),
        "namespace": _values(state["namespace"]),
        "mutable_ns": _values(state["mutable_ns"]),
        "config_opts": list(state["config_opts"]),
        "cli_opts": list(state["cli_opts"]),
        "setup_attrs": _values(state["setup_attrs"]),
    }


def _infos(infos: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each option's entry copied, with its override or default when that is a container
    (set on the template, it must not be one object in every copy)."""
    copied = {name: dict(info) for name, info in infos.items()}
    for entry in copied.values():
        if len(entry) > 2:  # beyond "opt" and "cli": a location, override or default
            for field in ("override", "default"):
                if isinstance(entry.get(field), _CONTAINERS):
                    entry[field] = copy.deepcopy(entry[field])
    return copied


def _values(values: dict[str, Any] | None) -> dict[str, Any] | None:
    """A dict of values (a parsed namespace, setup attributes) with its containers copied:
    an empty one made anew (the usual case, and much cheaper than deepcopy)."""
    if values is None:
        return None
    return {key: (copy.deepcopy(value) if value else type(value)())
            if isinstance(value, _CONTAINERS) else value for key, value in values.items()}


_CONTAINERS = (list, dict, set)
