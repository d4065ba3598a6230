"""ECG suppression: removal on known ECG (simulated and real), EMG kept, streaming, checks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import signal

from dsp.ecg import ECG_METHODS, EcgSuppressor, _CentredDft
from dsp.filters import design_bandpass, design_mains_notch
from host.simulator import BodySimulator, loads_scenario

DATA = Path(__file__).parents[1] / "data" / "03_emggo_onset_and_ecg" / "ECG_Contaminated.npz"
Array = NDArray[np.float64]


# ---------------------------------------------------------------------------- helpers


def qrs_beats(
    sfreq: float, duration_s: float, rng: np.random.Generator, *, rate_bpm: float = 70.0
) -> tuple[Array, NDArray[np.int64]]:
    """Unit-R QRS complexes (Gaussian Q, R, S waves) at jittered intervals; R-peak samples."""
    rr = 60.0 / rate_bpm
    beats_s = np.cumsum(rr * (1.0 + 0.05 * rng.standard_normal(int(duration_s / rr) + 2)))
    beats_s = beats_s[beats_s < duration_s - 0.3]
    t = np.arange(round(duration_s * sfreq)) / sfreq
    ecg = np.zeros(t.size)
    for b in beats_s:
        for centre, amp, width in ((-0.03, -0.15, 0.008), (0.0, 1.0, 0.01), (0.03, -0.3, 0.01)):
            ecg += amp * np.exp(-0.5 * ((t - b - centre) / width) ** 2)
    return ecg, np.round(beats_s * sfreq).astype(np.int64)


def causal(sos: Array, x: Array) -> Array:
    out: Array = signal.sosfilt(sos, x, axis=-1)
    return out


def emg_band(x: Array, sfreq: float) -> Array:
    """The EMG chain before the suppressor: 20-450 Hz band-pass, causal."""
    return causal(design_bandpass(sfreq, 20.0, min(450.0, 0.45 * sfreq)), x)


def run(sup: EcgSuppressor, x: Array, wideband: Array | None = None) -> Array:
    """Process at once and undo the suppressor's delay (the tail is zero-padded)."""
    out = sup.process(x, wideband)
    lag = sup.latency_samples
    aligned = np.zeros_like(x)
    aligned[:, : x.shape[1] - lag] = out[:, lag:]
    return aligned


def window_mask(
    n_times: int, beats: NDArray[np.int64], sfreq: float, lo: int, hi: int
) -> NDArray[np.bool_]:
    """Samples within -0.06..+0.12 s of a beat, between ``lo`` and ``hi``."""
    mask = np.zeros(n_times, dtype=bool)
    for b in beats[(beats >= lo) & (beats < hi)]:
        mask[max(b - round(0.06 * sfreq), 0) : b + round(0.12 * sfreq) + 1] = True
    return mask


def power_db(num: Array, den: Array) -> Array:
    out: Array = 10.0 * np.log10(np.mean(num**2, axis=-1) / np.mean(den**2, axis=-1))
    return out


def in_blocks(
    sup: EcgSuppressor, x: Array, sizes: Sequence[int], wideband: Array | None = None
) -> Array:
    outs = []
    start = 0
    for size in [*sizes, x.shape[1]]:
        stop = min(start + size, x.shape[1])
        wide = None if wideband is None else wideband[:, start:stop]
        outs.append(sup.process(x[:, start:stop], wide))
        start = stop
    return np.concatenate(outs, axis=1)


# ---------------------------------------------------------------------------- simulator

SCENARIO = """
[wearer]
seed = 11
electrode_pop_per_h = 0.0
lift_off_per_h = 0.0
motion_artefact_per_h = 0.0
saturation_per_h = 0.0
{ecg}
[[segment]]
activity = "lying"
duration_s = 60.0

[[segment]]
activity = "sitting"
duration_s = 30.0
tone_mvc = 0.3

[[segment]]
activity = "lying"
duration_s = 40.0
"""


