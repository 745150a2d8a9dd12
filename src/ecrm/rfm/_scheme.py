"""RFM scoring schemes: bins, weights and grade cut-offs, and the preset :data:`TAOBAO_PGSB`.

A scheme is a validated, frozen value. Construction checks every rule and reports all
violations at once (a single :class:`~ecrm.SchemeError`, or a :class:`SchemeErrorGroup`
when there are several), so an invalid scheme never exists.
"""

from __future__ import annotations

import datetime as dt
import numbers
import operator
from collections.abc import Iterable
from functools import lru_cache
from typing import Any, Final

import attrs
from dateutil.relativedelta import relativedelta

from ecrm._deprecate import renamed_attribute, renamed_kwarg
from ecrm._money import Money
from ecrm.errors import (
    InvalidTypeError,
    InvalidValueError,
    SchemeError,
    SchemeErrorGroup,
)
from ecrm.rfm._grade import Grade

__all__ = [
    "TAOBAO_PGSB",
    "Bins",
    "RecencyBins",
    "RfmScheme",
    "SchemeErrorGroup",
    "describe_count_bin",
    "describe_duration",
    "describe_money_bin",
]

# A century: longer than any recency bin means, short enough for date arithmetic.
_MAX_MONTHS = 1200
_MAX_DAYS = 36_525


def _bounded(field: str, values: Iterable[int], limit: int) -> tuple[int, ...]:
    """Whole numbers with ``abs(v) <= limit`` (a window past datetime's range has no days)."""
    out: list[int] = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or abs(int(v)) > limit:
            raise InvalidValueError(field, f"must hold whole numbers up to {limit:,}", v)
        out.append(int(v))
    return tuple(out)


def _raise(what: str, problems: list[InvalidValueError]) -> None:
    """Raise every problem of one check together: the group, even for a single problem."""
    if problems:
        raise SchemeErrorGroup(f"invalid {what}", problems)


def _sequence(values: object, what: str) -> tuple[Any, ...]:
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise InvalidTypeError(f"{what} must be a sequence, got {type(values).__name__} {values!r}")
    return tuple(values)


def _int_tuple(values: Iterable[Any]) -> tuple[Any, ...]:
    # Keep non-integers as they are so that validation can name them; integers (also
    # numpy integers) become plain ints.
    out: list[Any] = []
    for v in _sequence(values, "bin edges, scores, weights and grade cut-offs"):
        if isinstance(v, bool | float):
            out.append(v)
            continue
        try:
            out.append(operator.index(v))
        except TypeError:
            out.append(v)
    return tuple(out)


def _check_ints(
    values: tuple[Any, ...], field: str, minimum: int, problems: list[InvalidValueError]
) -> bool:
    ok = True
    for i, v in enumerate(values):
        if not isinstance(v, int) or isinstance(v, bool):
            problems.append(SchemeError(f"{field}[{i}]", "must be an int", v))
            ok = False
        elif v < minimum:
            problems.append(SchemeError(f"{field}[{i}]", f"must be >= {minimum}", v))
            ok = False
    return ok


def _check_monotonic(
    values: tuple[int, ...],
    field: str,
    problems: list[InvalidValueError],
    *,
    increasing: bool = True,
) -> None:
    for i in range(1, len(values)):
        a, b = values[i - 1], values[i]
        if (b <= a) if increasing else (b >= a):
            word = "greater" if increasing else "less"
            problems.append(
                SchemeError(f"{field}[{i}]", f"must be {word} than {field}[{i - 1}] ({a})", b)
            )


