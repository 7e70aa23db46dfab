"""The BuildFailureWeigher: a host that just failed a build counts one failed build, and the
next server is steered away from it."""


def test_next_server_avoids_the_failing_host(altsim_cloud):
    altsim_cloud.add_cell("cell1", hosts=["host1", "host2", "host3"])
    altsim_cloud.fail_spawn("host1")
    first = altsim_cloud.boot("first", "small")
    assert first.host == "host2"
    assert altsim_cloud.failed_builds("host1") == 1

    second = altsim_cloud.boot("second", "small")

    altsim_cloud.wait_for_state(second, "ACTIVE")
    assert second.selection[0] == "host3"
    assert second.selection[-1] == "host1"
