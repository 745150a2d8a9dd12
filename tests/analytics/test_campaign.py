"""Campaign holdout and effect against hand computations."""

from __future__ import annotations

import datetime as dt
import hashlib
from fractions import Fraction
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import Money, Order, OrderLog, OrderStatus
from ecrm.analytics import (
    CampaignReport,
    campaign_effect,
    holdout_mask,
    holdout_score,
    split_audience,
)

SH = ZoneInfo("Asia/Shanghai")
S = dt.datetime(2025, 12, 12, 18, tzinfo=SH)
DAY = dt.timedelta(days=1)


def _order(oid: str, cid: str, at: dt.datetime, fen: int, *,
           status: OrderStatus = OrderStatus.COMPLETED, refunded: int = 0) -> Order:
    return Order(oid, cid, at, Money(fen), status=status, paid_at=at,
                 refunded=Money(refunded) if refunded else None)


def _plain_score(campaign: str, cid: str | int) -> float:
    tag = "s" if isinstance(cid, str) else "i"
    digest = hashlib.blake2b(f"{campaign}\x1f{tag}:{cid}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def test_holdout_score_is_the_documented_blake2b_draw() -> None:
    for cid in ("c1", "客户-7", 42, 0):
        assert holdout_score("spring-2025", cid) == _plain_score("spring-2025", cid)
    assert holdout_score("x", 5) != holdout_score("x", "5")


def test_holdout_assignment_is_pinned() -> None:
    # golden values: a change of hashing would silently reshuffle running campaigns
    held = np.flatnonzero(holdout_mask("spring-2025", np.arange(1, 41), 0.25)).tolist()
    assert held == [0, 2, 7, 11, 12, 17, 19, 22, 38]
    assert holdout_score("spring-2025", "c1") == 0.35766218540401234


def test_holdout_share_is_close_to_target() -> None:
    ids = np.arange(20_000)
    for share in (0.05, 0.1, 0.5):
        got = holdout_mask("c-share", ids, share).mean()
        assert abs(got - share) < 0.01  # ~5 standard deviations at n = 20,000
    assert not holdout_mask("c", ids[:100], 0).any()
    assert holdout_mask("c", ids[:100], 1).all()


@pytest.mark.parametrize("share", [-0.1, 1.5, True, "0.1"])
def test_bad_share_is_an_error(share: object) -> None:
    with pytest.raises(ValueError, match="holdout_share must be a number in"):
        holdout_mask("c", [1, 2], share)  # type: ignore[arg-type]


# numpy str arrays drop trailing NULs, so ids are drawn without NUL (no real id has one)
_ID_CHARS = st.characters(exclude_characters="\x00", exclude_categories=["Cs"])


@settings(deadline=None)
@given(st.lists(st.text(_ID_CHARS, min_size=1, max_size=6), min_size=1, max_size=40,
                unique=True),
       st.randoms(use_true_random=False), st.floats(0, 1))
def test_assignment_is_deterministic_and_independent_of_order(
    ids: list[str], rnd: object, share: float
) -> None:
    arr = np.asarray(ids, dtype=str)
    mask = holdout_mask("camp", arr, share)
    expect = [_plain_score("camp", c) < share for c in ids]
    # the threshold is share × 2**64 on integers; floats agree away from the boundary
    for m, e, c in zip(mask.tolist(), expect, ids, strict=True):
        if abs(_plain_score("camp", c) - share) > 1e-12:
            assert m == e
    perm = list(range(len(ids)))
    rnd.shuffle(perm)  # type: ignore[attr-defined]
    assert holdout_mask("camp", arr[perm], share).tolist() == mask[perm].tolist()
    treated, held = split_audience("camp", ids + ids, share)
    assert sorted(treated.tolist() + held.tolist()) == sorted(ids)
    assert set(held.tolist()) == {c for c, m in zip(ids, mask.tolist(), strict=True) if m}


def _log() -> OrderLog:
    return OrderLog.from_orders([
        _order("o1", "c1", S + DAY, 10_000),  # responds
        _order("o2", "c2", S + 8 * DAY, 5_000),  # outside the 7 days
        _order("o3", "c3", S + DAY, 7_000),  # before c3's send: not a response
        _order("o4", "c3", S + 3 * DAY, 5_000, refunded=2_000),  # responds, net 30
        _order("o5", "c4", S + DAY, 9_000, status=OrderStatus.CLOSED),  # not valid
        _order("o6", "h1", S + 2 * DAY, 2_000),  # holdout responder
        _order("o7", "h1", S + 3 * DAY, 1_000),  # second order: one responder, revenue adds
        _order("o8", "h2", S - DAY, 4_000),  # before the start
    ])


def test_campaign_metrics_against_a_hand_computation() -> None:
    sent = [None, None, S + 2 * DAY, None]
    r = campaign_effect(_log(), campaign_id="1212", treated=["c1", "c2", "c3", "c4"],
                        holdout=["h1", "h2"], start=S, days=7, sent_at=sent, segments=4,
                        price_per_segment=Money(5))
    # by hand: treated 4, responders c1, c3 → 1/2; holdout 2, responder h1 → 1/2
    assert (r.n_treated, r.responders_treated, r.n_holdout, r.responders_holdout) == (4, 2, 2, 1)
    assert r.rate_treated == Fraction(1, 2)
    assert r.rate_holdout == Fraction(1, 2)
    assert r.uplift == 0
    assert r.relative_uplift == 0
    assert r.revenue_treated == Money(13_000)  # 100 + (50 − 20)
    assert r.revenue_holdout == Money(3_000)
    # incremental = 130 − 30 × 4/2 = 70; cost = 4 × ¥0.05 = ¥0.20; ROI = (70 − 0.2)/0.2
    assert r.incremental_revenue == Money(7_000)
    assert r.cost == Money(20)
    assert r.roi == Fraction(7_000 - 20, 20)
    assert "incremental revenue  ¥70.00" in r.table()
    assert "ROI                  34900.00%" in r.table()
    assert r.explain().startswith("1212: 50.00% of 4 treated customers ordered within 7 days")


def test_incremental_revenue_rounds_half_to_even() -> None:
    base = {"campaign_id": "c", "start": S, "days": 7, "n_treated": 3, "n_holdout": 2,
                "responders_treated": 1, "responders_holdout": 1, "revenue_treated": Money(5_000),
                "segments": 0, "price_per_segment": Money(0)}
    r = CampaignReport(**base, revenue_holdout=Money(1_001))  # type: ignore[arg-type]
    assert r.incremental_revenue == Money(5_000 - 1_502)  # 1501.5 → 1502
    r = CampaignReport(**base, revenue_holdout=Money(1_003))  # type: ignore[arg-type]
    assert r.incremental_revenue == Money(5_000 - 1_504)  # 1504.5 → 1504
    assert r.roi is None  # no cost


def test_no_holdout_means_no_uplift() -> None:
    r = campaign_effect(_log(), campaign_id="c", treated=["c1"], holdout=[], start=S)
    assert r.uplift is None
    assert r.incremental_revenue is None
    assert r.roi is None
    assert "no holdout" in r.explain()


def test_bad_campaign_inputs() -> None:
    with pytest.raises(ValueError, match="holdout must not share customers with treated"):
        campaign_effect(_log(), campaign_id="c", treated=["c1"], holdout=["c1"], start=S)
    with pytest.raises(TypeError, match="customer ids must be of the order log's kind"):
        campaign_effect(_log(), campaign_id="c", treated=[1, 2], holdout=[], start=S)
    with pytest.raises(ValueError, match="days must be an int >= 1"):
        campaign_effect(_log(), campaign_id="c", treated=["c1"], holdout=[], start=S, days=0)
    with pytest.raises(ValueError, match="sent_at must have one entry per treated id"):
        campaign_effect(_log(), campaign_id="c", treated=["c1"], holdout=[], start=S,
                        sent_at=[S, S])


@settings(deadline=None, max_examples=40)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d", "e", "f"]),
                          st.integers(-3, 12), st.integers(0, 50_000),
                          st.sampled_from([OrderStatus.PAID, OrderStatus.CLOSED])),
                max_size=20),
       st.integers(1, 10))
