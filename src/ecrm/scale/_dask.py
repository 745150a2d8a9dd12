"""The summaries over a ``dask.dataframe``: partitions → partial summaries → a tree merge.

Dask schedules the work (threads, processes, or a ``dask.distributed`` cluster when a
``Client`` is active); ecrm only supplies the per-partition summary and the exact merge.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from ecrm._customers import CustomerTable
from ecrm._load._spec import AmountUnit, CsvColumns
from ecrm._money import DEFAULT_CURRENCY, Money
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._time import as_zone
from ecrm.analytics import MemberMetrics, Period
from ecrm.analytics._members import member_inputs
from ecrm.analytics._periods import check_periods
from ecrm.errors import InvalidTypeError, InvalidValueError, MissingDependencyError
from ecrm.lifecycle import Bands, CycleTable, RepurchaseCycle
from ecrm.rfm import TAOBAO_PGSB, RfmResult, RfmScheme
from ecrm.scale._chunks import pandas_chunk_summary
from ecrm.scale._lines import LineSummaries, line_chunk_summaries, merge_line_summaries
from ecrm.scale._members import (
    MemberSummary,
    member_metrics_from_summary,
    merge_members,
    summarize_members,
)
from ecrm.scale._ooc import DEFAULT_BATCH_ROWS, summarize_csv
from ecrm.scale._results import score_summary
from ecrm.scale._skus import sku_cycles_from_summary
from ecrm.scale._summary import CustomerSummary, empty_summary, merge_all
from ecrm.tiers import TAOBAO_STORE_VIP, Membership, TierLadder

__all__ = ["member_metrics_dask", "score_dask", "sku_cycles_dask", "summarize_csv_dask",
           "summarize_dask"]

S = TypeVar("S")


def _partition_summary(
    frame: Any,
    as_of: dt.datetime,
    scheme: RfmScheme,
    tier_months: int | None,
    statuses: frozenset[OrderStatus] | None,
    columns: CsvColumns | Mapping[str, Any] | None,
    tz: dt.tzinfo,
    currency: str,
    amount_unit: AmountUnit | None,
) -> CustomerSummary:
    return pandas_chunk_summary(
        frame, as_of=as_of, scheme=scheme, statuses=statuses,
        tier_months=tier_months, columns=columns, tz=tz,
        currency=currency, amount_unit=amount_unit,
    )


def _merge_group(*parts: CustomerSummary) -> CustomerSummary:
    return merge_all(parts)


def summarize_dask(
    frame: Any,
    *,
    as_of: dt.datetime,
    scheme: RfmScheme = TAOBAO_PGSB,
    tier_months: int | None = None,
    statuses: Iterable[OrderStatus] | None = None,
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    amount_unit: AmountUnit | None = None,
    split_every: int = 8,
) -> CustomerSummary:
    """Summarise a ``dask.dataframe.DataFrame`` of orders (one row per order).

    Each partition becomes an :class:`~ecrm.OrderLog` (:meth:`~ecrm.OrderLog.from_pandas`)
    and a partial summary on a worker; partials are merged in a tree, ``split_every`` at a
    time, and only the final summary comes back. Runs on the active ``dask.distributed``
    client if there is one, else on dask's default scheduler.

    Args:
        frame: the orders; columns as :meth:`ecrm.OrderLog.from_pandas`.
        as_of, scheme, tier_months, statuses: as :func:`~ecrm.scale.summarize`.
        columns, tz, currency, amount_unit: as :meth:`ecrm.OrderLog.from_pandas`.
        split_every: how many summaries one merge task takes (>= 2).

    Returns:
        The merged :class:`~ecrm.scale.CustomerSummary`.

    Raises:
        MissingDependencyError: dask is not installed (the ``dask`` extra).
        InvalidTypeError: ``frame`` is not a dask DataFrame.
        InvalidValueError: ``split_every`` < 2.
    """
    dask = _dask("ecrm.scale.summarize_dask")
    try:
        dd: Any = importlib.import_module("dask.dataframe")
    except ImportError:
        raise MissingDependencyError.for_extra("dask", "dask", "ecrm.scale.summarize_dask") from None
    if not isinstance(frame, dd.DataFrame):
        raise InvalidTypeError(f"frame must be a dask DataFrame, got {type(frame).__name__}")
    _check_split(split_every)
    zone = as_zone(tz)
    Money(0, currency)
    wanted = None if statuses is None else frozenset(statuses)
    part = dask.delayed(_partition_summary, pure=True)
    level = [
        part(p, as_of, scheme, tier_months, wanted, columns, zone, currency, amount_unit)
        for p in frame.to_delayed()
    ]
    if not level:
        return empty_summary(as_of=as_of, scheme=scheme, statuses=statuses,
                             tier_months=tier_months, tz=zone,
                             currency=currency)
    return _tree(dask, level, split_every)


def _csv_summary(
    path: str, as_of: dt.datetime, scheme: RfmScheme, tier_months: int | None,
    statuses: frozenset[OrderStatus] | None,
    columns: CsvColumns | Mapping[str, Any] | None, tz: dt.tzinfo, currency: str,
    amount_unit: AmountUnit | None, encoding: str, batch_rows: int,
) -> CustomerSummary:
    return summarize_csv(
        path, as_of=as_of, scheme=scheme, statuses=statuses,
        tier_months=tier_months, columns=columns, tz=tz,
        currency=currency, amount_unit=amount_unit, encoding=encoding, batch_rows=batch_rows,
    )


def summarize_csv_dask(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    as_of: dt.datetime,
    scheme: RfmScheme = TAOBAO_PGSB,
    tier_months: int | None = None,
    statuses: Iterable[OrderStatus] | None = None,
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    amount_unit: AmountUnit | None = None,
    encoding: str = "auto",
    batch_rows: int = DEFAULT_BATCH_ROWS,
    split_every: int = 8,
) -> CustomerSummary:
    """Summarise CSV files on dask: each file is one task that reads it in batches through
    ecrm's own loading layer (encodings, yuan, Taobao headers, errors by file and line, as
    :func:`~ecrm.scale.summarize_csv`), and the partial summaries merge in a tree.

    The workers must see the paths (a shared or local file system).

    Args:
        paths: a CSV file or a sequence of them.
        as_of, scheme, tier_months, statuses, columns, tz, currency, amount_unit, encoding,
        batch_rows:
            as :func:`~ecrm.scale.summarize_csv`.
        split_every: how many summaries one merge task takes (>= 2).

    Returns:
        The merged :class:`~ecrm.scale.CustomerSummary`.

    Raises:
        MissingDependencyError: dask is not installed (the ``dask`` extra).
        InvalidValueError: no path; ``split_every`` < 2; ``batch_rows`` < 1.
        DataFormatErrorGroup: bad cells in a file (raised from the worker's task).
    """
    dask = _dask("ecrm.scale.summarize_csv_dask")
    files = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not files:
        raise InvalidValueError("paths", "must name at least one CSV file", "[]")
    _check_split(split_every)
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
        raise InvalidValueError("batch_rows", "must be an int >= 1", batch_rows)
    zone = as_zone(tz)
    Money(0, currency)
    wanted = None if statuses is None else frozenset(statuses)
    part = dask.delayed(_csv_summary, pure=True)
    level = [
        part(os.fspath(p), as_of, scheme, tier_months, wanted, columns, zone, currency, amount_unit,
             encoding, batch_rows)
        for p in files
    ]
    return _tree(dask, level, split_every)


def _dask(purpose: str) -> Any:
    try:
        return importlib.import_module("dask")
    except ImportError:
        raise MissingDependencyError.for_extra("dask", "dask", purpose) from None


def _check_split(split_every: object) -> None:
    if isinstance(split_every, bool) or not isinstance(split_every, int) or split_every < 2:
        raise InvalidValueError("split_every", "must be an int >= 2", split_every)


def _tree(dask: Any, level: list[Any], split_every: int) -> CustomerSummary:
    """Merge delayed summaries ``split_every`` at a time and compute the root."""
    join = dask.delayed(_merge_group, pure=True)
    while len(level) > 1:
        level = [join(*level[i:i + split_every]) for i in range(0, len(level), split_every)]
    (summary,) = dask.compute(level[0])
    if not isinstance(summary, CustomerSummary):  # pragma: no cover - dask contract
        raise InvalidTypeError(f"dask returned {type(summary).__name__}, not a summary")
    return summary


def score_dask(
    frame: Any,
    *,
    as_of: dt.datetime,
    scheme: RfmScheme = TAOBAO_PGSB,
    statuses: Iterable[OrderStatus] | None = None,
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    amount_unit: AmountUnit | None = None,
    split_every: int = 8,
    warn_undersized: bool = True,
) -> RfmResult:
    """RFM scores and grades of a dask DataFrame of orders, equal to
    :func:`ecrm.rfm.score` on the same orders in one log.

    Args:
        As :func:`summarize_dask`; ``warn_undersized`` as :func:`ecrm.rfm.score`.

    Returns:
        An :class:`~ecrm.rfm.RfmResult`.

    Raises:
        As :func:`summarize_dask`.
    """
    summary = summarize_dask(
        frame, as_of=as_of, scheme=scheme, statuses=statuses, columns=columns, tz=tz,
        currency=currency, amount_unit=amount_unit, split_every=split_every,
    )
    return score_summary(summary, warn_undersized=warn_undersized)


# -- member metrics and per-SKU cycles over a dask DataFrame ------------------------------------


def _frame_and_dask(frame: Any, purpose: str) -> Any:
    """The dask module, once ``frame`` is checked to be a dask DataFrame."""
    dask = _dask(purpose)
    try:
        dd: Any = importlib.import_module("dask.dataframe")
    except ImportError:
        raise MissingDependencyError.for_extra("dask", "dask", purpose) from None
    if not isinstance(frame, dd.DataFrame):
        raise InvalidTypeError(f"frame must be a dask DataFrame, got {type(frame).__name__}")
    return dask


def _merge_parts(join: Callable[[S, S], S], *parts: S | None) -> S | None:
    """Neighbours merged in order; ``None`` (an empty partition) is left out."""
    present = [p for p in parts if p is not None]
    return functools.reduce(join, present) if present else None


def _fold_tree(dask: Any, level: list[Any], join: Callable[[S, S], S], split_every: int) -> S | None:
    """Merge delayed summaries of any kind ``split_every`` at a time; compute the root."""
    step = dask.delayed(_merge_parts, pure=True)
    while len(level) > 1:
        level = [step(join, *level[i:i + split_every]) for i in range(0, len(level), split_every)]
    (out,) = dask.compute(level[0])
    result: S | None = out
    return result


def _members_partition(
    frame: Any, periods: tuple[Period, ...], statuses: frozenset[OrderStatus] | None,
    columns: CsvColumns | Mapping[str, Any] | None, tz: dt.tzinfo, currency: str,
    amount_unit: AmountUnit | None,
) -> MemberSummary | None:
    if len(frame) == 0:
        return None
    log = OrderLog.from_pandas(frame, columns=columns, tz=tz, currency=currency,
                               amount_unit=amount_unit)
    return summarize_members(log, periods, statuses=statuses)


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
    merge in a tree, ``split_every`` at a time, and only the merged summary comes back.

    Args:
        frame: the orders; columns as :meth:`ecrm.OrderLog.from_pandas`.
        customers, periods, ladder, statuses: as :func:`ecrm.analytics.member_metrics`.
        columns, tz, currency, amount_unit: as :meth:`ecrm.OrderLog.from_pandas`.
        split_every: how many summaries one merge task takes (>= 2).

    Returns:
        A :class:`~ecrm.analytics.MemberMetrics`.

    Raises:
        MissingDependencyError: dask is not installed (the ``dask`` extra).
        InvalidTypeError: ``frame`` is not a dask DataFrame; bad ``customers``.
        InvalidValueError: no periods; ``split_every`` < 2.
    """
    dask = _frame_and_dask(frame, "ecrm.scale.member_metrics_dask")
    _check_split(split_every)
    wanted = check_periods(periods)
    member_inputs(customers)  # a bad customers argument fails before any work
    zone = as_zone(tz)
    Money(0, currency)
    chosen = None if statuses is None else frozenset(statuses)
    part = dask.delayed(_members_partition, pure=True)
    level = [part(p, wanted, chosen, columns, zone, currency, amount_unit)
             for p in frame.to_delayed()]
    merged = _fold_tree(dask, level, merge_members, split_every) if level else None
    if merged is None:
        merged = summarize_members(OrderLog.from_arrays([], [], [], tz=zone, currency=currency),
                                   wanted, statuses=chosen)
    return member_metrics_from_summary(merged, customers, ladder=ladder)


def _lines_partition(
    frame: Any, as_of: dt.datetime, statuses: frozenset[OrderStatus] | None,
    columns: CsvColumns | Mapping[str, Any] | None, tz: dt.tzinfo, currency: str,
    amount_unit: AmountUnit | None,
) -> LineSummaries | None:
    if len(frame) == 0:
        return None
    return line_chunk_summaries(frame, as_of=as_of, statuses=statuses, columns=columns, tz=tz,
                                currency=currency, amount_unit=amount_unit)


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
    merged in a tree. An order whose lines fall into two partitions counts once.

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
            or fallback.
    """
    dask = _frame_and_dask(frame, "ecrm.scale.sku_cycles_dask")
    _check_split(split_every)
    zone = as_zone(tz)
    Money(0, currency)
    chosen = None if statuses is None else frozenset(statuses)
    part = dask.delayed(_lines_partition, pure=True)
    level = [part(p, as_of, chosen, columns, zone, currency, amount_unit)
             for p in frame.to_delayed()]
    merged = _fold_tree(dask, level, merge_line_summaries, split_every) if level else None
    if merged is None:
        raise InvalidValueError("frame", "must hold at least one order line", "no rows")
    return sku_cycles_from_summary(merged.skus, merged.store, method=method,
                                   min_repurchasers=min_repurchasers, fallback=fallback)
