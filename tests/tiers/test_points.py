"""The points ledger on the in-memory store: earning, idempotency, FIFO expiry and
redemption, refund reversal after spend, never-negative balances, atomic operations."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecrm import Money, Order, OrderStatus
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.testing import ledger_operations
from ecrm.testing._benefits import LedgerScript
from ecrm.tiers import (
    Benefit,
    BenefitCatalog,
    BenefitKind,
    Coupon,
    EntryKind,
    Gift,
    InMemoryLedgerStore,
    InsufficientPointsError,
    LedgerConflictError,
    LedgerEntry,
    LedgerStore,
    LotState,
    PointsLedger,
    PointsRules,
    TaskReward,
)

SH = ZoneInfo("Asia/Shanghai")


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SH)  # type: ignore[misc]


CATALOG = BenefitCatalog(
    [
        Benefit("c5", BenefitKind.POINTS_FOR_COUPON,
                Coupon("C5", face_value=Money(500), valid_days=30), cost_points=120),
        Benefit("mug", BenefitKind.POINTS_FOR_GIFT, Gift("mug"), cost_points=30,
                money_part=Money(990)),
        Benefit("vip-red", BenefitKind.POINTS_FOR_RED_PACKET, Money(300), cost_points=10,
                min_level=3),
        Benefit("member-coupon", BenefitKind.MEMBER_COUPON,
                Coupon("M", face_value=Money(500), valid_days=30)),
    ]
)
RULES = PointsRules(
    points_per_yuan=1, tasks=(TaskReward("share", points=200, times=3),), expiry_months=12
)


def new_ledger(rules: PointsRules = RULES, store: LedgerStore | None = None) -> PointsLedger:
    return PointsLedger(store or InMemoryLedgerStore(), rules, catalog=CATALOG)


# -- earning -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("per_yuan", "per_order", "net", "expected"),
    [
        (1, 0, "128.90", 128),  # floor of whole yuan
        (1, 0, "0.99", 0),
        (2, 0, "100.00", 200),
        (0, 10, "5000", 10),  # flat per order
        (1, 5, "12.34", 17),
    ],
)
def test_order_points_per_yuan_floor_and_flat(
    per_yuan: int, per_order: int, net: str, expected: int
) -> None:
    rules = PointsRules(points_per_yuan=per_yuan, points_per_order=per_order)
    ledger = new_ledger(rules)
    entry = ledger.earn_for_order("c1", "o1", Money.from_decimal(net), at=at(2026, 1, 1))
    assert entry.points == expected
    assert entry.kind is EntryKind.EARN
    assert entry.key == '["earn","o1"]'
    assert entry.ref == "o1"
    assert entry.seq == 1


def test_earn_for_an_order_uses_its_net_amount() -> None:
    ledger = new_ledger()
    order = Order("T1", "c1", at(2026, 1, 1), Money(30_000), refunded=Money(10_050))
    entry = ledger.earn_for(order, at=at(2026, 1, 2))
    assert (entry.customer_id, entry.key, entry.points) == ("c1", '["earn","T1"]', 199)
    unpaid = Order("T2", "c1", at(2026, 1, 1), Money(30_000), status=OrderStatus.UNPAID)
    with pytest.raises(InvalidValueError, match="'T2' must be paid"):
        ledger.earn_for(unpaid, at=at(2026, 1, 2))
    refunded = Order("T3", "c1", at(2026, 1, 1), Money(300), refunded=Money(300))
    with pytest.raises(InvalidValueError, match="not fully refunded"):
        ledger.earn_for(refunded, at=at(2026, 1, 2))
    assert len(ledger.entries()) == 1


def test_earned_points_expire_12_calendar_months_later_in_the_store_zone() -> None:
    ledger = new_ledger()
    entry = ledger.earn_for_order("c1", "o1", Money(10_000), at=at(2026, 1, 31, 10))
    assert entry.expires_at == at(2027, 1, 31, 10)
    short = new_ledger(PointsRules(expiry_months=1))
    # Month-end clipping in Shanghai time: Jan 31 + 1 month = Feb 28.
    e2 = short.earn_for_order("c1", "o1", Money(100), at=at(2026, 1, 31, 23, 30))
    assert e2.expires_at == at(2026, 2, 28, 23, 30)
    never = new_ledger(PointsRules(expiry_months=None))
    assert never.earn_for_order("c1", "o1", Money(100), at=at(2026, 1, 1)).expires_at is None


def test_entry_times_are_normalised_to_utc() -> None:
    entry = new_ledger().earn_for_order("c1", "o1", Money(100), at=at(2026, 1, 1, 8))
    assert entry.at == dt.datetime(2026, 1, 1, 0, tzinfo=dt.UTC)
    assert entry.at.tzinfo is dt.UTC


def test_task_reward_share_three_times_gives_200() -> None:
    ledger = new_ledger()
    entry = ledger.earn_for_task("c1", "share", "2026-11", at=at(2026, 11, 1))
    assert (entry.points, entry.key, entry.ref) == (200, '["task","share","c1","2026-11"]', "share")
    again = ledger.earn_for_task("c1", "share", "2026-11", at=at(2026, 11, 2))
    assert again == entry
    ledger.earn_for_task("c1", "share", "2026-12", at=at(2026, 12, 1))
    assert ledger.balance("c1", at(2026, 12, 1)) == 400
    with pytest.raises(InvalidValueError, match="task"):
        ledger.earn_for_task("c1", "like", "x", at=at(2026, 12, 1))


# -- idempotency --------------------------------------------------------------------------------


def test_reposting_the_same_key_and_content_returns_the_original() -> None:
    ledger = new_ledger()
    first = ledger.earn_for_order("c1", "o1", Money(5000), at=at(2026, 1, 1))
    again = ledger.earn_for_order("c1", "o1", Money(5000), at=at(2026, 3, 1))  # a late retry
    assert again is first or again == first
    assert again.at == first.at
    assert len(ledger.entries()) == 1
    assert ledger.balance("c1", at(2026, 3, 1)) == 50


def test_same_key_with_different_content_is_an_error_and_changes_nothing() -> None:
    ledger = new_ledger()
    ledger.earn_for_order("c1", "o1", Money(5000), at=at(2026, 1, 1))
    with pytest.raises(LedgerConflictError, match="points=50"):
        ledger.earn_for_order("c1", "o1", Money(6000), at=at(2026, 1, 2))
    with pytest.raises(LedgerConflictError, match="customer_id='c1'"):
        ledger.earn_for_order("c2", "o1", Money(5000), at=at(2026, 1, 2))
    assert len(ledger.entries()) == 1


def test_redeem_is_idempotent_by_redemption_id() -> None:
    ledger = new_ledger()
    ledger.earn_for_order("c1", "o1", Money(50_000), at=at(2026, 1, 1))
    first = ledger.redeem("c1", "c5", "r1", at=at(2026, 1, 2))
    assert ledger.redeem("c1", "c5", "r1", at=at(2026, 1, 3)) == first
    with pytest.raises(LedgerConflictError):
        ledger.redeem("c1", "mug", "r1", at=at(2026, 1, 3))
    assert ledger.balance("c1", at(2026, 1, 3)) == 500 - 120


def test_int_and_str_customer_ids_are_different_customers() -> None:
    ledger = new_ledger()
    ledger.earn_for_order(7, "o1", Money(1000), at=at(2026, 1, 1))
    ledger.earn_for_order("7", "o2", Money(2000), at=at(2026, 1, 1))
    assert ledger.balance(7, at(2026, 1, 2)) == 10
    assert ledger.balance("7", at(2026, 1, 2)) == 20
    assert ledger.store.customers() == [7, "7"]


# -- redemption ---------------------------------------------------------------------------------


def test_redeem_spends_oldest_lots_first() -> None:
    ledger = new_ledger()
    ledger.earn_for_order("c1", "o1", Money(10_000), at=at(2026, 1, 1))  # 100
    ledger.earn_for_order("c1", "o2", Money(5_000), at=at(2026, 2, 1))  # 50
    entry = ledger.redeem("c1", "c5", "r1", at=at(2026, 2, 2))  # 120
    assert entry.points == -120
    assert entry.ref == "c5"
    lots = ledger.lots("c1", at(2026, 2, 2))
    assert [(lot.key, lot.earned, lot.remaining) for lot in lots] == [('["earn","o2"]', 50, 30)]
    assert ledger.balance("c1", at(2026, 2, 2)) == 30


def test_redeeming_more_than_the_balance_fails_and_posts_nothing() -> None:
    ledger = new_ledger()
    ledger.earn_for_order("c1", "o1", Money(11_999), at=at(2026, 1, 1))  # 119
    with pytest.raises(InsufficientPointsError, match="are 119, fewer than the 120"):
        ledger.redeem("c1", "c5", "r1", at=at(2026, 1, 2))
    assert [e.key for e in ledger.entries("c1")] == ['["earn","o1"]']
    ledger.earn_for_order("c1", "o2", Money(100), at=at(2026, 1, 3))
    assert ledger.redeem("c1", "c5", "r1", at=at(2026, 1, 4)).points == -120
    assert ledger.balance("c1", at(2026, 1, 4)) == 0


def test_redeem_checks_the_benefit_and_level() -> None:
    ledger = new_ledger()
    ledger.earn_for_order("c1", "o1", Money(100_000), at=at(2026, 1, 1))
    with pytest.raises(InvalidValueError, match="points cannot buy"):
        ledger.redeem("c1", "member-coupon", "r1", at=at(2026, 1, 2))
    with pytest.raises(InvalidValueError, match="level must be >= 3"):
        ledger.redeem("c1", "vip-red", "r1", at=at(2026, 1, 2), level=2)
    with pytest.raises(InvalidValueError, match="not in the benefit catalogue"):
        ledger.redeem("c1", "nope", "r1", at=at(2026, 1, 2))
    assert ledger.redeem("c1", "vip-red", "r1", at=at(2026, 1, 2), level=3).points == -10


# -- expiry --------------------------------------------------------------------------------------


def test_expiry_is_oldest_first_and_posted_at_the_lot_expiry() -> None:
    ledger = new_ledger(PointsRules(expiry_months=1))
    ledger.earn_for_order("c1", "o1", Money(10_000), at=at(2026, 1, 1))  # 100, exp Feb 1
    ledger.earn_for_order("c1", "o2", Money(5_000), at=at(2026, 1, 20))  # 50, exp Feb 20
    ledger.redeem("c1", "mug", "r1", at=at(2026, 1, 21))  # 30 from o1
    # Before anything is posted, balance already leaves out due expiries.
    assert ledger.balance("c1", at(2026, 1, 31, 23, 59)) == 120
    assert ledger.balance("c1", at(2026, 2, 1)) == 50
    posted = ledger.expire(at(2026, 2, 10))
    assert [(e.key, e.points, e.at) for e in posted] == [
        ('["expire","earn","o1"]', -70, at(2026, 2, 1)),
    ]
    assert ledger.expire(at(2026, 2, 10)) == ()  # idempotent
    assert ledger.balance("c1", at(2026, 2, 10)) == 50
    posted = ledger.expire(at(2026, 3, 1))
    assert [(e.key, e.points) for e in posted] == [('["expire","earn","o2"]', -50)]
    assert ledger.balance("c1", at(2026, 3, 1)) == 0
    assert sum(e.points for e in ledger.entries("c1")) == 0


def test_a_write_posts_due_expiries_first_so_expired_points_are_never_spent() -> None:
    ledger = new_ledger(PointsRules(expiry_months=1))
    ledger.earn_for_order("c1", "o1", Money(20_000), at=at(2026, 1, 1))  # 200, exp Feb 1
    ledger.earn_for_order("c1", "o2", Money(5_000), at=at(2026, 1, 15))  # 50
    with pytest.raises(InsufficientPointsError):
        ledger.redeem("c1", "c5", "r1", at=at(2026, 2, 1))
    # The failed redemption posted nothing, not even the expiry (one transaction).
    assert [e.kind for e in ledger.entries("c1")] == [EntryKind.EARN, EntryKind.EARN]
    ledger.redeem("c1", "mug", "r2", at=at(2026, 2, 1))
    assert [(e.kind, e.points) for e in ledger.entries("c1")] == [
        (EntryKind.EARN, 200),
        (EntryKind.EARN, 50),
        (EntryKind.EXPIRE, -200),
        (EntryKind.REDEEM, -30),
    ]


def test_expire_for_one_customer() -> None:
    ledger = new_ledger(PointsRules(expiry_months=1))
    ledger.earn_for_order("a", "o1", Money(1000), at=at(2026, 1, 1))
    ledger.earn_for_order("b", "o2", Money(1000), at=at(2026, 1, 1))
    assert [e.customer_id for e in ledger.expire(at(2026, 3, 1), customer_id="a")] == ["a"]
    assert [e.customer_id for e in ledger.expire(at(2026, 3, 1))] == ["b"]


# -- refund reversal -----------------------------------------------------------------------------


def test_reversal_of_an_unspent_order_takes_back_its_points() -> None:
    ledger = new_ledger()
    ledger.earn_for_order("c1", "o1", Money(10_000), at=at(2026, 1, 1))
    ledger.earn_for_order("c1", "o2", Money(5_000), at=at(2026, 1, 2))
    entry = ledger.reverse_for_refund("o2", at=at(2026, 1, 3))
    assert (entry.kind, entry.points, entry.unrecovered) == (EntryKind.REVERSE, -50, 0)
    assert (entry.key, entry.ref, entry.customer_id) == ('["reverse","o2"]', '["earn","o2"]', "c1")
    lots = ledger.lots("c1", at(2026, 1, 3))
    assert [(lot.key, lot.remaining) for lot in lots] == [('["earn","o1"]', 100)]


def test_refund_after_partial_redemption_takes_what_is_left_and_records_the_shortfall() -> None:
    ledger = new_ledger()
    ledger.earn_for_order("c1", "o1", Money(10_000), at=at(2026, 1, 1))  # 100
    ledger.earn_for_order("c1", "o2", Money(5_000), at=at(2026, 1, 2))  # 50
    ledger.redeem("c1", "c5", "r1", at=at(2026, 1, 3))  # 120: o1 → 0, o2 → 30
    entry = ledger.reverse_for_refund("o1", at=at(2026, 1, 4))
    # o1 earned 100; its own lot is spent; 30 are left in o2's lot: take 30, 70 unrecovered.
    assert (entry.points, entry.unrecovered) == (-30, 70)
    assert ledger.balance("c1", at(2026, 1, 4)) == 0
    second = ledger.reverse_for_refund("o2", at=at(2026, 1, 5))
    assert (second.points, second.unrecovered) == (0, 50)
    assert ledger.balance("c1", at(2026, 1, 5)) == 0
    # No debt is carried: a later order's points are the customer's in full.
    ledger.earn_for_order("c1", "o3", Money(4_000), at=at(2026, 1, 6))
    assert ledger.balance("c1", at(2026, 1, 6)) == 40


def test_partial_reversals_never_ask_back_more_than_the_order_earned() -> None:
    ledger = new_ledger()
    ledger.earn_for_order("c1", "o1", Money(10_000), at=at(2026, 1, 1))
    part = ledger.reverse_for_refund("o1", at=at(2026, 1, 2), refund_id="a", points=60)
    assert part.points == -60
    with pytest.raises(InvalidValueError, match="must be <= 40"):
        ledger.reverse_for_refund("o1", at=at(2026, 1, 3), refund_id="b", points=41)
    rest = ledger.reverse_for_refund("o1", at=at(2026, 1, 3), refund_id="b")
    assert rest.points == -40
    assert ledger.reverse_for_refund("o1", at=at(2026, 1, 4), refund_id="c").points == 0
    assert ledger.balance("c1", at(2026, 1, 4)) == 0


def test_reversal_retry_is_a_no_op() -> None:
    ledger = new_ledger()
    ledger.earn_for_order("c1", "o1", Money(10_000), at=at(2026, 1, 1))
    first = ledger.reverse_for_refund("o1", at=at(2026, 1, 2))
    assert ledger.reverse_for_refund("o1", at=at(2026, 1, 9)) == first
    assert ledger.reverse_for_refund("o1", at=at(2026, 1, 9), points=100) == first
    with pytest.raises(LedgerConflictError):
        ledger.reverse_for_refund("o1", at=at(2026, 1, 9), points=5)
    assert len(ledger.entries()) == 2


def test_points_that_expired_unused_are_not_asked_back() -> None:
    ledger = new_ledger(PointsRules(expiry_months=1))
    ledger.earn_for_order("c1", "o1", Money(10_000), at=at(2026, 1, 1))  # 100, exp Feb 1
    ledger.earn_for_order("c1", "o2", Money(8_000), at=at(2026, 1, 25))  # 80, exp Feb 25
    ledger.redeem("c1", "mug", "r1", at=at(2026, 1, 26))  # 30 from o1 → 70 left in o1
    entry = ledger.reverse_for_refund("o1", at=at(2026, 2, 10))
    # 70 of o1 expired on Feb 1 unused; only the 30 the customer spent are asked back,
    # and they come from o2's lot.
    assert [(e.key, e.points) for e in ledger.entries("c1")][-2:] == [
        ('["expire","earn","o1"]', -70),
        ('["reverse","o1"]', -30),
    ]
    assert (entry.points, entry.unrecovered) == (-30, 0)
    assert ledger.balance("c1", at(2026, 2, 10)) == 50
    with pytest.raises(InvalidValueError, match="must be <= 0"):
        ledger.reverse_for_refund("o1", at=at(2026, 2, 11), refund_id="x", points=1)


def test_numpy_integer_customer_ids_are_plain_ints() -> None:
    np = pytest.importorskip("numpy")
    ledger = new_ledger()
    entry = ledger.earn_for_order(np.int64(7), "o1", Money(1000), at=at(2026, 1, 1))
    assert entry.customer_id == 7
    assert type(entry.customer_id) is int
    assert ledger.balance(7, at(2026, 1, 1)) == 10


def test_reversing_an_order_that_earned_nothing_here_is_an_error() -> None:
    with pytest.raises(InvalidValueError, match="has no earn entry"):
        new_ledger().reverse_for_refund("o404", at=at(2026, 1, 1))


# -- time order, inputs, atomicity -----------------------------------------------------------------


def test_operations_out_of_time_order_are_refused() -> None:
    ledger = new_ledger()
    ledger.earn_for_order("c1", "o1", Money(10_000), at=at(2026, 1, 10))
    with pytest.raises(InvalidValueError, match="must not be earlier than customer 'c1'"):
        ledger.earn_for_order("c1", "o2", Money(10_000), at=at(2026, 1, 9))
    # Another customer has their own timeline.
    ledger.earn_for_order("c2", "o3", Money(10_000), at=at(2026, 1, 1))
    assert len(ledger.entries()) == 2


def test_bad_inputs() -> None:
    ledger = new_ledger()
    with pytest.raises(InvalidValueError, match="timezone-aware"):
        ledger.earn_for_order("c1", "o1", Money(100), at=dt.datetime(2026, 1, 1))
    with pytest.raises(InvalidValueError, match="net_spend must be >= 0"):
        ledger.earn_for_order("c1", "o1", Money(-1), at=at(2026, 1, 1))
    with pytest.raises(InvalidTypeError):
        ledger.earn_for_order("c1", "o1", 100, at=at(2026, 1, 1))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        ledger.earn_for_order(1.5, "o1", Money(100), at=at(2026, 1, 1))  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        ledger.earn_for_order("c1", "", Money(100), at=at(2026, 1, 1))
    with pytest.raises(InvalidValueError, match="points must be an int >= 0"):
        ledger.reverse_for_refund("o1", at=at(2026, 1, 1), points=-1)
    with pytest.raises(InvalidTypeError):
        PointsLedger("not a store")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="expiry_months"):
        PointsRules(expiry_months=0)
    with pytest.raises(InvalidValueError, match="tasks"):
        PointsRules(tasks=(TaskReward("a", points=1), TaskReward("a", points=2)))
    assert ledger.entries() == ()


class FailingStore(InMemoryLedgerStore):
    """Raises on the second append of the ledger's life (after the first one succeeded)."""

    def __init__(self, fail_at: int) -> None:
        super().__init__()
        self.appends = 0
        self.fail_at = fail_at

    def append(self, entry: LedgerEntry) -> LedgerEntry:
        self.appends += 1
        if self.appends == self.fail_at:
            raise OSError("disk full (injected)")
        return super().append(entry)


