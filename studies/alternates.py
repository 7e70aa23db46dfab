"""Study: how many alternates do you need?

Every spawn fails, independently, with probability p; with max_attempts k an instance ends in
ERROR exactly when all k of its spawns fail, so the ERROR rate should be p^k. The study sweeps
p against k, sets the measured rate beside p^k with the binomial standard error of n instances,
sqrt(p^k (1 - p^k) / n), and says whether they agree within three of them. It also checks the
reschedules against their expectation, p + p^2 + ... + p^(k-1) per instance, and reports the RPC
messages per instance that went ACTIVE.

A point outside three standard errors is run again on fresh seeds (seeds the sweep did not
use) before the study calls it a failure. Each instance's fault is drawn once, after its host
is chosen, from a hash of (seed, host, instance name, attempt), so the ERROR count of a point
is binomial whatever the hosts; but with fifteen points at three standard errors, a correct
simulator still has a few percent chance per run that one of them falls outside. A bias in
the simulator shows again on the fresh seeds; a chance deviation of the first seeds does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import yaml
from matplotlib.figure import Figure

from studies import page
from studies.sweeps import Point, Sweep, run
from studies.workdir import scenario_with_count, scenario_with_seed

SLUG = "how-many-alternates"
TITLE = "How many alternates do you need"
COMMAND = "python -m studies alternates"
TOLERANCE_SE = 3.0
TARGETS = (0.01, 0.001)                 # ERROR rates the "attempts needed" table is for

# follow_up: how many fresh seeds a point that disagrees is run again on.
FULL = {"p": (0.2, 0.4, 0.6), "attempts": (1, 2, 3, 4, 5), "count": 1000, "repeat": 2,
        "follow_up": 8}
QUICK = {"p": (0.5,), "attempts": (1, 2, 3), "count": 300, "repeat": 1, "follow_up": 3}


@dataclass(frozen=True)
class Check:
    """One point of the sweep against the analytic model."""

    p: float
    attempts: int
    instances: int
    errors: int
    reschedules: int
    active: int
    messages: int | None       # RPC casts and calls, as the in-memory broker counted them

    @property
    def measured(self) -> float:
        return self.errors / self.instances

    @property
    def analytic(self) -> float:
        return self.p ** self.attempts

    @property
    def standard_error(self) -> float:
        return math.sqrt(self.analytic * (1 - self.analytic) / self.instances)

    @property
    def z(self) -> float | None:
        """(measured - p^k) in standard errors; None when p^k is 0 or 1 (no spread)."""
        se = self.standard_error
        return None if se == 0 else (self.measured - self.analytic) / se

    @property
    def agrees(self) -> bool:
        z = self.z
        return self.measured == self.analytic if z is None else abs(z) <= TOLERANCE_SE

    @property
    def messages_per_active(self) -> float | None:
        return None if self.messages is None or not self.active else self.messages / self.active

    @property
    def design_messages_per_active(self) -> float | None:
        """What the design needs, over the ACTIVE instances: per instance the API's cast,
        select_destinations and the build cast; per rescheduled attempt the compute's cast to
        the cell conductor and that conductor's cast to the next host, except after an
        instance's last attempt, which the conductor ends there."""
        if not self.active:
            return None
        ended_in_conductor = self.errors if self.attempts > 1 else 0
        return (3 * self.instances + 2 * self.reschedules - ended_in_conductor) / self.active

    @property
    def expected_reschedules(self) -> float:
        """Per instance. With retries on (k > 1) every failed attempt goes to the cell
        conductor as a reschedule, the last one too (which the conductor then ends, as Nova's
        does), so p + p^2 + ... + p^k; with k = 1 a failure is an ERROR at the compute."""
        return 0.0 if self.attempts == 1 else sum(self.p ** i
                                                  for i in range(1, self.attempts + 1))


@dataclass(frozen=True)
class FollowUp:
    """A point that disagreed, run again on fresh seeds: `fresh` alone decides."""

    first: Check
    fresh: Check
    seeds: tuple[int, int]          # the fresh seeds, first and last
    command: str


