"""Min/max decimation equals the brute-force min and max per bin, however it is chunked."""

from __future__ import annotations

import numpy as np
import pytest

from host.dashboard.decimate import MinMaxBins
from host.errors import ConfigError


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_min_max_per_bin_equals_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    sfreq, n = 1000.0, 20_000
    t0_us = 1_000_000_000
    data = rng.normal(size=(2, n))
    data[:, 5_000:7_500] = np.nan  # a gap
    start_us, end_us, n_bins = t0_us - 2_000_000, t0_us + 15_000_000, 37
    bins = MinMaxBins(start_us, end_us, n_bins, 2)
    cuts = np.sort(rng.choice(np.arange(1, n), size=6, replace=False))
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, n], strict=True):
        bins.add(t0_us + a * 1000.0, sfreq, data[:, a:b])
    out = bins.result()
    times = t0_us + np.arange(n) * 1000.0
    edges = np.linspace(start_us, end_us, n_bins + 1)
    for k in range(n_bins):
        inside = (times >= edges[k]) & (times < edges[k + 1])
        block = data[:, inside]
        if block.size == 0 or np.isnan(block).all():
            assert np.isnan(out["min"][:, k]).all(), k
            continue
        np.testing.assert_array_equal(out["min"][:, k], np.nanmin(block, axis=1))
        np.testing.assert_array_equal(out["max"][:, k], np.nanmax(block, axis=1))
    np.testing.assert_array_equal(out["t_us"], edges[:-1])


def test_bad_bins_are_refused() -> None:
    with pytest.raises(ConfigError, match="n_bins"):
        MinMaxBins(10, 5, 3, 1)
