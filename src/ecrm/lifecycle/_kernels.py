"""Private numpy kernels: purchase events per subject, and cycle quantiles per group.

A *subject* is whatever has its own purchase history: a customer (store cycles) or a
(group, customer) pair (SKU / category cycles). Kernels take arrays sorted so that each
subject's rows are contiguous and in day order, and never loop over subjects in Python.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._orderlog import OrderLog
from ecrm._time import datetime_to_us, local_day, require_aware

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]

#: Quantile levels of the 5221 rule, as whole percents (integer maths avoids 0.7 * 10 issues).
QUANTILES_PCT: Final = (50, 70, 90)
#: Kaplan–Meier shares are floats; a share within this relative distance of q · F(t_max)
#: counts as reaching it, so exact ties (F = 0.5 in exact arithmetic) are not lost to rounding.
KM_REL_TOL: Final = 1e-9
#: Up to this many (group, day) cells, observed quantiles use a counting sort.
_COUNTING_CELLS: Final = 1 << 22
#: "No value" in int64 result columns.
NONE_DAYS: Final = -1


@attrs.frozen
class AsOf:
    """A validated ``as_of``: the aware datetime, its epoch microseconds and local day."""

    when: dt.datetime
    us: int
    day: int


def as_of_for(log: OrderLog, as_of: object, field: str = "as_of") -> AsOf:
    """Validate ``as_of`` (aware datetime) against ``log``'s zone."""
    when = require_aware(as_of, field)
    return AsOf(when, datetime_to_us(when), local_day(when, log.tz))


def valid_before(log: OrderLog, as_of_us: int, statuses: Any) -> BoolArray:
    """Rows that are valid orders placed strictly before ``as_of``."""
    mask: BoolArray = log.valid_mask(statuses) & (log.placed_at_us < as_of_us)
    return mask


@attrs.frozen
class SubjectEvents:
    """First purchase events per subject (all arrays shape (n_subjects,) unless noted).

    Attributes:
        starts: int64, the first row of each subject in the input arrays.
        first_day, last_day: int64 local days of the first and last purchase.
        n_days: int64, distinct purchase days.
        has_second: bool, whether the subject made a second purchase (a repurchase).
        interval_days: int64, shape (has_second.sum(),), days from the first purchase to the
            second, for the subjects with ``has_second`` in subject order.
    """

    starts: IntArray
    first_day: IntArray
    last_day: IntArray
    n_days: IntArray
    has_second: BoolArray
    interval_days: IntArray


def subject_events(
    new_subject: BoolArray, day: IntArray, *, count_each: BoolArray | None
) -> SubjectEvents:
    """First and second purchase per subject from rows sorted by subject, then day.

    Args:
        new_subject: bool, shape (n,), true on the first row of each subject.
        day: int64 local days, shape (n,), nondecreasing within a subject.
        count_each: ``None`` to merge purchases on one day (``same_day="merge"``), else a
            bool array, true on rows that start a new purchase (``same_day="count"``).
    """
    n = len(day)
    starts = np.flatnonzero(new_subject).astype(np.int64)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return SubjectEvents(empty, empty, empty, empty, np.zeros(0, bool), empty)
    ends = np.empty_like(starts)
    ends[:-1] = starts[1:]
    ends[-1] = n
    new_day = new_subject.copy()
    new_day[1:] |= day[1:] != day[:-1]
    first_day = day[starts]
    last_day = day[ends - 1]
    # Every subject start is a day start (and an event), so subject k's days (events) are
    # the run of day (event) positions from its start to the next subject's start.
    day_pos = np.flatnonzero(new_day)
    n_days = np.diff(np.append(np.flatnonzero(new_subject[day_pos]), len(day_pos)))
    if count_each is None:
        event_pos = day_pos
        n_events = n_days
    else:
        event_pos = np.flatnonzero(count_each | new_subject)
    first_event_idx = np.flatnonzero(new_subject[event_pos])
    if count_each is not None:
        n_events = np.diff(np.append(first_event_idx, len(event_pos)))
    has_second = n_events >= 2
    # The second event of a subject is the event right after its first.
    second_rows = event_pos[first_event_idx[has_second] + 1]
    interval = day[second_rows] - first_day[has_second]
    return SubjectEvents(starts, first_day, last_day, n_days, has_second, interval.astype(np.int64))


