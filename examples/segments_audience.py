"""Custom audiences (自定义人群) on the sample tea shop (小林茶铺).

Run from the repository root::

    python examples/segments_audience.py            # 5,000 customers
    python examples/segments_audience.py 200000     # a bigger shop

It builds the source's example audience ("occupation is doctor or teacher"), the built-in
customer classes (非订购 / 无销售 / 无订购 / 恶意), "carted during 6.18 but did not buy",
"favourited but never bought" and "high-potential returning customers", stores one as JSON
and reads it back, and explains why one customer is in an audience.
"""

from __future__ import annotations

import argparse
import time
import unicodedata

from ecrm.datasets import sample_shop
from ecrm.segments import (
    Blocked,
    MemberLevelIn,
    OccupationIn,
    Predicate,
    ProvinceIn,
    audience,
    blocked_customers,
    carted_618_not_bought,
    favorited_not_bought,
    high_potential_returning,
    lapsed_customers,
    no_sale_customers,
    non_ordering_visitors,
)


def _width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("customers", nargs="?", type=int, default=5_000)
    args = parser.parse_args()

    t0 = time.perf_counter()
    shop = sample_shop(args.customers)
    print(f"{shop!r} built in {time.perf_counter() - t0:.1f} s\n")

    def run(predicate):  # type: ignore[no-untyped-def]
        return audience(predicate, customers=shop.customers, orders=shop.orders,
                        events=shop.events, as_of=shop.as_of)

    sale_year = shop.sale_618[0].year
    named = [
        ("职业 医生 或 教师 (doctor or teacher)", OccupationIn(["医生", "教师"])),
        ("非订购客户 visited, never ordered", non_ordering_visitors()),
        ("无销售客户 carted, no sale", no_sale_customers()),
        ("无订购客户 no purchase for 365 days", lapsed_customers(365)),
        ("恶意客户 blocked", blocked_customers()),
        (f"carted during 6.18 {sale_year}, did not buy", carted_618_not_bought(sale_year)),
        ("favourited but never bought", favorited_not_bought()),
        ("high-potential returning", high_potential_returning()),
        ("VIP+ members in 江浙沪, not blocked",
         MemberLevelIn([3, 4]) & ProvinceIn(["浙江", "江苏", "上海"]) & ~Blocked()),
    ]
    width = max(_width(name) for name, _ in named)
    t0 = time.perf_counter()
    results = []
    for name, predicate in named:
        a = run(predicate)
        results.append(a)
        pad = " " * (width - _width(name))
        print(f"{name}{pad}  {a.count:>7,} of {len(shop.customers):,}")
    print(f"\n{len(named)} audiences in {time.perf_counter() - t0:.2f} s")

    text = named[-1][1].to_json()
    print(f"\nstored as JSON:\n  {text}")
    assert Predicate.from_json(text) == named[-1][1]

    hp = results[7]
    if hp.count:
        print(f"\nwhy customer {hp.customer_ids[0]} is high-potential:")
        print(hp.explain(hp.customer_ids[0].item()))


if __name__ == "__main__":
    main()
