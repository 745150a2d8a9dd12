"""Every predicate on the sample shop against the plain-Python reference evaluator."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pytest
from segments_helpers import Reference

from ecrm import Window
from ecrm.datasets import sample_shop
from ecrm.lifecycle import Bands, Stage, repurchase_cycle, stages
from ecrm.rfm import Grade, score
from ecrm.segments import (
    AgeBetween,
    AudienceContext,
    BirthdayBetween,
    Blocked,
    Carted,
    Favorited,
    FavoritedNotBought,
    GenderIn,
    HasTags,
    MemberLevelIn,
    OccupationIn,
    Ordered,
    Predicate,
    ProvinceIn,
    Repurchased,
    RfmGradeIn,
    StageIn,
    Visited,
    audience,
    blocked_customers,
    carted_618_not_bought,
    favorited_not_bought,
    high_potential_returning,
    lapsed_customers,
    no_sale_customers,
    non_ordering_visitors,
)
from ecrm.tiers import TAOBAO_STORE_VIP

BANDS = Bands(20, 45, 90)


@pytest.fixture(scope="module")
def shop():  # type: ignore[no-untyped-def]
    return sample_shop(300)


@pytest.fixture(scope="module")
def ref(shop):  # type: ignore[no-untyped-def]
    tz = shop.orders.tz
    rfm = score(shop.orders, as_of=shop.as_of, warn_undersized=False)
    grades = {cid.item(): Grade.from_code(int(g)) for cid, g in zip(rfm.customer_ids, rfm.grade, strict=True)}
    st = stages(shop.orders, as_of=shop.as_of, cycle=BANDS, customers=shop.customers.customer_ids)
    stage = {cid.item(): Stage(list(Stage)[int(s)]) for cid, s in
             zip(st.customer_ids, st.stage_codes, strict=True)}
    tiers = TAOBAO_STORE_VIP.evaluate_log(shop.orders, as_of=shop.as_of, opted_in=shop.customers)
    level = {cid.item(): int(lv) for cid, lv in zip(tiers.customer_ids, tiers.level, strict=True)}
    return Reference(list(shop.customers), list(shop.orders), list(shop.events), shop.as_of, tz,
                     {"grade": grades, "stage": stage, "level": level})


def run(shop, p):  # type: ignore[no-untyped-def]
    return audience(p, customers=shop.customers, orders=shop.orders, events=shop.events,
                    as_of=shop.as_of, context=AudienceContext(cycle=BANDS))


JUNE = {"window": Window.of_dates(dt.date(2025, 6, 1), dt.date(2025, 6, 19), "Asia/Shanghai")}
LEAVES = [
    GenderIn(["female"]),
    GenderIn(["male", "unknown"]),
    AgeBetween(20, 30),
    AgeBetween(min_age=50),
    BirthdayBetween("05-01", "05-31"),
    BirthdayBetween("12-15", "01-15"),
    BirthdayBetween("02-01", "02-28"),
    OccupationIn(["医生", "教师"]),
    ProvinceIn(["浙江", "Guangdong", "31"]),
    MemberLevelIn([0]),
    MemberLevelIn([3, 4]),
    HasTags(["茶友", "直播粉丝"]),
    HasTags(["茶友", "直播粉丝"], require_all=True),
    Blocked(),
    Visited(),
    Visited(last_days=30),
    Carted(**JUNE),
    Favorited(last_days=90),
    FavoritedNotBought(),
    FavoritedNotBought(last_days=120),
    Ordered(),
    Ordered(valid_only=False, last_days=60),
    Ordered(window=Window(dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC),
                          dt.datetime(2026, 1, 1, tzinfo=dt.UTC))),
    Ordered(window=Window(dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
                          dt.datetime(2025, 1, 1, tzinfo=dt.UTC))),
    Repurchased(last_days=365),
    Repurchased(min_days=4),
    Repurchased(**JUNE),
    RfmGradeIn(["P", "G"]),
    RfmGradeIn([Grade.B]),
    StageIn([Stage.PROSPECT]),
    StageIn(["active", "new", "churned"]),
]


@pytest.mark.parametrize("p", LEAVES, ids=lambda p: p.describe())
def test_each_leaf_matches_plain_python(shop, ref, p):  # type: ignore[no-untyped-def]
    a = run(shop, p)
    assert a.customer_ids.tolist() == ref.ids(p)
    assert a.count == int(a.mask.sum()) == len(a)


def _legacy_leaves() -> list[Predicate]:
    """Leaves built with the deprecated start=/end= (dates, open bounds)."""
    with pytest.warns(DeprecationWarning, match="start=/end= are deprecated"):
        return [
            Carted(start=dt.date(2025, 6, 1), end=dt.date(2025, 6, 19)),
            Ordered(start=dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)),
            Ordered(end=dt.date(2025, 1, 1)),
            Repurchased(start=dt.date(2025, 6, 1), end=dt.date(2025, 6, 19)),
        ]


def test_deprecated_bounds_still_match_plain_python(shop, ref):  # type: ignore[no-untyped-def]
    """For one release the old bounds evaluate as before: dates are local midnights in the
    audience's zone, a missing bound is open."""
    for p in _legacy_leaves():
        assert run(shop, p).customer_ids.tolist() == ref.ids(p)
    with pytest.warns(DeprecationWarning, match="start=/end="):
        old = Carted(start=dt.date(2025, 6, 1), end=dt.date(2025, 6, 19))
    assert run(shop, old).customer_ids.tolist() == run(shop, Carted(**JUNE)).customer_ids.tolist()


