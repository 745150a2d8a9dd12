"""Per-customer rows as a dask DataFrame: :func:`to_dask` (rows the client computed) and
:func:`rows_dask` (rows computed on the workers after a shuffle by customer)."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Mapping
from typing import Any

from ecrm._load._spec import AmountUnit, CsvColumns, coerce_columns
from ecrm._money import DEFAULT_CURRENCY, Money
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame
from ecrm._time import as_zone
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.scale._chunks import pandas_chunk_log
from ecrm.scale._dask import _dask, frame_dask
from ecrm.scale._lines import frame_column

__all__ = ["rows_dask", "to_dask"]


def to_dask(result: ResultFrame, *, npartitions: int = 1, **options: Any) -> Any:
    """A result's per-customer rows as a ``dask.dataframe.DataFrame`` (``.to_parquet(dir)``
    writes them as a Parquet dataset, one file per partition).

    The rows are the result's :meth:`to_pandas` columns, split into ``npartitions``
    consecutive partitions (in the result's row order: sorted by customer id).

    Args:
        result: any ecrm result (:class:`~ecrm.rfm.RfmResult`, :class:`~ecrm.tiers.TierResult`,
            :class:`~ecrm.lifecycle.StageResult`, predictions …).
        npartitions: how many partitions (>= 1).
        options: passed to ``result.to_pandas`` (``include_unscored=True`` for RFM).

    Returns:
        A dask DataFrame.

    Raises:
        MissingDependencyError: dask or pandas is not installed.
        InvalidTypeError: ``result`` is not an ecrm result.
        InvalidValueError: ``npartitions`` < 1.
    """
    if not isinstance(result, ResultFrame):
        raise InvalidTypeError(f"result must be an ecrm result, got {type(result).__name__}")
    if isinstance(npartitions, bool) or not isinstance(npartitions, int) or npartitions < 1:
        raise InvalidValueError("npartitions", "must be an int >= 1", npartitions)
    _dask("ecrm.scale.to_dask")
    dd: Any = importlib.import_module("dask.dataframe")
    return dd.from_pandas(result.to_pandas(**options), npartitions=npartitions, sort=False)


def rows_dask(
    frame: Any,
    *,
    rows: Callable[[OrderLog], Any],
    npartitions: int | None = None,
    columns: CsvColumns | Mapping[str, Any] | None = None,
    tz: str | dt.tzinfo | None = None,
    currency: str = DEFAULT_CURRENCY,
    amount_unit: AmountUnit | None = None,
) -> Any:
    """Per-customer rows computed on the workers, for outputs no client should hold: the
    orders are shuffled by customer so that each partition holds whole customers, and
    ``rows(log)`` of each partition's log gives that partition's rows.

    Only for results where a customer's row depends on that customer's orders alone: RFM
    with fixed bins (``score(log, as_of=…, warn_undersized=False)``; quantile bins and the
    undersized-shop check need the whole shop), tiers (``ladder.evaluate_log``), stages with
    given bands (``stages(log, as_of=…, cycle=bands)``, the bands from
    :func:`~ecrm.scale.cycle_from_summary` first), predictions with a model fitted first.
    Rows are sorted by customer within a partition, not across partitions.

    Args:
        frame: the orders; columns as :meth:`ecrm.OrderLog.from_pandas`.
        rows: one partition's log → an ecrm result (its ``to_pandas()`` rows) or a pandas
            DataFrame; it travels to the workers by cloudpickle.
        npartitions: partitions after the shuffle (default: the frame's).
        columns, tz, currency, amount_unit: as :meth:`ecrm.OrderLog.from_pandas`.

    Returns:
        A lazy dask DataFrame of the rows (``.to_parquet(dir)`` writes them from the
        workers; ``.compute()`` brings them to the client).

    Raises:
        MissingDependencyError: dask is not installed (the ``dask`` extra).
        InvalidTypeError: ``frame`` is not a dask DataFrame.
        InvalidValueError: no customer id column; ``npartitions`` < 1.
    """
    frame_dask(frame, "ecrm.scale.rows_dask")
    if npartitions is not None and (isinstance(npartitions, bool)
                                    or not isinstance(npartitions, int) or npartitions < 1):
        raise InvalidValueError("npartitions", "must be an int >= 1 or None", npartitions)
    zone = as_zone(tz)
    Money(0, currency)
    cols = coerce_columns(columns)
    customer = frame_column([str(c) for c in frame.columns], cols.customer_id, "customer_id")
    # The rows' columns and dtypes from one row of the first partition (an empty log has
    # no id kind), else from no orders at all.
    sample = frame.partitions[0].head(1)
    source = sample if len(sample) else frame._meta
    meta = _rows_frame(rows(pandas_chunk_log(source, columns=cols, tz=zone, currency=currency,
                                             amount_unit=amount_unit))).iloc[:0]
    shuffled = frame.shuffle(on=customer, npartitions=npartitions or frame.npartitions)
    return shuffled.map_partitions(_partition_rows, rows, meta, cols, zone, currency,
                                   amount_unit, meta=meta)


def _rows_frame(result: Any) -> Any:
    return result.to_pandas() if isinstance(result, ResultFrame) else result


def _partition_rows(
    frame: Any, rows: Callable[[OrderLog], Any], meta: Any, columns: CsvColumns,
    tz: dt.tzinfo, currency: str, amount_unit: AmountUnit | None,
) -> Any:
    if len(frame) == 0:
        return meta.copy()
    return _rows_frame(rows(pandas_chunk_log(frame, columns=columns, tz=tz, currency=currency,
                                             amount_unit=amount_unit)))