@dataclass(frozen=True)
class Findings:
    """A study run: its checks, one per point, and the follow-ups of those that disagreed."""

    checks: list[Check]
    follow_ups: list[FollowUp]

    @property
    def holds(self) -> bool:
        """Every point agrees, or its follow-up on fresh seeds does."""
        settled = {(f.first.p, f.first.attempts) for f in self.follow_ups if f.fresh.agrees}
        return all(c.agrees or (c.p, c.attempts) in settled for c in self.checks)


def false_alarm(points: int) -> float:
    """The chance that a correct simulator puts at least one of `points` independent points
    outside TOLERANCE_SE standard errors (normal approximation; an upper bound, as points
    with few expected ERRORs fall outside less often)."""
    outside = math.erfc(TOLERANCE_SE / math.sqrt(2))
    return 1 - (1 - outside) ** points


def attempts_needed(p: float, target: float) -> int:
    """The smallest k with p^k <= target."""
    if p <= target:
        return 1
    return math.ceil(math.log(target) / math.log(p) - 1e-12)


def checks(points: list[Point]) -> list[Check]:
    return [Check(p=float(point.values["faults.0.probability"]),
                  attempts=int(point.values["scheduler.max_attempts"]),
                  instances=point.totals["instances"] or 0, errors=point.totals["error"] or 0,
                  reschedules=point.totals["reschedules"] or 0,
                  active=point.totals["active"] or 0, messages=point.totals["messages"])
            for point in points]


def main(out_root: Path, quick: bool, started: float) -> bool:
    """Run the study into out_root/<slug>/ and write out_root/<slug>.md; True if every point
    agrees with p^k within TOLERANCE_SE standard errors, or, if not, on fresh seeds."""
    return run_study(out_root, quick, started).holds


def run_study(out_root: Path, quick: bool, started: float) -> Findings:
    """The sweep, the follow-ups, the picture and the page."""
    plan = QUICK if quick else FULL
    folder = out_root / SLUG
    scenario = scenario_with_count(page.DOCS / SLUG / "scenario.yaml", folder, plan["count"])
    sweep = Sweep(scenario, (f"faults.0.probability={','.join(map(str, plan['p']))}",
                             f"scheduler.max_attempts={','.join(map(str, plan['attempts']))}"),
                  plan["repeat"], folder / "sweep")
    found = checks(run(sweep))
    follow_ups = [follow_up(c, scenario, folder, plan) for c in found if not c.agrees]
    picture = folder / "error-rate.png"
    draw(found, picture)
    page_path = out_root / f"{SLUG}.md"
    page.write_page(page_path, f"{SLUG}.md.j2", title=TITLE, command=COMMAND, quick=quick,
                    elapsed=page.elapsed(started), sweep_command=sweep.command(page.ROOT),
                    scenario=page.link(scenario, page_path),
                    sweep_page=page.link(sweep.out / "index.html", page_path),
                    picture=page.link(picture, page_path), plan=plan,
                    table=check_table(found), needed=needed_table(plan["p"]),
                    agree=sum(c.agrees for c in found), total=len(found),
                    tolerance=TOLERANCE_SE, instances=found[0].instances if found else 0,
                    follow_ups=follow_ups, follow_up_table=follow_up_table(follow_ups),
                    settled=sum(f.fresh.agrees for f in follow_ups),
                    false_alarm=page.percent(false_alarm(len(found)), 0))
    return Findings(found, follow_ups)


def follow_up(first: Check, scenario: Path, folder: Path, plan: dict) -> FollowUp:
    """Run the point of `first` again, plan["follow_up"] times, on the seeds after the
    sweep's (the sweep ran seed .. seed + repeat - 1)."""
    start = int(yaml.safe_load(scenario.read_text())["seed"]) + plan["repeat"]
    tag = f"p{first.p:g}-k{first.attempts}"
    again = Sweep(scenario_with_seed(scenario, folder / f"follow-up-{tag}", start),
                  (f"faults.0.probability={first.p:g}",
                   f"scheduler.max_attempts={first.attempts}"),
                  plan["follow_up"], folder / f"follow-up-{tag}" / "sweep")
    (fresh,) = checks(run(again))
    return FollowUp(first, fresh, (start, start + plan["follow_up"] - 1),
                    again.command(page.ROOT))


