"""The points ledger (积分): append-only, idempotent by natural key, never negative.

Every change of a customer's points is a :class:`LedgerEntry` with a natural key
(``earn:order-123``, ``redeem:r-9``, ``task:share:c1:2026-11``, ``reverse:order-123``,
``expire:earn:order-123``). A balance is the sum of a customer's entries. Earned points
form *lots* that are spent and expire oldest first (FIFO).

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
so an error part-way leaves the ledger unchanged.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import numbers
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Final, Protocol, TypeAlias, runtime_checkable

import attrs
from dateutil.relativedelta import relativedelta

from ecrm._errors import InvalidTypeError, InvalidValueError
from ecrm._money import Money
from ecrm._order import Order
from ecrm._time import DEFAULT_TZ, as_zone, require_aware
from ecrm.tiers._benefits import BenefitCatalog

__all__ = [
    "EntryKind",
    "InMemoryLedgerStore",
    "InsufficientPointsError",
    "LedgerConflictError",
    "LedgerEntry",
    "LedgerStore",
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
    key: str = attrs.field(validator=attrs.validators.instance_of(str))
    customer_id: CustomerId = attrs.field(converter=_check_customer)
    kind: EntryKind = attrs.field(validator=attrs.validators.instance_of(EntryKind))
    points: int = attrs.field(validator=attrs.validators.instance_of(int))
    at: dt.datetime = attrs.field(converter=_at_utc)
    ref: str = attrs.field(validator=attrs.validators.instance_of(str))
    expires_at: dt.datetime | None = attrs.field(default=None, converter=_optional_utc)
    unrecovered: int = attrs.field(default=0, validator=attrs.validators.instance_of(int))

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


class InsufficientPointsError(InvalidValueError):
    """A redemption needs more points than the customer has."""


class LedgerConflictError(InvalidValueError):
    """A natural key was posted again with different content."""


@runtime_checkable
class LedgerStore(Protocol):
    """Where ledger entries live: append-only, unique by key, with transactions.

    Reads made inside :meth:`transaction` see that transaction's appends. When the block
    raises, every append made in it is undone.
    """

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """A block whose appends are applied all together or not at all."""
        ...

    def get(self, key: str) -> LedgerEntry | None:
        """The entry with ``key``, or ``None``."""
        ...

    def entries_for(self, customer_id: CustomerId) -> list[LedgerEntry]:
        """A customer's entries in ``seq`` order."""
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


class InMemoryLedgerStore:
    """A :class:`LedgerStore` in process memory (thread-safe; for tests and small tools)."""

    def __init__(self) -> None:
        self._entries: list[LedgerEntry] = []
        self._by_key: dict[str, LedgerEntry] = {}
        self._by_customer: dict[tuple[type, CustomerId], list[LedgerEntry]] = {}
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
            mark = len(self._entries)
            self._depth = 1
            try:
                yield
            except BaseException:
                self._undo(mark)
                raise
            finally:
                self._depth = 0

    def _undo(self, mark: int) -> None:
        for entry in self._entries[mark:]:
            del self._by_key[entry.key]
            self._by_customer[_ckey(entry.customer_id)].pop()
        del self._entries[mark:]
        for ckey in [k for k, v in self._by_customer.items() if not v]:
            del self._by_customer[ckey]

    def get(self, key: str) -> LedgerEntry | None:
        with self._lock:
            return self._by_key.get(key)

    def entries_for(self, customer_id: CustomerId) -> list[LedgerEntry]:
        with self._lock:
            return list(self._by_customer.get(_ckey(customer_id), ()))

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


def _ckey(customer_id: CustomerId) -> tuple[type, CustomerId]:
    # 7 and "7" are different customers.
    return (type(customer_id), customer_id)


