"""Cloud: a whole altsim deployment driven from a test, in the words of Nova's functional tests.

    from altsim_lab.testing import Cloud

    with Cloud(cells={"cell1": ["host1", "host2"]}) as cloud:
        cloud.fail_spawn("host1")
        server = cloud.boot("vm", "small")
        cloud.wait_for_state(server, "ACTIVE")
        assert server.attempts[0].host == "host1" and server.host == "host2"

The cloud is the deployment `altsim run` makes (altsim_lab.scenario.runner.make_deployment),
built from a scenario written in Python (CloudSpec); its services start at the first boot (or
`start()`). Embedded by default: every service in this process on in-memory buses, SQLite in a
temporary folder. Given `transport_url="rabbit://..."`, every service is its own process over
that broker (launched mode).

Configuration, cells and hosts are the deployment's shape: given after the cloud started they
are refused (CloudError), since services read their config once as they start; flavors may be
added at any time, and one host at a time with start_compute. Faults (fail_spawn, slow_spawn)
apply to builds that start after the call, in both modes: launched, a fault given once the
cloud runs is an RPC call to the host's compute process (compute_sim.rpcapi.SimulationAPI)
that returns once the rule is installed there, and so do run_periodics and start_compute of a
new host (the cell's compute process serves it). Only `meanwhile` (a Python callable of the
test) is embedded only.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import oslo_messaging as messaging

from altsim.db import cell_schema
from altsim.rpc import new_context
from altsim_lab.deploy.embedded import EmbeddedDeployment
from altsim_lab.manage.audit import audit_placement
from altsim_lab.nova_api import NovaApi
from altsim_lab.scenario.collector import Collector
from altsim_lab.scenario.report import RunFacts, build_report, cell_names, gather_instances
from altsim_lab.scenario.runner import ended_in_dbs, make_deployment
from altsim_lab.scenario.topology import build_path, service_conf
from altsim_lab.testing.cloud_spec import CloudError, CloudSpec
from altsim_lab.testing.fakes import fill
from altsim_lab.testing.server import Server
from compute_sim.faults import FaultRule
from compute_sim.host import node_uuid_for
from compute_sim.rpcapi import SIMULATION_TIMEOUT_S, SimulationAPI
from conductor.rpcapi import ConductorAPI

DEFAULT_TIMEOUT_S = 30.0
FINAL = ("ACTIVE", "ERROR")


def _ram_folder() -> str | None:
    """Where an embedded cloud's temporary folder (its SQLite files) goes: /dev/shm where it
    is a writable folder (memory-backed on Linux), so that a test's databases cost no disk
    writes or syncs (each checkpoint on close syncs), about a fifth of a small test's CPU on a
    busy disk; tempfile's own choice (None) where there is none or TMPDIR names a place."""
    if os.environ.get("TMPDIR") or not os.path.isdir(SHM) or not os.access(SHM, os.W_OK):
        return None
    return SHM


SHM = "/dev/shm"
WORKDIR_ROOT = _ram_folder()