BUILTINS = [
    non_ordering_visitors(),
    no_sale_customers(),
    lapsed_customers(),
    lapsed_customers(90),
    blocked_customers(),
    carted_618_not_bought(2025),
    favorited_not_bought(),
    high_potential_returning(),
    OccupationIn(["医生", "教师"]) & ~Blocked() | (Carted(last_days=7) & ~Ordered(last_days=7)),
]


@pytest.mark.parametrize("p", BUILTINS, ids=lambda p: p.describe()[:60])
def test_builtins_and_combinations_match_plain_python(shop, ref, p):  # type: ignore[no-untyped-def]
    assert run(shop, p).customer_ids.tolist() == ref.ids(p)


def test_builtins_are_not_empty_on_the_sample(shop):  # type: ignore[no-untyped-def]
    """The sample shop is built to exercise each class; an empty result means a broken rule."""
    for p in BUILTINS[:-1]:
        assert run(shop, p).count > 0, p.describe()


def test_doctor_or_teacher_is_the_source_example(shop):  # type: ignore[no-untyped-def]
    a = run(shop, OccupationIn(["医生", "教师"]))
    occ = shop.customers.occupations
    expected = [int(i) for i, o in zip(shop.customers.customer_ids, occ, strict=True) if o in ("医生", "教师")]
    assert a.customer_ids.tolist() == expected
    assert len(expected) > 0


def test_618_window_is_half_open_and_excludes_buyers(shop):  # type: ignore[no-untyped-def]
    a = run(shop, carted_618_not_bought(2025))
    lo, hi = shop.sale_618
    cart = shop.events.customers_with("cart", window=Window(lo, hi))
    assert set(a.customer_ids.tolist()) <= set(cart.tolist())
    in_log = set(shop.orders.customer_ids.tolist())
    for cid in a.customer_ids[:20]:
        if int(cid) not in in_log:
            continue
        rows = shop.orders.customer_rows(int(cid))
        valid = shop.orders.valid_mask()[rows]
        at = shop.orders.placed_at_us[rows][valid]
        assert not ((at >= lo.timestamp() * 1e6) & (at < hi.timestamp() * 1e6)).any()


def test_default_cycle_is_the_shops_own(shop):  # type: ignore[no-untyped-def]
    cycle = repurchase_cycle(shop.orders, as_of=shop.as_of, fallback=Bands(30, 60, 90))
    st = stages(shop.orders, as_of=shop.as_of, cycle=cycle, customers=shop.customers.customer_ids)
    active = {int(c) for c, s in zip(st.customer_ids, st.stage_codes, strict=True) if s == Stage.ACTIVE.code}
    a = audience(StageIn(["active"]), customers=shop.customers, orders=shop.orders,
                 as_of=shop.as_of)
    assert set(a.customer_ids.tolist()) == active & set(shop.customers.customer_ids.tolist())


