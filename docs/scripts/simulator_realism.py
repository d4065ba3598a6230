"""Compare the body simulator with real surface-EMG recordings; draw docs/img/simulator_*.png.

Run from the repository root with the project's virtual environment::

    .venv/bin/python docs/scripts/simulator_realism.py

It prints the Markdown table used in ``docs/simulator.md`` and writes
``docs/img/simulator_realism.png`` (spectra, median frequencies, amplitude distributions,
example traces) and ``docs/img/simulator_quick.png`` (the built-in ``quick`` scenario with its
truth labels); with ``--day`` also ``docs/img/simulator_day.png`` (the 24 h scenario, which
takes a few minutes and prints the generation speed). The real recordings are the copies in
``tests/data`` (provenance and licences in ``tests/data/README.md``). Pass ``--needle DIR`` to
add the PhysioNet needle recordings (``02_physionet_emgdb``), which are not surface EMG and not
part of the acceptance check.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from numpy.typing import NDArray
from scipy import signal, stats

from host.simulator import BodySimulator, builtin_scenario
from host.simulator.realism import EmgStatistics, emg_statistics, highpass, subtract_ecg

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
IMG = ROOT / "docs" / "img"
#: BITalino EMG sensor: EMG(V) = (ADC / 2**12 - 1/2) * 3.3 V / 1009.
BITALINO_UV_PER_COUNT = 3.3 / 4096 / 1009 * 1e6
SEED = 3


@dataclass
class Pair:
    """A real recording and its simulated counterpart, both in microvolts."""

    label: str
    real_label: str
    sim_label: str
    sfreq: float
    real_uv: NDArray[np.float64]
    sim_uv: NDArray[np.float64]
    real: EmgStatistics
    sim: EmgStatistics
    note: str


def _simulate(sfreq: float) -> NDArray[np.float64]:
    body = BodySimulator(builtin_scenario("bursts"), sfreq=sfreq, accel_sfreq=10.0, seed=SEED)
    emg, _ = body.read(body.n_times_total)
    return np.asarray(emg[0] * 1e6)


def load_pairs() -> list[Pair]:
    pairs = []
    counts = np.loadtxt(DATA / "06_biosppy_bitalino" / "emg_1.txt")
    real_uv = (counts - counts.mean()) * BITALINO_UV_PER_COUNT
    sim_uv = _simulate(1000.0)
    # The BITalino quantises to 0.8 uV; quantise the simulation the same way.
    sim_q = np.round(sim_uv / BITALINO_UV_PER_COUNT) * BITALINO_UV_PER_COUNT
    pairs.append(
        Pair(
            "BITalino, 1 kHz",
            "BioSPPy emg_1 (BITalino)",
            "simulator, 1 kHz, 0.8 uV steps",
            1000.0,
            real_uv,
            sim_q,
            emg_statistics(real_uv, 1000.0),
            emg_statistics(sim_q, 1000.0),
            "",
        )
    )
    z = np.load(DATA / "03_emggo_onset_and_ecg" / "ECG_Contaminated.npz")
    fs = float(z["fs"])
    raw = np.asarray(z["emg"][:, 1], dtype=np.float64) * 1000.0  # mV -> uV
    real_uv = subtract_ecg(raw - raw.mean(), fs)
    sim_uv = _simulate(fs)
    pairs.append(
        Pair(
            "emgGO ECG-contaminated, 2048 Hz",
            "emgGO ECG_Contaminated ch 2 (ECG subtracted)",
            "simulator, 2048 Hz",
            fs,
            real_uv,
            sim_uv,
            emg_statistics(real_uv, fs),
            emg_statistics(sim_uv, fs),
            "ECG removed by template subtraction before analysis",
        )
    )
    z = np.load(DATA / "03_emggo_onset_and_ecg" / "Sample_Data.npz")
    real_uv = np.asarray(z["emg"], dtype=np.float64).ravel()
    # Sample_Data holds every sample twice (125 Hz content at 250 Hz): simulate at 125 Hz
    # and repeat each sample, so both spectra carry the same zero-order-hold images.
    sim_uv = np.repeat(_simulate(125.0), 2)
    pairs.append(
        Pair(
            "emgGO Sample_Data, 250 Hz (125 Hz held)",
            "emgGO Sample_Data (tibialis anterior)",
            "simulator, 125 Hz held to 250 Hz",
            250.0,
            real_uv,
            sim_uv,
            emg_statistics(real_uv, 250.0),
            emg_statistics(sim_uv, 250.0),
            "spectrum capped at 62.5 Hz by the sample duplication; units unstated (uV?)",
        )
    )
    return pairs


def needle_statistics(folder: Path) -> list[tuple[str, EmgStatistics]]:
    out = []
    for name in ("healthy", "myopathy", "neuropathy"):
        path = folder / f"emg_{name}.dat"
        if path.exists():
            x_uv = np.fromfile(path, dtype="<i2") / 1e4 * 1000.0
            out.append((name, emg_statistics(x_uv, 4000.0, band=(20.0, 1800.0))))
    return out


def _row(label: str, s: EmgStatistics) -> str:
    p10, p90 = np.percentile(s.window_median_freq_hz, [10, 90])
    return (
        f"| {label} | {s.sfreq:g} | {s.rest_rms:.1f} | {s.active_rms:.0f} | "
        f"{s.burst_rest_ratio:.1f} | {100 * s.active_fraction:.0f} % | {s.median_freq_hz:.0f} | "
        f"{s.mean_freq_hz:.0f} | {p10:.0f}-{p90:.0f} | {s.kurtosis_active:.2f} | "
        f"{s.kurtosis_rest:.2f} |"
    )


def print_table(pairs: list[Pair], needle: list[tuple[str, EmgStatistics]]) -> None:
    print(
        "| recording | fs (Hz) | rest RMS (uV) | contraction RMS (uV) | ratio | active | "
        "MDF (Hz) | MNF (Hz) | window MDF p10-p90 (Hz) | kurtosis active | kurtosis rest |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for pair in pairs:
        print(_row(pair.real_label, pair.real))
        print(_row(f"*{pair.sim_label}*", pair.sim))
    for name, s in needle:
        print(_row(f"PhysioNet EMGDB needle, {name}", s))


def plot_realism(pairs: list[Pair], path: Path) -> None:
    colours = ("tab:blue", "tab:orange", "tab:green")
    fig = plt.figure(figsize=(16, 14), layout="constrained")
    grid = fig.add_gridspec(3, 3, height_ratios=(1.0, 1.0, 0.9))
    for i, (pair, colour) in enumerate(zip(pairs, colours, strict=True)):
        ax = fig.add_subplot(grid[0, i])
        for stats_, style, name in (
            (pair.real, "-", pair.real_label),
            (pair.sim, "--", pair.sim_label),
        ):
            ax.semilogy(
                stats_.active_freqs, stats_.active_psd, style, color=colour, lw=1.6, label=name
            )
        ax.set_xlim(0, min(500.0, pair.sfreq / 2))
        ax.set_ylim(1e-5, 1e-1)
        ax.set_xlabel("frequency (Hz)")
        ax.set_ylabel("normalised PSD (1/Hz)")
        ax.set_title(f"{'abc'[i]}) {pair.label}: contraction spectra", fontsize=11)
        ax.legend(fontsize=8.5, loc="upper right")
        ax.grid(alpha=0.3)
        ax.text(
            0.02,
            0.04,
            f"MDF real {pair.real.median_freq_hz:.0f} Hz, sim {pair.sim.median_freq_hz:.0f} Hz",
            transform=ax.transAxes,
            fontsize=9.5,
        )
    ax = fig.add_subplot(grid[1, 0])
    data, labels, box_colours = [], [], []
    for pair, colour in zip(pairs, colours, strict=True):
        data += [pair.real.window_median_freq_hz, pair.sim.window_median_freq_hz]
        labels += ["real", "sim"]
        box_colours += [colour, colour]
    box = ax.boxplot(data, patch_artist=True, widths=0.6, showfliers=False)
    for k, (patch, colour) in enumerate(zip(box["boxes"], box_colours, strict=True)):
        patch.set_facecolor(colour)
        patch.set_alpha(0.85 if k % 2 == 0 else 0.35)
    ax.set_xticks(range(1, len(labels) + 1), labels)
    ax.set_ylabel("median frequency of each 250 ms contraction window (Hz)")
    ax.set_title(
        "d) window median frequency (blue: BITalino, orange: 2048 Hz, green: 250 Hz)", fontsize=10
    )
    ax.grid(alpha=0.3, axis="y")
    ax = fig.add_subplot(grid[1, 1])
    bins = np.logspace(-0.5, 2.5, 49)
    for pair, colour in zip(pairs, colours, strict=True):
        for stats_, style in ((pair.real, "-"), (pair.sim, "--")):
            rel = stats_.rms / stats_.rest_rms
            hist, edges = np.histogram(rel, bins=bins, density=False)
            ax.step(edges[1:], hist / rel.size, style, color=colour, where="pre", lw=1.5)
    ax.set_xscale("log")
    ax.set_xlabel("250 ms window RMS / median rest RMS")
    ax.set_ylabel("fraction of windows")
    ax.set_title("e) amplitude distribution (solid real, dashed simulated)", fontsize=11)
    ax.grid(alpha=0.3)
    ax = fig.add_subplot(grid[1, 2])
    x = np.arange(len(pairs))
    real_ratio = [p.real.burst_rest_ratio for p in pairs]
    sim_ratio = [p.sim.burst_rest_ratio for p in pairs]
    ax.bar(x - 0.2, real_ratio, 0.4, color=colours, alpha=0.85, label="real")
    ax.bar(x + 0.2, sim_ratio, 0.4, color=colours, alpha=0.35, label="simulated", hatch="//")
    ax.set_xticks(x, ["BITalino", "2048 Hz", "250 Hz"])
    ax.set_ylabel("median contraction RMS / median rest RMS")
    ax.set_title("f) burst-to-rest ratio", fontsize=11)
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3, axis="y")
    for j, (pair, colour) in enumerate(zip(pairs[:2], colours[:2], strict=True)):
        ax = fig.add_subplot(grid[2, 0:2] if j == 0 else grid[2, 2])
        span = 12.0 if j == 0 else 5.0
        real_start = 13.0 if j == 0 else 3.0
        sim_start = 40.0 if j == 0 else 41.0
        n = int(span * pair.sfreq)
        t = np.arange(n) / pair.sfreq
        real = highpass(pair.real_uv, pair.sfreq)[int(real_start * pair.sfreq) :][:n]
        sim = highpass(pair.sim_uv, pair.sfreq)[int(sim_start * pair.sfreq) :][:n]
        offset = 1.2 * max(np.max(np.abs(real)), np.max(np.abs(sim)))
        ax.plot(t, real + offset / 2, color=colour, lw=0.5, label=pair.real_label)
        ax.plot(t, sim - offset / 2, color="0.25", lw=0.5, label=pair.sim_label)
        ax.set_xlabel("time (s)")
        ax.set_ylabel("uV (20 Hz high-pass), offset")
        ax.set_title(f"{'gh'[j]}) example stretches: real (top), simulated (bottom)", fontsize=11)
        ax.legend(fontsize=8.5, loc="upper right")
    fig.suptitle(
        "spasmwatch body simulator vs public surface-EMG recordings (same analysis pipeline)",
        fontsize=13,
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_quick(path: Path) -> None:
    scenario = builtin_scenario("quick")
    body = BodySimulator(scenario, sfreq=1000.0, accel_sfreq=100.0, seed=1)
    emg, acc = body.read(body.n_times_total)
    emg_uv = emg * 1e6
    t = np.arange(emg.shape[1]) / 1000.0
    ta = np.arange(acc.shape[1]) / 100.0
    fig, axes = plt.subplots(4, 1, figsize=(16, 11), sharex=True, layout="constrained")
    colours = {"activity": "0.85", "contraction": "tab:red", "artefact": "tab:green"}
    for ch, ax in enumerate(axes[:2]):
        ax.plot(t, emg_uv[ch], lw=0.25, color=("tab:blue", "tab:orange")[ch])
        ax.set_ylim(-1800, 1800)
        ax.axhspan(1600, 1800, color="0.9")
        ax.axhspan(-1800, -1600, color="0.9")
        ax.set_ylabel(f"{body.channel_names[ch]} (uV)")
    rms = np.sqrt(np.mean(highpass(emg_uv, 1000.0)[:, :180_000].reshape(2, -1, 250) ** 2, axis=2))
    axes[2].semilogy(np.arange(rms.shape[1]) * 0.25, rms[0], lw=1.0, label="left")
    axes[2].semilogy(np.arange(rms.shape[1]) * 0.25, rms[1], lw=1.0, label="right")
    axes[2].set_ylabel("250 ms RMS (uV), >20 Hz")
    axes[2].legend(loc="upper left", fontsize=9)
    for k, name in enumerate(body.accel_names):
        axes[3].plot(ta, acc[k], lw=0.7, label=name)
    axes[3].set_ylabel("acceleration (g)")
    axes[3].set_ylim(-1.25, 1.95)
    axes[3].legend(loc="upper center", fontsize=9, ncols=3)
    axes[3].set_xlabel("time (s)")
    for event in scenario.truth():
        if event.category == "activity":
            axes[2].text(
                event.onset_s + 0.5,
                2500,
                event.kind.replace("_", " "),
                fontsize=8.5,
                rotation=90,
                va="top",
            )
            for ax in axes:
                ax.axvline(event.onset_s, color="0.6", lw=0.6)
        elif event.category == "contraction":
            colour = colours["contraction"] if event.involuntary else "tab:purple"
            for ax in axes[:3]:
                ax.axvspan(event.onset_s, event.offset_s, color=colour, alpha=0.15, lw=0)
            if event.involuntary:
                axes[0].text(event.onset_s, 1650, event.kind, fontsize=9, color="tab:red", va="top")
        else:
            for ax in axes[:2]:
                ax.axvspan(
                    event.onset_s, event.offset_s, color=colours["artefact"], alpha=0.3, lw=0
                )
            axes[1].text(
                event.onset_s, -1650, event.kind.replace("_", " "), fontsize=8.5, color="darkgreen"
            )
    axes[2].set_ylim(1, 3e4)
    fig.suptitle(
        "built-in 'quick' scenario: electrode voltages, EMG envelope and trunk acceleration "
        "(red: involuntary episodes, purple: voluntary contractions, green: artefacts, grey band: "
        "beyond the +-1.6 mV ADC range)",
        fontsize=11,
    )
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_day(path: Path) -> None:
    """Simulate the built-in 24 h 'day' and draw per-second summaries (takes minutes)."""
    import time

    scenario = builtin_scenario("day")
    body = BodySimulator(scenario, sfreq=1000.0, accel_sfreq=100.0, seed=1)
    rms, posture = [], []
    saturated = 0
    sos = signal.butter(4, 20.0, btype="highpass", fs=1000.0, output="sos")
    zi = np.zeros((sos.shape[0], 2, 2))
    start = time.perf_counter()
    while not body.finished:
        n = min(60_000, body.n_times_total - body.n_times_read)
        emg, acc = body.read(n)
        high, zi = signal.sosfilt(sos, emg, axis=-1, zi=zi)
        rms.append(np.sqrt(np.mean(high.reshape(2, -1, 1000) ** 2, axis=2)))
        posture.append(acc.reshape(3, -1, 100).mean(axis=2))
        saturated += int(np.sum(np.any(np.abs(emg) > 1.6e-3, axis=0)))
    elapsed = time.perf_counter() - start
    print(
        f"day: {scenario.duration_s / 3600:.0f} h simulated in {elapsed:.0f} s "
        f"({scenario.duration_s / elapsed:.0f}x real time); {saturated / 1000:.1f} s beyond "
        "+-1.6 mV"
    )
    rms_uv = np.concatenate(rms, axis=1) * 1e6
    up = np.concatenate(posture, axis=1)
    hours = 7.0 + np.arange(rms_uv.shape[1]) / 3600.0
    truth = scenario.truth()
    fig, axes = plt.subplots(3, 1, figsize=(16, 9), sharex=True, layout="constrained")
    for ch, colour in enumerate(("tab:blue", "tab:orange")):
        axes[0].semilogy(
            hours, rms_uv[ch], lw=0.3, color=colour, alpha=0.7, label=body.channel_names[ch]
        )
    axes[0].set_ylabel("1 s RMS (uV), > 20 Hz")
    axes[0].set_ylim(1, 3e4)
    axes[0].legend(loc="upper right", fontsize=9)
    for k, name in enumerate(body.accel_names):
        axes[1].plot(hours, up[k], lw=0.6, label=name)
    axes[1].set_ylabel("1 s mean acceleration (g)")
    axes[1].legend(loc="upper right", fontsize=9, ncols=3)
    kinds = ("lying", "sitting", "standing", "walking", "lifting", "bending")
    for event in truth:
        t0 = 7.0 + event.onset_s / 3600.0
        t1 = 7.0 + event.offset_s / 3600.0
        if event.category == "activity" and event.kind in kinds:
            axes[2].broken_barh([(t0, t1 - t0)], (kinds.index(event.kind) - 0.4, 0.8), color="0.5")
        elif event.category == "contraction" and event.involuntary:
            colour = "tab:red" if event.kind != "twitch" else "tab:pink"
            for ax in axes:
                ax.axvline(t0, color=colour, lw=1.0, alpha=0.7)
            if event.kind != "twitch":
                axes[0].text(t0, 2e4, f" {event.kind}", color="tab:red", fontsize=8.5, va="top")
        elif event.category == "artefact":
            axes[2].plot([t0], [len(kinds)], "v", color="tab:green", ms=5)
    axes[2].set_yticks(range(len(kinds) + 1), [*kinds, "artefacts"])
    axes[2].set_xlabel("clock time (h)")
    axes[2].set_xlim(7.0, 31.0)
    axes[2].set_xticks(range(7, 32, 2), [f"{h % 24:02d}:00" for h in range(7, 32, 2)])
    fig.suptitle(
        "built-in 'day' scenario (24 h from 07:00): EMG level, trunk orientation, activities; "
        "red lines: spasms, pink: twitches",
        fontsize=11,
    )
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--needle", type=Path, default=None, help="02_physionet_emgdb folder")
    parser.add_argument("--out", type=Path, default=IMG)
    parser.add_argument("--day", action="store_true", help="also simulate the 24 h day (minutes)")
    args = parser.parse_args()
    pairs = load_pairs()
    needle = needle_statistics(args.needle) if args.needle is not None else []
    print_table(pairs, needle)
    for pair in pairs:
        k_sim = stats.kurtosis(pair.sim_uv, fisher=False)
        k_real = stats.kurtosis(pair.real_uv, fisher=False)
        print(f"{pair.label}: kurtosis of the whole record: real {k_real:.1f}, sim {k_sim:.1f}")
    args.out.mkdir(parents=True, exist_ok=True)
    plot_realism(pairs, args.out / "simulator_realism.png")
    plot_quick(args.out / "simulator_quick.png")
    if args.day:
        plot_day(args.out / "simulator_day.png")


if __name__ == "__main__":
    main()