class Simulated:
    """A simulated recording whose ECG component is known exactly."""

    def __init__(self) -> None:
        sfreq = 1000.0
        on = loads_scenario(SCENARIO.format(ecg=""))
        off = loads_scenario(SCENARIO.format(ecg="ecg_uv_left = 0.0\necg_uv_right = 0.0"))
        n = round(on.duration_s * sfreq)
        x, _ = BodySimulator(on, sfreq=sfreq, accel_sfreq=0.0, seed=4).read(n)
        emg, _ = BodySimulator(off, sfreq=sfreq, accel_sfreq=0.0, seed=4).read(n)
        notch = design_mains_notch(sfreq, 50.0)
        self.sfreq = sfreq
        self.wide = causal(notch, x)  # the pipeline's input before the EMG band-pass
        self.x = emg_band(self.wide, sfreq)
        self.emg = emg_band(causal(notch, emg), sfreq)
        self.ecg = emg_band(causal(notch, x - emg), sfreq)
        raw_ecg = x - emg
        peaks, _ = signal.find_peaks(raw_ecg[0], height=0.5 * raw_ecg[0].max(), distance=250)
        self.beats = peaks.astype(np.int64)


@pytest.fixture(scope="module")
def sim() -> Simulated:
    return Simulated()


def test_simulated_ecg_is_separable() -> None:
    """The ECG-off run differs from the ECG-on run by the ECG alone (left/right fixed ratio)."""
    sfreq = 500.0
    on = loads_scenario(SCENARIO.format(ecg=""))
    off = loads_scenario(SCENARIO.format(ecg="ecg_uv_left = 0.0\necg_uv_right = 0.0"))
    x, _ = BodySimulator(on, sfreq=sfreq, accel_sfreq=0.0, seed=4).read(5000)
    y, _ = BodySimulator(off, sfreq=sfreq, accel_sfreq=0.0, seed=4).read(5000)
    ecg = x - y
    big = np.abs(ecg[0]) > 1e-6
    assert big.sum() > 100
    # Defaults: 40 uV left, 15 uV right (inverted).
    np.testing.assert_allclose(ecg[1, big] / ecg[0, big], -15.0 / 40.0, rtol=1e-6)


def test_template_removes_simulated_ecg_at_rest(sim: Simulated) -> None:
    sup = EcgSuppressor(sim.sfreq, 2)
    out = run(sup, sim.x, sim.wide)
    rest = window_mask(sim.x.shape[1], sim.beats, sim.sfreq, 10_000, 59_500)
    # Everything in the output that is not the EMG counts as residual (ECG left over plus
    # any damage done to the EMG by the subtraction).
    residual = (out - sim.emg)[:, rest]
    reduction = power_db(sim.ecg[:, rest], residual)
    assert reduction[0] >= 12.0  # measured 16 dB (left, ECG above the resting EMG)
    assert reduction[1] >= 3.0  # measured 6 dB (right, ECG 6 dB below the resting EMG)
    highpass = EcgSuppressor(sim.sfreq, 2, method="highpass").process(sim.ecg)
    hp_reduction = power_db(sim.ecg[:, rest], highpass[:, rest])
    assert reduction[0] >= hp_reduction[0] + 2.0  # measured 11.5 dB for the high-pass
    assert sup.template_ready
    assert sup.active_channels.tolist() == [True, True]
    assert sup.n_beats_learned >= 40


def test_template_keeps_emg(sim: Simulated) -> None:
    sup = EcgSuppressor(sim.sfreq, 2)
    out = run(sup, sim.x, sim.wide)
    n = sim.x.shape[1]
    outside = ~window_mask(n, sim.beats, sim.sfreq, 0, n)
    outside[:10_000] = False
    outside[-1000:] = False
    # Away from the QRS complexes the template leaves the EMG as it is (what it changes
    # there comes from a few false detections during the contraction).
    error = power_db((out - sim.emg)[:, outside], sim.emg[:, outside])
    assert np.all(error <= -30.0)
    # The high-pass takes the EMG below 30 Hz with it.
    emg_hp = EcgSuppressor(sim.sfreq, 2, method="highpass").process(sim.emg)
    kept = power_db(emg_hp[:, outside], sim.emg[:, outside])
    assert np.all(kept < -0.1)
    assert np.all(kept > -1.0)


