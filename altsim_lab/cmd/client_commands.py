"""The `altsim` commands that drive a running deployment, in the OpenStack client's manner.

`server create|list|show`, `server event list`, `host list`, `cell list` and `flavor list`
read the API and cell databases and placement, and cast new servers to the super conductor;
cliff's formatters give every listing `-f table|json|yaml|csv|value` and `-c COLUMN`.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Iterable
from typing import Any

import sqlalchemy.exc
from cliff.lister import Lister
from cliff.show import ShowOne
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from altsim.masking import mask_text
from altsim_lab.client import hosts, servers
from altsim_lab.client.connection import ClientError, Connection, InvalidClientInput
from placement_sim.exceptions import PlacementError, PlacementUnavailable

SERVER_COLUMNS = ("ID", "Name", "Status", "Flavor", "Cell", "Host")
EXIT_INVALID = 2


class _DeploymentCommand:
    """Opens the deployment from the app's --config-file and turns failures to reach it into
    one-line ClientErrors (cliff prints them and exits 1); a bad argument or configuration
    (InvalidClientInput) is printed here and exits 2, as `altsim run` does."""

    app: Any

    def connection(self) -> Connection:
        connection = Connection.from_files(self.app.options.config_file)
        self._connection = connection
        return connection

    def run(self, parsed_args: argparse.Namespace) -> int:
        try:
            return super().run(parsed_args)  # type: ignore[misc]
        except InvalidClientInput as exc:
            self.app.LOG.error(mask_text(str(exc)))
            return EXIT_INVALID
        except sqlalchemy.exc.SQLAlchemyError as exc:
            raise ClientError(mask_text(f"database: {exc.__class__.__name__}: "
                                        f"{str(exc).splitlines()[0]}")) from None
        except (PlacementError, PlacementUnavailable) as exc:
            raise ClientError(mask_text(f"placement: {exc}")) from None
        finally:
            connection = getattr(self, "_connection", None)
            if connection is not None:
                connection.close()


def _server_row(connection: Connection, server: servers.Server) -> tuple:
    return (server.id, server.name, server.status, server.flavor,
            connection.cell_name(server.cell_uuid), server.host)


class ServerList(_DeploymentCommand, Lister):
    """List servers, those still scheduling at the API level and every cell's."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("--status", choices=("BUILD", "ACTIVE", "ERROR"),
                            help="only servers with this status")
        parser.add_argument("--host", help="only servers on this host")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple, Iterable[tuple]]:
        connection = self.connection()
        found = [s for s in servers.list_servers(connection)
                 if (parsed_args.status is None or s.status == parsed_args.status)
                 and (parsed_args.host is None or s.host == parsed_args.host)]
        return SERVER_COLUMNS, [_server_row(connection, s) for s in found]


class ServerShow(_DeploymentCommand, ShowOne):
    """Show one server: where it is, its attempts, its fault."""

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("server", metavar="SERVER", help="server name or ID")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple, tuple]:
        connection = self.connection()
        server = servers.find_server(connection, parsed_args.server)
        events = servers.server_events(connection, server)
        attempts = [e for e in events if e.kind == "build"]
        lost_claims = [e.host for e in events if e.kind == "claim"]
        fields = {
            "id": server.id, "name": server.name, "status": server.status,
            "task_state": server.task_state, "flavor": server.flavor,
            "cell": connection.cell_name(server.cell_uuid), "host": server.host,
            "attempts": len(attempts),
            "attempted_hosts": ", ".join(f"{e.host}:{e.result}" for e in attempts),
            "lost_claims": ", ".join(h or "" for h in lost_claims),
            "created": servers.timestamp(server.created_at),
            "launched": servers.timestamp(server.launched_at),
            "fault": server.fault,
        }
        return tuple(fields), tuple(fields.values())


