"""The launcher's pieces that need no broker: URLs, config files, a missing rabbitmqctl."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from altsim_lab.deploy.launcher import LaunchError, rabbitmqctl, vhost_url, write_config


def test_vhost_url_replaces_the_path_and_keeps_credentials():
    assert (vhost_url("rabbit://guest:secret@127.0.0.1:5672/", "run-1-cell1")
            == "rabbit://guest:secret@127.0.0.1:5672/run-1-cell1")
    assert vhost_url("rabbit://u:p@h:1/old?x=1", "new") == "rabbit://u:p@h:1/new?x=1"


def test_write_config_renders_lists_dicts_and_bools_as_oslo_config_reads_them(tmp_path: Path):
    path = write_config(tmp_path / "s.conf", {
        "DEFAULT": {"host": "h1", "debug": True, "unset": None},
        "filter_scheduler": {"static_host_weights": {"host1": 30, "host2": 20},
                             "enabled_filters": ["ComputeFilter", "ResourceFilter"]}})
    parser = configparser.ConfigParser()
    parser.read(path)
    assert parser["DEFAULT"]["host"] == "h1"
    assert parser["DEFAULT"]["debug"] == "true"
    assert "unset" not in parser["DEFAULT"]
    assert parser["filter_scheduler"]["static_host_weights"] == "host1:30,host2:20"
    assert parser["filter_scheduler"]["enabled_filters"] == "ComputeFilter,ResourceFilter"


def test_a_missing_rabbitmqctl_is_a_launch_error_that_says_so(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(LaunchError, match="rabbitmqctl is not on PATH"):
        rabbitmqctl("list_vhosts")
