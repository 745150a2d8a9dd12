"""``build_report``: assemble the shop report from the domain results (pure; no I/O).

Each section is built by one function of a :class:`Shop` (the inputs and the shared
results: RFM, the repurchase cycle, the stages, the tiers) and listed in ``SECTIONS``; a
new section is one function there and one entry in the list (the renderer needs no
change). Figures are computed once and stored as display text in the report's language
(:class:`~ecrm.report._numbers.Words`), so the renderer and the tests read the same
numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from typing import Any, Final

import numpy as np
from dateutil.relativedelta import relativedelta

from ecrm import InvalidTypeError, InvalidValueError
from ecrm import _validators as _v
from ecrm._customers import CustomerTable
from ecrm._events import EventLog
from ecrm._money import Money
from ecrm._orderlog import OrderLog
from ecrm._progress import Progress, ProgressUpdate, progress_sink
from ecrm._time import as_zone, require_aware
from ecrm._version import __version__
from ecrm._window import Window
from ecrm.analytics import (
    CampaignReport,
    Change,
    Touches,
    backtest,
    member_metrics,
    periods,
    product_preference,
    province_distribution,
    standard_flows,
    store_metrics,
)
from ecrm.lifecycle import RepurchaseCycle, Stage, StageResult, cycles_by, repurchase_cycle
from ecrm.lifecycle import stages as lifecycle_stages
from ecrm.report._extra import (
    associations_section,
    crm_sales_section,
    membership_cost_section,
    periods_section,
    predict_section,
    service_section,
)
from ecrm.report._model import (
    BarChart,
    CycleChart,
    FunnelChart,
    Metric,
    Report,
    Section,
    StackedBarChart,
    Table,
)
from ecrm.report._numbers import Lang, Words, plain
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
from ecrm.service import SlaPolicy, SlaTarget, SurveyScore, Ticket
from ecrm.tiers import TAOBAO_STORE_VIP, LevelCosts, TierLadder, TierResult, tier_flow
from ecrm.touch import ChannelKind, InMemoryOptOutRegistry, PolicyContext, SmsComposer
from ecrm.touch.flows import FlowContext, OrderEvents

__all__ = ["DEFAULT_SLA", "DEFAULT_SMS_PRICE", "SECTIONS", "Shop", "build_report", "plan_day"]

#: The default price of one billed SMS segment (¥0.05, a typical bulk price).
DEFAULT_SMS_PRICE: Final = Money(5)

#: The default service targets: first reply within 4 hours, resolved within 24, wall clock.
DEFAULT_SLA: Final = SlaPolicy(SlaTarget(dt.timedelta(hours=4), dt.timedelta(hours=24)))

_TOP_N: Final = 10
_MONTHS_SHOWN: Final = 13


def plan_day(as_of: dt.datetime) -> dt.date:
    """The local day whose touches the report plans: the first whole day from ``as_of``.

    ``as_of`` at local midnight plans that day (the data ends the evening before); any
    later moment plans the next day.

    Raises:
        InvalidTypeError: ``as_of`` is not an aware datetime.
        InvalidValueError: ``as_of`` outside the years 1000–8999.
    """
    local = require_aware(as_of, "as_of")
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return local.date() if local == start else local.date() + dt.timedelta(days=1)


def _ids(values: Any) -> tuple[str, ...]:
    """Customer ids as text, for a row's download."""
    return tuple(str(x) for x in np.asarray(values).tolist())


class Shop:
    """The inputs of one report and the results several sections share (computed once).

    Attributes:
        log, as_of, zone, tz_name, customers, events, ladder, w: the inputs, the store
            zone and the report's :class:`~ecrm.report._numbers.Words`.
        name: the shop's name; ``sms_price`` the price of one SMS segment.
    """

    def __init__(self, log: OrderLog, *, as_of: dt.datetime, customers: CustomerTable | None,
                 events: EventLog | None, ladder: TierLadder, cycle_method: str, name: str,
                 sms_price: Money, lang: Lang, tickets: Sequence[Ticket] | None = None,
                 sla_policy: SlaPolicy | None = None,
                 survey_scores: Sequence[SurveyScore] = (),
                 level_costs: LevelCosts | None = None,
                 touches: Touches | None = None,
                 attribution_within: dt.timedelta = dt.timedelta(days=7),
                 campaigns: Sequence[CampaignReport] = ()) -> None:
        self.log = log
        self.as_of = as_of
        self.zone = log.tz
        self.tz_name: str = getattr(self.zone, "key", None) or str(self.zone)
        self.customers = customers
        self.events = events
        self.ladder = ladder
        self.cycle_method = cycle_method
        self.name = name
        self.sms_price = sms_price
        self.tickets = tickets
        self.sla_policy = sla_policy or DEFAULT_SLA
        self.survey_scores = survey_scores
        self.level_costs = level_costs
        self.touches = touches
        self.attribution_within = attribution_within
        self.campaigns = campaigns
        self.w = Words(lang, log.currency)

    @property
    def local(self) -> dt.datetime:
        """``as_of`` in the store's zone."""
        return self.as_of.astimezone(self.zone)

    @property
    def month_start(self) -> dt.datetime:
        """Local midnight of the first day of ``as_of``'s month (the end of the last
        complete month)."""
        return self.local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)

    @cached_property
    def rfm(self) -> RfmResult:
        return score(self.log, as_of=self.as_of, warn_undersized=False)

    @cached_property
    def cycle(self) -> RepurchaseCycle:
        return repurchase_cycle(self.log, as_of=self.as_of,
                                method=self.cycle_method)  # type: ignore[arg-type]

    @cached_property
    def stages(self) -> StageResult | None:
        if not self.cycle.has_bands:
            return None
        known = self.customers.customer_ids if self.customers is not None else None
        return lifecycle_stages(self.log, as_of=self.as_of, cycle=self.cycle, customers=known)

    @cached_property
    def tiers(self) -> TierResult:
        opted: Any = self.customers if self.customers is not None else False
        return self.ladder.evaluate_log(self.log, as_of=self.as_of, opted_in=opted)

    @cached_property
    def level_names(self) -> dict[int, str]:
        return {0: self.ladder.store_customer_name,
                **{t.level: t.name for t in self.ladder.tiers}}

    def change(self, c: Change, *, points: bool = False) -> str:
        """A period-over-period change: ``+12.5%``, for rates ``+3.1pt``; never ``-0``."""
        if points:
            if c.absolute is None:
                return "-"
            return _signed(float(c.absolute) * 100) + "pt"
        if c.relative is None:
            return self.w("new", "新增") if c.value and not c.base else "-"
        return _signed(float(c.relative) * 100) + "%"


