"""Customer ids: the one validator for id fields and the one lookup in sorted id arrays.

Customer ids are ``str`` or ``int`` as the shop has them, never ``bool``, never an empty
string; a column holds one kind only.
"""

from __future__ import annotations

from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from ecrm.errors import InvalidTypeError, InvalidValueError, UnknownCustomerError

__all__ = ["check_customer_id", "customer_code_in", "customer_rows_in", "find_id"]


def check_customer_id(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """attrs validator: ``value`` is a non-empty ``str`` or an ``int`` (not a ``bool``)."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidTypeError(
            f"customer_id must be a str or int, got {type(value).__name__} {value!r}"
        )
    if isinstance(value, str) and not value.strip():
        raise InvalidValueError("customer_id", "must not be empty", value)


def find_id(ids: npt.NDArray[Any], key: object) -> int | None:
    """The position of id ``key`` in the sorted unique id array ``ids``, or ``None``.

    An int id never matches a str id (nor the reverse) and a bool is never an id; a long
    str key is compared whole (no truncation to the array's string width).
    """
    if isinstance(key, bool | np.bool_) or len(ids) == 0:
        return None
    if ids.dtype.kind in "iu":
        if not isinstance(key, int | np.integer):
            return None
        key = int(key)
    elif not isinstance(key, str):
        return None
    pos = int(np.searchsorted(ids, key))
    if pos < len(ids) and ids[pos] == key:
        return pos
    return None


def customer_code_in(ids: npt.NDArray[Any], customer_id: Any) -> int:
    """The position of ``customer_id`` in the sorted unique id array ``ids``.

    Raises:
        UnknownCustomerError: the id is not in ``ids``.
    """
    pos = find_id(ids, customer_id)
    if pos is None:
        raise UnknownCustomerError(f"customer {customer_id!r} is not in this log")
    return pos


def customer_rows_in(
    ids: npt.NDArray[Any], starts: npt.NDArray[np.int64], customer_id: Any
) -> slice:
    """The rows of one customer in a log grouped by customer (CSR offsets ``starts``).

    Raises:
        UnknownCustomerError: the id is not in ``ids``.
    """
    c = customer_code_in(ids, customer_id)
    return slice(int(starts[c]), int(starts[c + 1]))
