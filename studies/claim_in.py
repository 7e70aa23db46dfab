"""Study: claim in the scheduler or in the conductor?

A tight race (92 servers for 96 slots, sixteen requests in flight, a few flaky hosts) run with
the scheduler claiming the chosen host (Queens, `[scheduler] claim_in = scheduler`), with the
super conductor claiming (the Boston-summit plan, `claim_in = conductor`), and with no alternates
at all (pre-Queens, `legacy_retry = true`: a reschedule asks the scheduler again), each over
max_attempts. Reports per mode the ERROR rate, the claims lost, the reschedules, the time to
ACTIVE and the RPC messages per instance that went ACTIVE.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

from altsim_lab.sweep.summary import Spread
from studies import page
from studies.sweeps import Point, Sweep, run

SLUG = "claim-in-scheduler-or-conductor"
TITLE = "Claim in the scheduler or in the conductor"
COMMAND = "python -m studies claim-in"
DEFAULT_ATTEMPTS = 3

FULL = {"attempts": (1, 2, 3, 5), "repeat": 5}
QUICK = {"attempts": (1, 3), "repeat": 1}

# Mode label -> what the page calls it and how it came about.
MODES = {"scheduler": "claim in the scheduler (Queens)",
         "conductor": "claim in the super conductor (Boston plan)",
         "legacy": "no alternates, reschedule through the scheduler (pre-Queens)"}


@dataclass(frozen=True)
class ModePoint:
    mode: str
    attempts: int
    point: Point


def sweeps(folder: Path, scenario: Path, plan: dict) -> tuple[Sweep, Sweep]:
    attempts = ",".join(map(str, plan["attempts"]))
    return (Sweep(scenario, ("scheduler.claim_in=scheduler,conductor",
                             f"scheduler.max_attempts={attempts}"), plan["repeat"],
                  folder / "alternates"),
            Sweep(scenario, ("scheduler.legacy_retry=true", f"scheduler.max_attempts={attempts}"),
                  plan["repeat"], folder / "legacy-retry"))


def mode_points(with_alternates: list[Point], legacy: list[Point]) -> list[ModePoint]:
    found = [ModePoint(p.values["scheduler.claim_in"], int(p.values["scheduler.max_attempts"]),
                       p) for p in with_alternates]
    found += [ModePoint("legacy", int(p.values["scheduler.max_attempts"]), p) for p in legacy]
    return found


def main(out_root: Path, quick: bool, started: float) -> bool:
    plan = QUICK if quick else FULL
    folder = out_root / SLUG
    scenario = page.DOCS / SLUG / "scenario.yaml"
    alternates_sweep, legacy_sweep = sweeps(folder, scenario, plan)
    found = mode_points(run(alternates_sweep), run(legacy_sweep))
    picture = folder / "modes.png"
    draw(found, picture)
    page_path = out_root / f"{SLUG}.md"
    page.write_page(page_path, f"{SLUG}.md.j2", title=TITLE, command=COMMAND, quick=quick,
                    elapsed=page.elapsed(started), plan=plan, modes=MODES,
                    scenario=page.link(scenario, page_path),
                    sweep_commands=[s.command(page.ROOT) for s in (alternates_sweep,
                                                                   legacy_sweep)],
                    sweep_pages=[page.link(s.out / "index.html", page_path)
                                 for s in (alternates_sweep, legacy_sweep)],
                    picture=page.link(picture, page_path), table=mode_table(found),
                    messages=messages_table(found), findings=findings(found))
    return True


def _spread_text(point: Point, metric: str, scale: float = 1.0, digits: int = 2) -> str:
    spread = point.spread(metric)
    if spread is None:
        return "-"
    mean, low, high = (f"{v * scale:.{digits}f}" for v in (spread.mean, spread.low,
                                                          spread.high))
    return mean if low == high else f"{mean} ({low}-{high})"


def mode_table(found: list[ModePoint]) -> str:
    rows = [(m.mode, m.attempts, m.point.totals["instances"],
             _spread_text(m.point, "error_rate", 100, 1),
             _spread_text(m.point, "claim_failures_per_instance"),
             _spread_text(m.point, "reschedules_per_instance"),
             _spread_text(m.point, "time_to_active_p50_s", 1000, 0),
             _spread_text(m.point, "time_to_active_p95_s", 1000, 0),
             page.number(m.point.per_active("messages")))
            for m in found]
    return page.markdown_table(
        ("mode", "max_attempts", "instances", "ERROR %", "lost claims / inst.",
         "reschedules / inst.", "to ACTIVE p50 ms", "p95 ms", "RPC msgs / ACTIVE"),
        rows, right=(False,) + (True,) * 8)


def messages_table(found: list[ModePoint]) -> str:
    rows = []
    for mode in MODES:
        mine = [m.point for m in found if m.mode == mode]
        if not mine:
            continue
        messages = sum(p.totals["messages"] or 0 for p in mine)
        active = sum(p.totals["active"] or 0 for p in mine)
        reschedules = sum(p.totals["reschedules"] or 0 for p in mine)
        at_default = next((m.point for m in found if m.mode == mode
                           and m.attempts == DEFAULT_ATTEMPTS), None)
        rows.append((f"`{mode}`: {MODES[mode]}", page.number(messages / active if active
                                                             else None),
                     page.number(at_default.per_active("messages") if at_default else None),
                     f"{reschedules}"))
    return page.markdown_table(("mode", "RPC msgs / ACTIVE, all points",
                                f"at max_attempts {DEFAULT_ATTEMPTS}", "reschedules, all"),
                               rows, right=(False, True, True, True))


def findings(found: list[ModePoint]) -> list[str]:
    """One sentence per max_attempts: the modes ordered by ERROR rate, with their numbers."""
    lines = []
    for attempts in sorted({m.attempts for m in found}):
        here = sorted((m for m in found if m.attempts == attempts),
                      key=lambda m: m.point.pooled_rate("error") or 0.0)
        parts = [f"{m.mode} {page.percent(m.point.pooled_rate('error'))} in ERROR with "
                 f"{page.number(m.point.pooled_rate('claim_failures'))} lost claims per "
                 f"instance" for m in here]
        lines.append(f"max_attempts {attempts}: " + "; ".join(parts) + ".")
    return lines


_PANELS = (("error_rate", 100.0, "instances in ERROR (%)"),
           ("claim_failures_per_instance", 1.0, "claims lost per instance"),
           ("messages_per_active", 1.0, "RPC messages per ACTIVE instance"))


def draw(found: list[ModePoint], path: Path) -> None:
    """Three panels against max_attempts, a line per mode: ERROR rate, lost claims per
    instance, messages per ACTIVE instance; mean over the runs with min-max bars."""
    fig = Figure(figsize=(13, 4.5), layout="constrained")
    axes = fig.subplots(1, len(_PANELS))
    for ax, (metric, scale, label) in zip(axes, _PANELS, strict=True):
        for index, mode in enumerate(MODES):
            mine = sorted((m for m in found if m.mode == mode), key=lambda m: m.attempts)
            known = [(m.attempts, m.point.spread(metric)) for m in mine]
            known = [(k, s) for k, s in known if s is not None]
            if not known:
                continue
            _line(ax, known, scale, f"C{index}", mode, (index - 1) * 0.06)
        ax.set_xlabel("[scheduler] max_attempts")
        ax.set_ylabel(label)
        ax.set_xticks(sorted({m.attempts for m in found}))
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=8)
    runs = max((m.point.summary.runs for m in found), default=0)
    fig.suptitle(f"{TITLE}: mean of {runs} run(s) a point, bars from min to max", fontsize=11)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def _line(ax, known: list[tuple[int, Spread]], scale: float, colour: str,  # type: ignore[no-untyped-def]
          label: str, dodge: float) -> None:
    xs = [k + dodge for k, _ in known]  # nudged apart so lines that coincide stay visible
    means = [s.mean * scale for _, s in known]
    below = [(s.mean - s.low) * scale for _, s in known]
    above = [(s.high - s.mean) * scale for _, s in known]
    ax.errorbar(xs, means, yerr=[below, above], color=colour, marker="o", capsize=4,
                label=label)
