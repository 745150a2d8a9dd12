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
from ecrm.cli._output import add_output_arguments, check_out, write_result

__all__ = ["register"]


def _tiers(args: argparse.Namespace, out: TextIO) -> int:
    from ecrm.tiers import TAOBAO_STORE_VIP

    as_of = parse_as_of(args.as_of, args.tz)
    check_out(args.out)
    log = load_orders_from_args(args)
    customers = load_customers_from_args(args.customers, args)
    ladder = TAOBAO_STORE_VIP
    result = ladder.evaluate_log(
        log, as_of=as_of, opted_in=customers if customers is not None else False
    )
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
    return write_result(result, args, out, summary)


def register(sub: Any) -> None:
    """Add ``ecrm tiers`` to the sub-command parsers ``sub``."""
    p = sub.add_parser(
        "tiers",
        help="write every customer's VIP level, potential members and the distance to the next level",
        description="Evaluate the Taobao store VIP ladder (普通会员 ¥100 or 3 orders … 至尊VIP "
        "¥2,000 or 20 orders) for every customer of FILE as of DATE and write one row per "
        "customer: level, qualified level, opted in, potential member (qualifies but has "
        "not joined), spend, orders and what the next level still needs (either amount). "
        "Without --customers nobody has joined, so every qualifying customer is potential.",
    )
    add_loading_arguments(p)
    p.add_argument("--as-of", required=True, metavar="DATE", help="evaluate as of this date/datetime")
    p.add_argument("--customers", default=None, metavar="customers.csv",
                   help="customer profiles; member_since says who has joined (opt-in)")
    add_output_arguments(p, rows="one row per customer")
    p.set_defaults(handler=_tiers)
