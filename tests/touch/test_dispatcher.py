"""The dispatcher: sending, retries and the guard; several dispatchers on one outbox
(reservations taken with the claim, the lease heartbeat and fencing); poison messages,
requeue, and masking.

Real SQLite files and the in-memory outbox alike; the multi-process proof (kill -9,
2 and 4 dispatcher processes) is in test_crash.py.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ecrm import InvalidValueError
from ecrm._sqlite import StoreError
from ecrm.touch import (
    Accepted,
    Backoff,
    ChannelKind,
    ClassRules,
    Decision,
    Dispatcher,
    DispatchReport,
    Failed,
    FrequencyCap,
    InMemoryOptOutRegistry,
    InMemoryOutbox,
    ManualClock,
    Message,
    MessageClass,
    MockChannel,
    Outbox,
    OutboxEntry,
    OutboxError,
    OutboxState,
    PolicyContext,
    Receipt,
    Recipient,
    RecordingChannel,
    SendHistory,
    SendPolicy,
    SqliteOutbox,
)

T0 = dt.datetime(2026, 11, 11, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
LEASE = dt.timedelta(minutes=5)
DAY = dt.timedelta(days=1)
# marketing capped at 1 per customer per day, at any time of day; dedupe on everywhere
POLICY = SendPolicy(marketing=ClassRules(respect_opt_out=False, caps=(FrequencyCap(1, DAY),)))


def _msg(i: int, *, cls: MessageClass = MessageClass.CARE, at: dt.datetime = T0,
         cid: str | int | None = None, dedupe: str | None = None) -> Message:
    return Message(f"care:shipped:order-{i}", "shipped", cls, ChannelKind.SMS,
                   Recipient(cid if cid is not None else f"c{i}", phone=f"138{i:08d}"),
                   f"【小林茶铺】订单{i}已发货", created_at=at, dedupe_key=dedupe)


def _mkt(i: int, cid: str = "c1") -> Message:
    return Message(f"mkt:{i}:{cid}", "broadcast", MessageClass.MARKETING, ChannelKind.SMS,
                   Recipient(cid, phone="13800000001"), f"【小林茶铺】上新{i}回T退订", created_at=T0)


def _remind(i: int, order: str = "o1") -> Message:
    return Message(f"remind:{i}:{order}", "payment_reminder", MessageClass.TRANSACTIONAL,
                   ChannelKind.SMS, Recipient("c1", phone="13800000001"),
                   f"【小林茶铺】订单{order}待付款", created_at=T0, dedupe_key=order)


def _care(i: int) -> Message:
    return Message(f"care:shipped:o{i}", "shipped", MessageClass.CARE, ChannelKind.SMS,
                   Recipient(f"c{i}", phone=f"138{i:08d}"), "【小林茶铺】已发货", created_at=T0)


def _decide(now: dt.datetime) -> Any:
    def decide(message: Message, history: SendHistory) -> Decision:
        return POLICY.decide(message, as_of=now, context=PolicyContext(history=history))
    return decide


@pytest.fixture(params=["sqlite", "memory"])
def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Outbox]:
    if request.param == "sqlite":
        box = SqliteOutbox(tmp_path / "outbox.sqlite")
        yield box
        box.close()
    else:
        yield InMemoryOutbox()


def _state(outbox: Outbox, key: str) -> OutboxEntry:
    entry = outbox.get(key)
    assert entry is not None
    return entry


# -- sending, retries and the guard (one dispatcher) --------------------------------------------
def test_dispatcher_sends_everything_due(outbox: Outbox) -> None:
    outbox.enqueue_many([_msg(i) for i in range(5)])
    outbox.enqueue(_msg(9), due_at=T0 + dt.timedelta(days=1))
    channel = RecordingChannel()
    report = Dispatcher(outbox, channel, clock=ManualClock(T0), batch_size=2).run_once()
    assert report == DispatchReport(claimed=5, sent=5)
    assert channel.keys == [f"care:shipped:order-{i}" for i in range(5)]
    e = outbox.get("care:shipped:order-0")
    assert e is not None
    assert e.provider_id == "rec-1"


def test_transient_failures_retry_with_exponential_backoff_then_dead_letter(
    outbox: Outbox,
) -> None:
    outbox.enqueue(_msg(1))
    clock = ManualClock(T0)
    channel = MockChannel(lambda m: Failed("gateway busy", transient=True))
    backoff = Backoff(base=dt.timedelta(seconds=30), factor=2,
                      max_delay=dt.timedelta(minutes=10))
    d = Dispatcher(outbox, channel, clock=clock, max_attempts=4, backoff=backoff)
    waits = []
    for _ in range(3):
        assert d.run_once() == DispatchReport(claimed=1, retried=1)
        e = outbox.get("care:shipped:order-1")
        assert e is not None
        assert e.state is OutboxState.RETRY
        waits.append(e.due_at - clock.now())
        assert d.run_once() == DispatchReport()  # not due yet
        clock.set(e.due_at)
    assert waits == [dt.timedelta(seconds=s) for s in (30, 60, 120)]
    assert d.run_once() == DispatchReport(claimed=1, dead=1)
    e = outbox.get("care:shipped:order-1")
    assert e is not None
    assert (e.state, e.attempts, e.last_error) == (OutboxState.DEAD, 4, "gateway busy")


def test_permanent_failures_dead_letter_at_once(outbox: Outbox) -> None:
    outbox.enqueue(_msg(1))
    d = Dispatcher(outbox, MockChannel(lambda m: Failed("no such number", transient=False)),
                   clock=ManualClock(T0))
    assert d.run_once() == DispatchReport(claimed=1, dead=1)


def test_an_adapter_exception_is_a_transient_failure(outbox: Outbox) -> None:
    def boom(m: Message) -> Accepted:
        raise RuntimeError("socket on fire")

    outbox.enqueue(_msg(1))
    d = Dispatcher(outbox, MockChannel(boom), clock=ManualClock(T0))
    assert d.run_once() == DispatchReport(claimed=1, retried=1)
    e = outbox.get("care:shipped:order-1")
    assert e is not None
    assert e.last_error is not None
    assert "socket on fire" in e.last_error


def test_dispatcher_with_policy_defers_skips_and_caps(outbox: Outbox) -> None:
    night = dt.datetime(2026, 11, 11, 15, 0, tzinfo=dt.UTC)  # 23:00 in Shanghai
    outbox.enqueue(_msg(1, cls=MessageClass.MARKETING, cid="c1", at=night))
    outbox.enqueue(_msg(2, cls=MessageClass.MARKETING, cid="c2", at=night))
    outbox.enqueue(_msg(3, cls=MessageClass.MARKETING, cid="c1", at=night))
    optouts = InMemoryOptOutRegistry([("13800000002", ChannelKind.SMS)])
    clock = ManualClock(night)
    channel = RecordingChannel()
    d = Dispatcher(outbox, channel, clock=clock, policy=SendPolicy(),
                   context=PolicyContext(opt_outs=optouts, members={"c1", "c2"}))
    assert d.run_once() == DispatchReport(claimed=3, deferred=2, skipped=1)
    e2 = outbox.get("care:shipped:order-2")
    assert e2 is not None
    assert e2.state is OutboxState.SKIPPED
    e1 = outbox.get("care:shipped:order-1")
    assert e1 is not None
    assert e1.due_at == dt.datetime(2026, 11, 12, 0, 0, tzinfo=dt.UTC)
    clock.set(e1.due_at)  # 08:00 Shanghai
    # c1 has two marketing SMS; the default cap is one per day: the second would wait
    # until 08:00 the day after, 33 h after it was made: over the 24 h lateness, skipped
    assert d.run_once() == DispatchReport(claimed=2, sent=1, skipped=1)
    assert channel.keys == ["care:shipped:order-1"]
    e3 = outbox.get("care:shipped:order-3")
    assert e3 is not None
    assert e3.state is OutboxState.SKIPPED
    assert e3.last_error is not None
    assert "too late" in e3.last_error


def test_run_loops_until_stopped(outbox: Outbox) -> None:
    outbox.enqueue_many([_msg(i) for i in range(3)])
    sleeps: list[float] = []
    stop: Callable[[], bool] = lambda: len(sleeps) >= 2  # noqa: E731
    d = Dispatcher(outbox, RecordingChannel(), clock=ManualClock(T0))
    total = d.run(should_stop=stop, idle_sleep=0.5, sleep=sleeps.append)
    assert total.sent == 3
    assert sleeps == [0.5, 0.5]


def test_dispatcher_rejects_bad_settings(outbox: Outbox) -> None:
    for kwargs in ({"max_attempts": 0}, {"batch_size": 0}, {"lease": dt.timedelta(0)}):
        with pytest.raises(InvalidValueError):
            Dispatcher(outbox, RecordingChannel(), **kwargs)


def test_backoff_caps_and_validates() -> None:
    b = Backoff()
    assert b.delay(1) == dt.timedelta(seconds=30)
    assert b.delay(200) == dt.timedelta(hours=1)
    with pytest.raises(InvalidValueError):
        b.delay(0)
    with pytest.raises(InvalidValueError):
        Backoff(base=dt.timedelta(0))


def test_a_guard_skips_refused_messages_before_the_policy_and_the_channel(
    outbox: Outbox,
) -> None:
    outbox.enqueue_many([_msg(i) for i in range(4)])
    asked: list[tuple[str, dt.datetime]] = []

    def guard(m: Message, now: dt.datetime) -> str | None:
        asked.append((m.key, now))
        return "order paid meanwhile" if m.key.endswith(("-1", "-3")) else None

    channel = RecordingChannel()
    clock = ManualClock(T0 + dt.timedelta(minutes=1))
    report = Dispatcher(outbox, channel, clock=clock, guard=guard).run_once()
    assert report == DispatchReport(claimed=4, sent=2, skipped=2)
    assert channel.keys == ["care:shipped:order-0", "care:shipped:order-2"]
    assert sorted(k for k, _ in asked) == [f"care:shipped:order-{i}" for i in range(4)]
    assert {t for _, t in asked} == {clock.now()}  # asked at the dispatcher's clock
    for i in (1, 3):
        e = outbox.get(f"care:shipped:order-{i}")
        assert e is not None
        assert e.state is OutboxState.SKIPPED
        assert e.last_error == "skipped: order paid meanwhile"
    assert Dispatcher(outbox, channel, clock=clock, guard=guard).run_once() == DispatchReport()


def test_a_guard_must_be_callable(outbox: Outbox) -> None:
    with pytest.raises(TypeError, match="guard must be callable"):
        Dispatcher(outbox, RecordingChannel(), guard="no")  # type: ignore[arg-type]


# -- reservations taken with the claim ------------------------------------------------------
def test_a_claim_in_flight_holds_its_customers_cap_slot(outbox: Outbox) -> None:
    """Two dispatchers claim one after the other, before either has sent: the second
    claim sees the first in flight and defers by the cap (1/day, counted from the first
    claim at T0: free at T0 + 1 day)."""
    outbox.enqueue_many([_mkt(1), _mkt(2), _mkt(3, cid="c2")])
    (first,) = outbox.claim(as_of=T0, lease=LEASE, decide=_decide(T0))
    assert (first.key, first.state) == ("mkt:1:c1", OutboxState.CLAIMED)
    second, other = outbox.claim(as_of=T0, lease=LEASE, limit=2, decide=_decide(T0))
    assert (second.key, second.state, second.due_at) == ("mkt:2:c1", OutboxState.PENDING,
                                                         T0 + DAY)
    assert second.last_error == ("deferred: frequency cap reached: 1 sent in the last "
                                 "1 day, 0:00:00 (cap 1)")
    assert (other.key, other.state) == ("mkt:3:c2", OutboxState.CLAIMED)  # another customer
    # sent an hour later: the slot now runs from the send, and nothing else is due today
    assert outbox.mark_sent(first, at=T0 + dt.timedelta(hours=1), provider_id="p1")
    assert outbox.mark_sent(other, at=T0, provider_id="p2")
    assert outbox.claim(as_of=T0 + dt.timedelta(hours=2), lease=LEASE,
                        decide=_decide(T0 + dt.timedelta(hours=2))) == []
    (later,) = outbox.claim(as_of=T0 + DAY, lease=LEASE, decide=_decide(T0 + DAY))
    assert (later.key, later.state, later.due_at) == ("mkt:2:c1", OutboxState.PENDING,
                                                      T0 + DAY + dt.timedelta(hours=1))


def test_a_failed_claim_gives_its_slot_back(outbox: Outbox) -> None:
    outbox.enqueue_many([_mkt(1), _mkt(2)])
    (first,) = outbox.claim(as_of=T0, lease=LEASE, decide=_decide(T0))
    assert outbox.mark_failed(first, at=T0, reason="bad number", retry_at=None)
    (second,) = outbox.claim(as_of=T0, lease=LEASE, decide=_decide(T0))
    assert (second.key, second.state) == ("mkt:2:c1", OutboxState.CLAIMED)


def test_a_dedupe_key_in_flight_defers_its_twin_then_dedupe_skips_it(outbox: Outbox) -> None:
    outbox.enqueue_many([_remind(1), _remind(2)])
    (first,) = outbox.claim(as_of=T0, lease=LEASE, decide=_decide(T0))
    (twin,) = outbox.claim(as_of=T0, lease=LEASE, decide=_decide(T0))
    assert (twin.key, twin.state) == ("remind:2:o1", OutboxState.PENDING)
    assert twin.due_at == T0 + dt.timedelta(seconds=1)  # looks again in a second
    assert twin.last_error == "deferred: a payment_reminder for 'o1' is in flight"
    assert outbox.mark_sent(first, at=T0, provider_id="p1")
    later = T0 + dt.timedelta(seconds=1)
    (twin,) = outbox.claim(as_of=later, lease=LEASE, decide=_decide(later))
    assert (twin.state, twin.last_error) == (
        OutboxState.SKIPPED, "skipped: a payment_reminder for 'o1' was already sent")


def test_a_dead_first_reminder_lets_its_twin_go(outbox: Outbox) -> None:
    outbox.enqueue_many([_remind(1), _remind(2)])
    (first,) = outbox.claim(as_of=T0, lease=LEASE, decide=_decide(T0))
    outbox.claim(as_of=T0, lease=LEASE, decide=_decide(T0))  # the twin waits
    assert outbox.mark_failed(first, at=T0, reason="bad number", retry_at=None)
    later = T0 + dt.timedelta(seconds=1)
    (twin,) = outbox.claim(as_of=later, lease=LEASE, decide=_decide(later))
    assert (twin.key, twin.state) == ("remind:2:o1", OutboxState.CLAIMED)


def test_a_reclaimed_message_keeps_its_reservation_and_is_not_decided_again(
    outbox: Outbox,
) -> None:
    outbox.enqueue(_mkt(1))
    outbox.enqueue(_mkt(2), due_at=T0 + LEASE + dt.timedelta(minutes=1))
    (first,) = outbox.claim(as_of=T0, lease=LEASE, decide=_decide(T0))

    def must_not_decide(message: Message, history: SendHistory) -> Decision:
        raise AssertionError(f"decided {message.key} again")

    expired = T0 + LEASE
    (again,) = outbox.claim(as_of=expired, lease=LEASE, decide=must_not_decide)
    assert (again.key, again.state, again.possible_duplicates) == (first.key,
                                                                   OutboxState.CLAIMED, 1)
    # its twin for the same customer is still held back by the reservation
    later = T0 + LEASE + dt.timedelta(minutes=1)
    (twin,) = outbox.claim(as_of=later, lease=LEASE, decide=_decide(later))
    assert (twin.key, twin.state) == ("mkt:2:c1", OutboxState.PENDING)


def test_interleaved_dispatchers_on_one_sqlite_file_never_exceed_a_cap(tmp_path: Path) -> None:
    """Two outboxes (two connections, as two processes have) on one file, claiming in
    turns with sends left in flight: 1 marketing SMS per customer, 1 reminder per order."""
    path = tmp_path / "o.sqlite"
    a, b = SqliteOutbox(path), SqliteOutbox(path)
    a.enqueue_many([m for c in range(20) for m in
                    [_mkt(k, f"c{c}") for k in range(4)] + [_remind(k, f"o{c}") for k in (1, 2)]])
    in_flight: list[tuple[SqliteOutbox, OutboxEntry]] = []
    now = T0
    for _ in range(200):
        for box in (a, b):
            for e in box.claim(as_of=now, lease=LEASE, decide=_decide(now)):
                if e.state is OutboxState.CLAIMED:
                    in_flight.append((box, e))
        if len(in_flight) > 3:  # finish the oldest send, leave the others in flight
            box, e = in_flight.pop(0)
            assert box.mark_sent(e, at=now, provider_id=None)
        now += dt.timedelta(milliseconds=300)
    for box, e in in_flight:
        assert box.mark_sent(e, at=now, provider_id=None)
    sent = [e.key for e in a.entries(OutboxState.SENT)]
    mkt = sorted(k.split(":")[2] for k in sent if k.startswith("mkt:"))
    orders = sorted(k.split(":")[2] for k in sent if k.startswith("remind:"))
    assert mkt == sorted(f"c{c}" for c in range(20))  # exactly one each
    assert orders == sorted(f"o{c}" for c in range(20))
    a.close()
    b.close()


# -- leases: heartbeat and fencing ---------------------------------------------------------------
def test_the_heartbeat_keeps_a_slow_send_from_being_sent_twice(tmp_path: Path) -> None:
    """A 1.5 s send with a 0.5 s lease (renewed every 0.05 s) and a second dispatcher
    polling all along: the lease is renewed while the send runs, so the message goes out
    once."""
    path = tmp_path / "o.sqlite"
    a, b = SqliteOutbox(path), SqliteOutbox(path)
    a.enqueue(_care(1), due_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    calls: list[str] = []

    def slow(message: Message) -> Receipt:
        calls.append(message.key)
        time.sleep(1.5)
        return Accepted("p1")

    lease = dt.timedelta(seconds=0.5)
    first = Dispatcher(a, MockChannel(slow), lease=lease, heartbeat=dt.timedelta(seconds=0.05))
    second = Dispatcher(b, MockChannel(slow), lease=lease)
    reports: list[DispatchReport] = []
    worker = threading.Thread(target=lambda: reports.append(first.run_once()))
    worker.start()
    while not calls:
        time.sleep(0.005)
    polled = DispatchReport()
    while worker.is_alive():
        polled = polled + second.run_once()
        time.sleep(0.02)
    worker.join()
    assert calls == ["care:shipped:o1"]
    assert reports == [DispatchReport(claimed=1, sent=1)]
    assert polled == DispatchReport()
    assert (_state(a, "care:shipped:o1").possible_duplicates, a.possible_duplicates()) == (0, 0)
    a.close()
    b.close()


def test_a_lost_lease_is_fenced_off_and_recorded_once(
    outbox: Outbox, caplog: pytest.LogCaptureFixture
) -> None:
    """While the first dispatcher's send is stuck, its lease runs out and another claims
    and sends the message: the first one's late outcome is not recorded."""
    outbox.enqueue(_care(1))
    clock = ManualClock(T0)
    taken: list[OutboxEntry] = []

    def stuck(message: Message) -> Receipt:
        clock.advance(2 * LEASE)  # a frozen dispatcher: no heartbeat renewed its lease
        (other,) = outbox.claim(as_of=clock.now(), lease=LEASE)
        assert outbox.mark_sent(other, at=clock.now(), provider_id="second")
        taken.append(other)
        return Accepted("first")

    with caplog.at_level(logging.WARNING, logger="ecrm.touch"):
        report = Dispatcher(outbox, MockChannel(stuck), clock=clock, lease=LEASE).run_once()
    assert report == DispatchReport(claimed=1, lost_claims=1)
    entry = _state(outbox, "care:shipped:o1")
    assert (entry.state, entry.provider_id, entry.possible_duplicates) == (
        OutboxState.SENT, "second", 1)
    assert "lost its claim" in caplog.text