def test_template_harmless_in_strong_contraction(sim: Simulated) -> None:
    sup = EcgSuppressor(sim.sfreq, 2)
    out = run(sup, sim.x, sim.wide)
    strong = slice(62_000, 89_500)
    # At 30 % MVC the ECG is 30 dB below the EMG; whatever the suppressor does there must
    # stay far below the EMG too.
    error = power_db((out - sim.emg - sim.ecg)[:, strong], sim.emg[:, strong])
    assert np.all(error <= -25.0)
    # After the contraction the template is still good (beats in the burst did not get in).
    rest2 = window_mask(sim.x.shape[1], sim.beats, sim.sfreq, 100_000, 129_500)
    reduction = power_db(sim.ecg[:, rest2], (out - sim.emg)[:, rest2])
    assert reduction[0] >= 12.0


# ---------------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def real() -> tuple[Array, Array, float]:
    data = np.load(DATA)
    wide = np.ascontiguousarray(data["emg"].T) * 1e-3  # about mV -> V
    sfreq = float(data["fs"])
    return emg_band(wide, sfreq), wide, sfreq


def qrs_and_background(x: Array, beats: NDArray[np.int64], sfreq: float) -> tuple[Array, Array]:
    """Mean power in QRS windows and in the EMG between beats (before and after them)."""
    n = x.shape[1]
    qrs = window_mask(n, beats, sfreq, 0, n)
    between = np.zeros(n, dtype=bool)
    for b in beats:
        for lo_s, hi_s in ((-0.26, -0.08), (0.2, 0.38)):
            between[max(b + round(lo_s * sfreq), 0) : b + round(hi_s * sfreq)] = True
    between &= ~qrs
    return np.mean(x[:, qrs] ** 2, axis=1), np.mean(x[:, between] ** 2, axis=1)


def test_real_recording(real: tuple[Array, Array, float]) -> None:
    x, wide, sfreq = real
    sup = EcgSuppressor(sfreq, 8, reference=1)
    out = run(sup, x, wide)
    highpass = EcgSuppressor(sfreq, 8, method="highpass").process(x)
    # Beats from the suppressor's own detector, after its start-up (6 s).
    beats = np.asarray(
        EcgSuppressor(sfreq, 8, reference=1).detector.process(wide).samples  # type: ignore[union-attr]
    )
    beats = beats[(beats > 6 * sfreq) & (beats < x.shape[1] - 0.4 * sfreq)]
    assert beats.size >= 20
    # ECG power = power in the QRS windows above the EMG between the beats.
    q_in, b_in = qrs_and_background(x, beats, sfreq)
    q_out, b_out = qrs_and_background(out, beats, sfreq)
    q_hp, b_hp = qrs_and_background(highpass, beats, sfreq)
    channels = slice(1, 8)  # column 0 is a different, artefact-laden signal
    ecg_in = (q_in - b_in)[channels]
    ecg_template = np.maximum(q_out - b_out, 1e-30)[channels]
    ecg_hp = (q_hp - b_hp)[channels]
    assert np.all(10 * np.log10(ecg_in / ecg_template) >= 15.0)  # measured 22 dB or more
    assert np.all(10 * np.log10(ecg_in / ecg_hp) <= 9.0)  # measured 7 dB
    # EMG away from the beats: kept by the template, reduced by the high-pass.
    n = x.shape[1]
    away = ~window_mask(n, beats, sfreq, 0, n)
    away[: round(6 * sfreq)] = False
    away[-round(0.4 * sfreq) :] = False
    kept_template = power_db(out[channels, away], x[channels, away])
    kept_hp = power_db(highpass[channels, away], x[channels, away])
    assert np.all(np.abs(kept_template) <= 0.1)
    assert np.all(kept_hp <= -0.3)


# ---------------------------------------------------------------------------- behaviour