def test_an_error_mid_operation_leaves_the_ledger_unchanged() -> None:
    store = FailingStore(fail_at=5)
    ledger = new_ledger(PointsRules(expiry_months=1), store=store)
    ledger.earn_for_order("c1", "o1", Money(10_000), at=at(2026, 1, 1))  # append 1
    ledger.earn_for_order("c1", "o2", Money(10_000), at=at(2026, 1, 2))  # append 2
    ledger.earn_for_order("c1", "o3", Money(10_000), at=at(2026, 1, 20))  # append 3
    before = ledger.entries()
    # The redemption first expires o1 and o2 (appends 4 and 5): the 5th append fails.
    with pytest.raises(OSError, match="injected"):
        ledger.redeem("c1", "mug", "r1", at=at(2026, 2, 5))
    assert ledger.entries() == before
    assert ledger.store.get('["expire","earn","o1"]') is None
    assert ledger.balance("c1", at(2026, 1, 31)) == 300
    # The store is still usable and sequence numbers carry on without a gap.
    entry = ledger.redeem("c1", "mug", "r1", at=at(2026, 2, 5))
    assert [e.seq for e in ledger.entries()] == [1, 2, 3, 4, 5, 6]
    assert entry.seq == 6


# -- properties ------------------------------------------------------------------------------------


