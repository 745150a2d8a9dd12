"""Store metrics per period with period-over-period and year-over-year comparison."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from fractions import Fraction
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._money import Money
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame, fen, moments, ratios
from ecrm._time import datetime_to_us, local_days
from ecrm.analytics._attribution import Attribution
from ecrm.analytics._periods import Change, Period, change, check_periods
from ecrm.analytics._text import format_rows
from ecrm.errors import InvalidValueError

__all__ = [
    "NewCustomerDefinition",
    "PeriodMetrics",
    "RepurchaseBase",
    "StoreMetrics",
    "store_metrics",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class NewCustomerDefinition(enum.Enum):
    """Who counts as a *new* customer in a period (everyone else who bought is *returning*).

    ``FIRST_ORDER_EVER``: the customer's first valid order in the whole log falls in the
    period. ``FIRST_IN_WINDOW``: the customer has no valid order in the lookback window
    (``lookback_days`` calendar days) before the period's start — a customer back after a
    long absence counts as new again.
    """

    FIRST_ORDER_EVER = "first_order_ever"
    FIRST_IN_WINDOW = "first_in_window"


class RepurchaseBase(enum.Enum):
    """The denominator (and matching numerator) of the repurchase rate.

    ``IN_PERIOD``: of the customers who bought in the period, the share with at least two
    purchase days (local calendar days) in it. ``PREVIOUS_PERIOD``: of the customers who
    bought in the previous period, the share who bought again in this one (retention).
    ``EVER_BEFORE``: of every customer with a valid order before the period's start, the
    share who bought in the period.
    """

    IN_PERIOD = "in_period"
    PREVIOUS_PERIOD = "previous_period"
    EVER_BEFORE = "ever_before"


def _ratio(num: int, den: int) -> Fraction | None:
    return None if den == 0 else Fraction(num, den)


@attrs.frozen
class PeriodMetrics:
    """The store's numbers for one period (valid orders placed in ``[start, end)``).

    Money in integer fen, net of partial refunds. Counts of customers are distinct
    customers; ``new_*`` and ``returning_*`` split them (and their orders and sales) by the
    :class:`NewCustomerDefinition` in use.

    Attributes:
        period: the period.
        sales_fen, orders, customers: totals.
        new_customers, new_orders, new_sales_fen: of new customers (all their orders in the
            period, not only the first).
        returning_customers, returning_orders, returning_sales_fen: of returning customers.
        repurchasers, repurchase_base: numerator and denominator of the repurchase rate.
        new_repurchasers, returning_repurchasers: new / returning customers with at least
            two purchase days in the period (the per-group rates are always in-period).
        attributed_sales_fen: sales of CRM-attributed orders (``None`` without attribution).
    """

    period: Period
    sales_fen: int
    orders: int
    customers: int
    new_customers: int
    new_orders: int
    new_sales_fen: int
    returning_customers: int
    returning_orders: int
    returning_sales_fen: int
    repurchasers: int
    repurchase_base: int
    new_repurchasers: int
    returning_repurchasers: int
    attributed_sales_fen: int | None

    @property
    def average_order_fen(self) -> Fraction | None:
        """Sales per order (exact), ``None`` without orders."""
        return _ratio(self.sales_fen, self.orders)

    @property
    def new_average_order_fen(self) -> Fraction | None:
        """New customers' sales per order."""
        return _ratio(self.new_sales_fen, self.new_orders)

    @property
    def returning_average_order_fen(self) -> Fraction | None:
        """Returning customers' sales per order."""
        return _ratio(self.returning_sales_fen, self.returning_orders)

    @property
    def repurchase_rate(self) -> Fraction | None:
        """``repurchasers / repurchase_base``; ``None`` when the base is 0."""
        return _ratio(self.repurchasers, self.repurchase_base)

    @property
    def new_repurchase_rate(self) -> Fraction | None:
        """Share of new customers with at least two purchase days in the period."""
        return _ratio(self.new_repurchasers, self.new_customers)

    @property
    def returning_repurchase_rate(self) -> Fraction | None:
        """Share of returning customers with at least two purchase days in the period."""
        return _ratio(self.returning_repurchasers, self.returning_customers)

    @property
    def returning_share(self) -> Fraction | None:
        """Returning customers / customers."""
        return _ratio(self.returning_customers, self.customers)

    @property
    def attributed_share(self) -> Fraction | None:
        """Attributed sales / sales (``None`` without attribution or sales)."""
        if self.attributed_sales_fen is None:
            return None
        return _ratio(self.attributed_sales_fen, self.sales_fen)


