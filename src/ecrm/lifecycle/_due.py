"""Due lists: repurchase reminders by item cycle, inactive customers, churn warning, win-back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._deprecate import renamed_kwarg
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame, dates
from ecrm._time import MAX_YEAR, MIN_YEAR, date_to_day, local_day, require_aware
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.lifecycle._by import CycleTable, _items_of, factorize
from ecrm.lifecycle._cycle import Bands, RepurchaseCycle, check_log
from ecrm.lifecycle._kernels import NONE_DAYS, as_of_for, store_events

__all__ = [
    "CustomerDays",
    "DueReminders",
    "churn_warning",
    "due_repurchase_reminders",
    "inactive_customers",
    "win_back_candidates",
]

IntArray = npt.NDArray[np.int64]


@attrs.frozen(eq=False)
class CustomerDays(ResultFrame):
    """A list of customers with the whole days since their last purchase day.

    Attributes:
        customer_ids: shape (n,), sorted.
        days_since_last: int64, shape (n,).
        as_of: the aware datetime of the list.
        reason: what put them on the list, in words.
    """

    customer_ids: npt.NDArray[Any]
    days_since_last: IntArray
    as_of: dt.datetime
    reason: str

    def __len__(self) -> int:
        return len(self.customer_ids)

    def _columns(self) -> dict[str, Any]:
        """``customer_id, days_since_last``: one row per customer on the list."""
        return {"customer_id": self.customer_ids, "days_since_last": self.days_since_last}
    def __repr__(self) -> str:
        return (
            f"CustomerDays({len(self):,} customers, as_of={self.as_of.isoformat()}, "
            f"reason={self.reason!r})"
        )


@attrs.frozen(eq=False)
class DueReminders(ResultFrame):
    """Customers due a repurchase reminder on ``on``, one row per (customer, item/category).

    Attributes:
        on: the local date the reminders are for.
        by: "sku" or "category".
        customer_ids: shape (n,), sorted by customer then key.
        keys: str, shape (n,): the SKU / category whose cycle came due.
        last_purchase_days: int64, shape (n,): local day number of the last purchase of it.
        p50_days: int64, shape (n,): the cycle P50 that answered for the key.
        scopes: str, shape (n,): the scope of that cycle ("sku:...", "category:...", "store").
    """

    on: dt.date
    by: str
    customer_ids: npt.NDArray[Any]
    keys: npt.NDArray[np.str_]
    last_purchase_days: IntArray
    p50_days: IntArray
    scopes: npt.NDArray[np.str_]

    def __len__(self) -> int:
        return len(self.customer_ids)

    def _columns(self) -> dict[str, Any]:
        """``customer_id, <by> (sku or category), last_purchase_date, p50_days, scope``:
        one row per (customer, item) due on ``on``."""
        return {
            "customer_id": self.customer_ids,
            self.by: self.keys,
            "last_purchase_date": dates(self.last_purchase_days),
            "p50_days": self.p50_days,
            "scope": self.scopes,
        }
    def __repr__(self) -> str:
        customers = len(np.unique(self.customer_ids)) if len(self) else 0
        return (
            f"DueReminders({len(self):,} reminders, {customers:,} customers, "
            f"{len(np.unique(self.keys)):,} {self.by} keys, on={self.on.isoformat()})"
        )


def _check_days(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"{field} must be an int of days, got {value!r}")
    if value < 0:
        raise InvalidValueError(field, "must be >= 0 days", value)
    return value


def _on_day(log: OrderLog, as_of: object) -> tuple[dt.date, int]:
    if isinstance(as_of, dt.datetime):
        aware = require_aware(as_of, "as_of")
        day = local_day(aware, log.tz)
        return aware.astimezone(log.tz).date(), day
    if isinstance(as_of, dt.date):
        if not MIN_YEAR <= as_of.year <= MAX_YEAR:
            raise InvalidValueError("as_of", f"must be in the years {MIN_YEAR} to {MAX_YEAR}", as_of)
        return as_of, date_to_day(as_of)
    raise InvalidTypeError(
        f"as_of must be a date or an aware datetime, got {type(as_of).__name__} {as_of!r}")


@renamed_kwarg("on", "as_of")
def due_repurchase_reminders(
    orders: OrderLog,
    *,
    as_of: dt.date | dt.datetime,
    cycles: CycleTable,
    statuses: Iterable[OrderStatus] | None = None,
) -> DueReminders:
    """Customers whose last purchase of an item (or category) reaches its cycle P50 on the
    local day of ``as_of``.

    A customer is due for key k when their last purchase day of k (valid orders placed
    before the local day of ``as_of``) plus the P50 that answered for k in ``cycles``
    equals that day. Keys without a P50 and keys missing from ``cycles`` are skipped.

    Args:
        orders: an order log with order lines.
        as_of: the local date (a ``date``, or an aware ``datetime`` whose local day in the
            store's zone is the due day); ``on=`` is its deprecated alias.
        cycles: the table from :func:`cycles_by`; its ``by`` decides SKU or category.
        statuses: which statuses count as valid.

    Raises:
        InvalidValueError: the log has no order lines.
        InvalidTypeError: ``cycles`` is not a CycleTable, ``as_of`` not a date.
    """
    log = check_log(orders)
    if not isinstance(cycles, CycleTable):
        raise InvalidTypeError(f"cycles must be a CycleTable, got {type(cycles).__name__}")
    on_date, on_day = _on_day(log, as_of)
    items = _items_of(log, cycles.by)
    assert items.order_rows is not None
    keys = cycles.keys
    n_keys = len(keys)
    names, codes = factorize(items.skus if cycles.by == "sku" else items.categories)
    # Each distinct label's row in the table (−1 when absent or without a P50).
    name_row = np.full(len(names), -1, dtype=np.int64)
    if n_keys and len(names):
        at = np.minimum(np.searchsorted(keys, names), n_keys - 1)
        found = (keys[at] == names) & (cycles.p_days[at, 0] != NONE_DAYS)
        name_row[found] = at[found]
    g_all = name_row[codes] if len(codes) else np.zeros(0, dtype=np.int64)
    rows_all = items.order_rows
    ok = (log.valid_mask(statuses) & (log.placed_day < on_day))[rows_all] & (g_all >= 0)
    lines = np.flatnonzero(ok)
    g = g_all[lines]
    rows = rows_all[lines]
    day = log.placed_day[rows]
    # Due: a purchase of the key exactly P50 days before `on`, and none after it.
    target = on_day - cycles.p_days[g, 0] if n_keys else np.zeros(0, dtype=np.int64)
    pair = log.customer_codes[rows].astype(np.int64) * max(n_keys, 1) + g
    candidates = np.unique(pair[day == target])
    later = np.unique(pair[day > target])
    due_pairs = candidates[~np.isin(candidates, later, assume_unique=True)]
    pc, pg = np.divmod(due_pairs, max(n_keys, 1))
    p50 = cycles.p_days[pg, 0] if n_keys else np.zeros(0, dtype=np.int64)
    return DueReminders(
        on=on_date,
        by=cycles.by,
        customer_ids=log.customer_ids[pc],
        keys=keys[pg],
        last_purchase_days=(on_day - p50).astype(np.int64),
        p50_days=p50.astype(np.int64),
        scopes=cycles.scopes[pg],
    )


def _days_since_last(
    log: OrderLog, as_of: dt.datetime, statuses: Any
) -> tuple[npt.NDArray[Any], IntArray, dt.datetime]:
    when = as_of_for(log, as_of)
    codes, ev = store_events(log, when.us, statuses, "merge")
    return log.customer_ids[codes], when.day - ev.last_day, when.when


def inactive_customers(
    orders: OrderLog,
    *,
    as_of: dt.datetime,
    days: int = 30,
    exact: bool = False,
    statuses: Iterable[OrderStatus] | None = None,
) -> CustomerDays:
    """Customers with a valid order but none in the last ``days`` days (default 30).

    ``days_since_last >= days`` (``== days`` with ``exact=True``, for a trigger that fires
    once, on the day the mark is reached). Prospects (no valid order) are not listed.
    """
    log = check_log(orders)
    n = _check_days("days", days)
    if not isinstance(exact, bool):
        raise InvalidTypeError(f"exact must be a bool, got {type(exact).__name__}")
    ids, since, when = _days_since_last(log, as_of, statuses)
    keep = since == n if exact else since >= n
    return CustomerDays(ids[keep], since[keep], when, f"no purchase for {n}+ days" if not exact
                        else f"no purchase for exactly {n} days")


def churn_warning(
    orders: OrderLog,
    *,
    as_of: dt.datetime,
    days: int = 15,
    cycle: RepurchaseCycle | Bands | tuple[int, int, int] | None = None,
    exact: bool = False,
    statuses: Iterable[OrderStatus] | None = None,
) -> CustomerDays:
    """The churn-warning list: customers inactive for ``days`` days (default 15), not yet churned.

    With a ``cycle``, customers already past its P90 (churned) are left out: they belong to
    win-back (:func:`win_back_candidates`), not to a warning.

    Args:
        orders, as_of, statuses: as for :func:`inactive_customers`.
        days: inactivity in whole days that raises the warning.
        cycle: optional boundaries; drops customers with ``days_since_last > P90``.
        exact: only customers at exactly ``days`` days (fire once).
    """
    log = check_log(orders)
    n = _check_days("days", days)
    bands = None if cycle is None else (
        cycle.bands if isinstance(cycle, RepurchaseCycle) else Bands.of(cycle)
    )
    ids, since, when = _days_since_last(log, as_of, statuses)
    keep = since == n if exact else since >= n
    if bands is not None:
        keep &= since <= bands.p90_days
    return CustomerDays(ids[keep], since[keep], when, f"churn warning: inactive {n}+ days")


def win_back_candidates(
    orders: OrderLog,
    *,
    as_of: dt.datetime,
    cycle: RepurchaseCycle | Bands | tuple[int, int, int],
    within_days: int = 30,
    statuses: Iterable[OrderStatus] | None = None,
) -> CustomerDays:
    """Churned customers still inside the win-back window: P90 < days ≤ P90 + ``within_days``.

    The default playbook's win-back ("好久不见", 满100返50) goes to them.
    """
    log = check_log(orders)
    n = _check_days("within_days", within_days)
    bands = cycle.bands if isinstance(cycle, RepurchaseCycle) else Bands.of(cycle)
    ids, since, when = _days_since_last(log, as_of, statuses)
    keep = (since > bands.p90_days) & (since <= bands.p90_days + n)
    return CustomerDays(ids[keep], since[keep], when, f"churned within the last {n} days")
