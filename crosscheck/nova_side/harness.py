"""The scenario as a Nova functional test, on Nova's own fixtures.

`ProviderUsageBaseTestCase` gives the real REST API (wsgi-intercept), one conductor service
(super and cell roles, as Nova's functional tests run it), the scheduler with the configured
filters and weighers, and real Placement (PlacementFixture); this case adds one compute per
scenario host, each a real ComputeManager and resource tracker over `ScenarioDriver`, in the
scenario's cells (Nova's cell1, cell2, ... in scenario order), and creates the host
aggregates (with their metadata and hosts) and the flavors (with their extra specs) through
the API. The plan's flags are set before the base class starts the scheduler (which reads its
filters and weighers once), and `build_failure_weight_multiplier` again after, because
`nova.test.TestCase.setUp` sets it to 0.0 for every test.
"""

from __future__ import annotations

import functools
import inspect
import sys
import time
import unittest
from typing import Any, ClassVar

import fixtures
from nova.compute import api as compute_api
from nova.compute import manager as compute_manager
from nova.objects import instance as instance_obj
from nova.scheduler import manager as scheduler_manager
from nova.scheduler import utils as scheduler_utils
from nova.tests.functional import integrated_helpers

from crosscheck.nova_side import driver as driver_module
from crosscheck.nova_side.faults import Faults
from crosscheck.nova_side.recorder import Recorder
from crosscheck.nova_side.results import ReportBuilder
from crosscheck.nova_side.weigher import StaticWeigher
from crosscheck.nova_side.workload import Workload

# Written in the working directory (crosscheck.nova_run runs the Nova side in its workdir).
TEST_LOG = "nova-test.log"
_STANDARD_FLAVOR_FIELDS = {"VCPU": "vcpu", "MEMORY_MB": "memory_mb", "DISK_GB": "disk"}


