"""Benchmark of the live pipeline: a simulated 24 h day replayed at full speed.

Data: a ``.sw1`` capture of the simulated wearable (:class:`host.simulator.device.SimulatedDevice`
with the default hardware: 2 EMG channels at 1 kHz in 50-sample frames, a 100 Hz
accelerometer, a STATUS frame a second) going through the day (``builtin_scenario("day")``,
seed 1), with link gaps: a few outages (the frames of 0.5-30 s never sent, as when the radio
link drops) at fixed places, and single frames dropped at random (seeded). The simulator
records exactly which frames were lost, so the benchmark knows every sample time the
device produced and every gap the host must report, independently of the host's decoder.
Simulating a day takes about 12 minutes, so the capture is built once and cached
(``.cache/bench/`` by default) with that truth next to it.

Measured, for ``spasmwatch run --source replay://CAPTURE?speed=0 --json`` in a subprocess
(replay transport, decoder, clock sync, the store writer thread into a fresh SQLite store,
the live dsp stage with and without the spasm detector, the live hub):

- wall time, CPU time (user + system of the child) and throughput as x real time;
- resident memory of the child, sampled every second from ``/proc/PID/status``
  (``VmRSS``; the peak is ``VmHWM``): at 10 %, 50 % and 90 % of the run and the peak, to
  show that memory stays flat however long the replay;
- the machine's load: load averages before and after, and the CPU time of everything else
  on the machine during the run (from ``/proc/stat``), in cores;
- afterwards, from a read-only :class:`host.storage.RecordingStore`: that no sample was
  lost (stored EMG samples + the samples of the stored gaps == the sample times between
  the first and last sample the host received, and the gaps are exactly the simulator's),
  the same for the accelerometer.

Results are printed as a Markdown table and written as JSON to the cache directory.
Run with ``make bench`` or
``.venv/bin/python tests/benchmarks/bench_pipeline.py [--hours 1] [--no-detect-only]``.
``--profile`` prints a cProfile of the pipeline (in process, on the capture) instead, and
``--breakdown`` the CPU time of each stage (reading and decoding, the pipeline's own work,
the store, the dsp stage with and without the detector).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import platform
import pstats
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# As the spasmwatch command does (host/cli/__init__.py), before numpy is imported: BLAS
# single-threaded, so the in-process breakdown and profile measure what the command runs.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

from host.protocol import AccelFrame, Frame, SamplesFrame  # noqa: E402
from host.simulator import builtin_scenario  # noqa: E402
from host.simulator.device import DeviceConfig, SimulatedDevice  # noqa: E402
from host.simulator.link import FaultInjector, LinkFaults  # noqa: E402
from host.storage import RecordingStore, store_path  # noqa: E402
from host.storage.records import Stream  # noqa: E402

SEED = 1
#: Link outages, as (fraction of the recording, seconds): the frames the device makes during
#: one are never sent (an EMG and an accelerometer gap each).
OUTAGES = ((0.11, 0.5), (0.27, 2.0), (0.43, 12.0), (0.58, 30.0), (0.74, 5.0), (0.9, 1.0))
#: Probability that any data frame is dropped on its own (seeded, so always the same ones).
DROP = 1e-5
FAULT_SEED = 7
#: Bump when the generated capture changes, so a cached one is rebuilt.
GENERATOR_VERSION = 1
#: The target: a day replayed in under 173 s.
TARGET_SPEED = 500.0
WEARER = "bench"
REPO = Path(__file__).resolve().parents[2]


def log(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


# ---------------------------------------------------------------------------- the capture


def capture_path(cache: Path, seconds: int) -> Path:
    return cache / f"pipeline_day_{seconds}s_seed{SEED}.sw1"


def truth_path(capture: Path) -> Path:
    return capture.with_suffix(".json")


class _Tally:
    """Every sample block the device made (first sample, n, sequence number), per stream."""

    def __init__(self) -> None:
        self.blocks: dict[str, list[tuple[int, int, int]]] = {"emg": [], "accel": []}

    def add(self, frames: list[Frame]) -> None:
        for frame in frames:
            if isinstance(frame, SamplesFrame):
                self.blocks["emg"].append((frame.first_sample, frame.n_times, frame.seq))
            elif isinstance(frame, AccelFrame):
                self.blocks["accel"].append((frame.first_sample, frame.n_times, frame.seq))

    def truth(self, stream: str, lost: set[int]) -> dict[str, Any]:
        """Sample times made, received span and the gaps inside it, from the device's side."""
        blocks = self.blocks[stream]
        made = sum(n for _, n, _ in blocks)
        received = [(first, n) for first, n, seq in blocks if seq not in lost]
        first_received = received[0][0]
        end_received = received[-1][0] + received[-1][1]
        gaps: list[tuple[int, int]] = []
        expected = first_received
        for first, n in received:
            if first > expected:
                gaps.append((expected, first - expected))
            expected = first + n
        return {
            "made": made,
            "span_first": first_received,
            "span_end": end_received,
            "span": end_received - first_received,
            "received": sum(n for _, n in received),
            "gaps": gaps,
        }


