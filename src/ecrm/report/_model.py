"""The report as plain data: sections of headline metrics, charts, tables and notes.

:func:`~ecrm.report.build_report` fills these from the domain results;
:func:`~ecrm.report.render_html` turns them into one HTML page. Everything here is text
and numbers already formatted for display, so the renderer decides only layout, and
tests can compare the figures without parsing HTML.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from typing import Any, Final, TypeAlias

import attrs
import numpy as np

from ecrm import _validators as _v
from ecrm._time import require_aware
from ecrm.errors import InvalidTypeError, InvalidValueError, _short_repr
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


# The converters make tuples of what they are given and leave anything they cannot convert
# (a value that is not iterable, an item that is not a number) as it is; the field's
# validator then refuses it naming the field (a converter does not know its field).
def _tuple(values: Any, item: Callable[[Any], Any] = lambda v: v) -> Any:
    if isinstance(values, str | bytes):
        return values
    try:
        items = iter(values)
    except TypeError:
        return values
    out = []
    for v in items:
        try:
            out.append(item(v))
        except (TypeError, ValueError, OverflowError):
            out.append(v)
    return tuple(out)


def _strs(values: Iterable[str]) -> tuple[str, ...]:
    return _tuple(values)  # type: ignore[no-any-return]


def _float(value: Any) -> float:
    if isinstance(value, str | bytes):
        raise TypeError("text is not a chart value")
    return float(value)


def _floats(values: Iterable[float]) -> tuple[float, ...]:
    return _tuple(values, _float)  # type: ignore[no-any-return]


def _bools(values: Iterable[bool]) -> tuple[bool, ...]:
    return _tuple(values, bool)  # type: ignore[no-any-return]


def _rows(rows: Iterable[Iterable[str]]) -> tuple[tuple[str, ...], ...]:
    return _tuple(rows, _tuple)  # type: ignore[no-any-return]


def _pairs(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return _tuple(pairs, _tuple)  # type: ignore[no-any-return]


def _series(values: Iterable[tuple[str, Iterable[float]]]) -> tuple[
        tuple[str, tuple[float, ...]], ...]:
    def pair(item: Any) -> Any:
        item = _tuple(item)
        if isinstance(item, tuple) and len(item) == 2:
            return (item[0], _floats(item[1]))
        return item

    return _tuple(values, pair)  # type: ignore[no-any-return]


def _id(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return str(value)
    raise TypeError("a customer id is a str or an int")  # str() of a nested list may recurse


def _id_lists(values: Iterable[Iterable[str]]) -> tuple[tuple[str, ...], ...]:
    return _tuple(values, lambda ids: _tuple(ids, _id))  # type: ignore[no-any-return]


def _metrics(values: Iterable[Metric]) -> tuple[Metric, ...]:
    return _tuple(values)  # type: ignore[no-any-return]


def _charts(values: Iterable[Chart]) -> tuple[Chart, ...]:
    return _tuple(values)  # type: ignore[no-any-return]


def _tables(values: Iterable[Table]) -> tuple[Table, ...]:
    return _tuple(values)  # type: ignore[no-any-return]


def _sections(values: Iterable[Section]) -> tuple[Section, ...]:
    return _tuple(values)  # type: ignore[no-any-return]


def _tuple_of(member: Any) -> Any:
    """A tuple whose every item passes ``member`` (an ecrm validator), naming the field."""
    return attrs.validators.deep_iterable(member, _v.instance_of(tuple))


_TEXTS: Final = _tuple_of(_v.instance_of(str))
_TEXT_ROWS: Final = _tuple_of(_tuple_of(_v.instance_of(str)))


def _finite(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not (isinstance(value, float) and math.isfinite(value)):
        raise InvalidValueError(attribute.name, "must hold finite numbers", value)


_NUMBERS: Final = _tuple_of(_finite)


def _series_item(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not (isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str)):
        raise InvalidTypeError(f"{attribute.name} must hold (name, values) pairs, "
                               f"got {type(value).__name__} {_short_repr(value)}")
    _NUMBERS(instance, attribute, value[1])


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
    _v.check_instance(attribute.name, value, str)
    if value not in ("zh", "en"):
        raise InvalidValueError("lang", "must be 'zh' or 'en'", value)


def _value_kind(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    _v.check_instance(attribute.name, value, str)
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

    caption: str = attrs.field(validator=_v.instance_of(str))
    header: tuple[str, ...] = attrs.field(converter=_strs, validator=_TEXTS)
    rows: tuple[tuple[str, ...], ...] = attrs.field(converter=_rows,
                                                    validator=[_TEXT_ROWS, _same_length])
    numeric: tuple[bool, ...] = attrs.field(default=(), converter=_bools,
                                            validator=_tuple_of(_v.instance_of(bool)))
    customers: tuple[tuple[str, ...], ...] = attrs.field(
        default=(), converter=_id_lists, validator=[_TEXT_ROWS, _one_list_per_row])
    key: str = attrs.field(default="", validator=_v.instance_of(str))

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

    title: str = attrs.field(validator=_v.instance_of(str))
    labels: tuple[str, ...] = attrs.field(converter=_strs, validator=_TEXTS)
    values: tuple[float, ...] = attrs.field(converter=_floats, validator=_NUMBERS)
    value_label: str = attrs.field(default="", validator=_v.instance_of(str))
    horizontal: bool = attrs.field(default=False, validator=_v.instance_of(bool))
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

    title: str = attrs.field(validator=_v.instance_of(str))
    labels: tuple[str, ...] = attrs.field(converter=_strs, validator=_TEXTS)
    series: tuple[tuple[str, tuple[float, ...]], ...] = attrs.field(
        converter=_series, validator=[_tuple_of(_series_item), _same_series_length])
    value_label: str = attrs.field(default="", validator=_v.instance_of(str))
    value_kind: str = attrs.field(default="number", validator=_value_kind)


@attrs.frozen
class LineChart:
    """One line per series over shared periods (e.g. sales per quarter, this year and last).

    Attributes: as for :class:`StackedBarChart`.
    """

    title: str = attrs.field(validator=_v.instance_of(str))
    labels: tuple[str, ...] = attrs.field(converter=_strs, validator=_TEXTS)
    series: tuple[tuple[str, tuple[float, ...]], ...] = attrs.field(
        converter=_series, validator=[_tuple_of(_series_item), _same_series_length])
    value_label: str = attrs.field(default="", validator=_v.instance_of(str))
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

    title: str = attrs.field(validator=_v.instance_of(str))
    labels: tuple[str, ...] = attrs.field(converter=_strs, validator=_TEXTS)
    values: tuple[float, ...] = attrs.field(converter=_floats, validator=_NUMBERS)
    shares: tuple[str, ...] = attrs.field(default=(), converter=_strs, validator=_TEXTS)

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

    title: str = attrs.field(validator=_v.instance_of(str))
    cycle: RepurchaseCycle = attrs.field(validator=_v.instance_of(RepurchaseCycle))
    x_label: str = attrs.field(default="days from first purchase to first repurchase",
                               validator=_v.instance_of(str))
    y_label: str = attrs.field(default="share of repurchasers", validator=_v.instance_of(str))


Chart: TypeAlias = BarChart | StackedBarChart | LineChart | FunnelChart | CycleChart
_CHART_TYPES: Final = (BarChart, StackedBarChart, LineChart, FunnelChart, CycleChart)


def _two_each(instance: object, attribute: attrs.Attribute[Any],
              value: tuple[tuple[str, ...], ...]) -> None:
    for i, pair in enumerate(value):
        if len(pair) != 2:
            raise InvalidValueError(f"{attribute.name}[{i}]", "must be an (against, change) pair",
                                    pair)


def _aware(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    require_aware(value, attribute.name)


@attrs.frozen
class Metric:
    """A headline number and how it compares.

    Attributes:
        label: what it is (``"sales"``).
        value: the formatted value (``"¥12,345.00"``).
        comparisons: ``(against, change)`` pairs, e.g. ``("vs 2025-10", "+4.2%")``.
    """

    label: str = attrs.field(validator=_v.instance_of(str))
    value: str = attrs.field(validator=_v.instance_of(str))
    comparisons: tuple[tuple[str, str], ...] = attrs.field(
        default=(), converter=_pairs, validator=[_TEXT_ROWS, _two_each])


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

    key: str = attrs.field(validator=_v.instance_of(str))
    title: str = attrs.field(validator=_v.instance_of(str))
    summary: str = attrs.field(default="", validator=_v.instance_of(str))
    metrics: tuple[Metric, ...] = attrs.field(default=(), converter=_metrics,
                                              validator=_tuple_of(_v.instance_of(Metric)))
    charts: tuple[Chart, ...] = attrs.field(default=(), converter=_charts,
                                            validator=_tuple_of(_v.instance_of(_CHART_TYPES)))
    tables: tuple[Table, ...] = attrs.field(default=(), converter=_tables,
                                            validator=_tuple_of(_v.instance_of(Table)))
    notes: tuple[str, ...] = attrs.field(default=(), converter=_strs, validator=_TEXTS)


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

    title: str = attrs.field(validator=_v.instance_of(str))
    store_name: str = attrs.field(validator=_v.instance_of(str))
    as_of: dt.datetime = attrs.field(validator=_aware)
    tz: str = attrs.field(validator=_v.instance_of(str))
    source: str = attrs.field(validator=_v.instance_of(str))
    sections: tuple[Section, ...] = attrs.field(converter=_sections,
                                                validator=_tuple_of(_v.instance_of(Section)))
    version: str = attrs.field(default="", validator=_v.instance_of(str))
    lang: str = attrs.field(default="en", validator=_lang)
    currency: str = attrs.field(default="CNY", validator=_v.instance_of(str))

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
