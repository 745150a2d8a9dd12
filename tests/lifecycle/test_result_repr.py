"""Lifecycle results print short: type, sizes, as_of and a few counts, never whole arrays."""

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np

from ecrm import OrderLog
from ecrm.datasets import sample_shop
from ecrm.lifecycle import (
    churn_warning,
    cycles_by,
    due_repurchase_reminders,
    stage_transitions,
    stages,
)

SH = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2025, 12, 1, tzinfo=SH)


def _log(n_customers: int) -> OrderLog:
    # customer i bought once, i days before as_of (day 0 = 2025-12-01 is excluded: i >= 1)
    days = np.arange(1, n_customers + 1)
    placed = np.datetime64("2025-12-01T10:00", "us") - days * np.timedelta64(1, "D")
    return OrderLog.from_arrays([f"c{i:05d}" for i in days], placed, [100] * n_customers, tz=SH)


def test_stage_result_repr_is_short_and_counts_by_hand() -> None:
    result = stages(_log(10_000), as_of=AS_OF, cycle=(30, 60, 90))
    # one purchase day each: d <= 30 new (30), 31..60 silent (30), 61..90 sleeping (30),
    # the other 9,910 churned; nobody is a prospect or active (active needs 2+ days)
    assert repr(result) == (
        "StageResult(10,000 customers, as_of=2025-12-01T00:00:00+08:00, "
        "bands=P50/P70/P90 30/60/90 days (default), prospect=0, new=30, active=0, "
        "silent=30, sleeping=30, churned=9,910)"
    )


def test_other_lifecycle_results_print_sizes_not_arrays() -> None:
    log = _log(5_000)
    moves = stage_transitions(log, start=AS_OF - dt.timedelta(days=10), as_of=AS_OF, cycle=(30, 60, 90))
    # the 10 customers of the last 10 days were unknown (prospects) at start and are new now;
    # the ones 21..30, 51..60 and 81..90 days back crossed a band in those 10 days
    assert repr(moves) == (
        "TransitionMatrix(5,000 customers, 40 moved, start=2025-11-21T00:00:00+08:00, "
        "end=2025-12-01T00:00:00+08:00)"
    )
    late = churn_warning(log, as_of=AS_OF, days=15, cycle=(30, 60, 90))
    assert repr(late).startswith(f"CustomerDays({len(late):,} customers, as_of=2025-12-01T00:00:00+08:00")
    assert len(repr(late)) < 200
    shop = sample_shop(300)
    table = cycles_by(shop.orders, by="category", as_of=shop.as_of, min_repurchasers=1)
    text = repr(table)
    assert text.startswith(f"CycleTable({len(table)} category keys, ")
    assert len(text) < 200
    due = due_repurchase_reminders(shop.orders, as_of=shop.as_of.date(), cycles=table)
    assert repr(due).startswith(f"DueReminders({len(due):,} reminders, ")
    assert repr(due).endswith(", day=2025-12-01)")
    assert len(repr(due)) < 200