def test_metrics_match_a_plain_recomputation(
    rows: list[tuple[str, int, int, OrderStatus]], days: int
) -> None:
    orders = [_order(f"o{i}", c, S + k * DAY + dt.timedelta(minutes=i), fen, status=st_)
              for i, (c, k, fen, st_) in enumerate(rows)]
    if not orders:
        return
    log = OrderLog.from_orders(orders)
    treated, holdout = ["a", "b", "c"], ["d", "e", "f"]
    r = campaign_effect(log, campaign_id="p", treated=treated, holdout=holdout, start=S,
                        days=days)
    end = S + days * DAY

    def resp(group: list[str]) -> tuple[int, int]:
        hits = [o for o in orders if o.customer_id in group and S <= o.placed_at < end
                and o.status is OrderStatus.PAID]
        return len({o.customer_id for o in hits}), sum(o.amount.fen for o in hits)

    assert (r.responders_treated, r.revenue_treated.fen) == resp(treated)
    assert (r.responders_holdout, r.revenue_holdout.fen) == resp(holdout)


def test_uplift_interval_is_the_normal_approximation() -> None:
    """1,000 treated with 120 responders, 500 held out with 40: uplift 0.04 ± 1.96·se,
    se = √(0.12·0.88/1000 + 0.08·0.92/500), computed here by hand."""
    r = CampaignReport(campaign_id="c", start=S, days=7, n_treated=1_000, n_holdout=500,
                       responders_treated=120, responders_holdout=40,
                       revenue_treated=Money(0), revenue_holdout=Money(0), segments=0,
                       price_per_segment=Money(0))
    se = (0.12 * 0.88 / 1_000 + 0.08 * 0.92 / 500) ** 0.5  # 0.0158997
    z95, z90 = 1.959963984540054, 1.6448536269514722  # standard normal quantiles
    low, high = r.uplift_interval()  # type: ignore[misc]
    assert low == pytest.approx(0.04 - z95 * se, abs=1e-12)
    assert high == pytest.approx(0.04 + z95 * se, abs=1e-12)
    assert (round(low, 6), round(high, 6)) == (0.008837, 0.071163)
    assert r.uplift_interval(0.9) == pytest.approx((0.04 - z90 * se, 0.04 + z90 * se))
    row = r.to_dicts()[0]
    assert (row["uplift_low"], row["uplift_high"]) == pytest.approx((low, high))
    assert "uplift 95% CI        [0.88%, 7.12%]" in r.table()
    assert r.incremental_responders == 120 - Fraction(40, 500) * 1_000  # 40 more
    for bad in (0, 1, 1.5, True):
        with pytest.raises(ValueError, match="confidence must be a number in"):
            r.uplift_interval(bad)  # type: ignore[arg-type]


def test_no_holdout_no_interval_and_other_cost_counts_in_roi() -> None:
    r = campaign_effect(_log(), campaign_id="c", treated=["c1"], holdout=[], start=S)
    assert r.uplift_interval() is None
    assert r.to_dicts()[0]["uplift_low"] is None
    sent = [None, None, S + 2 * DAY, None]
    r = campaign_effect(_log(), campaign_id="1212", treated=["c1", "c2", "c3", "c4"],
                        holdout=["h1", "h2"], start=S, sent_at=sent, segments=4,
                        price_per_segment=Money(5), other_cost=Money(1_000))
    # cost = 4 × ¥0.05 + ¥10 coupons = ¥10.20; ROI = (70 − 10.20) / 10.20
    assert r.cost == Money(1_020)
    assert r.roi == Fraction(7_000 - 1_020, 1_020)
    assert r.to_dicts()[0]["other_cost_fen"] == 1_000
    with pytest.raises(ValueError, match="other_cost must be >= 0 fen"):
        campaign_effect(_log(), campaign_id="c", treated=["c1"], holdout=["h1"], start=S,
                        other_cost=Money(-1))
