"""Ticket stores: round trips, the optimistic version check (two real processes on one
SQLite file lose no update), the append-only history, and CSV import/export."""

from __future__ import annotations

import datetime as dt
import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import pytest

from ecrm import EcrmError, EcrmErrorGroup
from ecrm._sqlite import StoreError
from ecrm.service import (
    MemoryTicketStore,
    Pause,
    SqliteTicketStore,
    Ticket,
    TicketConflictError,
    TicketState,
    UnknownTicketError,
    tickets_from_csv,
    tickets_to_csv,
)

SH = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SH)
SRC = str(Path(__file__).resolve().parents[2] / "src")


def worked() -> Ticket:
    t = Ticket.open("T-1", kind="refund", customer_id="c1", created_at=T0, order_id="o1",
                    subject="退款未到账", text="退款三天了还没到", channel="wangwang",
                    priority="high")
    t = t.assign("小王", at=T0 + dt.timedelta(minutes=5), actor="lead")
    t = t.respond("已催财务", at=T0 + dt.timedelta(minutes=9), actor="小王")
    t = t.wait_for_customer(at=T0 + dt.timedelta(minutes=10), actor="小王")
    return t.add_note("客户下午回复", at=T0 + dt.timedelta(minutes=11), actor="小王")


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "memory":
        yield MemoryTicketStore()
    else:
        with SqliteTicketStore(tmp_path / "tickets.db") as s:
            yield s


def test_a_ticket_round_trips_with_its_history_notes_and_pauses(store) -> None:  # type: ignore[no-untyped-def]
    saved = store.add(worked())
    assert saved.version == 1
    got = store.get("T-1")
    assert got == attrs.evolve(worked(), version=1)
    assert got.history[1].actor == "lead"
    assert got.pauses[0].end is None


def test_a_stale_save_is_a_conflict_and_keeps_nothing(store) -> None:  # type: ignore[no-untyped-def]
    store.add(worked())
    a = store.get("T-1")
    b = store.get("T-1")
    store.save(a.customer_replied(at=T0 + dt.timedelta(hours=1)))
    with pytest.raises(TicketConflictError, match="read at version 1, stored version is 2"):
        store.save(b.resolve(at=T0 + dt.timedelta(hours=2), actor="小李"))
    now = store.get("T-1")
    assert now.version == 2
    assert now.state is TicketState.ASSIGNED
    assert isinstance(TicketConflictError("x", 1, 2), StoreError)


def test_update_rereads_and_redoes_the_change_after_a_conflict(store) -> None:  # type: ignore[no-untyped-def]
    store.add(worked())
    calls = []

    def change(t: Ticket) -> Ticket:
        calls.append(t.version)
        if len(calls) == 1:  # someone else saves in between
            store.save(store.get("T-1").add_note("插队", at=T0 + dt.timedelta(hours=1),
                                                 actor="other"))
        return t.add_note("mine", at=T0 + dt.timedelta(hours=2), actor="me")

    saved = store.update("T-1", change)
    assert calls == [1, 2]
    assert [n.text for n in saved.notes][-2:] == ["插队", "mine"]


def test_history_cannot_be_rewritten_and_unknown_ids_are_named(store) -> None:  # type: ignore[no-untyped-def]
    store.add(worked())
    t = store.get("T-1")
    with pytest.raises(EcrmError, match="history is append-only"):
        store.save(attrs.evolve(t, history=t.history[1:]))
    with pytest.raises(UnknownTicketError, match="T-404"):
        store.get("T-404")
    with pytest.raises(EcrmError, match="ticket_id is already in the store"):
        store.add(worked())


WORKER = textwrap.dedent("""
    import datetime as dt, sys
    sys.path.insert(0, {src!r})
    from ecrm.service import SqliteTicketStore
    store = SqliteTicketStore(sys.argv[1])
    who = sys.argv[2]
    for i in range(int(sys.argv[3])):
        def change(t, i=i):
            at = max(dt.datetime.now(dt.timezone.utc), t.last_changed_at)
            return t.add_note(f"{{who}}-{{i}}", at=at, actor=who)
        store.update("T-1", change, attempts=1000)
    store.close()
""")


def test_two_processes_updating_one_ticket_lose_no_update(tmp_path: Path) -> None:
    path = tmp_path / "tickets.db"
    with SqliteTicketStore(path) as s:
        s.add(Ticket.open("T-1", kind="complaint", customer_id="c", created_at=T0))
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(src=SRC), "utf-8")
    n = 40
    procs = [subprocess.Popen([sys.executable, str(script), str(path), who, str(n)],
                              stderr=subprocess.PIPE, text=True) for who in ("A", "B")]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    with SqliteTicketStore(path) as s:
        t = s.get("T-1")
    texts = [note.text for note in t.notes]
    assert sorted(texts) == sorted([f"{w}-{i}" for w in "AB" for i in range(n)])
    assert [x for x in texts if x[0] == "A"] == [f"A-{i}" for i in range(n)]  # in order
    assert t.version == 1 + 2 * n
    assert len(t.history) == 1 + 2 * n