class ScenarioTestCase(integrated_helpers.ProviderUsageBaseTestCase):
    compute_driver = driver_module.DRIVER_PATH
    plan: ClassVar[dict[str, Any]] = {}
    output: ClassVar[dict[str, Any]] = {}

    def setUp(self) -> None:
        sys.modules[driver_module.DRIVER_MODULE] = driver_module
        self.recorder = Recorder()
        self._configure_plugins()
        for group, name, value in self.plan["flags"]:
            self.flags(group=group, **{name: value})
        super().setUp()
        self.addCleanup(self._save_log)
        for group, name, value in self.plan["flags_after_setup"]:
            self.flags(group=group, **{name: value})
        self._record()
        self._start_computes()
        self._create_aggregates()
        extra_specs = self.plan.get("flavor_extra_specs", {})
        self.flavor_ids = {name: self._flavor(name, resources, extra_specs.get(name, {}))
                           for name, resources in self.plan["flavors"].items()}

    def _save_log(self) -> None:
        """Nova's log of the run (INFO, DEBUG with OS_DEBUG=1), which its logging fixture
        would otherwise keep only for a failed test."""
        with open(TEST_LOG, "w") as log:
            log.write(self.stdlog.logger.output)

    def _configure_plugins(self) -> None:
        plan = self.plan
        driver_module.ScenarioDriver.settings = driver_module.DriverSettings(
            hosts={host["name"]: host for cell in plan["cells"] for host in cell["hosts"]},
            faults=Faults(plan["faults"], plan["seed"], plan["time_scale"]),
            recorder=self.recorder,
            fault_keys=dict(plan["fault_keys"]))
        StaticWeigher.host_weights = {host: float(weight)
                                      for host, weight in plan["static_weights"].items()}
        StaticWeigher.multiplier = float(plan["static_weight_multiplier"])

    def _start_computes(self) -> None:
        for index, cell in enumerate(self.plan["cells"]):
            for host in cell["hosts"]:
                self._start_compute(host["name"], cell_name=f"cell{index + 1}")

    def _create_aggregates(self) -> None:
        """The scenario's host aggregates through Nova's API, as an operator makes them: the
        aggregate, its metadata, its hosts (which nova-api mirrors into placement)."""
        members: dict[str, list[str]] = {}
        for cell in self.plan["cells"]:
            for host in cell["hosts"]:
                for name in host.get("aggregates", []):
                    members.setdefault(name, []).append(host["name"])
        for name, metadata in self.plan.get("aggregates", {}).items():
            aggregate_id = self._create_aggregate(name)
            if metadata:
                self.admin_api.post_aggregate_action(
                    aggregate_id, {"set_metadata": {"metadata": metadata}})
            for host in members.get(name, []):
                self.admin_api.add_host_to_aggregate(aggregate_id, host)

    def _flavor(self, name: str, resources: dict[str, int],
                extra_specs: dict[str, str]) -> str:
        fields = {field: resources.get(rc, 0) for rc, field in _STANDARD_FLAVOR_FIELDS.items()}
        extra = {f"resources:{rc}": str(amount) for rc, amount in resources.items()
                 if rc not in _STANDARD_FLAVOR_FIELDS}
        extra.update(extra_specs)
        # The API wants at least one VCPU and one MB; resources:RC=0 takes a class out again.
        for rc, field in (("VCPU", "vcpu"), ("MEMORY_MB", "memory_mb")):
            if not fields[field]:
                fields[field] = 1
                extra[f"resources:{rc}"] = "0"
        return self._create_flavor(name=name, ephemeral=0, swap=0,
                                   extra_spec=extra or None, **fields)

    def _record(self) -> None:
        """Wrap where Nova decides, so the recorder sees each decision (module docstring of
        crosscheck.nova_side.recorder)."""
        recorder = self.recorder
        select = scheduler_manager.SchedulerManager.select_destinations

        @functools.wraps(select)
        def select_destinations(manager: Any, ctxt: Any, *args: Any, **kwargs: Any) -> Any:
            selections = select(manager, ctxt, *args, **kwargs)
            if kwargs.get("return_objects") and kwargs.get("instance_uuids"):
                recorder.selected(kwargs["instance_uuids"], selections)
            return selections

        claim = scheduler_utils.claim_resources

        @functools.wraps(claim)
        def claim_resources(ctx: Any, client: Any, spec_obj: Any, instance_uuid: str,
                            alloc_req: dict[str, Any], *args: Any, **kwargs: Any) -> bool:
            ok = claim(ctx, client, spec_obj, instance_uuid, alloc_req, *args, **kwargs)
            recorder.claimed(instance_uuid, alloc_req, ok)
            return ok

        build = compute_manager.ComputeManager._do_build_and_run_instance
        signature = inspect.signature(build)

        @functools.wraps(build)
        def do_build(manager: Any, *args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(manager, *args, **kwargs).arguments
            instance = bound["instance"]
            retry = (bound.get("filter_properties") or {}).get("retry") or {}
            recorder.build_started(manager.host, instance.uuid, retry.get("num_attempts", 1))
            result = build(manager, *args, **kwargs)
            recorder.build_finished(manager.host, instance.uuid, result)
            return result

        self.useFixture(fixtures.MockPatchObject(
            scheduler_manager.SchedulerManager, "select_destinations", select_destinations))
        self._record_lifecycle()
        self.useFixture(fixtures.MockPatchObject(scheduler_utils, "claim_resources",
                                                 claim_resources))
        self.useFixture(fixtures.MockPatchObject(
            compute_manager.ComputeManager, "_do_build_and_run_instance", do_build))

    def _record_lifecycle(self) -> None:
        """Which instances each multi-create made, and when each instance is finished."""
        recorder = self.recorder
        create = compute_api.API.create

        @functools.wraps(create)
        def create_servers(api: Any, *args: Any, **kwargs: Any) -> Any:
            instances, reservation_id = create(api, *args, **kwargs)
            recorder.reserved(reservation_id, [instance.uuid for instance in instances])
            return instances, reservation_id

        def writing(original: Any) -> Any:
            @functools.wraps(original)
            def write(instance: Any, *args: Any, **kwargs: Any) -> Any:
                result = original(instance, *args, **kwargs)
                if instance.obj_attr_is_set("vm_state"):
                    recorder.state_written(instance.uuid, instance.vm_state)
                return result
            return write

        self.useFixture(fixtures.MockPatchObject(compute_api.API, "create", create_servers))
        for method in ("save", "create"):
            self.useFixture(fixtures.MockPatchObject(
                instance_obj.Instance, method, writing(getattr(instance_obj.Instance, method))))

    def test_scenario(self) -> None:
        plan = self.plan
        deadline = time.monotonic() + plan["timeout_s"]
        workload = Workload(self.admin_api, self.recorder, self.flavor_ids, plan["requests"],
                            plan["time_scale"], deadline)
        started = time.monotonic()
        workload.run()
        duration = time.monotonic() - started
        host_cells = {host["name"]: cell["name"] for cell in plan["cells"]
                      for host in cell["hosts"]}
        cell_names = {f"cell{index + 1}": cell["name"] for index, cell in enumerate(plan["cells"])}
        cell_names["cell0"] = "cell0"
        builder = ReportBuilder(self.admin_api, self.placement, self.recorder, host_cells,
                                cell_names)
        report = builder.build(workload.server_ids, self.computes, plan["instance_order"])
        report["summary"]["duration_s"] = round(duration, 3)
        report["errors"] = list(workload.errors)
        type(self).output = report


def run_plan(plan: dict[str, Any]) -> dict[str, Any]:
    """Run the plan as one Nova functional test; the report, or `errors` saying why not."""
    case_class = type("CrosscheckScenario", (ScenarioTestCase,),
                      {"plan": plan, "output": {}, "NUMBER_OF_CELLS": len(plan["cells"])})
    case = case_class("test_scenario")
    result = unittest.TestResult()
    case.run(result)
    output = dict(case_class.output) or {"instances": [], "hosts": [], "summary": {}}
    problems = [text for _, text in result.errors + result.failures]
    output["errors"] = list(output.get("errors", [])) + problems
    return output
