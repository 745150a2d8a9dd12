"""Province distribution of customers, orders and sales."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from fractions import Fraction
from typing import Any

import attrs
import numpy as np

from ecrm import _validators as _v
from ecrm._money import Money
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame, ratios
from ecrm._time import datetime_to_us, require_aware
from ecrm._window import Window, open_window_arg
from ecrm.analytics._province import UNKNOWN_PROVINCE, normalize_provinces
from ecrm.analytics._text import distinct, factorize_text, format_rows
from ecrm.errors import InvalidValueError

__all__ = ["ProvinceDistribution", "ProvinceRow", "province_distribution"]


@attrs.frozen
class ProvinceRow:
    """One province (full name, or ``未知`` for unknown spellings and empty values).

    Attributes:
        province: the full name (``浙江省``) or :data:`UNKNOWN_PROVINCE`.
        customers: distinct customers with a valid order delivered there.
        orders: valid orders delivered there.
        sales_fen: their net sales.
        sales_share: ``sales_fen / total sales`` (``None`` without sales).
    """

    province: str
    customers: int
    orders: int
    sales_fen: int
    sales_share: Fraction | None


@attrs.frozen
class ProvinceDistribution(ResultFrame):
    """Valid orders by delivery province.

    Attributes:
        rows: known provinces by sales (then orders, then name), and ``未知`` last when any.
        unknown_spellings: the distinct raw values that named no province, sorted.
        currency: the log's currency.
    """

    rows: tuple[ProvinceRow, ...]
    unknown_spellings: tuple[str, ...]
    currency: str

    def _columns(self) -> dict[str, Any]:
        """``province, customers, orders, sales_fen, sales_share``: one row per province."""
        rows = self.rows
        return {
            "province": np.asarray([r.province for r in rows], dtype=str),
            "customers": np.asarray([r.customers for r in rows], dtype=np.int64),
            "orders": np.asarray([r.orders for r in rows], dtype=np.int64),
            "sales_fen": np.asarray([r.sales_fen for r in rows], dtype=np.int64),
            "sales_share": ratios([r.sales_share for r in rows]),
        }

    def table(self) -> list[dict[str, Any]]:
        """One dict per row with the :class:`ProvinceRow` fields."""
        return [attrs.asdict(r) for r in self.rows]

    def format_table(self) -> str:
        """The rows as text."""
        lines = [["province", "customers", "orders", "sales", "share"]]
        for r in self.rows:
            share = "-" if r.sales_share is None else f"{float(r.sales_share):.1%}"
            lines.append([r.province, f"{r.customers:,}", f"{r.orders:,}",
                          str(Money(r.sales_fen, self.currency)), share])
        return format_rows(lines)


def province_distribution(
    orders: OrderLog,
    *,
    window: Window | None = None,
    statuses: Iterable[OrderStatus] | None = None,
    legacy_codes: Mapping[int, str] | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> ProvinceDistribution:
    """Customers, orders and sales per delivery province of the valid orders in ``window``.

    Provinces are normalised with :func:`normalize_provinces` (distinct spellings looked
    up once); values that name no region are counted under ``未知``.

    Args:
        orders: the order log; needs ``orders.provinces``.
        window: the orders placed in it count (default: the whole log).
        statuses: which statuses count as valid.
        legacy_codes: Taobao legacy province codes, see :func:`normalize_province`.
        start, end: deprecated (use ``window=``): aware bounds, either ``None`` for open.

    Raises:
        InvalidValueError: the log has no provinces; naive bounds.
        TypeError: ``window`` together with ``start``/``end``.
    """
    start, end = open_window_arg(window, start, end, where="province_distribution")
    _v.check_instance("orders", orders, OrderLog)
    if orders.provinces is None:
        raise InvalidValueError("orders.provinces", "are needed for the province distribution",
                                None, show_value=False)
    rows = orders.valid_mask(None if statuses is None else list(statuses))
    if start is not None:
        rows = rows & (orders.placed_at_us >= datetime_to_us(require_aware(start, "start")))
    if end is not None:
        rows = rows & (orders.placed_at_us < datetime_to_us(require_aware(end, "end")))
    raw = np.asarray(orders.provinces)[rows]
    # Normalise each distinct spelling once, then count by integer province codes.
    spellings_u, spelling_codes = factorize_text(raw)
    names_u = normalize_provinces(spellings_u, legacy_codes=legacy_codes)
    unknown_u = names_u == ""
    spellings = tuple(sorted(str(v) for v in spellings_u[unknown_u] if str(v)))
    uniq = np.unique(np.where(unknown_u, UNKNOWN_PROVINCE, names_u))
    k = np.searchsorted(uniq, np.where(unknown_u, UNKNOWN_PROVINCE, names_u))[spelling_codes]
    k = k.astype(np.int64)
    codes = np.asarray(orders.customer_codes, dtype=np.int64)[rows]
    net = np.asarray(orders.net_fen, dtype=np.int64)[rows]
    n_k = len(uniq)
    sales = np.zeros(n_k, dtype=np.int64)
    np.add.at(sales, k, net)
    n_orders = np.bincount(k, minlength=n_k)
    n_cust = int(codes.max()) + 1 if len(codes) else 1
    customers = np.bincount(distinct(k * n_cust + codes) // n_cust, minlength=n_k)
    total = int(sales.sum())
    order = sorted(range(n_k), key=lambda i: (uniq[i] == UNKNOWN_PROVINCE, -int(sales[i]),
                                              -int(n_orders[i]), str(uniq[i])))
    out = tuple(
        ProvinceRow(str(uniq[i]), int(customers[i]), int(n_orders[i]), int(sales[i]),
                    None if total == 0 else Fraction(int(sales[i]), total))
        for i in order
    )
    return ProvinceDistribution(out, spellings, orders.currency)
