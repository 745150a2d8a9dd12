"""Messages, recipients, masking."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecrm import InvalidTypeError, InvalidValueError, mask_email, mask_phone
from ecrm.testing import messages
from ecrm.touch import ChannelKind, Message, MessageClass, Recipient

AT = dt.datetime(2026, 11, 11, 10, tzinfo=dt.UTC)


@pytest.mark.parametrize("name", ["mask_email", "mask_phone", "normalize_phone"])
def test_phone_and_mask_functions_have_one_home_and_touch_keeps_a_deprecated_alias(
    name: str,
) -> None:
    # one phone rule in all of ecrm: the core's functions; the old touch path warns
    import ecrm.touch

    assert name not in ecrm.touch.__all__
    with pytest.warns(DeprecationWarning, match=rf"ecrm\.touch\.{name} is deprecated.*ecrm\.{name}"):
        old = getattr(ecrm.touch, name)
    assert old is getattr(ecrm, name)


@pytest.mark.parametrize(
    ("raw", "norm"),
    [("13800000000", "13800000000"), ("+86 138-0000-0000", "13800000000"),
     ("0086 13800000000", "13800000000"), ("8613912345678", "13912345678")],
)
def test_recipient_phones_are_normalised_mainland_mobiles(raw: str, norm: str) -> None:
    assert Recipient("c1", phone=raw).phone == norm


# SMS follows mainland China's rules: landlines, foreign and short numbers are refused
@pytest.mark.parametrize("raw", ["", "abc", "12", "+", "1" * 21, "(010) 1234-5678",
                                 "+1 212 555 0100", "12800000000", "1380000000"])
def test_bad_phones_are_refused_with_the_number_masked(raw: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        Recipient("c1", phone=raw)
    if len(raw) > 7:
        assert raw not in str(info.value)


def test_masks() -> None:
    assert mask_phone("13800000000") == "138****0000"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("12345") == "*****"  # short numbers are hidden whole
    assert mask_email("alice@example.com") == "a***@example.com"
    assert mask_email("@example.com") == "***@example.com"


def test_recipient_repr_masks_contact_data() -> None:
    r = Recipient("c1", phone="13812345678", email="alice@example.com", tz="Asia/Shanghai")
    text = repr(r)
    assert "13812345678" not in text
    assert "alice" not in text
    assert "138****5678" in text
    assert "a***@example.com" in text


def test_message_repr_and_logs_mask_the_phone(caplog: pytest.LogCaptureFixture) -> None:
    m = Message("k", "shipped", MessageClass.CARE, ChannelKind.SMS,
                Recipient("c1", phone="13812345678"), "已发货", created_at=AT)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").info("message %r to %s", m, m.masked_address)
    assert "13812345678" not in caplog.text
    assert "138****5678" in caplog.text


@pytest.mark.parametrize(
    "kwargs",
    [
        {"key": ""},
        {"key": "  "},
        {"message_type": ""},
        {"created_at": dt.datetime(2026, 1, 1)},
        {"not_before": dt.datetime(2026, 1, 1)},
    ],
)
def test_bad_messages_are_refused(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {
        "key": "k", "message_type": "t", "message_class": MessageClass.CARE,
        "channel": ChannelKind.SMS, "recipient": Recipient("c1", phone="13800000000"),
        "body": "x", "created_at": AT,
    }
    base.update(kwargs)
    with pytest.raises((InvalidValueError, InvalidTypeError)):
        Message(**base)  # type: ignore[arg-type]


def test_recipient_validation() -> None:
    with pytest.raises(InvalidTypeError):
        Recipient(True)
    with pytest.raises(InvalidValueError):
        Recipient("")
    with pytest.raises(InvalidValueError, match="IANA"):
        Recipient("c1", tz="Mars/Base")
    with pytest.raises(InvalidValueError, match=r"name@example\.com"):
        Recipient("c1", email="not-an-email")


def test_address_per_channel_and_metadata() -> None:
    r = Recipient(7, phone="13800000000", email="a@b.cn")
    def mk(ch: ChannelKind) -> Message:
        return Message("k", "t", MessageClass.CARE, ch, r, "x", created_at=AT,
                       metadata={"coupon": "NEW10", "a": "1"})
    assert mk(ChannelKind.SMS).address == "13800000000"
    assert mk(ChannelKind.EMAIL).address == "a@b.cn"
    assert mk(ChannelKind.IN_APP).address == "7"
    m = mk(ChannelKind.COUPON)
    assert m.metadata == (("a", "1"), ("coupon", "NEW10"))
    assert m.meta("coupon") == "NEW10"
    assert m.meta("missing", "d") == "d"


def _same_time(a: dt.datetime | None, b: dt.datetime | None) -> bool:
    """Same instant, same offset, same zone name (independent of datetime ``==``)."""
    if a is None or b is None:
        return a is b
    return (a.timestamp() == b.timestamp() and a.utcoffset() == b.utcoffset()
            and getattr(a.tzinfo, "key", None) == getattr(b.tzinfo, "key", None))


@given(messages())
def test_message_dict_round_trip(m: Message) -> None:
    back = Message.from_dict(m.to_dict())
    assert back == m
    assert _same_time(back.created_at, m.created_at)
    assert _same_time(back.not_before, m.not_before)


# 2024-10-27 in Berlin: 02:00-03:00 happens twice (CEST +02:00, then CET +01:00)
@pytest.mark.parametrize("fold", [0, 1])
@pytest.mark.parametrize("zone", ["cached", "no_cache", "fixed"])
def test_round_trip_in_a_dst_fold_keeps_instant_offset_and_zone(fold: int, zone: str) -> None:
    tz: dt.tzinfo = {
        "cached": ZoneInfo("Europe/Berlin"),
        # a distinct tzinfo object: datetime == would call fold times unequal (PEP 495)
        "no_cache": ZoneInfo.no_cache("Europe/Berlin"),
        "fixed": dt.timezone(dt.timedelta(hours=2 - fold)),
    }[zone]
    at = dt.datetime(2024, 10, 27, 2, 0, tzinfo=tz, fold=fold)
    m = Message("k", "t", MessageClass.CARE, ChannelKind.IN_APP, Recipient("c1"), "x",
                created_at=at, not_before=at + dt.timedelta(minutes=30))
    back = Message.from_dict(m.to_dict())
    assert back == m
    assert hash(back) == hash(m)
    assert back.created_at.utcoffset() == dt.timedelta(hours=2 - fold)
    assert back.created_at.timestamp() == at.timestamp()
    assert back.created_at.fold == (fold if zone != "fixed" else 0)
    if zone != "fixed":
        assert back.created_at.tzinfo == ZoneInfo("Europe/Berlin")
    # a message created an hour later (the other pass through 02:00) is a different one
    other = attrs.evolve(m, created_at=at.replace(fold=1 - fold) if zone != "fixed" else
                         at + dt.timedelta(hours=1))
    assert other != m


def test_from_dict_reports_bad_input() -> None:
    with pytest.raises(InvalidValueError, match="not a valid message"):
        Message.from_dict({"key": "k"})


@given(st.from_type(Message))
def test_messages_are_registered_for_from_type(m: Message) -> None:
    assert isinstance(m, Message)
