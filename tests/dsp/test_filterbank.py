"""EmgFilterBank: the band-pass + mains-notch chain of one stream."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import signal

from dsp.filterbank import EmgFilterBank
from dsp.filters import design_bandpass, design_mains_notch
from dsp.mains import MainsDetector
from dsp.sosfilter import SosFilter
from host.simulator import BodySimulator, builtin_scenario


def _split(x: NDArray[np.float64], cuts: list[int]) -> list[NDArray[np.float64]]:
    """Blocks of ``x`` cut at the sorted positions ``cuts`` (repeats give empty blocks)."""
    edges = [0, *sorted(min(c, x.shape[1]) for c in cuts), x.shape[1]]
    return [x[:, a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]


def _run(bank: EmgFilterBank, blocks: list[NDArray[np.float64]]) -> NDArray[np.float64]:
    return np.concatenate([bank.process(b) for b in blocks], axis=1)


def _quiet_bank(sfreq: float, n_channels: int = 2, **kwargs: object) -> EmgFilterBank:
    """A filter bank, ignoring the expected h_freq clipping warning at low rates."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return EmgFilterBank(sfreq, n_channels, **kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- design


@pytest.mark.parametrize("sfreq", [1000.0, 2000.0])
@pytest.mark.parametrize("mains_freq", [None, 50.0, 60.0])
def test_sos_is_bandpass_then_notch(sfreq: float, mains_freq: float | None) -> None:
    bank = EmgFilterBank(sfreq, 2, mains_freq=mains_freq)
    expected = design_bandpass(sfreq)
    if mains_freq is not None:
        expected = np.concatenate([expected, design_mains_notch(sfreq, mains_freq)])
    np.testing.assert_array_equal(bank.sos, expected)
    assert bank.n_bandpass_sections == 4
    assert (bank.l_freq, bank.h_freq) == (20.0, 450.0)
    assert bank.mains_freq == mains_freq
    assert bank.sos.flags.writeable is False


@pytest.mark.parametrize(("sfreq", "h_eff"), [(250.0, 112.5), (500.0, 225.0)])
def test_h_freq_is_clipped_with_a_warning_and_exposed(sfreq: float, h_eff: float) -> None:
    with pytest.warns(UserWarning, match=r"clipping the upper edge to .* Hz") as record:
        bank = EmgFilterBank(sfreq, 2, mains_freq=50.0)
    assert record[0].filename == __file__  # the warning points at the caller
    assert bank.h_freq == h_eff
    assert bank.l_freq == 20.0
    np.testing.assert_array_equal(bank.sos[:4], design_bandpass(sfreq, 20.0, h_eff))


def test_explicit_band_and_order() -> None:
    bank = EmgFilterBank(500.0, 1, l_freq=30.0, h_freq=200.0, order=2)
    assert (bank.l_freq, bank.h_freq, bank.order) == (30.0, 200.0, 2)
    assert bank.n_bandpass_sections == 2
    assert "EmgFilterBank(sfreq=500" in repr(bank)


def test_filters_like_one_sos_filter() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 5000)) * 20e-6 + 0.1
    bank = EmgFilterBank(1000.0, 2, mains_freq=60.0)
    expected = SosFilter(bank.sos, 2).process(x)
    np.testing.assert_array_equal(bank.process(x), expected)


# ---------------------------------------------------------------------------- behaviour


def _emg_like(
    rng: np.random.Generator, sfreq: float, n_times: int, rms_v: float
) -> NDArray[np.float64]:
    sos = signal.butter(
        2, [20.0, min(450.0, 0.45 * sfreq)], btype="bandpass", fs=sfreq, output="sos"
    )
    x = signal.sosfilt(sos, rng.standard_normal((2, n_times)), axis=-1)
    return np.asarray(x / x.std(axis=1, keepdims=True) * rms_v)


