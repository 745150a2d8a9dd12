"""One serialisation convention: ``to_dict``/``from_dict`` on every serialisable type, JSON text
(``to_json`` → ``str``, ``from_json(str)``) on top; each type round-trips through both.

The old predicate function names (``predicate_to_json`` → dict, ``predicate_to_str`` → str,
and their readers) still resolve, with a :class:`DeprecationWarning`.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import re
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ecrm
from ecrm import InvalidTypeError, InvalidValueError
from ecrm.lifecycle import RepurchaseCycle
from ecrm.segments import OccupationIn, Predicate, PredicateFormatError
from ecrm.service import Ticket
from ecrm.testing import messages, predicates, repurchase_cycles, tickets
from ecrm.touch import Message

#: Every serialisable public type, with the strategy that draws it.
SERIALISABLE: dict[type, st.SearchStrategy[Any]] = {
    Message: messages(),
    Predicate: predicates(),
    RepurchaseCycle: repurchase_cycles(),
    Ticket: tickets(),
}


def _round_trips(kind: type, value: Any) -> None:
    data = value.to_dict()
    assert kind.from_dict(data) == value
    # the dict is plain JSON data: through json and back it reads the same value
    assert kind.from_dict(json.loads(json.dumps(data))) == value
    text = value.to_json()
    assert isinstance(text, str)
    assert json.loads(text) == json.loads(json.dumps(data))
    back = kind.from_json(text)
    assert back == value
    assert back.to_json() == text  # stable: writing what was read gives the same text


@given(messages())
def test_a_message_round_trips(value: Message) -> None:
    _round_trips(Message, value)


@given(predicates())
def test_a_predicate_round_trips(value: Predicate) -> None:
    _round_trips(Predicate, value)


@given(repurchase_cycles())
def test_a_repurchase_cycle_round_trips(value: RepurchaseCycle) -> None:
    _round_trips(RepurchaseCycle, value)


@given(tickets())
def test_a_ticket_round_trips(value: Ticket) -> None:
    _round_trips(Ticket, value)


def _public_classes() -> dict[str, type]:
    found: dict[str, type] = {}
    for package in ("ecrm", "ecrm.analytics", "ecrm.identity", "ecrm.lifecycle",
                    "ecrm.predict", "ecrm.profile", "ecrm.recommend", "ecrm.report", "ecrm.rfm",
                    "ecrm.scale", "ecrm.segments", "ecrm.service", "ecrm.tiers", "ecrm.touch",
                    "ecrm.touch.flows"):
        module = importlib.import_module(package)
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value):
                found[f"{package}.{name}"] = value
    return found


def test_every_type_with_a_dict_form_has_all_four_methods_and_a_round_trip_test() -> None:
    with_dict = {path: kind for path, kind in _public_classes().items()
                 if hasattr(kind, "to_dict") or hasattr(kind, "from_dict")}
    for path, kind in with_dict.items():
        for method in ("to_dict", "from_dict", "to_json", "from_json"):
            assert callable(getattr(kind, method, None)), f"{path}.{method}"
    # every one of them is tested above (a predicate leaf through Predicate)
    roots = {next(base for base in SERIALISABLE if issubclass(kind, base))
             for kind in with_dict.values()}
    assert roots == set(SERIALISABLE)


def test_no_public_function_serialises_outside_the_convention() -> None:
    odd = []
    for package in ("ecrm", "ecrm.lifecycle", "ecrm.segments", "ecrm.service", "ecrm.touch",
                    "ecrm.touch.flows", "ecrm.rfm", "ecrm.tiers", "ecrm.analytics"):
        module = importlib.import_module(package)
        odd += [f"{package}.{n}" for n in module.__all__
                if n.endswith(("_to_json", "_from_json", "_to_dict", "_from_dict", "_to_str",
                               "_from_str"))]
    assert odd == []


# -- bad JSON text: a clear ecrm error naming the document, bounded work --------------------
@pytest.mark.parametrize("kind", list(SERIALISABLE), ids=lambda k: k.__name__)
@pytest.mark.parametrize(
    ("text", "match"),
    [("not json", "must be JSON text"), ("[1, 2]", "must be a JSON object"),
     ("[" * 100_000 + "]" * 100_000, "nested less deeply"), ('"x"', "must be a JSON object")],
    ids=["garbage", "array", "deep", "string"],
)
def test_bad_json_text_is_an_ecrm_value_error(kind: type, text: str, match: str) -> None:
    started = time.perf_counter()
    with pytest.raises(InvalidValueError, match=match):
        kind.from_json(text)
    assert time.perf_counter() - started < 2.0


@pytest.mark.parametrize("kind", list(SERIALISABLE), ids=lambda k: k.__name__)
def test_json_that_is_not_a_str_is_a_type_error(kind: type) -> None:
    with pytest.raises(InvalidTypeError, match="must be a str, got bytes"):
        kind.from_json(b"{}")


@pytest.mark.parametrize("kind", list(SERIALISABLE), ids=lambda k: k.__name__)
def test_a_dict_missing_fields_is_an_ecrm_value_error(kind: type) -> None:
    with pytest.raises(InvalidValueError):
        kind.from_dict({"key": "k"})


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                  max_size=3),
    max_leaves=6,
)


@pytest.mark.parametrize("kind", list(SERIALISABLE), ids=lambda k: k.__name__)
def test_a_damaged_document_raises_only_ecrm_errors(kind: type) -> None:
    """Any one field replaced by any JSON value: the value reads back or an ecrm error says
    why; no KeyError, TypeError or AttributeError escapes."""

    @given(SERIALISABLE[kind], st.data(), JSON_VALUES)
    def check(value: Any, data: st.DataObject, junk: Any) -> None:
        document = value.to_dict()
        key = data.draw(st.sampled_from(sorted(document)))
        damaged = {**document, key: junk}
        with contextlib.suppress(ecrm.EcrmError):  # anything else fails the test
            kind.from_dict(damaged)

    check()


@pytest.mark.parametrize("kind", list(SERIALISABLE), ids=lambda k: k.__name__)
@pytest.mark.parametrize("junk", [None, [], "text", 3, [["a"]]], ids=repr)
def test_a_document_that_is_not_a_mapping_is_an_ecrm_error(kind: type, junk: object) -> None:
    with pytest.raises(ecrm.EcrmError):
        kind.from_dict(junk)


def test_bad_predicate_text_is_a_predicate_format_error() -> None:
    with pytest.raises(PredicateFormatError, match="must be JSON text"):
        Predicate.from_json("{nope")


def test_a_leaf_class_reads_only_its_own_kind() -> None:
    doc = (OccupationIn(["医生"]) | OccupationIn(["教师"])).to_dict()
    assert Predicate.from_dict(doc) == OccupationIn(["医生"]) | OccupationIn(["教师"])
    with pytest.raises(PredicateFormatError, match="must be of kind OccupationIn, got 'Or'"):
        OccupationIn.from_dict(doc)


def test_a_ticket_dict_is_the_documented_shape() -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    at = dt.datetime(2026, 3, 1, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    t = Ticket.open("T-9", kind="refund", customer_id="c1", created_at=at, channel="phone")
    data = t.to_dict()
    assert data["created_at"] == "2026-03-01T09:30:00+08:00[Asia/Shanghai]"
    assert (data["kind"], data["channel"], data["state"], data["version"]) == (
        "refund", "phone", "open", 0)
    assert data["history"] == [["2026-03-01T09:30:00+08:00[Asia/Shanghai]", "customer",
                                "created", "", "open"]]


# -- the old predicate serialiser names ------------------------------------------------------
@pytest.mark.parametrize(
    ("old", "new"),
    [("predicate_to_json", "Predicate.to_dict()"), ("predicate_from_json", "Predicate.from_dict"),
     ("predicate_to_str", "Predicate.to_json()"), ("predicate_from_str", "Predicate.from_json")],
)
def test_the_old_predicate_serialisers_warn_and_still_work(old: str, new: str) -> None:
    import ecrm.segments

    assert old not in ecrm.segments.__all__
    pattern = rf"ecrm\.segments\.{old} is deprecated.*use " + re.escape(new)
    with pytest.warns(DeprecationWarning, match=pattern):
        function = getattr(ecrm.segments, old)
    p = OccupationIn(["医生"])
    expected = {"version": 1, "predicate": {"field": "occupation", "in": ["医生"]}}
    text = '{"version":1,"predicate":{"field":"occupation","in":["医生"]}}'
    result = {"predicate_to_json": lambda: function(p), "predicate_to_str": lambda: function(p),
              "predicate_from_json": lambda: function(expected),
              "predicate_from_str": lambda: function(text)}[old]()
    assert result == {"predicate_to_json": expected, "predicate_to_str": text,
                      "predicate_from_json": p, "predicate_from_str": p}[old]


def test_core_exports_no_serialiser_helpers() -> None:
    assert not [n for n in ecrm.__all__ if "json" in n.lower()]
