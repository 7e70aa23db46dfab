"""`altsim explore`: every interleaving a range of schedule seeds gives, checked.

Exit codes: 0 no seed broke an invariant or missed an expectation; 1 some did (each listed
with the command that replays it); 2 invalid scenario, seeds or usage.
"""

from __future__ import annotations

import argparse
import logging
import shlex
from pathlib import Path

from cliff.command import Command
from rich.console import Console
from rich.table import Table
from rich.text import Text

from altsim_lab.config_overrides import ConfigOverrideError
from altsim_lab.explore.seeds import Outcome, SeedsError, explore, group, parse_seeds
from altsim_lab.scenario.schema import ScenarioError, load_scenario
from altsim_lab.scenario.topology import check_config

EXIT_OK, EXIT_VIOLATED, EXIT_INVALID = 0, 1, 2


class ExploreScenario(Command):
    """Run a scenario deterministically under each schedule seed and check every run.

    Each seed is one interleaving of the same services (docs/simulation.md); each run is
    checked against the scenario's `expect` block and the invariants (no provider over
    capacity, no leaked allocation, nothing left building, every instance ACTIVE or ERROR
    with a fault). Prints the distinct outcomes with an example seed each and, for every
    violation, the command that replays it. Exit 0 if none, 1 if any, 2 on invalid input.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("scenario", type=Path, help="scenario YAML file")
        parser.add_argument("--schedule-seeds", default="1-100", metavar="SEEDS",
                            help="seeds and ranges, e.g. 1-500 or 1-10,42 (default 1-100)")
        parser.add_argument("--jobs", type=int, default=1, metavar="N",
                            help="runs at once, each in a process of its own (default 1)")
        parser.add_argument("--timeout", type=float, default=300.0, metavar="SECONDS",
                            help="per run, in simulated seconds (default 300)")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        if self.app_args.verbose_level <= 1:
            logging.getLogger().setLevel(logging.CRITICAL)  # races fail builds on purpose
        return _explore(parsed_args, Console(quiet=self.app_args.verbose_level == 0))


def _explore(args: argparse.Namespace, console: Console) -> int:
    err = Console(stderr=True)
    try:
        scenario = load_scenario(args.scenario)
        check_config(scenario)
        seeds = parse_seeds(args.schedule_seeds)
        if args.jobs < 1:
            raise SeedsError(f"--jobs {args.jobs}: must be at least 1")
    except (ScenarioError, SeedsError) as exc:
        err.print(Text.assemble(("error:", "red"), " ", str(exc)))
        return EXIT_INVALID
    except (ConfigOverrideError, ValueError) as exc:
        err.print(Text.assemble(("error:", "red"), " ", f"{args.scenario}: {exc}"))
        return EXIT_INVALID
    outcomes = group(explore(scenario, seeds, args.timeout, args.jobs))
    console.print(_table(scenario.name, len(seeds), outcomes))
    broken = [o for o in outcomes if o.violations]
    for outcome in broken:
        console.print(Text(f"violated with schedule seeds {_seeds_text(outcome.seeds)}:",
                           "red"))
        for line in outcome.violations:
            console.print(Text(f"  {line}"))
        # Never wrapped: the line is a command to copy.
        console.print(Text(f"  replay: {replay_command(args.scenario, outcome.seeds[0])}"),
                      soft_wrap=True)
    return EXIT_VIOLATED if broken else EXIT_OK


def replay_command(path: Path, seed: int) -> str:
    report_dir = f"explore-{path.stem}-seed-{seed}"
    return shlex.join(["altsim", "run", str(path), "--deterministic", "--schedule-seed",
                       str(seed), "--report-dir", report_dir])


def _table(name: str, runs: int, outcomes: list[Outcome]) -> Table:
    table = Table(title=f"{name}: {runs} schedule seeds, {len(outcomes)} distinct outcomes")
    for column in ("outcome", "seeds", "example seed", "invariants"):
        table.add_column(column)
    for outcome in outcomes:
        table.add_row(Text(outcome.text), str(len(outcome.seeds)), str(outcome.seeds[0]),
                      Text("ok", "green") if not outcome.violations
                      else Text(f"{len(outcome.violations)} violated", "red"))
    return table


def _seeds_text(seeds: list[int], most: int = 10) -> str:
    shown = ", ".join(str(s) for s in seeds[:most])
    return shown + (f" and {len(seeds) - most} more" if len(seeds) > most else "")