#: The metrics ``table()`` reports, in order: (name, kind). Kinds: money (fen),
#: count, rate (a share, compared in percentage points).
METRICS: Final = (
    ("sales_fen", "money"),
    ("orders", "count"),
    ("customers", "count"),
    ("average_order_fen", "money"),
    ("new_customers", "count"),
    ("new_sales_fen", "money"),
    ("new_average_order_fen", "money"),
    ("returning_customers", "count"),
    ("returning_sales_fen", "money"),
    ("returning_average_order_fen", "money"),
    ("repurchase_rate", "rate"),
    ("new_repurchase_rate", "rate"),
    ("returning_repurchase_rate", "rate"),
    ("attributed_sales_fen", "money"),
    ("attributed_share", "rate"),
)
_KINDS: Final = dict(METRICS)
_LABELS: Final = {
    "sales_fen": "sales",
    "orders": "orders",
    "customers": "customers",
    "average_order_fen": "AOV",
    "new_customers": "new",
    "new_sales_fen": "new sales",
    "new_average_order_fen": "new AOV",
    "returning_customers": "returning",
    "returning_sales_fen": "ret. sales",
    "returning_average_order_fen": "ret. AOV",
    "repurchase_rate": "repurchase",
    "new_repurchase_rate": "new rep.",
    "returning_repurchase_rate": "ret. rep.",
    "attributed_sales_fen": "CRM sales",
    "attributed_share": "CRM share",
}


@attrs.frozen
class StoreMetrics(ResultFrame):
    """Store metrics of each requested period, with the periods they are compared to.

    Attributes:
        rows: one :class:`PeriodMetrics` per requested period, in order.
        previous: the metrics of each row's previous period (period over period).
        year_ago: the metrics of each row's period one year earlier (year over year).
        currency: the log's currency.
        new_definition, lookback_days, repurchase_base: the definitions used.
    """

    rows: tuple[PeriodMetrics, ...]
    previous: tuple[PeriodMetrics, ...] = attrs.field(repr=False)
    year_ago: tuple[PeriodMetrics, ...] = attrs.field(repr=False)
    currency: str
    new_definition: NewCustomerDefinition
    lookback_days: int
    repurchase_base: RepurchaseBase

    def _columns(self) -> dict[str, Any]:
        """``period, start, end`` and every :data:`METRICS` value: one row per requested
        period. Money is integer fen (averages rounded half to even), rates are floats,
        missing where undefined (no orders, no base, no attribution)."""
        cols: dict[str, Any] = {
            "period": np.asarray([r.period.label for r in self.rows], dtype=str),
            "start": moments([r.period.start for r in self.rows]),
            "end": moments([r.period.end for r in self.rows]),
        }
        for name, kind in METRICS:
            values = [getattr(r, name) for r in self.rows]
            if kind == "money":
                cols[name] = fen(values)
            elif kind == "rate":
                cols[name] = ratios(values)
            else:
                cols[name] = np.asarray(values, dtype=np.int64)
        return cols

    def values(self, metric: str) -> list[Any]:
        """The value of ``metric`` (a :data:`METRICS` name) for each row."""
        _check_metric(metric)
        return [getattr(r, metric) for r in self.rows]

    def changes(self, metric: str, against: str = "previous") -> list[Change]:
        """Each row's ``metric`` against the previous period (``"previous"``) or the same
        period a year earlier (``"year_ago"``)."""
        _check_metric(metric)
        if against not in ("previous", "year_ago"):
            raise InvalidValueError("against", "must be 'previous' or 'year_ago'", against)
        bases = self.previous if against == "previous" else self.year_ago
        return [change(getattr(r, metric), getattr(b, metric))
                for r, b in zip(self.rows, bases, strict=True)]

    def table(self) -> list[dict[str, Any]]:
        """One dict per period: ``period`` (label), every metric, and for each metric
        ``<metric>_pop`` and ``<metric>_yoy`` :class:`Change` values."""
        out = []
        for i, r in enumerate(self.rows):
            row: dict[str, Any] = {"period": r.period.label}
            for name, _ in METRICS:
                row[name] = getattr(r, name)
                row[f"{name}_pop"] = change(getattr(r, name), getattr(self.previous[i], name))
                row[f"{name}_yoy"] = change(getattr(r, name), getattr(self.year_ago[i], name))
            out.append(row)
        return out

    def format_table(
        self, metrics: Sequence[str] = ("sales_fen", "orders", "customers", "new_customers",
                                        "returning_customers", "repurchase_rate"),
        *, compare: str | None = "previous",
    ) -> str:
        """A text table: a row per period, a column per metric (with ``compare`` change).

        Args:
            metrics: :data:`METRICS` names.
            compare: ``"previous"``, ``"year_ago"`` or ``None`` (no change columns).
        """
        for m in metrics:
            _check_metric(m)
        header = ["period"]
        for m in metrics:
            header.append(_LABELS[m])
            if compare is not None:
                header.append("PoP" if compare == "previous" else "YoY")
        lines = [header]
        ch = {m: self.changes(m, compare) for m in metrics} if compare is not None else {}
        for i, r in enumerate(self.rows):
            cells = [r.period.label]
            for m in metrics:
                cells.append(_format_value(getattr(r, m), _KINDS[m], self.currency))
                if compare is not None:
                    cells.append(ch[m][i].format(percent_points=_KINDS[m] == "rate"))
            lines.append(cells)
        return format_rows(lines)


