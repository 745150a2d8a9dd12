"""``render_html``: one self-contained, offline HTML page from a :class:`Report`.

Everything is inline: CSS in a ``<style>``, charts as ``<svg>`` (drawn by
:mod:`ecrm.report._svg`), and one small script that sorts tables, makes the customer-list
downloads in the page, and records script errors and the drawn charts into attributes of
the ``<html>`` element so a headless browser can check the page. A
Content-Security-Policy allows nothing but the inline style and that one script (by
hash): no request leaves the page. Every text from
the data is escaped with :func:`html.escape`; customer data is untrusted.
"""

from __future__ import annotations

import base64
import hashlib
import json
from html import escape
from typing import Final

from ecrm import _validators as _v
from ecrm.report._charts import chart_svg
from ecrm.report._model import Metric, Report, Section, Table

__all__ = ["render_html"]

_CSS: Final = """
:root { --ink: #1d2733; --muted: #5b6775; --line: #d8dee6; --accent: #3b6ea8;
        --up: #1f7a3a; --down: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #f5f7fa; line-height: 1.45;
       font-family: system-ui, -apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei",
       "Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Micro Hei", sans-serif; }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 1.2rem 2rem; }
h1 { margin: 0 0 .3rem; font-size: 1.6rem; }
.meta { color: var(--muted); margin: 0; }
nav { margin-top: .6rem; display: flex; flex-wrap: wrap; gap: .3rem .9rem; }
nav a { color: var(--accent); text-decoration: none; }
main { max-width: 1400px; margin: 0 auto; padding: 1rem 1.2rem 3rem; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px;
          margin: 1.2rem 0; padding: 1rem 1.2rem; }
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
figure.chart svg { display: block; width: 100%; max-width: 820px; height: auto; }
figure.chart svg text { font-family: inherit; }
figure.chart rect.bar:hover, figure.chart rect.stage:hover { opacity: .8; }
figcaption { color: var(--muted); font-size: .85rem; }
.table-wrap { overflow-x: auto; margin: .8rem 0; }
table { border-collapse: collapse; font-size: .85rem; min-width: 50%; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .45rem; text-align: left;
         vertical-align: top; }
th { background: #eef2f7; font-weight: 600; }
th.sortable { cursor: pointer; }
th[aria-sort="ascending"]::after { content: " ▲"; font-size: .7em; }
th[aria-sort="descending"]::after { content: " ▼"; font-size: .7em; }
td:first-child { white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
button.download { font: inherit; font-size: .8rem; color: var(--accent); background: #fff;
                  border: 1px solid var(--accent); border-radius: 4px; padding: 0 .4rem;
                  cursor: pointer; }
.notes { color: var(--muted); font-size: .85rem; padding-left: 1.2rem; }
footer { color: var(--muted); font-size: .8rem; text-align: center; padding: 1rem; }
""".strip()

