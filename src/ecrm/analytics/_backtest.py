"""Dry run / backtest: replay the flows day by day through the send policy; nothing is sent.

Each local day ``[d 00:00, d+1 00:00)`` the flows are asked for the messages that fell due
in it; every candidate is decided by the :class:`~ecrm.touch.SendPolicy` at its due moment
on a simulated clock, a deferred one again at its ``until`` (possibly on a later day), and
sends are recorded in an in-memory :class:`~ecrm.touch.SendLog` so frequency caps and
dedupe work as they would live. The report counts per day what would have happened.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import warnings
from collections import Counter
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from typing import Any, ParamSpec, TypeAlias

import attrs
import numpy as np

from ecrm import _validators as _v
from ecrm._customers import CustomerTable
from ecrm._deprecate import RENAMED_IN
from ecrm._money import Money
from ecrm._orderlog import OrderLog
from ecrm._time import NAT_US, as_zone, datetime_to_us, us_to_datetime
from ecrm._window import Window
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.lifecycle import Bands, CycleTable, RepurchaseCycle
from ecrm.touch import (
    ChannelKind,
    Defer,
    ManualClock,
    Message,
    Outbox,
    PolicyContext,
    Send,
    SendLog,
    SendPolicy,
    Skip,
    sms_segments,
)
from ecrm.touch.flows import (
    DEFAULT_HOLIDAYS,
    CouponGrants,
    FlowContext,
    Holiday,
    OrderEvents,
    birthday_greetings,
    coupon_expiry_reminders,
    delivery_notices,
    gift_pack_notices,
    holiday_greetings,
    order_events_from_log,
    payment_reminders,
    receipt_confirmations,
    refund_notices,
    refund_request_care,
    repurchase_reminders,
    returning_customer_offers,
    satisfaction_follow_ups,
    shipping_notices,
    usage_tutorials,
    win_back_offers,
)

__all__ = ["BacktestDay", "BacktestReport", "Flow", "backtest", "standard_flows"]

#: A flow for the backtest: ``flow(start, as_of)`` → the candidates due in ``(start, as_of]``.
Flow: TypeAlias = Callable[[dt.datetime, dt.datetime], Sequence[Message]]
Counts: TypeAlias = tuple[tuple[str, int], ...]


def _counts(counter: Mapping[str, int]) -> Counts:
    return tuple(sorted((k, int(v)) for k, v in counter.items() if v))


def standard_flows(
    orders: OrderLog,
    *,
    ctx: FlowContext,
    events: OrderEvents | None = None,
    cycles: CycleTable | None = None,
    coupons: CouponGrants | None = None,
    first_order_coupon: str | None = None,
    holidays: Iterable[Holiday] = DEFAULT_HOLIDAYS,
    store_cycle: RepurchaseCycle | Bands | tuple[int, int, int] | None = None,
) -> dict[str, Flow]:
    """The daily care flows of the playbook over one shop, ready for :func:`backtest`.

    Args:
        orders: the order log (payment reminders, first orders, win-back, repurchase).
        ctx: addressing and templates; flows that need customers (birthday, holiday,
            gift pack) are left out when ``ctx.customers`` is ``None``.
        events: logistics events (default: :func:`order_events_from_log` of ``orders``).
        cycles: item cycles for repurchase reminders (left out when ``None``).
        coupons: granted coupons for expiry reminders (left out when ``None``).
        first_order_coupon: the coupon granted after the first order ships.
        holidays: the holiday list.
        store_cycle: the shop's repurchase cycle (or its bands, or ``(P50, P70, P90)``)
            for the after-churn win-back (left out when ``None``).

    Returns:
        flow name → :data:`Flow`, in a fixed order.

    Raises:
        InvalidTypeError: an argument of the wrong type (named), checked before any flow
            is built, so a wrong value never fails later inside :func:`backtest`.
        InvalidValueError: a bad ``store_cycle``.
    """
    _v.check_instance("orders", orders, OrderLog)
    _v.check_instance("ctx", ctx, FlowContext)
    for name, value, cls in (("events", events, OrderEvents), ("cycles", cycles, CycleTable),
                             ("coupons", coupons, CouponGrants),
                             ("first_order_coupon", first_order_coupon, str)):
        if value is not None:
            _v.check_instance(name, value, cls)
    hol = tuple(_v.check_items("holidays", holidays, Holiday))
    if store_cycle is not None and not isinstance(store_cycle, RepurchaseCycle):
        Bands.of(store_cycle)  # refuse a bad cycle now, not inside the first replayed day
    ev = events if events is not None else order_events_from_log(orders)
    flows: dict[str, Flow] = {
        "payment_reminder": lambda s, a: payment_reminders(orders, start=s, as_of=a, ctx=ctx),
        "shipping": lambda s, a: shipping_notices(ev, start=s, as_of=a, ctx=ctx),
        "delivery": lambda s, a: delivery_notices(ev, start=s, as_of=a, ctx=ctx),
        "receipt_confirmed": lambda s, a: receipt_confirmations(ev, start=s, as_of=a, ctx=ctx),
        "refund_request": lambda s, a: refund_request_care(ev, start=s, as_of=a, ctx=ctx),
        "refund": lambda s, a: refund_notices(ev, start=s, as_of=a, ctx=ctx),
        "usage_tutorial": lambda s, a: usage_tutorials(orders, ev, start=s, as_of=a, ctx=ctx,
                                                       coupon=first_order_coupon),
        "satisfaction": lambda s, a: satisfaction_follow_ups(orders, ev, start=s, as_of=a,
                                                             ctx=ctx),
        "returning_offer": lambda s, a: returning_customer_offers(orders, start=s, as_of=a,
                                                                  ctx=ctx),
    }
    if store_cycle is not None:
        cycle = store_cycle
        flows["win_back"] = lambda s, a: win_back_offers(orders, start=s, as_of=a, ctx=ctx,
                                                         cycle=cycle)
    if ctx.customers is not None:
        flows["birthday"] = lambda s, a: birthday_greetings(start=s, as_of=a, ctx=ctx)
        flows["holiday"] = lambda s, a: holiday_greetings(start=s, as_of=a, ctx=ctx,
                                                          holidays=hol)
        flows["gift_pack"] = lambda s, a: gift_pack_notices(start=s, as_of=a, ctx=ctx)
    if cycles is not None:
        flows["repurchase"] = lambda s, a: repurchase_reminders(orders, cycles, start=s,
                                                                as_of=a, ctx=ctx)
    if coupons is not None:
        flows["coupon_expiry"] = lambda s, a: coupon_expiry_reminders(coupons, start=s,
                                                                      as_of=a, ctx=ctx)
    return flows


@attrs.frozen
class BacktestDay:
    """What one local day of the replay would have done.

    Attributes:
        day: the local date.
        candidates: messages the flows produced for the day, per flow.
        sent: messages that would have gone out that day, per flow.
        sent_by_channel: the same per channel kind (``"sms"``, ``"coupon"`` …).
        segments: billed SMS segments of the day's sends.
        cost: ``segments × price_per_segment``.
        deferrals: Defer decisions made that day (one message may be deferred twice).
        skips: skipped messages by the rule that refused them (``opt_out``,
            ``frequency_cap``, ``time_window``, ``max_lateness``, ``expiry`` …).
        collisions: customers targeted by two or more flows that day.
        cap_hits: decisions where a frequency cap was reached.
    """

    day: dt.date
    candidates: Counts
    sent: Counts
    sent_by_channel: Counts
    segments: int
    cost: Money
    deferrals: int
    skips: Counts
    collisions: int
    cap_hits: int

    @property
    def n_candidates(self) -> int:
        return sum(v for _, v in self.candidates)

    @property
    def n_sent(self) -> int:
        return sum(v for _, v in self.sent)

    @property
    def n_skipped(self) -> int:
        return sum(v for _, v in self.skips)


def _merge(rows: Iterable[Counts]) -> Counts:
    total: Counter[str] = Counter()
    for r in rows:
        for k, v in r:
            total[k] += v
    return _counts(total)


@attrs.frozen
class BacktestReport:
    """The day-by-day result of :func:`backtest`; totals are sums of the day rows.

    Attributes:
        days: one :class:`BacktestDay` per local day, in order.
        pending: messages still deferred past the last day (not counted as sent).
        price_per_segment: the SMS price used.
    """

    days: tuple[BacktestDay, ...]
    pending: int
    price_per_segment: Money

    @property
    def candidates(self) -> Counts:
        return _merge(d.candidates for d in self.days)

    @property
    def sent(self) -> Counts:
        return _merge(d.sent for d in self.days)

    @property
    def sent_by_channel(self) -> Counts:
        return _merge(d.sent_by_channel for d in self.days)

    @property
    def skips(self) -> Counts:
        return _merge(d.skips for d in self.days)

    @property
    def segments(self) -> int:
        return sum(d.segments for d in self.days)

    @property
    def cost(self) -> Money:
        return self.price_per_segment * self.segments

    @property
    def deferrals(self) -> int:
        return sum(d.deferrals for d in self.days)

    @property
    def collisions(self) -> int:
        return sum(d.collisions for d in self.days)

    @property
    def cap_hits(self) -> int:
        return sum(d.cap_hits for d in self.days)

    def table(self, *, by_flow: bool = True) -> str:
        """A text table: one line per day and a total, then per-flow and skip totals."""
        head = ("day", "cand", "sent", "segs", "cost", "defer", "skip", "collide", "caps")
        lines = [head]
        for d in self.days:
            lines.append((d.day.isoformat(), str(d.n_candidates), str(d.n_sent),
                          str(d.segments), str(d.cost), str(d.deferrals), str(d.n_skipped),
                          str(d.collisions), str(d.cap_hits)))
        lines.append(("total", str(sum(v for _, v in self.candidates)),
                      str(sum(v for _, v in self.sent)), str(self.segments), str(self.cost),
                      str(self.deferrals), str(sum(v for _, v in self.skips)),
                      str(self.collisions), str(self.cap_hits)))
        widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
        out = ["  ".join(c.rjust(w) if i else c.ljust(w)
                         for i, (c, w) in enumerate(zip(r, widths, strict=True)))
               for r in lines]
        if by_flow:
            sent = dict(self.sent)
            out.append("")
            out.append("flow: candidates → sent")
            for name, n in self.candidates:
                out.append(f"  {name}: {n} → {sent.get(name, 0)}")
            out.append("skipped by rule: " + (", ".join(f"{k} {v}" for k, v in self.skips)
                                              or "none"))
            out.append("sent by channel: " + (", ".join(
                f"{k} {v}" for k, v in self.sent_by_channel) or "none"))
            if self.pending:
                out.append(f"still deferred after the last day: {self.pending}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.table()


class _MembersAt:
    """Container of the customers who had joined before an instant (vectorised table)."""

    def __init__(self, table: CustomerTable, at_us: int) -> None:
        self._table = table
        self._at = at_us

    def __contains__(self, customer_id: object) -> bool:
        row = int(self._table.index_of(np.asarray([customer_id]))[0])
        if row < 0:
            return False
        since = int(self._table.member_since_us[row])
        return since != NAT_US and since < self._at


def _failed_rule(trace: Sequence[Any]) -> str:
    failed = [c.rule for c in trace if not c.passed]
    return failed[-1] if failed else "unknown"


def _expires(message: Message) -> dt.datetime | None:
    text = message.meta("expires_at")
    return None if text is None else dt.datetime.fromisoformat(text)


_P = ParamSpec("_P")


def _legacy_days(func: Callable[_P, BacktestReport]) -> Callable[_P, BacktestReport]:
    """Accept the deprecated ``start=``/``end=`` local dates for one release."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> BacktestReport:
        if "start" not in kwargs and "end" not in kwargs:
            return func(*args, **kwargs)
        old = dict(kwargs)
        start, end = old.pop("start", None), old.pop("end", None)
        if "window" in old:
            raise TypeError("backtest() got window= and its deprecated start=/end=; "
                            "pass only window=")
        if not isinstance(start, dt.date) or not isinstance(end, dt.date):
            raise InvalidTypeError("start and end must be dates")
        if end < start:
            raise InvalidValueError("end", f"must not be before start {start}", end)
        warnings.warn(
            f"backtest(): the keywords start=/end= are deprecated since {RENAMED_IN} and will "
            "be removed in the next release; use window=ecrm.Window.of_dates(start, end, tz) "
            "instead", DeprecationWarning, stacklevel=2,
        )
        policy = old.get("policy") or SendPolicy()
        tz = old.get("tz")
        zone = as_zone(tz if tz is not None else policy.store_tz)  # type: ignore[arg-type,attr-defined]
        if end == start:  # the old form allowed an empty replay
            return BacktestReport((), 0, old.get("price_per_segment") or Money(0))  # type: ignore[arg-type]
        return func(*args, window=Window.of_dates(start, end, zone), **old)  # type: ignore[arg-type]

    return wrapper


