"""`altsim run`: run a scenario and report what happened.

Exit codes: 0 every expectation met; 1 an expectation missed (or the run did not finish);
2 invalid scenario, config or usage; 130 interrupted (every service stopped first).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cliff.command import Command
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from altsim.masking import mask_text
from altsim_lab.cmd import inputs
from altsim_lab.cmd.inputs import InvalidInput
from altsim_lab.cmd.run_output import print_header, print_story, print_written, story_console
from altsim_lab.cmd.service_logs import names_by_uuid, service_logs
from altsim_lab.deploy.deterministic import Determinism
from altsim_lab.deploy.launcher import START_TIMEOUT_S, LaunchError
from altsim_lab.deploy.shared_placement import SharedPlacement
from altsim_lab.scenario.report import report_json
from altsim_lab.scenario.runner import Progress as RunProgress
from altsim_lab.scenario.runner import RunResult, run_scenario
from altsim_lab.scenario.schema import Scenario

EXIT_OK, EXIT_MISSED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130


class RunScenario(Command):
    """Run a scenario and check its expectations.

    Deploys the scenario's cells and hosts, runs its requests through the build path
    (scheduler, super conductor, computes, cell conductor reschedules), prints a summary,
    checks the `expect` block and optionally writes the JSON report. Exit 0 if every
    expectation is met, 1 if one is missed, 2 if the scenario is invalid. The global -q
    (no progress bar or tables) and -v (the services' log lines, each prefixed with its
    service and with instance names beside uuids) work here too.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("scenario", type=Path,
                            help="scenario YAML file (see etc/altsim/scenarios)")
        parser.add_argument("--report", type=Path, metavar="PATH",
                            help="write the JSON report here (its folder must exist)")
        parser.add_argument("--report-dir", type=Path, metavar="DIR",
                            help="write report.json, timeline.png (a row per instance, a "
                                 "segment per attempt), build-paths/ (a sequence diagram per "
                                 "interesting instance) and index.html (offline) here; the "
                                 "folder is created, with its missing parents")
        parser.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                            help="give up waiting for instances after this long (above 0; "
                                 "default 300)")
        parser.add_argument("--transport-url", metavar="URL",
                            help="run every service as its own process over this RabbitMQ, "
                                 "e.g. rabbit://guest:guest@127.0.0.1:5672/ (default: "
                                 "embedded, one process, in-memory buses); no vhost in it: "
                                 "the run makes one per level with rabbitmqctl. The broker "
                                 "is logged in to first: an unreachable one or a refused "
                                 "login exits 2 at once")
        parser.add_argument("--start-timeout", type=float, metavar="SECONDS",
                            help="with --transport-url: how long each service may take to "
                                 "say it is ready before the run gives up, naming it (above "
                                 f"0; default {START_TIMEOUT_S:g}). A compute registers its "
                                 "hosts in placement first: 500 hosts in a real Placement "
                                 "can take longer than the default")
        parser.add_argument("--per-cell-users", action=argparse.BooleanOptionalAction,
                            default=None,
                            help="with --transport-url: give each level (the API, each cell) "
                                 "a RabbitMQ user of its own, with a random password and "
                                 "permissions on its own vhost only, deleted afterwards, so a "
                                 "cell's credentials cannot even open the API vhost (default: "
                                 "on; --no-per-cell-users gives every vhost the URL's user)")
        parser.add_argument("--database-url", metavar="URL",
                            help="with --transport-url: create the run's API and cell "
                                 "databases on this server and drop them afterwards, e.g. "
                                 "postgresql+psycopg://postgres@127.0.0.1:5432/ (default: "
                                 "SQLite files in a temporary folder); its user needs "
                                 "CREATEDB")
        parser.add_argument("--deterministic", action="store_true",
                            help="run embedded under a seeded scheduler in simulated time: the "
                                 "same scenario and seeds give the same report (also "
                                 "`deterministic: true` in the scenario); see "
                                 "docs/simulation.md")
        parser.add_argument("--schedule-seed", type=int, metavar="N",
                            help="with --deterministic: the seed of the interleaving (default: "
                                 "the scenario's seed, which keeps deciding the faults)")
        parser.add_argument("--placement-url", metavar="URL",
                            help="with --transport-url: schedule against this placement (a "
                                 "real openstack-placement, e.g. http://127.0.0.1:8778) instead "
                                 "of starting altsim-placement; the report, the audit and "
                                 "`altsim host list` read from it. The run refuses to start "
                                 "while it holds providers named like the scenario's hosts, "
                                 "and at the end removes its own providers and allocations and "
                                 "nothing else. It is asked once first: an unreachable one "
                                 "exits 2 at once")
        parser.add_argument("--placement-token", metavar="TOKEN",
                            help="with --placement-url: the X-Auth-Token to send it (with "
                                 "placement's auth_strategy = noauth2, `admin`)")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        parsed_args.quiet = self.app_args.verbose_level == 0
        parsed_args.service_logs = self.app_args.verbose_level >= 2
        return _run(parsed_args)