def follow_up_table(follow_ups: list[FollowUp]) -> str:
    rows = [(f"{f.first.p:g}", f.first.attempts, f"{f.first.z:+.2f}" if f.first.z is not None
             else "-", f"{f.seeds[0]}-{f.seeds[1]}", f.fresh.instances,
             f"{f.fresh.instances * f.fresh.analytic:.1f}", f.fresh.errors,
             page.percent(f.fresh.measured, 2), page.percent(f.fresh.analytic, 2),
             "-" if f.fresh.z is None else f"{f.fresh.z:+.2f}",
             "yes" if f.fresh.agrees else "**no**") for f in follow_ups]
    return page.markdown_table(
        ("p", "max_attempts", "z (first seeds)", "fresh seeds", "instances", "ERRORs expected",
         "ERRORs seen", "ERROR rate", "p^k", "z", "agrees"),
        rows, right=(True,) * 10 + (False,))


def check_table(found: list[Check]) -> str:
    rows = [(f"{c.p:g}", c.attempts, c.instances, f"{c.instances * c.analytic:.1f}", c.errors,
             page.percent(c.measured, 2), page.percent(c.analytic, 2),
             page.percent(TOLERANCE_SE * c.standard_error, 2),
             "-" if c.z is None else f"{c.z:+.2f}", "yes" if c.agrees else "**no**",
             f"{c.reschedules / c.instances:.3f}", f"{c.expected_reschedules:.3f}",
             page.number(c.messages_per_active), page.number(c.design_messages_per_active))
            for c in found]
    return page.markdown_table(
        ("p", "max_attempts", "instances", "ERRORs expected", "ERRORs seen", "ERROR rate",
         "p^k", "3 SE", "z", "agrees", "reschedules / inst.", "expected", "RPC msgs / ACTIVE",
         "design needs"),
        rows, right=(True,) * 9 + (False,) + (True,) * 4)


def needed_table(ps: tuple[float, ...]) -> str:
    rows = [(f"{p:g}", *(f"{attempts_needed(p, t)} ({attempts_needed(p, t) - 1} alternates)"
                         for t in TARGETS)) for p in ps]
    return page.markdown_table(("p", *(f"ERROR rate at most {page.percent(t, 1)}"
                                       for t in TARGETS)), rows)


def draw(found: list[Check], path: Path) -> None:
    """ERROR rate against max_attempts on a log scale: p^k as a line, the measured rate as a
    point with a 3-standard-error bar around p^k; a point with no ERROR at all is drawn at the
    bottom edge as a triangle (the log scale has no zero)."""
    fig = Figure(figsize=(8, 5), layout="constrained")
    ax = fig.add_subplot()
    seen = [c.measured for c in found if c.measured > 0]
    floor = min(seen + [c.analytic for c in found if c.analytic > 0], default=1e-3) / 3
    for index, p in enumerate(sorted({c.p for c in found})):
        colour = f"C{index}"
        mine = sorted((c for c in found if c.p == p), key=lambda c: c.attempts)
        ks = [c.attempts for c in mine]
        ax.plot(ks, [c.analytic for c in mine], color=colour, linestyle="--", linewidth=1,
                label=f"p = {p:g}: p^k")
        low = [min(c.analytic, TOLERANCE_SE * c.standard_error) for c in mine]
        high = [TOLERANCE_SE * c.standard_error for c in mine]
        ax.errorbar(ks, [c.analytic for c in mine], yerr=[low, high], fmt="none",
                    ecolor=colour, alpha=0.35, capsize=5)
        hits = [c for c in mine if c.measured > 0]
        ax.plot([c.attempts for c in hits], [c.measured for c in hits], "o", color=colour,
                label=f"p = {p:g}: measured")
        zeros = [c.attempts for c in mine if c.measured == 0]
        ax.plot(zeros, [floor] * len(zeros), "v", color=colour, markerfacecolor="white")
    ax.set_yscale("log")
    ax.set_ylim(bottom=floor / 1.5)
    ax.set_xticks(sorted({c.attempts for c in found}))
    ax.set_xlabel("[scheduler] max_attempts (k): the chosen host and k - 1 alternates")
    ax.set_ylabel("instances in ERROR (fraction, log scale)")
    n = found[0].instances if found else 0
    ax.set_title(f"ERROR rate against p^k, {n} instances a point\nbars: p^k plus or minus 3 "
                 "standard errors; a triangle: no ERROR seen", fontsize=11)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
