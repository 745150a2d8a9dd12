"""Charts as inline SVG text, drawn with matplotlib (the optional ``plot`` extra).

The SVG is deterministic for the same input: a fixed ``svg.hashsalt``, text kept as
``<text>`` (``svg.fonttype = 'none'``, so the browser renders Chinese with its own fonts
even when matplotlib has none), no creation date, and no XML prologue or metadata block
(nothing that names an external URL except the SVG namespaces). Element ids get a
per-chart prefix so several SVGs can live in one HTML page.
"""

from __future__ import annotations

import importlib.util
import io
import re
import warnings
from html import escape
from typing import Any, Final

from ecrm.errors import MissingDependencyError
from ecrm.lifecycle import plot_repurchase_curve
from ecrm.report._model import BarChart, Chart, CycleChart

__all__ = ["chart_svg", "charts_available"]

_BAR_COLOR: Final = "#3b6ea8"
# CJK fonts a machine may have; only those present are asked for (a missing family in
# the list makes matplotlib log a warning on every lookup).
_CJK_FONTS: Final = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
                     "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", "SimHei",
                     "AR PL UMing CN")
_GLYPH_WARNING: Final = r"Glyph \d+ .*missing from"
_fonts: list[str] | None = None


def charts_available() -> bool:
    """Whether matplotlib (the ``plot`` extra) is installed."""
    return importlib.util.find_spec("matplotlib") is not None


def _font_list() -> list[str]:
    global _fonts
    if _fonts is None:
        from matplotlib import font_manager

        present = {f.name for f in font_manager.fontManager.ttflist}
        _fonts = [f for f in _CJK_FONTS if f in present] + ["DejaVu Sans"]
    return _fonts


def _bar(fig: Any, chart: BarChart) -> None:
    from matplotlib.ticker import StrMethodFormatter

    n = len(chart.labels)
    labels = list(chart.labels)
    ax = fig.subplots()
    thousands = StrMethodFormatter("{x:,.0f}")
    if chart.horizontal:
        pos = list(range(n))[::-1]  # first label on top
        bars = ax.barh(pos, chart.values, color=_BAR_COLOR)
        ax.set_yticks(pos, labels)
        ax.set_xlabel(chart.value_label)
        ax.xaxis.set_major_formatter(thousands)
        ax.margins(x=0.12)
    else:
        bars = ax.bar(range(n), chart.values, color=_BAR_COLOR)
        ax.set_xticks(range(n), labels)
        if n > 6:  # long runs of labels (months) would overlap
            ax.tick_params(axis="x", labelrotation=45)
            for label in ax.get_xticklabels():
                label.set_horizontalalignment("right")
                label.set_rotation_mode("anchor")
        ax.set_ylabel(chart.value_label)
        ax.yaxis.set_major_formatter(thousands)
        ax.margins(y=0.12)
    ax.bar_label(bars, labels=[f"{v:,.0f}" for v in chart.values], padding=2,
                 fontsize=7 if n > 8 else 8)
    ax.set_title(chart.title)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _figure_size(chart: Chart) -> tuple[float, float]:
    if isinstance(chart, BarChart) and chart.horizontal:
        return 7.0, max(2.2, 0.32 * len(chart.labels) + 1.2)
    return 7.0, 3.8


def _clean(svg: str, prefix: str, title: str) -> str:
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)
    svg = re.sub(r'\bid="([^"]*)"', rf'id="{prefix}-\1"', svg)
    svg = svg.replace("url(#", f"url(#{prefix}-").replace('href="#', f'href="#{prefix}-')
    # drop the fixed pt size: the page scales the chart to its width through the viewBox
    head_end = svg.index(">")
    head = re.sub(r'\s(width|height)="[^"]*"', "", svg[:head_end])
    head += f' class="chart-svg" role="img" aria-label="{escape(title, quote=True)}"'
    return head + svg[head_end:].rstrip() + "\n"


def chart_svg(chart: Chart, prefix: str) -> str:
    """Draw ``chart`` and return it as an ``<svg>`` element (text).

    Args:
        chart: the chart.
        prefix: makes the element ids unique in the page (``"c3"``).

    Raises:
        MissingDependencyError: matplotlib is not installed.
    """
    try:
        import matplotlib as mpl
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise MissingDependencyError.for_extra("matplotlib", "plot", "charts in the report") \
            from exc
    rc: Any = {
        "svg.hashsalt": f"ecrm-report-{prefix}",
        "svg.fonttype": "none",
        "font.family": "sans-serif",
        "font.sans-serif": _font_list(),
        "axes.unicode_minus": False,
        # labels are data (provinces, SKUs): never parse "$...$" as mathtext
        "text.parse_math": False,
    }
    with mpl.rc_context(rc), warnings.catch_warnings():
        # no CJK font on this machine: matplotlib measures the text with DejaVu Sans and
        # warns per glyph; the SVG keeps the text and the browser draws it.
        warnings.filterwarnings("ignore", message=_GLYPH_WARNING, category=UserWarning)
        fig = Figure(figsize=_figure_size(chart), layout="constrained")
        if isinstance(chart, CycleChart):
            plot_repurchase_curve(chart.cycle, ax=fig.subplots())
        else:
            _bar(fig, chart)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return _clean(buf.getvalue(), prefix, chart.title)
