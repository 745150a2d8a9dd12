"""The predicate base, its registry, the combinations and / or / not, and the documents.

A predicate is a tree. Leaves test one customer attribute (``OccupationIn``), one kind of
behaviour inside a half-open window (``Carted(last_days=30)``) or one derived value
(``RfmGradeIn``); :class:`And`, :class:`Or` and :class:`Not` combine them. Predicates hold
no data: :func:`ecrm.segments.audience` evaluates one over a shop.

Every predicate class registers itself under a kind name with a class keyword,
``class OccupationIn(Predicate, kind="occupation")``, and owns everything about its kind:
how it is evaluated (``_mask``), its JSON node (``_fields`` / ``_from_fields``) and its
words (``describe``). Evaluation, writing and reading are one registry lookup here, so a
new predicate is one class in one file (docs/segments.md, "Writing your own predicate").
"""

from __future__ import annotations

import datetime as dt
import enum
import inspect
import re
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Final, Self

import attrs
import numpy as np

from ecrm._serial import JsonForm
from ecrm.errors import InvalidTypeError, InvalidValueError, PredicateFormatError
from ecrm.segments._context import BoolArray, Cache, _Shop
from ecrm.segments._schema import (
    SCHEMA_VERSION,
    build,
    check_keys,
    fail,
    required,
    required_list,
    shown,
)

__all__ = ["And", "Not", "Or", "Predicate", "read_document", "registered_kinds",
           "write_document"]

#: Every registered predicate class by its kind name, in registration order.
_KINDS: Final[dict[str, type[Predicate]]] = {}
_KIND_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")


def _register(cls: type[Predicate], kind: object) -> None:
    """Enter ``cls`` under ``kind``; refuse a malformed or taken name."""
    token = cls.__dict__.get("_kind_token")
    if kind is None:
        # attrs rebuilds a slotted class: the rebuilt copy carries the original's token
        # (its class dict is copied) and takes the original's place in the registry.
        name = cls.__dict__.get("kind")
        taken = _KINDS.get(name) if isinstance(name, str) else None
        if token is not None and taken is not None and taken.__dict__.get("_kind_token") is token:
            _KINDS[name] = cls  # type: ignore[index]
        return
    if not isinstance(kind, str) or _KIND_RE.fullmatch(kind) is None:
        raise InvalidValueError(
            "kind", "must be a lower-case name of letters, digits and _ (at most 64, "
            "starting with a letter)", kind,
        )
    taken = _KINDS.get(kind)
    if taken is not None:
        raise InvalidValueError(
            "kind", f"is already registered by {taken.__module__}.{taken.__qualname__}; "
            f"give {cls.__name__} another kind name", kind,
        )
    if "kind" in inspect.get_annotations(cls):
        raise InvalidValueError(
            "kind", f"is the registered name of {cls.__name__}: a predicate cannot have a "
            "field called kind", kind,
        )
    type.__setattr__(cls, "kind", kind)
    type.__setattr__(cls, "_kind_token", object())
    _KINDS[kind] = cls


class _LeafField:
    """``Leaf.field``: a leaf's kind by its name before 0.1.0 (the JSON key ``field``)."""

    def __get__(self, instance: object, owner: type[Predicate]) -> str:
        if owner._key != "field" or not hasattr(owner, "kind"):
            raise AttributeError(f"{owner.__name__} has no field (it is not a registered leaf)")
        return owner.kind


def registered_kinds() -> dict[str, type[Predicate]]:
    """A copy of the registry: kind name → predicate class, in registration order."""
    return dict(_KINDS)


