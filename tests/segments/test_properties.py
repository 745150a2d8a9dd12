"""Properties: JSON round trip, De Morgan, and random shops against the reference evaluator."""

from __future__ import annotations

import datetime as dt
import functools
import json
from zoneinfo import ZoneInfo

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from segments_helpers import Reference

from ecrm.lifecycle import Bands
from ecrm.segments import (
    And,
    AudienceContext,
    FavoritedNotBought,
    Not,
    Or,
    Predicate,
    audience,
)
from ecrm.testing import customer_tables, event_logs, order_logs, predicates

TZ = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2025, 7, 1, tzinfo=TZ)
CTX = AudienceContext(cycle=Bands(20, 60, 120))
WHEN = st.datetimes(min_value=dt.datetime(2023, 1, 1), max_value=dt.datetime(2025, 9, 30),
                    timezones=st.just(TZ))


@given(predicates())
def test_json_round_trip_is_exact(p: Predicate) -> None:
    doc = p.to_dict()
    assert Predicate.from_dict(doc) == p
    assert type(p).from_dict(doc) == p  # the leaf's own class reads its kind
    text = p.to_json()
    assert isinstance(text, str)
    assert Predicate.from_json(text) == p
    # The document is plain JSON and stable: writing the read-back predicate gives it again.
    assert json.loads(json.dumps(doc)) == doc
    assert json.loads(text) == doc
    assert Predicate.from_json(text).to_json() == text


@given(st.from_type(Predicate))
def test_predicate_type_is_registered(p: Predicate) -> None:
    assert isinstance(p, Predicate)


@st.composite
def shops(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    customers = draw(customer_tables(min_size=1, max_size=10))
    orders = draw(order_logs(max_size=20, max_customers=10))
    events = draw(event_logs(max_size=20, max_customers=10, at=WHEN))
    return customers, orders, events


def _needs_lines(p: Predicate) -> bool:
    return isinstance(p, FavoritedNotBought) or any(_needs_lines(c) for c in p.children())


def _run(p: Predicate, shop) -> np.ndarray:  # type: ignore[no-untyped-def]
    customers, orders, events = shop
    # A log of orders without lines cannot say which favourited items were bought.
    assume(orders.items is not None or len(orders) == 0 or not _needs_lines(p))
    return audience(p, customers=customers, orders=orders, events=events, as_of=AS_OF,
                    context=CTX).mask


PAIRS = st.lists(st.tuples(predicates(derived=False), predicates(derived=False)),
                 min_size=1, max_size=5)


@settings(max_examples=20)
@given(shops(), PAIRS)
def test_de_morgan(shop, pairs: list[tuple[Predicate, Predicate]]) -> None:  # type: ignore[no-untyped-def]
    """Shop generation is the slow part, so each shop checks several pairs."""
    for a, b in pairs:
        _de_morgan(shop, a, b)


def _de_morgan(shop, a: Predicate, b: Predicate) -> None:  # type: ignore[no-untyped-def]
    assert (_run(~(a & b), shop) == _run(~a | ~b, shop)).all()
    assert (_run(~(a | b), shop) == _run(~a & ~b, shop)).all()
    assert (_run(Not(Not(a)), shop) == _run(a, shop)).all()
    assert (_run(And([a, b]), shop) == (_run(a, shop) & _run(b, shop))).all()
    assert (_run(Or([a, b]), shop) == (_run(a, shop) | _run(b, shop))).all()


@settings(max_examples=30)
@given(shops(), st.lists(predicates(derived=False, max_leaves=3), min_size=1, max_size=6))
def test_random_shops_match_plain_python(shop, ps: list[Predicate]) -> None:  # type: ignore[no-untyped-def]
    customers, orders, events = shop
    ref = Reference(list(customers), list(orders), list(events), AS_OF, TZ)
    for p in ps:
        assume(orders.items is not None or len(orders) == 0 or not _needs_lines(p))
        a = audience(p, customers=customers, orders=orders, events=events, as_of=AS_OF,
                     context=CTX)
        assert a.customer_ids.tolist() == ref.ids(p), p


@settings(max_examples=25)
@given(st.from_type(AudienceContext))
def test_derived_clauses_partition_the_shop_under_any_context(ctx: AudienceContext) -> None:
    """Whatever the ladder, scheme and bands: every customer has exactly one level and one
    stage, and at most one grade — held only by customers with a valid order."""
    from ecrm.lifecycle import Stage
    from ecrm.rfm import Grade
    from ecrm.segments import MemberLevelIn, Ordered, RfmGradeIn, StageIn

    shop = _small_shop()

    def mask(p: Predicate) -> np.ndarray:
        return audience(p, customers=shop.customers, orders=shop.orders, as_of=shop.as_of,
                        context=ctx).mask

    levels = [mask(MemberLevelIn([lv])) for lv in range(ctx.ladder.top_level + 1)]
    assert (np.sum(levels, axis=0) == 1).all()
    stages_ = [mask(StageIn([s])) for s in Stage]
    assert (np.sum(stages_, axis=0) == 1).all()
    grades = [mask(RfmGradeIn([g])) for g in Grade]
    assert (np.sum(grades, axis=0) <= 1).all()
    assert not (np.any(grades, axis=0) & ~mask(Ordered())).any()


@functools.cache
def _small_shop():  # type: ignore[no-untyped-def]
    from ecrm.datasets import sample_shop

    return sample_shop(120, seed=5)
