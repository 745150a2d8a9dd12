"""``ecrm tiers``: the store VIP level of every customer, potential members and the distance
to the next level."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from ecrm.cli._loading import (
    add_loading_arguments,
    load_customers_from_args,
    load_orders_from_args,
)
from ecrm.cli._main import parse_as_of
from ecrm.cli._output import add_output_arguments, check_out
from ecrm.cli._scale import (
    add_scale_arguments,
    csv_args,
    scaled_or_none,
    scaled_run,
    write_rows,
)

__all__ = ["register"]


def _tiers(args: argparse.Namespace, out: TextIO) -> int:
    from ecrm.tiers import TAOBAO_STORE_VIP

    as_of = parse_as_of(args.as_of, args.tz)
    check_out(args.out)
    ladder = TAOBAO_STORE_VIP
    inputs = scaled_or_none(args)
    if inputs is None:
        log = load_orders_from_args(args)
        customers = load_customers_from_args(args.customers, args)
        result = ladder.evaluate_log(
            log, as_of=as_of, opted_in=customers if customers is not None else False
        )
    else:
        from ecrm.scale import tiers_from_summary

        with scaled_run(args, inputs) as run:
            summary = run.summary(as_of=as_of)
        run.say(summary)
        customers = load_customers_from_args(args.customers, csv_args(args))
        result = tiers_from_summary(summary, ladder,
                                    opted_in=joined_ids(customers, summary, as_of))
    counts = result.counts()
    summary = {
        "command": "tiers",
        "as_of": as_of,
        "customers": len(result),
        "members": sum(n for level, n in counts.items() if level > 0),
        "potential": result.n_potential,
        "levels": [
            {"level": level, "name": ladder.name_of(level), "customers": n}
            for level, n in counts.items()
        ],
    }
    return write_rows(result, args, out, summary)


def joined_ids(customers: Any, summary: Any, as_of: Any) -> Any:
    """Who had joined before ``as_of`` (``CustomerTable.members``, the rule
    ``evaluate_log`` applies to a table), as ids for ``tiers_from_summary``; ``False``
    without a table.

    Raises:
        InvalidTypeError: the table's ids are of another kind (str / int) than the orders'.
    """
    if customers is None:
        return False
    from ecrm.errors import InvalidTypeError

    ids = customers.customer_ids[customers.members(as_of)]
    have = summary.customer_ids
    if len(ids) and len(have) and (ids.dtype.kind == "U") != (have.dtype.kind == "U"):
        raise InvalidTypeError(
            f"--customers ids must be of the orders' kind ({have.dtype}), got {ids.dtype}")
    return ids


def register(sub: Any) -> None:
    """Add ``ecrm tiers`` to the sub-command parsers ``sub``."""
    p = sub.add_parser(
        "tiers",
        help="write every customer's VIP level, potential members and the distance to the next level",
        description="Evaluate the Taobao store VIP ladder (普通会员 ¥100 or 3 orders … 至尊VIP "
        "¥2,000 or 20 orders) for every customer of FILE as of DATE and write one row per "
        "customer: level, qualified level, opted in, potential member (qualifies but has "
        "not joined), spend, orders and what the next level still needs (either amount). "
        "Without --customers nobody has joined, so every qualifying customer is potential. "
        "FILE may be a Parquet file, directory or glob, read in batches or with "
        "--engine dask (docs/scale.md).",
    )
    add_loading_arguments(p, scaled=True)
    p.add_argument("--as-of", required=True, metavar="DATE", help="evaluate as of this date/datetime")
    p.add_argument("--customers", default=None, metavar="customers.csv",
                   help="customer profiles; member_since says who has joined (opt-in)")
    add_output_arguments(p, rows="one row per customer (Parquet for a name ending .parquet)")
    add_scale_arguments(p)
    p.set_defaults(handler=_tiers)
