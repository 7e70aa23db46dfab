"""The `altsim` command line without a deployment: help, config errors, usage errors."""

from __future__ import annotations

from pathlib import Path

from altsim.db.api import ApiDatabase
from altsim.objects import Flavor
from altsim_lab.cmd import altsim


def test_no_arguments_prints_the_commands(capsys) -> None:
    assert altsim.main([]) == 0
    out = capsys.readouterr().out
    for command in ("run", "server create", "server list", "server show", "server event list",
                    "host list", "cell list", "flavor list"):
        assert f"  {command} " in out, command


def test_a_client_command_without_config_says_what_to_give(capsys, monkeypatch) -> None:
    monkeypatch.delenv("ALTSIM_CONFIG_FILE", raising=False)
    assert altsim.main(["server", "list"]) == 2
    assert "give --config-file FILE or set ALTSIM_CONFIG_FILE" in capsys.readouterr().err


def test_a_missing_config_file_is_named(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ALTSIM_CONFIG_FILE", str(tmp_path / "nowhere.conf"))
    assert altsim.main(["cell", "list"]) == 2
    assert f"config file {tmp_path / 'nowhere.conf'} does not exist" in capsys.readouterr().err


def test_an_unreachable_database_is_one_line(capsys, tmp_path: Path) -> None:
    config = tmp_path / "client.conf"
    config.write_text(f"[api_database]\nconnection = sqlite:///{tmp_path}/no/such/dir/api.db\n")
    assert altsim.main(["--config-file", str(config), "server", "list"]) == 1
    err = capsys.readouterr().err
    assert "database: OperationalError: " in err and "Traceback" not in err


def test_server_create_names_the_unknown_flavor(capsys, tmp_path: Path) -> None:
    api_url = f"sqlite:///{tmp_path / 'api.db'}"
    api_db = ApiDatabase(api_url)
    api_db.sync()
    api_db.create_flavor(Flavor(name="small", resources={"VCPU": 1}))
    config = tmp_path / "client.conf"
    config.write_text(f"[api_database]\nconnection = {api_url}\n")
    assert altsim.main(["--config-file", str(config), "server", "create", "web",
                        "--flavor", "tiny"]) == 2
    assert "--flavor: no flavor named 'tiny' (known: small)" in capsys.readouterr().err
    # the flavor is known, but nothing says where the super conductor listens
    assert altsim.main(["--config-file", str(config), "server", "create", "web",
                        "--flavor", "small"]) == 2
    assert "[DEFAULT] transport_url is not set" in capsys.readouterr().err


def test_a_usage_error_exits_2(capsys) -> None:
    assert altsim.main(["server", "create", "web"]) == 2
    assert "the following arguments are required: --flavor" in capsys.readouterr().err


def test_run_refuses_a_database_url_without_a_transport_url(capsys, tmp_path: Path) -> None:
    scenario = Path(__file__).parents[2] / "etc" / "altsim" / "scenarios" / "clean-run.yaml"
    assert altsim.main(["run", str(scenario), "--database-url",
                        "postgresql+psycopg://postgres@127.0.0.1/"]) == 2
    assert "--database-url needs --transport-url" in capsys.readouterr().err
