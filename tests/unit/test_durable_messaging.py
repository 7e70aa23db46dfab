"""altsim.durable_messaging: every altsim process defaults to durable queues and quick
reconnects, on its own ConfigOpts only, and a config file still decides."""

from __future__ import annotations

from pathlib import Path

from oslo_config import cfg

from altsim import durable_messaging, rpc


def test_a_transport_conf_defaults_to_durable_queues_and_quick_reconnects():
    conf = cfg.ConfigOpts()
    conf([], project="altsim", default_config_files=[], default_config_dirs=[])
    transport = rpc.get_rpc_transport(conf, "memory:///durable-test")
    try:
        rabbit = conf.oslo_messaging_rabbit
        assert rabbit.amqp_durable_queues is True
        assert (rabbit.rabbit_retry_interval, rabbit.rabbit_retry_backoff,
                rabbit.rabbit_interval_max) == (1, 1, 5)
    finally:
        transport.cleanup()
    # The process-wide conf is left as oslo.messaging has it.
    other = cfg.ConfigOpts()
    durable_messaging.register_rabbit_opts(other)
    other([], project="altsim", default_config_files=[], default_config_dirs=[])
    assert other.oslo_messaging_rabbit.amqp_durable_queues is False


def test_a_config_file_still_decides(tmp_path: Path):
    path = tmp_path / "altsim.conf"
    path.write_text("[oslo_messaging_rabbit]\namqp_durable_queues = false\n"
                    "rabbit_interval_max = 30\n")
    conf = cfg.ConfigOpts()
    conf(["--config-file", str(path)], project="altsim", default_config_files=[],
         default_config_dirs=[])
    durable_messaging.apply_defaults(conf)
    assert conf.oslo_messaging_rabbit.amqp_durable_queues is False
    assert conf.oslo_messaging_rabbit.rabbit_interval_max == 30
    assert conf.oslo_messaging_rabbit.rabbit_retry_backoff == 1
