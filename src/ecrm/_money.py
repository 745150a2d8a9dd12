"""Money as integer minor units (fen) plus a currency code. Never a float."""

from __future__ import annotations

import decimal
import numbers
import operator
from collections.abc import Iterable
from typing import Final, SupportsIndex

import attrs

from ecrm.errors import CurrencyMismatchError, InvalidTypeError, InvalidValueError

__all__ = ["DEFAULT_CURRENCY", "Money", "check_fen"]

DEFAULT_CURRENCY: Final = "CNY"

_SYMBOLS: Final = {"CNY": "¥", "USD": "$", "EUR": "€", "JPY": "¥", "GBP": "£", "HKD": "HK$"}
# ISO 4217 minor units for the currencies we format specially; everything else has 2.
_MINOR_DIGITS: Final = {"JPY": 0, "KRW": 0}

# Kernels hold fen in int64 arrays, so an amount must fit one; the range is symmetric so
# that negating an amount stays inside it.
FEN_MIN: Final = -(2**63) + 1
FEN_MAX: Final = 2**63 - 1

# Far beyond any amount (FEN_MAX is about 9.2E+16 yuan), far below costly decimal work.
_MAX_EXPONENT: Final = 30

_FLOAT_MESSAGE: Final = (
    "money must not be a float ({value!r}): floats cannot hold fen exactly; "
    "pass integer fen (1250) or use Money.from_decimal('12.50')"
)


def check_fen(value: object, field: str = "amount_fen") -> int:
    """Return ``value`` as an ``int`` of minor units, rejecting floats, bools and strings.

    Raises:
        InvalidTypeError: ``value`` is a float, a bool or not an integer.
    """
    if isinstance(value, bool):
        raise InvalidTypeError(f"{field} must be an integer number of fen, got bool {value!r}")
    if isinstance(value, float) or (
        isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral)
    ):
        raise InvalidTypeError(f"{field}: " + _FLOAT_MESSAGE.format(value=value))
    if isinstance(value, numbers.Integral | SupportsIndex):
        try:
            return operator.index(value)
        except TypeError:
            pass
    raise InvalidTypeError(
        f"{field} must be an integer number of fen, got {type(value).__name__} {value!r}"
    )


def _check_currency(instance: Money, attribute: attrs.Attribute[str], value: str) -> None:
    if not (isinstance(value, str) and len(value) == 3 and value.isascii() and value.isupper()):
        raise InvalidValueError(
            "currency", "must be a three-letter upper-case ISO 4217 code", value
        )


def _to_fen(value: object) -> int:
    fen = check_fen(value, "fen")
    if not FEN_MIN <= fen <= FEN_MAX:
        raise InvalidValueError(
            "fen", f"must fit a signed 64-bit integer ({FEN_MIN:,} to {FEN_MAX:,})", fen
        )
    return fen


