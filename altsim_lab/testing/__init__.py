"""What altsim's tests are built from, for this repository's tests and for a user's.

    from altsim_lab.testing import Cloud     # a whole cloud driven from a test (or the
                                             # `altsim_cloud` fixture of the pytest plugin)

    from altsim_lab.testing import Loopback, World, make_test_conf

- conf: make_test_conf(), a private ConfigOpts with every option, overrides by "group.name";
- world: World, a real API DB, cell0, cells, hosts and in-process placement in a folder,
  with the test data it uses (SMALL, PROJECT, USER, instance_uuid());
- fakes: recorders standing in for the RPC APIs (FakeComputeAPI, FakeConductorAPI,
  FakeSchedulerAPI, FakeNotifier) and ScriptedPlacement, real placement with scripted claims;
- loopback: Loopback, a World's whole build path run synchronously, reschedules included;
- process: ServiceProcesses, daemons a test starts and is sure to stop (each a
  ServiceProcess, waited for on a line it prints);
- servers: is a real RabbitMQ or PostgreSQL there (for a tier to skip or fail on), and what
  databases are on it.

Tests on the in-memory transport wait with altsim.memory_driver.join() (every message sent
handled), never with a sleep. Nothing here imports pytest: fixtures are built from these.
"""

from altsim_lab.deploy.process import LaunchError, ServiceProcess
from altsim_lab.testing.cloud import Cloud
from altsim_lab.testing.cloud_spec import CloudError
from altsim_lab.testing.conf import SERVICE_OPTION_PACKAGES, make_test_conf
from altsim_lab.testing.fakes import (
    BuildCast,
    FakeComputeAPI,
    FakeConductorAPI,
    FakeNotifier,
    FakeSchedulerAPI,
    RescheduleCast,
    ScriptedPlacement,
    TokenlessStore,
    fill,
)
from altsim_lab.testing.loopback import Loopback
from altsim_lab.testing.process import ServiceProcesses
from altsim_lab.testing.server import Attempt, Server
from altsim_lab.testing.servers import (
    broker_problem,
    maintenance_connection,
    postgres_databases,
    postgres_problem,
)
from altsim_lab.testing.world import (
    HOST_RESOURCES,
    PROJECT,
    SMALL,
    USER,
    UUID_NAMESPACE,
    World,
    instance_uuid,
)

__all__ = [
    "HOST_RESOURCES", "PROJECT", "SERVICE_OPTION_PACKAGES", "SMALL", "USER", "UUID_NAMESPACE",
    "Attempt", "Cloud", "CloudError", "Server",
    "BuildCast", "FakeComputeAPI", "FakeConductorAPI", "FakeNotifier", "FakeSchedulerAPI",
    "LaunchError", "Loopback", "RescheduleCast", "ScriptedPlacement", "ServiceProcess",
    "TokenlessStore",
    "ServiceProcesses", "World", "broker_problem", "fill", "instance_uuid",
    "maintenance_connection", "make_test_conf", "postgres_databases", "postgres_problem",
]