@pytest.mark.parametrize("sfreq", [250.0, 500.0, 1000.0, 2000.0])
@pytest.mark.parametrize("mains_freq", [50.0, 60.0])
def test_hum_is_removed_and_emg_kept(sfreq: float, mains_freq: float) -> None:
    rng = np.random.default_rng(int(sfreq + mains_freq))
    n = int(10 * sfreq)
    t = np.arange(n) / sfreq
    emg = _emg_like(rng, sfreq, n, 20e-6)
    hum = np.zeros(n)
    for k, rel in ((1, 1.0), (3, 0.35), (5, 0.15)):
        if k * mains_freq < 0.45 * sfreq:
            hum += rel * 100e-6 * np.sin(2 * np.pi * k * mains_freq * t + k)
    offset = np.array([[0.2], [-0.15]])  # electrode offsets
    bank = _quiet_bank(sfreq, mains_freq=mains_freq)
    reference = _quiet_bank(sfreq, mains_freq=mains_freq)
    y = bank.process(emg + hum + offset)
    y_emg = reference.process(emg + offset)
    settled = slice(int(2 * sfreq), None)
    residual = y[:, settled] - y_emg[:, settled]  # linear: what is left of the hum
    hum_rms = np.sqrt(np.mean(hum**2))
    assert 20 * np.log10(np.sqrt(np.mean(residual**2)) / hum_rms) < -60.0
    # EMG power is kept: the notches take a few Hz out of hundreds.
    ratio_db = 10 * np.log10(np.mean(y_emg[:, settled] ** 2) / np.mean(emg[:, settled] ** 2))
    assert -1.5 < ratio_db < 0.5


