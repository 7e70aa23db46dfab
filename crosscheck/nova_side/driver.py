"""A FakeDriver with the scenario's hosts and faults.

Nova loads its virt driver only as `nova.virt.<compute_driver>`, so the harness registers this
module under DRIVER_MODULE and sets `compute_driver` to DRIVER_PATH. Nova constructs the driver
itself, so what it needs (the hosts' inventories, the fault rules, the recorder) is handed over
through `ScenarioDriver.settings` before any compute starts.

Each host reports the scenario's inventory with its allocation ratios and reserved amounts
(FakeDriver's defaults are one size for all, Nova's conf ratios and 512 MB reserved), its
traits in its provider tree, and its real free disk as `disk_available_least` (FakeDriver
reports 0, which would leave Nova's DiskWeigher nothing to weigh). A spawn is decided by the
fault rules: `reschedule` raises a plain exception, which Nova's compute turns into a
RescheduledException with its text as the reason; `abort` raises BuildAbortException, which
Nova never reschedules.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from nova import exception
from nova.virt import fake

from crosscheck.nova_side.faults import Faults
from crosscheck.nova_side.names import instance_name
from crosscheck.nova_side.recorder import Recorder

DRIVER_MODULE = "nova.virt.crosscheck_scenario"
DRIVER_PATH = "crosscheck_scenario.ScenarioDriver"

# The resource classes FakeDriver reports, with the attribute holding each total.
_STANDARD = {"VCPU": "vcpus", "MEMORY_MB": "memory_mb", "DISK_GB": "local_gb"}
# What a host without a standard class reports for it: Nova's compute node needs all three.
_ABSENT_TOTAL = 1


class SpawnFailed(Exception):
    """A reschedulable spawn failure: Nova's compute reschedules any exception but a few."""


@dataclass
class DriverSettings:
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)   # the plan's host entries
    faults: Faults = field(default_factory=lambda: Faults([], 0))
    recorder: Recorder = field(default_factory=Recorder)
    # Scenario instance name -> the key the fault rules draw on (altsim's uuid for it).
    fault_keys: dict[str, str] = field(default_factory=dict)

    def fault_key(self, instance: Any) -> str:
        name = instance_name(instance.display_name, instance.launch_index)
        return self.fault_keys.get(name, instance.uuid)


class ScenarioDriver(fake.FakeDriver):
    settings: ClassVar[DriverSettings] = DriverSettings()

    def init_host(self, host: str) -> None:
        super().init_host(host)
        spec = self.settings.hosts[host]
        resources = spec["resources"]
        for rc, attribute in _STANDARD.items():
            setattr(self, attribute, resources.get(rc, _ABSENT_TOTAL))
        self.resources = fake.Resources(vcpus=self.vcpus, memory_mb=self.memory_mb,
                                        local_gb=self.local_gb)

    def get_available_resource(self, nodename: str) -> dict[str, Any]:
        status = super().get_available_resource(nodename)
        if status:
            status["disk_available_least"] = self.local_gb - self.resources.local_gb_used
        return status

    def update_provider_tree(self, provider_tree: Any, nodename: str,
                             allocations: Any = None) -> None:
        spec = self.settings.hosts[self._host]
        ratios, reserved = spec.get("allocation_ratio", {}), spec.get("reserved", {})
        inventory = {rc: {"total": total, "min_unit": 1, "max_unit": total, "step_size": 1,
                          "allocation_ratio": float(ratios.get(rc, 1.0)),
                          "reserved": reserved.get(rc, 0)}
                     for rc, total in spec["resources"].items()}
        provider_tree.update_inventory(nodename, inventory)
        # The host's traits, as a virt driver reports its own: Nova's report client creates
        # the custom ones and sets them on the provider.
        if spec.get("traits"):
            provider_tree.add_traits(nodename, *spec["traits"])

    def spawn(self, context: Any, instance: Any, image_meta: Any, injected_files: Any,
              admin_password: Any, allocations: Any, network_info: Any = None,
              block_device_info: Any = None, power_on: bool = True,
              accel_info: Any = None) -> None:
        settings = self.settings
        attempt = settings.recorder.attempt_number(self._host, instance.uuid)
        decision = settings.faults.decide(self._host, settings.fault_key(instance), attempt)
        settings.recorder.spawned(self._host, instance.uuid, decision.action, decision.reason)
        if decision.latency_s:
            time.sleep(decision.latency_s)   # eventlet's: other builds go on meanwhile
        if decision.action == "reschedule":
            raise SpawnFailed(decision.reason)
        if decision.action == "abort":
            raise exception.BuildAbortException(instance_uuid=instance.uuid,
                                                reason=decision.reason)
        if decision.action == "hang":
            raise NotImplementedError("the hang fault has no Nova counterpart here")
        super().spawn(context, instance, image_meta, injected_files, admin_password,
                      allocations, network_info=network_info,
                      block_device_info=block_device_info, power_on=power_on,
                      accel_info=accel_info)
