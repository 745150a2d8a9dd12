"""The outbox state machine (SQLite and in memory); the dispatcher is in test_dispatcher.py."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import InvalidValueError
from ecrm.testing import messages
from ecrm.touch import (
    ChannelKind,
    InMemoryOutbox,
    Message,
    MessageClass,
    Outbox,
    OutboxError,
    OutboxState,
    Recipient,
    SqliteOutbox,
)
from ecrm.touch._outbox_sqlite import _CLAIM

T0 = dt.datetime(2026, 11, 11, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
LEASE = dt.timedelta(minutes=5)


def _msg(i: int, *, cls: MessageClass = MessageClass.CARE, at: dt.datetime = T0,
         cid: str | int | None = None, dedupe: str | None = None) -> Message:
    return Message(f"care:shipped:order-{i}", "shipped", cls, ChannelKind.SMS,
                   Recipient(cid if cid is not None else f"c{i}", phone=f"138{i:08d}"),
                   f"【小林茶铺】订单{i}已发货", created_at=at, dedupe_key=dedupe)


@pytest.fixture(params=["sqlite", "memory"])
def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outbox]:
    if request.param == "sqlite":
        box = SqliteOutbox(tmp_path / "outbox.sqlite")
        yield box
        box.close()
    else:
        yield InMemoryOutbox()


def test_enqueue_is_idempotent_by_key(outbox: Outbox) -> None:
    assert outbox.enqueue(_msg(1)) is True
    changed = attrs.evolve(_msg(1), body="different text")
    assert outbox.enqueue(changed) is False  # first write wins
    entry = outbox.get("care:shipped:order-1")
    assert entry is not None
    assert entry.message == _msg(1)
    assert entry.state is OutboxState.PENDING
    assert entry.due_at == T0
    assert outbox.enqueue_many([_msg(1), _msg(2), _msg(2), _msg(3)]) == 2
    assert outbox.counts()[OutboxState.PENDING] == 3
    assert outbox.get("nope") is None


def test_claim_only_due_messages_in_due_order(outbox: Outbox) -> None:
    outbox.enqueue(_msg(1), due_at=T0 + dt.timedelta(minutes=10))
    outbox.enqueue(_msg(2), due_at=T0)
    outbox.enqueue(_msg(3), due_at=T0 + dt.timedelta(hours=1))
    claimed = outbox.claim(as_of=T0 + dt.timedelta(minutes=10), lease=LEASE, limit=10)
    assert [e.key for e in claimed] == ["care:shipped:order-2", "care:shipped:order-1"]
    assert all(e.state is OutboxState.CLAIMED and e.attempts == 1 for e in claimed)
    assert claimed[0].lease_until == T0 + dt.timedelta(minutes=15)
    # claimed messages are not claimed again while the lease holds
    assert outbox.claim(as_of=T0 + dt.timedelta(minutes=14), lease=LEASE, limit=10) == []


def test_an_expired_lease_is_reclaimed_and_counted_as_a_possible_duplicate(
    outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    outbox.enqueue(_msg(1))
    (first,) = outbox.claim(as_of=T0, lease=LEASE)
    with caplog.at_level(logging.WARNING, logger="ecrm.touch"):
        (again,) = outbox.claim(as_of=T0 + LEASE, lease=LEASE)  # lease expired: "crashed"
    assert "reclaimed care:shipped:order-1" in caplog.text
    assert again.key == first.key
    assert again.attempts == 2
    assert again.possible_duplicates == 1
    assert outbox.possible_duplicates() == 1
    # the first claim's late outcome is ignored; the new claim's is recorded
    assert outbox.mark_sent(first, at=T0, provider_id="x") is False
    assert outbox.mark_sent(again, at=T0 + LEASE, provider_id="y") is True
    entry = outbox.get(first.key)
    assert entry is not None
    assert (entry.state, entry.provider_id, entry.sent_at) == (
        OutboxState.SENT, "y", T0 + LEASE)
    assert outbox.claim(as_of=T0 + 10 * LEASE, lease=LEASE) == []


def test_failed_retry_dead_release_and_skip(outbox: Outbox) -> None:
    for i in range(4):
        outbox.enqueue(_msg(i))
    a, b, c, d = outbox.claim(as_of=T0, lease=LEASE, limit=4)
    assert outbox.mark_failed(a, at=T0, reason="timeout", retry_at=T0 + dt.timedelta(hours=1))
    assert outbox.mark_failed(b, at=T0, reason="bad number", retry_at=None)
    assert outbox.release(c, until=T0 + dt.timedelta(hours=2), reason="quiet hours")
    assert outbox.skip(d, at=T0, reason="opted out")
    states = {k: outbox.get(k) for k in (a.key, b.key, c.key, d.key)}
    sa, sb, sc, sd = (states[k] for k in (a.key, b.key, c.key, d.key))
    assert sa is not None
    assert sb is not None
    assert sc is not None
    assert sd is not None
    assert (sa.state, sa.last_error, sa.due_at) == (OutboxState.RETRY, "timeout",
                                                    T0 + dt.timedelta(hours=1))
    assert (sb.state, sb.last_error) == (OutboxState.DEAD, "bad number")
    assert (sc.state, sc.attempts, sc.due_at) == (OutboxState.PENDING, 0,
                                                  T0 + dt.timedelta(hours=2))
    assert (sd.state, sd.attempts) == (OutboxState.SKIPPED, 0)
    assert outbox.counts() == {
        OutboxState.PENDING: 1, OutboxState.CLAIMED: 0, OutboxState.SENT: 0,
        OutboxState.RETRY: 1, OutboxState.DEAD: 1, OutboxState.SKIPPED: 1,
    }
    # terminal rows never come back; outcomes on unclaimed rows are refused
    assert outbox.mark_sent(b, at=T0, provider_id=None) is False
    later = outbox.claim(as_of=T0 + dt.timedelta(days=1), lease=LEASE, limit=10)
    assert sorted(e.key for e in later) == sorted([a.key, c.key])


def test_bad_claim_arguments(outbox: Outbox) -> None:
    with pytest.raises(InvalidValueError):
        outbox.claim(as_of=T0, lease=dt.timedelta(0))
    with pytest.raises(InvalidValueError):
        outbox.claim(as_of=T0, lease=LEASE, limit=0)
    with pytest.raises(ValueError, match="timezone-aware"):
        outbox.enqueue(_msg(1), due_at=dt.datetime(2026, 1, 1))
    assert outbox.counts()[OutboxState.PENDING] == 0


def test_sqlite_outbox_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    with SqliteOutbox(path) as box:
        box.enqueue(_msg(1))
        box.enqueue(_msg(2, cid=7))
        (e,) = box.claim(as_of=T0, lease=LEASE)
        box.mark_sent(e, at=T0, provider_id="p1")
    with SqliteOutbox(path) as box:
        assert box.counts()[OutboxState.SENT] == 1
        assert box.counts()[OutboxState.PENDING] == 1
        got = box.get("care:shipped:order-2")
        assert got is not None
        assert got.message.recipient.customer_id == 7


def test_sqlite_outbox_rejects_a_foreign_file(tmp_path: Path) -> None:
    bad = tmp_path / "not.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(OutboxError, match="cannot open outbox"):
        SqliteOutbox(bad)


def test_sqlite_outbox_is_a_send_history(tmp_path: Path) -> None:
    with SqliteOutbox(tmp_path / "o.sqlite") as box:
        box.enqueue(_msg(1, cls=MessageClass.MARKETING, cid="c1", dedupe="o-1"))
        box.enqueue(_msg(2, cls=MessageClass.MARKETING, cid="c1"))
        for e in box.claim(as_of=T0, lease=LEASE, limit=2):
            box.mark_sent(e, at=T0 + dt.timedelta(minutes=int(e.key[-1])), provider_id=None)
        times = box.sent_times("c1", ChannelKind.SMS, MessageClass.MARKETING,
                               T0 + dt.timedelta(seconds=30))
        assert times == [T0 + dt.timedelta(minutes=1), T0 + dt.timedelta(minutes=2)]
        assert box.sent_times("c1", ChannelKind.EMAIL, MessageClass.MARKETING, T0) == []
        assert box.has_sent("shipped", "o-1")
        assert not box.has_sent("shipped", "o-2")


@settings(max_examples=30)
@given(st.lists(messages(), max_size=12))
def test_enqueue_is_idempotent_for_any_messages(msgs: list[Message]) -> None:
    box = InMemoryOutbox()
    first = [box.enqueue(m) for m in msgs]
    again = [box.enqueue(m) for m in msgs]
    expected_new: list[bool] = []
    seen: set[str] = set()
    for m in msgs:
        expected_new.append(m.key not in seen)
        seen.add(m.key)
    assert first == expected_new
    assert not any(again)
    assert len(box) == len(seen)


@settings(max_examples=15)
@given(st.lists(messages(), max_size=8))
def test_sqlite_enqueue_is_idempotent_for_any_messages(
    tmp_path_factory: pytest.TempPathFactory, msgs: list[Message]
) -> None:
    with SqliteOutbox(tmp_path_factory.mktemp("o") / "o.sqlite") as box:
        n_new = box.enqueue_many(msgs)
        assert n_new == len({m.key for m in msgs})
        assert box.enqueue_many(msgs) == 0
        for m in msgs:
            got = box.get(m.key)
            assert got is not None
            first = next(x for x in msgs if x.key == m.key)  # the first write wins
            assert got.message == first  # round trip (times compared as instants)
            # and the stored time is the same instant at the same offset in the same zone
            # (a DST fold once made datetime == call equal times unequal across zones)
            for back, sent in ((got.message.created_at, first.created_at),
                               (got.message.not_before, first.not_before)):
                assert (back is None) == (sent is None)
                if back is not None and sent is not None:
                    assert back.timestamp() == sent.timestamp()
                    assert back.utcoffset() == sent.utcoffset()
                    assert str(back.tzinfo) == str(sent.tzinfo)


def test_concurrent_sqlite_outboxes_never_claim_the_same_message(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    a, b = SqliteOutbox(path), SqliteOutbox(path)
    a.enqueue_many([_msg(i) for i in range(50)])
    got: list[str] = []
    for _ in range(30):
        for box in (a, b):
            got += [e.key for e in box.claim(as_of=T0, lease=LEASE, limit=1)]
    assert len(got) == len(set(got)) == 50
    a.close()
    b.close()
    with sqlite3.connect(path) as conn:
        (mode,) = conn.execute("PRAGMA journal_mode").fetchone()
    conn.close()
    assert mode == "wal"


def test_claim_reads_the_ready_index_without_sorting(tmp_path: Path) -> None:
    """Claiming must not sort every due row (that made draining quadratic)."""
    with SqliteOutbox(tmp_path / "o.sqlite") as box:
        plan = box._db._conn.execute("EXPLAIN QUERY PLAN " + _CLAIM, (0, 1)).fetchall()
    details = " ".join(str(row[-1]) for row in plan)
    assert "outbox_ready" in details
    assert "TEMP B-TREE" not in details


def test_a_locked_sqlite_outbox_raises_outbox_error_and_changes_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "o.sqlite"
    with SqliteOutbox(path, busy_timeout=0.05) as box:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            with pytest.raises(OutboxError, match="busy or unusable") as info:
                box.enqueue_many([_msg(1), _msg(2)])
            assert isinstance(info.value.__cause__, sqlite3.OperationalError)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert len(box) == 0  # nothing half-applied
        assert box.enqueue_many([_msg(1), _msg(2)]) == 2  # and it works once released


def test_claim_takes_now_as_a_deprecated_alias_of_as_of(outbox: Outbox) -> None:
    outbox.enqueue(_msg(1))
    old: Any = {"now": T0}
    with pytest.warns(DeprecationWarning, match=r"claim\(\): the keyword now= .*as_of="):
        (entry,) = outbox.claim(lease=LEASE, **old)
    assert entry.key == "care:shipped:order-1"
    assert entry.lease_until == T0 + LEASE


# -- both touch stores have the shape of every ecrm store ------------------------------------------
@pytest.mark.parametrize("store", ["outbox", "opt-outs"])
def test_the_touch_stores_share_the_store_shape(tmp_path: Path, store: str) -> None:
    """``path`` (the file name as given, a str), a repr naming it, and closed on leaving a
    ``with`` block: after that a read is the store's error, an OSError, not a crash."""
    from ecrm._sqlite import SqliteBacked
    from ecrm.errors import StoreError
    from ecrm.touch import SqliteOptOutRegistry

    path = tmp_path / f"{store}.sqlite"
    opened = SqliteOutbox(path) if store == "outbox" else SqliteOptOutRegistry(path)
    assert isinstance(opened, SqliteBacked)
    assert opened.path == str(path)
    name = "SqliteOutbox" if store == "outbox" else "SqliteOptOutRegistry"
    assert repr(opened) == f"{name}('{path}')"
    with opened as same:
        assert same is opened
    if isinstance(opened, SqliteOutbox):
        with pytest.raises(OutboxError) as info:
            len(opened)
    else:
        with pytest.raises(StoreError) as info:
            opened.is_opted_out("13800000000", ChannelKind.SMS)
    assert isinstance(info.value, OSError)
