"""Before a launched run starts anything: is the broker (and the database server) there, and does
it take the URL's credentials?

A launched run otherwise finds out from its daemons, each retrying its connection for a minute
and printing a page of output before giving up. Each probe here connects once, logs in as the
URL says and says in one line what is wrong, within PROBE_TIMEOUT_S however the network
behaves (the probe runs in a thread of its own, so a name lookup that hangs cannot stall it).
Passwords are never part of a message.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import amqp
import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy.engine import URL
from sqlalchemy.pool import NullPool

PROBE_TIMEOUT_S = 5.0
_CONNECT_TIMEOUT_S = 3.0
AMQP_PORT = 5672
POSTGRES_PORT = 5432


class ProbeError(RuntimeError):
    """The server is not there, or refused the URL's credentials; the message says which."""


@dataclass(frozen=True)
class BrokerHost:
    """One `user:password@host:port` of a rabbit:// URL (oslo.messaging's defaults filled in)."""

    host: str
    port: int
    user: str
    password: str

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def broker_hosts(url: str) -> list[BrokerHost]:
    """The hosts of a rabbit:// URL, in order (several, comma-separated, for a cluster);
    ValueError naming what is malformed."""
    hosts = []
    for entry in urlsplit(url).netloc.split(","):
        parts = urlsplit(f"//{entry}")
        try:
            port = parts.port or AMQP_PORT
        except ValueError:
            raise ValueError(f"bad port in {entry.rpartition('@')[2]!r}") from None
        if not parts.hostname:
            raise ValueError("no host in the URL")
        hosts.append(BrokerHost(parts.hostname, port, unquote(parts.username or "guest"),
                                unquote(parts.password or "guest")))
    return hosts


def probe_broker(hosts: list[BrokerHost]) -> None:
    """ProbeError unless one of the hosts (a cluster needs one up) takes the login."""
    problems = []
    for host in hosts:
        try:
            _within_timeout(lambda host=host: _amqp_login(host), host.address, "RabbitMQ")
            return
        except ProbeError as exc:
            problems.append(str(exc))
    raise ProbeError("; ".join(problems))


def _amqp_login(host: BrokerHost) -> None:
    # vhost "/": altsim makes the run's vhosts afterwards. A user with no permission there is
    # refused the vhost (NOT_ALLOWED) only after its login was accepted, which is all we ask.
    connection = amqp.Connection(host=host.address, userid=host.user, password=host.password,
                                 virtual_host="/", connect_timeout=_CONNECT_TIMEOUT_S,
                                 read_timeout=_CONNECT_TIMEOUT_S,
                                 write_timeout=_CONNECT_TIMEOUT_S)
    try:
        connection.connect()
        connection.close()
    except amqp.exceptions.AccessRefused:
        raise ProbeError(f"RabbitMQ at {host.address} refused the login of user "
                         f"{host.user!r}: wrong user name or password") from None
    except amqp.exceptions.NotAllowed:
        return
    except (OSError, amqp.exceptions.AMQPError) as exc:
        raise ProbeError(f"cannot reach RabbitMQ at {host.address}: "
                         f"{_network_problem(exc)}") from None
    finally:
        connection.collect()


def probe_database_server(url: URL) -> None:
    """ProbeError unless the PostgreSQL server answers, takes the login, and lets the user
    create databases (each run makes its own)."""
    address = f"{url.host or 'localhost'}:{url.port or POSTGRES_PORT}"
    _within_timeout(lambda: _postgres_login(url, address), address, "PostgreSQL")


def _postgres_login(url: URL, address: str) -> None:
    if url.host and not url.host.startswith("/"):  # a TCP server, not a Unix socket folder
        try:
            socket.create_connection((url.host, url.port or POSTGRES_PORT),
                                     _CONNECT_TIMEOUT_S).close()
        except OSError as exc:
            raise ProbeError(f"cannot reach PostgreSQL at {address}: "
                             f"{_network_problem(exc)}") from None
    maintenance = url if url.database else url.set(database="postgres")
    try:
        engine = sa.create_engine(maintenance, poolclass=NullPool,
                                  connect_args={"connect_timeout": int(_CONNECT_TIMEOUT_S)})
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        raise ProbeError(f"the driver of {url.drivername} is not installed ({exc}); altsim "
                         f"installs psycopg: postgresql+psycopg://...") from None
    try:
        with engine.connect() as conn:
            allowed = conn.execute(sa.text(
                "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
            )).scalar()
    except sa.exc.SQLAlchemyError as exc:
        raise ProbeError(f"PostgreSQL at {address} refused user {url.username!r}: "
                         f"{_server_message(exc)}") from None
    finally:
        engine.dispose()
    if not allowed:
        raise ProbeError(f"PostgreSQL user {url.username!r} at {address} may not create "
                         f"databases (it needs CREATEDB: each run creates its own)")


def _within_timeout(probe: Callable[[], None], address: str, what: str) -> None:
    """Run `probe` in a thread; ProbeError if it has not answered in PROBE_TIMEOUT_S."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            probe()
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            outcome.append(exc)

    thread = threading.Thread(target=run, name=f"probe-{address}", daemon=True)
    thread.start()
    thread.join(PROBE_TIMEOUT_S)
    if not outcome:
        raise ProbeError(f"cannot reach {what} at {address}: no answer within "
                         f"{PROBE_TIMEOUT_S:.0f} s")
    if outcome[0] is not None:
        raise outcome[0]


def _network_problem(exc: BaseException) -> str:
    """An OSError (or a connection closed mid-handshake) as a short phrase."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name ({exc.strerror})"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"no answer within {_CONNECT_TIMEOUT_S:.0f} s"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror[:1].lower() + exc.strerror[1:]
    text = " ".join(str(exc).split())
    return f"{text[:1].lower()}{text[1:]} (is it RabbitMQ, on its AMQP port?)"


def _server_message(exc: sa.exc.SQLAlchemyError) -> str:
    """The server's own reason (psycopg's `FATAL:  ...`), on one line."""
    text = " ".join(str(getattr(exc, "orig", None) or exc).split())
    return text.rpartition("FATAL: ")[2] or text
