"""Tests of dsp.detector.history: a ring buffer addressed by absolute column index."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from dsp.detector.history import History


def _columns(first: int, n: int, n_rows: int = 2) -> NDArray[np.float64]:
    """Columns whose value encodes their absolute index (row r holds index + 1000 r)."""
    idx = np.arange(first, first + n, dtype=np.float64)
    return np.vstack([idx + 1000.0 * r for r in range(n_rows)])


def test_push_and_get_inside_the_capacity() -> None:
    h = History(2, 8)
    assert (h.start, h.end) == (0, 0)
    h.push(_columns(0, 5))
    assert (h.start, h.end) == (0, 5)
    np.testing.assert_array_equal(h.get(1, 4), _columns(1, 3))
    np.testing.assert_array_equal(h.get(0, 5), _columns(0, 5))


def test_push_across_the_wrap_keeps_the_newest_columns() -> None:
    h = History(2, 5)
    h.push(_columns(0, 3))
    h.push(_columns(3, 4))  # wraps: indices 5 and 6 land on slots 0 and 1
    assert (h.start, h.end) == (2, 7)
    np.testing.assert_array_equal(h.get(2, 7), _columns(2, 5))
    h.push(_columns(7, 2))
    np.testing.assert_array_equal(h.get(4, 9), _columns(4, 5))


def test_a_block_longer_than_the_capacity_keeps_its_tail() -> None:
    h = History(2, 4)
    h.push(_columns(0, 10))
    assert (h.start, h.end) == (6, 10)
    np.testing.assert_array_equal(h.get(6, 10), _columns(6, 4))
    assert np.isnan(h.get(0, 6)).all()


def test_get_outside_the_held_range_returns_fill() -> None:
    h = History(2, 5)
    h.push(_columns(0, 8))  # holds 3 .. 7
    out = h.get(0, 10)
    assert out.shape == (2, 10)
    assert np.isnan(out[:, :3]).all()  # forgotten
    np.testing.assert_array_equal(out[:, 3:8], _columns(3, 5))
    assert np.isnan(out[:, 8:]).all()  # not written yet
    assert h.get(20, 25).shape == (2, 5)
    assert np.isnan(h.get(20, 25)).all()
    assert h.get(5, 5).shape == (2, 0)
    assert h.get(6, 4).shape == (2, 0)  # reversed range: empty, not an error


def test_get_returns_a_copy() -> None:
    h = History(1, 4)
    h.push(np.ones((1, 3)))
    out = h.get(0, 3)
    out[:] = 7.0
    np.testing.assert_array_equal(h.get(0, 3), np.ones((1, 3)))


def test_integer_history_with_its_own_fill() -> None:
    h = History(2, 3, dtype=np.int8, fill=0)
    h.push(np.array([[1, 2], [3, 4]], dtype=np.int8))
    out = h.get(-1, 4)
    assert out.dtype == np.int8
    np.testing.assert_array_equal(out, [[0, 1, 2, 0, 0], [0, 3, 4, 0, 0]])


def test_skip_to_reads_as_fill_and_keeps_older_columns() -> None:
    h = History(2, 6)
    h.push(_columns(0, 4))
    h.skip_to(6)  # columns 4 and 5 skipped
    assert h.end == 6
    h.push(_columns(6, 2))
    out = h.get(2, 8)
    np.testing.assert_array_equal(out[:, :2], _columns(2, 2))
    assert np.isnan(out[:, 2:4]).all()
    np.testing.assert_array_equal(out[:, 4:], _columns(6, 2))


def test_skip_to_overwrites_stale_slots() -> None:
    """A slot reused by a skipped index must not show the column it held before."""
    h = History(1, 4)
    h.push(_columns(0, 4, n_rows=1))
    h.skip_to(6)  # indices 4, 5 reuse the slots of 0, 1
    out = h.get(2, 6)
    np.testing.assert_array_equal(out[:, :2], _columns(2, 2, n_rows=1))
    assert np.isnan(out[:, 2:]).all()


def test_skip_beyond_the_capacity_forgets_everything() -> None:
    h = History(2, 4)
    h.push(_columns(0, 4))
    h.skip_to(100)
    assert (h.start, h.end) == (96, 100)
    assert np.isnan(h.get(0, 100)).all()
    h.push(_columns(100, 1))
    np.testing.assert_array_equal(h.get(100, 101), _columns(100, 1))


def test_skip_backwards_is_a_no_op() -> None:
    h = History(2, 4)
    h.push(_columns(0, 3))
    h.skip_to(1)
    assert h.end == 3
    np.testing.assert_array_equal(h.get(0, 3), _columns(0, 3))


def test_reset_forgets_and_restarts_at_an_index() -> None:
    h = History(2, 4)
    h.push(_columns(0, 4))
    h.reset(start=50)
    assert (h.start, h.end) == (46, 50)
    assert np.isnan(h.get(0, 50)).all()
    h.push(_columns(50, 2))
    np.testing.assert_array_equal(h.get(50, 52), _columns(50, 2))


def test_empty_push_changes_nothing() -> None:
    h = History(2, 4)
    h.push(_columns(0, 2))
    h.push(np.empty((2, 0)))
    assert h.end == 2


@pytest.mark.parametrize("seed", range(5))
def test_random_pushes_and_skips_match_a_full_record(seed: int) -> None:
    """Whatever the sequence of pushes and skips, ``get`` agrees with a plain array."""
    rng = np.random.default_rng(seed)
    capacity = int(rng.integers(1, 20))
    h = History(2, capacity)
    full = np.full((2, 0), np.nan)
    for _ in range(60):
        if rng.random() < 0.2:
            n = int(rng.integers(0, 2 * capacity + 2))
            h.skip_to(h.end + n)
            full = np.hstack([full, np.full((2, n), np.nan)])
        else:
            n = int(rng.integers(0, 2 * capacity + 2))
            cols = rng.normal(size=(2, n))
            h.push(cols)
            full = np.hstack([full, cols])
        assert h.end == full.shape[1]
        a = int(rng.integers(-5, h.end + 5))
        b = a + int(rng.integers(0, 3 * capacity))
        expected = np.full((2, b - a), np.nan)
        lo, hi = max(a, h.start, 0), min(b, h.end)
        if hi > lo:
            expected[:, lo - a : hi - a] = full[:, lo:hi]
        np.testing.assert_array_equal(h.get(a, b), expected)
