"""Loading the orders file of the new sub-commands (``tiers``, ``stages``, ``segment``).

A stand-in with the shape of ``ecrm.cli._loading`` (``add_loading_arguments(parser)`` /
``load_orders_from_args(args)``), built on the loading code the older commands use, so the
sub-commands switch to the shared loading flags by changing one import.
"""

from __future__ import annotations

import argparse
from typing import Any

from ecrm.cli._output import progress_for

__all__ = ["add_loading_arguments", "load_orders_from_args"]


def add_loading_arguments(parser: argparse.ArgumentParser) -> None:
    """``FILE.csv``, ``--tz`` and ``--format``, as the older commands take them."""
    from ecrm.cli._commands import _FORMAT_HELP

    parser.add_argument("file", metavar="FILE.csv", help="orders CSV (see docs/loading.md for columns)")
    parser.add_argument("--tz", default=None, metavar="ZONE",
                        help="store time zone (default Asia/Shanghai)")
    parser.add_argument("--format", choices=("auto", "canonical", "taobao"), default="auto",
                        help=_FORMAT_HELP)


def load_orders_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~ecrm.OrderLog` of ``args.file`` (progress only for a large file on a
    terminal, never with ``--quiet``)."""
    from ecrm._orderlog import OrderLog
    from ecrm.cli._commands import _csv_columns

    columns = _csv_columns(args.file, args.format)
    progress = progress_for(args.file, args)
    try:
        return OrderLog.from_csv(args.file, columns=columns, tz=args.tz, progress=progress)
    finally:
        if progress is not None:
            progress.done()
