"""[scheduler] host_view: where the scheduler reads a host's free resources, the compute node
rows that each host's tracker writes (Nova) or placement's summaries (scheduler/host_manager.py,
scheduler/node_usage.py, scheduler/host_table.py, compute_sim/tracker.py)."""

from __future__ import annotations

import pytest

from altsim_lab.testing import SMALL, instance_uuid, make_test_conf
from compute_sim.tracker import ResourceTracker

TWO_SLOTS = {"VCPU": 2, "MEMORY_MB": 1024, "DISK_GB": 2}


def chosen(world, conf, name: str) -> str:
    [selections] = world.scheduler_manager(conf).select_destinations(
        {}, world.spec(name), [instance_uuid(name)])
    return selections[0].service_host


def test_the_default_is_novas():
    assert make_test_conf().scheduler.host_view == "compute_nodes"


@pytest.mark.parametrize(("view", "second"), [("compute_nodes", "h1"), ("placement", "h2")])
def test_a_claim_no_compute_has_made_yet_shows_only_in_placements_view(world, view, second):
    # Given two equal hosts with room for two each
    world.add_hosts("cell1", ["h1", "h2"], **TWO_SLOTS)
    conf = make_test_conf({"scheduler.host_view": view})
    # When a first request claims h1 (first by name) and a second comes before h1's compute
    # has claimed the build
    assert chosen(world, conf, "a") == "h1"
    # Then reading the rows it takes h1 again (herding, as Nova's scheduler), reading
    # placement it takes the emptier h2
    assert chosen(world, conf, "b") == second


def test_once_the_compute_has_claimed_the_rows_show_it_too(world):
    world.add_hosts("cell1", ["h1", "h2"], **TWO_SLOTS)
    conf = make_test_conf()
    assert chosen(world, conf, "a") == "h1"
    tracker = ResourceTracker(world.hosts["h1"], world.cell_db_of("h1"), check_fit=False)
    tracker.claim(instance_uuid("a"), SMALL.resources)  # the build reached h1's compute
    assert chosen(world, conf, "b") == "h2"


def test_a_full_host_is_never_a_candidate_whatever_its_row_says(world):
    """Placement decides the candidates in both views: a host its row shows empty but that
    placement counts full is not offered, so the herd moves on instead of losing claims."""
    world.add_hosts("cell1", ["h1", "h2"], **TWO_SLOTS)
    conf = make_test_conf()
    assert [chosen(world, conf, name) for name in ("a", "b", "c")] == ["h1", "h1", "h2"]
