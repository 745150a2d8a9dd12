"""Member benefits (会员权益) and the benefit catalogue that points are redeemed against."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Iterator
from typing import Final

import attrs

from ecrm import _validators as _v
from ecrm._deprecate import renamed_kwarg
from ecrm._money import Money
from ecrm._time import require_aware
from ecrm.errors import BenefitErrorGroup, InvalidTypeError, InvalidValueError, _short_repr
from ecrm.tiers._coupons import Coupon
from ecrm.tiers._giftpack import Gift

__all__ = ["NEW_MEMBER_PERIOD", "Benefit", "BenefitCatalog", "BenefitErrorGroup", "BenefitKind"]

#: How long new-member benefits are on offer after the first registration (the source's
#: 新会员首次注册入会24小时内).
NEW_MEMBER_PERIOD: Final = dt.timedelta(hours=24)


class BenefitKind(enum.Enum):
    """The kinds of member benefit a Taobao store offers (DESIGN.md 3.2).

    The Chinese labels are the source's names of the platform's benefit tools (客户运营平台
    → 权益管理 → 会员权益, seed 001); 积分兑礼 includes 积分+钱兑换/购买 (points plus money).
    """

    NEW_MEMBER_COUPON = "new_member_coupon"
    NEW_MEMBER_GIFT = "new_member_gift"
    MEMBER_COUPON = "member_coupon"
    MEMBER_GIFT = "member_gift"
    POINTS_FOR_COUPON = "points_for_coupon"
    POINTS_FOR_GIFT = "points_for_gift"
    POINTS_FOR_RED_PACKET = "points_for_red_packet"
    POINTS_FOR_TRAFFIC = "points_for_traffic"

    @property
    def label_zh(self) -> str:
        """The source's Chinese name (``新会员专享券``, ``积分兑券`` …)."""
        return _KIND_ZH[self]

    @property
    def new_member_only(self) -> bool:
        """Whether only a new member may have it (``NEW_MEMBER_*``): offered in the new-member
        window after the first registration, not for ever."""
        return self.name.startswith("NEW_MEMBER_")

    @property
    def costs_points(self) -> bool:
        """Whether the benefit is bought with points (the ``POINTS_FOR_*`` kinds)."""
        return self.name.startswith("POINTS_FOR_")


_KIND_ZH: Final = {
    BenefitKind.NEW_MEMBER_COUPON: "新会员专享券",
    BenefitKind.NEW_MEMBER_GIFT: "新会员专享礼",
    BenefitKind.MEMBER_COUPON: "会员专享券",
    BenefitKind.MEMBER_GIFT: "会员专享礼",
    BenefitKind.POINTS_FOR_COUPON: "积分兑券",
    BenefitKind.POINTS_FOR_GIFT: "积分兑礼",
    BenefitKind.POINTS_FOR_RED_PACKET: "积分兑红包",
    BenefitKind.POINTS_FOR_TRAFFIC: "积分兑流量",
}

# What each kind hands out: a coupon, a gift, a red packet (money) or a traffic package
# described in words ("100MB 流量").
_GRANT_TYPES: Final[dict[BenefitKind, type]] = {
    BenefitKind.NEW_MEMBER_COUPON: Coupon,
    BenefitKind.MEMBER_COUPON: Coupon,
    BenefitKind.POINTS_FOR_COUPON: Coupon,
    BenefitKind.NEW_MEMBER_GIFT: Gift,
    BenefitKind.MEMBER_GIFT: Gift,
    BenefitKind.POINTS_FOR_GIFT: Gift,
    BenefitKind.POINTS_FOR_RED_PACKET: Money,
    BenefitKind.POINTS_FOR_TRAFFIC: str,
}


