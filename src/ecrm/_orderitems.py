"""Order lines as columns (SKU, category, quantity, unit price): :class:`OrderItems`, and
how a log links each line to its order's row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._columns import check_lengths, fen_column, ids_column, text_column
from ecrm._load._problems import Problems
from ecrm.errors import InvalidValueError

__all__ = ["OrderItems", "attach_items"]

IntArray = npt.NDArray[np.int64]


@attrs.frozen(eq=False, repr=False)
class OrderItems:
    """Columnar order lines (SKU, category, quantity, unit price), linked to orders by id.

    Build with :meth:`from_arrays` and pass to :meth:`OrderLog.from_arrays`; inside a log,
    ``order_rows`` gives the row of each line's order in the log's customer-sorted layout.

    Attributes:
        order_ids: shape (k,), the order each line belongs to.
        skus: str, shape (k,).
        categories: str, shape (k,); ``""`` when unknown.
        quantities: int64, shape (k,), >= 1.
        unit_price_fen: int64 fen, shape (k,), >= 0.
        order_rows: int64, shape (k,), or ``None`` before the lines are attached to a log.
    """

    order_ids: npt.NDArray[Any]
    skus: npt.NDArray[np.str_]
    categories: npt.NDArray[np.str_]
    quantities: IntArray
    unit_price_fen: IntArray
    order_rows: IntArray | None = None

    @classmethod
    def from_arrays(
        cls,
        *,
        order_ids: Sequence[Any] | npt.NDArray[Any],
        skus: Sequence[str] | npt.NDArray[Any],
        unit_price_fen: Sequence[int] | npt.NDArray[Any],
        quantities: Sequence[int] | npt.NDArray[Any] | None = None,
        categories: Sequence[str | None] | npt.NDArray[Any] | None = None,
        source: str = "<items>",
    ) -> OrderItems:
        """Validate and build order lines from equal-length columns.

        Raises:
            DataFormatErrorGroup: empty ids or SKUs, quantity < 1, negative or non-integer prices.
        """
        n = check_lengths(
            source,
            {"order_ids": order_ids, "skus": skus, "unit_price_fen": unit_price_fen,
             "quantities": quantities, "categories": categories},
        )
        problems = Problems(source)
        oid = ids_column(order_ids, "order_ids", problems)
        sku = text_column(skus, "skus")
        empty = np.flatnonzero(np.char.strip(sku) == "") if n else np.zeros(0, np.intp)
        if empty.size:
            problems.add_rows(empty, "skus", sku, "must not be empty")
        price = fen_column(unit_price_fen, "unit_price_fen", problems)
        qty = (
            np.ones(n, dtype=np.int64)
            if quantities is None
            else fen_column(quantities, "quantities", problems)
        )
        low = np.flatnonzero(qty < 1)
        if low.size:
            problems.add_rows(low, "quantities", qty, "must be >= 1")
        cat = np.full(n, "", dtype="U1") if categories is None else text_column(categories, "categories")
        problems.raise_if_any("order items")
        return cls(oid, sku, cat, qty, price)

    def __len__(self) -> int:
        return len(self.skus)


def attach_items(items: OrderItems, order_ids: npt.NDArray[Any] | None, source: str) -> OrderItems:
    if order_ids is None:
        raise InvalidValueError(
            "items", "need order_ids on the log to link each line to its order", None, show_value=False
        )
    item_ids = items.order_ids
    if item_ids.dtype.kind != order_ids.dtype.kind:
        item_ids = item_ids.astype(order_ids.dtype) if order_ids.dtype.kind == "U" else item_ids
    sorter = np.argsort(order_ids, kind="stable")
    sorted_ids = order_ids[sorter]
    pos = np.searchsorted(sorted_ids, item_ids)
    pos_clipped = np.minimum(pos, max(len(sorted_ids) - 1, 0))
    found = (pos < len(sorted_ids)) & (sorted_ids[pos_clipped] == item_ids) if len(sorted_ids) else np.zeros(len(item_ids), bool)
    missing = np.flatnonzero(~found)
    if missing.size:
        problems = Problems(source)
        problems.add_rows(missing, "items.order_ids", item_ids, "must name an order in the log")
        problems.raise_if_any("order items")
    rows = sorter[pos_clipped].astype(np.int64)
    perm = np.argsort(rows, kind="stable")
    return OrderItems(
        item_ids[perm], items.skus[perm], items.categories[perm],
        items.quantities[perm], items.unit_price_fen[perm], rows[perm],
    )
