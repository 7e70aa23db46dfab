"""Only the hosts with the flavor's required trait are tried: the failed spawn reschedules to
the other one that has it, never to a host without it."""


def test_a_required_trait_reschedules_among_the_hosts_that_have_it(altsim_cloud):
    altsim_cloud.add_cell("cell1", hosts=["host1", "host2", "host3", "host4"],
                          traits={"host2": ["CUSTOM_FAST_NIC"], "host4": ["CUSTOM_FAST_NIC"]})
    altsim_cloud.add_flavor("fast-nic", extra_specs={"trait:CUSTOM_FAST_NIC": "required"})
    altsim_cloud.fail_spawn("host2")
    server = altsim_cloud.boot("vm", "fast-nic")
    altsim_cloud.wait_for_state(server, "ACTIVE")
    assert server.selection == ["host2", "host4"]
    assert server.host == "host4"
    assert altsim_cloud.usage("host2")["VCPU"] == 0


def test_an_isolated_aggregate_takes_only_the_flavor_that_requires_its_trait(altsim_cloud):
    altsim_cloud.add_cell("cell1", hosts=["host1", "host2", "host3"],
                          traits={"host1": ["CUSTOM_GPU"]}, aggregates={"host1": ["gpu"]})
    altsim_cloud.add_aggregate("gpu", {"trait:CUSTOM_GPU": "required"})
    altsim_cloud.add_flavor("gpu", extra_specs={"trait:CUSTOM_GPU": "required"})
    altsim_cloud.set_config("scheduler.enable_isolated_aggregate_filtering", True)
    plain = altsim_cloud.boot("plain", "small")
    gpu = altsim_cloud.boot("train", "gpu")
    altsim_cloud.wait_for_state(plain, "ACTIVE")
    altsim_cloud.wait_for_state(gpu, "ACTIVE")
    assert "host1" not in plain.selection
    assert gpu.selection == ["host1"]