class Cloud:
    def __init__(self, cells: dict[str, Any] | None = None, config: dict[str, Any] | None = None,
                 flavors: dict[str, dict[str, int]] | None = None, seed: int = 0,
                 transport_url: str | None = None, name: str = "altsim-cloud") -> None:
        """`cells`: name -> host names, a host count, or {"hosts": ..., "resources": ...};
        `config`: {"group.option": value}; `flavors`: name -> resources."""
        self.spec = CloudSpec(name=name, seed=seed)
        self.transport_url = transport_url
        self.deployment: Any = None
        for cell, hosts in (cells or {}).items():
            given = hosts if isinstance(hosts, dict) else {"hosts": hosts}
            self.add_cell(cell, **given)
        for flavor, resources in (flavors or {}).items():
            self.add_flavor(flavor, **resources)
        for key, value in (config or {}).items():
            self.set_config(key, value)
        self._rules: list[tuple[FaultRule, Callable[[], None] | None]] = []
        self._servers: dict[str, Server] = {}
        self._fillers: set[str] = set()
        self._snapshot: tuple[Any, dict[str, Any]] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._collector: Collector | None = None
        self._nova_api: NovaApi | None = None
        self._started_at = 0.0
        self._submitted: dict[str, float] = {}

    # the cloud's shape
    def add_cell(self, name: str, hosts: list[str] | int = 1,
                 resources: dict[str, int] | None = None,
                 traits: list[str] | dict[str, list[str]] | None = None,
                 aggregates: list[str] | dict[str, list[str]] | None = None) -> None:
        """A cell with listed hosts, or N hosts named `<cell>-host-001`... (a scenario's
        host_count); each host has `resources` (default: 8 VCPU, 16 GiB, 100 GB). `traits`
        (its provider's) and `aggregates` (host aggregate names): a list for every host, or
        host name -> its list."""
        self._before_start("add_cell")
        self.spec.add_cell(name, hosts, resources, traits, aggregates)

    def add_flavor(self, name: str, VCPU: int = 1, MEMORY_MB: int = 512,  # noqa: N803
                   DISK_GB: int = 1, extra_specs: dict[str, str] | None = None,
                   **other: int) -> None:
        """A flavor (Nova's `_create_flavor`); other resource classes as keywords;
        `extra_specs` as Nova's, `{"trait:CUSTOM_X": "required"}` (or `forbidden`)."""
        self.spec.add_flavor(name, {"VCPU": VCPU, "MEMORY_MB": MEMORY_MB, "DISK_GB": DISK_GB,
                                    **other}, extra_specs)

    def add_aggregate(self, name: str, metadata: dict[str, str]) -> None:
        """A host aggregate's metadata (Nova's aggregate set-metadata), e.g.
        `{"trait:CUSTOM_X": "required"}`; its hosts are those given it in `add_cell`."""
        self._before_start("add_aggregate")
        self.spec.add_aggregate(name, metadata)

    def set_config(self, key: str, value: Any) -> None:
        """One option for every service, "group.option" (Nova's `self.flags(...)`); refused
        once the cloud has started (services read their config as they start)."""
        self._before_start("set_config")
        self.spec.set_config(key, value)

    def start_compute(self, host: str, cell: str | None = None,
                      resources: dict[str, int] | None = None) -> None:
        """Nova's `_start_compute(host)`: a new host in `cell` (the only or first cell if not
        given), also in a running cloud, where it returns once the host is in placement and
        its cell DB and served, so the next boot may land on it (launched: the cell's compute
        process serves it, asked over the cell's bus); or a stopped host started again."""
        if host in self.spec.host_names():
            self._set_disabled(host, False)
            return
        cell = cell or next(iter(self.spec.effective_cells()))
        spec = self.spec.new_host(cell, host, resources)
        if self.deployment is not None:
            with self._answered("start_compute", f"the compute process of cell {cell}"):
                self.deployment.add_compute(cell, spec)
            self._snapshot = None  # a host the report had not seen
        self.spec.add_host(cell, spec)

    def stop_compute(self, host: str) -> None:
        """Nova's `compute.stop()` with its service forced down: the scheduler no longer
        picks the host (ComputeFilter); a build already cast to it still runs."""
        self.spec.cell_of(host)
        self._set_disabled(host, True)

    # faults
    def fail_spawn(self, host: str, times: int | None = 1,
                   action: Literal["reschedule", "abort", "hang"] = "reschedule",
                   reason: str | None = None,
                   meanwhile: Callable[[], None] | None = None) -> None:
        """The next `times` spawns on `host` (None: every one) fail: `reschedule` (the cell
        conductor tries an alternate), `abort` (ERROR at once) or `hang` (never answers;
        `[conductor] build_timeout` ends it). `meanwhile`, embedded only, is called as each
        failing spawn fails, before the reschedule (e.g. `lambda: cloud.fill("host2")`)."""
        self.spec.cell_of(host)
        rule = FaultRule(hosts=[host], action=action, first=times,
                         reason=reason or "simulated spawn failure")
        self._add_rule(rule, meanwhile)

    def slow_spawn(self, host: str, seconds: float) -> None:
        """Every later spawn on `host` takes `seconds` (the first slow_spawn of a host rules)."""
        self.spec.cell_of(host)
        self._add_rule(FaultRule(hosts=[host], latency_ms=seconds * 1000.0), None)

    def fill(self, host: str) -> str:
        """Take everything still free on `host` in placement, now (another tenant's server
        landing there): an alternate filled this way between the schedule and a reschedule is
        the shape of a Nova bug (a reschedule claiming an alternate that filled up). Returns
        the filler's consumer id."""
        self._started("fill")
        consumer = fill(self.deployment.placement, node_uuid_for(host))
        self._fillers.add(consumer)
        return consumer

    # servers
    def boot(self, name: str, flavor: str = "small", count: int = 1,
             num_alternates: int | None = None, wait: bool = True,
             timeout: float = DEFAULT_TIMEOUT_S) -> Server | list[Server]:
        """Nova's `_build_server` + `_create_server` (POST /servers, min_count=max_count=count:
        one multi-create request, servers named `<name>-1`... when count > 1). With `wait`,
        returns once each is ACTIVE or ERROR (judge it with wait_for_state or .status)."""
        if flavor not in self.spec.flavors:
            raise CloudError(f"boot: unknown flavor {flavor!r} (known: "
                             f"{', '.join(self.spec.flavors)})")
        names = [name] if count == 1 else [f"{name}-{n}" for n in range(1, count + 1)]
        taken = [n for n in names if n in self._servers]
        if taken:
            raise CloudError(f"boot: server names already used in this cloud: {taken}")
        self.start()
        uuids = self._nova().create_servers(
            names, self.spec.flavor(flavor), num_alternates)
        now = time.time()
        servers = []
        for server_name, server_uuid in uuids.items():
            self._submitted[server_uuid] = now
            servers.append(self._servers.setdefault(
                server_name, Server(server_name, server_uuid, self._entry)))
        if wait:
            self._wait(servers, timeout)
        return servers[0] if count == 1 else servers

    def wait_for_state(self, server: Server | list[Server], state: str,
                       timeout: float = DEFAULT_TIMEOUT_S) -> Server | list[Server]:
        """Nova's `_wait_for_state_change(server, state)`: waits until the server is ACTIVE
        or ERROR; AssertionError (saying what happened to it) unless it is `state`."""
        if state not in FINAL:
            raise CloudError(f"wait_for_state: state must be ACTIVE or ERROR, got {state!r}")
        servers = server if isinstance(server, list) else [server]
        self._wait(servers, timeout)
        wrong = [s for s in servers if s.status != state]
        if wrong:
            raise AssertionError(f"expected {state}:\n"
                                 + "\n".join(s.describe() for s in wrong))
        return server

    def events(self, server: Server) -> list[dict[str, Any]]:
        """The instance action's events (Nova's `_get_instance_action_events`), in order, as
        altsim records them: `event` (e.g. compute_build_and_run_instance), `host`, `result`,
        `reason`, and who recorded it (`actor`)."""
        return list(server.entry["events"])

    def usage(self, host: str) -> dict[str, int]:
        """resource class -> used on `host` (Nova's `_get_provider_usages`)."""
        self._started("usage")
        return dict(self._usage_source().get_usages(node_uuid_for(host)))

    def failed_builds(self, host: str) -> int:
        """The host's consecutive failed builds as its compute node row holds them: what the
        BuildFailureWeigher reads. As in Nova, a build's outcome reaches the row only at the
        host's next claim or release or its update_available_resource periodic task
        (`run_periodics`), so right after a failure this is still the former count; with
        `[compute_sim] failed_builds_flush = immediate` each outcome writes it at once."""
        self._started("failed_builds")
        cell_db = self._cell_db(host)
        return next(n.failed_builds for n in cell_db.list_compute_nodes() if n.host == host)

    def run_periodics(self) -> int:
        """Nova's `_IntegratedTestBase._run_periodics`: every compute's
        update_available_resource task runs now, so each host's compute node row gets what its
        tracker holds (the failed builds counted since its last write). Returns how many rows
        were written (launched: each compute process runs it when asked, and answers)."""
        self._started("run_periodics")
        if self.embedded:
            written = self.deployment.run_periodics()
        else:  # one compute process a cell: ask each, through one of its hosts
            written = sum(self._simulation("run_periodics", cell.hosts[0].name,
                                           "update_available_resource")
                          for cell in self.deployment.topology.cells if cell.hosts)
        self._snapshot = None  # rows changed without a message on the buses
        return written

    def audit(self) -> dict[str, Any]:
        """`nova-manage placement audit`: `leaked`, allocations no live server owns; `missing`,
        ACTIVE servers holding no allocation; `mismatches`, usages that disagree with the
        allocations (the cloud's fill() consumers are not counted)."""
        self._started("audit")
        found = audit_placement(self.deployment.api_db, self.deployment.placement)
        orphans = [o for o in found.orphans if o.consumer_uuid not in self._fillers]
        report = self.report()
        missing = [e["name"] for e in report["instances"]
                   if e["status"] == "ACTIVE" and not e["allocations"]]
        return {"leaked": len(orphans), "missing": len(missing),
                "mismatches": len(found.mismatches),
                "orphans": [(o.provider_name, o.consumer_uuid, o.reason) for o in orphans],
                "missing_servers": missing}

    def report(self) -> dict[str, Any]:
        """The run report of this cloud so far (the one `altsim run --report` writes)."""
        return self._report()

    # lifecycle
    def start(self) -> Cloud:
        """Deploy and start every service (boot does it when needed)."""
        if self.deployment is not None:
            return self
        scenario = self.spec.scenario([] if self.embedded else [r for r, _ in self._rules])
        run_id = f"altsim-{uuid.uuid4().hex[:12]}"
        self._workdir = tempfile.TemporaryDirectory(
            prefix=f"{run_id}-", dir=WORKDIR_ROOT if self.embedded else None)
        self.deployment = make_deployment(scenario, run_id, Path(self._workdir.name),
                                          self.transport_url, None, None)
        try:
            self.deployment.start()
            conf = service_conf(scenario, "report")
            self._build_path, self._use_placement = build_path(conf), conf.scheduler.use_placement
            self._collector = Collector(self.deployment.notification_transports())
            self._collector.start()
        except BaseException:
            self.close()
            raise
        if self.embedded:
            for rule, meanwhile in self._rules:
                self.deployment.faults.add_rule(rule, meanwhile)
        self._started_at = time.time()
        return self

    def close(self) -> None:
        """Stop every service, remove every database, bus and temporary file."""
        deployment, self.deployment = self.deployment, None
        try:
            if deployment is not None:
                deployment.stop(also=self._collector.listeners if self._collector else ())
        finally:
            self._collector = self._nova_api = None
            if self._workdir is not None:
                self._workdir.cleanup()
                self._workdir = None

    def __enter__(self) -> Cloud:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def embedded(self) -> bool:
        return self.transport_url is None

    @property
    def servers(self) -> list[Server]:
        return list(self._servers.values())

    # inside
    def _add_rule(self, rule: FaultRule, meanwhile: Callable[[], None] | None) -> None:
        if not self.embedded and meanwhile is not None:
            raise CloudError("fail_spawn: `meanwhile` only in an embedded cloud (launched, the "
                             "spawn fails in a compute process, which cannot call the test's "
                             "Python function)")
        if self.deployment is None:  # given as it starts (launched: in the hosts file)
            self._rules.append((rule, meanwhile))
        elif self.embedded:
            self.deployment.faults.add_rule(rule, meanwhile)
        else:  # installed in the compute process before this returns
            self._simulation("fail_spawn" if rule.action else "slow_spawn", rule.hosts[0],
                             "add_fault_rule", rule)

    def _simulation(self, what: str, host: str, method: str, *args: Any) -> Any:
        """Call a launched compute's simulation control (compute_sim.rpcapi.SimulationAPI)
        on `host`'s queue; a CloudError if its process does not do it."""
        api = SimulationAPI(self.deployment.cell_rpc_transport(self.spec.cell_of(host)))
        with self._answered(what, f"the compute process serving {host}"):
            return getattr(api, method)(new_context(), host, *args)

    @staticmethod
    @contextlib.contextmanager
    def _answered(what: str, who: str) -> Iterator[None]:
        """A CloudError naming `who` if an RPC call in the block is refused or unanswered."""
        try:
            yield
        except messaging.MessagingTimeout:
            raise CloudError(f"{what}: {who} did not answer within "
                             f"{SIMULATION_TIMEOUT_S:g} s") from None
        except messaging.MessagingException as exc:
            problem = getattr(exc, "value", None) or exc  # a RemoteError: without its trace
            raise CloudError(f"{what}: {who} refused: {problem}") from None

    def _nova(self) -> NovaApi:
        if self._nova_api is None:
            self._nova_api = NovaApi(self.deployment.api_db,
                                     ConductorAPI(self.deployment.api_rpc_transport()),
                                     self.spec.seed, self.spec.name)
        return self._nova_api

    def _wait(self, servers: list[Server], timeout: float) -> None:
        assert self._collector is not None
        if not self._collector.wait_for([s.uuid for s in servers], timeout,
                                        ended_in_dbs(self.deployment)):
            waiting = [s for s in servers if s.uuid not in self._collector.finished]
            raise TimeoutError(f"after {timeout:g} s still building:\n"
                               + "\n".join(s.describe() for s in waiting))
        if isinstance(self.deployment, EmbeddedDeployment):
            # What the last handlers sent as they finished (an unclaim) is done too.
            self.deployment.join(timeout)

    def _entry(self, name: str) -> dict[str, Any]:
        return next(e for e in self._report()["instances"] if e["name"] == name)

    def _report(self) -> dict[str, Any]:
        self._started("reading a server")
        collector = self._collector
        assert collector is not None
        # Cached until anything moves on the buses (embedded counts every message sent).
        key = (len(collector.finished), self.deployment.rpc_messages())
        if key[1] is not None and self._snapshot is not None and self._snapshot[0] == key:
            return self._snapshot[1]
        names = {s.uuid: s.name for s in self._servers.values()}
        dbs = {**self.deployment.cell_dbs, self.deployment.topology.cell0.uuid:
               self.deployment.cell0_db}
        facts = RunFacts(
            scenario=self.spec.name, seed=self.spec.seed,
            transport=self.deployment.transport_name, config=dict(self.spec.config),
            names_by_uuid=names, instance_order=list(self._servers),
            cell_names=cell_names(self.deployment.api_db),
            host_cells=self.deployment.topology.host_cell_names(),
            scheduler_claim_failures=dict(collector.scheduler_claim_failures),
            duration_s=time.time() - self._started_at, started_at=self._started_at,
            submitted_at=dict(self._submitted),
            finished_at={u: at for u, (_, at) in collector.finished.items()},
            scheduler_claim_failures_at=dict(collector.scheduler_claim_failures_at),
            build_path=self._build_path)
        failed = {n.host: n.failed_builds for db in self.deployment.cell_dbs.values()
                  for n in db.list_compute_nodes()}
        report = build_report(facts, gather_instances(self.deployment.api_db, dbs, names),
                              self._usage_source(), failed)
        self._snapshot = (key, report)
        return report

    def _usage_source(self) -> Any:
        if self._use_placement:
            return self.deployment.placement
        from altsim_lab.scenario.tracker_usage import TrackerUsage
        return TrackerUsage(self.deployment.cell_dbs.values())

    def _cell_db(self, host: str) -> Any:
        cell = self.spec.cell_of(host)
        mapping = next(c.mapping for c in self.deployment.topology.cells
                       if c.mapping.name == cell)
        return self.deployment.cell_dbs[mapping.uuid]

    def _set_disabled(self, host: str, disabled: bool) -> None:
        if self.deployment is None:
            raise CloudError("stop_compute/start_compute of a known host needs a running "
                             "cloud: call cloud.start() first")
        with self._cell_db(host).engine.begin() as conn:
            conn.execute(cell_schema.compute_nodes.update()
                         .where(cell_schema.compute_nodes.c.host == host)
                         .values(disabled=disabled, version=cell_schema.compute_nodes.c.version
                                 + 1))
        self._snapshot = None

    def _before_start(self, what: str) -> None:
        if self.deployment is not None:
            raise CloudError(f"{what}: the cloud has started (its services read their config "
                             f"and topology as they start): call it before the first boot")

    def _started(self, what: str) -> None:
        if self.deployment is None:
            raise CloudError(f"{what}: the cloud has not started: boot a server or call "
                             f"cloud.start() first")
