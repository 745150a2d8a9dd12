"""The ``ecrm`` sub-commands. Each ``_add_*`` registers one sub-command and its handler."""

from __future__ import annotations

import argparse
import decimal
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from ecrm._progress import ProgressUpdate
from ecrm.cli._loading import (
    add_loading_arguments,
    load_customers_from_args,
    load_events_from_args,
    load_orders_from_args,
)
from ecrm.cli._main import TerminalProgress, UsageError, parse_as_of
from ecrm.cli._scale import add_scale_arguments

__all__ = ["REGISTRY", "StepProgress", "format_grade_table"]


class StepProgress:
    """``[3/9] membership tiers`` on one stderr line while a report is built (TTY only).

    Pass it as ``progress=`` to :func:`ecrm.report.build_report`; ``extra_steps`` counts
    the caller's own steps after it (shown with :meth:`step`); :meth:`done` ends the line.
    """

    def __init__(self, label: str, stream: TextIO | None = None, *, extra_steps: int = 0) -> None:
        self._terminal = TerminalProgress(label, stream)
        self.enabled = self._terminal.enabled
        self._extra = extra_steps
        self._total = extra_steps
        self._shown = 0

    def __call__(self, update: ProgressUpdate) -> None:
        self._total = update.total + self._extra
        if update.done < update.total:  # build_report's last call only says it finished
            self.step(update.step)

    def step(self, label: str) -> None:
        """Show the next step."""
        self._shown += 1
        if not self.enabled:
            return
        stream = self._terminal.stream
        # \x1b[K clears the rest of the line left by a longer previous label
        stream.write(f"\r{self._terminal.label}: [{self._shown}/{max(self._total, self._shown)}]"
                     f" {label}\x1b[K")
        stream.flush()

    def done(self) -> None:
        if self._shown and self.enabled:
            self._terminal.done()
        self._shown = 0


def format_grade_table(result: Any) -> str:
    """The P/G/S/B counts and shares of an :class:`ecrm.rfm.RfmResult` as aligned text."""
    counts = result.grade_counts()
    scored = len(result)
    lines = [f"{'grade':<6}{'':<10}{'customers':>11}{'share':>8}"]
    for grade, n in counts.items():
        share = n / scored if scored else 0.0
        lines.append(f"{grade.value:<6}{grade.zh}{' ' * (10 - 2 * len(grade.zh))}{n:>11,}{share:>8.1%}")
    lines.append(f"{'scored':<16}{scored:>11,}")
    lines.append(f"{'unscored':<16}{len(result.unscored_customer_ids):>11,}  (no valid order in the window)")
    return "\n".join(lines)


def _rfm(args: argparse.Namespace, out: TextIO) -> int:
    from ecrm.cli._output import check_out, json_text
    from ecrm.rfm import UndersizedShopWarning, classic_segments, score

    as_of = parse_as_of(args.as_of, args.tz)
    if args.json and args.out == "-":
        raise UsageError("--json and --out - both write to stdout; give --out a file name")
    if args.include_unscored and not (args.json or args.out):
        raise UsageError("--include-unscored needs --out or --json (the text report counts them)")
    if args.out:
        check_out(args.out)
    from ecrm.cli._scale import resolve_inputs, score_scaled, wants_scale

    scaled = wants_scale(args, resolve_inputs(args.file))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UndersizedShopWarning)
        if scaled:
            result, source = score_scaled(args, as_of)
        else:
            log = load_orders_from_args(args)
            source = repr(log)
            result = score(log, as_of=as_of)
    notes = [str(w.message) for w in caught]
    if args.json:
        counts = result.grade_counts()
        out.write(json_text({
            "command": "rfm",
            "as_of": as_of,
            "scheme": result.scheme.name,
            "scored": len(result),
            "unscored": len(result.unscored_customer_ids),
            "grades": {g.value: n for g, n in counts.items()},
            "notes": notes,
            "rows": result.to_dicts(include_unscored=args.include_unscored),
        }))
    elif args.out != "-":
        print(source, file=out)
        print(f"RFM as of {as_of.isoformat()} with scheme {result.scheme.name}\n", file=out)
        print(format_grade_table(result), file=out)
        for note in notes:
            print(f"\nnote: {note}", file=out)
        print("\nRFM segments (high = above the mean score):", file=out)
        print(classic_segments(result).format_table(), file=out)
    else:
        for note in notes:
            print(f"ecrm rfm: note: {note}", file=sys.stderr)
    if args.out == "-":
        result.to_csv(out, include_unscored=args.include_unscored)
    elif args.out and args.out.lower().endswith((".parquet", ".pq")):
        from ecrm.scale import write_parquet

        write_parquet(result, args.out)  # unscored customers included, with null scores
        where = f"wrote per-customer scores to {args.out}"
        print(f"ecrm rfm: {where}" if args.json else f"\n{where}",
              file=sys.stderr if args.json else out)
    elif args.out:
        target = Path(args.out)
        tmp = target.with_name(f".{target.name}.tmp")  # a failure leaves no half file
        try:
            result.to_csv(tmp, include_unscored=args.include_unscored)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        # Where the file went goes to stderr when stdout carries JSON.
        if args.json:
            print(f"ecrm rfm: wrote per-customer scores to {args.out}", file=sys.stderr)
        else:
            print(f"\nwrote per-customer scores to {args.out}", file=out)
    return 0


