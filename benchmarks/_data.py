"""Synthetic order columns for the benchmarks: seeded, skewed, vectorised.

``generate()`` returns plain numpy columns that :meth:`ecrm.OrderLog.from_arrays` takes as
they are, and that the peers (pandas, polars, DuckDB, lifetimes) read without conversion
work beyond wrapping the arrays:

>>> from benchmarks._data import generate
>>> cols = generate(n_orders=1_000, n_customers=100, seed=1)
>>> sorted(cols)
['amounts', 'customer_ids', 'placed_at', 'refunded', 'statuses']

The shape of the data (what a Taobao/Tmall shop's export looks like):

* every customer has at least one order; the remaining orders are shared out by
  lognormal weights, so most customers buy once or twice and a few buy hundreds of times;
* customer ids are auto-increment style integers with gaps (sparse enough to need a
  factorisation, dense enough for a direct-address table) unless ``id_span`` says otherwise;
* rows are in time order (as an export comes), not grouped by customer; order volume
  grows over the period (later months are busier);
* amounts are lognormal, median about ¥150, clipped to ¥20–¥3,000, in integer fen;
* statuses are ``OrderStatus`` codes (0 UNPAID, 1 PAID, 2 SHIPPED, 3 COMPLETED,
  4 REFUNDED, 5 CLOSED), mostly COMPLETED; some valid orders carry a partial refund and a
  few a full one (which makes them invalid).
"""

from __future__ import annotations

import time
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["STATUS_NAMES", "STATUS_SHARES", "generate", "raw_nbytes"]

#: ``OrderStatus`` code → name, in code order (the order of ``ecrm.OrderStatus``).
STATUS_NAMES: Final = ("unpaid", "paid", "shipped", "completed", "refunded", "closed")
#: Share of each status code among the generated orders.
STATUS_SHARES: Final = (0.03, 0.04, 0.06, 0.80, 0.04, 0.03)
#: Share of valid-status orders with a partial refund, and with a full refund.
PARTIAL_REFUND_SHARE: Final = 0.03
FULL_REFUND_SHARE: Final = 0.005

_MIN_FEN: Final = 2_000  # ¥20
_MAX_FEN: Final = 300_000  # ¥3,000
_MEDIAN_FEN: Final = 15_000  # ¥150
_ID_BASE: Final = 10_000_000