# The page's one script (allowed by its hash in the CSP). It
# - records script errors, the number of charts, of charts drawn with a size and of charts
#   with at least one mark, and of tables wider than their box, into attributes of <html>
#   (data-js-errors, data-charts, data-charts-visible, data-charts-marked,
#   data-tables-overflowing) so a headless browser can check the page;
# - sorts a table by a column when its header is clicked (numbers by value);
# - turns a row's customer list (JSON in data-ids) into a CSV download made in the page
#   (a Blob; nothing leaves the machine) and records the file name in data-last-download.
_SCRIPT: Final = (
    "(function(){var d=document.documentElement,n=0;"
    "function set(k,v){d.setAttribute(k,String(v));}"
    "window.addEventListener('error',function(){n+=1;set('data-js-errors',n);});"
    "window.addEventListener('load',function(){"
    "var s=document.querySelectorAll('figure.chart svg'),v=0,m=0,i,r,o=0,w;"
    "for(i=0;i<s.length;i++){r=s[i].getBoundingClientRect();"
    "if(r.width>0&&r.height>0){v+=1;}"
    "if(s[i].querySelector('rect.bar,rect.stage,path.series,polyline.series')){m+=1;}}"
    "w=document.querySelectorAll('.table-wrap');"
    "for(i=0;i<w.length;i++){if(w[i].scrollWidth>w[i].clientWidth+1){o+=1;}}"
    "set('data-charts',s.length);set('data-charts-visible',v);set('data-charts-marked',m);"
    "set('data-tables-overflowing',o);});"
    "function num(t){var x=t.replace(/[^0-9.\\-]/g,'');"
    "return x===''||x==='-'||x==='.'?NaN:parseFloat(x);}"
    "function csv(c){return /[\",\\r\\n]/.test(c)?'\"'+c.replace(/\"/g,'\"\"')+'\"':c;}"
    "document.addEventListener('click',function(e){var t=e.target;"
    "if(!(t instanceof Element)){return;}"
    "var b=t.closest('button.download');"
    "if(b){var ids=JSON.parse(b.getAttribute('data-ids')||'[]'),"
    "text='\\ufeffcustomer_id\\r\\n'+ids.map(csv).join('\\r\\n')+'\\r\\n',"
    "a=document.createElement('a');"
    "a.href=URL.createObjectURL(new Blob([text],{type:'text/csv;charset=utf-8'}));"
    "a.download=b.getAttribute('data-file')||'customers.csv';"
    "document.body.appendChild(a);a.click();a.remove();"
    "set('data-last-download',a.download);return;}"
    "var h=t.closest('th.sortable');if(!h){return;}"
    "var tb=h.closest('table').tBodies[0],k=h.cellIndex,"
    "asc=h.getAttribute('aria-sort')!=='ascending',"
    "rows=Array.prototype.slice.call(tb.rows);"
    "rows.sort(function(p,q){var x=p.cells[k].textContent,y=q.cells[k].textContent,"
    "a1=num(x),b1=num(y),c=(isNaN(a1)||isNaN(b1))?x.localeCompare(y):a1-b1;"
    "return asc?c:-c;});"
    "for(i=0;i<rows.length;i++){tb.appendChild(rows[i]);}"
    "var all=h.parentNode.children;for(i=0;i<all.length;i++){all[i].removeAttribute("
    "'aria-sort');}h.setAttribute('aria-sort',asc?'ascending':'descending');});})();"
)
_SCRIPT_HASH: Final = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
_CSP: Final = (f"default-src 'none'; style-src 'unsafe-inline'; "
               f"script-src 'sha256-{_SCRIPT_HASH}'; img-src data:")


