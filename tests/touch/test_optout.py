"""Inbound replies opt numbers out of marketing, durably."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecrm import InvalidValueError
from ecrm.testing import phone_numbers
from ecrm.touch import (
    ChannelKind,
    InMemoryOptOutRegistry,
    OptOutRegistry,
    OutboxError,
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
    with pytest.raises(OutboxError, match="cannot open opt-out registry"):
        SqliteOptOutRegistry(bad)


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


def test_a_locked_sqlite_registry_raises_outbox_error(tmp_path: Path) -> None:
    path = tmp_path / "optouts.sqlite"
    with SqliteOptOutRegistry(path, timeout=0.05) as reg:
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(OutboxError, match="busy or unusable"):
                reg.opt_out("13800000000", ChannelKind.SMS, at=AT)
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert not reg.is_opted_out("13800000000", ChannelKind.SMS)
        assert reg.opt_out("13800000000", ChannelKind.SMS, at=AT)