def test_with_the_simulator_and_the_mains_detector() -> None:
    """Detect mains on the raw stream, then switch the notch on: the hum disappears."""
    sfreq, block = 1000.0, 20
    body = BodySimulator(builtin_scenario("quick"), sfreq=sfreq, accel_sfreq=0.0, seed=1)
    raw, _ = body.read(int(20 * sfreq))
    bank = EmgFilterBank(sfreq, 2)
    detector = MainsDetector(sfreq, 2)
    residual = MainsDetector(sfreq, 2)
    switched_at = None
    raw_hum, out_hum, out_snr_50 = [], [], []
    for start in range(0, raw.shape[1], block):
        x = raw[:, start : start + block]
        for report in detector.process(x):
            raw_hum.append(report.hum_uv)
            if report.mains_freq is not None and switched_at is None:
                switched_at = report.end_sample
            bank.set_mains(report.mains_freq)
        for report in residual.process(bank.process(x)):
            out_hum.append(report.hum_uv)
            out_snr_50.append(report.snr_db[0])
    assert switched_at is not None
    assert switched_at <= 3 * sfreq
    assert bank.mains_freq == 50.0
    # After the switch (and 1 s to settle) the hum left is < 2 % of the raw hum.
    late = slice(switched_at // int(sfreq) + 1, None)
    raw_level = np.median(np.asarray(raw_hum)[late])
    out_level = np.median(np.asarray(out_hum)[late])
    assert raw_level > 1.0
    assert out_level < 0.02 * raw_level + 0.05
    # The 50 Hz lines are below the noise floor of the filtered signal.
    assert np.median(np.asarray(out_snr_50)[late]) < 0.0


# ---------------------------------------------------------------------------- set_mains


def test_set_mains_before_the_first_sample_equals_the_constructor() -> None:
    x = np.random.default_rng(5).standard_normal((2, 3000)) * 1e-5 + 0.05
    built = EmgFilterBank(1000.0, 2, mains_freq=50.0)
    switched = EmgFilterBank(1000.0, 2)
    switched.set_mains(50.0)
    np.testing.assert_array_equal(switched.process(x), built.process(x))
    # ... and after a reset too.
    switched.reset()
    switched.set_mains(60.0)
    np.testing.assert_array_equal(
        switched.process(x), EmgFilterBank(1000.0, 2, mains_freq=60.0).process(x)
    )


def test_set_mains_mid_stream_semantics() -> None:
    """Band-pass state kept; the new notch starts at rest from the next sample."""
    sfreq, k = 1000.0, 1234
    x = np.random.default_rng(6).standard_normal((2, 4000)) * 1e-5 + 0.02
    bank = EmgFilterBank(sfreq, 2)
    head = bank.process(x[:, :k])
    bank.set_mains(60.0)
    tail = bank.process(x[:, k:])
    bandpassed = SosFilter(design_bandpass(sfreq), 2).process(x)
    notched = SosFilter(design_mains_notch(sfreq, 60.0), 2, seed_from_first_sample=False)
    np.testing.assert_array_equal(head, bandpassed[:, :k])
    np.testing.assert_allclose(tail, notched.process(bandpassed[:, k:]), rtol=0, atol=1e-18)


def test_set_mains_same_frequency_keeps_the_state() -> None:
    x = np.random.default_rng(7).standard_normal((2, 3000)) * 1e-5
    reference = EmgFilterBank(1000.0, 2, mains_freq=50.0).process(x)
    bank = EmgFilterBank(1000.0, 2, mains_freq=50.0)
    first = bank.process(x[:, :1000])
    bank.set_mains(50.0)
    second = bank.process(x[:, 1000:])
    np.testing.assert_array_equal(np.concatenate([first, second], axis=1), reference)


def test_set_mains_off_and_between_frequencies() -> None:
    bank = EmgFilterBank(1000.0, 2, mains_freq=50.0)
    bank.process(np.zeros((2, 10)))
    bank.set_mains(60.0)
    switched = bank.mains_freq
    assert switched == 60.0
    np.testing.assert_array_equal(bank.sos[4:], design_mains_notch(1000.0, 60.0))
    bank.set_mains(None)
    off = bank.mains_freq
    assert off is None
    np.testing.assert_array_equal(bank.sos, design_bandpass(1000.0))


def test_reset_keeps_the_configuration() -> None:
    x = np.random.default_rng(8).standard_normal((2, 2000)) * 1e-5 + 0.3
    bank = EmgFilterBank(1000.0, 2)
    bank.process(x)
    bank.set_mains(60.0)
    bank.process(x)
    bank.reset()
    assert bank.mains_freq == 60.0
    np.testing.assert_array_equal(
        bank.process(x), EmgFilterBank(1000.0, 2, mains_freq=60.0).process(x)
    )


# ---------------------------------------------------------------------------- properties


@st.composite
def _streams(draw: st.DrawFn) -> tuple[NDArray[np.float64], list[int], int]:
    """A random recording, block cut positions and a sample index for a set_mains call."""
    n_channels = draw(st.integers(1, 3))
    n_times = draw(st.integers(0, 800))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.standard_normal((n_channels, n_times)) + rng.uniform(-3, 3, (n_channels, 1))
    position = st.one_of(st.integers(0, 3), st.integers(0, n_times))
    cuts = draw(st.lists(position, max_size=12))
    start = draw(position)
    cuts += [start + i for i in range(draw(st.integers(0, 4)))]  # one-sample blocks
    switch = draw(position)
    return x, cuts, switch


@settings(max_examples=80, deadline=None)
@given(
    stream=_streams(),
    sfreq=st.sampled_from([500.0, 1000.0, 2000.0]),
    mains=st.sampled_from([None, 50.0, 60.0]),
)
def test_blocks_of_any_size_equal_one_shot(
    stream: tuple[NDArray[np.float64], list[int], int], sfreq: float, mains: float | None
) -> None:
    x, cuts, _ = stream
    one_shot = _quiet_bank(sfreq, x.shape[0], mains_freq=mains).process(x)
    streamed = _run(_quiet_bank(sfreq, x.shape[0], mains_freq=mains), _split(x, cuts))
    np.testing.assert_allclose(streamed, one_shot, rtol=0, atol=1e-9)


@settings(max_examples=80, deadline=None)
@given(
    stream=_streams(),
    before=st.sampled_from([None, 50.0, 60.0]),
    after=st.sampled_from([None, 50.0, 60.0]),
)
def test_set_mains_mid_stream_is_block_size_invariant(
    stream: tuple[NDArray[np.float64], list[int], int],
    before: float | None,
    after: float | None,
) -> None:
    x, cuts, switch = stream
    switch = min(switch, x.shape[1])
    one = EmgFilterBank(1000.0, x.shape[0], mains_freq=before)
    expected = [one.process(x[:, :switch])]
    one.set_mains(after)
    expected.append(one.process(x[:, switch:]))
    bank = EmgFilterBank(1000.0, x.shape[0], mains_freq=before)
    out = []
    head, tail = x[:, :switch], x[:, switch:]
    for block in _split(head, [c for c in cuts if c <= switch]):
        out.append(bank.process(block))
    bank.set_mains(after)
    for block in _split(tail, [c - switch for c in cuts if c >= switch]):
        out.append(bank.process(block))
    np.testing.assert_allclose(
        np.concatenate(out, axis=1), np.concatenate(expected, axis=1), rtol=0, atol=1e-9
    )


@settings(max_examples=40, deadline=None)
@given(stream=_streams())
def test_reset_restores_the_initial_behaviour(
    stream: tuple[NDArray[np.float64], list[int], int],
) -> None:
    x, cuts, _ = stream
    bank = EmgFilterBank(1000.0, x.shape[0], mains_freq=50.0)
    first = _run(bank, _split(x, cuts))
    bank.reset()
    np.testing.assert_array_equal(_run(bank, _split(x, cuts[::-1])), first)


# ---------------------------------------------------------------------------- speed


def test_fast_enough_for_real_time_and_for_whole_days() -> None:
    """2 ch x 1 kHz, 50 Hz notch: 20 ms blocks well under 1 % of a core; 10 min one-shot."""
    sfreq = 1000.0
    x = np.random.default_rng(9).standard_normal((2, int(600 * sfreq))) * 1e-5
    bank = EmgFilterBank(sfreq, 2, mains_freq=50.0)
    blocks = [x[:, i : i + 20] for i in range(0, 20 * 500, 20)]
    start = time.perf_counter()
    for b in blocks:
        bank.process(b)
    per_block_s = (time.perf_counter() - start) / len(blocks)
    assert per_block_s < 0.2 * 0.020  # generous (measured ~0.05 ms, i.e. 0.25 %)
    bank.reset()
    start = time.perf_counter()
    bank.process(x)
    assert time.perf_counter() - start < 5.0  # measured ~0.1 s for 10 min


# ---------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((None, 2), {}, TypeError, r"sfreq must be the sampling rate in Hz as a number"),
        ((0.0, 2), {}, ValueError, r"sfreq must be a finite sampling rate > 0 Hz, got 0.0"),
        ((-1.0, 2), {}, ValueError, r"sfreq must be a finite sampling rate > 0 Hz, got -1.0"),
        ((30.0, 2), {}, ValueError, r"sfreq=30 Hz is too low for l_freq=20 Hz"),
        ((1000.0, 0), {}, ValueError, r"n_channels must be a positive integer, got 0"),
        ((1000.0, 2.0), {}, TypeError, r"n_channels must be a positive integer, got float"),
        (
            (1000.0, 2),
            {"mains_freq": 55.0},
            ValueError,
            r"Invalid value for the 'mains_freq' parameter. Allowed values are 50.0, 60.0, "
            r"None, but got 55.0 instead.",
        ),
        ((1000.0, 2), {"mains_freq": "50"}, ValueError, r"'mains_freq' .* got '50' instead"),
        ((1000.0, 2), {"mains_freq": True}, ValueError, r"'mains_freq' .* got True instead"),
        ((1000.0, 2), {"mains_freq": np.array([50.0])}, ValueError, r"'mains_freq' .* array"),
        ((1000.0, 2), {"l_freq": 500.0}, ValueError, r"sfreq=1000 Hz is too low for l_freq=500"),
        ((1000.0, 2), {"order": 0}, ValueError, r"order must be an integer in \[1, 10\], got 0"),
        ((120.0, 2), {"mains_freq": 60.0}, ValueError, r"too low for mains_freq=60 Hz"),
    ],
)
def test_bad_construction(
    args: tuple[object, ...], kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(error, match=match):
            EmgFilterBank(*args, **kwargs)  # type: ignore[arg-type]


def test_mains_frequencies_given_as_integers_are_accepted() -> None:
    bank = EmgFilterBank(1000, 2, mains_freq=50)
    assert bank.mains_freq == 50.0
    assert isinstance(bank.mains_freq, float)
    bank.set_mains(np.float32(60.0))  # type: ignore[arg-type]
    assert bank.mains_freq == 60.0


def test_bad_set_mains_changes_nothing() -> None:
    bank = EmgFilterBank(1000.0, 2, mains_freq=50.0)
    sos = bank.sos.copy()
    with pytest.raises(ValueError, match=r"'mains_freq' parameter.*got 100.0 instead"):
        bank.set_mains(100.0)
    assert bank.mains_freq == 50.0
    np.testing.assert_array_equal(bank.sos, sos)


@pytest.mark.parametrize(
    ("block", "error", "match"),
    [
        (np.zeros(20), ValueError, r"block must have shape \(n_channels, n_times\)"),
        (np.zeros((1, 20)), ValueError, r"block must have 2 channels .* got 1 instead"),
        (np.zeros((2, 20), dtype=np.int32), TypeError, r"integer array \(dtype int32\)"),
        (np.full((2, 20), np.nan), ValueError, r"block contains 40 NaN samples"),
        (np.full((2, 20), -np.inf), ValueError, r"block contains infinite values"),
    ],
)
def test_bad_blocks(block: NDArray[np.generic], error: type[Exception], match: str) -> None:
    bank = EmgFilterBank(1000.0, 2, mains_freq=50.0)
    with pytest.raises(error, match=match):
        bank.process(block)


def test_empty_blocks() -> None:
    bank = EmgFilterBank(1000.0, 2)
    out = bank.process(np.empty((2, 0)))
    assert out.shape == (2, 0)
