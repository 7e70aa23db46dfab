"""Nova's outcome in the shape of altsim's report: `instances`, `hosts` and a summary.

Statuses, hosts and faults come from Nova's REST API (as an admin sees a server), cells from
the instance mappings, usage and allocations from Placement, failed builds from each compute's
resource tracker, and selections, attempts and lost claims from the recorder.
"""

from __future__ import annotations

from typing import Any

from nova import context as nova_context
from nova import objects

from crosscheck.nova_side.names import instance_name
from crosscheck.nova_side.recorder import Recorder


class ReportBuilder:
    def __init__(self, admin_api: Any, placement: Any, recorder: Recorder,
                 host_cells: dict[str, str], cell_names: dict[str, str]) -> None:
        """`host_cells`: host -> scenario cell; `cell_names`: Nova cell name -> scenario cell
        name (cell0 maps to itself)."""
        self._api = admin_api
        self._placement = placement
        self._recorder = recorder
        self._host_cells = host_cells
        self._cell_names = cell_names
        providers = placement.get("/resource_providers", version="1.14").body
        self._providers = {rp["name"]: rp["uuid"] for rp in providers["resource_providers"]}
        self._hosts_by_provider = {uuid: name for name, uuid in self._providers.items()}

    def build(self, server_ids: list[str], computes: dict[str, Any],
              order: list[str]) -> dict[str, Any]:
        """`order`: the scenario's instance names, in the order the report lists them."""
        position = {name: index for index, name in enumerate(order)}
        instances = [self._instance(self._api.get_server(uuid)) for uuid in server_ids]
        instances.sort(key=lambda entry: position.get(entry["name"], len(position)))
        active = {entry["uuid"] for entry in instances if entry["status"] == "ACTIVE"}
        hosts = [self._host(name, computes.get(name)) for name in sorted(self._host_cells)]
        return {"instances": instances, "hosts": hosts,
                "summary": _summary(instances, self._leaked(active))}

    def _instance(self, server: dict[str, Any]) -> dict[str, Any]:
        uuid = server["id"]
        name = instance_name(server["name"], server.get("OS-EXT-SRV-ATTR:launch_index"))
        fault = server.get("fault")
        return {
            "name": name, "uuid": uuid, "status": server["status"],
            "host": server.get("OS-EXT-SRV-ATTR:host"), "cell": self._cell(uuid),
            "selection": list(self._recorder.selections.get(uuid, [])),
            "attempts": [dict(a) for a in self._recorder.attempts.get(uuid, [])],
            "claim_failures": [self._hosts_by_provider.get(rp, rp)
                               for rp in self._recorder.lost_claims.get(uuid, [])],
            "fault": None if not fault else {"code": fault.get("code"),
                                             "message": fault.get("message")},
            "allocations": self._allocations(uuid),
        }

    def _cell(self, uuid: str) -> str | None:
        ctxt = nova_context.get_admin_context()
        try:
            mapping = objects.InstanceMapping.get_by_instance_uuid(ctxt, uuid)
        except Exception:  # noqa: BLE001 - no mapping yet: still a build request
            return None
        if mapping.cell_mapping is None:
            return None
        return self._cell_names.get(mapping.cell_mapping.name, mapping.cell_mapping.name)

    def _allocations(self, consumer: str) -> dict[str, dict[str, int]]:
        body = self._placement.get(f"/allocations/{consumer}").body
        return {self._hosts_by_provider.get(rp, rp): dict(alloc["resources"])
                for rp, alloc in body.get("allocations", {}).items()}

    def _host(self, name: str, compute: Any) -> dict[str, Any]:
        usage = self._placement.get(f"/resource_providers/{self._providers[name]}/usages").body
        failed = 0
        if compute is not None:
            stats = compute.manager.rt.stats.get(name)
            failed = int(stats.get("failed_builds", 0)) if stats is not None else 0
        return {"name": name, "cell": self._host_cells[name], "usage": dict(usage["usages"]),
                "failed_builds": failed}

    def _leaked(self, active: set[str]) -> int:
        leaked = 0
        for rp in self._providers.values():
            body = self._placement.get(f"/resource_providers/{rp}/allocations").body
            leaked += sum(1 for consumer in body.get("allocations", {}) if consumer not in active)
        return leaked


def _summary(instances: list[dict[str, Any]], leaked: int) -> dict[str, int]:
    def count(status: str) -> int:
        return sum(1 for entry in instances if entry["status"] == status)

    return {"instances": len(instances), "active": count("ACTIVE"), "error": count("ERROR"),
            "building": count("BUILD"),
            "reschedules": sum(1 for entry in instances for attempt in entry["attempts"]
                               if attempt["result"] == "rescheduled"),
            "claim_failures": sum(len(entry["claim_failures"]) for entry in instances),
            "leaked_allocations": leaked}
