"""Columns for :class:`~ecrm.OrderLog`, :class:`~ecrm.EventLog` and
:class:`~ecrm.CustomerTable` from pandas, polars and pyarrow frames (and Parquet files).

pandas, polars and pyarrow are optional: each is imported inside the function that needs
it, never at ``import ecrm``; a missing one raises :class:`~ecrm.MissingDependencyError`
naming the extra to install. Every frame is turned into plain numpy columns (or Python
values) and passed to the ``build`` callable the model gives (its ``from_arrays``), so
validation and error messages are shared and this module never imports the model.

Order frames hold one row per order; item columns (``sku`` …) are not read (build lines with
:meth:`OrderItems.from_arrays`).
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Callable, Collection, Mapping
from typing import Any, Final, TypeVar

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._columns import MAX_ORDER_FEN, field_columns, instants_column, wall_to_utc_us
from ecrm._load._cells import MAX_WHOLE_YUAN, decide_units, parse_instants, parse_money, to_fen
from ecrm._load._problems import Problems
from ecrm._load._spec import CsvColumns, LoadInfo, check_amount_unit, coerce_columns
from ecrm._money import DEFAULT_CURRENCY, Money
from ecrm._time import NAT_US, as_zone, us_to_datetime
from ecrm.errors import (
    DataFormatErrorGroup,
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
    RowError,
)

__all__ = ["customer_columns", "events_from_frame", "orders_from_frame"]

T = TypeVar("T")

IntArray = npt.NDArray[np.int64]

#: Logical field -> the ``from_arrays`` argument (and the column name its errors use).
_ARG: Final = {
    "customer_id": "customer_ids",
    "placed_at": "placed_at",
    "amount": "amounts",
    "status": "statuses",
    "order_id": "order_ids",
    "refunded": "refunded",
    "paid_at": "paid_at",
    "province": "provinces",
    "channel": "channels",
}
_REQUIRED: Final = ("customer_id", "placed_at", "amount")


@attrs.frozen
class _Col:
    """A frame column normalised to numpy.

    kind: ``"int"`` (int64 ``data``, ``nulls`` mask or None), ``"float"``, ``"instant"``
    (int64 us with ``NAT_US`` for nulls; ``aware`` says whether they are UTC or wall time;
    ``dates`` that they were calendar dates, read as midnight wall time), or ``"objects"``
    (an object array of Python values, ``None`` for nulls).
    """

    kind: str
    data: npt.NDArray[Any]
    nulls: npt.NDArray[np.bool_] | None = None
    aware: bool = False
    dates: bool = False


@attrs.frozen
class _Frame:
    """A frame seen through its library: column names and two readers of a column by name.

    ``column`` normalises to a :class:`_Col` (order and event logs); ``values`` gives the
    column's Python values with ``None`` for nulls (customer tables).
    """

    names: list[str]
    column: Callable[[str], _Col]
    values: Callable[[str], list[Any]]


def orders_from_frame(
    library: str,
    frame: Any,
    *,
    build: Callable[..., T],
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    amount_unit: str | None = None,
    source: str | None = None,
) -> T:
    """Orders from a pandas / polars frame or a pyarrow table (one row per order).

    Args:
        library: ``"pandas"``, ``"polars"`` or ``"arrow"``.
        frame: the orders; column names as in ``columns`` (canonical names by default).
        build: the log's ``from_arrays`` (the columns go to it; its errors are renamed to
            the frame's column names).
        columns: which frame column holds each field (:class:`~ecrm.CsvColumns` or a
            mapping ``{field: column}``).
        tz: the store's time zone; required when a time column is naive (``datetime64``
            without a zone, ``date``), which is then wall time in ``tz``. Zone-aware
            columns are converted exactly. Default ``Asia/Shanghai`` otherwise.
        currency: the currency of every amount.
        amount_unit: ``"auto"``, ``"fen"`` or ``"yuan"`` (default: ``columns``'s); applies
            to text and ``Decimal`` columns, and to integer columns (whole yuan) when the
            unit is yuan. ``"auto"`` reads integer columns as fen unless the column name
            names yuan.
        source: the name errors give the input (default ``"<library>"``).

    Raises:
        MissingDependencyError: the library is not installed.
        InvalidValueError: a required column is missing; naive times without ``tz``.
        InvalidTypeError: ``frame`` is not that library's frame; float money columns.
        DataFormatErrorGroup: every bad cell (0-based row, frame column, value, rule).
    """
    f = _READERS[library](frame, f"OrderLog.from_{library}")
    return _from_columns(f, columns, tz, currency, source or f"<{library}>", build, amount_unit)


def _is_na(value: Any, pd: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _pandas_frame(frame: Any, purpose: str) -> _Frame:
    """Read a pandas ``DataFrame`` (``purpose`` names the caller in a missing-package error)."""
    try:
        import pandas as pd
    except ImportError:
        raise MissingDependencyError.for_extra("pandas", "pandas", purpose) from None
    if not isinstance(frame, pd.DataFrame):
        raise InvalidTypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    labels = {str(c): c for c in frame.columns}

    def get(name: str) -> _Col:
        s = frame[labels[name]]
        dtype = s.dtype
        if isinstance(dtype, pd.DatetimeTZDtype):
            utc = s.dt.tz_convert("UTC").dt.tz_localize(None)
            return _Col("instant", _dt64_us(utc.to_numpy()), aware=True)
        if pd.api.types.is_datetime64_dtype(dtype):
            return _Col("instant", _dt64_us(s.to_numpy()), aware=False)
        if pd.api.types.is_bool_dtype(dtype):
            return _Col("objects", np.asarray(s.astype(object).tolist(), dtype=object))
        if pd.api.types.is_integer_dtype(dtype):
            nulls = s.isna().to_numpy()
            if nulls.any():
                return _Col("int", s.fillna(0).to_numpy(dtype=np.int64), nulls)
            return _Col("int", s.to_numpy(dtype=np.int64))
        if pd.api.types.is_float_dtype(dtype):
            return _Col("float", s.to_numpy())
        values = [None if _is_na(v, pd) else v for v in s.tolist()]
        return _Col("objects", _objects(values))

    def values(name: str) -> list[Any]:
        # Only None and float NaN are nulls here, as CustomerTable.from_pandas always read.
        return [
            None if (v is None or (isinstance(v, float) and v != v)) else v
            for v in frame[labels[name]].tolist()
        ]

    return _Frame(list(labels), get, values)


def _polars_frame(frame: Any, purpose: str) -> _Frame:
    """Read a polars ``DataFrame`` (``purpose`` names the caller in a missing-package error)."""
    try:
        import polars as pl
    except ImportError:
        raise MissingDependencyError.for_extra("polars", "polars", purpose) from None
    if not isinstance(frame, pl.DataFrame):
        raise InvalidTypeError(f"frame must be a polars DataFrame, got {type(frame).__name__}")

    def get(name: str) -> _Col:
        s = frame.get_column(name)
        dtype = s.dtype
        dates = dtype == pl.Date
        if dates:
            s = s.cast(pl.Datetime("us"))
            dtype = s.dtype
        if isinstance(dtype, pl.Datetime):
            us = s.dt.epoch("us").fill_null(NAT_US).to_numpy().astype(np.int64, copy=False)
            return _Col("instant", us, aware=dtype.time_zone is not None, dates=dates)
        if dtype.is_integer():
            nulls = s.is_null().to_numpy()
            data = s.fill_null(0).cast(pl.Int64).to_numpy()
            return _Col("int", data, nulls if nulls.any() else None)
        if dtype.is_float():
            return _Col("float", s.to_numpy())
        return _Col("objects", _objects(s.to_list()))

    def values(name: str) -> list[Any]:
        return list(frame.get_column(name).to_list())

    return _Frame(list(frame.columns), get, values)


def _arrow_frame(table: Any, purpose: str) -> _Frame:
    """Read a pyarrow ``Table`` or ``RecordBatch`` (``purpose`` as :func:`_pandas_frame`)."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:
        raise MissingDependencyError.for_extra("pyarrow", "arrow", purpose) from None
    if not isinstance(table, pa.Table | pa.RecordBatch):
        raise InvalidTypeError(f"table must be a pyarrow Table, got {type(table).__name__}")

    def get(name: str) -> _Col:
        col = table.column(name)
        typ = col.type
        dates = pa.types.is_date(typ)
        if dates:
            col = col.cast(pa.timestamp("us"))
            typ = col.type
        # Columns without nulls skip fill_null and is_null (each a copy of the column).
        if pa.types.is_timestamp(typ):
            ints = col.cast(pa.timestamp("us", tz=typ.tz)).cast(pa.int64())
            if col.null_count:
                ints = pc.fill_null(ints, NAT_US)
            return _Col("instant", np.asarray(ints, dtype=np.int64), aware=typ.tz is not None,
                        dates=dates)
        if pa.types.is_integer(typ):
            if not col.null_count:
                return _Col("int", np.asarray(col.cast(pa.int64()), dtype=np.int64))
            nulls = np.asarray(pc.is_null(col), dtype=bool)
            data = np.asarray(pc.fill_null(col.cast(pa.int64()), 0), dtype=np.int64)
            return _Col("int", data, nulls)
        if pa.types.is_floating(typ):
            return _Col("float", np.asarray(col))
        return _Col("objects", _objects(col.to_pylist()))

    def values(name: str) -> list[Any]:
        return list(table.column(name).to_pylist())

    return _Frame(list(table.schema.names), get, values)


_READERS: Final = {"pandas": _pandas_frame, "polars": _polars_frame, "arrow": _arrow_frame}


def _objects(values: list[Any]) -> npt.NDArray[np.object_]:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _dt64_us(values: npt.NDArray[Any]) -> IntArray:
    return values.astype("datetime64[us]").view(np.int64)


# -- shared conversion -----------------------------------------------------------------------
def _from_columns(
    frame: _Frame,
    columns: CsvColumns | Mapping[str, Any] | None,
    tz: str | dt.tzinfo | None,
    currency: str,
    source: str,
    build: Callable[..., T],
    amount_unit: str | None,
) -> T:
    cols = coerce_columns(columns)
    unit = cols.amount_unit if amount_unit is None else check_amount_unit(amount_unit)
    Money(0, currency)
    zone = as_zone(tz)
    found = _find(frame.names, cols)
    problems = Problems(source)
    args: dict[str, Any] = {}
    units: dict[str, tuple[str, str]] = {}
    for field, name in found.items():
        col = frame.column(name)
        if field in ("placed_at", "paid_at"):
            args[_ARG[field]] = _instants(col, name, field, tz, zone, problems)
        elif field in ("amount", "refunded"):
            args[_ARG[field]] = _money(col, name, field, unit, problems, units)
        elif col.kind == "int" and col.nulls is None:
            args[_ARG[field]] = col.data
        elif col.kind in ("int", "float"):
            args[_ARG[field]] = _objects(
                [None if col.nulls is not None and col.nulls[i] else v
                 for i, v in enumerate(col.data.tolist())]
            )
        else:
            args[_ARG[field]] = col.data
    ours = list(problems.errors)
    try:
        log = build(tz="UTC", currency=currency, source=source, **args)
    except DataFormatErrorGroup as exc:
        renamed = {_ARG[f]: n for f, n in found.items()}
        theirs = [_rename(e, renamed) for e in exc.exceptions]
        raise DataFormatErrorGroup(exc.summary, [*ours, *theirs]) from None
    if ours:
        raise DataFormatErrorGroup(f"invalid orders in {source}", ours)
    info = LoadInfo(
        source=source, engine="frame", rows=len(log),  # type: ignore[arg-type]
        amount_units={h: u for h, (u, _w) in units.items()},
        amount_reasons={h: w for h, (_u, w) in units.items()},
    )
    # the builder returns an attrs table with tz and load_info
    return attrs.evolve(log, tz=zone, load_info=info)  # type: ignore[misc]


def _rename(err: Exception, renamed: dict[str, str]) -> Any:
    if isinstance(err, RowError) and err.column in renamed:
        return RowError(err.source, err.line, renamed[err.column], err.value, err.rule)
    return err


def _find(names: list[str], cols: CsvColumns) -> dict[str, str]:
    """Logical field -> frame column name, for the fields a frame can hold."""
    stripped = {n.strip(): n for n in names}
    out: dict[str, str] = {}
    for field in _ARG:
        for cand in cols.candidates(field):
            if cand in stripped:
                out[field] = stripped[cand]
                break
        else:
            if cols.is_promised(field) and cols.candidates(field):
                wanted = " or ".join(repr(c) for c in cols.candidates(field))
                raise InvalidValueError(
                    "columns",
                    f"need a column {wanted} for {field}; the frame has {names}",
                    field,
                    show_value=False,
                )
    return out


def _instants(
    col: _Col, name: str, field: str, tz: str | dt.tzinfo | None, zone: dt.tzinfo,
    problems: Problems,
) -> npt.NDArray[np.datetime64]:
    """A time column as UTC ``datetime64[us]`` (``from_arrays`` is then called with UTC)."""
    allow_missing = field == "paid_at"
    if col.kind == "instant":
        us = col.data
        if not col.aware:
            if tz is None:
                raise InvalidValueError(
                    name,
                    "holds naive date-times; pass tz='Asia/Shanghai' (or the zone they are in)",
                    "naive",
                    show_value=False,
                )
            us = wall_to_utc_us(us, zone)
    elif col.kind == "objects":
        values = col.data.tolist()
        if values and all(isinstance(v, str) or v is None for v in values):
            text = np.asarray(["" if v is None else v for v in values], dtype=str)
            us, bad = parse_instants(text, zone)
            if bad:
                problems.add_rows(np.asarray(bad), name, values, "must be a date-time")
                us[np.asarray(bad)] = 0
        else:
            dates = [
                dt.datetime.combine(v, dt.time()) if type(v) is dt.date else v for v in values
            ]
            inner = Problems(problems.source)
            us = instants_column(dates, name, as_zone(tz) if tz is not None else None, inner,
                                 allow_missing=True)
            for err in inner.errors:
                problems.add(err)
            if inner.errors:
                us = np.where(us == NAT_US, 0, us) if not allow_missing else us
    else:
        raise InvalidValueError(name, "must hold date-times", f"dtype {col.data.dtype}")
    return np.asarray(us, dtype=np.int64).view("datetime64[us]")


class _IntCells:
    """An integer column's cells as shown in a problem: ``None`` where missing."""

    def __init__(self, data: npt.NDArray[Any], missing: npt.NDArray[np.bool_]) -> None:
        self.data = data
        self.missing = missing

    def __getitem__(self, i: int) -> Any:
        return None if self.missing[i] else self.data[i].item()


def _money(
    col: _Col,
    name: str,
    field: str,
    unit: str,
    problems: Problems,
    units: dict[str, tuple[str, str]],
) -> Any:
    """A money column as int64 fen; floats pass through for ``from_arrays`` to refuse.

    Missing refunds mean no refund (0). Missing or bad amounts are reported here and stand
    in as a huge placeholder, so that no follow-up error (refund > amount) is invented.
    """
    if col.kind == "float":
        return col.data
    if col.kind == "int":
        chosen, why = decide_units(unit, {field: (name, False)})[field]
        units[name] = (chosen, why)
        scale = 100 if chosen == "yuan" else 1
        missing = col.nulls if col.nulls is not None else np.zeros(len(col.data), dtype=bool)
        # Only the few reported cells are shown: no Python list of every cell.
        values: Any = _IntCells(col.data, missing)
        bad = np.zeros(len(col.data), dtype=bool)
        if scale != 1:
            big = np.flatnonzero(np.abs(col.data) > MAX_WHOLE_YUAN)
            problems.add_rows(big, name, values, "must fit in int64 fen")
            bad[big] = True
            fen = np.where(bad, 0, col.data) * scale
        else:
            fen = col.data
    else:
        values = col.data.tolist()
        if any(isinstance(v, float) for v in values):
            return col.data
        text = np.asarray(
            ["" if v is None else (format(v, "f") if isinstance(v, decimal.Decimal) else str(v))
             for v in values],
            dtype=str,
        )
        is_int = np.asarray([isinstance(v, int) and not isinstance(v, bool) for v in values],
                            dtype=bool)
        cells, bad_cells = parse_money(text, unit)
        chosen, why = decide_units(unit, {field: (name, bool(cells.marked.any()))})[field]
        units[name] = (chosen, why)
        rows = np.arange(len(values), dtype=np.int64)
        fen = to_fen(cells, chosen, name, rows, problems)
        negative_int = np.flatnonzero(is_int & (fen == -2) & np.char.startswith(text, "-"))
        scale = 100 if chosen == "yuan" else 1
        fen[negative_int] = np.asarray([values[i] for i in negative_int.tolist()],
                                       dtype=np.int64) * scale
        for i, rule in bad_cells:
            if not is_int[i]:
                problems.add(RowError(problems.source, i, name, values[i], rule))
        missing = fen == -1
        bad = (fen == -2) & ~is_int
    if field == "refunded":
        return np.where(missing | bad, 0, fen)
    rows = np.flatnonzero(missing)
    if rows.size:
        problems.add_rows(rows, name, values, "must not be missing")
    return np.where(missing | bad, MAX_ORDER_FEN, fen)  # the largest amount that passes


# -- behaviour events ------------------------------------------------------------------------
_EVENT_FIELDS: Final = ("customer_id", "at", "kind", "sku")
_EVENT_ARG: Final = {"customer_id": "customer_ids", "at": "at", "kind": "kinds", "sku": "skus"}


def events_from_frame(
    library: str,
    frame: Any,
    *,
    build: Callable[..., T],
    columns: Mapping[str, str] | None = None,
    tz: str | dt.tzinfo | None = None,
    source: str | None = None,
) -> T:
    """Build an :class:`~ecrm.EventLog` from a pandas / polars frame or a pyarrow table.

    Args:
        library: ``"pandas"``, ``"polars"`` or ``"arrow"``.
        frame: one row per event, with columns ``customer_id``, ``at``, ``kind`` and
            optionally ``sku`` (``columns`` maps a field to another column name).
        columns: ``{field: column}`` for columns named otherwise.
        tz: the store's zone; required when ``at`` is naive (then wall time in ``tz``).
            Zone-aware columns are converted exactly. Default ``Asia/Shanghai`` otherwise.

    Raises:
        MissingDependencyError: the library is not installed.
        InvalidTypeError: ``frame`` is not that library's frame (or table).
        InvalidValueError: a required column is missing; naive times without ``tz``.
        DataFormatErrorGroup: every bad cell (0-based row, frame column, value, rule).
    """
    read = _READERS[library](frame, f"EventLog.from_{library}")
    names = read.names
    source = source or f"<{library}>"
    mapping = field_columns(_EVENT_FIELDS, columns)
    stripped = {n.strip(): n for n in names}
    for field in _EVENT_FIELDS[:3]:
        if mapping[field] not in stripped:
            raise InvalidValueError(
                "columns",
                f"need a column {mapping[field]!r} for {field}; the frame has {names}",
                field,
                show_value=False,
            )
    zone = as_zone(tz)
    problems = Problems(source)
    args: dict[str, Any] = {}
    found = {f: stripped[mapping[f]] for f in _EVENT_FIELDS if mapping[f] in stripped}
    for field, name in found.items():
        col = read.column(name)
        if field == "at":
            args["at"] = _instants(col, name, field, tz, zone, problems)
        elif len(col.data) == 0:  # an empty frame's text columns may come typed float
            args[_EVENT_ARG[field]] = _objects([])
        elif col.kind == "int" and col.nulls is not None:  # nullable ints: None where null
            args[_EVENT_ARG[field]] = _objects(
                [None if null else v for null, v in zip(col.nulls.tolist(), col.data.tolist(),
                                                        strict=True)]
            )
        else:
            args[_EVENT_ARG[field]] = col.data
    ours = list(problems.errors)
    try:
        log = build(tz="UTC", source=source, **args)
    except DataFormatErrorGroup as exc:
        renamed = {_EVENT_ARG[f]: n for f, n in found.items()}
        theirs = [_rename(e, renamed) for e in exc.exceptions]
        raise DataFormatErrorGroup(exc.summary, [*ours, *theirs]) from None
    if ours:
        raise DataFormatErrorGroup(f"invalid events in {source}", ours)
    info = LoadInfo(source=source, engine="frame", rows=len(log))  # type: ignore[arg-type]
    # the builder returns an attrs table with tz and load_info
    return attrs.evolve(log, tz=zone, load_info=info)  # type: ignore[misc]


# -- customer profiles -----------------------------------------------------------------------
def customer_columns(
    library: str, frame: Any, purpose: str, *, times: Collection[str]
) -> dict[str, Any]:
    """A frame's columns as :meth:`~ecrm.CustomerTable.from_arrays` takes them.

    Args:
        library: ``"pandas"``, ``"polars"`` or ``"arrow"``.
        frame: the frame (a pyarrow ``Table`` or ``RecordBatch`` for ``"arrow"``).
        purpose: the caller, named in a missing-package error.
        times: the columns read as instants when they hold date-times (not dates).

    Returns:
        ``{column name: values}``: a ``times`` column of naive date-times as a
        ``datetime64[us]`` array (wall time, ``NaT`` for nulls), of zone-aware ones as a
        list of UTC datetimes (``None`` for nulls); every other column as a list of Python
        values with ``None`` for nulls.

    Raises:
        MissingDependencyError: the library is not installed.
        InvalidTypeError: ``frame`` is not that library's frame.
    """
    read = _READERS[library](frame, purpose)
    out: dict[str, Any] = {}
    for name in read.names:
        col = read.column(name) if name in times else None
        if col is None or col.kind != "instant" or col.dates:
            out[name] = read.values(name)
        elif col.aware:
            out[name] = [None if v == NAT_US else us_to_datetime(v, dt.UTC)
                         for v in col.data.tolist()]
        else:
            out[name] = col.data.view("datetime64[us]")
    return out
