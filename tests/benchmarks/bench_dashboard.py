"""Benchmark of the dashboard: live clients on loopback, and long spans of stored signal.

**Live load test** (bounded: ``--clients`` WebSocket clients for ``--seconds``, on
127.0.0.1 only). A server process runs the recording pipeline over the simulated wearable
in real time (``sim://quick?speed=1&loop=1``) with the dashboard in the same event loop,
as ``spasmwatch run --dashboard`` does (:class:`host.dashboard.testing.LiveDashboard`).
This process connects the clients (Python ``websockets``) and measures, for every binary
frame each client receives, the latency from the moment the pipeline handled the frame
(``received_s``, ``time.monotonic()`` in the server) to its arrival at the client
(``time.monotonic()`` here: the same system-wide clock). The server's CPU time (user +
system, ``/proc/PID/stat``) is measured over the same seconds with no client and with
the clients connected.

**Browser** (``--browser``, on by default): the live page in the system's headless
Chromium, driven by Playwright, for ``--browser-seconds`` (60): frames per second, the
latency from the pipeline handling a frame to the animation frame that draws it, the
main thread's time per frame, and the machine's load alongside (:func:`browser`).

**Long spans.** A store holding ``--hours`` of 2 x 1 kHz EMG and a 100 Hz accelerometer
(built once through the public API and cached in ``.cache/bench/``) is read through
``/api/signal`` (min/max decimation into 1500 bins) and ``/api/timeline`` (bands of 144
bins) in process, timed (median of 3).

Run: ``.venv/bin/python tests/benchmarks/bench_dashboard.py [--clients 20] [--seconds 20]
[--hours 24] [--browser-seconds 60] [--no-browser] [--no-load] [--no-spans]``. Results are
printed as Markdown and written as JSON to the cache folder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402
import websockets  # noqa: E402

from host.dashboard import wire  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "bench"
TICKS = os.sysconf("SC_CLK_TCK")

_SERVER = """
import asyncio, sys
from pathlib import Path
from host.dashboard.testing import LiveDashboard

async def main():
    async with LiveDashboard(Path(sys.argv[1]), sys.argv[2]) as live:
        print(live.url, flush=True)
        await asyncio.Event().wait()

asyncio.run(main())
"""


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def _client(
    url: str, until: float, lat: list[float], counts: list[int], server: list[float]
) -> None:
    async with websockets.connect(url, compression=None, max_size=None) as ws:
        n = 0
        while time.monotonic() < until:
            try:
                message = await asyncio.wait_for(
                    ws.recv(), timeout=max(0.01, until - time.monotonic())
                )
            except TimeoutError:
                break
            if isinstance(message, bytes):
                frame = wire.decode(message)
                lat.append(1e3 * (time.monotonic() - frame.received_s))
                server.append(1e3 * (frame.encoded_s - frame.received_s))
                n += 1
        counts.append(n)


async def live_load(n_clients: int, seconds: float) -> dict[str, Any]:
    """Run the server process, measure idle and loaded CPU and the clients' latency."""
    folder = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(folder / "w.sqlite3"), "sim://quick?speed=1&loop=1"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        ws_url = url.replace("http://", "ws://") + "ws/live"
        await asyncio.sleep(3.0)  # the pipeline settles
        cpu0, t0 = _cpu_s(proc.pid), time.monotonic()
        await asyncio.sleep(seconds)
        idle = (_cpu_s(proc.pid) - cpu0) / (time.monotonic() - t0)
        lat: list[float] = []
        counts: list[int] = []
        server_side: list[float] = []
        until = time.monotonic() + seconds
        cpu0, t0 = _cpu_s(proc.pid), time.monotonic()
        await asyncio.gather(
            *(_client(ws_url, until, lat, counts, server_side) for _ in range(n_clients))
        )
        loaded = (_cpu_s(proc.pid) - cpu0) / (time.monotonic() - t0)
    finally:
        proc.terminate()
        proc.wait(10)
    skip = int(0.05 * len(lat))  # the first frames include the connection's start
    values = np.array(lat[skip:])
    encode = np.array(server_side[skip:])
    return {
        "clients": n_clients,
        "seconds": seconds,
        "frames_per_client": counts,
        "frames_per_client_per_s": round(statistics.mean(counts) / seconds, 1),
        "latency_ms_p50": round(float(np.percentile(values, 50)), 2),
        "latency_ms_p99": round(float(np.percentile(values, 99)), 2),
        "latency_ms_max": round(float(values.max()), 2),
        "to_encoding_ms_p50": round(float(np.percentile(encode, 50)), 2),
        "to_encoding_ms_p99": round(float(np.percentile(encode, 99)), 2),
        "server_cpu_idle_cores": round(idle, 3),
        "server_cpu_loaded_cores": round(loaded, 3),
    }


