"""How the ``ecrm`` sub-commands write results: CSV or JSON, to a file or to stdout (``-``).

Every result goes out through the result protocol (``to_csv`` / ``to_dicts``,
:mod:`ecrm._results`), so the command line writes the same columns as the library.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final, TextIO

from ecrm.cli._main import TerminalProgress, UsageError

__all__ = [
    "LARGE_FILE_BYTES",
    "add_output_arguments",
    "json_text",
    "progress_for",
    "write_result",
]

#: Files at least this large get a progress line on a terminal's stderr (8 MiB, about
#: 150,000 orders); smaller ones load too fast to need one.
LARGE_FILE_BYTES: Final = 8 * 1024 * 1024


def add_output_arguments(parser: argparse.ArgumentParser, *, rows: str) -> None:
    """``--out PATH|-`` and ``--json`` for a sub-command writing ``rows`` (``--quiet`` comes
    with the loading flags)."""
    parser.add_argument(
        "--out", default="-", metavar="PATH",
        help=f"write {rows} here as CSV (JSON with --json); '-' is stdout (the default)",
    )
    parser.add_argument("--json", action="store_true",
                        help="write JSON (an object with the summary and 'rows') instead of CSV")


def progress_for(path: str, args: argparse.Namespace) -> TerminalProgress | None:
    """A progress line for loading ``path``: only for a file of at least
    :data:`LARGE_FILE_BYTES`, only when stderr is a terminal, never with ``--quiet``."""
    if getattr(args, "quiet", False) or path == "-":
        return None
    try:
        size = os.path.getsize(path)
    except OSError:
        return None  # the loader reports the missing file
    if size < LARGE_FILE_BYTES:
        return None
    progress = TerminalProgress(f"reading {path}", sys.stderr)
    return progress if progress.enabled else None


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_text(document: Mapping[str, Any]) -> str:
    """``document`` as JSON text (UTF-8 characters kept, instants and dates in ISO 8601)."""
    return json.dumps(document, ensure_ascii=False, default=_json_value, indent=None) + "\n"


def write_text_atomically(target: Path, text: str) -> None:
    """Write ``text`` as UTF-8 through a temporary file, so a failure leaves no half file."""
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def check_out(path: str) -> None:
    """Refuse an ``--out`` path in a missing folder before any long work starts.

    Raises:
        UsageError: the folder does not exist or the path is a folder.
    """
    if path == "-":
        return
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"--out must name a file, not a folder: {path!r}")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"--out: the folder {str(parent)!r} does not exist")


def write_result(
    result: Any,
    args: argparse.Namespace,
    out: TextIO,
    summary: Mapping[str, Any],
    **options: Any,
) -> int:
    """Write ``result`` as ``--json`` / CSV to ``--out``; return the exit status (0).

    The JSON document is ``summary`` followed by ``"rows"`` (``result.to_dicts()``). A file
    is written whole or not at all; with a file, one line on ``out`` says what was written.
    """
    if args.json:
        document = {**summary, "rows": result.to_dicts(**options)}
        text = json_text(document)
        n = len(document["rows"])
    else:
        buf = io.StringIO()
        result.to_csv(buf, **options)
        text = buf.getvalue()
        n = sum(1 for _ in csv.reader(io.StringIO(text))) - 1
    if args.out == "-":
        out.write(text)
        out.flush()
        return 0
    write_text_atomically(Path(args.out), text)
    kind = "JSON" if args.json else "CSV"
    print(f"wrote {n:,} rows ({kind}) to {args.out}", file=out)
    return 0
