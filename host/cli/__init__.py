"""The ``spasmwatch`` command: one module per subcommand.

Each subcommand module defines ``add_parser(subparsers)`` (registering its
``argparse`` parser with ``set_defaults(func=run)``) and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from host.errors import SpasmwatchError

# Before numpy is imported (the subcommands are imported on demand, below). The signal
# processing multiplies small matrices block by block: BLAS worker threads only add
# overhead there (several times the CPU for the same result) and would take the cores a
# live recording needs. A value set by the user wins.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

__all__ = ["main"]

_SUBCOMMANDS = (
    "devices",
    "stream",
    "run",
    "calibrate",
    "sessions",
    "simulate",
    "demo",
    "analyze",
    "evaluate",
    "export",
    "dashboard",
)


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="spasmwatch",
        description="Wearable surface-EMG monitor for involuntary lower-back muscle spasms.",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _SUBCOMMANDS:
        module = importlib.import_module(f"host.cli.{name}")
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``spasmwatch`` command and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        status: int = args.func(args)
    except SpasmwatchError as err:
        print(f"spasmwatch {args.command}: error: {err}", file=sys.stderr)  # noqa: T201
        return 2
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
