"""Tickets: the transition table, the append-only history and refusals that change nothing."""

from __future__ import annotations

import datetime as dt
import itertools
import pickle
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import EcrmError
from ecrm.errors import StateError
from ecrm.service import (
    IllegalTransitionError,
    Pause,
    Ticket,
    TicketKind,
    TicketState,
)

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SH)
S = TicketState

# the table written out by hand from the issue: open → assigned → waiting → resolved →
# closed, waiting ↔ assigned, assigned → resolved, resolved → assigned (reopen)
LEGAL = {
    (S.OPEN, S.ASSIGNED), (S.ASSIGNED, S.WAITING), (S.ASSIGNED, S.RESOLVED),
    (S.WAITING, S.ASSIGNED), (S.WAITING, S.RESOLVED), (S.RESOLVED, S.CLOSED),
    (S.RESOLVED, S.ASSIGNED),
}


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def new() -> Ticket:
    return Ticket.open("T-1", kind="complaint", customer_id="c1", created_at=T0,
                       order_id="o9", subject="发货太慢")


def in_state(state: TicketState) -> Ticket:
    t = new()
    if state is S.OPEN:
        return t
    t = t.assign("小王", at=at(1), actor="lead")
    if state is S.ASSIGNED:
        return t
    if state is S.WAITING:
        return t.wait_for_customer(at=at(2), actor="小王")
    t = t.resolve(at=at(2), actor="小王")
    if state is S.RESOLVED:
        return t
    return t.close(at=at(3), actor="system")


@pytest.mark.parametrize(("src", "dst"), list(itertools.product(S, S)),
                         ids=lambda s: s.value)
def test_every_pair_of_states_follows_the_hand_written_table(src: S, dst: S) -> None:
    ticket = in_state(src)
    if (src, dst) in LEGAL:
        if src is S.OPEN:  # the one way out of open names the operator
            moved = ticket.assign("小李", at=at(10), actor="x")
        else:
            moved = ticket.move(dst, at=at(10), actor="x")
        assert moved.state is dst
        assert moved.history[-1] == attrs.evolve(moved.history[-1], field="state",
                                                 old=src.value, new=dst.value)
    else:
        with pytest.raises(IllegalTransitionError) as info:
            ticket.move(dst, at=at(10), actor="x")
        err = info.value
        assert (err.ticket_id, err.from_state, err.to_state) == ("T-1", src.value, dst.value)
        assert "T-1" in str(err)
        assert repr(src.value) in str(err)
        assert repr(dst.value) in str(err)
        assert isinstance(err, StateError)  # a wrong-state operation, not a bad value
        assert not isinstance(err, ValueError)


def test_an_illegal_move_changes_nothing() -> None:
    ticket = in_state(S.CLOSED)
    before = attrs.asdict(ticket, recurse=False)
    with pytest.raises(IllegalTransitionError):
        ticket.reopen(at=at(20), actor="x")
    assert attrs.asdict(ticket, recurse=False) == before


def test_the_history_records_who_changed_what_and_when_in_order() -> None:
    t = new().assign("小王", at=at(5), actor="lead")
    t = t.respond("您好，正在查询物流", at=at(7), actor="小王")
    t = t.wait_for_customer(at=at(8), actor="小王").customer_replied(at=at(30))
    t = t.resolve(at=at(40), actor="小王").close(at=at(60), actor="system")
    rows = [(h.at, h.actor, h.field, h.old, h.new) for h in t.history]
    assert rows == [
        (T0, "customer", "created", "", "open"),
        (at(5), "lead", "assignee", "", "小王"),
        (at(5), "lead", "state", "open", "assigned"),
        (at(7), "小王", "reply", "", "您好，正在查询物流"),
        (at(7), "小王", "first_response_at", "", at(7).isoformat()),
        (at(8), "小王", "state", "assigned", "waiting"),
        (at(30), "customer", "state", "waiting", "assigned"),
        (at(40), "小王", "state", "assigned", "resolved"),
        (at(60), "system", "state", "resolved", "closed"),
    ]
    assert t.first_response_at == at(7)
    assert t.resolved_at == at(40)
    assert t.closed_at == at(60)
    # waiting 8→30 and resolved 40→60 stopped the resolution clock
    assert t.pauses == (Pause(at(8), at(30)), Pause(at(40), at(60)))


def test_changes_return_new_values_and_leave_the_old_one_alone() -> None:
    t = new()
    t2 = t.assign("小王", at=at(1), actor="lead")
    assert t.state is S.OPEN
    assert t.assignee is None
    assert len(t.history) == 1
    assert t2.state is S.ASSIGNED
    assert len(t2.history) == 3


