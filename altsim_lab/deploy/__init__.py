"""How a scenario's services run: in one process (embedded) or launched as daemons over
RabbitMQ, with the databases, vhosts and users each deployment provisions."""
