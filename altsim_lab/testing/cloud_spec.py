"""What a Cloud is made of before it starts: cells, hosts, flavors, config, written in Python.

A CloudSpec turns into the same Scenario a YAML file gives the runner (altsim_lab.scenario), so
a test's cloud is deployed by the one build path every run uses. Its cells are named and sized
as a scenario's: `hosts=3` makes `<cell>-host-001` ... as `host_count: 3` does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pydantic

from altsim.objects import Flavor
from altsim.validation_errors import describe
from altsim_lab.config_overrides import apply_overrides
from altsim_lab.scenario.schema import (
    AggregateSpec,
    FlavorSpec,
    RequestEntry,
    Scenario,
    parse_scenario,
)
from altsim_lab.scenario.topology import blank_service_conf
from altsim_lab.testing.world import HOST_RESOURCES
from compute_sim.faults import FaultRule
from compute_sim.hosts_file import CellSpec, HostSpec

# Flavors every cloud has unless the test redefines them (Nova's functional tests' m1.* and
# the flavor altsim's scenarios use).
DEFAULT_FLAVORS: dict[str, dict[str, int]] = {
    "small": {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1},
    "m1.small": {"VCPU": 1, "MEMORY_MB": 2048, "DISK_GB": 20},
    "m1.large": {"VCPU": 4, "MEMORY_MB": 8192, "DISK_GB": 80},
}
# A cell's traits or aggregates: one list for every host, or host name -> its list.
PerHost = list[str] | dict[str, list[str]] | None


def _of(given: PerHost, host: str) -> list[str]:
    if isinstance(given, dict):
        return list(given.get(host, []))
    return list(given or [])


def _check_per_host(hosts: list[str], given: PerHost, what: str) -> None:
    if isinstance(given, dict):
        unknown = sorted(set(given) - set(hosts))
        if unknown:
            raise ValueError(f"{what}: no such host in the cell: {unknown}")


# The cloud a test gets when it adds no cell: one cell of three hosts.
DEFAULT_CELLS: dict[str, list[str]] = {"cell1": ["host1", "host2", "host3"]}


class CloudError(ValueError):
    """A request the cloud refuses: the message says which argument and why."""


@dataclass
class CloudSpec:
    name: str = "altsim-cloud"
    seed: int = 0
    cells: dict[str, CellSpec] = field(default_factory=dict)
    flavors: dict[str, dict[str, int]] = field(default_factory=lambda: dict(DEFAULT_FLAVORS))
    # Flavor name -> its extra specs (only flavors that have some).
    extra_specs: dict[str, dict[str, str]] = field(default_factory=dict)
    # Host aggregate name -> its metadata (only aggregates that have some).
    aggregates: dict[str, dict[str, str]] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def add_cell(self, name: str, hosts: list[str] | int,
                 resources: dict[str, int] | None = None,
                 traits: PerHost = None, aggregates: PerHost = None) -> CellSpec:
        """`traits` and `aggregates`: a list for every host of the cell, or a mapping of
        host name to its list (listed hosts only)."""
        if name in self.cells:
            raise CloudError(f"add_cell: a cell named {name!r} already exists")
        resources = dict(resources or HOST_RESOURCES)
        try:
            if isinstance(hosts, int):
                if isinstance(traits, dict) or isinstance(aggregates, dict):
                    raise ValueError("traits and aggregates per host need listed hosts")
                cell = CellSpec(name=name, host_count=hosts, host_resources=resources,
                                host_traits=list(traits or []),
                                host_aggregates=list(aggregates or []))
            else:
                _check_per_host(hosts, traits, "traits")
                _check_per_host(hosts, aggregates, "aggregates")
                cell = CellSpec(name=name, hosts=[
                    HostSpec(name=h, resources=resources, traits=_of(traits, h),
                             aggregates=_of(aggregates, h)) for h in hosts])
        except ValueError as exc:
            raise CloudError(f"add_cell {name!r}: {' '.join(str(exc).split())}") from None
        taken = {h for known in self.cells.values() for h in known.host_names()}
        clash = [h for h in cell.host_names() if h in taken]
        if clash:
            raise CloudError(f"add_cell {name!r}: host names already in another cell: {clash}")
        self.cells[name] = cell
        return cell

    def new_host(self, cell: str, host: str, resources: dict[str, int] | None = None
                 ) -> HostSpec:
        """One more listed host for `cell`, checked (not added: add_host): the cell exists,
        the name is free in every cell, the resources are valid."""
        if cell not in self.effective_cells():
            raise CloudError(f"start_compute: no cell named {cell!r} (cells: "
                             f"{', '.join(self.effective_cells())})")
        if host in set(self.host_names()):
            raise CloudError(f"start_compute: a host named {host!r} already exists")
        try:
            return HostSpec(name=host, resources=dict(resources or HOST_RESOURCES))
        except pydantic.ValidationError as exc:
            raise CloudError(f"start_compute {host!r}: {describe(exc.errors())}") from None

    def add_host(self, cell: str, spec: HostSpec) -> None:
        """One more listed host in a cell, `spec` from new_host."""
        self.cells = self.effective_cells()
        self.cells[cell] = CellSpec(name=cell, hosts=[*self.cells[cell].all_hosts(), spec])

    def add_flavor(self, name: str, resources: dict[str, int],
                   extra_specs: dict[str, str] | None = None) -> None:
        if not resources or any(not isinstance(v, int) or v < 0 for v in resources.values()):
            raise CloudError(f"add_flavor {name!r}: resources must be whole amounts >= 0, "
                             f"got {resources!r}")
        wanted = {rc: amount for rc, amount in resources.items() if amount}
        if extra_specs:
            try:
                FlavorSpec(resources=wanted, extra_specs=extra_specs)
            except ValueError as exc:
                raise CloudError(f"add_flavor {name!r}: {' '.join(str(exc).split())}"
                                 ) from None
            self.extra_specs[name] = dict(extra_specs)
        else:
            self.extra_specs.pop(name, None)
        self.flavors[name] = wanted

    def add_aggregate(self, name: str, metadata: dict[str, str]) -> None:
        try:
            AggregateSpec(metadata=metadata)
        except ValueError as exc:
            raise CloudError(f"add_aggregate {name!r}: {' '.join(str(exc).split())}") from None
        self.aggregates[name] = dict(metadata)

    def flavor(self, name: str) -> Flavor:
        return Flavor(name=name, resources=dict(self.flavors[name]),
                      extra_specs=dict(self.extra_specs.get(name, {})))

    def set_config(self, key: str, value: Any) -> None:
        """Checked now against every service's options, so a typo fails at its line."""
        conf = blank_service_conf()  # one conf, thrown away: only the check
        try:
            apply_overrides(conf, {key: value})
        except ValueError as exc:
            raise CloudError(str(exc)) from None
        self.config[key] = value

    def effective_cells(self) -> dict[str, CellSpec]:
        """The cells added, or the default ones while none is."""
        return self.cells or {name: _listed(name, hosts) for name, hosts in DEFAULT_CELLS.items()}

    def host_names(self) -> list[str]:
        return [name for cell in self.effective_cells().values() for name in cell.host_names()]

    def cell_of(self, host: str) -> str:
        for cell in self.effective_cells().values():
            if host in set(cell.host_names()):
                return cell.name
        raise CloudError(f"no host named {host!r} (hosts: {', '.join(self.host_names())})")

    def scenario(self, faults: list[FaultRule] | None = None) -> Scenario:
        """The scenario this cloud deploys. Its one request is never sent: a test boots its
        servers itself; the schema wants a workload to check flavors against."""
        cells = self.effective_cells()
        first_flavor = next(iter(self.flavors))
        data = {"name": self.name, "seed": self.seed, "config": dict(self.config),
                "cells": [cell.model_dump(exclude_defaults=True) for cell in cells.values()],
                "flavors": {name: {"resources": resources,
                                   "extra_specs": self.extra_specs.get(name, {})}
                            for name, resources in self.flavors.items()},
                "aggregates": {name: {"metadata": metadata}
                               for name, metadata in self.aggregates.items()},
                "faults": [r.model_dump() for r in faults or []],
                "requests": [RequestEntry(name="unused", flavor=first_flavor).model_dump()]}
        return parse_scenario(data, self.name)


def _listed(name: str, hosts: list[str]) -> CellSpec:
    return CellSpec(name=name, hosts=[HostSpec(name=h, resources=dict(HOST_RESOURCES))
                                      for h in hosts])