def build_capture(path: Path, seconds: int) -> dict[str, Any]:
    """Simulate ``seconds`` of the day into a capture file; return the truth of its gaps."""
    day = builtin_scenario("day")
    if seconds > day.duration_s:
        raise SystemExit(f"--hours: the simulated day lasts {day.duration_s / 3600:g} h")
    config = DeviceConfig()
    device = SimulatedDevice(day, config, seed=SEED, autostart=True)
    injector = FaultInjector(LinkFaults(drop=DROP, seed=FAULT_SEED))
    outages = [(round(f * seconds), round(f * seconds) + d) for f, d in OUTAGES]
    tally = _Tally()
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.stem + ".part" + path.suffix)
    t0 = time.perf_counter()
    next_log = 600.0
    with open(part, "wb") as fh:
        buffer = bytearray()
        frames = device.take_pending()
        while True:
            tally.add(frames)
            now = device.scenario_time_s
            if any(a <= now < b for a, b in outages):
                injector.unsent(frames)
            else:
                for chunk, _pause in injector.apply(frames):
                    buffer += chunk
            if len(buffer) >= 1 << 20:
                fh.write(buffer)
                buffer.clear()
            if device.finished or device.scenario_time_s >= seconds:
                break
            frames = device.step()
            if device.scenario_time_s >= next_log:
                elapsed = time.perf_counter() - t0
                done = f"{next_log / 3600:5.2f} h of {seconds / 3600:g} h"
                log(f"  simulated {done} ({elapsed:.0f} s)")
                next_log += 600.0
        buffer += injector.release_held()
        fh.write(buffer)
    built_s = time.perf_counter() - t0
    lost = injector.record.lost_seqs
    truth = {
        "generator": GENERATOR_VERSION,
        "seconds": seconds,
        "seed": SEED,
        "bytes": part.stat().st_size,
        "built_s": round(built_s, 1),
        "outages": outages,
        "injected": injector.record.as_dict(),
        "emg": tally.truth("emg", lost),
        "accel": tally.truth("accel", lost),
    }
    part.replace(path)
    truth_path(path).write_text(json.dumps(truth, indent=1) + "\n")
    return truth


def cached_capture(cache: Path, seconds: int, *, rebuild: bool) -> tuple[Path, dict[str, Any]]:
    path = capture_path(cache, seconds)
    meta = truth_path(path)
    if not rebuild and path.exists() and meta.exists():
        truth = json.loads(meta.read_text())
        if truth.get("generator") == GENERATOR_VERSION and truth["bytes"] == path.stat().st_size:
            return path, truth
    log(f"building {path} ({seconds / 3600:g} h of the simulated day; about 12 min per 24 h)")
    return path, build_capture(path, seconds)


# ---------------------------------------------------------------------------- measuring


def cli(*args: str) -> list[str]:
    """The ``spasmwatch`` command line of this environment, with ``args``."""
    script = Path(sys.executable).with_name("spasmwatch")
    prefix = [str(script)] if script.exists() else [sys.executable, "-m", "host.cli"]
    return [*prefix, *args]


