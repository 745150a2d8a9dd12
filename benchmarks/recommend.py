"""Association counting: ecrm.recommend.associations against a pandas self-join.

Run from the repository root::

    python benchmarks/recommend.py                   # 10,000,000 lines, 100,000 SKUs
    python benchmarks/recommend.py --lines 1000000   # a smaller run
    python benchmarks/recommend.py --quick           # 200,000 lines: a smoke run
    python benchmarks/recommend.py --lines 3000000 --customers 1000000 --skip-pandas --profiles

The data: customers with a geometric number of orders (mean ``lines / customers / 1.5``),
orders of 1–3 lines, SKUs drawn from a Zipf-like popularity over ``--skus`` items, days over
a year. Both sides count, for every pair (A, B) of SKUs, the distinct units that showed it —
orders holding both (``order``) and customers who bought B 0..14 days after A (``days``) —
and the script checks that the counts agree before printing the times and their ratio.
Only the counting is timed (building the ``OrderLog`` is not).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import time
from zoneinfo import ZoneInfo

import numpy as np

from ecrm import OrderItems, OrderLog
from ecrm.recommend import associations

SH = ZoneInfo("Asia/Shanghai")


def generate(n_lines: int, n_skus: int, n_customers: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n_orders = int(n_lines / 2)  # 1–3 lines per order: mean 2
    per_order = rng.integers(1, 4, size=n_orders)
    per_order = per_order[np.cumsum(per_order) <= n_lines]
    n_orders = len(per_order)
    customer = np.sort(rng.integers(0, n_customers, size=n_orders))
    day = rng.integers(0, 365, size=n_orders)
    order_of_line = np.repeat(np.arange(n_orders), per_order)
    weights = 1.0 / np.arange(1, n_skus + 1) ** 0.8
    sku = rng.choice(n_skus, size=len(order_of_line), p=weights / weights.sum())
    return {"customer": customer, "day": day, "order_of_line": order_of_line, "sku": sku}


def build(data: dict[str, np.ndarray]) -> OrderLog:
    n = len(data["customer"])
    placed = (np.datetime64("2025-01-01T10:00") + data["day"].astype("timedelta64[D]")).astype("datetime64[us]")
    skus = np.char.add("S", data["sku"].astype("U6"))
    items = OrderItems.from_arrays(order_ids=data["order_of_line"], skus=skus,
                                   unit_price_fen=np.full(len(skus), 1000))
    return OrderLog.from_arrays(data["customer"], placed, np.full(n, 1000), tz=SH,
                                order_ids=np.arange(n), items=items)


def pandas_counts(data: dict[str, np.ndarray], basis: str, window: int) -> object:
    import pandas as pd

    lines = pd.DataFrame({
        "order": data["order_of_line"],
        "customer": data["customer"][data["order_of_line"]],
        "day": data["day"][data["order_of_line"]],
        "sku": data["sku"],
    })
    if basis == "order":
        x = lines[["order", "sku"]].drop_duplicates()
        j = x.merge(x, on="order", suffixes=("_a", "_b"))
        j = j[j.sku_a != j.sku_b]
        return j.groupby(["sku_a", "sku_b"]).size()
    x = lines[["customer", "day", "sku"]].drop_duplicates()
    j = x.merge(x, on="customer", suffixes=("_a", "_b"))
    gap = j.day_b - j.day_a
    j = j[(j.sku_a != j.sku_b) & (gap >= 0) & (gap <= window)]
    j = j[["customer", "sku_a", "sku_b"]].drop_duplicates()
    return j.groupby(["sku_a", "sku_b"]).size()


def best_of(repeat: int, fn: object) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lines", type=int, default=10_000_000)
    p.add_argument("--skus", type=int, default=100_000)
    p.add_argument("--customers", type=int, default=None, help="default: lines / 5")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--skip-pandas", action="store_true")
    p.add_argument("--profiles", action="store_true",
                   help="also time ecrm.profile.profiles (with RFM) over the log's customers")
    p.add_argument("--profiles-only", action="store_true",
                   help="time only the profiles (RFM, tiers, touches and opt-outs passed in)")
    a = p.parse_args()
    n_lines = 200_000 if a.quick else a.lines
    n_customers = a.customers or max(n_lines // 5, 1)
    data = generate(n_lines, a.skus, n_customers)
    log = build(data)
    print(f"{log}; {len(data['sku']):,} lines, {a.skus:,} SKUs")
    as_of = dt.datetime(2026, 1, 1, tzinfo=SH)
    if a.profiles_only:
        time_profiles(log, as_of, a.repeat)
        return
    for basis in ("order", "days"):
        t_ecrm, rules = best_of(a.repeat, lambda b=basis: associations(
            log, as_of=as_of, basis=b, within_days=14, min_count=1))
        line = f"{basis:<5} ecrm {t_ecrm:7.2f}s  {len(rules):,} rules"  # type: ignore[arg-type]
        if not a.skip_pandas:
            t_pd, counts = best_of(a.repeat, lambda b=basis: pandas_counts(data, b, 14))
            got = dict(zip(zip(np.char.lstrip(rules.antecedents, "S").astype(np.int64).tolist(),  # type: ignore[union-attr]
                               np.char.lstrip(rules.consequents, "S").astype(np.int64).tolist(), strict=True),  # type: ignore[union-attr]
                           rules.n_pair.tolist(), strict=True))  # type: ignore[union-attr]
            want = {k: int(v) for k, v in counts.items()}  # type: ignore[attr-defined]
            assert got == want, "ecrm and pandas disagree"
            line += f"   pandas self-join {t_pd:7.2f}s   ratio {t_pd / t_ecrm:5.1f}x (counts agree)"
        print(line, flush=True)
    if a.profiles:
        from ecrm.profile import profiles
        from ecrm.recommend import recommend
        from ecrm.rfm import score
        from ecrm.tiers import TAOBAO_STORE_VIP

        rfm = score(log, as_of=as_of, warn_undersized=False)
        t_prof, prof = best_of(a.repeat, lambda: profiles(log, as_of=as_of, rfm=rfm))
        print(f"profiles {t_prof:7.2f}s  {len(prof):,} customers (RFM passed in)")  # type: ignore[arg-type]
        t_rec, recs = best_of(a.repeat, lambda: recommend(log, rules, as_of=as_of, k=5, fill=True))  # type: ignore[arg-type]
        print(f"recommend k=5 with the popularity fill {t_rec:7.2f}s  {len(recs):,} rows")  # type: ignore[arg-type]
        tiers = TAOBAO_STORE_VIP.evaluate_log(log, as_of=as_of, opted_in=False)
        rng = np.random.default_rng(3)
        touched = log.customer_ids[rng.integers(0, len(log.customer_ids), size=len(log.customer_ids))]
        t_full, full = best_of(a.repeat, lambda: profiles(
            log, as_of=as_of, rfm=rfm, tiers=tiers, recommendations=recs,  # type: ignore[arg-type]
            touches=touched, opted_out=touched[:1000]))
        print(f"profiles {t_full:7.2f}s  {len(full):,} customers "  # type: ignore[arg-type]
              "(RFM, tiers, recommendations, touches and opt-outs passed in)")


def time_profiles(log: OrderLog, as_of: dt.datetime, repeat: int) -> None:
    """Profiles of every customer with RFM, tiers, touches and opt-outs passed in."""
    from ecrm.profile import profiles
    from ecrm.rfm import score
    from ecrm.tiers import TAOBAO_STORE_VIP

    rfm = score(log, as_of=as_of, warn_undersized=False)
    tiers = TAOBAO_STORE_VIP.evaluate_log(log, as_of=as_of, opted_in=False)
    rng = np.random.default_rng(3)
    touched = log.customer_ids[rng.integers(0, len(log.customer_ids), size=len(log.customer_ids))]
    t, prof = best_of(repeat, lambda: profiles(log, as_of=as_of, rfm=rfm, tiers=tiers,
                                               touches=touched, opted_out=touched[:1000]))
    print(f"profiles {t:7.2f}s  {len(prof):,} customers (RFM, tiers, touches, opt-outs)")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
