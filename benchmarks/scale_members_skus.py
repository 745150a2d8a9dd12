"""Benchmark: member metrics per period and cycles per SKU, in memory against the mergeable
summaries of ten time slices of the same log (issue 12).

Run from the repository root::

    python benchmarks/scale_members_skus.py                    # 1,000,000 orders
    python benchmarks/scale_members_skus.py --orders 100000 --customers 10000

Random orders over 2024–2025 (one to three lines each, 200 SKUs in four categories and
none), a customer table where every third customer joined at a random moment, the 12
months and 4 quarters of 2025. Each step prints its wall time and this process's CPU time
(the steadier number on a shared machine); the script checks that both paths agree.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import itertools
import time
from collections.abc import Callable
from typing import TypeVar
from zoneinfo import ZoneInfo

import numpy as np

from ecrm import CustomerTable, OrderItems, OrderLog, Window
from ecrm.analytics import member_metrics, periods
from ecrm.lifecycle import cycles_by
from ecrm.scale import (
    member_metrics_from_summary,
    merge_all,
    merge_members,
    merge_skus,
    sku_cycles_from_summary,
    summarize,
    summarize_members,
    summarize_skus,
)

SH = ZoneInfo("Asia/Shanghai")
T = TypeVar("T")


def clock(label: str, step: Callable[[], T]) -> T:
    wall, cpu = time.perf_counter(), time.process_time()
    out = step()
    print(f"  {label:44s} wall {time.perf_counter() - wall:7.2f} s  "
          f"cpu {time.process_time() - cpu:7.2f} s")
    return out


def shop(n_orders: int, n_customers: int) -> tuple[OrderLog, CustomerTable]:
    rng = np.random.default_rng(1)
    start = dt.datetime(2024, 1, 1, tzinfo=SH)
    placed = [start + dt.timedelta(seconds=int(s)) for s in rng.integers(0, 730 * 86_400, n_orders)]
    amount = rng.integers(0, 300_000, n_orders)
    refunded = np.where(rng.random(n_orders) < 0.1, rng.integers(0, amount + 1), 0)
    statuses = np.asarray(["paid", "completed", "shipped", "closed"])[rng.integers(0, 4, n_orders)]
    order_ids = np.asarray([f"o{i}" for i in range(n_orders)])
    line_orders = np.repeat(order_ids, rng.integers(1, 4, n_orders))
    skus = np.asarray([f"S{i:03d}" for i in range(200)])[rng.integers(0, 200, len(line_orders))]
    cats = np.asarray(["tea", "snacks", "cups", "gifts", ""])[rng.integers(0, 5, len(line_orders))]
    items = OrderItems.from_arrays(order_ids=line_orders, skus=skus, categories=cats,
                                   unit_price_fen=np.ones(len(line_orders), dtype=np.int64))
    log = OrderLog.from_arrays(rng.integers(0, n_customers, n_orders), placed, amount,
                               refunded=refunded, statuses=statuses, order_ids=order_ids,
                               items=items, tz=SH)
    members = log.customer_ids[::3]
    since = [start + dt.timedelta(minutes=int(m))
             for m in rng.integers(0, 730 * 1440, len(members))]
    return log, CustomerTable.from_arrays(members, member_since=since, tz=SH)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    log, customers = clock("generate", lambda: shop(args.orders, args.customers))
    year = Window.of_dates(dt.date(2025, 1, 1), dt.date(2026, 1, 1), SH)
    chosen = (*periods(year, tz=SH), *periods(year, "quarter", tz=SH))
    as_of = dt.datetime(2026, 1, 1, tzinfo=SH)
    edges = np.linspace(log.placed_at_us.min(), log.placed_at_us.max() + 1, 11).astype(np.int64)
    slices = [log.select((log.placed_at_us >= lo) & (log.placed_at_us < hi))
              for lo, hi in itertools.pairwise(edges.tolist())]
    print(f"{args.orders:,} orders, {log.n_customers:,} customers, {len(log.items or ()):,} "
          f"lines, {len(chosen)} periods, 10 time slices")

    want = clock("member_metrics (in memory)", lambda: member_metrics(log, customers, chosen))
    parts = clock("summarize_members per slice", lambda: [summarize_members(s, chosen)
                                                          for s in slices])
    merged = clock("merge_members (left fold)", lambda: functools.reduce(merge_members, parts))
    got = clock("member_metrics_from_summary", lambda: member_metrics_from_summary(merged,
                                                                                  customers))
    assert got.table() == want.table()
    assert got.period_table() == want.period_table()
    print(f"  MemberSummary: {len(merged):,} customers, {len(merged.group_ids):,} (customer, "
          "slice) groups")

    want_c = clock("cycles_by(by='sku') (in memory)", lambda: cycles_by(log, by="sku",
                                                                        as_of=as_of))
    sku_parts = clock("summarize_skus per slice", lambda: [summarize_skus(s, as_of=as_of)
                                                           for s in slices])
    skus = clock("merge_skus (left fold)", lambda: functools.reduce(merge_skus, sku_parts))
    store = clock("summarize + merge_all (the store scope)",
                  lambda: merge_all(summarize(s, as_of=as_of) for s in slices))
    got_c = clock("sku_cycles_from_summary", lambda: sku_cycles_from_summary(skus, store))
    assert got_c.to_dicts() == want_c.to_dicts()
    print(f"  SkuSummary: {len(skus):,} (SKU, customer) pairs, {len(skus.categories):,} "
          "(category, customer) pairs")


if __name__ == "__main__":
    main()
