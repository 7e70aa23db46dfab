"""altsim.daemon.startup_problem: which exceptions met while a daemon starts are configuration
problems (one line, exit 2), and what the line says; anything else keeps its traceback."""

from __future__ import annotations

import sqlite3

import amqp.exceptions
import pytest
import sqlalchemy.exc

from altsim import daemon


def _db_error(kind: type, message: str) -> Exception:
    return kind("SELECT 1", {}, sqlite3.OperationalError(message))


@pytest.mark.parametrize(("exc", "says"), [
    (amqp.exceptions.AccessRefused("ACCESS_REFUSED - Login was refused"),
     "the broker refused the login (ACCESS_REFUSED - Login was refused): check the user and "
     "password of transport_url"),
    (amqp.exceptions.NotAllowed("NOT_ALLOWED - access to vhost 'x' refused"),
     "the broker refused the vhost (NOT_ALLOWED - access to vhost 'x' refused): check the "
     "vhost of transport_url"),
    (_db_error(sqlalchemy.exc.OperationalError, "no such table: cell_mappings"),
     "a database has no altsim schema (no such table: cell_mappings): create the API and cell "
     "schemas with `altsim-manage db sync`"),
    (_db_error(sqlalchemy.exc.ProgrammingError, 'relation "instances" does not exist'),
     'a database has no altsim schema (relation "instances" does not exist): create the API '
     "and cell schemas with `altsim-manage db sync`"),
    (_db_error(sqlalchemy.exc.OperationalError, "unable to open database file"),
     "cannot use a database (unable to open database file): check its [database] connection"),
], ids=["login", "vhost", "no-table", "no-relation", "unreachable"])
def test_configuration_problems_are_one_line_naming_what_to_check(exc, says):
    assert daemon.startup_problem(exc) == says


def test_anything_else_is_not_a_startup_problem_and_keeps_its_traceback():
    assert daemon.startup_problem(RuntimeError("a bug")) is None

    @daemon.refusing_startup_problems
    def main() -> int:
        """The daemon's own doc."""
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError, match="a bug"):
        main()
    assert main.__doc__ == "The daemon's own doc."


def test_a_wrapped_main_exits_2_with_the_line(capsys):
    @daemon.refusing_startup_problems
    def main() -> int:
        raise amqp.exceptions.AccessRefused("ACCESS_REFUSED")

    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert "the broker refused the login (ACCESS_REFUSED)" in capsys.readouterr().err
