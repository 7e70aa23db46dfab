"""The launched deployment: every service as its own OS process over RabbitMQ.

The API level and each cell get a vhost of their own (created with rabbitmqctl and deleted at
the end), so a cell process, configured with its cell's URL only, cannot reach an API-level
topic; and by default a RabbitMQ user of their own, with a random password and permissions on
that vhost only (altsim_lab.deploy.rabbit_users), so the broker itself refuses a cell's
credentials on the API vhost. Passwords and the placement token never show in what the
launcher prints (altsim.masking). Databases are SQLite files in the run's folder (shared by the
processes) or, given a database server URL, one PostgreSQL database per level created for the
run and dropped at the end (altsim_lab.deploy.provision); placement is the `altsim-placement` HTTP
service, or a placement the run is given and does not start (altsim_lab.deploy.shared_placement:
a real openstack-placement, say), of which it takes its own part out at the end. Each
service is started from a config file written here, as a ServiceProcess
(altsim_lab.deploy.process) waited for on its readiness line, never a sleep; every process is
stopped at the end, and every vhost, user and database removed, also on an error or Ctrl-C.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.engine import make_url

from altsim import rpc
from altsim.db.discover import discover_hosts
from altsim.masking import mask_text, register_secret, url_passwords
from altsim_lab.deploy.deployment import Deployment
from altsim_lab.deploy.process import STOP_TIMEOUT_S, LaunchError, ServiceProcess
from altsim_lab.deploy.provision import DatabaseServer, ProvisionError
from altsim_lab.deploy.rabbit_users import (
    LevelUser,
    broker_definitions,
    plan_users,
    topology_with_users,
)
from altsim_lab.deploy.shared_placement import (
    SharedPlacement,
    SharedPlacementError,
    check_providers_free,
    remove_run_state,
)
from altsim_lab.nova_api import instance_uuid_for
from altsim_lab.scenario.schema import Scenario
from altsim_lab.scenario.topology import Cell, plan_topology, service_conf
from compute_sim.hosts_file import HostSpec
from compute_sim.rpcapi import SimulationAPI
from placement_sim.http_client import HttpPlacementClient

LOG = logging.getLogger(__name__)
# How long each service may take to be ready, by default (`altsim run --start-timeout`): a
# compute registers its hosts in placement before it says so, a few seconds for 500 hosts in
# altsim-placement, a minute or more in a real Placement on a loaded machine.
START_TIMEOUT_S = 60.0
# One RabbitMQ user per level unless asked otherwise: made with the vhosts in their one
# rabbitmqctl call, they cost a launched run a few tenths of a second (README, "Over RabbitMQ").
PER_CELL_USERS = True


def vhost_url(base_url: str, vhost: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + vhost, parts.query, parts.fragment))


def rabbitmqctl(*args: str, stdin: str | None = None) -> None:
    """Run one rabbitmqctl command; `stdin` is what it reads (a new user's password, which
    on the command line would show in every process listing)."""
    try:
        subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True,
                       text=True, timeout=60, input=stdin)
    except FileNotFoundError:
        raise LaunchError("rabbitmqctl is not on PATH: the launcher creates one vhost per "
                          "level with it (run where RabbitMQ is installed)") from None
    except subprocess.CalledProcessError as exc:
        raise LaunchError(mask_text(f"rabbitmqctl {' '.join(args)} failed: "
                                    f"{(exc.stderr or exc.stdout or '').strip()}")) from None


def _ini_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return ",".join(f"{k}:{v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def _executable(command: str) -> str:
    """The console script installed with this Python (a venv's bin/), else the one on PATH."""
    beside = Path(sys.executable).with_name(command)
    found = str(beside) if beside.exists() else shutil.which(command)
    if found is None:
        raise LaunchError(f"{command} is not installed (pip install altsim puts it beside "
                          f"{sys.executable})")
    return found


def write_config(path: Path, sections: dict[str, dict[str, Any]]) -> Path:
    lines = []
    for section, options in sections.items():
        lines.append(f"[{section}]")
        lines.extend(f"{name} = {_ini_value(value)}" for name, value in options.items()
                     if value is not None)
        lines.append("")
    path.write_text("\n".join(lines))
    return path


def _each(step: Callable[[Any], None], items: Sequence[Any]) -> None:
    """`step` for every item at once: each rabbitmqctl call starts an Erlang VM, about half a
    second, so calls made one after another would add up."""
    with ThreadPoolExecutor(max(1, len(items)), thread_name_prefix="rabbitmqctl") as pool:
        for _ in pool.map(step, items):
            pass


class LaunchedDeployment(Deployment):
    transport_name = "rabbit"

    def __init__(self, scenario: Scenario, run_id: str, workdir: Path, base_url: str,
                 placement_port: int, database_url: str | None = None,
                 per_cell_users: bool = PER_CELL_USERS,
                 shared_placement: SharedPlacement | None = None,
                 start_timeout_s: float = START_TIMEOUT_S) -> None:
        """`per_cell_users`: each level's vhost gets a user of its own (rabbit_users), and
        each service its level's user; else every vhost is the base URL's user's.
        `shared_placement`: use that placement instead of starting altsim-placement
        (`placement_port` is then unused); the run's instance uuids get the run id as salt.
        `start_timeout_s`: how long each service may take to say it is ready (on start and
        restart) before the launch fails with a LaunchError naming it."""
        if not start_timeout_s > 0:
            raise ValueError(f"start timeout: must be above 0 seconds, got {start_timeout_s}")
        self.start_timeout_s = start_timeout_s
        template = vhost_url(base_url, "{run_id}-{name}")
        self.database_server = DatabaseServer(database_url) if database_url else None
        topology = plan_topology(scenario, run_id, workdir, template, self.database_server)
        self._users = plan_users(topology) if per_cell_users else {}
        if self._users:
            topology = topology_with_users(topology, self._users)
        super().__init__(scenario, topology)
        self._databases: list[str] = []  # created on the server (or being created)
        self._created_users: list[str] = []  # created on the broker (or being created)
        self.workdir = workdir
        self._base_url = base_url
        self._vhosts = [urlsplit(url).path.lstrip("/") for url in self._transport_urls()]
        self._shared = shared_placement
        self._providers_checked = False  # the shared placement's providers are the run's own
        if shared_placement is not None:
            self.instance_salt = run_id
            self._token = shared_placement.token
            self._placement_url = shared_placement.url.rstrip("/")
        else:
            self._token = secrets.token_hex(16)
            self._placement_url = f"http://127.0.0.1:{placement_port}"
        # Never shown by this process either (a LaunchError, a daemon's output, a log line).
        register_secret(*([self._token] if self._token else []), *url_passwords(base_url),
                        *url_passwords(database_url or ""),
                        *(user.password for user in self._users.values()))
        # A placement the run is given may be a real one, slower than ours under the
        # workload: the report's and the audit's reads wait for its answers (as Nova's report
        # client does) rather than failing the run after 10 s.
        self.placement = HttpPlacementClient(
            self._placement_url, auth_token=self._token,
            timeout=None if shared_placement is not None else 10.0)
        self._processes: list[ServiceProcess] = []
        self._placement_port = placement_port

    # lifecycle
    def start(self) -> None:
        self._check_shared_placement()
        self._create_levels()
        self._provision_databases()
        self._create_databases()
        if self._shared is None:
            self._wait_ready(self._launch("placement", "altsim-placement", {
                "placement": {"bind_host": "127.0.0.1", "bind_port": self._placement_port,
                              "auth_token": self._token,
                              # kept across a restart (kill -9 included) in the run's folder;
                              # no fsync: a kill keeps what was written, and a machine crash
                              # ends the whole run anyway (BENCHMARKS.md has the cost)
                              "state_path": str(self.workdir / "placement-state"),
                              "state_fsync": False}}))
        # Everything else starts at once (a Python process takes seconds to import its world);
        # the hosts are mapped to their cells once every compute has registered them.
        for cell in self.topology.cells:
            cell_sections = {"DEFAULT": {"transport_url": cell.mapping.transport_url},
                             "database": {"connection": cell.mapping.database_connection}}
            if not self._legacy_retry():  # else the super conductor serves the cell
                self._launch(f"conductor-{cell.mapping.name}", "altsim-conductor",
                             {**cell_sections, "conductor": {"role": "cell"}})
            self._launch(f"compute-{cell.mapping.name}", "altsim-compute", {
                **cell_sections, "compute_sim": {"scenario_file": str(self._scenario_file()),
                                                 "cell": cell.mapping.name}})
        api_sections = {"DEFAULT": {"transport_url": self.topology.api_transport_url},
                        "api_database": {"connection": self.topology.api_db_url}}
        for worker in range(service_conf(self.scenario, "launcher").scheduler.workers):
            self._launch("scheduler" if worker == 0 else f"scheduler-{worker + 1}",
                         "altsim-scheduler", api_sections)
        self._launch("conductor-super", "altsim-conductor",
                     {**api_sections, "conductor": {"role": "super"}})
        for process in self._processes:
            self._wait_ready(process)
        discover_hosts(self.api_db)

    def stop(self, also: Sequence[Any] = ()) -> None:
        for process in self._processes:  # all at once: each takes a while to wind down
            process.terminate()
        rpc.stop_servers(list(also))
        for process in reversed(self._processes):
            process.stop()
        if self._providers_checked:  # never another run's: only once they were found free
            remove_run_state(self.placement, self._run_provider_uuids(),
                             self._run_consumer_uuids())
        self.placement.close()
        self._release()
        self._drop_databases()
        # Every vhost and user at once (the services are gone: nothing uses them any more).
        _each(self._delete_from_broker, [*(("vhost", vhost) for vhost in self._vhosts),
                                         *(("user", user) for user in self._created_users)])

    def write_client_config(self, path: Path) -> Path:
        """A config file with which altsim-manage (and other clients) reach this deployment."""
        return write_config(path, {
            "DEFAULT": {"transport_url": self.topology.api_transport_url},
            "api_database": {"connection": self.topology.api_db_url},
            "placement": {"endpoint_url": self._placement_url, "auth_token": self._token}})

    def process_ids(self) -> dict[str, int]:
        """Service name (placement, scheduler, conductor-super, conductor-<cell>,
        compute-<cell>) -> its process id."""
        return {process.name: process.pid for process in self._processes}

    # faults (the crash tests, docs/reliability.md)
    def kill(self, name: str) -> None:
        """SIGKILL service `name` as a crash would: no shutdown, no goodbye to the broker or
        placement; whatever it had taken from a queue and not finished is lost with it."""
        self._process(name).kill(STOP_TIMEOUT_S)

    def restart(self, name: str) -> None:
        """Start service `name` again (after kill) with the same config file, and wait until
        it is serving."""
        old = self._process(name)
        process = old.restarted()
        self._processes[self._processes.index(old)] = process
        self._wait_ready(process)

    def pause(self, name: str) -> None:
        """SIGSTOP service `name`: it holds its connections and answers nothing, as a host
        cut off the network does (the kernel still accepts new connections for it)."""
        self._process(name).signal_group(signal.SIGSTOP)

    def resume(self, name: str) -> None:
        self._process(name).signal_group(signal.SIGCONT)

    def _start_host(self, cell: Cell, spec: HostSpec) -> None:
        # Asked of the cell's compute process on the cell's bus, through the queue of a host
        # it serves (compute_sim/simulation.py says why); a host added so is the process's
        # until it ends: a compute restarted serves the hosts of its hosts file only.
        SimulationAPI(self.cell_rpc_transport(cell.mapping.name)).add_host(
            rpc.new_context(), cell.hosts[0].name, spec)

    def _wait_ready(self, process: ServiceProcess) -> None:
        process.wait_ready(self.start_timeout_s,
                           " (give the services longer with altsim run --start-timeout)")

    def _process(self, name: str) -> ServiceProcess:
        for process in self._processes:
            if process.name == name:
                return process
        raise LookupError(f"no service {name!r} in this deployment (there are "
                          f"{', '.join(p.name for p in self._processes)})")

    def level_users(self) -> dict[str, LevelUser]:
        """vhost -> the user made for it (empty without per-cell users)."""
        return dict(self._users)

    # building blocks
    def _check_shared_placement(self) -> None:
        """A shared placement must not already hold providers of this run's hosts."""
        if self._shared is None:
            return
        try:
            check_providers_free(self.placement, self._hosts())
        except SharedPlacementError as exc:
            raise LaunchError(str(exc)) from None
        self._providers_checked = True

    def _hosts(self) -> list[Any]:
        return [host for cell in self.topology.cells for host in cell.hosts]

    def _run_provider_uuids(self) -> list[str]:
        return [host.node_uuid for host in self._hosts()]

    def _run_consumer_uuids(self) -> list[str]:
        return [instance_uuid_for(self.scenario.seed, self.scenario.name, name,
                                  self.instance_salt)
                for name in self.scenario.instance_names()]

    def _create_levels(self) -> None:
        """Every vhost of the run, its users and their permissions, in one rabbitmqctl call
        (each call starts an Erlang VM: about half a second)."""
        self._created_users = [user.name for user in self._users.values()]  # first, as above
        definitions = broker_definitions(self._vhosts, self._users, self._user())
        rabbitmqctl("import_definitions", stdin=json.dumps(definitions))

    def _delete_from_broker(self, kind_and_name: tuple[str, str]) -> None:
        """Delete one vhost (closing its connections) or one user; log, never raise."""
        kind, name = kind_and_name
        try:
            rabbitmqctl(f"delete_{kind}", name)
        except (LaunchError, OSError) as exc:
            LOG.warning("could not delete RabbitMQ %s %s: %s", kind, name, exc)
            return
        if kind == "user":
            self._created_users.remove(name)

    def _provision_databases(self) -> None:
        """Create the run's databases on the database server, if it has one."""
        if self.database_server is None:
            return
        for url in self.topology.database_urls():
            name = make_url(url).database
            self._databases.append(name)  # first: an interrupted CREATE is dropped too
            try:
                self.database_server.create(name)
            except ProvisionError as exc:
                # Refused or unreachable: nothing was made, so nothing is dropped (a drop
                # would only add a warning about a database that never existed).
                self._databases.remove(name)
                raise LaunchError(str(exc)) from None

    def _drop_databases(self) -> None:
        for name in list(self._databases):
            try:
                self.database_server.drop(name)  # type: ignore[union-attr]
            except ProvisionError as exc:
                LOG.warning("could not drop database %s: %s", name, exc)
            self._databases.remove(name)

    def _legacy_retry(self) -> bool:
        return bool(service_conf(self.scenario, "launcher").scheduler.legacy_retry)

    def _user(self) -> str:
        return urlsplit(self._base_url).username or "guest"

    def _scenario_file(self) -> Path:
        path = self.workdir / "scenario.json"
        if not path.exists():
            path.write_text(self.scenario.model_dump_json())
        return path

    def _launch(self, name: str, command: str,
                sections: dict[str, dict[str, Any]]) -> ServiceProcess:
        sections = {section: dict(options) for section, options in sections.items()}
        defaults = sections.setdefault("DEFAULT", {})
        defaults.setdefault("host", name)
        defaults.setdefault("seed", self.scenario.seed)
        if name != "placement":
            sections.setdefault("placement", {}).update(
                {"endpoint_url": self._placement_url, "auth_token": self._token})
        for key, value in self.scenario.config.items():
            group, _, option = key.rpartition(".")
            sections.setdefault(group or "DEFAULT", {})[option] = value
        path = write_config(self.workdir / f"{name}.conf", sections)
        process = ServiceProcess(name, [_executable(command), "--config-file", str(path)],
                                 self.workdir / f"{name}.log")
        self._processes.append(process)
        return process