def _signed(x: float) -> str:
    text = plain(x, decimals=1)
    return text if text.startswith("-") or text == "0.0" else "+" + text


# -- headline ---------------------------------------------------------------------------
def _headline_fields(w: Words) -> tuple[tuple[str, str, str], ...]:
    # (analytics metric, label, kind)
    return (
        ("sales_fen", w("sales", "销售额"), "money"),
        ("orders", w("orders", "订单数"), "count"),
        ("customers", w("buyers", "购买客户数"), "count"),
        ("average_order_fen", w("average order value", "客单价"), "money"),
        ("new_customers", w("new customers", "新客户数"), "count"),
        ("new_sales_fen", w("new-customer sales", "新客户销售额"), "money"),
        ("returning_customers", w("returning customers", "老客户数"), "count"),
        ("returning_sales_fen", w("returning-customer sales", "老客户销售额"), "money"),
        ("repurchase_rate", w("repurchase rate", "复购率"), "rate"),
    )


def _value(w: Words, value: Any, kind: str, *, short: bool = False) -> str:
    if value is None:
        return "-"
    if kind == "money":
        return w.money(round(value), short=short)
    if kind == "rate":
        return w.share(float(value), 1)
    return w.short(int(value)) if short else w.count(int(value))


def overview(shop: Shop) -> list[Section]:
    """Headline numbers of the last complete month, against the month before and a year
    before (ecrm.analytics.store_metrics), and the last 13 months."""
    w = shop.w
    end = shop.month_start
    start = end - relativedelta(months=_MONTHS_SHOWN)
    sm = store_metrics(shop.log, periods(Window(start, end), "month", tz=shop.zone))
    cur, prev, year_ago = sm.rows[-1], sm.previous[-1], sm.year_ago[-1]
    fields = _headline_fields(w)
    metrics = []
    for name, label, kind in fields:
        pts = kind == "rate"
        comparisons = [
            (w(f"vs {prev.period.label}", f"环比 {prev.period.label}"),
             shop.change(sm.changes(name, "previous")[-1], points=pts)),
            (w(f"vs {year_ago.period.label}", f"同比 {year_ago.period.label}"),
             shop.change(sm.changes(name, "year_ago")[-1], points=pts)),
        ]
        metrics.append(Metric(label, _value(w, getattr(cur, name), kind, short=True),
                              comparisons))
    rows = []
    sales_pop = sm.changes("sales_fen", "previous")
    sales_yoy = sm.changes("sales_fen", "year_ago")
    for k in range(len(sm.rows) - 1, -1, -1):
        r = sm.rows[k]
        rows.append((r.period.label, *(_value(w, getattr(r, name), kind)
                                       for name, _, kind in fields),
                     shop.change(sales_pop[k]), shop.change(sales_yoy[k])))
    table = Table(
        w("Store figures by month (valid orders, net of refunds), newest first",
          "店铺月度数据（有效订单，扣除退款），最近的月份在前"),
        [w("month", "月份"), w("sales", "销售额"), w("orders", "订单数"), w("buyers", "购买客户"),
         w("avg order", "客单价"), w("new", "新客户"), w("new sales", "新客户销售额"),
         w("returning", "老客户"), w("returning sales", "老客户销售额"),
         w("repurchase rate", "复购率"), w("sales vs month before", "销售额环比"),
         w("sales vs year before", "销售额同比")],
        rows, [False, *(True for _ in range(11))],
    )
    chart = BarChart(w("Sales per month", "月度销售额"), [r.period.label for r in sm.rows],
                     [r.sales_fen / 100 for r in sm.rows], value_kind="money")
    return [Section(
        "overview", w(f"Headline numbers: {cur.period.label}", f"核心指标：{cur.period.label}"),
        summary=w(f"The last complete calendar month before {shop.as_of.isoformat()} "
                  f"({cur.period.label}), against the month before and the same month a "
                  "year earlier.",
                  f"{shop.as_of.isoformat()} 之前最后一个完整自然月（{cur.period.label}），"
                  "与上月（环比）和去年同月（同比）对比。"),
        metrics=metrics, charts=[chart], tables=[table],
        notes=[w("A new customer placed their first valid order ever in the month; a "
                 "returning customer had ordered before it. Repurchase rate: the share of "
                 "the month's buyers with two or more purchase days in it. Sales are amount "
                 "minus refunds of valid (paid, shipped or completed, not fully refunded) "
                 "orders. Computed by ecrm.analytics.store_metrics.",
                 "新客户：在该月下了有史以来第一笔有效订单的客户；老客户：该月之前已下过单的客户。"
                 "复购率：该月购买客户中在该月有两个及以上购买日的比例。销售额为有效订单（已付款、"
                 "已发货或已完成，且未全额退款）的金额减去退款。由 ecrm.analytics.store_metrics "
                 "计算。")],
    )]


