"""Customer profiles (客户画像) worked by hand on a three-customer shop."""

from __future__ import annotations

import datetime as dt
import sys
import types
from pathlib import Path

import pytest

import ecrm
import ecrm.profile
from ecrm import CustomerTable, EventLog
from ecrm.lifecycle import stages
from ecrm.profile import BEHAVIOUR_TAGS, profiles
from ecrm.recommend import associations, recommend
from ecrm.rfm import score

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "recommend"))
from recommend_helpers import SH, day, shop

ROWS = [("u1", 1, ["咖啡豆", "糖包"]), ("u1", 10, ["咖啡豆"]), ("u2", 5, ["杯子"]),
        ("u2", 6, ["咖啡豆"])]
AS_OF = day(40)  # 2024-02-10 noon


def log() -> ecrm.OrderLog:
    return shop(ROWS, statuses=["paid", "paid", "paid", "closed"])


def table() -> CustomerTable:
    return CustomerTable.from_arrays(
        ["u1", "u3"], phones=["13800138000", None], emails=["li@x.com", None],
        genders=["female", None], birthdays=[dt.date(1990, 5, 20), None],
        provinces=["浙江", ""], cities=["杭州", ""],
    )


def events() -> EventLog:
    # Within 30 days of day 40: u2's browse (day 35) and u1's favourite (day 39); u2's
    # cart on day 2 is too old.
    return EventLog.from_arrays(
        ["u2", "u2", "u1"], [day(35), day(2), day(39)], ["browse", "cart", "favorite"],
        skus=["咖啡豆", "杯子", "糖包"], tz=SH,
    )


def test_profiles_by_hand() -> None:
    p = profiles(log(), as_of=AS_OF, customers=table(), events=events())
    rows = {d["customer_id"]: d for d in p.to_dicts()}
    assert list(rows) == ["u1", "u2", "u3"]
    u1, u2, u3 = rows["u1"], rows["u2"], rows["u3"]
    # Born 1990-05-20: 33 on 2024-02-10 (the birthday has not come yet that year).
    assert (u1["phone"], u1["email"], u1["gender"], u1["age"]) == ("138****8000", "l***@x.com", "female", 33)
    assert (u1["province"], u1["city"]) == ("浙江", "杭州")
    assert [u1[t] for t in BEHAVIOUR_TAGS] == [False, False, True, True, True]
    assert (u1["n_orders"], u1["spend_fen"], u1["categories"]) == (2, 300, "咖啡|配料")
    # u2's coffee order was closed: one valid order, no repurchase, only 器具.
    assert [u2[t] for t in BEHAVIOUR_TAGS] == [True, False, False, True, False]
    assert (u2["n_orders"], u2["spend_fen"], u2["categories"], u2["age"]) == (1, 100, "器具", None)
    # u3 is only in the table: a profile with nothing bought.
    assert (u3["n_orders"], u3["paid"], u3["phone"], u3["categories"]) == (0, False, "", "")


def test_email_is_masked() -> None:
    p = profiles(log(), as_of=AS_OF, customers=table())
    assert "li@x.com" not in p.to_dicts()[0]["email"]
    assert p.to_dicts()[0]["email"] == ecrm.mask_email("li@x.com")


def test_results_are_joined_by_customer() -> None:
    orders = log()
    rfm = score(orders, as_of=AS_OF, warn_undersized=False)
    st = stages(orders, as_of=AS_OF, cycle=(10, 20, 30))
    rules = associations(orders, as_of=AS_OF, basis="order", min_count=1)
    recs = recommend(orders, rules, as_of=AS_OF, min_score=-1.0)
    p = profiles(orders, as_of=AS_OF, customers=table(), rfm=rfm, stages=st, recommendations=recs)
    rows = {d["customer_id"]: d for d in p.to_dicts()}
    assert rows["u1"]["rfm_grade"] == rfm.row("u1").grade.value
    assert rows["u1"]["rfm_total"] == rfm.row("u1").total
    # Last purchase day 10 → 30 days before day 40: P70 < 30 <= P90 → sleeping.
    assert rows["u1"]["stage"] == "sleeping"
    # u2 bought a cup (day 5): 35 days > P90 → churned; its closed coffee does not count.
    assert rows["u2"]["stage"] == "churned"
    assert rows["u3"]["rfm_grade"] == ""
    assert rows["u3"]["rfm_total"] is None
    # Only u1 bought beans+sugar together: u2 (cup) has no rule; u1 owns both.
    assert rows["u1"]["recommended"] == ""
    assert rows["u2"]["recommended"] == ""
    text = p.explain("u1")
    assert text.splitlines()[0] == "customer u1: 138****8000, l***@x.com; female, 33 years, 浙江 杭州"
    assert "behaviour: paid, repurchased (events within 30 days)" in text  # no events passed
    assert "orders: 2 valid, ¥3.00 net" in text
    assert "lifecycle stage: sleeping" in text
    assert "prefers: 咖啡, 配料" in text
    with pytest.raises(ecrm.UnknownCustomerError):
        p.explain("nobody")


def test_recommendations_are_joined_best_first() -> None:
    orders = shop([*ROWS, ("u4", 2, ["咖啡豆"])], statuses=["paid", "paid", "paid", "closed", "paid"])
    rules = associations(orders, as_of=AS_OF, basis="days", within_days=30, min_count=1)
    recs = recommend(orders, rules, as_of=AS_OF, k=3, min_score=-1.0)
    p = profiles(orders, as_of=AS_OF, recommendations=recs)
    rows = {d["customer_id"]: d for d in p.to_dicts()}
    assert rows["u4"]["recommended"] == "|".join(recs.for_customer("u4"))
    assert rows["u4"]["recommended"].startswith("糖包")


def test_bad_options() -> None:
    with pytest.raises(ecrm.InvalidValueError) as info:
        profiles(log(), as_of=AS_OF, lookback_days=-1)
    assert info.value.field == "lookback_days"
    with pytest.raises(ecrm.InvalidTypeError):
        profiles(log(), as_of=AS_OF, rfm="x")  # type: ignore[arg-type]


def test_public_surface_is_exactly_all() -> None:
    public = {n for n, v in vars(ecrm.profile).items()
              if not n.startswith("_") and not isinstance(v, types.ModuleType)}
    assert set(ecrm.profile.__all__) == public == {"BEHAVIOUR_TAGS", "Profiles", "profiles"}
