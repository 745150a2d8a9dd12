"""Printable text and a matplotlib plot of a repurchase cycle (for ``ecrm cycle``)."""

from __future__ import annotations

from typing import Any

from ecrm import _validators as _v
from ecrm.errors import MissingDependencyError
from ecrm.lifecycle._cycle import RepurchaseCycle
from ecrm.lifecycle._stages import Stage, StageResult

__all__ = ["format_cycle_report", "plot_repurchase_curve"]


def format_cycle_report(cycle: RepurchaseCycle, stages: StageResult | None = None) -> str:
    """The text ``ecrm cycle`` prints: boundaries, repurchase rate and stage counts.

    Args:
        cycle: the store's cycle.
        stages: optional stages at the same date, for the counts per stage.

    Raises:
        InvalidTypeError: ``cycle`` is not a RepurchaseCycle, ``stages`` not a StageResult.
    """
    _v.check_instance("cycle", cycle, RepurchaseCycle)
    if stages is not None:
        _v.check_instance("stages", stages, StageResult)
    lines = [
        f"Repurchase cycle as of {cycle.as_of.isoformat()} "
        f"(method {cycle.method}, same day {cycle.same_day}, scope {cycle.scope})",
        f"first-time buyers: {cycle.n_first_time_buyers:,}   repurchasers: "
        f"{cycle.n_repurchasers:,}   repurchase rate: {cycle.repurchase_rate:.1%}",
    ]
    if cycle.has_bands:
        lines.append(
            f"5221 bands: P50 = {cycle.p50_days} days, P70 = {cycle.p70_days} days, "
            f"P90 = {cycle.p90_days} days"
        )
    else:
        lines.append("5221 bands: none (no customer repurchased and no fallback was given)")
    if cycle.n_repurchasers < cycle.min_repurchasers:
        own = "none" if cycle.estimate is None else "P50/P70/P90 = {}/{}/{}".format(
            *cycle.estimate.as_tuple()
        )
        lines.append(
            f"note: only {cycle.n_repurchasers} repurchaser(s) (< {cycle.min_repurchasers}); "
            f"own estimate: {own}"
        )
    if stages is not None:
        counts = stages.counts
        total = sum(counts.values())
        lines.append(f"stages of {total:,} customers:")
        width = max(len(s.name) for s in Stage)
        for s in Stage:
            share = counts[s] / total if total else 0.0
            lines.append(f"  {s.name.ljust(width)} {s.label_zh}  {counts[s]:>10,}  {share:6.1%}")
    return "\n".join(lines)


def plot_repurchase_curve(cycle: RepurchaseCycle, ax: Any = None) -> Any:
    """Plot the cumulative repurchase curve with the P50 / P70 / P90 boundaries.

    Args:
        cycle: a cycle with a curve (store cycles have one).
        ax: a matplotlib Axes to draw on; a new figure is made when ``None``.

    Returns:
        The matplotlib ``Figure``.

    Raises:
        MissingDependencyError: matplotlib (the ``plot`` extra) is not installed.
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingDependencyError.for_extra(
            "matplotlib", "plot", "plotting the repurchase curve"
        ) from exc
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4))
    else:
        fig = ax.figure
    days, share = cycle.curve
    if len(days):
        ax.step(days, share, where="post", label=f"{cycle.method} ({cycle.scope})")
    if cycle.has_bands:
        for q, d in zip((0.5, 0.7, 0.9), (cycle.p50_days, cycle.p70_days, cycle.p90_days),
                        strict=True):
            ax.axvline(d, linestyle="--", linewidth=0.8, color="grey")
            ax.axhline(q, linestyle=":", linewidth=0.6, color="grey")
            ax.annotate(f"P{int(q * 100)}={d}d", (d, q), textcoords="offset points",
                        xytext=(4, -12), fontsize=8)
    ax.set_xlabel("days from first purchase to first repurchase")
    ax.set_ylabel("share of repurchasers")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Repurchase curve as of {cycle.as_of.date()}")
    if len(days):
        ax.legend(loc="lower right")
    return fig
