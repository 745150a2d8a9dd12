"""``ecrm demo``: the main job on the built-in sample shop, end to end, as a dry run.

Builds the sample shop 小林茶铺, grades it by RFM, evaluates the VIP tiers, estimates the
repurchase cycle and the lifecycle stages, predicts churn risk and CLV, plans tomorrow's care flows and a campaign into
a SQLite outbox, dispatches them through the send policy to a JSON-lines file (a channel
that sends nothing), writes the HTML report, and prints where everything went.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from ecrm._texttable import text_width

__all__ = ["DEMO_FILES", "run_demo"]

#: The files the demo writes into its ``out_dir`` (and replaces on a re-run).
DEMO_FILES = ("rfm_scores.csv", "outbox.sqlite", "messages.jsonl", "report.html")

_CAMPAIGN_ID = "demo-welcome-back"
_SMS_PRICE_FEN = 5  # ¥0.05 per billed segment
# the sample shop's own links (FlowContext has no default link: a real shop passes its own)
SAMPLE_LINK = "m.tb.cn/xlcp"
SAMPLE_CARD_LINK = "m.tb.cn/xlcard"


def _fresh(out_dir: Path) -> dict[str, Path]:
    """The demo's output paths, with the previous run's files removed."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / name for name in DEMO_FILES}
    for path in paths.values():
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
    return paths


def _tiers_text(result: Any) -> str:
    ladder = result.ladder
    names = {0: ladder.store_customer_name, **{t.level: t.name for t in ladder.tiers}}
    counts = result.counts()
    lines = [f"{'level':<6}{'name':<10}{'customers':>11}"]
    for level, n in counts.items():
        name = names[level]
        lines.append(f"{level:<6}{name}{' ' * max(1, 10 - text_width(name))}{n:>11,}")
    lines.append(f"potential members (qualify, not joined): {int(result.potential.sum()):,}")
    return "\n".join(lines)


def _predictions_text(log: Any, as_of: dt.datetime) -> str:
    """Churn risk, next purchase and CLV from BG/NBD + Gamma-Gamma, or why there are none."""
    import warnings

    from ecrm.errors import MissingDependencyError
    from ecrm.predict import FitError, ThinDataWarning, predict_orders

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ThinDataWarning)
        try:
            p = predict_orders(log, as_of=as_of, horizon_days=90)
        except (FitError, MissingDependencyError) as exc:
            return f"\npredictions: none ({exc})"
    lines = [f"\npredictions as of {as_of.date()} ({p.model!r}; {p.spend!r}):", f"  {p!r}"]
    lines += [f"  note: {w.message}" for w in caught]
    risky = (p.risk == "high") & (p.clv_fen > 0)
    if risky.any():
        worth = int(p.clv_fen[risky].sum())
        lines.append(f"  high churn risk with value left: {int(risky.sum()):,} customers, "
                     f"predicted CLV ¥{worth / 100:,.2f} (win-back candidates)")
    if len(p):
        best = int(np.argmax(p.clv_fen))
        lines.append("  the most valuable customer ahead: " + p.explain(p.customer_ids[best]))
    return "\n".join(lines)


