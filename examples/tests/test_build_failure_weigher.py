"""The BuildFailureWeigher, with Nova's timing: a host's failed build reaches its compute node
row (what the weigher reads) only at the host's next claim or release or its periodic task.
Until then the next server may go to the failing host too; `run_periodics()` (Nova's
`_run_periodics`) writes the count, and the next server avoids the host."""


def test_next_server_avoids_the_failing_host_after_the_periodic(altsim_cloud):
    # Given host1 fails every spawn, and a first server rescheduled from it to host2
    altsim_cloud.add_cell("cell1", hosts=["host1", "host2", "host3"])
    altsim_cloud.fail_spawn("host1", times=None)
    first = altsim_cloud.boot("first", "small")
    altsim_cloud.wait_for_state(first, "ACTIVE")
    assert [a.host for a in first.attempts] == ["host1", "host2"]
    # the failure is counted by host1's compute, not yet in its row
    assert altsim_cloud.failed_builds("host1") == 0

    # When a second server is booted before any periodic task ran
    second = altsim_cloud.boot("second", "small")

    # Then the scheduler still sees a clean host1 and picks it first
    altsim_cloud.wait_for_state(second, "ACTIVE")
    assert second.selection[0] == "host1"
    assert second.attempts[0].host == "host1" and second.host != "host1"

    # When the computes' periodic task runs (or the interval passes)
    altsim_cloud.run_periodics()
    assert altsim_cloud.failed_builds("host1") == 2

    # Then the next server is steered away from host1: it is weighed last
    third = altsim_cloud.boot("third", "small")
    altsim_cloud.wait_for_state(third, "ACTIVE")
    assert third.selection[0] != "host1"
    assert third.selection[-1] == "host1"
    assert [a.host for a in third.attempts] == [third.host]
