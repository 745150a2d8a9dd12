"""``build_report``: assemble the shop report from the domain results (pure; no I/O).

Each section is built by one private function from the results of ecrm.rfm, ecrm.tiers,
ecrm.lifecycle and ecrm.touch (and ecrm.analytics for the comparisons, provinces and
product preferences when it is installed). Figures are computed once here and stored as
display text, so the renderer and the tests read the same numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Final

import numpy as np
from dateutil.relativedelta import relativedelta

from ecrm._customers import CustomerTable
from ecrm._events import EventLog
from ecrm._money import Money
from ecrm._orderlog import OrderLog
from ecrm._progress import Progress, ProgressUpdate, progress_sink
from ecrm._time import as_zone, require_aware
from ecrm._version import __version__
from ecrm._window import Window
from ecrm.analytics import (
    backtest,
    member_metrics,
    periods,
    product_preference,
    province_distribution,
    standard_flows,
    store_metrics,
)
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.lifecycle import RepurchaseCycle, Stage, StageResult, cycles_by, repurchase_cycle
from ecrm.lifecycle import stages as lifecycle_stages
from ecrm.report._model import BarChart, CycleChart, Metric, Report, Section, Table
from ecrm.rfm import RfmResult, classic_segments, score
from ecrm.segments import (
    AudienceContext,
    audience,
    blocked_customers,
    carted_618_not_bought,
    favorited_not_bought,
    high_potential_returning,
    lapsed_customers,
    no_sale_customers,
    non_ordering_visitors,
)
from ecrm.tiers import TAOBAO_STORE_VIP, TierLadder, tier_flow
from ecrm.touch import ChannelKind, InMemoryOptOutRegistry, PolicyContext, SmsComposer
from ecrm.touch.flows import FlowContext, OrderEvents

__all__ = ["DEFAULT_SMS_PRICE", "build_report", "plan_day"]

#: The default price of one billed SMS segment (¥0.05, a typical bulk price).
DEFAULT_SMS_PRICE: Final = Money(5)

_STEPS: Final = (
    "headline numbers",
    "RFM grades",
    "repurchase cycle and stages",
    "customer classes and audiences",
    "membership tiers",
    "provinces",
    "product preferences",
    "tomorrow's touches",
)
_TOP_N: Final = 10


def _pct(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def plan_day(as_of: dt.datetime) -> dt.date:
    """The local day whose touches the report plans: the first whole day from ``as_of``.

    ``as_of`` at local midnight plans that day (the data ends the evening before); any
    later moment plans the next day.
    """
    local = as_of
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return local.date() if local == start else local.date() + dt.timedelta(days=1)


# -- headline ---------------------------------------------------------------------------
_HEADLINE: Final = (
    # (analytics metric, label, kind)
    ("sales_fen", "sales", "money"),
    ("orders", "orders", "count"),
    ("customers", "buyers", "count"),
    ("average_order_fen", "average order value", "money"),
    ("new_customers", "new customers", "count"),
    ("new_sales_fen", "new-customer sales", "money"),
    ("returning_customers", "returning customers", "count"),
    ("returning_sales_fen", "returning-customer sales", "money"),
    ("repurchase_rate", "repurchase rate", "rate"),
)
_MONTHS_SHOWN: Final = 13


def _value(value: Any, kind: str, currency: str) -> str:
    if value is None:
        return "-"
    if kind == "money":
        return str(Money(round(value), currency))
    if kind == "rate":
        return f"{float(value):.1%}"
    return f"{int(value):,}"


def _headline(log: OrderLog, as_of: dt.datetime, zone: dt.tzinfo) -> Section:
    local = as_of.astimezone(zone)
    end = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = end - relativedelta(months=_MONTHS_SHOWN)
    months = periods(start, end, "month", tz=zone)
    sm = store_metrics(log, months)
    cur, prev, year_ago = sm.rows[-1], sm.previous[-1], sm.year_ago[-1]
    currency = sm.currency
    metrics = []
    for name, label, kind in _HEADLINE:
        pts = kind == "rate"
        comparisons = [
            (f"vs {prev.period.label}", sm.changes(name, "previous")[-1].format(
                percent_points=pts)),
            (f"vs {year_ago.period.label}", sm.changes(name, "year_ago")[-1].format(
                percent_points=pts)),
        ]
        metrics.append(Metric(label, _value(getattr(cur, name), kind, currency), comparisons))
    rows = []
    sales_pop = sm.changes("sales_fen", "previous")
    sales_yoy = sm.changes("sales_fen", "year_ago")
    for k in range(len(sm.rows) - 1, -1, -1):
        r = sm.rows[k]
        rows.append((r.period.label, *(_value(getattr(r, name), kind, currency)
                                       for name, _, kind in _HEADLINE),
                     sales_pop[k].format(), sales_yoy[k].format()))
    table = Table(
        "Store figures by month (valid orders, net of refunds), newest first",
        ["month", "sales", "orders", "buyers", "avg order", "new", "new sales", "returning",
         "returning sales", "repurchase rate", "sales vs month before",
         "sales vs year before"],
        rows, [False, *(True for _ in range(11))],
    )
    chart = BarChart("Sales per month (yuan)", [r.period.label for r in sm.rows],
                     [r.sales_fen / 100 for r in sm.rows], value_label="yuan")
    return Section(
        "overview", f"Headline numbers: {cur.period.label}",
        summary=(f"The last complete calendar month before {as_of.isoformat()} "
                 f"({cur.period.label}), against the month before and the same month a year "
                 "earlier."),
        metrics=metrics, charts=[chart], tables=[table],
        notes=["A new customer placed their first valid order ever in the month; a returning "
               "customer had ordered before it. Repurchase rate: the share of the month's "
               "buyers with two or more purchase days in it. Sales are amount minus refunds "
               "of valid (paid, shipped or completed, not fully refunded) orders. Computed "
               "by ecrm.analytics.store_metrics."],
    )


def _audiences(log: OrderLog, as_of: dt.datetime, zone: dt.tzinfo,
               customers: CustomerTable | None, events: EventLog | None,
               cycle: RepurchaseCycle) -> Section:
    """The built-in custom audiences (自定义人群) of ecrm.segments, counted at ``as_of``."""
    title = "Customer classes and audiences"
    if customers is None:
        return Section("audiences", title, notes=[
            "Audiences are counted over the customer table: pass --customers (and --events "
            "for the browse / cart / favourite classes)."])
    local = as_of.astimezone(zone)
    year_618 = local.year if local.date() >= dt.date(local.year, 6, 19) else local.year - 1
    wanted: list[tuple[str, str, Any, bool]] = [
        ("非订购客户", "visited, never ordered", non_ordering_visitors(), True),
        ("无销售客户", "carted, never bought", no_sale_customers(), True),
        ("无订购客户", "bought before, nothing in the last year", lapsed_customers(365), False),
        ("恶意客户", "on the block list", blocked_customers(), False),
        (f"{year_618} 6.18 加购未购", "carted in the 6.18 sale without buying in it",
         carted_618_not_bought(year_618), True),
        ("收藏未购", "favourited an item never bought", favorited_not_bought(), True),
        ("高潜回头客", "high-potential returning customers", high_potential_returning(), False),
    ]
    context = AudienceContext(cycle=cycle if cycle.has_bands else None)
    rows = []
    skipped = []
    n = len(customers)
    for zh, en, predicate, needs_events in wanted:
        if needs_events and events is None:
            skipped.append(zh)
            continue
        found = audience(predicate, customers=customers, orders=log, events=events,
                         as_of=as_of, context=context)
        rows.append((zh, en, f"{found.count:,}", _pct(found.count, n), predicate.describe()))
    notes = ["Built-in audiences of ecrm.segments over every customer of the customer table "
             "(docs/segments.md); each is a JSON-serialisable predicate the shop can edit."]
    if skipped:
        notes.append(f"Not counted without an events file: {', '.join(skipped)}.")
    return Section(
        "audiences", title,
        summary=f"Customer classes of the source documents and ready-made audiences, of "
                f"{n:,} customers on {local.date().isoformat()}.",
        tables=[Table("Customers per class and audience",
                      ["class", "meaning", "customers", "share", "rule"], rows,
                      [False, False, True, True, False])],
        notes=notes,
    )


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
    seg = classic_segments(result)
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
    flow = tier_flow(log, ladder, start=start, as_of=as_of, opted_in=opted)
    flow_rows = [(f"{i} {names[i]}", *(f"{int(v):,}" for v in flow.matrix[i])) for i in levels]
    tables = [
        Table("Tier share", ["level", "name", "customers", "share", "qualified", "potential"],
              rows, [False, False, True, True, True, True]),
        Table(f"Tier flow from {start.date().isoformat()} to {as_of.date().isoformat()}"
              f" (rows: level at start; columns: level at end): {flow.upgraded:,} "
              f"upgraded, {flow.downgraded:,} downgraded",
              ["start \\ end", *(str(lv) for lv in levels)], flow_rows,
              [False, *(True for _ in levels)]),
    ]
    if customers is not None:
        tables.append(_member_table(log, customers, ladder, as_of, names))
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
        tables=tables,
        notes=[*notes, "A customer qualifies for a level when any of its conditions "
               "(cumulative spend or order count) holds."],
    )


def _member_table(log: OrderLog, customers: CustomerTable, ladder: TierLadder,
                  as_of: dt.datetime, names: dict[int, str]) -> Table:
    """Contribution and activity per level in the last complete month (ecrm.analytics)."""
    local = as_of.astimezone(log.tz)
    end = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    month = periods(end - relativedelta(months=1), end, "month", tz=log.tz)[-1:]
    mm = member_metrics(log, customers, month, ladder=ladder)
    r = mm.rows[0]

    def pct(x: Any) -> str:
        return "-" if x is None else f"{float(x):.1%}"

    rows = [(str(lv), names[lv], f"{r.customers_by_level[lv]:,}",
             "-" if lv == 0 else pct(r.tier_share(lv)),
             str(Money(r.sales_by_level_fen[lv], mm.currency)), pct(r.sales_share(lv)),
             f"{r.active_by_level[lv]:,}", pct(r.activity(lv)))
            for lv in range(len(r.customers_by_level))]
    return Table(
        f"Members in {r.period.label}: contribution and activity per level; {r.joins:,} "
        f"joined, {r.upgraded:,} of {r.members_at_start:,} members upgraded"
        + ("" if mm.leaves_known else " (leaves not counted: the customers file has no "
           "leave dates)"),
        ["level", "name", "customers", "share of members", "sales", "share of sales",
         "bought", "activity"],
        rows, [False, False, True, True, True, True, True, True],
    )


# -- provinces and products -------------------------------------------------------------
def _provinces(log: OrderLog, as_of: dt.datetime) -> Section:
    if log.provinces is None:
        return Section("provinces", "Provinces",
                       notes=["The orders have no province column."])
    start = as_of - relativedelta(years=1)
    dist = province_distribution(log, window=Window(start, as_of))
    total = sum(r.orders for r in dist.rows)
    top = dist.rows[:15]
    chart = BarChart("Orders per province (top 15)", [r.province for r in top],
                     [float(r.orders) for r in top], value_label="orders", horizontal=True)
    rows = [(r.province, f"{r.orders:,}", _pct(r.orders, total), f"{r.customers:,}",
             str(Money(r.sales_fen, dist.currency)),
             "-" if r.sales_share is None else f"{float(r.sales_share):.1%}")
            for r in dist.rows]
    notes = ["Full names, short names, pinyin and GB/T 2260 area codes are merged "
             "(ecrm.analytics.normalize_provinces)."]
    if dist.unknown_spellings:
        shown = ", ".join(dist.unknown_spellings[:10])
        more = len(dist.unknown_spellings) - 10
        notes.append(f"Counted as 未知 (unknown): {shown}" + (f" and {more} more" if more > 0
                                                             else "") + ".")
    return Section(
        "provinces", "Provinces",
        summary=f"Delivery provinces of the valid orders in the year before "
                f"{as_of.date().isoformat()}.",
        charts=[chart] if top else [],
        tables=[Table("Orders, buyers and sales per province",
                      ["province", "orders", "share", "buyers", "sales", "sales share"], rows,
                      [False, True, True, True, True, True])],
        notes=notes,
    )


_SCOPES: Final = (
    ("first_purchase", "New customers' first purchase (their first purchase day ever)"),
    ("first_repurchase", "First repurchase (customers' second purchase day)"),
    ("repurchase", "Returning customers' repurchases (every purchase day after the first)"),
)


def _products(log: OrderLog, as_of: dt.datetime) -> Section:
    if log.items is None:
        return Section("products", "Product preferences",
                       notes=["The orders have no order lines (sku column)."])
    start = as_of - relativedelta(years=1)
    pref = product_preference(log, window=Window(start, as_of), by="sku", top=_TOP_N)
    skus = np.asarray(log.items.skus)
    uniq, first_line = np.unique(skus, return_index=True)
    category = dict(zip(uniq.tolist(), np.asarray(log.items.categories)[first_line].tolist(),
                        strict=True))
    tables = []
    for scope, caption in _SCOPES:
        t = getattr(pref, scope)
        rows = [(str(k + 1), r.key, category.get(r.key, ""), f"{r.customers:,}",
                 f"{float(r.share):.1%}", f"{r.orders:,}", f"{r.quantity:,}",
                 str(Money(r.sales_fen, t.currency))) for k, r in enumerate(t.rows)]
        tables.append(Table(f"{caption}: {t.customers:,} customers", [
            "#", "sku", "category", "customers", "share", "orders", "units", "line value"],
            rows, [True, False, False, True, True, True, True, True]))
    return Section(
        "products", "Product preferences",
        summary=f"Top {_TOP_N} items bought in the year before {as_of.date().isoformat()}, "
                "by which purchase day of the customer it was (ecrm.analytics."
                "product_preference).",
        tables=tables,
        notes=["share = customers who bought the item / customers in the scope; a customer "
               "who buys several items counts for each."],
    )


# -- touches ----------------------------------------------------------------------------
def _no_order_events(currency: str) -> OrderEvents:
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
    day = plan_day(as_of.astimezone(zone))
    channel = ChannelKind.SMS if customers is not None else ChannelKind.IN_APP
    # A dry run: the shop's links are not known here, so placeholders of a Taobao short
    # link's length size the SMS (nothing is sent).
    ctx = FlowContext(SmsComposer(f"【{store_name}】"), customers=customers, channel=channel,
                      tz=tz_name, link="m.tb.cn/xxxxxx", member_card_link="m.tb.cn/xxxxxx")
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
    counts; left out when nobody repurchased), ``audiences`` (customer classes and the
    built-in audiences of ecrm.segments; needs ``customers``), ``tiers`` (tier share,
    potential members, last month's tier flow and member contribution), ``provinces``, ``products`` (first purchase, first
    repurchase, repurchases) and ``touches`` (a dry run of the care flows on the next day
    with its SMS cost).

    Args:
        orders: the shop's orders.
        as_of: aware; the report describes the shop just before this moment.
        customers: profiles; gives membership (opt-in), prospects, phone numbers, opt-outs
            and the block list. Without it nobody counts as a member.
        events: browse / cart / favourite events (the audiences of visitors, carts and
            favourites).
        ladder: the store VIP ladder.
        cycle_method: ``"observed"`` or ``"kaplan-meier"``.
        store_name: the shop's name (SMS signature 【…】 and title); default ``"本店"``.
        source: where the orders came from, shown in the header.
        sms_price: the price of one billed SMS segment.
        progress: an :class:`ecrm.Progress`, called with an :class:`ecrm.ProgressUpdate`
            (``unit="steps"``, ``step`` the label) before each step and once at the end; a
            deprecated ``(step, done, total)`` callback still works.

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
    report = progress_sink(progress, where="build_report()",
                           legacy=lambda u: (u.step, u.done, u.total))
    steps = iter(enumerate(_STEPS))

    def step() -> None:
        i, label = next(steps)
        report(ProgressUpdate(done=i, total=len(_STEPS), unit="steps", step=label))

    sections: list[Section] = []
    step()
    sections.append(_headline(orders, as_of, zone))
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
    sections.append(_audiences(orders, as_of, zone, customers, events, cycle))
    step()
    sections.append(_tiers(orders, ladder, as_of, customers))
    step()
    sections.append(_provinces(orders, as_of))
    step()
    sections.append(_products(orders, as_of))
    step()
    sections.append(_touches(orders, as_of, zone, tz_name, customers, cycle.has_bands, name,
                             sms_price))
    report(ProgressUpdate(done=len(_STEPS), total=len(_STEPS), unit="steps", step="done"))
    return Report(
        title=f"{name} CRM report as of {as_of.astimezone(zone).date().isoformat()}",
        store_name=name, as_of=as_of, tz=tz_name, source=source, sections=sections,
        version=__version__,
    )