def test_caches_are_computed_once_per_call(shop, monkeypatch):  # type: ignore[no-untyped-def]
    import ecrm.segments._context as mod

    calls = {"score": 0}
    real = mod.score

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["score"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(mod, "score", counting)
    p = RfmGradeIn(["P"]) | RfmGradeIn(["G"]) | ~RfmGradeIn(["B"])
    run(shop, p)
    assert calls["score"] == 1


def test_explain_lists_every_clause(shop):  # type: ignore[no-untyped-def]
    p = OccupationIn(["医生", "教师"]) & ~Blocked()
    a = run(shop, p)
    cid = int(a.customer_ids[0])
    e = a.explain(cid)
    assert e.held is True
    assert [(c.path, c.held) for c in e.clauses] == [
        ("predicate", True), ("predicate.args[0]", True), ("predicate.args[1]", True),
        ("predicate.args[1].arg", False),
    ]
    text = str(e)
    assert text.splitlines()[0] == f"customer {cid}: in the audience"
    assert "✗ blocked" in text
    outside = int(np.flatnonzero(~a.mask)[0]) + 1
    assert a.explain(outside).held is False
    assert cid in a
    assert outside not in a
    assert "x" not in a
    with pytest.raises(KeyError):
        a.explain(10_000)
    rows = a.table()
    assert rows[1]["customers"] == int(np.isin(shop.customers.occupations, ["医生", "教师"]).sum())


def test_results_are_read_only(shop):  # type: ignore[no-untyped-def]
    a = run(shop, Blocked())
    with pytest.raises(ValueError, match="read-only"):
        a.mask[0] = True


def test_behaviour_after_as_of_is_ignored(shop):  # type: ignore[no-untyped-def]
    early = shop.as_of - dt.timedelta(days=200)
    ever = Window(dt.datetime(2000, 1, 1, tzinfo=dt.UTC), dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
    a = audience(Ordered(window=ever), customers=shop.customers, orders=shop.orders, as_of=early)
    b = audience(Ordered(), customers=shop.customers, orders=shop.orders, as_of=early)
    assert a.customer_ids.tolist() == b.customer_ids.tolist()
    before = shop.orders.valid_mask() & (shop.orders.placed_at_us < early.timestamp() * 1e6)
    ids = np.unique(shop.orders.customer_ids[shop.orders.customer_codes[before]])
    assert a.customer_ids.tolist() == ids.tolist()


def test_events_needed_for_event_clauses(shop):  # type: ignore[no-untyped-def]
    from ecrm import InvalidValueError

    with pytest.raises(InvalidValueError, match="events are needed"):
        audience(Visited(), customers=shop.customers, orders=shop.orders, as_of=shop.as_of)


def test_a_big_shop_is_fast() -> None:
    """Vectorised: 20,000 customers and a dozen clauses in about a tenth of a second
    (the bound is loose for busy CI machines)."""
    big = sample_shop(20_000, seed=3)
    p = (OccupationIn(["医生", "教师"]) | HasTags(["茶友"])) & ~Blocked() & Repurchased(
        last_days=365) & Carted(last_days=180) & ProvinceIn(["浙江", "广东"])
    t0 = time.perf_counter()
    a = audience(p, customers=big.customers, orders=big.orders, events=big.events,
                 as_of=big.as_of)
    assert time.perf_counter() - t0 < 5.0
    assert 0 <= a.count <= len(big.customers)


def test_ids_of_another_kind_than_the_table_are_refused(shop) -> None:  # type: ignore[no-untyped-def]
    from ecrm import InvalidValueError, OrderLog

    log = OrderLog.from_arrays(["a"], [shop.as_of - dt.timedelta(days=1)], [100])
    with pytest.raises(InvalidValueError, match="id kind") as info:
        audience(Ordered(), customers=shop.customers, orders=log, as_of=shop.as_of)
    assert info.value.field == "orders.customer_ids"


def test_bad_arguments(shop) -> None:  # type: ignore[no-untyped-def]
    from ecrm import InvalidTypeError, InvalidValueError

    with pytest.raises(InvalidTypeError, match="predicate"):
        audience("x", customers=shop.customers, orders=shop.orders, as_of=shop.as_of)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="customers"):
        audience(Blocked(), customers=shop.orders, orders=shop.orders, as_of=shop.as_of)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="as_of"):
        audience(Blocked(), customers=shop.customers, orders=shop.orders,
                 as_of=dt.datetime(2025, 1, 1))
    a = run(shop, Blocked())
    assert repr(a).startswith("Audience(2 of 300 customers, as_of=2025-12-01T00:00:00+08:00")


