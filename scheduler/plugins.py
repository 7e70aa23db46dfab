"""Build the enabled filters or weighers from their names in config."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

from oslo_config import cfg

Plugin = TypeVar("Plugin")


def load_plugins(conf: cfg.ConfigOpts, option: str, names: Iterable[str],
                 available: Mapping[str, type[Plugin]]) -> list[Plugin]:
    """One instance per name, in order; an unknown name is an error naming the option."""
    plugins = []
    for name in names:
        if name not in available:
            raise ValueError(f"{option}: unknown name {name!r} "
                             f"(available: {', '.join(sorted(available))})")
        plugins.append(available[name](conf))
    return plugins
