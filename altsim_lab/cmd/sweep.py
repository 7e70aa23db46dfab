"""`altsim sweep`: run a scenario over the cross product of config values, N seeds each.

Writes DIR/sweep.csv (one row per run), DIR/<chart>-vs-<option>.png and DIR/index.html, and
prints a table per point (means, with min-max over the point's runs). The scenario's `expect`
block is not checked: a sweep changes the config it was written for. Exit codes: 0 every run
finished; 1 a run timed out or its workload failed (its row is still written); 2 invalid
scenario, --set or usage; 130 interrupted (the finished runs' rows are kept).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from cliff.command import Command
from rich import box, progress
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from altsim.masking import mask_text
from altsim_lab.cmd import inputs
from altsim_lab.cmd.inputs import InvalidInput
from altsim_lab.cmd.run import EXIT_INTERRUPTED, EXIT_INVALID, EXIT_MISSED, EXIT_OK
from altsim_lab.deploy.deterministic import Determinism
from altsim_lab.deploy.launcher import LaunchError
from altsim_lab.scenario.runner import run_scenario
from altsim_lab.scenario.schema import Scenario
from altsim_lab.sweep import grid
from altsim_lab.sweep.grid import Axis, Run, SweepError
from altsim_lab.sweep.rows import CsvWriter, run_row
from altsim_lab.sweep.summary import PointSummary, shown, summarize


class SweepScenario(Command):
    """Run a scenario over the cross product of config values, each point N times.

    Every --set names a config option (as in a scenario's `config:`) or a path into the
    scenario (`faults.0.probability`, `requests.0.count`, `cells.1.host_count`,
    `flavors.small.VCPU`: list entries by their index from 0) and its values, read as YAML
    (`--set scheduler.max_attempts=1,3`; quote a value with a comma, write a dict in
    braces). Each point runs --repeat times with seeds seed .. seed+N-1 (the scenario's seed
    first). Writes OUT/sweep.csv, plots OUT/*.png, OUT/index.html and prints a table per
    point. Exit 0 if every run finished, 1 if one timed out, 2 on invalid input. The global
    -q (no progress bar or table) and -v (the services' warnings too) work here as well.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("scenario", type=Path, help="scenario YAML file")
        parser.add_argument("--set", dest="axes", action="append", required=True,
                            metavar="GROUP.OPTION=V1,V2,...",
                            help="an option to sweep and its values; repeat for a cross "
                                 "product. A config option as in a scenario's `config:` "
                                 "(scheduler.max_attempts=1,2,3), or a path into the scenario "
                                 "starting with faults, requests, cells or flavors, list "
                                 "entries by index from 0 (faults.0.probability=0.1,0.3, "
                                 "requests.0.count=10,100)")
        parser.add_argument("--repeat", type=int, default=1, metavar="N",
                            help="runs per point, seeds seed .. seed+N-1 (default 1)")
        parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                            help="folder for sweep.csv, the PNGs and index.html (created, "
                                 "with its missing parents)")
        parser.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                            help="per run: give up waiting for instances after this long "
                                 "(above 0; default 300)")
        parser.add_argument("--transport-url", metavar="URL",
                            help="run every service as its own process over this RabbitMQ "
                                 "(as `altsim run --transport-url`: no vhost in it); default "
                                 "embedded")
        parser.add_argument("--database-url", metavar="URL",
                            help="with --transport-url: each run creates its API and cell "
                                 "databases on this server and drops them afterwards (as "
                                 "`altsim run --database-url`), e.g. "
                                 "postgresql+psycopg://postgres@127.0.0.1:5432/ (default: "
                                 "SQLite files in a temporary folder)")
        parser.add_argument("--deterministic", action="store_true",
                            help="run each point embedded under the seeded scheduler in "
                                 "simulated time, the run's seed as its schedule seed (as "
                                 "`altsim run --deterministic`)")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        if self.app_args.verbose_level <= 1 and not self.app_args.log_file:
            # A sweep fails builds on purpose, run after run; the services' per-build
            # warnings would bury the progress bar. -v shows them.
            logging.getLogger().setLevel(logging.ERROR)
        return _sweep(parsed_args, quiet=self.app_args.verbose_level == 0)


def _sweep(args: argparse.Namespace, quiet: bool) -> int:
    err = Console(stderr=True, soft_wrap=True)  # an error is one line, in a log file too
    try:
        scenario, axes, runs = _checked_inputs(args)
    except (InvalidInput, SweepError) as exc:
        _error(err, str(exc))
        return EXIT_INVALID
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        csv_file = (args.out / "sweep.csv").open("w", newline="")
    except OSError as exc:
        _error(err, f"--out {args.out}: {exc.strerror}")
        return EXIT_INVALID
    with csv_file:
        rows, failures, code = _run_all(runs, axes, args, CsvWriter(csv_file, [a.key for a in
                                                                               axes]), quiet)
    summaries = summarize(rows, [axis.key for axis in axes])
    if rows:
        _write_pictures(args.out, scenario, axes, runs, summaries)
    _console(quiet).print(_table(scenario, axes, summaries))
    for failure in failures:
        _error(err, failure)
    if code == EXIT_OK and failures:
        code = EXIT_MISSED
    return code


def _checked_inputs(args: argparse.Namespace) -> tuple[Scenario, list[Axis], list[Run]]:
    """The scenario, the axes and the runs, once every argument has been checked
    (InvalidInput or SweepError otherwise): the cheap checks first, the servers last."""
    inputs.check_seconds("--timeout", args.timeout)
    inputs.check_output_folder("--out", args.out)
    if args.transport_url:
        inputs.check_transport_url(args.transport_url)
    inputs.check_database_url(args.database_url, args.transport_url)
    scenario = inputs.load_checked_scenario(args.scenario)
    axes = grid.parse_axes(args.axes)
    runs = grid.plan_runs(scenario, axes, args.repeat)
    inputs.check_servers(args.transport_url, args.database_url)
    return scenario, axes, runs


def _run_all(runs: list[Run], axes: list[Axis], args: argparse.Namespace, writer: CsvWriter,
             quiet: bool) -> tuple[list[dict], list[str], int]:
    """Run every point and seed under a progress bar on stderr; (rows, failures, exit code)."""
    rows: list[dict] = []
    failures: list[str] = []
    description = Column(max_width=50, overflow="ellipsis", no_wrap=True)
    columns = (progress.TextColumn("{task.description}", table_column=description),
               progress.BarColumn(),
               progress.MofNCompleteColumn(), progress.TimeElapsedColumn(),
               progress.TextColumn("left"), progress.TimeRemainingColumn())
    with progress.Progress(*columns, console=Console(stderr=True, quiet=quiet)) as bar:
        task = bar.add_task("sweep", total=len(runs))
        for run in runs:
            bar.update(task, description=f"{_short(run.point)} seed {run.seed}")
            try:
                result = run_scenario(run.scenario, timeout_s=args.timeout,
                                      transport_url=args.transport_url,
                                      database_url=args.database_url,
                                      deterministic=Determinism() if args.deterministic
                                      else None)
            except KeyboardInterrupt:
                failures.append("interrupted; every service was stopped")
                return rows, failures, EXIT_INTERRUPTED
            except LaunchError as exc:
                failures.append(f"could not launch the services: {exc}")
                return rows, failures, EXIT_INVALID
            except ValueError as exc:  # as `altsim run`: a bad name found as services start
                failures.append(f"{grid.point_label(run.point)}: {exc}")
                return rows, failures, EXIT_INVALID
            row = run_row(run.point, run.seed, result.report["summary"])
            writer.write(row)
            rows.append(row)
            failures.extend(f"{grid.point_label(run.point)} seed {run.seed}: {e}"
                            for e in result.errors)
            bar.advance(task)
    return rows, failures, EXIT_OK


def _write_pictures(out: Path, scenario: Scenario, axes: list[Axis], runs: list[Run],
                    summaries: list[PointSummary]) -> None:
    # matplotlib takes a second to import: only commands that draw pay for it.
    from altsim_lab.sweep.page import write_sweep_index
    from altsim_lab.sweep.plots import draw_sweep

    pictures = draw_sweep(out, scenario.name, axes, summaries)
    repeat = len(runs) // max(len(summaries), 1)
    write_sweep_index(out / "index.html", scenario.name, axes, repeat, summaries,
                      [p.name for p in pictures])


# Short headings so a two-option sweep stays narrow; the caption says what p50/p95 are. The
# run's total of messages is in sweep.csv and index.html; per ACTIVE instance compares better.
_COLUMNS = {"error_rate": "error %", "reschedules_per_instance": "resch. /inst",
            "claim_failures_per_instance": "lost cl. /inst",
            "time_to_active_p50_s": "p50 ms", "time_to_active_p95_s": "p95 ms",
            "builds_per_s": "builds /s", "messages_per_active": "msgs /ACTIVE"}


def _table(scenario: Scenario, axes: list[Axis], summaries: list[PointSummary]) -> Table:
    """Per point: each number's mean over its runs, and below it min-max when they differ.
    Options by their last name (the caption has the full ones)."""
    runs = sorted({s.runs for s in summaries})
    table = Table(title=f"{scenario.name}: mean over each point's "
                        f"{'/'.join(map(str, runs))} run(s), min-max below",
                  caption="p50/p95: time from request to ACTIVE; options: "
                          + ", ".join(a.key for a in axes),
                  box=box.SIMPLE_HEAD, pad_edge=False)
    for axis in axes:
        table.add_column(axis.key.rpartition(".")[2], overflow="fold")
    for metric in _COLUMNS:
        table.add_column(_COLUMNS[metric], justify="right", min_width=6)
    for summary in summaries:
        cells = [shown(metric, summary.metrics[metric]) for metric in _COLUMNS]
        table.add_row(*(Text(grid.value_text(summary.point[a.key])) for a in axes),
                      *(Text.assemble(mean, ("\n" + span, "dim") if span else "")
                        for mean, span in cells))
    return table


def _console(quiet: bool) -> Console:
    console = Console(quiet=quiet)
    if not console.is_terminal:  # a file or pipe has no width: rich's 80 would fold cells
        console.width = max(console.width, 120)
    return console


def _short(point: dict) -> str:
    return " ".join(f"{key.rpartition('.')[2]}={grid.value_text(value)}"
                    for key, value in point.items())


def _error(console: Console, message: str) -> None:
    console.print(Text.assemble(("error:", "red"), " ", mask_text(message)), highlight=False)
