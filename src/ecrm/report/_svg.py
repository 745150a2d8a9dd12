"""The report's charts drawn as inline SVG text, with nothing but the standard library.

Bars (vertical or horizontal), stacked bars, lines, a funnel and the cumulative repurchase
curve with its P50 / P70 / P90 boundaries. Every chart has readable axes (ticks at 1, 2,
2.5 or 5 × 10ⁿ, labels written by the caller's formatter, never ``-0``), a value label
per mark, a ``<title>`` on every mark (the browser shows it on hover) and text kept as
``<text>``, so Chinese renders with the viewer's fonts. Labels too long for their slot
are rotated and, past a limit, shortened with ``…`` (the full text stays in the mark's
title). All text is escaped; the output is the same for the same input.

Geometry, shared by every axis chart: the plot area spans ``left … WIDTH - RIGHT``
horizontally and ``TOP … height - bottom`` vertically; a value ``v`` on a value axis
from ``lo`` to ``hi`` (the outer ticks) sits at ``base - (v - lo) / (hi - lo) * length``.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from html import escape
from typing import Final

__all__ = [
    "WIDTH",
    "bars",
    "curve",
    "funnel",
    "lines",
    "nice_ticks",
    "stacked_bars",
    "text_width",
]

Formatter = Callable[[float], str]

WIDTH: Final = 720
TOP: Final = 34  # room for the legend / top value labels
RIGHT: Final = 24
FONT: Final = 12  # px; the tick and label size
ROW: Final = 26  # px per bar of a horizontal chart or funnel
PALETTE: Final = ("#3b6ea8", "#e08a2c", "#4f9a5b", "#b9474a", "#7d62a8", "#8a6d55",
                  "#cc6fa8", "#6f7b88", "#b8a532", "#3fa5b5")
MAX_LABEL_PX: Final = 170.0  # longest category label before it is shortened
_INK: Final = "#1d2733"
_MUTED: Final = "#5b6775"
_GRID: Final = "#e3e8ee"
# the page's fonts, so a chart saved on its own still picks a CJK font
_FONTS: Final = ("system-ui, -apple-system, &quot;Segoe UI&quot;, &quot;PingFang SC&quot;, "
                 "&quot;Microsoft YaHei&quot;, &quot;Noto Sans CJK SC&quot;, sans-serif")


# characters XML 1.0 does not allow (C0 controls but tab / newline / CR, surrogates, …)
_NOT_XML: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _e(text: object) -> str:
    return escape(_NOT_XML.sub("", str(text)), quote=True)


def _n(x: float) -> str:
    """A coordinate: at most 2 decimals, no trailing zeros, never ``-0``."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def text_width(text: str, size: float = FONT) -> float:
    """Estimated drawn width of ``text`` in px: wide (CJK) characters 1 em, others 0.6 em."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else 0.6 * size for c in text)


def _shorten(text: str, max_px: float, size: float = FONT) -> str:
    if text_width(text, size) <= max_px:
        return text
    out = ""
    for c in text:
        if text_width(out + c + "…", size) > max_px:
            break
        out += c
    return out + "…"


def nice_ticks(lo: float, hi: float, *, max_ticks: int = 6,
               integer: bool = False) -> list[float]:
    """Evenly spaced round tick values covering ``lo … hi`` (0 is included when in range).

    The step is 1, 2, 2.5 or 5 × 10ⁿ (1, 2 or 5 × 10ⁿ, at least 1, when ``integer``),
    the smallest giving at most ``max_ticks`` ticks. An empty range (all values equal,
    e.g. all zero) widens to ``lo … lo + 1`` (or ``lo - 1 … lo`` below zero).

    >>> nice_ticks(0, 35)
    [0.0, 10.0, 20.0, 30.0, 40.0]
    >>> nice_ticks(0, 0, integer=True)
    [0.0, 1.0]
    """
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        lo, hi = (lo - 1, lo) if lo < 0 else (lo, lo + 1)
    span = hi - lo
    mantissas = (1.0, 2.0, 5.0) if integer else (1.0, 2.0, 2.5, 5.0)
    exp = math.floor(math.log10(span / (max_ticks - 1)))
    if integer:
        exp = max(exp, 0)
    step = 1.0
    for s in (m * 10.0 ** e for e in range(exp, exp + 3) for m in mantissas):
        if integer and s < 1:
            continue
        if math.ceil(hi / s - 1e-9) - math.floor(lo / s + 1e-9) <= max_ticks - 1:
            step = s
            break
    first = math.floor(lo / step + 1e-9)
    last = max(math.ceil(hi / step - 1e-9), first + 1)
    # %.12g drops the float noise of k * step (0.30000000000000004); + 0.0 drops -0.0
    return [float(f"{k * step:.12g}") + 0.0 for k in range(first, last + 1)]


class _Svg:
    """Collects the elements of one chart."""

    def __init__(self, title: str, height: float) -> None:
        self.title = title
        self.height = height
        self.parts: list[str] = []

    def text(self, x: float, y: float, text: str, *, anchor: str = "middle",
             size: float = FONT, color: str = _MUTED, rotate: float = 0.0,
             full: str | None = None, cls: str = "") -> None:
        transform = f' transform="rotate({_n(rotate)} {_n(x)} {_n(y)})"' if rotate else ""
        klass = f' class="{cls}"' if cls else ""
        tip = f"<title>{_e(full)}</title>" if full is not None and full != text else ""
        self.parts.append(f'<text x="{_n(x)}" y="{_n(y)}" font-size="{_n(size)}" '
                          f'text-anchor="{anchor}" fill="{color}"{transform}{klass}>'
                          f"{tip}{_e(text)}</text>")

    def line(self, x1: float, y1: float, x2: float, y2: float, *, color: str = _GRID,
             dash: str = "", width: float = 1.0) -> None:
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" '
                          f'stroke="{color}" stroke-width="{_n(width)}"{d}/>')

    def rect(self, x: float, y: float, w: float, h: float, color: str, tip: str,
             cls: str = "bar") -> None:
        self.parts.append(f'<rect class="{cls}" x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" '
                          f'height="{_n(h)}" fill="{color}"><title>{_e(tip)}</title></rect>')

    def legend(self, names: Sequence[str], left: float) -> None:
        x = left
        for k, name in enumerate(names):
            shown = _shorten(name, MAX_LABEL_PX)
            self.rect(x, 8, 11, 11, PALETTE[k % len(PALETTE)], name, cls="swatch")
            self.text(x + 15, 18, shown, anchor="start", full=name)
            x += 15 + text_width(shown) + 14

    def done(self) -> str:
        return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} '
                f'{_n(self.height)}" class="chart-svg" role="img" '
                f'font-family="{_FONTS}" aria-label="{_e(self.title)}">\n<title>{_e(self.title)}</title>\n'
                + "\n".join(self.parts) + "\n</svg>\n")


def _value_axis(svg: _Svg, ticks: list[float], fmt: Formatter, *, vertical: bool,
                start: float, length: float, across: tuple[float, float]) -> Callable[
                    [float], float]:
    """Grid lines and tick labels; returns the value → coordinate map."""
    lo, hi = ticks[0], ticks[-1]

    def pos(v: float) -> float:
        frac = (v - lo) / (hi - lo)
        return start - frac * length if vertical else start + frac * length

    a, b = across
    for t in ticks:
        p = pos(t)
        if vertical:
            svg.line(a, p, b, p, color="#9aa5b1" if t == 0 else _GRID)
            svg.text(a - 6, p + 4, fmt(t), anchor="end", cls="tick")
        else:
            svg.line(p, a, p, b, color="#9aa5b1" if t == 0 else _GRID)
            svg.text(p, b + 16, fmt(t), cls="tick")
    return pos


def _is_integer(values: Sequence[float]) -> bool:
    return all(float(v).is_integer() for v in values)


def _category_labels(svg: _Svg, labels: Sequence[str], left: float, slot: float,
                     base: float) -> None:
    """Category labels under vertical bars: level when they fit, else rotated 40°."""
    widest = max((text_width(label) for label in labels), default=0.0)
    rotate = widest > slot - 4
    for k, label in enumerate(labels):
        x = left + (k + 0.5) * slot
        if rotate:
            shown = _shorten(label, MAX_LABEL_PX * 0.8)
            svg.text(x + 4, base + 14, shown, anchor="end", rotate=-40, full=label,
                     cls="category")
        else:
            svg.text(x, base + 16, label, full=label, cls="category")


def _bottom_room(labels: Sequence[str], slot: float) -> float:
    widest = max((text_width(label) for label in labels), default=0.0)
    if widest <= slot - 4:
        return 28.0
    shown = min(widest, MAX_LABEL_PX * 0.8)
    return 22.0 + shown * math.sin(math.radians(40)) + FONT


def _left_room(ticks: list[float], fmt: Formatter) -> float:
    return 14.0 + max(text_width(fmt(t)) for t in ticks)


def bars(title: str, labels: Sequence[str], values: Sequence[float], fmt: Formatter, *,
         horizontal: bool = False, unit: str = "") -> str:
    """A bar chart: one bar per label, its value written at its end.

    Args:
        title: the chart's accessible name (``<title>``).
        labels: one category per bar.
        values: one value per bar.
        fmt: writes a value (ticks and value labels).
        horizontal: bars run left to right, the first label on top (long labels).
        unit: the value axis's name, shown at its end (``"customers"``).

    Returns:
        An ``<svg>`` element (text).
    """
    ticks = nice_ticks(min(0.0, *values) if values else 0.0, max(0.0, *values) if values
                       else 0.0, integer=_is_integer(values))
    n = len(labels)
    if horizontal:
        label_px = min(MAX_LABEL_PX, max((text_width(x) for x in labels), default=0.0))
        left = label_px + 16
        height: float = TOP + n * ROW + 34
        svg = _Svg(title, height)
        base: float = TOP + n * ROW
        pos = _value_axis(svg, ticks, fmt, vertical=False, start=left,
                          length=WIDTH - RIGHT - 60 - left, across=(TOP - 4, base))
        zero = pos(0.0)
        for k, (label, v) in enumerate(zip(labels, values, strict=True)):
            y = TOP + k * ROW + 4
            x0, x1 = sorted((zero, pos(v)))
            svg.rect(x0, y, x1 - x0, ROW - 8, PALETTE[0], f"{label}: {fmt(v)}")
            svg.text(left - 8, y + ROW / 2, _shorten(label, MAX_LABEL_PX), anchor="end",
                     full=label, color=_INK, cls="category")
            svg.text(x1 + 5, y + ROW / 2, fmt(v), anchor="start", color=_INK, cls="value")
        if unit:
            svg.text(WIDTH - RIGHT, height - 4, unit, anchor="end", size=11)
        return svg.done()
    left = _left_room(ticks, fmt)
    slot = (WIDTH - RIGHT - left) / max(n, 1)
    bottom = _bottom_room(labels, slot)
    height = TOP + 220 + bottom
    svg = _Svg(title, height)
    base = height - bottom
    pos = _value_axis(svg, ticks, fmt, vertical=True, start=base, length=base - TOP,
                      across=(left, WIDTH - RIGHT))
    zero = pos(0.0)
    width = slot * 0.7
    value_size = min(11.0, FONT)
    for k, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = left + k * slot + (slot - width) / 2
        y0, y1 = sorted((zero, pos(v)))
        svg.rect(x, y0, width, y1 - y0, PALETTE[0], f"{label}: {fmt(v)}")
        shown = fmt(v)
        size = value_size if text_width(shown, value_size) <= slot else 9.0
        svg.text(x + width / 2, (y0 - 4) if v >= 0 else (y1 + 12), shown, size=size,
                 color=_INK, cls="value")
    _category_labels(svg, labels, left, slot, base)
    if unit:
        svg.text(4, 18, unit, anchor="start", size=11)
    return svg.done()


def stacked_bars(title: str, labels: Sequence[str],
                 series: Sequence[tuple[str, Sequence[float]]], fmt: Formatter, *,
                 unit: str = "") -> str:
    """Vertical bars stacked from several non-negative series; the total above each bar.

    Args:
        title: the chart's accessible name.
        labels: one category (bar) per position.
        series: ``(name, values)`` pairs, each with one value per label, drawn bottom up.
        fmt: writes a value.
        unit: the value axis's name.

    Returns:
        An ``<svg>`` element (text).
    """
    n = len(labels)
    totals = [sum(float(s[1][k]) for s in series) for k in range(n)]
    ticks = nice_ticks(0.0, max(totals, default=0.0),
                       integer=all(_is_integer(v) for _, v in series))
    left = _left_room(ticks, fmt)
    slot = (WIDTH - RIGHT - left) / max(n, 1)
    bottom = _bottom_room(labels, slot)
    height = TOP + 10 + 220 + bottom
    svg = _Svg(title, height)
    base = height - bottom
    svg.legend([name for name, _ in series], left)
    pos = _value_axis(svg, ticks, fmt, vertical=True, start=base, length=base - TOP - 10,
                      across=(left, WIDTH - RIGHT))
    width = slot * 0.7
    for k, label in enumerate(labels):
        x = left + k * slot + (slot - width) / 2
        acc = 0.0
        for j, (name, values) in enumerate(series):
            v = float(values[k])
            if v > 0:
                y_top, y_bottom = pos(acc + v), pos(acc)
                svg.rect(x, y_top, width, y_bottom - y_top, PALETTE[j % len(PALETTE)],
                         f"{label} · {name}: {fmt(v)}")
            acc += v
        svg.text(x + width / 2, pos(acc) - 4, fmt(acc), size=11 if slot > 40 else 9,
                 color=_INK, cls="value")
    _category_labels(svg, labels, left, slot, base)
    if unit:
        svg.text(4, height - 4, unit, anchor="start", size=11)
    return svg.done()


def lines(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[float]]],
          fmt: Formatter, *, unit: str = "") -> str:
    """One line per series over shared categories (periods), a dot and label per point.

    Args:
        title: the chart's accessible name.
        labels: the x categories, left to right.
        series: ``(name, values)`` pairs, each with one value per label.
        fmt: writes a value.
        unit: the value axis's name.

    Returns:
        An ``<svg>`` element (text).
    """
    n = len(labels)
    every = [float(v) for _, vs in series for v in vs]
    ticks = nice_ticks(min(0.0, *every) if every else 0.0,
                       max(0.0, *every) if every else 0.0,
                       integer=all(_is_integer(v) for _, v in series))
    left = _left_room(ticks, fmt)
    slot = (WIDTH - RIGHT - left) / max(n, 1)
    bottom = _bottom_room(labels, slot)
    height = TOP + 10 + 220 + bottom
    svg = _Svg(title, height)
    base = height - bottom
    svg.legend([name for name, _ in series], left)
    pos = _value_axis(svg, ticks, fmt, vertical=True, start=base, length=base - TOP - 10,
                      across=(left, WIDTH - RIGHT))
    for j, (name, values) in enumerate(series):
        color = PALETTE[j % len(PALETTE)]
        points = [(left + (k + 0.5) * slot, pos(float(v))) for k, v in enumerate(values)]
        svg.parts.append(f'<polyline class="series" fill="none" stroke="{color}" '
                         f'stroke-width="2" points="'
                         + " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
                         + f'"><title>{_e(name)}</title></polyline>')
        for k, ((x, y), v) in enumerate(zip(points, values, strict=True)):
            svg.parts.append(f'<circle class="point" cx="{_n(x)}" cy="{_n(y)}" r="3.5" '
                             f'fill="{color}"><title>{_e(labels[k])} · {_e(name)}: '
                             f"{_e(fmt(float(v)))}</title></circle>")
            if len(series) == 1 or n <= 8:
                svg.text(x, y - 7, fmt(float(v)), size=10, color=color, cls="value")
    _category_labels(svg, labels, left, slot, base)
    if unit:
        svg.text(4, height - 4, unit, anchor="start", size=11)
    return svg.done()


def funnel(title: str, labels: Sequence[str], values: Sequence[float], fmt: Formatter, *,
           shares: Sequence[str] = ()) -> str:
    """A funnel: one centred bar per stage, its width in proportion to its value.

    Args:
        title: the chart's accessible name.
        labels: the stages, top to bottom.
        values: one non-negative value per stage.
        fmt: writes a value.
        shares: optional text per stage written after the value (``"12.5%"``).

    Returns:
        An ``<svg>`` element (text).
    """
    n = len(labels)
    label_px = min(MAX_LABEL_PX, max((text_width(x) for x in labels), default=0.0))
    left = label_px + 16
    right_room = 110.0
    span = WIDTH - RIGHT - right_room - left
    centre = left + span / 2
    top = max((float(v) for v in values), default=0.0) or 1.0
    height = 12 + n * ROW + 12
    svg = _Svg(title, height)
    for k, (label, v) in enumerate(zip(labels, values, strict=True)):
        y = 12 + k * ROW
        w = max(float(v) / top * span, 1.0 if v else 0.0)
        text = fmt(float(v)) + (f" · {shares[k]}" if shares else "")
        svg.rect(centre - w / 2, y + 3, w, ROW - 6, PALETTE[0], f"{label}: {text}",
                 cls="stage")
        svg.text(left - 8, y + ROW / 2 + 4, _shorten(label, MAX_LABEL_PX), anchor="end",
                 full=label, color=_INK, cls="category")
        svg.text(left + span + 8, y + ROW / 2 + 4, text, anchor="start", color=_INK,
                 cls="value")
    return svg.done()


def curve(title: str, days: Sequence[int], share: Sequence[float],
          bounds: Sequence[tuple[str, int, float]], *, x_label: str, y_label: str) -> str:
    """A cumulative step curve (share of repurchasers by days) with marked boundaries.

    Args:
        title: the chart's accessible name.
        days: the days at which the curve steps (sorted).
        share: the cumulative share (0–1) at each of ``days``.
        bounds: ``(label, day, level)`` per boundary, e.g. ``("P50=12d", 12, 0.5)``: a
            dashed vertical line at ``day`` and a dotted horizontal one at ``level``.
        x_label, y_label: the axis names.

    Returns:
        An ``<svg>`` element (text).
    """
    x_max = max([*days, *(d for _, d, _ in bounds), 1])
    x_ticks = nice_ticks(0.0, float(x_max), integer=True, max_ticks=8)
    y_ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
    left = 52.0
    height = 300.0
    base = height - 44
    svg = _Svg(title, height)
    ypos = _value_axis(svg, y_ticks, lambda v: f"{v:.0%}", vertical=True, start=base,
                       length=base - TOP, across=(left, WIDTH - RIGHT))
    x_lo, x_hi = x_ticks[0], x_ticks[-1]

    def xpos(d: float) -> float:
        return left + (d - x_lo) / (x_hi - x_lo) * (WIDTH - RIGHT - left)

    for t in x_ticks:
        svg.text(xpos(t), base + 16, f"{int(t)}", cls="tick")
    path = [f"M{_n(xpos(0))},{_n(ypos(0))}"]
    for d, s in zip(days, share, strict=True):
        path.append(f"H{_n(xpos(d))}V{_n(ypos(s))}")
    path.append(f"H{_n(xpos(x_hi))}")
    svg.parts.append(f'<path class="series" d="{"".join(path)}" fill="none" '
                     f'stroke="{PALETTE[0]}" stroke-width="2"><title>{_e(y_label)}'
                     f"</title></path>")
    for d, s in zip(days, share, strict=True):
        svg.parts.append(f'<circle class="point" cx="{_n(xpos(d))}" cy="{_n(ypos(s))}" '
                         f'r="2.5" fill="{PALETTE[0]}"><title>{d}: {s:.1%}</title></circle>')
    for k, (label, d, level) in enumerate(bounds):
        color = PALETTE[(k + 1) % len(PALETTE)]
        svg.parts.append(f'<line class="bound" x1="{_n(xpos(d))}" y1="{_n(TOP)}" '
                         f'x2="{_n(xpos(d))}" y2="{_n(base)}" stroke="{color}" '
                         f'stroke-dasharray="5 3"><title>{_e(label)}</title></line>')
        svg.line(left, ypos(level), WIDTH - RIGHT, ypos(level), color=color, dash="1 3")
        x = xpos(d)
        at_right = x + 4 + text_width(label) > WIDTH - RIGHT
        svg.text(x - 4 if at_right else x + 4, ypos(level) - 4 - 12 * (k % 2), label,
                 anchor="end" if at_right else "start", color=color, cls="value")
    svg.text((left + WIDTH - RIGHT) / 2, height - 8, x_label, size=11)
    svg.text(4, 18, y_label, anchor="start", size=11)
    return svg.done()
