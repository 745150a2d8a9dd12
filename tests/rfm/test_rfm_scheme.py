"""RfmScheme, Bins, RecencyBins and Grade: the preset's numbers and every validation rule."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs
import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given
from hypothesis import strategies as st

from ecrm import EcrmError, InvalidTypeError, SchemeError
from ecrm.rfm import TAOBAO_PGSB, Bins, Grade, RecencyBins, RfmScheme, SchemeErrorGroup
from ecrm.rfm._scheme import day_span, describe_duration
from ecrm.testing import rfm_schemes

MONTH = relativedelta(months=1)


def test_taobao_pgsb_matches_design_3_1() -> None:
    s = TAOBAO_PGSB
    assert s.recency.within == tuple(relativedelta(months=m) for m in (1, 3, 4, 7))
    assert s.recency.scores == (5, 4, 3, 2, 1)
    assert s.frequency.edges == (1, 2, 3, 4, 6)
    assert s.frequency.scores == (1, 2, 3, 4, 5)
    assert s.monetary.edges == (0, 30_000, 50_000, 100_000, 200_000)
    assert s.monetary.scores == (1, 2, 3, 4, 5)
    assert s.weights == (1, 3, 4)
    assert s.grade_cutoffs == (36, 26, 17)
    assert s.lookback == relativedelta(years=1)
    assert s.min_customers == 150_000
    assert (s.min_total, s.max_total) == (8, 40)
    assert s.name == "TAOBAO_PGSB"


@pytest.mark.parametrize(
    ("total", "grade"),
    [(40, Grade.P), (36, Grade.P), (35, Grade.G), (26, Grade.G), (25, Grade.S), (17, Grade.S),
     (16, Grade.B), (8, Grade.B)],
)
def test_taobao_grade_boundaries(total: int, grade: Grade) -> None:
    assert TAOBAO_PGSB.grade_of(total) is grade


def test_grade_names_and_codes() -> None:
    assert [(g.value, g.zh, g.en, g.code) for g in Grade] == [
        ("P", "铂金", "Platinum", 3), ("G", "黄金", "Gold", 2),
        ("S", "白银", "Silver", 1), ("B", "青铜", "Bronze", 0),
    ]
    assert [Grade.from_code(c) for c in range(4)] == [Grade.B, Grade.S, Grade.G, Grade.P]
    for bad in (-1, 4, True):
        with pytest.raises(ValueError, match="grade code"):
            Grade.from_code(bad)


def test_describe_grade_ranges() -> None:
    assert [TAOBAO_PGSB.describe_grade(g) for g in Grade] == [
        "total >= 36", "26 <= total <= 35", "17 <= total <= 25", "total <= 16",
    ]


def test_bins_score_of() -> None:
    b = TAOBAO_PGSB.frequency
    assert [b.score_of(v) for v in range(1, 9)] == [1, 2, 3, 4, 4, 5, 5, 5]
    with pytest.raises(ValueError, match="first edge"):
        b.score_of(0)


def test_schemes_are_frozen_and_evolvable() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        TAOBAO_PGSB.weights = (1, 1, 1)  # type: ignore[misc]
    smaller = attrs.evolve(TAOBAO_PGSB, min_customers=0, name="mine")
    assert smaller.min_customers == 0
    assert smaller.recency == TAOBAO_PGSB.recency


def test_describe_duration() -> None:
    assert [describe_duration(d) for d in (MONTH, relativedelta(months=7),
            relativedelta(years=1), relativedelta(months=24), relativedelta(days=1),
            relativedelta(weeks=2))] == ["1 month", "7 months", "1 year", "2 years", "1 day",
                                         "14 days"]


@pytest.mark.parametrize("months", [1, 2, 3, 7, 12, 13])
def test_day_span_matches_brute_force(months: int) -> None:
    # Every as_of over 2095–2105 (includes the non-leap 2100).
    start = dt.date(2095, 1, 1)
    delta = relativedelta(months=months)
    lengths = {(d - (d - delta)).days for d in (start + dt.timedelta(k) for k in range(4018))}
    assert day_span(delta) == (min(lengths), max(lengths))


def test_recency_bins_constructors_and_words() -> None:
    r = RecencyBins.days((30, 90), scores=(3, 2, 1))
    assert r.within == (relativedelta(days=30), relativedelta(days=90))
    assert [r.describe(k) for k in range(3)] == ["within 30 days", "within 90 days",
                                                 "more than 90 days"]
    assert RecencyBins((), (1,)).describe(0) == "any time"


# -- each broken rule is refused ----------------------------------------------------------
def _scheme(**changes: Any) -> RfmScheme:
    fields = {
        "recency": TAOBAO_PGSB.recency, "frequency": TAOBAO_PGSB.frequency,
        "monetary": TAOBAO_PGSB.monetary, "grade_cutoffs": (36, 26, 17),
    }
    fields.update(changes)
    return RfmScheme(**fields)


@pytest.mark.parametrize(
    ("build", "field", "words"),
    [
        (lambda: Bins(edges=(), scores=()), "edges", "at least one"),
        (lambda: Bins(edges=(1, 2), scores=(1,)), "scores", "one score per edge"),
        (lambda: Bins(edges=(1, 1), scores=(1, 2)), "edges[1]", "greater than edges[0]"),
        (lambda: Bins(edges=(3, 2), scores=(1, 2)), "edges[1]", "greater than edges[0]"),
        (lambda: Bins(edges=(-1, 2), scores=(1, 2)), "edges[0]", ">= 0"),
        (lambda: Bins(edges=(1, 2), scores=(2, 2)), "scores[1]", "greater than scores[0]"),
        (lambda: Bins(edges=(1, 2), scores=(0, 2)), "scores[0]", ">= 1"),
        (lambda: Bins(edges=(1, 2.5), scores=(1, 2)), "edges[1]", "must be an int"),
        (lambda: Bins(edges=(1, True), scores=(1, 2)), "edges[1]", "must be an int"),
        (lambda: RecencyBins((MONTH,), (2, 2)), "scores[1]", "less than scores[0]"),
        (lambda: RecencyBins((MONTH,), (1,)), "scores", "one score per duration"),
        (lambda: RecencyBins((relativedelta(months=2), MONTH), (3, 2, 1)), "within[1]",
         "longer than within[0]"),
        (lambda: RecencyBins((MONTH, relativedelta(days=30)), (3, 2, 1)), "within[1]",
         "for every as_of"),
        (lambda: RecencyBins((relativedelta(months=1, days=2),), (2, 1)), "within[0]",
         "not both"),
        (lambda: RecencyBins((relativedelta(hours=5),), (2, 1)), "within[0]", "whole months"),
        (lambda: RecencyBins((relativedelta(months=-1),), (2, 1)), "within[0]", "positive"),
        (lambda: RecencyBins((relativedelta(day=31),), (2, 1)), "within[0]", "relative only"),
        (lambda: RecencyBins((dt.timedelta(days=3),), (2, 1)), "within[0]", "relativedelta"),
        (lambda: _scheme(frequency=Bins(edges=(2, 3), scores=(1, 5))), "frequency.edges[0]",
         "must be 1"),
        (lambda: _scheme(monetary=Bins(edges=(100, 200), scores=(1, 5))), "monetary.edges[0]",
         "must be 0 fen"),
        (lambda: _scheme(weights=(1, 0, 4)), "weights[1]", ">= 1"),
        (lambda: _scheme(weights=(1, 3)), "weights", "3 weights"),
        (lambda: _scheme(grade_cutoffs=(36, 36, 17)), "grade_cutoffs[1]", "less than P's 36"),
        (lambda: _scheme(grade_cutoffs=(36, 17, 26)), "grade_cutoffs[2]", "less than G's 17"),
        (lambda: _scheme(grade_cutoffs=(41, 26, 17)), "grade_cutoffs[0]", "highest total 40"),
        (lambda: _scheme(grade_cutoffs=(36, 26, 8)), "grade_cutoffs[2]", "lowest total 8"),
        (lambda: _scheme(grade_cutoffs=(36, 26)), "grade_cutoffs", "3 lower bounds"),
        (lambda: _scheme(lookback=relativedelta(months=6)), "recency.within[3]",
         "shorter than the lookback"),
        (lambda: _scheme(lookback=relativedelta(hours=1)), "lookback", "whole months"),
        (lambda: _scheme(min_customers=-1), "min_customers", ">= 0"),
        (lambda: _scheme(name=" "), "name", "non-empty"),
        (lambda: _scheme(recency=TAOBAO_PGSB.frequency), "recency", "RecencyBins"),
    ],
)
def test_each_broken_rule_is_refused(build: Any, field: str, words: str) -> None:
    # a batch check raises its group even for one problem (one except clause for every case)
    with pytest.raises(SchemeErrorGroup) as info:
        build()
    (problem,) = info.value.problems
    assert isinstance(problem, SchemeError)
    assert problem.field == field
    assert words in str(problem)


def test_several_problems_are_reported_together() -> None:
    with pytest.raises(SchemeErrorGroup) as info:
        _scheme(weights=(0, 3, -4), min_customers=-5, name="")
    fields = [p.field for p in info.value.problems]
    assert fields == ["weights[0]", "weights[2]", "min_customers", "name"]
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, EcrmError)
    assert "invalid RFM scheme (4 problem(s))" in str(info.value)


def test_error_message_names_field_rule_and_value() -> None:
    with pytest.raises(SchemeErrorGroup) as info:
        _scheme(grade_cutoffs=(50, 26, 17))
    (problem,) = info.value.problems
    assert str(problem) == "grade_cutoffs[0] (P) must be <= the highest total 40, got 50"


@given(rfm_schemes(min_customers=None))
def test_generated_schemes_are_valid_and_rebuild(scheme: RfmScheme) -> None:
    again = RfmScheme(
        recency=RecencyBins(scheme.recency.within, scheme.recency.scores),
        frequency=Bins(scheme.frequency.edges, scheme.frequency.scores),
        monetary=Bins(scheme.monetary.edges, scheme.monetary.scores),
        grade_cutoffs=scheme.grade_cutoffs, weights=scheme.weights, lookback=scheme.lookback,
        min_customers=scheme.min_customers, name=scheme.name,
    )
    assert again == scheme
    p, g, s = scheme.grade_cutoffs
    assert scheme.min_total < s < g < p <= scheme.max_total


@given(st.from_type(RfmScheme))
def test_from_type_draws_schemes(scheme: RfmScheme) -> None:
    assert isinstance(scheme, RfmScheme)


def test_cutoff_order_is_checked_even_when_weights_are_broken() -> None:
    with pytest.raises(SchemeErrorGroup) as info:
        _scheme(weights=(1, 0, 4), grade_cutoffs=(36, 40, 17))
    assert [p.field for p in info.value.problems] == ["weights[1]", "grade_cutoffs[1]"]


def test_table_lists_missing_scores_as_dashes() -> None:
    scheme = _scheme(frequency=Bins(edges=(1, 3), scores=(1, 5)))
    lines = scheme.table().splitlines()
    assert lines[2].split()[:3] == ["4", "within", "3"]
    assert "-" in lines[2].split()
    assert describe_duration(relativedelta(days=90), adjective=True) == "90-day"


@pytest.mark.parametrize(
    "build",
    [
        lambda: Bins(edges=3, scores=(1,)),
        lambda: RecencyBins(MONTH, (2, 1)),
        lambda: _scheme(grade_cutoffs=36),
        lambda: _scheme(weights="134"),
    ],
)
def test_non_sequences_are_refused_with_a_type_error(build: Any) -> None:
    with pytest.raises(InvalidTypeError, match="must be a sequence"):
        build()


def test_window_is_the_deprecated_alias_of_lookback() -> None:
    """The duration was named ``window``; keyword and attribute still work, with a warning."""
    with pytest.warns(DeprecationWarning, match=r"window= is deprecated.*use lookback="):
        old = _scheme(window=relativedelta(months=8))
    assert old == _scheme(lookback=relativedelta(months=8))
    with pytest.warns(DeprecationWarning, match=r"RfmScheme.window is deprecated.*\.lookback"):
        assert old.window == relativedelta(months=8)
    with pytest.raises(TypeError, match="both lookback= and its deprecated alias window="):
        _scheme(window=relativedelta(months=8), lookback=relativedelta(months=8))