# -- audiences --------------------------------------------------------------------------
def audiences(shop: Shop) -> list[Section]:
    """The built-in custom audiences (自定义人群) of ecrm.segments, counted at ``as_of``."""
    w = shop.w
    title = w("Customer classes and audiences", "客户分类与自定义人群")
    customers, events = shop.customers, shop.events
    if customers is None:
        return [Section("audiences", title, notes=[
            w("Audiences are counted over the customer table: pass --customers (and "
              "--events for the browse / cart / favourite classes).",
              "人群需要客户表才能统计：请传入 --customers（浏览、加购、收藏类人群还需 --events）。")])]
    local = shop.local
    year_618 = local.year if local.date() >= dt.date(local.year, 6, 19) else local.year - 1
    wanted: list[tuple[str, str, Any, bool]] = [
        ("非订购客户", w("visited, never ordered", "访问过但从未下单"), non_ordering_visitors(),
         True),
        ("无销售客户", w("carted, never bought", "加购过但从未购买"), no_sale_customers(), True),
        ("无订购客户", w("bought before, nothing in the last year", "以前买过，近一年没有购买"),
         lapsed_customers(365), False),
        ("恶意客户", w("on the block list", "在黑名单上"), blocked_customers(), False),
        (f"{year_618} 6.18 加购未购", w("carted in the 6.18 sale without buying in it",
                                      "6.18 大促期间加购但未在大促中购买"),
         carted_618_not_bought(year_618, shop.zone), True),
        ("收藏未购", w("favourited an item never bought", "收藏了从未购买的商品"),
         favorited_not_bought(), True),
        ("高潜回头客", w("high-potential returning customers", "高潜力回头客"),
         high_potential_returning(), False),
    ]
    context = AudienceContext(cycle=shop.cycle if shop.cycle.has_bands else None)
    rows = []
    skipped = []
    n = len(customers)
    for zh, meaning, predicate, needs_events in wanted:
        if needs_events and events is None:
            skipped.append(zh)
            continue
        found = audience(predicate, customers=customers, orders=shop.log, events=events,
                         as_of=shop.as_of, context=context)
        rows.append((zh, meaning, w.count(found.count), w.share(found.count, n),
                     predicate.describe()))
    notes = [w("Built-in audiences of ecrm.segments over every customer of the customer "
               "table (docs/segments.md); each is a JSON-serialisable predicate the shop can "
               "edit.",
               "ecrm.segments 内置人群，覆盖客户表中的每一位客户（见 docs/segments.md）；"
               "每个人群都是可序列化为 JSON 的条件，店铺可以自行修改。")]
    if skipped:
        notes.append(w(f"Not counted without an events file: {', '.join(skipped)}.",
                       f"没有行为事件文件，未统计：{'、'.join(skipped)}。"))
    return [Section(
        "audiences", title,
        summary=w(f"Customer classes of the source documents and ready-made audiences, of "
                  f"{n:,} customers on {local.date().isoformat()}.",
                  f"{local.date().isoformat()} 共 {n:,} 位客户中的各类客户与现成人群。"),
        tables=[Table(w("Customers per class and audience", "各类客户与人群的人数"),
                      [w("class", "分类"), w("meaning", "含义"), w("customers", "客户数"),
                       w("share", "占比"), w("rule", "规则")], rows,
                      [False, False, True, True, False])],
        notes=notes,
    )]


# -- RFM --------------------------------------------------------------------------------
def grades(shop: Shop) -> list[Section]:
    """P/G/S/B grades and the eight RFM segments, each row with its customer list."""
    w = shop.w
    result = shop.rfm
    counts = result.grade_counts()
    n = len(result)
    graded = np.asarray([g.value for g in result.grades()], dtype=object)
    ids = np.asarray(result.customer_ids)
    chart = BarChart(
        w("Customers per grade", "各等级客户数"),
        [f"{g.value} {g.zh}" for g in counts], [float(v) for v in counts.values()],
        value_label=w("customers", "客户数"),
    )
    rows = [(g.value, g.zh, g.en, w.count(c), w.share(c, n)) for g, c in counts.items()]
    lists = [_ids(ids[graded == g.value]) for g in counts]
    rows.append(("", "", w("scored", "已评分"), w.count(n), ""))
    lists.append(())
    rows.append(("", "", w("unscored (no valid order in the year)", "未评分（一年内无有效订单）"),
                 w.count(len(result.unscored_customer_ids)), ""))
    lists.append(_ids(result.unscored_customer_ids))
    notes = [w(f"Scheme {result.scheme.name}: total = 1·R + 3·F + 4·M over the year before "
               f"as_of; grades by total (P 36–40, G 26–35, S 17–25, B ≤ 16).",
               f"评分方案 {result.scheme.name}：总分 = 1·R + 3·F + 4·M，按截止日前一年计算；"
               f"按总分分级（P 36–40，G 26–35，S 17–25，B ≤ 16）。")]
    if result.undersized:
        notes.append(w(f"{n:,} scored customers is fewer than the "
                       f"{result.scheme.min_customers:,} the scheme was made for: tune it to "
                       "the shop (see docs/rfm.md, quantile_scheme).",
                       f"已评分客户 {n:,} 位，少于该方案适用的 {result.scheme.min_customers:,} 位："
                       "请按本店数据调整（见 docs/rfm.md 的 quantile_scheme）。"))
    grade_section = Section(
        "grades", w("RFM grades (P/G/S/B)", "RFM 客户等级（铂金/黄金/白银/青铜）"),
        summary=w("Customers with a valid order in the last year, graded by recency, "
                  "frequency and monetary value.",
                  "近一年有有效订单的客户，按最近购买时间、购买频次和消费金额分级。"),
        charts=[chart],
        tables=[Table(w("Grade distribution", "等级分布"),
                      [w("grade", "等级"), "中文", w("name", "名称"), w("customers", "客户数"),
                       w("share", "占比")],
                      rows, [False, False, False, True, True], customers=lists, key="grade")],
        notes=notes,
    )
    seg = classic_segments(result)
    seg_of = np.asarray([s.value for s in seg.segments()], dtype=object)
    seg_ids = np.asarray(seg.customer_ids)
    seg_rows = []
    seg_lists = []
    for r in seg.table():
        def fmt(x: float | None) -> str:
            return "-" if x is None else f"{x:.2f}"
        seg_rows.append((r.segment.zh, r.segment.en, w.count(r.count), w.share(r.share, 1),
                         fmt(r.mean_r), fmt(r.mean_f), fmt(r.mean_m),
                         w.money(r.monetary.fen)))
        seg_lists.append(_ids(seg_ids[seg_of == r.segment.value]))
    ref = ", ".join(f"{x:.2f}" for x in seg.reference)
    segment_section = Section(
        "segments", w("RFM segments", "RFM 客户细分"),
        summary=w("The eight classic segments: R, F and M each high (above the mean score) "
                  "or low.",
                  "经典八类客户：R、F、M 各自高于（或不高于）平均分。"),
        tables=[Table(w("Customers per segment", "各细分客户数"),
                      [w("segment", "细分"), w("name", "英文名"), w("customers", "客户数"),
                       w("share", "占比"), w("mean R", "平均 R"), w("mean F", "平均 F"),
                       w("mean M", "平均 M"), w("spend in the year", "一年消费额")],
                      seg_rows, [False, False, True, True, True, True, True, True],
                      customers=seg_lists, key="segment")],
        notes=[w(f"Reference (mean R, F, M scores): {ref}.",
                 f"参照值（R、F、M 平均分）：{ref}。")],
    )
    return [grade_section, segment_section]


