"""The report as plain data: sections of headline metrics, charts, tables and notes.

:func:`~ecrm.report.build_report` fills these from the domain results;
:func:`~ecrm.report.render_html` turns them into one HTML page. Everything here is text
and numbers already formatted for display, so the renderer decides only layout, and
tests can compare the figures without parsing HTML.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final, TypeAlias

import attrs

from ecrm.errors import InvalidValueError
from ecrm.lifecycle import RepurchaseCycle

__all__ = [
    "BarChart",
    "Chart",
    "CycleChart",
    "FunnelChart",
    "LineChart",
    "Metric",
    "Report",
    "Section",
    "StackedBarChart",
    "Table",
]

#: How a chart's values are written: plain numbers, money in major units (yuan), shares.
VALUE_KINDS: Final = ("number", "money", "percent")


def _strs(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _floats(values: Iterable[float]) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def _bools(values: Iterable[bool]) -> tuple[bool, ...]:
    return tuple(bool(v) for v in values)


def _rows(rows: Iterable[Iterable[str]]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(r) for r in rows)


def _pairs(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((a, b) for a, b in pairs)


def _series(values: Iterable[tuple[str, Iterable[float]]]) -> tuple[
        tuple[str, tuple[float, ...]], ...]:
    return tuple((name, _floats(v)) for name, v in values)


def _id_lists(values: Iterable[Iterable[str]]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(str(x) for x in ids) for ids in values)


def _metrics(values: Iterable[Metric]) -> tuple[Metric, ...]:
    return tuple(values)


def _charts(values: Iterable[Chart]) -> tuple[Chart, ...]:
    return tuple(values)


def _tables(values: Iterable[Table]) -> tuple[Table, ...]:
    return tuple(values)


def _sections(values: Iterable[Section]) -> tuple[Section, ...]:
    return tuple(values)


def _same_length(instance: Table, attribute: attrs.Attribute[object], value: object) -> None:
    width = len(instance.header)
    for i, row in enumerate(instance.rows):
        if len(row) != width:
            raise InvalidValueError(
                f"rows[{i}]", f"must have {width} cells like the header", len(row)
            )
    if instance.numeric and len(instance.numeric) != width:
        raise InvalidValueError("numeric", f"must have {width} flags like the header",
                                len(instance.numeric))


def _one_list_per_row(instance: Table, attribute: attrs.Attribute[Any],
                      value: tuple[tuple[str, ...], ...]) -> None:
    if value and len(value) != len(instance.rows):
        raise InvalidValueError("customers", f"must have one id list per row "
                                f"({len(instance.rows)})", len(value))


def _lang(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in ("zh", "en"):
        raise InvalidValueError("lang", "must be 'zh' or 'en'", value)


def _value_kind(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in VALUE_KINDS:
        raise InvalidValueError(attribute.name, f"must be one of {', '.join(VALUE_KINDS)}",
                                value)


def _same_series_length(instance: Any, attribute: attrs.Attribute[Any],
                        value: tuple[tuple[str, tuple[float, ...]], ...]) -> None:
    for k, (_, values) in enumerate(value):
        if len(values) != len(instance.labels):
            raise InvalidValueError(f"series[{k}]", f"must have one value per label "
                                    f"({len(instance.labels)})", len(values))


@attrs.frozen
class Table:
    """A table of display text.

    Attributes:
        caption: shown above the table.
        header: the column names.
        rows: one tuple of cell texts per row, each as long as ``header``.
        numeric: per column, whether it holds numbers (right-aligned); empty = none.
        customers: per row, the ids of the row's customers (the page offers them as a CSV
            download, ready to upload as a 自定义人群); empty = no downloads.
        key: a stable id of the table (names the downloaded files); empty = none.
    """

    caption: str
    header: tuple[str, ...] = attrs.field(converter=_strs)
    rows: tuple[tuple[str, ...], ...] = attrs.field(converter=_rows, validator=_same_length)
    numeric: tuple[bool, ...] = attrs.field(default=(), converter=_bools)
    customers: tuple[tuple[str, ...], ...] = attrs.field(default=(), converter=_id_lists,
                                                         validator=_one_list_per_row)
    key: str = ""

    def column(self, name: str) -> tuple[str, ...]:
        """The cells of the column called ``name``.

        Raises:
            KeyError: no such column.
        """
        try:
            k = self.header.index(name)
        except ValueError:
            raise KeyError(name) from None
        return tuple(r[k] for r in self.rows)


@attrs.frozen
class BarChart:
    """A bar chart (vertical by default; ``horizontal`` for long labels such as provinces).

    Attributes:
        title: the chart title.
        labels: one label per bar.
        values: one value per bar (counts or yuan).
        value_label: the axis label of the values.
        horizontal: bars run left to right, first label on top.
        value_kind: ``"number"``, ``"money"`` (values in yuan) or ``"percent"`` (shares).
    """

    title: str
    labels: tuple[str, ...] = attrs.field(converter=_strs)
    values: tuple[float, ...] = attrs.field(converter=_floats)
    value_label: str = ""
    horizontal: bool = False
    value_kind: str = attrs.field(default="number", validator=_value_kind)

    @values.validator
    def _check(self, attribute: attrs.Attribute[object], value: tuple[float, ...]) -> None:
        if len(value) != len(self.labels):
            raise InvalidValueError("values", f"must have one value per label "
                                    f"({len(self.labels)})", len(value))


@attrs.frozen
class StackedBarChart:
    """Vertical bars stacked from several series (e.g. customers per tier per month).

    Attributes:
        title: the chart title.
        labels: one label per bar.
        series: ``(name, values)`` pairs, one value per label each, stacked bottom up.
        value_label: the axis label of the values.
        value_kind: as for :class:`BarChart`.
    """

    title: str
    labels: tuple[str, ...] = attrs.field(converter=_strs)
    series: tuple[tuple[str, tuple[float, ...]], ...] = attrs.field(
        converter=_series, validator=_same_series_length)
    value_label: str = ""
    value_kind: str = attrs.field(default="number", validator=_value_kind)


@attrs.frozen
class LineChart:
    """One line per series over shared periods (e.g. sales per quarter, this year and last).

    Attributes: as for :class:`StackedBarChart`.
    """

    title: str
    labels: tuple[str, ...] = attrs.field(converter=_strs)
    series: tuple[tuple[str, tuple[float, ...]], ...] = attrs.field(
        converter=_series, validator=_same_series_length)
    value_label: str = ""
    value_kind: str = attrs.field(default="number", validator=_value_kind)


@attrs.frozen
class FunnelChart:
    """A funnel: one centred bar per stage, as wide as its count.

    Attributes:
        title: the chart title.
        labels: the stages, top to bottom.
        values: one count per stage.
        shares: optional display text per stage (``"12.5%"``); empty = none.
    """

    title: str
    labels: tuple[str, ...] = attrs.field(converter=_strs)
    values: tuple[float, ...] = attrs.field(converter=_floats)
    shares: tuple[str, ...] = attrs.field(default=(), converter=_strs)

    @values.validator
    def _check(self, attribute: attrs.Attribute[object], value: tuple[float, ...]) -> None:
        if len(value) != len(self.labels):
            raise InvalidValueError("values", f"must have one value per label "
                                    f"({len(self.labels)})", len(value))


@attrs.frozen
class CycleChart:
    """The cumulative repurchase curve with the P50 / P70 / P90 boundaries.

    Attributes:
        title: the chart title.
        cycle: the repurchase cycle (its curve and boundaries are drawn).
        x_label, y_label: the axis names.
    """

    title: str
    cycle: RepurchaseCycle
    x_label: str = "days from first purchase to first repurchase"
    y_label: str = "share of repurchasers"


Chart: TypeAlias = BarChart | StackedBarChart | LineChart | FunnelChart | CycleChart


@attrs.frozen
class Metric:
    """A headline number and how it compares.

    Attributes:
        label: what it is (``"sales"``).
        value: the formatted value (``"¥12,345.00"``).
        comparisons: ``(against, change)`` pairs, e.g. ``("vs 2025-10", "+4.2%")``.
    """

    label: str
    value: str
    comparisons: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_pairs)


@attrs.frozen
class Section:
    """One part of the report.

    Attributes:
        key: a stable id (``"grades"``), used as the HTML anchor.
        title: the heading.
        summary: a paragraph under the heading.
        metrics, charts, tables: the content, in display order.
        notes: caveats and definitions shown under the content.
    """

    key: str
    title: str
    summary: str = ""
    metrics: tuple[Metric, ...] = attrs.field(default=(), converter=_metrics)
    charts: tuple[Chart, ...] = attrs.field(default=(), converter=_charts)
    tables: tuple[Table, ...] = attrs.field(default=(), converter=_tables)
    notes: tuple[str, ...] = attrs.field(default=(), converter=_strs)


@attrs.frozen
class Report:
    """A whole shop report as of one moment.

    Attributes:
        title: the page title.
        store_name: the shop's name (may be empty).
        as_of: the moment the report describes (aware); nothing at or after it counts.
        tz: the store zone's name.
        source: where the orders came from (a file name or ``"sample shop"``).
        sections: the sections, in display order.
        version: the ecrm version that built it.
        lang: ``"zh"`` or ``"en"``: the language of the page's own words and number
            formats (万 / 亿 in Chinese).
        currency: the currency of the orders (money in charts).
    """

    title: str
    store_name: str
    as_of: dt.datetime
    tz: str
    source: str
    sections: tuple[Section, ...] = attrs.field(converter=_sections)
    version: str = ""
    lang: str = attrs.field(default="en", validator=_lang)
    currency: str = "CNY"

    def section(self, key: str) -> Section:
        """The section called ``key``.

        Raises:
            KeyError: no such section.
        """
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)

    @property
    def charts(self) -> tuple[Chart, ...]:
        """Every chart of the report, in display order."""
        return tuple(c for s in self.sections for c in s.charts)
