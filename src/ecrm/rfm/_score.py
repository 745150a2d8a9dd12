"""Scoring an :class:`~ecrm.OrderLog` with an RFM scheme: :func:`score` and its result."""

from __future__ import annotations

import datetime as dt
import io
import os
import warnings
from collections.abc import Iterable, Iterator
from typing import IO, Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._columns import read_only
from ecrm._compact import SparseFen
from ecrm._ids import find_id
from ecrm._money import Money
from ecrm._order import DEFAULT_VALID_STATUSES, OrderStatus, parse_status
from ecrm._ordercolumns import status_table
from ecrm._orderlog import InputColumns, OrderLog
from ecrm._pages import small_pages
from ecrm._results import (
    ResultFrame,
    instants,
    isoformat_us,
    nullable,
    table_arrow,
    table_csv,
    table_dicts,
    table_pandas,
    table_polars,
)
from ecrm._threads import Background
from ecrm._time import (
    datetime_to_us,
    local_day,
    local_days,
    require_aware,
    us_to_datetime,
    zone_name,
)
from ecrm.errors import InvalidTypeError, UndersizedShopWarning, UnknownCustomerError
from ecrm.rfm._grade import Grade
from ecrm.rfm._kernels import (
    grade_codes,
    last_instants,
    net_fen_sums,
    score_lower_edges,
    score_recency,
    window_metrics,
    window_metrics_unsorted,
    window_slots,
)
from ecrm.rfm._scheme import (
    TAOBAO_PGSB,
    RfmScheme,
    describe_count_bin,
    describe_duration,
    describe_money_bin,
)

__all__ = ["RfmResult", "RfmRow", "UndersizedShopWarning", "score"]

IntArray = npt.NDArray[np.int64]


@attrs.frozen
class RfmRow:
    """One scored customer, as plain Python values.

    Attributes:
        customer_id: the id as the shop has it (str or int).
        last_order_at: the last valid order in the window, in the store's zone.
        recency_days: whole local calendar days from that order's day to ``as_of``'s day.
        frequency: valid orders in the window.
        monetary: net valid spend in the window.
        r, f, m: the component scores.
        total: the weighted total.
        grade: the P/G/S/B grade.
    """

    customer_id: str | int
    last_order_at: dt.datetime
    recency_days: int
    frequency: int
    monetary: Money
    r: int
    f: int
    m: int
    total: int
    grade: Grade