@attrs.frozen
class Bins:
    """Integer bins for frequency (orders) or monetary value (fen), by lower edge.

    A value ``v`` falls in the last bin whose lower edge is ``<= v`` and gets that bin's
    score. Edges and scores both rise strictly, so a larger value never scores lower.

    Args:
        edges: the lower edge of each bin, ints >= 0, strictly increasing (orders for F,
            fen for M).
        scores: the score of each bin, ints >= 1, strictly increasing; one per edge.

    Raises:
        SchemeError / SchemeErrorGroup: every broken rule.

    >>> Bins(edges=(1, 2, 3, 4, 6), scores=(1, 2, 3, 4, 5)).score_of(5)
    4
    """

    edges: tuple[int, ...] = attrs.field(converter=_int_tuple)
    scores: tuple[int, ...] = attrs.field(converter=_int_tuple)

    def __attrs_post_init__(self) -> None:
        problems: list[InvalidValueError] = []
        if not self.edges:
            problems.append(SchemeError("edges", "must hold at least one lower edge", self.edges))
        if len(self.scores) != len(self.edges):
            problems.append(
                SchemeError(
                    "scores", f"must hold one score per edge ({len(self.edges)})", self.scores
                )
            )
        if _check_ints(self.edges, "edges", 0, problems):
            _check_monotonic(self.edges, "edges", problems)
        if _check_ints(self.scores, "scores", 1, problems):
            _check_monotonic(self.scores, "scores", problems)
        _raise("bins", problems)

    def score_of(self, value: int) -> int:
        """The score of one value (the bin with the largest lower edge <= ``value``).

        Raises:
            InvalidValueError: ``value`` is below the first edge.
        """
        k = self.bin_of(value)
        return self.scores[k]

    def bin_of(self, value: int) -> int:
        """The index of the bin holding ``value``."""
        if value < self.edges[0]:
            raise InvalidValueError("value", f"must be >= the first edge {self.edges[0]}", value)
        k = 0
        while k + 1 < len(self.edges) and self.edges[k + 1] <= value:
            k += 1
        return k


def describe_count_bin(bins: Bins, k: int, var: str) -> str:
    """The rule of integer bin ``k`` in words (``"4 <= F <= 5"``, ``"F >= 6"``, ``"F = 3"``)."""
    lo = bins.edges[k]
    if k == len(bins.edges) - 1:
        return f"{var} >= {lo}"
    hi = bins.edges[k + 1] - 1
    return f"{var} = {lo}" if lo == hi else f"{lo} <= {var} <= {hi}"


def describe_money_bin(bins: Bins, k: int, var: str, currency: str) -> str:
    """The rule of monetary bin ``k`` in words (``"¥500.00 <= M < ¥1,000.00"``)."""
    lo = str(Money(bins.edges[k], currency))
    if k == len(bins.edges) - 1:
        return f"{var} >= {lo}" if k else f"any {var}"
    hi = str(Money(bins.edges[k + 1], currency))
    return f"{var} < {hi}" if k == 0 else f"{lo} <= {var} < {hi}"


# -- calendar durations -------------------------------------------------------------------

_ABSOLUTE: Final = ("year", "month", "day", "weekday", "hour", "minute", "second", "microsecond")
_TIME_PARTS: Final = ("hours", "minutes", "seconds", "microseconds")


def _duration_problem(value: object) -> str | None:
    """Why ``value`` is not a positive whole-month or whole-day relativedelta (or None)."""
    if not isinstance(value, relativedelta):
        return "must be a dateutil relativedelta (e.g. relativedelta(months=1))"
    if any(getattr(value, a) is not None for a in _ABSOLUTE) or value.leapdays:
        return "must be relative only (months=/years= or days=/weeks=, no absolute fields)"
    if any(getattr(value, a) for a in _TIME_PARTS):
        return "must be whole months or whole days (no hours/minutes/seconds)"
    months = value.years * 12 + value.months
    if months and value.days:
        return "must be whole months or whole days, not both"
    if months < 0 or value.days < 0 or (months == 0 and value.days == 0):
        return "must be positive"
    return None


