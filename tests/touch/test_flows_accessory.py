"""The accessory flow after delivery and the playbook's related-products flow, worked by
hand, through the send policy and the outbox."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import Customer, InvalidValueError, OrderItems, OrderLog
from ecrm._customers import CustomerTable
from ecrm.lifecycle import DEFAULT_PLAYBOOK, Playbook, stages
from ecrm.recommend import associations, recommend
from ecrm.touch import (
    ChannelKind,
    InMemoryOptOutRegistry,
    InMemoryOutbox,
    MessageClass,
    PolicyContext,
    Send,
    SendPolicy,
    Skip,
    SmsComposer,
    Template,
    TemplateError,
)
from ecrm.touch.flows import (
    RECOMMENDATION_VARIABLES,
    FlowContext,
    OrderEvent,
    OrderEvents,
    accessory_offers,
    recommended_text,
    related_product_offers,
)

SH = ZoneInfo("Asia/Shanghai")
SEC = dt.timedelta(seconds=1)


def day(n: int, h: int = 12) -> dt.datetime:
    return dt.datetime(2025, 3, 1, h, tzinfo=SH) + dt.timedelta(days=n)


# History before day 10 (the rules' as_of): h1, h2, h3 bought beans and then sugar; h1 and
# h2 creamer too; h4 only a cup. 4 customers: 咖啡豆 → 糖包 3 of 3 (base 3/4, score
# (3 + 7.5)/13 − 0.75 ≈ 0.058); 咖啡豆 → 奶精 2 of 3 (base 2/4, score 7/13 − 0.5 ≈ 0.038).
# From day 20: the customers the flow writes to.
ORDERS = [
    ("h1", 1, ["咖啡豆"], "paid", "H1"),
    ("h1", 3, ["糖包", "奶精"], "paid", "H2"),
    ("h2", 1, ["咖啡豆"], "paid", "H3"),
    ("h2", 2, ["糖包", "奶精"], "paid", "H4"),
    ("h3", 2, ["咖啡豆", "糖包"], "paid", "H5"),
    ("h4", 5, ["杯子"], "paid", "H6"),
    ("c1", 20, ["咖啡豆"], "paid", "B1"),  # gets 糖包
    ("c2", 20, ["咖啡豆"], "paid", "B2"),
    ("c2", 21, ["糖包"], "paid", "B3"),  # owns sugar → gets creamer
    ("c3", 20, ["咖啡豆", "糖包", "奶精"], "paid", "B4"),  # owns both accessories
    ("c4", 20, ["咖啡豆"], "paid", "B5"),  # no phone
    ("c5", 20, ["杯子"], "paid", "B6"),  # no rule from a cup
    ("c6", 20, ["咖啡豆"], "refunded", "B7"),  # refunded: no offer
]
LINK = "https://s.cn/a"
CTX = FlowContext(
    SmsComposer("【小林咖啡】"), link=LINK,
    customers=CustomerTable.from_customers([
        Customer("c1", name="小林", phone="13800000001"),
        Customer("c2", name="小王", phone="13800000002"),
        Customer("c3", phone="13800000003"),
        Customer("c4", name="无号"),
        Customer("c5", phone="13800000005"),
        Customer("c6", phone="13800000006"),
    ]),
    item_names={"咖啡豆": "云南咖啡豆"},
)


def log() -> OrderLog:
    line_oid = [oid for *_, skus, _, oid in ORDERS for _ in skus]
    skus = [s for *_, sk, _, _ in ORDERS for s in sk]
    items = OrderItems.from_arrays(order_ids=line_oid, skus=skus, unit_price_fen=[100] * len(skus))
    return OrderLog.from_arrays(
        [c for c, *_ in ORDERS], [day(d) for _, d, *_ in ORDERS],
        [100 * len(x) for _, _, x, _, _ in ORDERS], order_ids=[o for *_, o in ORDERS],
        items=items, statuses=[s for *_, s, _ in ORDERS],
    )


def delivered() -> OrderEvents:
    """Every B order delivered on day 23 at 12:00 (the offers fall due on day 30, 12:00)."""
    return OrderEvents.from_events(
        OrderEvent(oid, c, "delivered", day(23)) for c, d, _, _, oid in ORDERS if d >= 20)


def rules() -> object:
    return associations(log(), as_of=day(10), basis="days", within_days=14, min_count=2)


def offers(**kwargs: object) -> list:  # type: ignore[type-arg]
    args: dict[str, object] = {"start": day(30) - SEC, "as_of": day(30), "ctx": CTX}
    args.update(kwargs)
    return accessory_offers(log(), delivered(), rules(), **args)  # type: ignore[arg-type]


def test_accessory_offer_by_hand() -> None:
    msgs = offers()
    assert [m.recipient.customer_id for m in msgs] == ["c1", "c2"]
    m1, m2 = msgs
    assert m1.key == "mkt:accessory:customer-c1:糖包"
    assert m1.dedupe_key == "customer-c1:糖包"
    assert m1.meta("order_id") == "B1"
    assert m1.message_class is MessageClass.MARKETING
    assert m1.not_before == day(30)
    # the composer adds the signature and, for marketing, the opt-out text once
    assert m1.body == f"【小林咖啡】小林，您的云南咖啡豆用得还好吗？搭配糖包更好用，点击{LINK}看看回T退订"
    assert m1.meta("item") == "咖啡豆"
    assert m1.meta("recommended") == "糖包"
    assert m1.meta("why") == ("because you bought 咖啡豆: 100% of its buyers bought 糖包 "
                              "within 14 days (3 of 3), lift 1.3")
    # c2 owns sugar: beans (B2) and sugar (B3, 糖包 → 奶精 2 of 3) both lead to creamer,
    # offered once, for the first order
    assert m2.meta("recommended") == "奶精"
    assert m2.meta("order_id") == "B2"
    assert "云南咖啡豆用得还好吗？搭配奶精更好用" in m2.body


def test_window_boundaries() -> None:
    assert offers(as_of=day(30) - SEC, start=day(29)) == []
    assert offers(start=day(30), as_of=day(31)) == []
    assert len(offers(after=dt.timedelta(days=3), start=day(26) - SEC, as_of=day(26))) == 2


def test_exclusions_max_items_and_the_recommended_text() -> None:
    assert [m.meta("recommended") for m in offers(exclude=["糖包"])] == ["奶精", "奶精"]
    (m1, _) = offers(max_items=2)
    assert m1.meta("recommended") == "糖包|奶精"
    assert "搭配糖包、奶精更好用" in m1.body
    (m1, _) = offers(max_items=2, max_recommended_chars=4)
    assert "搭配糖包更好用" in m1.body  # "糖包、奶精" is 5 characters
    assert offers(min_score=0.1) == []


def test_recommended_text_by_hand() -> None:
    assert recommended_text(["糖包", "奶精"]) == "糖包、奶精"
    assert recommended_text(["a" * 20], max_chars=5) == "aaaa…"
    with pytest.raises(InvalidValueError):
        recommended_text([])
    with pytest.raises(InvalidValueError):
        recommended_text(["糖包"], max_chars=1)


def test_a_custom_template_uses_the_recommended_variable() -> None:
    own = Template("{customer_name}，{recommended}到货了：{link}", variables=RECOMMENDATION_VARIABLES)
    ctx = attrs.evolve(CTX, templates={"accessory": own})
    (m1, _) = offers(ctx=ctx)
    assert m1.body == f"【小林咖啡】小林，糖包到货了：{LINK} 回T退订"
    with pytest.raises(TemplateError):
        Template("{recommended}")  # not a standard variable: declare RECOMMENDATION_VARIABLES


def test_bad_options_name_the_field() -> None:
    for kwargs, field in (({"max_items": 0}, "max_items"), ({"after": dt.timedelta(-1)}, "after"),
                          ({"max_recommended_chars": 1}, "max_recommended_chars")):
        with pytest.raises(InvalidValueError) as info:
            offers(**kwargs)
        assert info.value.field == field
    with pytest.raises(InvalidValueError) as info:
        offers(ctx=attrs.evolve(CTX, link=None))
    assert info.value.field == "ctx.link"
    by_cat = associations(log(), as_of=day(10), by="category", min_count=1)
    with pytest.raises(InvalidValueError, match="rules"):
        accessory_offers(log(), delivered(), by_cat, start=day(29), as_of=day(30), ctx=CTX)


def test_through_the_outbox_and_the_policy() -> None:
    """A rerun enqueues nothing new; an opted-out number is skipped; the other is sent at
    12:00 local, inside the marketing window."""
    outbox = InMemoryOutbox()
    assert outbox.enqueue_many(offers()) == 2
    assert outbox.enqueue_many(offers()) == 0
    opt_outs = InMemoryOptOutRegistry([("13800000002", CTX.channel)])
    context = PolicyContext(opt_outs=opt_outs, members={"c1", "c2"}, consented={"c1", "c2"})
    policy = SendPolicy()
    got = {m.recipient.customer_id: policy.decide(m, as_of=day(30), context=context)
           for m in offers()}
    assert isinstance(got["c1"], Send)
    assert isinstance(got["c2"], Skip)


# -- the playbook's related_products -----------------------------------------------------------
def related(**kwargs: object) -> list:  # type: ignore[type-arg]
    """Recommendations and stages at day 30, 10:00; run over day 30's send time."""
    at = day(30, 10)
    recs = recommend(log(), rules(), as_of=at, k=2, fill=True)  # type: ignore[arg-type]
    st = stages(log(), as_of=at, cycle=(30, 60, 90))
    args: dict[str, object] = {"start": at - SEC, "as_of": at, "ctx": CTX}
    args.update(kwargs)
    return related_product_offers(recs, st, **args)  # type: ignore[arg-type]


