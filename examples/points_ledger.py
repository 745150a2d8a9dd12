"""Points ledger walk-through on a SQLite file: earn, redeem, expire, refund after spend.

Run from the repository root::

    python examples/points_ledger.py [path/to/points.db]

Without a path the ledger lives in a temporary directory that is removed afterwards. With
a path, running the script twice shows idempotency: every operation is a no-op the second
time and the balances are the same.
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

from ecrm import Money
from ecrm.tiers import (
    Benefit,
    BenefitCatalog,
    BenefitKind,
    Coupon,
    Gift,
    InsufficientPointsError,
    PointsLedger,
    PointsRules,
    SqliteLedgerStore,
    TaskReward,
)

SH = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, tzinfo=SH)


RULES = PointsRules(
    points_per_yuan=1,
    tasks=(TaskReward("share", points=200, times=3),),
    expiry_months=6,
)
CATALOG = BenefitCatalog(
    [
        Benefit("c10", BenefitKind.POINTS_FOR_COUPON,
                Coupon("PC10", face_value=Money(1_000), threshold=Money(9_900), valid_days=30),
                cost_points=300),
        Benefit("cup", BenefitKind.POINTS_FOR_GIFT, Gift("cup", "品牌杯"), cost_points=150,
                money_part=Money(990)),
        Benefit("red3", BenefitKind.POINTS_FOR_RED_PACKET, Money(300), cost_points=100),
        Benefit("flow", BenefitKind.POINTS_FOR_TRAFFIC, "100MB 流量", cost_points=60),
    ]
)


def run(path: Path) -> None:
    with SqliteLedgerStore(path) as store:
        ledger = PointsLedger(store, RULES, catalog=CATALOG)
        ledger.earn_for_order("alice", "T1001", Money.from_decimal("268.00"), at=at(2026, 1, 3))
        ledger.earn_for_order("alice", "T1002", Money.from_decimal("129.50"), at=at(2026, 2, 14))
        ledger.earn_for_task("alice", "share", "2026-02", at=at(2026, 2, 20))
        ledger.redeem("alice", "c10", "R-1", at=at(2026, 3, 1))
        ledger.redeem("alice", "cup", "R-2", at=at(2026, 3, 2))
        # T1001 is refunded after most of its points were spent.
        reversal = ledger.reverse_for_refund("T1001", at=at(2026, 3, 10))
        print(
            f"refund of T1001: took back {-reversal.points}, "
            f"unrecovered {reversal.unrecovered} (already spent; not carried as a debt)"
        )
        try:
            ledger.redeem("alice", "red3", "R-3", at=at(2026, 3, 10))
        except InsufficientPointsError as exc:  # refused: nothing is posted
            print("refused:", exc)
        ledger.earn_for_order("bob", "T2001", Money.from_decimal("88.00"), at=at(2026, 1, 10))
        expired = ledger.expire(at(2026, 9, 1))
        print("expired:", [(e.customer_id, e.ref, e.points) for e in expired])

        print()
        print(f"{'seq':>3}  {'key':<36} {'kind':<8} {'points':>6}  at (Shanghai)")
        for e in ledger.entries():
            when = e.at.astimezone(SH).strftime("%Y-%m-%d %H:%M")
            extra = f"  unrecovered {e.unrecovered}" if e.unrecovered else ""
            print(f"{e.seq:>3}  {e.key:<36} {e.kind.name:<8} {e.points:>6}  {when}{extra}")
        print()
        for customer in ("alice", "bob"):
            balance = ledger.balance(customer, at(2026, 9, 1))
            total = sum(e.points for e in ledger.entries(customer))
            print(f"{customer}: balance {balance} (sum of entries {total})")


def main() -> None:
    if len(sys.argv) > 1:
        run(Path(sys.argv[1]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(Path(tmp) / "points.db")


if __name__ == "__main__":
    main()