def synthetic(sfreq: float, duration_s: float, seed: int) -> tuple[Array, NDArray[np.int64]]:
    rng = np.random.default_rng(seed)
    ecg, beats = qrs_beats(sfreq, duration_s, rng)
    noise = 2e-6 * rng.standard_normal((2, ecg.size))
    return np.stack((40e-6 * ecg, -15e-6 * ecg)) + noise, beats


def test_delay_and_warm_up_pass_input_through() -> None:
    sfreq = 500.0
    x, _ = synthetic(sfreq, 20.0, seed=5)
    sup = EcgSuppressor(sfreq, 2)
    out = sup.process(x)
    lag = sup.latency_samples
    assert lag == max(sup.detector.latency_samples, round(0.12 * sfreq)) + round(0.06 * sfreq)  # type: ignore[union-attr]
    np.testing.assert_array_equal(out[:, :lag], 0.0)
    # Nothing is subtracted before the template is ready (2 s of learning + 4 beats).
    np.testing.assert_array_equal(out[:, lag : lag + 2000], x[:, :2000])
    assert sup.template_ready
    assert sup.template is not None
    assert sup.template.shape == (2, round(0.18 * sfreq) + 1)


def test_no_ecg_no_change() -> None:
    """On EMG-like noise without ECG the detector reports noise peaks, but no template is
    significant, so nothing is subtracted."""
    rng = np.random.default_rng(6)
    sfreq = 1000.0
    x = emg_band(5e-6 * rng.standard_normal((2, 30_000)), sfreq)
    sup = EcgSuppressor(sfreq, 2)
    out = run(sup, x)
    n = x.shape[1] - sup.latency_samples
    assert not sup.active_channels.any()
    error = np.mean((out[:, :n] - x[:, :n]) ** 2, axis=1)
    assert np.all(error <= 1e-3 * np.mean(x[:, :n] ** 2, axis=1))


def test_zero_input_gives_zero_output() -> None:
    sup = EcgSuppressor(1000.0, 2)
    out = sup.process(np.zeros((2, 20_000)))
    np.testing.assert_array_equal(out, 0.0)
    assert sup.n_beats_detected == 0


def test_relearns_after_a_change_of_shape() -> None:
    """A new QRS shape on one channel (an electrode moved): the template is relearned."""
    sfreq = 500.0
    rng = np.random.default_rng(7)
    ecg, beats = qrs_beats(sfreq, 80.0, rng)
    half = ecg.size // 2
    changed = np.concatenate((ecg[:half], np.roll(ecg, round(0.03 * sfreq))[half:]))
    clean = np.stack((40e-6 * ecg, 30e-6 * changed))
    noise = 1e-6 * rng.standard_normal((2, ecg.size))
    sup = EcgSuppressor(sfreq, 2)
    out = run(sup, clean + noise)
    late = window_mask(ecg.size, beats, sfreq, round(65 * sfreq), round(79 * sfreq))
    reduction = power_db(clean[:, late], (out - noise)[:, late])
    assert np.all(reduction >= 20.0)


@pytest.mark.parametrize(("sfreq", "n_channels"), [(100.0, 1), (250.0, 3), (4000.0, 2)])
def test_other_rates_and_channel_counts(sfreq: float, n_channels: int) -> None:
    rng = np.random.default_rng(12)
    ecg, beats = qrs_beats(sfreq, 30.0, rng)
    clean = 40e-6 * np.tile(ecg, (n_channels, 1))
    noise = 1e-6 * rng.standard_normal(clean.shape)
    sup = EcgSuppressor(sfreq, n_channels)
    out = run(sup, clean + noise)
    late = window_mask(ecg.size, beats, sfreq, round(12 * sfreq), round(29 * sfreq))
    assert np.all(power_db(clean[:, late], (out - noise)[:, late]) >= 15.0)


