"""`python -m crosscheck [SCENARIO ...] [--venv DIR] [--table]`: altsim against real Nova.

Builds (once) the virtualenv with Nova and Placement pinned in crosscheck/requirements.txt,
runs each scenario (all of altsim's examples and the cross-check's own when none is named)
through Nova's functional harness and through altsim, and compares them. Prints one line per
scenario and every mismatch; exit 0 when every compared scenario agrees but for the known
differences (crosscheck/known.py), 1 otherwise, 2 on a bad argument.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from altsim_lab.scenario.schema import ScenarioError
from crosscheck import check, table
from crosscheck.check import DEFAULT_TIMEOUT_S, Outcome
from crosscheck.venv import REPO_ROOT, VenvError, default_venv_dir, ensure_venv


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m crosscheck", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                        help="scenario files or names (default: every example and the "
                             "cross-check's own)")
    parser.add_argument("--venv", type=Path, default=None,
                        help="the cross-check virtualenv (default: $ALTSIM_CROSSCHECK_VENV or "
                             ".crosscheck/venv in the checkout); built if missing or stale")
    parser.add_argument("--table", action="store_true",
                        help="rewrite the cross-check table in docs/fidelity.md")
    parser.add_argument("--workdir", type=Path, default=REPO_ROOT / ".crosscheck" / "runs",
                        help="where each scenario's reports and Nova's logs go")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help="seconds each run may take (default %(default)s)")
    return parser


def _print(outcome: Outcome) -> None:
    if outcome.excluded:
        print(f"{outcome.scenario}: not compared ({outcome.excluded})")
        return
    if outcome.comparison is None:
        print(f"{outcome.scenario}: FAILED to run: {outcome.error}")
        return
    comparison = outcome.comparison
    verdict = "agrees" if comparison.agrees else (
        "differs as known" if outcome.ok else "DISAGREES")
    print(f"{outcome.scenario}: {verdict} ({len(comparison.compared)} categories)")
    for mismatch in comparison.mismatches:
        print(f"  {mismatch.describe()}")
    for key in comparison.stale_known:
        print(f"  known difference {key} no longer shows: update crosscheck/known.py")
    for option, reason in comparison.ignored_options.items():
        print(f"  option {option} not carried to Nova: {reason}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # altsim's services log each failed build as a warning: the comparison says it better.
    logging.basicConfig(level=logging.ERROR)
    try:
        paths = [check.resolve(name) for name in args.scenarios] or check.scenario_paths()
        scenarios = check.load(paths)
    except (FileNotFoundError, ScenarioError) as exc:
        print(f"crosscheck: {exc}", file=sys.stderr)
        return 2
    venv_dir = args.venv or default_venv_dir()
    print(f"cross-check virtualenv: {venv_dir} (building it if missing or stale)", flush=True)
    try:
        python = ensure_venv(venv_dir)
    except VenvError as exc:
        print(f"crosscheck: {exc}", file=sys.stderr)
        return 1
    started = time.monotonic()
    print(f"running the scenarios through Nova (logs in {args.workdir})", flush=True)
    reports = check.run_nova_side(scenarios, python, args.workdir, args.timeout)
    print(f"Nova done in {time.monotonic() - started:.0f} s", flush=True)
    outcomes = []
    for scenario in scenarios:
        outcome = check.excluded(scenario) or check.compare_with_altsim(
            scenario, reports[scenario.name], args.workdir, args.timeout)
        _print(outcome)
        outcomes.append(outcome)
    if args.table:
        table.write(outcomes)
        print(f"table written to {table.FIDELITY}")
    return 0 if all(outcome.ok for outcome in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
