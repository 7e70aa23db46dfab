"""Tests of placement_sim.http_app: the Placement API subset over a PlacementStore."""

from __future__ import annotations

import warnings

import pytest

with warnings.catch_warnings():
    # Starlette 1.x announces a move of its TestClient from httpx to httpx2.
    warnings.filterwarnings("ignore", message="Using `httpx` with")
    from fastapi.testclient import TestClient

from placement_sim.exceptions import PlacementError
from placement_sim.http_app import create_app, parse_version_header
from placement_sim.store import MAX_INT, PlacementStore

TOKEN = "s3cret"
RP1 = "8e6f7cd4-7b4b-4d1e-9a55-111111111111"
RP2 = "8e6f7cd4-7b4b-4d1e-9a55-222222222222"
C1 = "0c1a0c1a-0000-4000-8000-000000000001"
C2 = "0c1a0c1a-0000-4000-8000-000000000002"
LATEST = {"OpenStack-API-Version": "placement 1.36"}


@pytest.fixture
def store() -> PlacementStore:
    return PlacementStore()


@pytest.fixture
def api(store) -> TestClient:
    with TestClient(create_app(store, TOKEN),
                    headers={"X-Auth-Token": TOKEN, **LATEST}) as client:
        yield client


@pytest.fixture
def rp1(api) -> str:
    assert api.post("/resource_providers", json={"uuid": RP1, "name": "host-1"}).status_code == 200
    resp = api.put(f"/resource_providers/{RP1}/inventories", json={
        "resource_provider_generation": 0,
        "inventories": {"VCPU": {"total": 4, "max_unit": 4}, "MEMORY_MB": {"total": 2048}}})
    assert resp.status_code == 200, resp.text
    return RP1


def error(resp, status: int, code: str = "placement.undefined_code") -> dict:
    assert resp.status_code == status, resp.text
    [err] = resp.json()["errors"]
    assert set(err) - {"max_version", "min_version"} == {"status", "code", "detail", "title",
                                                          "request_id"}
    # the body names the request as the header does, as placement's
    assert err["request_id"] == resp.headers["X-OpenStack-Request-Id"]
    assert (err["status"], err["code"]) == (status, code)
    return err


def put_alloc(api, consumer, rp=RP1, generation=None, **resources):
    return api.put(f"/allocations/{consumer}", json={
        "allocations": {rp: {"resources": resources}}, "project_id": "p", "user_id": "u",
        "consumer_generation": generation})


# -- root, version negotiation, auth --


def test_root_is_the_version_document_and_needs_no_token(store):
    resp = TestClient(create_app(store, TOKEN)).get("/")
    assert resp.status_code == 200
    assert resp.json() == {"versions": [{
        "id": "v1.0", "max_version": "1.39", "min_version": "1.0", "status": "CURRENT",
        "links": [{"rel": "self", "href": ""}]}]}
    assert resp.headers["OpenStack-API-Version"] == "placement 1.0"


def test_openapi_document_is_published_without_token(store):
    resp = TestClient(create_app(store, TOKEN)).get("/openapi.json")
    assert resp.status_code == 200
    paths = resp.json()["paths"]
    for path in ("/resource_providers", "/resource_providers/{uuid}/inventories",
                 "/allocation_candidates", "/allocations/{consumer_uuid}"):
        assert path in paths
    assert "AllocationsReplace" in resp.json()["components"]["schemas"]


@pytest.mark.parametrize("headers", [{}, {"X-Auth-Token": "wrong"}])
def test_requests_without_the_token_are_401(store, headers):
    client = TestClient(create_app(store, TOKEN))
    for method, path in (("GET", "/resource_providers"), ("DELETE", f"/allocations/{C1}"),
                         ("GET", "/no/such/route")):
        err = error(client.request(method, path, headers=headers), 401)
        assert err["title"] == "Unauthorized"


def test_noauth_app_needs_no_token(store):
    assert TestClient(create_app(store, None)).get("/resource_providers").status_code == 200