def _non_negative(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(
            f"{attribute.name} must be an int, got {type(value).__name__} {_short_repr(value)}"
        )
    if value < 0:
        raise InvalidValueError(attribute.name, "must be >= 0", value)


@attrs.frozen
class Benefit:
    """One member benefit: what it grants, what it costs, and who may have it.

    Attributes:
        benefit_id: unique id in the catalogue.
        kind: the :class:`BenefitKind`.
        grants: what the member receives: a :class:`Coupon` for the coupon kinds, a
            :class:`Gift` for the gift kinds, a :class:`Money` red packet for
            ``POINTS_FOR_RED_PACKET`` and a description (``"100MB 流量"``) for
            ``POINTS_FOR_TRAFFIC``.
        cost_points: points it costs (> 0 for ``POINTS_FOR_*`` kinds, 0 for the others).
        money_part: money paid on top of the points; only ``POINTS_FOR_GIFT`` may have one
            (积分+金额).
        min_level: the lowest member level that may have it (0 = any customer).

    Raises:
        InvalidValueError: a rule above is broken.
        InvalidTypeError: ``grants`` has the wrong type for ``kind``.
    """

    benefit_id: str = attrs.field(validator=_v.instance_of(str))
    kind: BenefitKind = attrs.field(validator=_v.instance_of(BenefitKind))
    grants: Coupon | Gift | Money | str
    cost_points: int = attrs.field(default=0, kw_only=True, validator=_non_negative)
    money_part: Money | None = attrs.field(
        default=None,
        kw_only=True,
        validator=attrs.validators.optional(_v.instance_of(Money)),
    )
    min_level: int = attrs.field(default=0, kw_only=True, validator=_non_negative)
    name: str = attrs.field(default="", kw_only=True, validator=_v.instance_of(str))

    def __attrs_post_init__(self) -> None:
        if not self.benefit_id.strip():
            raise InvalidValueError("benefit_id", "must not be empty", self.benefit_id)
        expected = _GRANT_TYPES[self.kind]
        if not isinstance(self.grants, expected):
            raise InvalidTypeError(
                f"grants of a {self.kind.name} benefit must be a {expected.__name__}, "
                f"got {type(self.grants).__name__} {_short_repr(self.grants)}"
            )
        if isinstance(self.grants, Money) and self.grants.fen <= 0:
            raise InvalidValueError("grants", "a red packet must be worth > 0", self.grants)
        if isinstance(self.grants, str) and not self.grants.strip():
            raise InvalidValueError("grants", "must describe the traffic package", self.grants)
        if self.kind.costs_points and self.cost_points <= 0:
            raise InvalidValueError(
                "cost_points", f"must be > 0 for a {self.kind.name} benefit", self.cost_points
            )
        if not self.kind.costs_points and self.cost_points != 0:
            raise InvalidValueError(
                "cost_points", f"must be 0 for a {self.kind.name} benefit", self.cost_points
            )
        if self.money_part is not None:
            if self.kind is not BenefitKind.POINTS_FOR_GIFT:
                raise InvalidValueError(
                    "money_part",
                    "is only allowed for POINTS_FOR_GIFT (积分+金额)",
                    self.money_part,
                )
            if self.money_part.fen <= 0:
                raise InvalidValueError("money_part", "must be > 0 when given", self.money_part)

    @property
    def redeemable(self) -> bool:
        """Whether points can be redeemed for it (a ``POINTS_FOR_*`` kind)."""
        return self.kind.costs_points


def _benefit_tuple(value: Iterable[Benefit]) -> tuple[Benefit, ...]:
    return tuple(value)


@attrs.frozen
class BenefitCatalog:
    """The benefits a store offers, unique by ``benefit_id``; a frozen value.

    :meth:`add` and :meth:`remove` return new catalogues.
    """

    benefits: tuple[Benefit, ...] = attrs.field(default=(), converter=_benefit_tuple)

    def __attrs_post_init__(self) -> None:
        problems: list[InvalidValueError] = []
        seen: set[str] = set()
        for i, benefit in enumerate(self.benefits):
            if not isinstance(benefit, Benefit):
                raise InvalidTypeError(
                    f"benefits[{i}] must be a Benefit, got {type(benefit).__name__}"
                )
            if benefit.benefit_id in seen:
                problems.append(
                    InvalidValueError(
                        f"benefits[{i}].benefit_id", "must be unique", benefit.benefit_id
                    )
                )
            seen.add(benefit.benefit_id)
        if problems:
            raise BenefitErrorGroup("invalid benefit catalogue", problems)

    def __len__(self) -> int:
        return len(self.benefits)

    def __iter__(self) -> Iterator[Benefit]:
        return iter(self.benefits)

    def __contains__(self, benefit_id: object) -> bool:
        return any(b.benefit_id == benefit_id for b in self.benefits)

    def get(self, benefit_id: str) -> Benefit:
        """The benefit with ``benefit_id``.

        Raises:
            InvalidValueError: no such benefit.
        """
        for benefit in self.benefits:
            if benefit.benefit_id == benefit_id:
                return benefit
        raise InvalidValueError("benefit_id", "is not in the benefit catalogue", benefit_id)

    def add(self, benefit: Benefit) -> BenefitCatalog:
        """A new catalogue with ``benefit`` added.

        Raises:
            BenefitErrorGroup: the id is already there.
        """
        return BenefitCatalog((*self.benefits, benefit))

    def remove(self, benefit_id: str) -> BenefitCatalog:
        """A new catalogue without ``benefit_id``.

        Raises:
            InvalidValueError: no such benefit.
        """
        self.get(benefit_id)
        return BenefitCatalog(tuple(b for b in self.benefits if b.benefit_id != benefit_id))

    @renamed_kwarg("at", "as_of")
    @renamed_kwarg("new_member_window", "new_member_period")
    def for_level(
        self,
        level: int,
        *,
        first_joined_at: dt.datetime | None = None,
        as_of: dt.datetime | None = None,
        new_member_period: dt.timedelta = NEW_MEMBER_PERIOD,
    ) -> tuple[Benefit, ...]:
        """The benefits on offer to a member at ``level`` (``min_level <= level``), in order.

        New-member benefits (``NEW_MEMBER_*``) are not on offer for ever: only when
        ``first_joined_at`` and ``as_of`` are given and ``as_of`` lies in the half-open window
        ``[first_joined_at, first_joined_at + new_member_period)`` after the customer's
        *first* registration (re-joining does not reopen it, as for the gift pack).

        Args:
            level: the member level (0 = store customer).
            first_joined_at: the customer's first registration (aware), if any.
            as_of: the instant of the offer (aware); ``at=`` is the deprecated alias.
            new_member_period: how long new-member benefits last (default 24 hours);
                ``new_member_window=`` is its deprecated alias.

        Returns:
            The benefits on offer, in catalogue order.

        Raises:
            InvalidValueError: a naive datetime; a non-positive period.

        .. versionchanged:: 0.1.0
           ``new_member_window=`` renamed ``new_member_period=`` (and the default
           ``NEW_MEMBER_WINDOW`` renamed ``NEW_MEMBER_PERIOD``).
        """
        if new_member_period <= dt.timedelta(0):
            raise InvalidValueError("new_member_period", "must be > 0", new_member_period)
        is_new = False
        if first_joined_at is not None and as_of is not None:
            start = require_aware(first_joined_at, "first_joined_at").astimezone(dt.UTC)
            now = require_aware(as_of, "as_of").astimezone(dt.UTC)
            is_new = start <= now < start + new_member_period
        return tuple(
            b
            for b in self.benefits
            if b.min_level <= level and (is_new or not b.kind.new_member_only)
        )

    def of_kind(self, kind: BenefitKind) -> tuple[Benefit, ...]:
        """The benefits of one kind, in order."""
        return tuple(b for b in self.benefits if b.kind is kind)
