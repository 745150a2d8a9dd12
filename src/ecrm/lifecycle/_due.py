"""Due lists: repurchase reminders by item cycle, inactive customers, churn warning, win-back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final, Literal

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._deprecate import renamed_attribute, renamed_kwarg
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame, dates, nullable
from ecrm._time import MAX_YEAR, MIN_YEAR, date_to_day, local_day, require_aware
from ecrm.errors import InvalidTypeError, InvalidValueError, _short_repr
from ecrm.lifecycle._by import CycleTable, _items_of, factorize
from ecrm.lifecycle._cycle import Bands, RepurchaseCycle, check_log, check_rows
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
        p_alive: float64, shape (n,): the probability alive the list was given (NaN for a
            customer without one), or ``None`` for a list made without probabilities.
    """

    customer_ids: npt.NDArray[Any]
    days_since_last: IntArray
    as_of: dt.datetime
    reason: str
    p_alive: npt.NDArray[np.float64] | None = None

    def __attrs_post_init__(self) -> None:
        columns = {"customer_ids": self.customer_ids, "days_since_last": self.days_since_last}
        if self.p_alive is not None:
            columns["p_alive"] = self.p_alive
        check_rows("CustomerDays", columns, ints=("days_since_last",))

    def __len__(self) -> int:
        return len(self.customer_ids)

    def _columns(self) -> dict[str, Any]:
        """``customer_id, days_since_last`` (and ``p_alive`` when given): one row per customer."""
        cols: dict[str, Any] = {"customer_id": self.customer_ids, "days_since_last": self.days_since_last}
        if self.p_alive is not None:
            cols["p_alive"] = nullable(self.p_alive, np.isnan(self.p_alive))
        return cols
    def __repr__(self) -> str:
        return (
            f"CustomerDays({len(self):,} customers, as_of={self.as_of.isoformat()}, "
            f"reason={self.reason!r})"
        )


@attrs.frozen(eq=False)
class DueReminders(ResultFrame):
    """Customers due a repurchase reminder on ``day``, one row per (customer, item/category).

    Attributes:
        day: the local date the reminders are for (``.on`` is the deprecated alias).
        by: "sku" or "category".
        customer_ids: shape (n,), sorted by customer then key.
        keys: str, shape (n,): the SKU / category whose cycle came due.
        last_purchase_days: int64, shape (n,): local day number of the last purchase of it.
        p50_days: int64, shape (n,): the cycle P50 that answered for the key.
        scopes: str, shape (n,): the scope of that cycle ("sku:...", "category:...", "store").
    """

    day: dt.date
    by: str
    customer_ids: npt.NDArray[Any]
    keys: npt.NDArray[np.str_]
    last_purchase_days: IntArray
    p50_days: IntArray
    scopes: npt.NDArray[np.str_]

    on = renamed_attribute("on", "day")

    def __attrs_post_init__(self) -> None:
        check_rows("DueReminders", {
            "customer_ids": self.customer_ids, "keys": self.keys,
            "last_purchase_days": self.last_purchase_days, "p50_days": self.p50_days,
            "scopes": self.scopes,
        }, ints=("last_purchase_days", "p50_days"), texts=("keys", "scopes"))

    def __len__(self) -> int:
        return len(self.customer_ids)

    def _columns(self) -> dict[str, Any]:
        """``customer_id, <by> (sku or category), last_purchase_date, p50_days, scope``:
        one row per (customer, item) due on ``day``."""
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
            f"{len(np.unique(self.keys)):,} {self.by} keys, day={self.day.isoformat()})"
        )


# The attrs-made __init__ takes the old keyword for one release.
setattr(DueReminders, "__init__", renamed_kwarg("on", "day")(DueReminders.__init__))  # noqa: B010


def _check_days(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"{field} must be an int of days, got {_short_repr(value)}")
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
        f"as_of must be a date or an aware datetime, got {type(as_of).__name__} {_short_repr(as_of)}")


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
        day=on_date,
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


ChurnRule = Literal["days", "p_alive", "either", "both"]
_RULES: Final = ("days", "p_alive", "either", "both")