@pytest.mark.parametrize("header,expected", [
    (None, "1.0"), ("placement 1.36", "1.36"), ("placement 1.28", "1.28"),
    ("placement latest", "1.39"), ("compute 2.90, placement 1.12", "1.12"),
    ("compute 2.90", "1.0"), ("PLACEMENT 1.5", "1.5"),
])
def test_version_header_is_negotiated_and_echoed(api, header, expected):
    headers = {"OpenStack-API-Version": header} if header else {}
    client = TestClient(api.app, headers={"X-Auth-Token": TOKEN})
    resp = client.get("/resource_providers", headers=headers)
    assert resp.status_code == 200
    assert resp.headers["OpenStack-API-Version"] == f"placement {expected}"
    assert resp.headers["Vary"] == "OpenStack-API-Version"
    assert resp.headers["X-OpenStack-Request-Id"].startswith("req-")


@pytest.mark.parametrize("version", ["1.40", "1.99", "2.0", "0.9"])
def test_unsupported_version_is_406(api, version):
    resp = api.get("/resource_providers",
                   headers={"OpenStack-API-Version": f"placement {version}"})
    assert "Unacceptable version header" in error(resp, 406)["detail"]
    assert error(api.get("/", headers={"OpenStack-API-Version": f"placement {version}"}), 406)


@pytest.mark.parametrize("version", ["1.x", "1", "", "one.two"])
def test_malformed_version_is_400_like_placement(api, version):
    resp = api.get("/resource_providers",
                   headers={"OpenStack-API-Version": f"placement {version}"})
    assert "invalid version string" in error(resp, 400)["detail"]


def test_parse_version_header_errors_are_placement_errors():
    with pytest.raises(PlacementError) as exc:
        parse_version_header("placement 9.9")
    assert exc.value.status == 406


def test_unknown_route_and_method_use_the_placement_error_body(api):
    assert error(api.get("/no_such_thing"), 404)["detail"] == "The resource could not be found."
    resp = api.patch("/resource_providers")
    error(resp, 405)
    assert "GET" in resp.headers["Allow"]
    assert resp.headers["OpenStack-API-Version"] == "placement 1.36"


# -- resource providers --


def test_create_get_list_delete_provider(api):
    resp = api.post("/resource_providers", json={"uuid": RP1, "name": "host-1"})
    assert resp.status_code == 200
    assert resp.headers["Location"] == f"/resource_providers/{RP1}"
    body = resp.json()
    assert {k: body[k] for k in ("uuid", "name", "generation")} == {
        "uuid": RP1, "name": "host-1", "generation": 0}
    assert (body["parent_provider_uuid"], body["root_provider_uuid"]) == (None, RP1)
    assert {"rel": "inventories", "href": f"/resource_providers/{RP1}/inventories"} in body[
        "links"]
    assert api.get(f"/resource_providers/{RP1}").json() == body
    assert api.get("/resource_providers").json() == {"resource_providers": [body]}
    assert api.get("/resource_providers", params={"name": "host-1"}).json()[
        "resource_providers"] == [body]
    assert api.get("/resource_providers", params={"name": "x"}).json() == {
        "resource_providers": []}
    assert api.delete(f"/resource_providers/{RP1}").status_code == 204
    error(api.get(f"/resource_providers/{RP1}"), 404)
    error(api.delete(f"/resource_providers/{RP1}"), 404)


def test_create_provider_generates_a_uuid_and_answers_201_before_1_20(api):
    resp = api.post("/resource_providers", json={"name": "host-1"},
                    headers={"OpenStack-API-Version": "placement 1.19"})
    assert resp.status_code == 201
    assert resp.content == b""
    rp_uuid = resp.headers["Location"].rsplit("/", 1)[1]
    assert api.get(f"/resource_providers/{rp_uuid}").json()["name"] == "host-1"


def test_create_provider_conflicts_are_409_duplicate_name(api, rp1):
    resp = api.post("/resource_providers", json={"uuid": RP2, "name": "host-1"})
    assert "name: host-1" in error(resp, 409, "placement.duplicate_name")["detail"]
    error(api.post("/resource_providers", json={"uuid": RP1, "name": "other"}), 409,
          "placement.duplicate_name")


