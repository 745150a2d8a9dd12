"""The points ledger (积分): append-only, idempotent by natural key, never negative.

Every change of a customer's points is a :class:`LedgerEntry` with a natural key. A key is
the JSON array of its typed parts (``["earn","o-123"]``, ``["redeem","r-9"]``,
``["task","share","c1","2026-11"]``, ``["reverse","o-123"]``,
``["expire","earn","o-123"]``), so two different facts can never share a key: customer
``3`` and customer ``"3"``, customer ``"a:b"`` with occurrence ``"c"`` and customer ``"a"``
with occurrence ``"b:c"`` all get keys of their own. A balance is the sum of a customer's
entries. Earned points form *lots* that are spent and expire oldest first (FIFO).

Refund after spend (the policy): a refund reversal takes back the points the refunded
order earned, first from that order's own lot, then from the customer's other lots oldest
first, but never more than the customer has at that moment. Whatever cannot be taken back
is recorded as ``unrecovered`` on the REVERSE entry and is *not* carried as a debt: later
earnings are the customer's in full. So no sequence of refunds and redemptions drives a
balance negative. Points of the order that expired unused are not asked back (they were
of no benefit to the customer).

The service is clock-free: every operation takes an explicit aware ``at``. Storage sits
behind the small :class:`LedgerStore` protocol (:class:`InMemoryLedgerStore` here,
``SqliteLedgerStore`` in its own module); each operation runs in one store transaction,
so an error part-way leaves the ledger unchanged. Next to the entries the store keeps a
snapshot of every lot (:class:`LotState`: what is left, what was asked back, what
expired), so an operation reads the customer's open lots instead of replaying their whole
history, and :meth:`PointsLedger.expire` finds every due lot with one store query.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import itertools
import json
import numbers
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Final, Protocol, TypeAlias, runtime_checkable

import attrs
from dateutil.relativedelta import relativedelta

from ecrm import _validators as _v
from ecrm._money import Money
from ecrm._order import Order
from ecrm._time import DEFAULT_TZ, as_zone, require_aware
from ecrm.errors import (
    InsufficientPointsError,
    InvalidTypeError,
    InvalidValueError,
    LedgerConflictError,
)
from ecrm.tiers._benefits import BenefitCatalog
from ecrm.tiers._tasks import TaskReward

__all__ = [
    "EntryKind",
    "InMemoryLedgerStore",
    "InsufficientPointsError",
    "LedgerConflictError",
    "LedgerEntry",
    "LedgerStore",
    "LotState",
    "PointsLedger",
    "PointsLot",
    "PointsRules",
    "TaskReward",
]

CustomerId: TypeAlias = str | int


class EntryKind(enum.Enum):
    """What a ledger entry records."""

    EARN = "earn"
    """Points earned (for an order or a task); opens a lot. ``points > 0`` or 0."""
    REDEEM = "redeem"
    """Points spent on a benefit; ``points < 0``."""
    EXPIRE = "expire"
    """What was left of one lot when it expired; ``points < 0``."""
    REVERSE = "reverse"
    """Points taken back for a refunded order; ``points <= 0`` plus ``unrecovered``."""


def _check_customer(value: object, field: str = "customer_id") -> CustomerId:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool | int):
        value = int(value)  # numpy integers from an OrderLog's customer_ids
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidTypeError(
            f"{field} must be a str or int customer id, got {type(value).__name__} {value!r}"
        )
    if isinstance(value, str) and not value:
        raise InvalidValueError(field, "must not be empty", value)
    return value


def _utc(value: dt.datetime, field: str) -> dt.datetime:
    return require_aware(value, field).astimezone(dt.UTC)


def _at_utc(value: dt.datetime) -> dt.datetime:
    return _utc(value, "at")


def _optional_utc(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else _utc(value, "expires_at")


@attrs.frozen
class LedgerEntry:
    """One immutable line of the points ledger.

    Attributes:
        seq: position in the whole ledger, assigned by the store (1, 2, …).
        key: the natural key; unique in the ledger.
        customer_id: whose points.
        kind: the :class:`EntryKind`.
        points: signed change of the balance (EARN ≥ 0; REDEEM, EXPIRE, REVERSE ≤ 0).
        at: when it happened, normalised to UTC.
        ref: what it refers to: the order id or task name (EARN), the benefit id
            (REDEEM), the earn key of the lot (EXPIRE, REVERSE).
        expires_at: when the lot opened by an EARN expires (UTC), ``None`` = never.
        unrecovered: REVERSE only: points that could not be taken back because they
            had been spent (see the module's refund-after-spend policy).
    """

    seq: int
    key: str = attrs.field(validator=_v.instance_of(str))
    customer_id: CustomerId = attrs.field(converter=_check_customer)
    kind: EntryKind = attrs.field(validator=_v.instance_of(EntryKind))
    points: int = attrs.field(validator=_v.instance_of(int))
    at: dt.datetime = attrs.field(converter=_at_utc)
    ref: str = attrs.field(validator=_v.instance_of(str))
    expires_at: dt.datetime | None = attrs.field(default=None, converter=_optional_utc)
    unrecovered: int = attrs.field(default=0, validator=_v.instance_of(int))

    def __attrs_post_init__(self) -> None:
        if not self.key:
            raise InvalidValueError("key", "must not be empty", self.key)
        if self.kind is EntryKind.EARN and self.points < 0:
            raise InvalidValueError("points", "of an EARN entry must be >= 0", self.points)
        if self.kind is not EntryKind.EARN and self.points > 0:
            raise InvalidValueError(
                "points", f"of a {self.kind.name} entry must be <= 0", self.points
            )
        if self.unrecovered < 0 or (self.unrecovered and self.kind is not EntryKind.REVERSE):
            raise InvalidValueError(
                "unrecovered", "must be >= 0 and only set on REVERSE entries", self.unrecovered
            )
        if self.expires_at is not None and self.kind is not EntryKind.EARN:
            raise InvalidValueError("expires_at", "is only set on EARN entries", self.expires_at)


@attrs.frozen
class PointsLot:
    """Points earned by one EARN entry and what is left of them (spent oldest first)."""

    key: str
    earned_at: dt.datetime
    expires_at: dt.datetime | None
    earned: int
    remaining: int


@attrs.frozen
class LotState:
    """The stored snapshot of one lot: what one EARN entry opened and what became of it.

    A :class:`LedgerStore` keeps one per EARN entry, written by the ledger in the same
    transaction as the entries that change it, so an operation reads a customer's open lots
    instead of replaying their history.

    Attributes:
        key: the EARN entry's natural key.
        customer_id: whose points.
        seq: the EARN entry's ``seq`` (lots are spent and expire in this order).
        earned_at: the EARN entry's ``at`` (UTC).
        expires_at: when the lot expires (UTC), ``None`` = never.
        earned: points the EARN entry brought (≥ 0).
        remaining: points still in the lot (0 ≤ remaining ≤ earned).
        asked_back: points of this order asked back by refunds so far (taken back or
            recorded as unrecovered).
        expired: points of this lot that expired unused.
    """

    key: str
    customer_id: CustomerId
    seq: int
    earned_at: dt.datetime
    expires_at: dt.datetime | None
    earned: int
    remaining: int
    asked_back: int = 0
    expired: int = 0


@runtime_checkable
class LedgerStore(Protocol):
    """Where ledger entries and lot snapshots live: append-only, unique by key, transactional.

    Reads made inside :meth:`transaction` see that transaction's writes. When the block
    raises, every append and every :meth:`put_lot` made in it is undone.
    """

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """A block whose writes are applied all together or not at all."""
        ...

    def get(self, key: str) -> LedgerEntry | None:
        """The entry with ``key``, or ``None``."""
        ...

    def entries_for(self, customer_id: CustomerId) -> list[LedgerEntry]:
        """A customer's entries in ``seq`` order."""
        ...

    def last_entry(self, customer_id: CustomerId) -> LedgerEntry | None:
        """The customer's entry with the highest ``seq``, or ``None``."""
        ...

    def all_entries(self) -> list[LedgerEntry]:
        """Every entry in ``seq`` order."""
        ...

    def customers(self) -> list[CustomerId]:
        """Every customer with at least one entry, in order of their first entry."""
        ...

    def append(self, entry: LedgerEntry) -> LedgerEntry:
        """Store ``entry`` under the next ``seq`` and return it with that ``seq``.

        Raises:
            LedgerConflictError: ``entry.key`` is already stored.
        """
        ...

    def lot(self, key: str) -> LotState | None:
        """The lot opened by the EARN entry ``key``, or ``None``."""
        ...

    def open_lots(self, customer_id: CustomerId) -> list[LotState]:
        """The customer's lots with ``remaining > 0``, in ``seq`` order."""
        ...

    def due_lots(
        self, as_of: dt.datetime, customer_id: CustomerId | None = None
    ) -> list[LotState]:
        """Lots with ``remaining > 0`` and ``expires_at <= as_of`` (of one customer or all).

        Ordered by the customer's first entry, then ``expires_at``, then ``seq``.
        """
        ...

    def put_lot(self, lot: LotState) -> None:
        """Store ``lot``, replacing the one with the same key."""
        ...


class InMemoryLedgerStore:
    """A :class:`LedgerStore` in process memory (thread-safe; for tests and small tools)."""

    def __init__(self) -> None:
        self._entries: list[LedgerEntry] = []
        self._by_key: dict[str, LedgerEntry] = {}
        self._by_customer: dict[tuple[type, CustomerId], list[LedgerEntry]] = {}
        self._lots: dict[str, LotState] = {}
        self._open: dict[tuple[type, CustomerId], dict[str, LotState]] = {}
        self._lot_undo: list[tuple[str, LotState | None]] = []
        self._lock = threading.RLock()
        self._depth = 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._depth:
                # Nested: the outermost block decides.
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            mark, lot_mark = len(self._entries), len(self._lot_undo)
            self._depth = 1
            try:
                yield
            except BaseException:
                self._undo(mark, lot_mark)
                raise
            finally:
                self._depth = 0
                self._lot_undo.clear()

    def _undo(self, mark: int, lot_mark: int) -> None:
        for entry in self._entries[mark:]:
            del self._by_key[entry.key]
            self._by_customer[_ckey(entry.customer_id)].pop()
        del self._entries[mark:]
        for ckey in [k for k, v in self._by_customer.items() if not v]:
            del self._by_customer[ckey]
        for key, before in reversed(self._lot_undo[lot_mark:]):
            self._set_lot(key, before)
        del self._lot_undo[lot_mark:]

    def get(self, key: str) -> LedgerEntry | None:
        with self._lock:
            return self._by_key.get(key)

    def entries_for(self, customer_id: CustomerId) -> list[LedgerEntry]:
        with self._lock:
            return list(self._by_customer.get(_ckey(customer_id), ()))

    def last_entry(self, customer_id: CustomerId) -> LedgerEntry | None:
        with self._lock:
            entries = self._by_customer.get(_ckey(customer_id))
            return entries[-1] if entries else None

    def all_entries(self) -> list[LedgerEntry]:
        with self._lock:
            return list(self._entries)

    def customers(self) -> list[CustomerId]:
        with self._lock:
            return [entries[0].customer_id for entries in self._by_customer.values()]

    def append(self, entry: LedgerEntry) -> LedgerEntry:
        with self._lock:
            if entry.key in self._by_key:
                raise LedgerConflictError("key", "is already in the ledger", entry.key)
            stored = attrs.evolve(entry, seq=len(self._entries) + 1)
            self._entries.append(stored)
            self._by_key[stored.key] = stored
            self._by_customer.setdefault(_ckey(stored.customer_id), []).append(stored)
            return stored

    def lot(self, key: str) -> LotState | None:
        with self._lock:
            return self._lots.get(key)

    def open_lots(self, customer_id: CustomerId) -> list[LotState]:
        with self._lock:
            return sorted(self._open.get(_ckey(customer_id), {}).values(), key=_by_seq)

    def due_lots(
        self, as_of: dt.datetime, customer_id: CustomerId | None = None
    ) -> list[LotState]:
        with self._lock:
            # customers in order of their first entry
            ckeys = list(self._by_customer) if customer_id is None else [_ckey(customer_id)]
            due: list[LotState] = []
            for ckey in ckeys:
                mine = [
                    lot for lot in self._open.get(ckey, {}).values()
                    if lot.expires_at is not None and lot.expires_at <= as_of
                ]
                due.extend(sorted(mine, key=_by_expiry))
            return due

    def put_lot(self, lot: LotState) -> None:
        if not isinstance(lot, LotState):
            raise InvalidTypeError(f"lot must be a LotState, got {type(lot).__name__}")
        with self._lock:
            if self._depth:
                self._lot_undo.append((lot.key, self._lots.get(lot.key)))
            self._set_lot(lot.key, lot)

    def _set_lot(self, key: str, lot: LotState | None) -> None:
        before = self._lots.pop(key, None)
        if before is not None:
            self._open.get(_ckey(before.customer_id), {}).pop(key, None)
        if lot is None:
            return
        self._lots[key] = lot
        if lot.remaining > 0:
            self._open.setdefault(_ckey(lot.customer_id), {})[key] = lot


def _ckey(customer_id: CustomerId) -> tuple[type, CustomerId]:
    # 7 and "7" are different customers.
    return (type(customer_id), customer_id)


def _by_seq(lot: LotState) -> int:
    return lot.seq


def _by_expiry(lot: LotState) -> tuple[dt.datetime, int]:
    assert lot.expires_at is not None
    return (lot.expires_at, lot.seq)


def _key(kind: str, *parts: str | int) -> str:
    """The natural key of an entry: the JSON array of ``kind`` and its typed parts.

    JSON keeps types (``3`` is not ``"3"``) and quotes every string, so different parts
    never give the same key.
    """
    return json.dumps([kind, *parts], ensure_ascii=False, separators=(",", ":"))


def _expire_key(lot_key: str) -> str:
    return _key("expire", *json.loads(lot_key))


def _int_at_least(low: int) -> Callable[[object, attrs.Attribute[int], int], None]:
    def check(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidTypeError(
                f"{attribute.name} must be an int, got {type(value).__name__} {value!r}"
            )
        if value < low:
            raise InvalidValueError(attribute.name, f"must be >= {low}", value)

    return check


def _task_tuple(value: Iterable[TaskReward]) -> tuple[TaskReward, ...]:
    return tuple(_v.check_items("tasks", value, TaskReward))


@attrs.frozen
class PointsRules:
    """How points are earned and when they expire.

    Attributes:
        points_per_yuan: points per whole yuan of an order's net spend (floor): with 1,
            ¥128.90 earns 128 points.
        points_per_order: flat points per order, added to the per-yuan points.
        tasks: the task rewards (``TaskReward("share", points=200, times=3)``).
        expiry_months: points expire this many calendar months after being earned (in
            ``tz``, month ends clipped); ``None`` = never.
        tz: the store's time zone for the calendar arithmetic.
    """

    points_per_yuan: int = attrs.field(default=1, validator=_int_at_least(0))
    points_per_order: int = attrs.field(default=0, validator=_int_at_least(0))
    tasks: tuple[TaskReward, ...] = attrs.field(default=(), converter=_task_tuple)
    expiry_months: int | None = attrs.field(default=12)
    tz: str = attrs.field(default=DEFAULT_TZ)

    def __attrs_post_init__(self) -> None:
        months = self.expiry_months
        if months is not None:
            if isinstance(months, bool) or not isinstance(months, int):
                raise InvalidTypeError(
                    f"expiry_months must be an int or None, got {type(months).__name__}"
                )
            if months < 1:
                raise InvalidValueError("expiry_months", "must be >= 1 (or None: never)", months)
        as_zone(self.tz)
        names = [t.task for t in self.tasks]
        if len(set(names)) != len(names):
            raise InvalidValueError("tasks", "must not name a task twice", names)

    def points_for_order(self, net_spend: Money) -> int:
        """Points an order with ``net_spend`` earns: per whole yuan (floor) plus the flat part."""
        if not isinstance(net_spend, Money):
            raise InvalidTypeError(f"net_spend must be Money, got {type(net_spend).__name__}")
        if net_spend.fen < 0:
            raise InvalidValueError("net_spend", "must be >= 0", net_spend)
        whole_yuan = int(net_spend.to_decimal())  # floor for non-negative amounts
        return self.points_per_yuan * whole_yuan + self.points_per_order

    def task(self, name: str) -> TaskReward:
        """The reward for task ``name``.

        Raises:
            InvalidValueError: no such task.
        """
        for reward in self.tasks:
            if reward.task == name:
                return reward
        raise InvalidValueError("task", f"is not one of {[t.task for t in self.tasks]}", name)

    def expires_at(self, earned_at: dt.datetime) -> dt.datetime | None:
        """When points earned at ``earned_at`` expire (UTC), or ``None``."""
        if self.expiry_months is None:
            return None
        local = earned_at.astimezone(as_zone(self.tz))
        return (local + relativedelta(months=self.expiry_months)).astimezone(dt.UTC)


@attrs.define
class _Lot:
    """A lot being worked on (mutable copy of a :class:`LotState`)."""

    key: str
    customer_id: CustomerId
    seq: int
    earned_at: dt.datetime
    expires_at: dt.datetime | None
    earned: int
    remaining: int
    asked_back: int = 0
    expired: int = 0

    @classmethod
    def of(cls, state: LotState) -> _Lot:
        return cls(
            state.key, state.customer_id, state.seq, state.earned_at, state.expires_at,
            state.earned, state.remaining, state.asked_back, state.expired,
        )

    def state(self) -> LotState:
        return LotState(
            self.key, self.customer_id, self.seq, self.earned_at, self.expires_at,
            self.earned, self.remaining, self.asked_back, self.expired,
        )

    def public(self) -> PointsLot:
        return PointsLot(self.key, self.earned_at, self.expires_at, self.earned, self.remaining)


class _Lots:
    """One customer's lots, oldest first, and the one rule that moves points between them.

    Built either from a full history (a replay) or from the stored open lots (a snapshot):
    spending only ever takes from lots with points left, so both give the same result.
    """

    def __init__(self, lots: Iterable[LotState] = ()) -> None:
        self.order: list[_Lot] = [_Lot.of(lot) for lot in lots]
        self.by_key: dict[str, _Lot] = {lot.key: lot for lot in self.order}
        self.touched: dict[str, _Lot] = {}
        self._head = 0  # order[:head] are empty for good

    def add(self, state: LotState) -> _Lot:
        """Make a lot with no points left (a refund's own lot) known to this working set."""
        lot = self.by_key[state.key] = _Lot.of(state)
        return lot

    def balance(self) -> int:
        return sum(lot.remaining for lot in self.order[self._head :])

    def due(self, at: dt.datetime) -> list[_Lot]:
        """Lots with points left that expire by ``at``, by expiry then age."""
        due = [lot for lot in self.order[self._head :] if _is_due(lot, at)]
        return sorted(due, key=lambda lot: (lot.expires_at, lot.seq))

    def apply(self, entry: LedgerEntry) -> None:
        """Move points as ``entry`` says (it was just appended, or is being replayed)."""
        kind = entry.kind
        if kind is EntryKind.EARN:
            lot = _Lot(
                entry.key, entry.customer_id, entry.seq, entry.at, entry.expires_at,
                entry.points, entry.points,
            )
            self.by_key[entry.key] = lot
            self.order.append(lot)
            self.touched[lot.key] = lot
        elif kind is EntryKind.REDEEM:
            self._consume(-entry.points)
        elif kind is EntryKind.EXPIRE:
            lot = self.by_key[entry.ref]
            lot.remaining += entry.points
            lot.expired -= entry.points
            self.touched[lot.key] = lot
        else:
            own_lot = self.by_key[entry.ref]
            own = min(own_lot.remaining, -entry.points)
            own_lot.remaining -= own
            own_lot.asked_back += -entry.points + entry.unrecovered
            self.touched[own_lot.key] = own_lot
            self._consume(-entry.points - own)
        while self._head < len(self.order) and self.order[self._head].remaining == 0:
            self._head += 1

    def _consume(self, points: int) -> None:
        head = self._head
        while points > 0 and head < len(self.order):
            lot = self.order[head]
            take = min(lot.remaining, points)
            if take:
                lot.remaining -= take
                points -= take
                self.touched[lot.key] = lot
            if lot.remaining == 0:
                head += 1
        self._head = head

    def open(self) -> Iterator[_Lot]:
        return (lot for lot in self.order[self._head :] if lot.remaining > 0)


def _replay(entries: Iterable[LedgerEntry]) -> _Lots:
    """The lots of one customer after ``entries`` (in seq order), oldest first.

    Linear in the number of entries: lots only ever shrink, so everything before the
    first lot with points left is empty for good and FIFO consumption starts there.
    """
    lots = _Lots()
    for entry in entries:
        lots.apply(entry)
    return lots


def _is_due(lot: _Lot, at: dt.datetime) -> bool:
    return lot.expires_at is not None and lot.expires_at <= at and lot.remaining > 0


class PointsLedger:
    """The points service: earn, redeem, expire and reverse over a :class:`LedgerStore`.

    Every operation takes an explicit aware ``at`` and first posts the expiries that are
    due by ``at`` for that customer (so expired points are never spent), all in one store
    transaction. A customer's operations must come in time order: ``at`` may not be earlier
    than the customer's last entry. Re-posting a natural key with the same content returns
    the original entry (``at`` is not part of the content, so a retry later is a no-op);
    the same key with different content raises :class:`LedgerConflictError`.

    An operation reads the customer's open lots (the store's snapshot), not their whole
    history; its cost does not grow with the number of entries the customer has.

    Args:
        store: where entries live.
        rules: the :class:`PointsRules`.
        catalog: the benefits points can be redeemed against.
    """

    def __init__(
        self,
        store: LedgerStore,
        rules: PointsRules | None = None,
        *,
        catalog: BenefitCatalog | None = None,
    ) -> None:
        if not isinstance(store, LedgerStore):
            raise InvalidTypeError(f"store must be a LedgerStore, got {type(store).__name__}")
        self.store: Final = store
        self.rules: Final = PointsRules() if rules is None else rules
        self.catalog: Final = BenefitCatalog() if catalog is None else catalog

    # -- writes -----------------------------------------------------------------------------
    def earn_for_order(
        self, customer_id: CustomerId, order_id: str, net_spend: Money, *, at: dt.datetime
    ) -> LedgerEntry:
        """Post the points an order earns (key ``["earn",<order_id>]``).

        Args:
            customer_id: the buyer.
            order_id: the order (unique in the shop).
            net_spend: the order's net spend (paid minus refunded so far), ≥ 0.
            at: when the points are posted.

        Returns:
            The EARN entry (the original one when the key was posted before).

        Raises:
            LedgerConflictError: ``["earn",<order_id>]`` was posted with other content.
            InvalidValueError: ``at`` is earlier than the customer's last entry.
        """
        _check_ref(order_id, "order_id")
        points = self.rules.points_for_order(net_spend)
        return self._earn(customer_id, _key("earn", order_id), order_id, points, at)

    def earn_for(self, order: Order, *, at: dt.datetime) -> LedgerEntry:
        """Post the points of an :class:`~ecrm.Order` (its net amount, key ``["earn",<order_id>]``).

        Raises:
            InvalidValueError: the order is not valid (unpaid, closed or fully refunded):
                such an order earns no points.
            LedgerConflictError: the key was posted with other content.
        """
        if not isinstance(order, Order):
            raise InvalidTypeError(f"order must be an Order, got {type(order).__name__}")
        if not order.is_valid():
            raise InvalidValueError(
                "order",
                f"{order.order_id!r} must be paid and not fully refunded to earn points "
                f"(status {order.status.name}, refunded {order.refunded_amount})",
                order.order_id,
                show_value=False,
            )
        return self.earn_for_order(order.customer_id, order.order_id, order.net_amount, at=at)

    def earn_for_task(
        self, customer_id: CustomerId, task: str, occurrence: str, *, at: dt.datetime
    ) -> LedgerEntry:
        """Post a task reward (key ``["task",<task>,<customer_id>,<occurrence>]``).

        ``occurrence`` names this completion (a date, a campaign id) so a retry is a no-op
        and a second completion is a new entry. The customer id keeps its type in the key:
        customer ``3`` and customer ``"3"`` get different keys.

        Raises:
            InvalidValueError: unknown task, or ``at`` out of order.
            LedgerConflictError: the key was posted with other content.
        """
        _check_ref(occurrence, "occurrence")
        reward = self.rules.task(task)
        customer_id = _check_customer(customer_id)
        key = _key("task", task, customer_id, occurrence)
        return self._earn(customer_id, key, task, reward.points, at)

    def _earn(
        self, customer_id: CustomerId, key: str, ref: str, points: int, at: dt.datetime
    ) -> LedgerEntry:
        customer_id = _check_customer(customer_id)
        at = _utc(at, "at")
        draft = LedgerEntry(
            0, key, customer_id, EntryKind.EARN, points, at, ref, self.rules.expires_at(at)
        )
        with self.store.transaction():
            existing = self._existing(draft, ("customer_id", "kind", "ref", "points"))
            if existing is not None:
                return existing
            lots = self._prepare(customer_id, at)
            return self._post(lots, draft)

    def redeem(
        self,
        customer_id: CustomerId,
        benefit_id: str,
        redemption_id: str,
        *,
        at: dt.datetime,
        level: int = 0,
    ) -> LedgerEntry:
        """Spend points on a benefit of the catalogue (key ``["redeem",<redemption_id>]``).

        Points are taken from the oldest lots first. A ``POINTS_FOR_GIFT`` benefit with a
        money part costs its points here; the money is paid at checkout.

        Args:
            customer_id: who redeems.
            benefit_id: a ``POINTS_FOR_*`` benefit of the catalogue.
            redemption_id: names this redemption (so a retry is a no-op).
            at: when.
            level: the customer's member level, checked against ``min_level``.

        Raises:
            InsufficientPointsError: the balance (after due expiries) is below the cost;
                nothing is posted.
            InvalidValueError: unknown or non-redeemable benefit, level too low, ``at``
                out of order.
            LedgerConflictError: the key was posted with other content.
        """
        _check_ref(redemption_id, "redemption_id")
        benefit = self.catalog.get(benefit_id)
        if not benefit.redeemable:
            raise InvalidValueError(
                "benefit_id", f"names a {benefit.kind.name} benefit, which points cannot buy",
                benefit_id,
            )
        if level < benefit.min_level:
            raise InvalidValueError(
                "level", f"must be >= {benefit.min_level} to redeem {benefit_id!r}", level
            )
        customer_id = _check_customer(customer_id)
        at = _utc(at, "at")
        draft = LedgerEntry(
            0, _key("redeem", redemption_id), customer_id, EntryKind.REDEEM,
            -benefit.cost_points, at, benefit_id,
        )
        with self.store.transaction():
            existing = self._existing(draft, ("customer_id", "kind", "ref", "points"))
            if existing is not None:
                return existing
            lots = self._prepare(customer_id, at)
            balance = lots.balance()
            if balance < benefit.cost_points:
                raise InsufficientPointsError(
                    "points",
                    f"of customer {customer_id!r} are {balance}, fewer than the "
                    f"{benefit.cost_points} that {benefit_id!r} costs",
                    balance,
                    show_value=False,
                )
            return self._post(lots, draft)

    def reverse_for_refund(
        self,
        order_id: str,
        *,
        at: dt.datetime,
        refund_id: str | None = None,
        points: int | None = None,
    ) -> LedgerEntry:
        """Take back the points a refunded order earned.

        The key is ``["reverse",<order_id>]`` for the full refund and
        ``["reverse",<order_id>,<refund_id>]`` for one of several partial refunds, so a
        partial refund never takes the key of another order's full refund.

        Points come back from the order's own lot first, then from the customer's other
        lots oldest first, but never more than the customer has: the rest is recorded as
        ``unrecovered`` on the entry and not carried forward (the balance never goes
        negative). Points of the order that expired unused are not asked back.

        Args:
            order_id: an order with an EARN entry.
            at: when.
            refund_id: names one of several partial refunds of the order.
            points: points to take back for a partial refund; default: everything the
                order earned that has neither been asked back nor expired.

        Raises:
            InvalidValueError: the order earned nothing in this ledger, ``points`` exceeds
                what is left to reverse, ``at`` out of order.
            LedgerConflictError: the key was posted with other content.
        """
        _check_ref(order_id, "order_id")
        if refund_id is not None:
            _check_ref(refund_id, "refund_id")
        if points is not None and (
            isinstance(points, bool) or not isinstance(points, int) or points < 0
        ):
            raise InvalidValueError("points", "must be an int >= 0", points)
        at = _utc(at, "at")
        earn_key = _key("earn", order_id)
        key = _key("reverse", order_id) if refund_id is None else _key(
            "reverse", order_id, refund_id
        )
        with self.store.transaction():
            earned = self.store.lot(earn_key)
            if earned is None:
                raise InvalidValueError(
                    "order_id", "has no earn entry in the points ledger", order_id
                )
            existing = self.store.get(key)
            if existing is not None:
                asked = -existing.points + existing.unrecovered
                if existing.ref == earn_key and points in (None, asked):
                    return existing
                raise LedgerConflictError(
                    key, f"was posted asking back {asked} points, not {points}", points
                )
            # Due expiries first: points of this order that expired unused were no benefit
            # to the customer, so they are not asked back.
            lots = self._prepare(earned.customer_id, at)
            own = lots.by_key.get(earn_key)
            if own is None:  # the order's lot has no points left: not among the open lots
                own = lots.add(earned)
            left = max(own.earned - own.asked_back - own.expired, 0)
            asked = left if points is None else points
            if asked > left:
                raise InvalidValueError(
                    "points",
                    f"must be <= {left}, the points of {order_id!r} neither reversed nor "
                    "expired yet",
                    points,
                )
            taken = min(asked, lots.balance())
            return self._post(
                lots,
                LedgerEntry(
                    0, key, earned.customer_id, EntryKind.REVERSE, -taken, at, earn_key,
                    unrecovered=asked - taken,
                ),
            )

    def expire(
        self, as_of: dt.datetime, *, customer_id: CustomerId | None = None
    ) -> tuple[LedgerEntry, ...]:
        """Post every expiry due by ``as_of`` (lots with ``expires_at <= as_of``).

        One EXPIRE entry per lot (key ``["expire",<earn key parts>…]``), at the lot's
        ``expires_at``, for what is left of it. Idempotent: running it again posts nothing
        new. The due lots are found with one store query, however many customers there are.

        Args:
            as_of: aware instant.
            customer_id: only this customer (default: everyone).

        Returns:
            The entries posted now: customers in order of their first entry, each
            customer's lots by expiry.
        """
        as_of = _utc(as_of, "as_of")
        if customer_id is not None:
            customer_id = _check_customer(customer_id)
        posted: list[LedgerEntry] = []
        with self.store.transaction():
            due = self.store.due_lots(as_of, customer_id)
            for _, group in itertools.groupby(due, key=lambda lot: _ckey(lot.customer_id)):
                lots = _Lots(group)
                posted.extend(self._post_expiries(lots, lots.due(as_of)))
                self._save(lots)
        return tuple(posted)

    # -- reads ------------------------------------------------------------------------------
    def lots(self, customer_id: CustomerId, as_of: dt.datetime) -> tuple[PointsLot, ...]:
        """The customer's lots with points left at ``as_of``, oldest first.

        Counts entries at or before ``as_of``; lots whose ``expires_at <= as_of`` are gone
        even if their EXPIRE entry is not posted yet. At or after the customer's last entry
        this reads the stored snapshot; an earlier ``as_of`` replays the history up to it.
        """
        as_of = _utc(as_of, "as_of")
        customer_id = _check_customer(customer_id)
        last = self.store.last_entry(customer_id)
        if last is None:
            return ()
        if as_of >= last.at:
            lots = _Lots(self.store.open_lots(customer_id))
        else:
            lots = _replay(e for e in self.store.entries_for(customer_id) if e.at <= as_of)
        return tuple(lot.public() for lot in lots.open() if not _is_due(lot, as_of))

    def balance(self, customer_id: CustomerId, as_of: dt.datetime) -> int:
        """The points the customer can spend at ``as_of``.

        It is the sum of the customer's entries at or before ``as_of`` once the expiries
        due by ``as_of`` are posted (:meth:`expire`; every write posts them for its
        customer); unposted due expiries are already left out. 0 for unknown customers.
        """
        return sum(lot.remaining for lot in self.lots(customer_id, as_of))

    def entries(self, customer_id: CustomerId | None = None) -> tuple[LedgerEntry, ...]:
        """A customer's entries (or the whole ledger's) in ``seq`` order."""
        if customer_id is None:
            return tuple(self.store.all_entries())
        return tuple(self.store.entries_for(_check_customer(customer_id)))

    # -- internals --------------------------------------------------------------------------
    def _existing(self, draft: LedgerEntry, fields: tuple[str, ...]) -> LedgerEntry | None:
        existing = self.store.get(draft.key)
        if existing is None:
            return None
        for name in fields:
            old, new = getattr(existing, name), getattr(draft, name)
            if old != new or type(old) is not type(new):
                raise LedgerConflictError(
                    draft.key,
                    f"was posted before with {name}={old!r}; re-posting it needs the same "
                    f"content",
                    new,
                )
        return existing

    def _prepare(self, customer_id: CustomerId, at: dt.datetime) -> _Lots:
        """Check time order and post the customer's due expiries; return the open lots after."""
        last = self.store.last_entry(customer_id)
        if last is not None and at < last.at:
            raise InvalidValueError(
                "at",
                f"must not be earlier than customer {customer_id!r}'s last ledger entry "
                f"({last.key} at {last.at.isoformat()})",
                at,
            )
        lots = _Lots(self.store.open_lots(customer_id))
        self._post_expiries(lots, lots.due(at))
        return lots

    def _post(self, lots: _Lots, draft: LedgerEntry) -> LedgerEntry:
        entry = self.store.append(draft)
        lots.apply(entry)
        self._save(lots)
        return entry

    def _save(self, lots: _Lots) -> None:
        for lot in lots.touched.values():
            self.store.put_lot(lot.state())
        lots.touched.clear()

    def _post_expiries(self, lots: _Lots, due: list[_Lot]) -> list[LedgerEntry]:
        posted = []
        for lot in due:
            assert lot.expires_at is not None
            entry = self.store.append(
                LedgerEntry(
                    0, _expire_key(lot.key), lot.customer_id, EntryKind.EXPIRE,
                    -lot.remaining, lot.expires_at, lot.key,
                )
            )
            lots.apply(entry)
            posted.append(entry)
        return posted


def _check_ref(value: object, field: str) -> None:
    if not isinstance(value, str):
        raise InvalidTypeError(f"{field} must be a str, got {type(value).__name__} {value!r}")
    if not value:
        raise InvalidValueError(field, "must not be empty", value)
