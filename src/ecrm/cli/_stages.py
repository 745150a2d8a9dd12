"""``ecrm stages``: the lifecycle stage (潜客 / 新客 / 活跃 / 沉默 / 睡眠 / 流失) of every
customer."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from ecrm.cli._loading import (
    add_loading_arguments,
    load_customers_from_args,
    load_orders_from_args,
)
from ecrm.cli._main import UsageError, parse_as_of
from ecrm.cli._output import add_output_arguments, check_out
from ecrm.cli._scale import (
    add_scale_arguments,
    csv_args,
    scaled_or_none,
    scaled_run,
    write_rows,
)

__all__ = ["register"]


def _bands(text: str | None) -> tuple[int, int, int] | None:
    if text is None:
        return None
    parts = text.split(",")
    try:
        days = tuple(int(p) for p in parts)
    except ValueError:
        days = ()
    if len(days) != 3 or min(days) < 0 or not days[0] <= days[1] <= days[2]:
        raise UsageError(
            f"--bands must be three whole days P50,P70,P90 in rising order like 30,60,90, got {text!r}"
        )
    return days[0], days[1], days[2]


def _own_bands(cycle: Any) -> Any:
    if not cycle.has_bands:
        raise UsageError(
            "no customer repurchased before --as-of, so the shop has no 5221 bands of its "
            "own; give them with --bands P50,P70,P90 (for example --bands 30,60,90)"
        )
    return cycle


def with_prospects(result: Any, customers: Any) -> Any:
    """A :class:`~ecrm.lifecycle.StageResult` with the customers of ``customers`` that it
    lacks added as prospects (as ``stages(..., customers=)`` lists them): no purchase day,
    ``days_since_last`` −1.

    Raises:
        InvalidTypeError: the table's ids are of another kind (str / int) than the orders'.
    """
    if customers is None or not len(customers.customer_ids):
        return result
    import attrs
    import numpy as np

    from ecrm.errors import InvalidTypeError
    from ecrm.lifecycle import Stage

    extra = np.asarray(customers.customer_ids)
    have = result.customer_ids
    if len(have) and (extra.dtype.kind == "U") != (have.dtype.kind == "U"):
        raise InvalidTypeError(
            f"customers must hold ids of the log's kind ({have.dtype}), got {extra.dtype}")
    ids = np.union1d(have, extra) if len(have) else np.unique(extra)
    at = np.searchsorted(ids, have)
    codes = np.full(len(ids), Stage.PROSPECT.code, dtype=np.int8)
    days = np.full(len(ids), -1, dtype=np.int64)
    n_days = np.zeros(len(ids), dtype=np.int64)
    codes[at], days[at], n_days[at] = (result.stage_codes, result.days_since_last,
                                       result.n_purchase_days)
    return attrs.evolve(result, customer_ids=ids, stage_codes=codes, days_since_last=days,
                        n_purchase_days=n_days)


def _stages(args: argparse.Namespace, out: TextIO) -> int:
    from ecrm.lifecycle import repurchase_cycle, stages

    as_of = parse_as_of(args.as_of, args.tz)
    bands = _bands(args.bands)
    check_out(args.out)
    inputs = scaled_or_none(args)
    if inputs is None:
        log = load_orders_from_args(args)
        customers = load_customers_from_args(args.customers, args)
        cycle = bands if bands is not None else _own_bands(
            repurchase_cycle(log, as_of=as_of, method=args.method))
        result = stages(log, as_of=as_of, cycle=cycle, customers=customers)
    else:
        from ecrm.scale import cycle_from_summary, stages_from_summary

        with scaled_run(args, inputs) as run:
            summary = run.summary(as_of=as_of)
        run.say(summary)
        customers = load_customers_from_args(args.customers, csv_args(args))
        cycle = bands if bands is not None else _own_bands(
            cycle_from_summary(summary, method=args.method))
        result = with_prospects(stages_from_summary(summary, cycle=cycle), customers)
    b = result.bands
    summary = {
        "command": "stages",
        "as_of": as_of,
        "customers": len(result),
        "bands": {"p50_days": b.p50_days, "p70_days": b.p70_days, "p90_days": b.p90_days},
        "scope": result.scope,
        "counts": {stage.value: n for stage, n in result.counts.items()},
    }
    return write_rows(result, args, out, summary)


def register(sub: Any) -> None:
    """Add ``ecrm stages`` to the sub-command parsers ``sub``."""
    p = sub.add_parser(
        "stages",
        help="write every customer's lifecycle stage (5221 bands)",
        description="Put every customer of FILE in a lifecycle stage as of DATE by the "
        "5221 bands of the shop's own repurchase cycle (or --bands): prospect, new, "
        "active, silent, sleeping or churned, with the days since the last purchase day. "
        "FILE may be a Parquet file, directory or glob, read in batches or with "
        "--engine dask (docs/scale.md).",
    )
    add_loading_arguments(p, scaled=True)
    p.add_argument("--as-of", required=True, metavar="DATE", help="as of this date/datetime")
    p.add_argument("--bands", default=None, metavar="P50,P70,P90",
                   help="the band boundaries in days (default: estimated from FILE)")
    p.add_argument("--method", choices=("observed", "kaplan-meier"), default="observed",
                   help="how the cycle is estimated without --bands (default observed)")
    p.add_argument("--customers", default=None, metavar="customers.csv",
                   help="customer profiles: customers without orders are listed as prospects")
    add_output_arguments(p, rows="one row per customer (Parquet for a name ending .parquet)")
    add_scale_arguments(p)
    p.set_defaults(handler=_stages)
