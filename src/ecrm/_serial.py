"""One serialisation convention: ``to_dict``/``from_dict``, and JSON text on top of them.

Every serialisable ecrm type (a :class:`~ecrm.touch.Message`, an audience
:class:`~ecrm.segments.Predicate`, a :class:`~ecrm.lifecycle.RepurchaseCycle`, a
:class:`~ecrm.service.Ticket`) has the same four methods:

- ``value.to_dict()``: plain JSON-ready values (dicts, lists, str, int, float, bool, None);
- ``Type.from_dict(data)``: the value back, equal to the one written;
- ``value.to_json()``: ``to_dict()`` as compact JSON text (``str``, UTF-8 characters kept);
- ``Type.from_json(text)``: ``from_dict`` of JSON text.

A type writes its dict form; :class:`JsonForm` adds the two JSON helpers, the same for all,
so a bad text is refused the same way everywhere (a clear ecrm error naming the type, and
bounded work for deeply nested or huge documents).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Self

from ecrm.errors import EcrmError, InvalidTypeError, InvalidValueError

__all__ = ["JsonForm", "json_object", "reading"]


@contextlib.contextmanager
def reading(data: object, field: str) -> Iterator[Mapping[str, Any]]:
    """Read a document ``data`` inside the block; whatever it holds, only ecrm errors leave.

    Args:
        data: the document (a mapping, or it is refused).
        field: what it is, for messages (``"ticket"``).

    Yields:
        ``data`` as a mapping.

    Raises:
        InvalidTypeError: ``data`` is not a mapping.
        InvalidValueError: a missing field, or a value of the wrong type or shape (the
            built-in error the block raised is its cause); ecrm errors pass unchanged.
    """
    if not isinstance(data, Mapping):
        raise InvalidTypeError(f"{field} must be a mapping (a dict), got {type(data).__name__}")
    try:
        yield data
    except EcrmError:
        raise
    except KeyError as exc:
        raise InvalidValueError(field, f"is not a valid {field} dict: missing the field "
                                f"{exc.args[0]!r}", show_value=False) from exc
    except (TypeError, ValueError, AttributeError, IndexError, OverflowError) as exc:
        raise InvalidValueError(field, f"is not a valid {field} dict: {exc}",
                                show_value=False) from exc


def json_object(text: object, *, field: str) -> dict[str, Any]:
    """The JSON object of ``text``.

    Args:
        text: JSON text.
        field: what the text is, for messages (``"message"``).

    Returns:
        The decoded object.

    Raises:
        InvalidTypeError: ``text`` is not a ``str``.
        InvalidValueError: not JSON, nested too deeply, or not an object; ``field`` names it.
    """
    if not isinstance(text, str):
        raise InvalidTypeError(f"{field} JSON must be a str, got {type(text).__name__}")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidValueError(
            field, f"must be JSON text ({exc.msg} at line {exc.lineno} column {exc.colno})",
            text[:40],
        ) from None
    except RecursionError:  # "[[[[…" more deeply than the interpreter can parse
        raise InvalidValueError(field, "must be JSON nested less deeply", text[:40]) from None
    if not isinstance(data, dict):
        raise InvalidValueError(field, "must be a JSON object", type(data).__name__)
    return data


class JsonForm:
    """``to_json()`` / ``from_json()`` for a type that has ``to_dict()`` / ``from_dict()``.

    A subclass implements :meth:`to_dict` and :meth:`from_dict` and may set ``_json_field``
    (the name used in error messages) and override :meth:`_json_error`.
    """

    __slots__ = ()

    #: What a document of this type is called in error messages.
    _json_field: ClassVar[str] = "document"

    def to_dict(self) -> dict[str, Any]:
        """The value as plain JSON-ready data."""
        raise NotImplementedError

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The value of :meth:`to_dict`'s output."""
        raise NotImplementedError

    def to_json(self) -> str:
        """:meth:`to_dict` as compact JSON text (UTF-8 characters kept, keys in order).

        Returns:
            A ``str``; :meth:`from_json` reads it back to an equal value.
        """
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Self:
        """The value of JSON text written by :meth:`to_json`.

        Raises:
            InvalidTypeError: ``text`` is not a ``str``.
            InvalidValueError: not JSON, not an object, or not a valid document of the type.
        """
        try:
            data = json_object(text, field=cls._json_field)
        except InvalidValueError as exc:
            raise cls._json_error(exc) from None
        return cls.from_dict(data)

    @classmethod
    def _json_error(cls, exc: InvalidValueError) -> InvalidValueError:
        """The error to raise for JSON text that is not a JSON object (a hook)."""
        return exc
