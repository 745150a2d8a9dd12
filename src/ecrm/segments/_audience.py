"""Evaluate a predicate over a whole shop: :func:`audience` → :class:`Audience`.

The universe is the customer table: every customer of ``customers`` is in or out. Orders
and events of ids that are not in the table are ignored (attribute predicates have no
profile for them); build the table from every id you want considered.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._customers import CustomerTable
from ecrm._events import EventLog
from ecrm._ids import find_id
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame
from ecrm._time import require_aware
from ecrm.errors import InvalidTypeError, InvalidValueError, UnknownCustomerError
from ecrm.segments._context import AudienceContext, BoolArray, Cache, _Shop
from ecrm.segments._predicates import Predicate
from ecrm.segments._schema import shown

__all__ = ["Audience", "AudienceContext", "Clause", "Explanation", "audience"]


@attrs.frozen
class Clause:
    """One node of a predicate and whether it held for one customer.

    Attributes:
        path: where the node sits (``predicate.args[1]``), as in the JSON form.
        depth: nesting depth (0 for the root).
        text: the node in words (a combination says only ``and`` / ``or`` / ``not``).
        held: whether it held.
    """

    path: str
    depth: int
    text: str
    held: bool


@attrs.frozen
class Explanation:
    """Why one customer is in or out of an audience: every clause, in tree order.

    ``str()`` prints one line per clause, ``✓`` or ``✗``, indented by depth.
    """

    customer_id: str | int
    held: bool
    clauses: tuple[Clause, ...]

    def __str__(self) -> str:
        head = f"customer {self.customer_id}: {'in' if self.held else 'not in'} the audience"
        lines = [head]
        for c in self.clauses:
            lines.append(f"{'  ' * (c.depth + 1)}{'✓' if c.held else '✗'} {c.text}")
        return "\n".join(lines)


@attrs.frozen(eq=False)
class Audience(ResultFrame):
    """The customers of a shop a predicate selects at ``as_of``.

    Attributes:
        predicate: the predicate evaluated.
        as_of: the evaluation instant (aware).
        customer_ids: the selected ids, sorted (the table's dtype), shape (count,).
        mask: bool, shape (n,): aligned with ``universe_ids`` (``customers.customer_ids``).
        universe_ids: every customer considered, shape (n,).
    """

    predicate: Predicate
    as_of: dt.datetime
    customer_ids: npt.NDArray[Any] = attrs.field(repr=False)
    mask: BoolArray = attrs.field(repr=False)
    universe_ids: npt.NDArray[Any] = attrs.field(repr=False)
    _clauses: tuple[tuple[str, int, str, BoolArray], ...] = attrs.field(
        repr=False, alias="_clauses"
    )

    def _columns(self) -> dict[str, Any]:
        """``customer_id``: the selected customers, sorted (the list to upload)."""
        return {"customer_id": self.customer_ids}

    @property
    def count(self) -> int:
        """How many customers are selected."""
        return len(self.customer_ids)

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return (
            f"Audience({self.count:,} of {len(self.universe_ids):,} customers, "
            f"as_of={self.as_of.isoformat()}: {self.predicate.describe()})"
        )

    def __contains__(self, customer_id: object) -> bool:
        try:
            return bool(self.mask[self._row(customer_id)])
        except KeyError:
            return False

    def _row(self, customer_id: object) -> int:
        pos = find_id(self.universe_ids, customer_id)
        if pos is None:
            raise UnknownCustomerError(f"customer {customer_id!r} is not in the universe")
        return pos

    def explain(self, customer_id: str | int) -> Explanation:
        """Which clauses held for one customer.

        Raises:
            UnknownCustomerError: the id is not in the customer table.
        """
        row = self._row(customer_id)
        clauses = tuple(
            Clause(path, depth, text, bool(mask[row]))
            for path, depth, text, mask in self._clauses
        )
        return Explanation(customer_id, bool(self.mask[row]), clauses)

    def table(self) -> list[dict[str, object]]:
        """Counts per clause: ``path``, ``clause`` (in words) and ``customers`` holding it."""
        return [
            {"path": path, "clause": text, "customers": int(np.count_nonzero(mask))}
            for path, _, text, mask in self._clauses
        ]


def _evaluate(
    p: Predicate, shop: _Shop, path: str, depth: int,
    out: list[tuple[str, int, str, BoolArray]], cache: Cache,
) -> BoolArray:
    """``p``'s mask; every node's (path, depth, words, mask) appended to ``out`` in tree order.

    A combination combines its parts' masks; a leaf evaluates itself (its ``_mask``).
    """
    slot = len(out)
    out.append((path, depth, "", np.zeros(0, dtype=bool)))  # placeholder keeps tree order
    parts = p._parts()
    if parts:
        masks = [_evaluate(child, shop, f"{path}.{name}", depth + 1, out, cache)
                 for name, child in parts]
        mask = p._combine(masks)
        text = p._clause_text
    else:
        mask = p._mask(shop, cache)
        text = p.describe()
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != (shop.n,):
        raise InvalidValueError(
            f"{type(p).__name__}._mask", f"must return one bool per customer, shape ({shop.n},)",
            mask.shape,
        )
    out[slot] = (path, depth, text, mask)
    return mask


def audience(
    predicate: Predicate,
    *,
    customers: CustomerTable,
    orders: OrderLog,
    events: EventLog | None = None,
    as_of: dt.datetime,
    context: AudienceContext | None = None,
) -> Audience:
    """The customers of ``customers`` for whom ``predicate`` holds at ``as_of``.

    Every clause is a vectorised pass over the table, the order log or the event log; the
    RFM scores, tier levels, lifecycle stages and normalised provinces are computed at most
    once per call, however many clauses use them. Behaviour at or after ``as_of`` is
    ignored (windows are cut there).

    Args:
        predicate: the predicate.
        customers: the universe: every customer is in or out.
        orders: the shop's orders (ids of the table's kind; other ids are ignored).
        events: browse / cart / favourite events; needed only by behaviour clauses on them.
        as_of: aware evaluation instant.
        context: ladder, RFM scheme, cycle and valid statuses (defaults: the Taobao ones).

    Returns:
        An :class:`Audience`.

    Raises:
        InvalidTypeError: a wrong type of argument.
        InvalidValueError: naive ``as_of``; ids of another kind than the table's; a clause
            that needs ``events`` (or the log's order lines) without them.
    """
    if not isinstance(predicate, Predicate):
        raise InvalidTypeError(
            f"predicate must be a Predicate, got {type(predicate).__name__} {shown(predicate)}"
        )
    if not isinstance(customers, CustomerTable):
        raise InvalidTypeError(f"customers must be a CustomerTable, got {type(customers).__name__}")
    if not isinstance(orders, OrderLog):
        raise InvalidTypeError(f"orders must be an OrderLog, got {type(orders).__name__}")
    if events is not None and not isinstance(events, EventLog):
        raise InvalidTypeError(f"events must be an EventLog or None, got {type(events).__name__}")
    when = require_aware(as_of, "as_of")
    ctx = AudienceContext() if context is None else context
    if not isinstance(ctx, AudienceContext):
        raise InvalidTypeError(f"context must be an AudienceContext, got {type(ctx).__name__}")
    shop = _Shop(customers, orders, events, when, ctx)
    clauses: list[tuple[str, int, str, BoolArray]] = []
    mask = _evaluate(predicate, shop, "predicate", 0, clauses, {})
    for _, _, _, m in clauses:
        m.flags.writeable = False
    mask = mask.copy()
    mask.flags.writeable = False
    ids = customers.customer_ids[mask]
    return Audience(predicate, when, ids, mask, customers.customer_ids, tuple(clauses))
