"""Paid membership with the source's waiver (seed 002: 年度消费满299免年费会员).

Expectations are worked by hand from the source's rule: 满299 means a year's spend of at least
¥299.00 waives the fee; ¥298.99 pays it. The fee itself (¥99 here) is the shop's setting.
"""

from __future__ import annotations

import datetime as dt
import itertools
import multiprocessing
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tiers_helpers import TZ, at

from ecrm import CurrencyMismatchError, InvalidTypeError, InvalidValueError, Money, Order, OrderLog
from ecrm.tiers import (
    FeeOutcome,
    FeeRules,
    FeeStore,
    FeeTerm,
    InMemoryLoyaltyStore,
    LedgerConflictError,
    MembershipError,
    PaidMembership,
    SqliteLoyaltyStore,
    annual_spends,
)

FEE = Money(9_900)  # ¥99: a shop's fee; the source names only the waiver
RULES = FeeRules(FEE)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield InMemoryLoyaltyStore()
    else:
        s = SqliteLoyaltyStore(tmp_path / "loyalty.db")
        yield s
        s.close()


def test_the_waiver_is_the_sources_299_reached_not_exceeded() -> None:
    assert RULES.waiver_spend == Money(29_900)
    assert RULES.waives(Money(29_900))            # 满299: reaching ¥299.00 is enough
    assert not RULES.waives(Money(29_899))        # ¥298.99 pays
    assert RULES.fee_for(Money(29_900)) == Money(0)
    assert RULES.fee_for(Money(29_899)) == FEE
    assert RULES.fee_for(Money(0)) == FEE


def test_rules_refuse_bad_values_by_name() -> None:
    with pytest.raises(InvalidValueError, match="annual_fee must be > 0"):
        FeeRules(Money(0))
    with pytest.raises(InvalidTypeError, match="annual_fee must be Money"):
        FeeRules(99)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="term_months must be >= 1"):
        FeeRules(FEE, term_months=0)
    with pytest.raises(CurrencyMismatchError, match="waiver_spend"):
        FeeRules(FEE, waiver_spend=Money(29_900, "USD"))
    with pytest.raises(InvalidValueError, match="spend must be >= 0"):
        RULES.waives(Money(-1))


def test_term_is_twelve_calendar_months_in_the_store_zone() -> None:
    assert RULES.term_end(at(2026, 1, 31, 10)) == at(2027, 1, 31, 10)
    # one-month terms clip at month ends: 31 January + 1 month = 28 February
    assert FeeRules(FEE, term_months=1).term_end(at(2026, 1, 31, 10)) == at(2026, 2, 28, 10)
    window = RULES.spend_window(at(2026, 3, 1))
    assert (window.start, window.end) == (at(2025, 3, 1), at(2026, 3, 1))


def test_join_renew_lapse_and_rejoin(store: Any) -> None:
    assert isinstance(store, FeeStore)
    paid = PaidMembership(store, RULES)
    first = paid.renew("c1", at=at(2026, 1, 10, 9), spend=Money(29_899))
    assert (first.term, first.outcome, first.fee) == (1, FeeOutcome.PAID, FEE)
    assert first.starts_at == at(2026, 1, 10, 9)
    assert first.ends_at == at(2027, 1, 10, 9)
    # Inside the term: nothing to renew, the term in force comes back and nothing is written.
    again = paid.renew("c1", at=at(2026, 6, 1), spend=Money(100_000))
    assert again == first
    assert len(paid.terms("c1")) == 1
    # Renewing exactly at the end continues without a gap; the year's spend waives it.
    second = paid.renew("c1", at=at(2027, 1, 10, 9), spend=Money(29_900))
    assert (second.term, second.outcome, second.fee) == (2, FeeOutcome.WAIVED, Money(0))
    assert second.starts_at == first.ends_at
    assert paid.is_paid_member("c1", at(2027, 1, 10, 9))
    assert paid.term_at("c1", at(2027, 1, 10, 8, 59)) == first
    # Lapse: no term in force until the member comes back.
    assert not paid.is_paid_member("c1", at(2028, 1, 10, 9))
    third = paid.renew("c1", at=at(2028, 3, 1), spend=Money(5_000))
    assert (third.term, third.starts_at, third.fee) == (3, at(2028, 3, 1), FEE)
    assert [t.term for t in paid.terms("c1")] == [1, 2, 3]
    assert paid.terms(1) == ()  # 1 and "1" are different customers


