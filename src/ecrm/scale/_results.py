"""The usual ecrm results from a merged :class:`CustomerSummary`."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import numpy as np
import numpy.typing as npt

from ecrm._time import local_day
from ecrm.errors import CurrencyMismatchError, InvalidTypeError, InvalidValueError
from ecrm.lifecycle import Bands, RepurchaseCycle, StageResult
from ecrm.lifecycle._cycle import (
    METHODS,
    check_choice,
    check_fallback,
    check_min_repurchasers,
    cycle_from_events,
)
from ecrm.lifecycle._stages import stage_codes_of
from ecrm.rfm import RfmResult
from ecrm.rfm._score import result_from_totals
from ecrm.scale._summary import NO_DAY, UNKNOWN_DAYS, CustomerSummary
from ecrm.tiers import DowngradePolicy, TierLadder, TierResult
from ecrm.tiers._ladder import rolling_levels

__all__ = ["cycle_from_summary", "score_summary", "stages_from_summary", "tiers_from_summary"]



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
        warn_undersized: emit :class:`~ecrm.rfm.UndersizedShopWarning` when the shop has
            accumulated fewer customers (any order before ``as_of``) than
            ``scheme.min_customers``, as :func:`ecrm.rfm.score` does.

    Returns:
        An :class:`~ecrm.rfm.RfmResult`.

    Raises:
        InvalidTypeError: ``summary`` is not a CustomerSummary.
    """
    s = _check(summary)
    scheme, tz, as_of = s.scheme, s.tz, s.as_of
    scored = s.rfm_count > 0
    ids, frequency = s.customer_ids[scored], s.rfm_count[scored]
    monetary, last = s.rfm_net_fen[scored], s.rfm_last_us[scored]
    return result_from_totals(
        ids, frequency, monetary, last, s.customer_ids[~scored],
        accumulated=int(np.count_nonzero(s.known)), as_of=as_of, scheme=scheme, tz=tz,
        currency=s.currency, warn_undersized=warn_undersized,
    )


def tiers_from_summary(
    summary: CustomerSummary,
    ladder: TierLadder,
    *,
    opted_in: bool | npt.NDArray[np.bool_] | Collection[Any],
    policy: DowngradePolicy | None = None,
) -> TierResult:
    """Store VIP levels from a summary, equal to ``ladder.evaluate_log`` on the log with
    the same ``policy``: cumulative (all valid orders before ``as_of``; the default), or a
    rolling window, which needs a summary made with ``tier_months`` equal to its months.

    Args:
        summary: the merged summary of every order of the shop.
        ladder: the tier ladder (same currency as the summary).
        opted_in: who has joined: ``True``/``False`` for everyone, a bool array aligned
            with ``summary.customer_ids``, or a collection of customer ids.
        policy: the downgrade policy (default never: cumulative).

    Returns:
        A :class:`~ecrm.tiers.TierResult` over the customers with an order before ``as_of``.

    Raises:
        InvalidTypeError: ``summary`` or ``ladder`` of the wrong type.
        CurrencyMismatchError: the summary's currency differs from the ladder's.
        InvalidValueError: a bool array of the wrong shape; a rolling policy whose months
            differ from the summary's ``tier_months``.
    """
    s = _check(summary)
    if policy is not None and not isinstance(policy, DowngradePolicy):
        raise InvalidTypeError(f"policy must be DowngradePolicy or None, got {type(policy).__name__}")
    months = None if policy is None else policy.lookback_months
    if months is not None and s.tier_months != months:
        raise InvalidValueError(
            "policy", f"needs a summary made with tier_months={months} "
            "(summarize(..., tier_months=...))", f"tier_months={s.tier_months}",
        )
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
    kept = None
    if months is None:
        spend, count = s.spend_fen[keep], s.orders[keep]
        q = ladder.levels_of(spend, count)
    else:
        spend, count = s.tier_spend_fen[keep], s.tier_orders[keep]
        q, kept = rolling_levels(ladder, spend, count, s.spend_fen[keep], s.orders[keep])
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
        kept=kept,
    )


