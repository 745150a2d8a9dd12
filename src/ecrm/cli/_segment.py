"""``ecrm segment``: evaluate an audience (自定义人群) given as JSON and write the customer list
an operator uploads to the platform."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any, TextIO

from ecrm.cli._loading import (
    add_loading_arguments,
    load_customers_from_args,
    load_events_from_args,
    load_orders_from_args,
)
from ecrm.cli._main import UsageError, parse_as_of
from ecrm.cli._output import add_output_arguments, check_out, write_result

__all__ = ["register"]


def _predicate(text: str) -> Any:
    """The predicate of ``--audience``: inline JSON (starting with ``{``) or a JSON file."""
    from ecrm.segments import Predicate

    source = text.strip()
    if not source.startswith("{"):
        path = Path(text)
        if not path.is_file():
            raise UsageError(f"--audience must be a JSON document or a JSON file, got {text!r}")
        source = path.read_text(encoding="utf-8-sig")
    return Predicate.from_json(source)


def _uses_predictions(predicate: Any) -> bool:
    from ecrm.segments import PredictedClvBetween, ProbabilityAliveBetween

    if isinstance(predicate, ProbabilityAliveBetween | PredictedClvBetween):
        return True
    return any(_uses_predictions(c) for c in predicate.children())


def _prediction_context(predicate: Any, log: Any, as_of: Any, args: argparse.Namespace) -> tuple[Any, list[str]]:
    """The audience context: predictions fitted on the orders when a clause needs them
    (BG/NBD or ``--predict-model`` and Gamma-Gamma, from ``--predict-since`` or the first order)."""
    if not _uses_predictions(predicate):
        return None, []
    from ecrm.predict import ThinDataWarning, predict_orders
    from ecrm.segments import AudienceContext

    since = parse_as_of(args.predict_since, args.tz) if args.predict_since else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ThinDataWarning)
        predictions = predict_orders(log, as_of=as_of, calibration_start=since, model=args.predict_model,
                                     clv_horizon_days=args.clv_horizon_days)
    return AudienceContext(predictions=predictions), [str(w.message) for w in caught]


def _segment(args: argparse.Namespace, out: TextIO) -> int:
    from ecrm.segments import audience

    as_of = parse_as_of(args.as_of, args.tz)
    predicate = _predicate(args.audience)  # bad JSON fails before the orders are read
    check_out(args.out)
    log = load_orders_from_args(args)
    customers = load_customers_from_args(args.customers, args)
    events = load_events_from_args(args.events, args)
    context, notes = _prediction_context(predicate, log, as_of, args)
    result = audience(predicate, customers=customers, orders=log, events=events, as_of=as_of,
                      context=context)
    summary = {
        "command": "segment",
        "as_of": as_of,
        "audience": predicate.describe(),
        "predicate": predicate.to_dict(),
        "count": result.count,
        "universe": len(result.universe_ids),
    }
    if context is not None and context.predictions is not None:
        summary["predictions"] = f"{context.predictions.model!r}; {context.predictions.spend!r}"
        summary["prediction_notes"] = notes
    return write_result(result, args, out, summary)


def register(sub: Any) -> None:
    """Add ``ecrm segment`` to the sub-command parsers ``sub``."""
    p = sub.add_parser(
        "segment",
        help="evaluate an audience given as JSON and write its customer list",
        description="Evaluate a custom audience (自定义人群) over the customers of "
        "--customers as of DATE and write the ids it selects, one per line under a "
        "customer_id header: the list to upload to the platform. The audience is the JSON "
        'form of ecrm.segments ({"version": 1, "predicate": {...}}, see docs/segments.md), '
        "inline or as a file. Clauses on predictions (p_alive, clv) fit BG/NBD and "
        "Gamma-Gamma on the orders first (docs/predict.md).",
    )
    add_loading_arguments(p)
    p.add_argument("--as-of", required=True, metavar="DATE", help="evaluate as of this date/datetime")
    p.add_argument("--audience", required=True, metavar="JSON",
                   help="the audience: a JSON document or the path of a .json file")
    p.add_argument("--customers", required=True, metavar="customers.csv",
                   help="customer profiles: every customer considered (the universe)")
    p.add_argument("--events", default=None, metavar="events.csv",
                   help="browse / cart / favourite events for behaviour clauses")
    p.add_argument("--predict-since", default=None, metavar="DATE",
                   help="for p_alive / clv clauses: the start of the history the prediction "
                   "models are fitted on (default: the first order)")
    p.add_argument("--predict-model", choices=("bgnbd", "mbgnbd", "paretonbd"), default="bgnbd",
                   help="for p_alive / clv clauses: the transaction model (default bgnbd)")
    p.add_argument("--clv-horizon-days", type=int, default=365, metavar="N",
                   help="for clv clauses: days of future value counted (default 365)")
    add_output_arguments(p, rows="the selected customer ids")
    p.set_defaults(handler=_segment)