@pytest.mark.parametrize("body", [
    {}, {"uuid": RP1}, {"name": ""}, {"name": "x" * 201}, {"name": 5},
    {"name": "h", "uuid": "not-a-uuid"}, {"name": "h", "parent_provider_uuid": RP2},
], ids=["empty", "no-name", "empty-name", "long-name", "int-name", "bad-uuid", "nested"])
def test_create_provider_bad_body_is_400(api, body):
    assert "JSON does not validate" in error(api.post("/resource_providers", json=body),
                                             400)["detail"]


def test_malformed_json_is_400(api):
    resp = api.post("/resource_providers", content=b"{nope",
                    headers={"Content-Type": "application/json"})
    assert "Malformed JSON" in error(resp, 400)["detail"]


def test_unsupported_query_parameters_are_400(api):
    error(api.get("/resource_providers", params={"member_of": "x"}), 400)
    error(api.get("/allocation_candidates", params={"resources": "VCPU:1", "required": "X"}),
          400)


def test_delete_provider_with_allocations_is_409_in_use(api, rp1):
    assert put_alloc(api, C1, VCPU=1).status_code == 204
    error(api.delete(f"/resource_providers/{RP1}"), 409, "placement.resource_provider.inuse")


# -- inventories, usages, provider allocations --


def test_inventories_get_and_put_with_http_defaults(api, rp1):
    body = api.get(f"/resource_providers/{RP1}/inventories").json()
    assert body["resource_provider_generation"] == 1
    assert body["inventories"]["VCPU"] == {
        "total": 4, "reserved": 0, "min_unit": 1, "max_unit": 4, "step_size": 1,
        "allocation_ratio": 1.0}
    # The HTTP API defaults max_unit to MAX_INT, not to total.
    assert body["inventories"]["MEMORY_MB"]["max_unit"] == MAX_INT
    resp = api.put(f"/resource_providers/{RP1}/inventories", json={
        "resource_provider_generation": 1,
        "inventories": {"VCPU": {"total": 8, "allocation_ratio": 2.0}}})
    assert resp.status_code == 200
    assert resp.json()["resource_provider_generation"] == 2
    assert resp.json()["inventories"]["VCPU"]["total"] == 8


def test_inventories_errors(api, rp1):
    path = f"/resource_providers/{RP1}/inventories"
    stale = {"resource_provider_generation": 0, "inventories": {"VCPU": {"total": 1}}}
    assert "generation conflict" in error(api.put(path, json=stale), 409,
                                          "placement.concurrent_update")["detail"]
    error(api.get(f"/resource_providers/{RP2}/inventories"), 404)
    error(api.put(f"/resource_providers/{RP2}/inventories", json=stale), 404)
    for bad in ({"inventories": {}}, {"resource_provider_generation": 1},
                {"resource_provider_generation": 1, "inventories": {"VCPU": {"total": 0}}},
                {"resource_provider_generation": 1, "inventories": {"vcpu": {"total": 1}}},
                {"resource_provider_generation": 1, "inventories": {"VCPU": {"tot": 1}}},
                {"resource_provider_generation": "1", "inventories": {}}):
        error(api.put(path, json=bad), 400)
    assert put_alloc(api, C1, MEMORY_MB=1).status_code == 204
    error(api.put(path, json={"resource_provider_generation": 2,
                              "inventories": {"VCPU": {"total": 1}}}),
          409, "placement.inventory.inuse")


def test_usages_and_provider_allocations(api, rp1):
    assert api.get(f"/resource_providers/{RP1}/usages").json() == {
        "resource_provider_generation": 1, "usages": {"VCPU": 0, "MEMORY_MB": 0}}
    assert put_alloc(api, C1, VCPU=2, MEMORY_MB=512).status_code == 204
    assert api.get(f"/resource_providers/{RP1}/usages").json() == {
        "resource_provider_generation": 2, "usages": {"VCPU": 2, "MEMORY_MB": 512}}
    assert api.get(f"/resource_providers/{RP1}/allocations").json() == {
        "allocations": {C1: {"resources": {"VCPU": 2, "MEMORY_MB": 512}}},
        "resource_provider_generation": 2}
    error(api.get(f"/resource_providers/{RP2}/usages"), 404)
    error(api.get(f"/resource_providers/{RP2}/allocations"), 404)


