"""The Nova side of the cross-check: an altsim scenario run as a Nova functional test.

Everything in this package runs inside the cross-check virtualenv (Nova and Placement from
PyPI, see crosscheck/requirements.txt), in a process of its own started by
`crosscheck.nova_run`: Nova's test harness monkey-patches the interpreter with eventlet, so it
cannot share a process with altsim. It imports nothing of altsim; what it knows of the scenario
comes in a plan (JSON, written by `crosscheck.plan`), and what happened goes out as JSON in
the shape of the `instances` and `hosts` of altsim's report.
"""
