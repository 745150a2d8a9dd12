"""Behaviour events: validation, the columnar EventLog, windows and the CSV reader."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import (
    DataFormatErrorGroup,
    Event,
    EventKind,
    EventLog,
    InvalidTypeError,
    InvalidValueError,
    UnknownCustomerError,
    Window,
)
from ecrm.testing import event_logs, events

SH = ZoneInfo("Asia/Shanghai")
MAY_1 = dt.datetime(2025, 5, 1, tzinfo=SH)


def at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2025, 6, day, hour, tzinfo=SH)


def test_event_validation() -> None:
    assert Event(1, at(1), "加购").kind is EventKind.CART
    assert Event("c", at(1), "浏览", "TEA").kind is EventKind.BROWSE
    assert Event("c", at(1), "收藏").kind is EventKind.FAVORITE
    with pytest.raises(InvalidValueError) as info:
        Event(1, at(1), "buy")
    assert info.value.field == "kind"
    with pytest.raises(InvalidValueError) as info:
        Event(1, dt.datetime(2025, 6, 1), EventKind.CART)
    assert info.value.field == "at"
    with pytest.raises(InvalidValueError):
        Event("", at(1), EventKind.CART)
    with pytest.raises(InvalidTypeError):
        Event(1, at(1), EventKind.CART, None)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        Event(True, at(1), EventKind.CART)


def _small() -> EventLog:
    return EventLog.from_events(
        [
            Event("b", at(3), EventKind.CART, "TEA"),
            Event("a", at(18), EventKind.BROWSE, ""),
            Event("b", at(1), EventKind.BROWSE, "TEA"),
            Event("c", at(19), EventKind.CART, "SNK"),
            Event("a", at(2), EventKind.FAVORITE, "SNK"),
        ]
    )


def test_log_is_sorted_by_customer_then_time() -> None:
    log = _small()
    assert log.customer_ids.tolist() == ["a", "b", "c"]
    assert log.customer_starts.tolist() == [0, 2, 4, 5]
    assert [(e.customer_id, e.at.day) for e in log] == [
        ("a", 2),
        ("a", 18),
        ("b", 1),
        ("b", 3),
        ("c", 19),
    ]
    assert log.kind_codes.tolist() == [2, 0, 0, 1, 1]
    assert log.skus.tolist() == ["SNK", "", "TEA", "TEA", "SNK"]
    assert log.customer_rows("b") == slice(2, 4)
    assert log.event_at(3) == Event("b", at(3), EventKind.CART, "TEA")
    with pytest.raises(UnknownCustomerError):
        log.customer_rows("z")
    with pytest.raises(UnknownCustomerError):
        log.customer_rows(1)
    assert repr(log) == (
        "EventLog(5 events (2 browse, 2 cart, 1 favorite), 3 customers, tz='Asia/Shanghai')"
    )


def test_customers_with_uses_half_open_windows() -> None:
    log = _small()
    assert log.customers_with(EventKind.CART).tolist() == ["b", "c"]
    assert log.customers_with("cart", window=Window(at(1), at(19))).tolist() == ["b"]
    assert log.customers_with("cart", window=Window(at(3), at(19, 13))).tolist() == ["b", "c"]
    assert log.customers_with("cart", window=Window(at(3, 13), at(30))).tolist() == ["c"]
    assert log.customers_with(window=Window(MAY_1, at(2))).tolist() == ["b"]
    assert log.customers_with().tolist() == ["a", "b", "c"]
    with pytest.raises(InvalidValueError):
        log.customers_with("buy")


def test_start_end_are_deprecated_open_bounds_of_window() -> None:
    """The old keywords still work, either bound open, with a DeprecationWarning."""
    log = _small()
    with pytest.warns(DeprecationWarning, match=r"customers_with\(\): the keywords start="):
        assert log.customers_with("cart", start=at(3, 13)).tolist() == ["c"]
    with pytest.warns(DeprecationWarning, match=r"window_mask\(\): the keywords start="):
        assert log.window_mask(end=at(2)).tolist() == log.window_mask(
            window=Window(MAY_1, at(2))).tolist()
    with (pytest.warns(DeprecationWarning, match="start=/end="),
          pytest.raises(InvalidValueError, match="start")):
        log.customers_with(start=dt.datetime(2025, 1, 1))
    with pytest.raises(TypeError, match="got window= and its deprecated start=/end="):
        log.customers_with(window=Window(at(1), at(2)), start=at(1))


def test_select() -> None:
    log = _small()
    sub = log.select(log.kind_codes == EventKind.CART.code)
    assert sub.customer_ids.tolist() == ["b", "c"]
    assert sub.customer_starts.tolist() == [0, 1, 2]
    with pytest.raises(InvalidValueError):
        log.select(np.ones(2, dtype=bool))


def test_from_arrays_accepts_codes_names_and_datetime64() -> None:
    log = EventLog.from_arrays(
        np.array([2, 1, 2]),
        np.array(
            ["2025-06-01T10:00", "2025-06-02T10:00", "2025-05-01T10:00"], dtype="datetime64[us]"
        ),
        np.array([1, 1, 0]),
        skus=["a", None, ""],
        tz="Asia/Shanghai",
    )
    assert list(log) == [
        Event(1, dt.datetime(2025, 6, 2, 10, tzinfo=SH), EventKind.CART, ""),
        Event(2, dt.datetime(2025, 5, 1, 10, tzinfo=SH), EventKind.BROWSE, ""),
        Event(2, dt.datetime(2025, 6, 1, 10, tzinfo=SH), EventKind.CART, "a"),
    ]


def test_from_arrays_reports_every_bad_cell() -> None:
    with pytest.raises(DataFormatErrorGroup) as info:
        EventLog.from_arrays(
            ["a", "", "c"],
            [at(1), dt.datetime(2025, 1, 1), None],  # type: ignore[list-item]
            ["cart", "buy", EventKind.BROWSE],
        )
    found = {(e.field, e.line) for e in info.value.problems}  # type: ignore[attr-defined]
    assert found == {("customer_ids", 1), ("at", 1), ("at", 2), ("kinds", 1)}
    with pytest.raises(DataFormatErrorGroup):
        EventLog.from_arrays([1], [at(1)], np.array([3]))
    with pytest.raises(InvalidValueError, match="same length"):
        EventLog.from_arrays([1, 2], [at(1)], ["cart"])
    with pytest.raises(InvalidValueError):
        EventLog.from_arrays([1], np.array(["2025-06-01"], dtype="datetime64[us]"), ["cart"])


def test_empty_log() -> None:
    log = EventLog.from_arrays([], [], [])
    assert len(log) == 0
    assert log.customers_with(EventKind.CART).size == 0
    assert EventLog.from_events([]).n_customers == 0


def test_from_csv(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "customer_id,at,kind,sku\n"
        "c1,2025-06-01 10:00:00,加购,TEA-LJ\n"
        "c1,2025-05-01T10:00:00+08:00,browse,\n"
        "\n"
        "c2,2025-06-03 09:00,收藏,SNK-TS\n",
        encoding="utf-8",
    )
    log = EventLog.from_csv(path)
    assert list(log) == [
        Event("c1", dt.datetime(2025, 5, 1, 10, tzinfo=SH), EventKind.BROWSE, ""),
        Event("c1", dt.datetime(2025, 6, 1, 10, tzinfo=SH), EventKind.CART, "TEA-LJ"),
        Event("c2", dt.datetime(2025, 6, 3, 9, tzinfo=SH), EventKind.FAVORITE, "SNK-TS"),
    ]


def test_from_csv_reports_bad_rows_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "buyer,time,what\nc1,2025-06-01 10:00,cart\n,2025-06-01 10:00,cart\nc3,yesterday,buy\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFormatErrorGroup) as info:
        EventLog.from_csv(path, columns={"customer_id": "buyer", "at": "time", "kind": "what"})
    found = [(e.line, e.column) for e in info.value.problems]  # type: ignore[attr-defined]
    assert found == [(3, "buyer"), (4, "time"), (4, "what")]
    with pytest.raises(DataFormatErrorGroup) as info:
        EventLog.from_csv(path)
    assert {e.column for e in info.value.problems} == {"customer_id", "at", "kind"}  # type: ignore[attr-defined]


@given(st.lists(events(max_customers=6), max_size=30), st.data())
def test_log_matches_plain_python(rows: list[Event], data: st.DataObject) -> None:
    log = EventLog.from_events(rows)
    # Compare instants (timestamps): a time in a DST fold never equals its copy in another
    # zone (PEP 495), though it is the same instant.
    expected = sorted(rows, key=lambda e: (str(e.customer_id), e.at.timestamp()))
    assert [(e.customer_id, e.at.timestamp(), e.kind, e.sku) for e in log] == [
        (e.customer_id, e.at.timestamp(), e.kind, e.sku) for e in expected
    ]
    start = dt.datetime(2023, 1, 1, tzinfo=SH).timestamp()
    end = dt.datetime(2025, 1, 1, tzinfo=SH).timestamp()
    kind = data.draw(st.sampled_from(list(EventKind)))
    want = sorted(
        {e.customer_id for e in rows if e.kind is kind and start <= e.at.timestamp() < end}, key=str
    )
    got = log.customers_with(
        kind, window=Window(dt.datetime(2023, 1, 1, tzinfo=SH), dt.datetime(2025, 1, 1, tzinfo=SH))
    )
    assert got.tolist() == want


@given(event_logs(max_size=30))
def test_csr_offsets_are_consistent(log: EventLog) -> None:
    counts = np.diff(log.customer_starts)
    assert counts.sum() == len(log)
    assert (counts > 0).all()
    assert (np.repeat(np.arange(log.n_customers), counts) == log.customer_codes).all()
    same = log.customer_codes[1:] == log.customer_codes[:-1]
    assert (log.at_us[1:][same] >= log.at_us[:-1][same]).all()


def test_from_type_draws_registered_strategies() -> None:
    @settings(max_examples=5)
    @given(st.from_type(Event), st.from_type(EventLog))
    def check(e: Event, log: EventLog) -> None:
        assert isinstance(e, Event)
        assert isinstance(log, EventLog)

    check()


def test_columns_are_read_only_but_callers_arrays_are_untouched() -> None:
    ids = np.array([1, 2])
    skus = np.array(["a", "b"])
    log = EventLog.from_arrays(ids, [at(1), at(2)], ["cart", "browse"], skus=skus)
    assert ids.flags.writeable
    assert skus.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        log.at_us[0] = 0


def test_from_csv_cells_are_parsed_a_column_at_a_time(tmp_path: Path) -> None:
    """Kinds and times of many rows: labels, offsets and DST, bad cells on their lines."""
    path = tmp_path / "events.csv"
    path.write_text(
        "customer_id,at,kind,sku\n"
        "c1,2025-06-01 10:00,加购,TEA\n"
        "c1,2025-06-01T03:00:00Z, 收藏 ,\n"
        "c2,2025-06-01,VIEW,\n",
        encoding="utf-8",
    )
    log = EventLog.from_csv(path)
    assert list(log) == [
        Event("c1", dt.datetime(2025, 6, 1, 10, tzinfo=SH), EventKind.CART, "TEA"),
        Event("c1", dt.datetime(2025, 6, 1, 11, tzinfo=SH), EventKind.FAVORITE, ""),
        Event("c2", dt.datetime(2025, 6, 1, tzinfo=SH), EventKind.BROWSE, ""),
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,at,kind\n" + "".join(
        f"c{i},2025-06-01 10:00,{'buy' if i % 2 else 'cart'}\n" for i in range(50)
    ) + "c99,2025-02-30 10:00,cart\n", encoding="utf-8")
    with pytest.raises(DataFormatErrorGroup) as info:
        EventLog.from_csv(bad)
    problems = info.value.exceptions  # type: ignore[attr-defined]
    # 25 bad kinds on lines 3, 5, ..., 51: 20 listed in line order, Feb 30 on line 52, then
    # one summary of the 5 kinds not listed (from line 43 on)
    kind_lines = [e.line for e in problems if e.column == "kind"]
    assert kind_lines == [*range(3, 43, 2), 43]
    assert problems[-1].value == "... and 5 more rows"
    assert [(e.line, e.column) for e in problems if e.column == "at"] == [(52, "at")]


def test_from_csv_wall_times_follow_the_dst_rule(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("customer_id,at,kind\nc1,2024-03-10 02:30,browse\nc2,2024-11-03 01:30,cart\n",
                    encoding="utf-8")
    log = EventLog.from_csv(path, tz="America/New_York")
    utc = [e.at.astimezone(dt.UTC).replace(tzinfo=None) for e in log]
    # gap: 02:30 -> 03:30 EDT = 07:30 UTC; fold: 01:30 EDT (the earlier) = 05:30 UTC
    assert utc == [dt.datetime(2024, 3, 10, 7, 30), dt.datetime(2024, 11, 3, 5, 30)]
