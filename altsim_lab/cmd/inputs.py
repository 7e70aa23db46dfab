"""What `altsim run` and `altsim sweep` check of their arguments before anything starts.

Every problem is an `InvalidInput` whose message is one line naming the option, file or URL
and what is wrong with it; the commands print it and exit 2, within seconds, having started
nothing. The cheap checks come first (values, paths, URL forms, the scenario file), the ones
that talk to a server last (the broker and the database server are logged in to once, with a
short timeout: altsim_lab.deploy.probe).
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

from altsim_lab.config_overrides import ConfigOverrideError
from altsim_lab.deploy.probe import (
    BrokerHost,
    ProbeError,
    broker_hosts,
    probe_broker,
    probe_database_server,
)
from altsim_lab.deploy.provision import parse_server_url
from altsim_lab.deploy.shared_placement import (
    SharedPlacement,
    SharedPlacementError,
    probe_placement,
)
from altsim_lab.scenario.schema import Scenario, ScenarioError, load_scenario
from altsim_lab.scenario.topology import check_config

# Written without a password, which every message would show masked (altsim.masking).
RABBIT_FORM = "rabbit://host:5672/ (user:password@ before the host)"
DATABASE_FORM = ("dialect+driver://host:port/ (user:password@ before the host), e.g. "
                 "postgresql+psycopg://postgres@127.0.0.1:5432/")


class InvalidInput(ValueError):
    """A bad argument, file or URL: one line that names it; the command exits 2."""


def check_seconds(option: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise InvalidInput(f"{option}: must be a number of seconds above 0, got {value:g}")


def check_output_file(option: str, path: Path) -> None:
    """A file to write at the end of a run: its folder must exist (a typo in it is caught
    now, not after the run) and be writable, and the path must not be a folder."""
    if path.is_dir():
        raise InvalidInput(f"{option} {path}: is a folder; give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise InvalidInput(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise InvalidInput(f"{option} {path}: cannot write in {folder}: permission denied")


def check_output_folder(option: str, path: Path) -> None:
    """A folder to fill at the end of a run: an existing one must be a writable folder; a
    new one is created with its missing parents, so its nearest existing ancestor must be."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        what = "is a file" if existing == path else f"{existing} is a file"
        raise InvalidInput(f"{option} {path}: {what}; give a folder")
    if not os.access(existing, os.W_OK):
        raise InvalidInput(f"{option} {path}: cannot write in {existing}: permission denied")


def check_transport_url(url: str) -> list[BrokerHost]:
    """The broker hosts of a well-formed rabbit:// URL without a vhost."""
    parts = urlsplit(url)
    if "://" not in url:
        raise InvalidInput(f"--transport-url: {url!r} is not a URL; expected {RABBIT_FORM}")
    if parts.scheme != "rabbit":
        raise InvalidInput(f"--transport-url: {parts.scheme}:// is not supported: the services "
                           f"are launched over RabbitMQ, {RABBIT_FORM}")
    vhost = unquote(parts.path.lstrip("/"))
    if vhost not in ("", "/"):
        # Each run makes a vhost per level (<run>-api, <run>-<cell>) and deletes them after;
        # a vhost named here would be silently ignored, so it is refused.
        raise InvalidInput(f"--transport-url: a vhost ({vhost!r}) cannot be given: each run "
                           f"makes a vhost of its own per level; give the broker's URL with "
                           f"none, {RABBIT_FORM}")
    try:
        return broker_hosts(url)
    except ValueError as exc:
        raise InvalidInput(f"--transport-url: {exc}") from None


def check_database_url(url: str | None, transport_url: str | None) -> None:
    """A database server URL altsim can create databases on, for a launched run only."""
    if url is None:
        return
    if transport_url is None:
        raise InvalidInput("--database-url needs --transport-url: an embedded run keeps its "
                           "databases in SQLite files")
    if "://" not in url:
        # Not a URL, so nothing in it is known to be a password: shown unless it might be one.
        shown = repr(url) if "@" not in url and ":" not in url else "(value not shown)"
        raise InvalidInput(f"--database-url: {shown} is not a URL; expected {DATABASE_FORM}")
    try:
        parse_server_url(url)
    except ValueError as exc:
        raise InvalidInput(f"--database-url: {exc}") from None


def load_checked_scenario(path: Path) -> Scenario:
    """The scenario file read and its `config:` checked as the services will read it."""
    try:
        scenario = load_scenario(path)
        check_config(scenario)
    except ScenarioError as exc:
        raise InvalidInput(str(exc)) from None
    except (ConfigOverrideError, ValueError) as exc:
        raise InvalidInput(f"{path}: {exc}") from None
    return scenario


def check_servers(transport_url: str | None, database_url: str | None) -> None:
    """Log in to the database server and the broker the run will use (the URLs already
    checked by check_database_url and check_transport_url), and make sure rabbitmqctl is
    there to make the run's vhosts."""
    if transport_url is None:
        return
    if database_url is not None:
        try:
            probe_database_server(parse_server_url(database_url))
        except ProbeError as exc:
            raise InvalidInput(f"--database-url: {exc}") from None
    try:
        probe_broker(broker_hosts(transport_url))
    except ProbeError as exc:
        raise InvalidInput(f"--transport-url: {exc}") from None
    if shutil.which("rabbitmqctl") is None:
        raise InvalidInput("--transport-url: rabbitmqctl is not on PATH: a launched run makes "
                           "its vhosts with it (run where RabbitMQ is installed)")


def check_placement_options(url: str | None, token: str | None,
                            transport_url: str | None) -> None:
    """--placement-url is for launched runs, an http(s) URL; --placement-token goes with it."""
    if token is not None and url is None:
        raise InvalidInput("--placement-token goes with --placement-url")
    if url is None:
        return
    if transport_url is None:
        raise InvalidInput("--placement-url is for launched runs: give --transport-url too")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"--placement-url: {url!r} is not an http:// or https:// URL")


def check_placement(placement: SharedPlacement | None) -> None:
    """Ask the placement the run is to use (if any) once, before anything is launched."""
    if placement is None:
        return
    try:
        probe_placement(placement)
    except SharedPlacementError as exc:
        raise InvalidInput(f"--placement-url: {exc}") from None
