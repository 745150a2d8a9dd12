"""Predicate values: construction rules, combination, JSON schema errors, public surface."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

import ecrm.segments
from ecrm import Gender, InvalidTypeError, InvalidValueError, Window
from ecrm.lifecycle import Stage
from ecrm.rfm import Grade
from ecrm.segments import (
    AgeBetween,
    And,
    BirthdayBetween,
    Blocked,
    Carted,
    GenderIn,
    HasTags,
    MemberLevelIn,
    Not,
    OccupationIn,
    Or,
    Ordered,
    Predicate,
    PredicateFormatError,
    ProvinceIn,
    Repurchased,
    RfmGradeIn,
    StageIn,
    Visited,
)

SH = ZoneInfo("Asia/Shanghai")
# The one serialisation convention (0.1.0): the old function names are the methods.
predicate_to_json = Predicate.to_dict
predicate_from_json = Predicate.from_dict
predicate_from_str = Predicate.from_json


def test_public_surface_is_exactly_all() -> None:
    # isort-style, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions.
    def kind(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    public = {n for n in dir(ecrm.segments) if not n.startswith("_")}
    assert public == set(ecrm.segments.__all__)
    assert list(ecrm.segments.__all__) == sorted(ecrm.segments.__all__, key=kind)
    for name in ecrm.segments.__all__:
        value = getattr(ecrm.segments, name)
        if callable(value):
            assert value.__doc__, name


def test_operators_flatten_and_nest() -> None:
    a, b, c = OccupationIn(["医生"]), Blocked(), Visited()
    assert a & b & c == And((a, b, c))
    assert a | b | c == Or((a, b, c))
    assert ~a == Not(a)
    assert (a & b) | c == Or((And((a, b)), c))
    with pytest.raises(InvalidTypeError, match="both sides of &"):
        a & "x"  # type: ignore[operator]


def test_doctor_or_teacher_json_is_the_documented_shape() -> None:
    p = OccupationIn(["医生", "教师"])
    assert predicate_to_json(p) == {
        "version": 1, "predicate": {"field": "occupation", "in": ["医生", "教师"]}}


def test_values_are_normalised() -> None:
    assert ProvinceIn(["浙江", "Zhejiang", "33", "广东"]).values == ("浙江省", "广东省")
    assert GenderIn(["女", "m"]).values == (Gender.FEMALE, Gender.MALE)
    assert RfmGradeIn(["S", "P"]).values == (Grade.P, Grade.S)
    assert StageIn(["churned", Stage.NEW]).values == (Stage.NEW, Stage.CHURNED)
    assert MemberLevelIn([3, 1, 3]).values == (1, 3)
    assert OccupationIn("医生").values == ("医生",)


@pytest.mark.parametrize(
    ("make", "field", "match"),
    [
        (lambda: ProvinceIn(["火星"]), "values[0]", "must name a province"),
        (lambda: OccupationIn([]), "values", "at least one"),
        (lambda: OccupationIn(["医生", ""]), "values[1]", "non-empty"),
        (lambda: AgeBetween(40, 30), "age", "min_age must not exceed"),
        (lambda: AgeBetween(), "age", "needs min_age or max_age"),
        (lambda: BirthdayBetween("02-30", "03-01"), "birthday", "real month and day"),
        (lambda: BirthdayBetween("2-3", "03-01"), "birthday", "MM-DD"),
        (lambda: Carted(last_days=0), "last_days", ">= 1"),
        (lambda: Carted(last_days=3, start=dt.date(2025, 1, 1)), "window", "not both"),
        (lambda: Carted(start=dt.date(2025, 2, 1), end=dt.date(2025, 1, 1)), "window", "before"),
        (lambda: Carted(start=dt.datetime(2025, 1, 1)), "window", "aware"),
        (lambda: Repurchased(min_days=1), "min_days", ">= 2"),
        (lambda: RfmGradeIn(["X"]), "values[0]", "grade"),
        (lambda: StageIn(["dead"]), "values[0]", "stage"),
        (lambda: MemberLevelIn([-1]), "values[0]", "level"),
        (lambda: And([]), "args", "at least one"),
    ],
)
def test_bad_values_name_the_field(make, field, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidValueError, match=match) as info:
        make()
    assert info.value.field == field


def test_non_predicates_are_type_errors() -> None:
    with pytest.raises(InvalidTypeError):
        Not("x")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError):
        And([Blocked(), 3])  # type: ignore[list-item]
    with pytest.raises(InvalidTypeError):
        HasTags(5)  # type: ignore[arg-type]


def test_windows_and_dates_round_trip() -> None:
    june = Window(dt.datetime(2025, 6, 1, tzinfo=SH), dt.datetime(2025, 6, 19, tzinfo=dt.UTC))
    p = Carted(window=june) & Ordered(valid_only=False, last_days=7) & Repurchased(min_days=3)
    doc = predicate_to_json(p)
    assert doc["predicate"]["args"][0] == {"field": "carted", "window": {
        "start": "2025-06-01T00:00:00+08:00", "end": "2025-06-19T00:00:00+00:00"}}
    assert doc["predicate"]["args"][1] == {"field": "ordered", "last_days": 7, "valid": False}
    assert predicate_from_json(doc) == p


def test_a_json_window_of_local_days_names_its_zone() -> None:
    """``{"start": date, "end": date, "tz": zone}`` is Window.of_dates; dates without a zone
    are refused (the zone is part of what the range means)."""
    node = {"field": "carted", "window": {"start": "2025-06-01", "end": "2025-06-19",
                                          "tz": "Asia/Shanghai"}}
    expected = Carted(window=Window.of_dates(dt.date(2025, 6, 1), dt.date(2025, 6, 19), SH))
    assert predicate_from_json({"version": 1, "predicate": node}) == expected
    del node["window"]["tz"]  # type: ignore[attr-defined]
    with pytest.raises(PredicateFormatError, match="tz is required") as info:
        predicate_from_json({"version": 1, "predicate": node})
    assert info.value.field == "predicate.window.tz"
    bad = {"field": "carted", "window": {"start": "2025-06-19T00:00:00+08:00",
                                         "end": "2025-06-01T00:00:00+08:00"}}
    with pytest.raises(PredicateFormatError, match="after start"):
        predicate_from_json({"version": 1, "predicate": bad})


def test_start_end_are_deprecated_for_behaviour_leaves() -> None:
    """The old bounds work one release: two instants become a window; dates or an open
    bound are kept (local midnights in the audience's zone), and JSON keeps them."""
    a, b = dt.datetime(2025, 6, 1, tzinfo=SH), dt.datetime(2025, 6, 19, tzinfo=SH)
    with pytest.warns(DeprecationWarning, match=r"Carted\(\): the keywords start=/end="):
        old = Carted(start=a, end=b)
    assert old == Carted(window=Window(a, b))
    with pytest.warns(DeprecationWarning, match="start=/end="):
        dated = Ordered(start=dt.date(2025, 6, 1), valid_only=False)
    assert dated.window is None
    assert dated.legacy_bounds == (dt.date(2025, 6, 1), None)
    assert dated.describe() == "placed an order (any status) in [2025-06-01, as_of)"
    doc = predicate_to_json(dated)
    assert doc["predicate"] == {"field": "ordered", "start": "2025-06-01", "valid": False}
    with pytest.warns(DeprecationWarning, match='keys "start"/"end" are deprecated'):
        assert predicate_from_json(doc) == dated
    with pytest.raises(TypeError, match="window= and its deprecated"):
        Carted(window=Window(a, b), start=a)
    with pytest.raises(InvalidTypeError, match=r"window must be an ecrm\.Window"):
        Carted(window=(a, b))  # type: ignore[arg-type]


def test_grade_and_stage_at_round_trip() -> None:
    p = RfmGradeIn(["P"], as_of=dt.date(2025, 6, 1)) & RfmGradeIn(["B"]) \
        & StageIn(["active"], as_of=dt.datetime(2025, 6, 1, 8, tzinfo=dt.UTC))
    doc = predicate_to_json(p)
    assert doc["predicate"]["args"] == [
        {"field": "rfm_grade", "in": ["P"], "as_of": "2025-06-01"},
        {"field": "rfm_grade", "in": ["B"]},
        {"field": "stage", "in": ["active"], "as_of": "2025-06-01T08:00:00+00:00"},
    ]
    assert predicate_from_json(doc) == p


@pytest.mark.parametrize(
    ("doc", "path", "match"),
    [
        ({"version": 2, "predicate": {"field": "blocked"}}, "version", "must be 1"),
        ({"predicate": {"field": "blocked"}}, "version", "must be 1"),
        ({"version": 1}, "predicate", "required"),
        ({"version": 1, "predicate": {"field": "blocked"}, "x": 1}, "x", "not a key"),
        ({"version": 1, "predicate": {"op": "xor", "args": []}}, "predicate.op", "and, or, not"),
        ({"version": 1, "predicate": {"field": "job", "in": ["医生"]}}, "predicate.field",
         "must be one of"),
        ({"version": 1, "predicate": {"op": "and", "args": [
            {"field": "blocked"}, {"field": "occupation", "in": "医生"}]}},
         "predicate.args[1].in", "non-empty list"),
        ({"version": 1, "predicate": {"op": "or", "args": [
            {"field": "blocked"}, {"op": "not", "arg": {"field": "province", "in": ["浙江", "x"]}}
        ]}}, "predicate.args[1].arg.in[1]", "must name a province"),
        ({"version": 1, "predicate": {"field": "carted", "last_days": 3, "when": 1}},
         "predicate.when", "not a key"),
        ({"version": 1, "predicate": {"field": "carted", "window": {
            "start": "2025-13-01", "end": "2025-06-19", "tz": "Asia/Shanghai"}}},
         "predicate.window.start", "ISO date"),
        ({"version": 1, "predicate": {"field": "carted", "window": {
            "start": "2025-01-01T00:00", "end": "2025-06-19T00:00:00+08:00"}}},
         "predicate.window.start", "UTC offset"),
        ({"version": 1, "predicate": {"field": "carted", "start": "2025-13-01"}},
         "predicate.start", "ISO date"),
        ({"version": 1, "predicate": {"field": "rfm_grade", "in": ["P"], "as_of": "June"}},
         "predicate.as_of", "ISO date"),
        ({"version": 1, "predicate": {"field": "stage", "in": ["new"], "as_of": "2025-06-01T00:00"}},
         "predicate.as_of", "UTC offset"),
        ({"version": 1, "predicate": {"field": "stage", "in": ["new"], "last_days": 3}},
         "predicate.last_days", "not a key"),
        ({"version": 1, "predicate": {"field": "ordered", "valid": "yes"}},
         "predicate.valid", "true or false"),
        ({"version": 1, "predicate": {"field": "tags", "any": ["a"], "all": ["b"]}},
         "predicate", "exactly one"),
        ({"version": 1, "predicate": {"field": "age", "min": 50, "max": 20}},
         "predicate", "min_age must not exceed"),
        ({"version": 1, "predicate": {"op": "not"}}, "predicate.arg", "required"),
        ({"version": 1, "predicate": {"op": "and", "field": "x"}}, "predicate", "not both"),
        ({"version": 1, "predicate": []}, "predicate", "must be an object"),
        ({"version": 1, "predicate": {"in": []}}, "predicate", "'op' or a 'field'"),
    ],
)
def test_bad_documents_name_the_path(doc, path, match) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PredicateFormatError, match=match) as info:
        predicate_from_json(doc)
    assert info.value.field == path
    assert isinstance(info.value, ValueError)


