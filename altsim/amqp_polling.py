"""How often the rabbit driver's listeners wake up when no message comes.

oslo.messaging's AMQP listeners wait for the next message with a timeout that starts at
ACK_REQUEUE_EVERY_SECONDS_MIN (1 ms) after every message and doubles on each empty wait, so
that acknowledgements other threads queued are sent soon. A daemon receiving a message every
few milliseconds therefore wakes up empty-handed several times between any two messages, and
each wake-up goes through kombu's retry machinery and an exception: measured, most of a
conductor's CPU per build. A message still ends the wait at once, whatever the timeout, so a
longer minimum only delays the queued acknowledgements, and the RPC listeners altsim runs
queue none (they acknowledge in the consuming thread; notification listeners, the runner's,
do queue theirs, and send them within MIN_WAKEUP_S).
"""

from __future__ import annotations

from oslo_messaging._drivers import amqpdriver

# Seconds: short enough that a notification listener's acknowledgements go out well within a
# broker's patience, long enough that an idle wait costs nothing.
MIN_WAKEUP_S = 0.1


def apply() -> None:
    """Raise the rabbit driver's minimum wait (a module constant it reads on every wait)."""
    amqpdriver.ACK_REQUEUE_EVERY_SECONDS_MIN = max(amqpdriver.ACK_REQUEUE_EVERY_SECONDS_MIN,
                                                   MIN_WAKEUP_S)
