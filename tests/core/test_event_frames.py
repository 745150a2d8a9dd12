"""EventLog and CustomerTable from pandas / polars / arrow: the same values, the same errors."""

from __future__ import annotations

import datetime as dt
import sys
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given

from ecrm import (
    Customer,
    CustomerTable,
    DataFormatErrorGroup,
    EventKind,
    EventLog,
    Gender,
    InvalidTypeError,
    InvalidValueError,
    MissingDependencyError,
    OrderLog,
)
from ecrm.testing import event_logs

pd = pytest.importorskip("pandas")
pl = pytest.importorskip("polars")
pa = pytest.importorskip("pyarrow")

SH = ZoneInfo("Asia/Shanghai")


def _us(when: dt.datetime) -> int:
    """Epoch microseconds by plain datetime arithmetic."""
    delta = when - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _same(a: EventLog, b: EventLog) -> None:
    assert str(a.tz) == str(b.tz)
    for name in ("customer_ids", "customer_starts", "customer_codes", "at_us", "kind_codes",
                 "skus"):
        assert getattr(a, name).tolist() == getattr(b, name).tolist(), name


def _frames(frame: object) -> dict[str, object]:
    return {
        "pandas": frame,
        "polars": pl.from_pandas(frame),
        "arrow": pa.Table.from_pandas(frame, preserve_index=False),
    }


def _build(library: str, frame: object, **kw: object) -> EventLog:
    return getattr(EventLog, f"from_{library}")(frame, **kw)  # type: ignore[no-any-return]


WALL = pd.DataFrame({
    "customer_id": ["b", "a", "a"],
    "at": pd.to_datetime(["2025-05-01 10:00", "2025-05-02 11:00", "2025-05-01 09:00"]),
    "kind": ["browse", "加购", "favorite"],
    "sku": ["TEA-1", None, "TEA-2"],
})


@pytest.mark.parametrize("library", ["pandas", "polars", "arrow"])
def test_naive_times_are_wall_time_in_tz_and_rows_are_sorted(library: str) -> None:
    log = _build(library, _frames(WALL)[library], tz="Asia/Shanghai")
    assert log.customer_ids.tolist() == ["a", "b"]
    assert log.customer_starts.tolist() == [0, 2, 3]
    assert log.at_us.tolist() == [
        _us(dt.datetime(2025, 5, 1, 9, tzinfo=SH)),
        _us(dt.datetime(2025, 5, 2, 11, tzinfo=SH)),
        _us(dt.datetime(2025, 5, 1, 10, tzinfo=SH)),
    ]
    assert log.kind_codes.tolist() == [EventKind.FAVORITE.code, EventKind.CART.code,
                                       EventKind.BROWSE.code]
    assert log.skus.tolist() == ["TEA-2", "", "TEA-1"]
    assert str(log.tz) == "Asia/Shanghai"


@pytest.mark.parametrize("library", ["pandas", "polars", "arrow"])
def test_aware_times_are_converted_exactly_and_naive_ones_need_tz(library: str) -> None:
    aware = WALL.assign(at=WALL["at"].dt.tz_localize("America/New_York"))
    log = _build(library, _frames(aware)[library], tz="UTC")
    assert sorted(log.at_us.tolist()) == sorted(
        _us(dt.datetime(2025, 5, d, h, tzinfo=ZoneInfo("America/New_York")))
        for d, h in ((1, 10), (2, 11), (1, 9))
    )
    assert str(log.tz) == "UTC"
    with pytest.raises(InvalidValueError, match="naive date-times; pass tz="):
        _build(library, _frames(WALL)[library])


@pytest.mark.parametrize("library", ["pandas", "polars", "arrow"])
def test_every_bad_cell_names_the_frame_column(library: str) -> None:
    bad = WALL.assign(customer_id=["", "a", None], kind=["browse", "bought", "cart"],
                      at=[WALL["at"][0], pd.NaT, WALL["at"][2]])
    with pytest.raises(DataFormatErrorGroup) as info:
        _build(library, _frames(bad)[library], tz="UTC")
    found = sorted((p.line, p.column, p.value) for p in info.value.problems)  # type: ignore[attr-defined]
    assert found == [(0, "customer_id", ""), (1, "at", None), (1, "kind", "bought"),
                     (2, "customer_id", None)]
    text = str(info.value)
    assert text.startswith(f"invalid events in <{library}> (4 problem(s)):")
    assert text.count("problem(s)") == 1  # one listing, not a listing inside a listing


def test_renamed_columns_and_int_ids() -> None:
    frame = WALL.rename(columns={"at": "时间", "customer_id": "买家"}).assign(买家=[30, 10, 10])
    log = EventLog.from_pandas(frame, tz="UTC", columns={"at": "时间", "customer_id": "买家"})
    assert log.customer_ids.dtype == np.int64
    assert log.customer_ids.tolist() == [10, 30]
    with pytest.raises(InvalidValueError, match=r"need a column 'at' for at"):
        EventLog.from_pandas(frame, tz="UTC", columns={"customer_id": "买家"})
    with pytest.raises(InvalidValueError, match="may only map the fields"):
        EventLog.from_pandas(frame, tz="UTC", columns={"when": "时间"})


