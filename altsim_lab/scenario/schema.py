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

from altsim.validation_errors import describe
from compute_sim.faults import FaultRule
from compute_sim.hosts_file import Amount, CellSpec, ResourceClass


class ScenarioError(ValueError):
    """An invalid scenario: `altsim run` exits 2 with this message."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    # Run embedded under the seeded scheduler in simulated time (`altsim run --deterministic`).
    deterministic: bool = False
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


def parse_scenario(data: Any, source: str = "<scenario>") -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario must be a mapping, got "
                            f"{type(data).__name__}")
    try:
        return Scenario.model_validate(data)
    except pydantic.ValidationError as exc:
        raise ScenarioError(f"{source}: {describe(exc.errors())}") from None


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
