"""The client side that plays nova-api: record a new server in the API DB, cast it to the super
conductor."""

from __future__ import annotations

import uuid

from altsim.db.api import ApiDatabase
from altsim.objects import BuildRequest, Flavor, RequestSpec
from altsim.rpc import new_context
from conductor.rpcapi import ConductorAPI

_INSTANCE_NAMESPACE = uuid.UUID("a3b0c9a2-3f7d-4f7e-8d0b-6b9e2c1d4e55")
PROJECT_ID = "altsim-project"
USER_ID = "altsim-user"


def instance_uuid_for(seed: int, scenario: str, name: str, salt: str = "") -> str:
    """Instance uuids are fixed by (seed, scenario, name), so runs compare uuid for uuid; a
    run against a placement it shares (one it did not start) gives a `salt` of its own, so
    that no two runs there ever share a consumer. Fault decisions are keyed by the instance
    name, so they repeat either way."""
    key = f"{seed}:{scenario}:{name}" + (f":{salt}" if salt else "")
    return str(uuid.uuid5(_INSTANCE_NAMESPACE, key))


class NovaApi:
    """nova-api for the runner: creates servers under instance uuids fixed by (seed, scenario,
    name), as `openstack server create` would through the compute API."""

    def __init__(self, api_db: ApiDatabase, conductor_api: ConductorAPI, seed: int,
                 scenario: str, salt: str = "") -> None:
        """`salt`: see instance_uuid_for ("" for none)."""
        self._api_db = api_db
        self._salt = salt
        self._conductor_api = conductor_api
        self._seed = seed
        self._scenario = scenario

    def uuid_for(self, name: str) -> str:
        return instance_uuid_for(self._seed, self._scenario, name, self._salt)

    def create_servers(self, names: list[str], flavor: Flavor,
                       num_alternates: int | None = None) -> dict[str, str]:
        """One multi-create request for `names`; returns name -> instance uuid."""
        uuids = {name: self.uuid_for(name) for name in names}
        submit_servers(self._api_db, self._conductor_api, uuids, flavor, num_alternates)
        return uuids


def submit_servers(api_db: ApiDatabase, conductor_api: ConductorAPI, uuids: dict[str, str],
                   flavor: Flavor, num_alternates: int | None = None) -> None:
    """What nova-api does for one multi-create request of servers (name -> uuid): record a
    BuildRequest, RequestSpec and InstanceMapping for each, then cast them all to the super
    conductor in one schedule_and_build_instances."""
    ctxt = new_context()
    build_requests, specs = [], []
    for name, instance_uuid in uuids.items():
        build_request = BuildRequest(instance_uuid=instance_uuid, name=name,
                                     project_id=PROJECT_ID, user_id=USER_ID, flavor=flavor)
        spec = RequestSpec(instance_uuid=instance_uuid, name=name, project_id=PROJECT_ID,
                           user_id=USER_ID, flavor=flavor, num_instances=len(uuids),
                           request_id=ctxt["request_id"], num_alternates=num_alternates)
        api_db.create_build_request(build_request, spec)
        build_requests.append(build_request)
        specs.append(spec)
    conductor_api.schedule_and_build_instances(ctxt, build_requests, specs)
