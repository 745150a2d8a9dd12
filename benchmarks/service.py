"""Benchmark: SLA status of 1,000,000 tickets in business hours.

Run from the repository root::

    python benchmarks/service.py            # 1,000,000 tickets
    python benchmarks/service.py --quick    # 20,000 tickets: a smoke run

The tickets are built directly as :class:`ecrm.service.TicketClocks` arrays (building a
million ``Ticket`` values is not what is timed): created over one year in Asia/Shanghai,
all eight kinds and four priorities, 70 % replied to, 60 % resolved, 30 % with a pause
(waiting for the customer), a tenth of those still paused. The calendar is 09:00-12:00 and
13:00-21:00 on weekdays, 10:00-18:00 on Saturdays, with the 2026 public holidays and
make-up working days; targets differ per kind and priority. ``sla_status`` is timed end to
end (timeline build, prefix sums, due times, breaches), best of ``--repeat`` runs, wall and
CPU time. Target: 1,000,000 tickets in a few seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from zoneinfo import ZoneInfo

import numpy as np

from ecrm._time import NAT_US, datetime_to_us
from ecrm.service import (
    BusinessCalendar,
    Priority,
    SlaPolicy,
    SlaTarget,
    TicketClocks,
    TicketKind,
    sla_status,
)

SH = ZoneInfo("Asia/Shanghai")
H = dt.timedelta(hours=1)
HOLIDAYS_2026 = ([dt.date(2026, 1, d) for d in (1, 2, 3)]
                 + [dt.date(2026, 2, d) for d in range(15, 24)]
                 + [dt.date(2026, 4, d) for d in (4, 5, 6)]
                 + [dt.date(2026, 5, d) for d in range(1, 6)]
                 + [dt.date(2026, 6, d) for d in (19, 20, 21)]
                 + [dt.date(2026, 10, d) for d in range(1, 8)])
MAKEUP_2026 = [dt.date(2026, 1, 4), dt.date(2026, 2, 14), dt.date(2026, 2, 28),
               dt.date(2026, 5, 9), dt.date(2026, 9, 20), dt.date(2026, 10, 10)]


def policy() -> SlaPolicy:
    calendar = BusinessCalendar.weekly_hours(
        "Asia/Shanghai",
        dict.fromkeys(("mon", "tue", "wed", "thu", "fri"), "09:00-12:00,13:00-21:00")
        | {"sat": "10:00-18:00"},
        holidays=HOLIDAYS_2026, workdays=MAKEUP_2026)
    return SlaPolicy(
        SlaTarget(4 * H, 48 * H),
        targets={("complaint", None): SlaTarget(1 * H, 24 * H),
                 (None, "urgent"): SlaTarget(0.5 * H, 8 * H),
                 ("refund", None): SlaTarget(2 * H, 24 * H),
                 ("inquiry", "low"): SlaTarget(8 * H, 72 * H)},
        calendar=calendar)


def clocks(n: int, seed: int = 0) -> TicketClocks:
    rng = np.random.default_rng(seed)
    start = datetime_to_us(dt.datetime(2026, 1, 1, tzinfo=SH))
    year = 365 * 86_400_000_000
    created = np.sort(start + rng.integers(0, year, n))
    hour = 3_600_000_000
    responded = np.where(rng.random(n) < 0.7, created + rng.integers(60_000_000, 30 * hour, n),
                         NAT_US)
    resolved = np.where(rng.random(n) < 0.6, created + rng.integers(hour, 200 * hour, n), NAT_US)
    has_pause = np.flatnonzero(rng.random(n) < 0.3)
    p_start = created[has_pause] + rng.integers(0, 20 * hour, len(has_pause))
    p_end = p_start + rng.integers(hour, 48 * hour, len(has_pause))
    p_end[rng.random(len(has_pause)) < 0.1] = NAT_US
    return TicketClocks(
        np.arange(n).astype(str).astype(object),
        rng.integers(0, len(TicketKind), n), rng.integers(0, len(Priority), n),
        created, responded, resolved, has_pause.astype(np.int64), p_start, p_end)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="20,000 tickets")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = 20_000 if args.quick else args.tickets
    data = clocks(n)
    pol = policy()
    as_of = dt.datetime(2027, 1, 5, 12, 0, tzinfo=SH)
    best_wall = best_cpu = float("inf")
    for _ in range(args.repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        status = sla_status(data, pol, as_of=as_of)
        best_wall = min(best_wall, time.perf_counter() - w0)
        best_cpu = min(best_cpu, time.process_time() - c0)
    print(f"sla_status: {n:,} tickets ({len(data.pause_ticket):,} pauses) in "
          f"{best_wall:.2f} s wall, {best_cpu:.2f} s CPU (best of {args.repeat}); "
          f"{n / best_wall:,.0f} tickets/s")
    print(status)
    print(f"first response met {status.first_response_attainment():.1%}, "
          f"resolution met {status.resolution_attainment():.1%}")


if __name__ == "__main__":
    main()
