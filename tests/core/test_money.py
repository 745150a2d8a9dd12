"""Money: exact integer fen, no floats, no currency mixing."""

import decimal
import fractions

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecrm import CurrencyMismatchError, EcrmError, InvalidTypeError, InvalidValueError, Money
from ecrm.testing import moneys


def test_from_decimal_parses_yuan_exactly() -> None:
    assert Money.from_decimal("12.50").fen == 1250
    assert Money.from_decimal("0.1").fen + Money.from_decimal("0.2").fen == 30
    assert Money.from_decimal(decimal.Decimal("1234.56")).fen == 123456
    assert Money.from_decimal(" 7 ").fen == 700
    assert Money.from_decimal("-3.01").fen == -301


@pytest.mark.parametrize("text", ["12.345", "abc", "", "NaN", "Infinity"])
def test_from_decimal_rejects_text_that_is_not_exact_fen(text: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        Money.from_decimal(text)
    assert "amount" in str(info.value)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize("bad", [1.5, 0.0, float("nan")])
def test_floats_are_refused_with_a_reason(bad: float) -> None:
    with pytest.raises(TypeError, match="float") as info:
        Money(bad)  # type: ignore[arg-type]
    assert isinstance(info.value, EcrmError)
    with pytest.raises(InvalidTypeError, match="cannot hold fen exactly"):
        Money.from_decimal(bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        Money(100) + bad
    with pytest.raises(InvalidTypeError):
        Money(100) * bad


def test_bools_and_strings_are_not_fen() -> None:
    with pytest.raises(InvalidTypeError):
        Money(True)
    with pytest.raises(InvalidTypeError):
        Money("100")  # type: ignore[arg-type]


def test_mixing_currencies_raises_and_names_both() -> None:
    with pytest.raises(CurrencyMismatchError, match="CNY vs USD"):
        Money(100) + Money(100, "USD")
    with pytest.raises(CurrencyMismatchError):
        Money(100) < Money(100, "USD")  # noqa: B015
    assert Money(100) != Money(100, "USD")


def test_currency_code_is_validated() -> None:
    with pytest.raises(InvalidValueError, match="ISO 4217"):
        Money(1, "yuan")


def test_display() -> None:
    assert str(Money(123450)) == "¥1,234.50"
    assert str(Money(-5)) == "-¥0.05"
    assert str(Money(1000, "USD")) == "$10.00"
    assert str(Money(1000, "CHF")) == "10.00 CHF"
    assert repr(Money(1250)) == "Money('12.50', 'CNY')"


def test_arithmetic_and_sum() -> None:
    assert sum([Money(1), Money(2), Money(3)]) == Money(6)
    assert Money(5) - Money(7) == Money(-2)
    assert Money(5) * 3 == 3 * Money(5) == Money(15)
    assert Money(10) // 3 == Money(3)
    assert -Money(4) == Money(-4)
    assert abs(Money(-4)) == Money(4)
    assert not Money(0)
    assert Money(3) > Money(2) >= Money(2)
    assert sorted([Money(3), Money(1), Money(2)]) == [Money(1), Money(2), Money(3)]


def test_allocate_keeps_every_fen() -> None:
    assert [m.fen for m in Money(100).allocate([1, 1, 1])] == [34, 33, 33]
    with pytest.raises(InvalidValueError):
        Money(100).allocate([0, 0])


@given(moneys(min_value=-10**12, max_value=10**12), moneys(min_value=-10**12, max_value=10**12))
def test_arithmetic_is_exact_integer_arithmetic(a: Money, b: Money) -> None:
    assert (a + b).fen == a.fen + b.fen
    assert (a - b).fen == a.fen - b.fen
    assert type((a + b).fen) is int
    assert (a < b) == (a.fen < b.fen)


@given(moneys(min_value=-10**12, max_value=10**12))
def test_decimal_round_trip(m: Money) -> None:
    assert Money.from_decimal(m.to_decimal()) == m
    assert Money.from_decimal(str(m.to_decimal())) == m


@given(st.lists(moneys(), max_size=20), st.lists(st.integers(min_value=0, max_value=9), min_size=1, max_size=6))
def test_allocate_sums_back(values: list[Money], ratios: list[int]) -> None:
    total = sum(values, Money(0))
    if sum(ratios) == 0:
        return
    parts = total.allocate(ratios)
    assert sum(parts, Money(0)) == total
    exact = [total.fen * r / sum(ratios) for r in ratios]
    assert all(abs(p.fen - e) < 1 + 1e-9 for p, e in zip(parts, exact, strict=True))


# -- money never becomes a float ----------------------------------------------------------
FLOATY = [1.5, 2.0, np.float64(2.0), np.float32(0.5), fractions.Fraction(1, 2),
          decimal.Decimal("0.5")]
_OPS = st.sampled_from(["add", "sub", "mul", "rmul", "floordiv", "neg", "abs", "sum",
                        "allocate"])


@given(
    start=moneys(min_value=-10**9, max_value=10**9),
    steps=st.lists(st.tuples(_OPS, moneys(min_value=-10**6, max_value=10**6),
                             st.integers(min_value=1, max_value=9)), max_size=12),
    floaty=st.sampled_from(FLOATY),
)
def test_money_never_becomes_a_float(
    start: Money, steps: list[tuple[str, Money, int]], floaty: object
) -> None:
    value, expected = start, start.fen  # expected: the same program on plain Python ints
    for op, other, k in steps:
        if op == "add":
            value, expected = value + other, expected + other.fen
        elif op == "sub":
            value, expected = value - other, expected - other.fen
        elif op == "mul":
            value, expected = value * k, expected * k
        elif op == "rmul":
            value, expected = np.int64(k) * value, expected * k
        elif op == "floordiv":
            value, expected = value // k, expected // k
        elif op == "neg":
            value, expected = -value, -expected
        elif op == "abs":
            value, expected = abs(value), abs(expected)
        elif op == "sum":
            value, expected = sum([value, other, other]), expected + 2 * other.fen
        else:
            value = value.allocate([k, 1])[0]
            expected = expected * k // (k + 1) + (1 if expected * k % (k + 1) else 0)
        assert isinstance(value, Money)
        assert type(value.fen) is int, (op, type(value.fen))
        assert value.fen == expected, op
    # Every way of bringing a non-integer number in is refused, never rounded.
    for attempt in (
        lambda: Money(floaty),  # type: ignore[arg-type]
        lambda: value + floaty,
        lambda: floaty + value,
        lambda: value - floaty,
        lambda: value * floaty,
        lambda: floaty * value,
        lambda: value // floaty,
        lambda: value / 2,  # true division has no exact answer in fen
        lambda: float(value),  # type: ignore[arg-type]
    ):
        with pytest.raises(TypeError):
            attempt()
