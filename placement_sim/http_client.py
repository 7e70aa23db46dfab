"""``PlacementClient`` over HTTP: the placement simulator's front end, or a real Placement.

``HttpPlacementClient`` is ``InProcessPlacementClient`` running over ``RemotePlacementStore``,
an object with the ``PlacementStore`` methods where each method is the one Placement API
request that the store method documents. The client logic (idempotent
``ensure_resource_provider``, the claim retry loop on provider generation conflicts, False on
capacity conflicts or unreachable placement, ``AllocationUpdateFailed`` on consumer
generation conflicts) is therefore literally the same code in process and over HTTP.

Error mapping: a placement error body becomes the same ``PlacementError`` the store would
raise (``PlacementError.from_body``); a connection failure, timeout or 5xx answer becomes
``PlacementUnavailable``, at once or, given ``patience_s`` (``[placement]
unavailable_patience``), only once placement has stayed unavailable that long: meanwhile the
request is sent again, with a growing pause. A request that timed out may still have been
carried out (placement was slow, not gone), so sending it again must not change its outcome:
DELETE and GET are idempotent, a POST or PUT answered 409 on a second try is judged by the
callers' own conflict handling, and a claim's PUT answered with a consumer generation conflict
on a second try counts as done when the consumer's allocations are the ones it asked for.

Return values are projected onto the store's shapes (providers as uuid/name/generation,
candidates as allocation requests and resource summaries only), so both clients return equal
values for equal states.

One urllib3 connection pool (safe to share between threads, keeping a connection per thread
that uses it) serves all requests; it sends ``OpenStack-API-Version: placement 1.36`` (1.16
for allocation candidates, 1.32 when they are filtered by traits or aggregates, see
``candidates_since``) and, when given, ``X-Auth-Token``.
urllib3 and orjson rather than httpx and json: a scheduling request reads the candidates of up
to 1,000 providers, and this pair fetches and parses that body in about half the time
(BENCHMARKS.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

import orjson
import urllib3

from placement_sim.candidate_filters import NO_FILTERS, CandidateFilters
from placement_sim.candidates_delta import (
    REMOVED_KEY,
    SINCE_HEADER,
    SINCE_PARAMETER,
    TOKEN_HEADER,
)
from placement_sim.client import CLAIM_ATTEMPTS, InProcessPlacementClient, nova_backoff
from placement_sim.exceptions import DEFAULT, PlacementError, PlacementUnavailable
from placement_sim.store import CandidatesAnswer

LOG = logging.getLogger(__name__)
# Query parameters: a mapping, or pairs where a parameter repeats.
Params = Mapping[str, Any] | Sequence[tuple[str, Any]]

MICROVERSION = "1.36"
# Pauses between tries while placement is unavailable: 0.2 s, doubling, at most 2 s.
FIRST_PAUSE_S = 0.2
# Connecting, when no timeout is given: a connection that cannot be made carried nothing, so
# giving up on it (and sending the request again) is always safe; an answer is waited for.
CONNECT_TIMEOUT_S = 10.0
LONGEST_PAUSE_S = 2.0
CANDIDATES_MICROVERSION = "1.16"
# The first that takes every filter the scheduler sends: required traits (1.17), forbidden
# ones (1.22), several member_of (1.24) and forbidden aggregates, `member_of=!in:` (1.32).
FILTERED_CANDIDATES_MICROVERSION = "1.32"


def _provider(body: Mapping[str, Any]) -> dict[str, Any]:
    return {"uuid": body["uuid"], "name": body["name"], "generation": body["generation"]}


class RemotePlacementStore:
    """The ``PlacementStore`` interface implemented by requests to a Placement endpoint."""

    def __init__(self, endpoint_url: str, auth_token: str | None = None,
                 timeout: float | None = 10.0, pool_size: int = 16, patience_s: float = 0.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        """`timeout`: seconds to connect and to wait for an answer; None: CONNECT_TIMEOUT_S
        to connect, and the answer waited for as long as it takes (Nova's report client sets
        no timeout). `patience_s`: how long to keep sending a request again while placement
        is unavailable before raising PlacementUnavailable (0: raise at once)."""
        headers = {"OpenStack-API-Version": f"placement {MICROVERSION}",
                   "Accept": "application/json", "Content-Type": "application/json"}
        if auth_token:
            headers["X-Auth-Token"] = auth_token
        self.endpoint_url = endpoint_url.rstrip("/")
        self._prefix = urllib3.util.parse_url(self.endpoint_url).path or ""
        self._patience_s = patience_s
        self._sleep = sleep
        # urllib3 retries nothing: _exchange decides, with patience_s, what is sent again.
        self._http = urllib3.connection_from_url(
            self.endpoint_url, maxsize=pool_size, headers=headers, retries=False,
            timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_S if timeout is None else timeout,
                                    read=timeout))

    def close(self) -> None:
        self._http.close()

    def _request(self, method: str, path: str, *, json: Any = None,
                 params: Params | None = None, version: str | None = None) -> Any:
        return self._exchange(method, path, json=json, params=params, version=version)[0]

    def _exchange(self, method: str, path: str, *, json: Any = None,
                  params: Params | None = None, version: str | None = None,
                  resent: list[PlacementUnavailable] | None = None,
                  ) -> tuple[Any, Mapping[str, str]]:
        """One request, sent again while placement is unavailable and patience lasts: (its
        parsed JSON body or None, its response headers). Each failure that made it send the
        request again is appended to `resent`."""
        deadline = time.monotonic() + self._patience_s
        pause = FIRST_PAUSE_S
        while True:
            try:
                return self._exchange_once(method, path, json=json, params=params,
                                           version=version)
            except PlacementUnavailable as exc:
                if time.monotonic() + pause > deadline:
                    raise
                LOG.warning("%s; sending it again in %.1f s", exc, pause)
                if resent is not None:
                    resent.append(exc)
                self._sleep(pause)
                pause = min(pause * 2, LONGEST_PAUSE_S)

    def _exchange_once(self, method: str, path: str, *, json: Any = None,
                       params: Params | None = None, version: str | None = None,
                       ) -> tuple[Any, Mapping[str, str]]:
        url = self._prefix + path + (f"?{urlencode(params)}" if params else "")
        body = orjson.dumps(json) if json is not None else None
        headers = None
        if version is not None:
            headers = {**self._http.headers, "OpenStack-API-Version": f"placement {version}"}
        try:
            response = self._http.urlopen(method, url, body=body, headers=headers)
        except urllib3.exceptions.HTTPError as exc:
            raise PlacementUnavailable(
                f"{method} {self.endpoint_url}{path}: {type(exc).__name__}: {exc}") from exc
        status, content = response.status, response.data
        if status >= 500:
            raise PlacementUnavailable(
                f"{method} {self.endpoint_url}{path}: HTTP {status}: "
                f"{content[:200].decode(errors='replace')}")
        if status >= 400:
            try:
                error_body = orjson.loads(content)
            except orjson.JSONDecodeError:
                error_body = None
            if isinstance(error_body, dict) and error_body.get("errors"):
                raise PlacementError.from_body(status, error_body)
            raise PlacementError(status, DEFAULT, content[:500].decode(errors="replace"))
        if status == 204 or not content:
            return None, response.headers
        # orjson: a candidates body for 1,000 providers parses several times faster.
        return orjson.loads(content), response.headers

    @staticmethod
    def _rp(uuid: str, suffix: str = "") -> str:
        return f"/resource_providers/{quote(uuid, safe='')}{suffix}"

    @staticmethod
    def _consumer(consumer_uuid: str) -> str:
        return f"/allocations/{quote(consumer_uuid, safe='')}"

    # -- resource providers --

    def create_resource_provider(self, uuid: str, name: str) -> dict[str, Any]:
        return _provider(self._request("POST", "/resource_providers",
                                       json={"uuid": uuid, "name": name}))

    def get_resource_provider(self, uuid: str) -> dict[str, Any]:
        return _provider(self._request("GET", self._rp(uuid)))

    def list_resource_providers(self) -> list[dict[str, Any]]:
        body = self._request("GET", "/resource_providers")
        return [_provider(p) for p in body["resource_providers"]]

    def delete_resource_provider(self, uuid: str) -> None:
        self._request("DELETE", self._rp(uuid))

    # -- inventories --

    def create_resource_class(self, name: str) -> bool:
        """PUT /resource_classes/{name}: whether it was created (a 201) rather than there."""
        self._request("PUT", f"/resource_classes/{name}")
        return True

    def get_inventories(self, rp_uuid: str) -> dict[str, Any]:
        return self._request("GET", self._rp(rp_uuid, "/inventories"))

    def set_inventories(self, rp_uuid: str, generation: int,
                        inventories: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
        return self._request("PUT", self._rp(rp_uuid, "/inventories"), json={
            "resource_provider_generation": generation,
            "inventories": {rc: dict(record) for rc, record in inventories.items()},
        })

    # -- traits and aggregates --

    def create_trait(self, name: str) -> bool:
        """PUT /traits/{name}: whether it was created (a 201) rather than there (a 204)."""
        _, headers = self._exchange("PUT", f"/traits/{quote(name, safe='')}")
        return headers.get("Location") is not None

    def get_provider_traits(self, rp_uuid: str) -> dict[str, Any]:
        return self._request("GET", self._rp(rp_uuid, "/traits"))

    def set_provider_traits(self, rp_uuid: str, generation: int,
                            traits: list[str]) -> dict[str, Any]:
        return self._request("PUT", self._rp(rp_uuid, "/traits"), json={
            "resource_provider_generation": generation, "traits": list(traits)})

    def get_aggregates(self, rp_uuid: str) -> dict[str, Any]:
        return self._request("GET", self._rp(rp_uuid, "/aggregates"))

    def set_aggregates(self, rp_uuid: str, aggregates: list[str],
                       generation: int | None) -> dict[str, Any]:
        # At 1.36 the body always has the generation (1.19's form).
        return self._request("PUT", self._rp(rp_uuid, "/aggregates"), json={
            "resource_provider_generation": generation, "aggregates": list(aggregates)})

    # -- allocations --

    def put_allocations(self, consumer_uuid: str, allocations: Mapping[str, Mapping[str, Any]],
                        project_id: str, user_id: str, consumer_generation: int | None) -> None:
        wanted = {rp: dict(entry) for rp, entry in allocations.items()}
        resent: list[PlacementUnavailable] = []
        try:
            self._exchange("PUT", self._consumer(consumer_uuid), resent=resent, json={
                "allocations": wanted,
                "project_id": project_id,
                "user_id": user_id,
                "consumer_generation": consumer_generation,
            })
        except PlacementError as exc:
            # Sent again after a try that may have been carried out: if that one wrote these
            # very allocations, this conflict is our own write, and the claim is made.
            if not (resent and exc.is_consumer_generation_conflict
                    and self._holds(consumer_uuid, wanted)):
                raise
            LOG.info("Allocations for %s were written by a try that timed out", consumer_uuid)

    def _holds(self, consumer_uuid: str, wanted: Mapping[str, Mapping[str, Any]]) -> bool:
        current = self.get_allocations(consumer_uuid)["allocations"]
        return ({rp: entry["resources"] for rp, entry in current.items()}
                == {rp: dict(entry["resources"]) for rp, entry in wanted.items()})

    def delete_allocations(self, consumer_uuid: str) -> None:
        self._request("DELETE", self._consumer(consumer_uuid))

    def get_allocations(self, consumer_uuid: str) -> dict[str, Any]:
        return self._request("GET", self._consumer(consumer_uuid))

    def get_provider_allocations(self, rp_uuid: str) -> dict[str, dict[str, int]]:
        body = self._request("GET", self._rp(rp_uuid, "/allocations"))
        return {c: entry["resources"] for c, entry in body["allocations"].items()}

    def get_usages(self, rp_uuid: str) -> dict[str, int]:
        return self._request("GET", self._rp(rp_uuid, "/usages"))["usages"]

    # -- allocation candidates --

    def allocation_candidates(self, resources: Mapping[str, int], limit: int | None = None,
                              filters: CandidateFilters = NO_FILTERS) -> dict[str, Any]:
        answer = self.candidates_since(resources, limit, None, filters)
        return {"allocation_requests": answer.allocation_requests,
                "provider_summaries": answer.provider_summaries}

    def candidates_since(self, resources: Mapping[str, int], limit: int | None,
                         since: str | None,
                         filters: CandidateFilters = NO_FILTERS) -> CandidatesAnswer:
        """GET /allocation_candidates, with altsim's delta extension when `since` is a token
        the placement gave (PlacementStore.candidates_since; a real placement gives none, so
        the client never sends it one)."""
        params: list[tuple[str, Any]] = [
            ("resources", ",".join(f"{rc}:{amount}" for rc, amount in resources.items()))]
        if limit is not None:
            params.append(("limit", limit))
        if since is not None:
            params.append((SINCE_PARAMETER, since))
        params.extend(_filter_params(filters))
        # Asked at 1.16, the first microversion that takes `limit` (placement refuses it below
        # with a 400); its body is 1.12's, the first with the allocation requests as a dict:
        # for single-provider trees it holds everything the scheduler uses, already in the
        # store's shape, and it is half the size to send and parse of the 1.36 answer
        # (mappings, traits, parent and root uuids repeated for each of up to 1,000 providers).
        # Filtered, it is asked at 1.32, whose summaries also carry traits (always) and the
        # parent and root uuids: projected onto the store's shape (traits when some).
        filtered = not filters.empty
        version = CANDIDATES_MICROVERSION
        if filtered:  # `required=in:` (any of the traits) exists from 1.39 only
            version = "1.39" if filters.any_traits else FILTERED_CANDIDATES_MICROVERSION
        body, headers = self._exchange("GET", "/allocation_candidates", params=params,
                                       version=version)
        answered_since = headers.get(SINCE_HEADER)
        summaries = body["provider_summaries"]
        if filtered:
            summaries = {rp: _summary(summary) for rp, summary in summaries.items()}
        return CandidatesAnswer(body["allocation_requests"], summaries,
                                body.get(REMOVED_KEY, []) if answered_since else [],
                                headers.get(TOKEN_HEADER), answered_since)


def _filter_params(filters: CandidateFilters) -> list[tuple[str, str]]:
    """The query parameters of `filters`, as Nova's RequestGroup.to_queryparams spells them:
    one `required` with the forbidden traits `!`-prefixed, a `member_of=in:` per group and
    one `member_of=!in:` for the forbidden aggregates."""
    params = []
    traits = sorted(filters.required) + [f"!{t}" for t in sorted(filters.forbidden)]
    if traits:
        params.append(("required", ",".join(traits)))
    params.extend(("required", "in:" + ",".join(sorted(group)))
                  for group in filters.any_traits)
    params.extend(("member_of", "in:" + ",".join(sorted(group)))
                  for group in filters.member_of)
    if filters.forbidden_aggregates:
        params.append(("member_of", "!in:" + ",".join(sorted(filters.forbidden_aggregates))))
    return params


def _summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    projected: dict[str, Any] = {"resources": summary["resources"]}
    if summary.get("traits"):
        projected["traits"] = sorted(summary["traits"])
    return projected


class HttpPlacementClient(InProcessPlacementClient):
    """``PlacementClient`` talking to a Placement API at ``endpoint_url``.

    Usable as a context manager; ``close()`` releases the pooled connections.
    """

    def __init__(
        self,
        endpoint_url: str,
        auth_token: str | None = None,
        timeout: float | None = 10.0,
        *,
        sleep: Callable[[float], None] = time.sleep,
        backoff: Callable[[int], float] = nova_backoff,
        max_attempts: int = CLAIM_ATTEMPTS,
        patience_s: float = 0.0,
    ) -> None:
        """`patience_s`: RemotePlacementStore's (how long placement may stay unavailable
        before a request fails)."""
        self.remote = RemotePlacementStore(endpoint_url, auth_token, timeout,
                                           patience_s=patience_s, sleep=sleep)
        super().__init__(self.remote, sleep=sleep, backoff=backoff,  # type: ignore[arg-type]
                         max_attempts=max_attempts)

    @property
    def endpoint_url(self) -> str:
        return self.remote.endpoint_url

    def close(self) -> None:
        self.remote.close()

    def __enter__(self) -> HttpPlacementClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