class Predicate(JsonForm):
    """Base of every audience predicate; combine with ``&`` (and), ``|`` (or), ``~`` (not).

    Every predicate serialises the ecrm way: ``to_dict()`` gives the versioned document
    ``{"version": 1, "predicate": NODE}`` (docs/segments.md), ``Predicate.from_dict(doc)``
    reads it back, and ``to_json()`` / ``Predicate.from_json(text)`` do the same with JSON
    text.

    >>> from ecrm.segments import OccupationIn, Blocked
    >>> p = OccupationIn(["医生", "教师"]) & ~Blocked()
    >>> p
    And(args=(OccupationIn(values=('医生', '教师')), Not(arg=Blocked())))
    >>> print(p.describe())
    (occupation in {医生, 教师}) and (not (blocked))

    A subclass registers itself with a kind name, its JSON ``field``:
    ``class Spent(Predicate, kind="spent")``; a name registered twice is an
    :class:`~ecrm.errors.InvalidValueError` naming ``kind``.

    .. versionchanged:: 0.1.0
       Predicate classes register themselves (``kind=``) and own their evaluation
       (``_mask``), JSON node (``_fields`` / ``_from_fields``) and words (``describe``).
    """

    __slots__ = ()

    #: The registered kind name: the JSON ``field`` of a leaf, the ``op`` of a combination.
    kind: ClassVar[str]
    #: The JSON key that names the kind in a node: "field" for leaves, "op" for combinations.
    _key: ClassVar[str] = "field"
    #: A leaf's kind, by its name before 0.1.0.
    field: ClassVar[_LeafField] = _LeafField()

    def __init_subclass__(cls, *, kind: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _register(cls, kind)

    def __and__(self, other: Predicate) -> Predicate:
        _check_operand(other, "&")
        left = self.args if isinstance(self, And) else (self,)
        right = other.args if isinstance(other, And) else (other,)
        return And(left + right)

    def __or__(self, other: Predicate) -> Predicate:
        _check_operand(other, "|")
        left = self.args if isinstance(self, Or) else (self,)
        right = other.args if isinstance(other, Or) else (other,)
        return Or(left + right)

    def __invert__(self) -> Predicate:
        return Not(self)

    def describe(self) -> str:
        """The predicate in words (one line)."""
        raise NotImplementedError

    def children(self) -> tuple[Predicate, ...]:
        """The direct sub-predicates (empty for a leaf)."""
        return tuple(child for _, child in self._parts())

    # -- what a subclass provides ----------------------------------------------------------
    def _parts(self) -> tuple[tuple[str, Predicate], ...]:
        """The direct sub-predicates with their JSON paths (``args[0]``); none for a leaf."""
        return ()

    def _mask(self, shop: _Shop, cache: Cache) -> BoolArray:
        """bool per customer of ``shop.customers``: whether this leaf holds (evaluation).

        ``cache`` lives for one evaluation: store what other clauses can reuse in it.
        """
        raise InvalidTypeError(
            f"cannot evaluate {type(self).__name__}: the class has no _mask method"
        )

    def _combine(self, masks: list[BoolArray]) -> BoolArray:
        """A combination's mask from its parts' masks (in the order of :meth:`_parts`)."""
        raise InvalidTypeError(f"{type(self).__name__} is not a combination")

    #: How a combination reads as a clause of an explanation ("all of:").
    _clause_text: ClassVar[str] = ""

    def _fields(self) -> dict[str, Any]:
        """The keys of this node's JSON object after the kind (plain JSON values).

        By default, for an attrs class: every ``__init__`` field whose value is not None,
        by its name, a tuple written as a list, an enum as its value and a date or datetime
        in ISO form.
        """
        cls = type(self)
        if not attrs.has(cls):
            return {}
        out: dict[str, Any] = {}
        for name, a in _own_fields(cls).items():
            value = getattr(self, a.name)
            if value is not None:
                out[name] = _plain(value)
        return out

    @classmethod
    def _from_fields(cls, node: Mapping[str, Any], path: str) -> Self:
        """The predicate of a JSON node of this kind (``node`` still holds the kind key).

        By default, for an attrs class: the keys are the ``__init__`` fields (those without
        a default are required) and their values go to ``cls(**keys)`` as they are, so the
        class's converters and validators check them.

        Raises:
            PredicateFormatError: a key that is missing, unknown or of a bad value; the
                ``field`` of the error is the path (``path.in[1]``).
        """
        fields = _own_fields(cls) if attrs.has(cls) else {}
        check_keys(node, path, {cls._key, *fields})
        for name, a in fields.items():
            if a.default is attrs.NOTHING and name not in node:
                raise fail(f"{path}.{name}", "is required", None)
        keywords = {name: node[name] for name in fields if name in node}
        return build(lambda: cls(**keywords), path, whole=(cls.kind,))

    # -- serialisation ------------------------------------------------------------------------
    _json_field: ClassVar[str] = "text"

    def _node(self) -> dict[str, Any]:
        kind = getattr(type(self), "kind", None)
        if kind is None or _KINDS.get(kind) is not type(self):
            raise InvalidTypeError(
                f"cannot serialise {type(self).__name__}: its class is not a registered "
                f"predicate (declare it as class {type(self).__name__}(Predicate, kind=...))"
            )
        return {self._key: kind, **self._fields()}

    def to_dict(self) -> dict[str, Any]:
        """The versioned JSON document of this predicate (plain dicts, lists, str, int, bool).

        >>> from ecrm.segments import OccupationIn
        >>> OccupationIn(["医生", "教师"]).to_dict()
        {'version': 1, 'predicate': {'field': 'occupation', 'in': ['医生', '教师']}}

        .. versionadded:: 0.1.0
           Replaces ``predicate_to_json(p)``.
        """
        return write_document(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The predicate of a document written by :meth:`to_dict`.

        On a leaf class (``OccupationIn.from_dict(doc)``) the document must hold that kind.

        Raises:
            PredicateFormatError: the document breaks the schema; ``field`` is the path
                (``predicate.args[0].in[1]``) and the message says which rule.

        .. versionadded:: 0.1.0
           Replaces ``predicate_from_json(doc)``.
        """
        found = read_document(data)
        if not isinstance(found, cls):
            raise PredicateFormatError("predicate", f"must be of kind {cls.__name__}",
                                       type(found).__name__)
        return found

    @classmethod
    def _json_error(cls, exc: InvalidValueError) -> InvalidValueError:
        return PredicateFormatError(exc.field, exc.rule, exc.value)


def _own_fields(cls: type[attrs.AttrsInstance]) -> dict[str, attrs.Attribute[Any]]:
    """The ``__init__`` fields of a predicate class by keyword, for its default JSON node."""
    fields = {a.alias or a.name: a for a in attrs.fields(cls) if a.init}
    for name in fields:
        if name in ("field", "op"):
            raise InvalidTypeError(
                f"{cls.__name__} has a field called {name!r}, the key that names the kind "
                "in a JSON node: give it another name, or write _fields and _from_fields"
            )
    return fields


def _plain(value: Any) -> Any:
    """A field value as JSON holds it: tuples as lists, enums by value, dates in ISO form."""
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def write_document(predicate: Predicate) -> dict[str, Any]:
    """``{"version": 1, "predicate": NODE}`` of ``predicate``.

    Raises:
        InvalidTypeError: not a predicate, or one whose class is not registered.
    """
    if not isinstance(predicate, Predicate):
        raise InvalidTypeError(
            f"predicate must be a Predicate, got {type(predicate).__name__} {shown(predicate)}"
        )
    return {"version": SCHEMA_VERSION, "predicate": predicate._node()}


def read_node(node: Any, path: str) -> Predicate:
    """The predicate of one JSON node at ``path``: the registered class of its kind reads it."""
    if not isinstance(node, Mapping):
        raise fail(path, "must be an object with 'op' or 'field'", node)
    if "op" in node and "field" in node:
        raise fail(path, "must have 'op' or 'field', not both", dict(node))
    key = "op" if "op" in node else "field" if "field" in node else None
    if key is None:
        raise fail(path, "must have an 'op' or a 'field' key", dict(node))
    name = node[key]
    cls = _KINDS.get(name) if isinstance(name, str) else None
    if cls is None or cls._key != key:
        names = [k for k, c in _KINDS.items() if c._key == key]
        listed = ", ".join(names if key == "op" else sorted(names))
        raise fail(f"{path}.{key}", f"must be one of {listed}", name)
    return cls._from_fields(node, path)


def read_document(document: Any) -> Predicate:
    """The predicate of a ``{"version": 1, "predicate": NODE}`` document.

    Raises:
        PredicateFormatError: the document breaks the schema; ``field`` is the path.
    """
    if not isinstance(document, Mapping):
        raise fail("", "document must be an object with version and predicate", document)
    check_keys(document, "", {"version", "predicate"})
    version = document.get("version")
    if version != SCHEMA_VERSION:
        raise fail("version", f"must be {SCHEMA_VERSION}", version)
    if "predicate" not in document:
        raise fail("predicate", "is required", None)
    try:
        return read_node(document["predicate"], "predicate")
    except RecursionError:  # nesting past Python's stack: refuse it, do not crash
        raise fail("predicate", "nests too deeply", None) from None


# -- combinations ---------------------------------------------------------------------------
def _check_operand(other: object, op: str) -> None:
    if not isinstance(other, Predicate):
        raise InvalidTypeError(
            f"both sides of {op} must be predicates, got {type(other).__name__} {shown(other)}"
        )


def _predicates(values: Iterable[Predicate]) -> tuple[Predicate, ...]:
    if isinstance(values, Predicate) or not isinstance(values, Iterable):
        raise InvalidTypeError(
            f"args must be a collection of predicates, got {type(values).__name__} "
            f"{shown(values)}"
        )
    items = tuple(values)
    for i, item in enumerate(items):
        if not isinstance(item, Predicate):
            raise InvalidTypeError(
                f"args[{i}] must be a Predicate, got {type(item).__name__} {shown(item)}"
            )
    if not items:
        raise InvalidValueError("args", "must hold at least one predicate", [])
    return items


def _read_args(node: Mapping[str, Any], path: str) -> tuple[Predicate, ...]:
    check_keys(node, path, {"op", "args"})
    args = required_list(node, "args", path)
    return tuple(read_node(a, f"{path}.args[{i}]") for i, a in enumerate(args))


@attrs.frozen
class And(Predicate, kind="and"):
    """All of ``args`` hold."""

    _key = "op"
    _clause_text = "all of:"
    args: tuple[Predicate, ...] = attrs.field(converter=_predicates)

    def describe(self) -> str:
        return " and ".join(f"({a.describe()})" for a in self.args)

    def _parts(self) -> tuple[tuple[str, Predicate], ...]:
        return tuple((f"args[{i}]", a) for i, a in enumerate(self.args))

    def _combine(self, masks: list[BoolArray]) -> BoolArray:
        out: BoolArray = np.logical_and.reduce(masks)
        return out

    def _fields(self) -> dict[str, Any]:
        return {"args": [a._node() for a in self.args]}

    @classmethod
    def _from_fields(cls, node: Mapping[str, Any], path: str) -> Self:
        return cls(_read_args(node, path))


@attrs.frozen
class Or(Predicate, kind="or"):
    """At least one of ``args`` holds."""

    _key = "op"
    _clause_text = "any of:"
    args: tuple[Predicate, ...] = attrs.field(converter=_predicates)

    def describe(self) -> str:
        return " or ".join(f"({a.describe()})" for a in self.args)

    def _parts(self) -> tuple[tuple[str, Predicate], ...]:
        return tuple((f"args[{i}]", a) for i, a in enumerate(self.args))

    def _combine(self, masks: list[BoolArray]) -> BoolArray:
        out: BoolArray = np.logical_or.reduce(masks)
        return out

    def _fields(self) -> dict[str, Any]:
        return {"args": [a._node() for a in self.args]}

    @classmethod
    def _from_fields(cls, node: Mapping[str, Any], path: str) -> Self:
        return cls(_read_args(node, path))


def _predicate(value: object) -> Predicate:
    if not isinstance(value, Predicate):
        raise InvalidTypeError(f"arg must be a Predicate, got {type(value).__name__} {shown(value)}")
    return value


@attrs.frozen
class Not(Predicate, kind="not"):
    """``arg`` does not hold."""

    _key = "op"
    _clause_text = "not:"
    arg: Predicate = attrs.field(converter=_predicate)

    def describe(self) -> str:
        return f"not ({self.arg.describe()})"

    def _parts(self) -> tuple[tuple[str, Predicate], ...]:
        return (("arg", self.arg),)

    def _combine(self, masks: list[BoolArray]) -> BoolArray:
        return ~masks[0]

    def _fields(self) -> dict[str, Any]:
        return {"arg": self.arg._node()}

    @classmethod
    def _from_fields(cls, node: Mapping[str, Any], path: str) -> Self:
        check_keys(node, path, {"op", "arg"})
        return cls(read_node(required(node, "arg", path), f"{path}.arg"))
