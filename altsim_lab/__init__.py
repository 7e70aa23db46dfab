"""The lab: what composes altsim's services into runs.

Scenarios and their runner, deployments (embedded, launched over RabbitMQ), reports, pictures,
sweeps, the client and admin commands, and the code that plays nova-api. It imports every
service; no service and nothing in the kernel (`altsim`) imports it.
"""
