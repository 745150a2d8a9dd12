"""Strategies for customer profiles and behaviour events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from ecrm._birthday import Birthday
from ecrm._contact import FAKE_PHONE_PREFIX
from ecrm._customer import Customer
from ecrm._customers import CustomerTable
from ecrm._deprecate import renamed_kwarg
from ecrm._events import Event, EventKind, EventLog
from ecrm._gender import Gender
from ecrm.testing._core import CustomerKind, _customer_ids, aware_datetimes, customer_ids

__all__ = ["birthdays", "customer_tables", "customers", "event_logs", "events"]

_TAGS = ("茶友", "直播粉丝", "学生党", "vip", "gift")
_PROVINCES = ("浙江省", "浙江", "广东省", "上海市", "Zhejiang")
_OCCUPATIONS = ("医生", "教师", "学生", "工程师")
_ZONES = ("Asia/Shanghai", "Asia/Tokyo", "America/New_York", "Europe/Berlin")
_SKUS = ("", "TEA-LJ", "TEA-PE", "SNK-TS", "SKN-MM", "APP-HK")


@st.composite
def birthdays(draw: st.DrawFn, *, year_known: bool | None = None) -> Birthday:
    """Valid :class:`Birthday` values, Feb 29 included; the year is known or not
    (``year_known`` forces one or the other)."""
    month = draw(st.integers(min_value=1, max_value=12))
    last = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
    day = draw(st.integers(min_value=1, max_value=last) | st.just(last))
    known = draw(st.booleans()) if year_known is None else year_known
    if not known:
        return Birthday(month, day)
    if (month, day) == (2, 29):
        year = draw(st.integers(min_value=490, max_value=525)) * 4  # leap years 1960..2100
        if year % 100 == 0 and year % 400 != 0:
            year -= 4
        return Birthday(month, day, year)
    return Birthday(month, day, draw(st.integers(min_value=1930, max_value=2015)))


def _fake_phones() -> st.SearchStrategy[str]:
    numbers = st.integers(min_value=0, max_value=9_999_999)
    return numbers.map(lambda k: f"{FAKE_PHONE_PREFIX}{k:07d}")


def _example_email(local: str) -> str:
    return f"{local}@example.com"


@renamed_kwarg("ids", "customer_ids")
@renamed_kwarg("kind", "customer_kind")
@st.composite
def customers(
    draw: st.DrawFn,
    *,
    customer_ids: st.SearchStrategy[str | int] | None = None,
    max_customers: int = 50,
    customer_kind: CustomerKind = "str",
    member_since: st.SearchStrategy[dt.datetime] | None = None,
) -> Customer:
    """Valid :class:`Customer` profiles; optional fields are sometimes missing.

    Phones are drawn from the fake range :data:`ecrm.FAKE_PHONE_PREFIX`, e-mails end in
    ``@example.com``.
    """
    cid = draw(customer_ids if customer_ids is not None
               else _customer_ids(max_customers=max_customers, customer_kind=customer_kind))
    maybe = st.none

    def opt(strategy: st.SearchStrategy[Any]) -> Any:
        return draw(maybe() | strategy)

    return Customer(
        customer_id=cid,
        name=opt(st.sampled_from(["王芳", "李娜", "Alice", "张伟"])),
        phone=opt(_fake_phones()),
        email=opt(st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True).map(_example_email)),
        gender=draw(st.sampled_from(list(Gender))),
        birthday=opt(birthdays()),
        occupation=opt(st.sampled_from(_OCCUPATIONS)),
        province=opt(st.sampled_from(_PROVINCES)),
        city=opt(st.sampled_from(["杭州市", "广州市"])),
        tz=opt(st.sampled_from(_ZONES)),
        tags=draw(st.frozensets(st.sampled_from(_TAGS), max_size=3)),
        member_since=opt(member_since if member_since is not None else aware_datetimes()),
        blocked=draw(st.booleans()),
        marketing_opt_in=draw(st.booleans()),
    )


@renamed_kwarg("kind", "customer_kind")
@st.composite
def customer_tables(
    draw: st.DrawFn,
    *,
    min_size: int = 0,
    max_size: int = 20,
    customer_kind: CustomerKind = "str",
    tz: str = "Asia/Shanghai",
) -> CustomerTable:
    """:class:`CustomerTable` s of ``min_size``..``max_size`` distinct customers."""
    size = draw(st.integers(min_value=min_size, max_value=max_size))
    pool = max(size, 1) * 3
    raw = draw(st.lists(st.integers(min_value=1, max_value=pool), min_size=size, max_size=size,
                        unique=True))
    ids: list[str | int] = list(raw) if customer_kind == "int" else [f"c{i:04d}" for i in raw]
    rows = [draw(customers(customer_ids=st.just(i))) for i in ids]
    return CustomerTable.from_customers(rows, tz=tz)


@renamed_kwarg("kind", "customer_kind")
@st.composite
def events(
    draw: st.DrawFn,
    *,
    max_customers: int = 20,
    customer_kind: CustomerKind = "str",
    at: st.SearchStrategy[dt.datetime] | None = None,
) -> Event:
    """Valid :class:`Event` values."""
    return Event(
        customer_id=draw(customer_ids(max_customers=max_customers, customer_kind=customer_kind)),
        at=draw(at if at is not None else aware_datetimes()),
        kind=draw(st.sampled_from(list(EventKind))),
        sku=draw(st.sampled_from(_SKUS)),
    )


@renamed_kwarg("kind", "customer_kind")
@st.composite
def event_logs(
    draw: st.DrawFn,
    *,
    min_size: int = 0,
    max_size: int = 50,
    max_customers: int = 20,
    customer_kind: CustomerKind = "str",
    at: st.SearchStrategy[dt.datetime] | None = None,
    tz: str = "Asia/Shanghai",
) -> EventLog:
    """:class:`EventLog` s of ``min_size``..``max_size`` events."""
    rows = draw(st.lists(events(max_customers=max_customers, customer_kind=customer_kind, at=at),
                         min_size=min_size, max_size=max_size))
    return EventLog.from_events(rows, tz=tz)