def run_demo(out: TextIO, *, n_customers: int, seed: int, out_dir: Path,
             lang: str = "zh") -> int:
    """Run the whole demo; returns the exit status (the HTML report in ``lang``).

    Writes ``DEMO_FILES`` into ``out_dir`` (created if missing; files of an earlier run
    are replaced). Nothing leaves the machine: messages go to ``messages.jsonl`` and the
    sample shop's phone numbers are in the reserved fake block.
    """
    from ecrm import Window
    from ecrm._contact import is_fake_phone
    from ecrm._money import Money
    from ecrm.analytics import backtest, split_audience, standard_flows
    from ecrm.cli._commands import (
        StepProgress,
        charts_text,
        format_grade_table,
        write_text,
    )
    from ecrm.datasets import sample_shop
    from ecrm.errors import InvalidValueError
    from ecrm.lifecycle import cycles_by, format_cycle_report, repurchase_cycle, stages
    from ecrm.report import build_report, plan_day, render_html
    from ecrm.rfm import classic_segments, score
    from ecrm.tiers import TAOBAO_STORE_VIP
    from ecrm.touch import (
        ChannelKind,
        Dispatcher,
        DispatchReport,
        InMemoryOptOutRegistry,
        JsonLinesChannel,
        ManualClock,
        PolicyContext,
        SendPolicy,
        SmsComposer,
        SqliteOutbox,
    )
    from ecrm.touch.flows import FlowContext, broadcast, high_potential_returners

    if isinstance(n_customers, bool) or not isinstance(n_customers, int) or n_customers < 1:
        raise InvalidValueError("--customers", "must be an int >= 1", n_customers)
    started = time.perf_counter()
    paths = _fresh(out_dir)
    shop = sample_shop(n_customers, seed=seed)
    log, customers, as_of = shop.orders, shop.customers, shop.as_of
    print(f"sample shop {shop.store_name}: {log!r}", file=out)

    # -- RFM -------------------------------------------------------------------------
    result = score(log, as_of=as_of, warn_undersized=False)
    print(f"\nRFM as of {as_of.isoformat()} ({result.scheme.name})\n", file=out)
    print(format_grade_table(result), file=out)
    if result.undersized:
        print(
            f"\nnote: {len(result):,} scored customers is fewer than the "
            f"{result.scheme.min_customers:,} the scheme was made for; tune it to the shop "
            "(see docs/rfm.md, quantile_scheme).",
            file=out,
        )
    print("\nRFM segments (high = above the mean score):", file=out)
    print(classic_segments(result).format_table(), file=out)
    if len(result):
        top = max(result.rows(), key=lambda r: (r.total, r.monetary.fen, str(r.customer_id)))
        print("\nwhy the best customer is graded as they are:", file=out)
        print(result.explain(top.customer_id), file=out)
    result.to_csv(paths["rfm_scores.csv"])

    # -- tiers, cycle, stages --------------------------------------------------------
    tiers = TAOBAO_STORE_VIP.evaluate_log(log, as_of=as_of, opted_in=customers)
    print(f"\nstore VIP tiers as of {as_of.date()} (membership from the customer table):",
          file=out)
    print(_tiers_text(tiers), file=out)
    cycle = repurchase_cycle(log, as_of=as_of)
    st = stages(log, as_of=as_of, cycle=cycle, customers=customers.customer_ids) \
        if cycle.has_bands else None
    print("", file=out)
    print(format_cycle_report(cycle, st), file=out)
    print(_predictions_text(log, as_of), file=out)

    # -- plan tomorrow's touches into the outbox ------------------------------------------
    day = plan_day(as_of)
    zone = as_of.tzinfo
    assert zone is not None
    day_start = dt.datetime.combine(day, dt.time(0), zone)
    ctx = FlowContext(SmsComposer(f"【{shop.store_name}】"), customers=customers, tz=shop.tz,
                      link=SAMPLE_LINK, member_card_link=SAMPLE_CARD_LINK)
    cycles = cycles_by(log, by="category", as_of=as_of) if cycle.has_bands else None
    flows = standard_flows(log, ctx=ctx, cycles=cycles)
    registry = InMemoryOptOutRegistry(
        (p, ChannelKind.SMS) for p in customers.phones[~customers.marketing_opt_in].tolist() if p)
    members = frozenset(customers.customer_ids[customers.members(day_start)].tolist())
    blocked = frozenset(customers.customer_ids[customers.blocked].tolist())
    context = PolicyContext(opt_outs=registry, blocked=blocked, members=members)
    price = Money(_SMS_PRICE_FEN)
    with SqliteOutbox(paths["outbox.sqlite"]) as outbox:
        plan = backtest(flows, window=Window.of_dates(day, day + dt.timedelta(days=1), zone),
                        context=context, tz=zone, price_per_segment=price, outbox=outbox)
        audience = high_potential_returners(log, as_of=as_of)
        treated, holdout = split_audience(_CAMPAIGN_ID, audience, holdout_share=0.1)
        window = Window(day_start.replace(hour=18), day_start.replace(hour=20))
        campaign = broadcast(treated, campaign_id=_CAMPAIGN_ID, window=window, ctx=ctx,
                             created_at=as_of)
        outbox.enqueue_many(campaign)
        n_planned = len(outbox)
        unsafe = [m.key for m in campaign if m.recipient.phone
                  and not is_fake_phone(m.recipient.phone)]
        if unsafe:  # the sample shop only has fake numbers; refuse anything else
            raise InvalidValueError("recipients", "must be fake sample numbers in the demo",
                                    unsafe[:3])

        # -- dispatch through the policy to the file channel, half-hour by half-hour ---
        clock = ManualClock(day_start)
        dispatcher = Dispatcher(outbox, JsonLinesChannel(paths["messages.jsonl"]), clock=clock,
                                policy=SendPolicy(store_tz=shop.tz), context=context,
                                batch_size=200)
        sent = DispatchReport()
        for step in range(49):
            clock.set(day_start + dt.timedelta(minutes=30 * step))
            sent = sent + dispatcher.run_once()
        states = ", ".join(f"{v:,} {k.value}" for k, v in outbox.counts().items() if v)

    print(f"\ntouches planned for {day.isoformat()} (dry run, policy decides, "
          f"SMS at {price}/segment):", file=out)
    print(plan.table(), file=out)
    print(f"\ncampaign {_CAMPAIGN_ID}: {len(audience):,} high-potential returning customers, "
          f"{len(treated):,} targeted 18:00-20:00, {len(holdout):,} held out to measure the "
          "effect", file=out)
    print(f"outbox: {n_planned:,} messages; dispatched through the send policy: "
          f"{sent.sent:,} written, {sent.skipped:,} skipped, {sent.deferred:,} deferred; "
          f"final states: {states or 'none'}", file=out)

    # -- the report ------------------------------------------------------------------
    progress = StepProgress("building the report", extra_steps=1)
    try:
        report = build_report(log, as_of=as_of, customers=customers, events=shop.events,
                              store_name=shop.store_name, source="sample shop",
                              sms_price=price, lang=lang, progress=progress)
        progress.step("drawing charts")
        page = render_html(report)
    finally:
        progress.done()
    write_text(paths["report.html"], page)

    print("\nwrote:", file=out)
    print(f"  {paths['rfm_scores.csv']}  per-customer RFM scores ({len(result):,} rows)",
          file=out)
    print(f"  {paths['outbox.sqlite']}  SQLite outbox ({n_planned:,} messages)", file=out)
    print(f"  {paths['messages.jsonl']}  the dry-run channel ({sent.sent:,} messages, "
          "phones masked; nothing was sent)", file=out)
    print(f"  {paths['report.html']}  the HTML report ({len(page.encode('utf-8')):,} bytes, "
          f"{charts_text(len(report.charts))}; open it in a browser)", file=out)
    print(f"done in {time.perf_counter() - started:.1f} s", file=out)
    return 0
