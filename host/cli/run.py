"""``spasmwatch run --source URL``: record and detect, into the wearer's store.

Opens the source (``serial://``, ``sim://``, ``replay://``; see
:func:`host.transports.open_transport`), runs the pipeline (:mod:`host.pipeline`) and
stores every sample, gap and episode in the wearer's recording store. A status line shows
the signal received, the link and the episodes; for a replay it shows progress. Ctrl-C (or
SIGTERM) ends the session cleanly; a killed process loses at most the last second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any

from host.pipeline.pipeline import Pipeline, PipelineSummary
from host.storage import RecordingStore, store_path
from host.transports import open_transport
from host.transports.replay import ReplayTransport

__all__ = ["add_parser", "format_status", "run"]


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
    parser.add_argument("--wearer", default="default", help="whose store (default: default)")
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="folder of the stores (default: $SPASMWATCH_DATA_DIR or the user data folder)",
    )
    parser.add_argument(
        "--duration", type=float, metavar="S", help="stop after this many seconds of signal"
    )
    parser.add_argument("--no-detect", action="store_true", help="record only, no detection")
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


async def _run(args: argparse.Namespace) -> int:
    transport = open_transport(args.source)
    path = store_path(args.wearer, args.data_dir)
    tty = sys.stderr.isatty() and not args.json

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
    )
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, pipeline.stop)
    if not args.json:
        sys.stderr.write(f"recording {transport.url} into {path}\n")
    summary = await pipeline.run(duration_s=args.duration)
    if tty:
        sys.stderr.write("\n")
    _report(summary, str(path), as_json=args.json)
    return 0


def _report(summary: PipelineSummary, path: str, *, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(
            json.dumps({"event": "summary", "store": path, **summary.as_dict()}) + "\n"
        )
        return
    speed = f" ({summary.speed:.0f}x real time)" if summary.speed == summary.speed else ""
    sys.stdout.write(
        f"session {summary.session_id}: {summary.stream_s:.1f} s of signal in "
        f"{summary.wall_s:.1f} s{speed}; {summary.samples} samples stored, "
        f"{summary.missing_samples} missing in {summary.gaps} gaps; "
        f"{summary.episodes} episodes, {summary.involuntary} involuntary; "
        f"ended: {summary.stop_reason}\nstore: {path}\n"
    )
