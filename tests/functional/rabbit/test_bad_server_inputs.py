"""Bad credentials for the broker or the database server are refused before a launched run
starts anything: exit 2 within seconds, one line naming the server and the problem (they were
ignored before: each level got a user of its own, so the URL's password was never tried).

The refusals that need no live server (a closed port, an unknown host, a bad URL) are in
tests/unit/test_bad_inputs.py.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy.engine import make_url

from altsim_lab.cmd import altsim
from altsim_lab.deploy.rabbit_users import with_credentials

pytestmark = pytest.mark.rabbit

SCENARIO = Path(__file__).parents[3] / "etc" / "altsim" / "scenarios" / "reschedule-once.yaml"


def _run(capsys, *options: str) -> tuple[int, str, float]:
    started = time.monotonic()
    code = altsim.main(["run", str(SCENARIO), *options])
    return code, capsys.readouterr().err, time.monotonic() - started


@pytest.mark.parametrize(("user", "password"), [("guest", "not-guests-password"),
                                                   ("nobody-at-all", "its-password")],
                         ids=["wrong-password", "unknown-user"])
def test_a_refused_broker_login_is_one_line(rabbit_url: str, capsys, user: str,
                                            password: str) -> None:
    address = urlsplit(rabbit_url).netloc.rpartition("@")[2]
    code, err, elapsed = _run(capsys, "--transport-url",
                              with_credentials(rabbit_url, user, password))
    assert code == 2, err
    assert err.splitlines() == [f"error: --transport-url: RabbitMQ at {address} refused the "
                                f"login of user {user!r}: wrong user name or password"]
    assert password not in err
    assert elapsed < 10


def test_a_refused_database_login_is_one_line(rabbit_url: str, postgres_url: str,
                                              capsys) -> None:
    url = make_url(postgres_url).set(username="nobody-at-all", password="its-secret")
    url = url.render_as_string(hide_password=False)
    code, err, elapsed = _run(capsys, "--transport-url", rabbit_url, "--database-url", url)
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert "--database-url: PostgreSQL at " in err and "refused user 'nobody-at-all'" in err
    assert "its-secret" not in err
    assert elapsed < 10
