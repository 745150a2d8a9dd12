"""Inbound replies opt numbers out of marketing, durably."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import EcrmError, InvalidValueError, StoreError
from ecrm.testing import phone_numbers
from ecrm.touch import (
    ChannelKind,
    InMemoryOptOutRegistry,
    OptOutRegistry,
    SqliteOptOutRegistry,
    handle_reply,
)

AT = dt.datetime(2026, 6, 18, 20, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize("reply", ["T", "t", " T ", "TD", "td", "T D", "退订", " 退 订\n", "Ｔ",
                                   "ＴＤ"])
def test_opt_out_keywords_match(reply: str) -> None:
    reg = InMemoryOptOutRegistry()
    out = handle_reply("13800000000", reply, at=AT, registry=reg)
    assert out.opted_out
    assert out.newly_recorded
    assert out.address == "138****0000"
    assert reg.is_opted_out("13800000000", ChannelKind.SMS)
    assert not reg.is_opted_out("13800000000", ChannelKind.EMAIL)


@pytest.mark.parametrize("reply", ["T恤还有吗", "好的", "TT", "", "退货"])
def test_other_replies_change_nothing(reply: str) -> None:
    reg = InMemoryOptOutRegistry()
    out = handle_reply("13800000000", reply, at=AT, registry=reg)
    assert not out.opted_out
    assert len(reg) == 0


def test_custom_keywords() -> None:
    reg = InMemoryOptOutRegistry()
    assert handle_reply("13800000000", "N", at=AT, registry=reg, keywords={"n"}).opted_out
    assert not handle_reply("13900000000", "T", at=AT, registry=reg, keywords={"n"}).opted_out


def test_a_second_opt_out_is_not_new() -> None:
    reg = InMemoryOptOutRegistry()
    handle_reply("13800000000", "T", at=AT, registry=reg)
    again = handle_reply("+86 138 0000 0000", "TD", at=AT, registry=reg)
    assert again.opted_out
    assert not again.newly_recorded
    assert len(reg) == 1


def test_sqlite_registry_is_durable(tmp_path: Path) -> None:
    path = tmp_path / "optouts.sqlite"
    reg = SqliteOptOutRegistry(path)
    assert isinstance(reg, OptOutRegistry)
    handle_reply("13800000000", "退订", at=AT, registry=reg)
    reg.opt_out("Alice@Example.com", ChannelKind.EMAIL, at=AT, source="unsubscribe link")
    reg.close()
    with SqliteOptOutRegistry(path) as reopened:
        assert reopened.is_opted_out("138-0000-0000", ChannelKind.SMS)
        assert reopened.is_opted_out("alice@example.com", ChannelKind.EMAIL)
        assert not reopened.is_opted_out("13900000000", ChannelKind.SMS)
        assert len(reopened) == 2
        snap = reopened.snapshot()
        assert snap.is_opted_out("13800000000", ChannelKind.SMS)
        assert reopened.opt_in("13800000000", ChannelKind.SMS)
        assert not reopened.opt_in("13800000000", ChannelKind.SMS)
        assert not reopened.is_opted_out("13800000000", ChannelKind.SMS)


def test_a_foreign_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "not.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="cannot open opt-out registry") as info:
        SqliteOptOutRegistry(bad)
    assert isinstance(info.value, EcrmError)
    assert isinstance(info.value, OSError)


def test_bad_addresses_are_refused_and_record_nothing(tmp_path: Path) -> None:
    with SqliteOptOutRegistry(tmp_path / "o.sqlite") as reg:
        with pytest.raises(InvalidValueError, match="address"):
            handle_reply("call me", "T", at=AT, registry=reg)
        with pytest.raises(ValueError, match="timezone-aware"):
            handle_reply("13800000000", "T", at=dt.datetime(2026, 1, 1), registry=reg)
        assert len(reg) == 0
        assert not reg.is_opted_out("not a number", ChannelKind.SMS)


@given(st.lists(st.tuples(phone_numbers(), st.sampled_from(["T", "TD", "退订", "好", "T恤"])),
                max_size=20))
def test_registry_holds_exactly_the_numbers_that_replied_a_keyword(
    replies: list[tuple[str, str]],
) -> None:
    reg = InMemoryOptOutRegistry()
    for number, text in replies:
        handle_reply(number, text, at=AT, registry=reg)
    expected = {n for n, t in replies if t in ("T", "TD", "退订")}
    assert len(reg) == len(expected)
    for n, _ in replies:
        assert reg.is_opted_out(n, ChannelKind.SMS) == (n in expected)


def test_a_locked_sqlite_registry_raises_store_error(tmp_path: Path) -> None:
    path = tmp_path / "optouts.sqlite"
    with SqliteOptOutRegistry(path, busy_timeout=0.05) as reg:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreError, match="busy or unusable"):
                reg.opt_out("13800000000", ChannelKind.SMS, at=AT)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert not reg.is_opted_out("13800000000", ChannelKind.SMS)
        assert reg.opt_out("13800000000", ChannelKind.SMS, at=AT)


def test_the_registry_opens_its_file_like_every_ecrm_store(tmp_path: Path) -> None:
    path = tmp_path / "optouts.sqlite"
    with SqliteOptOutRegistry(path, synchronous="NORMAL") as reg:
        assert reg._db.read("PRAGMA synchronous") == [(1,)]  # NORMAL
        assert reg._db.read("PRAGMA busy_timeout") == [(30_000,)]
    with SqliteOptOutRegistry(path, busy_timeout=2.5) as reg:
        assert reg._db.read("PRAGMA synchronous") == [(2,)]  # FULL, the default
        assert reg._db.read("PRAGMA busy_timeout") == [(2_500,)]
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()
    with pytest.raises(InvalidValueError, match="synchronous"):
        SqliteOptOutRegistry(path, synchronous="OFF")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match="busy_timeout"):
        SqliteOptOutRegistry(path, busy_timeout=0)


def test_timeout_is_a_deprecated_alias_of_busy_timeout(tmp_path: Path) -> None:
    with pytest.deprecated_call(match="timeout= is deprecated.*busy_timeout="):
        reg = SqliteOptOutRegistry(tmp_path / "o.sqlite", timeout=1.5)
    with reg:
        assert reg._db.read("PRAGMA busy_timeout") == [(1_500,)]
    with pytest.deprecated_call(), pytest.raises(InvalidValueError, match="timeout"):
        SqliteOptOutRegistry(tmp_path / "o.sqlite", timeout=-1)


def test_a_full_disk_is_a_store_error_and_records_nothing(tmp_path: Path) -> None:
    with SqliteOptOutRegistry(tmp_path / "full.sqlite", synchronous="NORMAL") as reg:
        # cap the file at its current size plus a little: inserts soon hit SQLITE_FULL
        [(pages,)] = reg._db.read("PRAGMA page_count")
        reg._db.read(f"PRAGMA max_page_count = {pages + 2}")
        recorded: list[str] = []
        failure: StoreError | None = None
        for n in range(10_000):
            number = f"138{n:08d}"
            try:
                assert reg.opt_out(number, ChannelKind.SMS, at=AT, source="x" * 200)
            except StoreError as exc:
                failure = exc
                break
            recorded.append(number)
        assert failure is not None
        assert "full" in str(failure)
        assert isinstance(failure.__cause__, sqlite3.OperationalError)
        assert 0 < len(recorded) < 10_000
        assert len(reg) == len(recorded)
        failed = f"138{len(recorded):08d}"
        assert not reg.is_opted_out(failed, ChannelKind.SMS)
        assert all(reg.is_opted_out(n, ChannelKind.SMS) for n in recorded)
        assert reg._db.read("PRAGMA integrity_check") == [("ok",)]


def _replier(path: str, numbers: list[str], barrier: Any, queue: Any) -> None:
    new: list[str] = []
    try:
        with SqliteOptOutRegistry(path, synchronous="NORMAL") as reg:
            barrier.wait()
            for number in numbers:
                if reg.opt_out(number, ChannelKind.SMS, at=AT):
                    new.append(number)
    except Exception as exc:  # reported to the parent, which fails the test
        new.append(f"{type(exc).__name__}: {exc}")
    queue.put(new)


def test_two_processes_recording_the_same_numbers_record_each_once(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.sqlite")
    SqliteOptOutRegistry(path).close()
    first = [f"1380000{n:04d}" for n in range(300)]
    second = [f"1380000{n:04d}" for n in range(150, 450)]  # 150 numbers in both
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_replier, args=(path, numbers, barrier, queue))
             for numbers in (first, second)]
    for proc in procs:
        proc.start()
    reports = [queue.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
        assert proc.exitcode == 0
    newly = reports[0] + reports[1]
    # every number is "newly recorded" by exactly one of the two processes
    assert sorted(newly) == sorted(set(first) | set(second))
    with SqliteOptOutRegistry(path) as reg:
        assert len(reg) == 450


_ops = st.lists(
    st.tuples(st.sampled_from(["out", "in"]),
              st.sampled_from(["13800000000", "+86 138 0000 0000", "13900000000",
                               "a@example.com", "A@Example.com "]),
              st.sampled_from([ChannelKind.SMS, ChannelKind.EMAIL])),
    max_size=15,
)


@settings(max_examples=30, deadline=None)
@given(_ops)
def test_sqlite_and_memory_registries_answer_alike(ops: list[tuple[str, str, ChannelKind]]) -> None:
    """Same calls, same answers, same opt-outs afterwards (invalid addresses refused alike)."""
    with tempfile.TemporaryDirectory() as tmp, SqliteOptOutRegistry(
        Path(tmp) / "o.sqlite", synchronous="NORMAL"
    ) as sqlite:
        memory = InMemoryOptOutRegistry()
        held: set[tuple[ChannelKind, str]] = set()  # the plain model: normalised keys
        for op, address, channel in ops:
            answers = []
            for reg in (memory, sqlite):
                try:
                    if op == "out":
                        answers.append(reg.opt_out(address, channel, at=AT))
                    else:
                        answers.append(reg.opt_in(address, channel))
                except InvalidValueError:
                    answers.append(None)
            norm = ("13800000000" if "138" in address else "13900000000") if (
                channel is ChannelKind.SMS) else address.strip().casefold()
            if channel is ChannelKind.SMS and "@" in address:
                expected = None  # not a phone number
            elif op == "out":
                expected = (channel, norm) not in held
                held.add((channel, norm))
            else:
                expected = (channel, norm) in held
                held.discard((channel, norm))
            assert answers == [expected, expected], (op, address, channel)
        assert len(memory) == len(sqlite) == len(held)
        for _, address, channel in ops:
            assert memory.is_opted_out(address, channel) == sqlite.is_opted_out(address, channel)
