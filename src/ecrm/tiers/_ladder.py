"""The store VIP ladder: tiers, validation, ANY-of evaluation for one customer or a whole log.

Level 0 is 店铺客户, the store customer: it is not a :class:`Tier` in the ladder (it has no
conditions and no discount) but every result reports it as level 0 with the ladder's
``store_customer_name``. Levels 1..n are the member tiers. A customer *qualifies* for a level
when ANY of its conditions holds (cumulative valid spend ≥ ``min_spend`` OR cumulative valid
order count ≥ ``min_orders``); a qualifying customer is only a *potential* member until they
opt in (DESIGN.md 3.2).
"""

from __future__ import annotations

import datetime as dt
import enum
import numbers
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, runtime_checkable

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._ids import find_id
from ecrm._money import DEFAULT_CURRENCY, Money, check_fen
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._results import ResultFrame, nullable
from ecrm._texttable import format_rows
from ecrm._time import NAT_US, datetime_to_us, require_aware
from ecrm.errors import (
    CurrencyMismatchError,
    InvalidTypeError,
    InvalidValueError,
    LadderErrorGroup,
    TierRuleError,
    UnknownCustomerError,
    _short_repr,
)

if TYPE_CHECKING:
    from ecrm.tiers._membership import DowngradePolicy, Membership

