"""A predicate written outside ecrm: one class, in this file, and nothing else edited.

The toy classes below register themselves with ``kind=`` and then evaluate inside
``audience()`` (alone and combined with ecrm's own leaves), explain themselves, and go
through ``to_dict`` / ``from_dict`` / ``to_json`` / ``from_json`` like any built-in leaf.
The expected audiences are worked out by hand from the five orders of ``_shop()``.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self
from zoneinfo import ZoneInfo

import attrs
import numpy as np
import pytest

import ecrm.segments
from ecrm import CustomerTable, InvalidTypeError, InvalidValueError, OrderLog
from ecrm.segments import (
    And,
    Blocked,
    Not,
    OccupationIn,
    Predicate,
    PredicateFormatError,
    audience,
)

SH = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2025, 7, 1, tzinfo=SH)


def _min_fen(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidValueError("min_fen", "must be an int >= 0", value)
    return value


@attrs.frozen
class SpentAtLeast(Predicate, kind="toy_spent_at_least"):
    """Net spend on valid orders before as_of is at least ``min_fen`` (a toy)."""

    min_fen: int = attrs.field(converter=_min_fen)

    def describe(self) -> str:
        return f"spent >= {self.min_fen} fen"

    def _mask(self, shop: Any, cache: dict[str, Any]) -> Any:
        if "toy_spent" not in cache:  # shared by every SpentAtLeast clause of one call
            rows = shop.valid & (shop.order_cust >= 0)
            cache["toy_spent"] = np.bincount(
                shop.order_cust[rows], weights=shop.orders.net_fen[rows], minlength=shop.n)
        return cache["toy_spent"] >= self.min_fen


@attrs.frozen
class NameStartsWith(Predicate, kind="toy_name_starts"):
    """The customer's name starts with ``prefix`` (a toy with its own JSON keys)."""

    prefix: str

    def describe(self) -> str:
        return f"name starts with {self.prefix}"

    def _mask(self, shop: Any, cache: dict[str, Any]) -> Any:
        return np.char.startswith(shop.customers.names.astype(str), self.prefix)

    def _fields(self) -> dict[str, Any]:
        return {"starts": self.prefix}

    @classmethod
    def _from_fields(cls, node: Mapping[str, Any], path: str) -> Self:
        if set(node) != {"field", "starts"} or not isinstance(node["starts"], str):
            raise PredicateFormatError(f"{path}.starts", "must be the one key, a string",
                                       node.get("starts"))
        return cls(node["starts"])


def _shop() -> tuple[CustomerTable, OrderLog]:
    customers = CustomerTable.from_arrays(
        ["a", "b", "c", "d"], names=["王芳", "李雷", "王五", "赵六"],
        occupations=["医生", "教师", "医生", "教师"],
    )
    t = dt.datetime(2025, 5, 1, 10, tzinfo=SH)
    orders = OrderLog.from_arrays(
        ["a", "a", "b", "b", "c", "d", "e"],
        [t, t, t, t, AS_OF + dt.timedelta(days=1), t, t],
        [300, 200, 1000, 100, 600, 800, 10_000],
        statuses=["paid", "completed", "closed", "paid", "paid", "shipped", "paid"],
        refunded=[0, 0, 0, 0, 0, 300, 0],
        tz=SH,
    )
    return customers, orders


def _run(p: Predicate) -> list[str]:
    customers, orders = _shop()
    return audience(p, customers=customers, orders=orders, as_of=AS_OF).customer_ids.tolist()


def test_the_toy_predicate_evaluates_inside_audience() -> None:
    # by hand: a 300 + 200 = 500; b only the paid 100 (the 1,000 was closed); c's 600 is
    # after as_of; d 800 − 300 refunded = 500; e is not in the customer table
    assert _run(SpentAtLeast(500)) == ["a", "d"]
    assert _run(SpentAtLeast(100)) == ["a", "b", "d"]
    assert _run(SpentAtLeast(0)) == ["a", "b", "c", "d"]
    assert _run(SpentAtLeast(500) & OccupationIn(["教师"])) == ["d"]
    assert _run(SpentAtLeast(100) & ~SpentAtLeast(500)) == ["b"]
    assert _run(NameStartsWith("王") | SpentAtLeast(500)) == ["a", "c", "d"]


def test_the_toy_predicate_explains_itself() -> None:
    customers, orders = _shop()
    a = audience(SpentAtLeast(500) & ~Blocked(), customers=customers, orders=orders,
                 as_of=AS_OF)
    assert str(a.explain("b")) == (
        "customer b: not in the audience\n"
        "  ✗ all of:\n"
        "    ✗ spent >= 500 fen\n"
        "    ✓ not:\n"
        "      ✗ blocked"
    )
    assert a.table()[1] == {"path": "predicate.args[0]", "clause": "spent >= 500 fen",
                            "customers": 2}
    assert (SpentAtLeast(500) | NameStartsWith("王")).describe() == (
        "(spent >= 500 fen) or (name starts with 王)")


def test_the_toy_predicate_round_trips_through_dict_and_json() -> None:
    p = SpentAtLeast(500)
    doc = {"version": 1, "predicate": {"field": "toy_spent_at_least", "min_fen": 500}}
    assert p.to_dict() == doc
    assert Predicate.from_dict(doc) == p
    assert SpentAtLeast.from_dict(doc) == p
    assert p.to_json() == '{"version":1,"predicate":{"field":"toy_spent_at_least","min_fen":500}}'
    tree = And((OccupationIn(["医生"]), Not(SpentAtLeast(100)), NameStartsWith("王")))
    assert json.loads(tree.to_json())["predicate"]["args"][2] == {
        "field": "toy_name_starts", "starts": "王"}
    assert Predicate.from_json(tree.to_json()) == tree
    assert Predicate.from_dict(tree.to_dict()) == tree


