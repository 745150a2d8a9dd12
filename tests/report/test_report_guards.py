"""The report's model and entry points refuse values of the wrong type with ecrm errors
naming the field (issue 17; each once let an AttributeError, a ValueError or an
OverflowError escape, found by tests/core/test_fuzz_public_api.py)."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.report import (
    BarChart,
    LineChart,
    Metric,
    Report,
    Section,
    StackedBarChart,
    Table,
    plan_day,
    render_html,
)

SH = ZoneInfo("Asia/Shanghai")


def _deep(depth: int) -> list[object]:
    value: list[object] = []
    for _ in range(depth):
        value = [value]
    return value


def test_bar_chart_of_text_or_nan_values_names_values() -> None:
    with pytest.raises(InvalidTypeError, match=r"^values must be tuple, got str 'x'$"):
        BarChart("t", [], "x")  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match=r"^values must hold finite numbers, got 'x'$"):
        BarChart("t", ["a"], ["x"])  # type: ignore[list-item]
    with pytest.raises(InvalidValueError, match=r"^values must hold finite numbers, got nan$"):
        BarChart("t", ["a"], [math.nan])
    assert BarChart("t", ["a", "b"], [1, 2.5]).values == (1.0, 2.5)


def test_bar_chart_labels_that_are_not_text_name_labels() -> None:
    with pytest.raises(InvalidTypeError, match=r"^labels must be str, got int 1$"):
        BarChart("t", [1], [1.0])  # type: ignore[list-item]
    with pytest.raises(InvalidTypeError, match=r"^labels must be tuple, got str 'ab'$"):
        BarChart("t", "ab", [1.0, 2.0])


def test_line_and_stacked_charts_refuse_series_that_are_not_pairs() -> None:
    with pytest.raises(InvalidTypeError, match=r"^series must hold \(name, values\) pairs, got"):
        LineChart("t", ["a"], _deep(2000))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^series must hold \(name, values\) pairs, got"):
        StackedBarChart("t", ["a"], {"a": 1})  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match=r"^series\[0\] must have one value per label"):
        StackedBarChart("t", ["a", "b"], [("s", [1.0])])


def test_table_with_nested_customer_lists_is_refused_without_recursing() -> None:
    with pytest.raises(InvalidTypeError, match=r"^customers must be "):
        Table("c", ["h"], [], customers=_deep(2000))  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^rows must be str, got int 5$"):
        Table("c", ["h"], [[5]])  # type: ignore[list-item]


def test_metric_section_and_report_fields_of_the_wrong_type_are_named() -> None:
    with pytest.raises(InvalidTypeError, match=r"^value must be str, got int 5$"):
        Metric("sales", 5)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match=r"^comparisons\[0\] must be an \(against, "
                                                r"change\) pair"):
        Metric("sales", "5", [("vs last month",)])  # type: ignore[list-item]
    with pytest.raises(InvalidTypeError, match=r"^charts must be BarChart or StackedBarChart"):
        Section("k", "K", charts=["chart"])  # type: ignore[list-item]
    with pytest.raises(InvalidTypeError, match=r"^sections must be Section, got int 1$"):
        Report("r", "s", dt.datetime(2025, 1, 1, tzinfo=SH), "Asia/Shanghai", "", [1])  # type: ignore[list-item]
    with pytest.raises(InvalidTypeError, match=r"^as_of must be"):
        Report("r", "s", None, "Asia/Shanghai", "", [])  # type: ignore[arg-type]


def test_render_html_of_something_not_a_report_names_report() -> None:
    with pytest.raises(InvalidTypeError, match=r"^report must be Report, got NoneType None$"):
        render_html(None)  # type: ignore[arg-type]
    report = Report("r", "s", dt.datetime(2025, 1, 1, tzinfo=SH), "Asia/Shanghai", "", [])
    with pytest.raises(InvalidTypeError, match=r"^charts must be bool, got str 'yes'$"):
        render_html(report, charts="yes")  # type: ignore[arg-type]


def test_plan_day_refuses_none_and_the_end_of_time_naming_as_of() -> None:
    with pytest.raises(InvalidTypeError, match=r"^as_of must be"):
        plan_day(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match=r"^as_of "):
        plan_day(dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.UTC))
    assert plan_day(dt.datetime(2025, 1, 1, tzinfo=SH)) == dt.date(2025, 1, 1)
    assert plan_day(dt.datetime(2025, 1, 1, 9, tzinfo=SH)) == dt.date(2025, 1, 2)


def test_chart_value_kind_that_is_an_array_names_value_kind() -> None:
    """``value_kind in VALUE_KINDS`` with an array was numpy's ambiguous-truth ValueError."""
    with pytest.raises(InvalidTypeError, match=r"^value_kind must be str, got ndarray"):
        LineChart("t", [], [], value_kind=np.array([1.0, math.nan]))  # type: ignore[arg-type]
