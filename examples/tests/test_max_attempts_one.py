"""[scheduler] max_attempts = 1: no alternates, no retry; the failed spawn is the end, and
the fault says why it failed."""


def test_max_attempts_one(altsim_cloud):
    altsim_cloud.add_cell("cell1", hosts=["host1", "host2"])
    altsim_cloud.set_config("scheduler.max_attempts", 1)
    altsim_cloud.fail_spawn("host1", reason="libvirt said no")

    server = altsim_cloud.boot("vm", "small")

    altsim_cloud.wait_for_state(server, "ERROR")
    assert server.selection == ["host1"]
    assert [a.host for a in server.attempts] == ["host1"]
    assert "libvirt said no" in server.fault["message"]