def test_a_bad_document_of_the_toy_kind_names_the_path() -> None:
    def read(node: dict[str, Any]) -> PredicateFormatError:
        with pytest.raises(PredicateFormatError) as info:
            Predicate.from_dict({"version": 1, "predicate": {"op": "not", "arg": node}})
        return info.value

    missing = read({"field": "toy_spent_at_least"})
    assert (missing.field, missing.rule) == ("predicate.arg.min_fen", "is required")
    negative = read({"field": "toy_spent_at_least", "min_fen": -1})
    assert (negative.field, negative.rule, negative.value) == (
        "predicate.arg.min_fen", "must be an int >= 0", -1)
    extra = read({"field": "toy_spent_at_least", "min_fen": 1, "max_fen": 2})
    assert extra.field == "predicate.arg.max_fen"
    assert extra.rule == "is not a key of this node (allowed: field, min_fen)"
    own = read({"field": "toy_name_starts", "starts": 3})
    assert own.field == "predicate.arg.starts"
    with pytest.raises(PredicateFormatError, match="must be of kind SpentAtLeast"):
        SpentAtLeast.from_dict(NameStartsWith("王").to_dict())


def test_a_kind_name_registered_twice_is_an_ecrm_error_naming_kind() -> None:
    with pytest.raises(InvalidValueError, match=r"^kind is already registered by "
                       r".*test_own_predicate\.SpentAtLeast; give Again another kind name, "
                       r"got 'toy_spent_at_least'") as info:
        @attrs.frozen
        class Again(Predicate, kind="toy_spent_at_least"):
            def describe(self) -> str:
                return "again"

    assert info.value.field == "kind"
    with pytest.raises(InvalidValueError, match=r"^kind is already registered by "
                                                r"ecrm\.segments\._attributes\.OccupationIn"):
        class Job(Predicate, kind="occupation"):
            pass
    with pytest.raises(InvalidValueError, match=r"^kind is already registered by "
                                                r"ecrm\.segments\._predicates\.And"):
        class Both(Predicate, kind="and"):
            pass
    with pytest.raises(InvalidValueError, match=r"^kind must be a lower-case name"):
        class Spaced(Predicate, kind="Spent At Least"):
            pass
    # the first registration stands
    assert type(Predicate.from_dict(SpentAtLeast(1).to_dict())) is SpentAtLeast


def test_a_class_without_a_kind_of_its_own_does_not_serialise_or_evaluate() -> None:
    @attrs.frozen
    class Unnamed(SpentAtLeast):  # inherits the kind name, not the registration
        pass

    with pytest.raises(InvalidTypeError, match=r"^cannot serialise Unnamed: its class is not "
                                               r"a registered predicate"):
        Unnamed(5).to_dict()

    @attrs.frozen
    class NoMask(Predicate, kind="toy_no_mask"):
        def describe(self) -> str:
            return "no mask"

    with pytest.raises(InvalidTypeError, match="cannot evaluate NoMask: the class has no _mask"):
        _run(NoMask())

    @attrs.frozen
    class WrongShape(Predicate, kind="toy_wrong_shape"):
        def describe(self) -> str:
            return "wrong shape"

        def _mask(self, shop: Any, cache: dict[str, Any]) -> Any:
            return np.ones(shop.n + 1, dtype=bool)

    with pytest.raises(InvalidValueError, match=r"^WrongShape\._mask must return one bool per "
                                                r"customer, shape \(4,\), got \(5,\)"):
        _run(WrongShape())


def test_field_names_that_the_json_node_needs_are_refused_clearly() -> None:
    with pytest.raises(InvalidValueError, match=r"^kind is the registered name of Kinded: a "
                                                r"predicate cannot have a field called kind"):
        @attrs.frozen
        class Kinded(Predicate, kind="toy_kinded"):
            kind: str  # type: ignore[misc]

    @attrs.frozen
    class Fielded(Predicate, kind="toy_fielded"):
        field: str  # type: ignore[assignment]

        def describe(self) -> str:
            return self.field

    with pytest.raises(InvalidTypeError, match=r"^Fielded has a field called 'field', the key "
                                               r"that names the kind in a JSON node"):
        Fielded("x").to_dict()
    # the name the leaves had before 0.1.0 still reads the kind
    assert (OccupationIn.field, SpentAtLeast.field, SpentAtLeast(1).field) == (
        "occupation", "toy_spent_at_least", "toy_spent_at_least")
    with pytest.raises(AttributeError, match="And has no field"):
        And.field  # noqa: B018


# -- the layering of ecrm.segments -------------------------------------------------------------
# Each module may import only modules of an earlier layer (or its own): no cycle can form,
# not even through an import inside a function.
LAYERS = (
    {"_schema"},
    {"_context"},
    {"_predicates"},
    {"_attributes"},
    {"_behaviour", "_derived"},
    {"_json", "_builtins", "_audience"},
    {"__init__"},
)


def test_the_segments_modules_import_only_lower_layers() -> None:
    folder = Path(ecrm.segments.__file__).parent
    rank = {name: i for i, layer in enumerate(LAYERS) for name in layer}
    assert set(rank) == {p.stem for p in folder.glob("*.py")}  # every module has a layer
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                if name.startswith("ecrm.segments."):
                    target = name.split(".")[2]
                    if target in rank:
                        assert rank[target] < rank[path.stem] or path.stem == "__init__", (
                            path.stem, target)