def test_str_ids_are_looked_up_whole_and_never_cross_kinds() -> None:
    """``in`` / ``explain`` on a str-id shop: a longer id sharing a prefix, an int and a
    bool are not members (no truncation to the id column's width, no int/str crossing)."""
    from ecrm import Customer, CustomerTable, OrderLog, UnknownCustomerError

    as_of = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    customers = CustomerTable.from_customers(
        [Customer("ab", occupation="医生"), Customer("abc"), Customer("1", occupation="医生")])
    log = OrderLog.from_arrays(["ab"], [as_of - dt.timedelta(days=1)], [100])
    a = audience(OccupationIn(["医生"]), customers=customers, orders=log, as_of=as_of)
    assert a.customer_ids.tolist() == ["1", "ab"]
    assert "ab" in a
    assert "1" in a
    assert np.str_("ab") in a
    assert "abc" not in a  # in the universe, not selected
    for other in ("abcd", "abX", "a", 1, True, np.int64(1), None, 1.0):
        assert other not in a
    with pytest.raises(UnknownCustomerError):
        a.explain("abcd")
    with pytest.raises(UnknownCustomerError):
        a.explain(1)
    assert a.explain("abc").held is False


JUNE_1 = dt.date(2025, 6, 1)


def _tables_at(shop, at: dt.datetime) -> dict[str, dict[object, object]]:  # type: ignore[no-untyped-def]
    rfm = score(shop.orders, as_of=at, warn_undersized=False)
    st = stages(shop.orders, as_of=at, cycle=BANDS, customers=shop.customers.customer_ids)
    return {
        "grade": {c.item(): Grade.from_code(int(g))
                  for c, g in zip(rfm.customer_ids, rfm.grade, strict=True)},
        "stage": {c.item(): Stage(list(Stage)[int(s)])
                  for c, s in zip(st.customer_ids, st.stage_codes, strict=True)},
    }


@pytest.mark.parametrize("p", [
    RfmGradeIn(["P", "G"], as_of=JUNE_1),
    StageIn(["active", "new"], as_of=JUNE_1),
    RfmGradeIn(["P", "G"], as_of=JUNE_1) & RfmGradeIn(["B"]),  # fell from P/G to B
    StageIn(["active"], as_of=JUNE_1) & StageIn(["sleeping", "churned"]),
    RfmGradeIn(["P"], as_of=JUNE_1) & ~Ordered(last_days=60),
], ids=lambda p: p.describe())
def test_grade_and_stage_at_an_earlier_day(shop, ref, p) -> None:  # type: ignore[no-untyped-def]
    tables = _tables_at(shop, dt.datetime(2025, 6, 1, tzinfo=shop.orders.tz))
    for name, table in tables.items():
        ref.lookups[ref.at_key(name, JUNE_1)] = table
    got = run(shop, p).customer_ids.tolist()
    assert got == ref.ids(p)
    assert got  # the sample shop has such customers: the comparison is not vacuous


