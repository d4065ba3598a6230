"""Measure ECG suppression (template subtraction vs 30 Hz high-pass); draw docs/img/dsp_ecg.png.

Run from the repository root with the project's virtual environment::

    .venv/bin/python docs/scripts/ecg_suppression.py

It prints the Markdown tables of the ECG section of ``docs/dsp.md``:

* simulated recording with a known ECG (the same scenario and seeds run with the ECG on and
  off; their difference is exactly the ECG): residual ECG in the QRS windows, EMG kept, and
  R-peak detection sensitivity / positive predictive value, at rest, at 5, 15 and 30 % MVC
  and walking;
* the real 8-channel ECG-contaminated recording (``tests/data/03_emggo_onset_and_ecg``):
  QRS-window excess power before and after, and EMG kept away from the beats;
* latency and speed (2 channels at 1 kHz in 20 ms blocks; one hour at once).

The processing chain is the one spasmwatch runs: mains notch and 20-450 Hz band-pass
(causal), then :class:`dsp.ecg.EcgSuppressor`; the template method's detector gets the
notch-filtered signal before the band-pass (``wideband=``) unless stated.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from numpy.typing import NDArray
from scipy import signal

from dsp.ecg import EcgSuppressor
from dsp.filters import design_bandpass, design_mains_notch
from dsp.rpeaks import RPeakDetector
from host.simulator import BodySimulator, loads_scenario

ROOT = Path(__file__).resolve().parents[2]
REAL = ROOT / "tests" / "data" / "03_emggo_onset_and_ecg" / "ECG_Contaminated.npz"
IMG = ROOT / "docs" / "img"
Array = NDArray[np.float64]
SFREQ = 1000.0
SEED = 1
#: QRS window around the true R peak, s (the suppressor's default template window).
QRS = (-0.06, 0.12)
#: A detected beat matches a true one within this many seconds.
MATCH_S = 0.05
#: Seconds skipped at the start of every condition (segment transitions, start-up).
SKIP_S = 10.0

CONDITIONS = (
    # label, TOML segment
    ("rest (lying)", 'activity = "lying"\nduration_s = 70.0'),
    ("sitting, 5 % MVC", 'activity = "sitting"\nduration_s = 40.0\ntone_mvc = 0.05'),
    ("sitting, 15 % MVC", 'activity = "sitting"\nduration_s = 40.0\ntone_mvc = 0.15'),
    ("sitting, 30 % MVC", 'activity = "sitting"\nduration_s = 40.0\ntone_mvc = 0.3'),
    ("rest after 30 % MVC", 'activity = "lying"\nduration_s = 40.0'),
    ("walking", 'activity = "walking"\nduration_s = 50.0'),
)
WEARER = """[wearer]
seed = 3
electrode_pop_per_h = 0.0
lift_off_per_h = 0.0
motion_artefact_per_h = 0.0
saturation_per_h = 0.0
"""


def causal(sos: Array, x: Array) -> Array:
    out: Array = signal.sosfilt(sos, x, axis=-1)
    return out


def db(num: Array | float, den: Array | float) -> Array:
    out: Array = 10.0 * np.log10(np.asarray(num) / np.asarray(den))
    return out


def qrs_mask(n: int, beats: NDArray[np.int64], sfreq: float, lo: int, hi: int) -> NDArray[np.bool_]:
    mask = np.zeros(n, dtype=bool)
    for b in beats[(beats >= lo) & (beats < hi)]:
        mask[max(b + round(QRS[0] * sfreq), 0) : b + round(QRS[1] * sfreq) + 1] = True
    return mask


def power(x: Array, mask: NDArray[np.bool_]) -> Array:
    out: Array = np.mean(x[:, mask] ** 2, axis=1)
    return out


def match(found: NDArray[np.int64], true: NDArray[np.int64], tol: int) -> tuple[int, int, int]:
    used = np.zeros(found.size, dtype=bool)
    tp = 0
    for t in true:
        near = np.flatnonzero(~used & (np.abs(found - t) <= tol))
        if near.size:
            used[near[np.argmin(np.abs(found[near] - t))]] = True
            tp += 1
    return tp, true.size - tp, found.size - tp


def run_aligned(sup: EcgSuppressor, x: Array, wideband: Array | None = None) -> Array:
    """Process at once and undo the fixed delay (the last samples are zero)."""
    out = sup.process(x, wideband)
    lag = sup.latency_samples
    aligned = np.zeros_like(x)
    aligned[:, : x.shape[1] - lag] = out[:, lag:]
    return aligned


# ---------------------------------------------------------------------------- simulator


@dataclass
class Simulation:
    wide: Array  # notch-filtered electrode signal (the detector's input)
    x: Array  # after the EMG band-pass: the suppressor's input
    emg: Array  # the same without ECG
    ecg: Array  # the ECG component after the same filters
    beats: NDArray[np.int64]  # true R peaks
    bounds: list[tuple[str, int, int]]  # condition, first and last sample measured


def simulate() -> Simulation:
    segments = "".join(f"\n[[segment]]\n{seg}\n" for _, seg in CONDITIONS)
    on = loads_scenario(WEARER + segments)
    off = loads_scenario(
        WEARER.replace("[wearer]\n", "[wearer]\necg_uv_left = 0.0\necg_uv_right = 0.0\n") + segments
    )
    n = round(on.duration_s * SFREQ)
    raw, _ = BodySimulator(on, sfreq=SFREQ, accel_sfreq=0.0, seed=SEED).read(n)
    raw_emg, _ = BodySimulator(off, sfreq=SFREQ, accel_sfreq=0.0, seed=SEED).read(n)
    raw_ecg = raw - raw_emg
    # The ECG channel ratio is exactly the wearer's -15/40 wherever the ECG is not tiny:
    # the ECG-off run differs by the ECG alone.
    big = np.abs(raw_ecg[0]) > 1e-6
    assert np.allclose(raw_ecg[1, big] / raw_ecg[0, big], -15.0 / 40.0, rtol=1e-6)
    notch = design_mains_notch(SFREQ, 50.0)
    band = design_bandpass(SFREQ, 20.0, 450.0)
    wide = causal(notch, raw)
    peaks, _ = signal.find_peaks(raw_ecg[0], height=0.5 * raw_ecg[0].max(), distance=250)
    bounds = []
    start = 0.0
    for (label, _), seg in zip(CONDITIONS, on.segments, strict=True):
        bounds.append(
            (label, round((start + SKIP_S) * SFREQ), round((start + seg.duration_s - 0.5) * SFREQ))
        )
        start += seg.duration_s
    return Simulation(
        wide=wide,
        x=causal(band, wide),
        emg=causal(band, causal(notch, raw_emg)),
        ecg=causal(band, causal(notch, raw_ecg)),
        beats=peaks.astype(np.int64),
        bounds=bounds,
    )


def simulated_tables(sim: Simulation) -> None:
    n = sim.x.shape[1]
    template = run_aligned(EcgSuppressor(SFREQ, 2), sim.x, sim.wide)
    template_self = run_aligned(EcgSuppressor(SFREQ, 2), sim.x)
    hp_ecg = EcgSuppressor(SFREQ, 2, method="highpass").process(sim.ecg)
    hp_emg = EcgSuppressor(SFREQ, 2, method="highpass").process(sim.emg)
    found_wide = RPeakDetector(SFREQ, 2).process(sim.wide).samples
    found_band = RPeakDetector(SFREQ, 2).process(sim.x).samples

    print("\nSimulated recording, known ECG (left / right channel, dB)\n")
    print(
        "| condition | ECG re EMG in QRS windows | ECG reduction: template | template "
        "(detection on band-passed) | 30 Hz high-pass | residual ECG re EMG: template | "
        "30 Hz high-pass | EMG kept by the high-pass | template error away from QRS, re EMG |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for label, lo, hi in sim.bounds:
        qrs = qrs_mask(n, sim.beats, SFREQ, lo, hi)
        span = np.zeros(n, dtype=bool)
        span[lo:hi] = True
        away = span & ~qrs_mask(n, sim.beats, SFREQ, 0, n)
        p_ecg = power(sim.ecg, qrs)
        p_emg = power(sim.emg, qrs)
        red_t = db(p_ecg, power(template - sim.emg, qrs))
        red_s = db(p_ecg, power(template_self - sim.emg, qrs))
        red_h = db(p_ecg, power(hp_ecg, qrs))
        kept_h = db(power(hp_emg, span), power(sim.emg, span))
        err_t = db(power(template - sim.emg - sim.ecg, away), power(sim.emg, away))
        print(
            f"| {label} | {fmt(db(p_ecg, p_emg))} | {fmt(red_t)} | {fmt(red_s)} | {fmt(red_h)} "
            f"| {fmt(db(p_ecg, p_emg) - red_t)} | {fmt(db(p_ecg, p_emg) - red_h)} "
            f"| {fmt(kept_h, 2)} | {fmt(err_t)} |"
        )

    print("\nR-peak detection on the simulated recording (reference: left channel)\n")
    print(
        "| condition | true beats | sensitivity (wideband) | PPV (wideband) | "
        "sensitivity (band-passed) | PPV (band-passed) |"
    )
    print("|---|---|---|---|---|---|")
    tol = round(MATCH_S * SFREQ)
    for label, lo, hi in sim.bounds:
        true = sim.beats[(sim.beats >= lo) & (sim.beats < hi)]
        cells = []
        for found in (found_wide, found_band):
            tp, missed, false = match(found[(found >= lo) & (found < hi)], true, tol)
            cells += [f"{tp / true.size:.2f}", f"{tp / max(tp + false, 1):.2f}"]
        print(f"| {label} | {true.size} | " + " | ".join(cells) + " |")


def fmt(values: Array, digits: int = 1) -> str:
    """Left / right values; below -100 dB means unchanged (nothing was subtracted)."""
    return " / ".join("< -100" if v < -100.0 else f"{v:.{digits}f}" for v in np.atleast_1d(values))


# ---------------------------------------------------------------------------- real data


@dataclass
class Real:
    sfreq: float
    wide: Array
    x: Array
    template: Array
    template_self: Array
    highpass: Array
    beats: NDArray[np.int64]


def real_recording() -> Real:
    data = np.load(REAL)
    wide = np.ascontiguousarray(data["emg"].T) * 1e-3  # about millivolts -> volts
    sfreq = float(data["fs"])
    x = causal(design_bandpass(sfreq, 20.0, 450.0), wide)
    beats = RPeakDetector(sfreq, 8, reference=1).process(wide).samples
    return Real(
        sfreq=sfreq,
        wide=wide,
        x=x,
        template=run_aligned(EcgSuppressor(sfreq, 8, reference=1), x, wide),
        template_self=run_aligned(EcgSuppressor(sfreq, 8, reference=1), x),
        highpass=EcgSuppressor(sfreq, 8, method="highpass").process(x),
        beats=beats,
    )


def qrs_excess(x: Array, beats: NDArray[np.int64], sfreq: float) -> tuple[Array, Array]:
    """Power in the QRS windows and in the EMG between the beats (before and after)."""
    n = x.shape[1]
    qrs = qrs_mask(n, beats, sfreq, 0, n)
    between = np.zeros(n, dtype=bool)
    for b in beats:
        for lo_s, hi_s in ((-0.26, -0.08), (0.2, 0.38)):
            between[max(b + round(lo_s * sfreq), 0) : b + round(hi_s * sfreq)] = True
    between &= ~qrs
    return power(x, qrs), power(x, between)


def real_tables(real: Real) -> None:
    sfreq = real.sfreq
    n = real.x.shape[1]
    beats = real.beats[(real.beats > 6 * sfreq) & (real.beats < n - 0.4 * sfreq)]
    rr = np.diff(real.beats) / sfreq
    print(
        f"\nReal recording: {real.beats.size} beats detected on channel 1 in "
        f"{n / sfreq:.1f} s (first 2 s: learning), RR {np.median(rr):.3f} s median, "
        f"{rr.min():.3f}-{rr.max():.3f} s; {beats.size} beats scored (after 6 s)\n"
    )
    away = ~qrs_mask(n, beats, sfreq, 0, n)
    away[: round(6 * sfreq)] = False
    away[-round(0.4 * sfreq) :] = False
    q_in, b_in = qrs_excess(real.x, beats, sfreq)
    print(
        "| channel | QRS-window excess power, input (dB) | after template | after template "
        "(detection band-passed) | after 30 Hz high-pass | ECG reduction: template | "
        "30 Hz high-pass | EMG kept away from the beats: template | 30 Hz high-pass |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    rows = {}
    for name, y in (("t", real.template), ("s", real.template_self), ("h", real.highpass)):
        q, b = qrs_excess(y, beats, sfreq)
        rows[name] = (q, b, db(power(y, away), power(real.x, away)))
    for ch in range(8):
        cells = [f"{db(q_in[ch], b_in[ch]):.1f}"]
        cells += [f"{db(rows[k][0][ch], rows[k][1][ch]):.1f}" for k in "tsh"]
        for k in "th":
            residual = rows[k][0][ch] - rows[k][1][ch]
            ecg_in = q_in[ch] - b_in[ch]
            cells.append(f"{db(ecg_in, residual):.1f}" if residual > 0 else "> 30")
        cells += [f"{rows[k][2][ch]:.2f}" for k in "th"]
        print(f"| {ch} | " + " | ".join(cells) + " |")


# ---------------------------------------------------------------------------- speed


def speed() -> None:
    rng = np.random.default_rng(0)
    sim_x = rng.standard_normal((2, 60_000)) * 5e-6
    t = np.arange(sim_x.shape[1]) / SFREQ
    ecg = np.zeros(t.size)
    for b in np.arange(0.5, t[-1], 0.85):
        ecg += np.exp(-0.5 * ((t - b) / 0.01) ** 2)
    x = sim_x + np.stack((40e-6 * ecg, -15e-6 * ecg))
    x_band = causal(design_bandpass(SFREQ, 20.0, 450.0), x)
    block = round(0.02 * SFREQ)
    print("\nSpeed (2 channels, 1 kHz)\n")
    print("| method | us per 20 ms block | share of one core | one hour at once |")
    print("|---|---|---|---|")
    hour = np.tile(x_band, (1, 60))
    hour_wide = np.tile(x, (1, 60))
    for label, kwargs, wide in (
        ("template, detection on wideband", {"method": "template"}, True),
        ("template, detection on band-passed", {"method": "template"}, False),
        ("highpass", {"method": "highpass"}, False),
    ):
        sup = EcgSuppressor(SFREQ, 2, **kwargs)  # type: ignore[arg-type]
        tic = time.perf_counter()
        for i in range(0, x_band.shape[1], block):
            sup.process(x_band[:, i : i + block], x[:, i : i + block] if wide else None)
        per_block = (time.perf_counter() - tic) / (x_band.shape[1] / block)
        sup = EcgSuppressor(SFREQ, 2, **kwargs)  # type: ignore[arg-type]
        tic = time.perf_counter()
        sup.process(hour, hour_wide if wide else None)
        elapsed = time.perf_counter() - tic
        print(
            f"| {label} | {per_block * 1e6:.0f} | {per_block / 0.02:.2%} | "
            f"{elapsed:.2f} s ({3600 / elapsed:.0f} x real time) |"
        )


def latency() -> None:
    print("\nLatency of the template method (default parameters)\n")
    print("| sfreq (Hz) | detector latency | suppressor latency |")
    print("|---|---|---|")
    for sfreq in (500.0, 1000.0, 2048.0):
        sup = EcgSuppressor(sfreq, 2)
        det = sup.detector
        assert det is not None
        print(
            f"| {sfreq:g} | {det.latency_samples} samples ({det.latency_samples / sfreq * 1e3:.0f}"
            f" ms) | {sup.latency_samples} samples ({sup.latency_samples / sfreq * 1e3:.0f} ms) |"
        )


# ---------------------------------------------------------------------------- figure


def smoothed_power(p: Array, lags: NDArray[np.int64], sfreq: float) -> tuple[Array, Array]:
    """20 ms moving average of a beat-locked power profile (valid part only), lags in ms."""
    n = round(0.02 * sfreq)
    smooth = np.convolve(p, np.ones(n) / n, mode="valid")
    centre = lags[n // 2 : n // 2 + smooth.size] / sfreq * 1e3
    return centre, smooth


def figure(real: Real, sim: Simulation) -> None:
    fig, axes = plt.subplots(
        2, 2, figsize=(13, 7.5), gridspec_kw={"width_ratios": [3, 1]}, layout="constrained"
    )
    sfreq = real.sfreq
    ch = 1
    lo, hi = round(9.0 * sfreq), round(12.5 * sfreq)
    t = np.arange(lo, hi) / sfreq
    offset = 450.0
    traces = (
        ("input (20-450 Hz)", real.x, "0.35"),
        ("template subtraction", real.template, "C0"),
        ("30 Hz high-pass", real.highpass, "C3"),
    )
    ax = axes[0, 0]
    for i, (label, y, colour) in enumerate(traces):
        ax.plot(t, y[ch, lo:hi] * 1e6 - i * offset, lw=0.6, color=colour, label=label)
    beats = real.beats[(real.beats >= lo) & (real.beats < hi)]
    for b in beats:
        ax.axvline(b / sfreq, color="0.8", lw=0.8, zorder=0)
    ax.set_yticks([-i * offset for i in range(3)], [tr[0] for tr in traces])
    ax.set_xlabel("time (s)")
    ax.set_title(
        f"(a) real recording, channel {ch}, 2048 Hz: detected beats (grey) and an EMG burst "
        f"({offset:.0f} uV between traces)",
        loc="left",
        fontsize=10,
    )
    # (b) average over the beats after start-up: power in time around the R peak.
    ax = axes[0, 1]
    win = np.arange(round(-0.3 * sfreq), round(0.4 * sfreq))
    scored = real.beats[(real.beats > 6 * sfreq) & (real.beats < real.x.shape[1] - 0.5 * sfreq)]
    for _label, y, colour in traces:
        seg = np.stack([y[1:, b + win] for b in scored])
        lag_ms, p = smoothed_power((seg**2).mean(axis=(0, 1)), win, sfreq)
        ax.plot(lag_ms, 10 * np.log10(p * 1e12), color=colour, lw=1.0)
    ax.set_xlabel("time from R peak (ms)")
    ax.set_ylabel("power (dB re 1 uV^2)")
    ax.set_title("(b) beat-locked power, ch. 1-7", loc="left", fontsize=10)
    # (c) simulated rest: the true EMG under the ECG.
    template = run_aligned(EcgSuppressor(SFREQ, 2), sim.x, sim.wide)
    highpass = EcgSuppressor(SFREQ, 2, method="highpass").process(sim.x)
    lo, hi = round(40.0 * SFREQ), round(43.5 * SFREQ)
    t = np.arange(lo, hi) / SFREQ
    offset = 30.0
    sim_traces = (
        ("input (20-450 Hz)", sim.x, "0.35"),
        ("template subtraction", template, "C0"),
        ("30 Hz high-pass", highpass, "C3"),
        ("EMG alone (truth)", sim.emg, "k"),
    )
    ax = axes[1, 0]
    for i, (_label, y, colour) in enumerate(sim_traces):
        ax.plot(t, y[0, lo:hi] * 1e6 - i * offset, lw=0.6, color=colour)
    for b in sim.beats[(sim.beats >= lo) & (sim.beats < hi)]:
        ax.axvline(b / SFREQ, color="0.8", lw=0.8, zorder=0)
    ax.set_yticks([-i * offset for i in range(len(sim_traces))], [tr[0] for tr in sim_traces])
    ax.set_xlabel("time (s)")
    ax.set_title(
        "(c) simulator, lying, left channel, 1 kHz: raw R wave 40 uV, resting EMG 3 uV "
        f"({offset:.0f} uV between traces)",
        loc="left",
        fontsize=10,
    )
    ax = axes[1, 1]
    win = np.arange(round(-0.3 * SFREQ), round(0.4 * SFREQ))
    _, lo_r, hi_r = sim.bounds[0]
    scored = sim.beats[(sim.beats > lo_r) & (sim.beats < hi_r)]
    for label, y, colour in (
        ("input", sim.x, "0.35"),
        ("template", template, "C0"),
        ("30 Hz high-pass", highpass, "C3"),
        ("EMG alone", sim.emg, "k"),
    ):
        seg = np.stack([y[0, b + win] for b in scored])
        lag_ms, p = smoothed_power((seg**2).mean(axis=0), win, SFREQ)
        ax.plot(lag_ms, 10 * np.log10(p * 1e12), color=colour, lw=1.0, label=label)
    ax.set_xlabel("time from R peak (ms)")
    ax.set_ylabel("power (dB re 1 uV^2)")
    ax.set_title("(d) beat-locked power, left, at rest", loc="left", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    IMG.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMG / "dsp_ecg.png", dpi=110)
    print(f"\nwrote {IMG / 'dsp_ecg.png'}")


def main() -> None:
    sim = simulate()
    simulated_tables(sim)
    real = real_recording()
    real_tables(real)
    latency()
    speed()
    figure(real, sim)


if __name__ == "__main__":
    main()
