"""The churn-risk flow (流失预警 → 挽回): a win-back offer on the day a customer's
probability alive, under a fitted transaction model, falls below the line."""

from __future__ import annotations

import datetime as dt
from typing import cast

import numpy as np
import numpy.typing as npt

from ecrm._deprecate import renamed_kwarg
from ecrm._orderlog import OrderLog
from ecrm._time import datetime_to_us, require_aware, us_to_datetime
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.predict import TransactionModel, summaries
from ecrm.predict._summary import TimeUnit
from ecrm.touch._message import Message, MessageClass
from ecrm.touch.flows._care import FlowContext, _as_list, _due_days, _emit, _require_links

__all__ = ["churn_risk_offers"]

_NAMES = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "paretonbd": "Pareto/NBD"}


def _p_alive_at(orders: OrderLog, model: TransactionModel, start: dt.datetime,
                midnight: dt.datetime) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """(customer ids, P(alive), last purchase day) from the orders before ``midnight``
    (nobody before the calibration start)."""
    from scipy.special import expit

    if not start < midnight:
        return np.zeros(0, dtype=object), np.zeros(0), np.zeros(0, dtype=np.int64)
    s = summaries(orders, as_of=midnight, calibration_start=start, unit=cast(TimeUnit, model.unit))
    with np.errstate(over="ignore"):
        p = expit(-model.log_odds_dead(s.x.astype(np.float64), s.t_x, s.T))
    last_day = s.as_of_day - s.T_days + s.t_x_days
    return s.customer_ids, np.asarray(p, dtype=np.float64), last_day


@renamed_kwarg("window_days", "valid_days")
def churn_risk_offers(
    orders: OrderLog,
    *,
    start: dt.datetime,
    as_of: dt.datetime,
    ctx: FlowContext,
    model: TransactionModel,
    below: float = 0.3,
    calibration_start: dt.datetime | None = None,
    offer: str = "满100返50",
    valid_days: int = 30,
) -> list[Message]:
    """A win-back offer to each customer on the day their P(alive) crosses below ``below``.

    Seed 002's 流失预警模型: warn, and win back, ahead of the days rule. For each local day
    whose ``ctx.send_time`` is in ``(start, as_of]``, the customers' probability alive is
    taken from ``model`` (fitted with :mod:`ecrm.predict`) on the valid orders before that
    day's midnight and before the previous day's; a customer whose probability was at or
    above the line the day before (or who had no history yet) and is below it now gets the
    offer, due at ``ctx.send_time``. A purchase lifts the probability again, so a later
    crossing is a new spell and a new message. MARKETING (template ``win_back``, message
    type ``churn_risk``), keyed ``mkt:churn_risk:customer-<id>:<last purchase date>`` (once
    per spell, however often the flow runs); it expires ``valid_days`` after its day, and
    its metadata says why (``reason``, ``p_alive``, ``last_purchase``).

    Args:
        orders: the shop's orders.
        start, as_of: the run window (aware).
        ctx: composer, customers, channel, templates and links.
        model: a fitted transaction model (its time unit is used for the summaries).
        below: the line on P(alive), in (0, 1).
        calibration_start: the start of the order history the model reads (default: the
            first order in ``orders``); customers who bought before it are not scored.
        offer: the offer text put in the template.
        valid_days: days the offer stays valid (``window_days=`` is its deprecated alias).

    Raises:
        InvalidTypeError: ``model`` is not a :class:`~ecrm.predict.TransactionModel`.
        InvalidValueError: a line outside (0, 1), a non-positive window, ``ctx.link`` not
            set, or ``start`` after ``as_of``.
        MissingDependencyError: scipy (the ``predict`` extra) is not installed.

    .. versionchanged:: 0.1.0
       ``window_days=`` renamed ``valid_days=``.
    """
    if not isinstance(model, TransactionModel):
        raise InvalidTypeError(f"model must be an ecrm.predict.TransactionModel, got {type(model).__name__}")
    if isinstance(below, bool) or not isinstance(below, int | float) or not 0.0 < below < 1.0:
        raise InvalidValueError("below", "must be a probability in (0, 1)", below)
    if isinstance(valid_days, bool) or not isinstance(valid_days, int) or valid_days <= 0:
        raise InvalidValueError("valid_days", "must be a whole number of days > 0", valid_days)
    _require_links(ctx, ["win_back"])
    days = _due_days(start, as_of, ctx)
    if not days or not len(orders):
        return []
    zone = ctx.zone
    if calibration_start is None:
        history_start = us_to_datetime(int(orders.placed_at_us.min()), zone)
    else:
        history_start = require_aware(calibration_start, "calibration_start")
    first_midnight = dt.datetime.combine(days[0][0] - dt.timedelta(days=1), dt.time(0), zone)
    name = _NAMES[model.model]
    out: list[Message] = []
    before = _p_alive_at(orders, model, history_start, first_midnight)
    for day, due in days:
        midnight = dt.datetime.combine(day, dt.time(0), zone)
        now = _p_alive_at(orders, model, history_start, midnight)
        ids, p, last_day = now
        prev_ids, prev_p, _ = before
        # yesterday's probability of each of today's customers (1: no history yesterday)
        prev = np.ones(len(ids))
        if len(prev_ids):
            order = np.argsort(prev_ids, kind="stable")
            pos = np.minimum(np.searchsorted(prev_ids[order], ids), len(prev_ids) - 1)
            found = prev_ids[order][pos] == ids
            prev[found] = prev_p[order[pos[found]]]
        rows = np.flatnonzero((p < below) & (prev >= below))
        before = now
        if not len(rows):
            continue
        chosen = _as_list(ids[rows])
        ends = dt.datetime.combine(day + dt.timedelta(days=valid_days), dt.time(0), zone)
        lasts = [(dt.date(1970, 1, 1) + dt.timedelta(days=int(d))).isoformat() for d in last_day[rows]]
        parts = [f"customer-{c}:{last}" for c, last in zip(chosen, lasts, strict=True)]
        metadata = [{
            "offer": offer,
            "p_alive": f"{float(p[r]):.4f}",
            "last_purchase": last,
            "reason": f"P(alive) {float(p[r]):.2f} < {below:g} under {name} "
                      f"(was {float(prev[r]):.2f} the day before); last purchase {last}",
            "expires_at": ends.isoformat(),
        } for r, last in zip(rows.tolist(), lasts, strict=True)]
        out += _emit(ctx, "churn_risk", MessageClass.MARKETING, ids[rows],
                     np.full(len(rows), datetime_to_us(due), dtype=np.int64), as_of,
                     parts=parts, dedupe=parts, values=[{"offer": offer}] * len(rows),
                     metadata=metadata, template="win_back")
    return out