def churn_warning(
    orders: OrderLog,
    *,
    as_of: dt.datetime,
    days: int = 15,
    cycle: RepurchaseCycle | Bands | tuple[int, int, int] | None = None,
    exact: bool = False,
    statuses: Iterable[OrderStatus] | None = None,
    rule: ChurnRule = "days",
    p_alive: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    p_alive_below: float = 0.3,
) -> CustomerDays:
    """The churn-warning list (流失预警): customers inactive for ``days`` days (default 15)
    or unlikely to still be customers, not yet churned.

    The days rule is the default. A model's probability alive (``ecrm.predict``, passed
    in as plain arrays so this package needs no model) can raise the warning instead or as
    well: ``rule="p_alive"`` lists customers whose P(alive) is below ``p_alive_below``,
    ``"either"`` those the days rule or the probability lists, ``"both"`` those both list.
    With a ``cycle``, customers already past its P90 (churned) are left out: they belong to
    win-back (:func:`win_back_candidates`), not to a warning.

    Args:
        orders, as_of, statuses: as for :func:`inactive_customers`.
        days: inactivity in whole days that raises the warning.
        cycle: optional boundaries; drops customers with ``days_since_last > P90``.
        exact: only customers at exactly ``days`` days (fire once; the days rule).
        rule: ``"days"``, ``"p_alive"``, ``"either"`` or ``"both"``.
        p_alive: (customer ids, probabilities), each shape (k,), e.g.
            ``(predictions.customer_ids, predictions.p_alive)``; needed by every rule but
            ``"days"``. Customers without a probability are never listed by it.
        p_alive_below: the line: a probability strictly below it raises the warning.

    Returns:
        :class:`CustomerDays`, with ``p_alive`` filled when probabilities were given.

    Raises:
        InvalidValueError: an unknown rule; probabilities missing for a rule that needs
            them, given to the days rule, outside [0, 1], of another shape than the ids,
            or ids of another kind than the orders'; a line outside (0, 1].
    """
    log = check_log(orders)
    n = _check_days("days", days)
    if rule not in _RULES:
        raise InvalidValueError("rule", f"must be one of {', '.join(_RULES)}", rule)
    if (p_alive is None) != (rule == "days"):
        raise InvalidValueError(
            "p_alive", "is needed by the rule" if p_alive is None else
            "is ignored by rule='days': pass rule='p_alive', 'either' or 'both'", rule)
    if isinstance(p_alive_below, bool) or not isinstance(p_alive_below, int | float) or not (
            0.0 < p_alive_below <= 1.0):
        raise InvalidValueError("p_alive_below", "must be a probability in (0, 1]", p_alive_below)
    bands = None if cycle is None else (
        cycle.bands if isinstance(cycle, RepurchaseCycle) else Bands.of(cycle)
    )
    ids, since, when = _days_since_last(log, as_of, statuses)
    by_days = since == n if exact else since >= n
    reason = f"churn warning: inactive {n}+ days"
    prob: npt.NDArray[np.float64] | None = None
    if p_alive is None:
        keep = by_days
    else:
        prob = _probabilities_of(ids, p_alive)
        low = prob < p_alive_below  # NaN (no probability) is never below
        line = f"P(alive) < {p_alive_below:g}"
        keep, reason = {
            "p_alive": (low, f"churn warning: {line}"),
            "either": (by_days | low, f"churn warning: inactive {n}+ days or {line}"),
            "both": (by_days & low, f"churn warning: inactive {n}+ days and {line}"),
        }[rule]
    if bands is not None:
        keep &= since <= bands.p90_days
    return CustomerDays(ids[keep], since[keep], when, reason, None if prob is None else prob[keep])


def _probabilities_of(ids: npt.NDArray[Any], p_alive: tuple[npt.ArrayLike, npt.ArrayLike]) -> npt.NDArray[np.float64]:
    """The probability given for each of ``ids`` (NaN where none is given)."""
    given_ids = np.asarray(p_alive[0])
    probs = np.asarray(p_alive[1], dtype=np.float64)
    if given_ids.ndim != 1 or probs.shape != given_ids.shape:
        raise InvalidValueError("p_alive", "must be (ids, probabilities) of one shape (k,)",
                                (given_ids.shape, probs.shape))
    bad = ~((probs >= 0.0) & (probs <= 1.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidValueError(f"p_alive[{i}]", "must be a probability in [0, 1]", float(probs[i]))
    out = np.full(len(ids), np.nan)
    if not len(given_ids) or not len(ids):
        return out
    if (given_ids.dtype.kind == "U") != (np.asarray(ids).dtype.kind == "U"):
        raise InvalidValueError("p_alive", "ids must be of the orders' id kind (both str or both int)",
                                f"{given_ids.dtype} vs {np.asarray(ids).dtype}")
    order = np.argsort(given_ids, kind="stable")
    sorted_ids = given_ids[order]
    pos = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
    found = sorted_ids[pos] == ids
    out[found] = probs[order[pos[found]]]
    return out


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