def _check_metric(metric: str) -> None:
    if metric not in _KINDS:
        raise InvalidValueError("metric", f"must be one of {', '.join(_KINDS)}", metric)


def _format_value(value: Any, kind: str, currency: str) -> str:
    if value is None:
        return "-"
    if kind == "money":
        return str(Money(round(value), currency))
    if kind == "rate":
        return f"{float(value):.1%}"
    return f"{int(value):,}"


def _enum(value: Any, cls: type[enum.Enum], field: str) -> Any:
    if isinstance(value, cls):
        return value
    try:
        return cls(value)
    except ValueError:
        names = ", ".join(str(m.value) for m in cls)
        raise InvalidValueError(field, f"must be one of {names}", value) from None


def _attributed_rows(orders: OrderLog, attributed: Any) -> BoolArray | None:
    if attributed is None:
        return None
    if isinstance(attributed, Attribution):
        if attributed.orders is not orders:
            raise InvalidValueError(
                "attributed", "must be an attribution of this order log", None,
                show_value=False,
            )
        return attributed.attributed_mask
    arr = np.asarray(attributed)
    if arr.dtype == np.bool_:
        if arr.shape != (len(orders),):
            raise InvalidValueError(
                "attributed", f"as a mask must have shape ({len(orders)},)", arr.shape
            )
        return arr
    if orders.order_ids is None:
        raise InvalidValueError(
            "attributed", "given as order ids needs a log with order_ids", None, show_value=False
        )
    if arr.ndim != 1:
        raise InvalidValueError("attributed", "must be 1-dimensional", arr.shape)
    if len(arr) == 0:
        return np.zeros(len(orders), dtype=bool)
    hit: BoolArray = np.isin(orders.order_ids, arr)
    return hit


def store_metrics(
    orders: OrderLog,
    periods: Iterable[Period],
    *,
    new_definition: NewCustomerDefinition | str = NewCustomerDefinition.FIRST_ORDER_EVER,
    lookback_days: int = 365,
    repurchase_base: RepurchaseBase | str = RepurchaseBase.IN_PERIOD,
    attributed: Any = None,
    statuses: Iterable[OrderStatus] | None = None,
) -> StoreMetrics:
    """Store metrics for each period, with its previous and year-ago periods for comparison.

    Only valid orders count (``orders.valid_mask(statuses)``), at their net amount. One
    vectorised pass over the log assigns every order its period (a binary search over the
    period boundaries) and groups orders by (customer, period); the metrics are sums over
    those groups.

    Args:
        orders: the order log.
        periods: periods of one freq, e.g. from :func:`ecrm.analytics.periods`.
        new_definition: who is new (see :class:`NewCustomerDefinition`).
        lookback_days: the window of ``FIRST_IN_WINDOW``, calendar days before the period.
        repurchase_base: the repurchase-rate denominator (see :class:`RepurchaseBase`).
        attributed: CRM-attributed orders: an :class:`~ecrm.analytics.Attribution` of this
            log (:func:`~ecrm.analytics.attribute_sales`), a bool mask over the log's rows,
            shape (n,), or a collection of order ids (needs ``orders.order_ids``); ``None``
            leaves the attributed columns ``None``.
        statuses: which statuses count as valid (default paid, shipped, completed).

    Raises:
        InvalidValueError: no periods or periods of mixed freq; a bad definition name;
            ``lookback_days`` < 1; a mask of the wrong shape.
        InvalidTypeError: ``orders`` is not an OrderLog.
    """
    _v.check_instance("orders", orders, OrderLog)
    wanted = check_periods(periods, same_freq=True)
    definition, base = check_store_options(new_definition, lookback_days, repurchase_base)
    marked = _attributed_rows(orders, attributed)

    run = period_run(wanted)
    metrics = _compute(orders, run, definition, lookback_days, base, marked, statuses)
    return store_metrics_result(wanted, run, metrics, orders.currency, definition,
                                lookback_days, base)


