"""``spasmwatch run --source URL``: record and detect, into the wearer's store.

Opens the source (``serial://``, ``sim://``, ``replay://``; see
:func:`host.transports.open_transport`), runs the pipeline (:mod:`host.pipeline`) and
stores every sample, gap and episode in the wearer's recording store. A status line shows
the signal received, the link and the episodes; for a replay it shows progress. Ctrl-C (or
SIGTERM) ends the session cleanly; a killed process loses at most the last second.

The wearer's latest calibration in the store (``spasmwatch calibrate``) is given to the
detector, so episode amplitudes are in %MVC; one made for another number of channels than
the device has is not used (a warning says so), nor any with ``--no-calibration``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from dsp.calibration import Calibration
from host.cli._live_dashboard import add_dashboard_arguments, live_dashboard
from host.cli._store_options import add_store_arguments
from host.errors import StorageError, StoreVersionError
from host.pipeline.pipeline import Pipeline, PipelineSummary
from host.storage import CalibrationRecord, RecordingStore, store_path
from host.transports import open_transport
from host.transports.replay import ReplayTransport

__all__ = ["add_parser", "format_status", "load_calibration", "run"]

logger = logging.getLogger(__name__)


def add_parser(subparsers: Any) -> None:
    """Register the subcommand."""
    parser = subparsers.add_parser(
        "run",
        help="record and detect from a source into the wearer's store",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    parser.add_argument(
        "--source",
        required=True,
        metavar="URL",
        help="serial:///dev/ttyACM0, serial://VID:PID, sim://quick?speed=10, "
        "replay:///path/capture.sw1",
    )
    add_store_arguments(parser)
    parser.add_argument(
        "--duration", type=float, metavar="S", help="stop after this many seconds of signal"
    )
    parser.add_argument("--no-detect", action="store_true", help="record only, no detection")
    parser.add_argument(
        "--no-calibration",
        action="store_true",
        help="ignore the wearer's calibration: episode amplitudes in uV, not %%MVC",
    )
    parser.add_argument(
        "--dashboard",
        action="store_true",
        help="serve the live dashboard while recording (http://127.0.0.1:8000; see --port)",
    )
    add_dashboard_arguments(parser)
    parser.add_argument(
        "--lsl",
        action="store_true",
        help="stream live to Lab Streaming Layer: raw EMG, envelopes, accelerometer and "
        "events (docs/lsl.md)",
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per status line and at the end"
    )
    parser.set_defaults(func=run)


def format_status(status: dict[str, Any], progress: float | None = None) -> str:
    """One status line: signal time, link, gaps, episodes (and replay progress).

    Parameters
    ----------
    status : dict
        A pipeline status message.
    progress : float | None
        Fraction of a replay done.

    Returns
    -------
    str
    """
    stream_s = float(status.get("stream_s", 0.0))
    hours, rest = divmod(int(stream_s), 3600)
    parts = [f"{hours:d}:{rest // 60:02d}:{rest % 60:02d} recorded"]
    if progress is not None:
        filled = round(20 * progress)
        parts.insert(0, f"[{'#' * filled}{'.' * (20 - filled)}] {progress:4.0%}")
    link = status.get("link", {})
    parts.append(f"lost {status.get('missing_samples', 0)} samples in {status.get('gaps', 0)} gaps")
    if link.get("reconnects"):
        parts.append(f"{link['reconnects']} reconnects")
    parts.append(f"{status.get('involuntary', 0)} spasms / {status.get('episodes', 0)} episodes")
    detector = status.get("detector") or {}
    if detector.get("active"):
        parts.append("contraction in progress")
    return " | ".join(parts)


def run(args: argparse.Namespace) -> int:
    """Run the subcommand."""
    return asyncio.run(_run(args))


def load_calibration(path: Path) -> tuple[CalibrationRecord, Calibration] | None:
    """Return the latest calibration in a store, or None when there is none to use.

    Parameters
    ----------
    path : Path
        The wearer's store file; a missing file has no calibration.

    Returns
    -------
    tuple of (CalibrationRecord, Calibration) | None
        The stored record and the calibration rebuilt from it; None when the store does not
        exist, holds no calibration, or cannot be read (a warning is logged: the recording
        then runs uncalibrated, and the recorder reports a store problem itself).
    """
    if not path.exists():
        return None
    try:
        try:
            with RecordingStore.open(path, readonly=True) as store:
                record = store.latest_calibration()
        except StoreVersionError:
            # An older schema: the writer upgrades it (as the recorder is about to).
            with RecordingStore.open(path) as store:
                record = store.latest_calibration()
    except StorageError as err:
        logger.warning("cannot read the calibration from %s (%s): amplitudes in uV", path, err)
        return None
    if record is None:
        return None
    try:
        return record, record.calibration()
    except (TypeError, ValueError) as err:
        logger.warning(
            "calibration %d in %s is not usable (%s): amplitudes in uV", record.id, path, err
        )
        return None


def _utc(t_us: int) -> str:
    return dt.datetime.fromtimestamp(t_us / 1e6, dt.UTC).isoformat(timespec="seconds")


def _calibration_summary(
    loaded: tuple[CalibrationRecord, Calibration] | None,
) -> dict[str, Any] | None:
    if loaded is None:
        return None
    record, calibration = loaded
    return {
        "id": record.id,
        "created_utc": _utc(record.created_us),
        "unit": calibration.unit,
        "n_channels": calibration.n_channels,
    }


async def _run(args: argparse.Namespace) -> int:
    transport = open_transport(args.source)
    path = store_path(args.wearer, args.data_dir)
    tty = sys.stderr.isatty() and not args.json
    loaded = None if args.no_calibration or args.no_detect else load_calibration(path)

    def on_status(status: dict[str, Any]) -> None:
        progress = transport.progress if isinstance(transport, ReplayTransport) else None
        if args.json:
            sys.stdout.write(json.dumps({"event": "status", **status}) + "\n")
            sys.stdout.flush()
        else:
            line = format_status(status, progress)
            sys.stderr.write(("\r" + line + "\x1b[K") if tty else line + "\n")
            sys.stderr.flush()

    pipeline = Pipeline(
        transport,
        open_store=lambda: RecordingStore.open(path),
        detect=not args.no_detect,
        on_status=on_status,
        calibration=None if loaded is None else loaded[1],
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, pipeline.stop)
    if not args.json:
        sys.stderr.write(f"recording {transport.url} into {path}\n")
        if loaded is not None:
            record, calibration = loaded
            sys.stderr.write(
                f"amplitudes in {calibration.unit}: calibration {record.id} of "
                f"{_utc(record.created_us)}\n"
            )
        elif not args.no_detect:
            why = "--no-calibration" if args.no_calibration else "no calibration"
            sys.stderr.write(
                f"amplitudes in uV ({why}; `spasmwatch calibrate` measures the wearer's %MVC)\n"
            )
    async with contextlib.AsyncExitStack() as stack:
        if args.dashboard:
            url = await stack.enter_async_context(
                live_dashboard(args, hub=pipeline.hub, store=path, transport=transport)
            )
            if args.json:
                sys.stdout.write(json.dumps({"event": "dashboard", "url": url}) + "\n")
                sys.stdout.flush()
            else:
                sys.stderr.write(f"dashboard: open {url}\n")
        if args.lsl:
            from host.lsl import LslOutlet

            await stack.enter_async_context(LslOutlet.for_pipeline(pipeline))
        summary = await pipeline.run(duration_s=args.duration)
    if tty:
        sys.stderr.write("\n")
    _report(summary, str(path), as_json=args.json, calibration=_calibration_summary(loaded))
    return 0


def _report(
    summary: PipelineSummary,
    path: str,
    *,
    as_json: bool,
    calibration: dict[str, Any] | None = None,
) -> None:
    if as_json:
        record = {"event": "summary", "store": path, **summary.as_dict()}
        record["calibration"] = calibration
        sys.stdout.write(json.dumps(record) + "\n")
        return
    speed = f" ({summary.speed:.0f}x real time)" if summary.speed == summary.speed else ""
    sys.stdout.write(
        f"session {summary.session_id}: {summary.stream_s:.1f} s of signal in "
        f"{summary.wall_s:.1f} s{speed}; {summary.samples} samples stored, "
        f"{summary.missing_samples} missing in {summary.gaps} gaps; "
        f"{summary.episodes} episodes, {summary.involuntary} involuntary; "
        f"ended: {summary.stop_reason}\nstore: {path}\n"
    )
