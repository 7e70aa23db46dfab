"""A multi-create is scheduled as one request: when not all its servers fit, none is built;
every one goes to ERROR in cell0 with NoValidHost, and nothing is left claimed."""


def test_multi_create_that_does_not_fit(altsim_cloud):
    altsim_cloud.add_cell("cell1", hosts=["host1", "host2"],
                          resources={"VCPU": 2, "MEMORY_MB": 4096, "DISK_GB": 10})

    servers = altsim_cloud.boot("web", "small", count=5)

    altsim_cloud.wait_for_state(servers, "ERROR")
    assert {s.cell for s in servers} == {"cell0"}
    assert {s.fault["message"] for s in servers} == {
        "No valid host was found. There are not enough hosts available."}
    assert altsim_cloud.usage("host1")["VCPU"] == altsim_cloud.usage("host2")["VCPU"] == 0
