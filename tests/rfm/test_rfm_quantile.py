"""quantile_scheme: a worked example, ties, determinism and refusal of unfit shops."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import numpy as np
import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st
from rfm_helpers import at, log_of, order

from ecrm import InvalidTypeError, InvalidValueError, Order, OrderLog, SchemeError
from ecrm.rfm import Bins, RecencyBins, RfmScheme, SchemeErrorGroup, quantile_scheme, score
from ecrm.rfm._quantile import quantile_cuts
from ecrm.testing import aware_datetimes, orders

AS_OF = at(2024, 6, 1, 9)
F_VALUES = [1, 1, 1, 1, 2, 2, 3, 5, 8, 10]


def shop_orders() -> list[Order]:
    """Ten customers: k0 … k9 with age i + 1 days, F_VALUES[i] orders, (i + 1) × 100 fen."""
    rows = []
    for i, n in enumerate(F_VALUES):
        last = AS_OF - dt.timedelta(days=i + 1)
        rows.append(order(f"k{i}", last, fen=(i + 1) * 100))
        rows += [order(f"k{i}", last - dt.timedelta(hours=j + 1), fen=0) for j in range(n - 1)]
    return rows


def test_quantile_cuts_worked_by_hand() -> None:
    # positions ⌊k·9/5⌋ = 1, 3, 5, 7 of the sorted values → 1, 1, 2, 5 → {1, 2, 5}
    assert quantile_cuts(np.array(F_VALUES[::-1], dtype=np.int64), 5) == [1, 2, 5]
    assert quantile_cuts(np.array([7, 7, 7], dtype=np.int64), 5) == [7]
    assert quantile_cuts(np.array([4], dtype=np.int64), 1) == []


def test_quantile_scheme_worked_by_hand() -> None:
    scheme = quantile_scheme(log_of(shop_orders()), as_of=AS_OF)
    # ages 1..10 days → cuts 2, 4, 6, 8; F → cuts 1, 2, 5 → edges 2, 3, 6;
    # M 100..1000 → cuts 200, 400, 600, 800 → edges 201, 401, 601, 801.
    assert scheme.recency == RecencyBins.days((2, 4, 6, 8), scores=(5, 4, 3, 2, 1))
    assert scheme.frequency == Bins(edges=(1, 2, 3, 6), scores=(1, 2, 3, 4))
    assert scheme.monetary == Bins(edges=(0, 201, 401, 601, 801), scores=(1, 2, 3, 4, 5))
    assert scheme.weights == (1, 3, 4)
    # totals 8..37: TAOBAO's 36/26/17 on 8..40 scaled:
    # 8 + ⌈28·29/32⌉, 8 + ⌈18·29/32⌉, 8 + ⌈9·29/32⌉
    assert scheme.grade_cutoffs == (34, 25, 17)
    assert scheme.min_customers == 0
    assert scheme.name == "quantile-5 as of 2024-06-01"
    res = score(log_of(shop_orders()), as_of=AS_OF, scheme=scheme)  # no size warning
    assert res.r.tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert res.f.tolist() == [1, 1, 1, 1, 2, 2, 3, 3, 4, 4]
    assert res.m.tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_options_are_passed_through() -> None:
    scheme = quantile_scheme(
        log_of(shop_orders()), as_of=AS_OF, bins=2, weights=(2, 2, 2), grade_cutoffs=(11, 9, 7),
        min_customers=5, name="two",
    )
    # halves: position ⌊9/2⌋ = 4 → age 5, F 2, M 500
    assert scheme.recency == RecencyBins.days((5,), scores=(2, 1))
    assert scheme.frequency == Bins(edges=(1, 3), scores=(1, 2))
    assert scheme.monetary == Bins(edges=(0, 501), scores=(1, 2))
    assert (scheme.weights, scheme.grade_cutoffs, scheme.min_customers, scheme.name) == (
        (2, 2, 2), (11, 9, 7), 5, "two")


def test_ties_give_fewer_bins() -> None:
    # Everyone bought once: a single F bin.
    rows = [order(f"c{i}", AS_OF - dt.timedelta(days=3 * i + 1), fen=1000 * (i + 1))
            for i in range(10)]
    scheme = quantile_scheme(log_of(rows), as_of=AS_OF)
    assert scheme.frequency == Bins(edges=(1,), scores=(1,))
    assert len(scheme.monetary.edges) == 5
    assert len(scheme.recency.within) == 4


def test_result_is_independent_of_row_order() -> None:
    rows = shop_orders()
    expected = quantile_scheme(log_of(rows), as_of=AS_OF)
    rng = random.Random(7)
    for _ in range(5):
        rng.shuffle(rows)
        assert quantile_scheme(log_of(rows), as_of=AS_OF) == expected


def test_refuses_a_shop_without_scored_customers() -> None:
    with pytest.raises(SchemeError, match="at least one valid order in the window"):
        quantile_scheme(log_of([order("c", AS_OF + dt.timedelta(days=1))]), as_of=AS_OF)


def test_refuses_a_total_range_too_narrow_for_grades() -> None:
    with pytest.raises(SchemeError, match=r"only span 8\.\.8"):
        quantile_scheme(log_of([order("c", at(2024, 5, 1))]), as_of=AS_OF)
    with pytest.raises((SchemeError, SchemeErrorGroup)):
        quantile_scheme(log_of([order("c", at(2024, 5, 1))]), as_of=AS_OF,
                        grade_cutoffs=(10, 9, 8))


def test_bad_arguments() -> None:
    log = log_of(shop_orders())
    with pytest.raises(InvalidValueError, match="bins must be >= 1"):
        quantile_scheme(log, as_of=AS_OF, bins=0)
    with pytest.raises(InvalidTypeError, match="bins"):
        quantile_scheme(log, as_of=AS_OF, bins=2.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="as_of"):
        quantile_scheme(log, as_of=dt.datetime(2024, 6, 1))
    with pytest.raises(InvalidTypeError, match="lookback"):
        quantile_scheme(log, as_of=AS_OF, lookback=dt.timedelta(days=365))  # type: ignore[arg-type]
    for weights in [(0, 3, 4), (1, 3), (1.0, 3, 4)]:
        with pytest.raises(SchemeError, match=r"^weights must be 3 ints >= 1"):
            quantile_scheme(log, as_of=AS_OF, weights=weights)  # type: ignore[arg-type]


def test_custom_lookback() -> None:
    scheme = quantile_scheme(log_of(shop_orders()), as_of=AS_OF, lookback=relativedelta(days=8))
    # k8 and k9 (9 and 10 days old) fall outside; ages 1..8, positions ⌊k·7/5⌋ = 1, 2, 4, 5
    assert scheme.recency == RecencyBins.days((2, 3, 5, 6), scores=(5, 4, 3, 2, 1))
    assert scheme.lookback == relativedelta(days=8)


def fit_or_error(rows: list[Order], bins: int, tz: str) -> RfmScheme | str:
    try:
        return quantile_scheme(OrderLog.from_orders(rows, tz=tz), as_of=AS_OF, bins=bins)
    except SchemeError as exc:
        return str(exc)


@given(
    rows=st.lists(
        orders(customer_ids=st.sampled_from([f"c{i}" for i in range(12)]),
               placed_at=aware_datetimes(min_value=dt.datetime(2023, 7, 1),
                                         max_value=dt.datetime(2024, 5, 31))),
        min_size=1, max_size=30, unique_by=lambda o: o.order_id),
    bins=st.integers(min_value=1, max_value=7),
    tz=st.sampled_from(["Asia/Shanghai", "America/New_York", "Australia/Lord_Howe"]),
    data=st.data(),
)
def test_fitted_schemes_are_valid_deterministic_and_score(
    rows: list[Order], bins: int, tz: str, data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(rows))
    scheme = fit_or_error(rows, bins, tz)
    # Deterministic either way, including which error (no valid order, too narrow a range).
    assert fit_or_error(shuffled, bins, tz) == scheme
    if isinstance(scheme, str):
        return
    assert isinstance(scheme, RfmScheme)
    for part in (scheme.frequency, scheme.monetary):
        assert len(part.edges) <= bins
    assert len(scheme.recency.scores) <= bins
    res = score(OrderLog.from_orders(rows, tz=tz), as_of=AS_OF, scheme=scheme)
    # Every bin the fit created is used by at least one customer.
    assert set(res.f.tolist()) == set(scheme.frequency.scores)
    assert set(res.m.tolist()) == set(scheme.monetary.scores)
    assert set(res.r.tolist()) == set(scheme.recency.scores)


def test_window_is_the_deprecated_alias_of_lookback() -> None:
    """``window=`` named a duration; it still works for one release with a warning."""
    old: Any = {"window": relativedelta(days=8)}
    with pytest.warns(DeprecationWarning, match=r"window= is deprecated.*use lookback="):
        scheme = quantile_scheme(log_of(shop_orders()), as_of=AS_OF, **old)
    assert scheme.lookback == relativedelta(days=8)