class ServerEventList(_DeploymentCommand, Lister):
    """List what happened to a server, step by step.

    The schedule (with the selected host and its alternates), each claim the cell conductor
    lost, and each build attempt with its host, result and reason.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("server", metavar="SERVER", help="server name or ID")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple, Iterable[tuple]]:
        connection = self.connection()
        server = servers.find_server(connection, parsed_args.server)
        columns = ("#", "Event", "Host", "Result", "Reason", "Details", "Start", "Duration s")
        return columns, [(e.number, e.kind, e.host, e.result, e.reason, e.details,
                          servers.timestamp(e.start), e.duration_s)
                         for e in servers.server_events(connection, server)]


class ServerCreate(_DeploymentCommand, Lister):
    """Create servers (one multi-create request).

    Records them in the API DB and casts the request to the super conductor, as nova-api
    does. With --wait, returns when each is ACTIVE or ERROR (exit 1 if any ends in ERROR).
    Exit 2 on a bad argument (--count below 1, an unknown flavor...) or configuration,
    before anything is created.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="NAME",
                            help="server name (with --count N: NAME-1 .. NAME-N)")
        parser.add_argument("--flavor", required=True, help="flavor name (`altsim flavor list`)")
        parser.add_argument("--count", type=int, default=1, metavar="N",
                            help="how many servers in this one request (default 1)")
        parser.add_argument("--num-alternates", type=int, metavar="N",
                            help="alternates to ask the scheduler for (RequestSpec "
                                 "num_alternates; used when [conductor] alternates_from = "
                                 "request)")
        parser.add_argument("--wait", action="store_true",
                            help="wait until every server is ACTIVE or ERROR")
        parser.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                            help="with --wait: give up after this long (default 300)")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple, Iterable[tuple]]:
        _check_create_arguments(parsed_args)
        connection = self.connection()
        ids = servers.create_servers(connection, parsed_args.name, parsed_args.flavor,
                                     parsed_args.count, parsed_args.num_alternates)
        if parsed_args.wait:
            created = _wait_with_progress(connection, ids, parsed_args.timeout,
                                          quiet=self.app.options.verbose_level == 0)
            self._failed = any(s.status == "ERROR" for s in created)
        else:
            by_id = {s.id: s for s in servers.list_servers(connection)}
            created = [by_id[i] for i in ids]
        return SERVER_COLUMNS, [_server_row(connection, s) for s in created]

    def run(self, parsed_args: argparse.Namespace) -> int:
        self._failed = False
        result = super().run(parsed_args)
        return 1 if (result == 0 and self._failed) else result


def _check_create_arguments(args: argparse.Namespace) -> None:
    if not 1 <= args.count <= servers.MAX_SERVERS_PER_REQUEST:
        raise InvalidClientInput(f"--count: must be from 1 to "
                                 f"{servers.MAX_SERVERS_PER_REQUEST}, got {args.count}")
    if args.num_alternates is not None and args.num_alternates < 0:
        raise InvalidClientInput(f"--num-alternates: must be 0 or more, got "
                                 f"{args.num_alternates}")
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        raise InvalidClientInput(f"--timeout: must be a number of seconds above 0, got "
                                 f"{args.timeout:g}")


def _wait_with_progress(connection: Connection, ids: list[str], timeout_s: float,
                        quiet: bool) -> list[servers.Server]:
    # Progress goes to stderr so that -f json on stdout stays parseable.
    console = Console(stderr=True, quiet=quiet or not sys.stderr.isatty())
    columns = (TextColumn("waiting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("wait", total=len(ids))
        return servers.wait_for(connection, ids, timeout_s,
                                on_progress=lambda done: bar.update(task, completed=done))


class HostList(_DeploymentCommand, Lister):
    """List compute hosts with their usage and failed builds.

    Per host: its cell, placement usage/capacity per resource class, running instances,
    failed_builds as its compute node row has it (what the BuildFailureWeigher weighs; by
    default a failure gets there at the host's next claim or periodic task, as in Nova) and the
    age of its last heartbeat.
    """

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple, Iterable[tuple]]:
        found = hosts.list_hosts(self.connection())
        classes = sorted({rc for h in found for rc in h.capacity})
        columns = ("Host", "Cell", *classes, "Instances", "Failed Builds", "Heartbeat Age s")
        return columns, [(h.host, h.cell, *(h.usage_text(rc) for rc in classes), h.instances,
                          h.failed_builds, h.heartbeat_age_s) for h in found]


class CellList(_DeploymentCommand, Lister):
    """List the cells mapped in the API database (passwords masked)."""

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple, Iterable[tuple]]:
        columns = ("Name", "UUID", "Transport URL", "Database", "Hosts", "Disabled")
        return columns, [(c.name, c.uuid, c.transport_url, c.database_connection, c.hosts,
                          c.disabled) for c in hosts.list_cells(self.connection())]


class FlavorList(_DeploymentCommand, Lister):
    """List flavors and the resources each consumes."""

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[tuple, Iterable[tuple]]:
        flavors = self.connection().api_db.list_flavors()
        return ("Name", "Resources"), [
            (f.name, ", ".join(f"{rc}={n}" for rc, n in sorted(f.resources.items())))
            for f in flavors]


COMMANDS: dict[str, type] = {
    "server create": ServerCreate,
    "server list": ServerList,
    "server show": ServerShow,
    "server event list": ServerEventList,
    "host list": HostList,
    "cell list": CellList,
    "flavor list": FlavorList,
}