def check_store_options(
    new_definition: NewCustomerDefinition | str, lookback_days: int,
    repurchase_base: RepurchaseBase | str,
) -> tuple[NewCustomerDefinition, RepurchaseBase]:
    """The checked definition and base (``lookback_days`` >= 1)."""
    definition = _enum(new_definition, NewCustomerDefinition, "new_definition")
    base = _enum(repurchase_base, RepurchaseBase, "repurchase_base")
    if isinstance(lookback_days, bool) or not isinstance(lookback_days, int) or lookback_days < 1:
        raise InvalidValueError("lookback_days", "must be an int >= 1", lookback_days)
    return definition, base


def period_run(wanted: Sequence[Period]) -> list[Period]:
    """The contiguous run of periods covering every requested, previous and year-ago
    period, plus one before (the previous-period base of the first one)."""
    needed = {q for p in wanted for q in (p, p.previous(), p.year_ago())}
    first = min(needed).previous()
    run = [first]
    last = max(needed)
    while run[-1] != last:
        run.append(run[-1].shifted(1))
    return run


def run_bounds(run: Sequence[Period], lookback_days: int) -> tuple[IntArray, IntArray]:
    """The run's period boundaries (µs, n + 1) and each period's lookback start (µs, n)."""
    bounds = np.array([datetime_to_us(p.start) for p in run] + [datetime_to_us(run[-1].end)],
                      dtype=np.int64)
    lookback = np.array(
        [datetime_to_us((p.start.replace(tzinfo=None) - dt.timedelta(days=lookback_days))
                        .replace(tzinfo=p.start.tzinfo)) for p in run], dtype=np.int64
    )
    return bounds, lookback


def store_metrics_result(
    wanted: Sequence[Period], run: Sequence[Period], metrics: Sequence[PeriodMetrics],
    currency: str, definition: NewCustomerDefinition, lookback_days: int,
    base: RepurchaseBase,
) -> StoreMetrics:
    """The :class:`StoreMetrics` of the requested periods from the run's metrics."""
    index = {p: i for i, p in enumerate(run)}
    return StoreMetrics(
        rows=tuple(metrics[index[p]] for p in wanted),
        previous=tuple(metrics[index[p.previous()]] for p in wanted),
        year_ago=tuple(metrics[index[p.year_ago()]] for p in wanted),
        currency=currency,
        new_definition=definition,
        lookback_days=lookback_days,
        repurchase_base=base,
    )


def _sum_by(index: IntArray, values: IntArray, n: int) -> IntArray:
    out = np.zeros(n, dtype=np.int64)
    np.add.at(out, index, values)
    return out


def _compute(
    orders: OrderLog,
    run: list[Period],
    definition: NewCustomerDefinition,
    lookback_days: int,
    base: RepurchaseBase,
    marked: BoolArray | None,
    statuses: Iterable[OrderStatus] | None,
) -> list[PeriodMetrics]:
    n_p = len(run)
    bounds, lookback = run_bounds(run, lookback_days)
    valid = orders.valid_mask(None if statuses is None else list(statuses))
    vrows = np.flatnonzero(valid)
    vcode = np.asarray(orders.customer_codes, dtype=np.int64)[vrows]
    vat = orders.placed_at_us[vrows]
    vnet = np.asarray(orders.net_fen, dtype=np.int64)[vrows]
    # The previous valid order of the same customer (rows are customer- then time-sorted).
    has_prev = np.zeros(len(vrows), dtype=bool)
    prev_at = np.zeros(len(vrows), dtype=np.int64)
    if len(vrows) > 1:
        has_prev[1:] = vcode[1:] == vcode[:-1]
        prev_at[1:] = vat[:-1]
    first_of_customer = ~has_prev
    first_us = np.sort(vat[first_of_customer])  # each customer's first valid order

    pidx = np.searchsorted(bounds, vat, side="right") - 1
    inside = (pidx >= 0) & (pidx < n_p)
    sel = np.flatnonzero(inside)
    code, p, at, net = vcode[sel], pidx[sel], vat[sel], vnet[sel]
    key = code * n_p + p
    start = np.ones(len(sel), dtype=bool)
    if len(sel) > 1:
        start[1:] = key[1:] != key[:-1]
    g_first = np.flatnonzero(start)  # first row of each (customer, period) group
    g_id = np.cumsum(start) - 1
    n_g = len(g_first)
    g_p = p[g_first]
    g_key = key[g_first]
    g_sales = _sum_by(g_id, net, n_g)
    g_orders = np.bincount(g_id, minlength=n_g).astype(np.int64)
    # Distinct local purchase days per group.
    days = local_days(at, orders.tz)
    new_day = start.copy()
    if len(sel) > 1:
        new_day[1:] |= days[1:] != days[:-1]
    g_days = np.bincount(g_id[new_day], minlength=n_g)

    g_has_prev = has_prev[sel][g_first]
    g_prev_at = prev_at[sel][g_first]
    attributed: IntArray | None = None
    if marked is not None:
        row_marked = marked[vrows][sel]
        attributed = _sum_by(p[row_marked], net[row_marked], n_p)
    return metrics_from_groups(
        run, bounds, lookback, g_p, g_key, g_sales, g_orders, g_days >= 2, g_has_prev,
        g_prev_at, first_us, definition, base, attributed,
    )