# -- allocation candidates --


def test_allocation_candidates_at_1_36(api, rp1):
    resp = api.get("/allocation_candidates", params={"resources": "VCPU:1,MEMORY_MB:512"})
    assert resp.status_code == 200
    assert resp.json() == {
        "allocation_requests": [{
            "allocations": {RP1: {"resources": {"VCPU": 1, "MEMORY_MB": 512}}},
            "mappings": {"": [RP1]}}],
        "provider_summaries": {RP1: {
            "resources": {"VCPU": {"capacity": 4, "used": 0},
                          "MEMORY_MB": {"capacity": 2048, "used": 0}},
            "traits": [], "parent_provider_uuid": None, "root_provider_uuid": RP1}},
    }
    assert api.get("/allocation_candidates", params={"resources": "VCPU:5"}).json() == {
        "allocation_requests": [], "provider_summaries": {}}


def test_allocation_candidates_limit_and_old_formats(api, rp1):
    api.post("/resource_providers", json={"uuid": RP2, "name": "host-0"})
    api.put(f"/resource_providers/{RP2}/inventories", json={
        "resource_provider_generation": 0, "inventories": {"VCPU": {"total": 2}}})
    body = api.get("/allocation_candidates", params={"resources": "VCPU:1"}).json()
    assert [list(r["allocations"]) for r in body["allocation_requests"]] == [[RP2], [RP1]]
    limited = api.get("/allocation_candidates", params={"resources": "VCPU:1", "limit": "1"})
    assert list(limited.json()["provider_summaries"]) == [RP2]
    old = api.get("/allocation_candidates", params={"resources": "VCPU:1"},
                  headers={"OpenStack-API-Version": "placement 1.10"}).json()
    assert old["allocation_requests"][0] == {"allocations": [
        {"resource_provider": {"uuid": RP2}, "resources": {"VCPU": 1}}]}
    assert old["provider_summaries"][RP2] == {"resources": {"VCPU": {"capacity": 2,
                                                                     "used": 0}}}
    # limit is 1.16's: placement refuses it below, as an unexpected query parameter
    for version in ("1.10", "1.15"):
        error(api.get("/allocation_candidates", params={"resources": "VCPU:1", "limit": 1},
                      headers={"OpenStack-API-Version": f"placement {version}"}), 400)
    at_1_16 = api.get("/allocation_candidates", params={"resources": "VCPU:1", "limit": 1},
                      headers={"OpenStack-API-Version": "placement 1.16"})
    assert list(at_1_16.json()["provider_summaries"]) == [RP2]
    error(api.get("/allocation_candidates", params={"resources": "VCPU:1"},
                  headers={"OpenStack-API-Version": "placement 1.9"}), 404)


def test_allocation_candidates_follow_every_change_and_each_microversion(api, rp1):
    # Given a body already served (its fragments cached) at two microversions
    def candidates(version: str = "1.36") -> dict:
        return api.get("/allocation_candidates", params={"resources": "VCPU:1"},
                       headers={"OpenStack-API-Version": f"placement {version}"}).json()

    assert candidates()["provider_summaries"][RP1]["resources"]["VCPU"]["used"] == 0
    assert "traits" not in candidates("1.12")["provider_summaries"][RP1]
    # When a claim uses the provider, and later its inventory shrinks to what is used
    assert put_alloc(api, C1, VCPU=3).status_code == 204
    # Then each body shows the provider as it is now, in its own microversion's shape
    assert candidates()["provider_summaries"][RP1]["resources"]["VCPU"] == {
        "capacity": 4, "used": 3}
    assert candidates("1.12")["provider_summaries"][RP1] == {
        "resources": {"VCPU": {"capacity": 4, "used": 3},
                      "MEMORY_MB": {"capacity": 2048, "used": 0}}}
    generation = api.get(f"/resource_providers/{RP1}").json()["generation"]
    api.put(f"/resource_providers/{RP1}/inventories", json={
        "resource_provider_generation": generation,
        "inventories": {"VCPU": {"total": 3}, "MEMORY_MB": {"total": 2048}}})
    assert candidates() == {"allocation_requests": [], "provider_summaries": {}}


