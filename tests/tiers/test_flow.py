"""Tier flow, monthly upgrade rate and what-if."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tiers_helpers import TZ, VIP, at, light_logs

from ecrm import CurrencyMismatchError, InvalidTypeError, InvalidValueError, Money, OrderLog, Window
from ecrm.testing import aware_datetimes, tier_ladders
from ecrm.tiers import (
    Membership,
    Tier,
    TierLadder,
    monthly_upgrade_rate,
    tier_flow,
    what_if,
)


def _log() -> OrderLog:
    rows = [
        # a: ¥120 in January (level 1), +¥100 in March (level 2)
        ("a", at(2024, 1, 5), 12000), ("a", at(2024, 3, 5), 10000),
        # b: ¥600 in January (level 3), nothing later
        ("b", at(2024, 1, 6), 60000),
        # c: 2 orders in Jan, a 3rd in Feb (level 1 by count), 5th in April (level 2)
        ("c", at(2024, 1, 7), 100), ("c", at(2024, 1, 8), 100), ("c", at(2024, 2, 8), 100),
        ("c", at(2024, 4, 8), 100), ("c", at(2024, 4, 9), 100),
        # d: first order in May, ¥2,000 (level 4)
        ("d", at(2024, 5, 1), 200000),
        # e: first order after the end of every window below
        ("e", at(2024, 12, 1), 100),
    ]
    cid, placed, amount = zip(*rows, strict=True)
    return OrderLog.from_arrays(cid, placed, amount, tz=TZ)


def test_flow_by_hand() -> None:
    f = tier_flow(_log(), VIP, start=at(2024, 2, 1), as_of=at(2024, 6, 1), opted_in=True)
    assert f.customer_ids.tolist() == ["a", "b", "c", "d"]
    assert f.level_start.tolist() == [1, 3, 0, 0]
    assert f.level_end.tolist() == [2, 3, 2, 4]
    expected = np.zeros((5, 5), dtype=np.int64)
    expected[1, 2] = expected[3, 3] = expected[0, 2] = expected[0, 4] = 1
    assert np.array_equal(f.matrix, expected)
    assert (f.upgraded, f.downgraded, f.unchanged, f.n_customers) == (3, 0, 1, 4)
    assert f.table().splitlines()[0].split() == ["start", "\\", "end", "0", "1", "2", "3", "4"]


def test_flow_with_opt_in_and_memberships() -> None:
    members = {"a": Membership("a").join(at(2024, 1, 20), Money(12000), 1)}
    f = tier_flow(_log(), VIP, start=at(2024, 1, 10), as_of=at(2024, 6, 1), opted_in=members)
    # a joined after start: store customer at start, member level 2 at end; others level 0
    assert f.level_start.tolist() == [0, 0, 0, 0]
    assert f.level_end.tolist() == [2, 0, 0, 0]
    q = tier_flow(_log(), VIP, start=at(2024, 1, 10), as_of=at(2024, 6, 1), opted_in=False,
                  qualified=True)
    assert q.level_end.tolist() == [2, 3, 2, 4]


def test_tier_flow_takes_end_as_a_deprecated_alias_of_as_of() -> None:
    old: Any = {"end": at(2024, 6, 1)}
    with pytest.warns(DeprecationWarning, match=r"tier_flow\(\): the keyword end= .*as_of="):
        f = tier_flow(_log(), VIP, start=at(2024, 2, 1), opted_in=True, **old)
    # the hand-worked levels of test_flow_by_hand
    assert f.level_start.tolist() == [1, 3, 0, 0]
    assert f.level_end.tolist() == [2, 3, 2, 4]
    assert f.end == at(2024, 6, 1)
    with pytest.raises(TypeError, match="both as_of= and its deprecated alias end="):
        tier_flow(_log(), VIP, start=at(2024, 2, 1), as_of=at(2024, 6, 1), opted_in=True, **old)


def test_flow_bad_input() -> None:
    with pytest.raises(InvalidValueError, match="before as_of"):
        tier_flow(_log(), VIP, start=at(2024, 6, 1), as_of=at(2024, 6, 1), opted_in=True)
    usd = TierLadder([Tier(1, "L1", Money(100, "USD"), 1)])
    with pytest.raises(CurrencyMismatchError):
        tier_flow(_log(), usd, start=at(2024, 1, 1), as_of=at(2024, 6, 1), opted_in=True)


def test_monthly_upgrade_rate_by_hand() -> None:
    rate = monthly_upgrade_rate(_log(), VIP, window=Window(at(2024, 1, 15), at(2024, 5, 2)),
                                opted_in=True)
    assert rate.months == (dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1),
                           dt.date(2024, 4, 1), dt.date(2024, 5, 1))
    # Jan 1: nobody. Feb 1: a(1), b(3). Mar 1: a(1), b(3), c(1). Apr 1: a(2), b, c(1).
    # May 1: a, b, c(2). Moves up: March a 1→2; April c 1→2; May: d is new, not a member on May 1.
    assert rate.members.tolist() == [0, 2, 3, 3, 3]
    assert rate.upgraded.tolist() == [0, 0, 1, 1, 0]
    r = rate.rate
    assert np.isnan(r[0])
    assert r[1:].tolist() == [0.0, 1 / 3, 1 / 3, 0.0]
    assert rate.table().splitlines()[3].split() == ["2024-03", "3", "1", "33.3%"]


def test_monthly_rate_month_ends_in_the_store_zone() -> None:
    # 2024-01-31 20:00 UTC is already 2024-02-01 04:00 in Shanghai
    start = dt.datetime(2024, 1, 31, 20, tzinfo=dt.UTC)
    rate = monthly_upgrade_rate(_log(), VIP, window=Window(start, at(2024, 2, 2)), opted_in=True)
    assert rate.months == (dt.date(2024, 2, 1), dt.date(2024, 3, 1))[:1]


def test_monthly_upgrade_rate_start_end_are_the_deprecated_window() -> None:
    """``start=``/``end=`` still work for one release (a warning naming ``window=``)."""
    old: Any = {"start": at(2024, 1, 15), "end": at(2024, 5, 2)}
    with pytest.warns(DeprecationWarning, match=r"monthly_upgrade_rate\(\).*start=/end=.*window="):
        rate = monthly_upgrade_rate(_log(), VIP, opted_in=True, **old)
    assert rate.upgraded.tolist() == [0, 0, 1, 1, 0]  # as in test_monthly_upgrade_rate_by_hand
    with pytest.raises(TypeError, match="window= and its deprecated"):
        monthly_upgrade_rate(_log(), VIP, opted_in=True, window=Window(*old.values()), **old)
    with pytest.raises(TypeError, match="needs window="):
        monthly_upgrade_rate(_log(), VIP, opted_in=True, start=at(2024, 1, 1))


def test_what_if_by_hand() -> None:
    proposed = VIP.with_tier(1, min_spend=Money.from_decimal("150"))
    w = what_if(_log(), VIP, proposed, as_of=at(2024, 2, 1), opted_in=True, start=at(2024, 1, 1))
    # at Feb 1: a ¥120 (level 1 now, level 0 proposed), b level 3, c 2 orders (0 both)
    assert w.current.level.tolist() == [1, 3, 0]
    assert w.proposed.level.tolist() == [0, 3, 0]
    assert (w.raised, w.lowered, w.unchanged) == (0, 1, 2)
    assert int(w.moves[1, 0]) == 1
    assert int(w.moves.sum()) == 3
    assert w.flow_current is not None
    assert w.flow_proposed is not None
    assert w.flow_current.matrix[0, 1] == 1
    assert w.flow_proposed.matrix[0, 1] == 0
    lines = w.table().splitlines()
    assert lines[1].split() == ["0", "店铺客户", "1", "店铺客户", "2"]


def test_what_if_with_a_shorter_ladder() -> None:
    short = TierLadder(VIP.tiers[:2])
    w = what_if(_log(), VIP, short, as_of=at(2024, 6, 1), opted_in=True)
    assert w.moves.shape == (5, 3)
    assert w.proposed.level.max() <= 2
    assert w.table().splitlines()[-1].split()[-2:] == ["-", "-"]


@given(
    light_logs(),
    tier_ladders(max_levels=4, max_amount=300_000, max_orders=6),
    aware_datetimes(min_value=dt.datetime(2023, 1, 1), max_value=dt.datetime(2024, 6, 1)),
    st.integers(1, 500),
    st.booleans(),
)
def test_flow_matrix_sums_to_the_customers(
    log: OrderLog, ladder: TierLadder, start: dt.datetime, days: int, opted: bool
) -> None:
    end = start + dt.timedelta(days=days)
    f = tier_flow(log, ladder, start=start, as_of=end, opted_in=opted)
    known = {o.customer_id for o in log if o.placed_at < end}
    assert set(f.customer_ids.tolist()) == known
    assert int(f.matrix.sum()) == f.n_customers == len(known)
    assert f.upgraded + f.downgraded + f.unchanged == f.n_customers
    assert f.downgraded == 0  # cumulative spend and count never fall under the never policy
    for i, j in zip(f.level_start.tolist(), f.level_end.tolist(), strict=True):
        assert f.matrix[i, j] >= 1


@given(
    light_logs(),
    tier_ladders(max_levels=4, max_amount=300_000, max_orders=6),
    aware_datetimes(min_value=dt.datetime(2023, 1, 1), max_value=dt.datetime(2025, 6, 1)),
)
def test_what_if_with_the_same_ladder_changes_nothing(
    log: OrderLog, ladder: TierLadder, as_of: dt.datetime
) -> None:
    w = what_if(log, ladder, ladder, as_of=as_of, opted_in=True)
    assert (w.raised, w.lowered, w.unchanged) == (0, 0, len(w.current))
    per_level = np.bincount(w.current.level, minlength=ladder.top_level + 1)
    assert np.array_equal(np.diag(w.moves), per_level)
    assert int(w.moves.sum()) == len(w.current)
    assert w.current.counts() == w.proposed.counts()


def test_monthly_upgrade_rate_for_listed_months() -> None:
    listed = monthly_upgrade_rate(
        _log(), VIP, opted_in=True,
        months=[dt.date(2024, 4, 20), at(2024, 3, 31), dt.date(2024, 1, 1)],
    )
    assert listed.months == (dt.date(2024, 4, 1), dt.date(2024, 3, 1), dt.date(2024, 1, 1))
    # same numbers as the start/end form (test_monthly_upgrade_rate_by_hand)
    assert listed.members.tolist() == [3, 3, 0]
    assert listed.upgraded.tolist() == [1, 1, 0]


def test_monthly_upgrade_rate_bad_arguments() -> None:
    with pytest.raises(InvalidValueError, match="together"):
        monthly_upgrade_rate(_log(), VIP, opted_in=True, months=[dt.date(2024, 1, 1)],
                             window=Window(at(2024, 1, 1), at(2024, 2, 1)))
    with pytest.raises(InvalidValueError, match="required"):
        monthly_upgrade_rate(_log(), VIP, opted_in=True)
    with pytest.raises(InvalidValueError, match="at least one"):
        monthly_upgrade_rate(_log(), VIP, opted_in=True, months=[])
    with pytest.raises(InvalidTypeError, match=r"window must be an ecrm\.Window"):
        monthly_upgrade_rate(_log(), VIP, opted_in=True,
                             window=(at(2024, 1, 1), at(2024, 2, 1)))  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="date or datetime"):
        monthly_upgrade_rate(_log(), VIP, opted_in=True, months=["2024-01"])  # type: ignore[list-item]
