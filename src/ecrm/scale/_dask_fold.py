"""Any mergeable summary over Dask: :func:`fold_dask` (a ``dask.dataframe``) and
:func:`fold_csv_dask` (CSV files, one task each), and the results built on them: BTYD
summaries, store and member metrics per period, cycles per category and per SKU.

Partitions → partial summaries on the workers → a tree merge, neighbours in order, as
:func:`~ecrm.scale.summarize_dask` does for the per-customer summary.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from ecrm._customers import CustomerTable
from ecrm._load._spec import AmountUnit, CsvColumns, check_amount_unit, coerce_columns
from ecrm._money import DEFAULT_CURRENCY, Money
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._time import as_zone, require_aware
from ecrm.analytics import (
    MemberMetrics,
    NewCustomerDefinition,
    Period,
    RepurchaseBase,
    StoreMetrics,
)
from ecrm.analytics._members import member_inputs
from ecrm.analytics._periods import check_periods
from ecrm.analytics._store import check_store_options
from ecrm.errors import InvalidValueError
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
from ecrm.scale._dask import _check_split, _dask, csv_files, frame_dask
from ecrm.scale._lines import (
    frame_column,
    line_chunk_log,
    line_summaries,
    merge_line_summaries,
)
from ecrm.scale._members import member_metrics_from_summary, merge_members, summarize_members
from ecrm.scale._ooc import DEFAULT_BATCH_ROWS, _fold_csv_file
from ecrm.scale._predict import merge_predict, predict_summary, summarize_for_predict
from ecrm.scale._skus import sku_cycles_from_summary
from ecrm.scale._store import merge_periods, store_metrics_from_summary, summarize_periods
from ecrm.scale._summary import CustomerSummary, merge, summarize
from ecrm.tiers import TAOBAO_STORE_VIP, Membership, TierLadder

__all__ = [
    "cycles_by_category_dask", "fold_csv_dask", "fold_dask", "member_metrics_dask",
    "sku_cycles_dask", "store_metrics_dask", "summaries_dask",
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
    return _nonempty(_fold_partitions(
        dask, frame, summarize, merge, pandas_chunk_log, columns=columns, tz=tz,
        currency=currency, amount_unit=amount_unit, split_every=split_every))


def _fold_partitions(
    dask: Any, frame: Any, summarize: Callable[[OrderLog], S], merge: Callable[[S, S], S],
    to_log: Callable[..., OrderLog], *, columns: CsvColumns | Mapping[str, Any] | None,
    tz: str | dt.tzinfo | None, currency: str, amount_unit: AmountUnit | None,
    split_every: int,
) -> S | None:
    """Each partition → ``to_log`` (orders or order lines) → ``summarize`` on a worker, the
    partials merged in a tree; ``None`` when every partition is empty."""
    zone = as_zone(tz)
    Money(0, currency)
    part = dask.delayed(_partition_fold, pure=True)
    level = [part(p, summarize, to_log, columns, zone, currency, amount_unit)
             for p in frame.to_delayed()]
    return _fold_tree(dask, level, merge, split_every)


def _partition_fold(
    frame: Any, summarize: Callable[[OrderLog], S], to_log: Callable[..., OrderLog],
    columns: CsvColumns | Mapping[str, Any] | None, tz: dt.tzinfo, currency: str,
    amount_unit: AmountUnit | None,
) -> S | None:
    if len(frame) == 0:
        return None
    return summarize(to_log(frame, columns=columns, tz=tz, currency=currency,
                            amount_unit=amount_unit))


def _fold_group(merge: Callable[[S, S], S], *parts: S | None) -> S | None:
    """Neighbours merged in order; an empty partition (``None``) adds nothing."""
    out: S | None = None
    for part in parts:
        if part is not None:
            out = part if out is None else merge(out, part)
    return out


def _fold_tree(
    dask: Any, level: list[Any], merge: Callable[[S, S], S], split_every: int,
) -> S | None:
    """Merge delayed partials ``split_every`` at a time, neighbours in order, and compute
    the root; ``None`` when there is no partial (no partition, or every one empty)."""
    if not level:
        return None
    join = dask.delayed(_fold_group, pure=True)
    while len(level) > 1:
        level = [join(merge, *level[i:i + split_every])
                 for i in range(0, len(level), split_every)]
    (out,) = dask.compute(level[0])
    result: S | None = out
    return result


def _nonempty(merged: S | None, what: str = "order") -> S:
    if merged is None:
        raise InvalidValueError("frame", f"must hold at least one {what}", "no rows")
    return merged


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
    files = csv_files(paths, split_every, batch_rows)
    zone = as_zone(tz)
    Money(0, currency)
    cols = coerce_columns(columns)
    unit = cols.amount_unit if amount_unit is None else check_amount_unit(amount_unit)
    part = dask.delayed(_csv_fold, pure=True)
    level = [part(p, summarize, merge, cols, zone, currency, unit, encoding,
                  batch_rows) for p in files]
    return _nonempty(_fold_tree(dask, level, merge, split_every))


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
    frame_column(names, cols.order_id, "order_id")
    frame_column(names, cols.category, "category")
    wanted = None if statuses is None else frozenset(statuses)
    categories, store = _nonempty(_fold_partitions(
        dask, lines, functools.partial(_category_parts, as_of=end, statuses=wanted), _merge_pair,
        functools.partial(line_chunk_log, require="category"), columns=cols, tz=tz,
        currency=currency, amount_unit=amount_unit, split_every=split_every))
    return cycles_from_summary(categories, store, method=method, min_repurchasers=min_rep,
                               fallback=fallback)


Pair = tuple[CategorySummary, CustomerSummary]


def _category_parts(
    log: OrderLog, *, as_of: dt.datetime, statuses: frozenset[OrderStatus] | None,
) -> Pair:
    return (summarize_categories(log, as_of=as_of, statuses=statuses),
            summarize(log, as_of=as_of, statuses=statuses))


def _merge_pair(a: Pair, b: Pair) -> Pair:
    return merge_categories(a[0], b[0]), merge(a[1], b[1])


def member_metrics_dask(
    frame: Any,
    customers: CustomerTable | Mapping[Any, Membership],
    periods: Iterable[Period],
    *,
    ladder: TierLadder = TAOBAO_STORE_VIP,
    statuses: Iterable[OrderStatus] | None = None,
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    amount_unit: AmountUnit | None = None,
    split_every: int = 8,
) -> MemberMetrics:
    """Member metrics per period of a dask DataFrame of orders (one row per order), equal
    to :func:`ecrm.analytics.member_metrics` on the same orders in one log.

    Each partition becomes a :class:`~ecrm.scale.MemberSummary` on a worker; the partials
    merge in a tree (:func:`fold_dask`), and only the merged summary comes back.

    Args:
        frame: the orders; columns as :meth:`ecrm.OrderLog.from_pandas`.
        customers, periods, ladder, statuses: as :func:`ecrm.analytics.member_metrics`.
        columns, tz, currency, amount_unit, split_every: as :func:`fold_dask`.

    Returns:
        A :class:`~ecrm.analytics.MemberMetrics`.

    Raises:
        MissingDependencyError: dask is not installed (the ``dask`` extra).
        InvalidTypeError: ``frame`` is not a dask DataFrame; bad ``customers``.
        InvalidValueError: no periods; ``split_every`` < 2.
    """
    dask = frame_dask(frame, "ecrm.scale.member_metrics_dask")
    _check_split(split_every)
    wanted = check_periods(periods)
    member_inputs(customers)  # a bad customers argument fails before any work
    chosen = None if statuses is None else frozenset(statuses)
    merged = _fold_partitions(
        dask, frame, functools.partial(summarize_members, periods=wanted, statuses=chosen),
        merge_members, pandas_chunk_log, columns=columns, tz=tz, currency=currency,
        amount_unit=amount_unit, split_every=split_every)
    if merged is None:
        merged = summarize_members(OrderLog.from_arrays([], [], [], tz=as_zone(tz),
                                                        currency=currency),
                                   wanted, statuses=chosen)
    return member_metrics_from_summary(merged, customers, ladder=ladder)


def sku_cycles_dask(
    frame: Any,
    *,
    as_of: dt.datetime,
    method: str = "observed",
    min_repurchasers: int = 30,
    fallback: RepurchaseCycle | Bands | tuple[int, int, int] | None = None,
    statuses: Iterable[OrderStatus] | None = None,
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    amount_unit: AmountUnit | None = None,
    split_every: int = 8,
) -> CycleTable:
    """Repurchase cycles per SKU of a dask DataFrame of order lines, equal to
    :func:`ecrm.lifecycle.cycles_by` with ``by="sku"`` on the same orders in one log.

    One row per order line, as :func:`~ecrm.scale.sku_cycles_parquet` reads them; each
    partition becomes a :class:`~ecrm.scale.SkuSummary` and a store summary on a worker,
    merged in a tree (:func:`fold_dask`). An order whose lines fall into two partitions
    counts once.

    Args:
        frame: the order lines.
        as_of, method, min_repurchasers, fallback, statuses: as
            :func:`ecrm.lifecycle.cycles_by`.
        columns, tz, currency, amount_unit: as :meth:`ecrm.OrderLog.from_pandas`
            (``columns`` also names the ``sku`` and ``category`` columns).
        split_every: how many summaries one merge task takes (>= 2).

    Returns:
        A :class:`~ecrm.lifecycle.CycleTable` by SKU.

    Raises:
        MissingDependencyError: dask is not installed (the ``dask`` extra).
        InvalidTypeError: ``frame`` is not a dask DataFrame.
        InvalidValueError: no rows; ``split_every`` < 2; a bad method, ``min_repurchasers``
            or fallback; lines of one order that disagree.
    """
    dask = frame_dask(frame, "ecrm.scale.sku_cycles_dask")
    _check_split(split_every)
    chosen = None if statuses is None else frozenset(statuses)
    merged = _nonempty(_fold_partitions(
        dask, frame, functools.partial(line_summaries, as_of=as_of, statuses=chosen),
        merge_line_summaries, line_chunk_log, columns=columns, tz=tz, currency=currency,
        amount_unit=amount_unit, split_every=split_every), "order line")
    return sku_cycles_from_summary(merged.skus, merged.store, method=method,
                                   min_repurchasers=min_repurchasers, fallback=fallback)
