"""Unit tests of the report's times: seconds since the run began, and the percentiles of time to
ACTIVE (linear interpolation between closest ranks, as numpy's default)."""

from __future__ import annotations

import math

import pytest

from altsim_lab.scenario.timing import percentile, since


@pytest.mark.parametrize(("values", "p50", "p95"), [
    ([], None, None),
    ([0.5], 0.5, 0.5),
    ([1.0, 2.0], 1.5, 1.95),
    ([float(v) for v in range(1, 11)], 5.5, 9.55),
    ([0.3, 0.1, 0.2], 0.2, 0.29),
])
def test_percentiles_interpolate_between_closest_ranks(values, p50, p95):
    assert percentile(values, 50) == (None if p50 is None else pytest.approx(p50))
    assert percentile(values, 95) == (None if p95 is None else pytest.approx(p95))


def test_percentile_bounds_and_relative_times():
    with pytest.raises(ValueError, match="between 1 and 99"):
        percentile([1.0], 100)
    assert since(100.0, 100.25) == 0.25
    assert since(None, 1.0) is None and since(1.0, None) is None
    assert math.isclose(since(1.0, 1.0000004), 0.0)  # rounded to microseconds
