"""Satisfaction replies (满意度回访) read into scores, and complaint callback tasks.

Pure functions: :func:`parse_reply` turns a customer's reply ("5", "５分", "非常满意",
"一般", "not satisfied") into a CSAT (1–5) or NPS (0–10) score; :func:`callback_task`
turns a complaint into a callback due within 48 hours (对投诉客户48小时内电话回访).
Sending surveys through care flows is wired elsewhere (see docs/service.md).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import unicodedata
from collections.abc import Iterable
from typing import Final

import attrs

from ecrm import _enums
from ecrm import _validators as _v
from ecrm._time import require_aware
from ecrm.errors import InvalidValueError
from ecrm.service._ticket import Ticket, TicketKind, TicketState

__all__ = ["CallbackTask", "SurveyReply", "SurveyScale", "callback_task", "callback_tasks",
           "parse_reply"]


class SurveyScale(enum.StrEnum):
    """CSAT: 1 (very unhappy) … 5 (very happy); NPS: 0 … 10 (would you recommend us?)."""

    CSAT = "csat"
    NPS = "nps"

    @property
    def bounds(self) -> tuple[int, int]:
        """The lowest and highest score."""
        return (1, 5) if self is SurveyScale.CSAT else (0, 10)


@attrs.frozen
class SurveyReply:
    """A reply read as a score.

    Attributes:
        scale: CSAT or NPS.
        score: the score, within the scale's bounds.
        evidence: the part of the reply that gave the score (``"5"``, ``"非常满意"``).
    """

    scale: SurveyScale
    score: int
    evidence: str

    @property
    def satisfied(self) -> bool:
        """CSAT 4–5, or an NPS promoter (9–10)."""
        return self.score >= (4 if self.scale is SurveyScale.CSAT else 9)


_DIGITS: Final = re.compile(r"(?<![0-9.])([0-9]{1,2})(?![0-9.])")
_ZH_NUMBER: Final = re.compile(r"([一二两三四五六七八九十零])\s*(?:分|星|颗星)")
_ZH_VALUE: Final = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
                    "七": 7, "八": 8, "九": 9, "十": 10}
#: CSAT words, longest tried first so 不满意 is not read as 满意.
_CSAT_WORDS: Final = {
    "非常不满意": 1, "很不满意": 1, "特别不满意": 1, "极差": 1, "很差": 1, "太差": 1,
    "差评": 1, "不太满意": 2, "不满意": 2, "不满": 2, "不好": 2, "一般": 3, "还行": 3,
    "还可以": 3, "凑合": 3, "中评": 3, "非常满意": 5, "很满意": 5, "特别满意": 5,
    "超级满意": 5, "好评": 5, "满意": 4, "挺好": 4,
    "very dissatisfied": 1, "terrible": 1, "awful": 1, "not satisfied": 2,
    "dissatisfied": 2, "unsatisfied": 2, "poor": 2, "okay": 3, "ok": 3, "average": 3,
    "very satisfied": 5, "excellent": 5, "great": 5, "satisfied": 4, "good": 4,
}
_WORDS_LONGEST_FIRST: Final = sorted(_CSAT_WORDS, key=len, reverse=True)


def _word_in(word: str, text: str) -> bool:
    if word.isascii():
        return re.search(r"(?<![a-z])" + re.escape(word) + r"(?![a-z])", text) is not None
    return word in text


def parse_reply(text: str, scale: SurveyScale | str = SurveyScale.CSAT) -> SurveyReply | None:
    """Read a survey reply as a score.

    Digits come first (``"5"``, full-width ``"５分"``, ``"打9分"``; the first number within
    the scale counts), then a Chinese numeral with 分/星 (``"五星"``), then, for CSAT only,
    words: 非常满意 5, 满意 4, 一般 3, 不满意 2, 很差 1 and similar, English too.

    Args:
        text: the reply.
        scale: ``"csat"`` (1–5) or ``"nps"`` (0–10).

    Returns:
        The :class:`SurveyReply`, or ``None`` when the reply holds no score.

    Raises:
        InvalidValueError: an unknown scale.
    """
    try:
        scale_ = SurveyScale(scale)
    except ValueError:
        raise InvalidValueError("scale", "must be 'csat' or 'nps'", scale) from None
    lo, hi = scale_.bounds
    norm = unicodedata.normalize("NFKC", text).lower()
    for m in _DIGITS.finditer(norm):
        value = int(m.group(1))
        if lo <= value <= hi:
            return SurveyReply(scale_, value, m.group(0))
    for m in _ZH_NUMBER.finditer(norm):
        value = _ZH_VALUE[m.group(1)]
        if lo <= value <= hi:
            return SurveyReply(scale_, value, m.group(0))
    if scale_ is SurveyScale.CSAT:
        for word in _WORDS_LONGEST_FIRST:
            if _word_in(word, norm):
                return SurveyReply(scale_, _CSAT_WORDS[word], word)
    return None


@attrs.frozen
class CallbackTask:
    """A phone callback an operator owes a complaining customer (投诉回访).

    Attributes:
        ticket_id, customer_id, order_id: what and whom it is about.
        due_at: the latest time to call.
        reason: why (the ticket's subject or kind).
        assignee: the operator (the ticket's, or ``None``).
    """

    ticket_id: str
    customer_id: str
    order_id: str | None
    due_at: dt.datetime
    reason: str
    assignee: str | None = None

    def reminder(self) -> str:
        """The operator's reminder line (Chinese)."""
        who = f"{self.assignee}：" if self.assignee else ""
        when = self.due_at.strftime("%Y-%m-%d %H:%M")
        return (f"{who}请在 {when} 前电话回访客户 {self.customer_id}"
                f"（工单 {self.ticket_id}：{self.reason}）")


def callback_task(ticket: Ticket, *, within: dt.timedelta = dt.timedelta(hours=48),
                  at: dt.datetime | None = None) -> CallbackTask:
    """The callback owed for a complaint ticket, due ``within`` of ``at``.

    Args:
        ticket: the complaint.
        within: how long the shop gives itself (default 48 h, wall-clock).
        at: when the clock starts (default the ticket's creation).

    Returns:
        The :class:`CallbackTask`.

    Raises:
        InvalidValueError: ``within`` is not positive.
        InvalidTypeError: ``ticket`` is not a :class:`Ticket`, ``within`` not a timedelta,
            or ``at`` not an aware datetime.
    """
    _v.check_instance("ticket", ticket, Ticket)
    _v.check_instance("within", within, dt.timedelta)
    if not within > dt.timedelta(0):
        raise InvalidValueError("within", "must be a positive timedelta", within)
    start = ticket.created_at if at is None else require_aware(at, "at")
    reason = ticket.subject or f"{ticket.kind.zh}工单"
    try:
        due = start + within
    except OverflowError:
        raise InvalidValueError("within", "must not reach past the year 9999", within) from None
    return CallbackTask(ticket.ticket_id, ticket.customer_id, ticket.order_id, due,
                        reason, ticket.assignee)


def callback_tasks(tickets: Iterable[Ticket], *, within: dt.timedelta = dt.timedelta(hours=48),
                   kinds: Iterable[TicketKind | str] = (TicketKind.COMPLAINT,)
                   ) -> list[CallbackTask]:
    """Callbacks for every ticket of ``kinds`` that is not closed, soonest due first.

    Raises:
        InvalidTypeError: ``tickets`` is not an iterable of :class:`Ticket`, or ``within``
            not a timedelta.
        InvalidValueError: ``within`` is not positive, or a kind is unknown.
    """
    items = _v.check_items("tickets", tickets, Ticket)
    wanted = {_enums.member(TicketKind, k, "kinds") for k in kinds}
    tasks = [callback_task(t, within=within) for t in items
             if t.kind in wanted and t.state is not TicketState.CLOSED]
    return sorted(tasks, key=lambda task: (task.due_at, task.ticket_id))
