"""Unit tests of what tells a run's story: which instances are interesting and the sampling rule
of big pictures, the terminal's story (interesting first, reasons in full, the verdict), and
the services' log lines (hidden by default, prefixed and named with -v)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from rich.console import Console

from altsim_lab.cmd.run_output import print_story, verdict
from altsim_lab.cmd.service_logs import service_logs
from altsim_lab.pictures.sampling import sample_rows
from altsim_lab.scenario.interesting import interesting_first, why

LONG_REASON = ("libvirt: internal error: process exited while connecting to monitor: "
               "qemu-system-x86_64: cannot set up guest memory 'pc.ram': Cannot allocate memory")


def entry(name: str, status: str = "ACTIVE", rescheduled: bool = False,
          lost: tuple[str, ...] = ()) -> dict:
    attempts = [{"host": "host1", "result": "rescheduled", "reason": LONG_REASON,
                 "duration_s": 0.01, "start_s": 0.0}] if rescheduled else []
    last = {"ACTIVE": "active", "ERROR": "aborted"}.get(status)
    attempts += [{"host": "host2", "result": last, "duration_s": 0.01,
                  "start_s": 0.02}] if last else []
    return {"name": name, "status": status, "host": "host2" if status == "ACTIVE" else None,
            "cell": "cell1", "attempts": attempts, "claim_failures": list(lost),
            "fault": None, "timed_out": False}


def test_interesting_instances_come_first_most_telling_first():
    instances = [entry("calm-1"), entry("lost-1", lost=("host3",)),
                 entry("moved-1", rescheduled=True), entry("stuck-1", "BUILD"),
                 entry("broken-1", "ERROR"), entry("calm-2")]
    assert [e["name"] for e in interesting_first(instances)] == [
        "broken-1", "stuck-1", "moved-1", "lost-1", "calm-1", "calm-2"]
    assert why(entry("both-1", "ERROR", rescheduled=True)) == ["ERROR", "rescheduled"]
    assert why(entry("calm-3")) == []


def test_a_sample_keeps_every_rescheduled_and_error_instance_then_samples_the_rest():
    # Given 1,000 instances: 30 ERROR and 20 rescheduled among 950 that went well
    instances = [entry(f"web-{n}", "ERROR" if n % 33 == 0 and n <= 990 else "ACTIVE",
                       rescheduled=n % 47 == 0 and n <= 940) for n in range(1, 1001)]
    keep = [e["name"] for e in instances if why(e)]
    assert len(keep) == 50
    # When sampled to 200 rows
    sample = sample_rows(instances, 200)
    names = [e["name"] for e in sample.shown]
    # Then every one of the 50 is there, the others fill the room evenly, in scenario order
    assert set(keep) <= set(names) and len(names) <= 200
    assert names == [e["name"] for e in instances if e["name"] in set(names)]
    assert sample.note == ("showing 186 of 1000 instances: every one of the 50 rescheduled, "
                           "ERROR or unfinished, and one in every 7 of the 950 others, in "
                           "scenario order")
    # ... and a run that fits is shown whole, without a note
    assert sample_rows(instances[:200], 200).shown == instances[:200]
    assert sample_rows(instances[:200], 200).note is None


def test_a_sample_of_more_failures_than_rows_samples_the_failures():
    instances = [entry(f"bad-{n}", "ERROR") for n in range(500)] + [entry(f"ok-{n}")
                                                                   for n in range(100)]
    sample = sample_rows(instances, 200)
    assert len(sample.shown) == 167 and all(e["status"] == "ERROR" for e in sample.shown)
    assert "one in every 3 of the 500 rescheduled, ERROR or unfinished ones, none of the " \
           "100 others" in sample.note


def story(instances: list[dict], expectations: list[dict], limit: int = 20) -> str:
    report = {"scenario": "made-up", "transport": "embedded", "seed": 3,
              "summary": {"instances": len(instances), "active": 1, "error": 1,
                          "building": 0, "timed_out": 0, "reschedules": 1,
                          "claim_failures": 1, "leaked_allocations": 0, "duration_s": 0.5,
                          "builds_per_s": 2.0, "time_to_active_p50_s": 0.02,
                          "time_to_active_p95_s": 0.03, "messages": 9},
              "instances": instances, "expectations": expectations}
    console = Console(record=True, width=120, file=open("/dev/null", "w"))  # noqa: SIM115
    print_story(console, report, limit=limit)
    return console.export_text()


def test_the_story_shows_each_attempt_with_its_reason_in_full():
    text = story([entry("web-1", rescheduled=True, lost=("host3",))], [])
    assert "1 reschedule, 1 lost claim, 0 timed out, 0 leaked allocations" in text
    assert "request to ACTIVE p50 20 ms, p95 30 ms; 9 RPC messages" in text
    # the reason is wrapped over lines, never cut: every word of it is there
    cells = " ".join(line.split("│")[3].strip() for line in text.splitlines()
                     if line.count("│") > 4)
    assert "1. host1 rescheduled: " + LONG_REASON in cells.replace("  ", " ")
    assert "2. host2 active" in text and "…" not in text


def test_many_instances_show_the_interesting_first_and_say_how_many_are_hidden():
    instances = [entry(f"calm-{n}") for n in range(30)] + [entry("moved-1", rescheduled=True),
                                                           entry("broken-1", "ERROR")]
    text = story(instances, [], limit=5)
    assert text.index("broken-1") < text.index("moved-1") < text.index("calm-0")
    assert "calm-3 " not in text
    assert "instances (5 of 32, interesting first)" in text
    assert "27 more instances not shown (0 of them interesting)" in text


@pytest.mark.parametrize(("oks", "line"), [
    ([True] * 7, "7 of 7 expectations met"),
    ([True] * 6 + [False], "1 of 7 expectations missed"),
    ([], "no expectations to check"),
])
def test_the_verdict_closes_the_story(oks: list[bool], line: str):
    checks = [{"check": f"c{n}", "ok": ok, "detail": "d"} for n, ok in enumerate(oks)]
    assert verdict(checks).plain.startswith(line)
    assert story([entry("web-1")], checks).rstrip().endswith(verdict(checks).plain)


@contextmanager
def console_log() -> Iterator[None]:
    """A console handler on the root logger, as the altsim app makes one (on stderr: made
    in the test, where capsys's stderr is the one to write to)."""
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


UUID = "90b15c65-aae9-5899-a5a8-9fdb0c9d888b"


def test_service_lines_stay_out_of_the_default_console(capsys):
    with console_log():
        with service_logs(verbose=False, names_by_uuid={}):
            logging.getLogger("compute_sim.manager").warning("Build of instance %s failed",
                                                             UUID)
            logging.getLogger("altsim_lab.deploy.launcher").warning("could not drop db x")
        logging.getLogger("compute_sim.manager").warning("after the run")
    err = capsys.readouterr().err
    assert "Build of instance" not in err
    assert "could not drop db x" in err  # the lab's own warnings still show
    assert "after the run" in err  # and everything is as it was once the run is over


def test_with_v_service_lines_are_prefixed_and_name_the_instance(capsys):
    with console_log():
        with service_logs(verbose=True, names_by_uuid={UUID: "web-1"}):
            logging.getLogger("compute_sim.manager").warning("Build of instance %s failed",
                                                             UUID)
            logging.getLogger("altsim_lab.scenario").warning("a lab line about %s", UUID)
        logging.getLogger("conductor.manager").warning("later %s", UUID)
    lines = capsys.readouterr().err.splitlines()
    assert lines == [f"WARNING compute_sim.manager: Build of instance {UUID} (web-1) failed",
                     f"a lab line about {UUID}", f"later {UUID}"]
