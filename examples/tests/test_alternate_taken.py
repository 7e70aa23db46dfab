"""A known Nova bug's shape: while the first host's spawn fails, another server takes the
alternate's last slot. The reschedule's claim on that alternate fails, and the cell conductor
moves on to the next alternate instead of building where nothing is left."""

import pytest


def test_alternate_taken_meanwhile(altsim_cloud):
    if not altsim_cloud.embedded:  # `meanwhile` runs the test's function as the spawn fails
        pytest.skip("fail_spawn(meanwhile=...) needs an embedded cloud")
    altsim_cloud.add_cell("cell1", hosts=["host1", "host2", "host3"])
    altsim_cloud.fail_spawn("host1", meanwhile=lambda: altsim_cloud.fill("host2"))

    server = altsim_cloud.boot("vm", "small")

    altsim_cloud.wait_for_state(server, "ACTIVE")
    assert server.selection == ["host1", "host2", "host3"]
    assert server.claim_failures == ["host2"]
    assert server.host == "host3"
    assert altsim_cloud.audit() | {"orphans": []} == {
        "leaked": 0, "missing": 0, "mismatches": 0, "orphans": [], "missing_servers": []}