def stages_from_summary(
    summary: CustomerSummary,
    *,
    cycle: RepurchaseCycle | Bands | tuple[int, int, int],
) -> StageResult:
    """Lifecycle stages from a summary, equal to :func:`ecrm.lifecycle.stages` on the log
    at the summary's ``as_of`` with its statuses.

    The stage itself needs only the last purchase day and whether there was a second one,
    which merge exactly for any partition; the result's ``n_purchase_days`` needs the
    count of distinct purchase days, exact when the orders were split by customer or by
    time into consecutive slices merged with their neighbours (as every reader in
    :mod:`ecrm.scale` does with time-ordered files and batches).

    Args:
        summary: the merged summary of every order of the shop.
        cycle: a :class:`~ecrm.lifecycle.RepurchaseCycle` with boundaries,
            :class:`~ecrm.lifecycle.Bands` or a (p50, p70, p90) tuple of days.

    Returns:
        A :class:`~ecrm.lifecycle.StageResult` over every customer with an order (any
        status) placed before ``as_of``.

    Raises:
        InvalidTypeError: ``summary`` is not a CustomerSummary.
        InvalidValueError: a cycle without boundaries; some customer's purchase days were
            split between slices that overlap in time (the message names the first and
            how many), so ``n_purchase_days`` cannot be exact.
    """
    s = _check(summary)
    if isinstance(cycle, RepurchaseCycle):
        bands, scope = cycle.bands, cycle.scope
    else:
        bands, scope = Bands.of(cycle), "default"
    keep = np.flatnonzero(s.known)
    n_days = s.n_days[keep]
    unknown = np.flatnonzero(n_days == UNKNOWN_DAYS)
    if unknown.size:
        first = s.customer_ids[keep[unknown[0]]]
        raise InvalidValueError(
            "n_purchase_days",
            f"cannot be counted exactly for {unknown.size:,} customer(s): their orders were "
            "split between slices whose purchase days overlap (split the orders by customer, "
            "or by time into consecutive slices merged in order)",
            first.item() if isinstance(first, np.generic) else first,
        )
    as_of_day = local_day(s.as_of, s.tz)
    bought = n_days > 0
    days = np.where(bought, as_of_day - s.last_day[keep], -1).astype(np.int64)
    return StageResult(
        customer_ids=s.customer_ids[keep],
        stage_codes=stage_codes_of(days, n_days, bands),
        days_since_last=days,
        n_purchase_days=n_days,
        bands=bands,
        scope=scope,
        as_of=s.as_of,
        _as_of_day=as_of_day,
    )


def cycle_from_summary(
    summary: CustomerSummary,
    *,
    method: str = "observed",
    min_repurchasers: int = 30,
    fallback: RepurchaseCycle | Bands | tuple[int, int, int] | None = None,
) -> RepurchaseCycle:
    """The store's repurchase cycle from a summary, equal to
    :func:`ecrm.lifecycle.repurchase_cycle` on the log (``same_day="merge"``) at the
    summary's ``as_of`` with its statuses. The first and second distinct purchase days
    merge exactly for any partition of the orders.

    Args:
        summary: the merged summary of every order of the shop.
        method, min_repurchasers, fallback: as :func:`ecrm.lifecycle.repurchase_cycle`.

    Returns:
        A :class:`~ecrm.lifecycle.RepurchaseCycle`.

    Raises:
        InvalidTypeError: ``summary`` is not a CustomerSummary.
        InvalidValueError: an unknown ``method``, ``min_repurchasers`` < 1, a fallback
            cycle without boundaries.
    """
    s = _check(summary)
    check_choice("method", method, METHODS)
    min_rep = check_min_repurchasers(min_repurchasers)
    fb = check_fallback(fallback)
    buyers = s.first_day != NO_DAY
    first = s.first_day[buyers]
    second = s.second_day[buyers]
    has_second = second != NO_DAY
    return cycle_from_events(
        first, has_second, (second - first)[has_second], as_of=s.as_of,
        as_of_day=local_day(s.as_of, s.tz), method=method, same_day="merge",
        min_repurchasers=min_rep, fallback=fb,
    )