def test_renew_extends_only_the_current_claim(outbox: Outbox) -> None:
    outbox.enqueue(_care(1))
    (first,) = outbox.claim(as_of=T0, lease=LEASE)
    assert outbox.renew(first, until=T0 + 3 * LEASE)
    assert outbox.claim(as_of=T0 + 2 * LEASE, lease=LEASE) == []  # still held
    (again,) = outbox.claim(as_of=T0 + 3 * LEASE, lease=LEASE)
    assert outbox.renew(first, until=T0 + 9 * LEASE) is False  # fenced: an older token
    assert outbox.renew(again, until=T0 + 9 * LEASE)


def test_attempts_never_pass_max_attempts(outbox: Outbox) -> None:
    outbox.enqueue(_care(1))
    now = T0
    for n in (1, 2):
        (e,) = outbox.claim(as_of=now, lease=LEASE, max_attempts=2)
        assert (e.state, e.attempts) == (OutboxState.CLAIMED, n)
        now += LEASE  # the dispatcher died with it
    (e,) = outbox.claim(as_of=now, lease=LEASE, max_attempts=2)
    assert (e.state, e.attempts) == (OutboxState.DEAD, 2)
    assert e.last_error is not None
    assert e.last_error.startswith("gave up: 2 attempts")
    assert outbox.claim(as_of=now + DAY, lease=LEASE, max_attempts=2) == []


