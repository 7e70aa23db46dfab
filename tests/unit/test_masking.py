"""altsim.masking: passwords and tokens read *** in every text altsim shows."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from oslo_config import cfg

from altsim import masking
from altsim.conf import make_conf
from altsim.config_files import ConfigFileError, parse_config
from altsim.db.api import CellMapping
from altsim.masking import (
    MASK,
    MaskingFormatter,
    install_log_masking,
    mask_config,
    mask_text,
    mask_url,
    register_conf_secrets,
    register_secret,
    secret_options,
    url_passwords,
)
from placement_sim import conf as placement_conf


@pytest.mark.parametrize(("text", "masked"), [
    ("rabbit://guest:s3cret@127.0.0.1:5672/vh", "rabbit://guest:***@127.0.0.1:5672/vh"),
    ("AMQP rabbit://u:pw@h1:5672,v:pw2@h2/ failed",
     "AMQP rabbit://u:***@h1:5672,v:***@h2/ failed"),
    ("postgresql+psycopg://postgres:p%40ss@db:5432/x",
     "postgresql+psycopg://postgres:***@db:5432/x"),
    ("a password with an @ in it: rabbit://u:p@ss@h/", "a password with an @ in it: "
                                                       "rabbit://u:***@h/"),
    ("<TransportHost hostname='h', username='u', password='pw'>",
     "<TransportHost hostname='h', username='u', password='***'>"),
    ("auth_token = abc", "auth_token = ***"),
    ('{"auth_token": "abc"}', '{"auth_token": "***"}'),
    ("X-Auth-Token: abcdef", "X-Auth-Token: ***"),
    ("none:/// rabbit://guest@h/ sqlite:////tmp/a.db", "none:/// rabbit://guest@h/ "
                                                       "sqlite:////tmp/a.db"),
])
def test_mask_text(text: str, masked: str):
    assert mask_text(text) == masked


def test_mask_url_is_the_cell_listings_masking():
    assert mask_url("rabbit://u:pw@h1:5672,v:pw2@h2/vh") == "rabbit://u:***@h1:5672,v:***@h2/vh"
    assert mask_url("mysql+pymysql://nova:pw@db/nova?x=1") == "mysql+pymysql://nova:***@db/nova?x=1"
    assert mask_url("none:///") == "none:///"
    assert mask_url("http://[::1") == MASK  # does not parse: nothing of it is shown


def test_url_passwords_as_written_and_decoded():
    assert url_passwords("rabbit://u:p%40ss@h1,v:x@h2/") == ["p%40ss", "p@ss", "x", "x"]
    assert url_passwords("rabbit://guest@h/") == []


def test_registered_literals_are_masked_anywhere_but_short_ones_are_not():
    register_secret("a-long-token-registered-1234", "short")
    assert mask_text("token a-long-token-registered-1234 here") == "token *** here"
    assert mask_text("a short word") == "a short word"


def test_a_daemons_secret_options_are_registered_from_its_conf(tmp_path: Path):
    conf = make_conf([placement_conf.register_opts])
    path = tmp_path / "a.conf"
    path.write_text("[DEFAULT]\ntransport_url = rabbit://u:bus-secret-0001@h/\n"
                    "[database]\nconnection = sqlite:////tmp/not-a-secret.db\n"
                    "[placement]\nauth_token = placement-secret-0001\n")
    conf(["--config-file", str(path)], default_config_files=[], default_config_dirs=[])
    assert {"transport_url", "database.connection", "api_database.connection",
            "placement.auth_token"} <= set(secret_options(conf))
    register_conf_secrets(conf)
    shown = mask_text("bus-secret-0001, placement-secret-0001, sqlite:////tmp/not-a-secret.db")
    assert shown == "***, ***, sqlite:////tmp/not-a-secret.db"


def test_a_scenario_config_is_shown_with_secret_options_masked():
    config = {"transport_url": "rabbit://u:pw@h/", "placement.auth_token": "tok",
              "database.connection": "postgresql://u:pw@h/db", "scheduler.max_attempts": 3,
              "filter_scheduler.static_host_weights": {"host1": 30}}
    assert mask_config(config, ["placement.auth_token"]) == {
        "transport_url": "rabbit://u:***@h/", "placement.auth_token": MASK,
        "database.connection": "postgresql://u:***@h/db", "scheduler.max_attempts": 3,
        "filter_scheduler.static_host_weights": {"host1": 30}}


def test_the_log_formatter_masks_the_message_its_arguments_and_the_traceback():
    logger = logging.getLogger("test-masking")
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)  # whatever an earlier test left the root logger at
    try:
        install_log_masking(logger)
        install_log_masking(logger)  # once is enough: not wrapped twice
        assert isinstance(handler.formatter, MaskingFormatter)
        assert not isinstance(handler.formatter.inner, MaskingFormatter)
        logger.warning("connecting to %s", "rabbit://u:arg-secret@h/")
        try:
            raise RuntimeError("cannot reach postgresql://u:exc-secret@db/x")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
    text = "\n".join(records)
    assert "arg-secret" not in text and "exc-secret" not in text
    assert "WARNING connecting to rabbit://u:***@h/" in text
    assert "RuntimeError: cannot reach postgresql://u:***@db/x" in text


def test_a_cell_mapping_never_shows_its_passwords():
    mapping = CellMapping("u", "cell1", "rabbit://c:bus-pw@h/c1", "postgresql://c:db-pw@h/c1")
    assert "bus-pw" not in repr(mapping) and "db-pw" not in repr(mapping)
    assert "rabbit://c:***@h/c1" in repr(mapping)


def test_a_bad_config_value_of_a_secret_option_is_not_echoed(tmp_path: Path):
    conf = make_conf([placement_conf.register_opts])
    path = tmp_path / "bad.conf"
    path.write_text("[DEFAULT]\ntransport_url = rabbit://u:subst-secret-0001@h/$nosuch\n")
    with pytest.raises(ConfigFileError) as err:
        parse_config(conf, ["--config-file", str(path)])
    assert "transport_url" in str(err.value)
    assert "subst-secret-0001" not in str(err.value)


def test_a_non_secret_bad_value_is_still_named_with_its_value(tmp_path: Path):
    conf = make_conf([placement_conf.register_opts])
    path = tmp_path / "bad.conf"
    path.write_text("[placement]\ntimeout = soon\n")
    with pytest.raises(ConfigFileError, match="placement.timeout: invalid value 'soon'"):
        parse_config(conf, ["--config-file", str(path)])


def test_secret_options_lists_group_options_by_their_dotted_key():
    conf = cfg.ConfigOpts()
    conf.register_opts([cfg.StrOpt("pw", secret=True), cfg.StrOpt("plain")], group="g")
    conf.register_opts([cfg.StrOpt("top", secret=True)])
    assert sorted(masking.secret_options(conf)) == ["g.pw", "top"]


def test_a_launch_error_quotes_a_daemons_output_with_its_secrets_masked(tmp_path: Path):
    import sys

    from altsim_lab.deploy.process import LaunchError, ServiceProcess

    register_secret("launcher-token-0123456789")
    script = ("print('connecting to rabbit://cell1:daemon-pw-0001@h/cell1'); "
              "print('token launcher-token-0123456789'); raise SystemExit(3)")
    process = ServiceProcess("fake", [sys.executable, "-c", script], tmp_path / "fake.log")
    with pytest.raises(LaunchError) as err:
        process.wait_ready(30)
    message = str(err.value)
    assert "fake exited with 3" in message
    assert "rabbit://cell1:***@h/cell1" in message and "token ***" in message
    for text in (message, (tmp_path / "fake.log").read_text()):
        assert "daemon-pw-0001" not in text and "launcher-token-0123456789" not in text