def test_bad_json_text() -> None:
    with pytest.raises(PredicateFormatError, match="must be JSON text"):
        predicate_from_str("{nope")
    assert predicate_from_str('{"version":1,"predicate":{"field":"blocked"}}') == Blocked()


def test_grade_and_stage_leaves_take_at_as_a_deprecated_alias_of_as_of() -> None:
    june = dt.date(2025, 6, 1)
    old: Any = {"at": june}
    with pytest.warns(DeprecationWarning, match=r"RfmGradeIn.*the keyword at= .*as_of="):
        grade = RfmGradeIn(["P"], **old)
    with pytest.warns(DeprecationWarning, match=r"StageIn.*the keyword at="):
        stage = StageIn(["active"], **old)
    assert grade == RfmGradeIn(["P"], as_of=june)
    assert stage == StageIn(["active"], as_of=june)
    with pytest.warns(DeprecationWarning, match=r"RfmGradeIn.at is deprecated"):
        assert grade.at == june
    with pytest.raises(TypeError, match="both as_of= and its deprecated alias at="):
        RfmGradeIn(["P"], as_of=june, **old)


def test_json_key_at_is_a_deprecated_alias_of_as_of() -> None:
    doc = {"version": 1, "predicate": {"field": "stage", "in": ["active"], "at": "2025-06-01"}}
    with pytest.warns(DeprecationWarning, match=r'predicate: the key "at" is deprecated'):
        p = predicate_from_json(doc)
    assert p == StageIn(["active"], as_of=dt.date(2025, 6, 1))
    both = {"version": 1, "predicate": {"field": "stage", "in": ["active"],
                                        "at": "2025-06-01", "as_of": "2025-06-01"}}
    with pytest.raises(PredicateFormatError, match="with its new name as_of") as info:
        predicate_from_json(both)
    assert info.value.field == "predicate.at"


