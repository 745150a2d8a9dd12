"""``score`` on a large log splits its pass over the rows in two threads: same totals.

The split is made small here (``_SPLIT_ROWS``) so that a log of a few hundred rows takes it;
the per-customer F, M and last order are checked against a plain Python loop over the rows.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm import OrderLog, OrderStatus
from ecrm.rfm import _score, score

ZONE = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2025, 12, 1, tzinfo=ZONE)
VALID = {OrderStatus.PAID.code, OrderStatus.SHIPPED.code, OrderStatus.COMPLETED.code}


def _plain_totals(log: OrderLog, start_us: int, end_us: int) -> dict[str, tuple[int, int, int]]:
    """customer id -> (valid orders, net fen, last valid order µs) in [start, end), by a loop."""
    out: dict[str, tuple[int, int, int]] = {}
    ids = log.customer_ids
    rows = zip(log.customer_codes.tolist(), log.placed_at_us.tolist(), log.amount_fen.tolist(),
               log.refunded_fen.tolist(), log.status_codes.tolist(), strict=True)
    for code, at, amount, refunded, status in rows:
        if status not in VALID or (refunded > 0 and refunded >= amount):
            continue
        if not start_us <= at < end_us:
            continue
        f, m, last = out.get(str(ids[code]), (0, 0, -(2**63)))
        out[str(ids[code])] = (f + 1, m + amount - refunded, max(last, at))
    return out


@pytest.mark.parametrize("int_ids", [False, True])  # (int ids: kept as offsets, OffsetCodes)
@pytest.mark.parametrize("time_sorted", [True, False])
@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 400))
def test_the_split_pass_gives_the_plain_totals(time_sorted: bool, int_ids: bool, seed: int,
                                               n: int) -> None:
    rng = np.random.default_rng(seed)
    seconds = rng.integers(1_700_000_000, 1_765_000_000, n)
    if time_sorted:
        seconds.sort()
    amounts = rng.integers(0, 50_000, n)
    refunded = np.where(rng.random(n) < 0.2, rng.integers(0, 50_001, n), 0)
    refunded = np.minimum(refunded, amounts)
    statuses = rng.integers(0, 6, n).astype(np.int8)
    ids = rng.integers(1, max(2, n // 3), n)
    ids = ids if int_ids else ids.astype(str)
    log = OrderLog.from_arrays(
        ids, (seconds + 8 * 3600).astype("datetime64[s]"), amounts, tz=ZONE,
        statuses=statuses, refunded=refunded,
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_score, "_SPLIT_ROWS", 2)
        mp.setattr(_score, "_SPLIT_CUSTOMERS", 1)  # (the tail's second thread too)
        result = score(log, as_of=AS_OF, warn_undersized=False)
    start = AS_OF - dt.timedelta(days=365)  # 2024-12-01 .. 2025-12-01 is 365 days
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    start_us = (start - epoch) // dt.timedelta(microseconds=1)
    end_us = (AS_OF - epoch) // dt.timedelta(microseconds=1)
    want = _plain_totals(log, start_us, end_us)
    got = {
        str(c): (int(f), int(m), int(last))
        for c, f, m, last in zip(result.customer_ids, result.frequency, result.monetary_fen,
                                 result.last_order_us, strict=True)
    }
    assert got == want