def _check_invariants(ledger: PointsLedger, script: LedgerScript) -> None:
    entries = ledger.entries()
    assert [e.seq for e in entries] == list(range(1, len(entries) + 1))
    assert len({e.key for e in entries}) == len(entries)
    running: dict[object, int] = defaultdict(int)
    earned: dict[str, int] = {}
    asked_back: dict[str, int] = defaultdict(int)
    for entry in entries:
        running[entry.customer_id] += entry.points
        assert running[entry.customer_id] >= 0, f"negative after {entry}"
        if entry.kind is EntryKind.EARN:
            earned[entry.key] = entry.points
        if entry.kind in (EntryKind.REVERSE, EntryKind.EXPIRE):
            # What an order's points became: asked back (taken or unrecovered) or expired,
            # never more in total than the order earned.
            asked_back[entry.ref] += -entry.points + entry.unrecovered
            assert asked_back[entry.ref] <= earned[entry.ref]
    for customer in script.customers:
        # After posting every due expiry, the balance is exactly the sum of the entries.
        ledger.expire(script.end, customer_id=customer)
        total = sum(e.points for e in ledger.entries(customer))
        assert ledger.balance(customer, script.end) == total >= 0
        lots = ledger.lots(customer, script.end)
        assert sum(lot.remaining for lot in lots) == total
        assert all(lot.remaining > 0 for lot in lots)


