"""Operator tooling behind `altsim-manage`: cell mappings and the placement audit."""