def _status_kib(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return out


def _machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from ``/proc/stat``."""
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # guest time is already part of user
    return total - idle, total


def run_pipeline(
    capture: Path, data_dir: Path, *, detect: bool, interval_s: float
) -> dict[str, Any]:
    """Replay the capture through ``spasmwatch run`` in a child; sample its memory."""
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    out_path = data_dir / "run.jsonl"
    args = ["run", "--source", f"replay://{capture.absolute()}?speed=0", "--wearer", WEARER]
    args += ["--data-dir", str(data_dir), "--json"]
    if not detect:
        args.append("--no-detect")
    command = cli(*args)
    hz = os.sysconf("SC_CLK_TCK")
    load_before = os.getloadavg()
    busy0, total0 = _machine_jiffies()
    samples: list[tuple[float, int]] = []  # (seconds since start, VmRSS KiB)
    hwm = 0
    with open(out_path, "wb") as out:
        t0 = time.perf_counter()
        child = subprocess.Popen(command, stdout=out)
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            kib = _status_kib(child.pid)
            if "VmRSS" in kib:
                samples.append((time.perf_counter() - t0, kib["VmRSS"]))
                hwm = max(hwm, kib.get("VmHWM", 0))
            time.sleep(interval_s)
        wall = time.perf_counter() - t0
    child.returncode = os.waitstatus_to_exitcode(status)
    busy1, total1 = _machine_jiffies()
    load_after = os.getloadavg()
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit code {child.returncode}")
    cpu = usage.ru_utime + usage.ru_stime
    others_cores = max(0.0, (busy1 - busy0) / hz - cpu) / wall
    lines = [json.loads(line) for line in out_path.read_text().splitlines() if line.strip()]
    summary = next(line for line in reversed(lines) if line.get("event") == "summary")

    def rss_at(fraction: float) -> float:
        t = fraction * wall
        return min(samples, key=lambda s: abs(s[0] - t))[1] / 1024

    rss = {f"{round(100 * f)}%": rss_at(f) for f in (0.1, 0.5, 0.9)} if samples else {}
    return {
        "detect": detect,
        "command": command,
        "wall_s": wall,
        "cpu_s": cpu,
        "user_s": usage.ru_utime,
        "system_s": usage.ru_stime,
        "stream_s": summary["stream_s"],
        "pipeline_wall_s": summary["wall_s"],
        "speed": summary["stream_s"] / wall,
        "speed_cpu": summary["stream_s"] / cpu,
        "rss_mib": rss,
        "peak_rss_mib": max(hwm, max((s[1] for s in samples), default=0)) / 1024,
        "rss_samples": [(round(t, 1), round(k / 1024, 1)) for t, k in samples],
        "load_before": load_before,
        "load_after": load_after,
        "other_cores": others_cores,
        "summary": summary,
    }


def check_store(data_dir: Path, truth: dict[str, Any]) -> dict[str, Any]:
    """Compare what the store holds with what the simulator made and lost."""
    with RecordingStore.open(store_path(WEARER, data_dir), readonly=True) as store:
        sessions = store.list_sessions()
        if len(sessions) != 1:
            raise SystemExit(f"expected one session in the store, found {len(sessions)}")
        session = sessions[0]
        result: dict[str, Any] = {"session_status": session.status}
        streams: tuple[tuple[Stream, int], ...] = (
            ("emg", session.n_emg_samples),
            ("accel", session.n_accel_samples),
        )
        for stream, stored in streams:
            want = truth[stream]
            gaps = [(g.first_sample, g.n_samples) for g in store.gaps(session.id, stream)]
            events = [
                (e.first_sample, e.n_samples)
                for e in store.link_events(session_id=session.id, kind="gap")
                if e.stream == stream
            ]
            gap_samples = sum(n for _, n in gaps)
            expected_gaps = [tuple(g) for g in want["gaps"]]
            result[stream] = {
                "made": want["made"],
                "span": want["span"],
                "stored": stored,
                "gap_samples": gap_samples,
                "gaps": len(gaps),
                "expected_gaps": len(expected_gaps),
                "gap_events": len(events),
                "lost": want["received"] - stored,
                "ok": stored + gap_samples == want["span"]
                and stored == want["received"]
                and gaps == expected_gaps
                and sorted(events) == expected_gaps,
            }
    return result


def profile(capture: Path, data_dir: Path, *, detect: bool, top: int) -> str:
    """cProfile of the whole pipeline on the capture, in this process."""
    from host.pipeline.pipeline import Pipeline
    from host.transports.replay import ReplayTransport

    shutil.rmtree(data_dir, ignore_errors=True)
    path = store_path(WEARER, data_dir)
    pipeline = Pipeline(
        ReplayTransport(capture, speed=0.0),
        open_store=lambda: RecordingStore.open(path),
        detect=detect,
    )
    prof = cProfile.Profile()
    prof.enable()
    asyncio.run(pipeline.run())
    prof.disable()
    text = io.StringIO()
    stats = pstats.Stats(prof, stream=text)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return text.getvalue()


def _cpu(fn: Callable[[], object]) -> float:
    """CPU seconds of this process (all its threads) spent in ``fn``."""
    c0 = time.process_time()
    fn()
    return time.process_time() - c0


def breakdown(capture: Path, data_dir: Path) -> list[tuple[str, float]]:
    """Where the CPU time goes, stage by stage, in this process (best of two runs each).

    The stages are measured cumulatively and differenced: reading and decoding alone (the
    replay transport iterated); the pipeline with the dsp stage replaced by a no-op, without
    and with the store; and the dsp stage alone (:class:`LiveDsp` fed the decoded items),
    with and without the detector.
    """
    from host.pipeline import live_dsp
    from host.pipeline.pipeline import Pipeline
    from host.protocol import DeviceInfoFrame, StreamDecoder
    from host.transports.replay import ReplayTransport

    async def replay_only() -> None:
        async with ReplayTransport(capture) as transport:
            async for _ in transport:
                pass

    def pipeline(store: bool) -> None:
        shutil.rmtree(data_dir, ignore_errors=True)
        path = store_path(WEARER, data_dir)
        run = Pipeline(
            ReplayTransport(capture),
            open_store=(lambda: RecordingStore.open(path)) if store else None,
        )
        asyncio.run(run.run())

    def dsp(detect: bool) -> None:
        decoder = StreamDecoder()
        stage: live_dsp.LiveDsp | None = None
        with open(capture, "rb") as fh:
            while chunk := fh.read(1 << 16):
                for item in decoder.feed(chunk):
                    if stage is not None:
                        stage.observe(item)
                    elif isinstance(item, DeviceInfoFrame):
                        stage = live_dsp.LiveDsp(item, detect=detect)
        if stage is not None:
            stage.finish()

    def best(fn: Callable[[], object]) -> float:
        return min(_cpu(fn) for _ in range(2))

    decode = best(lambda: asyncio.run(replay_only()))
    observe = live_dsp.LiveDsp.observe
    live_dsp.LiveDsp.observe = lambda self, item: None  # type: ignore[method-assign]
    try:
        no_store = best(lambda: pipeline(False))
        with_store = best(lambda: pipeline(True))
    finally:
        live_dsp.LiveDsp.observe = observe  # type: ignore[method-assign]
    shutil.rmtree(data_dir, ignore_errors=True)
    decode_only = best(lambda: dsp_decode_only(capture))
    detect = best(lambda: dsp(True)) - decode_only
    front_end = best(lambda: dsp(False)) - decode_only
    return [
        ("read + decode (replay transport)", decode),
        ("pipeline bookkeeping, clock sync, hub (no store, no dsp)", no_store - decode),
        ("store writer thread + SQLite", with_store - no_store),
        ("dsp stage with the detector (LiveDsp)", detect),
        ("dsp stage without the detector (status front end, --no-detect)", front_end),
    ]


def dsp_decode_only(capture: Path) -> None:
    """Decode the capture as :func:`breakdown`'s dsp stage does, without the dsp."""
    from host.protocol import StreamDecoder

    decoder = StreamDecoder()
    with open(capture, "rb") as fh:
        while chunk := fh.read(1 << 16):
            decoder.feed(chunk)


# ---------------------------------------------------------------------------- report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hours", type=float, default=24.0, help="length of the capture")
    parser.add_argument("--cache-dir", type=Path, default=REPO / ".cache" / "bench")
    parser.add_argument("--rebuild", action="store_true", help="simulate the capture again")
    parser.add_argument(
        "--no-detect-only", action="store_true", help="only the run without the spasm detector"
    )
    parser.add_argument(
        "--detect-only", action="store_true", help="only the run with the spasm detector"
    )
    parser.add_argument(
        "--interval", type=float, default=1.0, metavar="S", help="memory sampling interval"
    )
    parser.add_argument("--keep-store", action="store_true", help="keep the stores written")
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="print the CPU time of each stage, in process, instead (use a short --hours)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="print a cProfile of the pipeline in process (top 40) instead of timing it",
    )
    args = parser.parse_args()
    seconds = round(args.hours * 3600)
    if seconds <= 0 or args.interval <= 0:
        parser.error("need --hours > 0 and --interval > 0")
    if not Path("/proc/self/status").exists():
        raise SystemExit("this benchmark reads /proc (Linux only)")
    capture, truth = cached_capture(args.cache_dir, seconds, rebuild=args.rebuild)
    work = args.cache_dir / f"pipeline_run_{seconds}s"
    if args.profile:
        print(profile(capture, work, detect=not args.no_detect_only, top=40))
        shutil.rmtree(work, ignore_errors=True)
        return
    if args.breakdown:
        hours = seconds / 3600
        print(f"CPU time by stage, in process, {hours:g} h capture (best of 2 runs each):\n")
        print(f"| stage | CPU for {hours:g} h | per 24 h |")
        print("|---|---|---|")
        for label, cpu in breakdown(capture, work):
            print(f"| {label} | {cpu:.2f} s | {cpu * 24 / hours:.0f} s |")
        return

    modes = [True, False]
    if args.no_detect_only:
        modes = [False]
    elif args.detect_only:
        modes = [True]
    runs = []
    for detect in modes:
        log(f"spasmwatch run, {'with' if detect else 'without'} detection ...")
        run = run_pipeline(capture, work, detect=detect, interval_s=args.interval)
        run["store"] = check_store(work, truth)
        run["store_bytes"] = sum(f.stat().st_size for f in work.glob(f"{WEARER}*"))
        runs.append(run)
        if args.keep_store:
            kept = work.with_name(work.name + ("_detect" if detect else "_nodetect"))
            shutil.rmtree(kept, ignore_errors=True)
            work.rename(kept)
        else:
            shutil.rmtree(work, ignore_errors=True)

    machine = platform.processor() or platform.machine()
    hours = seconds / 3600
    print(
        f"machine: {machine}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"numpy {np.__version__}"
    )
    emg = truth["emg"]
    print(
        f"capture: {capture.name}, {hours:g} h of the simulated day, "
        f"{truth['bytes'] / 2**20:.0f} MiB; {emg['made']:,} EMG sample times made, "
        f"{emg['made'] - emg['received']:,} lost on the link in {len(emg['gaps'])} gaps "
        f"({len(truth['outages'])} outages + single dropped frames)"
    )
    for run in runs:
        print(
            f"load during the {'detect' if run['detect'] else 'no-detect'} run: load average "
            f"{run['load_before'][0]:.2f} before, {run['load_after'][0]:.2f} after; other "
            f"processes used {run['other_cores']:.2f} cores on average"
        )
    print()
    print(
        "| run | wall | CPU | x real time (wall) | x real time (CPU) | RSS at 10 / 50 / 90 % "
        "| peak RSS | samples lost | gaps (stored / expected) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for run in runs:
        rss = " / ".join(f"{v:.0f}" for v in run["rss_mib"].values())
        store = run["store"]
        lost = f"{store['emg']['lost']} EMG, {store['accel']['lost']} accel"
        ok = "" if store["emg"]["ok"] and store["accel"]["ok"] else " **MISMATCH**"
        print(
            f"| {'with detection' if run['detect'] else '--no-detect'} "
            f"| {run['wall_s']:.1f} s | {run['cpu_s']:.1f} s | {run['speed']:,.0f}x "
            f"| {run['speed_cpu']:,.0f}x | {rss} MiB | {run['peak_rss_mib']:.0f} MiB "
            f"| {lost}{ok} | {store['emg']['gaps']} / {store['emg']['expected_gaps']} EMG, "
            f"{store['accel']['gaps']} / {store['accel']['expected_gaps']} accel |"
        )
    target_wall = seconds / TARGET_SPEED
    for run in runs:
        verdict = "meets" if run["speed"] >= TARGET_SPEED else "misses"
        print(
            f"\n{'with detection' if run['detect'] else '--no-detect'}: {run['speed']:,.0f}x "
            f"real time {verdict} the {TARGET_SPEED:g}x target ({target_wall:.0f} s for "
            f"{hours:g} h); store {run['store_bytes'] / 2**20:.0f} MiB"
        )
    results = {
        "machine": machine,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "capture": {"path": capture.name, **truth},
        "runs": runs,
    }
    report = args.cache_dir / f"bench_pipeline_{seconds}s.json"
    report.write_text(json.dumps(results, indent=1) + "\n")
    print(f"\nresults: {report}")
    if not all(r["store"]["emg"]["ok"] and r["store"]["accel"]["ok"] for r in runs):
        raise SystemExit("the store does not account for every sample (see above)")


if __name__ == "__main__":
    main()
