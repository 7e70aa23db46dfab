"""One RabbitMQ user per level of a launched run: the broker, not only the config files, keeps
a cell's services out of the API vhost.

Each vhost of the run (the API's, each cell's) gets a user of the same name with a random
password and permissions on that vhost only; the run's URLs carry each level's user, so a
cell's services, configured with their cell's URL, hold credentials that the broker refuses on
any other vhost. The super conductor reaches the cells with the users in the cell mappings
(as Nova's reaches them with the cell mappings' URLs), the runner and the API services with the
API user. Nothing here talks to the broker: the launcher imports `broker_definitions` (every
vhost, user and permission of the run in one `rabbitmqctl import_definitions`, which carries
password hashes, never a password) and deletes them at the end.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from altsim_lab.scenario.topology import Topology


@dataclass(frozen=True)
class LevelUser:
    vhost: str
    name: str
    password: str


def vhost_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def with_credentials(url: str, user: str, password: str) -> str:
    """`url` with every host's credentials replaced by user:password (percent-encoded)."""
    parts = urlsplit(url)
    creds = f"{quote(user, safe='')}:{quote(password, safe='')}@"
    hosts = [entry.rpartition("@")[2] for entry in parts.netloc.split(",")]
    return urlunsplit(parts._replace(netloc=",".join(creds + host for host in hosts)))


def plan_users(topology: Topology) -> dict[str, LevelUser]:
    """vhost -> its user: one per bus of the run (a legacy_retry cell shares the API's)."""
    urls = [topology.api_transport_url, *(cell.mapping.transport_url for cell in topology.cells)]
    return {vhost: LevelUser(vhost, vhost, secrets.token_urlsafe(18))
            for vhost in dict.fromkeys(vhost_of(url) for url in urls)}


def topology_with_users(topology: Topology, users: dict[str, LevelUser]) -> Topology:
    """The same topology, each transport URL carrying its own level's user."""
    def url(plain: str) -> str:
        user = users[vhost_of(plain)]
        return with_credentials(plain, user.name, user.password)

    cells = [dataclasses.replace(cell, mapping=dataclasses.replace(
        cell.mapping, transport_url=url(cell.mapping.transport_url)))
        for cell in topology.cells]
    return dataclasses.replace(topology, api_transport_url=url(topology.api_transport_url),
                               cells=cells)


ALL = ".*"


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password)),
    with a 4-byte random salt."""
    salt = os.urandom(4) if salt is None else salt
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def broker_definitions(vhosts: list[str], users: dict[str, LevelUser],
                       shared_user: str) -> dict[str, Any]:
    """What `rabbitmqctl import_definitions` creates for a run: its vhosts, and on each full
    permissions for its level's user (made here), or for `shared_user` (one that exists
    already, the base URL's) where a vhost has no user of its own."""
    made = [users[vhost] for vhost in vhosts if vhost in users]
    return {
        "vhosts": [{"name": vhost} for vhost in vhosts],
        "users": [{"name": user.name, "password_hash": password_hash(user.password),
                   "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": []}
                  for user in made],
        "permissions": [{"user": users[vhost].name if vhost in users else shared_user,
                         "vhost": vhost, "configure": ALL, "write": ALL, "read": ALL}
                        for vhost in vhosts],
    }