__all__ = [
    "MAX_DISCOUNT_PERMILLE",
    "MIN_DISCOUNT_PERMILLE",
    "TAOBAO_STORE_VIP",
    "Comparison",
    "Condition",
    "LadderErrorGroup",
    "MemberTable",
    "OptedIn",
    "Tier",
    "TierDecision",
    "TierLadder",
    "TierResult",
    "TierRuleError",
    "format_discount",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: The lowest member discount a ladder may set: 700‰ = 7折 (30% off).
MIN_DISCOUNT_PERMILLE: Final = 700
#: 1000‰ = no discount.
MAX_DISCOUNT_PERMILLE: Final = 1000


@runtime_checkable
class MemberTable(Protocol):
    """Anything with ``customer_ids`` and ``member_since_us`` columns (a CustomerTable).

    ``member_since_us`` holds int64 epoch microseconds of joining, ``NAT_US`` for
    non-members.
    """

    @property
    def customer_ids(self) -> npt.NDArray[Any]: ...

    @property
    def member_since_us(self) -> IntArray: ...


#: Who has opted in (joined) for :meth:`TierLadder.evaluate_log`: ``True``/``False`` for
#: everyone, a bool array aligned with ``orders.customer_ids``, a collection of customer ids,
#: a mapping of customer id to :class:`~ecrm.tiers.Membership` (a member just before
#: ``as_of``), or a customer table with ``member_since_us`` (joined before ``as_of``).
OptedIn = bool | BoolArray | Collection[Any] | Mapping[Any, "Membership"] | MemberTable


class Comparison(enum.Enum):
    """How a ladder compares a customer's totals with its thresholds.

    ``AT_LEAST`` (≥, the default, as the source's level lines say 达到) or ``MORE_THAN``
    (>, a strict "more than ¥100", as the source's entry rule says 大于). One comparison
    holds for every threshold of a ladder.
    """

    AT_LEAST = ">="
    MORE_THAN = ">"

    @property
    def below(self) -> str:
        """The operator that says a threshold is *not* met (``<`` for ≥, ``<=`` for >)."""
        return "<" if self is Comparison.AT_LEAST else "<="


class Condition(enum.Enum):
    """Which condition of the qualified level holds: spend, order count, both or none."""

    SPEND = "spend"
    COUNT = "count"
    BOTH = "both"
    NONE = "none"


def format_discount(permille: int) -> str:
    """A per-mille discount the way Taobao writes it: 950 → ``9.5折``, 900 → ``9折``.

    1000 (no discount) gives ``不打折``.
    """
    if isinstance(permille, bool) or not isinstance(permille, numbers.Integral):
        raise InvalidTypeError(f"permille must be an int, got {type(permille).__name__}")
    if permille < 0:
        raise InvalidValueError("permille", "must be >= 0", permille)
    if permille >= MAX_DISCOUNT_PERMILLE:
        return "不打折"
    text = f"{permille / 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}折"


def _money_field(value: object) -> Money:
    if not isinstance(value, Money):
        raise InvalidTypeError(f"min_spend must be Money, got {type(value).__name__} {_short_repr(value)}")
    return value


def _non_bool_int(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(
            f"{attribute.name} must be an int, got {type(value).__name__} {_short_repr(value)}"
        )


@attrs.frozen
class Tier:
    """One member level of a ladder.

    The per-value rules live here (types, ``level >= 1``, non-negative thresholds); the
    rules that relate levels to each other (strictly rising thresholds, non-rising discounts
    between 700 and 1000 per mille) are checked by :class:`TierLadder`, which reports all of
    them at once.

    Attributes:
        level: 1..n; level 0 (店铺客户) is never a tier.
        name: the level's display name (``"普通会员"``).
        min_spend: cumulative valid spend that qualifies (spend ≥ min_spend).
        min_orders: cumulative valid order count that qualifies (orders ≥ min_orders).
        discount_permille: the member price as per mille of the list price (950 = 9.5折).
        name_en: an English name for English rule texts (optional).
    """

    level: int = attrs.field(validator=[_non_bool_int, _v.ge(1)])
    name: str = attrs.field(
        validator=attrs.validators.and_(
            _v.instance_of(str), _v.min_len(1)
        )
    )
    min_spend: Money = attrs.field(converter=_money_field)
    min_orders: int = attrs.field(validator=[_non_bool_int, _v.ge(0)])
    discount_permille: int = attrs.field(default=1000, validator=_non_bool_int)
    name_en: str = attrs.field(default="", validator=_v.instance_of(str))

    @min_spend.validator
    def _check_spend(self, attribute: attrs.Attribute[Money], value: Money) -> None:
        if value.fen < 0:
            raise InvalidValueError("min_spend", "must be >= 0", str(value))

    @property
    def discount(self) -> str:
        """The discount as Taobao writes it (``9.5折``)."""
        return format_discount(self.discount_permille)


def _check_tiers(tiers: tuple[Tier, ...]) -> list[InvalidValueError]:
    problems: list[InvalidValueError] = []
    if not tiers:
        problems.append(TierRuleError("tiers", "tiers must hold at least one tier, got 0", 0))
        return problems
    for i, t in enumerate(tiers):
        if not isinstance(t, Tier):
            problems.append(
                TierRuleError(
                    f"tiers[{i}]", f"tiers[{i}] must be a Tier, got {type(t).__name__}", t
                )
            )
    if problems:
        return problems
    currency = tiers[0].min_spend.currency
    seen_names: dict[str, int] = {}
    for i, t in enumerate(tiers):
        path = f"tiers[{i}]"
        if t.level != i + 1:
            problems.append(TierRuleError(
                f"{path}.level",
                f"level of {path} must be {i + 1} (levels run 1..n in order), got {t.level}",
                t.level,
            ))
        if t.name in seen_names:
            problems.append(TierRuleError(
                f"{path}.name",
                f"name for level {t.level} must differ from level {seen_names[t.name]}'s, "
                f"got {t.name!r}",
                t.name,
            ))
        else:
            seen_names[t.name] = t.level
        if not MIN_DISCOUNT_PERMILLE <= t.discount_permille <= MAX_DISCOUNT_PERMILLE:
            problems.append(TierRuleError(
                f"{path}.discount_permille",
                f"discount_permille for level {t.level} must be between {MIN_DISCOUNT_PERMILLE} "
                f"(7折) and {MAX_DISCOUNT_PERMILLE} (no discount), got {t.discount_permille}",
                t.discount_permille,
            ))
        if t.min_spend.currency != currency:
            problems.append(TierRuleError(
                f"{path}.min_spend",
                f"min_spend for level {t.level} must be in {currency} like level "
                f"{tiers[0].level}, got {t.min_spend.currency}",
                t.min_spend.currency,
            ))
            continue
        if i == 0:
            if t.min_spend.fen <= 0:
                problems.append(TierRuleError(
                    f"{path}.min_spend",
                    f"min_spend for level {t.level} must be greater than ¥0 (the entry rule), "
                    f"got {t.min_spend}",
                    t.min_spend,
                ))
            if t.min_orders <= 0:
                problems.append(TierRuleError(
                    f"{path}.min_orders",
                    f"min_orders for level {t.level} must be at least 1 (the entry rule), "
                    f"got {t.min_orders}",
                    t.min_orders,
                ))
            continue
        prev = tiers[i - 1]
        if prev.min_spend.currency == currency and t.min_spend.fen <= prev.min_spend.fen:
            problems.append(TierRuleError(
                f"{path}.min_spend",
                f"min_spend for level {t.level} must be greater than level {prev.level}'s "
                f"{prev.min_spend}, got {t.min_spend}",
                t.min_spend,
            ))
        if t.min_orders <= prev.min_orders:
            problems.append(TierRuleError(
                f"{path}.min_orders",
                f"min_orders for level {t.level} must be greater than level {prev.level}'s "
                f"{prev.min_orders}, got {t.min_orders}",
                t.min_orders,
            ))
        if t.discount_permille > prev.discount_permille:
            problems.append(TierRuleError(
                f"{path}.discount_permille",
                f"discount_permille for level {t.level} must not be greater than level "
                f"{prev.level}'s {prev.discount_permille} "
                f"({format_discount(prev.discount_permille)}), got {t.discount_permille}",
                t.discount_permille,
            ))
    return problems


def _to_tiers(value: Iterable[Tier]) -> tuple[Tier, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InvalidTypeError(f"tiers must be a sequence of Tier, got {type(value).__name__}")
    return tuple(value)


@attrs.frozen
class TierDecision:
    """The ladder's verdict for one customer (see :meth:`TierLadder.evaluate`).

    Attributes:
        level: the member level, 0 (店铺客户) when not opted in or not qualifying.
        name: the name of ``level``.
        qualified_level: the highest level whose conditions the customer meets, opted in
            or not.
        fired: which condition of ``qualified_level`` holds (``NONE`` at level 0, and at
            level 1 when a rolling-window result keeps a customer there, see
            :meth:`TierLadder.evaluate_log`).
        potential: qualifies for a level but has not opted in (潜在会员).
        opted_in: whether the customer has joined.
        spend: the cumulative valid spend evaluated.
        orders: the cumulative valid order count evaluated.
        next_level: the level above ``qualified_level``, ``None`` at the top.
        spend_to_next: spend still needed for ``next_level`` (EITHER this OR
            ``orders_to_next`` suffices), ``None`` at the top.
        orders_to_next: orders still needed for ``next_level``, ``None`` at the top.
    """

    level: int
    name: str
    qualified_level: int
    fired: Condition
    potential: bool
    opted_in: bool
    spend: Money
    orders: int
    next_level: int | None
    spend_to_next: Money | None
    orders_to_next: int | None
    ladder: TierLadder = attrs.field(repr=False, eq=False)

    def explain(self) -> str:
        """One paragraph in English saying why the customer is at this level."""
        ladder = self.ladder
        q = self.qualified_level
        parts: list[str] = []
        if q == 0:
            first = ladder.tiers[0]
            lt = ladder.comparison.below
            parts.append(
                f"level 0 {ladder.store_customer_name}: spend {self.spend} {lt} "
                f"{first.min_spend} and {self.orders} orders {lt} {first.min_orders}, "
                "so no level's condition holds"
            )
        else:
            tier = ladder.tier(q)
            held = []
            ge = ladder.comparison.value
            lt = ladder.comparison.below
            if self.fired in (Condition.SPEND, Condition.BOTH):
                held.append(f"spend {self.spend} {ge} {tier.min_spend}")
            if self.fired in (Condition.COUNT, Condition.BOTH):
                held.append(f"{self.orders} orders {ge} {tier.min_orders}")
            why = " and ".join(held)
            if self.fired is Condition.NONE:
                # Only TierResult.decision under a rolling window: the window's totals meet
                # no level, but the whole history meets the entry rule.
                why = (
                    f"window spend {self.spend} {lt} {tier.min_spend} and {self.orders} orders "
                    f"{lt} {tier.min_orders}, but the whole history meets the entry rule and a "
                    "rolling re-evaluation never goes below level 1"
                )
            if self.opted_in and self.fired is Condition.NONE:
                parts.append(f"level {q} {tier.name}: {why}")
            elif self.opted_in:
                parts.append(
                    f"level {q} {tier.name}: {why} ({self.fired.value} condition fired; "
                    "any one condition is enough)"
                )
            else:
                parts.append(
                    f"level 0 {ladder.store_customer_name}: qualifies for level {q} {tier.name} "
                    f"({why}) but has not joined, so is a potential member"
                )
        if self.next_level is None:
            parts.append("top level reached")
        else:
            nxt = ladder.tier(self.next_level)
            parts.append(
                f"next level {nxt.level} {nxt.name} needs {self.spend_to_next} more spend "
                f"or {self.orders_to_next} more orders"
            )
        return "; ".join(parts) + "."


@attrs.frozen(eq=False)
class TierResult(ResultFrame):
    """Levels of every customer of a log at ``as_of`` (see :meth:`TierLadder.evaluate_log`).

    The customers are those with at least one order (of any status) placed before
    ``as_of``: the shop's customers at that moment. Arrays are aligned with
    ``customer_ids``.

    Attributes:
        ladder: the ladder evaluated.
        as_of: the evaluation instant (orders at or after it are ignored).
        currency: the currency of ``spend_fen``.
        customer_ids: shape (k,), sorted, like ``OrderLog.customer_ids``.
        spend_fen: int64 fen, shape (k,): cumulative net spend of valid orders.
        orders: int64, shape (k,): number of valid orders.
        qualified_level: int64, shape (k,): the highest level met (ANY-of); under a
            rolling window at least 1 where ``kept``.
        level: int64, shape (k,): ``qualified_level`` where opted in, else 0.
        opted_in: bool, shape (k,).
        potential: bool, shape (k,): qualifies but has not opted in.
        kept: bool, shape (k,), or ``None`` without a rolling window: the window's totals
            meet no level but the whole history meets the entry rule, so the qualified
            level is 1 (a rolling re-evaluation never drops a member below level 1).
    """

    ladder: TierLadder = attrs.field(repr=False)
    as_of: dt.datetime
    currency: str
    customer_ids: npt.NDArray[Any] = attrs.field(repr=False)
    spend_fen: IntArray = attrs.field(repr=False)
    orders: IntArray = attrs.field(repr=False)
    qualified_level: IntArray = attrs.field(repr=False)
    level: IntArray = attrs.field(repr=False)
    opted_in: BoolArray = attrs.field(repr=False)
    potential: BoolArray = attrs.field(repr=False)
    kept: BoolArray | None = attrs.field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.customer_ids)

    def _columns(self) -> dict[str, Any]:
        """``customer_id, level, level_name, qualified_level, opted_in, potential,
        spend_fen, orders, next_level, spend_to_next_fen, orders_to_next`` (and ``kept``
        under a rolling window): one row per customer.

        The distance is from ``qualified_level`` to the level above it, as in
        :meth:`decision` (either amount suffices; missing at the top level).
        """
        tiers = self.ladder.tiers
        names = np.asarray([self.ladder.name_of(k) for k in range(len(tiers) + 1)])
        q = self.qualified_level.astype(np.int64)
        top = q >= len(tiers)
        at = np.minimum(q, len(tiers) - 1)
        spend_edges = self.ladder.spend_edges_fen
        order_edges = self.ladder.order_edges
        cols: dict[str, Any] = {
            "customer_id": self.customer_ids,
            "level": self.level,
            "level_name": names[self.level] if len(q) else np.zeros(0, dtype="U1"),
            "qualified_level": q,
            "opted_in": self.opted_in,
            "potential": self.potential,
            "spend_fen": self.spend_fen,
            "orders": self.orders,
            "next_level": nullable(q + 1, top),
            "spend_to_next_fen": nullable(spend_edges[at] - self.spend_fen, top),
            "orders_to_next": nullable(order_edges[at] - self.orders, top),
        }
        if self.kept is not None:
            cols["kept"] = self.kept
        return cols

    def counts(self, *, qualified: bool = False) -> dict[int, int]:
        """Customers per level, 0..n (``qualified=True`` counts qualified levels instead)."""
        levels = self.qualified_level if qualified else self.level
        n = len(self.ladder.tiers)
        return {k: int(v) for k, v in enumerate(np.bincount(levels, minlength=n + 1))}

    def share(self, *, qualified: bool = False) -> dict[int, float]:
        """Share of customers per level, 0..n (all 0.0 when there are no customers)."""
        counts = self.counts(qualified=qualified)
        total = sum(counts.values())
        return {k: (v / total if total else 0.0) for k, v in counts.items()}

    @property
    def n_potential(self) -> int:
        """How many customers qualify but have not opted in."""
        return int(self.potential.sum())

    def _index(self, customer_id: Any) -> int:
        pos = find_id(self.customer_ids, customer_id)
        if pos is not None:
            return pos
        raise UnknownCustomerError(f"customer {customer_id!r} has no order before {self.as_of}")

    def decision(self, customer_id: Any) -> TierDecision:
        """The full :class:`TierDecision` of one customer.

        Raises:
            UnknownCustomerError: the customer had no order before ``as_of``.
        """
        i = self._index(customer_id)
        spend = Money(int(self.spend_fen[i]), self.currency)
        decision = self.ladder.evaluate(spend, int(self.orders[i]), opted_in=bool(self.opted_in[i]))
        if self.kept is None or not self.kept[i]:
            return decision
        # Kept at level 1 by a rolling window: the distance is to level 2 from here.
        ladder = self.ladder
        level = 1 if decision.opted_in else 0
        has_next = ladder.top_level > 1
        nxt = ladder.tiers[1] if has_next else None
        return attrs.evolve(
            decision,
            level=level,
            name=ladder.name_of(level),
            qualified_level=1,
            potential=not decision.opted_in,
            next_level=nxt.level if nxt else None,
            spend_to_next=(
                Money(int(ladder.spend_edges_fen[1]) - spend.fen, self.currency) if nxt else None
            ),
            orders_to_next=int(ladder.order_edges[1]) - decision.orders if nxt else None,
        )

    def explain(self, customer_id: Any) -> str:
        """Why one customer is at their level (see :meth:`TierDecision.explain`)."""
        return f"{customer_id}: " + self.decision(customer_id).explain()


@attrs.frozen
class TierLadder:
    """A validated store VIP ladder: member levels 1..n above the store customer (level 0).

    Rules (all violations are reported together in one :class:`LadderErrorGroup`): at least one
    tier; levels run 1..n in order; names differ; level 1 needs positive thresholds (it is
    the entry rule); both ``min_spend`` and ``min_orders`` rise strictly with the level; one
    currency; ``discount_permille`` lies in 700..1000 and does not rise with the level.

    Attributes:
        tiers: the member tiers, level 1 first.
        comparison: how totals meet thresholds: ``Comparison.AT_LEAST`` (≥, default) or
            ``Comparison.MORE_THAN`` (>, a strict "more than ¥100").
        store_customer_name: the name of level 0 (default ``店铺客户``).
        store_customer_name_en: its English name.
    """

    tiers: tuple[Tier, ...] = attrs.field(converter=_to_tiers)
    store_customer_name: str = attrs.field(
        default="店铺客户", validator=_v.instance_of(str)
    )
    comparison: Comparison = attrs.field(
        default=Comparison.AT_LEAST, kw_only=True, validator=_v.instance_of(Comparison)
    )
    store_customer_name_en: str = attrs.field(
        default="store customer", validator=_v.instance_of(str)
    )
    _spend_fen: IntArray = attrs.field(init=False, repr=False, eq=False)
    _min_orders: IntArray = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        problems = _check_tiers(self.tiers)
        if problems:
            raise LadderErrorGroup("invalid tier ladder", problems)
        # A strict comparison is the inclusive one a unit higher: spend > X fen ⇔ spend ≥
        # X + 1 fen, orders > N ⇔ orders ≥ N + 1; every evaluation path then uses >=.
        step = 1 if self.comparison is Comparison.MORE_THAN else 0
        spend = np.asarray([t.min_spend.fen + step for t in self.tiers], dtype=np.int64)
        count = np.asarray([t.min_orders + step for t in self.tiers], dtype=np.int64)
        spend.flags.writeable = False
        count.flags.writeable = False
        object.__setattr__(self, "_spend_fen", spend)
        object.__setattr__(self, "_min_orders", count)

    # -- lookups ---------------------------------------------------------------------------
    @property
    def currency(self) -> str:
        """The currency of every threshold."""
        return self.tiers[0].min_spend.currency

    @property
    def spend_edges_fen(self) -> IntArray:
        """int64 fen, shape (n,): the least spend that meets each level (read-only).

        ``min_spend`` under ≥, one fen more under >.
        """
        return self._spend_fen

    @property
    def order_edges(self) -> IntArray:
        """int64, shape (n,): the least order count that meets each level (read-only)."""
        return self._min_orders

    @property
    def top_level(self) -> int:
        """The highest level, n."""
        return len(self.tiers)

    def tier(self, level: int) -> Tier:
        """The tier of ``level`` (1..n).

        Raises:
            InvalidValueError: no such member level.
        """
        n = len(self.tiers)
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= n:
            raise InvalidValueError("level", f"must be a member level 1..{len(self.tiers)}", level)
        return self.tiers[level - 1]

    def name_of(self, level: int) -> str:
        """The name of ``level``; level 0 is the store customer."""
        if level == 0:
            return self.store_customer_name
        return self.tier(level).name

    def with_tier(self, level: int, **changes: Any) -> TierLadder:
        """A new ladder with one tier changed (``ladder.with_tier(1, min_spend=Money(5000))``).

        Raises:
            LadderErrorGroup: the changed ladder breaks a rule.
        """
        tiers = list(self.tiers)
        tiers[self.tier(level).level - 1] = attrs.evolve(tiers[level - 1], **changes)
        return attrs.evolve(self, tiers=tuple(tiers))

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self, spend: Money, orders: int, *, opted_in: bool) -> TierDecision:
        """Evaluate one customer's cumulative valid spend and order count (ANY-of).

        Args:
            spend: cumulative valid spend (same currency as the ladder, >= 0).
            orders: cumulative valid order count (>= 0).
            opted_in: whether the customer has joined (领卡 / authorised membership).

        Returns:
            The decision: level (0 unless opted in), qualified level, which condition
            fired, potential flag and the distance to the next level.

        Raises:
            InvalidTypeError: ``spend`` is not Money, ``orders`` not an int.
            CurrencyMismatchError: ``spend`` is in another currency than the ladder.
            InvalidValueError: negative spend or order count.
        """
        if not isinstance(spend, Money):
            raise InvalidTypeError(f"spend must be Money, got {type(spend).__name__} {spend!r}")
        if spend.currency != self.currency:
            raise CurrencyMismatchError(
                "spend", f"must be in the ladder's currency {self.currency}", spend.currency
            )
        n_orders = check_fen(orders, "orders")
        if spend.fen < 0:
            raise InvalidValueError("spend", "must be >= 0", str(spend))
        if n_orders < 0:
            raise InvalidValueError("orders", "must be >= 0", n_orders)
        if not isinstance(opted_in, bool):
            raise InvalidTypeError(f"opted_in must be a bool, got {type(opted_in).__name__}")
        by_spend = int(np.searchsorted(self._spend_fen, spend.fen, side="right"))
        by_count = int(np.searchsorted(self._min_orders, n_orders, side="right"))
        q = max(by_spend, by_count)
        if q == 0:
            fired = Condition.NONE
        elif by_spend >= q and by_count >= q:
            fired = Condition.BOTH
        elif by_spend >= q:
            fired = Condition.SPEND
        else:
            fired = Condition.COUNT
        level = q if opted_in else 0
        if q < len(self.tiers):
            nxt = self.tiers[q]
            next_level: int | None = nxt.level
            spend_to_next: Money | None = Money(
                int(self._spend_fen[q]) - spend.fen, self.currency
            )
            orders_to_next: int | None = int(self._min_orders[q]) - n_orders
        else:
            next_level = spend_to_next = orders_to_next = None
        return TierDecision(
            level=level,
            name=self.name_of(level),
            qualified_level=q,
            fired=fired,
            potential=q > 0 and not opted_in,
            opted_in=opted_in,
            spend=spend,
            orders=n_orders,
            next_level=next_level,
            spend_to_next=spend_to_next,
            orders_to_next=orders_to_next,
            ladder=self,
        )

    def levels_of(self, spend_fen: npt.ArrayLike, orders: npt.ArrayLike) -> IntArray:
        """Vectorised ANY-of qualified level of int64 fen spends and order counts.

        Args:
            spend_fen: int64 fen, shape (k,).
            orders: int64 counts, shape (k,).

        Returns:
            int64, shape (k,): the highest level whose spend OR count condition holds.
        """
        s = np.asarray(spend_fen)
        c = np.asarray(orders)
        if s.dtype.kind not in "iu" or c.dtype.kind not in "iu":
            raise InvalidTypeError(
                f"spend_fen and orders must be integer arrays, got {s.dtype} and {c.dtype}"
            )
        return np.maximum(
            _count_at_or_below(self._spend_fen, s), _count_at_or_below(self._min_orders, c)
        )

    def evaluate_log(
        self,
        orders: OrderLog,
        *,
        as_of: dt.datetime,
        opted_in: OptedIn,
        statuses: Iterable[OrderStatus] | None = None,
        policy: DowngradePolicy | None = None,
    ) -> TierResult:
        """Evaluate every customer of a log at ``as_of`` (vectorised).

        Cumulative valid spend (net of partial refunds) and valid order count are summed
        over all orders placed before ``as_of``. Under a rolling-window downgrade policy they
        are summed over the window ``[as_of − months, as_of)`` instead and the level is the
        one a re-evaluation at ``as_of`` assigns a member (:meth:`Membership.reevaluate`):
        the window's level, but never below level 1 for a customer who meets the entry rule
        on their whole history before ``as_of``.

        Args:
            orders: the shop's order log (same currency as the ladder).
            as_of: aware evaluation instant; orders at or after it are ignored.
            opted_in: who has joined: ``True``/``False`` for everyone, a bool array of shape
                ``(orders.n_customers,)`` aligned with ``orders.customer_ids``, a collection
                of customer ids, a mapping of id to :class:`~ecrm.tiers.Membership`
                (members just before ``as_of``), or a customer table with
                ``member_since_us`` (a ``CustomerTable``: joined before ``as_of``). As for
                orders, a join or leave at exactly ``as_of`` belongs to the next period.
            statuses: which statuses count as valid (default PAID, SHIPPED, COMPLETED).
            policy: downgrade policy; default never (cumulative over all history).

        Returns:
            A :class:`TierResult` over the customers with an order placed before ``as_of``.

        Raises:
            CurrencyMismatchError: the log's currency differs from the ladder's.
            InvalidValueError: naive ``as_of``; a bool array of the wrong shape.
        """
        when = require_aware(as_of, "as_of")
        _v.check_instance("orders", orders, OrderLog)
        if orders.currency != self.currency:
            raise CurrencyMismatchError(
                "orders.currency", f"must be the ladder's currency {self.currency}", orders.currency
            )
        opted = resolve_opted_in(orders, opted_in, when)
        lo_us = _window_start_us(when, orders, policy)
        spend, count, q, known, kept = _qualify(
            self, orders, datetime_to_us(when), lo_us, statuses
        )
        keep = np.flatnonzero(known)
        q = q[keep]
        opt = opted[keep]
        return TierResult(
            ladder=self,
            as_of=when,
            currency=self.currency,
            customer_ids=orders.customer_ids[keep],
            spend_fen=spend[keep],
            orders=count[keep],
            qualified_level=q,
            level=np.where(opt, q, 0),
            opted_in=opt,
            potential=(q > 0) & ~opt,
            kept=None if kept is None else kept[keep],
        )

    # -- exports ---------------------------------------------------------------------------
    def rules_text(
        self,
        lang: Literal["zh", "en"] = "zh",
        *,
        agreement: bool = True,
        discounts: bool = False,
    ) -> str:
        """The exportable member rules text, as Taobao generates it (DESIGN.md 3.2).

        The join agreement (入会协议) paragraph, 入会规则 with the entry rule, each level's
        conditions and the ANY-of sentence; for the source's ladder the Chinese text is the
        source's, character for character (one line per part).

        Args:
            lang: ``"zh"`` (default) or ``"en"``.
            agreement: start with the join agreement paragraph (default, as the source).
            discounts: append a 会员折扣 block with each level's discount (not in the
                source's text; off by default).

        Returns:
            The text, lines joined by ``\\n``. Deterministic: the same ladder and
            arguments always give the same text.

        Raises:
            InvalidValueError: ``lang`` is not ``"zh"`` or ``"en"``.
        """
        from ecrm.tiers._rules_text import rules_text

        return rules_text(self, lang, agreement=agreement, discounts=discounts)

    def table(self) -> str:
        """A plain-text table of the ladder (level, name, spend ≥, orders ≥, discount)."""
        op = self.comparison.value
        rows = [("level", "name", f"spend {op}", f"orders {op}", "discount")]
        rows.append(("0", self.store_customer_name, "-", "-", "-"))
        for t in self.tiers:
            rows.append((str(t.level), t.name, str(t.min_spend), str(t.min_orders),
                         f"{t.discount_permille}‰ {t.discount}"))
        return _format_table(rows)


def _count_at_or_below(edges: IntArray, values: npt.NDArray[Any]) -> IntArray:
    """How many of ``edges`` (strictly ascending) are <= each value, int64 of values' shape.

    A ladder has a handful of levels: one comparison pass per edge is several times faster
    than a binary search per value.
    """
    if len(edges) > 16:
        return np.searchsorted(edges, values, side="right").astype(np.int64, copy=False)
    out = np.zeros(np.shape(values), dtype=np.int64)
    for edge in edges.tolist():
        out += values >= edge
    return out


def _format_table(rows: Sequence[Sequence[str]]) -> str:
    return format_rows(rows, left=len(rows[0]))


_NO_POLICY: Final = object()


def _window_start_us(
    when: dt.datetime, orders: OrderLog, policy: DowngradePolicy | None
) -> int | None:
    if policy is None:
        return None
    # DowngradePolicy lives in _membership, which imports this module: check its shape
    if getattr(policy, "lookback_months", _NO_POLICY) is _NO_POLICY:
        raise InvalidTypeError(
            f"policy must be DowngradePolicy or None, got {type(policy).__name__}")
    if policy.lookback_months is None:
        return None
    from dateutil.relativedelta import relativedelta

    local = when.astimezone(orders.tz)
    return datetime_to_us(local - relativedelta(months=policy.lookback_months))


def _cumulate(
    orders: OrderLog,
    hi_us: int,
    lo_us: int | None,
    statuses: Iterable[OrderStatus] | None,
) -> tuple[IntArray, IntArray, BoolArray]:
    """Per-customer (all log customers) valid spend fen, valid order count, and known flag.

    ``known``: the customer has an order (any status) placed before ``hi_us``.
    """
    n_cust = orders.n_customers
    if n_cust == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0, dtype=bool)
    placed = orders.placed_at_us
    take = orders.valid_mask(statuses) & (placed < hi_us)
    if lo_us is not None:
        take &= placed >= lo_us
    # Exact int64 sums per customer over the customer-sorted layout: every customer has at
    # least one row, so the CSR starts are strictly increasing and reduceat is well-defined.
    starts = orders.customer_starts[:-1]
    # net × take (bool upcast to int64) is exact and about twice as fast as np.where.
    spend = np.add.reduceat(orders.net_fen * take, starts).astype(np.int64, copy=False)
    count = np.add.reduceat(take.view(np.int8), starts, dtype=np.int64)
    # Rows are in time order within a customer, so the first row is the earliest order.
    known = placed[starts] < hi_us
    return spend, count, known


