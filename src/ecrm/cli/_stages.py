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
from ecrm.cli._output import add_output_arguments, check_out, write_result

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


def _stages(args: argparse.Namespace, out: TextIO) -> int:
    from ecrm.lifecycle import repurchase_cycle, stages

    as_of = parse_as_of(args.as_of, args.tz)
    bands = _bands(args.bands)
    check_out(args.out)
    log = load_orders_from_args(args)
    customers = load_customers_from_args(args.customers, args)
    if bands is not None:
        cycle: Any = bands
    else:
        cycle = repurchase_cycle(log, as_of=as_of, method=args.method)
        if not cycle.has_bands:
            raise UsageError(
                "no customer repurchased before --as-of, so the shop has no 5221 bands of its "
                "own; give them with --bands P50,P70,P90 (for example --bands 30,60,90)"
            )
    result = stages(log, as_of=as_of, cycle=cycle, customers=customers)
    b = result.bands
    summary = {
        "command": "stages",
        "as_of": as_of,
        "customers": len(result),
        "bands": {"p50_days": b.p50_days, "p70_days": b.p70_days, "p90_days": b.p90_days},
        "scope": result.scope,
        "counts": {stage.value: n for stage, n in result.counts.items()},
    }
    return write_result(result, args, out, summary)


def register(sub: Any) -> None:
    """Add ``ecrm stages`` to the sub-command parsers ``sub``."""
    p = sub.add_parser(
        "stages",
        help="write every customer's lifecycle stage (5221 bands)",
        description="Put every customer of FILE in a lifecycle stage as of DATE by the "
        "5221 bands of the shop's own repurchase cycle (or --bands): prospect, new, "
        "active, silent, sleeping or churned, with the days since the last purchase day.",
    )
    add_loading_arguments(p)
    p.add_argument("--as-of", required=True, metavar="DATE", help="as of this date/datetime")
    p.add_argument("--bands", default=None, metavar="P50,P70,P90",
                   help="the band boundaries in days (default: estimated from FILE)")
    p.add_argument("--method", choices=("observed", "kaplan-meier"), default="observed",
                   help="how the cycle is estimated without --bands (default observed)")
    p.add_argument("--customers", default=None, metavar="customers.csv",
                   help="customer profiles: customers without orders are listed as prospects")
    add_output_arguments(p, rows="one row per customer")
    p.set_defaults(handler=_stages)
