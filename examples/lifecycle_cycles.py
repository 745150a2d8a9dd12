"""Repurchase cycles and lifecycle stages of the sample tea shop (小林茶铺).

Run from the repository root::

    python examples/lifecycle_cycles.py                # 5,000 customers
    python examples/lifecycle_cycles.py 200000 --plot  # bigger shop, save the curve as PNG

It estimates the store's cycle both ways (observed and Kaplan–Meier), the per-category and
per-SKU cycles with their fallback scopes, every customer's lifecycle stage, who moved
between stages over the last month, today's repurchase reminders and the churn-warning list,
and prints the default playbook the touch layer sends from.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from ecrm.datasets import sample_shop
from ecrm.lifecycle import (
    DEFAULT_PLAYBOOK,
    Stage,
    churn_warning,
    cycles_by,
    due_repurchase_reminders,
    format_cycle_report,
    inactive_customers,
    plot_repurchase_curve,
    repurchase_cycle,
    stage_transitions,
    stages,
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("customers", nargs="?", type=int, default=5_000)
    p.add_argument("--plot", action="store_true", help="save repurchase_curve.png")
    a = p.parse_args()

    shop = sample_shop(a.customers)
    log, as_of = shop.orders, shop.as_of
    print(f"{shop.store_name}: {log!r}\n")

    t0 = time.perf_counter()
    observed = repurchase_cycle(log, as_of=as_of)
    km = repurchase_cycle(log, as_of=as_of, method="kaplan-meier")
    st = stages(log, as_of=as_of, cycle=observed, customers=shop.customers)
    took = time.perf_counter() - t0
    print(format_cycle_report(observed, st))
    print(f"Kaplan–Meier: P50/P70/P90 = {km.p50_days}/{km.p70_days}/{km.p90_days} days "
          f"(censoring the not-yet-repurchased stretches the cycle)")
    print(f"(two cycles and the stages took {took * 1000:.0f} ms)\n")

    by_category = cycles_by(log, by="category", as_of=as_of)
    by_sku = cycles_by(log, by="sku", as_of=as_of, fallback=by_category.store)
    print("category    P50  P70  P90  repurchasers")
    for i, key in enumerate(by_category.keys.tolist()):
        p50, p70, p90 = by_category.p_days[i].tolist()
        print(f"{key:<10} {p50:>4} {p70:>4} {p90:>4}  {by_category.n_repurchasers[i]:>6,}")
    thin = [(k, s) for k, s in zip(by_sku.keys.tolist(), by_sku.scopes.tolist(), strict=True)
            if not s.startswith("sku:")]
    print(f"\n{len(by_sku)} SKUs; thin ones answered by a larger scope: {thin}\n")

    month_ago = as_of - dt.timedelta(days=30)
    flow = stage_transitions(log, start=month_ago, as_of=as_of, cycle=observed)
    print(f"stage flow over the last 30 days:\n{flow.to_text()}")
    print(f"ACTIVE → SILENT this month: {flow.count(Stage.ACTIVE, Stage.SILENT):,}\n")

    today = as_of.date()
    due = due_repurchase_reminders(log, as_of=today, cycles=by_sku)
    warn = churn_warning(log, as_of=as_of, days=15, cycle=observed, exact=True)
    quiet = inactive_customers(log, as_of=as_of, days=30, exact=True)
    print(f"on {today}: {len(due):,} repurchase reminders, {len(warn):,} churn warnings "
          f"(15 days quiet), {len(quiet):,} returning-customer offers (30 days quiet)")
    if len(due):
        cid, key = due.customer_ids[0], due.keys[0]
        print(f"  e.g. customer {cid} for {key} (P50 {due.p50_days[0]} days, {due.scopes[0]})")
        print("  " + st.explain(cid))

    print("\ndefault playbook:")
    for rule in DEFAULT_PLAYBOOK.rules:
        stage = rule.stage.name if rule.stage else "-"
        print(f"  {rule.key:<24} {stage:<8} {rule.trigger.value:<20} +{rule.offset_days:<3} "
              f"{rule.label_zh} {rule.offer or ''}")

    if a.plot:
        fig = plot_repurchase_curve(observed)
        fig.savefig("repurchase_curve.png", dpi=120)
        print("\nsaved repurchase_curve.png")


if __name__ == "__main__":
    main()
