"""The profile's later parts worked by hand: the VIP tier and the distance to the next
level, touches and opt-outs, predicted churn and CLV, and service tickets."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import attrs
import pytest

import ecrm
from ecrm.predict import SpendModel, TransactionModel, predict, summaries
from ecrm.profile import profiles
from ecrm.service import Ticket, TicketState
from ecrm.tiers import TAOBAO_STORE_VIP

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "recommend"))
from recommend_helpers import day, shop

# Order amounts are 100 fen per line. u1: 3 orders, ¥3.00 — qualifies for level 1 (3
# orders) and joined; u2: 1 order, ¥1.00; u4: 5 orders, ¥5.00 — qualifies for level 2 (5
# orders), not joined; u3 only in the customer table.
ROWS = [("u1", 1, ["咖啡豆"]), ("u1", 8, ["糖包"]), ("u1", 15, ["咖啡豆"]),
        ("u2", 5, ["杯子"]),
        *[("u4", d, ["糖包"]) for d in (2, 4, 6, 8, 10)]]
AS_OF = day(40)


def log() -> ecrm.OrderLog:
    return shop(ROWS)


def tiers() -> object:
    return TAOBAO_STORE_VIP.evaluate_log(log(), as_of=AS_OF, opted_in={"u1"})


def table() -> ecrm.CustomerTable:
    return ecrm.CustomerTable.from_arrays(["u1", "u3"], phones=["13800138000", None])


def test_tier_and_distance_to_the_next_level_by_hand() -> None:
    """TAOBAO_STORE_VIP: level 1 at ¥100 or 3 orders, level 2 at ¥200 or 5, level 3 at
    ¥500 or 10."""
    p = profiles(log(), as_of=AS_OF, customers=table(), tiers=tiers())  # type: ignore[arg-type]
    rows = {d["customer_id"]: d for d in p.to_dicts()}
    u1, u2, u3, u4 = rows["u1"], rows["u2"], rows["u3"], rows["u4"]
    assert (u1["level"], u1["level_name"], u1["potential"]) == (1, "普通会员", False)
    assert (u1["next_level"], u1["spend_to_next_fen"], u1["orders_to_next"]) == (2, 20_000 - 300, 5 - 3)
    assert (u2["level"], u2["level_name"], u2["potential"]) == (0, "店铺客户", False)
    assert (u2["next_level"], u2["spend_to_next_fen"], u2["orders_to_next"]) == (1, 10_000 - 100, 3 - 1)
    # u4 qualifies for level 2 but has not joined: level 0, a potential member
    assert (u4["level"], u4["potential"], u4["next_level"]) == (0, True, 3)
    assert (u4["spend_to_next_fen"], u4["orders_to_next"]) == (50_000 - 500, 10 - 5)
    # u3 never ordered: a store customer with the whole first step ahead
    assert (u3["level"], u3["next_level"], u3["spend_to_next_fen"], u3["orders_to_next"]) == (
        0, 1, 10_000, 3)
    assert "tier: 普通会员 (level 1); level 2 needs ¥197.00 more or 2 more orders" in p.explain("u1")
    assert "qualifies for membership but has not joined" in p.explain("u4")


def test_top_level_has_no_next() -> None:
    rows = [("u9", d, ["糖包"]) for d in range(1, 21)]  # 20 orders: 至尊VIP (level 4)
    lg = shop(rows)
    t = TAOBAO_STORE_VIP.evaluate_log(lg, as_of=AS_OF, opted_in=True)
    (row,) = profiles(lg, as_of=AS_OF, tiers=t).to_dicts()
    assert (row["level"], row["next_level"], row["spend_to_next_fen"]) == (4, None, None)
    assert "at the top level" in profiles(lg, as_of=AS_OF, tiers=t).explain("u9")


def test_without_the_parts_their_columns_are_missing() -> None:
    row = profiles(log(), as_of=AS_OF).to_dicts()[0]
    for name in ("level", "potential", "next_level", "touches", "opted_out", "p_alive",
                 "clv_fen", "tickets", "open_tickets", "complaints"):
        assert row[name] is None, name
    assert row["level_name"] == row["churn_risk"] == ""


def test_touches_and_opt_outs_are_counted_per_customer() -> None:
    """Recipients of sent messages (as the outbox would list them): u1 three, u2 one; an
    unknown id is ignored. u2 opted out."""
    p = profiles(log(), as_of=AS_OF, customers=table(), touches=["u1", "u2", "u1", "u1", "zz"],
                 opted_out=["u2"])
    rows = {d["customer_id"]: (d["touches"], d["opted_out"]) for d in p.to_dicts()}
    assert rows == {"u1": (3, False), "u2": (1, True), "u3": (0, False), "u4": (0, False)}
    assert "touches: 3 messages received, not opted out" in p.explain("u1")
    assert "opted out of marketing" in p.explain("u2")
    with pytest.raises(ecrm.InvalidTypeError):
        profiles(log(), as_of=AS_OF, touches="u1")


def bgnbd_p_alive(r: float, alpha: float, a: float, b: float, x: int, tx: float, T: float) -> float:
    """BG/NBD probability alive (Fader, Hardie & Lee 2005, eq. 13)."""
    if x == 0:
        return 1.0
    return 1.0 / (1.0 + (a / (b + x - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x))


def test_churn_and_clv_from_predictions() -> None:
    """Purchase days before day 40 (calibration from day 0): u1 days 1, 8, 15 (x = 2,
    t_x = 14, T = 39); u2 day 5 (x = 0, T = 35); u4 days 2..10 (x = 4, t_x = 8, T = 38)."""
    pytest.importorskip("scipy")
    params = (0.5, 10.0, 0.6, 2.0)
    s = summaries(log(), as_of=AS_OF, calibration_start=day(0))
    preds = predict(TransactionModel("bgnbd", params), s,
                    spend=SpendModel("gammagamma", (6.0, 4.0, 150.0)))
    p = profiles(log(), as_of=AS_OF, customers=table(), predictions=preds)
    rows = {d["customer_id"]: d for d in p.to_dicts()}
    assert rows["u1"]["p_alive"] == pytest.approx(bgnbd_p_alive(*params, 2, 14, 39))
    assert rows["u2"]["p_alive"] == pytest.approx(1.0)
    assert rows["u4"]["p_alive"] == pytest.approx(bgnbd_p_alive(*params, 4, 8, 38))
    assert rows["u3"]["p_alive"] is None  # not summarised: no purchase
    for cid in ("u1", "u2", "u4"):
        i = preds.summary.index_of(cid)
        assert rows[cid]["churn_risk"] == str(preds.risk[i])
        assert rows[cid]["clv_fen"] == int(preds.clv_fen[i]) > 0
    line = next(x for x in p.explain("u4").splitlines() if x.startswith("prediction"))
    want = bgnbd_p_alive(*params, 4, 8, 38)
    assert line.startswith(f"prediction: {want:.0%} chance still a customer")
    assert math.isfinite(want)


def test_tickets_open_and_complaints() -> None:
    t0 = day(20)
    tickets = [
        Ticket.open("T1", kind="complaint", customer_id="u1", created_at=t0),
        attrs.evolve(Ticket.open("T2", kind="return", customer_id="u1", created_at=t0),
                     state=TicketState.RESOLVED),
        Ticket.open("T3", kind="inquiry", customer_id="u2", created_at=t0),
        Ticket.open("T4", kind="complaint", customer_id="u2", created_at=AS_OF),  # not yet
        Ticket.open("T5", kind="complaint", customer_id="nobody", created_at=t0),
    ]
    p = profiles(log(), as_of=AS_OF, customers=table(), tickets=tickets)
    rows = {d["customer_id"]: (d["tickets"], d["open_tickets"], d["complaints"]) for d in p.to_dicts()}
    assert rows == {"u1": (2, 1, 1), "u2": (1, 1, 0), "u3": (0, 0, 0), "u4": (0, 0, 0)}
    assert "service: 1 open of 2 tickets, 1 complaint" in p.explain("u1")
    with pytest.raises(ecrm.InvalidTypeError):
        profiles(log(), as_of=AS_OF, tickets=["T1"])  # type: ignore[list-item]


def test_int_customer_ids_match_tickets_by_text() -> None:
    lg = ecrm.OrderLog.from_arrays([7, 8], [day(1), day(2)], [100, 200])
    t = Ticket.open("T1", kind="quality", customer_id="7", created_at=day(3))
    rows = {d["customer_id"]: d["open_tickets"] for d in profiles(lg, as_of=AS_OF, tickets=[t]).to_dicts()}
    assert rows == {7: 1, 8: 0}


def test_parts_of_the_wrong_type_are_refused() -> None:
    with pytest.raises(ecrm.InvalidTypeError, match="tiers"):
        profiles(log(), as_of=AS_OF, tiers="gold")  # type: ignore[arg-type]
    with pytest.raises(ecrm.InvalidTypeError, match="predictions"):
        profiles(log(), as_of=AS_OF, predictions=[0.5])  # type: ignore[arg-type]


def test_the_frame_has_every_column_once() -> None:
    pytest.importorskip("pandas")
    frame = profiles(log(), as_of=AS_OF, tiers=tiers(), touches=["u1"]).to_pandas()  # type: ignore[arg-type]
    later = ["level", "level_name", "potential", "next_level", "spend_to_next_fen",
             "orders_to_next", "touches", "opted_out", "p_alive", "churn_risk", "clv_fen",
             "tickets", "open_tickets", "complaints"]
    assert list(frame.columns[-len(later):]) == later
    assert len(set(frame.columns)) == len(frame.columns)
    assert frame.loc[frame.customer_id == "u1", "touches"].item() == 1
