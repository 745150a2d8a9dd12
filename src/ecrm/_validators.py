"""attrs validators that raise ecrm errors naming the field, the rule and the value.

Drop-in for the ``attrs.validators`` of the same names: ``instance_of`` raises
:class:`~ecrm.errors.InvalidTypeError`; ``ge``/``gt``/``le``/``lt``/``in_``/``min_len``/
``max_len`` raise :class:`~ecrm.errors.InvalidValueError` (``level must be >= 1, got 0``).
:func:`require_type` is the same type check for a plain function's argument.
``instance_of`` and ``in_`` stay subclasses of attrs' own validators, so hypothesis still
infers strategies from them (``st.builds``, ``st.from_type``).
"""

from __future__ import annotations

from collections.abc import Callable, Container
from typing import Any, TypeVar

import attrs
from attr.validators import _InstanceOfValidator, _InValidator  # type: ignore[attr-defined]

from ecrm.errors import InvalidTypeError, InvalidValueError, _short_repr

__all__ = [
    "ge", "gt", "in_", "instance_of", "le", "lt", "max_len", "min_len", "require_type",
]

T = TypeVar("T")
_Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _type_names(types: type | tuple[type, ...]) -> str:
    if isinstance(types, tuple):
        return " or ".join(t.__name__ for t in types)
    return types.__name__


class _EcrmInstanceOf(_InstanceOfValidator):  # type: ignore[misc]
    __slots__ = ()

    def __call__(self, inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, self.type):
            raise InvalidTypeError(
                f"{attr.name} must be {_type_names(self.type)}, "
                f"got {type(value).__name__} {_short_repr(value)}"
            )


class _EcrmIn(_InValidator):  # type: ignore[misc]
    __slots__ = ()

    def __call__(self, inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
        try:
            ok = value in self.options
        except (TypeError, ValueError):  # unhashable; an array's ambiguous truth value
            ok = False
        if not ok:
            raise InvalidValueError(attr.name, f"must be one of {self._original_options!r}", value)


def instance_of(types: type[T] | tuple[type[T], ...]) -> _Validator:
    """Like ``attrs.validators.instance_of``; raises :class:`InvalidTypeError`."""
    return _EcrmInstanceOf(types)


def in_(options: Container[Any]) -> _Validator:
    """Like ``attrs.validators.in_``; raises :class:`InvalidValueError`."""
    original = options
    if isinstance(options, list | dict | set):  # as attrs does: keep the validator hashable
        options = tuple(options)
    return _EcrmIn(options, original)


def _compare(word: str, bound: Any, check: Callable[[Any, Any], bool]) -> _Validator:
    def validate(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
        try:
            ok = check(value, bound)
        except TypeError:
            raise InvalidTypeError(
                f"{attr.name} must be a number comparable with {bound!r}, "
                f"got {type(value).__name__} {_short_repr(value)}"
            ) from None
        if not ok:  # NaN compares false with everything, so it lands here
            raise InvalidValueError(attr.name, f"must be {word} {bound!r}", value)

    return validate


def ge(bound: Any) -> _Validator:
    """Like ``attrs.validators.ge``; raises :class:`InvalidValueError`."""
    return _compare(">=", bound, lambda v, b: bool(v >= b))


def gt(bound: Any) -> _Validator:
    """Like ``attrs.validators.gt``; raises :class:`InvalidValueError`."""
    return _compare(">", bound, lambda v, b: bool(v > b))


def le(bound: Any) -> _Validator:
    """Like ``attrs.validators.le``; raises :class:`InvalidValueError`."""
    return _compare("<=", bound, lambda v, b: bool(v <= b))


def lt(bound: Any) -> _Validator:
    """Like ``attrs.validators.lt``; raises :class:`InvalidValueError`."""
    return _compare("<", bound, lambda v, b: bool(v < b))


def _length(word: str, bound: int, check: Callable[[int, int], bool]) -> _Validator:
    def validate(inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
        try:
            size = len(value)
        except TypeError:
            raise InvalidTypeError(
                f"{attr.name} must have a length, got {type(value).__name__}"
            ) from None
        if not check(size, bound):
            raise InvalidValueError(attr.name, f"must have {word} {bound} item(s)", value)

    return validate


def min_len(length: int) -> _Validator:
    """Like ``attrs.validators.min_len``; raises :class:`InvalidValueError`."""
    return _length("at least", length, lambda n, b: n >= b)


def max_len(length: int) -> _Validator:
    """Like ``attrs.validators.max_len``; raises :class:`InvalidValueError`."""
    return _length("at most", length, lambda n, b: n <= b)


def require_type(value: object, types: type[T] | tuple[type[T], ...], field: str) -> T:
    """``value`` itself when it is an instance of ``types``; else an :class:`InvalidTypeError`.

    For the arguments of plain functions, checked before the function reads any attribute
    of them (so a wrong value never surfaces as an ``AttributeError`` from inside).

    Args:
        value: the argument.
        types: the class or classes it must be an instance of.
        field: the parameter's name, for the message.

    Returns:
        ``value``, typed as the expected class.

    Raises:
        InvalidTypeError: ``value`` is not an instance of ``types``; the message names the
            field, the expected and the actual type
            (``rules must be FeeRules, got NoneType None``).

    >>> require_type(3, int, "count")
    3
    """
    if not isinstance(value, types):
        raise InvalidTypeError(
            f"{field} must be {_type_names(types)}, got {type(value).__name__} {_short_repr(value)}"
        )
    return value