def test_a_missing_package_raises_missing_dependency(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(MissingDependencyError, match="pip install 'ecrm\\[arrow\\]'"):
        EventLog.from_arrow(object())


@given(log=event_logs(max_size=20))
def test_any_event_log_survives_a_round_trip_through_each_frame_library(log: EventLog) -> None:
    at = pd.to_datetime(pd.Series(log.at_us, dtype="int64"), unit="us", utc=True)
    frame = pd.DataFrame({
        "customer_id": log.customer_ids[log.customer_codes],
        "at": at.dt.tz_convert(str(log.tz)),
        "kind": [list(EventKind)[c].value for c in log.kind_codes.tolist()],
        "sku": log.skus,
    })
    for library, f in _frames(frame).items():
        _same(_build(library, f, tz=log.tz), log)


def test_order_frames_list_each_problem_once() -> None:
    frame = pd.DataFrame({"customer_id": ["", "a", None],
                          "placed_at": pd.to_datetime(["2025-05-01"] * 3), "amount": [1, 2, 3]})
    with pytest.raises(DataFormatErrorGroup) as info:
        OrderLog.from_pandas(frame, tz="UTC")
    text = str(info.value)
    assert text.count("problem(s)") == 1
    assert sorted((p.line, p.column) for p in info.value.problems) == [  # type: ignore[attr-defined]
        (0, "customer_id"), (2, "customer_id")]


# -- customer tables from frames ------------------------------------------------------------
PROFILES: dict[str, list[Any]] = {
    "customer_id": ["c2", "c1", "c3"],
    "name": ["王芳", None, "Li Lei"],
    "phone": ["+86 138 0013 8000", None, "13900139000"],
    "email": [None, "a@example.com", None],
    "gender": ["女", None, "m"],
    "birthday": ["02-29", None, "1990-07-01"],
    "province": ["浙江省", None, None],
    "zone": [None, "Europe/Berlin", None],
    "tags": [["tea"], [], ["tea", "vip"]],
    "member_since": [dt.datetime(2025, 1, 1, 10, tzinfo=SH), None,
                     dt.datetime(2025, 3, 1, tzinfo=dt.UTC)],
    "blocked": [False, True, False],
}
EXPECTED_ROWS = {
    "c1": Customer("c1", email="a@example.com", tz="Europe/Berlin", blocked=True),
    "c2": Customer("c2", name="王芳", phone="13800138000", gender=Gender.FEMALE,
                   birthday="02-29", province="浙江省", tags=("tea",),
                   member_since=dt.datetime(2025, 1, 1, 10, tzinfo=SH)),
    "c3": Customer("c3", name="Li Lei", phone="13900139000", gender=Gender.MALE,
                   birthday="1990-07-01", tags=("tea", "vip"),
                   member_since=dt.datetime(2025, 3, 1, tzinfo=dt.UTC)),
}


def _profile_frames() -> dict[str, Any]:
    frame = pd.DataFrame(PROFILES)
    frame["member_since"] = pd.to_datetime(
        [None if v is None else v.astimezone(dt.UTC) for v in PROFILES["member_since"]], utc=True
    ).tz_convert("Asia/Shanghai")
    return {
        "pandas": frame,
        "polars": pl.from_pandas(frame),
        "arrow": pa.Table.from_pandas(frame, preserve_index=False),
    }


@pytest.mark.parametrize("library", ["pandas", "polars", "arrow"])
def test_customer_tables_from_each_frame_library(library: str) -> None:
    frame = _profile_frames()[library]
    table: CustomerTable = getattr(CustomerTable, f"from_{library}")(frame)
    assert table.customer_ids.tolist() == ["c1", "c2", "c3"]
    for cid, want in EXPECTED_ROWS.items():
        assert table.row(cid) == want, cid


@pytest.mark.parametrize("library", ["pandas", "polars", "arrow"])
def test_naive_opt_in_times_are_wall_time_in_tz(library: str) -> None:
    frame = pd.DataFrame({"customer_id": [1, 2],
                          "member_since": pd.to_datetime(["2025-01-01 10:00", None])})
    frames = {"pandas": frame, "polars": pl.from_pandas(frame),
              "arrow": pa.Table.from_pandas(frame, preserve_index=False)}
    table = getattr(CustomerTable, f"from_{library}")(frames[library], tz="Asia/Shanghai")
    assert table.row(1).member_since == dt.datetime(2025, 1, 1, 10, tzinfo=SH)
    assert table.row(2).member_since is None


@pytest.mark.parametrize("library", ["pandas", "polars", "arrow"])
def test_customer_frame_errors(library: str) -> None:
    frame = pd.DataFrame({"customer_id": ["a", "a", ""], "gender": ["f", "x", None]})
    frames = {"pandas": frame, "polars": pl.from_pandas(frame),
              "arrow": pa.Table.from_pandas(frame, preserve_index=False)}
    build = getattr(CustomerTable, f"from_{library}")
    with pytest.raises(DataFormatErrorGroup) as info:
        build(frames[library])
    assert f"<{library}>" in str(info.value)
    assert {p.line for p in info.value.problems} >= {1, 2}  # type: ignore[attr-defined]
    with pytest.raises(InvalidValueError, match="needs a customer_id column"):
        build(frames[library].drop("customer_id") if library == "polars"
              else frames[library].drop(columns=["customer_id"]) if library == "pandas"
              else frames[library].drop_columns(["customer_id"]))
    with pytest.raises(InvalidTypeError):
        build({"customer_id": [1]})
