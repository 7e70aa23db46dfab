"""A Placement-style claims service for altsim.

``store`` holds resource providers, inventories, consumers and allocations with the semantics
of OpenStack Placement (microversion 1.28+ consumer generations, capacity and unit checks,
single-provider allocation candidates). ``client`` is the narrow interface the other altsim
services use to talk to it, with an in-process implementation over the store; an HTTP client
with the same interface can talk to an HTTP front end of the store or to a real Placement.
"""