@attrs.frozen
class TaskReward:
    """Points for a task, e.g. ``TaskReward("share", points=200, times=3)``: share 3 times.

    ``times`` documents how often the customer must do the task before the caller posts
    the reward; the ledger awards ``points`` once per posted completion.
    """

    task: str = attrs.field(validator=attrs.validators.instance_of(str))
    points: int = attrs.field(kw_only=True)
    times: int = attrs.field(default=1, kw_only=True)

    def __attrs_post_init__(self) -> None:
        if not self.task or ":" in self.task:
            raise InvalidValueError("task", "must be a non-empty name without ':'", self.task)
        for field, value in (("points", self.points), ("times", self.times)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidTypeError(f"{field} must be an int, got {type(value).__name__}")
            if value <= 0:
                raise InvalidValueError(field, "must be > 0", value)


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
    return tuple(value)


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
    key: str
    earned_at: dt.datetime
    expires_at: dt.datetime | None
    earned: int
    remaining: int


def _replay(entries: Sequence[LedgerEntry]) -> dict[str, _Lot]:
    """The lots of one customer after ``entries`` (in seq order), oldest first.

    Linear in the number of entries: lots only ever shrink, so everything before the
    first lot with points left is empty for good and FIFO consumption starts there.
    """
    lots: dict[str, _Lot] = {}
    order: list[_Lot] = []
    head = 0  # order[:head] are empty

    def consume(points: int) -> None:
        nonlocal head
        while points > 0 and head < len(order):
            lot = order[head]
            take = min(lot.remaining, points)
            lot.remaining -= take
            points -= take
            if lot.remaining == 0:
                head += 1

    for entry in entries:
        kind = entry.kind
        if kind is EntryKind.EARN:
            lot = _Lot(entry.key, entry.at, entry.expires_at, entry.points, entry.points)
            lots[entry.key] = lot
            order.append(lot)
        elif kind is EntryKind.REDEEM:
            consume(-entry.points)
        elif kind is EntryKind.EXPIRE:
            lots[entry.ref].remaining += entry.points
        else:
            own_lot = lots[entry.ref]
            own = min(own_lot.remaining, -entry.points)
            own_lot.remaining -= own
            consume(-entry.points - own)
        while head < len(order) and order[head].remaining == 0:
            head += 1
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
        """Post the points an order earns (key ``earn:<order_id>``).

        Args:
            customer_id: the buyer.
            order_id: the order (unique in the shop).
            net_spend: the order's net spend (paid minus refunded so far), ≥ 0.
            at: when the points are posted.

        Returns:
            The EARN entry (the original one when the key was posted before).

        Raises:
            LedgerConflictError: ``earn:<order_id>`` was posted with other content.
            InvalidValueError: ``at`` is earlier than the customer's last entry.
        """
        _check_ref(order_id, "order_id")
        points = self.rules.points_for_order(net_spend)
        return self._earn(customer_id, f"earn:{order_id}", order_id, points, at)

    def earn_for(self, order: Order, *, at: dt.datetime) -> LedgerEntry:
        """Post the points of an :class:`~ecrm.Order` (its net amount, key ``earn:<order_id>``).

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
        """Post a task reward (key ``task:<task>:<customer_id>:<occurrence>``).

        ``occurrence`` names this completion (a date, a campaign id) so a retry is a no-op
        and a second completion is a new entry.

        Raises:
            InvalidValueError: unknown task, or ``at`` out of order.
            LedgerConflictError: the key was posted with other content.
        """
        _check_ref(occurrence, "occurrence")
        reward = self.rules.task(task)
        customer_id = _check_customer(customer_id)
        key = f"task:{task}:{customer_id}:{occurrence}"
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
            self._prepare(customer_id, at)
            return self.store.append(draft)

    def redeem(
        self,
        customer_id: CustomerId,
        benefit_id: str,
        redemption_id: str,
        *,
        at: dt.datetime,
        level: int = 0,
    ) -> LedgerEntry:
        """Spend points on a benefit of the catalogue (key ``redeem:<redemption_id>``).

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
            0, f"redeem:{redemption_id}", customer_id, EntryKind.REDEEM,
            -benefit.cost_points, at, benefit_id,
        )
        with self.store.transaction():
            existing = self._existing(draft, ("customer_id", "kind", "ref", "points"))
            if existing is not None:
                return existing
            lots = self._prepare(customer_id, at)
            balance = sum(lot.remaining for lot in lots.values())
            if balance < benefit.cost_points:
                raise InsufficientPointsError(
                    "points",
                    f"of customer {customer_id!r} are {balance}, fewer than the "
                    f"{benefit.cost_points} that {benefit_id!r} costs",
                    balance,
                    show_value=False,
                )
            return self.store.append(draft)

    def reverse_for_refund(
        self,
        order_id: str,
        *,
        at: dt.datetime,
        refund_id: str | None = None,
        points: int | None = None,
    ) -> LedgerEntry:
        """Take back the points a refunded order earned (key ``reverse:<order_id>[:<refund_id>]``).

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
        earn_key = f"earn:{order_id}"
        key = f"reverse:{order_id}" + ("" if refund_id is None else f":{refund_id}")
        with self.store.transaction():
            earned = self.store.get(earn_key)
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
            entries = self.store.entries_for(earned.customer_id)
            already = sum(
                -e.points + e.unrecovered
                for e in entries
                if e.kind is EntryKind.REVERSE and e.ref == earn_key
            )
            expired = -sum(
                e.points for e in entries if e.kind is EntryKind.EXPIRE and e.ref == earn_key
            )
            left = max(earned.points - already - expired, 0)
            asked = left if points is None else points
            if asked > left:
                raise InvalidValueError(
                    "points",
                    f"must be <= {left}, the points of {order_id!r} neither reversed nor "
                    "expired yet",
                    points,
                )
            balance = sum(lot.remaining for lot in lots.values())
            taken = min(asked, balance)
            return self.store.append(
                LedgerEntry(
                    0, key, earned.customer_id, EntryKind.REVERSE, -taken, at, earn_key,
                    unrecovered=asked - taken,
                )
            )

    def expire(
        self, as_of: dt.datetime, *, customer_id: CustomerId | None = None
    ) -> tuple[LedgerEntry, ...]:
        """Post every expiry due by ``as_of`` (lots with ``expires_at <= as_of``).

        One EXPIRE entry per lot (key ``expire:<earn key>``), at the lot's ``expires_at``,
        for what is left of it. Idempotent: running it again posts nothing new.

        Args:
            as_of: aware instant.
            customer_id: only this customer (default: everyone).

        Returns:
            The entries posted now, in order.
        """
        as_of = _utc(as_of, "as_of")
        posted: list[LedgerEntry] = []
        with self.store.transaction():
            if customer_id is None:
                customers = self.store.customers()
            else:
                customers = [_check_customer(customer_id)]
            for customer in customers:
                lots = _replay(self.store.entries_for(customer))
                posted.extend(self._post_expiries(customer, lots, as_of))
        return tuple(posted)

    # -- reads ------------------------------------------------------------------------------
    def lots(self, customer_id: CustomerId, as_of: dt.datetime) -> tuple[PointsLot, ...]:
        """The customer's lots with points left at ``as_of``, oldest first.

        Counts entries at or before ``as_of``; lots whose ``expires_at <= as_of`` are gone
        even if their EXPIRE entry is not posted yet.
        """
        as_of = _utc(as_of, "as_of")
        customer_id = _check_customer(customer_id)
        entries = [e for e in self.store.entries_for(customer_id) if e.at <= as_of]
        return tuple(
            PointsLot(lot.key, lot.earned_at, lot.expires_at, lot.earned, lot.remaining)
            for lot in _replay(entries).values()
            if lot.remaining > 0 and not _is_due(lot, as_of)
        )

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

    def _prepare(self, customer_id: CustomerId, at: dt.datetime) -> dict[str, _Lot]:
        """Check time order and post the customer's due expiries; return the lots after."""
        entries = self.store.entries_for(customer_id)
        if entries and at < entries[-1].at:
            raise InvalidValueError(
                "at",
                f"must not be earlier than customer {customer_id!r}'s last ledger entry "
                f"({entries[-1].key} at {entries[-1].at.isoformat()})",
                at,
            )
        lots = _replay(entries)
        self._post_expiries(customer_id, lots, at)
        return lots

    def _post_expiries(
        self, customer_id: CustomerId, lots: dict[str, _Lot], as_of: dt.datetime
    ) -> list[LedgerEntry]:
        due = sorted(
            (lot for lot in lots.values() if _is_due(lot, as_of)),
            key=lambda lot: lot.expires_at or as_of,  # stable: FIFO among equal instants
        )
        posted = []
        for lot in due:
            assert lot.expires_at is not None
            posted.append(
                self.store.append(
                    LedgerEntry(
                        0, f"expire:{lot.key}", customer_id, EntryKind.EXPIRE,
                        -lot.remaining, lot.expires_at, lot.key,
                    )
                )
            )
            lot.remaining = 0
        return posted


def _check_ref(value: object, field: str) -> None:
    if not isinstance(value, str):
        raise InvalidTypeError(f"{field} must be a str, got {type(value).__name__} {value!r}")
    if not value:
        raise InvalidValueError(field, "must not be empty", value)
