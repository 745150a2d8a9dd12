"""The HTML report of the sample tea shop (小林茶铺), built and written from Python.

Run from the repository root::

    python examples/report_html.py                      # writes report.html
    python examples/report_html.py 20000 -o /tmp/r.html  # a bigger shop, another file

It builds the report as data (``build_report``), prints its headline numbers and the
planned touches from that data, renders the self-contained page (``render_html``; the
charts are inline SVG drawn by ecrm, the text Chinese for this CNY shop — pass
``lang="en"`` to ``build_report`` for English) and writes it. Open the file in any
browser; it works offline. The same thing from the shell: ``ecrm report orders.csv --as-of DATE -o r.html``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ecrm.datasets import sample_shop
from ecrm.report import build_report, render_html


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("customers", nargs="?", type=int, default=5_000)
    parser.add_argument("-o", "--output", default="report.html")
    args = parser.parse_args()

    shop = sample_shop(args.customers)
    started = time.perf_counter()
    report = build_report(
        shop.orders, as_of=shop.as_of, customers=shop.customers, events=shop.events,
        store_name=shop.store_name, source=f"sample shop, {args.customers:,} customers",
        progress=lambda update: print(f"  [{update.done}/{update.total}] {update.step}"),
    )
    print(f"{report.title}: built in {time.perf_counter() - started:.2f} s")

    overview = report.section("overview")
    print(f"\n{overview.title}")
    for metric in overview.metrics:
        against = ", ".join(f"{change} {label}" for label, change in metric.comparisons)
        print(f"  {metric.label:<26} {metric.value:>14}   ({against})")

    touches = report.section("touches")
    print(f"\n{touches.title}")
    for metric in touches.metrics:
        print(f"  {metric.label:<26} {metric.value:>14}")

    started = time.perf_counter()
    page = render_html(report)  # inline SVG charts, sortable tables, CSV downloads
    target = Path(args.output)
    target.write_text(page, encoding="utf-8")
    print(f"\nwrote {target} ({len(page.encode('utf-8')):,} bytes, {len(report.charts)} "
          f"charts) in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
