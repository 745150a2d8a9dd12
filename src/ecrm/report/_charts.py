"""Draw a chart of the report model as inline SVG (:mod:`ecrm.report._svg`; no extras).

Picks the number format of the page's language for ticks, value labels and hover titles:
万 / 亿 in Chinese, K / M / B in English, money with the currency's symbol.
"""

from __future__ import annotations

from ecrm.report import _svg
from ecrm.report._model import (
    BarChart,
    Chart,
    CycleChart,
    FunnelChart,
    LineChart,
    StackedBarChart,
)
from ecrm.report._numbers import Lang, compact, money

__all__ = ["chart_svg", "formatter"]


def formatter(kind: str, lang: Lang, currency: str) -> _svg.Formatter:
    """The value writer for a chart's ``value_kind`` (``"number"``, ``"money"`` in major
    units, ``"percent"`` as a share)."""
    if kind == "money":
        # whole amounts (ticks) without cents: ¥5,000 rather than ¥5,000.00
        return lambda v: (money(v * 100, currency, lang, short=True) if not v.is_integer()
                          else money(v * 100, currency, lang, short=True).removesuffix(".00"))
    if kind == "percent":
        return lambda v: compact(round(v * 100, 1), lang) + "%"
    return lambda v: compact(v, lang)


def chart_svg(chart: Chart, lang: Lang, currency: str) -> str:
    """``chart`` as one ``<svg>`` element (text) in the page's language and currency."""
    if isinstance(chart, CycleChart):
        cycle = chart.cycle
        days, share = cycle.curve
        bounds = []
        if cycle.has_bands:
            suffix = "天" if lang == "zh" else "d"
            bounds = [(f"P{q}={d}{suffix}", d, q / 100)
                      for q, d in ((50, cycle.p50_days), (70, cycle.p70_days),
                                   (90, cycle.p90_days)) if d is not None]
        return _svg.curve(chart.title, days.tolist(), share.tolist(), bounds,
                          x_label=chart.x_label, y_label=chart.y_label)
    if isinstance(chart, FunnelChart):
        return _svg.funnel(chart.title, chart.labels, chart.values,
                           formatter("number", lang, currency), shares=chart.shares)
    fmt = formatter(chart.value_kind, lang, currency)
    if isinstance(chart, StackedBarChart):
        return _svg.stacked_bars(chart.title, chart.labels, chart.series, fmt,
                                 unit=chart.value_label)
    if isinstance(chart, LineChart):
        return _svg.lines(chart.title, chart.labels, chart.series, fmt, unit=chart.value_label)
    assert isinstance(chart, BarChart)
    return _svg.bars(chart.title, chart.labels, chart.values, fmt,
                     horizontal=chart.horizontal, unit=chart.value_label)
