"""Stored membership history and gift-pack claims: in memory, in SQLite, across processes."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ecrm import InvalidTypeError, Money
from ecrm.tiers import (
    Claimed,
    Coupon,
    Gift,
    GiftPack,
    InMemoryMemberStore,
    MemberEventKind,
    MembershipError,
    MemberStore,
    RefusalReason,
    SqliteMemberStore,
    claim_stored_gift_pack,
)

SH = dt.timezone(dt.timedelta(hours=8))
JOINED = dt.datetime(2026, 11, 11, 20, 30, tzinfo=SH)
PACK = GiftPack([Coupon("C5", face_value=Money(500), valid_days=7)], [Gift("mug")])
JOIN, LEAVE = MemberEventKind.JOIN, MemberEventKind.LEAVE


def hours(n: float) -> dt.timedelta:
    return dt.timedelta(hours=n)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        yield InMemoryMemberStore()
    else:
        s = SqliteMemberStore(tmp_path / "members.db")
        yield s
        s.close()


def test_history_join_leave_rejoin(store: Any) -> None:
    assert isinstance(store, MemberStore)
    assert store.history("c1").events == ()
    store.record("c1", JOIN, JOINED)
    store.record("c1", LEAVE, JOINED + hours(30))
    store.record("c1", JOIN, JOINED + hours(240))
    h = store.history("c1")
    utc = [at.astimezone(SH) for _, at in h.events]
    assert [k for k, _ in h.events] == [JOIN, LEAVE, JOIN]
    assert utc == [JOINED, JOINED + hours(30), JOINED + hours(240)]
    assert h.first_joined_at == JOINED
    assert h.joined_at == JOINED + hours(240)
    assert h.periods() == [(JOINED, JOINED + hours(30)), (JOINED + hours(240), None)]
    assert store.history(7).events == ()  # int ids are their own customers


def test_impossible_events_are_refused_and_change_nothing(store: Any) -> None:
    with pytest.raises(MembershipError, match="not a member"):
        store.record("c1", LEAVE, JOINED)
    store.record("c1", JOIN, JOINED)
    with pytest.raises(MembershipError, match="already a member"):
        store.record("c1", JOIN, JOINED + hours(1))
    with pytest.raises(MembershipError, match="earlier than the last event"):
        store.record("c1", LEAVE, JOINED - hours(1))
    assert len(store.history("c1").events) == 1
    with pytest.raises(InvalidTypeError, match="customer_id"):
        store.history(1.5)


def test_stored_claim_once_and_from_the_first_registration(store: Any) -> None:
    refused = claim_stored_gift_pack(PACK, store, "c1", as_of=JOINED)
    assert refused.reason is RefusalReason.NOT_A_MEMBER  # type: ignore[union-attr]
    store.record("c1", JOIN, JOINED)
    ok = claim_stored_gift_pack(PACK, store, "c1", as_of=JOINED + hours(2))
    assert isinstance(ok, Claimed)
    assert store.history("c1").claimed_at == JOINED + hours(2)
    again = claim_stored_gift_pack(PACK, store, "c1", as_of=JOINED + hours(3))
    assert again.reason is RefusalReason.ALREADY_CLAIMED  # type: ignore[union-attr]
    # c2 left and re-joined: the window still counts from the first join.
    store.record("c2", JOIN, JOINED)
    store.record("c2", LEAVE, JOINED + hours(1))
    store.record("c2", JOIN, JOINED + hours(48))
    late = claim_stored_gift_pack(PACK, store, "c2", as_of=JOINED + hours(49))
    assert late.reason is RefusalReason.TOO_LATE  # type: ignore[union-attr]
    assert store.history("c2").claimed_at is None  # a refusal records nothing


def test_sqlite_history_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "members.db"
    with SqliteMemberStore(path) as s:
        s.record(42, JOIN, JOINED)
        assert claim_stored_gift_pack(PACK, s, 42, as_of=JOINED + hours(1)).ok
    with SqliteMemberStore(path) as s:
        h = s.history(42)
        assert h.first_joined_at == JOINED
        assert h.claimed_at == JOINED + hours(1)
        assert s.history("42").events == ()  # "42" and 42 are different customers
    # The file refuses a second claim row by itself (the UNIQUE key), not only the code.
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("INSERT INTO gift_pack_claims VALUES ('42', 1, 0)")
    conn.close()


def _claimer(path: str, barrier: Any, queue: Any) -> None:
    try:
        store = SqliteMemberStore(path)
        barrier.wait(timeout=60)
        result = claim_stored_gift_pack(PACK, store, "shared", as_of=JOINED + hours(1))
        store.close()
        queue.put("claimed" if result.ok else result.reason.value)  # type: ignore[union-attr]
    except Exception as exc:  # reported to the parent, which fails the test
        queue.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.parametrize("n", [2, 4])
def test_processes_claiming_at_once_get_exactly_one_claim(tmp_path: Path, n: int) -> None:
    path = str(tmp_path / "shared.db")
    with SqliteMemberStore(path) as s:
        s.record("shared", JOIN, JOINED)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(n)
    queue = ctx.Queue()
    procs = [ctx.Process(target=_claimer, args=(path, barrier, queue)) for _ in range(n)]
    for proc in procs:
        proc.start()
    results = sorted(queue.get(timeout=120) for _ in procs)
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    assert results == sorted(["claimed"] + ["already_claimed"] * (n - 1))
    with SqliteMemberStore(path) as s:
        assert s.history("shared").claimed_at == JOINED + hours(1)


def test_claim_stored_gift_pack_at_is_the_deprecated_alias_of_as_of(store: Any) -> None:
    """``at=`` named the claim instant; it works one release with a warning."""
    store.record("c1", JOIN, JOINED)
    old: Any = {"at": JOINED + hours(1)}
    with pytest.warns(DeprecationWarning, match=r"at= is deprecated.*use as_of="):
        assert claim_stored_gift_pack(PACK, store, "c1", **old).ok
