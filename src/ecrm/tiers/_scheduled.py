"""Scheduled level benefits (差异化运营): a benefit granted to every member of a level, once per
member and calendar period.

Seed 002's examples: 白银会员：每月1张9折券 (a monthly coupon for one level and up) and
黄金会员：每周限量秒杀资格 (a weekly flash-sale right). A :class:`ScheduledBenefit` names the
benefit (a member coupon or gift of the catalogue, whose ``min_level`` says who has it), the
cadence and the quantity; :func:`grant_scheduled` grants it for the period holding ``at``.

Each grant is stored under ``(benefit, customer, period)`` with a UNIQUE key, so however
often the job runs — again after a crash, or in two processes at once — a member gets one
grant per benefit and period. :attr:`Grant.key` is the natural key to hand to touch (the
coupon send or the message that announces the grant), whose outbox dedupes by it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Collection, Iterable, Mapping
from typing import Final, Protocol, TypeAlias, runtime_checkable

import attrs

from ecrm import _validators as _v
from ecrm._money import Money
from ecrm._time import DEFAULT_TZ, as_zone, require_aware
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.tiers._benefits import Benefit, BenefitKind
from ecrm.tiers._cadence import Cadence
from ecrm.tiers._coupons import Coupon, CouponCatalog
from ecrm.tiers._points import _check_customer

__all__ = ["Grant", "GrantRun", "GrantStore", "ScheduledBenefit", "grant_scheduled"]

CustomerId: TypeAlias = str | int

_SCHEDULABLE: Final = (BenefitKind.MEMBER_COUPON, BenefitKind.MEMBER_GIFT)
#: Grants stored per transaction: a long run does not hold the write lock for long.
_BATCH: Final = 500


@attrs.frozen
class ScheduledBenefit:
    """A member benefit granted every period to members of ``benefit.min_level`` and up.

    Attributes:
        benefit: a ``MEMBER_COUPON`` or ``MEMBER_GIFT`` benefit (its ``min_level`` is the
            lowest level that receives it; 0 is refused: store customers are no members).
        every: the :class:`~ecrm.tiers.Cadence` (每月 = ``Cadence.MONTH``).
        quantity: units per member and period (每月1张 = 1).
        unit_cost: what one unit costs the shop when it is used: default the coupon's face
            value; required for a gift (its cost price, not its shelf price).
        paid_only: only members with a paid-membership term in force receive it.

    Raises:
        InvalidTypeError / InvalidValueError: a bad field, named.
    """

    benefit: Benefit = attrs.field(validator=_v.instance_of(Benefit))
    every: Cadence = attrs.field(validator=_v.instance_of(Cadence))
    quantity: int = attrs.field(default=1, kw_only=True)
    unit_cost: Money | None = attrs.field(
        default=None, kw_only=True,
        validator=attrs.validators.optional(_v.instance_of(Money)),
    )
    paid_only: bool = attrs.field(default=False, kw_only=True,
                                  validator=_v.instance_of(bool))

    def __attrs_post_init__(self) -> None:
        if self.benefit.kind not in _SCHEDULABLE:
            raise InvalidValueError(
                "benefit", "must be a MEMBER_COUPON or MEMBER_GIFT benefit to be scheduled",
                self.benefit.kind.name,
            )
        if self.benefit.min_level < 1:
            raise InvalidValueError("benefit.min_level", "must be >= 1 (a member level)",
                                    self.benefit.min_level)
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int):
            raise InvalidTypeError(f"quantity must be an int, got {type(self.quantity).__name__}")
        if self.quantity < 1:
            raise InvalidValueError("quantity", "must be >= 1", self.quantity)
        if self.unit_cost is None and not isinstance(self.benefit.grants, Coupon):
            raise InvalidValueError("unit_cost", "is required for a gift (its cost price)",
                                    None)
        if self.unit_cost is not None and self.unit_cost.fen < 0:
            raise InvalidValueError("unit_cost", "must be >= 0", str(self.unit_cost))

    @property
    def benefit_id(self) -> str:
        """The benefit's id."""
        return self.benefit.benefit_id

    @property
    def min_level(self) -> int:
        """The lowest level that receives it."""
        return self.benefit.min_level

    @property
    def cost_per_unit(self) -> Money:
        """``unit_cost``, or the coupon's face value."""
        if self.unit_cost is not None:
            return self.unit_cost
        assert isinstance(self.benefit.grants, Coupon)
        return self.benefit.grants.face_value


def _utc(value: object) -> dt.datetime:
    return require_aware(value, "granted_at").astimezone(dt.UTC)


