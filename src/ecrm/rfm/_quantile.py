"""Schemes fitted to a shop's own distribution: :func:`quantile_scheme`."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt
from dateutil.relativedelta import relativedelta

from ecrm._deprecate import renamed_kwarg
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._time import US_PER_DAY, datetime_to_us, require_aware, utc_offsets_us
from ecrm.errors import InvalidTypeError, InvalidValueError, SchemeError
from ecrm.rfm._scheme import TAOBAO_PGSB, Bins, RecencyBins, RfmScheme, day_span
from ecrm.rfm._score import window_totals

__all__ = ["quantile_cuts", "quantile_scheme"]

IntArray = npt.NDArray[np.int64]


def quantile_cuts(values: IntArray, bins: int) -> list[int]:
    """The distinct cut points of ``values`` at ``k / bins`` for ``k = 1 .. bins − 1``.

    Each cut is an observed value: the element at sorted position
    ``⌊k·(n − 1) / bins⌋`` (numpy's ``method="lower"``), computed with integer arithmetic
    so no float rounding can move it. Duplicates are dropped, so heavily tied data gives
    fewer cuts. Depends only on the multiset of values, never on their order.

    Args:
        values: int64, shape (n,), n >= 1.
        bins: the number of bins wanted (>= 1).
    """
    ordered = np.sort(values)
    n = len(ordered)
    picked = {int(ordered[(k * (n - 1)) // bins]) for k in range(1, bins)}
    return sorted(picked)


def _check_bins(bins: object) -> int:
    if isinstance(bins, bool) or not isinstance(bins, int):
        raise InvalidTypeError(f"bins must be an int, got {type(bins).__name__} {bins!r}")
    if bins < 1:
        raise InvalidValueError("bins", "must be >= 1", bins)
    return bins


def _scaled_cutoffs(lo: int, hi: int) -> tuple[int, int, int]:
    """TAOBAO_PGSB's P/G/S cut-offs moved to the total range ``lo .. hi`` proportionally."""
    ref_lo, ref_hi = TAOBAO_PGSB.min_total, TAOBAO_PGSB.max_total
    span = hi - lo
    p, g, s = (
        lo + math.ceil((c - ref_lo) * span / (ref_hi - ref_lo)) for c in TAOBAO_PGSB.grade_cutoffs
    )
    # Keep them strictly inside the range and strictly descending on narrow ranges.
    s = max(s, lo + 1)
    g = max(g, s + 1)
    p = max(p, g + 1)
    return p, g, s


@renamed_kwarg("window", "lookback")
def quantile_scheme(
    orders: OrderLog,
    *,
    as_of: dt.datetime,
    bins: int = 5,
    weights: Sequence[int] = (1, 3, 4),
    grade_cutoffs: Sequence[int] | None = None,
    statuses: Iterable[OrderStatus] | None = None,
    lookback: relativedelta = relativedelta(years=1),  # noqa: B008 - immutable value
    min_customers: int = 0,
    name: str | None = None,
) -> RfmScheme:
    """A scheme whose bins are quantiles (by default quintiles) of the shop's own customers.

    The customers scored are those with a valid order in the window ``[as_of − lookback,
    as_of)`` (as in :func:`score`). Their F (valid orders) and M (net fen) values give the
    lower edges: for each cut point ``c`` of :func:`quantile_cuts` (an observed value at
    ``k / bins``), values strictly greater than ``c`` go up a bin, so the edge is ``c + 1``;
    edges that would be empty (above the maximum) are dropped, the first F edge is 1 and
    the first M edge 0. R uses the age of the last valid order in whole days rounded up
    (``⌈(as_of − last) / 1 day⌉`` on the store's wall clock, 1 … 366): customers at most
    ``c`` days old get a better score, as ``RecencyBins.days``; a cut at or above the
    oldest age is dropped.

    Ties: cuts are observed values taken at fixed sorted positions, duplicates removed,
    so the result is deterministic and independent of row order. With fewer distinct
    values than ``bins`` a component simply gets fewer bins (scores ``1 .. k``, the best
    bin scoring ``k``); a shop where every customer bought once has a single F bin.

    Args:
        orders: the order log.
        as_of: the fitting moment (aware).
        bins: bins wanted per component (>= 1).
        weights: R, F, M weights (default 1, 3, 4).
        grade_cutoffs: P, G, S lowest totals; default: TAOBAO_PGSB's cut-offs moved to the
            fitted total range in proportion (rounded up).
        statuses: which statuses count as valid.
        lookback: how far back the evaluation window reaches (default 1 year);
            ``window=`` is the deprecated alias.
        min_customers: stored in the scheme (default 0: no size warning).
        name: default ``"quantile-<bins> as of <date>"``.

    Returns:
        A validated :class:`RfmScheme`.

    Raises:
        SchemeError: the shop has no scored customer, or the fitted total range is too
            narrow for three grade cut-offs (or the given ones do not fit it).
    """
    if not isinstance(orders, OrderLog):
        raise InvalidTypeError(f"orders must be an OrderLog, got {type(orders).__name__}")
    as_of = require_aware(as_of, "as_of")
    bins = _check_bins(bins)
    local = as_of.astimezone(orders.tz)
    end_us = datetime_to_us(local)
    if not isinstance(lookback, relativedelta):
        raise InvalidTypeError(f"lookback must be a relativedelta, got {lookback!r}")
    start_us = datetime_to_us(local - lookback)
    frequency, monetary, last = window_totals(orders, statuses, start_us, end_us)
    scored = frequency > 0
    if not scored.any():
        raise SchemeError(
            "orders", "must hold at least one valid order in the window to fit a scheme",
            f"{len(orders)} orders", show_value=True,
        )
    frequency, monetary, last = frequency[scored], monetary[scored], last[scored]
    # Ages on the store's wall clock, as RecencyBins.days counts them (as_of − c days is
    # wall-clock arithmetic): ceil((wall(as_of) − wall(last)) / 1 day), >= 1 in practice.
    wall_last = last + utc_offsets_us(last, orders.tz)
    wall_end = end_us + int(utc_offsets_us(np.asarray([end_us], dtype=np.int64), orders.tz)[0])
    age_days = np.maximum(-((wall_last - wall_end) // US_PER_DAY), 1)

    f_edges = [1] + [c + 1 for c in quantile_cuts(frequency, bins) if c + 1 <= frequency.max()]
    m_edges = [0] + [c + 1 for c in quantile_cuts(monetary, bins) if c + 1 <= monetary.max()]
    # A cut must leave someone older (else its last bin is empty) and fit in the window.
    longest = min(int(age_days.max()), day_span(lookback)[0])
    r_days = [c for c in quantile_cuts(age_days, bins) if c < longest]
    f_edges = sorted(set(f_edges))
    m_edges = sorted(set(m_edges))

    recency = RecencyBins.days(r_days, scores=range(len(r_days) + 1, 0, -1))
    freq_bins = Bins(edges=tuple(f_edges), scores=tuple(range(1, len(f_edges) + 1)))
    mon_bins = Bins(edges=tuple(m_edges), scores=tuple(range(1, len(m_edges) + 1)))
    w = tuple(weights)
    if len(w) != 3 or not all(type(x) is int and x >= 1 for x in w):
        raise SchemeError("weights", "must be 3 ints >= 1 (R, F, M)", w)
    if grade_cutoffs is None:
        lo = w[0] + w[1] + w[2]
        hi = w[0] * len(recency.scores) + w[1] * len(f_edges) + w[2] * len(m_edges)
        if hi - lo < 3:
            raise SchemeError(
                "grade_cutoffs",
                f"cannot be derived: the fitted totals only span {lo}..{hi} (too few distinct "
                "R, F and M values); pass grade_cutoffs or use fewer grades",
                None,
                show_value=False,
            )
        cut: tuple[int, ...] = _scaled_cutoffs(lo, hi)
    else:
        cut = tuple(grade_cutoffs)
    return RfmScheme(
        recency=recency,
        frequency=freq_bins,
        monetary=mon_bins,
        grade_cutoffs=cut,
        weights=w,
        lookback=lookback,
        min_customers=min_customers,
        name=name if name is not None else f"quantile-{bins} as of {local.date().isoformat()}",
    )
