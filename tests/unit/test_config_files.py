"""altsim.config_files: config files read strictly, every problem one line naming the file,
the option (group.option) and the value; and the daemons' load_conf exiting 2 with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from oslo_config import cfg
from oslo_log import log

import conductor.conf
import scheduler.conf
from altsim import daemon
from altsim.conf import make_conf
from altsim.config_files import ConfigFileError, parse_config
from altsim_lab.cmd import manage


def fresh_conf() -> cfg.ConfigOpts:
    conf = make_conf([scheduler.conf.register_opts, conductor.conf.register_opts])
    log.register_options(conf)
    return conf


def write(tmp_path: Path, text: str | bytes, name: str = "a.conf") -> str:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return str(path)


def error(tmp_path: Path, *files: str | bytes, args: tuple[str, ...] = ()) -> str:
    argv = [arg for i, text in enumerate(files)
            for arg in ("--config-file", write(tmp_path, text, f"f{i}.conf"))]
    with pytest.raises(ConfigFileError) as caught:
        parse_config(fresh_conf(), [*argv, *args])
    return str(caught.value)


@pytest.mark.parametrize(("text", "named"), [
    ("[scheduler]\nmax_attempts = zero\n",
     "scheduler.max_attempts: invalid value 'zero': invalid literal for int()"),
    ("[scheduler]\nmax_attempts = 0\n",
     "scheduler.max_attempts: invalid value '0': Should be greater than or equal to 1"),
    ("[conductor]\nrole = mayor\n",
     "conductor.role: invalid value 'mayor': Valid values are [super, cell], but found 'mayor'"),
    ("[scheduler]\nuse_placement = maybe\n",
     "scheduler.use_placement: invalid value 'maybe': Unexpected boolean value 'maybe'"),
    ("[filter_scheduler]\nstatic_host_weights = host1\n",
     "filter_scheduler.static_host_weights: invalid value 'host1'"),
    # an option oslo.log also has on the command line: argparse would exit naming neither
    # the file nor the group
    ("[DEFAULT]\ndebug = perhaps\n", "DEFAULT.debug: invalid value 'perhaps'"),
    # a substitution is checked once resolved, and named as written
    ("[DEFAULT]\nhost = super\n[conductor]\nrole = ${host}x\n",
     "conductor.role: invalid value '${host}x': Valid values are [super, cell], but found "
     "'superx'"),
])
def test_a_bad_value_is_named_with_its_file_option_and_value(tmp_path, text, named) -> None:
    assert error(tmp_path, text).startswith(f"{tmp_path / 'f0.conf'}: {named}")


def test_a_bad_value_is_refused_even_where_a_later_file_sets_another(tmp_path) -> None:
    message = error(tmp_path, "[scheduler]\nmax_attempts = zero\n",
                    "[scheduler]\nmax_attempts = 2\n")
    assert message.startswith(f"{tmp_path / 'f0.conf'}: scheduler.max_attempts: ")


@pytest.mark.parametrize(("text", "named"), [
    ("no section here\n", "not a valid INI file: line 1: "),
    ("max_attempts = 3\n", "not a valid INI file: line 1: Section must be started"),
    ("[scheduler]\nmax_attempts\n", "not a valid INI file: line 2: No ':' or '=' found"),
    (b"[scheduler]\nmax_attempts = \xff\n", "not a valid INI file: not UTF-8 text (byte 27)"),
])
def test_a_file_that_is_not_ini_is_named(tmp_path, text, named) -> None:
    assert error(tmp_path, text).startswith(f"{tmp_path / 'f0.conf'}: {named}")


def test_missing_files_directories_and_config_dirs_are_named(tmp_path) -> None:
    conf = fresh_conf()
    for args, message in [
            (["--config-file", str(tmp_path / "nope.conf")],
             f"{tmp_path / 'nope.conf'}: no such config file"),
            (["--config-file", str(tmp_path)], f"{tmp_path}: cannot read: Is a directory"),
            (["--config-dir", str(tmp_path / "nodir")],
             f"{tmp_path / 'nodir'}: no such config directory")]:
        with pytest.raises(ConfigFileError) as caught:
            parse_config(conf, args)
        assert str(caught.value) == message


def test_a_bad_file_in_a_config_dir_is_named(tmp_path) -> None:
    folder = tmp_path / "conf.d"
    folder.mkdir()
    write(folder, "[conductor]\nrole = cell\n", "10-ok.conf")
    bad = write(folder, "[conductor]\nrole = both\n", "20-bad.conf")
    with pytest.raises(ConfigFileError) as caught:
        parse_config(fresh_conf(), ["--config-dir", str(folder)])
    assert str(caught.value).startswith(f"{bad}: conductor.role: invalid value 'both'")


def test_good_files_are_read_and_other_programs_sections_ignored(tmp_path) -> None:
    conf = fresh_conf()
    parse_config(conf, ["--config-file", write(tmp_path, (
        "[DEFAULT]\nhost = c1\n[conductor]\nrole = cell\n[scheduler]\nmax_attempts = 5\n"
        "[keystone_authtoken]\nwhatever = x\n[scheduler]\nnot_an_option = y\n"))])
    assert (conf.host, conf.conductor.role, conf.scheduler.max_attempts) == ("c1", "cell", 5)


def test_a_daemon_exits_2_with_one_line_on_stderr(tmp_path, capsys) -> None:
    path = write(tmp_path, "[scheduler]\nmax_attempts = zero\n")
    with pytest.raises(SystemExit) as caught:
        daemon.load_conf(["--config-file", path], [scheduler.conf.register_opts])
    assert caught.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.endswith(f": {path}: scheduler.max_attempts: invalid value 'zero': "
                         "invalid literal for int() with base 10: 'zero'")


def test_altsim_manage_returns_2_naming_file_option_and_value(tmp_path, capsys) -> None:
    path = write(tmp_path, "[api_database]\nconnection = sqlite://\n[placement]\ntimeout = x\n")
    assert manage.main(["--config-file", path, "cell", "list"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"altsim-manage: error: configuration: {path}: placement.timeout: invalid value 'x': "
        "could not convert string to float: 'x'")