def metrics_from_groups(
    run: Sequence[Period],
    bounds: IntArray,
    lookback: IntArray,
    g_p: IntArray,
    g_key: IntArray,
    g_sales: IntArray,
    g_orders: IntArray,
    multi: BoolArray,
    g_has_prev: BoolArray,
    g_prev_at: IntArray,
    first_us: IntArray,
    definition: NewCustomerDefinition,
    base: RepurchaseBase,
    attributed: IntArray | None,
) -> list[PeriodMetrics]:
    """Each period's metrics from the (customer, period) groups of valid orders, sorted by
    ``g_key = customer * n_periods + period``: their period, sales, orders, whether they
    span two purchase days, whether a valid order came before the group's first (and its
    instant), every customer's first valid instant (sorted), and attributed sales per
    period. The one kernel of every path (a log, merged summaries)."""
    n_p = len(run)
    n_g = len(g_p)
    if definition is NewCustomerDefinition.FIRST_ORDER_EVER:
        g_new = ~g_has_prev
    else:
        g_new = ~g_has_prev | (g_prev_at < lookback[g_p])

    def per_period(values: IntArray, mask: BoolArray | None = None) -> IntArray:
        if mask is None:
            return _sum_by(g_p, values, n_p)
        return _sum_by(g_p[mask], values[mask], n_p)

    ones = np.ones(n_g, dtype=np.int64)
    customers = per_period(ones)
    sales = per_period(g_sales)
    n_orders = per_period(g_orders)
    new_c = per_period(ones, g_new)
    new_s = per_period(g_sales, g_new)
    new_o = per_period(g_orders, g_new)
    new_rep = per_period(ones, g_new & multi)
    all_rep = per_period(ones, multi)
    if base is RepurchaseBase.IN_PERIOD:
        rep_num = all_rep
        rep_den = customers
    elif base is RepurchaseBase.PREVIOUS_PERIOD:
        again = (g_p > 0) & np.isin(g_key - 1, g_key)
        rep_num = per_period(ones, again)
        rep_den = np.concatenate([[0], customers[:-1]]).astype(np.int64)
        rep_num[0] = 0  # the first period of the run has no previous period in it
    else:
        bought_before = g_has_prev  # a valid order before this group's first ⇒ before start
        rep_num = per_period(ones, bought_before)
        rep_den = np.searchsorted(first_us, bounds[:-1], side="left").astype(np.int64)
    return [
        PeriodMetrics(
            period=run[i],
            sales_fen=int(sales[i]),
            orders=int(n_orders[i]),
            customers=int(customers[i]),
            new_customers=int(new_c[i]),
            new_orders=int(new_o[i]),
            new_sales_fen=int(new_s[i]),
            returning_customers=int(customers[i] - new_c[i]),
            returning_orders=int(n_orders[i] - new_o[i]),
            returning_sales_fen=int(sales[i] - new_s[i]),
            repurchasers=int(rep_num[i]),
            repurchase_base=int(rep_den[i]),
            new_repurchasers=int(new_rep[i]),
            returning_repurchasers=int(all_rep[i] - new_rep[i]),
            attributed_sales_fen=None if attributed is None else int(attributed[i]),
        )
        for i in range(n_p)
    ]
