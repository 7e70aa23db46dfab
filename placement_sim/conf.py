"""Options of placement: how services reach it, and how `altsim-placement` serves it."""

from __future__ import annotations

from collections.abc import Callable

from oslo_config import cfg

from altsim.conf.groups import register_group_opts
from placement_sim.client import InProcessPlacementClient, PlacementClient
from placement_sim.store import DEFAULT_CANDIDATES_ORDER, PlacementStore

placement_group = cfg.OptGroup(
    "placement",
    help="The placement service: the client side (endpoint_url, auth_token, timeout) for "
         "every service that talks to placement, the server side (bind_host, bind_port, "
         "noauth) for altsim-placement, and candidates_order for every placement altsim "
         "keeps.")

placement_opts = [
    cfg.StrOpt("endpoint_url",
               help="Base URL of the Placement API, e.g. http://127.0.0.1:8778 for "
                    "altsim-placement (or a real Placement). Unset means in-process: the "
                    "service gets a placement store of its own in memory, which is what the "
                    "embedded mode uses; processes that must share placement need this set."),
    cfg.StrOpt("auth_token", secret=True,
               help="Token sent as X-Auth-Token with every placement request. On "
                    "altsim-placement, the token every request but GET / must carry; the "
                    "server refuses to start without one unless noauth is true."),
    cfg.FloatOpt("timeout", min=0.001,
                 help="Seconds to wait for placement to connect and to answer a request; a "
                      "timeout counts as placement being unavailable (see "
                      "unavailable_patience). Unset (the default): connecting may take "
                      "10 s, the answer as long as placement needs, as with Nova's report "
                      "client (keystoneauth sets no timeout unless given one). A request "
                      "that timed out waiting for its answer was delivered: a placement that "
                      "is slow, not gone, still carries it out, after the service has counted "
                      "it failed (a claim then moves on to the next host, and the first "
                      "host's allocation appears later, leaked)."),
    cfg.FloatOpt("unavailable_patience", default=30.0, min=0.0,
                 help="Seconds a request keeps being sent again (pauses from 0.2 s doubling "
                      "to 2 s) while placement cannot be reached, times out or answers 5xx, "
                      "before it counts as failed: a claim then fails (returns False) as with "
                      "Nova's safe_connect, other calls raise. 0 fails at once, as Nova does; "
                      "the default rides out a placement that is paused or cut off for a while "
                      "without leaking or losing a claim (docs/reliability.md)."),
    cfg.HostAddressOpt("bind_host", default="127.0.0.1",
                       help="Address altsim-placement listens on. Keep the loopback default "
                            "unless other machines must reach it: the token is the only "
                            "protection and travels in clear over HTTP."),
    cfg.PortOpt("bind_port", default=8778,
                help="Port altsim-placement listens on (8778 is Placement's usual port)."),
    cfg.StrOpt("state_path", default="",
               help="Folder where altsim-placement keeps its state (altsim-placement only): "
                    "a journal of every write and periodic snapshots, so providers, "
                    "inventories and allocations survive a restart, kill -9 included. "
                    "Created if missing; one placement per folder. Empty keeps the state in "
                    "memory only: a restarted placement starts empty. The launcher sets it "
                    "to a folder of the run's own."),
    cfg.BoolOpt("state_fsync", default=True,
                help="With state_path: answer a write only once its journal record is on "
                     "disk (fdatasync, shared by the writes that arrive meanwhile), so it "
                     "survives a machine crash too. False answers once the record is handed "
                     "to the operating system: it then survives altsim-placement being "
                     "killed, not the machine going down, and a write costs a few "
                     "microseconds less to a few milliseconds less (BENCHMARKS.md)."),
    cfg.IntOpt("state_snapshot_every", default=10000, min=1,
               help="With state_path: write a snapshot of the whole state, and start a new "
                    "journal, after this many journaled writes. A restart replays at most "
                    "this many records after loading the newest snapshot."),
    cfg.StrOpt("candidates_order", default=DEFAULT_CANDIDATES_ORDER, choices=[
                   ("hash", "a fixed order that follows no name and is another for each "
                            "requested resources (classes and amounts), as Placement's: "
                            "`limit` keeps a pseudo-random subset, the same from request "
                            "to request for a flavor, and the same in every run"),
                   ("name", "provider-name order: `limit` keeps the providers first by "
                            "name (altsim's order before this option)"),
                   ("random", "a fresh random order for each answer, and a random sample "
                              "of them all under `limit`: Placement with "
                              "randomize_allocation_candidates = true (in a deterministic "
                              "run, drawn from the run's seed)")],
               help="Order of GET /allocation_candidates answers, of a placement this "
                    "process keeps: altsim-placement's, or the in-process store of the "
                    "embedded and deterministic modes and of a service without "
                    "endpoint_url. Placement promises no order; it matters only where "
                    "`limit` (the scheduler's max_placement_results) cuts the candidates, "
                    "since the scheduler weighs hosts in its own order (docs/fidelity.md, "
                    "Allocation candidate order). A placement reached at endpoint_url "
                    "answers in its own order."),
    cfg.BoolOpt("noauth", default=False,
                help="Serve without authentication (altsim-placement only). When false, "
                     "auth_token must be set and every request except GET / must send it."),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    register_group_opts(conf, placement_group, placement_opts)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(placement_group.name, placement_opts)]


def make_placement_client(
    conf: cfg.ConfigOpts, store_factory: Callable[[], PlacementStore] | None = None
) -> PlacementClient:
    """An HTTP client when [placement] endpoint_url is set, else an in-process one over a new
    store in [placement] candidates_order (from ``store_factory`` when given, e.g. to share
    one store in a process)."""
    group = conf.placement
    if group.endpoint_url:
        from placement_sim.http_client import HttpPlacementClient  # urllib3 only when needed

        return HttpPlacementClient(group.endpoint_url, auth_token=group.auth_token,
                                   timeout=group.timeout,
                                   patience_s=group.unavailable_patience)
    return InProcessPlacementClient(store_factory() if store_factory
                                    else PlacementStore(group.candidates_order))