def _qualify(
    ladder: TierLadder,
    orders: OrderLog,
    hi_us: int,
    lo_us: int | None,
    statuses: Iterable[OrderStatus] | None,
) -> tuple[IntArray, IntArray, IntArray, BoolArray, BoolArray | None]:
    """Per-customer spend, count, qualified level, known flag (see :func:`_cumulate`) and
    which customers a window keeps at level 1 (``None`` without a window).

    With a window (``lo_us`` set, a rolling downgrade policy) the level is the window's,
    floored at 1 for customers whose whole history before ``hi_us`` meets the entry rule:
    a rolling re-evaluation never drops a member below level 1 (leaving is the customer's
    own act), exactly as :meth:`Membership.reevaluate` does.
    """
    spend, count, known = _cumulate(orders, hi_us, lo_us, statuses)
    if lo_us is None:
        return spend, count, ladder.levels_of(spend, count), known, None
    all_spend, all_count, _ = _cumulate(orders, hi_us, None, statuses)
    q, kept = rolling_levels(ladder, spend, count, all_spend, all_count)
    return spend, count, q, known, kept


def rolling_levels(
    ladder: TierLadder, spend: IntArray, count: IntArray, all_spend: IntArray,
    all_count: IntArray,
) -> tuple[IntArray, BoolArray]:
    """Levels under a rolling window: the window's (``spend``, ``count``), floored at 1
    where the whole history (``all_spend``, ``all_count``) meets the entry rule; and which
    customers that floor kept. The one rule of every path (log and summaries)."""
    q = ladder.levels_of(spend, count)
    entered = (all_spend >= ladder.spend_edges_fen[0]) | (all_count >= ladder.order_edges[0])
    kept = entered & (q == 0)
    return np.where(kept, 1, q).astype(np.int64, copy=False), kept