@given(ledger_operations(max_size=40))
def test_balance_is_the_sum_of_entries_and_never_negative(script: LedgerScript) -> None:
    ledger, results = script.run(InMemoryLedgerStore())
    for op, result in zip(script.operations, results, strict=True):
        if isinstance(result, LedgerEntry):
            as_of = dict(op.kwargs)["at"]
            assert isinstance(as_of, dt.datetime)
            assert ledger.balance(result.customer_id, as_of) >= 0
    _check_invariants(ledger, script)


def naive_lots(entries: tuple[LedgerEntry, ...]) -> list[tuple[str, int]]:
    """FIFO lots recomputed the slow, obvious way: (earn key, points left), oldest first."""
    left: dict[str, int] = {}
    for e in entries:
        if e.kind is EntryKind.EARN:
            left[e.key] = e.points
            continue
        need = -e.points
        if e.kind is EntryKind.EXPIRE:
            assert left[e.ref] == need, "an expiry takes exactly what is left of its lot"
            left[e.ref] = 0
            continue
        if e.kind is EntryKind.REVERSE:
            own = min(left[e.ref], need)
            left[e.ref] -= own
            need -= own
        for key in left:
            take = min(left[key], need)
            left[key] -= take
            need -= take
        assert need == 0, "a debit never exceeds what the lots hold"
    return [(k, v) for k, v in left.items() if v > 0]


