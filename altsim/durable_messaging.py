"""RabbitMQ defaults with which a broker restart loses no accepted message (docs/reliability.md).

oslo.messaging's rabbit driver already publishes every message persistent (kombu's default
delivery mode) with publisher confirms (its connection sets `confirm_publish`), and retries a
publish on a lost connection until the broker takes it (`retry=None`). What it does not do by
default is keep the queues: with `amqp_durable_queues = false` the `altsim` exchange, every
`<topic>` and `<topic>.<server>` queue and the notification queues are transient, so a restart
deletes them with the casts waiting in them (a build, a reschedule, the runner's completion
events). Every altsim process (daemons, CLI, runner) therefore defaults to durable queues; all of
them must agree, since RabbitMQ refuses to declare a queue again with other durability.

Classic durable queues rather than quorum queues: on one node they survive a restart just the
same, and a quorum queue (a Raft log per queue) for each of 10,000 `compute.<host>` queues would
cost the broker far more memory. `[oslo_messaging_rabbit] rabbit_quorum_queue = true` still works
for a clustered broker. Reply queues stay transient (oslo.messaging's own choice): a reply lost to
a restart is a MessagingTimeout for the caller, which the conductor handles as a failed schedule.

Reconnecting is quicker than oslo.messaging's default too: its wait between attempts grows by 2 s
an attempt up to 30 s, so a broker back after ten seconds could wait half a minute for a daemon;
altsim's grows by 1 s up to 5 s. Operators may set any of these in a config file as usual: these
are defaults only, on the process's own ConfigOpts.
"""

from __future__ import annotations

from oslo_config import cfg

RABBIT_GROUP = "oslo_messaging_rabbit"

DEFAULTS: dict[str, object] = {
    "amqp_durable_queues": True,
    "rabbit_retry_interval": 1,
    "rabbit_retry_backoff": 1,
    "rabbit_interval_max": 5,
}


def register_rabbit_opts(conf: cfg.ConfigOpts) -> None:
    """Register the rabbit driver's options as the driver itself would (the same option
    objects, so registering them again when the driver loads is a no-op)."""
    from oslo_messaging._drivers import amqp, impl_rabbit  # the driver's own option lists

    conf.register_group(cfg.OptGroup(RABBIT_GROUP))
    conf.register_opts(impl_rabbit.rabbit_opts, group=RABBIT_GROUP)
    conf.register_opts(amqp.amqp_opts, group=RABBIT_GROUP)


def apply_defaults(conf: cfg.ConfigOpts) -> None:
    """Make durable queues and quick reconnects this conf's defaults (a config file still
    wins)."""
    register_rabbit_opts(conf)
    for name, value in DEFAULTS.items():
        conf.set_default(name, value, group=RABBIT_GROUP)


def sample_defaults() -> None:
    """oslo-config-generator's hook (entry point oslo.config.opts.defaults): the sample config
    shows altsim's defaults for these options. It changes the option objects themselves, which
    is right for the generator's process only; services use apply_defaults."""
    from oslo_messaging._drivers import amqp, impl_rabbit

    for opt in [*impl_rabbit.rabbit_opts, *amqp.amqp_opts]:
        if opt.name in DEFAULTS:
            opt.default = DEFAULTS[opt.name]
