"""The scenario file, validated by pydantic (every key is described in docs/scenarios.md).

An unknown key or a bad value is a `ScenarioError` whose message names the file, the key path and
the problem, e.g. `web.yaml: requests.0.flavor: unknown flavor 'tiny' (known: small)`. A scenario
is bounded (MAX_INSTANCES_PER_RUN and MAX_HOSTS_PER_RUN here, MAX_HOSTS_PER_CELL in
compute_sim.hosts_file), and checking one takes memory for what the file lists, never for what
it generates: host and instance names are worked out from their patterns, not listed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import Field, field_validator, model_validator

from altsim.objects import TRAIT_SPEC_PREFIX
from altsim.validation_errors import StrictModel, describe
from altsim.yaml_files import YamlFileError, load_yaml_file
from compute_sim.faults import FaultRule
from compute_sim.hosts_file import AggregateName, Amount, CellSpec, ResourceClass, check_trait

# Bounds of one run, said in the errors and in docs/scenarios.md: every instance is a thread's
# worth of work in the runner and a row in each report, every host a queue and a placement
# provider; past these a run on one machine takes hours, not minutes.
MAX_INSTANCES_PER_RUN = 100_000
MAX_HOSTS_PER_RUN = 100_000
_GLOB_CHARACTERS = re.compile(r"[*?\[]")


class ScenarioError(ValueError):
    """An invalid scenario: `altsim run` exits 2 with this message."""


def _check_trait_key(key: str) -> str:
    """`trait:<NAME>` with a trait placement knows or may create: its NAME."""
    if not key.startswith(TRAIT_SPEC_PREFIX):
        raise ValueError(f"{key!r}: only trait:<NAME> keys are understood (Nova's "
                         f"trait:CUSTOM_X=required or forbidden)")
    try:
        return check_trait(key[len(TRAIT_SPEC_PREFIX):])
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from None


FlavorResources = Annotated[dict[ResourceClass, Amount], Field(min_length=1)]
_BARE_FLAVOR = pydantic.TypeAdapter(FlavorResources)


class FlavorSpec(StrictModel):
    """A flavor: its resources, and the extra specs that require or forbid traits. Written
    as a bare mapping of resources (`small: {VCPU: 1, MEMORY_MB: 512}`) when it has none."""

    resources: FlavorResources = Field(
        examples=[{"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}],
        description="The resources an instance of it takes.")
    extra_specs: dict[str, Literal["required", "forbidden"]] = Field(
        default_factory=dict, examples=[{"trait:CUSTOM_GPU": "required"}],
        description="Nova's flavor extra specs `trait:<NAME>: required` or `forbidden`: the "
                    "scheduler asks placement only for hosts whose provider has (or lacks) "
                    "the trait (`required=` in the candidates request).")

    @model_validator(mode="before")
    @classmethod
    def _bare_resources(cls, data: Any) -> Any:
        if isinstance(data, dict) and "resources" not in data and "extra_specs" not in data:
            # Checked as written, so that an error names the key the file has
            # (`flavors.small.VCPU`, not `flavors.small.resources.VCPU`).
            _BARE_FLAVOR.validate_python(data)
            return {"resources": data}
        return data

    @field_validator("extra_specs")
    @classmethod
    def _trait_keys(cls, specs: dict[str, str]) -> dict[str, str]:
        for key in specs:
            _check_trait_key(key)
        return specs


class AggregateSpec(StrictModel):
    """A host aggregate's metadata (its hosts say they are in it, with `aggregates`)."""

    metadata: dict[str, str] = Field(
        default_factory=dict, examples=[{"trait:CUSTOM_GPU": "required"}],
        description="The aggregate's metadata. `trait:<NAME>: required` isolates it: with "
                    "`[scheduler] enable_isolated_aggregate_filtering` a flavor that does not "
                    "require the trait is kept off its hosts (`member_of=!in:`). Other keys "
                    "are kept and do nothing.")

    @field_validator("metadata")
    @classmethod
    def _trait_keys(cls, metadata: dict[str, str]) -> dict[str, str]:
        for key in metadata:
            if key.startswith(TRAIT_SPEC_PREFIX):
                _check_trait_key(key)
        return metadata


