"""A placement the run did not start (`altsim run --placement-url`): reach it before launching,
make sure the run's providers are its own, and take the run's part out of it at the end.

Such a placement (a real openstack-placement, or another lab's altsim-placement) may hold other
state: other runs', a cloud's. The run's resource providers are its hosts, named after them
with uuids derived from the names (compute_sim.host.node_uuid_for), so two runs of one scenario
would share providers; rather than renaming hosts (their names are what the report, the faults
and the filters speak of) the run refuses to start while the placement already has a provider
with one of its host names or node uuids, naming them. The run's consumers are its instances,
whose uuids carry a per-run salt (altsim_lab.nova_api.instance_uuid_for), so they are its own.
At the end the run deletes the allocations of its own consumers on its own providers, then
those providers; anything else found there (a consumer that is not one of its instances) is
left alone and logged, and so is the provider holding it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import orjson
import urllib3

from compute_sim.host import SimulatedHost
from placement_sim.exceptions import PlacementError, PlacementUnavailable
from placement_sim.http_client import HttpPlacementClient

LOG = logging.getLogger(__name__)
PROBE_TIMEOUT_S = 5.0


class SharedPlacementError(RuntimeError):
    """The placement cannot be used for this run; the message says why, in one line."""


@dataclass(frozen=True)
class SharedPlacement:
    """The endpoint of a placement the run uses but does not own, and its token (None with
    noauth2 or altsim-placement without one)."""

    url: str
    token: str | None = None


def probe_placement(placement: SharedPlacement, timeout_s: float = PROBE_TIMEOUT_S) -> None:
    """SharedPlacementError unless `placement.url` answers as a placement that takes the token:
    its version document, then a list of providers (the first request that needs the token)."""
    headers = {"Accept": "application/json"}
    if placement.token:
        headers["X-Auth-Token"] = placement.token
    http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=timeout_s))
    base = placement.url.rstrip("/")
    try:
        root = http.request("GET", base + "/", headers=headers)
        listing = http.request("GET", base + "/resource_providers", headers=headers)
    except urllib3.exceptions.HTTPError as exc:
        raise SharedPlacementError(f"{placement.url} is not reachable: {exc}") from None
    finally:
        http.clear()
    try:
        versions = orjson.loads(root.data)["versions"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise SharedPlacementError(
            f"{placement.url} answered GET / with HTTP {root.status} and no placement version "
            "document: is it a placement endpoint?") from None
    if listing.status in (401, 403):
        raise SharedPlacementError(
            f"{placement.url} refused the token (HTTP {listing.status}): give the right "
            "--placement-token, or none for a placement with auth_strategy = noauth2")
    if listing.status != 200:
        raise SharedPlacementError(f"{placement.url} answered GET /resource_providers with "
                                   f"HTTP {listing.status}")
    LOG.info("placement at %s serves microversions %s to %s", placement.url,
             versions[0].get("min_version"), versions[0].get("max_version"))


def check_providers_free(client: HttpPlacementClient, hosts: Iterable[SimulatedHost]) -> None:
    """SharedPlacementError if the placement already has a provider named like one of the
    run's hosts or with one of their node uuids (another run of the scenario, or one that
    died before cleaning up)."""
    wanted = {host.name: host.node_uuid for host in hosts}
    uuids = set(wanted.values())
    taken = sorted(p["name"] for p in client.list_resource_providers()
                   if p["name"] in wanted or p["uuid"] in uuids)
    if taken:
        shown = ", ".join(taken[:5]) + (f" and {len(taken) - 5} more" if len(taken) > 5 else "")
        raise SharedPlacementError(
            f"placement at {client.endpoint_url} already has resource providers named like "
            f"this run's hosts ({shown}): another run of this scenario is using it, or one "
            "was stopped before it removed them")


def remove_run_state(client: HttpPlacementClient, provider_uuids: Iterable[str],
                     consumer_uuids: Iterable[str]) -> None:
    """Delete the allocations of the run's consumers on the run's providers, then those
    providers; never raises (what cannot be removed is logged)."""
    own = set(consumer_uuids)
    for rp_uuid in provider_uuids:
        try:
            allocations = client.get_provider_allocations(rp_uuid)
        except PlacementError as exc:
            if exc.status != 404:  # 404: never registered (the run stopped early)
                LOG.warning("could not read allocations of provider %s: %s", rp_uuid, exc)
            continue
        except PlacementUnavailable as exc:
            LOG.warning("could not clean up placement: %s", exc)
            return
        foreign = sorted(set(allocations) - own)
        for consumer in sorted(set(allocations) & own):
            client.delete_allocation_for_instance(consumer)
        if foreign:
            LOG.warning("provider %s keeps allocations of consumers that are not this run's "
                        "(%s): left in place", rp_uuid, ", ".join(foreign))
            continue
        try:
            client.remote.delete_resource_provider(rp_uuid)
        except (PlacementError, PlacementUnavailable) as exc:
            LOG.warning("could not delete provider %s: %s", rp_uuid, exc)
