"""The deterministic runtime: a seeded scheduler of real threads in simulated time (scheduler),
and the oslo.messaging executor that hands each message to it (executor)."""
