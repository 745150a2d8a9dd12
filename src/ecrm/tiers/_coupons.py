"""Coupons (优惠券), the store's coupon catalogue and the limits they obey.

A :class:`Coupon` is a frozen value: a face value, an optional threshold (满X减Y; no
threshold is 无门槛), a validity window and a scope (store or platform coupon). The
limits a shop works under (face value at most ¥100, at most 50 denominations at once, …)
live in one :class:`GiftPackRules` value, so a shop with other limits passes its own.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable, Iterator
from typing import Final, Literal

import attrs

from ecrm import _validators as _v
from ecrm._deprecate import renamed_attribute, renamed_kwarg
from ecrm._money import Money
from ecrm._time import require_aware
from ecrm.errors import CouponCatalogErrorGroup, InvalidTypeError, InvalidValueError, _short_repr

__all__ = [
    "Coupon",
    "CouponCatalog",
    "CouponCatalogErrorGroup",
    "CouponScope",
    "GiftPackRules",
    "coupon_problems",
]

Lang = Literal["zh", "en"]


class CouponScope(enum.Enum):
    """Who issues a coupon and where it can be used."""

    STORE = "store"
    """店铺优惠券: issued by the shop, usable in the shop."""
    PLATFORM = "platform"
    """平台优惠券: issued by the platform (Taobao/Tmall), usable across shops."""

    @property
    def label_zh(self) -> str:
        """The Chinese operator term (``店铺优惠券`` / ``平台优惠券``)."""
        return _SCOPE_ZH[self]


_SCOPE_ZH: Final = {CouponScope.STORE: "店铺优惠券", CouponScope.PLATFORM: "平台优惠券"}


def _positive_int(field: str) -> Callable[[object, attrs.Attribute[int], int], None]:
    def check(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidTypeError(f"{field} must be an int, got {type(value).__name__} {_short_repr(value)}")
        if value < 0:
            raise InvalidValueError(field, "must be >= 0", value)

    return check


@attrs.frozen
class GiftPackRules:
    """Every limit on coupons, the coupon catalogue and the new-member gift pack.

    The defaults are the Taobao store rules (DESIGN.md 3.3).

    Attributes:
        max_coupons: coupons a gift pack may hold (default 3).
        max_gifts: gifts a gift pack may hold (default 1).
        store_coupons_only: a gift pack may only hold store coupons (店铺优惠券).
        max_face_value: the largest face value of one coupon (default ¥100).
        claim_period: how long after joining a new member may claim the pack (24 hours;
            half-open: claiming at exactly ``joined_at + claim_period`` is too late).
            ``claim_window`` is its deprecated alias (keyword and attribute).
        max_denominations: coupon denominations (种类) a store may have at once (50).

    .. versionchanged:: 0.1.0
       ``claim_window`` renamed ``claim_period`` (a duration, not a range); the old
       name still works, with a :class:`DeprecationWarning`, for one release.
    """

    max_coupons: int = attrs.field(default=3, validator=_positive_int("max_coupons"))
    max_gifts: int = attrs.field(default=1, validator=_positive_int("max_gifts"))
    store_coupons_only: bool = attrs.field(
        default=True, validator=_v.instance_of(bool)
    )
    max_face_value: Money = attrs.field(
        default=Money(10_000), validator=_v.instance_of(Money)
    )
    claim_period: dt.timedelta = attrs.field(
        default=dt.timedelta(hours=24), validator=_v.instance_of(dt.timedelta)
    )
    max_denominations: int = attrs.field(
        default=50, validator=_positive_int("max_denominations")
    )

    @max_face_value.validator
    def _check_face(self, attribute: attrs.Attribute[Money], value: Money) -> None:
        if value.fen <= 0:
            raise InvalidValueError("max_face_value", "must be > 0", value)

    claim_window = renamed_attribute("claim_window", "claim_period")

    @claim_period.validator
    def _check_period(self, attribute: attrs.Attribute[dt.timedelta], value: dt.timedelta) -> None:
        if value <= dt.timedelta(0):
            raise InvalidValueError("claim_period", "must be a positive duration", value)


# The attrs-made __init__ takes the old keyword for one release.
setattr(GiftPackRules, "__init__",  # noqa: B010
        renamed_kwarg("claim_window", "claim_period")(GiftPackRules.__init__))


def _yuan(money: Money) -> str:
    """``Money(2000)`` → ``"20"``, ``Money(2050)`` → ``"20.5"`` (as operators write it)."""
    text = format(money.to_decimal(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _optional_aware(
    field: str,
) -> Callable[[object, attrs.Attribute[dt.datetime | None], dt.datetime | None], None]:
    def check(
        instance: object, attribute: attrs.Attribute[dt.datetime | None], value: object
    ) -> None:
        if value is not None:
            require_aware(value, field)

    return check


@attrs.frozen
class Coupon:
    """One coupon denomination (优惠券种类): face value, threshold, validity and scope.

    The validity is either a fixed half-open window ``valid_from <= t < valid_until``
    (both aware) or ``valid_days`` after claiming (``claimed_at <= t < claimed_at +
    valid_days × 24 h``); exactly one of the two must be given.

    >>> from ecrm import Money
    >>> Coupon("C20", face_value=Money(2000), threshold=Money(20000), valid_days=7).describe()
    '满200减20'
    >>> Coupon("C5", face_value=Money(500), valid_days=7).describe("en")
    '¥5 off, no minimum spend'

    The rules every coupon obeys are checked here (face value > 0, face value < threshold,
    a non-empty window); the shop's limits (face value ≤ ¥100) depend on
    :class:`GiftPackRules` and are checked by :class:`CouponCatalog` and gift packs.

    Raises:
        InvalidValueError: a rule above is broken (the message names field, rule, value).
        InvalidTypeError: a field has the wrong type (a naive or non-datetime window).
    """

    coupon_id: str = attrs.field(validator=_v.instance_of(str))
    face_value: Money = attrs.field(kw_only=True, validator=_v.instance_of(Money))
    threshold: Money | None = attrs.field(
        default=None,
        kw_only=True,
        validator=attrs.validators.optional(_v.instance_of(Money)),
    )
    valid_from: dt.datetime | None = attrs.field(
        default=None, kw_only=True, validator=_optional_aware("valid_from")
    )
    valid_until: dt.datetime | None = attrs.field(
        default=None, kw_only=True, validator=_optional_aware("valid_until")
    )
    valid_days: int | None = attrs.field(default=None, kw_only=True)
    scope: CouponScope = attrs.field(
        default=CouponScope.STORE,
        kw_only=True,
        validator=_v.instance_of(CouponScope),
    )
    name: str = attrs.field(default="", kw_only=True, validator=_v.instance_of(str))

    def __attrs_post_init__(self) -> None:
        if not self.coupon_id.strip():
            raise InvalidValueError("coupon_id", "must not be empty", self.coupon_id)
        if self.face_value.fen <= 0:
            raise InvalidValueError("face_value", "must be > 0", self.face_value)
        if self.threshold is not None:
            if self.threshold.currency != self.face_value.currency:
                raise InvalidValueError(
                    "threshold",
                    f"must be in the face value's currency {self.face_value.currency}",
                    self.threshold,
                )
            if not self.face_value < self.threshold:
                raise InvalidValueError(
                    "face_value",
                    f"must be less than the threshold {self.threshold} (满X减Y needs Y < X)",
                    self.face_value,
                )
        fixed = (self.valid_from, self.valid_until)
        if self.valid_days is not None:
            days = self.valid_days
            if isinstance(days, bool) or not isinstance(days, int):
                raise InvalidTypeError(
                    f"valid_days must be an int, got {type(days).__name__} {_short_repr(days)}"
                )
            if days <= 0:
                raise InvalidValueError("valid_days", "must be > 0", days)
            if fixed != (None, None):
                raise InvalidValueError(
                    "valid_days",
                    "cannot be combined with valid_from/valid_until (choose one validity)",
                    days,
                )
        else:
            if self.valid_from is None or self.valid_until is None:
                raise InvalidValueError(
                    "valid_until",
                    "and valid_from are both needed when valid_days is not given",
                    fixed,
                )
            if not self.valid_from.astimezone(dt.UTC) < self.valid_until.astimezone(dt.UTC):
                raise InvalidValueError(
                    "valid_until",
                    f"must be after valid_from {self.valid_from.isoformat()} (empty window)",
                    self.valid_until,
                )

    @property
    def has_threshold(self) -> bool:
        """Whether the coupon needs a minimum spend (满X减Y) rather than 无门槛."""
        return self.threshold is not None

    def window(self, claimed_at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """The half-open validity window ``[start, end)`` of a coupon claimed at ``claimed_at``.

        A fixed window is returned as is; ``valid_days`` counts from the claim instant.
        """
        require_aware(claimed_at, "claimed_at")
        if self.valid_days is not None:
            start = claimed_at
            end = (claimed_at.astimezone(dt.UTC) + dt.timedelta(days=self.valid_days)).astimezone(
                claimed_at.tzinfo
            )
            return start, end
        assert self.valid_from is not None
        assert self.valid_until is not None
        return self.valid_from, self.valid_until

    def applies_to(self, order_total: Money) -> bool:
        """Whether an order of ``order_total`` reaches the threshold (always for 无门槛)."""
        return self.threshold is None or order_total >= self.threshold

    def describe(self, lang: Lang = "zh") -> str:
        """The short operator label: ``满200减20`` / ``20元无门槛`` (or English)."""
        if lang == "zh":
            if self.threshold is None:
                return f"{_yuan(self.face_value)}元无门槛"
            return f"满{_yuan(self.threshold)}减{_yuan(self.face_value)}"
        if lang == "en":
            face = f"{str(self.face_value)[:1]}{_yuan(self.face_value)}"
            if self.threshold is None:
                return f"{face} off, no minimum spend"
            threshold = f"{str(self.threshold)[:1]}{_yuan(self.threshold)}"
            return f"{face} off orders of {threshold} or more"
        raise InvalidValueError("lang", "must be 'zh' or 'en'", lang)


def coupon_problems(
    coupon: Coupon, rules: GiftPackRules | None = None, *, path: str = ""
) -> list[InvalidValueError]:
    """The shop limits ``coupon`` breaks under ``rules`` (empty when it is within them).

    Args:
        coupon: the coupon to check.
        rules: the limits (default :class:`GiftPackRules` ()).
        path: prefix of each problem's field (``"coupons[1]."``).

    Returns:
        One :class:`InvalidValueError` per broken limit, each with ``field`` set to
        ``path + "face_value"`` and so on.

    Raises:
        InvalidTypeError: ``coupon`` is not a Coupon; ``rules`` is not GiftPackRules.
    """
    _v.check_instance(f"{path}coupon" if path else "coupon", coupon, Coupon)
    rules = GiftPackRules() if rules is None else _v.check_instance("rules", rules, GiftPackRules)
    problems: list[InvalidValueError] = []
    limit = rules.max_face_value
    if coupon.face_value.currency != limit.currency:
        problems.append(
            InvalidValueError(
                f"{path}face_value", f"must be in {limit.currency}", coupon.face_value
            )
        )
    elif coupon.face_value > limit:
        problems.append(
            InvalidValueError(f"{path}face_value", f"must be at most {limit}", coupon.face_value)
        )
    return problems


def _coupon_tuple(value: Iterable[Coupon]) -> tuple[Coupon, ...]:
    return tuple(value)


@attrs.frozen
class CouponCatalog:
    """The coupon denominations (种类) a store has at once; a frozen value.

    :meth:`add` and :meth:`remove` return new catalogues. At most
    ``rules.max_denominations`` (50) coupons at once: to add one more the store must delete
    an old one first, and the error lists the existing ones so the operator can choose.

    >>> from ecrm import Money
    >>> cat = CouponCatalog().add(Coupon("C20", face_value=Money(2000), valid_days=7))
    >>> [c.coupon_id for c in cat]
    ['C20']
    """

    coupons: tuple[Coupon, ...] = attrs.field(default=(), converter=_coupon_tuple)
    rules: GiftPackRules = attrs.field(
        factory=GiftPackRules, kw_only=True, validator=_v.instance_of(GiftPackRules)
    )

    def __attrs_post_init__(self) -> None:
        problems: list[InvalidValueError] = []
        seen: set[str] = set()
        for i, coupon in enumerate(self.coupons):
            if not isinstance(coupon, Coupon):
                raise InvalidTypeError(
                    f"coupons[{i}] must be a Coupon, got {type(coupon).__name__} {_short_repr(coupon)}"
                )
            if coupon.coupon_id in seen:
                problems.append(
                    InvalidValueError(
                        f"coupons[{i}].coupon_id", "must be unique in the catalogue",
                        coupon.coupon_id,
                    )
                )
            seen.add(coupon.coupon_id)
            problems.extend(coupon_problems(coupon, self.rules, path=f"coupons[{i}]."))
        limit = self.rules.max_denominations
        if len(self.coupons) > limit:
            problems.append(
                InvalidValueError(
                    "coupons",
                    f"must hold at most {limit} denominations; delete one before adding another",
                    len(self.coupons),
                )
            )
        if problems:
            raise CouponCatalogErrorGroup("invalid coupon catalogue", problems)

    def __len__(self) -> int:
        return len(self.coupons)

    def __iter__(self) -> Iterator[Coupon]:
        return iter(self.coupons)

    def __contains__(self, coupon_id: object) -> bool:
        return any(c.coupon_id == coupon_id for c in self.coupons)

    def get(self, coupon_id: str) -> Coupon:
        """The coupon with ``coupon_id``.

        Raises:
            InvalidValueError: no such coupon (also a ``ValueError``).
            InvalidTypeError: ``coupon_id`` is not a str.
        """
        _v.check_instance("coupon_id", coupon_id, str)
        for coupon in self.coupons:
            if coupon.coupon_id == coupon_id:
                return coupon
        raise InvalidValueError("coupon_id", "is not in the catalogue", coupon_id)

    def add(self, coupon: Coupon) -> CouponCatalog:
        """A new catalogue with ``coupon`` added at the end.

        Raises:
            CouponCatalogErrorGroup: the id is already there, the coupon breaks a limit, or the
                catalogue is full (the message lists the existing denominations).
        """
        if not isinstance(coupon, Coupon):
            raise InvalidTypeError(f"coupon must be a Coupon, got {type(coupon).__name__}")
        path = f"coupons[{len(self.coupons)}]."
        problems = coupon_problems(coupon, self.rules, path=path)
        if coupon.coupon_id in self:
            problems.append(
                InvalidValueError(
                    f"{path}coupon_id", "is already in the catalogue", coupon.coupon_id
                )
            )
        limit = self.rules.max_denominations
        if len(self.coupons) >= limit:
            existing = ", ".join(f"{c.coupon_id} ({c.describe()})" for c in self.coupons)
            problems.append(
                InvalidValueError(
                    "coupons",
                    f"already holds the maximum of {limit} denominations; delete one of "
                    f"them before adding {coupon.coupon_id!r}. Existing: {existing}",
                    len(self.coupons),
                    show_value=False,
                )
            )
        if problems:
            raise CouponCatalogErrorGroup(f"cannot add coupon {coupon.coupon_id!r}", problems)
        return attrs.evolve(self, coupons=(*self.coupons, coupon))

    def remove(self, coupon_id: str) -> CouponCatalog:
        """A new catalogue without the coupon ``coupon_id``.

        Raises:
            InvalidValueError: no such coupon.
        """
        if coupon_id not in self:
            raise InvalidValueError("coupon_id", "is not in the catalogue", coupon_id)
        return attrs.evolve(
            self, coupons=tuple(c for c in self.coupons if c.coupon_id != coupon_id)
        )