@given(ledger_operations(max_size=40))
def test_lots_match_a_naive_fifo_recomputation(script: LedgerScript) -> None:
    ledger, _ = script.run(InMemoryLedgerStore())
    ledger.expire(script.end)
    for customer in script.customers:
        expected = naive_lots(ledger.entries(customer))
        got = [(lot.key, lot.remaining) for lot in ledger.lots(customer, script.end)]
        assert got == expected


@given(ledger_operations(max_size=30))
def test_replaying_the_same_script_returns_the_original_entries(script: LedgerScript) -> None:
    ledger, first = script.run(InMemoryLedgerStore())
    before = ledger.entries()
    for op, original in zip(script.operations, first, strict=True):
        again = op.apply(ledger)
        if isinstance(original, LedgerEntry):
            assert again == original
    assert ledger.entries()[: len(before)] == before


# -- natural keys that cannot collide ---------------------------------------------------------


def test_int_and_str_customers_get_their_own_task_keys() -> None:
    ledger = new_ledger()
    three = ledger.earn_for_task(3, "share", "2026-11", at=at(2026, 11, 1))
    three_str = ledger.earn_for_task("3", "share", "2026-11", at=at(2026, 11, 1))
    assert three.key == '["task","share",3,"2026-11"]'
    assert three_str.key == '["task","share","3","2026-11"]'
    assert ledger.balance(3, at(2026, 11, 1)) == ledger.balance("3", at(2026, 11, 1)) == 200


