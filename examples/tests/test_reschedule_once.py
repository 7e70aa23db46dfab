"""The first spawn fails; the cell conductor builds on the first alternate."""


def test_reschedule_once(altsim_cloud):
    altsim_cloud.add_cell("cell1", hosts=["host1", "host2", "host3"])
    altsim_cloud.fail_spawn("host1")
    server = altsim_cloud.boot("vm", "small")
    altsim_cloud.wait_for_state(server, "ACTIVE")
    assert server.host == server.selection[1] == "host2"
    assert altsim_cloud.usage("host1")["VCPU"] == 0