def test_related_products_goes_to_active_customers_by_hand() -> None:
    """At day 30 with P50 = 30 days: c2 bought on days 20 and 21 (two purchase days, 9
    days ago): ACTIVE. c1, c3, c5 bought on one day only: NEW, not in the rule's stage.
    The h customers bought 25+ days before on two days: h1 (day 3) and h2 (day 2) are
    ACTIVE but own both accessories; their lists hold only popularity fill (skipped)."""
    msgs = related()
    assert [m.recipient.customer_id for m in msgs] == ["c2"]
    (m,) = msgs
    assert m.key == "mkt:related_products:customer-c2:奶精"
    assert m.body == f"【小林咖啡】小王，为您挑选了奶精，点击{LINK}看看回T退订"
    assert m.not_before == day(30, 10)
    assert m.meta("why").startswith("because you bought 咖啡豆: 67% of its buyers bought 奶精")


def test_related_products_follows_the_playbook() -> None:
    # the rule for NEW customers instead: c1 (咖啡豆 → 糖包) and c5 (a cup: fill only)
    rule = attrs.evolve(DEFAULT_PLAYBOOK["related_products"], stage=None, offset_days=0)
    anyone = Playbook([rule])
    ids = [m.recipient.customer_id for m in related(playbook=anyone)]
    assert ids == ["c1", "c2"]
    assert [m.recipient.customer_id for m in related(playbook=anyone, include_fill=True)] == [
        "c1", "c2", "c3", "c5"]  # c6 has no valid purchase: a prospect
    # 10 days after entering: c1 bought on day 20 (10 days before), c2 on day 21 (9)
    late = Playbook([attrs.evolve(rule, offset_days=10)])
    assert [m.recipient.customer_id for m in related(playbook=late)] == ["c1"]
    with pytest.raises(InvalidValueError, match="related_products"):
        related(playbook=Playbook([]))


