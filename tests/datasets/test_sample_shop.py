"""The sample shop: determinism and every documented property, checked independently."""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from zoneinfo import ZoneInfo

import attrs
import numpy as np
import pytest

import ecrm.datasets
from ecrm import (
    CustomerTable,
    EventKind,
    InvalidTypeError,
    InvalidValueError,
    OrderStatus,
    Window,
    is_fake_phone,
)
from ecrm.datasets import (
    CATEGORY_CYCLE_DAYS,
    DEFAULT_AS_OF,
    MEMBER_ENTRY_MIN_ORDERS,
    MEMBER_ENTRY_MIN_SPEND_FEN,
    SampleShop,
    sample_shop,
)

SH = ZoneInfo("Asia/Shanghai")
NAT = np.iinfo(np.int64).min
US = 1_000_000


@pytest.fixture(scope="module")
def shop() -> SampleShop:
    return sample_shop()


def _columns(shop: SampleShop) -> dict[str, np.ndarray]:
    o, c, e = shop.orders, shop.customers, shop.events
    assert o.items is not None
    out: dict[str, np.ndarray] = {}
    for prefix, obj in (("orders.", o), ("items.", o.items), ("customers.", c), ("events.", e)):
        for field in attrs.fields(type(obj)):
            value = getattr(obj, field.alias)
            if isinstance(value, np.ndarray):
                out[prefix + field.alias] = value
    return out


def test_public_surface() -> None:
    public = {n for n in dir(ecrm.datasets) if not n.startswith("_")}
    assert set(ecrm.datasets.__all__) == public - {"annotations"}
    assert list(ecrm.datasets.__all__) == sorted(
        ecrm.datasets.__all__, key=lambda n: (not n.isupper(), not n[0].isupper(), n)
    )


def test_same_seed_same_shop_and_other_seed_other_shop() -> None:
    a, b, c = sample_shop(300, seed=7), sample_shop(300, seed=7), sample_shop(300, seed=8)
    cols_a, cols_b, cols_c = _columns(a), _columns(b), _columns(c)
    assert cols_a.keys() == cols_b.keys()
    for name in cols_a:
        assert np.array_equal(cols_a[name], cols_b[name]), name
    assert a.customers.tag_names == b.customers.tag_names
    assert not np.array_equal(cols_a["orders.placed_at_us"], cols_c["orders.placed_at_us"])
    assert not np.array_equal(cols_a["customers.names"], cols_c["customers.names"])


def test_defaults(shop: SampleShop) -> None:
    assert shop.as_of == DEFAULT_AS_OF == dt.datetime(2025, 12, 1, tzinfo=SH)
    assert shop.store_name == "小林茶铺"
    assert shop.tz == "Asia/Shanghai"
    assert len(shop.customers) == 2_000
    assert shop.customers.customer_ids.tolist() == list(range(1, 2_001))
    assert shop.sale_618 == (
        dt.datetime(2025, 6, 1, tzinfo=SH),
        dt.datetime(2025, 6, 19, tzinfo=SH),
    )
    assert {item.category for item in shop.catalogue} == set(CATEGORY_CYCLE_DAYS)
    for item in shop.catalogue:
        assert item.cycle_days == CATEGORY_CYCLE_DAYS[item.category]
        assert shop.category_of(item.sku) == item.category
    with pytest.raises(InvalidValueError):
        shop.category_of("NOPE")


def test_everything_happens_in_the_two_years_before_as_of(shop: SampleShop) -> None:
    as_of_us = int(shop.as_of.timestamp()) * US
    start_us = as_of_us - 730 * 86_400 * US
    o = shop.orders
    assert o.placed_at_us.max() < as_of_us
    assert o.placed_at_us.min() >= start_us
    assert shop.events.at_us.max() < as_of_us
    assert shop.events.at_us.min() >= start_us - 3 * 86_400 * US
    assert o.paid_at_us is not None
    paid = o.paid_at_us != NAT
    assert (o.paid_at_us[paid] < as_of_us).all()
    assert (o.paid_at_us[paid] >= o.placed_at_us[paid]).all()
    members = shop.customers.member_since_us != NAT
    assert (shop.customers.member_since_us[members] < as_of_us).all()


