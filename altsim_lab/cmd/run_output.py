"""What `altsim run` prints: the story of a run, told from its report.

First the scenario's name and description (before the progress bar), then a summary in a few
sentences, a table of instances with every attempt's host, result and reason (the interesting
instances first when there are more than fit), the expectations with a closing verdict, and
where the report went. `altsim show-run REPORT` prints the same from a saved report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from altsim_lab.scenario.interesting import count_interesting, interesting_first

MAX_INSTANCE_ROWS = 20
RESULT_STYLES = {"active": "green", "rescheduled": "yellow", "failed": "red",
                 "aborted": "red", "timed_out": "red"}
STATUS_STYLES = {"ACTIVE": "green", "ERROR": "bold red", "BUILD": "yellow"}


def story_console(quiet: bool) -> Console:
    console = Console(quiet=quiet)
    if not console.is_terminal:  # a file or pipe has no width: rich's 80 would fold reasons
        console.width = max(console.width, 120)
    return console


def print_header(console: Console, name: str, description: str) -> None:
    console.print(Text(name, style="bold"))
    if description.strip():
        console.print(Text(" ".join(description.split()), style="dim"))


def print_story(console: Console, report: dict[str, Any],
                limit: int = MAX_INSTANCE_ROWS) -> None:
    """Summary, instances, expectations and verdict."""
    console.print()
    console.print(summary_text(report))
    console.print()
    instances = report["instances"]
    ordered = interesting_first(instances) if len(instances) > limit else instances
    shown, hidden = ordered[:limit], ordered[limit:]
    console.print(instances_table(shown, len(instances)))
    if hidden:
        console.print(Text(f"{len(hidden)} more instances not shown "
                           f"({count_interesting(hidden)} of them interesting); --report or "
                           "--report-dir writes every one", style="dim"))
    if report["expectations"]:
        console.print()
        console.print(expectations_table(report["expectations"]))
    console.print(verdict(report["expectations"]))


def summary_text(report: dict[str, Any]) -> Text:
    s = report["summary"]
    text = Text(f"{report['scenario']} ({report['transport']}, seed {report['seed']}): ",
                style="bold")
    text.append(f"{_count(s['instances'], 'instance')}: ", style="bold")
    text.append_text(Text.assemble((f"{s['active']} ACTIVE", "green"), ", ",
                                   (f"{s['error']} ERROR", "red" if s["error"] else ""),
                                   f", {s['building']} still in BUILD\n"))
    text.append(f"{_count(s['reschedules'], 'reschedule')}, "
                f"{_count(s['claim_failures'], 'lost claim')}, "
                f"{s['timed_out']} timed out, "
                f"{_count(s['leaked_allocations'], 'leaked allocation')}\n")
    text.append(f"took {_duration(s['duration_s'])} ({s['builds_per_s']} builds/s)")
    if s.get("time_to_active_p50_s") is not None:
        text.append(f"; request to ACTIVE p50 {_duration(s['time_to_active_p50_s'])}, "
                    f"p95 {_duration(s['time_to_active_p95_s'])}")
    if s.get("messages") is not None:
        text.append(f"; {_count(s['messages'], 'RPC message')}")
    return text


def instances_table(shown: list[dict[str, Any]], total: int) -> Table:
    """A row per instance: where it ended, and each attempt with its host, result and reason,
    wrapped (never cut), with the claims it lost and its fault."""
    title = f"instances ({len(shown)} of {total}, interesting first)" if len(shown) < total \
        else "instances"
    table = Table(title=title, title_justify="left", show_lines=len(shown) <= 40)
    table.add_column("instance", no_wrap=True)
    table.add_column("ended", no_wrap=True)
    table.add_column("attempts: host, result, reason", ratio=3, overflow="fold")
    table.add_column("lost claims", overflow="fold")
    table.add_column("fault", ratio=2, overflow="fold")
    for entry in shown:
        table.add_row(Text(entry["name"]), _ended(entry), attempts_text(entry),
                      Text(", ".join(entry["claim_failures"])),
                      Text((entry.get("fault") or {}).get("message", "")))
    return table


def attempts_text(entry: dict[str, Any]) -> Text:
    text = Text()
    for number, attempt in enumerate(entry["attempts"], start=1):
        if number > 1:
            text.append("\n")
        text.append(f"{number}. {attempt['host']} ")
        text.append(attempt["result"], style=RESULT_STYLES.get(attempt["result"], ""))
        if attempt.get("reason"):
            text.append(f": {attempt['reason']}")
    if not entry["attempts"]:
        text.append("none", style="dim")
    return text


def _ended(entry: dict[str, Any]) -> Text:
    text = Text(entry["status"], style=STATUS_STYLES.get(entry["status"], ""))
    where = entry.get("host") or entry.get("cell")
    if where:
        text.append(f"\n{'on ' if entry.get('host') else 'in '}{where}", style="dim")
    return text


def expectations_table(expectations: list[dict[str, Any]]) -> Table:
    table = Table(title="expectations", title_justify="left")
    table.add_column("check", overflow="fold")
    table.add_column("ok", no_wrap=True)
    table.add_column("detail", overflow="fold")
    for check in expectations:
        table.add_row(Text(check["check"]),
                      Text("yes", "green") if check["ok"] else Text("NO", "bold red"),
                      Text(check["detail"]))
    return table


def verdict(expectations: list[dict[str, Any]]) -> Text:
    """The closing line: how many expectations were met, or missed."""
    total = len(expectations)
    missed = sum(1 for check in expectations if not check["ok"])
    if not total:
        return Text("no expectations to check (the scenario has no expect block)",
                    style="dim")
    if missed:
        return Text(f"{missed} of {total} expectations missed", style="bold red")
    return Text(f"{total} of {total} expectations met", style="bold green")


def print_written(console: Console, report: Path | None, report_dir: Path | None,
                  diagrams: int = 0) -> None:
    if report is not None:
        console.print(Text(f"report: {report}"), highlight=False)
    if report_dir is not None:
        pictures = "timeline.png" + (f", {_count(diagrams, 'build-path diagram')}"
                                     if diagrams else "")
        console.print(Text(f"report folder: {report_dir} (open {report_dir / 'index.html'}; "
                           f"report.json, {pictures})"), highlight=False)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 2:
        return f"{seconds:.1f} s"
    return f"{seconds * 1000:.1f} ms" if seconds < 0.01 else f"{seconds * 1000:.0f} ms"