def _run(args: argparse.Namespace) -> int:
    # soft_wrap: an error is one line however narrow the terminal, and in a log or a pipe
    # (where rich would fold it at 80 columns) too.
    err = Console(stderr=True, soft_wrap=True)
    try:
        scenario = _checked_inputs(args)
    except InvalidInput as exc:
        _error(err, str(exc))
        return EXIT_INVALID
    if args.schedule_seed is not None and not (args.deterministic or scenario.deterministic):
        _error(err, f"--schedule-seed {args.schedule_seed}: only for a deterministic run "
                    f"(add --deterministic)")
        return EXIT_INVALID
    console = story_console(args.quiet)
    try:
        result = _run_with_progress(scenario, args, console)
    except ValueError as exc:  # e.g. an unknown filter name, found when services are built
        _error(err, f"{args.scenario}: {exc}")
        return EXIT_INVALID
    except LaunchError as exc:
        _error(err, f"could not launch the services: {exc}")
        return EXIT_INVALID
    except KeyboardInterrupt:  # the services were stopped on the way out
        _error(err, "interrupted; every service was stopped")
        return EXIT_INTERRUPTED
    if args.report:
        args.report.write_text(report_json(result.report))
    diagrams = 0
    if args.report_dir:
        # Imported here: matplotlib takes a second to load, and only this option draws.
        from altsim_lab.pictures.report_dir import write_report_dir
        diagrams = write_report_dir(args.report_dir, result.report)
    if not console.quiet:
        print_story(console, result.report)
    for error in result.errors:
        _error(err, error)
    missed = [c for c in result.report["expectations"] if not c["ok"]]
    for check in missed:
        _error(err, f"{check['check']}: {check['detail']}", label="expectation missed")
    print_written(console, args.report, args.report_dir, diagrams)
    return EXIT_OK if result.ok else EXIT_MISSED


def _checked_inputs(args: argparse.Namespace) -> Scenario:
    """The scenario, once every argument has been checked (InvalidInput otherwise): the
    cheap checks first, the servers last."""
    if args.per_cell_users is not None and not args.transport_url:
        raise InvalidInput("--per-cell-users is for launched runs: give --transport-url too")
    inputs.check_placement_options(args.placement_url, args.placement_token,
                                   args.transport_url)
    inputs.check_seconds("--timeout", args.timeout)
    if args.start_timeout is not None:
        if not args.transport_url:
            raise InvalidInput("--start-timeout is for launched runs: give --transport-url too")
        inputs.check_seconds("--start-timeout", args.start_timeout)
    if args.report:
        inputs.check_output_file("--report", args.report)
    if args.report_dir:
        inputs.check_output_folder("--report-dir", args.report_dir)
    if args.transport_url:
        inputs.check_transport_url(args.transport_url)
    inputs.check_database_url(args.database_url, args.transport_url)
    scenario = inputs.load_checked_scenario(args.scenario)
    inputs.check_servers(args.transport_url, args.database_url)
    inputs.check_placement(_shared_placement(args))
    return scenario


def _shared_placement(args: argparse.Namespace) -> SharedPlacement | None:
    if args.placement_url is None:
        return None
    return SharedPlacement(args.placement_url, args.placement_token)


def _error(console: Console, message: str, label: str = "error") -> None:
    # User text (paths, option names like [filter_scheduler]) must not be read as rich markup;
    # a message quoting a URL or a daemon's output must not show a password.
    console.print(Text.assemble((f"{label}:", "red"), " ", mask_text(message)),
                  highlight=False)


def _run_with_progress(scenario, args, console: Console) -> RunResult:  # type: ignore[no-untyped-def]
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("active {task.fields[active]} error {task.fields[error]}"),
               TimeElapsedColumn())
    print_header(console, scenario.name, scenario.description)
    console.print()
    names = names_by_uuid(scenario) if args.service_logs else {}
    with Progress(*columns, console=console, transient=False) as bar, \
            service_logs(args.service_logs, names):
        task = bar.add_task(scenario.name, total=None, active=0, error=0)
        counts = {"ACTIVE": 0, "ERROR": 0}

        def finished(_uuid: str, status: str) -> None:
            counts[status] = counts.get(status, 0) + 1
            bar.update(task, advance=1, active=counts["ACTIVE"], error=counts["ERROR"])

        hooks = RunProgress(on_start=lambda total: bar.update(task, total=total),
                            on_finished=finished,
                            on_phase=lambda phase: bar.update(
                                task, description=f"{scenario.name}: {phase}"))
        extra = {"database_url": args.database_url} if args.database_url else {}
        if args.deterministic or args.schedule_seed is not None:
            extra["deterministic"] = Determinism(args.schedule_seed)
        result = run_scenario(scenario, timeout_s=args.timeout, progress=hooks,
                              transport_url=args.transport_url,
                              per_cell_users=args.per_cell_users,
                              placement=_shared_placement(args),
                              start_timeout_s=args.start_timeout, **extra)
        bar.update(task, description=f"{scenario.name}: finished")
        return result
