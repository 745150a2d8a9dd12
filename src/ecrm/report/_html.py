"""``render_html``: one self-contained, offline HTML page from a :class:`Report`.

Everything is inline: CSS in a ``<style>``, charts as ``<svg>``, and one small script
that records script errors and the drawn size of every chart into attributes of the
``<html>`` element (``data-js-errors``, ``data-charts``, ``data-charts-visible``) so a
headless browser can check the page. A Content-Security-Policy allows nothing but the
inline style and that one script (by hash): no request leaves the page. Every text from
the data is escaped with :func:`html.escape`; customer data is untrusted.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape
from typing import Final

from ecrm.report._charts import chart_svg, charts_available
from ecrm.report._model import Metric, Report, Section, Table

__all__ = ["render_html"]

_CSS: Final = """
:root { --ink: #1d2733; --muted: #5b6775; --line: #d8dee6; --accent: #3b6ea8;
        --up: #1f7a3a; --down: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #f5f7fa; line-height: 1.45;
       font-family: system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei",
       "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif; }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 1.2rem 2rem; }
h1 { margin: 0 0 .3rem; font-size: 1.6rem; }
.meta { color: var(--muted); margin: 0; }
nav { margin-top: .6rem; display: flex; flex-wrap: wrap; gap: .3rem .9rem; }
nav a { color: var(--accent); text-decoration: none; }
main { max-width: 1280px; margin: 0 auto; padding: 1rem 2rem 3rem; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
          margin: 1.2rem 0; padding: 1rem 1.4rem; }
h2 { margin: .2rem 0 .5rem; font-size: 1.25rem; }
.summary { color: var(--muted); margin-top: 0; }
.metrics { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr));
           gap: .7rem; margin: .8rem 0; }
.metric { border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem; }
.metric .label { color: var(--muted); font-size: .85rem; }
.metric .value { font-size: 1.35rem; font-weight: 600; }
.metric ul { list-style: none; margin: .2rem 0 0; padding: 0; font-size: .8rem;
             color: var(--muted); }
.up { color: var(--up); } .down { color: var(--down); }
figure.chart { margin: .8rem 0; }
figure.chart svg { display: block; width: 100%; max-width: 760px; height: auto; }
figcaption { color: var(--muted); font-size: .85rem; }
.table-wrap { overflow-x: auto; margin: .8rem 0; }
table { border-collapse: collapse; font-size: .9rem; min-width: 50%; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .7rem; text-align: left;
         vertical-align: top; }