def test_colons_in_customer_and_occurrence_do_not_collide() -> None:
    ledger = new_ledger()
    first = ledger.earn_for_task("a:b", "share", "c", at=at(2026, 11, 1))
    second = ledger.earn_for_task("a", "share", "b:c", at=at(2026, 11, 1))
    assert (first.key, second.key) == (
        '["task","share","a:b","c"]',
        '["task","share","a","b:c"]',
    )
    assert first.key != second.key
    assert ledger.balance("a:b", at(2026, 11, 1)) == ledger.balance("a", at(2026, 11, 1)) == 200


def test_a_partial_refund_does_not_take_the_key_of_another_orders_full_refund() -> None:
    ledger = new_ledger()
    ledger.earn_for_order("c1", "o", Money(10_000), at=at(2026, 1, 1))  # 100
    ledger.earn_for_order("c2", "o:1", Money(5_000), at=at(2026, 1, 1))  # 50
    part = ledger.reverse_for_refund("o", at=at(2026, 1, 2), refund_id="1", points=10)
    full = ledger.reverse_for_refund("o:1", at=at(2026, 1, 2))
    assert (part.key, part.points, part.customer_id) == ('["reverse","o","1"]', -10, "c1")
    assert (full.key, full.points, full.customer_id) == ('["reverse","o:1"]', -50, "c2")
    assert ledger.balance("c1", at(2026, 1, 2)) == 90
    assert ledger.balance("c2", at(2026, 1, 2)) == 0