def test_buyers_are_skewed(shop: SampleShop) -> None:
    o = shop.orders
    per_customer: dict[int, int] = defaultdict(int)
    for code, ok in zip(o.customer_codes.tolist(), o.valid_mask().tolist(), strict=True):
        per_customer[code] += ok
    counts = sorted((n for n in per_customer.values() if n), reverse=True)
    one_time = sum(1 for n in counts if n == 1) / len(counts)
    assert one_time > 0.3
    top_decile = sum(counts[: len(counts) // 10]) / sum(counts)
    assert top_decile > 0.3
    assert max(counts) >= 15
    assert 0.75 < o.n_customers / len(shop.customers) < 0.95


def test_repurchase_gaps_follow_category_cycles(shop: SampleShop) -> None:
    """Median days between a customer's consecutive valid orders whose first line is in the
    same category: snacks << tea < skincare << teaware < appliances."""
    o = shop.orders
    assert o.items is not None
    assert o.items.order_rows is not None
    first_cat: dict[int, str] = {}
    for row, cat in zip(o.items.order_rows.tolist(), o.items.categories.tolist(), strict=True):
        first_cat.setdefault(row, cat)
    valid = o.valid_mask().tolist()
    days = o.placed_day.tolist()
    last: dict[tuple[int, str], int] = {}
    gaps: dict[str, list[int]] = defaultdict(list)
    for row, code in enumerate(o.customer_codes.tolist()):
        if not valid[row]:
            continue
        key = (code, first_cat[row])
        if key in last:
            gaps[first_cat[row]].append(days[row] - last[key])
        last[key] = days[row]
    med = {cat: statistics.median(g) for cat, g in gaps.items() if len(g) >= 20}
    assert 10 <= med["snacks"] <= 18
    assert 25 <= med["tea"] <= 36
    assert 38 <= med["skincare"] <= 54
    assert med["snacks"] * 1.5 < med["tea"] < med["skincare"]
    assert med.get("teaware", 180) > 100


def test_amounts_are_exactly_the_sum_of_lines(shop: SampleShop) -> None:
    o = shop.orders
    assert o.items is not None
    assert o.items.order_rows is not None
    total = [0] * len(o)
    lines = [0] * len(o)
    for row, qty, price in zip(
        o.items.order_rows.tolist(),
        o.items.quantities.tolist(),
        o.items.unit_price_fen.tolist(),
        strict=True,
    ):
        total[row] += qty * price
        lines[row] += 1
    assert total == o.amount_fen.tolist()
    assert set(lines) == {1, 2, 3}
    assert o.order_ids is not None
    assert len(set(o.order_ids.tolist())) == len(o)


def test_statuses_refunds_and_payment(shop: SampleShop) -> None:
    o = shop.orders
    assert o.paid_at_us is not None
    status = [o.statuses[c] for c in o.status_codes.tolist()]
    assert set(status) == set(OrderStatus)
    share_valid = sum(
        s in {OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED} for s in status
    )
    assert share_valid / len(o) > 0.85
    amount, refunded = o.amount_fen.tolist(), o.refunded_fen.tolist()
    partial = [i for i in range(len(o)) if 0 < refunded[i] < amount[i]]
    full = [i for i in range(len(o)) if status[i] is OrderStatus.REFUNDED]
    assert partial
    assert full
    assert all(refunded[i] == amount[i] for i in full)
    assert all(status[i] is not OrderStatus.REFUNDED for i in partial)
    for i, s in enumerate(status):
        never_paid = s in {OrderStatus.UNPAID, OrderStatus.CLOSED}
        assert (o.paid_at_us[i] == NAT) == never_paid
        if never_paid:
            assert refunded[i] == 0


def test_recent_unpaid_orders_for_payment_reminders(shop: SampleShop) -> None:
    o = shop.orders
    as_of_us = int(shop.as_of.timestamp()) * US
    unpaid = o.status_codes == OrderStatus.UNPAID.code
    age_us = as_of_us - o.placed_at_us
    last_hour = unpaid & (age_us <= 3600 * US)
    assert last_hour.sum() >= 3
    assert (unpaid & (age_us > 3600 * US)).sum() >= 3
    assert (age_us[unpaid] <= 48 * 3600 * US).all()
    assert o.channels is not None
    flash = o.channels == "flash_sale"
    assert (unpaid & flash & (age_us <= 25 * 60 * US)).sum() >= 1
    assert not (unpaid & flash & (age_us > 30 * 60 * US)).any()  # closed at 30 minutes


def test_channels_and_provinces(shop: SampleShop) -> None:
    o = shop.orders
    assert o.channels is not None
    assert o.provinces is not None
    assert set(o.channels.tolist()) == {"taobao", "tmall", "app", "flash_sale"}
    provinces = set(o.provinces.tolist())
    assert {"浙江省", "浙江", "广东省", "广东"} <= provinces
    assert "" not in provinces
    full = sum(p.endswith(("省", "市", "自治区")) for p in o.provinces.tolist())
    assert full / len(o) > 0.7


def test_contact_data_is_fake(shop: SampleShop) -> None:
    c = shop.customers
    phones = [p for p in c.phones.tolist() if p]
    assert len(phones) > 0.9 * len(c)
    assert all(is_fake_phone(p) and len(p) == 11 for p in phones)
    assert len(set(phones)) == len(phones)
    emails = [e for e in c.emails.tolist() if e]
    assert emails
    assert all(e.endswith("@example.com") for e in emails)


def test_profiles_have_the_documented_variety(shop: SampleShop) -> None:
    c = shop.customers
    months, days, years = c.birth_months.tolist(), c.birth_days.tolist(), c.birth_years.tolist()
    feb29 = [i for i in range(len(c)) if (months[i], days[i]) == (2, 29)]
    assert len(feb29) >= 3
    assert all(years[i] == 0 or (years[i] % 4 == 0) for i in feb29)
    assert 0 in months  # unknown birthdays
    assert any(m and not y for m, y in zip(months, years, strict=True))  # year unknown
    assert {"医生", "教师"} <= set(c.occupations.tolist())
    assert set(c.gender_codes.tolist()) == {0, 1, 2}
    assert c.blocked.sum() >= 2
    assert (~c.marketing_opt_in).sum() >= 1
    assert {z for z in c.zones.tolist() if z}
    assert c.tag_names
    assert c.tag_matrix.any()
    assert {"浙江省", "浙江"} & set(c.provinces.tolist())


def test_entry_rule_is_the_default_ladders_lowest_level() -> None:
    from ecrm import Money
    from ecrm.tiers import TAOBAO_STORE_VIP

    at_spend = TAOBAO_STORE_VIP.evaluate(Money(MEMBER_ENTRY_MIN_SPEND_FEN), 0, opted_in=True)
    at_count = TAOBAO_STORE_VIP.evaluate(Money(0), MEMBER_ENTRY_MIN_ORDERS, opted_in=True)
    below = TAOBAO_STORE_VIP.evaluate(
        Money(MEMBER_ENTRY_MIN_SPEND_FEN - 1), MEMBER_ENTRY_MIN_ORDERS - 1, opted_in=True
    )
    assert at_spend.level == at_count.level == 1
    assert below.level == 0


def test_members_met_the_entry_rule_when_they_joined(shop: SampleShop) -> None:
    o, c = shop.orders, shop.customers
    valid = o.valid_mask()
    joined = 0
    for i, since in enumerate(c.member_since_us.tolist()):
        if since == NAT:
            continue
        joined += 1
        rows = o.customer_rows(int(c.customer_ids[i]))
        before = [r for r in range(rows.start, rows.stop) if valid[r] and o.placed_at_us[r] < since]
        spend = sum(int(o.amount_fen[r] - o.refunded_fen[r]) for r in before)
        assert spend >= MEMBER_ENTRY_MIN_SPEND_FEN or len(before) >= MEMBER_ENTRY_MIN_ORDERS
    assert 0.2 * len(c) < joined < 0.7 * len(c)


def test_behaviour_events_cover_the_customer_classes(shop: SampleShop) -> None:
    o, e = shop.orders, shop.events
    buyers = set(o.customer_ids.tolist())
    browsers = set(e.customers_with(EventKind.BROWSE).tolist())
    carters = set(e.customers_with(EventKind.CART).tolist())
    assert len(browsers - buyers) >= 50  # 非订购: visited, never ordered
    assert len(carters - buyers) >= 50  # 无销售: carted, never ordered
    lo, hi = shop.sale_618
    sale_carters = set(e.customers_with(EventKind.CART, window=Window(lo, hi)).tolist())
    lo_us, hi_us = int(lo.timestamp()) * US, int(hi.timestamp()) * US
    bought_in_sale = {
        int(o.customer_ids[code])
        for code, t in zip(o.customer_codes.tolist(), o.placed_at_us.tolist(), strict=True)
        if lo_us <= t < hi_us
    }
    assert len(sale_carters - bought_in_sale) >= 50
    assert sale_carters & buyers  # some of them are customers who buy at other times
    bought: dict[int, set[str]] = defaultdict(set)
    assert o.items is not None
    assert o.items.order_rows is not None
    for row, sku in zip(o.items.order_rows.tolist(), o.items.skus.tolist(), strict=True):
        bought[int(o.customer_ids[o.customer_codes[row]])].add(sku)
    fav = e.select(e.kind_codes == EventKind.FAVORITE.code)
    never_bought = [ev for ev in fav if ev.sku not in bought[int(ev.customer_id)]]
    assert len(never_bought) >= 50
    assert set(e.customer_ids.tolist()) <= set(shop.customers.customer_ids.tolist())
    assert buyers <= set(shop.customers.customer_ids.tolist())


def test_generated_profiles_pass_full_validation(shop: SampleShop) -> None:
    c = shop.customers
    again = CustomerTable.from_arrays(
        c.customer_ids,
        names=c.names,
        phones=c.phones,
        emails=c.emails,
        genders=c.gender_codes,
        birth_years=c.birth_years,
        birth_months=c.birth_months,
        birth_days=c.birth_days,
        occupations=c.occupations,
        provinces=c.provinces,
        cities=c.cities,
        zones=c.zones,
        tags=[c.tags_of(i) for i in range(len(c))],
        blocked=c.blocked,
        marketing_opt_in=c.marketing_opt_in,
    )
    for name in (
        "phones",
        "emails",
        "birth_years",
        "birth_months",
        "birth_days",
        "zones",
        "tag_matrix",
    ):
        assert np.array_equal(getattr(again, name), getattr(c, name)), name


def test_other_as_of_and_zone() -> None:
    as_of = dt.datetime(2025, 6, 10, 12, tzinfo=dt.UTC)
    shop = sample_shop(300, seed=1, as_of=as_of, tz="America/New_York")
    ny = ZoneInfo("America/New_York")
    assert shop.sale_618 == (
        dt.datetime(2024, 6, 1, tzinfo=ny),
        dt.datetime(2024, 6, 19, tzinfo=ny),
    )
    assert shop.orders.placed_at_us.max() < int(as_of.timestamp()) * US
    assert shop.orders.tz == ny


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"n_customers": 0}, InvalidValueError),
        ({"n_customers": 10_000_001}, InvalidValueError),
        ({"n_customers": 2.0}, InvalidTypeError),
        ({"seed": -1}, InvalidValueError),
        ({"seed": "0"}, InvalidTypeError),
        ({"as_of": dt.datetime(2025, 1, 1)}, InvalidValueError),
        ({"tz": "Mars/Base"}, InvalidValueError),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        sample_shop(**kwargs)  # type: ignore[arg-type]


def test_tiny_shop() -> None:
    shop = sample_shop(1, seed=3)
    assert len(shop.customers) == 1
    assert len(shop.orders) >= 3  # the guaranteed recent unpaid orders
