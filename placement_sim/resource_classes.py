"""Placement's standard resource classes (os-resource-classes 1.1.0, the list openstack-placement
16.0.0 ships), so that a claim naming a class placement has never heard of is the 400 it is
there ("No such resource class") rather than the 409 of a known class the provider has no
inventory of.

altsim-placement has no resource class registry: custom classes (``CUSTOM_*``) are taken as
known, since a real placement's are made by whoever uses them, and the store accepts them.
"""

from __future__ import annotations

STANDARD = frozenset({
    "VCPU", "MEMORY_MB", "DISK_GB", "PCI_DEVICE", "SRIOV_NET_VF", "NUMA_SOCKET", "NUMA_CORE",
    "NUMA_THREAD", "NUMA_MEMORY_MB", "IPV4_ADDRESS", "VGPU", "VGPU_DISPLAY_HEAD",
    "NET_BW_EGR_KILOBIT_PER_SEC", "NET_BW_IGR_KILOBIT_PER_SEC", "PCPU", "MEM_ENCRYPTION_CONTEXT",
    "FPGA", "PGPU", "NET_PACKET_RATE_KILOPACKET_PER_SEC",
    "NET_PACKET_RATE_EGR_KILOPACKET_PER_SEC", "NET_PACKET_RATE_IGR_KILOPACKET_PER_SEC",
})
CUSTOM_PREFIX = "CUSTOM_"


def is_known(resource_class: str) -> bool:
    return resource_class in STANDARD or resource_class.startswith(CUSTOM_PREFIX)
