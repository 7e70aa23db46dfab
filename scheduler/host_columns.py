"""The hosts of one request as columns (numpy arrays), for filters and weighers that look at
every host at once.

Filtering and weighing 1,000 hosts one Python call per host and filter or weigher cost more
than the rest of a scheduling decision together; as columns, the same rules are a few array
operations. `Columns` is what filters, weighers and the selector see; `HostColumns` makes it
from HostState objects (hosts without placement, tests), scheduler.host_table from the table
the HostManager keeps. Either way the hosts are in host-name order, so a stable sort on weight
alone still breaks ties by host name, and `consume` changes the request's own copy only.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

import numpy as np

from scheduler.host_state import HostState


class Columns:
    """disabled, updated_at, failed_builds (arrays), hosts, uuids and cell_uuids (lists) and
    free(rc), one entry per host; subclasses provide them."""

    hosts: list[str]
    uuids: list[str]
    cell_uuids: list[str]
    disabled: np.ndarray
    updated_at: np.ndarray
    failed_builds: np.ndarray

    def __len__(self) -> int:
        raise NotImplementedError

    def free(self, resource_class: str) -> np.ndarray:
        """What each host has left of a resource class (0 where it has none)."""
        raise NotImplementedError

    def subset(self, positions: np.ndarray) -> Columns:
        """The hosts at `positions`, in that order."""
        raise NotImplementedError

    def consume(self, position: int, resources: Mapping[str, int]) -> None:
        """An earlier instance of the request took `resources` on the host at `position`."""
        raise NotImplementedError

    def state(self, position: int) -> HostState:
        """The host at `position` as a HostState, with what this request has left of it."""
        raise NotImplementedError

    @cached_property
    def states(self) -> list[HostState]:
        """Every host as a HostState: for a filter or weigher without a column version."""
        return [self.state(i) for i in range(len(self))]


class HostColumns(Columns):
    """Columns of HostState objects (shared with their maker: consume() copies a state)."""

    def __init__(self, states: list[HostState]) -> None:
        self._states = list(states)
        self._free: dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self._states)

    @property
    def states(self) -> list[HostState]:  # type: ignore[override]
        return self._states

    @cached_property
    def disabled(self) -> np.ndarray:  # type: ignore[override]
        return np.fromiter((s.disabled for s in self._states), bool, len(self))

    @cached_property
    def updated_at(self) -> np.ndarray:  # type: ignore[override]
        return np.fromiter((s.updated_at for s in self._states), float, len(self))

    @cached_property
    def failed_builds(self) -> np.ndarray:  # type: ignore[override]
        return np.fromiter((s.failed_builds for s in self._states), float, len(self))

    @cached_property
    def hosts(self) -> list[str]:  # type: ignore[override]
        return [s.host for s in self._states]

    @cached_property
    def uuids(self) -> list[str]:  # type: ignore[override]
        return [s.uuid for s in self._states]

    @cached_property
    def cell_uuids(self) -> list[str]:  # type: ignore[override]
        return [s.cell_uuid for s in self._states]

    def free(self, resource_class: str) -> np.ndarray:
        column = self._free.get(resource_class)
        if column is None:
            column = self._free[resource_class] = np.fromiter(
                (s.free_resources.get(resource_class, 0) for s in self._states), np.int64,
                len(self))
        return column

    def subset(self, positions: np.ndarray) -> HostColumns:
        part = HostColumns([self._states[i] for i in positions])
        for name in ("disabled", "updated_at", "failed_builds"):
            if name in self.__dict__:  # a cached_property already computed
                part.__dict__[name] = self.__dict__[name][positions]
        for name in ("hosts", "uuids", "cell_uuids"):
            if name in self.__dict__:
                part.__dict__[name] = [self.__dict__[name][i] for i in positions]
        part._free = {rc: column[positions] for rc, column in self._free.items()}
        return part

    def consume(self, position: int, resources: Mapping[str, int]) -> None:
        owned = self._states[position] = self._states[position].copy()
        owned.consume(dict(resources))
        for rc, column in self._free.items():
            column[position] = owned.free(rc)

    def state(self, position: int) -> HostState:
        return self._states[position]
