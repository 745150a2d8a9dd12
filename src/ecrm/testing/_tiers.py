"""Strategies for the tier ladder: ``tiers()``, ``tier_ladders()``, ``memberships()``.

Values are built valid by construction (no filtering): thresholds are drawn as distinct
sorted integers, discounts as non-increasing per-mille values in 700..1000.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ecrm._deprecate import renamed_kwarg
from ecrm._money import DEFAULT_CURRENCY, Money
from ecrm.testing._core import aware_datetimes
from ecrm.tiers._ladder import MAX_DISCOUNT_PERMILLE, MIN_DISCOUNT_PERMILLE, Tier, TierLadder
from ecrm.tiers._membership import DowngradePolicy, Membership

__all__ = ["memberships", "tier_ladders", "tiers"]

_NAMES = ("普通会员", "高级会员", "VIP会员", "至尊VIP", "钻石会员", "黑卡会员", "银卡", "金卡")


@renamed_kwarg("max_fen", "max_amount")
def tiers(
    *,
    min_level: int = 1,
    max_level: int = 8,
    max_amount: int = 1_000_000,
    max_orders: int = 100,
    currency: str = DEFAULT_CURRENCY,
) -> st.SearchStrategy[Tier]:
    """Single :class:`Tier` values (each valid on its own; a ladder relates them)."""
    return st.builds(
        Tier,
        level=st.integers(min_value=min_level, max_value=max_level),
        name=st.sampled_from(_NAMES),
        min_spend=st.integers(min_value=1, max_value=max_amount).map(lambda f: Money(f, currency)),
        min_orders=st.integers(min_value=1, max_value=max_orders),
        discount_permille=st.integers(
            min_value=MIN_DISCOUNT_PERMILLE, max_value=MAX_DISCOUNT_PERMILLE
        ),
    )


@st.composite
def _tier_ladders(
    draw: st.DrawFn,
    *,
    min_levels: int,
    max_levels: int,
    max_amount: int,
    max_orders: int,
    currency: str,
) -> TierLadder:
    n = draw(st.integers(min_value=min_levels, max_value=max_levels))
    spends = sorted(
        draw(st.sets(st.integers(min_value=1, max_value=max_amount), min_size=n, max_size=n))
    )
    counts = sorted(
        draw(st.sets(st.integers(min_value=1, max_value=max_orders), min_size=n, max_size=n))
    )
    discounts = sorted(
        draw(st.lists(
            st.integers(min_value=MIN_DISCOUNT_PERMILLE, max_value=MAX_DISCOUNT_PERMILLE),
            min_size=n, max_size=n,
        )),
        reverse=True,
    )
    names = [_NAMES[i] if i < len(_NAMES) else f"L{i + 1}" for i in range(n)]
    return TierLadder(tuple(
        Tier(i + 1, names[i], Money(spends[i], currency), counts[i], discounts[i])
        for i in range(n)
    ))


@renamed_kwarg("max_fen", "max_amount")
def tier_ladders(
    *,
    min_levels: int = 1,
    max_levels: int = 6,
    max_amount: int = 500_000,
    max_orders: int = 40,
    currency: str = DEFAULT_CURRENCY,
) -> st.SearchStrategy[TierLadder]:
    """Valid :class:`TierLadder` s: strictly rising thresholds, non-rising discounts.

    Args:
        min_levels, max_levels: number of member levels (>= 1).
        max_amount: the largest spend threshold in fen (``max_fen`` is a deprecated alias).
        max_orders: the largest order-count threshold (>= ``max_levels``).
        currency: the ladder's currency.
    """
    if max_orders < max_levels or max_amount < max_levels:
        raise InvalidArgument("max_orders and max_amount must be at least max_levels")
    return _tier_ladders(
        min_levels=min_levels, max_levels=max_levels, max_amount=max_amount,
        max_orders=max_orders, currency=currency,
    )


@st.composite
def _memberships(
    draw: st.DrawFn,
    *,
    ladders: st.SearchStrategy[TierLadder],
    policies: st.SearchStrategy[DowngradePolicy],
    max_steps: int,
) -> Membership:
    ladder = draw(ladders)
    policy = draw(policies)
    cid = draw(st.integers(min_value=1, max_value=10_000).map(lambda i: f"c{i:05d}"))
    record = Membership(cid, ladder=ladder, policy=policy)
    at = draw(aware_datetimes(max_value=dt.datetime(2025, 12, 31)))
    first = ladder.tiers[0]
    # Cumulative totals only grow, like a real customer's history.
    spend = draw(st.integers(min_value=first.min_spend.fen, max_value=first.min_spend.fen * 4 + 1))
    orders = draw(st.integers(min_value=0, max_value=first.min_orders + 5))
    record = record.join(at, Money(spend, ladder.currency), orders)
    for _ in range(draw(st.integers(min_value=0, max_value=max_steps))):
        at = at + dt.timedelta(days=draw(st.integers(min_value=0, max_value=120)))
        spend += draw(st.integers(min_value=0, max_value=100_000))
        orders += draw(st.integers(min_value=0, max_value=4))
        total = Money(spend, ladder.currency)
        if record.is_member:
            if draw(st.integers(min_value=0, max_value=5)) == 0:
                record = record.leave(at)
            else:
                record = record.reevaluate(at, total, orders)
        else:
            record = record.join(at, total, orders)
    return record


def memberships(
    *,
    ladders: st.SearchStrategy[TierLadder] | None = None,
    policies: st.SearchStrategy[DowngradePolicy] | None = None,
    max_steps: int = 8,
) -> st.SearchStrategy[Membership]:
    """:class:`Membership` records built by a valid sequence of joins, re-evaluations and leaves.

    Args:
        ladders: the ladders to draw from (default :func:`tier_ladders`).
        policies: downgrade policies (default never, or a rolling window of 1–24 months).
        max_steps: the most operations after the first join.
    """
    return _memberships(
        ladders=ladders if ladders is not None else tier_ladders(max_levels=4),
        policies=policies if policies is not None else st.one_of(
            st.just(DowngradePolicy.NEVER),
            st.integers(min_value=1, max_value=24).map(DowngradePolicy.rolling_window),
        ),
        max_steps=max_steps,
    )
