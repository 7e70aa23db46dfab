"""A spawn that fails for good (BuildAbortException) is never retried on an alternate."""


def test_abort_is_not_rescheduled(altsim_cloud):
    altsim_cloud.add_cell("cell1", hosts=["host1", "host2"])
    altsim_cloud.fail_spawn("host1", action="abort", reason="image is corrupt")

    server = altsim_cloud.boot("vm", "small")

    altsim_cloud.wait_for_state(server, "ERROR")
    assert [(a.host, a.result) for a in server.attempts] == [("host1", "aborted")]
    assert server.fault["message"].endswith("aborted: image is corrupt")
    assert altsim_cloud.usage("host1")["VCPU"] == 0
