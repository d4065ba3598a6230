"""``spasmwatch sessions``: list a wearer's recording sessions, or inspect one.

``spasmwatch sessions`` lists every session (start, length, status, samples, gaps,
episodes); ``spasmwatch sessions ID`` shows one: its source, rates, gaps and link events,
and its episodes. ``--json`` prints the same as JSON. The store is opened read-only, so
this is safe while ``spasmwatch run`` is recording. A session whose recorder is no longer
running (killed, crashed, powered off) is shown as interrupted, although the store marks
it so only when a recorder next opens it.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from host.cli._store_options import add_store_arguments
from host.errors import ConfigError, StorageError
from host.storage import RecordingStore, store_path

__all__ = ["RECORDER_GONE", "add_parser", "run"]

#: Why a session the store still marks ``recording`` is shown as interrupted.
RECORDER_GONE = (
    "recorder not running: the process recording it ended without closing the session "
    "(killed, crashed or powered off); it ends at its last stored sample"
)


def add_parser(subparsers: Any) -> None:
    """Register the subcommand."""
    parser = subparsers.add_parser(
        "sessions",
        help="list or inspect the recording sessions in a wearer's store",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    parser.add_argument("session", nargs="?", type=int, help="show this session")
    add_store_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def _utc(us: int | None) -> str:
    if us is None:
        return "-"
    return datetime.fromtimestamp(us / 1e6, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def run(args: argparse.Namespace) -> int:
    """Run the subcommand."""
    path = store_path(args.wearer, args.data_dir)
    if not path.exists():
        raise StorageError(
            f"no store for wearer {args.wearer!r} at {path}: record with "
            "'spasmwatch run --source URL' first, or pass --data-dir / --wearer"
        )
    with RecordingStore.open(path, readonly=True) as store:
        recorder = store.recorder_running()
        if args.session is None:
            rows = [_session_row(store, s.id, recorder) for s in store.list_sessions()]
            if args.json:
                report = {"store": str(path), "recorder_running": recorder, "sessions": rows}
                sys.stdout.write(json.dumps(report) + "\n")
            else:
                _print_table(rows, str(path))
            return 0
        try:
            store.session(args.session)
        except StorageError as exc:
            raise ConfigError(str(exc)) from exc
        detail = _session_detail(store, args.session, recorder)
        if args.json:
            sys.stdout.write(json.dumps(detail) + "\n")
        else:
            _print_detail(detail)
    return 0


def _session_row(
    store: RecordingStore, session_id: int, recorder_running: bool | None
) -> dict[str, Any]:
    s = store.session(session_id)
    gaps = store.gaps(session_id)
    episodes = store.episodes(session_id=session_id)
    # Only a live recorder holds the lock: without one, "recording" is what a dead process
    # left behind (the next writer to open the store marks it interrupted).
    orphaned = s.status == "recording" and recorder_running is False
    return {
        "id": s.id,
        "started_utc": _utc(s.started_us),
        "duration_s": round(s.duration_s, 1),
        "status": "interrupted" if orphaned else s.status,
        "stored_status": s.status,
        "recorder_running": recorder_running if s.status == "recording" else None,
        "reason": RECORDER_GONE if orphaned else s.reason,
        "source": s.source_url,
        "samples": s.n_emg_samples,
        "gaps": len(gaps),
        "missing_samples": int(sum(g.n_samples for g in gaps)),
        "episodes": len(episodes),
        "involuntary": sum(1 for e in episodes if e.involuntary),
    }


def _session_detail(
    store: RecordingStore, session_id: int, recorder_running: bool | None
) -> dict[str, Any]:
    s = store.session(session_id)
    row = _session_row(store, session_id, recorder_running)
    row.update(
        sfreq=s.sfreq,
        channels=list(s.channel_names),
        accel_sfreq=s.accel_sfreq,
        link_events=[
            {"utc": _utc(e.t_us), "kind": e.kind, "n_samples": e.n_samples, "detail": e.detail}
            for e in store.link_events(session_id=session_id)
        ],
        episode_list=[
            {
                "start_utc": _utc(e.start_us),
                "duration_s": round(e.duration_s, 2),
                "involuntary": e.involuntary,
                "kind": e.kind,
                "side": e.side,
                "confidence": e.confidence,
            }
            for e in store.episodes(session_id=session_id)
        ],
    )
    return row


def _status_cell(row: dict[str, Any]) -> str:
    """Return the status as shown: ``interrupted*`` when only the store says recording."""
    status = str(row["status"])
    return status + "*" if status != row["stored_status"] else status


def _print_table(rows: list[dict[str, Any]], path: str) -> None:
    out = sys.stdout
    out.write(f"store: {path}\n")
    if not rows:
        out.write("no sessions yet\n")
        return
    out.write(
        f"{'id':>4}  {'started (UTC)':19}  {'length':>9}  {'status':12}  {'gaps':>5}  "
        f"{'missing':>8}  {'spasms':>6}  {'episodes':>8}\n"
    )
    for r in rows:
        out.write(
            f"{r['id']:>4}  {r['started_utc']:19}  {r['duration_s']:>8.0f}s  "
            f"{_status_cell(r):12}  {r['gaps']:>5}  {r['missing_samples']:>8}  "
            f"{r['involuntary']:>6}  {r['episodes']:>8}\n"
        )
    if any(r["status"] != r["stored_status"] for r in rows):
        out.write(f"* {RECORDER_GONE}\n")


def _print_detail(d: dict[str, Any]) -> None:
    out = sys.stdout
    out.write(
        f"session {d['id']}: {d['source']}\n  started {d['started_utc']} UTC, "
        f"{d['duration_s']} s, {d['status']}"
        + (f" ({d['reason']})" if d["reason"] else "")
        + f"\n  {d['sfreq']:g} Hz, channels {', '.join(d['channels'])}"
        + (f", accelerometer {d['accel_sfreq']:g} Hz" if d["accel_sfreq"] else "")
        + f"\n  {d['samples']} samples, {d['missing_samples']} missing in {d['gaps']} gaps\n"
    )
    out.write(f"  link events ({len(d['link_events'])}):\n")
    for e in d["link_events"]:
        extra = f" {e['n_samples']} samples" if e["n_samples"] else ""
        out.write(f"    {e['utc']}  {e['kind']}{extra}\n")
    out.write(f"  episodes ({len(d['episode_list'])}):\n")
    for e in d["episode_list"]:
        what = f"{e['kind']} spasm" if e["involuntary"] else "voluntary"
        out.write(
            f"    {e['start_utc']}  {e['duration_s']:>6.1f} s  {what:16} {e['side']:9} "
            f"confidence {e['confidence']:.2f}\n"
        )
