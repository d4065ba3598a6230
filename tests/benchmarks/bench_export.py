"""Benchmark of ``spasmwatch export`` on a 24 h session (not a unit test).

Data: one 24 h session in a store built once and cached (``.cache/bench/export_24h``):
2 EMG channels at 1 kHz (int16 counts) and a 3-axis accelerometer at 100 Hz in 1 s
blocks, 20 link drops (2-10 s, a gap in both streams and a link event each), 50 episodes
with labels and 20 markers. Samples are random counts.

Measured, each in its own process (so that its peak resident memory is its own):

- the EDF+ export (:func:`host.export.edf.export_edf`, 16 bit) and the BDF+ export
  (24 bit) of the whole session;
- the same EDF+ export done the way a user would do it without spasmwatch's writer:
  read every gapless run with :meth:`RecordingStore.read_emg` / ``read_accel`` and write
  it with pyedflib's ``highlevel.write_edf`` (physical values; pyedflib scales them).

Run: ``.venv/bin/python tests/benchmarks/bench_export.py [--rebuild] [--cache DIR]``.
Prints a Markdown table; ``docs/export.md`` records the numbers on the reference machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from host.storage import RecordingStore

SFREQ = 1000.0
ACCEL_SFREQ = 100.0
DAY_S = 86_400
START_US = 1_714_550_400_000_000  # 2024-05-01T08:00:00Z
#: Bump when the generated content changes, so a cached store is rebuilt.
VERSION = 1


def log(text: str) -> None:
    """Progress on stderr."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def build(path: Path) -> None:
    """Build the 24 h store."""
    rng = np.random.default_rng(42)
    gap_starts = np.sort(rng.choice(np.arange(600, DAY_S - 600), 20, replace=False))
    skip: set[int] = set()
    for g in gap_starts:
        skip.update(range(int(g), int(g) + int(rng.integers(2, 11))))
    if path.exists():
        path.unlink()
    with RecordingStore.open(path) as store:
        sid = store.start_session(
            source_url="sim://bench",
            sfreq=SFREQ,
            channel_names=["L", "R"],
            emg_volts_per_count=0.195e-6,
            accel_sfreq=ACCEL_SFREQ,
            accel_g_per_count=1 / 4096,
            started_us=START_US,
        )
        block = rng.integers(-3000, 3000, (2, 1000 * 60), dtype=np.int16)
        accel = rng.integers(-4096, 4096, (3, 100 * 60), dtype=np.int16)
        previous_skipped = False
        for sec in range(DAY_S):
            if sec in skip:
                if not previous_skipped:
                    store.add_link_event(
                        sid,
                        START_US + sec * 1_000_000,
                        "gap",
                        stream="emg",
                        first_sample=sec * 1000,
                        n_samples=1000,
                    )
                previous_skipped = True
                continue
            previous_skipped = False
            t0 = START_US + sec * 1_000_000
            k = sec % 60
            store.append_emg(
                sid, sec * 1000, block[:, k * 1000 : (k + 1) * 1000], t0, t0 + 1_000_000
            )
            store.append_accel(
                sid, sec * 100, accel[:, k * 100 : (k + 1) * 100], t0, t0 + 1_000_000
            )
            if sec % 600 == 0:
                store.commit()
        store.commit()
        for i in range(50):
            s = int(rng.integers(0, DAY_S - 20)) * 1000
            if s // 1000 in skip:
                continue
            ep = store.add_episode(
                sid,
                {
                    "start_sample": s,
                    "end_sample": s + 3000,
                    "involuntary": bool(i % 2),
                    "kind": "spasm" if i % 2 else "voluntary",
                    "side": "left",
                    "confidence": 0.9,
                },
            )
            store.commit()
            store.add_label(ep, "spasm" if i % 2 else "voluntary", author="bench")
        for i in range(20):
            store.add_marker(
                START_US + int(rng.integers(0, DAY_S)) * 1_000_000, f"m{i}", session_id=sid
            )
        store.commit()
        store.end_session(sid)