def test_carted_not_bought_takes_a_window_or_last_days() -> None:
    """One range: a Window (local days stated with their zone) or as_of plus N days."""
    june = Window.of_dates(dt.date(2025, 6, 1), dt.date(2025, 6, 19), SH)
    assert ecrm.segments.carted_not_bought(june) == (
        Carted(window=june) & ecrm.segments.Not(Ordered(window=june)))
    assert ecrm.segments.carted_not_bought(last_days=7) == (
        Carted(last_days=7) & ecrm.segments.Not(Ordered(last_days=7)))
    assert ecrm.segments.carted_618_not_bought(2025) == ecrm.segments.carted_not_bought(june)
    berlin = ecrm.segments.carted_618_not_bought(2025, "Europe/Berlin")
    assert berlin.args[0].window.start.isoformat() == "2025-06-01T00:00:00+02:00"  # type: ignore[attr-defined]
    with pytest.raises(InvalidValueError, match="exactly one of window and last_days"):
        ecrm.segments.carted_not_bought()
    with pytest.raises(InvalidValueError, match="exactly one of window and last_days"):
        ecrm.segments.carted_not_bought(june, last_days=3)


def test_carted_not_bought_start_end_is_deprecated() -> None:
    """``carted_not_bought(start, end)`` keeps its local-day meaning for one release."""
    old: Any = ecrm.segments.carted_not_bought
    with pytest.warns(DeprecationWarning, match=r"carted_not_bought\(start, end\) is deprecated"):
        p = old(dt.date(2025, 6, 1), dt.date(2025, 6, 19))
    assert p.args[0].legacy_bounds == (dt.date(2025, 6, 1), dt.date(2025, 6, 19))
    assert p.describe() == ("(carted in [2025-06-01, 2025-06-19)) and "
                            "(not (placed a valid order in [2025-06-01, 2025-06-19)))")
