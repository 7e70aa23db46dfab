"""Run a scenario: deploy, submit the workload, wait for every instance to finish, report, check.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from altsim import runtime
from altsim.masking import mask_config, secret_options
from altsim.objects import server_status
from altsim_lab.deploy.deterministic import Determinism, refuse_uncontrolled, run_deterministic
from altsim_lab.deploy.embedded import EmbeddedDeployment
from altsim_lab.deploy.provision import parse_server_url
from altsim_lab.deploy.shared_placement import SharedPlacement
from altsim_lab.nova_api import NovaApi
from altsim_lab.scenario.collector import Collector, Ended
from altsim_lab.scenario.expectations import check_expectations
from altsim_lab.scenario.report import (
    RunFacts,
    build_report,
    cell_names,
    failed_build_counts,
    gather_instances,
)
from altsim_lab.scenario.schema import Scenario
from altsim_lab.scenario.topology import build_path, service_conf
from altsim_lab.scenario.workload import Workload
from conductor.rpcapi import ConductorAPI


@dataclass
class Progress:
    """Hooks the CLI uses to show progress; all optional."""

    on_start: Callable[[int], None] = lambda total: None
    on_finished: Callable[[str, str], None] = lambda uuid, status: None
    on_phase: Callable[[str], None] = lambda phase: None


@dataclass
class RunResult:
    report: dict[str, Any]
    timed_out: bool
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and all(c["ok"] for c in self.report["expectations"])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check_database_url(database_url: str | None, transport_url: str | None) -> None:
    """ValueError unless the database server URL can be used: launched runs only (embedded
    runs keep SQLite in their temporary folder), on a server altsim can create databases on."""
    if database_url is None:
        return
    if transport_url is None:
        raise ValueError("a database server URL (--database-url) is only for launched runs: "
                         "give --transport-url too (embedded runs use SQLite)")
    parse_server_url(database_url)


def make_deployment(scenario: Scenario, run_id: str, workdir: Path, transport_url: str | None,
                    database_url: str | None, per_cell_users: bool | None,
                    placement: SharedPlacement | None = None,
                    start_timeout_s: float | None = None) -> Any:
    """`start_timeout_s` (launched runs): how long each service may take to be ready (None:
    the launcher's default)."""
    if transport_url is None:
        return EmbeddedDeployment(scenario, run_id, workdir)
    from altsim_lab.deploy.launcher import (  # rabbit only
        PER_CELL_USERS,
        START_TIMEOUT_S,
        LaunchedDeployment,
    )
    return LaunchedDeployment(scenario, run_id, workdir, transport_url, _free_port(),
                              database_url,
                              PER_CELL_USERS if per_cell_users is None else per_cell_users,
                              shared_placement=placement,
                              start_timeout_s=(START_TIMEOUT_S if start_timeout_s is None
                                               else start_timeout_s))


def run_scenario(scenario: Scenario, timeout_s: float = 300.0,
                 progress: Progress | None = None,
                 transport_url: str | None = None,
                 inspect: Callable[[Any], None] | None = None,
                 database_url: str | None = None,
                 per_cell_users: bool | None = None,
                 during: Callable[[Any], None] | None = None,
                 deterministic: Determinism | None = None,
                 placement: SharedPlacement | None = None,
                 start_timeout_s: float | None = None) -> RunResult:
    """Run embedded (one process) or, given a rabbit:// URL, with every service launched as
    its own process over that broker; a launched run given a database server URL (e.g.
    postgresql+psycopg://postgres@127.0.0.1:5432/) keeps its databases there, one per level,
    created for the run and dropped after it (ValueError from check_database_url otherwise).
    `inspect`, if given, is called with the deployment once the workload has finished and
    before anything stops (tests look at the live system). `per_cell_users` (launched runs):
    one RabbitMQ user per level, each service given its level's (None: the launcher's
    default, on). `during`, if given, is called with the deployment in a thread of its own
    as the workload starts, to do something to the deployment mid-run (the crash tests kill,
    restart and pause services); the run reports once both the workload and `during` are
    done, and an exception from `during` is one of the run's errors. `deterministic`: run
    embedded under a seeded scheduler in simulated time (altsim_lab.deploy.deterministic);
    NotDeterministic (a ValueError) for what that mode cannot control. `placement` (launched
    runs): use that placement, which the run neither starts nor owns, instead of starting
    altsim-placement (altsim_lab.deploy.shared_placement). `start_timeout_s` (launched runs):
    how long each service may take to be ready (None: the launcher's default, 60 s)."""
    check_database_url(database_url, transport_url)
    if placement is not None and transport_url is None:
        raise ValueError("a placement URL (--placement-url) is only for launched runs: give "
                         "--transport-url too")
    if deterministic is None and scenario.deterministic:
        deterministic = Determinism()
    if deterministic is not None:
        refuse_uncontrolled(transport_url, database_url, during)
        return run_deterministic(deterministic, scenario.seed, lambda: _run_scenario(
            scenario, timeout_s, progress, None, inspect, None, None, None, None))
    return _run_scenario(scenario, timeout_s, progress, transport_url, inspect, database_url,
                         per_cell_users, during, placement, start_timeout_s)


def _run_scenario(scenario: Scenario, timeout_s: float, progress: Progress | None,
                  transport_url: str | None, inspect: Callable[[Any], None] | None,
                  database_url: str | None, per_cell_users: bool | None,
                  during: Callable[[Any], None] | None,
                  placement: SharedPlacement | None,
                  start_timeout_s: float | None = None) -> RunResult:
    progress = progress or Progress()
    run_id = f"altsim-{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory(prefix=f"{run_id}-") as workdir:
        deployment = make_deployment(scenario, run_id, Path(workdir), transport_url,
                                     database_url, per_cell_users, placement, start_timeout_s)
        progress.on_phase("starting services")
        collector: Collector | None = None
        try:
            deployment.start()
            nova_api = NovaApi(deployment.api_db, ConductorAPI(deployment.api_rpc_transport()),
                               scenario.seed, scenario.name, deployment.instance_salt)
            workload = Workload(scenario, nova_api)

            def finished(instance_uuid: str, status: str) -> None:
                workload.instance_finished(instance_uuid, status)
                progress.on_finished(instance_uuid, status)

            collector = Collector(deployment.notification_transports(), on_finished=finished)
            collector.start()
            disruption = _Disruption(during, deployment)
            duration, completed = _run(scenario, workload, collector, timeout_s, progress,
                                       ended_in_dbs(deployment))
            disruption.join(timeout_s)
            if inspect is not None:
                inspect(deployment)
            progress.on_phase("collecting report")
            result = _report(scenario, deployment, workload, collector, duration,
                             not completed)
            result.errors.extend(disruption.errors)
            return result
        finally:
            progress.on_phase("stopping services")
            deployment.stop(also=collector.listeners if collector else ())


class _Disruption:
    """`during(deployment)` in a thread of its own, started at once (nothing if None)."""

    def __init__(self, during: Callable[[Any], None] | None, deployment: Any) -> None:
        self.errors: list[str] = []
        self._thread: threading.Thread | None = None
        if during is not None:
            self._thread = threading.Thread(target=self._call, args=(during, deployment),
                                            name="during-run", daemon=True)
            self._thread.start()

    def _call(self, during: Callable[[Any], None], deployment: Any) -> None:
        try:
            during(deployment)
        except Exception as exc:  # noqa: BLE001 - reported with the run, never swallowed
            self.errors.append(f"during the run: {type(exc).__name__}: {exc}")

    def join(self, timeout_s: float) -> None:
        if self._thread is None:
            return
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self.errors.append(f"during the run: still running after {timeout_s:.0f} s")


def ended_in_dbs(deployment: Any) -> Callable[[set[str]], Ended]:
    """Which of some instances their cell DBs (cell0's too) say are ACTIVE or ERROR, and
    since when (the row's last update): for the collector, when a notification may have been
    lost."""
    dbs = [deployment.cell0_db, *deployment.cell_dbs.values()]

    def ended(uuids: set[str]) -> Ended:
        found: Ended = {}
        for db in dbs:
            for row in db.list_instance_rows():
                status = server_status(row["vm_state"])
                if row["uuid"] in uuids and status in ("ACTIVE", "ERROR"):
                    found[row["uuid"]] = (status, row["updated_at"])
        return found

    return ended


def _run(scenario: Scenario, workload: Workload, collector: Collector, timeout_s: float,
         progress: Progress,
         reconcile: Callable[[set[str]], Ended]) -> tuple[float, bool]:
    """Submit the workload and wait for it; returns (duration, every instance finished)."""
    progress.on_phase("running workload")
    progress.on_start(len(scenario.instance_names()))
    started = runtime.time()
    workload.run(started)
    completed = collector.wait_for(workload.uuids.values(), timeout_s, reconcile)
    if not completed:
        return runtime.time() - started, False
    return max((t for _, t in collector.finished.values()), default=started) - started, True


def _report(scenario: Scenario, deployment: Any, workload: Workload,
            collector: Collector, duration: float, timed_out: bool) -> RunResult:
    names_by_uuid = {u: n for n, u in workload.uuids.items()}
    all_cell_dbs = {**deployment.cell_dbs, deployment.topology.cell0.uuid: deployment.cell0_db}
    instances = gather_instances(deployment.api_db, all_cell_dbs, names_by_uuid)
    failed_builds = failed_build_counts(instances)
    conf = service_conf(scenario, "report")
    secret_keys = secret_options(conf)
    facts = RunFacts(scenario=scenario.name, seed=scenario.seed,
                     description=scenario.description.strip(), build_path=build_path(conf),
                     transport=deployment.transport_name,
                     config=mask_config(scenario.config, secret_keys),
                     names_by_uuid=names_by_uuid, instance_order=scenario.instance_names(),
                     cell_names=cell_names(deployment.api_db),
                     host_cells=deployment.topology.host_cell_names(),
                     scheduler_claim_failures=dict(collector.scheduler_claim_failures),
                     duration_s=duration, started_at=workload.started,
                     submitted_at=dict(workload.submitted),
                     finished_at={uuid: at for uuid, (_, at) in collector.finished.items()},
                     scheduler_claim_failures_at=dict(collector.scheduler_claim_failures_at),
                     messages=deployment.rpc_messages())
    report = build_report(facts, instances, deployment.resource_usage(), failed_builds)
    # Ended without a terminal notification (a service killed between its commit and its
    # notify): found in the cell DBs once the run went quiet; their finish time is when.
    report["unnotified"] = sorted(names_by_uuid.get(uuid, uuid)
                                  for uuid in collector.unnotified)
    report["expectations"] = check_expectations(scenario.expect, report)
    errors = [f"workload: {exc}" for exc in workload.errors]
    if timed_out:
        errors.append(f"timed out: {report['summary']['building']} instance(s) still in BUILD")
    return RunResult(report, timed_out, errors)