def store_events(
    log: OrderLog, as_of_us: int, statuses: Any, same_day: str
) -> tuple[IntArray, SubjectEvents]:
    """Per-customer purchase events of the whole store; returns (customer codes, events)."""
    mask = valid_before(log, as_of_us, statuses)
    codes = log.customer_codes[mask]
    day = log.placed_day[mask]
    n = len(codes)
    same = np.zeros(n, dtype=bool)
    if n:
        np.equal(codes[1:], codes[:-1], out=same[1:])
        # Rows are in time order per customer; local days can only go backwards across a DST
        # change at midnight, so re-sort in that rare case.
        if np.any(same[1:] & (day[1:] < day[:-1])):
            order = np.lexsort((day, codes))
            codes, day = codes[order], day[order]
            np.equal(codes[1:], codes[:-1], out=same[1:])
    new_subject = ~same
    count_each = np.ones(n, dtype=bool) if same_day == "count" else None
    ev = subject_events(new_subject, day, count_each=count_each)
    return codes[ev.starts].astype(np.int64), ev


# -- quantiles per group ------------------------------------------------------------------


@attrs.frozen
class GroupQuantiles:
    """P50/P70/P90 per group (shape (n_groups, 3), ``NONE_DAYS`` where undefined)."""

    p: IntArray
    n_subjects: IntArray
    n_events: IntArray