def test_at_is_a_local_midnight_cut_to_as_of_and_scored_once_per_instant(  # type: ignore[no-untyped-def]
        shop, monkeypatch) -> None:
    import ecrm.segments._context as mod

    seen: dict[str, list[dt.datetime]] = {"score": [], "stages": [], "cycle": []}

    def record(name, real):  # type: ignore[no-untyped-def]
        def wrapper(*args, **kwargs):  # type: ignore[no-untyped-def]
            seen[name].append(kwargs["as_of"])
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(mod, "score", record("score", mod.score))
    monkeypatch.setattr(mod, "stages", record("stages", mod.stages))
    monkeypatch.setattr(mod, "repurchase_cycle", record("cycle", mod.repurchase_cycle))
    midnight = dt.datetime(2025, 6, 1, tzinfo=shop.orders.tz)
    p = (RfmGradeIn(["P"], as_of=JUNE_1) | RfmGradeIn(["G"], as_of=midnight.astimezone(dt.UTC))
         | RfmGradeIn(["S"], as_of=dt.date(2030, 1, 1)) | RfmGradeIn(["B"])
         | StageIn(["active"], as_of=JUNE_1))
    audience(p, customers=shop.customers, orders=shop.orders, as_of=shop.as_of)
    # one scoring at 2025-06-01 00:00 Shanghai (the date and the same instant in UTC),
    # one at as_of (no `at`, and a later `at` is cut to as_of)
    assert sorted(t.timestamp() for t in seen["score"]) == [midnight.timestamp(),
                                                           shop.as_of.timestamp()]
    # the stage at June 1 uses the shop's own cycle estimated at June 1 (no cycle given)
    assert [t.timestamp() for t in seen["cycle"]] == [midnight.timestamp()]
    assert [t.timestamp() for t in seen["stages"]] == [midnight.timestamp()]
    later = run(shop, RfmGradeIn(["P"], as_of=dt.date(2030, 1, 1)))
    assert later.customer_ids.tolist() == run(shop, RfmGradeIn(["P"])).customer_ids.tolist()


def test_bad_at() -> None:
    from ecrm import InvalidTypeError, InvalidValueError

    with pytest.raises(InvalidValueError, match="as_of must be a date or an aware datetime"):
        RfmGradeIn(["P"], as_of=dt.datetime(2025, 6, 1))
    with pytest.raises(InvalidTypeError, match="as_of must be"):
        StageIn(["active"], as_of="2025-06-01")  # type: ignore[arg-type]
    assert RfmGradeIn(["P"], as_of=JUNE_1).describe() == "RFM grade in {P} at 2025-06-01"


def test_non_ordering_visitor_is_one_who_never_ordered_successfully() -> None:
    # The source: 非订购客户 = 访问后从未成功下单过商品的客户. Hand-built: "closed" browsed and
    # placed one order that was closed (never carted); "paid" browsed and paid; "none"
    # only browsed; "unpaid" browsed and left an order unpaid.
    import datetime as dt

    from ecrm import (
        Customer,
        CustomerTable,
        Event,
        EventKind,
        EventLog,
        Money,
        Order,
        OrderLog,
        OrderStatus,
    )
    from ecrm.segments import audience

    sh = dt.timezone(dt.timedelta(hours=8))
    t = dt.datetime(2025, 3, 1, 10, tzinfo=sh)
    paid_at = t + dt.timedelta(minutes=5)
    orders = OrderLog.from_orders([
        Order("o1", "closed", t, Money(10_000), status=OrderStatus.CLOSED),
        Order("o2", "paid", t, Money(10_000), status=OrderStatus.PAID, paid_at=paid_at),
        Order("o3", "unpaid", t, Money(10_000), status=OrderStatus.UNPAID),
    ])
    who = ["closed", "paid", "none", "unpaid"]
    events = EventLog.from_events([Event(cid, t, EventKind.BROWSE) for cid in who])
    customers = CustomerTable.from_customers([Customer(cid) for cid in who])
    got = audience(non_ordering_visitors(), customers=customers, orders=orders, events=events,
                   as_of=t + dt.timedelta(days=1))
    assert sorted(got.customer_ids.tolist()) == ["closed", "none", "unpaid"]
