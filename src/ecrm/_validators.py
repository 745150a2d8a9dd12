"""attrs validators that raise ecrm errors naming the field, the rule and the value.

Drop-in for the ``attrs.validators`` of the same names: ``instance_of`` raises
:class:`~ecrm.errors.InvalidTypeError`; ``ge``/``gt``/``le``/``lt``/``in_``/``min_len``/
``max_len`` raise :class:`~ecrm.errors.InvalidValueError` (``level must be >= 1, got 0``).
``instance_of`` and ``in_`` stay subclasses of attrs' own validators, so hypothesis still
infers strategies from them (``st.builds``, ``st.from_type``).

The argument guards of public functions live here too, one of each: :func:`check_instance`
(one argument of one type), :func:`check_items` (an iterable argument whose items have one
type), :func:`flat_array` (an argument that must become a one-dimensional array) and
:func:`check_same_length` (the row arrays of a result value). Each is called before
anything reads the argument, so a wrong value never surfaces as an ``AttributeError``,
``IndexError`` or numpy ``ValueError`` from deep inside.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Container, Iterable, Mapping
from typing import Any, TypeVar

import attrs
import numpy as np
import numpy.typing as npt
from attr.validators import _InstanceOfValidator, _InValidator  # type: ignore[attr-defined]

from ecrm.errors import InvalidTypeError, InvalidValueError, _short_repr

__all__ = [
    "BOOLS",
    "FLOATS",
    "IDS",
    "INTEGERS",
    "TEXT",
    "check_instance",
    "check_items",
    "check_same_length",
    "flat_array",
    "ge",
    "gt",
    "in_",
    "instance_of",
    "le",
    "lt",
    "max_len",
    "min_len",
]

T = TypeVar("T")
_Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def _type_names(types: type | tuple[type, ...]) -> str:
    if isinstance(types, tuple):
        return " or ".join(t.__name__ for t in types)
    return types.__name__


def _wrong_type(name: str, types: type | tuple[type, ...], value: object) -> InvalidTypeError:
    return InvalidTypeError(
        f"{name} must be {_type_names(types)}, got {type(value).__name__} {_short_repr(value)}"
    )


class _EcrmInstanceOf(_InstanceOfValidator):  # type: ignore[misc]
    __slots__ = ()

    def __call__(self, inst: Any, attr: attrs.Attribute[Any], value: Any) -> None:
        if not isinstance(value, self.type):
            raise _wrong_type(attr.name, self.type, value)


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


# -- argument guards of public functions ----------------------------------------------------
def check_instance(name: str, value: T, types: type | tuple[type, ...]) -> T:
    """Return ``value`` if it is an instance of ``types``.

    Args:
        name: the parameter's name, as the message shows it (``"summary"``).
        value: the argument.
        types: the class, or a tuple of classes, the argument must be an instance of.

    Returns:
        ``value`` itself.

    Raises:
        InvalidTypeError: ``value`` is not an instance
            (``summary must be Summary, got float 1.5``).
    """
    if not isinstance(value, types):
        raise _wrong_type(name, types, value)
    return value


def check_items(name: str, values: Iterable[Any], types: type | tuple[type, ...]) -> list[Any]:
    """The items of an iterable argument, each an instance of ``types``, as a list.

    A ``str``, ``bytes`` or mapping is refused as a whole (iterating it yields characters,
    bytes or keys, never the items meant), and so is anything that is not iterable.

    Args:
        name: the parameter's name (``"tickets"``); an item's message names its index
            (``tickets[2]``).
        values: the argument (any iterable: a list, a tuple, a generator).
        types: the class, or a tuple of classes, every item must be an instance of.

    Returns:
        The items, in order, as a new list (a generator is read once).

    Raises:
        InvalidTypeError: ``values`` is not an iterable of items, or an item has the wrong
            type (``tickets[2] must be Ticket, got int 1``).
    """
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Iterable):
        raise InvalidTypeError(
            f"{name} must be an iterable of {_type_names(types)}, "
            f"got {type(values).__name__} {_short_repr(values)}"
        )
    items = list(values)
    for i, item in enumerate(items):
        if not isinstance(item, types):
            raise _wrong_type(f"{name}[{i}]", types, item)
    return items


def flat_array(name: str, values: object, dtype: npt.DTypeLike | None = None) -> npt.NDArray[Any]:
    """``np.asarray(values, dtype)``, refused unless it is one-dimensional.

    Numpy's own refusals (a ragged or deeply nested list, text where numbers are wanted, a
    complex number as a float) become ecrm errors naming the parameter.

    Args:
        name: the parameter's name (``"customer_ids"``).
        values: a sequence or array of values, one per row.
        dtype: the dtype to convert to, or None to let numpy choose.

    Returns:
        A one-dimensional array.

    Raises:
        InvalidTypeError: ``values`` is a single ``str``/``bytes``, or numpy cannot make an
            array of ``dtype`` from it (text as numbers, a nested list).
        InvalidValueError: the array is not one-dimensional.
    """
    if isinstance(values, str | bytes):
        raise InvalidTypeError(
            f"{name} must be a sequence or array of values, one per row, "
            f"got a single {type(values).__name__} {_short_repr(values)}"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", np.exceptions.ComplexWarning)
            arr = np.asarray(values, dtype=dtype)
    except (ValueError, TypeError, OverflowError, np.exceptions.ComplexWarning) as exc:
        wanted = f"values of dtype {np.dtype(dtype).name}" if dtype is not None else "values"
        raise InvalidTypeError(
            f"{name} must be a flat sequence or array of {wanted}, one per row, "
            f"got {type(values).__name__} ({type(exc).__name__}: {_short_repr(str(exc))})"
        ) from None
    if arr.ndim != 1:
        raise InvalidValueError(name, "must be one-dimensional (one value per row)",
                                f"shape {arr.shape}")
    return arr


#: dtype kinds a column may hold, as :func:`check_same_length` names them.
INTEGERS = "iu"
FLOATS = "fiu"
BOOLS = "b"
IDS = "iuUO"
TEXT = "U"
_KIND_WORDS = {INTEGERS: "integers", FLOATS: "numbers", BOOLS: "bools", IDS: "str or int ids",
               TEXT: "strings"}


def check_same_length(owner: str, columns: dict[str, Any],
                      kinds: dict[str, str] | None = None) -> int:
    """Check that the row arrays of a result value are one-dimensional and equally long.

    For ``__attrs_post_init__`` of result values whose fields are parallel arrays, so a value
    built field by field (``attrs.evolve``, ``st.builds``) cannot hold rows that do not line
    up.

    Args:
        owner: the class's name, for the message (``"Summary"``).
        columns: field name -> array, the first being the one the others are measured by.
        kinds: field name -> the dtype kinds it may hold (:data:`INTEGERS`, :data:`FLOATS`,
            :data:`BOOLS`, :data:`IDS`, :data:`TEXT`); fields left out may hold any dtype.

    Returns:
        The common length.

    Raises:
        InvalidValueError: a field is not a one-dimensional array, or its length differs from
            the first field's (``Summary.x must have the length of customer_ids (5), got 4``).
        InvalidTypeError: a field's dtype is not of its kinds
            (``Summary.x must hold integers, got dtype float64``).
    """
    first_name, first_len = "", 0
    for name, values in columns.items():
        shape = getattr(values, "shape", None)
        if shape is None or len(shape) != 1:
            raise InvalidValueError(f"{owner}.{name}", "must be a one-dimensional array",
                                    f"shape {shape}" if shape is not None else values)
        if not first_name:
            first_name, first_len = name, shape[0]
        elif shape[0] != first_len:
            raise InvalidValueError(
                f"{owner}.{name}", f"must have the length of {first_name} ({first_len})",
                f"length {shape[0]}",
            )
        wanted = (kinds or {}).get(name)
        if wanted is not None and values.dtype.kind not in wanted:
            raise InvalidTypeError(f"{owner}.{name} must hold "
                                   f"{_KIND_WORDS.get(wanted, wanted)}, got dtype {values.dtype}")
    return first_len