@pytest.mark.parametrize("params", [
    {}, {"resources": ""}, {"resources": "VCPU"}, {"resources": "VCPU:x"},
    {"resources": "VCPU:0"}, {"resources": "vcpu:1"}, {"resources": "VCPU:1", "limit": "0"},
    {"resources": "VCPU:1", "limit": "a"},
])
def test_allocation_candidates_bad_query_is_400(api, params):
    error(api.get("/allocation_candidates", params=params), 400)


# -- allocations --


def test_allocations_put_get_delete(api, rp1):
    assert api.get(f"/allocations/{C1}").json() == {"allocations": {},
                                                    "consumer_generation": None}
    assert put_alloc(api, C1, VCPU=2).status_code == 204
    assert api.get(f"/allocations/{C1}").json() == {
        "allocations": {RP1: {"generation": 2, "resources": {"VCPU": 2}}},
        "consumer_generation": 1, "project_id": "p", "user_id": "u"}
    old = api.get(f"/allocations/{C1}", headers={"OpenStack-API-Version": "placement 1.11"})
    assert old.json() == {"allocations": {RP1: {"generation": 2, "resources": {"VCPU": 2}}}}
    assert put_alloc(api, C1, generation=1, VCPU=3).status_code == 204
    assert api.get(f"/allocations/{C1}").json()["consumer_generation"] == 2
    assert api.delete(f"/allocations/{C1}").status_code == 204
    error(api.delete(f"/allocations/{C1}"), 404)
    assert api.get(f"/resource_providers/{RP1}/usages").json()["usages"]["VCPU"] == 0


def test_allocations_empty_dict_removes_them(api, rp1):
    assert put_alloc(api, C1, VCPU=2).status_code == 204
    resp = api.put(f"/allocations/{C1}", json={
        "allocations": {}, "project_id": "p", "user_id": "u", "consumer_generation": 1})
    assert resp.status_code == 204
    assert api.get(f"/allocations/{C1}").json()["allocations"] == {}


def test_over_capacity_is_409_undefined_code(api, rp1):
    assert put_alloc(api, C1, VCPU=3).status_code == 204
    err = error(put_alloc(api, C2, VCPU=2), 409, "placement.undefined_code")
    assert err["detail"].startswith("Unable to allocate inventory")
    assert err["title"] == "Conflict"
    error(put_alloc(api, C2, DISK_GB=1), 409)


@pytest.mark.parametrize("generation", [None, 7])
def test_consumer_generation_conflict_is_409_concurrent_update(api, rp1, generation):
    assert put_alloc(api, C1, VCPU=1).status_code == 204
    err = error(put_alloc(api, C1, generation=generation, VCPU=2), 409,
                "placement.concurrent_update")
    assert "consumer generation conflict" in err["detail"]
    assert api.get(f"/allocations/{C1}").json()["allocations"][RP1]["resources"] == {"VCPU": 1}


def test_allocations_before_1_28_take_no_consumer_generation(api, rp1):
    old = {"OpenStack-API-Version": "placement 1.27"}
    body = {"allocations": {RP1: {"resources": {"VCPU": 1}}}, "project_id": "p",
            "user_id": "u"}
    assert api.put(f"/allocations/{C1}", json=body, headers=old).status_code == 204
    assert api.put(f"/allocations/{C1}", json=body, headers=old).status_code == 204  # overwrite
    error(api.put(f"/allocations/{C1}", json={**body, "consumer_generation": 1}, headers=old),
          400)
    error(api.put(f"/allocations/{C1}", json=body), 400)  # required at 1.36


