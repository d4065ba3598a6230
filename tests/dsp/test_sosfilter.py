"""SosFilter: the streaming state of an SOS cascade, block-size invariance and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import signal

from dsp.filters import design_bandpass, design_mains_notch
from dsp.sosfilter import SosFilter

SFREQ = 1000.0
SOS = np.concatenate([design_bandpass(SFREQ, 20.0, 450.0), design_mains_notch(SFREQ, 50.0)])


def _split(x: NDArray[np.float64], cuts: list[int]) -> list[NDArray[np.float64]]:
    """Blocks of ``x`` cut at the sorted positions ``cuts`` (repeats give empty blocks)."""
    edges = [0, *sorted(min(c, x.shape[1]) for c in cuts), x.shape[1]]
    return [x[:, a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _run(filt: SosFilter, blocks: list[NDArray[np.float64]]) -> NDArray[np.float64]:
    return np.concatenate([filt.process(b) for b in blocks], axis=1)


@st.composite
def _recordings(draw: st.DrawFn) -> tuple[NDArray[np.float64], list[int]]:
    """A random 1-3 channel recording (0-600 samples, with an offset) and cut positions."""
    n_channels = draw(st.integers(1, 3))
    n_times = draw(st.integers(0, 600))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_channels, n_times)) + rng.uniform(-5, 5, (n_channels, 1))
    small = st.integers(0, 3)
    anywhere = st.integers(0, n_times)
    cuts = draw(st.lists(st.one_of(small, anywhere), max_size=12))
    # Some one-sample blocks: consecutive cuts.
    start = draw(anywhere)
    cuts += [start + i for i in range(draw(st.integers(0, 4)))]
    return x, cuts


@settings(max_examples=150, deadline=None)
@given(rec=_recordings(), seed_first=st.booleans())
def test_blocks_of_any_size_equal_one_shot(
    rec: tuple[NDArray[np.float64], list[int]], seed_first: bool
) -> None:
    x, cuts = rec
    one_shot = SosFilter(SOS, x.shape[0], seed_from_first_sample=seed_first).process(x)
    blocks = _split(x, cuts)
    streamed = _run(SosFilter(SOS, x.shape[0], seed_from_first_sample=seed_first), blocks)
    assert streamed.shape == x.shape
    np.testing.assert_allclose(streamed, one_shot, rtol=0, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(rec=_recordings())
def test_reset_restores_the_initial_behaviour(rec: tuple[NDArray[np.float64], list[int]]) -> None:
    x, cuts = rec
    filt = SosFilter(SOS, x.shape[0])
    first = _run(filt, _split(x, cuts))
    filt.reset()
    assert filt.state is None
    again = _run(filt, _split(x, cuts[::-1]))
    np.testing.assert_array_equal(again, first)


@settings(max_examples=60, deadline=None)
@given(rec=_recordings(), k=st.integers(0, 600))
def test_state_carries_over_to_a_new_filter(
    rec: tuple[NDArray[np.float64], list[int]], k: int
) -> None:
    x, _ = rec
    k = min(k, x.shape[1])
    one_shot = SosFilter(SOS, x.shape[0]).process(x)
    head = SosFilter(SOS, x.shape[0])
    y_head = head.process(x[:, :k])
    tail = SosFilter(SOS, x.shape[0])
    tail.state = head.state
    y_tail = tail.process(x[:, k:])
    np.testing.assert_allclose(np.concatenate([y_head, y_tail], axis=1), one_shot, atol=1e-9)


def test_matches_scipy_with_explicit_state() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3000)) * 50e-6 + np.array([[0.2], [-0.1]])
    zi = signal.sosfilt_zi(SOS)[:, None, :] * x[:, 0][None, :, None]
    expected, _ = signal.sosfilt(SOS, x, axis=-1, zi=zi)
    np.testing.assert_array_equal(SosFilter(SOS, 2).process(x), expected)
    at_rest = signal.sosfilt(SOS, x, axis=-1)
    filt = SosFilter(SOS, 2, seed_from_first_sample=False)
    np.testing.assert_array_equal(filt.process(x), at_rest)


def test_seeding_removes_the_offset_transient() -> None:
    x = np.full((2, 500), 0.25)  # a 250 mV electrode offset
    x[1] = -0.3
    y = SosFilter(SOS, 2).process(x)
    assert np.abs(y).max() < 1e-12
    y_rest = SosFilter(SOS, 2, seed_from_first_sample=False).process(x)
    assert np.abs(y_rest).max() > 0.01


def test_seeds_from_the_first_non_empty_block() -> None:
    filt = SosFilter(SOS, 2)
    empty = filt.process(np.empty((2, 0)))
    assert empty.shape == (2, 0)
    assert empty.dtype == np.float64
    initial = filt.state
    assert initial is None
    y = filt.process(np.full((2, 100), 0.5))
    assert np.abs(y).max() < 1e-12
    state = filt.state
    assert state is not None
    assert state.shape == (SOS.shape[0], 2, 2)


def test_state_is_a_copy_and_sos_read_only() -> None:
    filt = SosFilter(SOS, 1)
    filt.process(np.ones((1, 10)))
    state = filt.state
    assert state is not None
    state[:] = 1e9
    assert np.abs(filt.process(np.ones((1, 10)))).max() < 1e-9
    with pytest.raises(ValueError, match="read-only"):
        filt.sos[0, 0] = 2.0
    assert filt.n_sections == SOS.shape[0]
    assert "n_sections=" in repr(filt)


def test_float32_and_lists_are_accepted() -> None:
    x = np.random.default_rng(1).standard_normal((2, 200))
    expected = SosFilter(SOS, 2).process(x.astype(np.float32).astype(np.float64))
    got = SosFilter(SOS, 2).process(x.astype(np.float32))
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(
        SosFilter(SOS, 2).process(x.tolist()), SosFilter(SOS, 2).process(x)
    )


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("block", "error", "match"),
    [
        (
            np.zeros(10),
            ValueError,
            r"block must have shape \(n_channels, n_times\), got .* \(10,\)",
        ),
        (np.zeros((2, 3, 4)), ValueError, r"block must have shape .* \(3 dimensions\)"),
        (np.zeros((3, 10)), ValueError, r"block must have 2 channels .* got 3 instead"),
        (np.zeros((2, 10), dtype=np.int16), TypeError, r"block must be floating-point volts"),
        (np.zeros((2, 10), dtype=complex), TypeError, r"block must be a real-valued"),
        (np.full((2, 10), np.nan), ValueError, r"block contains 20 NaN samples"),
        (np.full((2, 10), np.inf), ValueError, r"block contains infinite values"),
    ],
)
def test_bad_blocks(block: NDArray[np.generic], error: type[Exception], match: str) -> None:
    filt = SosFilter(SOS, 2)
    with pytest.raises(error, match=match):
        filt.process(block)
    assert filt.state is None  # a refused block changes nothing


@pytest.mark.parametrize(
    ("sos", "n_channels", "error", "match"),
    [
        (np.zeros((2, 5)), 2, ValueError, r"sos must have shape \(n_sections, 6\) .* got \(2, 5\)"),
        (np.zeros((0, 6)), 2, ValueError, r"sos must have shape .* got \(0, 6\)"),
        (np.zeros(6), 2, ValueError, r"sos must have shape .* got \(6,\)"),
        (SOS * np.nan, 2, ValueError, r"sos must be finite"),
        (SOS * 2.0, 2, ValueError, r"sos\[:, 3\] == 1"),
        (np.array([["a"] * 6]), 2, TypeError, r"sos must be a real-valued array"),
        (SOS, 0, ValueError, r"n_channels must be a positive integer, got 0"),
        (SOS, 2.0, TypeError, r"n_channels must be a positive integer, got float \(2.0\)"),
        (SOS, True, TypeError, r"n_channels must be a positive integer, got bool"),
        (SOS, None, TypeError, r"n_channels must be a positive integer, got NoneType"),
    ],
)
def test_bad_construction(
    sos: NDArray[np.generic], n_channels: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        SosFilter(sos, n_channels)  # type: ignore[arg-type]


def test_bad_seed_flag_and_state() -> None:
    with pytest.raises(TypeError, match=r"seed_from_first_sample must be a bool, got str"):
        SosFilter(SOS, 2, seed_from_first_sample="yes")  # type: ignore[arg-type]
    filt = SosFilter(SOS, 2)
    with pytest.raises(
        ValueError, match=r"state must have shape .* = \(28, 2, 2\), got \(28, 1, 2\)"
    ):
        filt.state = np.zeros((SOS.shape[0], 1, 2))
    with pytest.raises(ValueError, match=r"state must be finite"):
        filt.state = np.full((SOS.shape[0], 2, 2), np.nan)
    filt.state = np.zeros((SOS.shape[0], 2, 2))
    assert filt.state is not None
    filt.state = None
    assert filt.state is None