def test_csv_round_trip_keeps_the_clock_fields(tmp_path: Path) -> None:
    t = worked().customer_replied(at=T0 + dt.timedelta(hours=1))
    t = t.resolve(at=T0 + dt.timedelta(hours=2), actor="小王")
    path = tmp_path / "tickets.csv"
    tickets_to_csv([t, Ticket.open("T-2", kind="咨询", customer_id="c2", created_at=T0)], path)
    back = tickets_from_csv(path)
    assert [b.ticket_id for b in back] == ["T-1", "T-2"]
    for field in ("kind", "priority", "channel", "customer_id", "order_id", "state",
                  "assignee", "created_at", "first_response_at", "resolved_at", "closed_at",
                  "pauses", "subject"):
        assert getattr(back[0], field) == getattr(t, field), field
    assert back[1].kind.value == "inquiry"
    assert back[0].history[-1].field == "import"


def test_csv_problems_are_collected_with_line_column_and_value() -> None:
    text = ("ticket_id,kind,customer_id,created_at,state,resolved_at\n"
            "A,refund,c1,2026-12-01T10:00:00+08:00,open,\n"
            "B,refnd,c1,2026-12-01T10:00:00+08:00,open,\n"
            "C,return,c1,yesterday,open,\n"
            "D,return,c1,2026-12-01 10:00,resolved,\n"
            "A,return,c1,2026-12-01 10:00,open,\n")
    with pytest.raises(EcrmErrorGroup) as info:
        tickets_from_csv(io.StringIO(text))
    got = [(p.line, p.field) for p in info.value.problems]  # type: ignore[attr-defined]
    assert got == [(3, "kind"), (4, "created_at"), (5, "resolved_at"), (6, "ticket_id")]
    assert "'refnd'" in str(info.value)


def test_naive_csv_times_are_read_in_the_store_zone() -> None:
    text = "ticket_id,kind,customer_id,created_at\nA,refund,c1,2026-12-01 10:00\n"
    (t,) = tickets_from_csv(io.StringIO(text), tz="America/New_York")
    assert t.created_at == dt.datetime(2026, 12, 1, 10, 0, tzinfo=ZoneInfo("America/New_York"))


def test_a_writer_killed_with_sigkill_leaves_a_whole_ticket_and_no_lock(tmp_path: Path) -> None:
    path = tmp_path / "tickets.db"
    with SqliteTicketStore(path) as s:
        s.add(Ticket.open("T-1", kind="complaint", customer_id="c", created_at=T0))
    script = tmp_path / "worker.py"
    script.write_text(WORKER.format(src=SRC), "utf-8")
    proc = subprocess.Popen([sys.executable, str(script), str(path), "K", "100000"],
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        with SqliteTicketStore(path) as watcher:
            while watcher.get("T-1").version < 15 and time.monotonic() < deadline:
                time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    with SqliteTicketStore(path, busy_timeout=5) as s:
        t = s.get("T-1")
        n = len(t.notes)
        assert n >= 14
        assert t.version == 1 + n  # every kept save is whole: note, history and version
        assert len(t.history) == 1 + n
        assert [x.text for x in t.notes] == [f"K-{i}" for i in range(n)]
        saved = s.save(t.add_note("after", at=t.last_changed_at, actor="me"))  # no lock left
        assert saved.version == t.version + 1


def test_a_waiting_ticket_without_pauses_is_paused_from_its_last_known_event() -> None:
    text = ("ticket_id,kind,customer_id,created_at,state,first_response_at\n"
            "A,refund,c1,2026-12-01 10:00,waiting,2026-12-01 11:30\n")
    (t,) = tickets_from_csv(io.StringIO(text))
    assert t.pauses == (Pause(dt.datetime(2026, 12, 1, 11, 30, tzinfo=SH)),)


def test_a_ticket_opened_in_a_dst_fold_saves_and_reads_back_in_its_zone(tmp_path: Path) -> None:
    """01:30 on 2024-11-03 happens twice in New York; a ticket opened in the second one
    (EST, fold=1) must not look "rewritten" when its stored history (read back from the
    file) is compared with the value ``add`` returned."""
    ny = ZoneInfo("America/New_York")
    t0 = dt.datetime(2024, 11, 3, 1, 30, fold=1, tzinfo=ny)
    with SqliteTicketStore(tmp_path / "tickets.db") as store:
        added = store.add(Ticket.open("T-9", kind="refund", customer_id="c1", created_at=t0))
        saved = store.save(added.assign("小王", at=t0 + dt.timedelta(minutes=5), actor="lead"))
        got = store.get("T-9")
        assert got == saved
        assert got.created_at.tzinfo is ny
        assert got.created_at.utcoffset() == -dt.timedelta(hours=5)
        # the first 01:30 (EDT) is another instant, an hour earlier
        first = dt.datetime(2024, 11, 3, 1, 30, tzinfo=ny)
        assert got.created_at.timestamp() - first.timestamp() == 3600
        assert got != attrs.evolve(got, created_at=first)