def test_artefact_does_not_spoil_the_template() -> None:
    """A 5 mV electrode pop at rest: at most the beats around it suffer."""
    sfreq = 500.0
    rng = np.random.default_rng(13)
    ecg, beats = qrs_beats(sfreq, 60.0, rng)
    clean = np.stack((40e-6 * ecg, -15e-6 * ecg))
    noise = 1e-6 * rng.standard_normal(clean.shape)
    pop = np.zeros(ecg.size)
    start = round(20 * sfreq)
    pop[start:] = 5e-3 * np.exp(-np.arange(ecg.size - start) / (0.2 * sfreq))
    x = clean + noise + pop
    sup = EcgSuppressor(sfreq, 2)
    out = run(sup, x)
    late = window_mask(ecg.size, beats, sfreq, round(30 * sfreq), round(59 * sfreq))
    assert np.all(power_db(clean[:, late], (out - noise - pop)[:, late]) >= 15.0)


def test_reset_starts_afresh() -> None:
    x, _ = synthetic(500.0, 15.0, seed=8)
    sup = EcgSuppressor(500.0, 2)
    first = sup.process(x)
    sup.reset()
    assert not sup.template_ready
    assert sup.n_beats_detected == 0
    np.testing.assert_array_equal(sup.process(x), first)
    hp = EcgSuppressor(500.0, 2, method="highpass")
    first = hp.process(x)
    hp.reset()
    np.testing.assert_array_equal(hp.process(x), first)


def test_highpass_is_the_30_hz_butterworth() -> None:
    sfreq = 1000.0
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 3000)) * 1e-5 + 1e-3  # an offset: the state is seeded
    sup = EcgSuppressor(sfreq, 2, method="highpass")
    assert sup.latency_samples == 0
    assert sup.detector is None
    assert not sup.active_channels.any()
    assert sup.template is None
    sos = signal.butter(4, 30.0, btype="highpass", fs=sfreq, output="sos")
    zi = signal.sosfilt_zi(sos)[:, None, :] * x[:, 0][None, :, None]
    expected, _ = signal.sosfilt(sos, x, axis=-1, zi=zi)
    np.testing.assert_allclose(sup.process(x), expected, rtol=1e-12, atol=1e-18)


@pytest.mark.parametrize("method", ECG_METHODS)
@settings(max_examples=20, deadline=None)
@given(sizes=st.lists(st.integers(min_value=0, max_value=900), min_size=1, max_size=30))
def test_block_size_invariance(method: str, sizes: list[int]) -> None:
    sfreq = 250.0
    x, _ = synthetic(sfreq, 16.0, seed=10)
    wide = x + 1e-5  # any wideband signal of the same shape
    whole = EcgSuppressor(sfreq, 2, method=method).process(x, wide)  # type: ignore[arg-type]
    blocks = in_blocks(EcgSuppressor(sfreq, 2, method=method), x, sizes, wide)  # type: ignore[arg-type]
    np.testing.assert_allclose(blocks, whole, rtol=0.0, atol=1e-9 * np.abs(whole).max())


def test_block_size_invariance_subtracts() -> None:
    """The invariance test above runs where beats are subtracted (not only delayed)."""
    x, _ = synthetic(250.0, 16.0, seed=10)
    sup = EcgSuppressor(250.0, 2)
    sup.process(x, x + 1e-5)
    assert sup.n_beats_subtracted >= 5


def test_block_size_invariance_on_a_long_recording(sim: Simulated) -> None:
    """Two minutes with beats subtracted and learned, in blocks of 10 s and of odd sizes."""
    whole = EcgSuppressor(sim.sfreq, 2).process(sim.x, sim.wide)
    sup = EcgSuppressor(sim.sfreq, 2)
    blocks = in_blocks(sup, sim.x, [10_000, 1, 777, 5_003, 20, 10_000, 123_457], sim.wide)
    assert sup.n_beats_learned > 50
    np.testing.assert_allclose(blocks, whole, rtol=0.0, atol=1e-12 * np.abs(whole).max())


