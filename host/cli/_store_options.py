"""Command-line options shared by the subcommands that use a wearer's recording store."""

from __future__ import annotations

import argparse

__all__ = ["add_store_arguments"]


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--wearer`` and ``--data-dir`` (see :func:`host.storage.store_path`).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The subcommand's parser.
    """
    parser.add_argument("--wearer", default="default", help="whose store (default: default)")
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="folder of the stores (default: $SPASMWATCH_DATA_DIR or the user data folder)",
    )
