"""The cleaning chain: block-size invariance, alignment of its outputs, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dsp.preprocess import EmgPreprocessor
from host.simulator import BodySimulator, builtin_scenario

SFREQ = 1000.0


def simulated(seconds: float, seed: int = 1) -> np.ndarray:
    body = BodySimulator(builtin_scenario("quick"), sfreq=SFREQ, accel_sfreq=0.0, seed=seed)
    emg, _ = body.read(int(seconds * SFREQ))
    return emg


RECORDING = simulated(12.0)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(0, 700), min_size=1, max_size=40),
    st.sampled_from(["template", "highpass", None]),
)
def test_block_size_never_changes_the_output(sizes: list[int], method: str | None) -> None:
    one = EmgPreprocessor(SFREQ, 2, mains_freq=50.0, ecg_method=method).process(RECORDING)
    chain = EmgPreprocessor(SFREQ, 2, mains_freq=50.0, ecg_method=method)
    cleaned, envelope, firsts = [], [], []
    start = 0
    x = RECORDING
    while start < x.shape[1]:
        for size in sizes:
            out = chain.process(x[:, start : start + size])
            cleaned.append(out.cleaned)
            envelope.append(out.envelope)
            firsts.append((out.first_sample, out.cleaned.shape[1]))
            start += size
            if start >= x.shape[1]:
                break
        if not any(sizes):
            break
    if not any(sizes):
        return
    scale = np.abs(one.cleaned).max()
    np.testing.assert_allclose(
        np.concatenate(cleaned, axis=1), one.cleaned, rtol=0, atol=1e-9 * scale
    )
    np.testing.assert_allclose(
        np.concatenate(envelope, axis=1), one.envelope, rtol=0, atol=1e-9 * scale
    )
    # first_sample always continues where the previous block ended.
    for (a, n), (b, _) in zip(firsts[:-1], firsts[1:], strict=True):
        assert b == a + n


def test_outputs_are_aligned_with_the_input_by_the_latency() -> None:
    # A burst at a known time must appear in the cleaned output latency_samples later.
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 20_000)) * 2e-6
    x[:, 12_000:13_000] += rng.standard_normal((2, 1000)) * 200e-6
    chain = EmgPreprocessor(SFREQ, 2, ecg_method="template")
    out = chain.process(x)
    assert out.first_sample == -chain.latency_samples
    assert chain.latency_samples > 0
    onset = int(np.argmax(out.envelope[0] > 50e-6)) + out.first_sample
    assert 12_000 <= onset < 12_060


def test_reset_starts_afresh() -> None:
    chain = EmgPreprocessor(SFREQ, 2, mains_freq=50.0)
    first = chain.process(RECORDING[:, :4000])
    chain.process(RECORDING[:, 4000:6000])
    chain.reset()
    again = chain.process(RECORDING[:, :4000])
    np.testing.assert_array_equal(first.cleaned, again.cleaned)
    assert again.first_sample == first.first_sample


def test_cleaning_removes_ecg_and_mains_at_rest() -> None:
    chain = EmgPreprocessor(SFREQ, 2, mains_freq=50.0)
    out = chain.process(RECORDING)
    lag = chain.latency_samples
    rest = slice(1000 + lag, 5000 + lag)  # the quick scenario starts lying still
    raw_rms = np.sqrt(np.mean(RECORDING[:, 1000:5000] ** 2, axis=1))
    clean_rms = np.sqrt(np.mean(out.cleaned[:, rest] ** 2, axis=1))
    assert np.all(clean_rms < raw_rms)
    assert np.all(clean_rms < 15e-6)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"ecg_method": "wavelet"}, ValueError, "ecg_method"),
        ({"mains_freq": 55.0}, ValueError, "mains"),
        ({"rms_window_s": 0.0}, ValueError, "window"),
    ],
)
def test_bad_parameters(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        EmgPreprocessor(SFREQ, 2, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("block", "error", "match"),
    [
        (np.zeros((1, 10)), ValueError, "2 channels"),
        (np.zeros(10), ValueError, "shape"),
        (np.zeros((2, 10), dtype=np.int16), TypeError, "volts"),
        (np.full((2, 10), np.nan), ValueError, "NaN"),
    ],
)
def test_bad_blocks(block: np.ndarray, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        EmgPreprocessor(SFREQ, 2).process(block)


def test_sfreq_is_required() -> None:
    with pytest.raises(TypeError, match="sfreq"):
        EmgPreprocessor(None, 2)  # type: ignore[arg-type]
