"""The eight classic RFM segments (重要价值客户 … 一般挽留客户): :func:`classic_segments`."""

from __future__ import annotations

import enum
import math
from numbers import Real
from typing import Any, Final, Literal

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._ids import find_id
from ecrm._money import Money
from ecrm._results import ResultFrame
from ecrm.errors import InvalidTypeError, InvalidValueError, UnknownCustomerError
from ecrm.rfm._score import RfmResult

__all__ = ["Segment", "SegmentResult", "SegmentRow", "classic_segments"]


class Segment(enum.Enum):
    """A classic RFM segment: R, F and M each high or low against a reference.

    M high makes a customer 重要 (important), M low 一般 (general); then R and F pick
    价值 value (R high, F high), 发展 development (R high, F low), 保持 retention (R low,
    F high) or 挽留 win-back (R low, F low).

    >>> Segment.of(r_high=True, f_high=False, m_high=True).zh
    '重要发展客户'
    >>> Segment.IMPORTANT_DEVELOPMENT.en
    'important development'
    """

    IMPORTANT_VALUE = "important_value"
    IMPORTANT_DEVELOPMENT = "important_development"
    IMPORTANT_RETENTION = "important_retention"
    IMPORTANT_WIN_BACK = "important_win_back"
    GENERAL_VALUE = "general_value"
    GENERAL_DEVELOPMENT = "general_development"
    GENERAL_RETENTION = "general_retention"
    GENERAL_WIN_BACK = "general_win_back"

    @property
    def code(self) -> int:
        """0–7, in the order above: ``4·(M low) + 2·(R low) + (F low)``."""
        return _CODE[self]

    @property
    def zh(self) -> str:
        """The Chinese name (``"重要价值客户"``)."""
        return _ZH[self]

    @property
    def en(self) -> str:
        """The English name (``"important value"``)."""
        return self.value.replace("_", " ").replace("win back", "win-back")

    @property
    def r_high(self) -> bool:
        """Whether R is above the reference in this segment."""
        return not self.code & 2

    @property
    def f_high(self) -> bool:
        """Whether F is above the reference in this segment."""
        return not self.code & 1

    @property
    def m_high(self) -> bool:
        """Whether M is above the reference in this segment."""
        return not self.code & 4

    @classmethod
    def of(cls, *, r_high: bool, f_high: bool, m_high: bool) -> Segment:
        """The segment of one high/low combination."""
        return _BY_CODE[4 * (not m_high) + 2 * (not r_high) + (not f_high)]

    @classmethod
    def from_code(cls, code: int) -> Segment:
        """The segment stored as ``code`` (0–7)."""
        if isinstance(code, bool) or code not in range(8):
            raise ValueError(f"segment code must be 0..7, got {code!r}")
        return _BY_CODE[int(code)]


_BY_CODE: Final = tuple(Segment)
_CODE: Final = {s: i for i, s in enumerate(Segment)}
_ZH: Final = dict(
    zip(
        Segment,
        ["重要价值客户", "重要发展客户", "重要保持客户", "重要挽留客户",
         "一般价值客户", "一般发展客户", "一般保持客户", "一般挽留客户"],
        strict=True,
    )
)


@attrs.frozen
class SegmentRow:
    """One line of the segment table.

    Attributes:
        segment: the segment.
        count: customers in it.
        share: ``count`` / all scored customers (0.0 when there are none).
        mean_r, mean_f, mean_m: mean component scores (``None`` for an empty segment).
        monetary: total net valid spend of its customers in the window.
    """

    segment: Segment
    count: int
    share: float
    mean_r: float | None
    mean_f: float | None
    mean_m: float | None
    monetary: Money