def _add_rfm(sub: Any) -> None:
    p = sub.add_parser(
        "rfm",
        help="grade the customers of an orders CSV by RFM (P/G/S/B)",
        description="Score every customer of FILE by RFM with the Taobao P/G/S/B scheme.",
    )
    p.add_argument("--as-of", required=True, metavar="DATE", help="score as of this date/datetime")
    add_loading_arguments(p, scaled=True)
    p.add_argument("--out", default=None, metavar="scores.csv",
                   help="write per-customer scores here as CSV ('-' = stdout, instead of the "
                        "report); a name ending .parquet writes Parquet (unscored included)")
    p.add_argument("--json", action="store_true",
                   help="print the grades and per-customer scores as JSON instead of the report")
    p.add_argument("--include-unscored", action="store_true",
                   help="also write customers without a valid order in the window (empty scores)")
    add_scale_arguments(p)
    p.set_defaults(handler=_rfm)


def _check_output(path: str, option: str) -> Path:
    """Refuse an output path whose directory is missing before any long work starts."""
    from ecrm.errors import InvalidValueError

    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise InvalidValueError(option, "must name a file, not a directory", path)
    if not parent.is_dir():
        raise InvalidValueError(option, "must be in an existing directory", path)
    return target


def _sms_price(text: str) -> Any:
    from ecrm._money import Money

    try:
        price = Money.from_decimal(text)
    except (ValueError, TypeError, decimal.InvalidOperation):
        raise UsageError(f"--sms-price must be an amount in yuan like 0.05, got {text!r}") from None
    if price.fen < 0:
        raise UsageError(f"--sms-price must not be negative, got {text!r}")
    return price


def _report(args: argparse.Namespace, out: TextIO) -> int:
    from ecrm.report import build_report, render_html

    as_of = parse_as_of(args.as_of, args.tz)
    target = _check_output(args.output, "-o")
    price = _sms_price(args.sms_price)
    log = load_orders_from_args(args)
    customers = load_customers_from_args(args.customers, args)
    events = load_events_from_args(args.events, args)
    tickets = None
    if args.tickets is not None:
        from ecrm.service import tickets_from_csv

        tickets = tickets_from_csv(args.tickets, tz=args.tz)
    progress = StepProgress("building the report", extra_steps=1)
    try:
        report = build_report(
            log, as_of=as_of, customers=customers, events=events, cycle_method=args.method,
            store_name=args.store_name, source=Path(args.file).name, sms_price=price,
            lang=args.lang, tickets=tickets, progress=progress,
        )
        progress.step("drawing charts")
        page = render_html(report)
    finally:
        progress.done()
    write_text(target, page)
    print(f"wrote {target} ({len(page.encode('utf-8')):,} bytes, {len(report.sections)} "
          f"sections, {charts_text(len(report.charts))}) for {log!r}", file=out)
    return 0


def charts_text(n: int) -> str:
    """``"7 charts"`` (ecrm draws them itself: every install has them)."""
    return f"{n} charts"


def write_text(target: Path, text: str) -> None:
    """Write ``text`` as UTF-8 through a temporary file, so a failure leaves no half file."""
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)


def _add_report(sub: Any) -> None:
    p = sub.add_parser(
        "report",
        help="write the shop report as one self-contained HTML file",
        description="Build the CRM report of FILE as of DATE: headline numbers, P/G/S/B "
        "grades, RFM segments, the repurchase cycle, lifecycle stages, tiers, provinces, "
        "products and tomorrow's planned touches, as one HTML file that works offline.",
    )
    p.add_argument("--as-of", required=True, metavar="DATE", help="report as of this date/datetime")
    p.add_argument("-o", "--output", required=True, metavar="report.html", help="the HTML file to write")
    add_loading_arguments(p)
    p.add_argument("--customers", default=None, metavar="customers.csv",
                   help="customer profiles: membership (opt-in), phones, opt-outs, block list")
    p.add_argument("--events", default=None, metavar="events.csv",
                   help="browse / cart / favourite events (customers without orders)")
    p.add_argument("--method", choices=("observed", "kaplan-meier"), default="observed",
                   help="repurchase-cycle estimate (default observed)")
    p.add_argument("--store-name", default="", metavar="NAME", help="shop name (SMS signature, title)")
    p.add_argument("--sms-price", default="0.05", metavar="YUAN",
                   help="price of one billed SMS segment in yuan (default 0.05)")
    p.add_argument("--tickets", default=None, metavar="tickets.csv",
                   help="after-sales tickets (ecrm service columns): adds the service section")
    p.add_argument("--lang", choices=("zh", "en"), default=None,
                   help="language of the report: zh (中文, 万/亿) or en; default zh for a CNY "
                   "shop, else en")
    p.set_defaults(handler=_report)


