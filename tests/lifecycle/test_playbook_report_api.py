"""The default playbook as data, the printable report, the plot, and the public surface."""

from __future__ import annotations

import sys

import pytest
from lifecycle_helpers import day, histories

import ecrm.lifecycle
from ecrm import InvalidValueError, MissingDependencyError
from ecrm.lifecycle import (
    DEFAULT_PLAYBOOK,
    Playbook,
    PlaybookRule,
    Stage,
    Trigger,
    format_cycle_report,
    plot_repurchase_curve,
    repurchase_cycle,
    stages,
)

AS_OF = day(100)


def test_default_playbook_holds_the_design_numbers() -> None:
    pb = DEFAULT_PLAYBOOK
    assert [r.key for r in pb.for_trigger(Trigger.FIRST_ORDER_SHIPPED)] == [
        "usage_tutorial", "first_order_coupon", "satisfaction_follow_up"]
    assert pb["satisfaction_follow_up"].offset_days == 3
    assert pb["usage_tutorial"].offset_days == 0
    active = [r.key for r in pb.for_stage(Stage.ACTIVE)]
    assert active == ["related_products", "member_day_reminder"]
    assert pb["churn_warning"].offset_days == 15
    assert pb["returning_discount"].offset_days == 30
    assert pb["points_exchange"].offset_days == 30
    win = pb["win_back"]
    assert (win.trigger, win.valid_days, win.offer, win.label_zh, win.stage) == (
        Trigger.CHURNED, 30, "满100返50", "好久不见", Stage.CHURNED)
    assert len(pb) == 9
    with pytest.raises(KeyError):
        pb["nope"]


def test_playbook_validation() -> None:
    rule = PlaybookRule("x", Trigger.STAGE, 0, "do x", "做x")
    with pytest.raises(InvalidValueError, match="must be unique"):
        Playbook([rule, rule])
    with pytest.raises(InvalidValueError, match="offset_days must be >= 0"):
        PlaybookRule("y", Trigger.STAGE, -1, "do y", "做y")
    with pytest.raises(TypeError):
        PlaybookRule("y", "stage", 1, "do y", "做y")  # type: ignore[arg-type]
    assert Playbook((rule,)).rules == (rule,)


def test_stage_labels() -> None:
    assert [s.label_zh for s in Stage] == ["潜客", "新客", "活跃", "沉默", "睡眠", "流失"]
    assert [s.code for s in Stage] == list(range(6))


def test_report_text() -> None:
    log = histories({"a": [0, 10], "b": [0, 20], "c": [85], "d": [99]})
    cycle = repurchase_cycle(log, as_of=AS_OF, min_repurchasers=30)
    text = format_cycle_report(cycle, stages(log, as_of=AS_OF, cycle=cycle))
    lines = text.splitlines()
    assert lines[0] == ("Repurchase cycle as of 2024-04-10T12:00:00+08:00 "
                        "(method observed, same day merge, scope store)")
    assert lines[1] == "first-time buyers: 4   repurchasers: 2   repurchase rate: 50.0%"
    assert lines[2] == "5221 bands: P50 = 10 days, P70 = 20 days, P90 = 20 days"
    assert lines[3].startswith("note: only 2 repurchaser(s) (< 30)")
    assert lines[4] == "stages of 4 customers:"
    assert lines[5].split() == ["PROSPECT", "潜客", "0", "0.0%"]
    assert lines[6].split() == ["NEW", "新客", "1", "25.0%"]  # d, 1 day ago
    assert lines[8].split() == ["SILENT", "沉默", "1", "25.0%"]  # c, 15 days ago
    assert lines[10].split() == ["CHURNED", "流失", "2", "50.0%"]
    none = format_cycle_report(repurchase_cycle(histories({"a": [1]}), as_of=AS_OF))
    assert "5221 bands: none" in none


def test_plot_returns_a_figure() -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cycle = repurchase_cycle(histories({f"c{i}": [0, i] for i in range(1, 11)}), as_of=AS_OF,
                             min_repurchasers=1)
    fig = plot_repurchase_curve(cycle)
    ax = fig.axes[0]
    assert [round(line.get_xdata()[0]) for line in ax.lines[1::2]] == [5, 7, 9]
    fig2, ax2 = plt.subplots()
    assert plot_repurchase_curve(cycle, ax=ax2) is fig2
    plt.close("all")


def test_plot_draws_the_curve_and_the_5221_boundaries() -> None:
    """The step curve is the cumulative share (intervals 1..10: i/10 at day i); a dashed
    vertical line at each of P50/P70/P90 = 5/7/9 days meets the dotted 0.5/0.7/0.9 share."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log = histories({f"c{i}": [0, i] for i in range(1, 11)} | {"x": [50]})
    for method in ("observed", "kaplan-meier"):
        cycle = repurchase_cycle(log, as_of=AS_OF, method=method,  # type: ignore[arg-type]
                                 min_repurchasers=1)
        ax = plot_repurchase_curve(cycle).axes[0]
        curve, *bounds = ax.lines
        assert list(curve.get_xdata()) == list(range(1, 11))
        assert list(curve.get_ydata()) == pytest.approx([i / 10 for i in range(1, 11)])
        assert curve.get_drawstyle() == "steps-post"
        vertical, horizontal = bounds[0::2], bounds[1::2]
        assert [tuple(v.get_xdata()) for v in vertical] == [(5, 5), (7, 7), (9, 9)]
        assert [v.get_linestyle() for v in vertical] == ["--"] * 3
        assert [tuple(h.get_ydata()) for h in horizontal] == [(0.5, 0.5), (0.7, 0.7), (0.9, 0.9)]
        assert [t.get_text() for t in ax.texts] == ["P50=5d", "P70=7d", "P90=9d"]
        assert ax.get_legend().get_texts()[0].get_text() == f"{method} (store)"
        assert ax.get_title() == "Repurchase curve as of 2024-04-10"
    # A fallback answered: the lines are the fallback's boundaries, the curve the shop's own.
    thin = repurchase_cycle(log, as_of=AS_OF, min_repurchasers=50, fallback=(20, 30, 45))
    ax = plot_repurchase_curve(thin).axes[0]
    assert [tuple(v.get_xdata()) for v in ax.lines[1::2]] == [(20, 20), (30, 30), (45, 45)]
    assert len(ax.lines[0].get_xdata()) == 10
    # Nobody repurchased, no fallback: an empty plot, no curve and no boundaries.
    empty = plot_repurchase_curve(repurchase_cycle(histories({"a": [1]}), as_of=AS_OF))
    assert (len(empty.axes[0].lines), empty.axes[0].get_legend()) == (0, None)
    plt.close("all")


def test_plot_without_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    cycle = repurchase_cycle(histories({"a": [0, 3]}), as_of=AS_OF, min_repurchasers=1)
    with pytest.raises(MissingDependencyError, match=r"ecrm\[plot\]"):
        plot_repurchase_curve(cycle)


def test_public_surface_is_exactly_all() -> None:
    public = {n for n in dir(ecrm.lifecycle) if not n.startswith("_")}
    assert set(ecrm.lifecycle.__all__) == public


def test_types_are_registered_with_hypothesis() -> None:
    from hypothesis import find
    from hypothesis import strategies as st

    from ecrm.lifecycle import Bands, RepurchaseCycle

    b = find(st.from_type(Bands), lambda b: b.p90_days > b.p50_days)
    assert b.p50_days <= b.p70_days <= b.p90_days
    c = find(st.from_type(RepurchaseCycle), lambda c: c.has_bands)
    assert c.bands.p50_days <= c.bands.p90_days