# -- invariants on random shops ----------------------------------------------------------------
SKUS = ["X", "Y", "Z", "W"]
random_orders = st.lists(
    st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 30),
              st.lists(st.sampled_from(SKUS), min_size=1, max_size=3, unique=True)),
    min_size=1, max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(rows=random_orders, excluded=st.sets(st.sampled_from(SKUS), max_size=2),
       max_items=st.integers(1, 3))
def test_offers_never_hold_owned_excluded_or_repeated_products(
    rows: list[tuple[str, int, list[str]]], excluded: set[str], max_items: int,
) -> None:
    """Every order delivered on its day + 1 at 12:00; offers 2 days later, over the whole
    month: no offered SKU is excluded, in the delivered order, or bought by the customer
    before as_of, and each (customer, top product) is offered once."""
    full = [(c, d, skus, "paid", f"O{i}") for i, (c, d, skus) in enumerate(rows)]
    line_oid = [oid for *_, skus, _, oid in full for _ in skus]
    line_sku = [s for *_, sk, _, _ in full for s in sk]
    lg = OrderLog.from_arrays(
        [c for c, *_ in full], [day(d) for _, d, *_ in full], [100 * len(x) for _, _, x, _, _ in full],
        order_ids=[o for *_, o in full],
        items=OrderItems.from_arrays(order_ids=line_oid, skus=line_sku,
                                     unit_price_fen=[100] * len(line_sku)))
    events = OrderEvents.from_events(OrderEvent(oid, c, "delivered", day(d + 1))
                                     for c, d, _, _, oid in full)
    rules = associations(lg, as_of=day(15), basis="days", within_days=10, min_count=1, shrink=1.0)
    ctx = FlowContext(SmsComposer("【小林咖啡】"), link=LINK, channel=ChannelKind.IN_APP)
    as_of = day(40)
    msgs = accessory_offers(lg, events, rules, start=day(0), as_of=as_of, ctx=ctx,
                            exclude=excluded, max_items=max_items, min_score=-1.0)
    bought = {(c, s) for c, d, skus in rows if day(d) < as_of for s in skus}
    order_skus = {f"O{i}": set(skus) for i, (_, _, skus) in enumerate(rows)}
    seen = set()
    for m in msgs:
        offered = m.meta("recommended").split("|")
        cid = m.recipient.customer_id
        assert 1 <= len(offered) <= max_items
        assert len(set(offered)) == len(offered)
        for s in offered:
            assert s not in excluded
            assert s not in order_skus[m.meta("order_id")]
            assert (cid, s) not in bought
        assert (cid, offered[0]) not in seen
        seen.add((cid, offered[0]))
        assert m.key == f"mkt:accessory:customer-{cid}:{offered[0]}"
