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
the clients connected. What a browser adds on top (decoding, drawing at 60 fps) is
measured by the browser test (``tests/e2e/test_dashboard_browser.py``) and in
``docs/dashboard.md``.

**Long spans.** A store holding ``--hours`` of 2 x 1 kHz EMG and a 100 Hz accelerometer
(built once through the public API and cached in ``.cache/bench/``) is read through
``/api/signal`` (min/max decimation into 1500 bins) and ``/api/timeline`` (bands of 144
bins) in process, timed (median of 3).

Run: ``.venv/bin/python tests/benchmarks/bench_dashboard.py [--clients 20] [--seconds 20]
[--hours 24]``. Results are printed as Markdown and written as JSON to the cache folder.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
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
    async with LiveDashboard(Path(sys.argv[1]), "sim://quick?speed=1&loop=1") as live:
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
        [sys.executable, "-c", _SERVER, str(folder / "w.sqlite3")],
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


def main() -> None:
    """Run the benchmark and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--hours", type=float, default=24.0, help="stored span for the read test")
    parser.add_argument("--no-spans", action="store_true", help="only the live load test")
    args = parser.parse_args()
    if not 1 <= args.clients <= 100 or not 1 <= args.seconds <= 120:
        parser.error("the load test is bounded: 1-100 clients for 1-120 s")
    result: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "load_before": os.getloadavg(),
        "live": asyncio.run(live_load(args.clients, args.seconds)),
    }
    if not args.no_spans:
        result["spans"] = long_spans(args.hours)
    result["load_after"] = os.getloadavg()
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "dashboard.json").write_text(json.dumps(result, indent=2))
    live = result["live"]
    lines = [
        "| what | value |",
        "|---|---|",
        f"| clients x seconds | {live['clients']} x {live['seconds']:g} s |",
        f"| frames per client per second | {live['frames_per_client_per_s']} |",
        "| latency received -> client, p50 / p99 / max | "
        f"{live['latency_ms_p50']} / {live['latency_ms_p99']} / {live['latency_ms_max']} ms |",
        "| of which in the server (handled -> encoded), p50 / p99 | "
        f"{live['to_encoding_ms_p50']} / {live['to_encoding_ms_p99']} ms |",
        f"| server CPU, no client / {live['clients']} clients | "
        f"{live['server_cpu_idle_cores']:.1%} / {live['server_cpu_loaded_cores']:.1%} of a core |",
    ]
    if "spans" in result:
        s = result["spans"]
        lines += [
            f"| /api/signal over {s['hours']:g} h (1500 bins, raw min/max) "
            f"| {s['signal_s']:.2f} s |",
            f"| /api/signal over 1 h (filtered too) | {s['signal_1h_filtered_s']:.2f} s |",
            f"| /api/timeline over {s['hours']:g} h (144-bin bands) | {s['timeline_s']:.2f} s |",
        ]
    lines.append(f"\nload average before / after: {result['load_before']} / {result['load_after']}")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