# -- poison never stops the line -------------------------------------------------------------
_LEAK = "lookup failed for 13812345678 / alice@example.com"
_MASKED = "lookup failed for 138****5678 / a***@example.com"


def test_a_raising_guard_dead_letters_only_its_message(outbox: Outbox) -> None:
    outbox.enqueue_many([_care(i) for i in range(4)])

    def guard(message: Message, now: dt.datetime) -> str | None:
        if message.key == "care:shipped:o2":
            raise RuntimeError(_LEAK)
        return None

    channel = RecordingChannel()
    d = Dispatcher(outbox, channel, clock=ManualClock(T0), guard=guard, batch_size=4)
    assert d.run_once() == DispatchReport(claimed=4, sent=3, dead=1)
    assert channel.keys == ["care:shipped:o0", "care:shipped:o1", "care:shipped:o3"]
    dead = _state(outbox, "care:shipped:o2")
    assert (dead.state, dead.attempts) == (OutboxState.DEAD, 0)
    assert dead.last_error == f"decision raised RuntimeError: {_MASKED}"


def test_a_raising_policy_dead_letters_only_its_message(outbox: Outbox) -> None:
    class Members:
        def __contains__(self, cid: object) -> bool:
            if cid == "c1":
                raise KeyError(_LEAK)
            return True

    outbox.enqueue_many([_care(i) for i in range(3)])
    policy = SendPolicy(care=ClassRules(respect_opt_out=False, members_only=True))
    d = Dispatcher(outbox, RecordingChannel(), clock=ManualClock(T0), policy=policy,
                   context=PolicyContext(members=Members()))  # type: ignore[arg-type]
    assert d.run_once() == DispatchReport(claimed=3, sent=2, dead=1)
    assert _state(outbox, "care:shipped:o1").last_error == (
        f"decision raised KeyError: '{_MASKED}'")