def test_quotes_and_brackets_in_ids_stay_inside_their_part() -> None:
    ledger = new_ledger()
    odd = 'x","y'
    entry = ledger.earn_for_order("c1", odd, Money(1_000), at=at(2026, 1, 1))
    other = ledger.earn_for_order("c1", "x", Money(2_000), at=at(2026, 1, 1))
    assert entry.key == '["earn","x\\",\\"y"]'
    assert other.key == '["earn","x"]'
    assert ledger.reverse_for_refund(odd, at=at(2026, 1, 2), refund_id="y").points == -10


_ids = st.one_of(st.text(alphabet=':"[],\\ab1', min_size=1, max_size=5),
                 st.integers(min_value=-3, max_value=3))


@given(st.lists(st.tuples(_ids, st.text(alphabet=':"ab1', min_size=1, max_size=4)),
                max_size=12))
def test_task_keys_differ_exactly_when_customer_or_occurrence_differ(
    posts: list[tuple[str | int, str]],
) -> None:
    ledger = new_ledger()
    for customer, occurrence in posts:
        ledger.earn_for_task(customer, "share", occurrence, at=at(2026, 11, 1))
    distinct = {(type(c), c, o) for c, o in posts}
    assert len(ledger.entries()) == len(distinct)
    assert len({e.key for e in ledger.entries()}) == len(distinct)


