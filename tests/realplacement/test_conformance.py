"""Every request altsim's clients send to placement, at each microversion they send it, asked of
real openstack-placement and of altsim-placement alike: they must agree on the status, the
error code and the fields the clients read.

Who sends what: placement_sim/http_client.py (RemotePlacementStore: the scheduler, conductors,
computes, the report, `altsim host list` and the audit all go through it) at 1.36, and
allocation candidates at 1.16 with `limit` (at 1.32 with `required=` and `member_of=!in:`
when the flavor has trait extra specs or aggregates are isolated);
altsim_lab/deploy/shared_placement.py's probe, with no version header (1.0): `GET /` and
`GET /resource_providers`. Each test makes a provider and consumers of its own, with the same
uuids on both placements, so that the answers can be compared whole.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from placement_sim.exceptions import CONSUMER_GENERATION_CONFLICT, DEFAULT
from tests.realplacement.api import Answer, Api

CLIENT = "1.36"  # http_client.MICROVERSION
CANDIDATES = "1.16"  # http_client.CANDIDATES_MICROVERSION
FILTERED = "1.32"  # http_client.FILTERED_CANDIDATES_MICROVERSION
INVENTORY = {"total": 8, "reserved": 0, "min_unit": 1, "max_unit": 8, "step_size": 1,
             "allocation_ratio": 1.0}


@pytest.fixture
def apis(real_placement, altsim_placement) -> list[Api]:  # type: ignore[no-untyped-def]
    return [Api("real", real_placement.url), Api("altsim", altsim_placement.url)]


def agree(apis: list[Api], check: Callable[[Api], Any]) -> Any:
    """`check` on each placement; what it returns (the part of the answers that matters) must
    be equal for both."""
    real, altsim = (check(api) for api in apis)
    assert altsim == real, f"altsim-placement answers {altsim!r}, real placement {real!r}"
    return real


def status_and_code(answer: Answer) -> tuple[int, str | None]:
    """Status and error code as altsim's client reads them (PlacementError.from_body): a
    placement error without a code (its query-string schema errors have none) reads as
    placement.undefined_code."""
    if answer.status < 400:
        return answer.status, None
    return answer.status, answer.code or DEFAULT


def new_provider(api: Api, rp_uuid: str, vcpu: int = 8) -> None:
    created = api.call("POST", "/resource_providers", version=CLIENT,
                       json={"uuid": rp_uuid, "name": f"rp-{rp_uuid}"})
    assert created.status == 200, created
    inventory = {**INVENTORY, "total": vcpu, "max_unit": vcpu}
    put = api.call("PUT", f"/resource_providers/{rp_uuid}/inventories", version=CLIENT,
                   json={"resource_provider_generation": 0,
                         "inventories": {"VCPU": inventory}})
    assert put.status == 200, put


def claim(api: Api, consumer: str, rp_uuid: str, vcpu: int = 1,
          generation: int | None = None, rc: str = "VCPU") -> Answer:
    return api.call("PUT", f"/allocations/{consumer}", version=CLIENT, json={
        "allocations": {rp_uuid: {"resources": {rc: vcpu}}},
        "project_id": "altsim-project", "user_id": "altsim-user",
        "consumer_generation": generation})


def fresh() -> str:
    return str(uuid.uuid4())


# -- the probe (no version header) --


def test_root_version_document(apis: list[Api]) -> None:
    def check(api: Api) -> Any:
        answer = api.call("GET", "/", token=None)
        version = answer.body["versions"][0]
        # every microversion altsim sends is served
        served = tuple(map(int, version["max_version"].split(".")))
        return answer.status, version["id"], version["min_version"], served >= (1, 36)

    agree(apis, check)


@pytest.mark.parametrize("version", [None, CLIENT])
def test_list_providers_shows_a_new_provider(apis: list[Api], version: str | None) -> None:
    rp = fresh()

    def check(api: Api) -> Any:
        new_provider(api, rp)
        answer = api.call("GET", "/resource_providers", version=version)
        mine = [{k: p[k] for k in ("uuid", "name", "generation")}
                for p in answer.body["resource_providers"] if p["uuid"] == rp]
        return answer.status, mine

    agree(apis, check)


def test_every_answer_names_its_request_id(apis: list[Api]) -> None:
    agree(apis, lambda api: api.call("GET", "/resource_providers", version=CLIENT).headers[
        "x-openstack-request-id"].startswith("req-"))


def test_list_providers_without_a_token_is_401(apis: list[Api]) -> None:
    agree(apis, lambda api: api.call("GET", "/resource_providers", token=None).status)


# -- resource providers (ensure_resource_provider, the launcher's cleanup) --


def test_create_and_show_provider(apis: list[Api]) -> None:
    rp = fresh()

    def check(api: Api) -> Any:
        created = api.call("POST", "/resource_providers", version=CLIENT,
                           json={"uuid": rp, "name": f"rp-{rp}"})
        shown = api.call("GET", f"/resource_providers/{rp}", version=CLIENT)
        fields = ("uuid", "name", "generation", "parent_provider_uuid", "root_provider_uuid")
        return (created.status, {k: created.body[k] for k in fields},
                shown.status, {k: shown.body[k] for k in fields})

    agree(apis, check)


def test_create_provider_conflicts(apis: list[Api]) -> None:
    rp, other = fresh(), fresh()

    def check(api: Api) -> Any:
        api.call("POST", "/resource_providers", version=CLIENT,
                 json={"uuid": rp, "name": f"rp-{rp}"})
        same_name = api.call("POST", "/resource_providers", version=CLIENT,
                             json={"uuid": other, "name": f"rp-{rp}"})
        same_uuid = api.call("POST", "/resource_providers", version=CLIENT,
                             json={"uuid": rp, "name": f"rp-{other}"})
        return status_and_code(same_name), status_and_code(same_uuid)

    assert agree(apis, check)[0] == (409, "placement.duplicate_name")


def test_unknown_provider_is_404(apis: list[Api]) -> None:
    rp = fresh()
    for suffix in ("", "/inventories", "/usages", "/allocations"):
        agree(apis, lambda api, s=suffix: status_and_code(
            api.call("GET", f"/resource_providers/{rp}{s}", version=CLIENT)))
    agree(apis, lambda api: status_and_code(
        api.call("DELETE", f"/resource_providers/{rp}", version=CLIENT)))


def test_delete_provider_in_use_then_free(apis: list[Api]) -> None:
    rp, consumer = fresh(), fresh()

    def check(api: Api) -> Any:
        new_provider(api, rp)
        claim(api, consumer, rp)
        in_use = api.call("DELETE", f"/resource_providers/{rp}", version=CLIENT)
        api.call("DELETE", f"/allocations/{consumer}", version=CLIENT)
        freed = api.call("DELETE", f"/resource_providers/{rp}", version=CLIENT)
        gone = api.call("GET", f"/resource_providers/{rp}", version=CLIENT)
        return status_and_code(in_use), freed.status, gone.status

    assert agree(apis, check) == ((409, "placement.resource_provider.inuse"), 204, 404)


# -- inventories --


def test_set_and_show_inventories(apis: list[Api]) -> None:
    rp = fresh()

    def check(api: Api) -> Any:
        api.call("POST", "/resource_providers", version=CLIENT,
                 json={"uuid": rp, "name": f"rp-{rp}"})
        inventories = {"VCPU": {**INVENTORY, "allocation_ratio": 4.0, "reserved": 1},
                       "MEMORY_MB": {**INVENTORY, "total": 4096, "max_unit": 4096}}
        put = api.call("PUT", f"/resource_providers/{rp}/inventories", version=CLIENT,
                       json={"resource_provider_generation": 0, "inventories": inventories})
        stale = api.call("PUT", f"/resource_providers/{rp}/inventories", version=CLIENT,
                         json={"resource_provider_generation": 0, "inventories": inventories})
        shown = api.call("GET", f"/resource_providers/{rp}/inventories", version=CLIENT)
        return put.status, put.body, status_and_code(stale), shown.status, shown.body

    answer = agree(apis, check)
    assert answer[2] == (409, "placement.concurrent_update")


def test_removing_an_inventory_in_use_is_409(apis: list[Api]) -> None:
    rp, consumer = fresh(), fresh()

    def check(api: Api) -> Any:
        new_provider(api, rp)
        claim(api, consumer, rp)
        generation = api.call("GET", f"/resource_providers/{rp}", version=CLIENT).body[
            "generation"]
        removed = api.call("PUT", f"/resource_providers/{rp}/inventories", version=CLIENT,
                           json={"resource_provider_generation": generation,
                                 "inventories": {}})
        return status_and_code(removed)

    assert agree(apis, check) == (409, "placement.inventory.inuse")


# -- allocations (claim_resources, delete_allocation_for_instance, the report) --


def test_claim_show_and_delete_allocations(apis: list[Api]) -> None:
    rp, consumer = fresh(), fresh()

    def check(api: Api) -> Any:
        new_provider(api, rp)
        put = claim(api, consumer, rp, vcpu=2)
        shown = api.call("GET", f"/allocations/{consumer}", version=CLIENT)
        by_rp = api.call("GET", f"/resource_providers/{rp}/allocations", version=CLIENT)
        usages = api.call("GET", f"/resource_providers/{rp}/usages", version=CLIENT)
        deleted = api.call("DELETE", f"/allocations/{consumer}", version=CLIENT)
        again = api.call("DELETE", f"/allocations/{consumer}", version=CLIENT)
        after = api.call("GET", f"/allocations/{consumer}", version=CLIENT)
        return (put.status,
                shown.status, {k: shown.body[k] for k in ("allocations", "project_id",
                                                          "user_id", "consumer_generation")},
                # consumer_generation per consumer here is placement's only: not read
                by_rp.status, {c: a["resources"] for c, a in by_rp.body["allocations"].items()},
                by_rp.body["resource_provider_generation"],
                usages.status, usages.body,
                deleted.status, status_and_code(again), after.status,
                after.body["allocations"])

    agree(apis, check)


def test_claim_conflicts(apis: list[Api]) -> None:
    rp, first, second = fresh(), fresh(), fresh()

    def check(api: Api) -> Any:
        new_provider(api, rp, vcpu=2)
        claim(api, first, rp, vcpu=2)
        full = claim(api, second, rp)
        # a consumer that exists, claimed again as new: the consumer generation check
        stale = claim(api, first, rp, vcpu=1, generation=None)
        return (status_and_code(full), status_and_code(stale),
                CONSUMER_GENERATION_CONFLICT in stale.error["detail"])

    assert agree(apis, check) == ((409, "placement.undefined_code"),
                                  (409, "placement.concurrent_update"), True)


def test_claim_on_an_unknown_provider_or_class_is_400(apis: list[Api]) -> None:
    rp = fresh()

    def check(api: Api) -> Any:
        new_provider(api, rp)
        return (status_and_code(claim(api, fresh(), fresh())),
                status_and_code(claim(api, fresh(), rp, rc="NOT_A_CLASS")),
                # a class placement knows, of which the provider has no inventory
                status_and_code(claim(api, fresh(), rp, rc="MEMORY_MB")))

    assert agree(apis, check) == ((400, DEFAULT), (400, DEFAULT), (409, DEFAULT))


# -- allocation candidates (the scheduler, at 1.16 with limit) --


def test_allocation_candidates_with_limit(apis: list[Api]) -> None:
    # An amount only this test's providers have, so other tests' providers are no candidates.
    rps = sorted(fresh() for _ in range(3))
    amount = 900_000 + uuid.UUID(rps[0]).int % 90_000

    def check(api: Api) -> Any:
        for rp in rps:
            new_provider(api, rp, vcpu=amount)
        params = {"resources": f"VCPU:{amount}", "limit": 1000}
        every = api.call("GET", "/allocation_candidates", version=CANDIDATES, params=params)
        one = api.call("GET", "/allocation_candidates", version=CANDIDATES,
                       params={**params, "limit": 1})
        before = api.call("GET", "/allocation_candidates", version="1.15", params=params)
        requests = sorted((list(r["allocations"]), r["allocations"]) for r in
                          every.body["allocation_requests"])
        return (every.status, [r for r, _ in requests], [a for _, a in requests],
                every.body["provider_summaries"], one.status,
                len(one.body["allocation_requests"]), len(one.body["provider_summaries"]),
                status_and_code(before))

    answer = agree(apis, check)
    assert answer[0] == 200 and len(answer[1]) == 3 and answer[-1][0] == 400


def test_a_limit_keeps_as_many_candidates_in_both(apis: list[Api]) -> None:
    """Neither promises an order (docs/fidelity.md, Allocation candidate order), so the
    orders are not compared; what both do is keep `limit` of them, the first ones of the
    answer without a cut, summarized, and the same ones when asked again."""
    rps = [fresh() for _ in range(8)]
    # More than any other test's providers have, and each provider takes exactly this
    # amount (min_unit): only these are candidates, and they are no other test's.
    amount = 1_000_000 + uuid.UUID(rps[0]).int % 90_000

    def providers(answer: Answer) -> list[str]:
        return [next(iter(r["allocations"])) for r in answer.body["allocation_requests"]]

    def check(api: Api) -> Any:
        for rp in rps:
            new_provider(api, rp, vcpu=amount)
            inventory = {**INVENTORY, "total": amount, "min_unit": amount, "max_unit": amount}
            assert api.call("PUT", f"/resource_providers/{rp}/inventories", version=CLIENT,
                            json={"resource_provider_generation": 1,
                                  "inventories": {"VCPU": inventory}}).status == 200
        params = {"resources": f"VCPU:{amount}"}
        every = providers(api.call("GET", "/allocation_candidates", version=CANDIDATES,
                                   params=params))
        assert sorted(every) == sorted(rps)
        counts = []
        for limit in (1, 3, 7, 8, 20):
            asked = {**params, "limit": limit}
            answer, again = (api.call("GET", "/allocation_candidates", version=CANDIDATES,
                                      params=asked) for _ in range(2))
            kept = providers(answer)
            assert kept == every[:limit] and providers(again) == kept, (api, limit)
            assert sorted(answer.body["provider_summaries"]) == sorted(kept), (api, limit)
            counts.append(len(kept))
        return counts

    assert agree(apis, check) == [1, 3, 7, 8, 8]


def test_no_allocation_candidates(apis: list[Api]) -> None:
    agree(apis, lambda api: (lambda a: (a.status, a.body))(api.call(
        "GET", "/allocation_candidates", version=CANDIDATES,
        params={"resources": "VCPU:2000000000", "limit": 1000})))


# -- microversions to 1.39, error bodies, media types --

LATEST = "1.39"


def test_unsupported_microversion_names_the_range(apis: list[Api]) -> None:
    def check(api: Api) -> Any:
        answer = api.call("GET", "/resource_providers", version="1.99")
        error = answer.body["errors"][0]
        return (answer.status, error["max_version"], error["min_version"],
                error["request_id"] == answer.headers["x-openstack-request-id"])

    assert agree(apis, check) == (406, LATEST, "1.0", True)


def test_latest_is_1_39(apis: list[Api]) -> None:
    agree(apis, lambda api: api.call("GET", "/resource_providers", version="latest").headers[
        "openstack-api-version"])


def test_an_error_body_names_its_request_id(apis: list[Api]) -> None:
    agree(apis, lambda api: (lambda a: (a.status, a.error["request_id"] == a.headers[
        "x-openstack-request-id"]))(api.call("GET", f"/resource_providers/{fresh()}",
                                             version=LATEST)))


def test_a_body_that_is_not_json_is_415(apis: list[Api]) -> None:
    def check(api: Api) -> Any:
        http = api._http  # a raw request: the Api always sends JSON
        answer = http.request("POST", api.url + "/resource_providers", body=b"x",
                              headers={"X-Auth-Token": "admin", "Content-Type": "text/plain"})
        return answer.status

    assert agree(apis, check) == 415


def test_an_accept_without_json_is_406(apis: list[Api]) -> None:
    agree(apis, lambda api: api._http.request(
        "GET", api.url + "/resource_providers",
        headers={"X-Auth-Token": "admin", "Accept": "text/plain"}).status)


# -- resource classes --


def test_resource_classes(apis: list[Api]) -> None:
    custom = f"CUSTOM_C{uuid.uuid4().hex.upper()}"

    def check(api: Api) -> Any:
        listed = api.call("GET", "/resource_classes", version=LATEST)
        standard = [c["name"] for c in listed.body["resource_classes"]
                    if not c["name"].startswith("CUSTOM_")]
        return (listed.status, standard,
                status_and_code(api.call("GET", "/resource_classes/VCPU", version=LATEST)),
                status_and_code(api.call("GET", f"/resource_classes/{custom}",
                                         version=LATEST)),
                api.call("PUT", f"/resource_classes/{custom}", version=LATEST).status,
                api.call("PUT", f"/resource_classes/{custom}", version=LATEST).status,
                api.call("GET", f"/resource_classes/{custom}", version=LATEST).body,
                status_and_code(api.call("PUT", "/resource_classes/NOT_CUSTOM",
                                         version=LATEST)))

    answer = agree(apis, check)
    assert answer[3][0] == 404 and answer[4:6] == (201, 204)


def test_a_custom_class_must_exist_before_use(apis: list[Api]) -> None:
    rp, missing = fresh(), f"CUSTOM_M{uuid.uuid4().hex.upper()}"

    def check(api: Api) -> Any:
        new_provider(api, rp)
        inventory = api.call("PUT", f"/resource_providers/{rp}/inventories", version=CLIENT,
                             json={"resource_provider_generation": 1,
                                   "inventories": {missing: INVENTORY}})
        return status_and_code(inventory), status_and_code(claim(api, fresh(), rp, rc=missing))

    assert agree(apis, check) == ((400, DEFAULT), (400, DEFAULT))


# -- traits --


def test_traits_and_provider_traits(apis: list[Api]) -> None:
    rp, custom = fresh(), f"CUSTOM_T{uuid.uuid4().hex.upper()}"

    def check(api: Api) -> Any:
        new_provider(api, rp)
        unknown = api.call("PUT", f"/resource_providers/{rp}/traits", version=LATEST,
                           json={"resource_provider_generation": 1, "traits": [custom]})
        created = api.call("PUT", f"/traits/{custom}", version=LATEST).status
        put = api.call("PUT", f"/resource_providers/{rp}/traits", version=LATEST,
                       json={"resource_provider_generation": 1,
                             "traits": [custom, "HW_CPU_X86_AVX2"]})
        stale = api.call("PUT", f"/resource_providers/{rp}/traits", version=LATEST,
                         json={"resource_provider_generation": 1, "traits": []})
        shown = api.call("GET", f"/resource_providers/{rp}/traits", version=LATEST)
        listed = api.call("GET", "/traits", version=LATEST,
                          params={"name": f"in:{custom},HW_CPU_X86_AVX2,CUSTOM_NOT_THERE"})
        prefix = api.call("GET", "/traits", version=LATEST,
                          params={"name": "startswith:HW_CPU_X86_AVX5"})
        deleted = api.call("DELETE", f"/resource_providers/{rp}/traits", version=LATEST)
        after = api.call("GET", f"/resource_providers/{rp}", version=LATEST)
        return (status_and_code(unknown), created, put.status, sorted(put.body["traits"]),
                put.body["resource_provider_generation"], status_and_code(stale),
                sorted(shown.body["traits"]), sorted(listed.body["traits"]),
                sorted(prefix.body["traits"]), deleted.status, after.body["generation"],
                status_and_code(api.call("GET", f"/traits/{custom}", version=LATEST)),
                status_and_code(api.call("PUT", "/traits/HW_NOT_CUSTOM", version=LATEST)))

    answer = agree(apis, check)
    assert answer[0] == (400, DEFAULT) and answer[5] == (409, "placement.concurrent_update")


def _candidates_world(api: Api, rps: list[str], amount: int, trait: str, agg: str) -> None:
    for rp in rps:
        new_provider(api, rp, vcpu=amount)
    api.call("PUT", f"/traits/{trait}", version=LATEST)
    assert api.call("PUT", f"/resource_providers/{rps[0]}/traits", version=LATEST,
                    json={"resource_provider_generation": 1, "traits": [trait]}).status == 200
    assert api.call("PUT", f"/resource_providers/{rps[1]}/aggregates", version=LATEST,
                    json={"resource_provider_generation": 1, "aggregates": [agg]}).status == 200


@pytest.mark.parametrize("version,params,expected", [
    ("1.17", {"required": "TRAIT"}, {0}),
    ("1.22", {"required": "!TRAIT"}, {1, 2}),
    ("1.39", {"required": "in:TRAIT,HW_CPU_X86_AVX2"}, {0}),
    ("1.21", {"member_of": "AGG"}, {1}),
    ("1.24", {"member_of": "in:AGG,00000000-0000-0000-0000-00000000000a"}, {1}),
    (FILTERED, {"member_of": "!AGG"}, {0, 2}),
    (FILTERED, {"member_of": "!in:AGG,00000000-0000-0000-0000-00000000000a"}, {0, 2}),
    # As the scheduler sends them: required and forbidden traits, isolated aggregates
    (FILTERED, {"required": "TRAIT", "member_of": "!in:AGG"}, {0}),
    (FILTERED, {"required": "!TRAIT", "member_of": "!in:AGG"}, {2}),
])
def test_candidates_filtered(apis: list[Api], version: str, params: dict[str, str],
                             expected: set[int]) -> None:
    rps = [fresh() for _ in range(3)]
    amount = 800_000 + uuid.UUID(rps[0]).int % 90_000
    trait, agg = f"CUSTOM_F{uuid.uuid4().hex.upper()}", fresh()
    query = {k: v.replace("TRAIT", trait).replace("AGG", agg) for k, v in params.items()}

    def check(api: Api) -> Any:
        _candidates_world(api, rps, amount, trait, agg)
        answer = api.call("GET", "/allocation_candidates", version=version,
                          params={"resources": f"VCPU:{amount}", **query})
        # Other tests' bigger providers fit too: only this test's are looked at.
        return answer.status, sorted(rp for r in answer.body["allocation_requests"]
                                     for rp in r["allocations"] if rp in rps)

    assert agree(apis, check) == (200, sorted(rps[i] for i in expected))


@pytest.mark.parametrize("version,value", [
    ("1.31", "!in:AGG"),            # forbidden aggregates from 1.32 only
    (FILTERED, "AGG,AGG"),           # several need in: or !in:
    (FILTERED, "!in:AGG,not-a-uuid"),
])
def test_candidates_with_a_bad_member_of_is_400(apis: list[Api], version: str,
                                                value: str) -> None:
    query = {"resources": "VCPU:1", "member_of": value.replace("AGG", fresh())}
    agree(apis, lambda api: status_and_code(api.call(
        "GET", "/allocation_candidates", version=version, params=query)))


def test_the_clients_traits_and_aggregates_requests(apis: list[Api]) -> None:
    """What set_provider_traits and set_provider_aggregates send, at the client's version:
    PUT /traits/{name} (201, then 204), the provider's traits and aggregates shown and
    replaced at its generation."""
    rp, custom, agg = fresh(), f"CUSTOM_C{uuid.uuid4().hex.upper()}", fresh()

    def check(api: Api) -> Any:
        new_provider(api, rp)
        created = api.call("PUT", f"/traits/{custom}", version=CLIENT).status
        again = api.call("PUT", f"/traits/{custom}", version=CLIENT).status
        traits = api.call("GET", f"/resource_providers/{rp}/traits", version=CLIENT).body
        put = api.call("PUT", f"/resource_providers/{rp}/traits", version=CLIENT, json={
            "resource_provider_generation": traits["resource_provider_generation"],
            "traits": [custom, "HW_CPU_X86_AVX2"]})
        aggs = api.call("GET", f"/resource_providers/{rp}/aggregates", version=CLIENT).body
        put_aggs = api.call("PUT", f"/resource_providers/{rp}/aggregates", version=CLIENT,
                            json={"resource_provider_generation":
                                  aggs["resource_provider_generation"], "aggregates": [agg]})
        return (created, again, traits, put.status, sorted(put.body["traits"]),
                put.body["resource_provider_generation"], aggs, put_aggs.status,
                put_aggs.body)

    agree(apis, check)


def test_candidates_with_an_unknown_trait_is_400(apis: list[Api]) -> None:
    agree(apis, lambda api: status_and_code(api.call(
        "GET", "/allocation_candidates", version=LATEST,
        params={"resources": "VCPU:1", "required": "CUSTOM_NEVER_MADE"})))


# -- aggregates, usages, POST /allocations, rename, single-class inventories --


@pytest.mark.parametrize("version", ["1.18", "1.19"])
def test_provider_aggregates(apis: list[Api], version: str) -> None:
    rp, agg = fresh(), fresh()

    def check(api: Api) -> Any:
        new_provider(api, rp)
        body: Any = ([agg] if version == "1.18"
                     else {"resource_provider_generation": 1, "aggregates": [agg]})
        put = api.call("PUT", f"/resource_providers/{rp}/aggregates", version=version,
                       json=body)
        shown = api.call("GET", f"/resource_providers/{rp}/aggregates", version=version)
        generation = api.call("GET", f"/resource_providers/{rp}", version=version).body[
            "generation"]
        stale = (status_and_code(api.call("PUT", f"/resource_providers/{rp}/aggregates",
                                          version=version, json=body))
                 if version == "1.19" else None)
        return put.status, put.body, shown.body, generation, stale

    agree(apis, check)


def test_project_usages_and_post_allocations(apis: list[Api]) -> None:
    rp, first, second, project = fresh(), fresh(), fresh(), fresh()

    def check(api: Api) -> Any:
        new_provider(api, rp, vcpu=4)
        entry = {"project_id": project, "user_id": "u", "consumer_generation": None,
                 "consumer_type": "INSTANCE"}
        too_much = api.call("POST", "/allocations", version=LATEST, json={
            first: {**entry, "allocations": {rp: {"resources": {"VCPU": 3}}}},
            second: {**entry, "allocations": {rp: {"resources": {"VCPU": 2}}}}})
        posted = api.call("POST", "/allocations", version=LATEST, json={
            first: {**entry, "allocations": {rp: {"resources": {"VCPU": 2}}}},
            second: {**entry, "allocations": {rp: {"resources": {"VCPU": 1}}}}})
        shown = api.call("GET", f"/allocations/{first}", version=LATEST)
        return (status_and_code(too_much), posted.status, shown.body["consumer_type"],
                api.call("GET", "/usages", version="1.9", params={"project_id": project}).body,
                api.call("GET", "/usages", version=LATEST,
                         params={"project_id": project}).body,
                status_and_code(api.call("PUT", f"/allocations/{fresh()}", version=LATEST,
                                         json={k: v for k, v in entry.items()
                                               if k != "consumer_type"}
                                         | {"allocations": {}})))

    agree(apis, check)


def test_rename_provider_and_single_class_inventory(apis: list[Api]) -> None:
    rp, other = fresh(), fresh()

    def check(api: Api) -> Any:
        new_provider(api, rp)
        api.call("POST", "/resource_providers", version=CLIENT,
                 json={"uuid": other, "name": f"rp-{other}"})
        renamed = api.call("PUT", f"/resource_providers/{rp}", version=LATEST,
                           json={"name": f"new-{rp}"})
        taken = api.call("PUT", f"/resource_providers/{rp}", version=LATEST,
                         json={"name": f"rp-{other}"})
        one = api.call("GET", f"/resource_providers/{rp}/inventories/VCPU", version=LATEST)
        missing = api.call("GET", f"/resource_providers/{rp}/inventories/DISK_GB",
                           version=LATEST)
        put = api.call("PUT", f"/resource_providers/{rp}/inventories/DISK_GB",
                       version=LATEST, json={"resource_provider_generation": 1, "total": 10})
        deleted = api.call("DELETE", f"/resource_providers/{rp}/inventories/DISK_GB",
                           version=LATEST)
        after = api.call("GET", f"/resource_providers/{rp}/inventories", version=LATEST)
        return (renamed.status, renamed.body["name"], renamed.body["generation"],
                status_and_code(taken), one.status, one.body, status_and_code(missing),
                status_and_code(put), status_and_code(deleted), after.body)

    agree(apis, check)
