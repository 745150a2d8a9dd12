"""The shop report: one self-contained HTML page an operator opens in a browser.

``build_report`` assembles a :class:`Report` (plain data: sections of headline metrics,
charts, tables and notes) from the RFM grades, the repurchase cycle and lifecycle stages,
the membership tiers, the provinces and products, and a dry run of tomorrow's care flows;
``render_html`` turns it into HTML with inline CSS and inline SVG charts (matplotlib, the
``plot`` extra). ``ecrm report FILE.csv --as-of DATE -o report.html`` does both. See
docs/report.md.
"""

from typing import Any as _Any

from ecrm._deprecate import renamed_attribute as _renamed_attribute
from ecrm.report._build import DEFAULT_SMS_PRICE, build_report, plan_day
from ecrm.report._html import render_html
from ecrm.report._model import BarChart, Chart, CycleChart, Metric, Report, Section, Table

__all__ = [
    "DEFAULT_SMS_PRICE",
    "BarChart",
    "Chart",
    "CycleChart",
    "Metric",
    "Report",
    "Section",
    "Table",
    "build_report",
    "plan_day",
    "render_html",
]

#: Old names kept one release as deprecated aliases (0.1.0): ``ecrm.Progress`` is the one
#: progress callback type (it takes an ``ecrm.ProgressUpdate``).
_RENAMED = {"Progress": "ecrm.Progress"}


def __getattr__(name: str) -> _Any:
    return _renamed_attribute(__name__, name, _RENAMED)
