"""Member prices (设置商品参与会员打折): which items take the level discount, and the price.

The shop chooses the items that take part in the member discount (seed 001: 设置商品参与会员打折);
the other items sell at list price to everyone. A member's price of a taking-part item is the
list price times their level's discount, never below the platform's floor of 7折 (70% of the
list price, DESIGN.md 3.2 and 3.12). Prices are whole fen, rounded half up per unit; a line is
the unit member price times the quantity.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from ecrm import _validators as _v
from ecrm._money import Money
from ecrm._order import OrderItem
from ecrm.errors import CurrencyMismatchError, InvalidTypeError, InvalidValueError
from ecrm.tiers._ladder import MAX_DISCOUNT_PERMILLE, MIN_DISCOUNT_PERMILLE, TierLadder

__all__ = ["MemberPrice", "MemberPricing"]


def _sku_set(value: Iterable[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidTypeError(f"skus must be a collection of SKU strings, got {value!r}")
    out = frozenset(value)
    for sku in out:
        if not isinstance(sku, str) or not sku.strip():
            raise InvalidValueError("skus", "must hold non-empty SKU strings", sku)
    return out


def _excluded_set(value: Iterable[str]) -> frozenset[str]:
    out = _sku_set(value)
    return frozenset() if out is None else out


def _check_floor(instance: Any, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidTypeError(f"floor_permille must be an int, got {value!r}")
    if not MIN_DISCOUNT_PERMILLE <= value <= MAX_DISCOUNT_PERMILLE:
        raise InvalidValueError(
            "floor_permille",
            f"must be between {MIN_DISCOUNT_PERMILLE} (the platform's 7折) and "
            f"{MAX_DISCOUNT_PERMILLE}",
            value,
        )


@attrs.frozen
class MemberPrice:
    """The member price of a basket.

    Attributes:
        level: the member level priced (0 = store customer: list price).
        permille: the discount applied to taking-part items (1000 = none).
        list_total: the basket at list price.
        member_total: the basket at member prices.
        discounted_lines: how many lines took the discount.
    """

    level: int
    permille: int
    list_total: Money
    member_total: Money
    discounted_lines: int

    @property
    def saving(self) -> Money:
        """``list_total - member_total``."""
        return Money(self.list_total.fen - self.member_total.fen, self.list_total.currency)


@attrs.frozen
class MemberPricing:
    """Which items take the member discount, and the member price of an item or a basket.

    Attributes:
        ladder: the ladder whose levels carry the discounts.
        skus: the SKUs that take part (设置商品参与会员打折); ``None`` (default) = every item.
        excluded: SKUs that never take part (wins over ``skus``).
        floor_permille: the lowest price as per mille of the list price; the platform's
            floor is 700 (7折), a shop may set a higher one (700..1000).

    Raises:
        InvalidTypeError / InvalidValueError: a bad argument, named.
    """

    ladder: TierLadder = attrs.field(validator=_v.instance_of(TierLadder))
    skus: frozenset[str] | None = attrs.field(default=None, converter=_sku_set)
    excluded: frozenset[str] = attrs.field(default=frozenset(), converter=_excluded_set)
    floor_permille: int = attrs.field(default=MIN_DISCOUNT_PERMILLE, validator=_check_floor)

    def takes_part(self, sku: str) -> bool:
        """Whether ``sku`` takes the member discount."""
        if sku in self.excluded:
            return False
        return self.skus is None or sku in self.skus

    def permille(self, level: int) -> int:
        """The discount of ``level`` after the floor (1000 at level 0).

        Raises:
            InvalidValueError: no such level.
        """
        if level == 0:
            return MAX_DISCOUNT_PERMILLE
        return max(self.ladder.tier(level).discount_permille, self.floor_permille)

    def unit_price(self, list_price: Money, sku: str, level: int) -> Money:
        """The member price of one unit of ``sku`` (list price when it does not take part).

        Rounded half up to the fen: ``list × permille / 1000``. With ``floor_permille`` at
        least 700 the price is never below 7折 of the list price (up to that rounding).

        Raises:
            InvalidTypeError: ``list_price`` is not Money.
            InvalidValueError: a negative price or no such level.
            CurrencyMismatchError: another currency than the ladder's.
        """
        if not isinstance(list_price, Money):
            raise InvalidTypeError(f"list_price must be Money, got {type(list_price).__name__}")
        if list_price.currency != self.ladder.currency:
            raise CurrencyMismatchError(
                "list_price", f"must be in the ladder's currency {self.ladder.currency}",
                list_price.currency,
            )
        if list_price.fen < 0:
            raise InvalidValueError("list_price", "must be >= 0", str(list_price))
        permille = self.permille(level)
        if not self.takes_part(sku) or permille >= MAX_DISCOUNT_PERMILLE:
            return list_price
        return Money((list_price.fen * permille + 500) // 1000, list_price.currency)

    def price(self, items: Iterable[OrderItem], level: int) -> MemberPrice:
        """The member price of a basket of order lines (``unit_price`` is the list price).

        Raises:
            InvalidTypeError: an element is not an :class:`~ecrm.OrderItem`.
            InvalidValueError / CurrencyMismatchError: as :meth:`unit_price`.
        """
        list_fen = member_fen = lines = 0
        for i, item in enumerate(items):
            if not isinstance(item, OrderItem):
                raise InvalidTypeError(f"items[{i}] must be an OrderItem, got {item!r}")
            unit = self.unit_price(item.unit_price, item.sku, level)
            list_fen += item.unit_price.fen * item.quantity
            member_fen += unit.fen * item.quantity
            if self.takes_part(item.sku) and self.permille(level) < MAX_DISCOUNT_PERMILLE:
                lines += 1
        currency = self.ladder.currency
        return MemberPrice(level, self.permille(level), Money(list_fen, currency),
                           Money(member_fen, currency), int(lines))