_UI: Final = {
    # (en, zh): the page's own words around the report's content
    "as_of": ("as of", "数据截至"),
    "orders": ("orders", "订单"),
    "list": ("list", "名单"),
    "csv": ("CSV", "下载"),
    "download": ("download the {n} customers of this row as CSV (customer_id)",
                 "下载本行 {n} 位客户的名单（CSV，customer_id 一列，可上传为自定义人群）"),
    "footer": ("Made with ecrm {version} from the data as of {as_of}. Works offline; no "
               "data leaves this file.",
               "由 ecrm {version} 根据截至 {as_of} 的数据生成。离线可用，数据不会离开本文件。"),
    "sort": ("click a column header to sort", "点击列标题排序"),
}


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _sq(text: str) -> str:
    """Escaped for a single-quoted attribute: JSON's double quotes stay one byte each
    (a customer list of 100,000 ids would otherwise grow by 1.2 MB of ``&quot;``)."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("'", "&#x27;"))


def _ui(key: str, lang: str, **values: object) -> str:
    en, zh = _UI[key]
    return (zh if lang == "zh" else en).format(**values)


def _change_class(change: str) -> str:
    if change.startswith("+") or change in ("new", "新增"):
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


def _file_name(table: Table, row: tuple[str, ...], k: int) -> str:
    """``grades-P.csv``: the table's key and the row's first non-empty cell, made safe."""
    label = next((c for c in row if c.strip()), str(k + 1))
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in label).strip("_")
    return f"{table.key or 'customers'}-{safe or k + 1}.csv"


def _table(t: Table, lang: str) -> str:
    num = t.numeric or tuple(False for _ in t.header)

    def cls(k: int) -> str:
        return ' class="num"' if num[k] else ""

    out = ['<div class="table-wrap"><table>', f"<caption>{_e(t.caption)}</caption>",
           "<thead><tr>"]
    out += [f'<th scope="col" class="sortable{" num" if num[k] else ""}" '
            f'title="{_e(_ui("sort", lang))}">{_e(h)}</th>' for k, h in enumerate(t.header)]
    if t.customers:
        out.append(f'<th scope="col" class="dl">{_e(_ui("list", lang))}</th>')
    out.append("</tr></thead><tbody>")
    for i, row in enumerate(t.rows):
        cells = "".join(f"<td{cls(k)}>{_e(c)}</td>" for k, c in enumerate(row))
        if t.customers:
            ids = t.customers[i]
            if ids:
                data = json.dumps(list(ids), ensure_ascii=False, separators=(",", ":"))
                cells += (f'<td class="dl"><button type="button" class="download" '
                          f"data-file=\"{_e(_file_name(t, row, i))}\" data-ids='{_sq(data)}' "
                          f'title="{_e(_ui("download", lang, n=f"{len(ids):,}"))}">'
                          f"{_e(_ui('csv', lang))}</button></td>")
            else:
                cells += '<td class="dl"></td>'
        out.append(f"<tr>{cells}</tr>")
    out.append("</tbody></table></div>")
    return "\n".join(out)


def _section(s: Section, report: Report, charts: bool, counter: list[int]) -> str:
    out = [f'<section id="{_e(s.key)}" class="report-section">', f"<h2>{_e(s.title)}</h2>"]
    if s.summary:
        out.append(f'<p class="summary">{_e(s.summary)}</p>')
    if s.metrics:
        out.append('<div class="metrics">' + "".join(_metric(m) for m in s.metrics) + "</div>")
    if charts:
        for i, chart in enumerate(s.charts):
            counter[0] += 1
            svg = chart_svg(chart, "zh" if report.lang == "zh" else "en", report.currency)
            out.append(f'<figure class="chart" data-chart="{_e(f"{s.key}-{i}")}">\n{svg}'
                       f"<figcaption>{_e(chart.title)}</figcaption></figure>")
    out += [_table(t, report.lang) for t in s.tables]
    if s.notes:
        out.append('<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in s.notes)
                   + "</ul>")
    out.append("</section>")
    return "\n".join(out)


def render_html(report: Report, *, charts: bool | None = True) -> str:
    """The report as one self-contained HTML page (UTF-8 text; works offline).

    Charts are inline SVG drawn by ecrm itself (no extra needed); text in them stays
    text, so Chinese renders with the viewer's fonts. Tables sort by a click on a column
    header; rows with customers (grades, segments, stages, tiers) offer their customer
    list as a CSV download made in the page.

    Args:
        report: from :func:`~ecrm.report.build_report`.
        charts: draw the charts; ``False`` leaves them out (the tables hold every figure).
            ``None`` (formerly "draw them when matplotlib is installed") draws them.

    Returns:
        The page. The same report gives the same text, byte for byte.

    Raises:
        InvalidTypeError: ``report`` is not a :class:`Report`, or ``charts`` not a bool or
            None.
    """
    _v.check_instance("report", report, Report)
    if charts is not None:
        _v.check_instance("charts", charts, bool)
    lang = report.lang
    nav = "".join(f'<a href="#{_e(s.key)}">{_e(s.title)}</a>' for s in report.sections)
    meta = [report.store_name, f"{_ui('as_of', lang)} {report.as_of.isoformat()}", report.tz]
    if report.source:
        meta.append(f"{_ui('orders', lang)}: {report.source}")
    head = [
        "<!DOCTYPE html>",
        f'<html lang="{"zh-CN" if lang == "zh" else "en"}" data-js-errors="0">',
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
    counter = [0]
    body = [_section(s, report, charts is not False, counter) for s in report.sections]
    tail = [
        "</main>",
        f"<footer>{_e(_ui('footer', lang, version=report.version, as_of=report.as_of.isoformat()))}"
        "</footer>",
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(head + body + tail)
