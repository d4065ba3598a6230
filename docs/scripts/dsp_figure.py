"""Make docs/img/dsp_overview.png: raw vs cleaned EMG and envelope on real recordings.

Both recordings go through :class:`dsp.preprocess.EmgPreprocessor` (band-pass, mains notch
when mains is detected, template ECG suppression, 150 ms moving RMS) exactly as the live
pipeline runs it, block by block. Run: ``.venv/bin/python docs/scripts/dsp_figure.py``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from dsp.mains import MainsDetector  # noqa: E402
from dsp.preprocess import EmgPreprocessor  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
OUT = ROOT / "docs" / "img" / "dsp_overview.png"


def run_chain(raw_v: NDArray[np.float64], sfreq: float) -> tuple[NDArray[np.float64], ...]:
    """Clean ``raw_v`` (1, n) in 20 ms blocks; mains notch switched on when detected."""
    chain = EmgPreprocessor(sfreq, 1, h_freq=min(450.0, 0.9 * sfreq / 2))
    detector = MainsDetector(sfreq, 1)
    block = int(round(0.02 * sfreq))
    cleaned, envelope = [], []
    mains = None
    for start in range(0, raw_v.shape[1], block):
        part = raw_v[:, start : start + block]
        for report in detector.process(part):
            if report.mains_freq is not None and mains is None:
                mains = report.mains_freq
                chain.set_mains(mains)
        out = chain.process(part)
        cleaned.append(out.cleaned)
        envelope.append(out.envelope)
    lag = chain.latency_samples
    c = np.concatenate(cleaned, axis=1)[0, lag:]
    e = np.concatenate(envelope, axis=1)[0, lag:]
    return raw_v[0, : c.size], c, e, np.asarray([mains or 0.0])


def main() -> None:
    z = np.load(DATA / "03_emggo_onset_and_ecg" / "ECG_Contaminated.npz")
    ecg_fs = float(z["fs"])
    ecg_raw = z["emg"][:, 1][None, :] * 1e-3  # mV -> V (channel 2; see tests/data/README.md)
    counts = np.loadtxt(DATA / "06_biosppy_bitalino" / "emg_1.txt")
    counts = counts if counts.ndim == 1 else counts[:, -1]
    bit_raw = ((counts / 4096.0 - 0.5) * 3.3 / 1009.0)[None, :]
    panels = [
        ("emgGO ECG-contaminated surface EMG (2048 Hz, channel 2)", ecg_raw, ecg_fs, (6.0, 14.0)),
        ("BITalino surface EMG (1 kHz), BioSPPy example emg_1", bit_raw, 1000.0, (12.0, 20.0)),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(13, 6.5), sharey="row")
    for col, (title, raw_v, sfreq, (t0, t1)) in enumerate(panels):
        raw, cleaned, env, mains = run_chain(raw_v, sfreq)
        t = np.arange(raw.size) / sfreq
        sel = (t >= t0) & (t < t1)
        ax = axes[0, col]
        ax.plot(t[sel], (raw[sel] - raw[sel].mean()) * 1e6, lw=0.4, color="0.55", label="raw")
        ax.set_title(title, fontsize=9)
        ax.legend(loc="upper right", fontsize=7)
        ax = axes[1, col]
        ax.plot(t[sel], cleaned[sel] * 1e6, lw=0.4, color="#1f4e79", label="cleaned")
        ax.plot(t[sel], env[sel] * 1e6, lw=1.4, color="#c0392b", label="envelope (150 ms RMS)")
        ax.legend(loc="upper right", fontsize=7)
        ax.set_xlabel("time (s)")
        note = f"mains {mains[0]:g} Hz notched" if mains[0] else "no mains detected"
        ax.text(0.01, 0.03, note, transform=ax.transAxes, fontsize=7)
    axes[0, 0].set_ylabel("raw (µV, mean removed)")
    axes[1, 0].set_ylabel("cleaned (µV)")
    fig.suptitle(
        "spasmwatch dsp chain on real recordings: 20-450 Hz band-pass, mains notch, "
        "template ECG suppression, moving RMS (causal, 20 ms blocks)",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(OUT, dpi=110)


if __name__ == "__main__":
    main()