# -- cycle and stages -------------------------------------------------------------------
def _stage_rules(w: Words) -> dict[Stage, str]:
    return {
        Stage.PROSPECT: w("no valid order", "没有有效订单"),
        Stage.NEW: w("one purchase day, d ≤ P50", "只有一个购买日，d ≤ P50"),
        Stage.ACTIVE: "d ≤ P50",
        Stage.SILENT: "P50 < d ≤ P70",
        Stage.SLEEPING: "P70 < d ≤ P90",
        Stage.CHURNED: "d > P90",
    }


def cycle_and_stages(shop: Shop) -> list[Section]:
    """The 5221 boundaries and the repurchase curve, then the lifecycle funnel."""
    w = shop.w
    cycle, st = shop.cycle, shop.stages
    metrics = [
        Metric(w("first-time buyers", "首购客户"), w.count(cycle.n_first_time_buyers)),
        Metric(w("repurchasers", "复购客户"), w.count(cycle.n_repurchasers)),
        Metric(w("repurchase rate", "复购率"), w.share(cycle.repurchase_rate, 1)),
    ]
    same_day = (w("one purchase day", "同一个购买日") if cycle.same_day == "merge"
                else w("counted apart", "分别计算"))
    notes = [w(f"Method {cycle.method}, scope {cycle.scope}; several orders on one day are "
               f"{same_day}.",
               f"方法 {cycle.method}，范围 {cycle.scope}；同一天的多笔订单按{same_day}。"),
             w("First-time buyers are every customer whose first valid order falls before "
               "as_of, over the whole history; the headline's new customers are only those "
               "whose first order falls in that month, so a shop whose customers all joined "
               "long ago has many first-time buyers and no new customers.",
               "首购客户：首笔有效订单在截止日之前的所有客户（全部历史）；核心指标中的新客户只算"
               "首单落在该月的客户。所以客户都在很早以前首购的店铺，首购客户很多而当月新客户为 0。")]
    if cycle.has_bands:
        metrics += [Metric("P50", w.days(cycle.p50_days)), Metric("P70", w.days(cycle.p70_days)),
                    Metric("P90", w.days(cycle.p90_days))]
    else:
        notes.append(w("No customer has repurchased yet: there are no 5221 boundaries, so no "
                       "lifecycle stages.",
                       "还没有客户复购：没有 5221 分界，因此没有生命周期阶段。"))
    if cycle.n_repurchasers < cycle.min_repurchasers:
        notes.append(w(f"Only {cycle.n_repurchasers} repurchaser(s) (fewer than "
                       f"{cycle.min_repurchasers}): the boundaries are a thin estimate.",
                       f"只有 {cycle.n_repurchasers} 位复购客户（少于 {cycle.min_repurchasers}）："
                       "分界只是粗略估计。"))
    curve = CycleChart(w("Repurchase curve", "回购曲线"), cycle,
                       x_label=w("days from first purchase to first repurchase",
                                 "首购到首次回购的天数"),
                       y_label=w("share of repurchasers", "复购客户占比"))
    sections = [Section(
        "cycle", w("Repurchase cycle (5221)", "回购周期（5221）"),
        summary=w("Days from the first purchase day to the second. P50 / P70 / P90 split the "
                  "repurchasers 50% / 20% / 20% / 10% and bound the lifecycle stages.",
                  "从第一个购买日到第二个购买日的天数。P50 / P70 / P90 把复购客户按 50% / 20% / "
                  "20% / 10% 分开，也是生命周期阶段的分界。"),
        metrics=metrics,
        charts=[curve] if len(cycle.curve[0]) else [],
        notes=notes,
    )]
    if st is None:
        return sections
    counts = st.counts
    total = sum(counts.values())
    rules = _stage_rules(w)
    chart = FunnelChart(w("Customers per lifecycle stage", "各生命周期阶段客户数"),
                        [f"{s.label_zh} {s.name.lower()}" if w.lang == "en" else s.label_zh
                         for s in Stage],
                        [float(counts[s]) for s in Stage],
                        shares=[w.share(counts[s], total) for s in Stage])
    rows = [(s.label_zh, s.name.lower(), rules[s], w.count(counts[s]),
             w.share(counts[s], total)) for s in Stage]
    lists = [_ids(st.ids_in(s)) for s in Stage]
    rows.append(("", w("total", "合计"), "", w.count(total), ""))
    lists.append(())
    sections.append(Section(
        "lifecycle", w("Lifecycle funnel", "生命周期漏斗"),
        summary=w(f"Every known customer's stage on {st.as_of.date().isoformat()} by the days "
                  "d since their last purchase day.",
                  f"{st.as_of.date().isoformat()} 每位已知客户按距上一个购买日的天数 d 所处的阶段。"),
        charts=[chart],
        tables=[Table(w("Customers per stage", "各阶段客户数"),
                      [w("stage", "阶段"), w("name", "英文名"), w("rule", "规则"),
                       w("customers", "客户数"), w("share", "占比")],
                      rows, [False, False, False, True, True], customers=lists, key="stage")],
    ))
    return sections