def test_an_exception_while_recording_dead_letters_that_message_and_goes_on(
    outbox: Outbox,
) -> None:
    class Flaky:
        """An outbox whose mark_sent raises for one key (a bug, not a store error)."""

        def __init__(self, inner: Outbox) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def mark_sent(self, entry: OutboxEntry, **kwargs: Any) -> bool:
            if entry.key == "care:shipped:o1":
                raise ValueError(_LEAK)
            return self.inner.mark_sent(entry, **kwargs)

    outbox.enqueue_many([_care(i) for i in range(3)])
    d = Dispatcher(Flaky(outbox), RecordingChannel(), clock=ManualClock(T0),  # type: ignore[arg-type]
                   batch_size=3)
    assert d.run_once() == DispatchReport(claimed=3, sent=2, dead=1)
    assert _state(outbox, "care:shipped:o1").last_error == f"dispatch raised ValueError: {_MASKED}"


def test_an_undecodable_row_is_dead_lettered_and_entries_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite"
    box = SqliteOutbox(path)
    box.enqueue_many([_care(i) for i in range(3)])
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE outbox SET message = ? WHERE key = 'care:shipped:o1'",
                     ('{"key": "care:shipped:o1", "phone": "13812345678"',))
    conn.close()
    entries = {e.key: e for e in box.entries()}  # does not raise for the whole outbox
    bad = entries["care:shipped:o1"]
    assert bad.state is OutboxState.DEAD
    assert bad.last_error is not None
    assert bad.last_error.startswith("unreadable stored message: JSONDecodeError")
    assert (bad.message.recipient.customer_id, bad.message.body) == ("c1", "")
    assert [e.state for k, e in sorted(entries.items()) if k != bad.key] == [
        OutboxState.PENDING, OutboxState.PENDING]
    channel = RecordingChannel()
    report = Dispatcher(box, channel, clock=ManualClock(T0), batch_size=3).run_once()
    assert (report.sent, channel.keys) == (2, ["care:shipped:o0", "care:shipped:o2"])
    ((state, error),) = box.read("SELECT state, last_error FROM outbox WHERE key = ?",
                                 ("care:shipped:o1",))
    assert state == "dead"
    assert "13812345678" not in error
    box.close()


