"""``ecrm predict FILE --as-of DATE``: per-customer predictions from an orders CSV."""

from __future__ import annotations

import argparse
import warnings
from typing import Any, TextIO

from ecrm.cli._loading import add_loading_arguments, load_orders_from_args
from ecrm.cli._main import UsageError, parse_as_of

__all__ = ["register"]


def _predict(args: argparse.Namespace, out: TextIO) -> int:
    from ecrm.cli._commands import _check_output
    from ecrm.predict import (
        ThinDataWarning,
        fit_bgnbd,
        fit_gammagamma,
        fit_mbgnbd,
        fit_paretonbd,
        predict,
        summaries,
    )

    as_of = parse_as_of(args.as_of, args.tz)
    target = _check_output(args.out, "--out") if args.out else None
    log = load_orders_from_args(args)
    if args.since:
        start = parse_as_of(args.since, args.tz)
    elif len(log):
        from ecrm._time import us_to_datetime

        start = us_to_datetime(int(log.placed_at_us.min()), log.tz)
    else:
        raise UsageError("the file has no orders")
    fit = {"bgnbd": fit_bgnbd, "mbgnbd": fit_mbgnbd, "paretonbd": fit_paretonbd}[args.model]
    s = summaries(log, as_of=as_of, calibration_start=start)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ThinDataWarning)
        model = fit(s)
        spend = fit_gammagamma(s)
    p = predict(model, s, horizon_days=args.horizon_days, spend=spend)
    print(f"{log!r}", file=out)
    print(f"{s!r}, calibration from {start.date()} to {as_of.isoformat()}", file=out)
    print(f"{model!r}\n{spend!r}\n{p!r}", file=out)
    for w in caught:
        print(f"note: {w.message}", file=out)
    if target is not None:
        p.to_csv(target)
        print(f"wrote per-customer predictions to {target}", file=out)
    return 0


def register(sub: Any) -> None:
    """Add the ``predict`` subcommand to the ``ecrm`` parser."""
    p = sub.add_parser(
        "predict",
        help="probability alive, next purchase and CLV per customer of an orders CSV",
        description="Fit BG/NBD (or another model) and Gamma-Gamma on FILE and predict per customer.",
    )
    p.add_argument("--as-of", required=True, metavar="DATE", help="predict as of this date/datetime")
    p.add_argument("--since", default=None, metavar="DATE",
                   help="calibration start (default: the first order in the file)")
    p.add_argument("--model", choices=("bgnbd", "mbgnbd", "paretonbd"), default="bgnbd")
    p.add_argument("--horizon-days", type=int, default=30, metavar="N",
                   help="days ahead for expected purchases (default 30)")
    add_loading_arguments(p)
    p.add_argument("--out", default=None, metavar="predictions.csv", help="write per-customer rows here")
    p.set_defaults(handler=_predict)
