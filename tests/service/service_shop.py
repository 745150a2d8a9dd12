"""A generated shop where slow after-sales service is planted to cause churn."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np

from ecrm import OrderLog
from ecrm.service import Ticket

SH = ZoneInfo("Asia/Shanghai")
START = dt.datetime(2026, 1, 1, tzinfo=SH)
AS_OF = dt.datetime(2026, 12, 31, tzinfo=SH)
#: group → (resolution hours low, high) and the planted repurchase probability
PLANTED = {
    "no complaint": (None, 0.45),
    "< 12 h": ((1, 11.5), 0.45),
    "12–24 h": ((12.5, 23.5), 0.40),
    "24–72 h": ((24.5, 71.5), 0.28),
    "≥ 72 h": ((72.5, 240), 0.12),
    "unresolved": (None, 0.05),
}
LATE_BUYERS = 0.2  # of those not repurchasing in the horizon, who still come back later


def slow_service_shop(n: int = 4000, seed: int = 7, *, effect: bool = True
                      ) -> tuple[list[Ticket], OrderLog]:
    """Tickets and orders; with ``effect=False`` everyone repurchases with p = 0.45."""
    rng = np.random.default_rng(seed)
    bands = list(PLANTED)[1:]
    ids, placed, tickets = [], [], []
    for i in range(n):
        cid = f"c{i:05d}"
        first = START + dt.timedelta(days=float(rng.uniform(0, 180)))
        ids.append(cid)
        placed.append(first)
        ref = first
        group = "no complaint"
        if rng.random() < 0.35:
            group = bands[int(rng.integers(len(bands)))]
            ref = first + dt.timedelta(days=float(rng.uniform(1, 5)))
            t = Ticket.open(f"T{i:05d}", kind="complaint", customer_id=cid, created_at=ref,
                            subject="物流太慢")
            span = PLANTED[group][0]
            if span is not None:
                hours = float(rng.uniform(*span))
                t = t.assign("客服", at=ref, actor="lead")
                t = t.resolve(at=ref + dt.timedelta(hours=hours), actor="客服")
            tickets.append(t)
        p = PLANTED[group][1] if effect else 0.45
        if rng.random() < p:
            ids.append(cid)
            placed.append(ref + dt.timedelta(days=float(rng.uniform(1, 85))))
        elif rng.random() < LATE_BUYERS:
            ids.append(cid)
            placed.append(ref + dt.timedelta(days=float(rng.uniform(95, 150))))
    log = OrderLog.from_arrays(ids, placed, [10_000] * len(ids), tz="Asia/Shanghai")
    return tickets, log