def test_refund_ends_the_term_once(store: Any) -> None:
    paid = PaidMembership(store, RULES)
    term = paid.renew("c1", at=at(2026, 1, 10), spend=Money(0))
    back = paid.refund("c1", 1, at=at(2026, 2, 1), amount=Money(5_000))
    assert back.refunded == Money(5_000)
    assert back.net_fee == Money(4_900)
    assert back.ends == at(2026, 2, 1)
    assert not paid.is_paid_member("c1", at(2026, 2, 1))
    assert paid.is_paid_member("c1", at(2026, 1, 31, 23, 59))
    assert paid.refund("c1", 1, at=at(2026, 2, 2), amount=Money(5_000)) == back  # retry
    with pytest.raises(LedgerConflictError, match="refunded before"):
        paid.refund("c1", 1, at=at(2026, 2, 2))
    assert paid.terms("c1") == (back,)
    # After a refund the member may pay again from the refund on.
    assert paid.renew("c1", at=at(2026, 2, 1), spend=Money(0)).term == 2
    assert term.refunded is None


def test_refund_refusals_change_nothing(store: Any) -> None:
    paid = PaidMembership(store, RULES)
    paid.renew("w", at=at(2026, 1, 10), spend=Money(30_000))
    paid.renew("p", at=at(2026, 1, 10), spend=Money(0))
    with pytest.raises(MembershipError, match="waived: nothing to refund"):
        paid.refund("w", 1, at=at(2026, 2, 1))
    with pytest.raises(MembershipError, match="does not exist"):
        paid.refund("p", 2, at=at(2026, 2, 1))
    with pytest.raises(MembershipError, match="must lie in the term"):
        paid.refund("p", 1, at=at(2027, 1, 10))
    with pytest.raises(InvalidValueError, match="amount must be > 0 and <= the fee"):
        paid.refund("p", 1, at=at(2026, 2, 1), amount=Money(9_901))
    with pytest.raises(InvalidValueError, match="amount must be > 0"):
        paid.refund("p", 1, at=at(2026, 2, 1), amount=Money(0))
    assert all(t.refunded is None for t in paid.terms("p") + paid.terms("w"))


def test_bad_renewals_are_refused_by_name(store: Any) -> None:
    paid = PaidMembership(store, RULES)
    with pytest.raises(CurrencyMismatchError, match="spend"):
        paid.renew("c", at=at(2026, 1, 1), spend=Money(30_000, "USD"))
    with pytest.raises(InvalidTypeError, match="spend must be Money"):
        paid.renew("c", at=at(2026, 1, 1), spend=299)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="at"):
        paid.renew("c", at=dt.datetime(2026, 1, 1), spend=Money(0))
    with pytest.raises(InvalidTypeError, match="FeeStore"):
        PaidMembership(object(), RULES)  # type: ignore[arg-type]
    assert paid.terms("c") == ()


def test_annual_spends_counts_the_valid_net_spend_of_the_year_before() -> None:
    orders = OrderLog.from_orders([
        Order("a1", "a", at(2025, 6, 1), Money(20_000)),
        Order("a2", "a", at(2025, 12, 31, 23, 59, 59), Money(9_900)),
        Order("a3", "a", at(2026, 1, 1), Money(5_000)),            # at as_of: not in the year
        Order("a4", "a", at(2025, 7, 1), Money(100_000), status="closed"),
        Order("b1", "b", at(2024, 12, 31, 23, 59), Money(50_000)),  # before the year
        Order("b2", "b", at(2025, 3, 1), Money(30_000), refunded=Money(101)),
        Order("c1", "c", at(2025, 1, 1), Money(50_000), status="unpaid"),
    ], tz=TZ)
    spends = annual_spends(orders, RULES, as_of=at(2026, 1, 1))
    assert spends == {"a": Money(29_900), "b": Money(29_899), "c": Money(0)}
    assert RULES.waives(spends["a"])
    assert not RULES.waives(spends["b"])