# -- tiers ------------------------------------------------------------------------------
def tiers(shop: Shop) -> list[Section]:
    """Tier share (with potential members), the last month's tier flow and, with a
    customers file, contribution and activity per level and the monthly tier history."""
    w = shop.w
    if shop.ladder.currency != shop.log.currency:
        c_ladder, c_log = shop.ladder.currency, shop.log.currency
        return [Section("tiers", w("Membership tiers", "会员等级"), notes=[w(
            f"The ladder's thresholds are in {c_ladder} and the orders in {c_log}: pass a "
            f"ladder in {c_log} (ladder=) to see tiers.",
            f"会员等级门槛的币种是 {c_ladder}，订单是 {c_log}：请传入以 {c_log} 计的等级规则"
            "（ladder=）。")])]
    res = shop.tiers
    levels = range(len(shop.ladder.tiers) + 1)
    names = shop.level_names
    counts = res.counts()
    qualified = res.counts(qualified=True)
    potential = np.bincount(res.qualified_level[res.potential].astype(np.int64),
                            minlength=len(levels))
    n = len(res)
    ids = np.asarray(res.customer_ids)
    rows = [(str(lv), names[lv], w.count(counts[lv]), w.share(counts[lv], n),
             w.count(qualified[lv]), w.count(int(potential[lv])) if lv else "-")
            for lv in levels]
    lists = [_ids(ids[res.level == lv]) for lv in levels]
    n_potential = int(res.potential.sum())
    rows.append(("", w("total", "合计"), w.count(n), "", w.count(n), w.count(n_potential)))
    lists.append(())
    rows.append(("", w("potential members", "潜在会员"), w.count(n_potential), "", "", ""))
    lists.append(_ids(ids[res.potential]))
    members = n - counts[0]
    chart = BarChart(
        w("Customers per level (members) and potential members", "各等级会员数与潜在会员数"),
        [*(f"{lv} {names[lv]}" for lv in levels), w("potential members", "潜在会员")],
        [*(float(counts[lv]) for lv in levels), float(n_potential)],
        value_label=w("customers", "客户数"),
    )
    opted: Any = shop.customers if shop.customers is not None else False
    start = shop.as_of - relativedelta(months=1)
    flow = tier_flow(shop.log, shop.ladder, start=start, as_of=shop.as_of, opted_in=opted)
    flow_rows = [(f"{i} {names[i]}", *(w.count(int(v)) for v in flow.matrix[i]))
                 for i in levels]
    first, last = start.date().isoformat(), shop.as_of.date().isoformat()
    tables = [
        Table(w("Tier share", "会员等级分布"),
              [w("level", "等级"), w("name", "名称"), w("customers", "客户数"), w("share", "占比"),
               w("qualified", "达到条件"), w("potential", "潜在会员")],
              rows, [False, False, True, True, True, True], customers=lists, key="tier"),
        Table(w(f"Tier flow from {first} to {last} (rows: level at start; columns: level at "
                f"end): {flow.upgraded:,} upgraded, {flow.downgraded:,} downgraded",
                f"{first} 至 {last} 的等级流转（行：期初等级；列：期末等级）："
                f"升级 {flow.upgraded:,} 人，降级 {flow.downgraded:,} 人"),
              [w("start \\ end", "期初 \\ 期末"), *(str(lv) for lv in levels)], flow_rows,
              [False, *(True for _ in levels)]),
    ]
    charts: list[Any] = [chart]
    if shop.customers is not None:
        tables.append(_member_table(shop))
        history_chart, history_table = _tier_history(shop)
        charts.append(history_chart)
        tables.append(history_table)
    notes = []
    if shop.customers is None:
        notes.append(w("No customers file was given, so nobody counts as having joined "
                       "(opt-in, 领卡): every customer is at level 0 and those who meet a "
                       "level's condition are shown as potential members. Pass --customers "
                       "(member_since column) for real membership.",
                       "没有客户文件，所以没有人算作已入会（领卡）：所有客户都在 0 级，达到某一等级条件"
                       "的客户显示为潜在会员。传入 --customers（含 member_since 列）可得到真实会员。"))
    else:
        notes.append(w("Membership (opt-in, 领卡) from the customers file's member_since.",
                       "入会（领卡）时间取自客户文件的 member_since 列。"))
    notes.append(w("A customer qualifies for a level when any of its conditions (cumulative "
                   "spend or order count) holds.",
                   "满足某一等级任意一个条件（累计消费金额或累计订单数）即达到该等级。"))
    return [Section(
        "tiers", w("Membership tiers", "会员等级"),
        summary=w(f"{members:,} members of {n:,} customers with an order "
                  f"({w.share(members, n)}); {n_potential:,} potential members qualify for a "
                  "level but have not joined.",
                  f"{n:,} 位有订单的客户中有 {members:,} 位会员（{w.share(members, n)}）；"
                  f"{n_potential:,} 位潜在会员达到了等级条件但还没有入会。"),
        charts=charts, tables=tables, notes=notes,
    )]


def _last_month(shop: Shop) -> Any:
    end = shop.month_start
    return periods(Window(end - relativedelta(months=1), end), "month", tz=shop.zone)[-1:]


def _member_table(shop: Shop) -> Table:
    """Contribution and activity per level in the last complete month (ecrm.analytics)."""
    assert shop.customers is not None
    w = shop.w
    mm = member_metrics(shop.log, shop.customers, _last_month(shop), ladder=shop.ladder)
    r = mm.rows[0]

    def pct(x: Any) -> str:
        return "-" if x is None else w.share(float(x), 1)

    names = shop.level_names
    rows = [(str(lv), names[lv], w.count(r.customers_by_level[lv]),
             "-" if lv == 0 else pct(r.tier_share(lv)),
             w.money(r.sales_by_level_fen[lv]), pct(r.sales_share(lv)),
             w.count(r.active_by_level[lv]), pct(r.activity(lv)))
            for lv in range(len(r.customers_by_level))]
    leaves = ("" if mm.leaves_known else
              w(" (leaves not counted: the customers file has no leave dates)",
                "（未统计退会：客户文件没有退会日期）"))
    return Table(
        w(f"Members in {r.period.label}: contribution and activity per level; {r.joins:,} "
          f"joined, {r.upgraded:,} of {r.members_at_start:,} members upgraded",
          f"{r.period.label} 各等级会员的贡献与活跃度；入会 {r.joins:,} 人，"
          f"期初 {r.members_at_start:,} 位会员中升级 {r.upgraded:,} 人") + leaves,
        [w("level", "等级"), w("name", "名称"), w("customers", "客户数"),
         w("share of members", "会员占比"), w("sales", "销售额"), w("share of sales", "销售占比"),
         w("bought", "购买人数"), w("activity", "活跃度")],
        rows, [False, False, True, True, True, True, True, True],
    )


def _tier_history(shop: Shop) -> tuple[StackedBarChart, Table]:
    """Members per level at each month's end over the last 12 months, with joins and
    upgrades per month (ecrm.analytics.member_metrics)."""
    assert shop.customers is not None
    w = shop.w
    end = shop.month_start
    months = periods(Window(end - relativedelta(months=12), end), "month", tz=shop.zone)
    mm = member_metrics(shop.log, shop.customers, months, ladder=shop.ladder)
    names = shop.level_names
    n_levels = len(shop.ladder.tiers) + 1
    chart = StackedBarChart(
        w("Members per level at each month's end", "每月末各等级会员数"),
        [r.period.label for r in mm.rows],
        [(f"{lv} {names[lv]}", [float(r.customers_by_level[lv]) for r in mm.rows])
         for lv in range(1, n_levels)],
        value_label=w("members", "会员数"),
    )
    rows = []
    for r in reversed(mm.rows):
        members = sum(r.customers_by_level[1:])
        rows.append((r.period.label,
                     *(w.share(r.customers_by_level[lv], members) for lv in range(1, n_levels)),
                     w.count(r.joins), w.count(r.upgraded),
                     "-" if r.upgrade_rate is None else w.share(float(r.upgrade_rate), 1),
                     w.money(sum(r.sales_by_level_fen[1:]), short=True)))
    table = Table(
        w("Tier share and flow per month, newest first", "每月会员等级占比与流转，最近的月份在前"),
        [w("month", "月份"), *(f"{lv} {names[lv]}" for lv in range(1, n_levels)),
         w("joined", "入会"), w("upgraded", "升级"), w("upgrade rate", "升级率"),
         w("member sales", "会员销售额")],
        rows, [False, *(True for _ in range(n_levels + 3))],
    )
    return chart, table