def test_run_survives_a_failing_run(outbox: Outbox, caplog: pytest.LogCaptureFixture) -> None:
    class BusyOnce:
        def __init__(self, inner: Outbox) -> None:
            self.inner, self.failed = inner, False

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

        def claim(self, **kwargs: Any) -> list[OutboxEntry]:
            if not self.failed:
                self.failed = True
                raise OutboxError(f"outbox is busy or unusable: {_LEAK}")
            return self.inner.claim(**kwargs)  # type: ignore[no-any-return]

    outbox.enqueue_many([_care(i) for i in range(3)])
    sleeps: list[float] = []
    d = Dispatcher(BusyOnce(outbox), RecordingChannel(), clock=ManualClock(T0))  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, logger="ecrm.touch"):
        total = d.run(should_stop=lambda: len(sleeps) >= 2, idle_sleep=0.5, sleep=sleeps.append)
    assert total.sent == 3
    assert f"dispatch run failed, trying again: OutboxError: outbox is busy or unusable: {_MASKED}" \
        in caplog.text
    assert "13812345678" not in caplog.text


# -- requeue ------------------------------------------------------------------------------
def test_requeue_brings_a_dead_message_back_and_records_it(outbox: Outbox) -> None:
    outbox.enqueue_many([_care(1), _care(2)])
    channel = MockChannel(lambda m: Failed("bad number 13812345678", transient=False))
    assert Dispatcher(outbox, channel, clock=ManualClock(T0)).run_once().dead == 2
    assert outbox.enqueue(_care(1)) is False  # enqueue cannot bring it back
    at = T0 + dt.timedelta(hours=1)
    assert outbox.requeue("care:shipped:o1", at=at,
                          reason="number fixed to 13800000001 by the operator") is True
    e = _state(outbox, "care:shipped:o1")
    assert (e.state, e.due_at, e.attempts, e.requeues) == (OutboxState.PENDING, at, 0, 1)
    assert e.last_error == ("requeued: number fixed to 138****0001 by the operator "
                            "(was: bad number 138****5678)")
    assert outbox.history("care:shipped:o1") == [  # type: ignore[attr-defined]
        (at, "requeue", "number fixed to 138****0001 by the operator")]
    assert outbox.requeue("care:shipped:o1", at=at, reason="again") is False  # not dead
    with pytest.raises(InvalidValueError, match="key is not in the outbox"):
        outbox.requeue("nope", at=at, reason="x")
    channel = RecordingChannel()
    report = Dispatcher(outbox, channel, clock=ManualClock(at)).run_once()
    assert (report.sent, channel.keys) == (1, ["care:shipped:o1"])
    assert _state(outbox, "care:shipped:o2").state is OutboxState.DEAD  # untouched