@_legacy_days
def backtest(
    flows: Mapping[str, Flow],
    *,
    window: Window,
    policy: SendPolicy | None = None,
    context: PolicyContext | None = None,
    customers: CustomerTable | None = None,
    tz: str | dt.tzinfo | None = None,
    price_per_segment: Money | None = None,
    outbox: Outbox | None = None,
    clock: ManualClock | None = None,
) -> BacktestReport:
    """Replay ``flows`` over the local days of ``window``; nothing is sent.

    Args:
        flows: name → :data:`Flow` (:func:`standard_flows` builds the default set).
        window: the days to replay, an :class:`ecrm.Window`: every local day (in ``tz``)
            whose midnight lies in it; ``Window.of_dates(first_day, end_day, tz)`` is the
            days ``first_day ≤ d < end_day``. ``start=``/``end=`` (local dates, ``end``
            exclusive) is the deprecated form.
        policy: the policy to test (default :class:`SendPolicy`).
        context: opt-outs, block list, consent, membership; its ``history`` is replaced by
            the replay's own :class:`SendLog`. When ``members`` is ``None`` and
            ``customers`` is given, membership is read from ``customers`` as of each
            decision's day (members who joined later are not members yet).
        customers: see ``context``.
        tz: the zone of the days (default the policy's store zone).
        price_per_segment: SMS price (default ¥0).
        outbox: optional; every candidate is also enqueued there (under its key) for
            inspection. Nothing is dispatched.
        clock: optional injected clock, moved to each simulated moment (the end of each
            day's flow window before the flows run, then each decision), so flows or
            context callables that read it see the replay's time.

    Returns:
        A :class:`BacktestReport`.

    Raises:
        InvalidTypeError: ``window`` is not a :class:`ecrm.Window`, ``flows`` not a mapping
            of callables, or another argument of the wrong type (named).
    """
    if not isinstance(window, Window):
        raise InvalidTypeError(
            f"window must be an ecrm.Window, got {type(window).__name__} {window!r}"
        )
    _v.check_instance("flows", flows, Mapping)
    for name, flow in flows.items():
        if not callable(flow):
            raise InvalidTypeError(f"flows[{name!r}] must be callable, got {type(flow).__name__}")
    for arg, value, cls in (("policy", policy, SendPolicy), ("context", context, PolicyContext),
                            ("customers", customers, CustomerTable),
                            ("price_per_segment", price_per_segment, Money),
                            ("outbox", outbox, Outbox), ("clock", clock, ManualClock)):
        if value is not None:
            _v.check_instance(arg, value, cls)
    policy = policy if policy is not None else SendPolicy()
    zone = as_zone(tz if tz is not None else policy.store_tz)
    first = window.start.astimezone(zone)
    start = first.date() + dt.timedelta(days=0 if first.time() == dt.time(0) else 1)
    price = price_per_segment if price_per_segment is not None else Money(0)
    history = SendLog()
    base = attrs.evolve(context if context is not None else PolicyContext(), history=history)
    heap: list[tuple[int, int, str, Message]] = []
    seq = 0
    days: list[BacktestDay] = []
    d = start
    while (since := dt.datetime.combine(d, dt.time(0), zone)) < window.end:
        as_of = dt.datetime.combine(d + dt.timedelta(days=1), dt.time(0), zone)
        members: Container[str | int] | None = base.members
        if members is None and customers is not None:
            members = _MembersAt(customers, datetime_to_us(since))
        ctx = attrs.evolve(base, members=members)
        cand: Counter[str] = Counter()
        flows_of: dict[str | int, set[str]] = {}
        since_us = datetime_to_us(since)
        if clock is not None:
            clock.set(as_of)
        for name, flow in flows.items():
            msgs = list(flow(since, as_of))
            cand[name] += len(msgs)
            if outbox is not None:
                outbox.enqueue_many(msgs)
            for m in msgs:
                flows_of.setdefault(m.recipient.customer_id, set()).add(name)
                due = datetime_to_us(m.not_before or m.created_at)
                heapq.heappush(heap, (max(due, since_us), seq, name, m))
                seq += 1
        sent: Counter[str] = Counter()
        by_channel: Counter[str] = Counter()
        skips: Counter[str] = Counter()
        segments = deferrals = cap_hits = 0
        end_us = datetime_to_us(as_of)
        while heap and heap[0][0] < end_us:
            at_us, _, name, m = heapq.heappop(heap)
            now = us_to_datetime(at_us, dt.UTC)
            if clock is not None:
                clock.set(now)
            expires = _expires(m)
            if expires is not None and expires <= now:
                skips["expiry"] += 1
                continue
            decision = policy.decide(m, as_of=now, context=ctx)
            cap_hits += any(c.rule == "frequency_cap" and not c.passed for c in decision.trace)
            if isinstance(decision, Send):
                history.record(m, now)
                sent[name] += 1
                by_channel[m.channel.value] += 1
                if m.channel is ChannelKind.SMS:
                    segments += sms_segments(len(m.body))
            elif isinstance(decision, Defer):
                deferrals += 1
                if expires is not None and decision.until >= expires:
                    skips["expiry"] += 1
                    continue
                heapq.heappush(heap, (datetime_to_us(decision.until), seq, name, m))
                seq += 1
            elif isinstance(decision, Skip):
                skips[_failed_rule(decision.trace)] += 1
        days.append(BacktestDay(
            day=d, candidates=_counts(cand), sent=_counts(sent),
            sent_by_channel=_counts(by_channel), segments=segments, cost=price * segments,
            deferrals=deferrals, skips=_counts(skips),
            collisions=sum(1 for v in flows_of.values() if len(v) > 1), cap_hits=cap_hits,
        ))
        d += dt.timedelta(days=1)
    return BacktestReport(tuple(days), len(heap), price)