def resolve_opted_in(orders: OrderLog, opted_in: OptedIn, as_of: dt.datetime) -> BoolArray:
    """The opted-in flag of every customer of ``orders`` (bool, shape ``(n_customers,)``).

    One half-open rule for period edges, as for orders: the state at ``as_of`` is the state
    just before it, so a join (or leave) at exactly ``as_of`` belongs to the period that
    starts there — a join at 00:00 on Feb 1 makes a February member, not a January one.
    """
    return opted_in_of(orders.customer_ids, opted_in, as_of)


def opted_in_of(customer_ids: npt.NDArray[Any], opted_in: OptedIn, as_of: dt.datetime) -> BoolArray:
    """The opted-in flag of each of ``customer_ids`` at ``as_of`` (as :func:`resolve_opted_in`,
    for ids that do not come from a log, e.g. a merged summary's)."""
    n = len(customer_ids)
    if isinstance(opted_in, (bool, np.bool_)):
        return np.full(n, bool(opted_in), dtype=bool)
    if isinstance(opted_in, np.ndarray) and opted_in.dtype == np.bool_:
        if opted_in.shape != (n,):
            raise InvalidValueError(
                "opted_in", f"as a bool array must have shape ({n},) aligned with customer_ids",
                opted_in.shape,
            )
        return opted_in
    if isinstance(opted_in, MemberTable):
        since = np.asarray(opted_in.member_since_us, dtype=np.int64)
        joined = (since != NAT_US) & (since < datetime_to_us(as_of))
        table_ids = np.asarray(opted_in.customer_ids)
        return _isin_ids(customer_ids, table_ids[joined].tolist())
    if isinstance(opted_in, Mapping):
        # Datetimes have microsecond resolution: 1 µs before is "strictly before as_of".
        just_before = as_of - dt.timedelta(microseconds=1)
        ids = [cid for cid, m in opted_in.items() if m.is_member_at(as_of=just_before)]
    elif isinstance(opted_in, (str, bytes)) or not isinstance(opted_in, Iterable):
        raise InvalidTypeError(
            "opted_in must be a bool, a bool array, a collection of customer ids or a mapping "
            f"of customer id to Membership, got {type(opted_in).__name__}"
        )
    else:
        ids = list(opted_in)
    return _isin_ids(customer_ids, ids)


