"""MultiServerRPCServer over the in-memory transport (altsim/multi_server.py): one server for
many `compute.<host>` queues, each message dispatched by the queue it came from."""

from __future__ import annotations

import uuid

import pytest

from altsim import memory_driver, rpc
from altsim.conf import make_conf
from altsim.multi_server import MultiServerRPCServer, QueueDispatcher, UnknownServer
from tests.multi_server_checks import check_dispatch_by_queue


@pytest.fixture
def transport():  # type: ignore[no-untyped-def]
    vhost = f"multi-{uuid.uuid4().hex[:8]}"
    conf = make_conf()
    conf([], project="altsim", default_config_files=[], default_config_dirs=[])
    transport = rpc.get_rpc_transport(conf, f"memory:///{vhost}")
    yield transport
    transport.cleanup()
    memory_driver.delete_vhost(vhost)


def test_every_server_queue_is_served_by_its_own_endpoints(transport):
    check_dispatch_by_queue(transport)


def test_a_message_from_a_queue_of_no_server_is_an_unknown_server():
    class Incoming:
        queue_name = "compute.elsewhere"
        message = {"method": "note"}

    dispatcher = QueueDispatcher("compute", {"host1": []}, rpc.SERIALIZER)
    with pytest.raises(UnknownServer, match="no server of this process consumes queue "
                                            "'compute.elsewhere' \\(method note\\)"):
        dispatcher.dispatch(Incoming())


def test_a_server_needs_at_least_one_server_name(transport):
    with pytest.raises(ValueError, match="needs at least one server name"):
        MultiServerRPCServer(transport, "compute", {}, rpc.SERIALIZER)