def generate(
    n_orders: int = 10_000_000,
    n_customers: int = 1_000_000,
    seed: int = 0,
    *,
    start: str = "2023-01-01",
    end: str = "2025-12-01",
    skew: float = 1.8,
    id_span: float = 1.25,
) -> dict[str, npt.NDArray[np.generic]]:
    """Generate ``n_orders`` orders of ``n_customers`` customers, deterministically.

    Args:
        n_orders: number of rows; at least ``n_customers``.
        n_customers: number of distinct customers (each has at least one order).
        seed: the random seed; the same arguments give the same arrays.
        start, end: the half-open period ``[start, end)`` of ``placed_at``, as ISO dates
            (wall time in Asia/Shanghai).
        skew: sigma of the lognormal purchase-rate weights; larger means more one-time
            buyers and heavier heavy buyers.
        id_span: customer ids are drawn without replacement from
            ``[10_000_000, 10_000_000 + id_span * n_customers)``; use a huge span (e.g.
            ``1e6``) for hash-like ids.

    Returns:
        A dict of equal-length numpy arrays, in time order:
        ``customer_ids`` int64; ``placed_at`` datetime64[s] wall time in Asia/Shanghai;
        ``amounts`` int64 fen; ``refunded`` int64 fen (0 <= refunded <= amount);
        ``statuses`` int8 ``OrderStatus`` codes.
    """
    if n_customers < 1 or n_orders < n_customers:
        raise ValueError(f"need 1 <= n_customers <= n_orders, got {n_customers=}, {n_orders=}")
    if id_span < 1:
        raise ValueError(f"id_span must be >= 1, got {id_span}")
    rng = np.random.default_rng(seed)

    # Orders per customer: one each, plus a multinomial share of the rest by lognormal weight.
    weights = rng.lognormal(mean=0.0, sigma=skew, size=n_customers)
    extra = rng.multinomial(n_orders - n_customers, weights / weights.sum())
    counts = extra + 1
    span = int(id_span * n_customers)
    if span == n_customers:
        ids = np.arange(_ID_BASE, _ID_BASE + n_customers, dtype=np.int64)
    elif span < 8 * n_customers:
        # Auto-increment ids with deleted rows: keep a random subset of a dense range.
        keep = np.zeros(span, dtype=bool)
        keep[rng.choice(span, size=n_customers, replace=False)] = True
        ids = np.flatnonzero(keep).astype(np.int64) + _ID_BASE
    else:
        ids = np.unique(rng.integers(0, span, size=int(n_customers * 1.05)))
        while len(ids) < n_customers:  # pragma: no cover - astronomically rare
            ids = np.unique(np.concatenate([ids, rng.integers(0, span, size=n_customers)]))
        ids = rng.permutation(ids)[:n_customers] + _ID_BASE
    customer_ids = rng.permutation(np.repeat(ids, counts))

    # Times: growing volume (density rises linearly to 3x), sorted as an export would be.
    lo = np.datetime64(start, "s").astype(np.int64)
    hi = np.datetime64(end, "s").astype(np.int64)
    u = rng.random(n_orders)
    growth = 3.0  # density at the end / density at the start
    frac = (np.sqrt(1.0 + (growth**2 - 1.0) * u) - 1.0) / (growth - 1.0)
    secs = lo + (frac * (hi - lo)).astype(np.int64)
    secs.sort()
    placed_at = secs.view("datetime64[s]")

    # Amounts: lognormal around ¥150, whole fen, clipped to ¥20..¥3,000.
    amounts = np.clip(
        rng.lognormal(np.log(_MEDIAN_FEN), 0.9, size=n_orders), _MIN_FEN, _MAX_FEN
    ).astype(np.int64)

    statuses = rng.choice(
        np.arange(len(STATUS_SHARES), dtype=np.int8), size=n_orders, p=STATUS_SHARES
    )
    r = rng.random(n_orders)
    valid_status = (statuses >= 1) & (statuses <= 3)
    refunded = np.zeros(n_orders, dtype=np.int64)
    partial = valid_status & (r < PARTIAL_REFUND_SHARE)
    full = valid_status & (r >= PARTIAL_REFUND_SHARE) & (
        r < PARTIAL_REFUND_SHARE + FULL_REFUND_SHARE
    )
    # A partial refund is 10..90 % of the amount, whole fen, at least 1 fen short of it.
    share = rng.integers(10, 91, size=n_orders)
    refunded[partial] = amounts[partial] * share[partial] // 100
    refunded[full] = amounts[full]
    refunded[statuses == 4] = amounts[statuses == 4]  # REFUNDED orders are refunded in full
    return {
        "customer_ids": customer_ids,
        "placed_at": placed_at,
        "amounts": amounts,
        "refunded": refunded,
        "statuses": statuses,
    }


def raw_nbytes(cols: dict[str, npt.NDArray[np.generic]]) -> int:
    """Total bytes of the generated columns (the input a library is handed)."""
    return sum(int(a.nbytes) for a in cols.values())


def _main() -> None:
    import argparse

    p = argparse.ArgumentParser(description="Generate the benchmark orders and describe them.")
    p.add_argument("--orders", type=int, default=10_000_000)
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    t0 = time.perf_counter()
    cols = generate(a.orders, a.customers, a.seed)
    took = time.perf_counter() - t0
    ids = cols["customer_ids"]
    _, per = np.unique(ids, return_counts=True)
    print(f"generated {len(ids):,} orders in {took:.2f} s, {raw_nbytes(cols) / 1e6:,.0f} MB")
    print(f"customers {len(per):,}: one order {np.mean(per == 1):.1%}, "
          f"median {int(np.median(per))}, p99 {int(np.percentile(per, 99))}, max {per.max():,}")
    fen = cols["amounts"]
    print(f"amounts: median ¥{np.median(fen) / 100:,.2f}, mean ¥{fen.mean() / 100:,.2f}")
    per_status = np.bincount(cols["statuses"], minlength=len(STATUS_NAMES))
    print("statuses:", {STATUS_NAMES[k]: int(v) for k, v in enumerate(per_status)})
    print("placed_at:", cols["placed_at"][0], "..", cols["placed_at"][-1])


if __name__ == "__main__":
    _main()
