"""Benchmark of ``spasmwatch analyze`` on a day-long recording, side by side with the peers.

Data: a 24 h EDF+ recording of the simulated wearer's day (``builtin_scenario("day")``,
seed 1): ``EMG L``/``EMG R`` at 1 kHz in µV, ``Accel X/Y/Z`` at 100 Hz in g, quantised
like the wearable (16 bit over the ±1.65 mV EMG input range and ±8 g). Simulating a day
takes about 9 minutes, so the file is built once and cached (``.cache/bench/`` by default).

Measured:

- ``spasmwatch analyze FILE --json`` end to end in a subprocess (interpreter start, file
  reading, cleaning chain, signal quality, detector, JSON output): wall time, CPU time and
  peak resident memory of the child process; best of ``--repeats`` runs;
- in process, where the time goes: reading the file alone (``open_recording().blocks()``)
  and the whole :func:`host.analysis.analyze_file`;
- the peers on the same file: NeuroKit2 ``emg_process`` (clean, amplitude, activation) and
  BioSPPy ``emg`` (filter, onsets), each on both EMG channels of the first
  ``--peer-hours`` hours (read with pyedflib, not timed), extrapolated linearly to the
  whole recording. The headline is NeuroKit2's time per hour of recording over ours.

Results are printed as Markdown tables and written as JSON to the cache directory.
Run with ``make bench`` (installs the peers) or
``.venv/bin/python tests/benchmarks/bench_detector.py [--hours 2] [--peer-hours 1]``.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.metadata as md
import io
import json
import os
import platform
import pstats
import resource
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

# As the spasmwatch command does (host/cli/__init__.py), before numpy is imported: BLAS
# single-threaded, so the in-process breakdown measures what the command runs. (The peers
# get the same setting; their work is not matrix products.)
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402
from numpy.typing import NDArray  # noqa: E402

from host.analysis import analyze_file  # noqa: E402
from host.analysis.run import BLOCK_S  # noqa: E402
from host.importers import open_recording  # noqa: E402
from host.simulator import BodySimulator, builtin_scenario  # noqa: E402

SFREQ = 1000.0
ACCEL_SFREQ = 100.0
SEED = 1
#: The wearable's EMG input range (±1.65 mV at the electrodes) and accelerometer range.
EMG_RANGE_UV = 1650.0
ACCEL_RANGE_G = 8.0
#: The simulated day starts at 07:00.
START = datetime(2024, 3, 4, 7, 0, 0)
#: Seconds simulated and written per chunk while building the file.
CHUNK_S = 600
REPO = Path(__file__).resolve().parents[2]


def log(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def recording_path(cache: Path, seconds: int) -> Path:
    return cache / f"day_{seconds}s_seed{SEED}.edf"


def edf_header(
    label: str, unit: str, sfreq: float, full_scale: float
) -> dict[str, str | int | float | None]:
    """A 16-bit EDF+ signal header over ``-full_scale..+full_scale`` (physical units)."""
    return {
        "label": label,
        "dimension": unit,
        "sample_frequency": sfreq,
        "physical_max": full_scale,
        "physical_min": -full_scale,
        "digital_max": 32767,
        "digital_min": -32768,
    }


def build_recording(path: Path, seconds: int) -> float:
    """Simulate the first ``seconds`` of the day and write them as EDF+, chunk by chunk."""
    import pyedflib

    day = builtin_scenario("day")
    if seconds > day.duration_s:
        raise SystemExit(f"--hours: the simulated day lasts {day.duration_s / 3600:g} h")
    body = BodySimulator(day, SFREQ, ACCEL_SFREQ, seed=SEED)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.stem + ".part.edf")
    headers = [edf_header(label, "uV", SFREQ, EMG_RANGE_UV) for label in ("EMG L", "EMG R")]
    headers += [edf_header(f"Accel {axis}", "g", ACCEL_SFREQ, ACCEL_RANGE_G) for axis in "XYZ"]
    t0 = time.perf_counter()
    writer = pyedflib.EdfWriter(str(part), len(headers), file_type=pyedflib.FILETYPE_EDFPLUS)
    try:
        writer.setSignalHeaders(headers)
        writer.setStartdatetime(START)
        done = 0
        while done < seconds:
            n_s = min(CHUNK_S, seconds - done)  # whole seconds = whole 1 s data records
            emg_v, acc_g = body.read(int(n_s * SFREQ))
            emg_uv = np.clip(emg_v * 1e6, -EMG_RANGE_UV, EMG_RANGE_UV)
            acc = np.clip(acc_g, -ACCEL_RANGE_G, ACCEL_RANGE_G)
            writer.writeSamples([np.ascontiguousarray(row) for row in (*emg_uv, *acc)])
            done += n_s
            elapsed = time.perf_counter() - t0
            log(f"  simulated {done / 3600:5.2f} h of {seconds / 3600:g} h ({elapsed:.0f} s)")
    finally:
        writer.close()
    part.replace(path)
    return time.perf_counter() - t0


def cli(*args: str) -> list[str]:
    """The ``spasmwatch`` command line of this environment, with ``args``."""
    script = Path(sys.executable).with_name("spasmwatch")
    prefix = [str(script)] if script.exists() else [sys.executable, "-m", "host.cli"]
    return [*prefix, *args]


#: Runs a command with its stdout to a file and prints the command's peak RSS (KiB). The
#: benchmark starts analyze through this small process because Linux counts the parent's
#: resident memory at fork/exec in the child's ``ru_maxrss``.
_LAUNCHER = """import resource, subprocess, sys
with open(sys.argv[1], "wb") as fh:
    subprocess.run(sys.argv[2:], stdout=fh, check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def run_cli(path: Path, out: Path) -> dict[str, float]:
    """Run ``spasmwatch analyze --json`` once: wall, CPU and peak RSS of the child."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    launched = subprocess.run(
        [sys.executable, "-S", "-c", _LAUNCHER, str(out), *cli("analyze", str(path), "--json")],
        stdout=subprocess.PIPE,
        check=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu, "max_rss_mib": int(launched.stdout) / 1024}


def run_startup() -> dict[str, float]:
    """Wall and CPU time of a child that starts and imports what analyze needs."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cli("analyze", "--help"), stdout=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu}


def timed(fn: Callable[[], object]) -> dict[str, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return {"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0}


def read_only(path: Path) -> None:
    with open_recording(path) as reader:
        for _ in reader.blocks(BLOCK_S):
            pass


def read_peer_data(path: Path, seconds: int) -> NDArray[np.float64]:
    """The first ``seconds`` of both EMG channels, in volts, read with pyedflib."""
    import pyedflib

    with pyedflib.EdfReader(str(path)) as f:
        labels = f.getSignalLabels()
        n = int(seconds * SFREQ)
        rows = [f.readSignal(labels.index(label), 0, n) * 1e-6 for label in ("EMG L", "EMG R")]
    return np.vstack(rows)


def neurokit(x: NDArray[np.float64]) -> None:
    import neurokit2 as nk

    for row in x:
        nk.emg_process(row, sampling_rate=int(SFREQ))


def biosppy(x: NDArray[np.float64]) -> None:
    from biosppy.signals import emg

    for row in x:
        emg.emg(signal=row, sampling_rate=SFREQ, show=False)


def version(package: str) -> str | None:
    try:
        return md.version(package)
    except md.PackageNotFoundError:
        return None


def profile(path: Path, top: int) -> str:
    prof = cProfile.Profile()
    prof.runcall(analyze_file, path)
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(top)
    return text.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hours", type=float, default=24.0, help="length of the recording")
    parser.add_argument(
        "--peer-hours",
        type=float,
        default=1.0,
        help="hours the peers process from the start (at most --hours), extrapolated to --hours",
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of analyze (best taken)")
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".cache" / "bench")
    parser.add_argument("--rebuild", action="store_true", help="simulate the recording again")
    parser.add_argument("--no-peers", action="store_true", help="time spasmwatch only")
    parser.add_argument(
        "--profile", action="store_true", help="also print a cProfile of analyze_file (top 25)"
    )
    args = parser.parse_args()
    seconds = round(args.hours * 3600)
    peer_seconds = min(round(args.peer_hours * 3600), seconds)  # at most the recording
    if seconds <= 0 or peer_seconds <= 0 or args.repeats < 1:
        parser.error("need --hours > 0, --peer-hours > 0 and --repeats >= 1")
    hours, peer_hours = seconds / 3600, peer_seconds / 3600

    path = recording_path(args.cache_dir, seconds)
    made_s = None
    if args.rebuild or not path.exists():
        log(f"building {path} ({hours:g} h of the simulated day; about 9 min per 24 h)")
        made_s = build_recording(path, seconds)
    load_before = os.getloadavg()

    # spasmwatch, end to end: first (the only children this process starts).
    log(f"spasmwatch analyze, {args.repeats} run(s)")
    out = args.cache_dir / f"analyze_{seconds}s.json"
    runs = [run_cli(path, out) for _ in range(args.repeats)]
    best = min(runs, key=lambda r: r["wall_s"])
    best["max_rss_mib"] = max(r["max_rss_mib"] for r in runs)
    summary = json.loads(out.read_text())["summary"]

    log("in-process breakdown: reading alone, then analyze_file")
    startup = min((run_startup() for _ in range(3)), key=lambda r: r["wall_s"])
    reading = timed(lambda: read_only(path))
    inproc = timed(lambda: analyze_file(path))

    peers: dict[str, dict[str, float]] = {}
    if not args.no_peers:
        warnings.simplefilter("ignore")  # the peers warn about their own internals
        x = read_peer_data(path, peer_seconds)
        for name, fn, package in (
            ("NeuroKit2 emg_process", neurokit, "neurokit2"),
            ("BioSPPy emg", biosppy, "biosppy"),
        ):
            if version(package) is None:
                log(f"{package} is not installed (make bench installs it): skipped")
                continue
            log(f"{name} on the first {peer_hours:g} h")
            peers[name] = timed(partial(fn, x))
        del x
    load_after = os.getloadavg()

    # Report.
    machine = platform.processor() or platform.machine()
    versions = {p: version(p) for p in ("numpy", "scipy", "pyedflib", "neurokit2", "biosppy")}
    print(
        f"machine: {machine}, {os.cpu_count()} cores; Python {platform.python_version()}; "
        + ", ".join(f"{p} {v}" for p, v in versions.items() if v)
    )
    print(
        f"load average (1/5/15 min) before timing {load_before[0]:.2f}/{load_before[1]:.2f}/"
        f"{load_before[2]:.2f}, after {load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f}"
    )
    made = f", simulated in {made_s:.0f} s" if made_s is not None else " (cached)"
    print(
        f"recording: {path.name}, {hours:g} h, EMG L/R at {SFREQ:g} Hz + accelerometer at "
        f"{ACCEL_SFREQ:g} Hz, {path.stat().st_size / 2**20:.0f} MiB{made}"
    )
    print(
        f"analyze found {summary['n_involuntary']} involuntary episodes, "
        f"{summary['n_voluntary']} voluntary contractions, {summary['n_twitches']} twitches\n"
    )

    ours_per_h = best["wall_s"] / hours
    nk = peers.get("NeuroKit2 emg_process")
    nk_per_h = nk["wall_s"] / peer_hours if nk else None
    print(
        f"| pipeline (both EMG channels) | data timed | wall | CPU | {hours:g} h "
        "| x real time | NeuroKit2 time / this |"
    )
    print("|---|---|---|---|---|---|---|")

    def ratio(per_h: float) -> str:
        return f"{nk_per_h / per_h:.0f}" if nk_per_h else "-"

    print(
        f"| spasmwatch analyze (CLI: read EDF+, clean, quality, detect, JSON; best of "
        f"{args.repeats}) | {hours:g} h | {best['wall_s']:.1f} s | {best['cpu_s']:.1f} s | "
        f"{best['wall_s']:.0f} s | {seconds / best['wall_s']:,.0f}x | {ratio(ours_per_h)} |"
    )
    for name, t in peers.items():
        per_h = t["wall_s"] / peer_hours
        whole = f"{per_h * hours:,.0f} s" + (
            f" (extrapolated x{hours / peer_hours:g})" if peer_hours < hours else ""
        )
        print(
            f"| {name} (one run) | first {peer_hours:g} h | {t['wall_s']:.1f} s | "
            f"{t['cpu_s']:.1f} s | {whole} | {3600 / per_h:,.0f}x | {ratio(per_h)} |"
        )

    analysis_s = inproc["wall_s"] - reading["wall_s"]
    print(f"\nwhere the time goes ({hours:g} h, one run each, in process unless noted):\n")
    print("| stage | wall | CPU | per hour of recording |")
    print("|---|---|---|---|")
    rows = [
        ("read EDF+ alone (open_recording, 10 s blocks)", reading),
        (
            "clean + quality + detect (analyze_file minus reading)",
            {"wall_s": analysis_s, "cpu_s": inproc["cpu_s"] - reading["cpu_s"]},
        ),
        ("analyze_file in total", inproc),
        ("interpreter start and imports (`spasmwatch analyze --help`, best of 3)", startup),
    ]
    for name, t in rows:
        print(
            f"| {name} | {t['wall_s']:.1f} s | {t['cpu_s']:.1f} s | {t['wall_s'] / hours:.2f} s |"
        )
    print(f"\npeak resident memory of spasmwatch analyze: {best['max_rss_mib']:.0f} MiB")

    results: dict[str, Any] = {
        "machine": machine,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "versions": versions,
        "load_before": load_before,
        "load_after": load_after,
        "recording": {"path": path.name, "hours": hours, "bytes": path.stat().st_size},
        "command": cli("analyze", str(path), "--json"),
        "summary": {k: summary[k] for k in ("n_involuntary", "n_voluntary", "n_twitches")},
        "analyze_cli": {"best": best, "runs": runs},
        "read_only": reading,
        "analyze_file": inproc,
        "startup": startup,
        "peers": {"hours": peer_hours, "extrapolated_to": hours, "times": peers},
        "neurokit2_over_spasmwatch_per_hour": nk_per_h / ours_per_h if nk_per_h else None,
    }
    report = args.cache_dir / f"bench_detector_{seconds}s.json"
    report.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults: {report}")

    if args.profile:
        print("\ncProfile of analyze_file, top 25 by cumulative time:\n")
        print(profile(path, 25))


if __name__ == "__main__":
    main()
