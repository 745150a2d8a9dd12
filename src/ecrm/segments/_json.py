"""The serialiser functions of before 0.1.0, kept for one release as deprecated names.

The JSON form itself — ``{"version": 1, "predicate": NODE}``, a node being a combination
``{"op": "and" | "or", "args": [NODE, ...]}`` / ``{"op": "not", "arg": NODE}`` or a leaf
``{"field": KIND, ...}`` — is written and read by the predicate classes themselves
(:meth:`Predicate.to_dict`, :meth:`Predicate.from_dict`): each registered class owns its
node. Unknown fields, ops or keys are refused with a :class:`PredicateFormatError` naming
the path (``predicate.args[1].in``).
"""

from __future__ import annotations

import json
from typing import Any

from ecrm.errors import InvalidTypeError, PredicateFormatError
from ecrm.segments._predicates import Predicate, read_document, write_document
from ecrm.segments._schema import SCHEMA_VERSION, fail

__all__ = [
    "SCHEMA_VERSION",
    "PredicateFormatError",
    "predicate_from_json",
    "predicate_from_str",
    "predicate_to_json",
    "predicate_to_str",
]


def predicate_to_json(predicate: Predicate) -> dict[str, Any]:
    """The JSON document (plain dicts, lists, strings, ints, bools) of ``predicate``.

    Public as :meth:`Predicate.to_dict` (this name is deprecated in :mod:`ecrm.segments`).

    >>> from ecrm.segments import OccupationIn
    >>> predicate_to_json(OccupationIn(["医生", "教师"]))
    {'version': 1, 'predicate': {'field': 'occupation', 'in': ['医生', '教师']}}

    Raises:
        InvalidTypeError: ``predicate`` is not a Predicate.
    """
    return write_document(predicate)


def predicate_to_str(predicate: Predicate) -> str:
    """:func:`predicate_to_json` as compact JSON text (UTF-8 characters kept, keys in order)."""
    return json.dumps(predicate_to_json(predicate), ensure_ascii=False, separators=(",", ":"))


def predicate_from_json(document: Any) -> Predicate:
    """The predicate of a JSON document written by :func:`predicate_to_json`.

    Public as :meth:`Predicate.from_dict` (this name is deprecated in :mod:`ecrm.segments`).

    >>> predicate_from_json({"version": 1, "predicate":
    ...     {"op": "or", "args": [{"field": "occupation", "in": ["医生"]},
    ...                           {"field": "carted", "last_days": 30}]}})
    Or(args=(OccupationIn(values=('医生',)), Carted(window=None, last_days=30)))

    Raises:
        PredicateFormatError: the document breaks the schema; ``field`` is the path
            (``predicate.args[0].in[1]``) and the message says which rule.
    """
    return read_document(document)


def predicate_from_str(text: str) -> Predicate:
    """:func:`predicate_from_json` of JSON text.

    Raises:
        PredicateFormatError: not JSON, or a document that breaks the schema.
    """
    if not isinstance(text, str):
        raise InvalidTypeError(f"text must be a str, got {type(text).__name__}")
    try:
        document = json.loads(text)
    except RecursionError:  # "[" * 100_000: refuse it, do not crash
        raise fail("text", "must be JSON text that does not nest too deeply", text) from None
    except json.JSONDecodeError as exc:
        raise fail("", f"must be JSON text ({exc.msg} at line {exc.lineno} column "
                   f"{exc.colno})", None) from exc
    return predicate_from_json(document)