# Installed in the page before its scripts: every animation-frame callback is timed, up to
# the end of the microtasks it queued (uPlot draws in a microtask after setData).
_PROBE = """
(() => {
  const probe = { frames: [], work: [] };
  window.__swProbe = probe;
  const raf = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (callback) => raf((ts) => {
    const t0 = performance.now();
    try {
      callback(ts);
    } finally {
      queueMicrotask(() => { probe.frames.push(ts); probe.work.push(performance.now() - t0); });
    }
  });
})();
"""


def _descendants(pid: int) -> set[int]:
    """``pid`` and every process below it, from ``/proc``."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        if p not in found:
            found.add(p)
            todo.extend(children.get(p, []))
    return found


def _cpu_of(pids: set[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            out[pid] = _cpu_s(pid)
        except (OSError, IndexError):
            continue
    return out


def _busy_s() -> float:
    """CPU time spent by the whole machine (all cores, all processes), from ``/proc/stat``."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / TICKS


def _pct(values: Any, p: float) -> float:
    return round(float(np.percentile(np.asarray(values, dtype=float), p)), 1)


def browser(seconds: float, chromium: str) -> dict[str, Any]:
    """Open the live page in headless Chromium for ``seconds``; frame rate, latency, load.

    The server runs the pipeline over ``sim://quick?speed=1`` (in real time) with the
    dashboard, in a process of its own; the page is the real one, driven by Playwright with
    the system's Chromium (no browser is downloaded). Measured after a 5 s warm-up: the
    animation frames (``requestAnimationFrame`` callbacks, each of which redraws the three
    charts) per wall-clock second, the page's latency from the pipeline handling a frame to
    the animation frame that draws it (``window.__swLive.latencies``), the main thread's time
    in each frame's callback (up to the end of the microtasks it queued, where uPlot draws)
    and, from the DevTools protocol's ``Performance.getMetrics``, the main thread's script,
    layout and style time per frame. The machine's load is reported alongside: the load
    average and the CPU time of every other process (``/proc/stat`` minus this process's
    tree: this benchmark, the server and the browser).

    Parameters
    ----------
    seconds : float
        How long to measure, after the warm-up.
    chromium : str
        The Chromium executable Playwright launches.

    Returns
    -------
    dict
        The measurements (frame rate, latency, main-thread time, CPU and load).
    """
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="bench-dashboard-browser-"))
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(folder / "w.sqlite3"), "sim://quick?speed=1"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        with sync_playwright() as pw:
            chrome = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = chrome.new_page(viewport={"width": 1400, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.add_init_script(_PROBE)
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            page.goto(url + "#live")
            page.wait_for_function(
                "() => window.__swLive && window.__swLive.draws > 60", timeout=30_000
            )
            time.sleep(5.0)  # warm-up: the charts are built, the clock offset settled
            mine = _descendants(os.getpid())
            cpu0, busy0, load0, t0 = _cpu_of(mine), _busy_s(), os.getloadavg(), time.monotonic()
            metrics0 = {
                m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]
            }
            start_ms = page.evaluate(
                "() => { window.__swLive.latencies.length = 0;"
                " return [performance.now(), window.__swLive.draws]; }"
            )
            time.sleep(seconds)
            end = page.evaluate(
                "() => ({now: performance.now(), draws: window.__swLive.draws,"
                " latencies: window.__swLive.latencies, frames: window.__swProbe.frames,"
                " work: window.__swProbe.work})"
            )
            metrics1 = {
                m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]
            }
            elapsed = time.monotonic() - t0
            mine |= _descendants(os.getpid())
            cpu1, busy1, load1 = _cpu_of(mine), _busy_s(), os.getloadavg()
            browser_pids = mine - {os.getpid(), proc.pid}
            chrome.close()
    finally:
        proc.terminate()
        proc.wait(10)
    if errors:
        raise RuntimeError(f"the live page raised: {errors}")
    t_start, draws0 = start_ms
    frames = np.asarray(end["frames"], dtype=float)
    work = np.asarray(end["work"], dtype=float)
    keep = (frames >= t_start) & (frames < end["now"])
    frames, work = frames[keep], work[keep]
    n_seconds = int((end["now"] - t_start) // 1000)
    per_second = np.bincount(((frames - t_start) // 1000).astype(int), minlength=n_seconds)[
        :n_seconds
    ]
    intervals = np.diff(frames)
    lat = np.asarray(end["latencies"], dtype=float)
    n_frames = len(frames)

    def used(pids: set[int]) -> float:
        return sum(cpu1.get(p, 0.0) - cpu0.get(p, 0.0) for p in pids if p in cpu1)

    own = used(mine)
    main_thread = {
        key: round(1e3 * (metrics1.get(key, 0.0) - metrics0.get(key, 0.0)) / max(n_frames, 1), 2)
        for key in ("ScriptDuration", "LayoutDuration", "RecalcStyleDuration", "TaskDuration")
    }
    return {
        "seconds": round(elapsed, 1),
        "chromium": chromium,
        "frames": n_frames,
        "draws_per_s": round((end["draws"] - draws0) / ((end["now"] - t_start) / 1e3), 1),
        "fps_p5": _pct(per_second, 5),
        "fps_median": _pct(per_second, 50),
        "fps_min": int(per_second.min()),
        "frame_interval_ms_p50": _pct(intervals, 50),
        "frame_interval_ms_p99": _pct(intervals, 99),
        "frames_over_25ms": int((intervals > 25).sum()),
        "latency_ms_p50": _pct(lat, 50),
        "latency_ms_p95": _pct(lat, 95),
        "latency_ms_p99": _pct(lat, 99),
        "latency_ms_max": _pct(lat, 100),
        "latency_n": len(lat),
        "frame_callback_ms_p50": _pct(work, 50),
        "frame_callback_ms_p95": _pct(work, 95),
        "main_thread_ms_per_frame": main_thread,
        "cpu_cores_browser": round(used(browser_pids) / elapsed, 3),
        "cpu_cores_server": round(used({proc.pid}) / elapsed, 3),
        "cpu_cores_others": round(max(0.0, (busy1 - busy0) - own) / elapsed, 3),
        "load_average_before": load0,
        "load_average_after": load1,
    }


def _build_store(path: Path, hours: float) -> None:
    from host.storage import RecordingStore

    rng = np.random.default_rng(0)
    t0_us = 1_709_539_200_000_000
    noise = rng.normal(0, 30, (2, 60_000)).round().astype(np.int16)
    acc = np.zeros((3, 6000), dtype=np.int16)
    acc[0] = 4096
    with RecordingStore.open(path) as store:
        sid = store.start_session(
            source_url="sim://bench",
            sfreq=1000.0,
            channel_names=("EMG L", "EMG R"),
            emg_volts_per_count=0.1e-6,
            accel_sfreq=100.0,
            accel_g_per_count=1 / 4096,
            started_us=t0_us,
        )
        for minute in range(round(hours * 60)):
            t = t0_us + minute * 60_000_000
            counts = np.roll(noise, minute * 7, axis=1)
            for k in range(60):
                store.append_emg(
                    sid,
                    (minute * 60 + k) * 1000,
                    counts[:, k * 1000 : (k + 1) * 1000],
                    t + k * 1_000_000,
                )
                store.append_accel(
                    sid, (minute * 60 + k) * 100, acc[:, k * 100 : (k + 1) * 100], t + k * 1_000_000
                )
            store.commit()
        store.end_session(sid)


def long_spans(hours: float) -> dict[str, Any]:
    """Time /api/signal and /api/timeline over ``hours`` of stored signal."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from host.dashboard import create_app

    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"dashboard_{hours:g}h.sqlite3"
    if not path.exists():
        started = time.perf_counter()
        _build_store(path, hours)
        print(f"built {path} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    t0_us = 1_709_539_200_000_000
    end_us = t0_us + round(hours * 3600e6)
    out: dict[str, Any] = {"hours": hours}
    with TestClient(create_app(store_path=path)) as client:
        for name, route, params in (
            ("signal_s", "/api/signal", {"start": t0_us, "end": end_us, "points": 1500}),
            ("timeline_s", "/api/timeline", {"start": t0_us, "end": end_us, "bins": 144}),
            (
                "signal_1h_filtered_s",
                "/api/signal",
                {"start": t0_us, "end": t0_us + 3600_000_000, "points": 1500},
            ),
        ):
            times = []
            for _ in range(3):
                started = time.perf_counter()
                response = client.get(route, params=params)
                times.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text
            out[name] = round(statistics.median(times), 3)
    return out


def _loads(values: Any) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


def main() -> None:
    """Run the benchmark and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--hours", type=float, default=24.0, help="stored span for the read test")
    parser.add_argument("--no-spans", action="store_true", help="skip the long-span reads")
    parser.add_argument("--no-load", action="store_true", help="skip the WebSocket load test")
    parser.add_argument(
        "--browser",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the live page in headless Chromium (default: on)",
    )
    parser.add_argument("--browser-seconds", type=float, default=60.0)
    parser.add_argument(
        "--chromium",
        default=shutil.which("chromium") or "/usr/bin/chromium",
        help="the Chromium executable Playwright drives",
    )
    args = parser.parse_args()
    if not 1 <= args.clients <= 100 or not 1 <= args.seconds <= 120:
        parser.error("the load test is bounded: 1-100 clients for 1-120 s")
    if not 10 <= args.browser_seconds <= 170:
        parser.error("the browser is measured for 10-170 s (the scenario lasts 180 s)")
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "load_before": os.getloadavg(),
    }
    if args.browser:
        result["browser"] = browser(args.browser_seconds, args.chromium)
    if not args.no_load:
        result["live"] = asyncio.run(live_load(args.clients, args.seconds))
    if not args.no_spans:
        result["spans"] = long_spans(args.hours)
    result["load_after"] = os.getloadavg()
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "dashboard.json").write_text(json.dumps(result, indent=2))
    lines = ["| what | value |", "|---|---|"]
    if "browser" in result:
        b = result["browser"]
        mt = b["main_thread_ms_per_frame"]
        lines += [
            f"| browser: seconds measured | {b['seconds']:g} s |",
            "| browser: frames per second, p5 / median / min (per wall-clock second) | "
            f"{b['fps_p5']:g} / {b['fps_median']:g} / {b['fps_min']} |",
            f"| browser: redraws per second (mean) | {b['draws_per_s']} |",
            "| browser: frame interval p50 / p99, frames over 25 ms | "
            f"{b['frame_interval_ms_p50']} / {b['frame_interval_ms_p99']} ms, "
            f"{b['frames_over_25ms']} |",
            "| browser: latency received -> drawn, p50 / p95 / p99 / max | "
            f"{b['latency_ms_p50']} / {b['latency_ms_p95']} / {b['latency_ms_p99']} / "
            f"{b['latency_ms_max']} ms (n = {b['latency_n']}) |",
            "| browser: frame callback (redraw) p50 / p95 | "
            f"{b['frame_callback_ms_p50']} / {b['frame_callback_ms_p95']} ms |",
            "| browser: main thread per frame: script / layout / style / all tasks | "
            f"{mt['ScriptDuration']} / {mt['LayoutDuration']} / {mt['RecalcStyleDuration']} / "
            f"{mt['TaskDuration']} ms |",
            "| CPU: browser / server / other processes | "
            f"{b['cpu_cores_browser']:.0%} / {b['cpu_cores_server']:.0%} / "
            f"{b['cpu_cores_others']:.0%} of a core |",
            "| load average before / after (1, 5, 15 min) | "
            f"{_loads(b['load_average_before'])} / {_loads(b['load_average_after'])} |",
        ]
    if "live" in result:
        live = result["live"]
        lines += [
            f"| clients x seconds | {live['clients']} x {live['seconds']:g} s |",
            f"| frames per client per second | {live['frames_per_client_per_s']} |",
            "| latency received -> client, p50 / p99 / max | "
            f"{live['latency_ms_p50']} / {live['latency_ms_p99']} / {live['latency_ms_max']} ms |",
            "| of which in the server (handled -> encoded), p50 / p99 | "
            f"{live['to_encoding_ms_p50']} / {live['to_encoding_ms_p99']} ms |",
            f"| server CPU, no client / {live['clients']} clients | "
            f"{live['server_cpu_idle_cores']:.1%} / {live['server_cpu_loaded_cores']:.1%} "
            "of a core |",
        ]
    if "spans" in result:
        s = result["spans"]
        lines += [
            f"| /api/signal over {s['hours']:g} h (1500 bins, raw min/max) "
            f"| {s['signal_s']:.2f} s |",
            f"| /api/signal over 1 h (filtered too) | {s['signal_1h_filtered_s']:.2f} s |",
            f"| /api/timeline over {s['hours']:g} h (144-bin bands) | {s['timeline_s']:.2f} s |",
        ]
    lines.append(
        f"\nload average before / after: {_loads(result['load_before'])} / "
        f"{_loads(result['load_after'])}"
    )
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
