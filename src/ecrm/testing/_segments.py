"""Strategies for audience predicates (:mod:`ecrm.segments`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st

from ecrm._gender import Gender
from ecrm._window import Window
from ecrm.lifecycle import Stage
from ecrm.rfm import Grade
from ecrm.segments import (
    AgeBetween,
    And,
    AudienceContext,
    BirthdayBetween,
    Blocked,
    Carted,
    Favorited,
    FavoritedNotBought,
    GenderIn,
    HasTags,
    MemberLevelIn,
    Not,
    OccupationIn,
    Or,
    Ordered,
    Predicate,
    PredictedClvBetween,
    ProbabilityAliveBetween,
    ProvinceIn,
    Repurchased,
    RfmGradeIn,
    StageIn,
    Visited,
)

__all__ = ["audience_contexts", "leaf_predicates", "predicates"]

_OCCUPATIONS = ("医生", "教师", "学生", "工程师")
_PROVINCES = ("浙江省", "浙江", "广东省", "上海市", "Zhejiang", "44")
_TAGS = ("茶友", "直播粉丝", "学生党", "vip", "gift")


def _subset(values: Any) -> st.SearchStrategy[list[Any]]:
    return st.lists(st.sampled_from(values), min_size=1, max_size=3, unique=True)


@st.composite
def _windows(draw: st.DrawFn) -> dict[str, Any]:
    shape = draw(st.sampled_from(["ever", "last", "dates", "instants"]))
    if shape == "last":
        return {"last_days": draw(st.integers(min_value=1, max_value=800))}
    if shape == "ever":
        return {}
    lo = draw(st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2025, 6, 1)))
    hi = lo + dt.timedelta(days=draw(st.integers(min_value=1, max_value=400)))
    if shape == "dates":
        zone = draw(st.sampled_from(["Asia/Shanghai", "America/New_York", "Europe/Berlin"]))
        return {"window": Window.of_dates(lo, hi, zone)}
    offset = dt.timezone(dt.timedelta(hours=draw(st.integers(min_value=-8, max_value=9))))
    return {"window": Window(dt.datetime(lo.year, lo.month, lo.day, 6, tzinfo=offset),
                             dt.datetime(hi.year, hi.month, hi.day, 18, tzinfo=offset))}


@st.composite
def _instants(draw: st.DrawFn) -> dt.date | dt.datetime | None:
    """``at`` of a grade or stage clause: mostly ``None`` (as_of), else a date or an instant."""
    shape = draw(st.sampled_from(["as_of", "as_of", "date", "instant"]))
    if shape == "as_of":
        return None
    day = draw(st.dates(min_value=dt.date(2023, 1, 1), max_value=dt.date(2025, 12, 31)))
    if shape == "date":
        return day
    offset = dt.timezone(dt.timedelta(hours=draw(st.integers(min_value=-8, max_value=9))))
    return dt.datetime(day.year, day.month, day.day, 12, tzinfo=offset)


@st.composite
def _month_days(draw: st.DrawFn) -> str:
    month = draw(st.integers(min_value=1, max_value=12))
    last = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
    return f"{month:02d}-{draw(st.integers(min_value=1, max_value=last)):02d}"


@st.composite
def _ages(draw: st.DrawFn) -> AgeBetween:
    lo = draw(st.none() | st.integers(min_value=0, max_value=80))
    hi = draw(st.none() | st.integers(min_value=lo or 0, max_value=100))
    if lo is None and hi is None:
        hi = 40
    return AgeBetween(lo, hi)


def leaf_predicates(*, behaviour: bool = True, derived: bool = True, predicted: bool = False,
                    ) -> st.SearchStrategy[Predicate]:
    """Single-clause predicates of every kind.

    Args:
        behaviour: include behaviour clauses (visited, carted, ordered, ...).
        derived: include clauses that need a ladder, an RFM score or a cycle.
        predicted: include clauses on predictions (P(alive), CLV), which an audience can
            only evaluate with ``AudienceContext(predictions=...)``; off by default.
    """
    options: list[st.SearchStrategy[Predicate]] = [
        _subset(list(Gender)).map(GenderIn),
        _ages(),
        st.builds(BirthdayBetween, _month_days(), _month_days()),
        _subset(_OCCUPATIONS).map(OccupationIn),
        _subset(_PROVINCES).map(ProvinceIn),
        st.builds(HasTags, _subset(_TAGS), require_all=st.booleans()),
        st.just(Blocked()),
    ]
    if behaviour:
        options += [
            _windows().map(lambda w: Visited(**w)),
            _windows().map(lambda w: Carted(**w)),
            _windows().map(lambda w: Favorited(**w)),
            _windows().map(lambda w: FavoritedNotBought(**w)),
            st.builds(lambda w, v: Ordered(**w, valid_only=v), _windows(), st.booleans()),
            st.builds(lambda w, k: Repurchased(**w, min_days=k), _windows(),
                      st.integers(min_value=2, max_value=4)),
        ]
    if derived:
        options += [
            _subset([0, 1, 2, 3, 4]).map(MemberLevelIn),
            st.builds(lambda v, at: RfmGradeIn(v, as_of=at), _subset(list(Grade)), _instants()),
            st.builds(lambda v, at: StageIn(v, as_of=at), _subset(list(Stage)), _instants()),
        ]
    if predicted:
        unit = st.floats(min_value=0.0, max_value=1.0)
        fen = st.integers(min_value=0, max_value=10**8)
        options += [
            st.tuples(unit, unit).map(sorted).map(lambda b: ProbabilityAliveBetween(b[0], b[1])),
            st.builds(ProbabilityAliveBetween, max_value=unit),
            st.tuples(fen, fen).map(sorted).map(lambda b: PredictedClvBetween(b[0], b[1])),
            st.builds(PredictedClvBetween, min_fen=fen),
        ]
    return st.one_of(options)


def predicates(
    *, max_leaves: int = 6, behaviour: bool = True, derived: bool = True, predicted: bool = False
) -> st.SearchStrategy[Predicate]:
    """Predicate trees of ``And`` / ``Or`` / ``Not`` over :func:`leaf_predicates`."""
    return st.recursive(
        leaf_predicates(behaviour=behaviour, derived=derived, predicted=predicted),
        lambda children: st.one_of(
            st.lists(children, min_size=1, max_size=3).map(And),
            st.lists(children, min_size=1, max_size=3).map(Or),
            children.map(Not),
        ),
        max_leaves=max_leaves,
    )


@st.composite
def audience_contexts(draw: st.DrawFn, *, currency: str = "CNY") -> AudienceContext:
    """:class:`AudienceContext` s with a random ladder, RFM scheme and 5221 bands (or the
    shop's own cycle), and the default valid statuses."""
    from ecrm.testing._lifecycle import cycle_bands
    from ecrm.testing._rfm import rfm_schemes
    from ecrm.testing._tiers import tier_ladders

    return AudienceContext(
        ladder=draw(tier_ladders(max_levels=4, currency=currency)),
        rfm_scheme=draw(rfm_schemes()),
        cycle=draw(st.none() | cycle_bands()),
    )