@attrs.frozen(eq=False, repr=False)
class SegmentResult(ResultFrame):
    """The segment of every scored customer.

    Attributes:
        customer_ids: shape (n,), the scored customers (as in ``result``).
        segment: int8, shape (n,), :attr:`Segment.code` of each.
        reference: the (R, F, M) reference scores; a score is high when strictly greater.
        result: the RFM result segmented.
    """

    customer_ids: npt.NDArray[Any]
    segment: npt.NDArray[np.int8]
    reference: tuple[float, float, float]
    result: RfmResult

    def __len__(self) -> int:
        return len(self.customer_ids)

    def __repr__(self) -> str:
        ref = ", ".join(f"{x:g}" for x in self.reference)
        return f"SegmentResult({len(self):,} customers, reference=({ref}))"

    def _columns(self) -> dict[str, Any]:
        """``customer_id, segment, segment_zh, r, f, m``: one row per scored customer."""
        names = np.asarray([s.value for s in Segment])
        zh = np.asarray([s.zh for s in Segment])
        codes = self.segment.astype(np.int64)
        empty = np.zeros(0, dtype="U1")
        return {
            "customer_id": self.customer_ids,
            "segment": names[codes] if len(codes) else empty,
            "segment_zh": zh[codes] if len(codes) else empty,
            "r": self.result.r,
            "f": self.result.f,
            "m": self.result.m,
        }

    def segment_of(self, customer_id: str | int) -> Segment:
        """The segment of one scored customer.

        Raises:
            UnknownCustomerError: the customer is not scored.
        """
        pos = find_id(self.customer_ids, customer_id)
        if pos is None:
            raise UnknownCustomerError(f"customer {customer_id!r} is not a scored customer here")
        return Segment.from_code(int(self.segment[pos]))

    def segments(self) -> list[Segment]:
        """The :class:`Segment` of each customer (shape (n,), as a list)."""
        return [_BY_CODE[c] for c in self.segment.tolist()]

    def counts(self) -> dict[Segment, int]:
        """Customers per segment, all eight segments in :class:`Segment` order."""
        counts = np.bincount(self.segment.astype(np.int64), minlength=8)
        return {s: int(counts[s.code]) for s in Segment}

    def table(self) -> list[SegmentRow]:
        """One :class:`SegmentRow` per segment, in :class:`Segment` order."""
        res = self.result
        n = len(self)
        code = self.segment.astype(np.intp)
        counts = np.bincount(code, minlength=8)
        # exact int64 sums per segment in one pass each (the scores are small integers, so
        # sum / count is the mean numpy would give)
        sums = {}
        for name, column in (("r", res.r), ("f", res.f), ("m", res.m), ("fen", res.monetary_fen)):
            total = np.zeros(8, dtype=np.int64)
            np.add.at(total, code, column)
            sums[name] = total.tolist()
        rows = []
        for s in Segment:
            count = int(counts[s.code])
            means: list[float | None] = (
                [sums[k][s.code] / count for k in "rfm"] if count else [None] * 3
            )
            rows.append(
                SegmentRow(
                    segment=s,
                    count=count,
                    share=count / n if n else 0.0,
                    mean_r=means[0],
                    mean_f=means[1],
                    mean_m=means[2],
                    monetary=Money(int(sums["fen"][s.code]), res.currency),
                )
            )
        return rows

    def format_table(self) -> str:
        """The table as aligned text, one line per segment (for terminals and reports)."""
        lines = [f"{'segment':<12} {'':<22} {'count':>9} {'share':>7} "
                 f"{'R':>5} {'F':>5} {'M':>5} {'monetary':>18}"]
        for row in self.table():
            def fmt(x: float | None) -> str:
                return "-" if x is None else f"{x:.2f}"
            zh = row.segment.zh
            # CJK characters take two columns in a terminal; pad by display width.
            lines.append(
                f"{zh}{' ' * (12 - 2 * len(zh))} {row.segment.en:<22} {row.count:>9,} "
                f"{row.share:>7.1%} {fmt(row.mean_r):>5} {fmt(row.mean_f):>5} "
                f"{fmt(row.mean_m):>5} {row.monetary!s:>18}"
            )
        return "\n".join(lines)


Reference = Literal["mean", "median"] | tuple[float, float, float]


def _reference(result: RfmResult, reference: object) -> tuple[float, float, float]:
    if isinstance(reference, str):
        if reference not in ("mean", "median"):
            raise InvalidValueError("reference", "must be 'mean', 'median' or (r, f, m)", reference)
        if len(result) == 0:
            return (math.nan, math.nan, math.nan)
        reduce = np.mean if reference == "mean" else np.median
        scheme = result.scheme
        scales = (scheme.recency.scores, scheme.frequency.scores, scheme.monetary.scores)
        refs = []
        for column, scale in zip((result.r, result.f, result.m), scales, strict=True):
            if column.min() == column.max():
                # A constant score has no spread to split: the mean (= every score) would
                # make everyone low. Compare with the middle of the scheme's scale instead,
                # so all R = 5 is high-R for everyone and all R = 1 low-R for everyone.
                refs.append((min(scale) + max(scale)) / 2)
            else:
                refs.append(float(reduce(column)))
        return (refs[0], refs[1], refs[2])
    if not isinstance(reference, tuple | list) or len(reference) != 3:
        raise InvalidTypeError(
            f"reference must be 'mean', 'median' or a tuple (r, f, m), got {reference!r}"
        )
    out = []
    for name, x in zip("rfm", reference, strict=True):
        if isinstance(x, bool) or not isinstance(x, Real):
            raise InvalidTypeError(f"reference {name} must be a number, got {x!r}")
        if not math.isfinite(float(x)):
            raise InvalidValueError(f"reference.{name}", "must be finite", x)
        out.append(float(x))
    return (out[0], out[1], out[2])


def classic_segments(result: RfmResult, *, reference: Reference = "mean") -> SegmentResult:
    """Split the scored customers into the eight classic RFM segments.

    Each of R, F and M is *high* when the customer's score is strictly greater than the
    reference, else *low* (a score equal to the reference is low). The reference is the
    mean (default) or median score of the scored customers, or explicit ``(r, f, m)``
    scores. A computed reference never splits a constant score: when every customer has
    the same R (or F, or M), its reference is the middle of the scheme's score scale (3 for
    scores 1..5), so all R = 5 is high-R for everyone and all R = 1 low-R.

    Args:
        result: an :class:`RfmResult`.
        reference: ``"mean"``, ``"median"`` or a tuple of three numbers.

    Returns:
        A :class:`SegmentResult`.

    Raises:
        InvalidValueError / InvalidTypeError: a bad ``reference``.

    .. versionchanged:: 0.1.0
       Renamed from ``ecrm.rfm.segments``, which shadowed the :mod:`ecrm.segments` package
       (the old name warns for one release).
    """
    if not isinstance(result, RfmResult):
        raise InvalidTypeError(f"result must be an RfmResult, got {type(result).__name__}")
    ref = _reference(result, reference)
    r_low = result.r <= ref[0]
    f_low = result.f <= ref[1]
    m_low = result.m <= ref[2]
    code = (4 * m_low.astype(np.int8) + 2 * r_low.astype(np.int8) + f_low.astype(np.int8))
    code = code.astype(np.int8)
    code.flags.writeable = False
    return SegmentResult(
        customer_ids=result.customer_ids, segment=code, reference=ref, result=result
    )
