"""ecrm.report._svg: the inline-SVG charts, parsed back with xml.etree and checked against
hand-computed geometry (ticks, bar heights and positions, stacks, lines, the funnel and
the 5221 curve), plus the rules every chart keeps (a title on every mark, no "-0", text
as text, long labels shortened with the full text kept)."""

from __future__ import annotations

import itertools
import math
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecrm.report._numbers import compact
from ecrm.report._svg import (
    MAX_LABEL_PX,
    RIGHT,
    TOP,
    WIDTH,
    bars,
    curve,
    funnel,
    lines,
    nice_ticks,
    stacked_bars,
    text_width,
)

NS = "{http://www.w3.org/2000/svg}"


def zh(v: float) -> str:
    return compact(v, "zh")


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def marks(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(NS + tag) if e.get("class") == cls]


def texts(root: ET.Element, cls: str) -> list[str]:
    return [(e.text or "") if e.find(NS + "title") is None else (e.find(NS + "title").tail or "")  # type: ignore[union-attr]
            for e in marks(root, "text", cls)]


def f(e: ET.Element, name: str) -> float:
    return float(e.get(name) or "nan")


def grid_y(root: ET.Element) -> dict[str, float]:
    """tick label → y of its grid line (the label sits 4 px below the line)."""
    return {t: f(e, "y") - 4 for t, e in zip(texts(root, "tick"), marks(root, "text", "tick"),
                                             strict=True)}


# -- ticks ------------------------------------------------------------------------------
@pytest.mark.parametrize(("lo", "hi", "integer", "expected"), [
    (0, 35, False, [0, 10, 20, 30, 40]),       # step 10: 0..40 in 5 ticks
    (0, 0, True, [0, 1]),                       # all zero: a 0..1 axis, not -0 -0 -0
    (0, 0, False, [0, 0.2, 0.4, 0.6, 0.8, 1]),
    (0, 3, True, [0, 1, 2, 3]),                 # counts: whole steps only
    (0, 23_570, True, [0, 5000, 10_000, 15_000, 20_000, 25_000]),
    (-3, 7, False, [-5, -2.5, 0, 2.5, 5, 7.5]),
    (0, 0.3, False, [0, 0.1, 0.2, 0.3]),
    (5, 5, False, [5, 5.2, 5.4, 5.6, 5.8, 6]),
])
def test_nice_ticks_by_hand(lo: float, hi: float, integer: bool, expected: list[float]) -> None:
    ticks = nice_ticks(lo, hi, integer=integer)
    assert ticks == pytest.approx(expected)
    assert all(not (t == 0 and math.copysign(1, t) < 0) for t in ticks)  # no -0.0


@given(st.floats(-1e9, 1e9), st.floats(-1e9, 1e9), st.booleans())
def test_ticks_cover_the_range_evenly(a: float, b: float, integer: bool) -> None:
    ticks = nice_ticks(a, b, integer=integer)
    lo, hi = min(a, b), max(a, b)
    slack = 1e-6 * (ticks[-1] - ticks[0])  # float noise, far below a pixel
    assert ticks[0] <= lo + slack
    assert ticks[-1] >= hi - slack
    assert 2 <= len(ticks) <= 6
    steps = [q - p for p, q in itertools.pairwise(ticks)]
    assert all(math.isclose(s, steps[0], rel_tol=1e-6) for s in steps)  # one step size
    if lo <= 0 <= hi:
        assert 0 in ticks
    if integer:
        assert all(float(t).is_integer() for t in ticks)


# -- bars -------------------------------------------------------------------------------
def test_vertical_bar_heights_and_positions_by_hand() -> None:
    root = parse(bars("t", ["a", "b", "c"], [10, 20, 35], zh))
    grid = grid_y(root)
    assert list(grid) == ["0", "10", "20", "30", "40"]
    zero, top = grid["0"], grid["40"]
    assert top == pytest.approx(TOP)
    length = zero - top
    rects = marks(root, "rect", "bar")
    assert len(rects) == 3
    for rect, v in zip(rects, [10, 20, 35], strict=True):
        # a bar stands on the zero line and is v / 40 of the axis high
        assert f(rect, "height") == pytest.approx(v / 40 * length, abs=0.02)
        assert f(rect, "y") + f(rect, "height") == pytest.approx(zero, abs=0.02)
    # equal slots across the plot: the bar centres are evenly spaced, 0.7 of a slot wide
    centres = [f(r, "x") + f(r, "width") / 2 for r in rects]
    slot = centres[1] - centres[0]
    assert centres[2] - centres[1] == pytest.approx(slot, abs=0.02)
    assert f(rects[0], "width") == pytest.approx(0.7 * slot, abs=0.02)
    assert centres[2] + slot / 2 == pytest.approx(WIDTH - RIGHT, abs=0.02)
    assert [r.find(NS + "title").text for r in rects] == ["a: 10", "b: 20", "c: 35"]  # type: ignore[union-attr]
    assert texts(root, "value") == ["10", "20", "35"]


