"""Placement refuses every request without the token, on every route of its app.

The routes come from the app itself (a route added later is covered without editing this test);
each is called with every method it serves, with no token, a wrong one, an empty one and the
right one, before anything in the store exists. Only GET / and /openapi.json are open.
"""

from __future__ import annotations

import re
import warnings

import pytest

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with")
    from fastapi.testclient import TestClient

from placement_sim.http_app import UNAUTHENTICATED_PATHS, create_app
from placement_sim.store import PlacementStore

TOKEN = "auth-test-token"
SOME_UUID = "8e6f7cd4-7b4b-4d1e-9a55-333333333333"


def routes() -> list[tuple[str, str]]:
    """(method, concrete path) of every route the app serves."""
    app = create_app(PlacementStore(), TOKEN)
    found = []
    for route in app.routes:
        path = re.sub(r"\{[^}]+\}", SOME_UUID, getattr(route, "path", ""))
        for method in sorted(getattr(route, "methods", None) or ()):
            found.append((method, path))
    return found


ROUTES = routes()
PROTECTED = [(m, p) for m, p in ROUTES if p not in UNAUTHENTICATED_PATHS]


@pytest.fixture(scope="module")
def client() -> TestClient:
    # One app for the module: requests refused before their handler change nothing, and the
    # ones with the token find an empty store whatever ran before.
    return TestClient(create_app(PlacementStore(), TOKEN))


def test_the_app_has_the_placement_routes():
    paths = {p for _, p in PROTECTED}
    assert {"/resource_providers", f"/allocations/{SOME_UUID}", "/allocation_candidates",
            f"/resource_providers/{SOME_UUID}/inventories"} <= paths
    assert {p for _, p in ROUTES} - paths == UNAUTHENTICATED_PATHS


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN + " "], ids=["none", "empty",
                                                                           "wrong", "padded"])
def test_every_protected_route_is_401_without_the_token(client, method: str, path: str,
                                                        token):
    headers = {} if token is None else {"X-Auth-Token": token}
    response = client.request(method, path, headers=headers, json={})
    assert response.status_code == 401, (method, path, response.text)
    assert response.json()["errors"][0]["title"] == "Unauthorized"


@pytest.mark.parametrize(("method", "path"), PROTECTED, ids=[f"{m} {p}" for m, p in PROTECTED])
def test_with_the_token_no_protected_route_is_401(client, method: str, path: str):
    response = client.request(method, path, headers={"X-Auth-Token": TOKEN}, json={})
    assert response.status_code != 401, (method, path, response.text)


@pytest.mark.parametrize("path", sorted(UNAUTHENTICATED_PATHS))
def test_only_the_version_and_openapi_documents_are_open(client, path: str):
    assert client.get(path).status_code == 200


def test_an_unknown_path_is_401_too_so_it_reveals_nothing(client):
    assert client.get("/no/such/route").status_code == 401
    assert client.get("/openapi.json/../resource_providers").status_code == 401


def test_an_app_given_an_empty_token_still_refuses_a_request_without_one():
    """`create_app(store, "")` is no way to turn authentication off (None is): a request
    with no X-Auth-Token header must not match the empty token."""
    client = TestClient(create_app(PlacementStore(), ""))
    assert client.get("/resource_providers").status_code == 401