@attrs.frozen
class Grant:
    """One benefit granted to one member for one period.

    Attributes:
        customer_id: the member.
        benefit_id: the scheduled benefit.
        period: the period's label (``2026-11``, ``2026-W45`` …).
        level: the member's level when granted.
        quantity: units granted.
        unit_cost: the shop's cost of one unit when used.
        granted_at: when it was granted (UTC).
    """

    customer_id: CustomerId = attrs.field(converter=_check_customer)
    benefit_id: str
    period: str
    level: int
    quantity: int
    unit_cost: Money
    granted_at: dt.datetime = attrs.field(converter=_utc)

    @property
    def key(self) -> str:
        """The natural key ``["grant",<benefit_id>,<customer_id>,<period>]`` (typed JSON)."""
        return json.dumps(["grant", self.benefit_id, self.customer_id, self.period],
                          ensure_ascii=False, separators=(",", ":"))

    @property
    def value(self) -> Money:
        """``unit_cost × quantity``: the cost if every unit is used."""
        return self.unit_cost * self.quantity


@runtime_checkable
class GrantStore(Protocol):
    """Where grants live: one per ``(benefit_id, customer_id, period)``, enforced by the
    store itself."""

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """A block whose writes are applied together or not at all."""
        ...

    def add_grant(self, grant: Grant) -> bool:
        """Store ``grant``; ``False`` (and nothing changed) when its key is already there."""
        ...

    def grants(self) -> list[Grant]:
        """Every stored grant, in the order they were stored."""
        ...


@attrs.frozen
class GrantRun:
    """What one run of :func:`grant_scheduled` did.

    Attributes:
        granted: the grants made by this run, in schedule then member order.
        already: how many were skipped because the member had the grant for the period.
    """

    granted: tuple[Grant, ...]
    already: int


def grant_scheduled(
    store: GrantStore,
    schedule: Iterable[ScheduledBenefit],
    levels: Mapping[CustomerId, int],
    *,
    at: dt.datetime,
    tz: str | dt.tzinfo | None = DEFAULT_TZ,
    paid_members: Collection[CustomerId] | None = None,
    coupons: CouponCatalog | None = None,
) -> GrantRun:
    """Grant each scheduled benefit to every member whose level reaches it, for the period of
    ``at``; at most once per member, benefit and period, however often it runs.

    Args:
        store: where grants live.
        schedule: the scheduled benefits.
        levels: customer id → member level at ``at`` (0 = not a member: no grant).
        at: the run's moment (aware); its period in ``tz`` is granted.
        tz: the store's zone for the calendar periods.
        paid_members: customers with a paid-membership term in force at ``at`` (needed
            when a benefit is ``paid_only``; :meth:`~ecrm.tiers.PaidMembership.paid_members`).
        coupons: the store's coupon catalogue; when given, every scheduled coupon must be
            one of its denominations (same id and terms).

    Returns:
        The :class:`GrantRun`.

    Raises:
        InvalidTypeError / InvalidValueError: a bad argument (nothing granted).
        StoreError: the store is busy past its timeout or unusable (nothing of the failed
            batch granted; a new run completes it).
    """
    if not isinstance(store, GrantStore):
        raise InvalidTypeError(f"store must be a GrantStore, got {type(store).__name__}")
    items = tuple(schedule)
    for i, item in enumerate(items):
        if not isinstance(item, ScheduledBenefit):
            raise InvalidTypeError(
                f"schedule[{i}] must be a ScheduledBenefit, got {type(item).__name__}"
            )
        coupon = item.benefit.grants
        if coupons is not None and isinstance(coupon, Coupon) and (
            coupon.coupon_id not in coupons or coupons.get(coupon.coupon_id) != coupon
        ):
            raise InvalidValueError(
                f"schedule[{i}].benefit.grants",
                "must be a denomination of the store's coupon catalogue", coupon.coupon_id,
            )
        if item.paid_only and paid_members is None:
            raise InvalidValueError(
                "paid_members", f"is needed: {item.benefit_id!r} is for paid members only", None
            )
    if len({item.benefit_id for item in items}) != len(items):
        raise InvalidValueError("schedule", "must not name a benefit twice",
                                [item.benefit_id for item in items])
    when = require_aware(at, "at")
    zone = as_zone(tz)
    members = []
    for customer_id, level in levels.items():
        if isinstance(level, bool) or not isinstance(level, int) or level < 0:
            raise InvalidValueError(f"levels[{customer_id!r}]", "must be an int >= 0", level)
        members.append((_check_customer(customer_id), level))
    paid = frozenset() if paid_members is None else frozenset(paid_members)
    granted: list[Grant] = []
    already = 0
    for item in items:
        period = item.every.period(when, zone).label
        due = [
            Grant(cid, item.benefit_id, period, level, item.quantity, item.cost_per_unit, when)
            for cid, level in members
            if level >= item.min_level and (not item.paid_only or cid in paid)
        ]
        for start in range(0, len(due), _BATCH):
            with store.transaction():
                for grant in due[start:start + _BATCH]:
                    if store.add_grant(grant):
                        granted.append(grant)
                    else:
                        already += 1
    return GrantRun(tuple(granted), already)