def _isin_ids(customer_ids: npt.NDArray[Any], ids: list[Any]) -> BoolArray:
    """Which of ``customer_ids`` are in ``ids``; ids of the wrong kind are an error, since a
    str id never matches an int-id log (a silent "nobody opted in" would mislead)."""
    if not ids or not len(customer_ids):
        return np.zeros(len(customer_ids), dtype=bool)
    if customer_ids.dtype.kind == "U":
        kind = "str"

        def wrong(t: type) -> bool:
            return not issubclass(t, str)
    else:
        kind = "int"

        def wrong(t: type) -> bool:
            return issubclass(t, bool | np.bool_) or not issubclass(t, int | np.integer)
    # Check the few distinct types, not every id (opt-in sets hold 100,000s of ids).
    if any(wrong(t) for t in set(map(type, ids))):
        bad = [i for i in ids if wrong(type(i))]
        raise InvalidTypeError(
            f"opted_in ids must be {kind} like the log's customer ids, got "
            f"{type(bad[0]).__name__} {bad[0]!r}"
        )
    wanted = np.asarray(ids, dtype=str if kind == "str" else np.int64)
    return np.isin(customer_ids, wanted)


def _preset() -> TierLadder:
    def yuan(v: int) -> Money:
        return Money(v * 100, DEFAULT_CURRENCY)

    return TierLadder((
        Tier(1, "普通会员", yuan(100), 3, 980, name_en="regular member"),
        Tier(2, "高级会员", yuan(200), 5, 950, name_en="senior member"),
        Tier(3, "VIP会员", yuan(500), 10, 900, name_en="VIP member"),
        Tier(4, "至尊VIP", yuan(2_000), 20, 850, name_en="supreme VIP"),
    ))


#: The default Taobao store VIP ladder (DESIGN.md 3.2). Thresholds are from the source; the
#: discounts (9.8 / 9.5 / 9 / 8.5折) are shop settings chosen as sensible defaults.
TAOBAO_STORE_VIP: Final = _preset()