@settings(max_examples=200, deadline=None)
@given(spend_fen=st.integers(0, 2_000_000), fee_fen=st.integers(1, 100_000),
       waiver_fen=st.integers(1, 1_000_000))
def test_fee_is_waived_iff_the_year_spend_reaches_the_threshold(
    spend_fen: int, fee_fen: int, waiver_fen: int
) -> None:
    rules = FeeRules(Money(fee_fen), waiver_spend=Money(waiver_fen))
    term = PaidMembership(InMemoryLoyaltyStore(), rules).renew(
        "c", at=at(2026, 1, 1), spend=Money(spend_fen)
    )
    met = spend_fen >= waiver_fen
    assert (term.outcome is FeeOutcome.WAIVED) == met
    assert term.fee == (Money(0) if met else Money(fee_fen))  # exact to the fen


def test_the_file_refuses_a_second_row_for_a_term(tmp_path: Path) -> None:
    path = tmp_path / "loyalty.db"
    with SqliteLoyaltyStore(path) as s:
        PaidMembership(s, RULES).renew(7, at=at(2026, 1, 1), spend=Money(0))
        with pytest.raises(LedgerConflictError):
            s.add_fee_term(FeeTerm(7, 1, at(2026, 5, 1), at(2027, 5, 1), FeeOutcome.PAID, FEE,
                                   Money(0)))
    with SqliteLoyaltyStore(path) as s:
        assert [(t.customer_id, t.fee) for t in s.fee_terms(7)] == [(7, FEE)]
        assert s.fee_terms("7") == []
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO fee_terms VALUES ('7', 1, 1, 0, 1, 'paid', 'CNY', 9900, 0, "
                     "NULL, NULL)")
    conn.close()


def _renewer(path: str, barrier: Any, queue: Any) -> None:
    try:
        store = SqliteLoyaltyStore(path)
        paid = PaidMembership(store, RULES)
        barrier.wait(timeout=60)
        terms = [paid.renew(f"m{i}", at=at(2026, 1, 1), spend=Money(i * 10_000)).term
                 for i in range(6)]
        store.close()
        queue.put(terms)
    except Exception as exc:  # reported to the parent, which fails the test
        queue.put(f"{type(exc).__name__}: {exc}")


def test_two_processes_renewing_at_once_record_each_term_exactly_once(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    SqliteLoyaltyStore(path).close()
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_renewer, args=(path, barrier, queue)) for _ in range(2)]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert results == [[1] * 6, [1] * 6], results
    with SqliteLoyaltyStore(path) as s:
        for i in range(6):
            terms = s.fee_terms(f"m{i}")
            assert len(terms) == 1
            # ¥0, ¥100, ¥200 pay; ¥300, ¥400, ¥500 reach ¥299 and are waived
            assert terms[0].fee == (FEE if i < 3 else Money(0))


@settings(max_examples=80, deadline=None)
@given(calls=st.lists(st.tuples(st.integers(0, 4 * 366 * 24), st.integers(0, 60_000)),
                      max_size=15))
def test_any_renewals_give_consecutive_non_overlapping_terms(
    calls: list[tuple[int, int]]
) -> None:
    paid = PaidMembership(InMemoryLoyaltyStore(), RULES)
    for hours, spend in sorted(calls, key=lambda c: c[0]):
        moment = at(2026, 1, 1) + dt.timedelta(hours=hours)
        term = paid.renew("c", at=moment, spend=Money(spend))
        assert term.in_force(moment)  # the member is covered at the renewal moment
    terms = paid.terms("c")
    assert [t.term for t in terms] == list(range(1, len(terms) + 1))
    for before, after in itertools.pairwise(terms):
        assert after.starts_at >= before.ends_at  # never two terms at once: never charged twice
    for t in terms:
        assert (t.outcome is FeeOutcome.WAIVED) == (t.spend.fen >= 29_900)
        assert t.fee == (Money(0) if t.spend.fen >= 29_900 else FEE)