def child(kind: str, store_file: Path, out: Path) -> None:
    """Run one export and print its time and peak RSS as JSON."""
    from host.export.edf import export_edf
    from host.export.selection import plan_runs, read_stream, select_sessions

    with RecordingStore.open(store_file, readonly=True) as store:
        pieces = select_sessions(store, session_id=1)
        t0 = time.perf_counter()
        if kind in ("edf", "bdf"):
            result = export_edf(store, pieces, out / f"day.{kind}", fmt=kind, overwrite=True)  # type: ignore[arg-type]
            n_files = len(result.files)
        else:
            import pyedflib.highlevel as hl

            n_files = 0
            for run in plan_runs(store, pieces[0], with_accel=True):
                session = run.session
                n_rec = min(run.n_emg // 1000, run.n_accel // 100)
                emg = read_stream(store, session, "emg", run.emg[0], run.emg[0] + n_rec * 1000)
                assert run.accel is not None
                acc = read_stream(store, session, "accel", run.accel[0], run.accel[0] + n_rec * 100)
                signals = [row * 1e6 for row in emg.data] + list(acc.data)
                headers = [
                    hl.make_signal_header(
                        f"EMG {n}",
                        dimension="uV",
                        sample_frequency=SFREQ,
                        physical_min=-6400.0,
                        physical_max=6400.0,
                    )
                    for n in session.channel_names
                ] + [
                    hl.make_signal_header(
                        f"Accel {a}",
                        dimension="g",
                        sample_frequency=ACCEL_SFREQ,
                        physical_min=-8.0,
                        physical_max=8.0,
                    )
                    for a in session.accel_channel_names
                ]
                hl.write_edf(str(out / f"peer_{n_files:02d}.edf"), signals, headers)
                n_files += 1
        elapsed = time.perf_counter() - t0
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(
        json.dumps(
            {"kind": kind, "s": elapsed, "rss_mib": rss_mib, "files": n_files, "bytes": size}
        )
    )  # noqa: T201


def main() -> None:
    """Build (once) and measure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path(".cache/bench"))
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--child", choices=("edf", "bdf", "peer"), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    store_file = args.cache / f"export_24h_v{VERSION}.sqlite3"
    if args.child:
        child(args.child, store_file, args.out)
        return
    args.cache.mkdir(parents=True, exist_ok=True)
    if args.rebuild or not store_file.exists():
        log(f"building {store_file} ...")
        t = time.perf_counter()
        build(store_file)
        log(f"built in {time.perf_counter() - t:.0f} s")
    rows = []
    for kind in ("edf", "bdf", "peer"):
        out = args.cache / f"export_out_{kind}"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--cache",
                str(args.cache),
                "--child",
                kind,
                "--out",
                str(out),
            ],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        shutil.rmtree(out, ignore_errors=True)
    ours = rows[0]["s"]
    machine = f"{platform.machine()}, {os.cpu_count()} cores"
    versions = f"Python {platform.python_version()}, numpy {np.__version__}"
    print(f"Machine: {machine}, {versions}\n")  # noqa: T201
    print("| export of 24 h (2 x 1 kHz EMG, 3 x 100 Hz accel) | time | peak RSS | files | size |")  # noqa: T201
    print("|---|---|---|---|---|")  # noqa: T201
    names = {
        "edf": "spasmwatch EDF+",
        "bdf": "spasmwatch BDF+",
        "peer": "pyedflib highlevel.write_edf (peer)",
    }
    for r in rows:
        print(  # noqa: T201
            f"| {names[r['kind']]} | {r['s']:.1f} s ({r['s'] / ours:.2f}x) | "
            f"{r['rss_mib']:.0f} MiB | {r['files']} | {r['bytes'] / 2**20:.0f} MiB |"
        )


if __name__ == "__main__":
    main()
