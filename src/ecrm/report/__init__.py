"""The shop report: one self-contained HTML page an operator opens in a browser.

``build_report`` assembles a :class:`Report` (plain data: sections of headline metrics,
charts, tables and notes) from the RFM grades, the repurchase cycle and lifecycle stages,
the membership tiers, the provinces and products, and a dry run of tomorrow's care flows;
``render_html`` turns it into HTML with inline CSS and inline SVG charts that ecrm draws
itself (no extra needed). ``ecrm report FILE.csv --as-of DATE -o report.html`` does both. See
docs/report.md.
"""

from ecrm.report._build import DEFAULT_SMS_PRICE, Progress, build_report, plan_day
from ecrm.report._html import render_html
from ecrm.report._model import (
    BarChart,
    Chart,
    CycleChart,
    FunnelChart,
    LineChart,
    Metric,
    Report,
    Section,
    StackedBarChart,
    Table,
)

__all__ = [
    "DEFAULT_SMS_PRICE",
    "BarChart",
    "Chart",
    "CycleChart",
    "FunnelChart",
    "LineChart",
    "Metric",
    "Progress",
    "Report",
    "Section",
    "StackedBarChart",
    "Table",
    "build_report",
    "plan_day",
    "render_html",
]