# -- provinces and products -------------------------------------------------------------
def provinces(shop: Shop) -> list[Section]:
    """Orders, buyers and sales per province in the year before ``as_of``."""
    w = shop.w
    title = w("Provinces", "省份分布")
    if shop.log.provinces is None:
        return [Section("provinces", title,
                        notes=[w("The orders have no province column.", "订单没有省份列。")])]
    start = shop.as_of - relativedelta(years=1)
    dist = province_distribution(shop.log, window=Window(start, shop.as_of))
    total = sum(r.orders for r in dist.rows)
    top = dist.rows[:15]
    chart = BarChart(w("Orders per province (top 15)", "各省订单数（前 15）"),
                     [r.province for r in top], [float(r.orders) for r in top],
                     value_label=w("orders", "订单数"), horizontal=True)
    rows = [(r.province, w.count(r.orders), w.share(r.orders, total), w.count(r.customers),
             w.money(r.sales_fen),
             "-" if r.sales_share is None else w.share(float(r.sales_share), 1))
            for r in dist.rows]
    notes = [w("Full names, short names, pinyin and GB/T 2260 area codes are merged "
               "(ecrm.analytics.normalize_provinces).",
               "全称、简称、拼音和 GB/T 2260 行政区划代码已合并（ecrm.analytics.normalize_provinces）。")]
    if dist.unknown_spellings:
        shown = ", ".join(dist.unknown_spellings[:10])
        more = len(dist.unknown_spellings) - 10
        notes.append(w(f"Counted as 未知 (unknown): {shown}"
                       + (f" and {more} more" if more > 0 else "") + ".",
                       f"计为“未知”：{shown}" + (f" 等另外 {more} 个" if more > 0 else "") + "。"))
    return [Section(
        "provinces", title,
        summary=w(f"Delivery provinces of the valid orders in the year before "
                  f"{shop.as_of.date().isoformat()}.",
                  f"{shop.as_of.date().isoformat()} 之前一年有效订单的收货省份。"),
        charts=[chart] if top else [],
        tables=[Table(w("Orders, buyers and sales per province", "各省订单、买家与销售额"),
                      [w("province", "省份"), w("orders", "订单数"), w("share", "占比"),
                       w("buyers", "买家数"), w("sales", "销售额"),
                       w("sales share", "销售占比")], rows,
                      [False, True, True, True, True, True])],
        notes=notes,
    )]


def products(shop: Shop) -> list[Section]:
    """Top items of the first purchase, the first repurchase and the repurchases."""
    w = shop.w
    title = w("Product preferences", "商品偏好")
    log = shop.log
    if log.items is None:
        return [Section("products", title,
                        notes=[w("The orders have no order lines (sku column).",
                                 "订单没有商品明细（sku 列）。")])]
    start = shop.as_of - relativedelta(years=1)
    pref = product_preference(log, window=Window(start, shop.as_of), by="sku", top=_TOP_N)
    skus = np.asarray(log.items.skus)
    uniq, first_line = np.unique(skus, return_index=True)
    category = dict(zip(uniq.tolist(), np.asarray(log.items.categories)[first_line].tolist(),
                        strict=True))
    scopes = (
        ("first_purchase", w("New customers' first purchase (their first purchase day ever)",
                             "新客户首购（有史以来第一个购买日）")),
        ("first_repurchase", w("First repurchase (customers' second purchase day)",
                               "首次回购（第二个购买日）")),
        ("repurchase", w("Returning customers' repurchases (every purchase day after the "
                         "first)", "老客户复购（第一个购买日之后的每个购买日）")),
    )
    tables = []
    for scope, caption in scopes:
        t = getattr(pref, scope)
        rows = [(str(k + 1), r.key, category.get(r.key, ""), w.count(r.customers),
                 w.share(float(r.share), 1), w.count(r.orders), w.count(r.quantity),
                 w.money(r.sales_fen)) for k, r in enumerate(t.rows)]
        tables.append(Table(w(f"{caption}: {t.customers:,} customers",
                              f"{caption}：{t.customers:,} 位客户"),
                            ["#", "sku", w("category", "类目"), w("customers", "客户数"),
                             w("share", "占比"), w("orders", "订单数"), w("units", "件数"),
                             w("line value", "商品金额")],
                            rows, [True, False, False, True, True, True, True, True]))
    return [Section(
        "products", title,
        summary=w(f"Top {_TOP_N} items bought in the year before "
                  f"{shop.as_of.date().isoformat()}, by which purchase day of the customer it "
                  "was (ecrm.analytics.product_preference).",
                  f"{shop.as_of.date().isoformat()} 之前一年购买最多的前 {_TOP_N} 个商品，按客户的第几个"
                  "购买日区分（ecrm.analytics.product_preference）。"),
        tables=tables,
        notes=[w("share = customers who bought the item / customers in the scope; a customer "
                 "who buys several items counts for each.",
                 "占比 = 买过该商品的客户数 / 该范围的客户数；买了多个商品的客户在每个商品下都计入。")],
    )]


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


#: Chinese names of the care flows and send-policy rules (the ids stay beside them)
_ZH_NAMES: Final = {
    "payment_reminder": "催付", "shipping": "发货通知", "delivery": "签收提醒",
    "receipt_confirmed": "确认收货", "refund": "退款完成", "refund_request": "退货退款",
    "usage_tutorial": "使用教程", "satisfaction": "满意度回访", "returning_offer": "老客优惠",
    "win_back": "流失挽回", "birthday": "生日祝福", "holiday": "节日祝福",
    "gift_pack": "新会员礼包", "repurchase": "回购提醒", "coupon_expiry": "优惠券到期提醒",
    "block_list": "黑名单", "consent": "未授权", "dedupe": "重复消息", "expiry": "已过期",
    "frequency_cap": "频次上限", "max_lateness": "延迟过久", "members_only": "仅限会员",
    "not_before": "未到发送时间", "opt_out": "已退订", "time_window": "发送时段",
}