def test_a_second_reversal_counts_what_the_first_could_not_recover() -> None:
    ledger = new_ledger()
    ledger.earn_for_order("c1", "o1", Money(10_000), at=at(2026, 1, 1))  # 100
    ledger.earn_for_order("c1", "o2", Money(5_000), at=at(2026, 1, 2))  # 50
    ledger.redeem("c1", "c5", "r1", at=at(2026, 1, 3))  # 120: 30 left, in o2's lot
    part = ledger.reverse_for_refund("o1", at=at(2026, 1, 4), refund_id="a", points=60)
    assert (part.points, part.unrecovered) == (-30, 30)
    # 60 of o1's 100 were asked back (30 taken, 30 unrecovered): 40 are left to ask
    rest = ledger.reverse_for_refund("o1", at=at(2026, 1, 5), refund_id="b")
    assert (rest.points, rest.unrecovered) == (0, 40)
    with pytest.raises(InvalidValueError, match="must be <= 0"):
        ledger.reverse_for_refund("o1", at=at(2026, 1, 6), refund_id="c", points=1)


# -- the snapshot: operations do not replay history; expire() is one query ----------------------


class CountingStore(InMemoryLedgerStore):
    """Counts the store calls a ledger makes."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[str, int] = defaultdict(int)

    def entries_for(self, customer_id: object) -> list[LedgerEntry]:  # type: ignore[override]
        self.calls["entries_for"] += 1
        return super().entries_for(customer_id)  # type: ignore[arg-type]

    def all_entries(self) -> list[LedgerEntry]:
        self.calls["all_entries"] += 1
        return super().all_entries()

    def customers(self) -> list[object]:  # type: ignore[override]
        self.calls["customers"] += 1
        return super().customers()  # type: ignore[return-value]

    def open_lots(self, customer_id: object) -> list[LotState]:  # type: ignore[override]
        self.calls["open_lots"] += 1
        lots = super().open_lots(customer_id)  # type: ignore[arg-type]
        self.calls["lots_read"] += len(lots)
        return lots

    def due_lots(self, as_of: dt.datetime, customer_id: object = None) -> list[LotState]:  # type: ignore[override]
        self.calls["due_lots"] += 1
        return super().due_lots(as_of, customer_id)  # type: ignore[arg-type]


def test_an_operation_reads_the_open_lots_not_the_history() -> None:
    store = CountingStore()
    ledger = new_ledger(PointsRules(expiry_months=None), store=store)
    for n in range(300):  # 300 orders, each spent right away: one lot stays open
        ledger.earn_for_order("c1", f"o{n}", Money(3_000), at=at(2026, 1, 1))
        ledger.redeem("c1", "mug", f"r{n}", at=at(2026, 1, 1))
    ledger.earn_for_order("c1", "big", Money(10_000), at=at(2026, 1, 2))
    store.calls.clear()
    ledger.redeem("c1", "mug", "last", at=at(2026, 1, 3))
    ledger.reverse_for_refund("o7", at=at(2026, 1, 3))
    # big's 100 - the mug's 30 - o7's 30 asked back (its own lot is spent: taken from big)
    assert ledger.balance("c1", at(2026, 1, 3)) == 100 - 30 - 30
    assert store.calls["entries_for"] == store.calls["all_entries"] == 0
    assert store.calls["lots_read"] <= 3  # the open lots, not 301 lots nor 602 entries


def test_expire_finds_every_due_lot_with_one_query() -> None:
    store = CountingStore()
    ledger = new_ledger(PointsRules(expiry_months=1), store=store)
    for n in range(50):
        ledger.earn_for_order(f"c{n}", f"o{n}", Money(1_000 + n * 100), at=at(2026, 1, 1))
    ledger.earn_for_order("late", "o-late", Money(1_000), at=at(2026, 1, 20))
    store.calls.clear()
    posted = ledger.expire(at(2026, 2, 10))
    assert [e.customer_id for e in posted] == [f"c{n}" for n in range(50)]
    assert [-e.points for e in posted] == [10 + n for n in range(50)]
    assert dict(store.calls) == {"due_lots": 1}
    assert ledger.expire(at(2026, 2, 10)) == ()