def test_move_to_assigned_without_an_assignee_is_refused() -> None:
    with pytest.raises(EcrmError, match="assignee must be set"):
        new().move(S.ASSIGNED, at=at(1), actor="x")


def test_reopen_clears_the_resolution_and_only_works_from_resolved() -> None:
    t = in_state(S.RESOLVED).reopen(at=at(9), actor="customer")
    assert t.state is S.ASSIGNED
    assert t.resolved_at is None
    with pytest.raises(IllegalTransitionError, match="'assigned'"):
        in_state(S.ASSIGNED).reopen(at=at(9), actor="x")


def test_first_response_is_kept_from_the_first_reply() -> None:
    t = in_state(S.ASSIGNED).respond("a", at=at(3), actor="x").respond("b", at=at(4), actor="x")
    assert t.first_response_at == at(3)
    assert [n.text for n in t.notes] == ["a", "b"]


def test_a_change_dated_before_the_last_change_is_refused() -> None:
    t = in_state(S.ASSIGNED)
    with pytest.raises(EcrmError, match="must not be before its last change"):
        t.resolve(at=T0, actor="x")


def test_naive_times_and_bad_fields_are_named() -> None:
    with pytest.raises(EcrmError, match="created_at"):
        Ticket.open("T", kind="return", customer_id="c", created_at=dt.datetime(2026, 1, 1))
    with pytest.raises(EcrmError, match=r"kind must be one of inquiry, return.*'refnd'"):
        Ticket.open("T", kind="refnd", customer_id="c", created_at=T0)
    with pytest.raises(EcrmError, match="ticket_id must be non-empty"):
        Ticket.open(" ", kind="return", customer_id="c", created_at=T0)
    with pytest.raises(EcrmError, match="assignee must be non-empty"):
        new().assign("", at=at(1), actor="x")


def test_kinds_have_operator_words() -> None:
    assert [k.zh for k in TicketKind] == ["咨询", "退货", "换货", "退款", "投诉", "物流", "质量",
                                          "其他"]


def test_the_transition_error_survives_pickling() -> None:
    with pytest.raises(IllegalTransitionError) as info:
        new().close(at=at(1), actor="x")
    again = pickle.loads(pickle.dumps(info.value))
    assert (again.ticket_id, again.from_state, again.to_state) == ("T-1", "open", "closed")
    assert str(again) == str(info.value)


ACTIONS = ["assign", "respond", "note", "wait", "reply", "resolve", "close", "reopen"]


def apply(t: Ticket, action: str, now: dt.datetime) -> Ticket:
    if action == "assign":
        return t.assign("小王", at=now, actor="a")
    if action == "respond":
        return t.respond("hi", at=now, actor="a")
    if action == "note":
        return t.add_note("n", at=now, actor="a")
    if action == "reply":
        return t.customer_replied(at=now)
    method = {"wait": t.wait_for_customer, "resolve": t.resolve, "close": t.close,
              "reopen": t.reopen}[action]
    return method(at=now, actor="a")


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(ACTIONS), st.integers(0, 600)), max_size=25))
def test_any_sequence_of_changes_keeps_the_ticket_consistent(
    steps: list[tuple[str, int]]
) -> None:
    """Whatever is tried, legal changes append to the history, refused ones raise
    IllegalTransitionError from the current state, and the clocks' fields agree with the
    state."""
    t = new()
    now = T0
    for action, minutes in steps:
        now = now + dt.timedelta(minutes=minutes)
        refused: list[IllegalTransitionError] = []
        try:
            after = apply(t, action, now)
        except IllegalTransitionError as err:
            refused.append(err)
        if refused:
            assert refused[0].from_state == t.state.value
            continue
        assert after.history[: len(t.history)] == t.history
        assert len(after.history) > len(t.history)
        if after.state is not t.state:
            assert (t.state, after.state) in LEGAL
        t = after
        assert (t.resolved_at is not None) == (t.state in (S.RESOLVED, S.CLOSED))
        assert (t.closed_at is not None) == (t.state is S.CLOSED)
        ends = [p.end for p in t.pauses]
        assert all(e is not None for e in ends[:-1])
        assert (bool(t.pauses) and ends[-1] is None) == (t.state in (S.WAITING, S.RESOLVED))
        times = [x for p in t.pauses for x in (p.start, p.end) if x is not None]
        assert times == sorted(times)
        assert [h.at for h in t.history] == sorted(h.at for h in t.history)


def test_the_repr_is_short_and_says_what_matters() -> None:
    assert repr(in_state(S.ASSIGNED)) == (
        "Ticket('T-1', complaint, normal, assigned, customer 'c1', order 'o9', assignee '小王', "
        "created 2026-12-01T10:00:00+08:00, 3 history entries, version 0)")