def _count_unit(value: relativedelta) -> tuple[int, str]:
    months = value.years * 12 + value.months
    if months:
        return (months // 12, "year") if months % 12 == 0 else (months, "month")
    return value.days, "day"


def describe_duration(value: relativedelta, *, adjective: bool = False) -> str:
    """A duration in words: ``"1 month"``, ``"7 months"``, ``"1 year"``, ``"30 days"``;
    as an adjective ``"1-year"``, ``"90-day"``."""
    n, unit = _count_unit(value)
    if adjective:
        return f"{n}-{unit}"
    return f"{n} {unit}" if n == 1 else f"{n} {unit}s"


@lru_cache(maxsize=256)
def _day_span(months: int, days: int) -> tuple[int, int]:
    """The shortest and longest length in days of ``as_of − duration .. as_of`` over every
    ``as_of`` (month-end clipping makes month durations vary)."""
    if not months:
        return days, days
    delta = relativedelta(months=months)
    # Within a month the span never shrinks as the day grows (clipping only lengthens it),
    # so the extremes sit on first and last days of months. 2095–2105 has ordinary leap
    # years, the non-leap 2100 and every month-length pattern.
    anchors: list[dt.date] = []
    for year in range(2095, 2106):
        for month in range(1, 13):
            first = dt.date(year, month, 1)
            anchors += [first, first + relativedelta(months=1, days=-1)]
    lengths = [(anchor - (anchor - delta)).days for anchor in anchors]
    return min(lengths), max(lengths)


def day_span(value: relativedelta) -> tuple[int, int]:
    """The shortest and longest number of days that ``value`` can span (see ``_day_span``)."""
    return _day_span(value.years * 12 + value.months, value.days)


def _durations(values: Iterable[Any]) -> tuple[relativedelta, ...]:
    return _sequence(values, "recency durations (within)")


@attrs.frozen
class RecencyBins:
    """Recency bins as calendar durations back from ``as_of``, with their scores.

    A customer whose last valid order was placed at or after ``as_of − within[i]`` (in the
    store's zone, ``relativedelta`` calendar arithmetic with month-end clipping) gets
    ``scores[i]`` for the first such ``i``; anyone else in the evaluation window gets
    ``scores[-1]``. So ``scores`` has one more entry than ``within``.

    Args:
        within: durations (whole months/years, or whole days/weeks), strictly increasing
            for every ``as_of``; may be empty (one bin for the whole window).
        scores: ints >= 1, strictly decreasing (a more recent order never scores lower).

    Raises:
        SchemeError / SchemeErrorGroup: every broken rule.

    >>> RecencyBins.months((1, 3, 4, 7), scores=(5, 4, 3, 2, 1)).describe(1)
    'within 3 months'
    """

    within: tuple[relativedelta, ...] = attrs.field(converter=_durations)
    scores: tuple[int, ...] = attrs.field(converter=_int_tuple)

    def __attrs_post_init__(self) -> None:
        problems: list[InvalidValueError] = []
        durations_ok = True
        for i, d in enumerate(self.within):
            why = _duration_problem(d)
            if why is not None:
                problems.append(SchemeError(f"within[{i}]", why, d))
                durations_ok = False
        if durations_ok:
            for i in range(1, len(self.within)):
                a, b = self.within[i - 1], self.within[i]
                if day_span(a)[1] >= day_span(b)[0]:
                    problems.append(
                        SchemeError(
                            f"within[{i}]",
                            f"must be longer than within[{i - 1}] ({describe_duration(a)}) "
                            "for every as_of",
                            describe_duration(b),
                        )
                    )
        if len(self.scores) != len(self.within) + 1:
            problems.append(
                SchemeError(
                    "scores",
                    f"must hold one score per duration plus one for the rest of the window "
                    f"({len(self.within) + 1})",
                    self.scores,
                )
            )
        if _check_ints(self.scores, "scores", 1, problems):
            _check_monotonic(self.scores, "scores", problems, increasing=False)
        _raise("recency bins", problems)

    @classmethod
    def months(cls, months: Iterable[int], *, scores: Iterable[int]) -> RecencyBins:
        """Bins of whole calendar months: ``RecencyBins.months((1, 3), scores=(3, 2, 1))``."""
        spans = _bounded("months", months, _MAX_MONTHS)
        return cls(tuple(relativedelta(months=m) for m in spans), tuple(scores))

    @classmethod
    def days(cls, days: Iterable[int], *, scores: Iterable[int]) -> RecencyBins:
        """Bins of whole calendar days: ``RecencyBins.days((30, 90), scores=(3, 2, 1))``."""
        spans = _bounded("days", days, _MAX_DAYS)
        return cls(tuple(relativedelta(days=d) for d in spans), tuple(scores))

    def describe(self, k: int) -> str:
        """The rule of bin ``k`` in words (``"within 1 month"``, ``"more than 7 months"``)."""
        if k < len(self.within):
            return f"within {describe_duration(self.within[k])}"
        if self.within:
            return f"more than {describe_duration(self.within[-1])}"
        return "any time"


# -- the scheme ---------------------------------------------------------------------------

_ONE_YEAR: Final = relativedelta(years=1)


def _weights(value: Iterable[Any]) -> tuple[int, int, int]:
    return _int_tuple(value)


@attrs.frozen
class RfmScheme:
    """How to turn R, F and M into scores, a weighted total and a P/G/S/B grade.

    Args:
        recency: R bins (calendar durations back from ``as_of``).
        frequency: F bins by number of valid orders in the window; the first edge must be 1.
        monetary: M bins by net valid spend in fen; the first edge must be 0.
        grade_cutoffs: the lowest total of P, G and S, strictly descending, with
            ``min_total < S < G < P <= max_total``; totals below S are B.
        weights: positive int weights of R, F and M in the total (default 1, 3, 4).
        lookback: how far back from ``as_of`` the evaluation window reaches (a duration,
            default 1 year: the window is ``[as_of − lookback, as_of)``); every recency
            duration must be shorter than it. ``window=`` (and ``.window``) is the
            deprecated alias: a duration is not a range.
        min_customers: the shop size the scheme was made for: accumulated customers (any
            order before ``as_of``; the source's 已经积累客户总数超过15万); scoring a smaller
            shop sets ``RfmResult.undersized`` and warns.
        name: a label for explanations and reports.

    Raises:
        SchemeError: one broken rule; SchemeErrorGroup: several.
    """

    recency: RecencyBins
    frequency: Bins
    monetary: Bins
    grade_cutoffs: tuple[int, int, int] = attrs.field(converter=_weights)
    weights: tuple[int, int, int] = attrs.field(default=(1, 3, 4), converter=_weights)
    lookback: relativedelta = _ONE_YEAR
    min_customers: int = 0
    name: str = "custom"

    window = renamed_attribute("window", "lookback")

    def __attrs_post_init__(self) -> None:
        problems: list[InvalidValueError] = []
        parts_ok = True
        for field, kind in (("recency", RecencyBins), ("frequency", Bins), ("monetary", Bins)):
            value = getattr(self, field)
            if not isinstance(value, kind):
                problems.append(SchemeError(field, f"must be a {kind.__name__}", value))
                parts_ok = False
        if isinstance(self.frequency, Bins) and self.frequency.edges[0] != 1:
            problems.append(
                SchemeError(
                    "frequency.edges[0]", "must be 1 so that every scored customer has a bin",
                    self.frequency.edges[0],
                )
            )
        if isinstance(self.monetary, Bins) and self.monetary.edges[0] != 0:
            problems.append(
                SchemeError(
                    "monetary.edges[0]", "must be 0 fen so that every scored customer has a bin",
                    self.monetary.edges[0],
                )
            )
        weights_ok = len(self.weights) == 3 and _check_ints(self.weights, "weights", 1, problems)
        if len(self.weights) != 3:
            problems.append(SchemeError("weights", "must hold 3 weights (R, F, M)", self.weights))
        window_why = _duration_problem(self.lookback)
        if window_why is not None:
            problems.append(SchemeError("lookback", window_why, self.lookback))
        elif isinstance(self.recency, RecencyBins) and self.recency.within:
            last = self.recency.within[-1]
            if day_span(last)[1] >= day_span(self.lookback)[0]:
                problems.append(
                    SchemeError(
                        f"recency.within[{len(self.recency.within) - 1}]",
                        f"must be shorter than the lookback ({describe_duration(self.lookback)}) "
                        "for every as_of",
                        describe_duration(last),
                    )
                )
        if (
            isinstance(self.min_customers, bool)
            or not isinstance(self.min_customers, int)
            or self.min_customers < 0
        ):
            problems.append(SchemeError("min_customers", "must be an int >= 0", self.min_customers))
        if not isinstance(self.name, str) or not self.name.strip():
            problems.append(SchemeError("name", "must be a non-empty string", self.name))
        cut = self.grade_cutoffs
        if len(cut) != 3:
            problems.append(
                SchemeError("grade_cutoffs", "must hold 3 lower bounds (P, G, S)", cut)
            )
        elif _check_ints(cut, "grade_cutoffs", 0, problems):
            p, g, s = cut
            if not p > g:
                problems.append(
                    SchemeError("grade_cutoffs[1]", f"(G) must be less than P's {p}", g)
                )
            if not g > s:
                problems.append(
                    SchemeError("grade_cutoffs[2]", f"(S) must be less than G's {g}", s)
                )
        if len(cut) == 3 and all(type(c) is int for c in cut) and parts_ok and weights_ok:
            # The total's range is only known once bins and weights are sound.
            lo, hi = self.min_total, self.max_total
            p, g, s = cut
            if p > hi:
                problems.append(
                    SchemeError(
                        "grade_cutoffs[0]", f"(P) must be <= the highest total {hi}", p
                    )
                )
            if s <= lo:
                problems.append(
                    SchemeError(
                        "grade_cutoffs[2]", f"(S) must be > the lowest total {lo}", s
                    )
                )
        _raise("RFM scheme", problems)

    @property
    def min_total(self) -> int:
        """The lowest possible total."""
        w_r, w_f, w_m = self.weights
        return (
            w_r * min(self.recency.scores)
            + w_f * self.frequency.scores[0]
            + w_m * self.monetary.scores[0]
        )

    @property
    def max_total(self) -> int:
        """The highest possible total."""
        w_r, w_f, w_m = self.weights
        return (
            w_r * max(self.recency.scores)
            + w_f * self.frequency.scores[-1]
            + w_m * self.monetary.scores[-1]
        )

    def grade_of(self, total: int) -> Grade:
        """The grade of one total."""
        p, g, s = self.grade_cutoffs
        if total >= p:
            return Grade.P
        if total >= g:
            return Grade.G
        if total >= s:
            return Grade.S
        return Grade.B

    def table(self, currency: str = "CNY") -> str:
        """The scheme as a text table: one line per score, then the total and the grades.

        >>> print(TAOBAO_PGSB.table())
        score  R (last valid order)  F (valid orders)  M (net valid spend)
        5      within 1 month        F >= 6            M >= ¥2,000.00
        4      within 3 months       4 <= F <= 5       ¥1,000.00 <= M < ¥2,000.00
        3      within 4 months       F = 3             ¥500.00 <= M < ¥1,000.00
        2      within 7 months       F = 2             ¥300.00 <= M < ¥500.00
        1      more than 7 months    F = 1             M < ¥300.00
        total = 1×R + 3×F + 4×M (8..40), window 1 year
        P 铂金 Platinum  total >= 36
        G 黄金 Gold      26 <= total <= 35
        S 白银 Silver    17 <= total <= 25
        B 青铜 Bronze    total <= 16
        """
        cells: dict[int, list[str]] = {}
        for k, sc in enumerate(self.recency.scores):
            cells.setdefault(sc, ["-", "-", "-"])[0] = self.recency.describe(k)
        for k, sc in enumerate(self.frequency.scores):
            cells.setdefault(sc, ["-", "-", "-"])[1] = describe_count_bin(self.frequency, k, "F")
        for k, sc in enumerate(self.monetary.scores):
            cells.setdefault(sc, ["-", "-", "-"])[2] = describe_money_bin(
                self.monetary, k, "M", currency
            )
        header = ["score", "R (last valid order)", "F (valid orders)", "M (net valid spend)"]
        rows = [header] + [[str(sc), *cells[sc]] for sc in sorted(cells, reverse=True)]
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3]
            for r in rows
        ]
        w_r, w_f, w_m = self.weights
        lines.append(
            f"total = {w_r}×R + {w_f}×F + {w_m}×M ({self.min_total}..{self.max_total}), "
            f"window {describe_duration(self.lookback)}"
        )
        for g in Grade:
            # CJK names take two terminal columns each.
            label = f"{g.value} {g.zh} {g.en}"
            lines.append(label + " " * max(1, 17 - len(label) - len(g.zh)) + self.describe_grade(g))
        return "\n".join(lines)

    def describe_grade(self, grade: Grade) -> str:
        """The total range of ``grade`` in words (``"26 <= total <= 35"``)."""
        p, g, s = self.grade_cutoffs
        if grade is Grade.P:
            return f"total >= {p}"
        if grade is Grade.G:
            return f"{g} <= total <= {p - 1}"
        if grade is Grade.S:
            return f"{s} <= total <= {g - 1}"
        return f"total <= {s - 1}"


