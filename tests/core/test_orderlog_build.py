"""``OrderLog.from_arrays`` on a large input codes the customer ids in a thread while it
checks the other columns: the same log, the same errors, as the plain path."""

from __future__ import annotations

import datetime as dt
import warnings
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from ecrm import DataFormatErrorGroup, OrderLog
from ecrm._orderlog import _THREAD_ROWS
from ecrm.rfm import UndersizedShopWarning, score

TZ = ZoneInfo("Asia/Shanghai")


def _columns(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    start = np.datetime64("2024-01-01T00:00:00", "s")
    return {
        "customer_ids": rng.integers(10_000, 10_000 + n // 5, size=n),
        "placed_at": start + np.sort(rng.integers(0, 365 * 86_400, size=n)).astype("m8[s]"),
        "amounts": rng.integers(100, 50_000, size=n),
    }


def test_a_large_build_codes_the_ids_as_np_unique_does() -> None:
    cols = _columns(_THREAD_ROWS)
    log = OrderLog.from_arrays(cols["customer_ids"], cols["placed_at"], cols["amounts"],
                               tz="Asia/Shanghai")
    uniq, inverse = np.unique(cols["customer_ids"], return_inverse=True)
    assert np.array_equal(log.customer_ids, uniq)
    rows = log._input_rows()
    assert rows is not None
    # compact integer ids are kept as offsets: the slot of each row, taken at the buckets,
    # is its customer code
    assert rows.buckets is not None
    assert np.array_equal(np.searchsorted(rows.buckets, rows.customer_codes), inverse)
    # the codes made on first use of the layout name each row's customer
    assert np.array_equal(log.customer_ids[log.customer_codes], np.sort(cols["customer_ids"]))


def test_a_large_build_with_a_bad_cell_raises_it() -> None:
    cols = _columns(_THREAD_ROWS)
    cols["amounts"][123_456] = -5
    with pytest.raises(DataFormatErrorGroup) as caught:
        OrderLog.from_arrays(cols["customer_ids"], cols["placed_at"], cols["amounts"],
                             tz="Asia/Shanghai")
    (error,) = caught.value.exceptions
    assert error.column == "amounts"
    assert error.value == -5


def _accumulated(log: OrderLog, as_of: dt.datetime) -> str:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UndersizedShopWarning)
        score(log, as_of=as_of)
    (warning,) = caught
    return str(warning.message).split(" customers")[0]


@pytest.mark.parametrize("time_sorted", [True, False])
def test_the_undersized_check_counts_customers_with_an_order_before_as_of(
    time_sorted: bool,
) -> None:
    """a buys on May 1 and 3, b on May 2, c on May 5 (rows in time order or not)."""
    at = [dt.datetime(2024, 5, d, 12, tzinfo=TZ) for d in (1, 2, 3, 5)]
    ids = ["a", "b", "a", "c"]
    if not time_sorted:
        at, ids = at[::-1], ids[::-1]
    log = OrderLog.from_arrays(ids, at, [100, 200, 300, 400])
    assert _accumulated(log, dt.datetime(2024, 6, 1, tzinfo=TZ)).endswith("accumulated 3")
    assert _accumulated(log, dt.datetime(2024, 5, 4, tzinfo=TZ)).endswith("accumulated 2")
    assert _accumulated(log, dt.datetime(2024, 5, 1, tzinfo=TZ)).endswith("accumulated 0")
