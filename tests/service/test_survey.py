"""Survey replies read into scores, and complaint callbacks due within 48 hours."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecrm import EcrmError
from ecrm.service import SurveyReply, Ticket, callback_task, callback_tasks, parse_reply

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SH)


@pytest.mark.parametrize(("text", "score"), [
    ("5", 5), ("５分", 5), ("给4分吧", 4), ("五星好评", 5), ("三颗星", 3),
    ("非常满意", 5), ("很满意！", 5), ("满意", 4), ("一般般", 3), ("还行", 3),
    ("不满意", 2), ("不太满意", 2), ("非常不满意", 1), ("太差了", 1), ("差评", 1),
    ("Very satisfied, thanks", 5), ("not satisfied", 2), ("it was ok", 3),
])
def test_csat_replies(text: str, score: int) -> None:
    got = parse_reply(text)
    assert got is not None
    assert got.score == score


@pytest.mark.parametrize(("text", "score"), [("10", 10), ("打0分", 0), ("9分，会推荐", 9),
                                              ("８", 8), ("十分", 10)])
def test_nps_replies(text: str, score: int) -> None:
    got = parse_reply(text, "nps")
    assert got is not None
    assert got.score == score


def test_numbers_outside_the_scale_and_words_for_nps_give_nothing() -> None:
    assert parse_reply("12") is None
    assert parse_reply("订单号 123456") is None
    assert parse_reply("满意", "nps") is None
    assert parse_reply("收到了") is None
    # the first number within the scale counts: 10 is out of CSAT, 3 is in
    assert parse_reply("10天才到，给3分") == SurveyReply("csat", 3, "3")  # type: ignore[arg-type]
    with pytest.raises(EcrmError, match="scale must be 'csat' or 'nps'"):
        parse_reply("5", "ces")


@given(st.integers(1, 5), st.text(alphabet="谢谢好的。 ", max_size=5))
def test_a_digit_in_range_is_always_read(score: int, filler: str) -> None:
    got = parse_reply(f"{filler}{score}{filler}")
    assert got is not None
    assert got.score == score
    assert got.satisfied is (score >= 4)


def test_a_complaint_callback_is_due_48_hours_after_it_came_in() -> None:
    t = Ticket.open("T-1", kind="complaint", customer_id="c1", created_at=T0, order_id="o1",
                    subject="发货太慢").assign("小王", at=T0, actor="lead")
    task = callback_task(t)
    assert task.due_at == dt.datetime(2026, 12, 3, 10, 0, tzinfo=SH)
    assert task.reminder() == "小王：请在 2026-12-03 10:00 前电话回访客户 c1（工单 T-1：发货太慢）"
    assert callback_task(t, within=dt.timedelta(hours=24)).due_at == T0 + dt.timedelta(days=1)
    with pytest.raises(EcrmError, match="within must be a positive"):
        callback_task(t, within=dt.timedelta(0))


def test_callbacks_are_owed_for_open_complaints_only_soonest_first() -> None:
    a = Ticket.open("A", kind="complaint", customer_id="c1", created_at=T0 + dt.timedelta(hours=2))
    b = Ticket.open("B", kind="complaint", customer_id="c2", created_at=T0)
    c = Ticket.open("C", kind="refund", customer_id="c3", created_at=T0)
    d = (Ticket.open("D", kind="complaint", customer_id="c4", created_at=T0)
         .assign("x", at=T0, actor="x").resolve(at=T0, actor="x").close(at=T0, actor="x"))
    assert [task.ticket_id for task in callback_tasks([a, b, c, d])] == ["B", "A"]
    assert callback_tasks([c], kinds=["refund"])[0].reason == "退款工单"
