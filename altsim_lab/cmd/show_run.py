"""`altsim show-run REPORT`: a saved run told again, or one instance's build path drawn.

REPORT is a report.json (`altsim run --report`) or a report folder (`--report-dir`). Without
--instance it prints what `altsim run` printed after its progress bar; with --instance NAME
the instance's build path step by step (which service did what, on which host, when), and
with --out FILE.png or FILE.svg the same as a sequence diagram. Exit 0; 2 when the report
cannot be read, the instance is not in it or --out is not a .png or .svg file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from cliff.command import Command
from rich.console import Console
from rich.text import Text

from altsim_lab.cmd.run_output import print_header, print_story, story_console
from altsim_lab.pictures.build_path import BuildPath, build_path, seconds

EXIT_OK, EXIT_INVALID = 0, 2
TONE_STYLES = {"ok": "green", "lost": "dark_orange", "fail": "red", "hung": "magenta"}


class ShowRun(Command):
    """Tell a saved run's story, or show how one of its instances was built.

    REPORT: a report.json (`altsim run --report`) or a folder written by `--report-dir`.
    Without --instance: the summary, instances and expectations, as `altsim run` printed
    them. With --instance NAME: its build path, one line per step (API, super conductor,
    scheduler, placement, cell conductor, each compute host); add --out FILE.png or
    FILE.svg to draw it as a sequence diagram.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument("report", type=Path, metavar="REPORT",
                            help="report.json, or a --report-dir folder holding one")
        parser.add_argument("--instance", metavar="NAME",
                            help="show this instance's build path, step by step")
        parser.add_argument("--out", type=Path, metavar="FILE",
                            help="with --instance: draw it as a sequence diagram, PNG or "
                                 "SVG by the file's suffix")
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        return show(parsed_args, story_console(quiet=self.app_args.verbose_level == 0))


def show(args: argparse.Namespace, console: Console) -> int:
    err = Console(stderr=True, soft_wrap=True)  # an error is one line, however long
    if args.out is not None and (args.instance is None
                                 or args.out.suffix.lower() not in (".png", ".svg")):
        _error(err, f"--out {args.out}: needs --instance, and a file ending in .png or .svg")
        return EXIT_INVALID
    where = args.report / "report.json" if args.report.is_dir() else args.report
    try:
        report = load_report(where)
        path_ = build_path(report, args.instance) if args.instance else None
    except (OSError, ValueError) as exc:
        _error(err, str(exc))
        return EXIT_INVALID
    except LookupError as exc:  # no such instance
        _error(err, f"{where}: {exc}")
        return EXIT_INVALID
    if path_ is None:
        print_header(console, report["scenario"], report.get("description", ""))
        print_story(console, report)
        return EXIT_OK
    print_steps(console, path_)
    if args.out is not None:
        from altsim_lab.pictures.sequence import draw_sequence  # matplotlib: only to draw
        args.out.parent.mkdir(parents=True, exist_ok=True)
        draw_sequence(path_, args.out, f"{report['scenario']} ({report['transport']}, "
                                       f"seed {report['seed']})")
        console.print(Text(f"build path of {path_.name}: {args.out}"), highlight=False)
    return EXIT_OK


def load_report(path: Path) -> dict[str, Any]:
    """The report in a file; ValueError naming the file when it is not one."""
    try:
        report = json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a JSON report ({exc})") from None
    missing = [key for key in ("scenario", "summary", "instances", "expectations")
               if not isinstance(report, dict) or key not in report]
    if missing:
        raise ValueError(f"{path}: not an altsim run report (no {', '.join(missing)})")
    return report


def print_steps(console: Console, path_: BuildPath) -> None:
    console.print(Text(f"{path_.name}: {path_.outcome}", style="bold"))
    for step in path_.steps:
        when = "" if step.at_s is None else seconds(step.at_s)
        who = step.source if step.target is None else f"{step.source} -> {step.target}"
        console.print(Text.assemble(f"{when:>10}  ", (who, "bold"), ": ",
                                    (step.text, TONE_STYLES.get(step.tone, ""))),
                      highlight=False)


def _error(console: Console, message: str) -> None:
    console.print(Text.assemble(("error:", "red"), " ", message), highlight=False)