# -- no contact data leaks --------------------------------------------------------------------
_PREFIXES = ["", "+86 ", "+86-", "0086", "86 "]
_RECIPIENT = "13800000001"


@st.composite
def _phones(draw: st.DrawFn) -> tuple[str, str]:
    """A mainland mobile (its 11 digits) and how it is written in the text."""
    digits = "1" + draw(st.sampled_from("3456789")) + draw(st.text("0123456789", min_size=9,
                                                                   max_size=9))
    sep = draw(st.sampled_from(["", " ", "-"]))
    written = draw(st.sampled_from(_PREFIXES)) + sep.join((digits[:3], digits[3:7], digits[7:]))
    return digits, written


_emails = st.builds(
    lambda user, host, tld: f"{user}@{host}.{tld}",
    st.text("abcdefghijklmnopqrstuvwxyz0123456789._+-", min_size=1, max_size=12).filter(
        lambda u: u[0].isalnum()),
    st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=10).filter(
        lambda h: h[0].isalnum()),
    st.sampled_from(["com", "cn", "com.cn", "net"]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(phone=_phones(), email=_emails, words=st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Nd")), max_size=20))
def test_no_phone_or_email_from_an_error_reaches_the_outbox_the_logs_or_exceptions(
    phone: tuple[str, str], email: str, words: str
) -> None:
    digits, written = phone
    assume(digits != _RECIPIENT)
    leak = f"{words} {written} <{email}> {words}"
    outcomes = [
        lambda m: Failed(f"provider said: {leak}", transient=False),
        lambda m: Failed(f"provider said: {leak}", transient=True),
    ]

    def raising(m: Message) -> Receipt:
        raise RuntimeError(f"provider said: {leak}")

    def guard(m: Message, now: dt.datetime) -> str | None:
        if m.key.endswith("-guard-raises"):
            raise RuntimeError(leak)
        if m.key.endswith("-guard-refuses"):
            return f"order paid by {leak}"
        return None

    handlers = [*outcomes, raising]
    keys = [f"k{i}" for i in range(len(handlers))] + ["k-guard-raises", "k-guard-refuses"]
    by_key = dict(zip(keys, handlers, strict=False))
    messages = [Message(k, "shipped", MessageClass.CARE, ChannelKind.SMS,
                        Recipient("c1", phone=_RECIPIENT), "x", created_at=T0) for k in keys]
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("ecrm.touch")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    texts: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            box = SqliteOutbox(Path(tmp) / "o.sqlite")
            box.enqueue_many(messages)
            channel = MockChannel(lambda m: by_key.get(m.key, lambda _: Accepted("ok"))(m))
            clock = ManualClock(T0)
            d = Dispatcher(box, channel, clock=clock, guard=guard, max_attempts=2)
            d.run_once()
            clock.advance(dt.timedelta(hours=2))
            d.run_once()  # the transient ones again, then dead after 2 attempts
            for key in ("k0", "k1", "k2"):
                box.requeue(key, at=clock.now(), reason=f"operator: {leak}")
            try:
                box.requeue(f"k-{written}", at=clock.now(), reason="x")
            except InvalidValueError as exc:
                texts.append(str(exc))
            texts += [e.last_error or "" for e in box.entries()]
            box.close()
            raw = b"".join(p.read_bytes() for p in Path(tmp).iterdir())
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    logs = "\n".join(r.getMessage() for r in records)
    assert sum(bool(t) for t in texts) >= 5  # the errors were stored, masked
    for text in (logs, *texts):
        assert email not in text
        assert digits not in text.replace(" ", "").replace("-", "")
        assert written not in text
    assert email.encode() not in raw
    assert written.encode() not in raw
    assert digits.encode() not in raw


def test_store_errors_are_outbox_errors_and_os_errors(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-db.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(OutboxError, match="cannot open outbox") as info:
        SqliteOutbox(bad)
    assert isinstance(info.value, StoreError)
    assert isinstance(info.value, OSError)


# -- any interleaving of dispatchers ---------------------------------------------------------------
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), backend=st.sampled_from(["memory", "sqlite"]))
def test_any_interleaving_of_claims_sends_failures_and_expiries_keeps_caps_and_dedupe(
    data: st.DataObject, backend: str
) -> None:
    """Several dispatchers' claims, sends, failures and lost leases in any order: recorded
    marketing sends of one customer are always a day or more apart (cap 1 per day), and no
    order has two reminders sent. Checked from the stored send times alone."""
    n_customers = data.draw(st.integers(1, 3), label="customers")
    messages = [m for c in range(n_customers) for m in
                [_mkt(k, f"c{c}") for k in range(data.draw(st.integers(0, 4)))]
                + [_remind(k, f"o{c}") for k in range(data.draw(st.integers(0, 3)))]]
    with tempfile.TemporaryDirectory() as tmp:
        boxes: list[Any] = ([InMemoryOutbox()] if backend == "memory" else
                            [SqliteOutbox(Path(tmp) / "o.sqlite") for _ in range(2)])
        boxes[0].enqueue_many(messages)
        box_for = st.sampled_from(boxes)
        now = T0
        in_flight: list[tuple[Any, OutboxEntry]] = []
        for _ in range(data.draw(st.integers(1, 40), label="steps")):
            action = data.draw(st.sampled_from(["claim", "claim", "send", "fail", "wait"]))
            if action == "claim":
                box = data.draw(box_for)
                got = box.claim(as_of=now, lease=LEASE, limit=data.draw(st.integers(1, 3)),
                                decide=_decide(now))
                in_flight += [(box, e) for e in got if e.state is OutboxState.CLAIMED]
            elif action in ("send", "fail") and in_flight:
                box, e = in_flight.pop(data.draw(st.integers(0, len(in_flight) - 1)))
                if action == "send":
                    box.mark_sent(e, at=now, provider_id=None)  # False if the lease was lost
                else:
                    retry = data.draw(st.sampled_from([None, now + dt.timedelta(minutes=1)]))
                    box.mark_failed(e, at=now, reason="gateway", retry_at=retry)
            else:
                now += data.draw(st.sampled_from([dt.timedelta(seconds=1), LEASE,
                                                  dt.timedelta(hours=5), DAY]))
        sent = [e for e in boxes[0].entries() if e.state is OutboxState.SENT]
        for box in boxes:
            if isinstance(box, SqliteOutbox):
                box.close()
    by_customer: dict[str | int, list[dt.datetime]] = {}
    orders: dict[str, int] = {}
    for e in sent:
        assert e.sent_at is not None
        if e.message.message_class is MessageClass.MARKETING:
            by_customer.setdefault(e.message.recipient.customer_id, []).append(e.sent_at)
        elif e.message.dedupe_key is not None:
            orders[e.message.dedupe_key] = orders.get(e.message.dedupe_key, 0) + 1
    for times in by_customer.values():
        times.sort()
        assert all(b - a >= DAY for a, b in itertools.pairwise(times)), times
    assert all(n == 1 for n in orders.values()), orders


def test_an_outbox_file_of_the_first_release_gains_the_new_columns(tmp_path: Path) -> None:
    """A file written before reservations and requeues opens, and its rows dispatch."""
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("""CREATE TABLE outbox (key TEXT PRIMARY KEY, message TEXT NOT NULL,
            customer TEXT NOT NULL, channel TEXT NOT NULL, class TEXT NOT NULL,
            message_type TEXT NOT NULL, dedupe_key TEXT, state TEXT NOT NULL,
            due_us INTEGER NOT NULL, ready_us INTEGER, claim_token TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            possible_duplicates INTEGER NOT NULL DEFAULT 0, created_us INTEGER NOT NULL,
            updated_us INTEGER NOT NULL, sent_us INTEGER, provider_id TEXT, last_error TEXT)""")
    conn.close()
    with SqliteOutbox(path) as box:
        box.enqueue(_care(1))
    with SqliteOutbox(path) as box:  # opened again: nothing to add twice
        channel = RecordingChannel()
        assert Dispatcher(box, channel, clock=ManualClock(T0)).run_once().sent == 1
        assert _state(box, "care:shipped:o1").requeues == 0


def test_the_heartbeat_must_be_shorter_than_the_lease(outbox: Outbox) -> None:
    for beat in (dt.timedelta(0), LEASE, 2 * LEASE):
        with pytest.raises(InvalidValueError, match="heartbeat must be a positive timedelta"):
            Dispatcher(outbox, RecordingChannel(), lease=LEASE, heartbeat=beat)
    assert Dispatcher(outbox, RecordingChannel(), lease=LEASE).heartbeat == LEASE / 3