def _named(w: Words, key: str) -> str:
    """``催付 payment_reminder`` in Chinese (an unknown id as it is), the id in English."""
    zh = _ZH_NAMES.get(key)
    return f"{zh} {key}" if zh and w.lang == "zh" else key


def touches(shop: Shop) -> list[Section]:
    """A dry run of the care flows through the send policy on the planned day."""
    w = shop.w
    log, customers = shop.log, shop.customers
    local = shop.local
    day = plan_day(local)
    channel = ChannelKind.SMS if customers is not None else ChannelKind.IN_APP
    # A dry run: the shop's links are not known here, so placeholders of a Taobao short
    # link's length size the SMS (nothing is sent).
    ctx = FlowContext(SmsComposer(f"【{shop.name}】"), customers=customers, channel=channel,
                      tz=shop.tz_name, link="m.tb.cn/xxxxxx", member_card_link="m.tb.cn/xxxxxx")
    cycles = None
    if shop.cycle.has_bands and log.items is not None:
        cycles = cycles_by(log, by="category", as_of=shop.as_of)
    notes: list[str] = []
    events = None
    if log.paid_at_us is None or log.order_ids is None:
        events = _no_order_events(log.currency)
        notes.append(w("The orders have no paid_at or order_id column, so the logistics "
                       "flows (shipping, delivery, receipt, refund, usage tutorial, "
                       "satisfaction) have no events to work from.",
                       "订单没有 paid_at 或 order_id 列，所以物流类关怀（发货、签收、确认收货、退款、"
                       "使用教程、满意度）没有事件可用。"))
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
    plan = backtest(flows, window=Window.of_dates(day, day + dt.timedelta(days=1), shop.zone),
                    context=context, customers=customers, tz=shop.zone,
                    price_per_segment=shop.sms_price)
    sent = dict(plan.sent)
    d = plan.days[0]
    rows = [(_named(w, name), w.count(n), w.count(sent.get(name, 0)))
            for name, n in plan.candidates]
    rows.append((w("total", "合计"), w.count(d.n_candidates), w.count(d.n_sent)))
    skips = [(_named(w, rule), w.count(n)) for rule, n in plan.skips]
    metrics = [
        Metric(w("planned sends", "计划发送"), w.count(d.n_sent)),
        Metric(w("SMS segments", "短信计费条数"), w.count(plan.segments)),
        Metric(w("SMS cost", "短信费用"), w.amount(plan.cost.fen, plan.cost.currency)),
        Metric(w("skipped", "跳过"), w.count(d.n_skipped)),
        Metric(w("deferred past the day", "推迟到次日以后"), w.count(plan.pending)),
    ]
    iso = day.isoformat()
    price = w.amount(shop.sms_price.fen, shop.sms_price.currency)
    tables = [Table(w(f"Care flows on {iso}: candidates and planned sends",
                      f"{iso} 各关怀流程的候选与计划发送"),
                    [w("flow", "流程"), w("candidates", "候选"), w("would send", "将发送")], rows,
                    [False, True, True])]
    if skips:
        tables.append(Table(w("Skipped, by the rule that refused them", "按拦截规则统计的跳过"),
                            [w("rule", "规则"), w("messages", "消息数")], skips, [False, True]))
    notes += [w(f"{name} not planned: {reason}", f"{name} 未计划：{reason}")
              for name, reason in sorted(failed.items())]
    notes.append(w(f"A dry run of the care flows through the send policy on {iso} "
                   f"({shop.tz_name}), the first whole day from as_of; nothing is sent. Cost "
                   f"= billed SMS segments × {price} per segment.",
                   f"在 {iso}（{shop.tz_name}，截止时刻起的第一个完整日）按发送策略试运行关怀流程，"
                   f"不会真的发送。费用 = 短信计费条数 × 每条 {price}。"))
    if customers is None:
        notes.append(w("Without a customers file there are no phone numbers: the flows are "
                       "planned for the in-app message box (no SMS cost), and member-only "
                       "messages are skipped because membership is unknown.",
                       "没有客户文件就没有手机号：流程按站内信计划（无短信费用），仅限会员的消息因会员"
                       "身份未知而跳过。"))
    if cycles is None:
        notes.append(w("No repurchase reminders: they need order lines and a repurchase "
                       "cycle.", "没有回购提醒：需要商品明细和回购周期。"))
    chart = BarChart(w("Planned sends per flow", "各流程计划发送数"),
                     [_ZH_NAMES.get(name, name) if w.lang == "zh" else name
                      for name, _ in plan.candidates],
                     [float(sent.get(name, 0)) for name, _ in plan.candidates],
                     value_label=w("messages", "消息数"), horizontal=True)
    same_day = day == local.date()
    title = (w(f"Planned touches for {iso}", f"{iso} 计划触达") if same_day
             else w(f"Tomorrow's planned touches ({iso})", f"明日计划触达（{iso}）"))
    return [Section(
        "touches", title,
        summary=w("What the care flows would send on that day, after the send policy's "
                  "checks (opt-outs, block list, members-only, time windows, caps).",
                  "经过发送策略检查（退订、黑名单、仅限会员、时间窗口、频次上限）后，各关怀流程当天"
                  "将发送的消息。"),
        metrics=metrics, charts=[chart] if plan.candidates else [], tables=tables, notes=notes,
    )]


#: The report's sections in display order: ``(progress label, builder)``. A builder takes
#: the :class:`Shop` and returns its sections (none when it has nothing to show).
SECTIONS: Final[tuple[tuple[str, Callable[[Shop], list[Section]]], ...]] = (
    ("headline numbers", overview),
    ("CRM sales and campaigns", crm_sales_section),
    ("quarters and years", periods_section),
    ("RFM grades", grades),
    ("repurchase cycle and stages", cycle_and_stages),
    ("customer classes and audiences", audiences),
    ("membership tiers", tiers),
    ("membership cost", membership_cost_section),
    ("predicted churn and value", predict_section),
    ("provinces", provinces),
    ("product preferences", products),
    ("products bought together", associations_section),
    ("service", service_section),
    ("tomorrow's touches", touches),
)


