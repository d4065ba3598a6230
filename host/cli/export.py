"""``spasmwatch export``: a session or a time range to EDF+/BDF+, BIDS, CSV or Parquet.

``spasmwatch export --session 3 --output s3.edf`` writes EDF+ (BDF+ for 24-bit data;
one file per gapless run); ``--start/--end`` (ISO 8601 UTC) export a time range across
sessions; ``--format bids --subject 01`` writes a BIDS dataset, ``--format csv`` or
``parquet`` tables into a folder. ``--units counts`` writes the raw ADC integers,
``--filtered`` the band-passed EMG. The store is opened read-only, so exporting is safe
while a session records. ``docs/export.md`` describes every format.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from typing import Any

from host.cli._store_options import add_store_arguments
from host.errors import ConfigError, StorageError
from host.export.bids import export_bids
from host.export.edf import ExportResult, PatientInfo, RecordingInfo, export_edf
from host.export.selection import SignalOptions, select_sessions
from host.export.tables import export_tables
from host.storage import RecordingStore, store_path

__all__ = ["add_parser", "parse_utc", "run"]


def add_parser(subparsers: Any) -> None:
    """Register the subcommand."""
    parser = subparsers.add_parser(
        "export",
        help="export a session or a time range to EDF+/BDF+, BIDS, CSV or Parquet",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    add_store_arguments(parser)
    what = parser.add_argument_group("what to export")
    what.add_argument("--session", type=int, metavar="ID", help="the session (see 'sessions')")
    what.add_argument("--start", metavar="ISO", help="start of a UTC range, 2024-05-01T08:00")
    what.add_argument("--end", metavar="ISO", help="end of the UTC range (exclusive)")
    what.add_argument("--no-accel", action="store_true", help="leave the accelerometer out")
    out = parser.add_argument_group("output")
    out.add_argument(
        "--format",
        choices=("auto", "edf", "bdf", "bids", "csv", "parquet"),
        default="auto",
        help="auto: EDF+ for 16-bit data, BDF+ for 24-bit (default); edf/bdf force one",
    )
    out.add_argument(
        "--output", "-o", required=True, help="file (.edf/.bdf) or folder (bids, csv, parquet)"
    )
    out.add_argument("--overwrite", action="store_true", help="replace existing files")
    out.add_argument(
        "--units", choices=("uv", "counts"), default="uv", help="microvolts (default) or counts"
    )
    out.add_argument("--filtered", action="store_true", help="band-pass the EMG first")
    out.add_argument("--l-freq", type=float, default=20.0, help="band-pass low edge, Hz")
    out.add_argument("--h-freq", type=float, default=450.0, help="band-pass high edge, Hz")
    out.add_argument(
        "--mains", type=float, choices=(50.0, 60.0), help="with --filtered: notch at 50/60 Hz"
    )
    out.add_argument(
        "--record-s", type=float, default=1.0, help="EDF data record duration, s (default 1)"
    )
    who = parser.add_argument_group("identification (EDF+ header, BIDS)")
    who.add_argument("--anonymize", action="store_true", help="X for every patient field")
    who.add_argument("--patient-code", help="patient code (default: the wearer name)")
    who.add_argument("--patient-name", help="patient name")
    who.add_argument("--sex", choices=("F", "M"), help="patient sex")
    who.add_argument("--birthdate", help="patient birth date, YYYY-MM-DD")
    who.add_argument("--admin-code", help="hospital administration code")
    who.add_argument("--technician", help="who recorded")
    bids = parser.add_argument_group("BIDS")
    bids.add_argument("--subject", help="BIDS subject label (default: the wearer name)")
    bids.add_argument("--bids-session", help="BIDS session label (default: none)")
    bids.add_argument("--task", default="daily", help="BIDS task label (default: daily)")
    bids.add_argument("--power-line", type=float, choices=(50.0, 60.0), help="mains, Hz")
    parser.set_defaults(func=run)


def parse_utc(text: str, name: str) -> int:
    """Return UTC µs of an ISO 8601 time (no zone: UTC).

    Raises
    ------
    ConfigError
        If ``text`` is not an ISO 8601 date or time.
    """
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"{name} must be an ISO 8601 UTC time such as 2024-05-01T08:00:00, got {text!r}"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _birthdate(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--birthdate must be YYYY-MM-DD, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    """Run the subcommand."""
    if args.session is None and args.start is None and args.end is None:
        raise ConfigError("name a session (--session ID) or a time range (--start/--end)")
    start_us = None if args.start is None else parse_utc(args.start, "--start")
    end_us = None if args.end is None else parse_utc(args.end, "--end")
    options = SignalOptions(
        units=args.units,
        filtered=args.filtered,
        l_freq=args.l_freq,
        h_freq=args.h_freq,
        mains_freq=args.mains,
    )
    patient = PatientInfo(
        code=args.patient_code or args.wearer,
        sex=args.sex,
        birthdate=_birthdate(args.birthdate),
        name=args.patient_name,
    )
    recording = RecordingInfo(admin_code=args.admin_code, technician=args.technician)
    path = store_path(args.wearer, args.data_dir)
    if not path.exists():
        raise StorageError(
            f"no store for wearer {args.wearer!r} at {path}: pass --wearer / --data-dir"
        )
    common: dict[str, Any] = {
        "options": options,
        "with_accel": not args.no_accel,
        "overwrite": args.overwrite,
    }
    edf_args: dict[str, Any] = {
        "patient": patient,
        "recording": recording,
        "anonymize": args.anonymize,
        "record_s": args.record_s,
    }
    with RecordingStore.open(path, readonly=True) as store:
        pieces = select_sessions(store, session_id=args.session, start_us=start_us, end_us=end_us)
        result: ExportResult
        if args.format in ("auto", "edf", "bdf"):
            result = export_edf(store, pieces, args.output, fmt=args.format, **common, **edf_args)
        elif args.format == "bids":
            result = export_bids(
                store,
                pieces,
                args.output,
                subject=args.subject or args.wearer,
                session_label=args.bids_session,
                task=args.task,
                power_line_freq=args.power_line,
                **common,
                **edf_args,
            )
        else:
            result = export_tables(store, pieces, args.output, fmt=args.format, **common)
    _report(result)
    return 0


def _report(result: ExportResult) -> None:
    out = sys.stdout
    out.write(f"{result.format}: {result.values}\n")
    for f in result.files:
        start = datetime.fromtimestamp(f.t_start_us / 1e6, tz=UTC).isoformat()
        only = ", EMG only" if f.n_accel_samples == 0 and result.with_accel else ""
        out.write(
            f"  {f.path}  session {f.session_id}, from {start}, {f.duration_s:.3f} s"
            f"{only}, {f.n_annotations} annotations\n"
        )
    for extra in result.extra_files:
        out.write(f"  {extra}\n")
    if result.dropped_emg_samples:
        out.write(f"not written: {result.dropped_emg_samples} EMG samples\n")
    if result.dropped_accel_samples:
        out.write(
            f"not written: {result.dropped_accel_samples} accelerometer samples (where the "
            "EMG has a gap, in short stretches between accelerometer gaps, or after the "
            "last whole accelerometer period of a stretch)\n"
        )
    if result.max_accel_offset_us:
        out.write(
            f"accelerometer starts up to {result.max_accel_offset_us} us from the EMG "
            "(its samples are taken at other instants)\n"
        )
