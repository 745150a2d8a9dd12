"""The report as plain data: sections of headline metrics, charts, tables and notes.

:func:`~ecrm.report.build_report` fills these from the domain results;
:func:`~ecrm.report.render_html` turns them into one HTML page. Everything here is text
and numbers already formatted for display, so the renderer decides only layout, and
tests can compare the figures without parsing HTML.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TypeAlias

import attrs

from ecrm.errors import InvalidValueError
from ecrm.lifecycle import RepurchaseCycle

__all__ = ["BarChart", "Chart", "CycleChart", "Metric", "Report", "Section", "Table"]


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


@attrs.frozen
class Table:
    """A table of display text.

    Attributes:
        caption: shown above the table.
        header: the column names.
        rows: one tuple of cell texts per row, each as long as ``header``.
        numeric: per column, whether it holds numbers (right-aligned); empty = none.
    """

    caption: str
    header: tuple[str, ...] = attrs.field(converter=_strs)
    rows: tuple[tuple[str, ...], ...] = attrs.field(converter=_rows, validator=_same_length)
    numeric: tuple[bool, ...] = attrs.field(default=(), converter=_bools)

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
    """

    title: str
    labels: tuple[str, ...] = attrs.field(converter=_strs)
    values: tuple[float, ...] = attrs.field(converter=_floats)
    value_label: str = ""
    horizontal: bool = False

    @values.validator
    def _check(self, attribute: attrs.Attribute[object], value: tuple[float, ...]) -> None:
        if len(value) != len(self.labels):
            raise InvalidValueError("values", f"must have one value per label "
                                    f"({len(self.labels)})", len(value))


@attrs.frozen
class CycleChart:
    """The cumulative repurchase curve with the P50 / P70 / P90 boundaries.

    Drawn by :func:`ecrm.lifecycle.plot_repurchase_curve`.
    """

    title: str
    cycle: RepurchaseCycle


Chart: TypeAlias = BarChart | CycleChart


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
    """

    title: str
    store_name: str
    as_of: dt.datetime
    tz: str
    source: str
    sections: tuple[Section, ...] = attrs.field(converter=_sections)
    version: str = ""

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
