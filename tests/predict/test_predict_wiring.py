"""Predictions wired into the rest of ecrm: the segment predicates on P(alive) and CLV, the
lifecycle churn warning by P(alive), and the churn-risk touch flow through a real SQLite
outbox — against probabilities worked by hand.

The shop: BG/NBD with r = 1, α = 1, a = 2, b = 4 (days). A customer with one repeat
purchase (x = 1) at t_x, seen at T, is dead with odds a/(b+x−1)·((α+T)/(α+t_x))^(r+x)
= ½·((1+T)/(1+t_x))², so P(alive) = 1 / (1 + that); with no repeat, P(alive) = 1.
First purchases on 2025-06-01 (day 0); at midnight of day 4 (T = 4):

    c1  repeat on day 2 (t_x = 2): odds ½·(5/3)² = 25/18  → P = 18/43 ≈ 0.419
    c2  repeat on day 3 (t_x = 3): odds ½·(5/4)² = 25/32  → P = 32/57 ≈ 0.561
    c3  no repeat                                          → P = 1
    c4  repeat on day 1 (t_x = 1): odds ½·(5/2)² = 25/8   → P = 8/33  ≈ 0.242

P(alive) < 0.3 ⇔ odds > 7/3 ⇔ (1+T)/(1+t_x) > √(14/3) ≈ 2.160: c4 crosses on day 4
(day 3: P = 1/3), c1 on day 6 (T > 5.48), c2 on day 8 (T > 7.64); c3 never.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from ecrm import Customer, CustomerTable, Money, Order, OrderLog, OrderStatus
from ecrm.lifecycle import churn_warning
from ecrm.predict import SpendModel, TransactionModel, predict, summaries
from ecrm.segments import (
    AudienceContext,
    Predicate,
    PredictedClvBetween,
    ProbabilityAliveBetween,
    audience,
)
from ecrm.testing import predicates
from ecrm.touch import (
    Dispatcher,
    InMemoryOptOutRegistry,
    ManualClock,
    OutboxState,
    PolicyContext,
    RecordingChannel,
    SendPolicy,
    SmsComposer,
    SqliteOutbox,
)
from ecrm.touch.flows import FlowContext, churn_risk_offers

SH = ZoneInfo("Asia/Shanghai")
DAY0 = dt.date(2025, 6, 1)
MODEL = TransactionModel("bgnbd", (1.0, 1.0, 2.0, 4.0))
SPEND = SpendModel("gammagamma", (6.0, 4.0, 15000.0))
REPEAT_DAY = {"c1": 2, "c2": 3, "c4": 1}


def _at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime.combine(DAY0 + dt.timedelta(days=day), dt.time(hour), SH)


def _midnight(day: int) -> dt.datetime:
    return _at(day, 0)


def _orders() -> OrderLog:
    rows = []
    for cid in ("c1", "c2", "c3", "c4"):
        rows.append(Order(f"{cid}-0", cid, _at(0), Money(10_000), status=OrderStatus.COMPLETED))
        if cid in REPEAT_DAY:
            rows.append(Order(f"{cid}-1", cid, _at(REPEAT_DAY[cid]), Money(20_000),
                              status=OrderStatus.COMPLETED))
    return OrderLog.from_orders(rows)


def _hand_p_alive(t_x: int | None, T: int) -> Fraction:
    if t_x is None:
        return Fraction(1)
    odds = Fraction(1, 2) * Fraction(1 + T, 1 + t_x) ** 2
    return 1 / (1 + odds)


HAND = {cid: _hand_p_alive(REPEAT_DAY.get(cid), 4) for cid in ("c1", "c2", "c3", "c4")}
CUSTOMERS = CustomerTable.from_customers([
    Customer("c1", name="小林", phone="13800000001"),
    Customer("c2", name="小王", phone="13800000002"),
    Customer("c3", name="小张", phone="13800000003"),
    Customer("c4", name="小李", phone="13800000004"),
    Customer("c5", name="无单", phone="13800000005"),  # no order: no prediction
])


def _predictions() -> object:
    s = summaries(_orders(), as_of=_midnight(4), calibration_start=_midnight(0))
    return predict(MODEL, s, spend=SPEND, clv_horizon_days=90)


def test_hand_worked_probabilities() -> None:
    p = _predictions()
    got = dict(zip(p.customer_ids.tolist(), p.p_alive.tolist(), strict=True))  # type: ignore[attr-defined]
    assert {"c1": Fraction(18, 43), "c2": Fraction(32, 57), "c3": 1, "c4": Fraction(8, 33)} == HAND
    for cid, want in HAND.items():
        assert got[cid] == pytest.approx(float(want), rel=1e-12)


# -- segments ----------------------------------------------------------------------------------
def _audience(predicate: object, **ctx: object) -> list[str]:
    a = audience(predicate, customers=CUSTOMERS, orders=_orders(), as_of=_midnight(4),  # type: ignore[arg-type]
                 context=AudienceContext(**ctx))  # type: ignore[arg-type]
    return sorted(a.customer_ids.tolist())


@pytest.mark.parametrize(("lo", "hi", "expected"), [
    (None, 0.3, ["c4"]),
    (0.3, 0.6, ["c1", "c2"]),
    (18 / 43 - 1e-12, 18 / 43 + 1e-12, ["c1"]),
    (0.99, None, ["c3"]),
    (0.0, 1.0, ["c1", "c2", "c3", "c4"]),  # c5 has no prediction: never matches
])
def test_p_alive_predicate_selects_the_hand_worked_customers(
        lo: float | None, hi: float | None, expected: list[str]) -> None:
    assert _audience(ProbabilityAliveBetween(lo, hi), predictions=_predictions()) == expected
    assert _audience(~ProbabilityAliveBetween(lo, hi), predictions=_predictions()) == sorted(
        {"c1", "c2", "c3", "c4", "c5"} - set(expected))


def test_clv_predicate_uses_the_predictions_clv() -> None:
    p = _predictions()
    clv = dict(zip(p.customer_ids.tolist(), p.clv_fen.tolist(), strict=True))  # type: ignore[attr-defined]
    assert len(set(clv.values())) == 4
    line = clv["c1"]
    above = sorted(c for c, v in clv.items() if v >= line)
    assert _audience(PredictedClvBetween(min_fen=line), predictions=p) == above
    assert _audience(PredictedClvBetween(max_fen=line - 1), predictions=p) == sorted(set(clv) - set(above))
    assert _audience(PredictedClvBetween(line, line), predictions=p) == ["c1"]  # bounds are inclusive


def test_predicted_clauses_need_predictions_of_the_audience_day() -> None:
    with pytest.raises(ValueError, match=r"context\.predictions is needed by a p_alive clause"):
        _audience(ProbabilityAliveBetween(max_value=0.3))
    s = summaries(_orders(), as_of=_midnight(3), calibration_start=_midnight(0))
    stale = predict(MODEL, s, spend=SPEND)
    with pytest.raises(ValueError, match="must be made at the audience's as_of day 2025-06-05"):
        _audience(ProbabilityAliveBetween(max_value=0.3), predictions=stale)
    no_clv = predict(MODEL, summaries(_orders(), as_of=_midnight(4), calibration_start=_midnight(0)))
    with pytest.raises(ValueError, match="have no CLV for a clv clause"):
        _audience(PredictedClvBetween(min_fen=1), predictions=no_clv)


def test_predicted_predicates_validate_and_round_trip_through_json() -> None:
    p = ProbabilityAliveBetween(0.1, 0.5) & ~PredictedClvBetween(max_fen=5000)
    assert p.to_dict()["predicate"]["args"][0] == {"field": "p_alive", "min": 0.1, "max": 0.5}
    assert Predicate.from_json(p.to_json()) == p
    assert p.describe() == "(0.1 <= P(alive) <= 0.5) and (not (predicted CLV <= ¥50.00))"
    with pytest.raises(ValueError, match="p_alive bounds must be probabilities in"):
        ProbabilityAliveBetween(max_value=1.5)
    with pytest.raises(ValueError, match="lower bound must not exceed the upper"):
        PredictedClvBetween(500, 100)
    with pytest.raises(TypeError, match="integer fen, not a float"):
        PredictedClvBetween(min_fen=10.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a lower or an upper bound"):
        ProbabilityAliveBetween()
    with pytest.raises(ValueError, match=r"predicate\.min.*must be a number"):
        Predicate.from_dict({"version": 1, "predicate": {"field": "p_alive", "min": "0.3"}})
    with pytest.raises(ValueError, match=r"predicate.*bounds must be >= 0 fen"):
        Predicate.from_dict({"version": 1, "predicate": {"field": "clv", "min": -1}})


def test_drawn_predicted_predicates_round_trip() -> None:
    from hypothesis import given, settings

    @settings(max_examples=60, deadline=None)
    @given(predicates(predicted=True, behaviour=False, derived=False))
    def check(p: object) -> None:
        assert Predicate.from_json(p.to_json()) == p  # type: ignore[arg-type]

    check()


# -- lifecycle churn warning ---------------------------------------------------------------------
def _p_alive_arrays() -> tuple[np.ndarray, np.ndarray]:
    p = _predictions()
    return p.customer_ids, p.p_alive  # type: ignore[attr-defined]


@pytest.mark.parametrize(("rule", "days", "expected"), [
    ("p_alive", 15, ["c4"]),
    ("either", 15, ["c4"]),  # nobody is 15 days inactive
    ("either", 3, ["c3", "c4"]),  # days since last purchase: c1 2, c2 1, c3 4, c4 3
    ("both", 3, ["c4"]),
    ("both", 15, []),
])
def test_churn_warning_by_p_alive(rule: str, days: int, expected: list[str]) -> None:
    lst = churn_warning(_orders(), as_of=_midnight(4), days=days, rule=rule,  # type: ignore[arg-type]
                        p_alive=_p_alive_arrays(), p_alive_below=0.3)
    assert lst.customer_ids.tolist() == expected
    assert lst.p_alive is not None
    want = [float(HAND[c]) for c in expected]
    np.testing.assert_allclose(lst.p_alive, want, rtol=1e-12)
    assert "P(alive) < 0.3" in lst.reason


def test_churn_warning_days_rule_is_unchanged_and_probabilities_are_checked() -> None:
    plain = churn_warning(_orders(), as_of=_midnight(4), days=3)
    assert plain.customer_ids.tolist() == ["c3", "c4"]
    assert plain.p_alive is None
    assert plain.to_dicts()[0] == {"customer_id": "c3", "days_since_last": 4}
    with pytest.raises(ValueError, match="p_alive is needed by the rule"):
        churn_warning(_orders(), as_of=_midnight(4), rule="p_alive")
    with pytest.raises(ValueError, match="is ignored by rule='days'"):
        churn_warning(_orders(), as_of=_midnight(4), p_alive=_p_alive_arrays())
    with pytest.raises(ValueError, match=r"p_alive\[1\] must be a probability in \[0, 1\]"):
        churn_warning(_orders(), as_of=_midnight(4), rule="either", p_alive=(["c1", "c2"], [0.5, 1.5]))
    with pytest.raises(ValueError, match="ids must be of the orders' id kind"):
        churn_warning(_orders(), as_of=_midnight(4), rule="either", p_alive=([1, 2], [0.5, 0.5]))


# -- the churn-risk flow through a real SQLite outbox ----------------------------------------------
CTX = FlowContext(SmsComposer("【小林茶铺】"), customers=CUSTOMERS, link="m.tb.cn/xlcp")


def test_flow_sends_on_the_crossing_day_only() -> None:
    for day, expected in ((3, []), (4, ["c4"]), (5, []), (6, ["c1"]), (7, []), (8, ["c2"]), (30, [])):
        msgs = churn_risk_offers(_orders(), start=_midnight(day), as_of=_midnight(day + 1), ctx=CTX,
                                 model=MODEL, below=0.3)
        assert [m.recipient.customer_id for m in msgs] == expected, day
    (m,) = churn_risk_offers(_orders(), start=_midnight(4), as_of=_midnight(5), ctx=CTX, model=MODEL)
    assert m.key == "mkt:churn_risk:customer-c4:2025-06-02"
    assert m.body == "【小林茶铺】小李，好久不见！回店享满100返50：m.tb.cn/xlcp回T退订"
    assert m.not_before == _at(4, 10)
    assert m.meta("p_alive") == f"{8 / 33:.4f}"
    assert m.meta("reason") == ("P(alive) 0.24 < 0.3 under BG/NBD (was 0.33 the day before); "
                                "last purchase 2025-06-02")
    assert m.meta("expires_at") == "2025-07-05T00:00:00+08:00"


def test_flow_through_a_sqlite_outbox_is_idempotent_and_obeys_the_policy(tmp_path: Path) -> None:
    """Daily runs, each followed by the dispatcher at 10:00, send each crossing once; the
    policy skips the customer who is not a member; a catch-up run over all days later
    enqueues nothing new (the keys are in the outbox)."""
    outbox = SqliteOutbox(tmp_path / "outbox.sqlite")
    channel = RecordingChannel()
    context = PolicyContext(opt_outs=InMemoryOptOutRegistry(), members={"c1", "c4"})
    sent = skipped = 0
    for day in range(11):
        for m in churn_risk_offers(_orders(), start=_midnight(day), as_of=_midnight(day + 1), ctx=CTX,
                                   model=MODEL):
            assert outbox.enqueue(m)
        report = Dispatcher(outbox, channel, clock=ManualClock(_at(day, 10)), policy=SendPolicy(),
                            context=context).run_once()
        sent, skipped = sent + report.sent, skipped + report.skipped
    assert (sent, skipped) == (2, 1)
    assert [(m.recipient.customer_id, m.not_before) for m in channel.sent] == [
        ("c4", _at(4, 10)), ("c1", _at(6, 10))]
    (entry,) = outbox.entries(OutboxState.SKIPPED)
    assert entry.key == "mkt:churn_risk:customer-c2:2025-06-04"
    assert "not a member" in (entry.last_error or "")
    again = churn_risk_offers(_orders(), start=_midnight(0), as_of=_midnight(11), ctx=CTX, model=MODEL)
    assert len(again) == 3
    assert sum(outbox.enqueue(m) for m in again) == 0
    outbox.close()


def test_flow_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match=r"below must be a probability in \(0, 1\)"):
        churn_risk_offers(_orders(), start=_midnight(4), as_of=_midnight(5), ctx=CTX, model=MODEL, below=1.0)
    with pytest.raises(TypeError, match=r"model must be an ecrm\.predict\.TransactionModel"):
        churn_risk_offers(_orders(), start=_midnight(4), as_of=_midnight(5), ctx=CTX, model=SPEND)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"ctx\.link"):
        churn_risk_offers(_orders(), start=_midnight(4), as_of=_midnight(5),
                          ctx=FlowContext(SmsComposer("【小林茶铺】"), customers=CUSTOMERS), model=MODEL)


def test_lifecycle_never_imports_predict() -> None:
    """The dependency runs predict → lifecycle (DESIGN §1): no lifecycle module imports
    ecrm.predict, not even inside a function."""
    import ast

    import ecrm.lifecycle

    for path in sorted(Path(ecrm.lifecycle.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("ecrm.predict"), path.name
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("ecrm.predict") for a in node.names), path.name


def test_predict_orders_is_the_three_steps() -> None:
    """predict_orders = summaries → fit_bgnbd + fit_gammagamma → predict, from the first order."""
    from ecrm.datasets import sample_shop
    from ecrm.predict import fit_bgnbd, fit_gammagamma, predict_orders

    shop = sample_shop(n_customers=2000, seed=0)
    start = dt.datetime(2023, 12, 1, tzinfo=shop.as_of.tzinfo)
    got = predict_orders(shop.orders, as_of=shop.as_of, calibration_start=start, horizon_days=60)
    s = summaries(shop.orders, as_of=shop.as_of, calibration_start=start)
    want = predict(fit_bgnbd(s), s, spend=fit_gammagamma(s), horizon_days=60)
    assert got.model.params == want.model.params
    np.testing.assert_array_equal(got.p_alive, want.p_alive)
    np.testing.assert_array_equal(got.clv_fen, want.clv_fen)
    first = predict_orders(shop.orders, as_of=shop.as_of)  # from the first order
    assert first.summary.n_excluded == 0
    assert len(first) == len(np.unique(shop.orders.customer_codes[shop.orders.valid_mask()]))


def test_predict_orders_without_repeat_spend_has_no_clv() -> None:
    """Repeat orders of 0 fen: Gamma-Gamma has nothing to fit; a warning, and no CLV."""
    from ecrm.datasets import sample_shop
    from ecrm.predict import ThinDataWarning, predict_orders

    log = sample_shop(n_customers=800, seed=1).orders
    free = OrderLog.from_arrays(log.customer_ids[log.customer_codes], log.placed_at_us.astype("datetime64[us]"),
                                np.zeros(len(log), dtype=np.int64), tz=log.tz)
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ThinDataWarning)
        p = predict_orders(free, as_of=dt.datetime(2025, 12, 1, tzinfo=log.tz), thin_data="warn")
    assert any("the predictions have no CLV" in str(w.message) for w in caught)
    assert p.spend is None
    assert (p.clv_fen == -1).all()
    with pytest.raises(RuntimeError, match="Gamma-Gamma"):
        predict_orders(free, as_of=dt.datetime(2025, 12, 1, tzinfo=log.tz), thin_data="refuse")
