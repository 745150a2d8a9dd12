"""The loading flags every sub-command that reads an orders file shares.

:func:`add_loading_arguments` registers the FILE argument, ``--tz``, ``--format``, ``--encoding``,
``--amount-unit``, ``--currency``, ``--columns`` and ``--engine``; :func:`load_orders_from_args`
reads the file (``-`` is standard input) with them and says on stderr what it read (encoding,
money units, engine), so a wrong guess is seen at once.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Any, TextIO

from ecrm.cli._main import UsageError

__all__ = [
    "add_loading_arguments",
    "columns_for",
    "columns_from_args",
    "load_customers_from_args",
    "load_events_from_args",
    "load_orders_from_args",
    "parse_columns",
]

_FORMAT_HELP = (
    "column layout of FILE: canonical (order_id, customer_id, placed_at, amount …), "
    "taobao (a Taobao / Tmall order export: 订单编号, 买家会员名 … in yuan) or auto "
    "(taobao when the header has 买家会员名 and no customer_id; the default)"
)


def add_loading_arguments(parser: argparse.ArgumentParser, *, scaled: bool = False) -> None:
    """Register the orders FILE argument and the loading flags on a sub-command's parser.

    Args:
        parser: the sub-command's parser.
        scaled: the command also reads Parquet, directories and globs, and takes
            ``--engine dask`` (see :mod:`ecrm.cli._scale`).
    """
    file_help = "orders CSV, .gz or .zip, or - for stdin (see docs/loading.md)"
    if scaled:
        file_help = ("orders CSV (.gz, .zip; - for stdin), a .parquet file, a directory of "
                     "Parquet or CSV files, or a quoted glob (see docs/scale.md)")
    parser.add_argument("file", metavar="FILE.csv", help=file_help)
    group = parser.add_argument_group("reading the orders file (FILE, or - for stdin)")
    group.add_argument("--tz", default=None, metavar="ZONE",
                       help="store time zone, also of times without an offset "
                            "(default Asia/Shanghai)")
    group.add_argument("--format", choices=("auto", "canonical", "taobao"), default="auto",
                       help=_FORMAT_HELP)
    group.add_argument("--encoding", default="auto", metavar="NAME",
                       help="text encoding: auto (UTF-8, UTF-8 with BOM or GB18030/GBK, "
                            "detected; the default), or a name such as gbk or utf-8")
    group.add_argument("--amount-unit", choices=("auto", "fen", "yuan"), default=None,
                       help="unit of money columns: auto decides per column (a unit in the "
                            "header, else decimals / separators / ¥ mean yuan; integers "
                            "with no unit in the header are fen); default auto "
                            "(yuan for --format taobao)")
    group.add_argument("--currency", default="CNY", metavar="CODE",
                       help="ISO 4217 currency of the amounts (default CNY)")
    group.add_argument("--columns", default=None, metavar="FIELD=HEADER,…",
                       help="map fields to other headers, e.g. customer_id=会员,amount=实付; "
                            "or a file: a JSON object or one field=header per line")
    engines = ("auto", "python", "arrow", "dask") if scaled else ("auto", "python", "arrow")
    group.add_argument("--engine", choices=engines, default="auto",
                       help="CSV engine: arrow when pyarrow is installed (auto), or python"
                            + ("; dask runs on a dask.distributed cluster" if scaled else ""))
    group.add_argument("--quiet", action="store_true",
                       help="no progress line on stderr while a large file loads")


def parse_columns(text: str | None) -> dict[str, str]:
    """``--columns``: ``field=header,…`` or the path of a mapping file.

    A file holds a JSON object ``{"field": "header"}`` or one ``field=header`` per line
    (blank lines and lines starting with ``#`` are skipped).

    Raises:
        UsageError: a pair without ``=``, or a file that is neither form.
    """
    if not text:
        return {}
    path = Path(text)
    if "=" not in text and path.is_file():
        body = path.read_text(encoding="utf-8-sig")
        if body.lstrip().startswith("{"):
            try:
                loaded = json.loads(body)
            except json.JSONDecodeError as exc:
                raise UsageError(f"--columns file {text} is not valid JSON: {exc}") from None
            if not isinstance(loaded, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()
            ):
                raise UsageError(f"--columns file {text} must hold an object of field: header")
            return dict(loaded)
        pairs = [line.strip() for line in body.splitlines()
                 if line.strip() and not line.lstrip().startswith("#")]
    else:
        pairs = next(csv.reader([text]))
    out: dict[str, str] = {}
    for pair in pairs:
        field, sep, header = pair.partition("=")
        if not sep or not field.strip() or not header.strip():
            raise UsageError(f"--columns must be field=header pairs separated by commas, got {pair!r}")
        out[field.strip()] = header.strip()
    return out


def columns_for(path: str, fmt: str) -> Any:
    """The :class:`ecrm.CsvColumns` of ``--format`` (``auto`` peeks at FILE's header).

    Args:
        path: FILE (``-`` for stdin, peeked without being consumed).
        fmt: ``auto``, ``canonical`` or ``taobao``.
    """
    from ecrm._load._spec import CsvColumns

    if fmt == "auto":
        names = _header_names(path)
        fmt = "taobao" if "买家会员名" in names and "customer_id" not in names else "canonical"
    return CsvColumns.taobao() if fmt == "taobao" else CsvColumns()


def columns_from_args(args: argparse.Namespace) -> Any:
    """The :class:`ecrm.CsvColumns` for ``--format`` and ``--columns``."""
    base = columns_for(args.file, getattr(args, "format", "auto"))
    mapping = parse_columns(getattr(args, "columns", None))
    if not mapping:
        return base
    import attrs

    from ecrm._load._spec import FIELDS

    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        raise UsageError(f"--columns may only map the fields {', '.join(FIELDS)}; got {unknown}")
    return attrs.evolve(base, **mapping)  # the fields are checked above


def _header_names(path: str) -> set[str]:
    """The header cells of FILE, peeked without consuming it (stdin included)."""
    try:
        if path == "-":
            peek = getattr(sys.stdin.buffer, "peek", None)
            data = peek(1 << 16) if peek is not None else b""
        else:
            with open(path, "rb") as fh:
                data = fh.read(1 << 16)
                if data[:4] == b"PK\x03\x04":
                    with zipfile.ZipFile(path) as archive:
                        members = [m for m in archive.infolist() if not m.is_dir()]
                        data = archive.open(members[0]).read(1 << 16) if members else b""
    except (OSError, zipfile.BadZipFile):
        return set()  # the loader reports an unreadable file properly
    if data[:2] == b"\x1f\x8b":
        try:
            data = zlib.decompressobj(31).decompress(data)
        except zlib.error:
            return set()
    first = data.split(b"\n", 1)[0]
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = first.decode("gb18030", errors="replace")
    row = next(csv.reader(io.StringIO(text)), [])
    return {h.strip() for h in row}


def _say(command: str, info: Any, err: TextIO | None = None) -> None:
    if info is not None:
        print(f"ecrm {command}: {info.describe()}", file=err if err is not None else sys.stderr)


def load_orders_from_args(args: argparse.Namespace) -> Any:
    """Read FILE (``args.file``; ``-`` for stdin) with the loading flags into an OrderLog.

    Says on stderr what was read (``ecrm rfm: read orders.csv: 3 rows, gb18030 (detected),
    买家实际支付金额 in yuan …``); shows progress for a large file on a terminal unless ``args.quiet``.

    Raises:
        UsageError: a bad ``--columns``.
        DataFormatErrorGroup: every problem of the file.
    """
    from ecrm._orderlog import OrderLog

    columns = columns_from_args(args)
    from ecrm.cli._output import progress_for

    progress = progress_for(args.file, args)
    try:
        log = OrderLog.from_csv(
            args.file, columns=columns, tz=args.tz, currency=args.currency,
            encoding=args.encoding, amount_unit=args.amount_unit, engine=args.engine,
            progress=progress,
        )
    finally:
        if progress is not None:
            progress.done()
    _say(getattr(args, "command", "") or "", log.load_info)
    return log


def load_customers_from_args(path: str | None, args: argparse.Namespace) -> Any:
    """A customers file read with ``--tz``, ``--encoding`` and ``--engine`` (or ``None``)."""
    if path is None:
        return None
    from ecrm._customers import CustomerTable

    table = CustomerTable.from_csv(path, tz=args.tz, encoding=args.encoding, engine=args.engine)
    _say(getattr(args, "command", "") or "", table.load_info)
    return table


def load_events_from_args(path: str | None, args: argparse.Namespace) -> Any:
    """An events file read with ``--tz``, ``--encoding`` and ``--engine`` (or ``None``)."""
    if path is None:
        return None
    from ecrm._events import EventLog

    log = EventLog.from_csv(path, tz=args.tz, encoding=args.encoding, engine=args.engine)
    _say(getattr(args, "command", "") or "", log.load_info)
    return log