class RequestEntry(StrictModel):
    """One entry of `requests:`: `count` requests of `num_instances` servers each."""

    name: str = Field(
        min_length=1, pattern=r"^[A-Za-z0-9_.-]+$", examples=["web"],
        description="Names the entry's instances `<name>-1`, `<name>-2` ... counting over "
                    "the whole entry; unique among the requests.")
    flavor: str = Field(examples=["small"], description="A flavor of `flavors`.")
    count: int = Field(
        default=1, ge=1, examples=[10],
        json_schema_extra={"bounds": f"count x num_instances, summed over the requests, at "
                                     f"most {MAX_INSTANCES_PER_RUN}"},
        description="How many separate requests this entry sends (each a server create "
                    "call of its own).")
    num_instances: int = Field(
        default=1, ge=1, examples=[3],
        description="Servers per request: a multi-create, scheduled together, as `altsim "
                    "server create --count N` sends (N servers in one request).")
    concurrency: int = Field(
        default=1, ge=1, examples=[10],
        description="At most this many of the entry's requests unfinished at once (a "
                    "request finishes when each of its servers is ACTIVE or ERROR); the next "
                    "is sent when one finishes.")
    start_ms: float = Field(
        default=0.0, ge=0.0, examples=[500],
        description="Milliseconds after the run starts before the entry sends its first "
                    "request (entries run side by side).")
    # The RequestSpec's num_alternates: how many alternates the caller asks for. Used with
    # [conductor] alternates_from = request; None leaves it to [scheduler] max_attempts.
    num_alternates: int | None = Field(
        default=None, ge=0, examples=[4],
        description="Alternates the request asks the scheduler for (the RequestSpec's "
                    "num_alternates): used only with `[conductor] alternates_from = "
                    "request`. None: `[scheduler] max_attempts - 1`.")


class InstanceExpectation(StrictModel):
    """What one instance should look like at the end of the run (every key optional)."""

    status: Literal["ACTIVE", "ERROR", "BUILD"] | None = Field(
        default=None, examples=["ACTIVE"], description="Its final status.")
    host: str | None = Field(default=None, examples=["host2"],
                             description="The host it ended on.")
    cell: str | None = Field(default=None, examples=["cell1"],
                             description="Its cell (`cell0` when it was never scheduled).")
    attempts: list[str] | None = Field(
        default=None, examples=[["host1", "host2"]],
        description="The hosts its build was tried on, in order.")
    selection: list[str] | None = Field(
        default=None, examples=[["host1", "host2", "host3"]],
        description="What the scheduler returned: the chosen host, then the alternates.")
    claim_failures: list[str] | None = Field(
        default=None, examples=[["host3"]],
        description="The hosts whose claim it lost (in the scheduler or a conductor), in "
                    "order.")
    fault_contains: str | None = Field(
        default=None, examples=["Exceeded max scheduling attempts"],
        description="Text its fault message contains (an instance in ERROR).")
    fault: str | None = Field(
        default=None, examples=["spawn failed"],
        description="Its whole fault message, exactly (an instance in ERROR).")


def _count_of(what: str) -> Any:
    return Field(default=None, ge=0, examples=[0], description=f"How many {what}.")


class Expectations(StrictModel):
    """The `expect:` block: every key optional; any miss makes `altsim run` exit 1."""

    active: int | None = _count_of("instances end ACTIVE")
    error: int | None = _count_of("instances end in ERROR")
    building: int | None = _count_of("instances are still in BUILD when the run ends")
    # Builds the cell conductor's sweep ended ([conductor] build_timeout), as recorded.
    timed_out: int | None = _count_of(
        "builds the cell conductor's build-timeout sweep ended (`[conductor] build_timeout`)")
    reschedules: int | None = _count_of(
        "build attempts failed and were rescheduled, over every instance")
    claim_failures: int | None = _count_of(
        "claims were lost (a host that no longer fits when it is claimed), over every "
        "instance")
    leaked_allocations: int | None = _count_of(
        "allocations are left in placement at the end whose consumer is not an ACTIVE "
        "instance (0 unless something went wrong)")
    instances: dict[str, InstanceExpectation] = Field(
        default_factory=dict, examples=[{"web-1": {"status": "ACTIVE", "host": "host2"}}],
        description="Per instance, by name (`<request>-<n>`, an instance the requests make): "
                    "what it should look like (the instance expectation table).")


