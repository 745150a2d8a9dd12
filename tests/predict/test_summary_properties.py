"""Property: summaries() equals a plain-Python reference on random order logs, and the
model's invariants hold (0 <= t_x <= T; x = 0 means t_x = 0 and no repeat spend)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from ecrm import OrderLog, OrderStatus
from ecrm.predict import summaries
from ecrm.testing import order_logs

SH = ZoneInfo("Asia/Shanghai")
VALID = {OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED}


def reference(log: OrderLog, start: dt.datetime, as_of: dt.datetime) -> dict[object, tuple[int, int, int, int]]:
    """(x, t_x_days, T_days, repeat spend) per customer with dicts and dates only."""
    spend: dict[object, dict[dt.date, int]] = defaultdict(lambda: defaultdict(int))
    prior = set()
    for o in log:
        refunded = o.refunded.fen if o.refunded is not None else 0
        if o.status not in VALID or (refunded > 0 and refunded >= o.amount.fen):
            continue
        if o.placed_at < start:
            prior.add(o.customer_id)
        elif o.placed_at < as_of:
            spend[o.customer_id][o.placed_at.astimezone(SH).date()] += o.amount.fen - refunded
    out = {}
    end_day = as_of.astimezone(SH).date()
    for customer, by_day in spend.items():
        if customer in prior:
            continue
        days = sorted(by_day)
        out[customer] = (len(days) - 1, (days[-1] - days[0]).days, (end_day - days[0]).days,
                         sum(by_day[d] for d in days[1:]))
    return out


@given(log=order_logs(max_size=40), cut=st.integers(min_value=0, max_value=500),
       span=st.integers(min_value=1, max_value=600))
def test_summaries_match_the_reference(log: OrderLog, cut: int, span: int) -> None:
    start = dt.datetime(2023, 1, 1, tzinfo=SH) + dt.timedelta(days=cut, hours=cut % 24)
    as_of = start + dt.timedelta(days=span, hours=span % 13)
    s = summaries(log, as_of=as_of, calibration_start=start)
    got = {c: (int(x), int(tx), int(T), int(m)) for c, x, tx, T, m in zip(
        s.customer_ids.tolist(), s.x, s.t_x_days, s.T_days, s.repeat_spend_fen, strict=True)}
    assert got == reference(log, start, as_of)
    assert all(0 <= tx <= T for _, tx, T, _ in got.values())
    assert all(tx == 0 and m == 0 for x, tx, _, m in got.values() if x == 0)
