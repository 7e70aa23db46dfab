"""Per-run database names and server URLs (altsim_lab.deploy.provision), without a server."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from altsim.db.engine import _for_driver
from altsim_lab.deploy.provision import DatabaseServer, database_names, masked, parse_server_url
from altsim_lab.scenario.runner import check_database_url
from altsim_lab.scenario.schema import parse_scenario
from altsim_lab.scenario.topology import plan_topology

RUN_ID = "altsim-0123456789ab"
SERVER = "postgresql+psycopg://altsim:s3cret@db.example:5432/"


def test_names_come_from_the_run_id_one_per_level():
    assert database_names(RUN_ID, ["api", "cell0", "cell1"]) == [
        "altsim_0123456789ab_api", "altsim_0123456789ab_cell0", "altsim_0123456789ab_cell1"]


def test_names_are_unique_lowercase_identifiers_whatever_the_cell_names():
    levels = ["api", "cell0", "api", "Cell-A", "cell_a", "x" * 80, "y" * 80, "9lives"]
    names = database_names(RUN_ID, levels)
    assert len(set(names)) == len(levels)
    assert all(re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name) for name in names), names
    assert names[3].startswith("altsim_0123456789ab_cell_a_")  # changed to fit: hashed
    assert names[4] == "altsim_0123456789ab_cell_a"
    assert database_names("9-run", ["api"]) == ["altsim_9_run_api"]


def test_server_urls_are_checked_and_never_shown_with_their_password():
    assert parse_server_url(SERVER).get_backend_name() == "postgresql"
    assert masked(SERVER) == "postgresql+psycopg://altsim:***@db.example:5432/"
    with pytest.raises(ValueError, match="only postgresql") as err:
        parse_server_url("mysql+pymysql://root:s3cret@db/")
    assert "s3cret" not in str(err.value)
    with pytest.raises(ValueError, match="not a database URL"):
        parse_server_url("no url at all")
    assert "s3cret" not in repr(DatabaseServer(SERVER))


def test_a_database_url_is_for_launched_runs_only():
    check_database_url(None, None)
    check_database_url(SERVER, "rabbit://guest:guest@127.0.0.1:5672/")
    with pytest.raises(ValueError, match="--transport-url"):
        check_database_url(SERVER, None)
    with pytest.raises(ValueError, match="only postgresql"):
        check_database_url("sqlite:///x.db", "rabbit://guest:guest@127.0.0.1:5672/")


def test_the_topology_names_its_databases_on_the_server(tmp_path: Path):
    scenario = parse_scenario({
        "name": "t", "cells": [{"name": "cell1", "host_count": 1,
                                "host_resources": {"VCPU": 1}}],
        "flavors": {"small": {"VCPU": 1}}, "requests": [{"name": "web", "flavor": "small"}]})
    topology = plan_topology(scenario, RUN_ID, tmp_path, database_server=DatabaseServer(SERVER))
    assert topology.database_urls() == [
        "postgresql+psycopg://altsim:s3cret@db.example:5432/altsim_0123456789ab_api",
        "postgresql+psycopg://altsim:s3cret@db.example:5432/altsim_0123456789ab_cell0",
        "postgresql+psycopg://altsim:s3cret@db.example:5432/altsim_0123456789ab_cell1"]
    sqlite = plan_topology(scenario, RUN_ID, tmp_path)  # the default is unchanged
    assert sqlite.database_urls() == [f"sqlite:///{tmp_path / name}.db"
                                      for name in ("api", "cell0", "cell1")]


def test_sql_for_pyformat_drivers_names_parameters_and_doubles_literal_percents():
    sql = "SELECT a FROM t WHERE b = :b AND c LIKE 'x%' AND d::text = :d"
    assert _for_driver(sql, "pyformat") == (
        "SELECT a FROM t WHERE b = %(b)s AND c LIKE 'x%%' AND d::text = %(d)s")
    assert _for_driver(sql, "named") == sql  # sqlite3 takes :name as it is