class Scenario(StrictModel):
    """A scenario file: the topology, the faults, the workload and what should happen."""

    name: str = Field(min_length=1, examples=["reschedule-once"],
                      description="The scenario's name, in the report and the pictures.")
    description: str = Field(default="", description="Free text: what the scenario shows.")
    seed: int = Field(
        default=0, examples=[42],
        description="Seeds every random choice: the fault draws, the instances' uuids, "
                    "the scheduler's pick among equal hosts (`host_subset_size` > 1).")
    deterministic: bool = Field(
        default=False, examples=[True],
        description="Run embedded under the seeded scheduler in simulated time, as `altsim "
                    "run --deterministic` does: the same scenario and seeds give the same "
                    "report (docs/simulation.md).")
    config: dict[str, Any] = Field(
        default_factory=dict, examples=[{"scheduler.max_attempts": 3}],
        description="Options for every service, `group.option: value` (`[DEFAULT]` ones "
                    "bare), as in `etc/altsim/altsim.conf.sample`; values are YAML of the "
                    "option's type. An unknown option or a bad value is refused.")
    cells: list[CellSpec] = Field(
        min_length=1,
        json_schema_extra={"bounds": f"at most {MAX_HOSTS_PER_RUN} hosts in all"},
        description="The cells and their hosts (the cell table).")
    flavors: dict[str, FlavorSpec] = Field(
        min_length=1, examples=[{"small": {"VCPU": 1, "MEMORY_MB": 512, "DISK_GB": 1}}],
        description="Flavor name -> the resources an instance of it takes (a bare mapping), "
                    "or its `resources` and `extra_specs` (the flavor table).")
    aggregates: dict[AggregateName, AggregateSpec] = Field(
        default_factory=dict, examples=[{"gpu-hosts": {"metadata": {
            "trait:CUSTOM_GPU": "required"}}}],
        description="Host aggregate name -> its metadata (the aggregate table); each must "
                    "have a host (a host's `aggregates`). An aggregate its hosts name but "
                    "this does not list has no metadata.")
    faults: list[FaultRule] = Field(
        default_factory=list,
        description="Fault rules: which spawns fail, how, and how long spawns take (the "
                    "fault rule table).")
    requests: list[RequestEntry] = Field(
        min_length=1,
        json_schema_extra={"bounds": f"at most {MAX_INSTANCES_PER_RUN} instances in all"},
        description="The workload (the request table).")
    expect: Expectations = Field(
        default_factory=Expectations,
        description="What should happen (the expect table); `altsim run` exits 1 on a "
                    "miss.")

    @field_validator("cells")
    @classmethod
    def _unique_cells_and_hosts(cls, cells: list[CellSpec]) -> list[CellSpec]:
        names = [cell.name for cell in cells]
        if "cell0" in names:
            raise ValueError("cell0 is reserved for instances that could not be scheduled")
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate cell names in {names}")
        total = sum(cell.size for cell in cells)
        if total > MAX_HOSTS_PER_RUN:
            raise ValueError(f"{total} hosts in all: a run has at most {MAX_HOSTS_PER_RUN} "
                             f"hosts")
        # Generated names never collide with each other (`<cell>-host-<n>`, cell names unique),
        # so only listed names need comparing: with each other, and with the generated ones
        # by their pattern.
        listed = Counter(host.name for cell in cells for host in cell.hosts)
        generating = [cell for cell in cells if not cell.hosts]
        duplicates = sorted(name for name, times in listed.items()
                            if times > 1 or any(cell.generates(name) for cell in generating))
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
        self._check_instance_count()
        for name in self.expect.instances:
            if not self.has_instance(name):
                raise ValueError(f"expect.instances.{name}: no such instance (instances are "
                                 f"named <request>-<n>, e.g. {self.requests[0].name}-1)")
        self._check_fault_hosts()
        self._check_aggregates()
        return self

    def _check_aggregates(self) -> None:
        """An aggregate with metadata but no host is a typo of a host's `aggregates`."""
        used = set().union(*(cell.aggregate_names() for cell in self.cells))
        for name in self.aggregates:
            if name not in used:
                raise ValueError(f"aggregates.{name}: no host is in it (a host's "
                                 f"`aggregates: [{name}]`, or a cell's `host_aggregates`)")

    def _check_instance_count(self) -> None:
        for index, request in enumerate(self.requests):
            if request.count * request.num_instances > MAX_INSTANCES_PER_RUN:
                raise ValueError(
                    f"requests.{index}: count {request.count} x num_instances "
                    f"{request.num_instances} is {request.count * request.num_instances} "
                    f"instances: a run has at most {MAX_INSTANCES_PER_RUN} instances")
        if self.instance_count() > MAX_INSTANCES_PER_RUN:
            raise ValueError(f"requests: {self.instance_count()} instances in all (count x "
                             f"num_instances, summed): a run has at most "
                             f"{MAX_INSTANCES_PER_RUN} instances")

    def _check_fault_hosts(self) -> None:
        """A host name or pattern that matches no host is a typo: refused, never ignored."""
        for index, rule in enumerate(self.faults):
            for pattern in rule.hosts:
                if not self.matches_a_host(pattern):
                    raise ValueError(f"faults.{index}.hosts: {pattern!r} matches no host of "
                                     f"the scenario")

    def has_host(self, name: str) -> bool:
        return any(cell.generates(name) or any(h.name == name for h in cell.hosts)
                   for cell in self.cells)

    def host_names(self) -> Iterator[str]:
        """Every host's name, cell by cell, one at a time."""
        for cell in self.cells:
            yield from cell.host_names()

    def matches_a_host(self, pattern: str) -> bool:
        """Whether a host name or glob (as fault rules take them) names at least one host."""
        if not _GLOB_CHARACTERS.search(pattern):
            return self.has_host(pattern)
        probe = FaultRule(hosts=[pattern], latency_ms=0.0)
        return any(probe.matches(name) for name in self.host_names())

    def instance_count(self) -> int:
        return sum(r.count * r.num_instances for r in self.requests)

    def has_instance(self, name: str) -> bool:
        """Whether `name` is `<request>-<n>` for a request of the scenario and n from 1 to its
        count x num_instances, written as the runner writes it (no leading zero)."""
        request_name, _, number = name.rpartition("-")
        request = next((r for r in self.requests if r.name == request_name), None)
        return (request is not None and number.isdigit() and str(int(number)) == number
                and 1 <= int(number) <= request.count * request.num_instances)

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
        data = load_yaml_file(path)
    except YamlFileError as exc:
        raise ScenarioError(str(exc)) from None
    return parse_scenario(data, str(path))
