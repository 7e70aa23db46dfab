"""Placement's standard resource classes (os-resource-classes 1.1.0, the list openstack-placement
16.0.0 ships), in the order ``GET /resource_classes`` lists them, and the names a custom one may
take.

Standard classes are fixed. A custom class (``CUSTOM_*``) exists once someone created it (``PUT
/resource_classes/{name}``, which Nova's report client does before reporting an inventory of
it); the store keeps those, and refuses an inventory or a claim naming one it does not know, as
placement does ("No such resource class").
"""

from __future__ import annotations

import re

STANDARD_ORDER = (
    "VCPU", "MEMORY_MB", "DISK_GB", "PCI_DEVICE", "SRIOV_NET_VF", "NUMA_SOCKET", "NUMA_CORE",
    "NUMA_THREAD", "NUMA_MEMORY_MB", "IPV4_ADDRESS", "VGPU", "VGPU_DISPLAY_HEAD",
    "NET_BW_EGR_KILOBIT_PER_SEC", "NET_BW_IGR_KILOBIT_PER_SEC", "PCPU", "MEM_ENCRYPTION_CONTEXT",
    "FPGA", "PGPU", "NET_PACKET_RATE_KILOPACKET_PER_SEC",
    "NET_PACKET_RATE_EGR_KILOPACKET_PER_SEC", "NET_PACKET_RATE_IGR_KILOPACKET_PER_SEC",
)
STANDARD = frozenset(STANDARD_ORDER)
CUSTOM_PREFIX = "CUSTOM_"
# Placement's schema for a custom class or trait name (at most 255 characters).
CUSTOM_NAME_RE = re.compile(r"^CUSTOM_[A-Z0-9_]+$")


def is_custom_name(name: str) -> bool:
    return len(name) <= 255 and CUSTOM_NAME_RE.match(name) is not None
