"""The scenario file (DESIGN.md section 6), validated by pydantic.

An unknown key or a bad value is a `ScenarioError` whose message names the file, the key path and
the problem, e.g. `web.yaml: requests.0.flavor: unknown flavor 'tiny' (known: small)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from compute_sim.faults import FaultRule
from placement_sim.store import MAX_ALLOCATION_RATIO, MAX_INT

# What placement accepts, checked here so that a bad amount is named by its key in the
# scenario rather than refused by placement once the run has started: resource class names
# (placement's RC pattern), totals and amounts of at least 1, finite allocation ratios.
ResourceClass = Annotated[str, Field(pattern=r"^[A-Z0-9_]+$")]
Amount = Annotated[int, Field(strict=True, ge=1, le=MAX_INT)]
Reserved = Annotated[int, Field(strict=True, ge=0, le=MAX_INT)]
Ratio = Annotated[float, Field(ge=0.0, le=MAX_ALLOCATION_RATIO, allow_inf_nan=False)]


class ScenarioError(ValueError):
    """An invalid scenario: `altsim run` exits 2 with this message."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class HostSpec(_Strict):
    name: str = Field(min_length=1)
    resources: dict[ResourceClass, Amount]
    allocation_ratio: dict[ResourceClass, Ratio] = Field(default_factory=dict)
    reserved: dict[ResourceClass, Reserved] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _classes_are_the_hosts(self) -> HostSpec:
        _check_host_classes(self.resources, self.allocation_ratio, self.reserved)
        return self


class CellSpec(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")
    hosts: list[HostSpec] = Field(default_factory=list)
    host_count: int | None = Field(default=None, ge=1)
    host_resources: dict[ResourceClass, Amount] | None = None
    host_allocation_ratio: dict[ResourceClass, Ratio] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _hosts_given_one_way(self) -> CellSpec:
        if self.hosts and self.host_count:
            raise ValueError("give either hosts or host_count, not both")
        if not self.hosts and not self.host_count:
            raise ValueError("a cell needs hosts or host_count")
        if self.host_count and not self.host_resources:
            raise ValueError("host_count needs host_resources")
        if self.host_resources:
            _check_host_classes(self.host_resources, self.host_allocation_ratio, {}, "host_")
        return self

    def all_hosts(self) -> list[HostSpec]:
        if self.hosts:
            return list(self.hosts)
        width = max(3, len(str(self.host_count)))
        return [HostSpec(name=f"{self.name}-host-{i:0{width}d}",
                         resources=dict(self.host_resources or {}),
                         allocation_ratio=dict(self.host_allocation_ratio))
                for i in range(1, (self.host_count or 0) + 1)]


class RequestEntry(_Strict):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    flavor: str
    count: int = Field(default=1, ge=1)
    num_instances: int = Field(default=1, ge=1)
    concurrency: int = Field(default=1, ge=1)
    start_ms: float = Field(default=0.0, ge=0.0)
    # The RequestSpec's num_alternates: how many alternates the caller asks for. Used with
    # [conductor] alternates_from = request; None leaves it to [scheduler] max_attempts.
    num_alternates: int | None = Field(default=None, ge=0)


class InstanceExpectation(_Strict):
    status: Literal["ACTIVE", "ERROR", "BUILD"] | None = None
    host: str | None = None
    cell: str | None = None
    attempts: list[str] | None = None
    selection: list[str] | None = None
    claim_failures: list[str] | None = None
    fault_contains: str | None = None


class Expectations(_Strict):
    active: int | None = Field(default=None, ge=0)
    error: int | None = Field(default=None, ge=0)
    building: int | None = Field(default=None, ge=0)
    # Builds the cell conductor's sweep ended ([conductor] build_timeout), as recorded.
    timed_out: int | None = Field(default=None, ge=0)
    reschedules: int | None = Field(default=None, ge=0)
    claim_failures: int | None = Field(default=None, ge=0)
    leaked_allocations: int | None = Field(default=None, ge=0)
    instances: dict[str, InstanceExpectation] = Field(default_factory=dict)


class Scenario(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    seed: int = 0
    config: dict[str, Any] = Field(default_factory=dict)
    cells: list[CellSpec] = Field(min_length=1)
    flavors: dict[str, Annotated[dict[ResourceClass, Amount], Field(min_length=1)]] = Field(
        min_length=1)
    faults: list[FaultRule] = Field(default_factory=list)
    requests: list[RequestEntry] = Field(min_length=1)
    expect: Expectations = Field(default_factory=Expectations)

    @field_validator("cells")
    @classmethod
    def _unique_cells_and_hosts(cls, cells: list[CellSpec]) -> list[CellSpec]:
        names = [cell.name for cell in cells]
        if "cell0" in names:
            raise ValueError("cell0 is reserved for instances that could not be scheduled")
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate cell names in {names}")
        hosts = [host.name for cell in cells for host in cell.all_hosts()]
        duplicates = sorted({h for h in hosts if hosts.count(h) > 1}) if len(set(hosts)) != len(
            hosts) else []
        if duplicates:
            raise ValueError(f"host names must be unique across cells: {duplicates}")
        return cells

    @model_validator(mode="after")
    def _references_resolve(self) -> Scenario:
        for index, request in enumerate(self.requests):
            if request.flavor not in self.flavors:
                raise ValueError(f"requests.{index}.flavor: unknown flavor {request.flavor!r} "
                                 f"(known: {', '.join(sorted(self.flavors))})")
        names = [r.name for r in self.requests]
        if len(set(names)) != len(names):
            raise ValueError(f"request names must be unique: {names}")
        known = set(self.instance_names())
        for name in self.expect.instances:
            if name not in known:
                raise ValueError(f"expect.instances.{name}: no such instance (instances are "
                                 f"named <request>-<n>, e.g. {self.instance_names()[0]})")
        return self

    def instance_names(self) -> list[str]:
        return [f"{r.name}-{n}" for r in self.requests
                for n in range(1, r.count * r.num_instances + 1)]


def _describe(errors: list[dict]) -> str:
    lines = []
    for error in errors:
        # A whole-scenario check names its own key path in its message.
        location = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        value = error.get("input")
        shown = f" (got {value!r})" if error["type"] == "extra_forbidden" or not isinstance(
            value, (dict, list)) else ""
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{location}: {message}{shown}" if location else f"{message}{shown}")
    return "; ".join(lines)


def parse_scenario(data: Any, source: str = "<scenario>") -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario must be a mapping, got "
                            f"{type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ScenarioError(f"{source}: {_describe(exc.errors())}") from None


def load_scenario(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
    return parse_scenario(data, str(path))
