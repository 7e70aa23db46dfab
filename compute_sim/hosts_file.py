"""The hosts file an `altsim-compute` reads: the cells, their hosts, the fault rules and the seed.

The same YAML is a scenario to the lab (which adds flavors, requests and expectations); the
compute daemon reads only what it simulates, so the models of a cell and a host live here, with
the service that owns them, and the lab's scenario schema builds on them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from altsim.validation_errors import StrictModel, describe
from altsim.yaml_files import YamlFileError, load_yaml_file
from compute_sim.faults import FaultRule
from compute_sim.host import SimulatedHost
from placement_sim.resource_classes import is_custom_name
from placement_sim.standard_traits import STANDARD_TRAITS
from placement_sim.store import MAX_ALLOCATION_RATIO, MAX_INT

# A cell is one compute_sim process carrying all its hosts (a thread and a queue each): past
# this many it takes minutes to start and gigabytes of memory. Stated in docs/scenarios.md.
MAX_HOSTS_PER_CELL = 10_000
_GENERATED_NAME = re.compile(r"^(?P<cell>.+)-host-(?P<number>[0-9]+)$")


class HostsFileError(ValueError):
    """A hosts file that cannot be read: the message names the file, the key and the problem."""


# What placement accepts, checked here so that a bad amount is named by its key in the
# scenario rather than refused by placement once the run has started: resource class names
# (placement's RC pattern), totals and amounts of at least 1, finite allocation ratios.
ResourceClass = Annotated[str, Field(pattern=r"^[A-Z0-9_]+$")]
Amount = Annotated[int, Field(strict=True, ge=1, le=MAX_INT)]
Reserved = Annotated[int, Field(strict=True, ge=0, le=MAX_INT)]
Ratio = Annotated[float, Field(ge=0.0, le=MAX_ALLOCATION_RATIO, allow_inf_nan=False)]
AggregateName = Annotated[str, Field(min_length=1, max_length=255,
                                     pattern=r"^[A-Za-z0-9_.-]+$")]


def check_trait(name: str) -> str:
    """A trait placement knows (a standard one, os-traits') or may create (CUSTOM_*): a
    misspelt standard trait would otherwise stop the run at its first provider."""
    if name not in STANDARD_TRAITS and not is_custom_name(name):
        raise ValueError(f"{name!r} is neither a standard trait nor a custom one (CUSTOM_ "
                         f"then A-Z, 0-9 and _, at most 255 characters)")
    return name


Trait = Annotated[str, pydantic.AfterValidator(check_trait)]


def _unique(values: list[str], what: str) -> list[str]:
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise ValueError(f"{what} listed twice: {duplicates}")
    return values


def _check_host_classes(resources: dict[str, int], allocation_ratio: dict[str, float],
                        reserved: dict[str, int], prefix: str = "") -> None:
    for label, values in (("allocation_ratio", allocation_ratio), ("reserved", reserved)):
        for rc in values:
            if rc not in resources:
                raise ValueError(f"{prefix}{label}.{rc}: no such resource in the host's "
                                 f"resources ({', '.join(sorted(resources)) or 'none'})")
    for rc, amount in reserved.items():
        if amount > resources[rc]:
            raise ValueError(f"{prefix}reserved.{rc}: {amount} is more than the total "
                             f"{resources[rc]}")


class HostSpec(StrictModel):
    """One simulated host: its inventory, allocation ratios and reserved amounts."""

    name: str = Field(
        min_length=1, examples=["host1"],
        description="The host's name, unique across every cell (its compute queue is "
                    "`compute.<name>`, its placement provider has this name).")
    resources: dict[ResourceClass, Amount] = Field(
        examples=[{"VCPU": 8, "MEMORY_MB": 16384, "DISK_GB": 100}],
        description="Its inventory: the total of each resource class.")
    allocation_ratio: dict[ResourceClass, Ratio] = Field(
        default_factory=dict, examples=[{"VCPU": 4.0}],
        description="Overcommit per resource class (placement's allocation_ratio; a class "
                    "not given has 1.0): capacity is (total - reserved) x ratio. Only classes "
                    "of `resources`.")
    reserved: dict[ResourceClass, Reserved] = Field(
        default_factory=dict, examples=[{"MEMORY_MB": 512}],
        description="Amount of each class kept back from instances (a class not given has "
                    "0), at most its total. Only classes of `resources`.")
    traits: list[Trait] = Field(
        default_factory=list, examples=[["CUSTOM_GPU", "HW_CPU_X86_AVX2"]],
        description="Its provider's traits: standard ones (os-traits) or `CUSTOM_*`, which "
                    "its compute creates in placement first.")
    aggregates: list[AggregateName] = Field(
        default_factory=list, examples=[["gpu-hosts"]],
        description="The host aggregates it is in (names; each one's placement aggregate "
                    "uuid is derived from its name). Their metadata: the scenario's "
                    "`aggregates`.")

    @field_validator("traits", "aggregates")
    @classmethod
    def _listed_once(cls, values: list[str]) -> list[str]:
        return _unique(values, "names")

    @model_validator(mode="after")
    def _classes_are_the_hosts(self) -> HostSpec:
        _check_host_classes(self.resources, self.allocation_ratio, self.reserved)
        return self


class CellSpec(StrictModel):
    """A cell's hosts, listed or generated (`host_count` hosts named `<cell>-host-001`...),
    at most MAX_HOSTS_PER_CELL either way."""

    name: str = Field(
        min_length=1, pattern=r"^[A-Za-z0-9_-]+$", examples=["cell1"],
        description="The cell's name, unique; `cell0` is taken (the cell of instances that "
                    "could not be scheduled).")
    hosts: list[HostSpec] = Field(
        default_factory=list, json_schema_extra={"bounds": f"at most {MAX_HOSTS_PER_CELL}"},
        description="The cell's hosts, listed (or `host_count`, not both).")
    host_count: int | None = Field(
        default=None, ge=1, json_schema_extra={"bounds": f"at most {MAX_HOSTS_PER_CELL}"},
        examples=[100],
        description="Generate this many identical hosts instead of listing them, named "
                    "`<cell>-host-001` ... (three digits at least, more when the count needs "
                    "them: `big-host-0001` ... `big-host-1000`).")
    host_resources: dict[ResourceClass, Amount] | None = Field(
        default=None, examples=[{"VCPU": 16, "MEMORY_MB": 65536, "DISK_GB": 1000}],
        description="With `host_count` (and needed by it): each generated host's "
                    "`resources`.")
    host_allocation_ratio: dict[ResourceClass, Ratio] = Field(
        default_factory=dict, examples=[{"VCPU": 2.0}],
        description="With `host_count`: each generated host's `allocation_ratio`.")
    host_traits: list[Trait] = Field(
        default_factory=list, examples=[["CUSTOM_GPU"]],
        description="With `host_count`: each generated host's `traits`.")
    host_aggregates: list[AggregateName] = Field(
        default_factory=list, examples=[["gpu-hosts"]],
        description="With `host_count`: each generated host's `aggregates`.")

    @field_validator("host_traits", "host_aggregates")
    @classmethod
    def _listed_once(cls, values: list[str]) -> list[str]:
        return _unique(values, "names")

    @field_validator("hosts", "host_count")
    @classmethod
    def _at_most_max_hosts(cls, value: list[HostSpec] | int | None) -> list[HostSpec] | int | None:
        count = len(value) if isinstance(value, list) else (value or 0)
        if count > MAX_HOSTS_PER_CELL:
            raise ValueError(f"{count} hosts: a cell has at most {MAX_HOSTS_PER_CELL} hosts")
        return value

    @model_validator(mode="after")
    def _hosts_given_one_way(self) -> CellSpec:
        if self.hosts and self.host_count:
            raise ValueError("give either hosts or host_count, not both")
        if not self.hosts and not self.host_count:
            raise ValueError("a cell needs hosts or host_count")
        if self.host_count and not self.host_resources:
            raise ValueError("host_count needs host_resources")
        if self.hosts and (self.host_traits or self.host_aggregates):
            raise ValueError("host_traits and host_aggregates go with host_count; listed "
                             "hosts have their own traits and aggregates")
        if self.host_resources:
            _check_host_classes(self.host_resources, self.host_allocation_ratio, {}, "host_")
        return self

    @property
    def size(self) -> int:
        """How many hosts the cell has, listed or generated."""
        return len(self.hosts) or (self.host_count or 0)

    def _generated_name(self, number: int) -> str:
        return f"{self.name}-host-{number:0{max(3, len(str(self.host_count)))}d}"

    def host_names(self) -> Iterator[str]:
        """The hosts' names, one at a time (a generated cell's are never held in a list)."""
        if self.hosts:
            yield from (host.name for host in self.hosts)
            return
        for number in range(1, (self.host_count or 0) + 1):
            yield self._generated_name(number)

    def generates(self, name: str) -> bool:
        """Whether `name` is one of this cell's generated host names, worked out from the name
        alone: `<cell>-host-<n>`, n from 1 to host_count, zero-padded as they are."""
        found = _GENERATED_NAME.match(name)
        if not self.host_count or found is None or found["cell"] != self.name:
            return False
        number = int(found["number"])
        return 1 <= number <= self.host_count and self._generated_name(number) == name

    def all_hosts(self) -> list[HostSpec]:
        if self.hosts:
            return list(self.hosts)
        return [HostSpec(name=name, resources=dict(self.host_resources or {}),
                         allocation_ratio=dict(self.host_allocation_ratio),
                         traits=list(self.host_traits), aggregates=list(self.host_aggregates))
                for name in self.host_names()]

    def aggregate_names(self) -> set[str]:
        """Every aggregate a host of the cell is in."""
        if not self.hosts:
            return set(self.host_aggregates)
        return {name for host in self.hosts for name in host.aggregates}


def simulated_host(spec: HostSpec) -> SimulatedHost:
    """The host a compute simulates for `spec`."""
    return SimulatedHost(spec.name, dict(spec.resources), dict(spec.allocation_ratio),
                         dict(spec.reserved), tuple(spec.traits), tuple(spec.aggregates))


class HostsFile(BaseModel):
    """What a compute daemon takes from a scenario file; the lab's keys are ignored here."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    seed: int = 0
    cells: list[CellSpec] = Field(min_length=1)
    faults: list[FaultRule] = Field(default_factory=list)

    def cell(self, name: str) -> CellSpec | None:
        return next((cell for cell in self.cells if cell.name == name), None)


def load_hosts_file(path: str | Path) -> HostsFile:
    path = Path(path)
    try:
        data = load_yaml_file(path)
    except YamlFileError as exc:
        raise HostsFileError(str(exc)) from None
    if not isinstance(data, dict):
        raise HostsFileError(f"{path}: must be a mapping, got {type(data).__name__}")
    try:
        return HostsFile.model_validate(data)
    except pydantic.ValidationError as exc:
        raise HostsFileError(f"{path}: {describe(exc.errors())}") from None
