"""MultiServerRPCServer over RabbitMQ: the rabbit driver's listener and connection, used
through oslo.messaging's private API (altsim/multi_server.py), consume every server's queue on
one connection and dispatch by queue; an oslo.messaging upgrade that changes them fails here."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator

import pytest

from altsim import rpc
from altsim.conf import make_conf
from altsim_lab.deploy.launcher import rabbitmqctl, vhost_url
from tests.multi_server_checks import check_dispatch_by_queue

pytestmark = pytest.mark.rabbit


@pytest.fixture
def vhost(rabbit_url: str) -> Iterator[str]:
    name = f"altsim-test-multi-{uuid.uuid4().hex[:8]}"
    rabbitmqctl("add_vhost", name)
    rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    yield name
    rabbitmqctl("delete_vhost", name)


def connections(vhost: str) -> int:
    out = subprocess.run(["rabbitmqctl", "-q", "list_connections", "vhost"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return sum(1 for line in out.splitlines() if line.strip() == vhost)


def test_many_servers_on_one_connection_dispatch_by_queue(rabbit_url: str, vhost: str):
    conf = make_conf()
    conf([], project="altsim", default_config_files=[], default_config_dirs=[])
    transport = rpc.get_rpc_transport(conf, vhost_url(rabbit_url, vhost))
    def one_connection_consumes_all(server) -> None:  # type: ignore[no-untyped-def]
        # The 200 queues are consumed on the listener's one connection (the client's sends
        # and replies have connections of their own)
        consumers = server.listener._poll_style_listener.conn.connection._consumers
        assert sorted(c.queue_name for c in consumers) == [f"compute.host{i:03d}"
                                                         for i in range(200)]

    try:
        check_dispatch_by_queue(transport, servers=200, also=one_connection_consumes_all)
    finally:
        transport.cleanup()
    assert connections(vhost) == 0