# The attrs-made __init__ takes the old keyword for one release.
setattr(RfmScheme, "__init__", renamed_kwarg("window", "lookback")(RfmScheme.__init__))  # noqa: B010


#: The Taobao/Tmall P/G/S/B scheme of the source documents (DESIGN.md 3.1): R by calendar
#: months since the last valid order (1/3/4/7 months, then the rest of the 1-year window),
#: F by orders (1, 2, 3, 4–5, 6+), M by net spend (¥300/¥500/¥1,000/¥2,000), total
#: 1R + 3F + 4M (8–40), grades P >= 36, G >= 26, S >= 17, B the rest; made for shops with
#: at least 150,000 customers.
TAOBAO_PGSB: Final = RfmScheme(
    recency=RecencyBins.months((1, 3, 4, 7), scores=(5, 4, 3, 2, 1)),
    frequency=Bins(edges=(1, 2, 3, 4, 6), scores=(1, 2, 3, 4, 5)),
    monetary=Bins(edges=(0, 30_000, 50_000, 100_000, 200_000), scores=(1, 2, 3, 4, 5)),
    grade_cutoffs=(36, 26, 17),
    weights=(1, 3, 4),
    lookback=_ONE_YEAR,
    min_customers=150_000,
    name="TAOBAO_PGSB",
)
