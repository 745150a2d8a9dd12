"""The in-process channels, batch sends and the adapter seam."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from ecrm import InvalidValueError, Money
from ecrm.tiers import Coupon, CouponCatalog
from ecrm.touch import (
    Accepted,
    Channel,
    ChannelError,
    ChannelKind,
    CouponGrantChannel,
    Failed,
    JsonLinesChannel,
    Message,
    MessageClass,
    MockChannel,
    Recipient,
    RecordingChannel,
    safe_send,
    send_batch,
)

AT = dt.datetime(2026, 11, 11, 10, tzinfo=dt.UTC)


def _msg(i: int, channel: ChannelKind = ChannelKind.SMS, **meta: str) -> Message:
    return Message(f"k{i}", "shipped", MessageClass.CARE, channel,
                   Recipient(f"c{i}", phone=f"138{i:08d}"), f"body {i}", created_at=AT,
                   metadata=meta)


def test_adapters_satisfy_the_protocol(tmp_path: Path) -> None:
    for ch in (RecordingChannel(), MockChannel(lambda m: Accepted()),
               JsonLinesChannel(tmp_path / "x.jsonl"),
               CouponGrantChannel(lambda c, k, m: "g")):
        assert isinstance(ch, Channel)


def test_batch_returns_one_receipt_per_message_in_order() -> None:
    def handler(m: Message) -> Accepted | Failed:
        return Failed("bad number", transient=False) if m.key == "k1" else Accepted(m.key)

    results = send_batch(MockChannel(handler), [_msg(0), _msg(1), _msg(2)])
    assert [(m.key, r) for m, r in results] == [
        ("k0", Accepted("k0")),
        ("k1", Failed("bad number", transient=False)),
        ("k2", Accepted("k2")),
    ]


def test_adapter_exceptions_become_failures_for_that_message_only() -> None:
    def handler(m: Message) -> Accepted:
        if m.key == "k0":
            raise ConnectionResetError("peer reset")
        if m.key == "k1":
            raise InvalidValueError("phone", "is not mobile", "x")
        if m.key == "k2":
            raise ChannelError("quota used up", transient=False)
        return Accepted("ok")

    receipts = [r for _, r in send_batch(MockChannel(handler), [_msg(i) for i in range(4)])]
    assert isinstance(receipts[0], Failed)
    assert receipts[0].transient
    assert "peer reset" in receipts[0].reason
    assert receipts[1] == Failed("InvalidValueError: phone is not mobile, got 'x'",
                                 transient=False)
    assert receipts[2] == Failed("ChannelError: quota used up", transient=False)
    assert receipts[3] == Accepted("ok")


def test_a_non_receipt_answer_is_a_permanent_failure() -> None:
    r = safe_send(MockChannel(lambda m: True), _msg(0))  # type: ignore[arg-type,return-value]
    assert r == Failed("adapter returned bool, not a Receipt", transient=False)


def test_recording_channel_results_and_dedupe() -> None:
    ch = RecordingChannel()
    ch.send(_msg(0))
    ch.send(_msg(0))
    assert ch.keys == ["k0", "k0"]
    assert [r for _, r in ch.calls] == [Accepted("rec-1"), Accepted("rec-2")]

    dd = RecordingChannel(dedupe=True)
    assert dd.send(_msg(0)) == dd.send(_msg(0)) == Accepted("rec-1")
    assert dd.keys == ["k0"]
    assert len(dd.calls) == 2

    failing = RecordingChannel(Failed("down", transient=True))
    assert failing.send(_msg(0)) == Failed("down", transient=True)
    assert failing.sent == []

    by_key = RecordingChannel(lambda m: Accepted(m.key.upper()))
    assert by_key.send(_msg(3)) == Accepted("K3")


def test_receipts_are_typed() -> None:
    assert Accepted("x").ok
    assert not Failed("y", transient=True).ok
    with pytest.raises(TypeError):
        Failed("y", transient="yes")  # type: ignore[arg-type]


def test_json_lines_channel_appends_masked_lines(tmp_path: Path) -> None:
    path = tmp_path / "dry.jsonl"
    ch = JsonLinesChannel(path, fsync=True)
    assert ch.send(_msg(1)) == Accepted("jsonl:k1")
    assert ch.send(_msg(2)) == Accepted("jsonl:k2")
    lines = [json.loads(x) for x in path.read_text("utf-8").splitlines()]
    assert [x["key"] for x in lines] == ["k1", "k2"]
    assert lines[0]["to"] == "138****0001"
    assert "13800000001" not in path.read_text("utf-8")
    raw = JsonLinesChannel(tmp_path / "raw.jsonl", mask=False)
    raw.send(_msg(1))
    assert json.loads((tmp_path / "raw.jsonl").read_text("utf-8"))["to"] == "13800000001"


def test_json_lines_channel_starts_a_new_line_after_a_killed_writers_fragment(
        tmp_path: Path) -> None:
    """A kill -9 can stop a write between pages, leaving the start of a line (seen in the
    crash test): the next message goes on a line of its own, not glued to the fragment."""
    path = tmp_path / "x.jsonl"
    ch = JsonLinesChannel(path)
    ch.send(_msg(1))
    with path.open("ab") as f:
        f.write(b'{"key": "k2", "message_ty')  # what a killed writer left
    assert ch.send(_msg(3)) == Accepted("jsonl:k3")
    lines = path.read_text("utf-8").splitlines()
    assert len(lines) == 3
    assert json.loads(lines[0])["key"] == "k1"
    assert lines[1] == '{"key": "k2", "message_ty'
    assert json.loads(lines[2])["key"] == "k3"
    ch.send(_msg(4))  # and a whole last line needs no new one
    assert [json.loads(x)["key"] for x in path.read_text("utf-8").splitlines()[2:]] == ["k3", "k4"]


def test_json_lines_channel_reports_an_unwritable_path(tmp_path: Path) -> None:
    r = JsonLinesChannel(tmp_path / "missing-dir" / "x.jsonl").send(_msg(1))
    assert isinstance(r, Failed)
    assert r.transient


def test_coupon_grant_channel() -> None:
    granted: list[tuple[str | int, str]] = []

    def grant(customer: str | int, coupon: str, m: Message) -> str:
        if coupon == "GONE":
            raise InvalidValueError("coupon", "is no longer issued", coupon)
        if coupon == "FLAKY":
            raise TimeoutError("catalogue timed out")
        granted.append((customer, coupon))
        return f"grant-{len(granted)}"

    ch = CouponGrantChannel(grant)
    assert ch.send(_msg(1, ChannelKind.COUPON, coupon="NEW10")) == Accepted("grant-1")
    assert granted == [("c1", "NEW10")]
    gone = ch.send(_msg(2, ChannelKind.COUPON, coupon="GONE"))
    assert isinstance(gone, Failed)
    assert not gone.transient
    flaky = ch.send(_msg(3, ChannelKind.COUPON, coupon="FLAKY"))
    assert isinstance(flaky, Failed)
    assert flaky.transient
    assert ch.send(_msg(4, ChannelKind.COUPON)) == Failed(
        "message has no 'coupon' metadata to grant", transient=False)
    wrong = ch.send(_msg(5, ChannelKind.SMS, coupon="NEW10"))
    assert isinstance(wrong, Failed)
    assert not wrong.transient
    assert granted == [("c1", "NEW10")]


def test_coupon_grant_channel_issues_from_the_membership_catalogue() -> None:
    catalog = CouponCatalog([
        Coupon("C20-200", face_value=Money(2_000), threshold=Money(20_000), valid_days=7),
        Coupon("C5", face_value=Money(500), valid_days=3),
    ])
    issued: list[tuple[str | int, Coupon]] = []

    def issue(customer: str | int, coupon_id: str, m: Message) -> str:
        coupon = catalog.get(coupon_id)  # InvalidValueError when it is not in the catalogue
        issued.append((customer, coupon))
        return f"{customer}:{coupon.coupon_id}:{len(issued)}"

    ch = CouponGrantChannel(issue)
    assert ch.send(_msg(1, ChannelKind.COUPON, coupon="C5")) == Accepted("c1:C5:1")
    assert issued == [("c1", catalog.get("C5"))]
    unknown = ch.send(_msg(2, ChannelKind.COUPON, coupon="C99"))
    assert isinstance(unknown, Failed)
    assert not unknown.transient  # retrying cannot make a missing coupon appear
    assert "C99" in unknown.reason
    assert len(issued) == 1
