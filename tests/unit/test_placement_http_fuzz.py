"""The placement HTTP API fuzzed from its own OpenAPI document (schemathesis, in-process over
ASGI): no generated request gets a 5xx, with a valid token, a wrong one or none, at any
microversion; without a valid token every protected path is a 401.

Generated path parameters rarely name a provider or consumer that exists, so half of the
cases are pointed at a real provider and consumer of the store (and, for a PUT of
inventories, given its current generation) to reach past the 404s into the handlers' and the
store's own checks. The OpenAPI document declares no query parameters, so the fuzzed
requests get theirs from hypothesis. Then a property of its own: any allocation_ratio a JSON
body can carry, NaN and Infinity included (Python's JSON parser takes them), is a 400, never
a 500.
"""

from __future__ import annotations

import json
import math
import warnings

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():
    # Starlette 1.x announces a move of its TestClient from httpx to httpx2.
    warnings.filterwarnings("ignore", message="Using `httpx` with")
    from fastapi.testclient import TestClient

from placement_sim.http_app import UNAUTHENTICATED_PATHS, create_app
from placement_sim.store import PlacementStore

TOKEN = "fuzz-token"
RP = "8e6f7cd4-7b4b-4d1e-9a55-0000000000aa"
CONSUMER = "0c1a0c1a-0000-4000-8000-0000000000bb"
VERSIONS = [None, "placement 1.0", "placement 1.10", "placement 1.12", "placement 1.20",
            "placement 1.28", "placement 1.34", "placement latest", "placement 1.x",
            "placement 2.0", "compute 2.1", "placement"]


def _store() -> PlacementStore:
    store = PlacementStore()
    store.create_resource_provider(RP, "fuzz-host")
    store.set_inventories(RP, 0, {"VCPU": {"total": 64}, "MEMORY_MB": {"total": 65536}})
    store.put_allocations(CONSUMER, {RP: {"resources": {"VCPU": 1}}}, "p", "u", None)
    return store


STORE = _store()
APP = create_app(STORE, TOKEN)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)

tokens = st.sampled_from(["valid", "missing", "wrong"])
queries = st.dictionaries(
    st.sampled_from(["resources", "limit", "name", "uuid", "member_of", "required"]),
    st.text(max_size=20) | st.from_regex(r"([A-Z_]{1,10}:-?[0-9]{1,12},?){1,3}", fullmatch=True),
    max_size=3)


def _aim_at_the_store(case, generation: bool) -> None:  # type: ignore[no-untyped-def]
    for name in case.path_parameters or {}:
        case.path_parameters[name] = RP if name == "uuid" else CONSUMER
    body = case.body
    if isinstance(body, dict):
        if generation and "resource_provider_generation" in body:
            body["resource_provider_generation"] = STORE.get_resource_provider(RP)["generation"]
        if isinstance(body.get("allocations"), dict) and body["allocations"]:
            body["allocations"] = {RP: next(iter(body["allocations"].values()))}


@schema.parametrize()
@schema.given(token=tokens, version=st.sampled_from(VERSIONS), aim=st.booleans(),
              generation=st.booleans(), query=queries)
@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_server_error(case, token, version, aim, generation,
                                                  query) -> None:  # type: ignore[no-untyped-def]
    headers = dict(case.headers or {})
    headers.pop("X-Auth-Token", None)
    if token != "missing":
        headers["X-Auth-Token"] = TOKEN if token == "valid" else TOKEN + "x"
    if version is not None:
        headers["OpenStack-API-Version"] = version
    case.headers = headers
    if query and case.method == "GET":
        case.query = {**(case.query or {}), **query}
    if aim:
        _aim_at_the_store(case, generation)

    response = case.call()

    assert response.status_code < 500, (case.as_curl_command(), response.text)
    if token != "valid" and case.formatted_path not in UNAUTHENTICATED_PATHS:
        assert response.status_code == 401, (case.as_curl_command(), response.text)


@pytest.fixture(scope="module")
def api():  # type: ignore[no-untyped-def]
    with TestClient(create_app(_store(), TOKEN), raise_server_exceptions=False,
                    headers={"X-Auth-Token": TOKEN,
                             "OpenStack-API-Version": "placement latest"}) as client:
        yield client


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ratio=st.floats() | st.integers(-(2**70), 2**70),
       total=st.integers(1, 2**31 - 1))
def test_any_allocation_ratio_is_stored_or_refused_never_a_server_error(
        api, ratio, total) -> None:  # type: ignore[no-untyped-def]
    generation = api.get(f"/resource_providers/{RP}").json()["generation"]
    body = json.dumps({"resource_provider_generation": generation, "inventories": {
        "VCPU": {"total": 64}, "DISK_GB": {"total": total, "allocation_ratio": ratio}}})
    response = api.put(f"/resource_providers/{RP}/inventories", content=body,
                       headers={"Content-Type": "application/json"})
    valid = math.isfinite(ratio) and 0 <= ratio <= 3.40282e38
    assert response.status_code == (200 if valid else 400), response.text
    if not valid:
        assert "allocation_ratio" in response.json()["errors"][0]["detail"]
    # Whatever was stored can be read back
    assert api.get(f"/resource_providers/{RP}/inventories").status_code == 200
    assert api.get(f"/resource_providers/{RP}/usages").status_code == 200


def test_a_huge_capacity_is_listed_in_allocation_candidates(api) -> None:  # type: ignore[no-untyped-def]
    generation = api.get(f"/resource_providers/{RP}").json()["generation"]
    assert api.put(f"/resource_providers/{RP}/inventories", json={
        "resource_provider_generation": generation, "inventories": {
            "VCPU": {"total": 64},
            "DISK_GB": {"total": 2**31 - 1, "allocation_ratio": 1e30}}}).status_code == 200
    response = api.get("/allocation_candidates", params={"resources": "DISK_GB:1"})
    assert response.status_code == 200, response.text
