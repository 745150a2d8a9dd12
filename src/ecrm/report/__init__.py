"""The shop report: one self-contained HTML page an operator opens in a browser.

``build_report`` assembles a :class:`Report` (plain data: sections of headline metrics,
charts, tables and notes, in Chinese or English) from the monthly, quarterly and yearly
store figures, the RFM grades, the repurchase cycle and lifecycle stages, the membership
tiers and their history, predicted churn and CLV, the provinces, products and product
associations, after-sales service, and a dry run of the next day's care flows;
``render_html`` turns it into HTML with inline CSS and inline SVG charts that ecrm draws
itself (no extra needed). ``ecrm report FILE.csv --as-of DATE -o report.html`` does both. See
docs/report.md.
"""

from typing import Any as _Any

from ecrm._deprecate import moved_name as _moved_name
from ecrm.report._build import DEFAULT_SLA, DEFAULT_SMS_PRICE, build_report, plan_day
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
    "DEFAULT_SLA",
    "DEFAULT_SMS_PRICE",
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
    "build_report",
    "plan_day",
    "render_html",
]

#: Old names kept one release as deprecated aliases (0.1.0): ``ecrm.Progress`` is the one
#: progress callback type (it takes an ``ecrm.ProgressUpdate``).
_RENAMED = {"Progress": "ecrm.Progress"}


def __getattr__(name: str) -> _Any:
    return _moved_name(__name__, name, _RENAMED)
