"""``ecrm predict FILE --as-of DATE``: per-customer predictions from an orders CSV, or
from Parquet / many files / Dask through the prediction summaries of :mod:`ecrm.scale`."""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import warnings
from typing import Any, TextIO

from ecrm._time import us_to_datetime
from ecrm.cli._loading import add_loading_arguments, load_orders_from_args
from ecrm.cli._main import UsageError, parse_as_of
from ecrm.cli._scale import add_scale_arguments, scaled_or_none, scaled_run

__all__ = ["register"]


def _first_order_us(log: Any) -> Any:
    """One chunk's earliest order (any status), as a one-element array (merged by min)."""
    import numpy as np

    return np.asarray([log.placed_at_us.min()], dtype=np.int64)


def _scaled_summaries(
    args: argparse.Namespace, inputs: Any, as_of: dt.datetime, since: dt.datetime | None
) -> tuple[Any, dt.datetime, str]:
    """The BTYD summaries of FILE through :mod:`ecrm.scale` (the calibration start, when
    not given, is the first order of every file: one more pass over them first)."""
    import numpy as np

    from ecrm._time import as_zone
    from ecrm.scale import merge_predict, predict_summary, summarize_for_predict

    with scaled_run(args, inputs) as run:
        if since is None:
            first = run.fold(_first_order_us, np.minimum)
            since = us_to_datetime(int(first[0]), as_zone(args.tz))
        merged = run.fold(functools.partial(summarize_for_predict, as_of=as_of,
                                            calibration_start=since),
                          merge_predict)
    return predict_summary(merged), since, run.say(merged)


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
    since = parse_as_of(args.since, args.tz) if args.since else None
    inputs = scaled_or_none(args)
    if inputs is None:
        log = load_orders_from_args(args)
        if since is not None:
            start = since
        elif len(log):
            start = us_to_datetime(int(log.placed_at_us.min()), log.tz)
        else:
            raise UsageError("the file has no orders")
        source = repr(log)
        s = summaries(log, as_of=as_of, calibration_start=start)
    else:
        s, start, source = _scaled_summaries(args, inputs, as_of, since)
    fit = {"bgnbd": fit_bgnbd, "mbgnbd": fit_mbgnbd, "paretonbd": fit_paretonbd}[args.model]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ThinDataWarning)
        model = fit(s)
        spend = fit_gammagamma(s)
    p = predict(model, s, horizon_days=args.horizon_days, spend=spend)
    print(source, file=out)
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
        description="Fit BG/NBD (or another model) and Gamma-Gamma on FILE and predict per "
        "customer. FILE may be a Parquet file, directory or glob, read in batches or with "
        "--engine dask (docs/scale.md); without --since that reads the files twice.",
    )
    p.add_argument("--as-of", required=True, metavar="DATE", help="predict as of this date/datetime")
    p.add_argument("--since", default=None, metavar="DATE",
                   help="calibration start (default: the first order in the file)")
    p.add_argument("--model", choices=("bgnbd", "mbgnbd", "paretonbd"), default="bgnbd")
    p.add_argument("--horizon-days", type=int, default=30, metavar="N",
                   help="days ahead for expected purchases (default 30)")
    add_loading_arguments(p, scaled=True)
    p.add_argument("--out", default=None, metavar="predictions.csv", help="write per-customer rows here")
    add_scale_arguments(p)
    p.set_defaults(handler=_predict)
