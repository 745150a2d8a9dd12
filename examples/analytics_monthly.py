"""The monthly review of the sample tea shop (小林茶铺): store, members, products, provinces.

Run from the repository root::

    python examples/analytics_monthly.py                    # 5,000 customers, last 6 months
    python examples/analytics_monthly.py 200000 --freq quarter

It prints the store metrics with period-over-period and year-over-year changes under both
definitions of a new customer, the repurchase rate under each denominator, the member
metrics per tier for the last period, the product preference tables and the province
distribution.
"""

from __future__ import annotations

import argparse
import time

from dateutil.relativedelta import relativedelta

from ecrm import Window
from ecrm.analytics import (
    RepurchaseBase,
    member_metrics,
    periods,
    product_preference,
    province_distribution,
    store_metrics,
)
from ecrm.datasets import sample_shop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("customers", nargs="?", type=int, default=5_000)
    parser.add_argument("--freq", choices=["month", "quarter", "year"], default="month")
    parser.add_argument("--count", type=int, default=6, help="how many periods")
    args = parser.parse_args()

    t0 = time.perf_counter()
    shop = sample_shop(args.customers)
    print(f"{shop!r} built in {time.perf_counter() - t0:.1f} s\n")
    tz = shop.orders.tz
    step = {"month": 1, "quarter": 3, "year": 12}[args.freq]
    end = shop.as_of.astimezone(tz)
    start = end - relativedelta(months=step * (args.count + 1))
    # Only whole periods: a quarter still running at as_of would compare badly.
    ps = [p for p in periods(Window(start, end), args.freq, tz=tz) if p.end <= end][-args.count:]

    t0 = time.perf_counter()
    store = store_metrics(shop.orders, ps)
    print("== store (new = first valid order ever) ==")
    print(store.format_table())
    print()
    print(store.format_table(["sales_fen", "new_sales_fen", "returning_sales_fen",
                              "average_order_fen"], compare="year_ago"))
    window = store_metrics(shop.orders, ps, new_definition="first_in_window",
                           lookback_days=180)
    print("\n== new = no valid order in the 180 days before the period ==")
    print(window.format_table(["customers", "new_customers", "returning_customers"]))
    print("\n== repurchase rate by denominator ==")
    for base in RepurchaseBase:
        rates = store_metrics(shop.orders, ps, repurchase_base=base).values("repurchase_rate")
        cells = "  ".join("-" if r is None else f"{float(r):6.1%}" for r in rates)
        print(f"{base.value:<16} {cells}")
    app = shop.orders.order_ids[shop.orders.channels == "app"]
    crm = store_metrics(shop.orders, ps, attributed=app)
    print("\n== sales through the app channel, standing in for CRM-attributed sales ==")
    print(crm.format_table(["sales_fen", "attributed_sales_fen", "attributed_share"]))

    last = ps[-1]
    print(f"\n== members, {last.label} ==")
    members = member_metrics(shop.orders, shop.customers, [last])
    print(members.format_table())
    p = members.rows[0]
    print(f"joins {p.joins}, leaves {p.leaves} (leave dates known: {members.leaves_known}), "
          f"upgraded {p.upgraded} of {p.members_at_start} members")

    prefs = product_preference(shop.orders, window=Window(ps[0].start, last.end), top=5)
    for title, table in (("new customers' first purchase", prefs.first_purchase),
                         ("first repurchase", prefs.first_repurchase),
                         ("returning customers' repurchases", prefs.repurchase)):
        print(f"\n== {title} ({table.customers:,} customers) ==")
        print(table.format_table())

    dist = province_distribution(shop.orders, window=Window(ps[0].start, last.end))
    print("\n== provinces (top 10) ==")
    print("\n".join(dist.format_table().splitlines()[:11]))
    print(f"\nall of it in {time.perf_counter() - t0:.2f} s")


if __name__ == "__main__":
    main()
