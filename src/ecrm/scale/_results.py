"""The usual ecrm results from a merged :class:`CustomerSummary`."""

from __future__ import annotations

import warnings
from collections.abc import Collection
from typing import Any

import numpy as np
import numpy.typing as npt

from ecrm._errors import CurrencyMismatchError, InvalidTypeError, InvalidValueError
from ecrm._time import datetime_to_us, local_day, local_days
from ecrm.rfm import RfmResult, UndersizedShopWarning
from ecrm.rfm._kernels import grade_codes, score_lower_edges, score_recency
from ecrm.scale._summary import CustomerSummary
from ecrm.tiers import TierLadder, TierResult

__all__ = ["score_summary", "tiers_from_summary"]


def _frozen(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
    a.flags.writeable = False
    return a


def _check(summary: object) -> CustomerSummary:
    if not isinstance(summary, CustomerSummary):
        raise InvalidTypeError(
            f"summary must be a CustomerSummary, got {type(summary).__name__}"
        )
    return summary


def score_summary(summary: CustomerSummary, *, warn_undersized: bool = True) -> RfmResult:
    """RFM scores and grades from a summary, equal to :func:`ecrm.rfm.score` on the log.

    Scores with the summary's scheme at its ``as_of``, using the same kernels as
    :func:`ecrm.rfm.score`; the arrays are equal bit for bit to scoring the whole log.

    Args:
        summary: the merged summary of every order of the shop.
        warn_undersized: emit :class:`~ecrm.rfm.UndersizedShopWarning` when fewer
            customers are scored than ``scheme.min_customers``.

    Returns:
        An :class:`~ecrm.rfm.RfmResult`.

    Raises:
        InvalidTypeError: ``summary`` is not a CustomerSummary.
    """
    s = _check(summary)
    scheme, tz, as_of = s.scheme, s.tz, s.as_of
    local = as_of.astimezone(tz)
    scored = s.rfm_count > 0
    ids, frequency = s.customer_ids[scored], s.rfm_count[scored]
    monetary, last = s.rfm_net_fen[scored], s.rfm_last_us[scored]
    thresholds = np.asarray(
        [datetime_to_us(local - d) for d in scheme.recency.within], dtype=np.int64
    )
    r = score_recency(last, thresholds, np.asarray(scheme.recency.scores, dtype=np.int64))
    f = score_lower_edges(
        frequency,
        np.asarray(scheme.frequency.edges, dtype=np.int64),
        np.asarray(scheme.frequency.scores, dtype=np.int64),
    )
    m = score_lower_edges(
        monetary,
        np.asarray(scheme.monetary.edges, dtype=np.int64),
        np.asarray(scheme.monetary.scores, dtype=np.int64),
    )
    w_r, w_f, w_m = scheme.weights
    total = w_r * r + w_f * f + w_m * m
    grade = grade_codes(total, np.asarray(scheme.grade_cutoffs, dtype=np.int64))
    recency_days = local_day(as_of, tz) - local_days(last, tz)
    undersized = len(ids) < scheme.min_customers
    if undersized and warn_undersized:
        warnings.warn(
            f"the shop has {len(ids):,} scored customers, fewer than the "
            f"{scheme.min_customers:,} that scheme {scheme.name!r} was made for; its grades "
            "may say little (tune the scheme or use quantile_scheme())",
            UndersizedShopWarning,
            stacklevel=2,
        )
    return RfmResult(
        customer_ids=_frozen(ids),
        last_order_us=_frozen(last),
        recency_days=_frozen(recency_days.astype(np.int64, copy=False)),
        frequency=_frozen(frequency),
        monetary_fen=_frozen(monetary),
        r=_frozen(r),
        f=_frozen(f),
        m=_frozen(m),
        total=_frozen(total),
        grade=_frozen(grade),
        unscored_customer_ids=_frozen(s.customer_ids[~scored]),
        as_of=as_of,
        scheme=scheme,
        tz=tz,
        currency=s.currency,
        undersized=undersized,
    )


def tiers_from_summary(
    summary: CustomerSummary,
    ladder: TierLadder,
    *,
    opted_in: bool | npt.NDArray[np.bool_] | Collection[Any],
) -> TierResult:
    """Store VIP levels from a summary, equal to ``ladder.evaluate_log`` on the log
    (cumulative policy: all valid orders before ``as_of``).

    Args:
        summary: the merged summary of every order of the shop.
        ladder: the tier ladder (same currency as the summary).
        opted_in: who has joined: ``True``/``False`` for everyone, a bool array aligned
            with ``summary.customer_ids``, or a collection of customer ids.

    Returns:
        A :class:`~ecrm.tiers.TierResult` over the customers with an order before ``as_of``.

    Raises:
        InvalidTypeError: ``summary`` or ``ladder`` of the wrong type.
        CurrencyMismatchError: the summary's currency differs from the ladder's.
        InvalidValueError: a bool array of the wrong shape.
    """
    s = _check(summary)
    if not isinstance(ladder, TierLadder):
        raise InvalidTypeError(f"ladder must be a TierLadder, got {type(ladder).__name__}")
    if s.currency != ladder.currency:
        raise CurrencyMismatchError(
            "summary.currency", f"must be the ladder's currency {ladder.currency}", s.currency
        )
    n = len(s)
    if isinstance(opted_in, bool):
        opted = np.full(n, opted_in, dtype=np.bool_)
    elif isinstance(opted_in, np.ndarray) and opted_in.dtype == np.bool_:
        if opted_in.shape != (n,):
            raise InvalidValueError(
                "opted_in", f"must be a bool array of shape ({n},)", opted_in.shape
            )
        opted = opted_in
    else:
        wanted = np.asarray(list(opted_in), dtype=s.customer_ids.dtype if n else None)
        opted = np.isin(s.customer_ids, wanted)
    keep = np.flatnonzero(s.known)
    spend, count = s.spend_fen[keep], s.orders[keep]
    q = ladder.levels_of(spend, count)
    opt = opted[keep]
    return TierResult(
        ladder=ladder,
        as_of=s.as_of,
        currency=s.currency,
        customer_ids=s.customer_ids[keep],
        spend_fen=spend,
        orders=count,
        qualified_level=q,
        level=np.where(opt, q, 0),
        opted_in=opt,
        potential=(q > 0) & ~opt,
    )
