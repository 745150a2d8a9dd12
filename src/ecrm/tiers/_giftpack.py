"""The new-member gift pack (新会员礼包): its limits, validation and the claim window."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

import attrs

from ecrm import _validators as _v
from ecrm._deprecate import renamed_kwarg
from ecrm._time import require_aware
from ecrm.errors import GiftPackErrorGroup, InvalidTypeError, InvalidValueError
from ecrm.tiers._coupons import Coupon, CouponScope, GiftPackRules, coupon_problems

__all__ = [
    "ClaimResult",
    "Claimed",
    "Gift",
    "GiftPack",
    "GiftPackErrorGroup",
    "IssuedCoupon",
    "MemberRecord",
    "RefusalReason",
    "Refused",
    "claim_gift_pack",
    "validate_gift_pack",
]


@attrs.frozen
class Gift:
    """A physical or virtual gift (礼品) in a gift pack or a benefit."""

    gift_id: str = attrs.field(validator=_v.instance_of(str))
    name: str = attrs.field(default="", validator=_v.instance_of(str))

    def __attrs_post_init__(self) -> None:
        if not self.gift_id.strip():
            raise InvalidValueError("gift_id", "must not be empty", self.gift_id)


def validate_gift_pack(
    coupons: Sequence[Coupon] | GiftPack,
    gifts: Sequence[Gift] = (),
    *,
    rules: GiftPackRules | None = None,
) -> list[InvalidValueError]:
    """Every limit a gift pack of ``coupons`` and ``gifts`` breaks, all at once.

    Args:
        coupons: the coupons of the pack, in order; or a whole :class:`GiftPack` (then
            ``gifts`` is taken from it), to check it under other ``rules``.
        gifts: the gifts of the pack.
        rules: the limits (default :class:`GiftPackRules` ()).

    Returns:
        One :class:`InvalidValueError` per violation, in a stable order (pack-level
        limits first, then each coupon in order, then each gift), each with its path in
        ``field``: ``coupons``, ``coupons[1].face_value``, ``coupons[2].scope``, ``gifts``.
        Empty when the pack is valid.

    Raises:
        InvalidTypeError: an element is not a :class:`Coupon` / :class:`Gift`; ``rules`` is
            not :class:`GiftPackRules`.
    """
    rules = GiftPackRules() if rules is None else _v.check_instance("rules", rules, GiftPackRules)
    if isinstance(coupons, GiftPack):
        pack = coupons
        coupons, gifts = pack.coupons, pack.gifts
    problems: list[InvalidValueError] = []
    if len(coupons) > rules.max_coupons:
        problems.append(
            InvalidValueError(
                "coupons", f"must hold at most {rules.max_coupons} coupons", len(coupons)
            )
        )
    if len(gifts) > rules.max_gifts:
        problems.append(
            InvalidValueError("gifts", f"must hold at most {rules.max_gifts} gifts", len(gifts))
        )
    seen: set[str] = set()
    for i, coupon in enumerate(coupons):
        _v.check_instance(f"coupons[{i}]", coupon, Coupon)
        if coupon.coupon_id in seen:
            problems.append(
                InvalidValueError(
                    f"coupons[{i}].coupon_id", "must not repeat in a pack", coupon.coupon_id
                )
            )
        seen.add(coupon.coupon_id)
        problems.extend(coupon_problems(coupon, rules, path=f"coupons[{i}]."))
        if rules.store_coupons_only and coupon.scope is not CouponScope.STORE:
            problems.append(
                InvalidValueError(
                    f"coupons[{i}].scope",
                    "must be CouponScope.STORE (店铺优惠券): a gift pack holds store coupons only",
                    coupon.scope,
                )
            )
    gift_ids: set[str] = set()
    for i, gift in enumerate(gifts):
        _v.check_instance(f"gifts[{i}]", gift, Gift)
        if gift.gift_id in gift_ids:
            problems.append(
                InvalidValueError(f"gifts[{i}].gift_id", "must not repeat in a pack", gift.gift_id)
            )
        gift_ids.add(gift.gift_id)
    return problems


def _coupon_tuple(value: Iterable[Coupon]) -> tuple[Coupon, ...]:
    return tuple(value)


def _gift_tuple(value: Iterable[Gift]) -> tuple[Gift, ...]:
    return tuple(value)


@attrs.frozen
class GiftPack:
    """A new-member gift pack (新会员礼包): at most 3 store coupons and at most 1 gift.

    Construction is strict: a pack that breaks any limit of ``rules`` raises one
    :class:`GiftPackErrorGroup` that lists every violation with its path. Re-check a pack under
    other limits with ``attrs.evolve(pack, rules=other)`` or :func:`validate_gift_pack`.

    Raises:
        GiftPackErrorGroup: one or more limits are broken.
    """

    coupons: tuple[Coupon, ...] = attrs.field(default=(), converter=_coupon_tuple)
    gifts: tuple[Gift, ...] = attrs.field(default=(), converter=_gift_tuple)
    rules: GiftPackRules = attrs.field(
        factory=GiftPackRules, kw_only=True, validator=_v.instance_of(GiftPackRules)
    )
    name: str = attrs.field(default="新会员礼包", kw_only=True)

    def __attrs_post_init__(self) -> None:
        problems = validate_gift_pack(self.coupons, self.gifts, rules=self.rules)
        if problems:
            raise GiftPackErrorGroup("invalid gift pack", problems)


@runtime_checkable
class MemberRecord(Protocol):
    """What :func:`claim_gift_pack` needs to know of a membership record.

    ``ecrm.tiers.Membership`` fits; so does any object with these attributes.
    """

    @property
    def joined_at(self) -> dt.datetime | None: ...


class RefusalReason(enum.Enum):
    """Why a gift pack claim was refused."""

    NOT_A_MEMBER = "not_a_member"
    """The customer has not joined (or joined after, or left before, the claim instant)."""
    ALREADY_CLAIMED = "already_claimed"
    """The customer claimed the pack before (once per customer)."""
    TOO_LATE = "too_late"
    """The claim window (24 hours after the first registration, half-open) has closed."""


def _aware(_inst: object, attribute: attrs.Attribute[dt.datetime], value: object) -> None:
    require_aware(value, attribute.name)


@attrs.frozen
class IssuedCoupon:
    """A coupon handed to a member, with its concrete half-open validity window."""

    coupon: Coupon = attrs.field(validator=_v.instance_of(Coupon))
    valid_from: dt.datetime = attrs.field(validator=_aware)
    valid_until: dt.datetime = attrs.field(validator=_aware)


@attrs.frozen
class Claimed:
    """A successful claim: what the member receives."""

    pack: GiftPack
    joined_at: dt.datetime
    claimed_at: dt.datetime
    coupons: tuple[IssuedCoupon, ...]
    gifts: tuple[Gift, ...]

    @property
    def ok(self) -> bool:
        """Always ``True`` (lets callers branch without ``isinstance``)."""
        return True


@attrs.frozen
class Refused:
    """A refused claim: the reason as an enum and a message an operator can show."""

    reason: RefusalReason
    message: str

    @property
    def ok(self) -> bool:
        """Always ``False``."""
        return False


ClaimResult = Claimed | Refused


def _first_joined_at(
    member: dt.datetime | MemberRecord | None, at: dt.datetime
) -> dt.datetime | None:
    """The customer's *first* registration, or ``None`` when not a member at ``at``.

    The source gives the pack within 24 hours of the first registration
    (新会员首次注册入会24小时内): a member who leaves and re-joins gets no new window.
    """
    if member is None:
        return None
    if isinstance(member, dt.datetime):
        return require_aware(member, "member")
    if not hasattr(member, "joined_at"):
        raise InvalidTypeError(
            "member must be a join datetime or a membership record with joined_at, "
            f"got {type(member).__name__}"
        )
    at_utc = at.astimezone(dt.UTC)
    periods = getattr(member, "periods", None)
    if callable(periods):
        # A record that knows every period (ecrm.tiers.Membership): a member at ``at`` if
        # some period holds it; the window counts from the first period's start.
        spans = [
            (require_aware(start, "member.periods"), end) for start, end in periods()
        ]
        for start, end in spans:
            ends_later = end is None or at_utc < end.astimezone(dt.UTC)
            if start.astimezone(dt.UTC) <= at_utc and ends_later:
                return min(spans, key=lambda span: span[0].astimezone(dt.UTC))[0]
        return None
    joined = member.joined_at
    if joined is None:
        return None
    joined = require_aware(joined, "member.joined_at")
    left = getattr(member, "left_at", None)
    if left is not None and require_aware(left, "member.left_at").astimezone(dt.UTC) <= at_utc:
        return None
    if joined.astimezone(dt.UTC) > at_utc:
        return None
    first = getattr(member, "first_joined_at", None)
    return joined if first is None else require_aware(first, "member.first_joined_at")


@renamed_kwarg("at", "as_of")
def claim_gift_pack(
    pack: GiftPack,
    *,
    member: dt.datetime | MemberRecord | None,
    as_of: dt.datetime,
    already_claimed: bool = False,
) -> ClaimResult:
    """Claim ``pack`` at ``as_of`` for a member who joined at ``member``.

    The window counts from the customer's *first* registration (新会员首次注册入会24小时内):
    a member who leaves and re-joins gets no new window. It is half-open:
    ``first_joined <= as_of < first_joined + rules.claim_period``, so with the default 24 hours
    a claim 23:59:59 after first joining succeeds and one exactly 24:00:00 after is
    :attr:`RefusalReason.TOO_LATE`. Reasons are checked in the order
    NOT_A_MEMBER, ALREADY_CLAIMED, TOO_LATE (the first that applies is reported).

    Args:
        pack: the gift pack.
        member: the first registration instant (aware); a membership record with
            ``periods()`` (``ecrm.tiers.Membership``: a member at ``as_of`` if a period holds
            it, the window from the first period); a record with ``joined_at`` (optionally
            ``left_at``: a member who has left is not a member, and ``first_joined_at``:
            the first registration, default ``joined_at``); or ``None``.
        as_of: the claim instant (aware); ``at=`` is its deprecated alias.
        already_claimed: whether this customer has ever claimed the pack (the pack is
            claimed once per customer, not once per membership period).

    Returns:
        :class:`Claimed` with the issued coupons' concrete windows, or :class:`Refused`.

    Raises:
        InvalidTypeError: ``as_of`` or ``member`` has the wrong type.
        InvalidValueError: a naive datetime.
    """
    if not isinstance(pack, GiftPack):
        raise InvalidTypeError(f"pack must be a GiftPack, got {type(pack).__name__}")
    require_aware(as_of, "as_of")
    if not isinstance(already_claimed, bool):
        raise InvalidTypeError(
            f"already_claimed must be a bool, got {type(already_claimed).__name__}"
        )
    joined = _first_joined_at(member, as_of)
    if joined is None or as_of.astimezone(dt.UTC) < joined.astimezone(dt.UTC):
        return Refused(
            RefusalReason.NOT_A_MEMBER,
            "only members can claim the new-member gift pack; join (领卡) first",
        )
    if already_claimed:
        return Refused(
            RefusalReason.ALREADY_CLAIMED, "the new-member gift pack has already been claimed"
        )
    # Elapsed time, not wall-clock: a DST shift inside the window does not stretch it.
    deadline = (joined.astimezone(dt.UTC) + pack.rules.claim_period).astimezone(joined.tzinfo)
    if as_of.astimezone(dt.UTC) >= deadline.astimezone(dt.UTC):
        return Refused(
            RefusalReason.TOO_LATE,
            f"the gift pack can be claimed within {_hours(pack.rules.claim_period)} of the "
            f"first registration (first joined {joined.isoformat()}, window closed "
            f"{deadline.isoformat()})",
        )
    issued = tuple(IssuedCoupon(c, *c.window(as_of)) for c in pack.coupons)
    return Claimed(pack, joined, as_of, issued, pack.gifts)


def _hours(window: dt.timedelta) -> str:
    seconds = int(window.total_seconds())
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hours"
    return str(window)
