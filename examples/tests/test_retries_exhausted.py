"""Every host fails its spawn: after [scheduler] max_attempts builds the server is in ERROR
with Nova's MaxRetriesExceeded fault, and nothing stays allocated."""


def test_retries_exhausted(altsim_cloud):
    altsim_cloud.add_cell("cell1", hosts=["host1", "host2", "host3"])
    altsim_cloud.set_config("scheduler.max_attempts", 3)
    for host in ("host1", "host2", "host3"):
        altsim_cloud.fail_spawn(host, reason="libvirt: no more VMs")

    server = altsim_cloud.boot("vm", "small")

    altsim_cloud.wait_for_state(server, "ERROR")
    assert [a.host for a in server.attempts] == ["host1", "host2", "host3"]
    assert server.fault["message"].startswith("Exceeded maximum number of retries.")
    assert "Last exception: libvirt: no more VMs" in server.fault["message"]
    assert server.allocations == {}
    assert altsim_cloud.audit()["leaked"] == 0