def _ceil_rank(n: IntArray, pct: int) -> IntArray:
    """Smallest k with k >= pct/100 * n (exact integer arithmetic)."""
    return -((-pct * n) // 100)


def observed_quantiles(
    subject_group: IntArray, has_second: BoolArray, interval: IntArray, n_groups: int
) -> GroupQuantiles:
    """Empirical P_q per group: the smallest d with #(interval <= d) >= q * n_repurchasers."""
    n_subjects = np.bincount(subject_group, minlength=n_groups).astype(np.int64)
    g = subject_group[has_second]
    n_events = np.bincount(g, minlength=n_groups).astype(np.int64)
    p = np.full((n_groups, 3), NONE_DAYS, dtype=np.int64)
    has = n_events > 0
    if not len(g):
        return GroupQuantiles(p, n_subjects, n_events)
    span = int(interval.max()) + 1
    key = g.astype(np.int64) * span + interval
    if n_groups * span <= _COUNTING_CELLS:
        # Intervals are small whole days: a counting sort beats a comparison sort.
        cum = np.cumsum(
            np.bincount(key, minlength=n_groups * span).reshape(n_groups, span), axis=1
        )[has]
        for j, pct in enumerate(QUANTILES_PCT):
            k = _ceil_rank(n_events[has], pct)
            p[has, j] = np.argmax(cum >= k[:, None], axis=1)
    else:
        order = np.argsort(key, kind="stable")
        sorted_iv = interval[order]
        starts = np.zeros(n_groups, dtype=np.int64)
        np.cumsum(n_events[:-1], out=starts[1:])
        for j, pct in enumerate(QUANTILES_PCT):
            k = _ceil_rank(n_events[has], pct)
            p[has, j] = sorted_iv[starts[has] + k - 1]
    return GroupQuantiles(p, n_subjects, n_events)


@attrs.frozen
class KmRuns:
    """Kaplan–Meier steps (event times only), sorted by group then time."""

    group: IntArray
    time: IntArray
    share: FloatArray  # F(t) = 1 − S(t)
    share_max: FloatArray  # F(t_max) of the run's group, per run


def _segmented_cumsum(
    values: FloatArray, seg_start: IntArray, seg_len: IntArray
) -> FloatArray:
    """Cumulative sums that restart at every segment, each summed on its own.

    One global cumsum minus each segment's offset would lose the low digits of a group's
    sum to the magnitude of all the groups before it (with a million SKUs, enough to
    move a Kaplan–Meier quantile that sits exactly on q · F(t_max)). Instead, the k-th
    value of every segment is added to its (k−1)-th at once: one vectorised step per
    rank, as many steps as the longest segment has values (distinct event days).
    """
    out = values.copy()
    if len(values) == 0:
        return out
    rank = np.arange(len(values), dtype=np.int64) - np.repeat(seg_start, seg_len)
    by_rank = np.argsort(rank, kind="stable")
    bounds = np.searchsorted(rank[by_rank], np.arange(int(rank.max()) + 2))
    for k in range(1, len(bounds) - 1):
        pos = by_rank[bounds[k]:bounds[k + 1]]
        out[pos] += out[pos - 1]
    return out


def km_runs(
    subject_group: IntArray, time: IntArray, event: BoolArray, n_groups: int
) -> KmRuns:
    """Product-limit estimate of time to first repurchase, per group, vectorised.

    Args:
        subject_group: int64 group of each subject, shape (m,).
        time: int64 days to the event or to censoring, shape (m,), >= 0.
        event: bool, shape (m,), true when the subject repurchased at ``time``.
        n_groups: number of groups.
    """
    if len(time) == 0 or not event.any():
        e = np.zeros(0, dtype=np.int64)
        return KmRuns(e, e, np.zeros(0), np.zeros(0))
    span = int(time.max()) + 1
    key = subject_group.astype(np.int64) * span + time
    order = np.argsort(key, kind="stable")
    key_s = key[order]
    ev_s = event[order]
    m = len(key_s)
    new_run = np.ones(m, dtype=bool)
    new_run[1:] = key_s[1:] != key_s[:-1]
    run_start = np.flatnonzero(new_run)
    d = np.add.reduceat(ev_s.astype(np.int64), run_start)
    g_run = key_s[run_start] // span
    t_run = key_s[run_start] - g_run * span
    # At risk at t: subjects of the group whose time is >= t (censored at t still count).
    n_per_group = np.bincount(subject_group, minlength=n_groups).astype(np.int64)
    group_end = np.cumsum(n_per_group)
    at_risk = group_end[g_run] - run_start
    keep = d > 0
    g_run, t_run, d, at_risk = g_run[keep], t_run[keep], d[keep], at_risk[keep]
    # d == at_risk can only happen on a group's last event (nobody is left after it).
    full = d == at_risk
    with np.errstate(divide="ignore"):
        log_term = np.where(full, 0.0, np.log1p(-d / at_risk))
    first_run = np.ones(len(g_run), dtype=bool)
    first_run[1:] = g_run[1:] != g_run[:-1]
    run_group_start = np.flatnonzero(first_run)
    runs_per_group = np.diff(np.append(run_group_start, len(g_run)))
    log_s = _segmented_cumsum(log_term, run_group_start, runs_per_group)
    share = np.where(full, 1.0, -np.expm1(log_s))
    last_run = np.append(run_group_start[1:], len(g_run)) - 1
    share_max = np.repeat(share[last_run], runs_per_group)
    return KmRuns(g_run, t_run, share, share_max)


def km_quantiles(
    subject_group: IntArray, time: IntArray, event: BoolArray, n_groups: int
) -> tuple[GroupQuantiles, KmRuns]:
    """Kaplan–Meier P_q per group: the smallest t with F(t) >= q · F(t_max)."""
    n_subjects = np.bincount(subject_group, minlength=n_groups).astype(np.int64)
    n_events = np.bincount(subject_group[event], minlength=n_groups).astype(np.int64)
    runs = km_runs(subject_group, time, event, n_groups)
    p = np.full((n_groups, 3), NONE_DAYS, dtype=np.int64)
    if len(runs.time):
        first_run = np.ones(len(runs.group), dtype=bool)
        first_run[1:] = runs.group[1:] != runs.group[:-1]
        group_start = np.flatnonzero(first_run)
        groups = runs.group[group_start]
        for j, pct in enumerate(QUANTILES_PCT):
            # Each run is compared with its own group's target (no offset that would round
            # small shares away). F is nondecreasing within a group and its last run reaches
            # the target, so the runs short of it come first: count them.
            short = runs.share < runs.share_max * (pct / 100.0 - KM_REL_TOL)
            idx = group_start + np.add.reduceat(short.astype(np.int64), group_start)
            p[groups, j] = runs.time[idx]
    return GroupQuantiles(p, n_subjects, n_events), runs
