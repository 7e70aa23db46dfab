"""Example scenarios with every service as its own process over RabbitMQ, with SQLite files and
with PostgreSQL databases: same outcomes as embedded, nothing left behind (no vhost, no
database)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from altsim_lab.cmd import altsim
from altsim_lab.deploy import launcher
from altsim_lab.deploy.launcher import LaunchedDeployment, LaunchError
from altsim_lab.scenario.runner import run_scenario
from altsim_lab.scenario.schema import load_scenario
from altsim_lab.scenario.topology import service_conf
from altsim_lab.testing import postgres_databases

SCENARIOS = sorted((Path(__file__).parents[3] / "etc" / "altsim" / "scenarios").glob("*.yaml"))
pytestmark = pytest.mark.rabbit


def vhosts() -> set[str]:
    out = subprocess.run(["rabbitmqctl", "-q", "list_vhosts"], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


# Every scenario runs on PostgreSQL (the deployments' database); SQLite, which every embedded
# test already runs on, is kept launched for a few, so the tier stays inside the suite's budget.
SQLITE_TOO = {"clean-run", "reschedule-once", "last-slot-race"}
CASES = ([(path, "postgresql") for path in SCENARIOS]
         + [(path, "sqlite") for path in SCENARIOS if path.stem in SQLITE_TOO])


@pytest.mark.parametrize(("path", "database"), CASES,
                         ids=[f"{database}-{path.stem}" for path, database in CASES])
def test_launched_scenario_meets_its_expectations(rabbit_url: str, path: Path, database: str,
                                                  request: pytest.FixtureRequest):
    # None: SQLite files in the run's folder; else a PostgreSQL server for the run's DBs.
    database_url = None if database == "sqlite" else request.getfixturevalue("postgres_url")
    audits: list[subprocess.CompletedProcess] = []
    run_vhosts: set[str] = set()
    run_databases: set[str] = set()
    live_databases: set[str] = set()
    schedulers: list[str] = []

    def audit(deployment) -> None:  # type: ignore[no-untyped-def]
        schedulers.extend(name for name in deployment.process_ids()
                          if name.startswith("scheduler"))
        run_vhosts.update(url.rsplit("/", 1)[1] for url in deployment._transport_urls())
        if database_url is not None:
            run_databases.update(make_url(url).database
                                 for url in deployment.topology.database_urls())
            live_databases.update(postgres_databases(database_url, "altsim_"))
        config = deployment.write_client_config(deployment.workdir / "manage.conf")
        audits.append(subprocess.run(
            [str(Path(sys.executable).with_name("altsim-manage")), "--config-file",
             str(config), "placement", "audit"], capture_output=True, text=True, timeout=120))

    result = run_scenario(load_scenario(path), timeout_s=120, transport_url=rabbit_url,
                          inspect=audit, database_url=database_url)
    missed = [c for c in result.report["expectations"] if not c["ok"]]
    assert not result.errors, result.errors
    assert not missed, missed
    assert result.report["transport"] == "rabbit"
    # As many scheduler processes as [scheduler] workers says (clean-run asks for two)
    workers = service_conf(load_scenario(path), "test").scheduler.workers
    assert sorted(schedulers) == ["scheduler", *(f"scheduler-{n}"
                                                for n in range(2, workers + 1))]
    # altsim-manage placement audit finds nothing on the live deployment after the run
    assert audits and audits[0].returncode == 0, audits[0].stdout + audits[0].stderr
    # The run's own vhosts existed while it ran and are gone now (other runs may share the
    # broker, so only this run's are looked at).
    assert run_vhosts and not run_vhosts & vhosts(), "the run left vhosts behind"
    if database_url is not None:
        # One database per level (API, cell0, each cell), there while the run ran, gone now.
        assert len(run_databases) == 2 + len(load_scenario(path).cells), run_databases
        assert run_databases <= live_databases, run_databases - live_databases
        assert not run_databases & postgres_databases(database_url, "altsim_"), \
            "the run left databases behind"


@pytest.mark.parametrize("failure", [LaunchError("placement would not start"),
                                     KeyboardInterrupt()], ids=["launch-error", "ctrl-c"])
def test_a_failed_launch_drops_the_runs_databases(rabbit_url: str, postgres_url: str,
                                                  failure: BaseException, monkeypatch):
    run_databases: set[str] = set()
    live_databases: set[str] = set()

    def fail(self, *args) -> None:  # type: ignore[no-untyped-def]
        run_databases.update(make_url(url).database for url in self.topology.database_urls())
        live_databases.update(postgres_databases(postgres_url, "altsim_"))
        raise failure

    monkeypatch.setattr(LaunchedDeployment, "_launch", fail)
    with pytest.raises(type(failure)):
        run_scenario(load_scenario(SCENARIOS[0]), transport_url=rabbit_url,
                     database_url=postgres_url)
    assert run_databases and run_databases <= live_databases
    assert not run_databases & postgres_databases(postgres_url, "altsim_")


def test_an_unreachable_database_server_is_a_launch_error_without_the_password(
        rabbit_url: str, monkeypatch):
    added: set[str] = set()
    real_rabbitmqctl = launcher.rabbitmqctl

    def rabbitmqctl(*args: str, stdin: str | None = None) -> None:
        if args[0] == "add_vhost":
            added.add(args[1])
        if args[0] == "import_definitions":  # every vhost of the run in one call
            added.update(vhost["name"] for vhost in json.loads(stdin or "{}")["vhosts"])
        real_rabbitmqctl(*args, stdin=stdin)

    monkeypatch.setattr(launcher, "rabbitmqctl", rabbitmqctl)
    with pytest.raises(LaunchError, match="127.0.0.1:1/") as err:
        run_scenario(load_scenario(SCENARIOS[0]), transport_url=rabbit_url,
                     database_url="postgresql+psycopg://altsim:s3cret@127.0.0.1:1/")
    assert "s3cret" not in str(err.value)
    assert added and not added & vhosts(), "the run left vhosts behind"


def test_a_service_slower_than_the_start_timeout_is_named_and_everything_stops(
        rabbit_url: str, capsys, monkeypatch):
    """`altsim run --start-timeout`: the first service not ready in time (placement, started
    first: a Python daemon needs far more than a tenth of a second) stops the run with exit 2
    and an error naming it and the option, and nothing of the run is left on the broker."""
    added: set[str] = set()
    real_rabbitmqctl = launcher.rabbitmqctl

    def rabbitmqctl(*args: str, stdin: str | None = None) -> None:
        if args[0] == "import_definitions":
            added.update(vhost["name"] for vhost in json.loads(stdin or "{}")["vhosts"])
        real_rabbitmqctl(*args, stdin=stdin)

    monkeypatch.setattr(launcher, "rabbitmqctl", rabbitmqctl)
    code = altsim.main(["run", str(SCENARIOS[0]), "--transport-url", rabbit_url,
                        "--start-timeout", "0.1"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: could not launch the services: placement not ready after "
                          "0.1 s (give the services longer with altsim run --start-timeout)"), err
    assert added and not added & vhosts(), "the run left vhosts behind"


def test_the_start_timeout_reaches_every_service_of_a_launched_run(rabbit_url: str, monkeypatch):
    """The launcher waits `start_timeout_s` for each service it starts, not its default."""
    waited: dict[str, float] = {}
    real_wait = launcher.ServiceProcess.wait_ready

    def wait_ready(self, timeout: float, slow_hint: str = ""):  # type: ignore[no-untyped-def]
        waited[self.name] = timeout
        return real_wait(self, timeout, slow_hint)

    monkeypatch.setattr(launcher.ServiceProcess, "wait_ready", wait_ready)
    result = run_scenario(load_scenario(SCENARIOS[0]), transport_url=rabbit_url,
                          start_timeout_s=123.0)
    assert result.ok, result.errors
    assert {"placement", "scheduler", "conductor-super"} <= set(waited)
    assert set(waited.values()) == {123.0}