th { background: #eef2f7; }
td:first-child, th:first-child { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.notes { color: var(--muted); font-size: .85rem; padding-left: 1.2rem; }
.no-charts { background: #fff8e1; border: 1px solid #f0d58c; border-radius: 6px;
             padding: .6rem .9rem; }
footer { color: var(--muted); font-size: .8rem; text-align: center; padding: 1rem; }
""".strip()

# Records errors and each chart's drawn size for headless checks; touches nothing else.
_SCRIPT: Final = (
    "(function(){var d=document.documentElement,n=0;"
    "window.addEventListener('error',function(){n+=1;"
    "d.setAttribute('data-js-errors',String(n));});"
    "window.addEventListener('load',function(){"
    "var s=document.querySelectorAll('figure.chart svg'),v=0,i,r;"
    "for(i=0;i<s.length;i++){r=s[i].getBoundingClientRect();"
    "if(r.width>0&&r.height>0){v+=1;}}"
    "d.setAttribute('data-charts',String(s.length));"
    "d.setAttribute('data-charts-visible',String(v));});})();"
)
_SCRIPT_HASH: Final = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
_CSP: Final = (f"default-src 'none'; style-src 'unsafe-inline'; "
               f"script-src 'sha256-{_SCRIPT_HASH}'; img-src data:")
_INSTALL_HINT: Final = "pip install 'ecrm[plot]'"


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _change_class(change: str) -> str:
    if change.startswith("+") or change == "new":
        return "up"
    if change.startswith("-"):
        return "down"
    return ""


def _metric(m: Metric) -> str:
    parts = [f'<div class="metric"><div class="label">{_e(m.label)}</div>'
             f'<div class="value">{_e(m.value)}</div>']
    if m.comparisons:
        parts.append("<ul>")
        for against, change in m.comparisons:
            cls = _change_class(change)
            attr = f' class="{cls}"' if cls else ""
            parts.append(f"<li>{_e(against)}: <span{attr}>{_e(change)}</span></li>")
        parts.append("</ul>")
    parts.append("</div>")
    return "".join(parts)


def _table(t: Table) -> str:
    num = t.numeric or tuple(False for _ in t.header)

    def cls(k: int) -> str:
        return ' class="num"' if num[k] else ""

    out = ['<div class="table-wrap"><table>', f"<caption>{_e(t.caption)}</caption>",
           "<thead><tr>"]
    out += [f'<th scope="col"{cls(k)}>{_e(h)}</th>' for k, h in enumerate(t.header)]
    out.append("</tr></thead><tbody>")
    for row in t.rows:
        out.append("<tr>" + "".join(f"<td{cls(k)}>{_e(c)}</td>" for k, c in enumerate(row))
                   + "</tr>")
    out.append("</tbody></table></div>")
    return "\n".join(out)


def _section(s: Section, charts: bool, counter: list[int]) -> str:
    out = [f'<section id="{_e(s.key)}" class="report-section">', f"<h2>{_e(s.title)}</h2>"]
    if s.summary:
        out.append(f'<p class="summary">{_e(s.summary)}</p>')
    if s.metrics:
        out.append('<div class="metrics">' + "".join(_metric(m) for m in s.metrics) + "</div>")
    for i, chart in enumerate(s.charts):
        counter[0] += 1
        name = f"{s.key}-{i}"
        if charts:
            svg = chart_svg(chart, f"c{counter[0]}")
            out.append(f'<figure class="chart" data-chart="{_e(name)}">\n{svg}'
                       f"<figcaption>{_e(chart.title)}</figcaption></figure>")
        else:
            out.append(f'<p class="no-charts" data-chart-missing="{_e(name)}">Chart '
                       f"“{_e(chart.title)}” not drawn: charts need matplotlib "
                       f"(<code>{_e(_INSTALL_HINT)}</code>).</p>")
    out += [_table(t) for t in s.tables]
    if s.notes:
        out.append('<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in s.notes)
                   + "</ul>")
    out.append("</section>")
    return "\n".join(out)


def render_html(report: Report, *, charts: bool | None = None) -> str:
    """The report as one self-contained HTML page (UTF-8 text; works offline).

    Args:
        report: from :func:`~ecrm.report.build_report`.
        charts: draw the charts as inline SVG (needs matplotlib, the ``plot`` extra);
            ``None`` draws them when matplotlib is installed, else says how to get them.

    Returns:
        The page. The same report gives the same text, byte for byte.

    Raises:
        MissingDependencyError: ``charts=True`` without matplotlib.
    """
    draw = charts_available() if charts is None else charts
    nav = "".join(f'<a href="#{_e(s.key)}">{_e(s.title)}</a>' for s in report.sections)
    meta = [report.store_name, f"as of {report.as_of.isoformat()}", report.tz]
    if report.source:
        meta.append(f"orders: {report.source}")
    head = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN" data-js-errors="0">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(report.title)}</title>",
        f"<style>\n{_CSS}\n</style>",
        f"<script>{_SCRIPT}</script>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{_e(report.title)}</h1>",
        f'<p class="meta">{" · ".join(_e(m) for m in meta)}</p>',
        f"<nav>{nav}</nav>",
        "</header>",
        "<main>",
    ]
    if not draw and report.charts:
        head.append(f'<p class="no-charts">Charts need matplotlib: '
                    f"<code>{_e(_INSTALL_HINT)}</code>. The tables below hold every "
                    "figure.</p>")
    counter = [0]
    body = [_section(s, draw, counter) for s in report.sections]
    tail = [
        "</main>",
        f"<footer>Made with ecrm {_e(report.version)} from the data as of "
        f"{_e(report.as_of.isoformat())}. Works offline; no data leaves this file.</footer>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(head + body + tail)