def _py(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _when(value: dt.datetime) -> str:
    """A short local timestamp: the date alone at midnight, else date and time."""
    if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
        return value.strftime("%Y-%m-%d")
    if value.second or value.microsecond:
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.strftime("%Y-%m-%d %H:%M")


_SCORE_FIELDS: Final = ("last_order_us", "recency_days", "frequency", "monetary_fen", "r", "f",
                        "m", "total", "grade")


@attrs.frozen(eq=False, repr=False)
class RfmResult(ResultFrame):
    """RFM scores of every customer with a valid order in the window, keyed by customer.

    Every array has shape (n,) for the n scored customers, in ``customer_ids`` order (the
    log's sorted order). Customers of the log without a valid order in the window are
    not scored; their ids are in ``unscored_customer_ids``.

    Attributes:
        customer_ids: the scored customers, sorted (int64 or str).
        last_order_us: int64 epoch microseconds of each one's last valid order in the window.
        recency_days: int64, whole local calendar days (in ``tz``) from that order's day to
            ``as_of``'s day (0 = the same day).
        frequency: int64, valid orders in the window (>= 1).
        monetary_fen: int64, net fen (amount − refunded) of those orders.
        r, f, m: int64 component scores.
        total: int64, ``w_r·r + w_f·f + w_m·m``.
        grade: int8 :attr:`Grade.code` of each total (:meth:`grades` gives the members).
        unscored_customer_ids: customers in the log with no valid order in the window.
        as_of: the moment scored (aware).
        scheme: the scheme used.
        tz: the store's zone; currency: the log's currency.
        undersized: fewer accumulated customers (any order before ``as_of``) than
            ``scheme.min_customers``.
    """

    customer_ids: npt.NDArray[Any]
    last_order_us: IntArray
    recency_days: IntArray
    frequency: IntArray
    monetary_fen: IntArray
    r: IntArray
    f: IntArray
    m: IntArray
    total: IntArray
    grade: npt.NDArray[np.int8]
    unscored_customer_ids: npt.NDArray[Any]
    as_of: dt.datetime
    scheme: RfmScheme
    tz: dt.tzinfo
    currency: str
    undersized: bool

    def __attrs_post_init__(self) -> None:
        _v.check_same_length(
            "RfmResult", {name: getattr(self, name) for name in ("customer_ids", *_SCORE_FIELDS)},
            {"customer_ids": _v.IDS} | dict.fromkeys(_SCORE_FIELDS, _v.INTEGERS))
        _v.check_same_length("RfmResult", {"unscored_customer_ids": self.unscored_customer_ids},
                             {"unscored_customer_ids": _v.IDS})

    def __len__(self) -> int:
        return len(self.customer_ids)

    def __repr__(self) -> str:
        counts = ", ".join(f"{g.value}={n:,}" for g, n in self.grade_counts().items())
        return (
            f"RfmResult({len(self):,} scored, {len(self.unscored_customer_ids):,} unscored, "
            f"as_of={self.as_of.isoformat()}, scheme={self.scheme.name!r}, {counts})"
        )

    # -- whole-result views ---------------------------------------------------------------
    def grades(self) -> list[Grade]:
        """The :class:`Grade` of each scored customer (shape (n,), as a list)."""
        members = [Grade.from_code(c) for c in range(4)]
        return [members[c] for c in self.grade.tolist()]

    def grade_counts(self) -> dict[Grade, int]:
        """How many scored customers hold each grade; all four grades, P first."""
        counts = np.bincount(self.grade.astype(np.int64), minlength=4)
        return {g: int(counts[g.code]) for g in Grade}

    def format_grades(self) -> str:
        """The grade table as aligned text: each grade's range, customers and share, then
        the unscored count (for terminals and reports).

        The Chinese names take two terminal columns per character; columns are padded for
        that.
        """
        counts = self.grade_counts()
        n = len(self)
        ranges = {g: self.scheme.describe_grade(g) for g in Grade}
        width = max(len(r) for r in ranges.values())
        lines = [f"{'grade':<17}{'range':<{width}}  {'customers':>10}  {'share':>6}"]
        for g in Grade:
            label = f"{g.value} {g.zh} {g.en}"
            pad = " " * max(1, 17 - len(label) - len(g.zh))
            share = f"{counts[g] / n:.1%}" if n else "-"
            lines.append(f"{label}{pad}{ranges[g]:<{width}}  {counts[g]:>10,}  {share:>6}")
        unscored = len(self.unscored_customer_ids)
        lines.append(f"{'unscored (no valid order in the window)':<{17 + width}}  {unscored:>10,}")
        return "\n".join(lines)

    def rows(self) -> Iterator[RfmRow]:
        """Iterate the scored customers as :class:`RfmRow` values (slow in bulk)."""
        for i in range(len(self)):
            yield self._row_at(i)

    def row(self, customer_id: str | int) -> RfmRow:
        """The scores of one customer.

        Raises:
            UnknownCustomerError: the customer is not scored (unknown to the log, or without
                a valid order in the window; the message says which).
        """
        pos = find_id(self.customer_ids, customer_id)
        if pos is None:
            if find_id(self.unscored_customer_ids, customer_id) is not None:
                raise UnknownCustomerError(
                    f"customer {customer_id!r} is not scored: no valid order in the window"
                )
            raise UnknownCustomerError(f"customer {customer_id!r} is not in this result")
        return self._row_at(pos)

    def is_scored(self, customer_id: str | int) -> bool:
        """Whether the customer has a score (a valid order in the window)."""
        return find_id(self.customer_ids, customer_id) is not None

    def _row_at(self, i: int) -> RfmRow:
        return RfmRow(
            customer_id=_py(self.customer_ids[i]),
            last_order_at=us_to_datetime(int(self.last_order_us[i]), self.tz),
            recency_days=int(self.recency_days[i]),
            frequency=int(self.frequency[i]),
            monetary=Money(int(self.monetary_fen[i]), self.currency),
            r=int(self.r[i]),
            f=int(self.f[i]),
            m=int(self.m[i]),
            total=int(self.total[i]),
            grade=Grade.from_code(int(self.grade[i])),
        )

    # -- explanations ---------------------------------------------------------------------
    def explain(self, customer_id: str | int) -> str:
        """Why the customer got its scores and grade, in words, one line per component.

        Raises:
            UnknownCustomerError: the customer is neither scored nor unscored here.
        """
        s = self.scheme
        local = self.as_of.astimezone(self.tz)
        window = describe_duration(s.lookback, adjective=True)
        head = (
            f"customer {customer_id!r} as of {_when(local)} ({zone_name(self.tz)}), "
            f"scheme {s.name}"
        )
        pos = find_id(self.customer_ids, customer_id)
        if pos is None:
            if find_id(self.unscored_customer_ids, customer_id) is None:
                raise UnknownCustomerError(f"customer {customer_id!r} is not in this result")
            start = local - s.lookback
            return (
                f"{head}:\n"
                f"not scored: no valid order in the {window} window "
                f"[{_when(start)}, {_when(local)})"
            )
        row = self._row_at(pos)
        last_local = row.last_order_at
        k_r = s.recency.scores.index(row.r)
        rule_r = s.recency.describe(k_r)
        if k_r < len(s.recency.within):
            since = _when(local - s.recency.within[k_r])
            rule_r += f" (on or after {since})"
        else:
            if s.recency.within:
                before = _when(local - s.recency.within[-1])
                rule_r += f" (before {before})"
            rule_r += f", within the {window} window"
        days = row.recency_days
        ago = "the same day as as_of" if days == 0 else (
            f"{days} day before as_of" if days == 1 else f"{days} days before as_of"
        )
        k_f = s.frequency.scores.index(row.f)
        k_m = s.monetary.scores.index(row.m)
        orders = "valid order" if row.frequency == 1 else "valid orders"
        w_r, w_f, w_m = s.weights
        grade = row.grade
        return "\n".join(
            [
                f"{head}:",
                f"R = {row.r}: last valid order {_when(last_local)}, {ago}, {rule_r}",
                f"F = {row.f}: {row.frequency} {orders} in the {window} window, "
                f"{describe_count_bin(s.frequency, k_f, 'F')}",
                f"M = {row.m}: {row.monetary} net valid spend in the {window} window, "
                f"{describe_money_bin(s.monetary, k_m, 'M', self.currency)}",
                f"total = {w_r}×{row.r} + {w_f}×{row.f} + {w_m}×{row.m} = {row.total}",
                f"grade {grade.value} ({grade.zh} {grade.en}): {s.describe_grade(grade)}",
            ]
        )

    # -- export ---------------------------------------------------------------------------
    def _columns(self, include_unscored: bool = False) -> dict[str, Any]:
        """``customer_id, last_order_at, recency_days, frequency, monetary_fen, r, f, m,
        total, grade``; with ``include_unscored`` the unscored customers follow, with
        missing scores, ``frequency`` 0 and ``monetary_fen`` 0."""
        letters = np.asarray([Grade.from_code(c).value for c in range(4)])
        cols: dict[str, Any] = {
            "customer_id": self.customer_ids,
            "last_order_at": instants(self.last_order_us, self.tz),
            "recency_days": self.recency_days,
            "frequency": self.frequency,
            "monetary_fen": self.monetary_fen,
            "r": self.r,
            "f": self.f,
            "m": self.m,
            "total": self.total,
            "grade": letters[self.grade] if len(self) else np.zeros(0, dtype="U1"),
        }
        k = len(self.unscored_customer_ids)
        if not include_unscored:
            return cols
        n = len(self)
        gap = np.concatenate([np.zeros(n, dtype=np.bool_), np.ones(k, dtype=np.bool_)])
        zeros = np.zeros(k, dtype=np.int64)

        def extend(a: npt.NDArray[Any]) -> npt.NDArray[Any]:
            return np.concatenate([a, np.zeros(k, dtype=a.dtype)])

        out: dict[str, Any] = {
            "customer_id": np.concatenate([self.customer_ids, self.unscored_customer_ids]),
            "last_order_at": instants(extend(self.last_order_us), self.tz, gap),
            "recency_days": nullable(extend(self.recency_days), gap),
            "frequency": np.concatenate([self.frequency, zeros]),
            "monetary_fen": np.concatenate([self.monetary_fen, zeros]),
        }
        for name in ("r", "f", "m", "total"):
            out[name] = nullable(extend(getattr(self, name)), gap)
        grade = np.concatenate([cols["grade"], np.full(k, "P")])
        out["grade"] = nullable(grade, gap)
        return out

    def to_dicts(self, *, include_unscored: bool = False) -> list[dict[str, Any]]:
        """One dict per scored customer (see :meth:`to_csv` for the columns).

        Args:
            include_unscored: also the unscored customers, with ``None`` scores.
        """
        return table_dicts(self._columns(include_unscored))

    def to_csv(
        self, path_or_file: str | os.PathLike[str] | IO[str], *, include_unscored: bool = False
    ) -> None:
        """Write one line per customer: ``customer_id, last_order_at, recency_days,
        frequency, monetary_fen, r, f, m, total, grade``.

        Args:
            path_or_file: a path (written as UTF-8) or an open text file.
            include_unscored: also write unscored customers, with empty score cells
                (``frequency`` and ``monetary_fen`` 0).
        """
        table_csv(self._columns(include_unscored), path_or_file)

    def to_pandas(self, *, include_unscored: bool = False) -> Any:
        """The customers as a pandas ``DataFrame`` (columns as :meth:`to_csv`).

        Raises:
            MissingDependencyError: pandas is not installed.
        """
        return table_pandas(self._columns(include_unscored), "RfmResult.to_pandas()")

    def to_polars(self, *, include_unscored: bool = False) -> Any:
        """The customers as a polars ``DataFrame`` (columns as :meth:`to_csv`).

        Raises:
            MissingDependencyError: polars is not installed.
        """
        return table_polars(self._columns(include_unscored), "RfmResult.to_polars()")

    def to_arrow(self, *, include_unscored: bool = False) -> Any:
        """The customers as a pyarrow ``Table`` (columns as :meth:`to_csv`).

        Raises:
            MissingDependencyError: pyarrow is not installed.
        """
        return table_arrow(self._columns(include_unscored), "RfmResult.to_arrow()")

    def to_csv_text(self, *, include_unscored: bool = False) -> str:
        """The CSV of :meth:`to_csv` as a string.

        .. deprecated:: 0.1.0
            Use ``to_csv(io.StringIO())``; this alias goes in the next release.
        """
        warnings.warn(
            "RfmResult.to_csv_text() is deprecated; write to_csv(io.StringIO()) instead",
            DeprecationWarning,
            stacklevel=2,
        )
        buf = io.StringIO()
        self.to_csv(buf, include_unscored=include_unscored)
        return buf.getvalue()


_isoformat = isoformat_us



def window_totals(
    orders: OrderLog, statuses: Iterable[OrderStatus] | None, start_us: int, end_us: int
) -> tuple[IntArray, IntArray, IntArray]:
    """Per customer code: valid orders, their net fen and the last one's instant in the
    half-open window ``[start_us, end_us)`` (see :func:`window_metrics`).

    Reads the log's customer layout when it has been made, else the rows as they came
    (making no layout); both give the same arrays.
    """
    rows = orders._input_rows()
    if rows is None:  # the log is in its customer layout: runs per customer
        return window_metrics(
            orders.customer_starts, orders.customer_codes, orders.placed_at_us,
            orders.net_fen, orders.valid_mask(statuses), start_us, end_us,
        )
    wanted = DEFAULT_VALID_STATUSES if statuses is None else [parse_status(s) for s in statuses]
    table = status_table(wanted)
    n = rows.n_buckets
    refunds = rows.refunds if rows.refunds.rows.size else None
    lo, hi = 0, len(rows.placed_at_us)
    if rows.time_sorted:  # the window is one slice of the rows
        lo, hi = (int(i) for i in np.searchsorted(rows.placed_at_us, [start_us, end_us]))
    if hi - lo < _SPLIT_ROWS:
        totals = window_metrics_unsorted(
            n, rows.customer_codes, rows.placed_at_us, rows.amount_fen, refunds,
            rows.status_codes, table, start_us, end_us, time_sorted=rows.time_sorted)
    else:
        totals = _two_thread_totals(rows, n, table, refunds, lo, hi,
                                    None if rows.time_sorted else (start_us, end_us))
    if rows.buckets is None:
        return totals
    # slots by id offset: the customers' slots, in customer code order
    frequency, monetary, last = totals
    return frequency[rows.buckets], monetary[rows.buckets], last[rows.buckets]


def _two_thread_totals(rows: InputColumns, n: int, table: npt.NDArray[np.bool_],
                       refunds: SparseFen | None, lo: int, hi: int,
                       window: tuple[int, int] | None) -> tuple[IntArray, IntArray, IntArray]:
    """:func:`window_metrics_unsorted` of rows ``[lo, hi)`` on two threads (most of numpy's
    loops let go of the GIL): each finds the slots of half the rows; then one sums the
    money (and counts the second half) while the other counts the first half and finds
    the last orders. One set of totals: no merge."""
    codes, placed = rows.customer_codes[lo:hi], rows.placed_at_us[lo:hi]
    amount, status = rows.amount_fen[lo:hi], rows.status_codes[lo:hi]
    refunds = None if refunds is None else refunds.between(lo, hi)

    def part(a: int, b: int) -> SparseFen | None:
        return None if refunds is None else refunds.between(a, b)

    def slots(a: int, b: int) -> npt.NDArray[np.intp]:
        return window_slots(n, codes[a:b], placed[a:b], amount[a:b], part(a, b), status[a:b],
                            table, window)

    mid = (hi - lo) // 2
    second = Background(slots, mid, hi - lo)
    try:
        first_half = slots(0, mid)
    finally:
        second_half = second.result()

    def money() -> tuple[IntArray, IntArray]:
        sums = net_fen_sums(n, [(first_half, amount[:mid], part(0, mid)),
                                (second_half, amount[mid:], part(mid, hi - lo))])
        return sums, np.bincount(second_half, minlength=n + 1)

    summing = Background(money)
    try:
        frequency = np.bincount(first_half, minlength=n + 1)
        last = last_instants(n, [first_half, second_half], placed, time_sorted=window is None)
    finally:
        monetary, counted = summing.result()
    frequency += counted
    return frequency[:n].astype(np.int64, copy=False), monetary[:n], last


#: Scored customers from which :func:`result_from_totals` scores M and counts days on a
#: second thread.
_SPLIT_CUSTOMERS = 200_000

#: Rows in the window from which :func:`window_totals` splits the pass over two threads.
_SPLIT_ROWS = 2_000_000


def score(
    orders: OrderLog,
    *,
    as_of: dt.datetime,
    scheme: RfmScheme = TAOBAO_PGSB,
    statuses: Iterable[OrderStatus] | None = None,
    warn_undersized: bool = True,
) -> RfmResult:
    """Score every customer of ``orders`` with ``scheme`` as of ``as_of``.

    The evaluation window is half-open, ``[as_of − scheme.lookback, as_of)``, computed with
    ``relativedelta`` on ``as_of`` converted to the store's zone (``orders.tz``), so
    month-end clipping applies (Mar 31 − 1 month = Feb 28/29). Only valid orders count
    (``orders.valid_mask(statuses)``: status in ``statuses`` and not fully refunded).
    R is scored from the last valid order in the window, F is the number of valid orders
    in it, M the sum of their net amounts (``amount − refunded``, so a partial refund
    lowers M) in integer fen. Customers without a valid order in the window are not
    scored: they are listed in ``RfmResult.unscored_customer_ids``.

    Runs in a few vectorised passes over the log's columns (no per-customer Python loop);
    scoring many ``as_of`` dates on one log costs one such pass each.

    Args:
        orders: the order log.
        as_of: the scoring moment, timezone-aware; orders at or after it are ignored.
        scheme: the scheme (default :data:`TAOBAO_PGSB`).
        statuses: which statuses count as valid (default ``DEFAULT_VALID_STATUSES``).
        warn_undersized: emit :class:`UndersizedShopWarning` when the shop has accumulated
            fewer customers (any order before ``as_of``) than ``scheme.min_customers`` (``RfmResult.undersized`` is set either
            way).

    Returns:
        An :class:`RfmResult`.

    Raises:
        InvalidTypeError: ``orders`` is not an OrderLog, ``scheme`` not an RfmScheme, or
            ``as_of`` not a datetime.
        InvalidValueError: ``as_of`` is naive, or a status is unknown.
    """
    if not isinstance(orders, OrderLog):
        raise InvalidTypeError(f"orders must be an OrderLog, got {type(orders).__name__}")
    if not isinstance(scheme, RfmScheme):
        raise InvalidTypeError(f"scheme must be an RfmScheme, got {type(scheme).__name__}")
    as_of = require_aware(as_of, "as_of")
    tz = orders.tz
    local = as_of.astimezone(tz)
    end_us = datetime_to_us(local)
    start_us = datetime_to_us(local - scheme.lookback)
    with small_pages():  # (see ecrm._pages)
        frequency, monetary, last = window_totals(orders, statuses, start_us, end_us)
    scored = frequency > 0
    all_scored = bool(scored.all())
    ids = orders.customer_ids
    if all_scored:
        unscored_ids = ids[:0].copy()
    else:
        unscored_ids = ids[~scored]
        kept = np.flatnonzero(scored)  # (found once for the four columns)
        ids, frequency = ids[kept], frequency[kept]
        monetary, last = monetary[kept], last[kept]
    # The source's condition is the customers a shop has accumulated (已经积累客户总数超过
    # 15万): everyone with an order of any status before ``as_of``, not only those scored.
    # (read in input order when the log has no layout yet: scoring never makes one)
    return result_from_totals(
        ids if not all_scored else ids.copy(), frequency, monetary, last, unscored_ids,
        accumulated=_accumulated(orders, end_us), as_of=as_of, scheme=scheme, tz=tz,
        currency=orders.currency, warn_undersized=warn_undersized,
    )


def _accumulated(orders: OrderLog, end_us: int) -> int:
    """How many customers have an order (of any status) before ``end_us``."""
    rows_in = orders._input_rows()
    if rows_in is not None and rows_in.time_sorted:
        # rows in time order: those before end_us are a prefix, and every customer has a
        # row, so when the prefix is every row (scoring at the end of the data) all count
        before = int(np.searchsorted(rows_in.placed_at_us, end_us, side="left"))
        if before == len(rows_in.placed_at_us):
            return len(orders.customer_ids)
        codes = rows_in.customer_codes[:before]
    else:
        codes_all, placed_all = (
            (orders.customer_codes, orders.placed_at_us) if rows_in is None
            else (rows_in.customer_codes, rows_in.placed_at_us)
        )
        codes = codes_all[placed_all < end_us]
    seen = np.zeros(len(orders.customer_ids) if rows_in is None else rows_in.n_buckets,
                    dtype=np.bool_)
    seen[codes] = True
    return int(np.count_nonzero(seen))


def result_from_totals(
    ids: npt.NDArray[Any],
    frequency: IntArray,
    monetary: IntArray,
    last: IntArray,
    unscored_ids: npt.NDArray[Any],
    *,
    accumulated: int,
    as_of: dt.datetime,
    scheme: RfmScheme,
    tz: dt.tzinfo,
    currency: str,
    warn_undersized: bool,
) -> RfmResult:
    """The scores, grades and result of the scored customers' window totals: the one tail
    of :func:`score` and of the scaled path (``ecrm.scale.score_summary``).

    Args:
        ids, frequency, monetary, last: the scored customers (shape (n,)): valid orders,
            net fen and the last valid order's epoch µs in the window.
        unscored_ids: customers without a valid order in the window.
        accumulated: customers with an order of any status before ``as_of`` (the
            undersized check).
        as_of, scheme, tz, currency: as for :func:`score`.
        warn_undersized: emit :class:`UndersizedShopWarning` (at the caller's caller).
    """
    local = as_of.astimezone(tz)
    thresholds = np.asarray(
        [datetime_to_us(local - d) for d in scheme.recency.within], dtype=np.int64
    )

    def m_and_days() -> tuple[IntArray, IntArray]:
        m = score_lower_edges(
            monetary,
            np.asarray(scheme.monetary.edges, dtype=np.int64),
            np.asarray(scheme.monetary.scores, dtype=np.int64),
        )
        return m, local_day(as_of, tz) - local_days(last, tz)

    # (M and the days since the last order on a second thread for many customers)
    other = Background(m_and_days) if len(last) >= _SPLIT_CUSTOMERS else None
    r = score_recency(last, thresholds, np.asarray(scheme.recency.scores, dtype=np.int64))
    f = score_lower_edges(
        frequency,
        np.asarray(scheme.frequency.edges, dtype=np.int64),
        np.asarray(scheme.frequency.scores, dtype=np.int64),
    )
    m, recency_days = m_and_days() if other is None else other.result()
    w_r, w_f, w_m = scheme.weights
    total = w_r * r + w_f * f + w_m * m
    grade = grade_codes(total, np.asarray(scheme.grade_cutoffs, dtype=np.int64))
    undersized = accumulated < scheme.min_customers
    if undersized and warn_undersized:
        warnings.warn(
            f"the shop has accumulated {accumulated:,} customers, fewer than the "
            f"{scheme.min_customers:,} that scheme {scheme.name!r} was made for; its grades "
            "may say little (tune the scheme or use quantile_scheme())",
            UndersizedShopWarning,
            stacklevel=3,
        )
    return RfmResult(
        customer_ids=read_only(ids),
        last_order_us=read_only(last),
        recency_days=read_only(recency_days.astype(np.int64, copy=False)),
        frequency=read_only(frequency),
        monetary_fen=read_only(monetary),
        r=read_only(r),
        f=read_only(f),
        m=read_only(m),
        total=read_only(total),
        grade=read_only(grade),
        unscored_customer_ids=read_only(unscored_ids),
        as_of=as_of,
        scheme=scheme,
        tz=tz,
        currency=currency,
        undersized=undersized,
    )
