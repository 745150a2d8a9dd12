"""Opt-in membership records: join (entry rule), leave, re-join, re-evaluation and downgrades.

A :class:`Membership` is a frozen value; every operation returns a new one with one more
:class:`LevelChange` in its history, or raises and changes nothing. Levels move only at
events: joining sets the level the customer qualifies for, and later orders raise it only
at the next :meth:`Membership.reevaluate` ("upgrades apply at the next evaluation").
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs
import numpy as np
from dateutil.relativedelta import relativedelta

from ecrm import _validators as _v
from ecrm._deprecate import renamed_attribute, renamed_kwarg
from ecrm._money import Money
from ecrm._order import OrderStatus
from ecrm._orderlog import OrderLog
from ecrm._time import datetime_to_us, require_aware
from ecrm.errors import EntryRuleError, InvalidTypeError, InvalidValueError, MembershipError
from ecrm.tiers._ladder import TAOBAO_STORE_VIP, TierLadder

__all__ = [
    "ChangeReason",
    "DowngradePolicy",
    "EntryRuleError",
    "LevelChange",
    "Membership",
    "MembershipError",
    "MembershipEvent",
    "MembershipReplay",
    "replay_memberships",
]


def _aware(instance: object, attribute: attrs.Attribute[dt.datetime], value: object) -> None:
    require_aware(value, attribute.name)


@attrs.frozen
class DowngradePolicy:
    """When a member's level may fall.

    ``DowngradePolicy.NEVER`` (the default, as on Taobao): levels only rise while a member.
    ``DowngradePolicy.rolling_window(months=12)``: each re-evaluation counts only the valid
    orders of the last ``months`` calendar months, so the level may fall — but never below
    level 1 while the customer is a member (leaving is the customer's own act).

    Attributes:
        lookback_months: ``None`` for never, else how many calendar months before a
            re-evaluation count (>= 1); ``window_months`` is its deprecated alias (keyword
            and attribute).

    .. versionchanged:: 0.1.0
       ``window_months`` renamed ``lookback_months``.
    """

    NEVER: ClassVar[DowngradePolicy]

    lookback_months: int | None = attrs.field(
        default=None,
        validator=attrs.validators.optional(
            [_v.instance_of(int), _v.ge(1)]
        ),
    )

    @classmethod
    def never(cls) -> DowngradePolicy:
        """Levels never fall (the default)."""
        return cls(None)

    @classmethod
    def rolling_window(cls, months: int = 12) -> DowngradePolicy:
        """Re-evaluate over the valid orders of the last ``months`` calendar months."""
        if isinstance(months, bool):
            raise InvalidTypeError("months must be an int, got bool")
        return cls(months)

    @property
    def is_never(self) -> bool:
        """True for the never-downgrade policy."""
        return self.lookback_months is None

    window_months = renamed_attribute("window_months", "lookback_months")

    @renamed_kwarg("at", "as_of")
    def window(
        self, as_of: dt.datetime, tz: dt.tzinfo
    ) -> tuple[dt.datetime | None, dt.datetime]:
        """The half-open window ``[start, as_of)`` of orders a re-evaluation at ``as_of`` counts.

        ``start`` is ``None`` (all history) for the never policy. ``at=`` is the deprecated
        alias of ``as_of=``.
        """
        if self.lookback_months is None:
            return None, as_of
        return as_of.astimezone(tz) - relativedelta(months=self.lookback_months), as_of


# The attrs-made __init__ takes the old keyword for one release.
setattr(DowngradePolicy, "__init__",  # noqa: B010
        renamed_kwarg("window_months", "lookback_months")(DowngradePolicy.__init__))
DowngradePolicy.NEVER = DowngradePolicy(None)


class ChangeReason(enum.Enum):
    """Why a member's level changed."""

    JOIN = "join"
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    LEAVE = "leave"


@attrs.frozen
class LevelChange:
    """One entry of a membership's history: at ``at`` the level became ``level``.

    ``level`` is 0 after a ``LEAVE``.
    """

    at: dt.datetime = attrs.field(validator=_aware)
    level: int = attrs.field(validator=[_v.instance_of(int), _v.ge(0)])
    reason: ChangeReason = attrs.field(validator=_v.instance_of(ChangeReason))


def _to_history(value: Iterable[LevelChange]) -> tuple[LevelChange, ...]:
    return tuple(value)


def _check_history(
    instance: Membership, attribute: attrs.Attribute[Any], value: tuple[LevelChange, ...]
) -> None:
    for i, change in enumerate(value):
        if not isinstance(change, LevelChange):
            raise InvalidTypeError(
                f"history[{i}] must be a LevelChange, got {type(change).__name__}"
            )
        if i and change.at < value[i - 1].at:
            raise InvalidValueError(
                f"history[{i}].at", "must not be earlier than the entry before it", change.at
            )


@attrs.frozen
class Membership:
    """One customer's store membership: joins, leaves and level changes, oldest first.

    Start from ``Membership(customer_id)`` (never joined) and call :meth:`join`. Each method
    returns a new record; errors leave the record as it was.

    Attributes:
        customer_id: the customer.
        history: the level changes, oldest first (re-joining keeps the earlier periods).
        ladder: the ladder the levels refer to.
        policy: the downgrade policy used by :meth:`reevaluate`.
    """

    customer_id: Any
    history: tuple[LevelChange, ...] = attrs.field(
        default=(), converter=_to_history, validator=_check_history
    )
    ladder: TierLadder = attrs.field(default=TAOBAO_STORE_VIP, repr=False)
    policy: DowngradePolicy = attrs.field(default=DowngradePolicy.NEVER, repr=False)

    # -- state -------------------------------------------------------------------------------
    @property
    def is_member(self) -> bool:
        """True while joined (the last change is not a leave)."""
        return bool(self.history) and self.history[-1].reason is not ChangeReason.LEAVE

    @property
    def level(self) -> int:
        """The current level (0 when not a member)."""
        return self.history[-1].level if self.is_member else 0

    @property
    def joined_at(self) -> dt.datetime | None:
        """When the current (or last) membership period began; ``None`` if never joined."""
        for change in reversed(self.history):
            if change.reason is ChangeReason.JOIN:
                return change.at
        return None

    @property
    def left_at(self) -> dt.datetime | None:
        """When the customer left, if they are not a member now; ``None`` while a member."""
        if self.history and self.history[-1].reason is ChangeReason.LEAVE:
            return self.history[-1].at
        return None

    def periods(self) -> tuple[tuple[dt.datetime, dt.datetime | None], ...]:
        """Every membership period as ``(joined_at, left_at or None)``, oldest first."""
        out: list[tuple[dt.datetime, dt.datetime | None]] = []
        start: dt.datetime | None = None
        for change in self.history:
            if change.reason is ChangeReason.JOIN:
                start = change.at
            elif change.reason is ChangeReason.LEAVE and start is not None:
                out.append((start, change.at))
                start = None
        if start is not None:
            out.append((start, None))
        return tuple(out)

    @renamed_kwarg("at", "as_of")
    def level_at(self, as_of: dt.datetime) -> int:
        """The level in effect at instant ``as_of`` (changes at exactly ``as_of`` included).

        ``at=`` is the deprecated alias of ``as_of=``.
        """
        when = require_aware(as_of, "as_of")
        level = 0
        for change in self.history:
            if change.at > when:
                break
            level = change.level
        return level

    @renamed_kwarg("at", "as_of")
    def is_member_at(self, as_of: dt.datetime) -> bool:
        """Whether the customer was a member at instant ``as_of``.

        ``at=`` is the deprecated alias of ``as_of=``.
        """
        when = require_aware(as_of, "as_of")
        member = False
        for change in self.history:
            if change.at > when:
                break
            member = change.reason is not ChangeReason.LEAVE
        return member

    # -- operations ---------------------------------------------------------------------------
    def _check_time(self, at: dt.datetime) -> dt.datetime:
        when = require_aware(at, "at")
        if self.history and when < self.history[-1].at:
            raise MembershipError(
                "at", f"must not be earlier than the last change at {self.history[-1].at}", when
            )
        return when

    def _append(self, at: dt.datetime, level: int, reason: ChangeReason) -> Membership:
        history: tuple[LevelChange, ...] = (*self.history, LevelChange(at, level, reason))
        return attrs.evolve(self, history=history)

    def join(self, at: dt.datetime, spend: Money, orders: int) -> Membership:
        """Join (领卡) at ``at`` with the cumulative valid ``spend`` and ``orders`` then.

        The entry rule: the customer must meet the lowest level's spend OR count condition.
        The new level is the highest level met.

        Raises:
            MembershipError: already a member, or ``at`` is earlier than the last change.
            EntryRuleError: the customer meets no level.
        """
        when = self._check_time(at)
        if self.is_member:
            raise MembershipError(
                "customer", f"is already a member (joined at {self.joined_at})", self.customer_id
            )
        decision = self.ladder.evaluate(spend, orders, opted_in=True)
        if decision.qualified_level == 0:
            first = self.ladder.tiers[0]
            raise EntryRuleError(
                "spend/orders",
                f"must meet the entry rule to join ({first.min_spend} or {first.min_orders} "
                f"orders for {first.name}); customer {self.customer_id!r} has "
                f"{spend} and {orders} orders",
                (str(spend), orders),
                show_value=False,
            )
        return self._append(when, decision.qualified_level, ChangeReason.JOIN)

    def leave(self, at: dt.datetime) -> Membership:
        """Leave (退会) at ``at``; the history is kept and the customer may re-join.

        Raises:
            MembershipError: not a member, or ``at`` is earlier than the last change.
        """
        when = self._check_time(at)
        if not self.is_member:
            raise MembershipError("customer", "is not a member, so cannot leave", self.customer_id)
        return self._append(when, 0, ChangeReason.LEAVE)

    def reevaluate(
        self, at: dt.datetime, spend: Money, orders: int, policy: DowngradePolicy | None = None
    ) -> Membership:
        """Re-evaluate a member at ``at``: upgrades apply now, downgrades per the policy.

        Args:
            at: the evaluation instant.
            spend, orders: valid spend and order count counted under the policy — all
                history for never, the window ``policy.window(as_of=at, tz=tz)`` for a rolling one.
            policy: overrides the record's policy for this call.

        Returns:
            The record with an upgrade or downgrade appended, or ``self`` when the level
            does not change (a non-member is returned unchanged too).

        Raises:
            MembershipError: ``at`` is earlier than the last change.
        """
        when = self._check_time(at)
        use = self.policy if policy is None else policy
        decision = self.ladder.evaluate(spend, orders, opted_in=True)
        if not self.is_member:
            return self
        current = self.level
        if use.is_never:
            new = max(current, decision.qualified_level)
        else:
            new = max(decision.qualified_level, 1)
        if new == current:
            return self
        reason = ChangeReason.UPGRADE if new > current else ChangeReason.DOWNGRADE
        return self._append(when, new, reason)


@attrs.frozen
class MembershipEvent:
    """A customer's join or leave at an instant, for :func:`replay_memberships`.

    Attributes:
        customer_id: the customer.
        at: aware instant.
        kind: ``"join"`` or ``"leave"``.
    """

    customer_id: Any
    at: dt.datetime = attrs.field(validator=_aware)
    kind: str = attrs.field(validator=_v.in_(("join", "leave")))


@attrs.frozen
class MembershipReplay:
    """The result of :func:`replay_memberships`.

    Attributes:
        memberships: customer id → record, for every customer with an accepted join.
        refused: the events that were refused, with the error that refused them.
    """

    memberships: Mapping[Any, Membership]
    refused: tuple[tuple[MembershipEvent, MembershipError], ...]


class _CustomerTotals:
    """Valid spend / order count of one customer in ``[lo, hi)``, from cumulative sums."""

    def __init__(self, orders: OrderLog, valid: np.ndarray[Any, Any], customer_id: Any) -> None:
        try:
            rows = orders.customer_rows(customer_id)
        except KeyError:
            rows = slice(0, 0)
        self.placed = orders.placed_at_us[rows]
        ok = valid[rows]
        self.cum_spend = np.concatenate(([0], np.cumsum(np.where(ok, orders.net_fen[rows], 0))))
        self.cum_count = np.concatenate(([0], np.cumsum(ok)))
        self.currency = orders.currency

    def totals(self, lo: dt.datetime | None, hi: dt.datetime) -> tuple[Money, int]:
        h = int(np.searchsorted(self.placed, datetime_to_us(hi), side="left"))
        lo_i = 0
        if lo is not None:
            lo_i = int(np.searchsorted(self.placed, datetime_to_us(lo), side="left"))
        return (
            Money(int(self.cum_spend[h] - self.cum_spend[lo_i]), self.currency),
            int(self.cum_count[h] - self.cum_count[lo_i]),
        )


def replay_memberships(
    orders: OrderLog,
    events: Iterable[MembershipEvent],
    *,
    ladder: TierLadder = TAOBAO_STORE_VIP,
    evaluations: Iterable[dt.datetime] = (),
    policy: DowngradePolicy = DowngradePolicy.NEVER,
    statuses: Iterable[OrderStatus] | None = None,
) -> MembershipReplay:
    """Replay join/leave events and periodic re-evaluations over an order log.

    At a join, the customer's cumulative valid spend and order count before that instant
    decide the entry rule and the level; at each evaluation instant every member is
    re-evaluated under ``policy`` (events at the same instant come first). Refused events
    (entry rule not met, leaving while not a member, joining twice) are collected, not
    raised.

    This walks members one by one (a Python loop per member and event), so it is meant
    for membership bases, not for millions of customers; use
    :meth:`TierLadder.evaluate_log` for shop-wide levels.

    Returns:
        The final records and the refused events.

    Raises:
        InvalidTypeError: ``orders`` is not an OrderLog, ``ladder`` not a TierLadder,
            ``policy`` not a DowngradePolicy, an event not a MembershipEvent.
    """
    _v.check_instance("orders", orders, OrderLog)
    _v.check_instance("ladder", ladder, TierLadder)
    _v.check_instance("policy", policy, DowngradePolicy)
    valid = orders.valid_mask(statuses)
    evals = sorted(require_aware(e, "evaluations") for e in evaluations)
    by_customer: dict[Any, list[MembershipEvent]] = {}
    for event in events:
        if not isinstance(event, MembershipEvent):
            raise InvalidTypeError(
                f"events must hold MembershipEvent, got {type(event).__name__}"
            )
        by_customer.setdefault(event.customer_id, []).append(event)
    members: dict[Any, Membership] = {}
    refused: list[tuple[MembershipEvent, MembershipError]] = []
    for cid, evs in by_customer.items():
        evs.sort(key=lambda e: e.at)
        totals = _CustomerTotals(orders, valid, cid)
        record = Membership(cid, ladder=ladder, policy=policy)
        steps: list[tuple[dt.datetime, int, MembershipEvent | None]] = [(e.at, 0, e) for e in evs]
        steps += [(t, 1, None) for t in evals]
        steps.sort(key=lambda s: (s[0], s[1]))
        for at, _, ev in steps:
            try:
                if ev is None:
                    if record.is_member:
                        lo, hi = policy.window(as_of=at, tz=orders.tz)
                        spend, count = totals.totals(lo, hi)
                        record = record.reevaluate(at, spend, count)
                elif ev.kind == "join":
                    spend, count = totals.totals(None, at)
                    record = record.join(at, spend, count)
                else:
                    record = record.leave(at)
            except MembershipError as exc:
                if ev is None:
                    raise
                refused.append((ev, exc))
        if record.history:
            members[cid] = record
    return MembershipReplay(members, tuple(refused))