@pytest.mark.parametrize("body", [
    {"allocations": {RP1: {"resources": {"VCPU": 1}}}, "project_id": "p",
     "consumer_generation": None},
    {"allocations": {RP1: {"resources": {"VCPU": 0}}}, "project_id": "p", "user_id": "u",
     "consumer_generation": None},
    {"allocations": {RP1: {"resources": {"VCPU": True}}}, "project_id": "p", "user_id": "u",
     "consumer_generation": None},
    {"allocations": {RP1: {"resources": {}}}, "project_id": "p", "user_id": "u",
     "consumer_generation": None},
    {"allocations": {"rp-1": {"resources": {"VCPU": 1}}}, "project_id": "p", "user_id": "u",
     "consumer_generation": None},
    {"allocations": {RP2: {"resources": {"VCPU": 1}}}, "project_id": "p", "user_id": "u",
     "consumer_generation": None},
    {"allocations": {RP1: {"resources": {"VCPU": 1}}}, "project_id": "p", "user_id": "u",
     "consumer_generation": "1"},
    {"allocations": [], "project_id": "p", "user_id": "u", "consumer_generation": None},
    {"allocations": {}, "project_id": "p", "user_id": "u", "consumer_generation": None,
     "extra": 1},
], ids=["no-user", "zero", "bool", "no-resources", "bad-rp-uuid", "unknown-rp",
        "str-generation", "list", "extra-key"])
def test_bad_allocation_bodies_are_400(api, rp1, body):
    error(api.put(f"/allocations/{C1}", json=body), 400)


def test_malformed_consumer_uuid_is_400(api, rp1):
    assert "Malformed consumer_uuid" in error(put_alloc(api, "consumer-1", VCPU=1),
                                              400)["detail"]


def test_mappings_are_accepted_from_1_34(api, rp1):
    body = {"allocations": {RP1: {"resources": {"VCPU": 1}}}, "mappings": {"": [RP1]},
            "project_id": "p", "user_id": "u", "consumer_generation": None}
    error(api.put(f"/allocations/{C1}", json=body,
                  headers={"OpenStack-API-Version": "placement 1.33"}), 400)
    assert api.put(f"/allocations/{C1}", json=body).status_code == 204


def test_store_failure_is_a_500_with_the_placement_body(store):
    class Broken(PlacementStore):
        def list_resource_providers(self):
            raise RuntimeError("boom")

    client = TestClient(create_app(Broken(), None))
    resp = client.get("/resource_providers")
    error(resp, 500)
    assert resp.headers["OpenStack-API-Version"] == "placement 1.0"


# -- forbidden aggregates (1.32) --

AGG = "0b0b0b0b-0000-4000-8000-0000000000aa"


@pytest.mark.parametrize(("version", "value", "status", "detail"), [
    ("1.31", f"!{AGG}", 400, "Forbidden member_of parameters are not supported"),
    ("1.32", f"{AGG},{AGG}", 400, "must be prefixed with the 'in:' or '!in:'"),
    ("1.32", f"!in:{AGG},nope", 400, "valid UUID(s). Got: nope"),
    ("1.32", f"!{AGG}", 200, None),
    ("1.32", f"!in:{AGG},{RP1}", 200, None),
])
def test_forbidden_member_of(api, rp1, version, value, status, detail):
    resp = api.get("/allocation_candidates", params={"resources": "VCPU:1", "member_of": value},
                   headers={"OpenStack-API-Version": f"placement {version}"})
    if detail is not None:
        assert detail in error(resp, status)["detail"]
        return
    assert resp.status_code == 200, resp.text
    assert list(resp.json()["provider_summaries"]) == [RP1]
    # Once the provider is in the aggregate, it is no candidate
    assert api.put(f"/resource_providers/{RP1}/aggregates", json={
        "resource_provider_generation": 1, "aggregates": [AGG]}).status_code == 200
    resp = api.get("/allocation_candidates", params={"resources": "VCPU:1", "member_of": value},
                   headers={"OpenStack-API-Version": f"placement {version}"})
    assert resp.json()["provider_summaries"] == {}