def test_all_zero_bars_have_a_clean_axis() -> None:
    svg = bars("sends", ["a", "b", "c"], [0, 0, 0], zh, horizontal=True)
    root = parse(svg)
    assert texts(root, "tick") == ["0", "1"]
    assert "-0" not in svg
    assert all(f(r, "width") == 0 for r in marks(root, "rect", "bar"))
    assert texts(root, "value") == ["0", "0", "0"]


def test_horizontal_bars_by_hand() -> None:
    root = parse(bars("t", ["x", "y"], [50, 100], zh, horizontal=True))
    ticks = marks(root, "text", "tick")
    xs = {t.text: f(t, "x") for t in ticks}
    assert list(xs) == ["0", "20", "40", "60", "80", "100"]
    zero, full = xs["0"], xs["100"]
    rects = marks(root, "rect", "bar")
    assert [f(r, "x") for r in rects] == pytest.approx([zero, zero])
    assert [f(r, "width") for r in rects] == pytest.approx([(full - zero) / 2, full - zero],
                                                           abs=0.02)
    assert f(rects[0], "y") < f(rects[1], "y")  # the first label on top


def test_money_in_wan_on_ticks_and_values() -> None:
    root = parse(bars("sales", ["2025-10", "2025-11"], [12_345, 123_456_789], zh))
    assert texts(root, "value") == ["1.23万", "1.23亿"]
    assert "1亿" in texts(root, "tick")


def test_long_labels_rotate_and_shorten_with_the_full_text_in_the_title() -> None:
    long = "potential members who qualify but have not joined yet"
    labels = ["0 店铺客户", "1 普通会员", "2 高级会员", "3 VIP会员", "4 至尊VIP", long]
    root = parse(bars("tiers", labels, [5, 4, 3, 2, 1, 9], zh))
    cats = marks(root, "text", "category")
    assert all("rotate(-40" in (c.get("transform") or "") for c in cats)
    last = cats[-1]
    assert last.find(NS + "title").text == long  # type: ignore[union-attr]
    shown = last.find(NS + "title").tail or ""  # type: ignore[union-attr]
    assert shown.endswith("…")
    assert text_width(shown) <= MAX_LABEL_PX * 0.8
    # labels that fit stay level
    root = parse(bars("g", ["P", "G", "S", "B"], [1, 2, 3, 4], zh))
    assert all(c.get("transform") is None for c in marks(root, "text", "category"))


def test_text_is_text_and_escaped() -> None:
    svg = bars("<t>", ["<script>x</script>", "浙江省"], [1, 2], zh)
    root = parse(svg)
    assert "<script>" not in svg
    assert texts(root, "category") == ["<script>x</script>", "浙江省"]
    assert root.find(NS + "title").text == "<t>"  # type: ignore[union-attr]


# -- stacked bars, lines, funnel, curve ----------------------------------------------------
def test_stacked_bars_by_hand() -> None:
    root = parse(stacked_bars("tiers", ["2025-10", "2025-11"],
                              [("L0", [3, 1]), ("L1", [1, 0]), ("L4", [0, 3])], zh))
    grid = grid_y(root)
    assert list(grid) == ["0", "1", "2", "3", "4"]
    zero, length = grid["0"], grid["0"] - grid["4"]
    rects = marks(root, "rect", "bar")
    # zero segments are not drawn: L0 3, L1 1 | L0 1, L4 3
    assert [r.find(NS + "title").text for r in rects] == [  # type: ignore[union-attr]
        "2025-10 · L0: 3", "2025-10 · L1: 1", "2025-11 · L0: 1", "2025-11 · L4: 3"]
    heights = [f(r, "height") for r in rects]
    assert heights == pytest.approx([3 / 4 * length, 1 / 4 * length, 1 / 4 * length,
                                     3 / 4 * length], abs=0.02)
    # each stack starts on the zero line, segments touching
    assert f(rects[0], "y") + heights[0] == pytest.approx(zero, abs=0.02)
    assert f(rects[1], "y") + heights[1] == pytest.approx(f(rects[0], "y"), abs=0.02)
    assert texts(root, "value") == ["4", "4"]  # totals
    assert len(marks(root, "rect", "swatch")) == 3  # the legend


def test_lines_by_hand() -> None:
    root = parse(lines("sales", ["Q1", "Q2", "Q3"], [("2025", [0, 20, 40]),
                                                    ("2024", [10, 10, 10])], zh))
    grid = grid_y(root)
    assert list(grid) == ["0", "10", "20", "30", "40"]
    (first, _second) = marks(root, "polyline", "series")
    pts = [tuple(map(float, p.split(","))) for p in (first.get("points") or "").split()]
    assert [y for _, y in pts] == pytest.approx([grid["0"], grid["20"], grid["40"]], abs=0.02)
    xs = [x for x, _ in pts]
    assert xs[1] - xs[0] == pytest.approx(xs[2] - xs[1])
    dots = marks(root, "circle", "point")
    assert len(dots) == 6
    assert dots[4].find(NS + "title").text == "Q2 · 2024: 10"  # type: ignore[union-attr]