def _cycle(args: argparse.Namespace, out: TextIO) -> int:
    from ecrm.lifecycle import format_cycle_report, repurchase_cycle, stages

    as_of = parse_as_of(args.as_of, args.tz)
    from ecrm.cli._scale import scaled_or_none, scaled_run

    inputs = scaled_or_none(args)
    if inputs is None:
        log = load_orders_from_args(args)
        source = repr(log)
        cycle = repurchase_cycle(log, as_of=as_of, method=args.method)
        st = stages(log, as_of=as_of, cycle=cycle) if cycle.has_bands else None
    else:
        from ecrm.scale import cycle_from_summary, stages_from_summary

        with scaled_run(args, inputs) as run:
            summary = run.summary(as_of=as_of)
        source = run.say(summary)
        cycle = cycle_from_summary(summary, method=args.method)
        st = stages_from_summary(summary, cycle=cycle) if cycle.has_bands else None
    if args.json:
        from ecrm.cli._output import json_text

        out.write(json_text({
            "command": "cycle",
            "as_of": as_of,
            "cycle": cycle.to_dict(),
            "stages": None if st is None else {s.value: n for s, n in st.counts.items()},
        }))
    else:
        print(source, file=out)
        print(format_cycle_report(cycle, st), file=out)
    if args.plot:
        _save_cycle_plot(cycle, Path(args.plot))
        print(f"\nsaved the repurchase curve to {args.plot}", file=sys.stderr if args.json else out)
    return 0


def _save_cycle_plot(cycle: Any, path: Path) -> None:
    from ecrm.lifecycle import plot_repurchase_curve

    if not path.parent.is_dir():
        raise UsageError(f"--plot: the folder {str(path.parent)!r} does not exist")
    fig = plot_repurchase_curve(cycle)  # MissingDependencyError names the plot extra
    import matplotlib.pyplot as plt

    try:
        fig.savefig(path, dpi=120)
    finally:
        plt.close(fig)


def _add_cycle(sub: Any) -> None:
    p = sub.add_parser(
        "cycle",
        help="estimate the repurchase cycle (5221 bands) and count lifecycle stages",
        description="Estimate P50 / P70 / P90 of the first-repurchase interval of FILE and "
        "count the customers in each lifecycle stage as of DATE. FILE may be a Parquet "
        "file, directory or glob, read in batches or with --engine dask (docs/scale.md).",
    )
    p.add_argument("--as-of", required=True, metavar="DATE", help="as of this date/datetime")
    add_loading_arguments(p, scaled=True)
    p.add_argument("--method", choices=("observed", "kaplan-meier"), default="observed",
                   help="observed intervals, or Kaplan-Meier with censoring (default observed)")
    p.add_argument("--json", action="store_true",
                   help="print the cycle (with its curve) and the stage counts as JSON")
    p.add_argument("--plot", default=None, metavar="curve.png",
                   help="also save the repurchase curve with the 5221 boundaries (needs ecrm[plot])")
    add_scale_arguments(p)
    p.set_defaults(handler=_cycle)


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    from ecrm.cli._demo import run_demo

    return run_demo(out, n_customers=args.customers, seed=args.seed, out_dir=Path(args.out_dir),
                    lang=args.lang)


def _add_demo(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="run ecrm end to end on the built-in sample shop",
        description="Build the sample shop 小林茶铺, grade its customers and print what was found.",
    )
    p.add_argument("--customers", type=int, default=5_000, help="sample shop size (default 5000)")
    p.add_argument("--seed", type=int, default=0, help="sample shop seed (default 0)")
    p.add_argument("--out-dir", default="ecrm-demo", help="where the demo writes its files")
    p.add_argument("--lang", choices=("zh", "en"), default="zh",
                   help="language of the HTML report (default zh: 中文)")
    p.set_defaults(handler=_demo)


REGISTRY: list[Callable[[Any], None]] = [_add_cycle, _add_demo, _add_report, _add_rfm]
