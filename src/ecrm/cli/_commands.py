"""The ``ecrm`` sub-commands. Each ``_add_*`` registers one sub-command and its handler."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any, TextIO

from ecrm.cli._main import TerminalProgress, parse_as_of

__all__ = ["REGISTRY", "format_grade_table"]


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


def _load_orders(path: str, tz: str | None) -> Any:
    from ecrm._orderlog import OrderLog

    progress = TerminalProgress(f"reading {path}")
    try:
        return OrderLog.from_csv(path, tz=tz, progress=progress)
    finally:
        progress.done()


def _rfm(args: argparse.Namespace, out: TextIO) -> int:
    from ecrm.rfm import UndersizedShopWarning, score, segments

    as_of = parse_as_of(args.as_of, args.tz)
    log = _load_orders(args.file, args.tz)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UndersizedShopWarning)
        result = score(log, as_of=as_of)
    print(f"{log!r}", file=out)
    print(f"RFM as of {as_of.isoformat()} with scheme {result.scheme.name}\n", file=out)
    print(format_grade_table(result), file=out)
    for w in caught:
        print(f"\nnote: {w.message}", file=out)
    print("\nRFM segments (high = above the mean score):", file=out)
    print(segments(result).format_table(), file=out)
    if args.out:
        result.to_csv(args.out)
        print(f"\nwrote per-customer scores to {args.out}", file=out)
    return 0


def _add_rfm(sub: Any) -> None:
    p = sub.add_parser(
        "rfm",
        help="grade the customers of an orders CSV by RFM (P/G/S/B)",
        description="Score every customer of FILE by RFM with the Taobao P/G/S/B scheme.",
    )
    p.add_argument("file", metavar="FILE.csv", help="orders CSV (see docs/loading.md for columns)")
    p.add_argument("--as-of", required=True, metavar="DATE", help="score as of this date/datetime")
    p.add_argument("--tz", default=None, metavar="ZONE", help="store time zone (default Asia/Shanghai)")
    p.add_argument("--out", default=None, metavar="scores.csv", help="write per-customer scores here")
    p.set_defaults(handler=_rfm)


def _demo(args: argparse.Namespace, out: TextIO) -> int:
    from ecrm.cli._demo import run_demo

    return run_demo(out, n_customers=args.customers, seed=args.seed, out_dir=Path(args.out_dir))


def _add_demo(sub: Any) -> None:
    p = sub.add_parser(
        "demo",
        help="run ecrm end to end on the built-in sample shop",
        description="Build the sample shop 小林茶铺, grade its customers and print what was found.",
    )
    p.add_argument("--customers", type=int, default=5_000, help="sample shop size (default 5000)")
    p.add_argument("--seed", type=int, default=0, help="sample shop seed (default 0)")
    p.add_argument("--out-dir", default="ecrm-demo", help="where the demo writes its files")
    p.set_defaults(handler=_demo)


REGISTRY = [_add_demo, _add_rfm]
