"""Report sections drawn from the analytics of other packages: quarter and year views
(ecrm.analytics.store_metrics), predicted churn and CLV (ecrm.predict), strongest product
associations (ecrm.recommend) and after-sales service (ecrm.service).

Each is one function of the :class:`~ecrm.report._build.Shop` returning its sections,
listed in ``ecrm.report._build.SECTIONS``; a section whose data or extra is missing says
why in a note instead of failing the report.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from dateutil.relativedelta import relativedelta

from ecrm import MissingDependencyError, Window
from ecrm.analytics import periods, store_metrics
from ecrm.report._model import BarChart, LineChart, Metric, Section, Table

if TYPE_CHECKING:
    from ecrm.report._build import Shop

__all__ = ["associations_section", "periods_section", "predict_section", "service_section"]

_QUARTERS: Final = 4
_YEARS: Final = 3
_RULES: Final = 10
#: prediction horizons: purchases in the next 90 days, CLV over a year
PREDICT_DAYS: Final = 90
CLV_DAYS: Final = 365
#: the l2 penalty of the second fit when the first is not identified
PENALTY: Final = 0.01


def _ids(values: Any) -> tuple[str, ...]:
    return tuple(str(x) for x in np.asarray(values).tolist())


# -- quarter and year views -------------------------------------------------------------
def _period_table(shop: Shop, freq: str, n: int) -> tuple[Table, Any] | None:
    """The last ``n`` complete periods of ``freq`` with PoP and YoY, newest first."""
    w = shop.w
    local = shop.local
    if freq == "quarter":
        q_month = 3 * ((local.month - 1) // 3) + 1
        end = local.replace(month=q_month, day=1, hour=0, minute=0, second=0, microsecond=0)
        start = end - relativedelta(months=3 * n)
    else:
        end = local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        start = end - relativedelta(years=n)
    at = shop.log.placed_at_us
    inside = (at >= int(start.timestamp() * 1_000_000)) & (at < int(end.timestamp() * 1_000_000))
    if not inside.any():
        return None
    sm = store_metrics(shop.log, periods(Window(start, end), freq, tz=shop.zone))
    pop = sm.changes("sales_fen", "previous")
    yoy = sm.changes("sales_fen", "year_ago")
    buyers_yoy = sm.changes("customers", "year_ago")
    rows = []
    for k in range(len(sm.rows) - 1, -1, -1):
        r = sm.rows[k]
        rate = "-" if r.repurchase_rate is None else w.share(float(r.repurchase_rate), 1)
        rows.append((r.period.label, w.money(r.sales_fen), w.count(r.orders),
                     w.count(r.customers), w.count(r.new_customers),
                     w.count(r.returning_customers), rate, shop.change(pop[k]),
                     shop.change(yoy[k]), shop.change(buyers_yoy[k])))
    name = w("quarter", "季度") if freq == "quarter" else w("year", "年度")
    table = Table(
        w(f"Store figures by {name}, newest first: against the {name} before and a year "
          "before", f"{name}店铺数据，最近的在前：环比与同比"),
        [name, w("sales", "销售额"), w("orders", "订单数"), w("buyers", "购买客户"),
         w("new", "新客户"), w("returning", "老客户"), w("repurchase rate", "复购率"),
         w("sales vs period before", "销售额环比"), w("sales vs year before", "销售额同比"),
         w("buyers vs year before", "购买客户同比")],
        rows, [False, *(True for _ in range(9))],
    )
    return table, sm


def periods_section(shop: Shop) -> list[Section]:
    """The last four complete quarters and three complete years, each with
    period-over-period and year-over-year changes (ecrm.analytics.store_metrics)."""
    w = shop.w
    title = w("Quarters and years", "季度与年度对比")
    tables = []
    charts: list[Any] = []
    quarters = _period_table(shop, "quarter", _QUARTERS)
    if quarters is not None:
        table, sm = quarters
        tables.append(table)
        charts.append(LineChart(
            w("Sales per quarter against a year before", "季度销售额与去年同期"),
            [r.period.label for r in sm.rows],
            [(w("this year", "本期"), [r.sales_fen / 100 for r in sm.rows]),
             (w("a year before", "去年同期"), [r.sales_fen / 100 for r in sm.year_ago])],
            value_kind="money"))
    years = _period_table(shop, "year", _YEARS)
    if years is not None:
        table, sm = years
        tables.append(table)
        charts.append(BarChart(w("Sales per year", "年度销售额"),
                               [r.period.label for r in sm.rows],
                               [r.sales_fen / 100 for r in sm.rows], value_kind="money"))
    if not tables:
        return [Section("periods", title, notes=[w("No orders in the periods shown.",
                                                    "所示期间没有订单。")])]
    return [Section(
        "periods", title,
        summary=w("Complete calendar quarters and years before as_of, each against the one "
                  "before (period over period) and the same one a year earlier (year over "
                  "year).",
                  "截止日之前的完整自然季度和年度，分别与上一期（环比）和去年同期（同比）对比。"),
        charts=charts, tables=tables,
        notes=[w("The same definitions as the monthly figures (ecrm.analytics.store_metrics "
                 "with quarter and year periods).",
                 "口径与月度数据相同（ecrm.analytics.store_metrics，按季度和年度）。")],
    )]


# -- prediction -------------------------------------------------------------------------
def predict_section(shop: Shop) -> list[Section]:
    """Churn risk and CLV per customer from BG/NBD and Gamma-Gamma (ecrm.predict)."""
    w = shop.w
    title = w("Predicted churn and customer value", "流失预测与客户价值")
    result = predictions(shop)
    if isinstance(result, str):
        return [Section("predict", title, notes=[result])]
    p, l2 = result
    ids = np.asarray(p.customer_ids)
    bands = (("high", w("high churn risk", "高流失风险"), w("P(alive) < 0.3", "存活概率 < 0.3")),
             ("medium", w("medium", "中等风险"), "0.3 ≤ P(alive) < 0.7"),
             ("low", w("low", "低风险"), "P(alive) ≥ 0.7"))
    n = len(ids)
    rows, lists, counts = [], [], []
    for band, label, rule in bands:
        mask = p.risk == band
        k = int(mask.sum())
        counts.append(k)
        rows.append((label, rule, w.count(k), w.share(k, n),
                     "-" if not k else f"{float(p.p_alive[mask].mean()):.2f}",
                     w.short(float(p.expected_purchases[mask].sum())),
                     "-" if p.spend is None else w.money(int(p.clv_fen[mask].sum()))))
        lists.append(_ids(ids[mask]))
    total_clv = int(p.clv_fen.sum())
    metrics = [
        Metric(w(f"expected purchases in {PREDICT_DAYS} days", f"未来 {PREDICT_DAYS} 天预计购买次数"),
               w.short(float(p.expected_purchases.sum()))),
        Metric(w("customers at high churn risk", "高流失风险客户"), w.count(counts[0])),
        Metric(w(f"CLV over {CLV_DAYS} days", f"未来 {CLV_DAYS} 天客户价值"),
               "-" if p.spend is None else w.money(total_clv, short=True)),
    ]
    chart = BarChart(w("Customers per churn-risk band", "各流失风险客户数"),
                     [label for _, label, _ in bands], [float(c) for c in counts],
                     value_label=w("customers", "客户数"))
    notes = [w(f"BG/NBD for purchase days and Gamma-Gamma for spend, fitted by maximum "
               f"likelihood on every valid order before as_of (ecrm.predict); CLV discounts "
               f"expected spend over {CLV_DAYS} days at 10% a year.",
               f"用截止日之前的全部有效订单按最大似然拟合 BG/NBD（购买日）和 Gamma-Gamma（金额）"
               f"（ecrm.predict）；客户价值为未来 {CLV_DAYS} 天的预期消费，按年 10% 折现。")]
    if l2:
        notes.append(w(f"The unpenalised BG/NBD fit was not identified on this data: fitted "
                       f"with an l2 penalty of {l2}.",
                       f"不加惩罚的 BG/NBD 拟合在本店数据上不可识别：已加 l2 惩罚 {l2} 重新拟合。"))
    if p.spend is None:
        notes.append(w("The spend model (Gamma-Gamma) could not be fitted on this data: no CLV.",
                       "金额模型（Gamma-Gamma）无法在本店数据上拟合：不显示客户价值。"))
    return [Section(
        "predict", title,
        summary=w("Who is still likely to buy, who is slipping away, and what the customers "
                  "are worth over the next year.",
                  "哪些客户仍可能购买、哪些正在流失，以及客户在未来一年的价值。"),
        metrics=metrics, charts=[chart],
        tables=[Table(w("Customers per churn-risk band", "各流失风险客户"),
                      [w("band", "风险"), w("rule", "规则"), w("customers", "客户数"),
                       w("share", "占比"), w("mean P(alive)", "平均存活概率"),
                       w(f"purchases in {PREDICT_DAYS} days", f"{PREDICT_DAYS} 天购买次数"),
                       w("CLV", "客户价值")],
                      rows, [False, False, True, True, True, True, True],
                      customers=lists, key="risk")],
        notes=notes,
    )]


def predictions(shop: Shop) -> Any:
    """``(Predictions, l2)`` of the shop (``l2`` the penalty the fit needed), or a note
    saying why there are none (no scipy, too little data, a fit that did not converge)."""
    w = shop.w
    from ecrm.predict import FitError, fit_bgnbd, fit_gammagamma, predict, summaries

    no_scipy = w("Predictions need scipy: pip install 'ecrm[predict]'.",
                 "预测需要 scipy：pip install 'ecrm[predict]'。")
    valid = shop.log.valid_mask()
    before = shop.log.placed_at_us < int(shop.as_of.timestamp() * 1_000_000)
    if not (valid & before).any():
        return w("No valid orders to fit a model to.", "没有可用于拟合模型的有效订单。")
    first_us = int(shop.log.placed_at_us[valid & before].min())
    start = dt.datetime.fromtimestamp(first_us / 1e6, tz=dt.UTC).astimezone(shop.zone)
    try:
        summary = summaries(shop.log, as_of=shop.as_of, calibration_start=start)
        # an unpenalised fit can be unidentified on a small shop; the models' own advice
        # is a small l2 penalty, which the section then names
        l2 = 0.0
        try:
            model = fit_bgnbd(summary, thin_data="ignore")
        except FitError:
            l2 = PENALTY
            model = fit_bgnbd(summary, l2=l2, thin_data="ignore")
        spend = None
        for penalty in (0.0, PENALTY):  # each model takes the penalty it needs
            try:
                spend = fit_gammagamma(summary, l2=penalty, thin_data="ignore")
                break
            except (FitError, ValueError):
                continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return predict(model, summary, horizon_days=PREDICT_DAYS, spend=spend,
                           clv_horizon_days=CLV_DAYS), l2
    except MissingDependencyError:
        return no_scipy
    except (FitError, ValueError) as exc:
        return w(f"No prediction: {exc}", f"无法预测：{exc}")


# -- associations -----------------------------------------------------------------------
def associations_section(shop: Shop) -> list[Section]:
    """The strongest item-to-item rules: bought B within 14 days after A (ecrm.recommend)."""
    from ecrm.recommend import associations

    w = shop.w
    title = w("Products bought together", "商品关联")
    if shop.log.items is None:
        return [Section("associations", title, notes=[
            w("The orders have no order lines (sku column).", "订单没有商品明细（sku 列）。")])]
    rules = associations(shop.log, as_of=shop.as_of, basis="days", within_days=14)
    score = np.asarray(rules.score)
    order = np.lexsort((np.asarray(rules.consequents), np.asarray(rules.antecedents), -score))
    top = order[:_RULES]
    rows = [(str(k + 1), str(rules.antecedents[i]), str(rules.consequents[i]),
             w.count(int(rules.n_pair[i])), w.count(int(rules.n_antecedent[i])),
             w.share(float(rules.confidence[i]), 1), f"{float(rules.lift[i]):.2f}",
             f"{float(score[i]):+.3f}") for k, i in enumerate(top.tolist())]
    if not rows:
        return [Section("associations", title, notes=[
            w("No pair of items was bought by at least 2 customers within 14 days.",
              "没有任何两件商品被至少 2 位客户在 14 天内先后购买。")])]
    return [Section(
        "associations", title,
        summary=w(f"The {len(rows)} strongest rules A → B: customers who bought A bought B "
                  f"within 14 days (ecrm.recommend.associations), ranked by added chance.",
                  f"最强的 {len(rows)} 条关联 A → B：买了 A 的客户在 14 天内又买了 B"
                  "（ecrm.recommend.associations），按提升的购买概率排序。"),
        tables=[Table(w("Strongest product associations", "最强商品关联"),
                      ["#", w("bought", "先买"), w("then bought", "再买"),
                       w("customers with both", "两者都买"), w("customers with A", "买 A 的客户"),
                       w("confidence", "置信度"), w("lift", "提升度"),
                       w("added chance", "增加的概率")],
                      rows, [True, False, False, True, True, True, True, True])],
        notes=[w("added chance = confidence shrunk towards B's base rate with 10 "
                 "pseudo-customers, minus that base rate: small counts cannot rank high.",
                 "增加的概率 = 以 10 个虚拟客户向 B 的基础购买率收缩后的置信度减去基础购买率，"
                 "少量样本不会排得很高。")],
    )]


# -- service ----------------------------------------------------------------------------
def service_section(shop: Shop) -> list[Section]:
    """SLA attainment and response times, satisfaction from stored survey replies, service
    against retention, and complaints per category per month (ecrm.service), when tickets
    are given."""
    if shop.tickets is None:
        return []
    from ecrm.service import complaints_by_period, service_overview

    w = shop.w
    tickets = [t for t in shop.tickets if t.created_at < shop.as_of]
    o = service_overview(tickets, shop.sla_policy, as_of=shop.as_of, scores=shop.survey_scores,
                         orders=shop.log)
    s = o.sla

    def pct(x: float | None) -> str:
        return "-" if x is None else w.share(x, 1)

    def hours(x: float | None) -> str:
        return "-" if x is None else (f"{x:.1f} 小时" if w.lang == "zh" else f"{x:.1f} h")

    metrics = [
        Metric(w("tickets", "工单数"), w.count(s.tickets)),
        Metric(w("open", "未解决"), w.count(s.open)),
        Metric(w("first response in time", "首次响应达标率"), pct(s.first_response_attainment)),
        Metric(w("resolved in time", "解决达标率"), pct(s.resolution_attainment)),
        Metric(w("first response median / P90", "首次响应中位数 / P90"),
               f"{hours(s.first_response_median_h)} / {hours(s.first_response_p90_h)}"),
        Metric(w("resolution median / P90", "解决时长中位数 / P90"),
               f"{hours(s.resolution_median_h)} / {hours(s.resolution_p90_h)}"),
    ]
    if o.csat_responses:
        metrics.append(Metric(w("CSAT (scores 4-5)", "满意度（4-5分占比）"), pct(o.csat),
                              [(w("replies", "回复数"), w.count(o.csat_responses))]))
    if o.nps_responses and o.nps is not None:
        metrics.append(Metric("NPS", f"{o.nps:+.0f}",
                              [(w("replies", "回复数"), w.count(o.nps_responses))]))
    complaints = complaints_by_period(tickets, tz=shop.zone)
    months = sorted(set(complaints.periods))
    shown = months[-6:]
    totals: dict[str, int] = {}
    for c, k in zip(complaints.categories, complaints.counts, strict=True):
        totals[c] = totals.get(c, 0) + k
    ranked = sorted(totals, key=lambda c: (-totals[c], c))
    rows = [(c, *(w.count(complaints.count(p, c)) for p in shown), w.count(totals[c]))
            for c in ranked]
    tables = [Table(w("Complaints per category and month", "各类投诉的月度数量"),
                    [w("category", "类别"), *shown, w("all months", "全部月份")], rows,
                    [False, *(True for _ in shown), True])] if rows else []
    r = o.retention
    if r is not None and any(r.customers):
        def rate(num: int, n: int) -> str:
            return w.share(num / n, 1) if n else "-"

        tables.append(Table(
            w(f"Repurchase within {r.horizon_days} days by resolution time",
              f"按解决时长分组的 {r.horizon_days} 天内复购"),
            [w("group", "分组"), w("customers", "客户数"), w("repurchased", "复购率"),
             w("churned", "流失率")],
            [(g, w.count(n), rate(b, n), rate(c, n))
             for g, n, b, c in zip(r.groups, r.customers, r.repurchased, r.churned, strict=True)],
            [False, True, True, True]))
    return [Section(
        "service", w("After-sales service", "售后服务"),
        summary=w(f"{s.tickets:,} tickets as of {shop.as_of.date().isoformat()}: how many were "
                  "answered and resolved within the SLA, how long it took, how satisfied "
                  "customers were, what they complained about, and whether they bought again.",
                  f"截至 {shop.as_of.date().isoformat()} 共 {s.tickets:,} 张工单：在服务时限内响应和"
                  "解决的比例、所用时长、客户满意度、投诉类别，以及客户之后是否复购。"),
        metrics=metrics, tables=tables,
        notes=[w("Figures from ecrm.service.service_overview (SLA clocks, complaint classes, "
                 "survey scores, service against retention in the SLA's business hours).",
                 "数据来自 ecrm.service.service_overview（服务时限、投诉分类、满意度回复、"
                 "按服务时长分组的复购）。")],
    )]


# -- membership cost --------------------------------------------------------------------
def membership_cost_section(shop: Shop) -> list[Section]:
    """What each member level cost and brought in over the window of the given
    :class:`~ecrm.tiers.LevelCosts` (成本测算), when the caller passes one."""
    costs = shop.level_costs
    if costs is None:
        return []
    w = shop.w
    money = w.money

    def share(x: float | None) -> str:
        return "-" if x is None else w.share(x, 1)

    rows = [
        (f"{lvl} {name}", w.count(n), w.count(units), share(rate), money(benefit),
         money(points), money(packs), money(cost), money(revenue), share(cs), money(fees))
        for lvl, name, n, units, rate, benefit, points, packs, cost, revenue, cs, fees in zip(
            costs.levels, costs.names, costs.members, costs.granted_units,
            costs.redemption_rate, costs.benefit_cost_fen, costs.points_cost_fen,
            costs.gift_pack_cost_fen, costs.cost_fen, costs.revenue_fen, costs.cost_share,
            costs.fee_income_fen, strict=True)
    ]
    start = costs.window.start.astimezone(shop.zone).date().isoformat()
    end = costs.window.end.astimezone(shop.zone).date().isoformat()
    chart = BarChart(
        w("Cost as a share of the level's sales", "成本占该等级销售额的比例"),
        [f"{lvl} {name}" for lvl, name in zip(costs.levels, costs.names, strict=True)],
        [float(x or 0.0) for x in costs.cost_share], value_kind="percent")
    return [Section(
        "membership-cost", w("Membership cost per level", "各等级会员成本"),
        summary=w(f"From {start} to {end}: the benefits, points and gift packs each level used, "
                  "what they cost, and that cost against the level's sales.",
                  f"{start} 至 {end}：各等级使用的权益、积分和礼包，其成本，以及成本占该等级销售额的比例。"),
        charts=[chart],
        tables=[Table(w("Cost and sales per level", "各等级成本与销售额"),
                      [w("level", "等级"), w("customers", "客户数"),
                       w("benefits granted", "发放权益"), w("redeemed", "使用率"),
                       w("benefit cost", "权益成本"), w("points cost", "积分成本"),
                       w("gift packs", "礼包成本"), w("total cost", "总成本"),
                       w("sales", "销售额"), w("cost share", "成本占比"),
                       w("fee income", "会费收入")],
                      rows, [False, *(True for _ in range(10))])],
        notes=[w("From ecrm.tiers.level_costs: used benefits at their unit cost, redeemed "
                 "points at the shop's point value, and gift packs; fee income is shown apart "
                 "and not subtracted.",
                 "数据来自 ecrm.tiers.level_costs：已使用的权益按单位成本计，兑换的积分按店铺积分价值计，"
                 "另计礼包；会费收入单列，不从成本中扣除。")],
    )]


# -- CRM attribution and campaigns ----------------------------------------------------------
def crm_sales_section(shop: Shop) -> list[Section]:
    """Sales attributed to CRM touches (CRM 销售额, 销售占比) per month, and each campaign's
    effect against its holdout, when the caller passes touches or campaign reports."""
    from ecrm.analytics import attribute_sales

    w = shop.w
    out: list[Section] = []
    if shop.touches is not None:
        window = Window(shop.month_start - relativedelta(months=12), shop.month_start)
        a = attribute_sales(shop.log, shop.touches, within=shop.attribution_within,
                            window=window)
        series = a.by_month()
        labels = [dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + int(d)).strftime("%Y-%m")
                  for d in series.days]
        rows = [(m, w.money(int(s)), w.money(int(c)), w.share(int(c), int(s)) if s else "-",
                 w.count(int(n)))
                for m, s, c, n in zip(labels, series.sales_fen, series.crm_sales_fen,
                                      series.crm_orders, strict=True)]
        share = a.crm_share
        days = shop.attribution_within.days
        out.append(Section(
            "crm-sales", w("Sales brought by CRM", "CRM 销售额"),
            summary=w(f"Valid orders placed within {days} days after a CRM message or coupon "
                      "reached the customer, credited to the last such touch, over the last "
                      "12 complete months.",
                      f"客户收到 CRM 消息或优惠券后 {days} 天内下的有效订单，归于最后一次触达；"
                      "统计最近 12 个完整月。"),
            metrics=[Metric(w("CRM sales", "CRM 销售额"), w.money(a.crm_sales_fen, short=True)),
                     Metric(w("CRM share of sales", "CRM 销售占比"),
                            "-" if share is None else w.share(float(share), 1)),
                     Metric(w("CRM orders", "CRM 订单数"), w.count(a.crm_orders))],
            charts=[BarChart(w("CRM sales per month", "每月 CRM 销售额"), labels,
                             [int(c) / 100 for c in series.crm_sales_fen],
                             value_kind="money")] if labels else [],
            tables=[Table(w("CRM sales per month", "每月 CRM 销售额"),
                          [w("month", "月份"), w("sales", "销售额"), w("CRM sales", "CRM 销售额"),
                           w("CRM share", "CRM 占比"), w("CRM orders", "CRM 订单数")],
                          rows, [False, True, True, True, True])] if rows else [],
            notes=[w("From ecrm.analytics.attribute_sales (last touch). A touch is a message "
                     "the outbox sent or a coupon granted; an order is credited once.",
                     "数据来自 ecrm.analytics.attribute_sales（最后触达归因）。触达指发件箱已发送的"
                     "消息或已发放的优惠券；每笔订单只归因一次。")],
        ))
    if shop.campaigns:
        campaign_rows: list[tuple[str, ...]] = []
        for c in shop.campaigns:
            ci = c.uplift_interval()
            campaign_rows.append((
                c.campaign_id, w.count(c.n_treated), w.count(c.n_holdout),
                "-" if c.rate_treated is None else w.share(float(c.rate_treated), 1),
                "-" if c.rate_holdout is None else w.share(float(c.rate_holdout), 1),
                "-" if c.uplift is None else f"{float(c.uplift) * 100:+.1f}pt",
                "-" if ci is None else f"{ci[0] * 100:+.1f} … {ci[1] * 100:+.1f}pt",
                w.money(c.cost.fen), "-" if c.roi is None else f"{float(c.roi):.2f}",
            ))
        out.append(Section(
            "campaigns", w("Campaign effect against the holdout", "活动效果（对照组）"),
            summary=w("Each campaign's response rate against its randomly held-out customers: "
                      "the uplift is what the campaign caused, with its 95% interval, its cost "
                      "and its return.",
                      "各活动的响应率与随机留出的对照组相比：提升即活动带来的效果，附 95% 置信区间、"
                      "成本和回报。"),
            tables=[Table(w("Campaigns", "活动"),
                          [w("campaign", "活动"), w("treated", "触达人数"),
                           w("held out", "对照人数"), w("response", "响应率"),
                           w("holdout response", "对照响应率"), w("uplift", "提升"),
                           w("95% interval", "95% 区间"), w("cost", "成本"), "ROI"],
                          campaign_rows,
                          [False, True, True, True, True, True, True, True, True])],
            notes=[w("From ecrm.analytics.campaign_effect; the interval is the normal "
                     "approximation of the difference of two proportions.",
                     "数据来自 ecrm.analytics.campaign_effect；区间为两比例之差的正态近似。")],
        ))
    return out
