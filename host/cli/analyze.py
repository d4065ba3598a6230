"""``spasmwatch analyze PATH``: run the spasm detector over a recording file.

Reads EDF/EDF+/BDF/BDF+, CSV/TSV with a time column and the project's ``.sw1`` captures,
streams them through the same detector as the live pipeline and prints every detected
contraction (involuntary or not) as a table, or as JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from host.analysis import AnalysisResult, analyze_file
from host.errors import ConfigError

__all__ = ["add_parser", "format_table", "run"]


def _labels(text: str) -> list[str | int]:
    out: list[str | int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        out.append(int(part) if part.isdigit() else part)
    return out


def add_parser(sub: Any) -> None:
    """Register the ``analyze`` subcommand."""
    p = sub.add_parser(
        "analyze",
        help="detect spasms and voluntary contractions in a recording file",
        description=(
            "Run the streaming spasm detector over a recording (EDF/EDF+, BDF/BDF+, "
            "CSV/TSV with a time column, or a .sw1 capture) and list every contraction: "
            "start, end, side, involuntary or voluntary, kind, confidence and amplitude. "
            "EMG channels are found by label ('EMG ...', side from L/R/left/right), "
            "accelerometer channels by 'Accel X'/'ACC Y'-style labels."
        ),
    )
    p.add_argument("path", help="recording file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--emg",
        type=_labels,
        metavar="LABELS",
        help="EMG channels to use, comma-separated labels or 0-based indices",
    )
    p.add_argument(
        "--sides",
        type=lambda s: [x.strip() for x in s.split(",") if x.strip()],
        metavar="SIDES",
        help="side of each EMG channel, e.g. left,right",
    )
    p.add_argument("--accel", type=_labels, metavar="LABELS", help="accelerometer x,y,z channels")
    p.add_argument("--emg-unit", help="unit of the EMG values when the file does not say")
    p.add_argument("--accel-unit", help="unit of the accelerometer values (g or m/s^2)")
    p.add_argument("--sfreq", type=float, help="sampling rate of a CSV without a time column")
    p.add_argument(
        "--format", choices=("edf", "bdf", "csv", "tsv", "sw1"), help="override the extension"
    )
    p.add_argument("--mains", type=float, choices=(50.0, 60.0), help="mains frequency (Hz)")
    p.add_argument(
        "--no-accel", action="store_true", help="ignore the accelerometer (EMG-only decisions)"
    )
    p.add_argument("--involuntary-only", action="store_true", help="list only involuntary episodes")
    p.set_defaults(func=run)


def _fmt(value: float | None, spec: str) -> str:
    if value is None or value != value:
        return "-"
    return format(value, spec)


def format_table(result: AnalysisResult, *, involuntary_only: bool = False) -> str:
    """Readable table of the episodes and the summary of an analysis."""
    s = result.to_dict()["summary"]
    lines = [
        f"{result.source}: {result.duration_s / 3600:.2f} h at {result.sfreq:g} Hz, "
        f"channels {', '.join(result.channels)}",
        f"accelerometer: {'used' if result.used_accelerometer else 'none (EMG-only)'}; "
        f"mains: {_fmt(result.mains_hz, 'g')} Hz",
    ]
    for w in result.warnings:
        lines.append(f"note: {w}")
    episodes = result.involuntary if involuntary_only else result.episodes
    lines.append("")
    header = (
        f"{'#':>4}  {'start':>12}  {'dur s':>7}  {'side':<9}  {'invol':<5}  {'kind':<9}  "
        f"{'conf':>4}  {'peak':>8}  {'unit':<4}  {'MDF Hz':>6}  {'before':<16}  with"
    )
    lines.append(header)
    lines.append("-" * len(header))
    for i, ep in enumerate(episodes, 1):
        when = result.utc(ep.start_s)
        start = when[11:23] if when else f"{ep.start_s:.2f} s"
        before = (
            ep.activity_before
            if ep.posture_before == "unknown"
            else (f"{ep.activity_before}/{ep.posture_before}")
        )
        lines.append(
            f"{i:>4}  {start:>12}  {ep.duration_s:>7.2f}  {ep.side:<9}  "
            f"{'yes' if ep.involuntary else 'no':<5}  {ep.kind:<9}  {ep.confidence:>4.2f}  "
            f"{_fmt(ep.peak, '.1f'):>8}  {ep.unit:<4}  {_fmt(ep.median_freq_hz, '.0f'):>6}  "
            f"{before:<16}  {ep.activity}"
        )
    if not episodes:
        lines.append("(no contraction detected)")
    lines.append("")
    dur = s["involuntary_duration_s"]
    lines.append(
        f"involuntary episodes: {s['n_involuntary']} "
        f"({_fmt(s['involuntary_per_hour'], '.2f')} per hour), voluntary contractions: "
        f"{s['n_voluntary']}, twitches: {s['n_twitches']}"
    )
    if s["n_involuntary"]:
        lines.append(
            f"spasm duration: median {_fmt(dur['median'], '.1f')} s, longest "
            f"{_fmt(dur['max'], '.1f')} s, total {_fmt(dur['total'], '.1f')} s; by side "
            f"{s['by_side']}; by kind {s['by_kind']}"
        )
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Analyse the file and print the result."""
    options: dict[str, Any] = {}
    for name in ("emg", "sides", "accel", "emg_unit", "accel_unit", "sfreq", "format"):
        value = getattr(args, name)
        if value is not None:
            options[name] = value
    if args.sides is not None and any(s not in ("left", "right") for s in args.sides):
        raise ConfigError(f"--sides takes 'left' and/or 'right', got {','.join(args.sides)!r}")
    result = analyze_file(args.path, mains_freq=args.mains, use_accel=not args.no_accel, **options)
    if args.json:
        data = result.to_dict()
        if args.involuntary_only:
            data["episodes"] = [e for e in data["episodes"] if e["involuntary"]]
        sys.stdout.write(json.dumps(data, indent=2, allow_nan=False) + "\n")
    else:
        sys.stdout.write(format_table(result, involuntary_only=args.involuntary_only))
    return 0
