"""The example deployment's files (etc/altsim/deploy, walked through in docs/deploy.md).

Each config file is parsed by the very program that reads it, with the options that program
registers: its console script's main() runs until its ConfigOpts has parsed the file, and is
stopped there. oslo.config ignores unknown sections and options silently, so every section and
key of the file is checked against the registered groups and options, and every value is read
(which converts and checks it).
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import oslo_messaging.opts
import pytest
from oslo_config import cfg

from altsim_lab.client.connection import load_client_conf
from altsim_lab.scenario.schema import load_scenario

DEPLOY = Path(__file__).parents[2] / "etc" / "altsim" / "deploy"
CONFIGS = sorted(DEPLOY.glob("*.conf"))
CELL_CONFIGS = [p for p in CONFIGS if p.stem.startswith(("conductor-cell", "compute-cell"))]
API_CONFIGS = ["scheduler.conf", "conductor-super.conf", "client.conf"]


def readers(path: Path) -> list[str]:
    """The programs that read this file."""
    if path.name == "client.conf":
        return ["altsim", "altsim-manage"]
    if path.name in ("placement.conf", "scheduler.conf"):
        return [f"altsim-{path.stem}"]
    for prefix in ("conductor", "compute"):
        if path.stem.startswith(f"{prefix}-"):
            return [f"altsim-{prefix}"]
    raise AssertionError(f"{path.name}: which program reads it? (name it <service>.conf, or "
                         f"teach this test)")


class _Parsed(BaseException):  # not an Exception: no `except Exception` in a main() eats it
    """Raised right after a ConfigOpts has parsed its files; carries it."""


def parsed_by(program: str, path: Path, monkeypatch: pytest.MonkeyPatch) -> cfg.ConfigOpts:
    """The ConfigOpts `program` builds from `path`, as its main() parses it."""
    if program == "altsim":  # the cliff app loads its config per command, with this function
        conf = load_client_conf([str(path)])
    else:
        original = cfg.ConfigOpts.__call__

        def parse_then_stop(self: cfg.ConfigOpts, *args: object, **kwargs: object) -> None:
            original(self, *args, **kwargs)
            raise _Parsed(self)

        monkeypatch.setattr(cfg.ConfigOpts, "__call__", parse_then_stop)
        (entry_point,) = importlib.metadata.entry_points(group="console_scripts", name=program)
        main: Callable[[list[str]], int] = entry_point.load()
        extra = ["cell", "list"] if program == "altsim-manage" else []
        with pytest.raises(_Parsed) as parsed:
            main(["--config-file", str(path), *extra])
        monkeypatch.undo()
        conf = parsed.value.args[0]
    if program != "altsim-placement":
        # Every other program opens an oslo.messaging transport, whose driver registers its
        # groups ([oslo_messaging_rabbit], ...) then: they are valid in these files too.
        for group, opts in oslo_messaging.opts.list_opts():
            if group is not None and group not in conf:
                conf.register_opts(opts, group=group)
    return conf


def sections(path: Path) -> dict[str, dict[str, list[str]]]:
    found: dict[str, dict[str, list[str]]] = {}
    cfg.ConfigParser(str(path), found).parse()
    return found


def option(path: Path, section: str, key: str) -> str:
    return sections(path)[section][key][-1]


def test_the_example_has_every_service():
    assert [p.name for p in CONFIGS] == [
        "client.conf", "compute-cell1.conf", "compute-cell2.conf", "conductor-cell1.conf",
        "conductor-cell2.conf", "conductor-super.conf", "placement.conf", "scheduler.conf"]


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_option_is_one_its_program_registers(path: Path,
                                                    monkeypatch: pytest.MonkeyPatch):
    for program in readers(path):
        conf = parsed_by(program, path, monkeypatch)
        unknown = []
        for section, keys in sections(path).items():
            if section == "DEFAULT":
                group = conf
                known = {key for key in keys if key in conf
                         and not isinstance(conf[key], cfg.ConfigOpts.GroupAttr)}
            elif section in conf:
                group = conf[section]
                known = {key for key in keys if key in group}
            else:
                unknown.append(f"[{section}]")
                continue
            unknown.extend(f"[{section}] {key}" for key in sorted(set(keys) - known))
            for key in known:
                getattr(group, key)  # converts the value: a bad one raises here
        assert not unknown, f"{path.name}: {program} registers no {', '.join(unknown)}"


@pytest.mark.parametrize("path", CELL_CONFIGS, ids=[p.name for p in CELL_CONFIGS])
def test_a_cell_service_is_given_its_cell_only(path: Path):
    cell = path.stem.split("-", 1)[1]
    api_vhost = urlsplit(option(DEPLOY / "scheduler.conf", "DEFAULT", "transport_url")).path
    api_db = option(DEPLOY / "scheduler.conf", "api_database", "connection")
    text = path.read_text()
    assert api_vhost.strip("/") not in text
    assert api_db not in text
    assert "api_database" not in sections(path)
    assert urlsplit(option(path, "DEFAULT", "transport_url")).path == f"/altsim-{cell}"
    assert option(path, "database", "connection").endswith(f"/altsim_{cell}")
    if path.stem.startswith("compute-"):
        assert option(path, "compute_sim", "cell") == cell


def test_the_api_level_shares_one_bus_and_one_database():
    for section, key in (("DEFAULT", "transport_url"), ("api_database", "connection")):
        values = {option(DEPLOY / name, section, key) for name in API_CONFIGS}
        assert len(values) == 1, f"[{section}] {key} differs: {values}"


def test_everything_reaches_placement_with_its_token():
    placement = sections(DEPLOY / "placement.conf")["placement"]
    port, token = int(placement["bind_port"][-1]), placement["auth_token"][-1]
    clients = [p for p in CONFIGS if "endpoint_url" in sections(p).get("placement", {})]
    assert {p.name for p in clients} == {p.name for p in CONFIGS} - {"placement.conf"}
    for path in clients:
        assert urlsplit(option(path, "placement", "endpoint_url")).port == port, path.name
        assert option(path, "placement", "auth_token") == token, path.name


def test_max_attempts_agrees_between_the_scheduler_and_the_conductors():
    files = [DEPLOY / "scheduler.conf", *DEPLOY.glob("conductor-*.conf")]
    assert {option(path, "scheduler", "max_attempts") for path in files} == {"3"}


def test_an_option_of_the_build_path_has_one_value_in_every_file():
    """[scheduler] and [conductor] options (but a conductor's role) are read by several
    services, which must agree."""
    values: dict[tuple[str, str], set[str]] = {}
    for path in CONFIGS:
        for section in ("scheduler", "conductor"):
            for key, given in sections(path).get(section, {}).items():
                if (section, key) != ("conductor", "role"):
                    values.setdefault((section, key), set()).add(given[-1])
    assert {key: found for key, found in values.items() if len(found) > 1} == {}


def test_the_hosts_file_is_a_scenario_with_every_compute_cell():
    scenario = load_scenario(DEPLOY / "hosts.yaml")
    computes = sorted(DEPLOY.glob("compute-*.conf"))
    assert [option(p, "compute_sim", "cell") for p in computes] == [
        c.name for c in scenario.cells]
    for path in computes:
        assert Path(option(path, "compute_sim", "scenario_file")).name == "hosts.yaml"
