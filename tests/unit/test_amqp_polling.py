"""altsim raises oslo.messaging's rabbit listener wake-up floor (altsim/amqp_polling.py): the
constant it patches must exist, and every transport altsim makes applies it."""

from __future__ import annotations

import uuid

from oslo_messaging._drivers import amqpdriver

from altsim import amqp_polling, memory_driver, rpc
from altsim.conf import make_conf


def test_every_transport_raises_the_rabbit_listeners_wakeup_floor(monkeypatch):
    monkeypatch.setattr(amqpdriver, "ACK_REQUEUE_EVERY_SECONDS_MIN", 0.001)
    conf = make_conf()
    conf([], project="altsim", default_config_files=[], default_config_dirs=[])
    vhost = f"poll-{uuid.uuid4().hex[:8]}"
    transport = rpc.get_notification_transport(conf, f"memory:///{vhost}")
    transport.cleanup()
    memory_driver.delete_vhost(vhost)
    assert amqpdriver.ACK_REQUEUE_EVERY_SECONDS_MIN == amqp_polling.MIN_WAKEUP_S
    # below oslo.messaging's own ceiling, so the doubling still has room
    assert amqp_polling.MIN_WAKEUP_S < amqpdriver.ACK_REQUEUE_EVERY_SECONDS_MAX
