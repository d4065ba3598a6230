"""``spasmwatch evaluate``: score the spasm detector on the simulated benchmark corpus."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from host.errors import ConfigError
from host.evaluation import corpus, report, runner

__all__ = ["add_parser", "run"]


def add_parser(subparsers: Any) -> None:
    """Register the subcommand."""
    parser = subparsers.add_parser(
        "evaluate",
        help="score the spasm detector on the labelled simulated benchmark",
        description=(
            "Simulate the benchmark corpus (fixed, identical on every machine), run the spasm "
            "detector on every recording and score its episodes against the ground truth: "
            "precision, recall, F1, false alarms per hour, onset and duration errors, per "
            "kind and per recording. The exit status is 0 even when a target is missed; "
            "each target is printed as met or missed."
        ),
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the quick corpus (4 recordings, 36 min) instead of the full one (20, 9.6 h)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="worker processes (default: 1)",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--emg-only",
        action="store_true",
        help="give the detector the EMG only (no accelerometer)",
    )
    mode.add_argument(
        "--both",
        action="store_true",
        help="run with and without the accelerometer and print both",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument(
        "--markdown",
        type=Path,
        metavar="PATH",
        help="also write the tables as markdown to PATH",
    )
    parser.add_argument(
        "--item",
        dest="items",
        nargs="+",
        action="extend",
        metavar="NAME",
        help="evaluate only these recordings (see --list)",
    )
    parser.add_argument(
        "--list",
        action="store_true",
        help="list the corpus recordings and exit",
    )
    parser.set_defaults(func=run)


def _select(items: list[corpus.CorpusItem], names: list[str] | None) -> list[corpus.CorpusItem]:
    if not names:
        return items
    by_name = {item.name: item for item in items}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ConfigError(
            f"no recording named {unknown[0]!r} in this corpus; available: "
            + ", ".join(by_name)
            + "."
        )
    return [by_name[n] for n in dict.fromkeys(names)]


def _listing(items: list[corpus.CorpusItem]) -> str:
    lines = []
    for item in items:
        n_episodes = sum(e.involuntary and e.kind != "twitch" for e in item.scenario.episodes)
        t = item.tags
        lines.append(
            f"{item.name:<14} {item.duration_s / 60.0:4.0f} min  {item.sfreq:6g} Hz  "
            f"acc {item.accel_sfreq:g} Hz  mains {t.mains_hz:g} Hz  SNR {t.snr:<6}  "
            f"electrodes {t.electrode:<8}  {t.routine:<7}  {n_episodes:2d} episodes"
        )
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Run ``spasmwatch evaluate``."""
    size = "quick" if args.quick else "full"
    items = _select(corpus.benchmark_corpus(size), args.items)
    if args.list:
        sys.stdout.write(_listing(items))
        return 0
    if args.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {args.jobs}.")
    if args.both:
        reports = list(runner.compare_accel(items, jobs=args.jobs, corpus=size))
    else:
        reports = [
            runner.evaluate_corpus(items, use_accel=not args.emg_only, jobs=args.jobs, corpus=size)
        ]
    if args.markdown is not None:
        try:
            args.markdown.write_text(report.format_markdown(reports), encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write the markdown file {args.markdown}: {exc}") from exc
    if args.json:
        sys.stdout.write(json.dumps(report.reports_to_dict(reports), indent=2) + "\n")
    else:
        sys.stdout.write(report.format_text(reports))
    return 0
