"""``build_report``: assemble the shop report from the domain results (pure; no I/O).

Each section is built by one private function from the results of ecrm.rfm, ecrm.tiers,
ecrm.lifecycle and ecrm.touch (and ecrm.analytics for the comparisons, provinces and
product preferences when it is installed). Figures are computed once here and stored as
display text, so the renderer and the tests read the same numbers.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from collections.abc import Callable
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from dateutil.relativedelta import relativedelta

from ecrm._customers import CustomerTable
from ecrm._errors import InvalidTypeError, InvalidValueError
from ecrm._events import EventKind, EventLog
from ecrm._money import Money
from ecrm._orderlog import OrderLog
from ecrm._time import as_zone, datetime_to_us, require_aware
from ecrm._version import __version__
from ecrm.lifecycle import RepurchaseCycle, Stage, StageResult, cycles_by, repurchase_cycle
from ecrm.lifecycle import stages as lifecycle_stages
from ecrm.report._model import BarChart, CycleChart, Metric, Report, Section, Table
from ecrm.rfm import RfmResult, score, segments
from ecrm.tiers import TAOBAO_STORE_VIP, TierLadder, tier_flow

__all__ = ["DEFAULT_SMS_PRICE", "Progress", "build_report", "plan_day"]

#: ``progress(step, done, total)``: called before each step with a short label.
Progress = Callable[[str, int, int], None]

#: The default price of one billed SMS segment (¥0.05, a typical bulk price).
DEFAULT_SMS_PRICE: Final = Money(5)

_STEPS: Final = (
    "headline numbers",
    "RFM grades",
    "repurchase cycle and stages",
    "membership tiers",
    "provinces",
    "product preferences",
    "tomorrow's touches",
)
_TOP_N: Final = 10


def _pct(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def _change(now: float, before: float) -> str:
    """Relative change as text: ``+4.2%``, ``-10.0%``, ``new`` (from 0) or ``0.0%``."""
    if before == 0:
        return "0.0%" if now == 0 else "new"
    return f"{(now - before) / before:+.1%}"


def _month_label(start: dt.datetime) -> str:
    return f"{start.year}-{start.month:02d}"


def plan_day(as_of: dt.datetime) -> dt.date:
    """The local day whose touches the report plans: the first whole day from ``as_of``.

    ``as_of`` at local midnight plans that day (the data ends the evening before); any
    later moment plans the next day.
    """
    local = as_of
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return local.date() if local == start else local.date() + dt.timedelta(days=1)


# -- headline ---------------------------------------------------------------------------
class _Period:
    """Store figures of one half-open window of valid orders (vectorised)."""

    def __init__(self, log: OrderLog, first_valid_us: npt.NDArray[np.int64],
                 start: dt.datetime, end: dt.datetime) -> None:
        a, b = datetime_to_us(start), datetime_to_us(end)
        placed = log.placed_at_us
        rows = log.valid_mask() & (placed >= a) & (placed < b)
        codes = log.customer_codes[rows]
        net = log.net_fen[rows]
        buyers = np.unique(codes)
        new_buyer = (first_valid_us[buyers] >= a) & (first_valid_us[buyers] < b)
        new_row = (first_valid_us[codes] >= a) & (first_valid_us[codes] < b)
        self.sales_fen = int(net.sum())
        self.orders = int(rows.sum())
        self.buyers = len(buyers)
        self.new_buyers = int(new_buyer.sum())
        self.returning_buyers = self.buyers - self.new_buyers
        self.new_sales_fen = int(net[new_row].sum())
        self.returning_sales_fen = self.sales_fen - self.new_sales_fen

    @property
    def aov_fen(self) -> int:
        return self.sales_fen // self.orders if self.orders else 0


def _first_valid_us(log: OrderLog) -> npt.NDArray[np.int64]:
    """Per customer code: the instant of the first valid order ever (max int64 if none)."""
    first = np.full(log.n_customers, np.iinfo(np.int64).max, dtype=np.int64)
    valid = log.valid_mask()
    # rows are sorted by customer, then time: the first valid row of a code is its minimum
    np.minimum.at(first, log.customer_codes[valid], log.placed_at_us[valid])
    return first


def _headline(log: OrderLog, as_of: dt.datetime, zone: dt.tzinfo,
              events: EventLog | None, customers: CustomerTable | None) -> Section:
    local = as_of.astimezone(zone)
    end = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = end - relativedelta(months=1)
    prev = (start - relativedelta(months=1), start)
    yoy = (start - relativedelta(years=1), end - relativedelta(years=1))
    first = _first_valid_us(log)
    cur = _Period(log, first, start, end)
    before = _Period(log, first, *prev)
    year_ago = _Period(log, first, *yoy)
    cur_label = _month_label(start)
    against = ((f"vs {_month_label(prev[0])}", before), (f"vs {_month_label(yoy[0])}", year_ago))
    currency = log.currency

    def metric(label: str, value: Callable[[_Period], int], money: bool) -> Metric:
        text = str(Money(value(cur), currency)) if money else f"{value(cur):,}"
        return Metric(label, text, [(k, _change(value(cur), value(p))) for k, p in against])

    metrics = [
        metric("sales", lambda p: p.sales_fen, True),
        metric("orders", lambda p: p.orders, False),
        metric("buyers", lambda p: p.buyers, False),
        metric("average order value", lambda p: p.aov_fen, True),
        metric("new customers", lambda p: p.new_buyers, False),
        metric("returning customers", lambda p: p.returning_buyers, False),
        metric("new-customer sales", lambda p: p.new_sales_fen, True),
        metric("returning-customer sales", lambda p: p.returning_sales_fen, True),
    ]
    rows = []
    for label, p in ((cur_label, cur), (_month_label(prev[0]), before),
                     (_month_label(yoy[0]), year_ago)):
        rows.append((label, str(Money(p.sales_fen, currency)), f"{p.orders:,}", f"{p.buyers:,}",
                     str(Money(p.aov_fen, currency)), f"{p.new_buyers:,}",
                     f"{p.returning_buyers:,}", _pct(p.returning_sales_fen, p.sales_fen)))
    table = Table(
        "Store figures by month (valid orders, net of refunds)",
        ["month", "sales", "orders", "buyers", "avg order", "new", "returning",
         "returning share of sales"],
        rows, [False, True, True, True, True, True, True, True],
    )
    tables = [table]
    if events is not None:
        tables.append(_customer_classes(log, events, customers))
    return Section(
        "overview", f"Headline numbers: {cur_label}",
        summary=(f"The last complete calendar month before {as_of.isoformat()} "
                 f"({cur_label}), against the month before and the same month a year "
                 "earlier."),
        metrics=metrics, tables=tables,
        notes=["A new customer placed their first valid order ever in the month; a returning "
               "customer had ordered before it. Sales are amount minus refunds of valid "
               "(paid, shipped or completed, not fully refunded) orders."],
    )


def _customer_classes(log: OrderLog, events: EventLog,
                      customers: CustomerTable | None) -> Table:
    ordered = log.customer_ids
    browsed = np.setdiff1d(events.customers_with(EventKind.BROWSE), ordered)
    carted = np.setdiff1d(events.customers_with(EventKind.CART), ordered)
    favorited = np.setdiff1d(events.customers_with(EventKind.FAVORITE), ordered)
    rows = [
        ("非订购客户", "visited, never ordered", f"{len(browsed):,}"),
        ("无销售客户", "added to cart, never ordered", f"{len(carted):,}"),
        ("收藏未购", "favourited, never ordered", f"{len(favorited):,}"),
    ]
    if customers is not None:
        rows.append(("恶意客户", "on the block list", f"{int(customers.blocked.sum()):,}"))
    return Table("Customers without orders (from the events file)",
                 ["class", "meaning", "customers"], rows, [False, False, True])


# -- RFM --------------------------------------------------------------------------------
def _grades(result: RfmResult) -> list[Section]:
    counts = result.grade_counts()
    n = len(result)
    chart = BarChart(
        "Customers per grade", [f"{g.value} {g.zh}" for g in counts],
        [float(v) for v in counts.values()], value_label="customers",
    )
    rows = [(g.value, g.zh, g.en, f"{c:,}", _pct(c, n)) for g, c in counts.items()]
    rows.append(("", "", "scored", f"{n:,}", ""))
    rows.append(("", "", "unscored (no valid order in the year)",
                 f"{len(result.unscored_customer_ids):,}", ""))
    notes = [f"Scheme {result.scheme.name}: total = 1·R + 3·F + 4·M over the year before "
             f"as_of; grades by total (P 36–40, G 26–35, S 17–25, B ≤ 16)."]
    if result.undersized:
        notes.append(f"{n:,} scored customers is fewer than the "
                     f"{result.scheme.min_customers:,} the scheme was made for: tune it to the "
                     "shop (see docs/rfm.md, quantile_scheme).")
    grades = Section(
        "grades", "RFM grades (P/G/S/B)",
        summary="Customers with a valid order in the last year, graded by recency, "
                "frequency and monetary value.",
        charts=[chart],
        tables=[Table("Grade distribution", ["grade", "中文", "name", "customers", "share"],
                      rows, [False, False, False, True, True])],
        notes=notes,
    )
    seg = segments(result)
    seg_rows = []
    for r in seg.table():
        def fmt(x: float | None) -> str:
            return "-" if x is None else f"{x:.2f}"
        seg_rows.append((r.segment.zh, r.segment.en, f"{r.count:,}", f"{r.share:.1%}",
                         fmt(r.mean_r), fmt(r.mean_f), fmt(r.mean_m), str(r.monetary)))
    ref = ", ".join(f"{x:.2f}" for x in seg.reference)
    segs = Section(
        "segments", "RFM segments",
        summary="The eight classic segments: R, F and M each high (above the mean score) or "
                "low.",
        tables=[Table("Customers per segment",
                      ["segment", "name", "customers", "share", "mean R", "mean F", "mean M",
                       "spend in the year"],
                      seg_rows, [False, False, True, True, True, True, True, True])],
        notes=[f"Reference (mean R, F, M scores): {ref}."],
    )
    return [grades, segs]


# -- cycle and stages -------------------------------------------------------------------
_STAGE_RULES: Final = {
    Stage.PROSPECT: "no valid order",
    Stage.NEW: "one purchase day, d ≤ P50",
    Stage.ACTIVE: "d ≤ P50",
    Stage.SILENT: "P50 < d ≤ P70",
    Stage.SLEEPING: "P70 < d ≤ P90",
    Stage.CHURNED: "d > P90",
}


def _cycle_sections(cycle: RepurchaseCycle, st: StageResult | None) -> list[Section]:
    metrics = [
        Metric("first-time buyers", f"{cycle.n_first_time_buyers:,}"),
        Metric("repurchasers", f"{cycle.n_repurchasers:,}"),
        Metric("repurchase rate", f"{cycle.repurchase_rate:.1%}"),
    ]
    notes = [f"Method {cycle.method}, scope {cycle.scope}; several orders on one day are "
             f"{'one purchase day' if cycle.same_day == 'merge' else 'counted apart'}."]
    if cycle.has_bands:
        metrics += [Metric("P50", f"{cycle.p50_days} days"), Metric("P70", f"{cycle.p70_days} days"),
                    Metric("P90", f"{cycle.p90_days} days")]
    else:
        notes.append("No customer has repurchased yet: there are no 5221 boundaries, so no "
                     "lifecycle stages.")
    if cycle.n_repurchasers < cycle.min_repurchasers:
        notes.append(f"Only {cycle.n_repurchasers} repurchaser(s) (fewer than "
                     f"{cycle.min_repurchasers}): the boundaries are a thin estimate.")
    sections = [Section(
        "cycle", "Repurchase cycle (5221)",
        summary="Days from the first purchase day to the second. P50 / P70 / P90 split the "
                "repurchasers 50% / 20% / 20% / 10% and bound the lifecycle stages.",
        metrics=metrics,
        charts=[CycleChart("Repurchase curve", cycle)] if len(cycle.curve[0]) else [],
        notes=notes,
    )]
    if st is None:
        return sections
    counts = st.counts
    total = sum(counts.values())
    chart = BarChart("Customers per lifecycle stage", [f"{s.label_zh} {s.name.lower()}"
                                                       for s in Stage],
                     [float(counts[s]) for s in Stage], value_label="customers",
                     horizontal=True)
    rows = [(s.label_zh, s.name.lower(), _STAGE_RULES[s], f"{counts[s]:,}",
             _pct(counts[s], total)) for s in Stage]
    rows.append(("", "total", "", f"{total:,}", ""))
    sections.append(Section(
        "lifecycle", "Lifecycle funnel",
        summary=f"Every known customer's stage on {st.as_of.date().isoformat()} by the days d "
                "since their last purchase day.",
        charts=[chart],
        tables=[Table("Customers per stage", ["stage", "name", "rule", "customers", "share"],
                      rows, [False, False, False, True, True])],
    ))
    return sections


# -- tiers ------------------------------------------------------------------------------
def _tiers(log: OrderLog, ladder: TierLadder, as_of: dt.datetime,
           customers: CustomerTable | None) -> Section:
    opted: Any = customers if customers is not None else False
    res = ladder.evaluate_log(log, as_of=as_of, opted_in=opted)
    levels = range(len(ladder.tiers) + 1)
    names = {0: ladder.store_customer_name, **{t.level: t.name for t in ladder.tiers}}
    counts = res.counts()
    qualified = res.counts(qualified=True)
    potential = np.bincount(res.qualified_level[res.potential].astype(np.int64),
                            minlength=len(levels))
    n = len(res)
    rows = [(str(lv), names[lv], f"{counts[lv]:,}", _pct(counts[lv], n), f"{qualified[lv]:,}",
             f"{int(potential[lv]):,}" if lv else "-") for lv in levels]
    rows.append(("", "total", f"{n:,}", "", f"{n:,}", f"{int(res.potential.sum()):,}"))
    members = n - counts[0]
    chart = BarChart(
        "Customers per level (members) and potential members",
        [*(f"{lv} {names[lv]}" for lv in levels), "potential members"],
        [*(float(counts[lv]) for lv in levels), float(res.potential.sum())],
        value_label="customers",
    )
    start = as_of - relativedelta(months=1)
    flow = tier_flow(log, ladder, start=start, end=as_of, opted_in=opted)
    flow_rows = [(f"{i} {names[i]}", *(f"{int(v):,}" for v in flow.matrix[i])) for i in levels]
    notes = []
    if customers is None:
        notes.append("No customers file was given, so nobody counts as having joined "
                     "(opt-in, 领卡): every customer is at level 0 and those who meet a "
                     "level's condition are shown as potential members. Pass --customers "
                     "(member_since column) for real membership.")
    else:
        notes.append("Membership (opt-in, 领卡) from the customers file's member_since.")
    return Section(
        "tiers", "Membership tiers",
        summary=f"{members:,} members of {n:,} customers with an order "
                f"({_pct(members, n)}); {int(res.potential.sum()):,} potential members "
                "qualify for a level but have not joined.",
        charts=[chart],
        tables=[
            Table("Tier share", ["level", "name", "customers", "share", "qualified",
                                 "potential"], rows,
                  [False, False, True, True, True, True]),
            Table(f"Tier flow from {start.date().isoformat()} to {as_of.date().isoformat()}"
                  f" (rows: level at start; columns: level at end): {flow.upgraded:,} "
                  f"upgraded, {flow.downgraded:,} downgraded",
                  ["start \\ end", *(str(lv) for lv in levels)], flow_rows,
                  [False, *(True for _ in levels)]),
        ],
        notes=[*notes, "A customer qualifies for a level when any of its conditions "
               "(cumulative spend or order count) holds."],
    )


# -- provinces and products -------------------------------------------------------------
def _analytics() -> Any:
    if importlib.util.find_spec("ecrm.analytics") is None:
        return None
    import ecrm.analytics

    return ecrm.analytics


def _provinces(log: OrderLog, as_of: dt.datetime) -> Section:
    if log.provinces is None:
        return Section("provinces", "Provinces",
                       notes=["The orders have no province column."])
    start = as_of - relativedelta(years=1)
    placed = log.placed_at_us
    rows_in = log.valid_mask() & (placed >= datetime_to_us(start)) & (placed < datetime_to_us(
        as_of))
    names = np.asarray(log.provinces)[rows_in]
    codes = log.customer_codes[rows_in]
    notes = []
    normalize = _province_normalizer()
    if normalize is not None:
        names = np.asarray(normalize(names), dtype=str)
    else:
        notes.append("Province names are shown as written in the orders (full names, short "
                     "names and pinyin are not merged without ecrm.analytics).")
    names = np.where(names == "", "(unknown)", names)
    # buyers per province: unique (province, customer) pairs
    keys, inverse = np.unique(names, return_inverse=True)
    pairs = np.unique(inverse.astype(np.int64) * max(log.n_customers, 1) + codes)
    buyers = np.bincount(pairs // max(log.n_customers, 1), minlength=len(keys))
    orders = np.bincount(inverse, minlength=len(keys))
    order_ix = sorted(range(len(keys)), key=lambda i: (-int(orders[i]), str(keys[i])))
    total = int(orders.sum())
    top = order_ix[:15]
    chart = BarChart("Orders per province (top 15)", [str(keys[i]) for i in top],
                     [float(orders[i]) for i in top], value_label="orders", horizontal=True)
    rows = [(str(keys[i]), f"{int(orders[i]):,}", _pct(int(orders[i]), total),
             f"{int(buyers[i]):,}") for i in order_ix]
    return Section(
        "provinces", "Provinces",
        summary=f"Delivery provinces of the valid orders in the year before "
                f"{as_of.date().isoformat()}.",
        charts=[chart] if top else [],
        tables=[Table("Orders and buyers per province", ["province", "orders", "share",
                                                          "buyers"], rows,
                      [False, True, True, True])],
        notes=notes,
    )


def _province_normalizer() -> Callable[[Any], Any] | None:
    mod = _analytics()
    fn = getattr(mod, "normalize_provinces", None) if mod is not None else None
    return fn if callable(fn) else None


def _products(log: OrderLog, as_of: dt.datetime) -> Section:
    items = log.items
    if items is None:
        return Section("products", "Product preferences",
                       notes=["The orders have no order lines (sku column)."])
    start = as_of - relativedelta(years=1)
    valid = log.valid_mask() & (log.placed_at_us < datetime_to_us(as_of))
    # rank of each valid order among its customer's valid orders (rows are customer-sorted)
    vrows = np.flatnonzero(valid)
    vcodes = log.customer_codes[vrows]
    first_of_code = np.searchsorted(vcodes, vcodes, side="left")
    rank = np.full(len(log), -1, dtype=np.int64)
    rank[vrows] = np.arange(len(vrows)) - first_of_code
    in_year = valid & (log.placed_at_us >= datetime_to_us(start))
    line_rank = rank[items.order_rows]
    line_in = in_year[items.order_rows]
    skus = np.asarray(items.skus)
    uniq, first_line = np.unique(skus, return_index=True)
    category = dict(zip(uniq.tolist(), np.asarray(items.categories)[first_line].tolist(),
                        strict=True))
    tables = []
    for caption, sel in (
        ("New customers' first purchase (their first valid order ever)", line_rank == 0),
        ("First repurchase (customers' second valid order)", line_rank == 1),
        ("Returning customers' repurchases (every order after the first)", line_rank >= 1),
    ):
        keys, n = np.unique(skus[sel & line_in], return_counts=True)
        order = sorted(range(len(keys)), key=lambda i: (-int(n[i]), str(keys[i])))[:_TOP_N]
        total = int(n.sum())
        rows = [(str(k + 1), str(keys[i]), category[str(keys[i])], f"{int(n[i]):,}",
                 _pct(int(n[i]), total)) for k, i in enumerate(order)]
        tables.append(Table(caption, ["#", "sku", "category", "order lines", "share"], rows,
                            [True, False, False, True, True]))
    return Section(
        "products", "Product preferences",
        summary=f"Top {_TOP_N} items in the valid orders of the year before "
                f"{as_of.date().isoformat()}, by which purchase of the customer it was.",
        tables=tables,
    )


# -- touches ----------------------------------------------------------------------------
def _no_order_events(currency: str) -> Any:
    from ecrm.touch import OrderEvents

    text = np.zeros(0, dtype="<U1")
    ints = np.zeros(0, dtype=np.int64)
    return OrderEvents(order_ids=text, customer_ids=text, kind_codes=np.zeros(0, dtype=np.int8),
                       at_us=ints, tracking_numbers=text, carriers=text, warehouses=ints,
                       amount_fen=ints, currency=currency)


def _guarded(name: str, flow: Callable[[dt.datetime, dt.datetime], Any],
             failed: dict[str, str]) -> Callable[[dt.datetime, dt.datetime], Any]:
    """A flow that the data cannot feed (a missing column) plans nothing and says why."""

    def run(since: dt.datetime, as_of: dt.datetime) -> Any:
        try:
            return flow(since, as_of)
        except InvalidValueError as exc:
            failed[name] = str(exc)
            return []

    return run


def _touches(log: OrderLog, as_of: dt.datetime, zone: dt.tzinfo, tz_name: str,
             customers: CustomerTable | None, cycle_ok: bool, store_name: str,
             price: Money) -> Section:
    from ecrm.touch import (
        ChannelKind,
        FlowContext,
        InMemoryOptOutRegistry,
        PolicyContext,
        SmsComposer,
        backtest,
        standard_flows,
    )

    day = plan_day(as_of.astimezone(zone))
    channel = ChannelKind.SMS if customers is not None else ChannelKind.IN_APP
    ctx = FlowContext(SmsComposer(f"【{store_name}】"), customers=customers, channel=channel,
                      tz=tz_name)
    cycles = None
    if cycle_ok and log.items is not None:
        cycles = cycles_by(log, by="category", as_of=as_of)
    notes: list[str] = []
    events = None
    if log.paid_at_us is None or log.order_ids is None:
        events = _no_order_events(log.currency)
        notes.append("The orders have no paid_at or order_id column, so the logistics "
                     "flows (shipping, delivery, receipt, refund, usage tutorial, "
                     "satisfaction) have no events to work from.")
    failed: dict[str, str] = {}
    flows = {name: _guarded(name, flow, failed)
             for name, flow in standard_flows(log, ctx=ctx, cycles=cycles,
                                              events=events).items()}
    if customers is not None:
        opted_out = customers.phones[~customers.marketing_opt_in]
        registry = InMemoryOptOutRegistry((p, ChannelKind.SMS) for p in opted_out.tolist() if p)
        blocked = frozenset(customers.customer_ids[customers.blocked].tolist())
        context = PolicyContext(opt_outs=registry, blocked=blocked)
    else:
        context = PolicyContext(opt_outs=InMemoryOptOutRegistry())
    plan = backtest(flows, start=day, end=day + dt.timedelta(days=1), context=context,
                    customers=customers, tz=zone, price_per_segment=price)
    sent = dict(plan.sent)
    d = plan.days[0]
    rows = [(name, f"{n:,}", f"{sent.get(name, 0):,}") for name, n in plan.candidates]
    rows.append(("total", f"{d.n_candidates:,}", f"{d.n_sent:,}"))
    skips = [(rule, f"{n:,}") for rule, n in plan.skips]
    metrics = [
        Metric("planned sends", f"{d.n_sent:,}"),
        Metric("SMS segments", f"{plan.segments:,}"),
        Metric("SMS cost", str(plan.cost)),
        Metric("skipped", f"{d.n_skipped:,}"),
        Metric("deferred past the day", f"{plan.pending:,}"),
    ]
    tables = [Table(f"Care flows on {day.isoformat()}: candidates and planned sends",
                    ["flow", "candidates", "would send"], rows, [False, True, True])]
    if skips:
        tables.append(Table("Skipped, by the rule that refused them", ["rule", "messages"],
                            skips, [False, True]))
    notes += [f"{name} not planned: {reason}" for name, reason in sorted(failed.items())]
    notes += [f"A dry run of the care flows through the send policy on the simulated day "
             f"{day.isoformat()} ({tz_name}); nothing is sent. Cost = billed SMS segments × "
             f"{price} per segment."]
    if customers is None:
        notes.append("Without a customers file there are no phone numbers: the flows are "
                     "planned for the in-app message box (no SMS cost), and member-only "
                     "messages are skipped because membership is unknown.")
    if cycles is None:
        notes.append("No repurchase reminders: they need order lines and a repurchase cycle.")
    chart = BarChart("Planned sends per flow", [name for name, _ in plan.candidates],
                     [float(sent.get(name, 0)) for name, _ in plan.candidates],
                     value_label="messages", horizontal=True)
    return Section(
        "touches", f"Tomorrow's planned touches ({day.isoformat()})",
        summary="What the care flows would send on the next day, after the send policy's "
                "checks (opt-outs, block list, members-only, time windows, caps).",
        metrics=metrics, charts=[chart] if plan.candidates else [], tables=tables, notes=notes,
    )


# -- entry point ------------------------------------------------------------------------
def build_report(
    orders: OrderLog,
    *,
    as_of: dt.datetime,
    customers: CustomerTable | None = None,
    events: EventLog | None = None,
    ladder: TierLadder = TAOBAO_STORE_VIP,
    cycle_method: str = "observed",
    store_name: str = "",
    source: str = "",
    sms_price: Money = DEFAULT_SMS_PRICE,
    progress: Progress | None = None,
) -> Report:
    """Assemble the shop report as of ``as_of`` (pure: nothing is read, written or sent).

    Sections, in order: ``overview`` (headline numbers of the last complete month against
    the month before and a year before), ``grades`` (P/G/S/B), ``segments`` (RFM
    segments), ``cycle`` (5221 boundaries and the repurchase curve), ``lifecycle`` (stage
    counts; left out when nobody repurchased), ``tiers`` (tier share, potential members,
    last month's tier flow), ``provinces``, ``products`` (first purchase, first
    repurchase, repurchases) and ``touches`` (a dry run of the care flows on the next day
    with its SMS cost).

    Args:
        orders: the shop's orders.
        as_of: aware; the report describes the shop just before this moment.
        customers: profiles; gives membership (opt-in), prospects, phone numbers, opt-outs
            and the block list. Without it nobody counts as a member.
        events: browse / cart / favourite events (customers without orders).
        ladder: the store VIP ladder.
        cycle_method: ``"observed"`` or ``"kaplan-meier"``.
        store_name: the shop's name (SMS signature 【…】 and title); default ``"本店"``.
        source: where the orders came from, shown in the header.
        sms_price: the price of one billed SMS segment.
        progress: called with ``(step, done, total)`` before each step.

    Returns:
        A :class:`~ecrm.report.Report`.

    Raises:
        InvalidTypeError: ``orders`` is not an OrderLog, or ``customers`` / ``events``
            have the wrong type.
        InvalidValueError: a naive ``as_of``, an unknown ``cycle_method``, or a
            ``customers`` / ``events`` table in another time zone than the orders.
    """
    if not isinstance(orders, OrderLog):
        raise InvalidTypeError(f"orders must be an OrderLog, got {type(orders).__name__}")
    if customers is not None and not isinstance(customers, CustomerTable):
        raise InvalidTypeError(f"customers must be a CustomerTable, got "
                               f"{type(customers).__name__}")
    if events is not None and not isinstance(events, EventLog):
        raise InvalidTypeError(f"events must be an EventLog, got {type(events).__name__}")
    if not isinstance(sms_price, Money):
        raise InvalidTypeError(f"sms_price must be Money, got {type(sms_price).__name__}")
    require_aware(as_of, "as_of")
    if cycle_method not in ("observed", "kaplan-meier"):
        raise InvalidValueError("cycle_method", "must be 'observed' or 'kaplan-meier'",
                                cycle_method)
    zone = orders.tz
    tz_name = getattr(zone, "key", None) or str(zone)
    as_zone(tz_name, "tz")
    name = store_name.strip() or "本店"
    report = progress or (lambda step, done, total: None)
    steps = iter(enumerate(_STEPS))

    def step() -> None:
        i, label = next(steps)
        report(label, i, len(_STEPS))

    sections: list[Section] = []
    step()
    sections.append(_headline(orders, as_of, zone, events, customers))
    step()
    sections += _grades(score(orders, as_of=as_of, warn_undersized=False))
    step()
    cycle = repurchase_cycle(orders, as_of=as_of, method=cycle_method)  # type: ignore[arg-type]
    st = None
    if cycle.has_bands:
        known = customers.customer_ids if customers is not None else None
        st = lifecycle_stages(orders, as_of=as_of, cycle=cycle, customers=known)
    sections += _cycle_sections(cycle, st)
    step()
    sections.append(_tiers(orders, ladder, as_of, customers))
    step()
    sections.append(_provinces(orders, as_of))
    step()
    sections.append(_products(orders, as_of))
    step()
    sections.append(_touches(orders, as_of, zone, tz_name, customers, cycle.has_bands, name,
                             sms_price))
    report("done", len(_STEPS), len(_STEPS))
    return Report(
        title=f"{name} CRM report as of {as_of.astimezone(zone).date().isoformat()}",
        store_name=name, as_of=as_of, tz=tz_name, source=source, sections=sections,
        version=__version__,
    )
