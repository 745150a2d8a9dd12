"""Any mergeable summary over Dask: :func:`fold_dask` (a ``dask.dataframe``) and
:func:`fold_csv_dask` (CSV files, one task each), and the results built on them: BTYD
summaries, store metrics per period and cycles per category.

Partitions → partial summaries on the workers → a tree merge, neighbours in order, as
:func:`~ecrm.scale.summarize_dask` does for the per-customer summary.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from ecrm._load._spec import AmountUnit, CsvColumns, check_amount_unit, coerce_columns
from ecrm._money import DEFAULT_CURRENCY, Money
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderItems, OrderLog
from ecrm._time import as_zone, require_aware
from ecrm.analytics import NewCustomerDefinition, Period, RepurchaseBase, StoreMetrics
from ecrm.analytics._periods import check_periods
from ecrm.analytics._store import check_store_options
from ecrm.errors import InvalidTypeError, InvalidValueError, MissingDependencyError
from ecrm.lifecycle import Bands, CycleTable, RepurchaseCycle
from ecrm.lifecycle._cycle import METHODS, check_choice, check_fallback, check_min_repurchasers
from ecrm.predict import Summary
from ecrm.predict._summary import TimeUnit
from ecrm.scale._categories import (
    CategorySummary,
    cycles_from_summary,
    merge_categories,
    summarize_categories,
)
from ecrm.scale._chunks import pandas_chunk_log
from ecrm.scale._dask import _check_split, _dask
from ecrm.scale._ooc import DEFAULT_BATCH_ROWS, _fold_csv_file
from ecrm.scale._predict import merge_predict, predict_summary, summarize_for_predict
from ecrm.scale._store import merge_periods, store_metrics_from_summary, summarize_periods
from ecrm.scale._summary import CustomerSummary, merge, summarize

__all__ = [
    "cycles_by_category_dask", "fold_csv_dask", "fold_dask", "frame_column", "frame_dask",
    "store_metrics_dask", "summaries_dask",
]

S = TypeVar("S")


def fold_dask(
    frame: Any,
    *,
    summarize: Callable[[OrderLog], S],
    merge: Callable[[S, S], S],
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    amount_unit: AmountUnit | None = None,
    split_every: int = 8,
) -> S:
    """Any mergeable summary of a ``dask.dataframe.DataFrame`` of orders (one row per
    order), as :func:`~ecrm.scale.fold_parquet` is on one machine.

    Each partition becomes an :class:`~ecrm.OrderLog` and ``summarize(log)`` a partial
    summary on a worker; the partials merge with ``merge`` in a tree, ``split_every`` at a
    time and neighbours in partition order (so partitions in time order merge as
    consecutive slices), and only the final summary comes back. For example, store
    metrics per month on a cluster::

        merged = fold_dask(dd.read_parquet("orders/"),
                           summarize=lambda log: summarize_periods(log, months),
                           merge=merge_periods, tz="Asia/Shanghai")
        table = store_metrics_from_summary(merged)

    Args:
        frame: the orders; columns as :meth:`ecrm.OrderLog.from_pandas`.
        summarize: one partition's log → its summary (``summarize_periods``,
            ``summarize_for_predict`` … with their arguments bound; it travels to the
            workers, so it must pickle with cloudpickle: a lambda or ``functools.partial``).
        merge: the summary's merge (``merge_periods``, ``merge_predict`` …).
        columns, tz, currency, amount_unit: as :meth:`ecrm.OrderLog.from_pandas`.
        split_every: how many summaries one merge task takes (>= 2).

    Returns:
        The merged summary of every order.

    Raises:
        MissingDependencyError: dask is not installed (the ``dask`` extra).
        InvalidTypeError: ``frame`` is not a dask DataFrame.
        InvalidValueError: ``split_every`` < 2; the frame holds no rows.
        DataFormatErrorGroup: bad cells in a partition (raised from the worker's task).
    """
    dask = frame_dask(frame, "ecrm.scale.fold_dask")
    _check_split(split_every)
    zone = as_zone(tz)
    Money(0, currency)
    part = dask.delayed(_partition_fold, pure=True)
    level = [part(p, summarize, columns, zone, currency, amount_unit) for p in frame.to_delayed()]
    return _fold_tree(dask, level, merge, split_every)


def frame_dask(frame: Any, purpose: str) -> Any:
    """dask, once ``frame`` is known to be a dask DataFrame."""
    dask = _dask(purpose)
    try:
        dd: Any = importlib.import_module("dask.dataframe")
    except ImportError:
        raise MissingDependencyError.for_extra("dask", "dask", purpose) from None
    if not isinstance(frame, dd.DataFrame):
        raise InvalidTypeError(f"frame must be a dask DataFrame, got {type(frame).__name__}")
    return dask


def _partition_fold(
    frame: Any, summarize: Callable[[OrderLog], S], columns: CsvColumns | Mapping[str, Any] | None,
    tz: dt.tzinfo, currency: str, amount_unit: AmountUnit | None,
) -> S | None:
    if len(frame) == 0:
        return None
    return summarize(pandas_chunk_log(frame, columns=columns, tz=tz, currency=currency,
                                      amount_unit=amount_unit))


def _fold_group(merge: Callable[[S, S], S], *parts: S | None) -> S | None:
    """Neighbours merged in order; an empty partition (``None``) adds nothing."""
    out: S | None = None
    for part in parts:
        if part is not None:
            out = part if out is None else merge(out, part)
    return out


def _fold_tree(dask: Any, level: list[Any], merge: Callable[[S, S], S], split_every: int) -> S:
    """Merge delayed partials ``split_every`` at a time, neighbours in order; the root."""
    join = dask.delayed(_fold_group, pure=True)
    if not level:
        level = [None]
    while len(level) > 1:
        level = [join(merge, *level[i:i + split_every])
                 for i in range(0, len(level), split_every)]
    (out,) = dask.compute(level[0])
    if out is None:
        raise InvalidValueError("frame", "must hold at least one order", "no rows")
    result: S = out
    return result


def _csv_fold(
    path: str, summarize: Callable[[OrderLog], S], merge: Callable[[S, S], S],
    columns: CsvColumns, tz: dt.tzinfo, currency: str, unit: AmountUnit, encoding: str,
    batch_rows: int,
) -> S | None:
    return _fold_csv_file(path, summarize, merge, columns=columns, zone=tz, currency=currency,
                         unit=unit, encoding=encoding, engine="auto", batch_rows=batch_rows)


def fold_csv_dask(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    summarize: Callable[[OrderLog], S],
    merge: Callable[[S, S], S],
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    amount_unit: AmountUnit | None = None,
    encoding: str = "auto",
    batch_rows: int = DEFAULT_BATCH_ROWS,
    split_every: int = 8,
) -> S:
    """Any mergeable summary of CSV files on dask: each file is one task that reads it in
    batches as :func:`~ecrm.scale.fold_csv` does (ecrm's own loading layer; a file with
    item lines is one batch), and the partial summaries merge in a tree, neighbours in
    file order. The workers must see the paths.

    Args:
        paths: a CSV file or a sequence of them.
        summarize, merge: as :func:`fold_dask`.
        columns, tz, currency, amount_unit, encoding, batch_rows: as
            :func:`~ecrm.scale.fold_csv`.
        split_every: how many summaries one merge task takes (>= 2).

    Returns:
        The merged summary of every order.

    Raises:
        MissingDependencyError: dask is not installed (the ``dask`` extra).
        InvalidValueError: no path; no file holds a row; ``split_every`` < 2;
            ``batch_rows`` < 1.
        DataFormatErrorGroup: bad cells in a file (raised from the worker's task).
    """
    dask = _dask("ecrm.scale.fold_csv_dask")
    files = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not files:
        raise InvalidValueError("paths", "must name at least one CSV file", "[]")
    _check_split(split_every)
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
        raise InvalidValueError("batch_rows", "must be an int >= 1", batch_rows)
    zone = as_zone(tz)
    Money(0, currency)
    cols = coerce_columns(columns)
    unit = cols.amount_unit if amount_unit is None else check_amount_unit(amount_unit)
    part = dask.delayed(_csv_fold, pure=True)
    level = [part(os.fspath(p), summarize, merge, cols, zone, currency, unit, encoding,
                  batch_rows) for p in files]
    return _fold_tree(dask, level, merge, split_every)


def summaries_dask(
    frame: Any,
    *,
    as_of: dt.datetime,
    calibration_start: dt.datetime,
    statuses: Iterable[OrderStatus] | None = None,
    unit: TimeUnit = "days",
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    amount_unit: AmountUnit | None = None,
    split_every: int = 8,
) -> Summary:
    """The BTYD summaries (x, t_x, T, repeat spend) of a dask DataFrame of orders, equal to
    :func:`ecrm.predict.summaries` on the same orders in one log; fit and predict with
    :mod:`ecrm.predict` as usual (``fit_bgnbd(s)``, ``predict(model, s, …)``).

    The per-customer :class:`~ecrm.scale.PredictionSummary` of each partition merges in a
    tree (:func:`fold_dask`). The number of purchase days is exact when the partitions
    split the orders by customer or by time (partitions in time order, as files named
    by period read in name order).

    Args:
        frame: the orders; columns as :meth:`ecrm.OrderLog.from_pandas`.
        as_of, calibration_start, statuses: as :func:`~ecrm.scale.summarize_for_predict`.
        unit: the model time unit, ``"days"`` or ``"weeks"``.
        columns, tz, currency, amount_unit, split_every: as :func:`fold_dask`.

    Returns:
        An :class:`ecrm.predict.Summary`.

    Raises:
        As :func:`fold_dask` and :func:`~ecrm.scale.predict_summary`;
        InvalidValueError: naive datetimes; ``calibration_start`` not before ``as_of``.
    """
    end = require_aware(as_of, "as_of")
    start = require_aware(calibration_start, "calibration_start")
    if not start < end:
        raise InvalidValueError("calibration_start", f"must be before as_of {end.isoformat()}",
                                start)
    if unit not in ("days", "weeks"):
        raise InvalidValueError("unit", "must be 'days' or 'weeks'", unit)
    wanted = None if statuses is None else frozenset(statuses)
    merged = fold_dask(
        frame, summarize=functools.partial(summarize_for_predict, as_of=end,
                                           calibration_start=start, statuses=wanted),
        merge=merge_predict, columns=columns, tz=tz, currency=currency,
        amount_unit=amount_unit, split_every=split_every,
    )
    return predict_summary(merged, unit=unit)


def store_metrics_dask(
    frame: Any,
    periods: Iterable[Period],
    *,
    statuses: Iterable[OrderStatus] | None = None,
    new_definition: NewCustomerDefinition | str = NewCustomerDefinition.FIRST_ORDER_EVER,
    lookback_days: int = 365,
    repurchase_base: RepurchaseBase | str = RepurchaseBase.IN_PERIOD,
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    amount_unit: AmountUnit | None = None,
    split_every: int = 8,
) -> StoreMetrics:
    """Store metrics per period of a dask DataFrame of orders, equal to
    :func:`ecrm.analytics.store_metrics` on the same orders in one log (without
    attribution: the attributed columns are ``None``), in one pass: the first-ever facts
    come out of the merge (see :class:`~ecrm.scale.PeriodSummary`).

    Args:
        frame: the orders; columns as :meth:`ecrm.OrderLog.from_pandas`.
        periods: the periods to report, of one freq.
        statuses, new_definition, lookback_days, repurchase_base: as
            :func:`ecrm.analytics.store_metrics`.
        columns, tz, currency, amount_unit, split_every: as :func:`fold_dask`.

    Returns:
        A :class:`~ecrm.analytics.StoreMetrics`.

    Raises:
        As :func:`fold_dask`; InvalidValueError: no periods or mixed freq, a bad definition
        or base, ``lookback_days`` < 1 (all checked before any work).
    """
    wanted_periods = check_periods(periods, same_freq=True)
    check_store_options(new_definition, lookback_days, repurchase_base)
    wanted = None if statuses is None else frozenset(statuses)
    merged = fold_dask(
        frame, summarize=functools.partial(summarize_periods, periods=wanted_periods,
                                           statuses=wanted),
        merge=merge_periods, columns=columns, tz=tz, currency=currency,
        amount_unit=amount_unit, split_every=split_every,
    )
    return store_metrics_from_summary(merged, new_definition=new_definition,
                                      lookback_days=lookback_days,
                                      repurchase_base=repurchase_base)


def cycles_by_category_dask(
    lines: Any,
    *,
    as_of: dt.datetime,
    statuses: Iterable[OrderStatus] | None = None,
    method: str = "observed",
    min_repurchasers: int = 30,
    fallback: RepurchaseCycle | Bands | tuple[int, int, int] | None = None,
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    amount_unit: AmountUnit | None = None,
    split_every: int = 8,
) -> CycleTable:
    """Repurchase cycles per category of a dask DataFrame of **order lines**, equal to
    :func:`ecrm.lifecycle.cycles_by` with ``by="category"`` on the same orders in one log.

    One row per order line: the order's columns (``order_id``, ``customer_id``,
    ``placed_at``, ``amount``, ``status``, ``refunded`` …, repeated on each of its lines)
    and the line's ``category`` (empty or missing: unknown). Each partition gives a
    :class:`~ecrm.scale.CategorySummary` and the store :class:`~ecrm.scale.CustomerSummary`
    (for the store fallback); both merge by minimum days and union, so an order whose
    lines fall in two partitions is not counted twice.

    Args:
        lines: the order lines; order columns as :meth:`ecrm.OrderLog.from_pandas`
            (``order_id`` required), the line's category in ``columns``'s ``category``.
        as_of, statuses: as :func:`~ecrm.scale.summarize_categories`.
        method, min_repurchasers, fallback: as :func:`ecrm.lifecycle.cycles_by`.
        columns, tz, currency, amount_unit, split_every: as :func:`fold_dask`.

    Returns:
        A :class:`~ecrm.lifecycle.CycleTable` by category.

    Raises:
        As :func:`fold_dask`; InvalidValueError: no ``order_id`` or category column, an
        unknown ``method``, ``min_repurchasers`` < 1, a fallback without boundaries (the
        last three before any work).
    """
    dask = frame_dask(lines, "ecrm.scale.cycles_by_category_dask")
    _check_split(split_every)
    end = require_aware(as_of, "as_of")
    check_choice("method", method, METHODS)
    min_rep = check_min_repurchasers(min_repurchasers)
    check_fallback(fallback)
    cols = coerce_columns(columns)
    names = [str(c) for c in lines.columns]
    order_col = frame_column(names, cols.order_id, "order_id")
    category_col = frame_column(names, cols.category, "category")
    zone = as_zone(tz)
    Money(0, currency)
    wanted = None if statuses is None else frozenset(statuses)
    part = dask.delayed(_partition_categories, pure=True)
    level = [
        part(p, end, wanted, cols, order_col, category_col, zone, currency, amount_unit)
        for p in lines.to_delayed()
    ]
    categories, store = _fold_tree(dask, level, _merge_pair, split_every)
    return cycles_from_summary(categories, store, method=method, min_repurchasers=min_rep,
                               fallback=fallback)


def frame_column(names: list[str], spec: object, field: str) -> str:
    """The frame's column for a field whose header spec is a name or alternatives."""
    options = [spec] if isinstance(spec, str) else list(spec) if isinstance(spec, tuple) else []
    for name in options:
        if name in names:
            return str(name)
    raise InvalidValueError(
        field, f"needs a column in the frame (one of {options})", names, show_value=True)


Pair = tuple[CategorySummary, CustomerSummary]


def _merge_pair(a: Pair, b: Pair) -> Pair:
    return merge_categories(a[0], b[0]), merge(a[1], b[1])


def _partition_categories(
    frame: Any, as_of: dt.datetime, statuses: frozenset[OrderStatus] | None,
    columns: CsvColumns, order_col: str, category_col: str, tz: dt.tzinfo, currency: str,
    amount_unit: AmountUnit | None,
) -> Pair | None:
    if len(frame) == 0:
        return None
    cats = frame[category_col]
    # Only the categories and the orders' days and validity are read: the SKU and price
    # of a line do not enter a category cycle.
    items = OrderItems.from_arrays(
        order_ids=frame[order_col].to_numpy(),
        skus=np.full(len(frame), "-"),
        unit_price_fen=np.zeros(len(frame), dtype=np.int64),
        categories=np.where(cats.isna().to_numpy(), "", cats.astype(str).to_numpy()),
        source="<lines>",
    )
    orders = frame.drop_duplicates(order_col)
    log = pandas_chunk_log(orders, columns=columns, tz=tz, currency=currency,
                           amount_unit=amount_unit,
                           build=functools.partial(OrderLog.from_arrays, items=items))
    return (summarize_categories(log, as_of=as_of, statuses=statuses),
            summarize(log, as_of=as_of, statuses=statuses))