@pytest.mark.parametrize("n_len", [3, 4, 46, 181])
def test_centred_dft_is_the_tapered_zero_padded_fft(n_len: int) -> None:
    """The suppressor's matrix DFT matches numpy's FFT, turned to the window's centre."""
    rng = np.random.default_rng(n_len)
    taper = signal.windows.tukey(n_len, alpha=0.25)
    n_fft = 2 * n_len
    dft = _CentredDft(n_fft, taper)
    x = rng.standard_normal((3, n_len))
    spectrum = np.fft.rfft(x * taper, n=n_fft)
    k = np.arange(n_fft // 2 + 1)
    turned = spectrum * np.exp(2j * np.pi * k * (n_len - 1) / 2.0 / n_fft)
    expected = np.concatenate((turned.real, turned.imag), axis=-1)
    ours = dft.forward(x)
    np.testing.assert_allclose(ours, expected, rtol=0.0, atol=1e-12 * np.abs(expected).max())
    # Back, through a real gain per frequency (as the Wiener filter applies).
    gain = rng.uniform(0.0, 1.0, k.size)
    out = np.empty((3, n_len))
    dft.inverse(ours[:, : k.size] * gain, ours[:, k.size :] * gain, out=out)
    back = np.fft.irfft(spectrum * gain, n=n_fft)[:, :n_len] * taper
    np.testing.assert_allclose(out, back, rtol=0.0, atol=1e-12 * np.abs(back).max())


# ---------------------------------------------------------------------------- checks


def test_bad_method_message() -> None:
    with pytest.raises(ValueError, match="Invalid value for the 'method' parameter") as info:
        EcgSuppressor(1000.0, 2, method="wavelet")  # type: ignore[arg-type]
    assert "'template', 'highpass'" in str(info.value)
    assert "'wavelet'" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "error", "match_text"),
    [
        ({"sfreq": 0.0}, ValueError, "sfreq"),
        ({"sfreq": -1.0}, ValueError, "sfreq"),
        ({"sfreq": 60.0}, ValueError, "too low"),
        ({"sfreq": "1000"}, TypeError, "sfreq"),
        ({"n_channels": 0}, ValueError, "n_channels"),
        ({"reference": 2}, ValueError, "reference"),
        ({"reference": -1}, ValueError, "reference"),
        ({"tmin": 0.01}, ValueError, "tmin"),
        ({"tmax": 0.0}, ValueError, "tmax"),
        ({"tmin": float("nan")}, ValueError, "tmin"),
        ({"n_beats": 0}, ValueError, "n_beats"),
        ({"min_beats": 20, "n_beats": 16}, ValueError, "min_beats"),
        ({"beat_prior": 1.0}, ValueError, "beat_prior"),
        ({"amplitude_sd": 0.0}, ValueError, "amplitude_sd"),
        ({"method": "highpass", "l_freq": 0.0}, ValueError, "l_freq"),
        ({"method": "highpass", "sfreq": 100.0, "l_freq": 48.0}, ValueError, "too low"),
    ],
)
def test_bad_parameters(kwargs: dict[str, object], error: type[Exception], match_text: str) -> None:
    args: dict[str, object] = {"sfreq": 1000.0, "n_channels": 2}
    args.update(kwargs)
    with pytest.raises(error, match=match_text):
        EcgSuppressor(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ECG_METHODS)
@pytest.mark.parametrize(
    ("block", "error"),
    [
        (np.zeros((2, 10), dtype=np.int32), TypeError),
        (np.full((2, 10), np.nan), ValueError),
        (np.zeros(10), ValueError),
        (np.zeros((1, 10)), ValueError),
        (np.zeros((2, 3, 4)), ValueError),
    ],
)
def test_bad_blocks(method: str, block: Array, error: type[Exception]) -> None:
    sup = EcgSuppressor(1000.0, 2, method=method)  # type: ignore[arg-type]
    with pytest.raises(error):
        sup.process(block)
    with pytest.raises(error):
        sup.process(np.zeros((2, 10)), block)


def test_wideband_shape_and_consistency() -> None:
    sup = EcgSuppressor(1000.0, 2)
    with pytest.raises(ValueError, match="wideband must have the shape"):
        sup.process(np.zeros((2, 10)), np.zeros((2, 11)))
    sup.process(np.zeros((2, 10)), np.zeros((2, 10)))
    with pytest.raises(ValueError, match="every block or with none"):
        sup.process(np.zeros((2, 10)))
    sup.reset()
    sup.process(np.zeros((2, 10)))
