"""Every altsim program refuses a bad config file with exit status 2 and one line naming the
file, the option (group.option) and the bad value: never a traceback, never starting anyway.
And a cell service given API-level credentials refuses to start.

Each program runs as the console script the venv installs. Every case is a process of its own
(about 1.5 s of imports each), so they run a few at a time, before the tests look at them.
"""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
NOT_INI = "this line is not INI\n[scheduler]\n"


@dataclass(frozen=True)
class Case:
    program: str               # console script, then its arguments (FILE: the config file)
    config: str | None         # the file's content; None: the file does not exist
    named: tuple[str, ...]     # what the one line must name besides the file
    args: tuple[str, ...] = ()


def _cases() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    bad_values = {
        "altsim-scheduler": ("[scheduler]\nmax_attempts = zero\n",
                             ("scheduler.max_attempts", "'zero'")),
        "altsim-conductor": ("[conductor]\nrole = mayor\n", ("conductor.role", "'mayor'")),
        "altsim-compute": ("[compute_sim]\nreport_interval = 0\n",
                           ("compute_sim.report_interval", "'0'")),
        "altsim-placement": ("[placement]\nbind_port = http\n", ("placement.bind_port", "'http'")),
        "altsim-manage": ("[placement]\ntimeout = soon\n", ("placement.timeout", "'soon'")),
    }
    # The three daemons on the API and cell buses read their files through the same
    # altsim.daemon.load_conf, placement and altsim-manage each their own way: every program
    # gets a bad value, and each way of reading gets each kind of broken file at least once
    # (tests/unit/test_config_files.py has the rest, in-process).
    not_ini = {"altsim-scheduler", "altsim-compute", "altsim-placement", "altsim-manage"}
    missing = {"altsim-conductor", "altsim-placement", "altsim-manage"}
    for program, (bad_value, named) in bad_values.items():
        args = ("cell", "list") if program == "altsim-manage" else ()
        cases[f"{program} bad value"] = Case(program, bad_value, named, args)
        if program in not_ini:
            cases[f"{program} not INI"] = Case(program, NOT_INI,
                                               ("not a valid INI file", "line 1"), args)
        if program in missing:
            cases[f"{program} missing file"] = Case(program, None, ("no such config file",),
                                                    args)
    return cases


CASES = _cases()
# A cell service given API-level credentials (docs/deploy.md: cell files never have them).
API_DB = "[api_database]\nconnection = sqlite:////nonexistent/api.db\n"
REFUSALS = {
    "cell conductor": ("altsim-conductor", "[conductor]\nrole = cell\n" + API_DB,
                       "a cell conductor must not be given [api_database] connection"),
    "compute": ("altsim-compute", API_DB,
                "a compute must not be given [api_database] connection"),
}


@dataclass(frozen=True)
class Outcome:
    path: Path
    returncode: int
    stdout: str
    stderr: str


def _run(path: Path, program: str, config: str | None, args: tuple[str, ...] = ()) -> Outcome:
    if config is not None:
        path.write_text(config)
    proc = subprocess.run([str(BIN / program), "--config-file", str(path), *args],
                          capture_output=True, text=True, timeout=120, errors="replace")
    return Outcome(path, proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    tmp = tmp_path_factory.mktemp("configs")
    jobs = {name: (tmp / f"case{i}.conf", case.program, case.config, case.args)
            for i, (name, case) in enumerate(CASES.items())}
    jobs.update({name: (tmp / f"refusal{i}.conf", program, config)
                 for i, (name, (program, config, _)) in enumerate(REFUSALS.items())})
    scenario = tmp / "hosts.yaml"
    scenario.write_text("name: x\ncells: [{name: cell1, hosts: [{name: h1, resources: "
                        "{VCPU: 8}, reserverd: {VCPU: 1}}]}]\nflavors: {small: {VCPU: 1}}\n"
                        "requests: [{name: web, flavor: small}]\n")
    jobs["compute bad scenario_file"] = (
        tmp / "compute-scenario.conf", "altsim-compute",
        f"[database]\nconnection = sqlite:///{tmp}/cell.db\n[compute_sim]\n"
        f"scenario_file = {scenario}\ncell = cell1\n")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(_run, *job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def one_line(outcome: Outcome) -> str:
    assert outcome.returncode == 2, (outcome.returncode, outcome.stderr[-2000:])
    assert "Traceback" not in outcome.stderr + outcome.stdout
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1, outcome.stderr
    return lines[0]


@pytest.mark.parametrize("name", list(CASES))
def test_a_bad_config_file_exits_2_with_one_line_naming_file_option_and_value(
        outcomes: dict[str, Outcome], name: str) -> None:
    outcome = outcomes[name]
    line = one_line(outcome)
    assert line.startswith(f"{CASES[name].program}: ")
    assert str(outcome.path) in line
    for part in CASES[name].named:
        assert part in line, line


@pytest.mark.parametrize("name", list(REFUSALS))
def test_a_cell_service_given_the_api_database_refuses_to_start(
        outcomes: dict[str, Outcome], name: str) -> None:
    program, _, message = REFUSALS[name]
    assert one_line(outcomes[name]) == f"{program}: {message}: cells cannot call up"


def test_the_compute_refuses_an_invalid_scenario_file_naming_file_and_key(
        outcomes: dict[str, Outcome]) -> None:
    line = one_line(outcomes["compute bad scenario_file"])
    assert "[compute_sim] scenario_file" in line
    assert "hosts.yaml: " in line and "cells.0.hosts.0.reserverd: unknown key" in line, line