@attrs.frozen(order=False, repr=False)
class Money:
    """An amount of money in integer minor units (fen for CNY) and a currency code.

    >>> Money.from_decimal("12.50")
    Money('12.50', 'CNY')
    >>> Money(1250) + Money(50)
    Money('13.00', 'CNY')
    >>> str(Money(123450))
    '¥1,234.50'
    >>> Money(1.5)
    Traceback (most recent call last):
    ...
    ecrm.errors.InvalidTypeError: fen: money must not be a float (1.5): ...

    Arithmetic with another ``Money`` requires the same currency; multiplication and
    floor division take integers only. Comparison across currencies raises.
    """

    fen: int = attrs.field(converter=_to_fen)
    currency: str = attrs.field(default=DEFAULT_CURRENCY, validator=_check_currency)

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def from_decimal(cls, value: str | decimal.Decimal | int, currency: str = DEFAULT_CURRENCY) -> Money:
        """Build from a decimal amount in major units (yuan): ``"12.50"`` → 1250 fen.

        Raises:
            InvalidTypeError: ``value`` is a float.
            InvalidValueError: ``value`` is not a finite number, has more decimals than the
                currency's minor unit (``"1.005"`` yuan), or an absurd exponent
                (``"1E+400000"``), or does not fit 64-bit fen.
        """
        if isinstance(value, float):
            raise InvalidTypeError("amount: " + _FLOAT_MESSAGE.format(value=value))
        if isinstance(value, bool):
            raise InvalidTypeError(f"amount must be a decimal string or Decimal, got bool {value!r}")
        try:
            dec = decimal.Decimal(value.strip() if isinstance(value, str) else value)
        except (decimal.InvalidOperation, TypeError, ValueError, AttributeError):  # ValueError: a bad tuple
            raise InvalidValueError("amount", "must be a decimal number such as '12.50'", value) from None
        if not dec.is_finite():
            raise InvalidValueError("amount", "must be a finite decimal number", value)
        # Refuse absurd exponents before scaling: "1E+400000" would build a 400,000-digit int.
        if dec and not -_MAX_EXPONENT <= dec.adjusted() <= _MAX_EXPONENT:
            raise InvalidValueError(
                "amount",
                f"must be under 1E+{_MAX_EXPONENT} with no digit below 1E-{_MAX_EXPONENT}",
                value,
            )
        digits = _MINOR_DIGITS.get(currency, 2)
        scaled = dec.scaleb(digits)
        if scaled != scaled.to_integral_value():
            raise InvalidValueError(
                "amount", f"must have at most {digits} decimal places for {currency}", value
            )
        return cls(int(scaled), currency)

    @classmethod
    def zero(cls, currency: str = DEFAULT_CURRENCY) -> Money:
        """The zero amount in ``currency``."""
        return cls(0, currency)

    # -- views ---------------------------------------------------------------------------
    def to_decimal(self) -> decimal.Decimal:
        """The amount in major units as an exact ``Decimal`` (``Decimal('12.50')``)."""
        digits = _MINOR_DIGITS.get(self.currency, 2)
        return decimal.Decimal(self.fen).scaleb(-digits)

    def __repr__(self) -> str:
        return f"Money({str(self.to_decimal())!r}, {self.currency!r})"

    def __str__(self) -> str:
        symbol = _SYMBOLS.get(self.currency)
        digits = _MINOR_DIGITS.get(self.currency, 2)
        sign = "-" if self.fen < 0 else ""
        body = f"{abs(self.to_decimal()):,.{digits}f}"
        return f"{sign}{symbol}{body}" if symbol else f"{sign}{body} {self.currency}"

    # -- arithmetic ----------------------------------------------------------------------
    def _same(self, other: Money, op: str) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatchError(
                "currency",
                f"must match to {op} amounts ({self.currency} vs {other.currency})",
                other.currency,
            )

    def _coerce(self, other: object, op: str) -> Money | None:
        if isinstance(other, Money):
            self._same(other, op)
            return other
        if isinstance(other, float):
            raise InvalidTypeError(f"cannot {op} Money and float: " + _FLOAT_MESSAGE.format(value=other))
        return None

    def __add__(self, other: object) -> Money:
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self  # lets the built-in sum() start from 0
        o = self._coerce(other, "add")
        if o is None:
            return NotImplemented
        return Money(self.fen + o.fen, self.currency)

    __radd__ = __add__

    def __sub__(self, other: object) -> Money:
        o = self._coerce(other, "subtract")
        if o is None:
            return NotImplemented
        return Money(self.fen - o.fen, self.currency)

    def __mul__(self, factor: object) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            if isinstance(factor, float):
                raise InvalidTypeError(
                    f"cannot multiply Money by float {factor!r}: the result would not be exact fen; "
                    "use Money.allocate or an integer factor"
                )
            return NotImplemented
        return Money(self.fen * factor, self.currency)

    __rmul__ = __mul__

    def __floordiv__(self, divisor: object) -> Money:
        if isinstance(divisor, bool) or not isinstance(divisor, int):
            return NotImplemented
        return Money(self.fen // divisor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.fen, self.currency)

    def __abs__(self) -> Money:
        return Money(abs(self.fen), self.currency)

    def __bool__(self) -> bool:
        return self.fen != 0

    def allocate(self, ratios: Iterable[int]) -> list[Money]:
        """Split into parts proportional to integer ``ratios`` without losing a fen.

        The remainder fen go to the first parts. ``Money(100).allocate([1, 1, 1])`` gives
        34, 33 and 33 fen.
        """
        rs = [check_fen(r, "ratio") for r in ratios]
        if not rs or any(r < 0 for r in rs) or sum(rs) == 0:
            raise InvalidValueError("ratios", "must be non-negative with a positive sum", rs)
        total = sum(rs)
        parts = [self.fen * r // total for r in rs]
        remainder = self.fen - sum(parts)
        for i in range(remainder):
            parts[i % len(parts)] += 1
        return [Money(p, self.currency) for p in parts]

    # -- comparison ----------------------------------------------------------------------
    def _cmp_other(self, other: object) -> Money | None:
        if isinstance(other, Money):
            self._same(other, "compare")
            return other
        return None

    def __lt__(self, other: object) -> bool:
        o = self._cmp_other(other)
        return NotImplemented if o is None else self.fen < o.fen

    def __le__(self, other: object) -> bool:
        o = self._cmp_other(other)
        return NotImplemented if o is None else self.fen <= o.fen

    def __gt__(self, other: object) -> bool:
        o = self._cmp_other(other)
        return NotImplemented if o is None else self.fen > o.fen

    def __ge__(self, other: object) -> bool:
        o = self._cmp_other(other)
        return NotImplemented if o is None else self.fen >= o.fen

