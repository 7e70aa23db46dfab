"""The placement API's handlers, one module per resource, as placement's ``handlers/``.

Each handler is a plain ``async`` function of a ``PlacementRequest`` (the request with the
store, the candidates body cache and the microversion: ``handlers/request.py``), its path
parameters and its body; ``placement_sim/http_app.py`` says which path and method reach which.
"""