def default_lang(currency: str) -> Lang:
    """``"zh"`` for a shop that sells in CNY, else ``"en"``."""
    return "zh" if currency == "CNY" else "en"


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
    lang: str | None = None,
    tickets: Sequence[Ticket] | None = None,
    sla_policy: SlaPolicy | None = None,
    survey_scores: Iterable[SurveyScore] = (),
    level_costs: LevelCosts | None = None,
    touches: Touches | None = None,
    attribution_within: dt.timedelta = dt.timedelta(days=7),
    campaigns: Iterable[CampaignReport] = (),
    progress: Progress | None = None,
) -> Report:
    """Assemble the shop report as of ``as_of`` (pure: nothing is read, written or sent).

    Sections, in order: ``overview`` (headline numbers of the last complete month against
    the month before and a year before), ``periods`` (quarters and years with
    period-over-period and year-over-year changes), ``grades`` (P/G/S/B), ``segments`` (RFM
    segments), ``cycle`` (5221 boundaries and the repurchase curve), ``lifecycle`` (stage
    counts; left out when nobody repurchased), ``audiences`` (customer classes and the
    built-in audiences of ecrm.segments; needs ``customers``), ``tiers`` (tier share,
    potential members, last month's tier flow, and with ``customers`` member contribution
    and the monthly tier history), ``predict`` (churn risk and CLV, ecrm.predict),
    ``provinces``, ``products`` (first purchase, first repurchase, repurchases),
    ``associations`` (products bought together), ``membership-cost`` (only with
    ``level_costs``), ``service`` (SLA, satisfaction, complaints and retention; only with
    ``tickets``) and ``touches`` (a dry run of the care flows on the planned
    day with its SMS cost). Grade, segment, stage and tier rows carry their customers.

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
        lang: ``"zh"`` or ``"en"``; ``None`` picks Chinese for a CNY shop, else English.
        tickets: after-sales tickets (ecrm.service); adds the ``service`` section.
        sla_policy: the service targets (default :data:`DEFAULT_SLA`: 4 h to the first
            reply, 24 h to resolution, wall clock).
        survey_scores: stored survey replies (ecrm.service); CSAT and NPS in the
            ``service`` section.
        level_costs: :func:`ecrm.tiers.level_costs` over the period to show; adds the
            ``membership-cost`` section (the benefit, points and gift-pack records it needs
            live in the shop's stores, not in the orders).
        touches: CRM sends and coupon grants (:class:`ecrm.analytics.Touches`, e.g.
            ``Touches.from_outbox(outbox.entries())``); adds the ``crm-sales`` section
            (CRM 销售额 and 销售占比 per month, last-touch attribution).
        attribution_within: how long after a touch an order is credited to it (7 days).
        campaigns: campaign reports (:func:`ecrm.analytics.campaign_effect`); adds the
            ``campaigns`` section (uplift against the holdout with its interval, cost, ROI).
        progress: an :class:`ecrm.Progress`, called with an :class:`ecrm.ProgressUpdate`
            (``unit="steps"``, ``step`` the section's label) before each step and once at
            the end; a deprecated ``(step, done, total)`` callback still works.

    Returns:
        A :class:`~ecrm.report.Report`.

    Raises:
        InvalidTypeError: ``orders`` is not an OrderLog, or ``customers`` / ``events``
            have the wrong type.
        InvalidValueError: a naive ``as_of``, an unknown ``cycle_method`` or ``lang``, or
            a ``customers`` / ``events`` table in another time zone than the orders.
    """
    _v.check_instance("orders", orders, OrderLog)
    if customers is not None and not isinstance(customers, CustomerTable):
        raise InvalidTypeError(f"customers must be a CustomerTable, got "
                               f"{type(customers).__name__}")
    if events is not None and not isinstance(events, EventLog):
        raise InvalidTypeError(f"events must be an EventLog, got {type(events).__name__}")
    if level_costs is not None and not isinstance(level_costs, LevelCosts):
        raise InvalidTypeError(f"level_costs must be LevelCosts, got {type(level_costs).__name__}")
    scores = tuple(survey_scores)
    if touches is not None and not isinstance(touches, Touches):
        raise InvalidTypeError(f"touches must be ecrm.analytics.Touches, got "
                               f"{type(touches).__name__}")
    campaign_list = tuple(campaigns)
    for i, c in enumerate(campaign_list):
        if not isinstance(c, CampaignReport):
            raise InvalidTypeError(f"campaigns[{i}] must be a CampaignReport, got "
                                   f"{type(c).__name__}")
    _v.check_instance("sms_price", sms_price, Money)
    require_aware(as_of, "as_of")
    if cycle_method not in ("observed", "kaplan-meier"):
        raise InvalidValueError("cycle_method", "must be 'observed' or 'kaplan-meier'",
                                cycle_method)
    if lang is None:
        lang = default_lang(orders.currency)
    if lang not in ("zh", "en"):
        raise InvalidValueError("lang", "must be 'zh' or 'en'", lang)
    name = store_name.strip() or "本店"
    shop = Shop(orders, as_of=as_of, customers=customers, events=events, ladder=ladder,
                cycle_method=cycle_method, name=name, sms_price=sms_price,
                lang=lang, tickets=tickets, sla_policy=sla_policy,  # type: ignore[arg-type]
                survey_scores=scores, level_costs=level_costs, touches=touches,
                attribution_within=attribution_within, campaigns=campaign_list)
    as_zone(shop.tz_name, "tz")
    report = progress_sink(progress, where="build_report()",
                           legacy=lambda u: (u.step, u.done, u.total))
    total = len(SECTIONS)
    sections: list[Section] = []
    for i, (label, build) in enumerate(SECTIONS):
        report(ProgressUpdate(done=i, total=total, unit="steps", step=label))
        sections += build(shop)
    report(ProgressUpdate(done=total, total=total, unit="steps", step="done"))
    day = shop.local.date().isoformat()
    return Report(
        title=shop.w(f"{name} CRM report as of {day}", f"{name} 客户运营报告（截至 {day}）"),
        store_name=name, as_of=as_of, tz=shop.tz_name, source=source, sections=sections,
        version=__version__, lang=lang, currency=orders.currency,
    )