def test_funnel_widths_by_hand() -> None:
    root = parse(funnel("stages", ["潜客", "新客", "活跃"], [200, 100, 0], zh,
                        shares=["66.7%", "33.3%", "0.0%"]))
    rects = marks(root, "rect", "stage")
    widths = [f(r, "width") for r in rects]
    assert widths[1] == pytest.approx(widths[0] / 2, abs=0.02)
    assert widths[2] == 0
    centres = [f(r, "x") + f(r, "width") / 2 for r in rects]
    assert centres[0] == pytest.approx(centres[1]) == pytest.approx(centres[2])
    assert texts(root, "value") == ["200 · 66.7%", "100 · 33.3%", "0 · 0.0%"]


def test_repurchase_curve_steps_and_boundaries() -> None:
    svg = curve("curve", [1, 49], [0.5, 1.0], [("P50=1d", 1, 0.5), ("P70=49d", 49, 0.7),
                                                ("P90=49d", 49, 0.9)],
                x_label="days", y_label="share")
    root = parse(svg)
    (path,) = marks(root, "path", "series")
    d = path.get("d") or ""
    # x axis 0..50 (ticks of 10), y axis 0..100%: the step goes up to 50% at day 1, 100% at 49
    xs = {t.text: f(t, "x") for t in marks(root, "text", "tick") if "%" not in (t.text or "")}
    assert list(xs) == ["0", "10", "20", "30", "40", "50"]
    grid = grid_y(root)
    per_day = (xs["50"] - xs["0"]) / 50
    x1, x49 = xs["0"] + per_day, xs["0"] + 49 * per_day
    nums = [float(v) for v in re.findall(r"[\d.]+", d)]
    assert nums[2] == pytest.approx(x1, abs=0.02)
    assert nums[3] == pytest.approx(grid["50%"], abs=0.02)
    assert nums[4] == pytest.approx(x49, abs=0.02)
    assert nums[5] == pytest.approx(grid["100%"], abs=0.02)
    bounds = marks(root, "line", "bound")
    assert [b.find(NS + "title").text for b in bounds] == ["P50=1d", "P70=49d", "P90=49d"]  # type: ignore[union-attr]
    assert f(bounds[0], "x1") == pytest.approx(x1, abs=0.02)
    assert texts(root, "value") == ["P50=1d", "P70=49d", "P90=49d"]


@given(st.lists(st.tuples(st.text(min_size=1, max_size=30), st.integers(-10**9, 10**9)),
                min_size=1, max_size=15), st.booleans())
def test_any_bars_parse_and_every_mark_has_a_title(data: list[tuple[str, int]],
                                                   horizontal: bool) -> None:
    labels, values = [x for x, _ in data], [float(v) for _, v in data]
    svg = bars("t", labels, values, zh, horizontal=horizontal)
    root = parse(svg)  # control characters in labels are dropped
    rects = marks(root, "rect", "bar")
    assert len(rects) == len(values)
    assert all(r.find(NS + "title") is not None for r in rects)
    assert all(f(r, "height") >= 0 and f(r, "width") >= 0 for r in rects)
    assert not re.search(r">-0<", svg)
    vb = [float(x) for x in (root.get("viewBox") or "").split()]
    for r in rects:  # inside the picture
        assert f(r, "x") >= 0
        assert f(r, "x") + f(r, "width") <= vb[2] + 0.01
        assert f(r, "y") >= 0
        assert f(r, "y") + f(r, "height") <= vb[3] + 0.01


@given(st.lists(st.lists(st.integers(0, 10**6), min_size=3, max_size=3), min_size=1,
                max_size=4))
def test_any_stack_is_as_high_as_its_total(series_values: list[list[int]]) -> None:
    series = [(f"s{k}", [float(v) for v in vs]) for k, vs in enumerate(series_values)]
    root = parse(stacked_bars("t", ["a", "b", "c"], series, lambda v: f"{v:.10g}"))
    grid = grid_y(root)
    ticks = [float(t) for t in grid]
    per_unit = (grid[next(iter(grid))] - grid[list(grid)[-1]]) / (ticks[-1] - ticks[0])
    rects = marks(root, "rect", "bar")
    for k, label in enumerate(["a", "b", "c"]):
        mine = [r for r in rects if (r.find(NS + "title").text or "").startswith(f"{label} ·")]  # type: ignore[union-attr]
        total = sum(vs[k] for vs in series_values)
        drawn = sum(f(r, "height") for r in mine)
        assert drawn == pytest.approx(total * per_unit, abs=0.01 * len(mine) + 0.02)
