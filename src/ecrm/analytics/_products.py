"""Product preference: what new customers buy first, what brings them back, what returners buy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from fractions import Fraction
from typing import Any, Literal

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._money import Money
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame, ratios
from ecrm._time import datetime_to_us, local_days
from ecrm._window import Window, window_arg
from ecrm.analytics._store import NewCustomerDefinition, _enum
from ecrm.analytics._text import distinct, factorize_text, format_rows
from ecrm.errors import InvalidValueError

__all__ = ["PreferenceRow", "PreferenceTable", "ProductPreference", "product_preference"]

IntArray = npt.NDArray[np.int64]
By = Literal["sku", "category"]


@attrs.frozen
class PreferenceRow:
    """One SKU (or category) in a preference table.

    Attributes:
        key: the SKU or category (``""`` for lines without a category).
        customers: customers in the scope who bought it (each counted once).
        orders: orders in the scope with a line of it.
        quantity: units bought.
        sales_fen: line value (quantity × unit price) in fen, before refunds.
        share: ``customers / scope customers``; shares add up to more than 1 when
            customers buy several things.
    """

    key: str
    customers: int
    orders: int
    quantity: int
    sales_fen: int
    share: Fraction


@attrs.frozen
class PreferenceTable(ResultFrame):
    """The top items of one scope.

    Attributes:
        scope: ``first_purchase``, ``first_repurchase`` or ``repurchase``.
        by: ``sku`` or ``category``.
        customers: customers in the scope (the share denominator).
        rows: the top items, most customers first (then quantity, then key).
        currency: the log's currency.
    """

    scope: str
    by: str
    customers: int
    rows: tuple[PreferenceRow, ...]
    currency: str

    def _columns(self) -> dict[str, Any]:
        """``rank, <by> (sku or category), customers, share, orders, quantity,
        sales_fen``: one row per item, most bought first."""
        return _preference_columns([self])

    def table(self) -> list[dict[str, Any]]:
        """One dict per row: ``rank`` and the :class:`PreferenceRow` fields."""
        return [{"rank": i + 1, **attrs.asdict(r)} for i, r in enumerate(self.rows)]

    def format_table(self) -> str:
        """The rows as text."""
        head = ["#", self.by, "customers", "share", "orders", "quantity", "sales"]
        lines = [head]
        for i, r in enumerate(self.rows):
            lines.append([str(i + 1), r.key or "-", f"{r.customers:,}", f"{float(r.share):.1%}",
                          f"{r.orders:,}", f"{r.quantity:,}", str(Money(r.sales_fen,
                                                                      self.currency))])
        return format_rows(lines, left=2)


@attrs.frozen
class ProductPreference(ResultFrame):
    """The three preference tables of a window.

    Attributes:
        start, end: the window ``[start, end)``.
        first_purchase: lines of new customers' first purchase day (first purchase day ever
            in the window).
        first_repurchase: lines of the second purchase day, when it is in the window.
        repurchase: lines of every purchase day after the first, in the window.
    """

    start: dt.datetime
    end: dt.datetime
    first_purchase: PreferenceTable
    first_repurchase: PreferenceTable
    repurchase: PreferenceTable

    def _columns(self) -> dict[str, Any]:
        """The three tables one after the other, with a ``scope`` column first
        (``first_purchase``, ``first_repurchase``, ``repurchase``)."""
        return _preference_columns([self.first_purchase, self.first_repurchase, self.repurchase])


def _preference_columns(tables: list[PreferenceTable]) -> dict[str, Any]:
    scoped = len(tables) > 1
    rows = [(t.scope, i + 1, r) for t in tables for i, r in enumerate(t.rows)]
    cols: dict[str, Any] = {"scope": np.asarray([s for s, _, _ in rows], dtype=str)} if scoped else {}
    cols["rank"] = np.asarray([k for _, k, _ in rows], dtype=np.int64)
    cols[tables[0].by] = np.asarray([r.key for _, _, r in rows], dtype=str)
    cols["customers"] = np.asarray([r.customers for _, _, r in rows], dtype=np.int64)
    cols["share"] = ratios([r.share for _, _, r in rows])
    cols["orders"] = np.asarray([r.orders for _, _, r in rows], dtype=np.int64)
    cols["quantity"] = np.asarray([r.quantity for _, _, r in rows], dtype=np.int64)
    cols["sales_fen"] = np.asarray([r.sales_fen for _, _, r in rows], dtype=np.int64)
    return cols


def product_preference(
    orders: OrderLog,
    *,
    window: Window | None = None,
    by: By = "sku",
    top: int = 10,
    new_definition: NewCustomerDefinition | str = NewCustomerDefinition.FIRST_ORDER_EVER,
    lookback_days: int = 365,
    statuses: Iterable[OrderStatus] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> ProductPreference:
    """What customers buy on their first purchase day, their second, and later ones.

    Purchase days are a customer's valid orders by local calendar day, counted over the
    whole log. With ``FIRST_ORDER_EVER`` (default) the first purchase day is the first
    ever, not the first in the window; with ``FIRST_IN_WINDOW`` a purchase day with no
    valid order in the ``lookback_days`` calendar days before it starts the count again
    (a customer back after a long absence is new again, as in :func:`store_metrics`).
    A scope takes the order lines of its purchase days that fall in ``window``.

    Args:
        orders: the order log; needs order lines (``orders.items``).
        window: the range counted (required; an :class:`ecrm.Window`).
        by: ``"sku"`` or ``"category"``.
        top: rows per table (the most-bought first).
        new_definition: who is new (see :class:`NewCustomerDefinition`).
        lookback_days: the gap of ``FIRST_IN_WINDOW``, in calendar days.
        statuses: which statuses count as valid.
        start, end: deprecated (use ``window=``): the window's bounds.

    Raises:
        InvalidValueError: the log has no order lines; ``start >= end``; bad ``by``/``top``,
            definition name or ``lookback_days`` < 1.
        TypeError: no window, or ``window`` together with ``start``/``end``.
    """
    _v.check_instance("orders", orders, OrderLog)
    w = window_arg(window, start, end, where="product_preference")
    s, e = w.start, w.end
    if by not in ("sku", "category"):
        raise InvalidValueError("by", "must be 'sku' or 'category'", by)
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise InvalidValueError("top", "must be an int >= 1", top)
    definition = _enum(new_definition, NewCustomerDefinition, "new_definition")
    if isinstance(lookback_days, bool) or not isinstance(lookback_days, int) or lookback_days < 1:
        raise InvalidValueError("lookback_days", "must be an int >= 1", lookback_days)
    items = orders.items
    if items is None or items.order_rows is None:
        raise InvalidValueError("orders.items", "are needed for product preference", None,
                                show_value=False)
    valid = orders.valid_mask(None if statuses is None else list(statuses))
    vrows = np.flatnonzero(valid)
    codes = np.asarray(orders.customer_codes, dtype=np.int64)[vrows]
    days = local_days(orders.placed_at_us[vrows], orders.tz)
    new_customer = np.ones(len(vrows), dtype=bool)
    new_day = np.ones(len(vrows), dtype=bool)
    restart = new_customer.copy()
    if len(vrows) > 1:
        new_customer[1:] = codes[1:] != codes[:-1]
        new_day[1:] = new_customer[1:] | (days[1:] != days[:-1])
        restart = new_customer.copy()
        if definition is NewCustomerDefinition.FIRST_IN_WINDOW:
            # No valid order in [day - lookback, day): the previous purchase day is further.
            restart[1:] |= new_day[1:] & (days[1:] - days[:-1] > lookback_days)
    # Ordinal of each row's purchase day within its customer (1 = first purchase day),
    # counted from the last restart.
    run = np.cumsum(new_day)
    base = np.maximum.accumulate(np.where(restart, run - 1, 0))
    ordinal = np.zeros(len(orders), dtype=np.int64)
    ordinal[vrows] = run - base
    at = orders.placed_at_us
    in_window = (at >= datetime_to_us(s)) & (at < datetime_to_us(e))
    line_rows = np.asarray(items.order_rows)
    # Factorise the keys once (strings are slow to sort); scopes then work on int codes.
    key_names, key_codes = factorize_text(items.skus if by == "sku" else items.categories)
    all_codes = np.asarray(orders.customer_codes, dtype=np.int64)
    scopes = {
        "first_purchase": ordinal == 1,
        "first_repurchase": ordinal == 2,
        "repurchase": ordinal >= 2,
    }
    tables = {}
    for name, rows_mask in scopes.items():
        row_in = rows_mask & in_window
        tables[name] = _table(name, by, top, row_in, line_rows, key_names, key_codes,
                              items.quantities, items.unit_price_fen, all_codes,
                              orders.currency)
    return ProductPreference(s, e, tables["first_purchase"], tables["first_repurchase"],
                             tables["repurchase"])


def _table(
    scope: str, by: str, top: int, row_in: npt.NDArray[np.bool_], line_rows: IntArray,
    key_names: npt.NDArray[np.str_], key_codes: IntArray, quantities: IntArray,
    prices: IntArray, codes: IntArray, currency: str,
) -> PreferenceTable:
    in_rows = np.flatnonzero(row_in)
    # Rows are customer-sorted, so distinct customers are where the code changes.
    scope_codes = codes[in_rows]
    n_customers = int(np.count_nonzero(np.diff(scope_codes) != 0)) + 1 if len(in_rows) else 0
    lines = np.flatnonzero(row_in[line_rows])
    if len(lines) == 0:
        return PreferenceTable(scope, by, n_customers, (), currency)
    n_k = len(key_names)
    k = key_codes[lines]
    rows = line_rows[lines]
    cust = codes[rows]
    qty = np.asarray(quantities, dtype=np.int64)[lines]
    value = qty * np.asarray(prices, dtype=np.int64)[lines]
    quantity = np.zeros(n_k, dtype=np.int64)
    np.add.at(quantity, k, qty)
    sales = np.zeros(n_k, dtype=np.int64)
    np.add.at(sales, k, value)
    n_rows = int(rows.max()) + 1
    n_cust = int(cust.max()) + 1
    by_customer = np.bincount(distinct(k * n_cust + cust) // n_cust, minlength=n_k)
    by_order = np.bincount(distinct(k * n_rows + rows) // n_rows, minlength=n_k)
    present = np.flatnonzero(by_customer > 0)
    order = present[np.lexsort((key_names[present], -quantity[present],
                                -by_customer[present]))][:top]
    out = tuple(
        PreferenceRow(
            key=str(key_names[i]),
            customers=int(by_customer[i]),
            orders=int(by_order[i]),
            quantity=int(quantity[i]),
            sales_fen=int(sales[i]),
            share=Fraction(int(by_customer[i]), n_customers),
        )
        for i in order
    )
    return PreferenceTable(scope, by, n_customers, out, currency)
