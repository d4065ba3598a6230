"""Make docs/img/overview.png: the simulated wearable's signals after the real link.

The quick scenario is run through the simulated firmware with 1 % of frames lost, written
as a capture file, decoded by the host's stream decoder (gaps become NaN) and plotted with
the scenario's ground truth. Run: ``.venv/bin/python docs/scripts/readme_figure.py``.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from host.protocol.capture import read_capture  # noqa: E402
from host.simulator.scenario import read_truth  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "img" / "overview.png"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "host.cli",
                "simulate",
                "--scenario",
                "quick",
                "--out",
                tmp,
                "--drop",
                "0.01",
                "--fault-seed",
                "3",
            ],
            check=True,
            capture_output=True,
        )
        capture = read_capture(next(Path(tmp).glob("*.sw1")))
        truth = read_truth(next(Path(tmp).glob("*_events.tsv")))
    t = np.arange(capture.emg_v.shape[1]) / capture.sfreq
    ta = np.arange(capture.accel_g.shape[1]) / capture.accel_sfreq
    fig, axes = plt.subplots(3, 1, figsize=(12, 6.5), sharex=True, height_ratios=[1, 1, 0.8])
    colours = {"left": "#c0392b", "right": "#2471a3", "bilateral": "#7d3c98"}
    for row, name in enumerate(capture.ch_names):
        ax = axes[row]
        ax.plot(t, capture.emg_v[row] * 1e6, lw=0.3, color="0.15")
        ax.set_ylabel(f"{name}\n(µV)")
        ax.set_ylim(-900, 900)
    for event in truth:
        if event.category != "contraction":
            continue
        colour = colours.get(event.side, "0.5") if event.involuntary else "#27ae60"
        for ax in axes[:2]:
            ax.axvspan(
                event.onset_s, event.onset_s + event.duration_s, color=colour, alpha=0.15, lw=0
            )
        if event.involuntary:
            axes[0].text(
                event.onset_s,
                820,
                f"spasm: {event.kind}",
                fontsize=7,
                rotation=90,
                va="top",
                ha="right",
            )
    activities = [e for e in truth if e.category == "activity"]
    for k, event in enumerate(activities):
        axes[2].axvline(event.onset_s, color="0.7", lw=0.6)
        axes[2].text(
            event.onset_s + 0.5,
            1.55 - 0.22 * (k % 2),
            event.kind.replace("_", " "),
            fontsize=7,
            va="top",
        )
    for axis, label, colour in zip(range(3), "xyz", ("#444", "#c0392b", "#2471a3"), strict=True):
        axes[2].plot(ta, capture.accel_g[axis], lw=0.7, color=colour, label=f"acc {label}")
    axes[2].set_ylim(-1.4, 1.6)
    axes[2].set_ylabel("acceleration\n(g)")
    axes[2].set_xlabel("time (s)")
    axes[2].legend(loc="lower right", fontsize=7, ncol=3)
    lost = np.isnan(capture.emg_v[0]).mean() * 100
    fig.suptitle(
        "spasmwatch: simulated wearer through protocol v1 and the host decoder "
        f"(1 % frames dropped on the link → {lost:.1f} % of samples NaN, never joined)\n"
        "shaded: involuntary episodes (red left, blue right, purple bilateral), voluntary "
        "contractions (green)",
        fontsize=9,
    )
    fig.tight_layout()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=110)


if __name__ == "__main__":
    main()
