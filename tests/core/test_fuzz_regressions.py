"""Regressions for the bad values the public-API fuzzer found (issue 17).

Each test pins the exact ecrm error type, that the message names the field, and (for
absurd sizes) that the refusal is fast.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecrm import Money, OrderLog
from ecrm.errors import (
    InvalidTypeError,
    InvalidValueError,
    PredicateFormatError,
    StoreError,
)
from ecrm.lifecycle import RepurchaseCycle
from ecrm.rfm import score
from ecrm.segments import Predicate
from ecrm.service import ComplaintTaxonomy, Ticket, TicketKind
from ecrm.tiers import (
    TAOBAO_STORE_VIP,
    Coupon,
    IssuedCoupon,
    PointsRules,
    Tier,
    annual_spends,
    coupon_problems,
    monthly_upgrade_rate,
    replay_memberships,
    validate_gift_pack,
    what_if,
)
from ecrm.touch import (
    Backoff,
    ChannelKind,
    Message,
    MessageClass,
    Recipient,
    SendPolicy,
    SmsComposer,
    SqliteOptOutRegistry,
)

SH = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2024, 5, 1, 12, tzinfo=SH)
FAST_S = 0.5  # a refusal does no work proportional to the absurd size


def _log() -> OrderLog:
    t = dt.datetime(2024, 4, 1, tzinfo=SH)
    return OrderLog.from_arrays(["a", "b"], [t, t], [100, 200], tz=SH)


def _message() -> Message:
    return Message("m1", "promo", MessageClass.MARKETING, ChannelKind.SMS,
                   Recipient("c1", phone="13812345678", tz="Asia/Shanghai"), "hello", AS_OF)


# -- core value types ---------------------------------------------------------------------
def test_tier_level_zero_is_an_invalid_value_naming_level() -> None:
    tier = TAOBAO_STORE_VIP.tiers[0]
    with pytest.raises(InvalidValueError, match=r"^level must be >= 1, got 0$") as info:
        attrs.evolve(tier, level=0)
    assert info.value.field == "level"
    assert info.value.value == 0


def test_tier_name_of_wrong_type_is_an_invalid_type_error_naming_name() -> None:
    with pytest.raises(InvalidTypeError, match=r"^name must be str, got int 5$"):
        Tier(level=1, name=5, min_spend=Money(100), min_orders=1)  # type: ignore[arg-type]


def test_backoff_factor_zero_is_an_invalid_value_naming_factor() -> None:
    with pytest.raises(InvalidValueError, match=r"^factor must be >= 1, got 0$") as info:
        Backoff(factor=0)
    assert info.value.field == "factor"


def test_sms_composer_with_an_int_signature_is_an_invalid_type_error() -> None:
    with pytest.raises(InvalidTypeError, match=r"^signature must be str, got int 0$"):
        SmsComposer(0)  # type: ignore[arg-type]


def test_sms_composer_max_chars_nan_is_an_invalid_value() -> None:
    with pytest.raises(InvalidValueError, match=r"^max_chars must be >= 1") as info:
        SmsComposer("【小店】", max_chars=math.nan)  # type: ignore[arg-type]
    assert info.value.field == "max_chars"


@pytest.mark.parametrize("text", ["1e999999999", "1E+400000", "-1E-400000", "1" * 5000])
def test_money_from_decimal_refuses_absurd_exponents_fast(text: str) -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidValueError, match=r"^amount must be under 1E[+]30") as info:
        Money.from_decimal(text)
    assert time.perf_counter() - started < FAST_S
    assert info.value.field == "amount"


def test_money_from_decimal_still_reads_large_and_small_amounts() -> None:
    # 10**16 yuan is 10**18 fen, inside int64; 0.01 is one fen
    assert Money.from_decimal("1E+16").fen == 10**18
    assert Money.from_decimal("0.01").fen == 1
    assert Money.from_decimal("0E+999999").fen == 0


@pytest.mark.parametrize("fen", [2**63, -(2**63), 10**30, -(10**30)])
def test_money_outside_int64_is_an_invalid_value_naming_fen(fen: int) -> None:
    with pytest.raises(InvalidValueError, match=r"^fen must fit a signed 64-bit integer") as info:
        Money(fen)
    assert info.value.field == "fen"


def test_money_sum_past_int64_is_an_invalid_value() -> None:
    big = Money(2**62)
    with pytest.raises(InvalidValueError, match=r"^fen must fit"):
        big + big


def test_a_huge_int_in_an_error_message_is_shortened() -> None:
    with pytest.raises(InvalidValueError) as info:
        Money(2**40000)  # past Python's 4,300-digit str() limit
    assert len(str(info.value)) < 400


# -- time ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "as_of",
    [dt.datetime(1, 1, 1, tzinfo=dt.UTC), dt.datetime(9999, 12, 31, tzinfo=dt.UTC),
     dt.datetime(999, 12, 31, 23, tzinfo=dt.UTC), dt.datetime(9000, 1, 1, tzinfo=dt.UTC)],
)
def test_score_as_of_at_the_ends_of_time_is_an_invalid_value_naming_as_of(as_of: dt.datetime) -> None:
    with pytest.raises(InvalidValueError, match=r"^as_of must be in the years 1000 to 8999") as info:
        score(_log(), as_of=as_of)
    assert info.value.field == "as_of"


def test_score_as_of_at_the_edges_of_the_range_works() -> None:
    # hand check: one-year window back from 1000-01-01 holds none of the 2024 orders
    for year in (1000, 8999):
        result = score(_log(), as_of=dt.datetime(year, 1, 1, tzinfo=dt.UTC), warn_undersized=False)
        assert len(result.customer_ids) == 0


def test_send_policy_decide_with_a_date_is_an_invalid_type_error_naming_as_of() -> None:
    with pytest.raises(InvalidTypeError, match=r"^as_of must be a timezone-aware datetime"):
        SendPolicy().decide(_message(), as_of=dt.date(2024, 5, 1))  # type: ignore[arg-type]


def test_send_policy_decide_with_a_utc_moment_past_the_range_is_refused() -> None:
    # the UTC fast path must check the range too
    with pytest.raises(InvalidValueError, match=r"^as_of must be in the years"):
        SendPolicy().decide(_message(), as_of=dt.datetime(9999, 1, 1, tzinfo=dt.UTC))


def test_issued_coupon_with_a_naive_validity_is_an_invalid_value_naming_the_field() -> None:
    coupon = Coupon("C1", face_value=Money(500), valid_days=7)
    with pytest.raises(InvalidValueError, match=r"^valid_from must be timezone-aware") as info:
        IssuedCoupon(coupon, dt.datetime(2024, 5, 1), AS_OF)
    assert info.value.field == "valid_from"


# -- nesting and text ---------------------------------------------------------------------
def test_predicate_from_json_text_refuses_deep_nesting_fast() -> None:
    started = time.perf_counter()
    with pytest.raises(PredicateFormatError, match=r"^text must be JSON nested less deeply") as info:
        Predicate.from_json("[" * 100_000 + "]" * 100_000)
    assert time.perf_counter() - started < FAST_S
    assert info.value.field == "text"
    assert len(str(info.value)) < 400  # the 200,000 characters are not echoed


def test_predicate_from_dict_refuses_deep_nesting() -> None:
    node: dict[str, object] = {"field": "carted", "last_days": 30}
    for _ in range(5_000):
        node = {"op": "not", "arg": node}
    with pytest.raises(PredicateFormatError, match=r"^predicate nests too deeply") as info:
        Predicate.from_dict({"version": 1, "predicate": node})
    assert info.value.field == "predicate"


# -- columns ------------------------------------------------------------------------------
@pytest.mark.parametrize("column", ["channels", "provinces", "statuses", "order_ids"])
def test_order_log_from_arrays_refuses_a_string_as_a_column(column: str) -> None:
    t = dt.datetime(2024, 5, 1, tzinfo=SH)
    with pytest.raises(InvalidTypeError, match=rf"^{column} must be a sequence or array of values"):
        OrderLog.from_arrays(["a", "b"], [t, t], [100, 200], tz=SH, **{column: "xy"})


def test_repurchase_cycle_curve_with_nan_is_an_invalid_value_naming_the_curve() -> None:
    with pytest.raises(InvalidValueError, match=r"^curve_share must hold finite numbers") as info:
        RepurchaseCycle(
            p50_days=10, p70_days=20, p90_days=30, n_first_time_buyers=5, n_repurchasers=3,
            repurchase_rate=0.6, curve_days=[10], curve_share=[math.nan], method="empirical",
            same_day="merge", scope="all", min_repurchasers=1, estimate=None, as_of=AS_OF,
        )
    assert info.value.field == "curve_share"


def test_message_metadata_that_is_not_pairs_is_an_invalid_type_error() -> None:
    with pytest.raises(InvalidTypeError, match=r"^metadata must hold"):
        attrs.evolve(_message(), metadata=("ab", "c"))


# -- service ------------------------------------------------------------------------------
def test_ticket_with_an_unknown_kind_is_an_invalid_value_naming_kind() -> None:
    with pytest.raises(InvalidValueError, match=r"^kind must be one of 'inquiry'") as info:
        Ticket("T1", None, "normal", "wangwang", "c1", AS_OF)  # type: ignore[arg-type]
    assert info.value.field == "kind"
    # the text of a member still reads
    assert Ticket("T1", "complaint", "normal", "wangwang", "c1", AS_OF).kind is TicketKind.COMPLAINT


def test_complaint_taxonomy_weight_that_is_text_is_an_invalid_type_error() -> None:
    with pytest.raises(InvalidTypeError, match=r"^weight of phrase 'slow' must be a number"):
        ComplaintTaxonomy.from_mapping({"delivery": {"slow": "x"}})  # type: ignore[dict-item]


# -- stores -------------------------------------------------------------------------------
def test_opt_out_registry_in_a_missing_folder_is_a_store_error() -> None:
    with pytest.raises(StoreError, match=r"cannot open opt-out registry") as info:
        SqliteOptOutRegistry("/nonexistent/x.db")
    assert isinstance(info.value, StoreError)
    assert isinstance(info.value, OSError)


@pytest.mark.parametrize("timeout", [math.inf, math.nan, 0, -1, 10**12])
def test_store_busy_timeout_out_of_range_is_an_invalid_value(tmp_path: Path, timeout: float) -> None:
    with pytest.raises(InvalidValueError, match=r"^busy_timeout must be > 0 and <= 86,400") as info:
        SqliteOptOutRegistry(tmp_path / "o.db", busy_timeout=timeout)
    assert info.value.field == "busy_timeout"
    assert not (tmp_path / "o.db").exists()  # nothing was created


def test_store_busy_timeout_array_is_an_invalid_type_error(tmp_path: Path) -> None:
    with pytest.raises(InvalidTypeError, match=r"^busy_timeout must be a number of seconds"):
        SqliteOptOutRegistry(tmp_path / "o.db", busy_timeout=np.array([1.0, 2.0]))  # type: ignore[arg-type]


# -- hypothesis still reads ecrm's validators ---------------------------------------------
@given(st.builds(Backoff))
def test_hypothesis_builds_values_through_ecrm_validators(backoff: Backoff) -> None:
    """``instance_of``/``in_`` stay attrs validators underneath, so st.builds infers them."""
    assert isinstance(backoff.factor, int)
    assert backoff.factor >= 1


def test_window_of_dates_at_the_end_of_time_is_an_invalid_value_naming_the_bound() -> None:
    from ecrm import Window

    with pytest.raises(InvalidValueError, match=r"^end must be in the years 1000 to 8999") as info:
        Window.of_dates(dt.date(2024, 5, 1), dt.date.max, "Pacific/Kiritimati")
    assert info.value.field == "end"


def test_is_fake_phone_of_an_array_is_false_not_an_ambiguous_truth_value() -> None:
    from ecrm import is_fake_phone

    assert is_fake_phone(np.array([], dtype=object)) is False  # type: ignore[arg-type]
    assert is_fake_phone("15400000001") is True


def test_money_from_decimal_of_a_malformed_decimal_tuple_is_an_invalid_value() -> None:
    with pytest.raises(InvalidValueError, match=r"^amount must be a decimal number") as info:
        Money.from_decimal((0, (1,), 2, 3))  # type: ignore[arg-type]
    assert info.value.field == "amount"


def test_split_audience_of_a_nested_list_is_an_invalid_type_error() -> None:
    from ecrm.analytics import split_audience

    with pytest.raises(InvalidTypeError, match=r"^audience must be a flat sequence"):
        split_audience("c1", [[["a"]], ["b", ["c"]]])


# -- the care flows check their data arguments before reading them ------------------------------
def test_a_flow_given_the_wrong_data_type_names_the_parameter() -> None:
    import datetime as _dt

    from ecrm import OrderLog as _Log
    from ecrm.touch import SmsComposer
    from ecrm.touch.flows import (
        FlowContext,
        birthday_greetings,
        order_events_from_log,
        win_back_offers,
    )

    at = _dt.datetime(2025, 1, 1, tzinfo=_dt.UTC)
    ctx = FlowContext(SmsComposer("【小林茶铺】"))
    with pytest.raises(InvalidTypeError, match=r"birthday_greetings\(\): ctx must be FlowContext, "
                                               r"got NoneType"):
        birthday_greetings(start=at, as_of=at, ctx=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"win_back_offers\(\): orders must be OrderLog, "
                                               r"got list"):
        win_back_offers([], start=at, as_of=at, ctx=ctx, cycle=(30, 60, 90))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="orders must be an OrderLog, got NoneType"):
        order_events_from_log(None)  # type: ignore[arg-type]
    assert isinstance(_Log.from_orders([]), _Log)  # a real log still passes the check


# -- segments: bounded messages for deep values, statuses that are not order statuses -----------
def _nested_list(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("make", ["RfmGradeIn", "StageIn"])
def test_a_grade_or_stage_leaf_of_a_deeply_nested_value_names_the_item(make: str) -> None:
    import ecrm.segments

    cls = getattr(ecrm.segments, make)
    with pytest.raises(InvalidValueError, match=r"^values\[0\] must be a (grade|stage)") as info:
        cls([_nested_list(5_000)])
    assert info.value.field == "values[0]"
    assert len(str(info.value)) < 300  # the 5,000 levels are not echoed
    with pytest.raises(InvalidValueError, match=r"^values\[1\] must be a grade P, G, S or B, "
                                                r"got 3"):
        ecrm.segments.RfmGradeIn(["P", 3])  # a code is not a grade's name


def test_and_of_a_deeply_nested_value_is_an_invalid_type_error_naming_the_arg() -> None:
    from ecrm.segments import And, Blocked, Not, Or

    for combine in (And, Or):
        with pytest.raises(InvalidTypeError, match=r"^args\[1\] must be a Predicate, got list \[\[\[") as info:
            combine([Blocked(), _nested_list(5_000)])
        assert len(str(info.value)) < 300
    with pytest.raises(InvalidTypeError, match=r"^arg must be a Predicate, got list"):
        Not(_nested_list(5_000))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^args must be a collection of predicates"):
        And(Blocked())  # type: ignore[arg-type]  # one predicate is not a collection of them


def test_audience_context_statuses_name_the_item_that_is_not_an_order_status() -> None:
    from ecrm import OrderStatus
    from ecrm.segments import AudienceContext

    with pytest.raises(InvalidValueError, match=r"^statuses\[1\] must be an order status "
                                                r"\(unpaid, paid, shipped, completed, refunded, "
                                                r"closed\), got 'delivered'") as info:
        AudienceContext(statuses=["paid", "delivered"])
    assert info.value.field == "statuses[1]"
    with pytest.raises(InvalidTypeError, match=r"^statuses\[0\] must be an OrderStatus, got int 2"):
        AudienceContext(statuses=[2])
    with pytest.raises(InvalidTypeError, match=r"^statuses must be a collection of OrderStatus"):
        AudienceContext(statuses="paid")  # type: ignore[arg-type]  # one text, not statuses
    with pytest.raises(InvalidTypeError, match=r"^statuses must be a collection of OrderStatus"):
        AudienceContext(statuses=7)  # type: ignore[arg-type]
    assert AudienceContext(statuses=["paid", OrderStatus.SHIPPED]).statuses == frozenset(
        {OrderStatus.PAID, OrderStatus.SHIPPED})
    with pytest.raises(InvalidTypeError, match=r"^cycle must be a RepurchaseCycle, Bands or"):
        AudienceContext(cycle="30,60,90")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match=r"^bands must satisfy p50_days <= p70_days"):
        AudienceContext(cycle=(90, 60, 30))
# -- CustomerTable from a frame: a columns argument that is no mapping --------------------------
def _one_customer_frame(library: str) -> object:
    data = {"customer_id": ["c1"], "会员名": ["小林"]}
    if library == "pandas":
        return pytest.importorskip("pandas").DataFrame(data)
    if library == "polars":
        return pytest.importorskip("polars").DataFrame(data)
    return pytest.importorskip("pyarrow").table(data)


@pytest.mark.parametrize("library", ["pandas", "polars", "arrow"])
@pytest.mark.parametrize(
    ("columns", "kind"),
    [(["customer_id"], "list"), ("name", "str"), (np.array(["a", "b"]), "ndarray"), (3, "int")],
)
def test_customer_table_from_a_frame_refuses_columns_that_are_no_mapping(
    library: str, columns: object, kind: str
) -> None:
    from ecrm import CustomerTable

    build = {"pandas": CustomerTable.from_pandas, "polars": CustomerTable.from_polars,
             "arrow": CustomerTable.from_arrow}[library]
    frame = _one_customer_frame(library)
    with pytest.raises(InvalidTypeError,
                       match=rf"^columns must be a mapping of field to header, got {kind}$"):
        build(frame, columns=columns)  # type: ignore[arg-type]
    # a mapping still renames: the name is read from the header it names
    assert build(frame, columns={"name": "会员名"}).row("c1").name == "小林"
# -- leaksB: tiers, lifecycle, flows, profile, OrderLog.from_orders --------------------------------
# tiers: a wrong-type argument is named before anything reads it
@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: annual_spends(_log(), None, as_of=AS_OF), r"^rules must be FeeRules, got NoneType"),
        (lambda: coupon_problems(None), r"^coupon must be Coupon, got NoneType"),
        (lambda: coupon_problems(Coupon("C1", face_value=Money(500), valid_days=7), rules=True),
         r"^rules must be GiftPackRules, got bool True"),
        (lambda: validate_gift_pack([], rules="x"), r"^rules must be GiftPackRules, got str 'x'"),
        (lambda: monthly_upgrade_rate(None, TAOBAO_STORE_VIP, opted_in=True, months=[AS_OF]),
         r"^orders must be OrderLog, got NoneType"),
        (lambda: monthly_upgrade_rate(_log(), {"a": 1}, opted_in=True, months=[AS_OF]),
         r"^ladder must be TierLadder, got dict"),
        (lambda: what_if(_log(), dt.date(2024, 5, 1), TAOBAO_STORE_VIP, as_of=AS_OF, opted_in=True),
         r"^current must be TierLadder, got date"),
        (lambda: what_if(_log(), TAOBAO_STORE_VIP, None, as_of=AS_OF, opted_in=True),
         r"^proposed must be TierLadder, got NoneType"),
        (lambda: what_if(_log(), TAOBAO_STORE_VIP, TAOBAO_STORE_VIP, as_of=AS_OF, opted_in=True,
                         policy=np.array([1.0])),
         r"^policy must be DowngradePolicy or None, got ndarray"),
        (lambda: replay_memberships(None, []), r"^orders must be OrderLog, got NoneType"),
        (lambda: replay_memberships(_log(), [], policy="never"),
         r"^policy must be DowngradePolicy, got str"),
        (lambda: PointsRules(tasks=np.array([1.0, math.nan])),
         r"^tasks\[0\] must be TaskReward, got float64"),
        (lambda: PointsRules(tasks=5), r"^tasks must be an iterable of TaskReward, got int 5"),
    ],
)
def test_tiers_functions_name_a_wrong_type_argument(call: Any, message: str) -> None:
    with pytest.raises(InvalidTypeError, match=message):
        call()


def test_validate_gift_pack_names_a_deeply_nested_coupon_without_recursing() -> None:
    deep: list[Any] = []
    for _ in range(5_000):
        deep = [deep]
    with pytest.raises(InvalidTypeError, match=r"^coupons\[0\] must be Coupon, got list "):
        validate_gift_pack([deep])


def test_membership_event_kind_of_an_array_is_an_invalid_value_not_an_ambiguous_truth() -> None:
    from ecrm.tiers import MembershipEvent

    with pytest.raises(InvalidValueError, match=r"^kind must be one of") as info:
        MembershipEvent("c1", AS_OF, np.array([], dtype=object))  # type: ignore[arg-type]
    assert info.value.field == "kind"


# lifecycle: wrong types named, result values whose rows do not line up refused
def test_playbook_rule_of_the_wrong_type_is_named_by_index() -> None:
    from ecrm.lifecycle import DEFAULT_PLAYBOOK, Playbook

    with pytest.raises(InvalidTypeError, match=r"^rules\[1\] must be PlaybookRule, got str 'x'"):
        Playbook((DEFAULT_PLAYBOOK.rules[0], "x"))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^rules must be an iterable of PlaybookRule"):
        Playbook("abc")  # type: ignore[arg-type]


def test_format_cycle_report_names_a_wrong_cycle_or_stages() -> None:
    from ecrm.lifecycle import format_cycle_report, repurchase_cycle

    cycle = repurchase_cycle(_log(), as_of=AS_OF, fallback=(10, 20, 30))
    with pytest.raises(InvalidTypeError, match=r"^cycle must be RepurchaseCycle, got NoneType"):
        format_cycle_report(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^stages must be StageResult, got frozenset"):
        format_cycle_report(cycle, frozenset({1}))  # type: ignore[arg-type]


def _stage_fields() -> dict[str, Any]:
    from ecrm.lifecycle import Bands

    return {"customer_ids": np.array(["a", "b"]), "stage_codes": np.array([1, 2], dtype=np.int8),
            "days_since_last": np.array([3, 9]), "n_purchase_days": np.array([1, 2]),
            "bands": Bands(10, 20, 30), "scope": "store", "as_of": AS_OF, "_as_of_day": 19844}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"days_since_last": np.array([3])},
         r"^StageResult.days_since_last must have the length of customer_ids \(2\), got 'length 1'"),
        ({"stage_codes": np.array([[1], [2]])}, r"^StageResult.stage_codes must be a one-dimensional array, got 'shape \(2, 1\)'"),
        ({"stage_codes": np.array([1, 9])}, r"^StageResult.stage_codes must hold Stage codes 0 to 5"),
        ({"n_purchase_days": np.array([1.5, 2.0])},
         r"^StageResult.n_purchase_days must be an array of integers, got 'dtype float64'"),
        ({"customer_ids": [["a"], ["b"]]}, r"^StageResult.customer_ids must be a one-dimensional"),
    ],
)
def test_stage_result_rows_that_do_not_line_up_are_refused(
    change: dict[str, Any], message: str
) -> None:
    from ecrm.lifecycle import StageResult

    assert len(StageResult(**_stage_fields())) == 2  # the consistent value is fine
    with pytest.raises(InvalidValueError, match=message) as info:
        StageResult(**(_stage_fields() | change))
    assert info.value.field.startswith("StageResult.")


def test_cycle_table_p_days_of_the_wrong_shape_is_refused() -> None:
    from ecrm import Order, OrderItem, OrderStatus
    from ecrm.lifecycle import cycles_by

    def bought(order_id: str, day: int) -> Order:
        at = dt.datetime(2024, 1, 1, tzinfo=SH) + dt.timedelta(days=day)
        return Order(order_id, "a", at, Money(100), status=OrderStatus.PAID, paid_at=at,
                     items=[OrderItem(sku="sku1", unit_price=Money(100))])

    log = OrderLog.from_orders([bought("o1", 0), bought("o2", 20)], tz=SH)
    table = cycles_by(log, by="sku", as_of=AS_OF, min_repurchasers=1)
    with pytest.raises(InvalidValueError, match=r"^CycleTable.p_days must be an int array of "
                                                r"shape \(1, 3\)"):
        attrs.evolve(table, p_days=np.array([20, 20, 20]))
    with pytest.raises(InvalidValueError, match=r"^CycleTable.keys must be an array of str"):
        attrs.evolve(table, keys=np.array([["sku1"]], dtype=object)[:, 0])
    with pytest.raises(InvalidValueError, match=r"^CycleTable.by must be one of"):
        attrs.evolve(table, by="brand")


def test_stages_of_deeply_nested_customers_is_an_ecrm_error() -> None:
    from ecrm.lifecycle import stages

    deep: list[Any] = ["a"]
    for _ in range(100):
        deep = [deep]
    with pytest.raises(InvalidTypeError, match=r"^customers must be a flat sequence"):
        stages(_log(), as_of=AS_OF, cycle=(10, 20, 30), customers=deep)


# touch.flows: wrong types named, absurd delays refused before the int64 arithmetic
def _ctx() -> Any:
    from ecrm.touch.flows import FlowContext

    return FlowContext(SmsComposer("【小林茶铺】"), link="https://shop.example/x")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"refund_after": dt.timedelta(days=999_999_999)}, InvalidValueError,
         r"^refund_after must be between 0 and 3,650 days"),
        ({"ship_after": -dt.timedelta(days=1)}, InvalidValueError,
         r"^ship_after must be between 0 and 3,650 days"),
        ({"confirm_after": 7}, InvalidTypeError, r"^confirm_after must be timedelta, got int 7"),
        ({"multi_warehouse_min_lines": 2**64}, InvalidValueError,
         r"^multi_warehouse_min_lines must be between 1 and 2\*\*31 - 1"),
        ({"multi_warehouse_min_lines": True}, InvalidTypeError,
         r"^multi_warehouse_min_lines must be an int, got bool"),
    ],
)
def test_order_events_from_log_refuses_absurd_delays_before_any_arithmetic(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    from ecrm.touch.flows import order_events_from_log

    with pytest.raises(error, match=message):
        order_events_from_log(_log(), **kwargs)


def test_why_not_due_names_a_wrong_message_status_or_expiry() -> None:
    from ecrm.touch.flows import still_due, why_not_due

    with pytest.raises(InvalidTypeError, match=r"why_not_due\(\): message must be Message, "
                                               r"got NoneType"):
        why_not_due(None, as_of=AS_OF)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^status must be OrderStatus, got str 'paid'"):
        still_due(_message(), as_of=AS_OF, status="paid")  # type: ignore[arg-type]
    for bad in ("soon", "2024-05-01T10:00:00"):  # not a moment; a moment without an offset
        m = attrs.evolve(_message(), metadata={"expires_at": bad})
        with pytest.raises(InvalidValueError, match=r"^message.metadata\['expires_at'\]") as info:
            why_not_due(m, as_of=AS_OF)
        assert info.value.field == "message.metadata['expires_at']"


def test_flow_context_templates_and_item_names_must_be_mappings() -> None:
    from ecrm.touch.flows import FlowContext

    composer = SmsComposer("【小林茶铺】")
    with pytest.raises(InvalidTypeError, match=r"^templates must be Mapping, got ndarray"):
        FlowContext(composer, templates=np.array([], dtype=object))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^templates must be Mapping, got tuple"):
        FlowContext(composer, templates=("x",))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^item_names must be Mapping, got list"):
        FlowContext(composer, item_names=["ab"])  # type: ignore[arg-type]


def test_order_events_and_coupon_grants_name_a_deeply_nested_element_without_recursing() -> None:
    from ecrm.touch.flows import CouponGrants, OrderEvents

    deep: list[Any] = []
    for _ in range(5_000):
        deep = [deep]
    with pytest.raises(InvalidTypeError, match=r"^events\[0\] must be an OrderEvent, got list"):
        OrderEvents.from_events([deep])
    with pytest.raises(InvalidTypeError, match=r"^issued\[0\] must be \(customer_id, "
                                               r"IssuedCoupon\), got list"):
        CouponGrants.from_issued([deep])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"customer_ids": [["a"], ["b", "c"]]}, r"^customer_ids must be a flat sequence"),
        ({"valid_until": ["2024-06-01", "2024-06-02"]},
         r"^valid_until must hold aware datetimes or int64 epoch microseconds, got dtype <U10"),
        ({"coupon_ids": "C1"}, r"^coupon_ids must be a sequence or array of values, one per row"),
    ],
)
def test_coupon_grants_from_arrays_names_a_column_numpy_cannot_read(
    kwargs: dict[str, Any], message: str
) -> None:
    from ecrm.touch.flows import CouponGrants

    good: dict[str, Any] = {"customer_ids": ["a", "b"], "coupon_ids": ["C1", "C1"],
                            "valid_until": [AS_OF, AS_OF]}
    assert len(CouponGrants.from_arrays(**good).customer_ids) == 2
    with pytest.raises(InvalidTypeError, match=message):
        CouponGrants.from_arrays(**(good | kwargs))


def test_coupon_care_names_a_nested_audience_and_a_non_text_coupon_id() -> None:
    from ecrm import Window
    from ecrm.tiers import CouponCatalog
    from ecrm.touch.flows import coupon_care

    catalog = CouponCatalog([Coupon("C1", face_value=Money(500), valid_days=7)])
    window = Window(AS_OF, AS_OF + dt.timedelta(days=2))
    args: dict[str, Any] = {"campaign_id": "c1", "window": window, "ctx": _ctx(),
                            "catalog": catalog}
    with pytest.raises(InvalidTypeError, match=r"^audience must be a flat sequence"):
        coupon_care([["a"], ["b", ["c"]]], coupon_id="C1", **args)
    with pytest.raises(InvalidTypeError, match=r"^coupon_id must be str, got ndarray"):
        coupon_care(["a"], coupon_id=np.array([1.0, math.nan]), **args)  # type: ignore[arg-type]


def test_callback_reminders_and_survey_replies_name_a_wrong_argument() -> None:
    from ecrm.service import MemoryScoreStore
    from ecrm.touch.flows import callback_reminders, record_survey_reply

    window: dict[str, Any] = {"start": AS_OF, "as_of": AS_OF + dt.timedelta(days=1),
                              "ctx": _ctx()}
    with pytest.raises(InvalidTypeError, match=r"^operators must be Mapping, got list"):
        callback_reminders([], operators=[], **window)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^tickets\[0\] must be Ticket, got str 'T-1'"):
        callback_reminders(["T-1"], operators={}, **window)  # type: ignore[list-item]
    with pytest.raises(InvalidValueError, match=r"^kinds\[0\] must be a TicketKind") as info:
        callback_reminders([], operators={}, kinds=["grumble"], **window)
    assert info.value.field == "kinds[0]"
    with pytest.raises(InvalidTypeError, match=r"^survey must be Message, got NoneType"):
        record_survey_reply(MemoryScoreStore(), None, "5", replied_at=AS_OF)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^store must be a ScoreStore"):
        record_survey_reply(None, _message(), "5", replied_at=AS_OF)  # type: ignore[arg-type]


# profile and OrderLog.from_orders
def test_profiles_names_a_wrong_as_of_or_customers() -> None:
    from ecrm.profile import profiles

    with pytest.raises(InvalidTypeError, match=r"^as_of must be a timezone-aware datetime, got Money"):
        profiles(_log(), as_of=Money(1))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^customers must be CustomerTable, got dict"):
        profiles(_log(), as_of=AS_OF, customers={"a": 1})  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^touches must be a flat sequence"):
        profiles(_log(), as_of=AS_OF, touches=[["a"], ["b", ["c"]]])


def test_profiles_refuse_parts_whose_rows_do_not_line_up() -> None:
    from ecrm.profile import profiles

    log = _log()
    rfm = score(log, as_of=AS_OF, warn_undersized=False)
    # an RfmResult whose rows do not line up cannot even be made (its own shape check)
    with pytest.raises(InvalidValueError, match=r"^RfmResult.total must have the length of "
                                                r"customer_ids \(2\), got 'length 1'"):
        attrs.evolve(rfm, total=rfm.total[:1])
    with pytest.raises(InvalidValueError, match=r"^rfm.grade must hold integer codes 0 to 3"):
        profiles(log, as_of=AS_OF, rfm=attrs.evolve(rfm, grade=rfm.grade + 7))
    tiers = TAOBAO_STORE_VIP.evaluate_log(log, as_of=AS_OF, opted_in=True)
    with pytest.raises(InvalidValueError, match=r"^tiers.level must hold integer codes 0 to 4"):
        profiles(log, as_of=AS_OF, tiers=attrs.evolve(tiers, level=tiers.level + 9))
    with pytest.raises(InvalidValueError, match=r"^tiers.potential must have the length"):
        profiles(log, as_of=AS_OF, tiers=attrs.evolve(tiers, potential=tiers.potential[:1]))


def test_order_log_from_orders_names_a_first_element_that_is_not_an_order() -> None:
    deep: list[Any] = []
    for _ in range(5_000):
        deep = [deep]
    with pytest.raises(InvalidTypeError, match=r"^orders\[0\] must be an Order, got str 'x'"):
        OrderLog.from_orders("x")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^orders\[0\] must be an Order, got list"):
        OrderLog.from_orders([deep])  # type: ignore[list-item]


def test_tiers_from_summary_names_a_policy_of_the_wrong_type() -> None:
    from ecrm.scale import summarize, tiers_from_summary

    summary = summarize(_log(), as_of=AS_OF)
    with pytest.raises(InvalidTypeError, match=r"^policy must be DowngradePolicy or None, got float"):
        tiers_from_summary(summary, TAOBAO_STORE_VIP, opted_in=True, policy=1.5)  # type: ignore[arg-type]


def test_repurchase_cycle_names_a_deeply_nested_curve_without_recursing() -> None:
    deep: list[Any] = []
    for _ in range(5_000):
        deep = [deep]
    with pytest.raises(InvalidTypeError, match=r"^curve_share must hold numbers, got list "):
        RepurchaseCycle(p50_days=10, p70_days=20, p90_days=30, n_first_time_buyers=1,
                        n_repurchasers=1, repurchase_rate=1.0, curve_days=[1],
                        curve_share=[deep], method="observed", same_day="merge", scope="store",
                        min_repurchasers=30, estimate=None, as_of=AS_OF)


def test_a_choice_given_as_an_array_is_an_invalid_value_not_an_ambiguous_truth() -> None:
    from ecrm.lifecycle import repurchase_cycle

    with pytest.raises(InvalidValueError, match=r"^method must be one of") as info:
        repurchase_cycle(_log(), as_of=AS_OF, method=np.array([1.0, math.nan]))  # type: ignore[arg-type]
    assert info.value.field == "method"


def test_repurchase_cycle_from_dict_of_wrong_values_is_an_invalid_value_naming_snapshot() -> None:
    from ecrm.lifecycle import repurchase_cycle

    doc = repurchase_cycle(_log(), as_of=AS_OF, fallback=(10, 20, 30)).to_dict()
    with pytest.raises(InvalidTypeError, match=r"^snapshot must be a mapping"):
        RepurchaseCycle.from_dict(None)  # type: ignore[arg-type]
    for field, bad in (("as_of", 5), ("estimate", 7)):
        with pytest.raises(InvalidValueError, match=r"^snapshot is not a valid snapshot dict") as info:
            RepurchaseCycle.from_dict(doc | {field: bad})
        assert info.value.field == "snapshot"
    with pytest.raises(InvalidTypeError, match=r"^curve_days must hold numbers, got list \[1\]"):
        RepurchaseCycle.from_dict(doc | {"curve_days": [[1]]})


# -- found by the deeper hunts after the merges ---------------------------------------------
def test_a_category_summary_whose_pairs_do_not_line_up_is_refused() -> None:
    from ecrm.scale import CategorySummary

    with pytest.raises(InvalidValueError, match="first_day"):
        CategorySummary(np.array(["a"]), np.array(["a", "a"]), np.array(["c1", "c2"]),
                        np.array([1], dtype=np.int64), np.array([2, 3], dtype=np.int64),
                        dt.datetime(2024, 1, 1, tzinfo=dt.UTC), frozenset(), dt.UTC)


def test_recommended_text_refuses_nested_names_by_name() -> None:
    from ecrm.touch.flows import recommended_text

    deep: list[object] = []
    for _ in range(3000):
        deep = [deep]
    with pytest.raises(InvalidTypeError, match=r"names\[0\]"):
        recommended_text(deep)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="names"):
        recommended_text("糖包")


def test_event_log_from_events_names_a_nested_element_without_recursing() -> None:
    from ecrm import EventLog

    deep: list[Any] = []
    for _ in range(3_000):
        deep = [deep]
    with pytest.raises(InvalidTypeError, match=r"^events\[0\] must be Event, got list"):
        EventLog.from_events(deep)
    with pytest.raises(InvalidTypeError, match=r"^events must be an iterable of Event, got str"):
        EventLog.from_events("abc")  # type: ignore[arg-type]


def test_window_ending_refuses_a_span_reaching_before_year_one() -> None:
    from ecrm import Window

    as_of = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    with pytest.raises(InvalidValueError, match=r"^days.*before the year 1"):
        Window.ending(as_of, days=20_882_960)  # 57,000 years back
    with pytest.raises(InvalidValueError, match=r"^years.*before the year 1"):
        Window.ending(as_of, years=1970)
    assert Window.ending(as_of, years=10).start == dt.datetime(1960, 1, 1, tzinfo=dt.UTC)
