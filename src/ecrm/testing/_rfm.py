"""Strategies for RFM schemes: :func:`rfm_schemes`."""

from __future__ import annotations

from dateutil.relativedelta import relativedelta
from hypothesis import strategies as st

from ecrm.rfm import Bins, RecencyBins, RfmScheme
from ecrm.rfm._scheme import day_span

__all__ = ["rfm_schemes"]


def _ascending(
    draw: st.DrawFn, *, first: int | None, low: int, high: int, size: int
) -> list[int]:
    """``size`` strictly increasing ints, starting at ``first`` when given."""
    rest = size - (first is not None)
    values = draw(
        st.lists(st.integers(min_value=low, max_value=high), min_size=rest, max_size=rest,
                 unique=True)
    )
    return ([first] if first is not None else []) + sorted(values)


@st.composite
def _rfm_schemes(draw: st.DrawFn, *, max_bins: int, min_customers: int | None) -> RfmScheme:
    window_months = draw(st.sampled_from([6, 12, 18, 24]))
    window = relativedelta(months=window_months)
    n_r = draw(st.integers(min_value=0, max_value=max_bins - 1))
    if draw(st.booleans()):
        within_m = _ascending(draw, first=None, low=1, high=window_months - 1, size=n_r)
        # Each month duration must be longer than the previous for every as_of: one
        # calendar month apart is always enough (also against the window).
        within = tuple(relativedelta(months=m) for m in within_m)
    else:
        shortest_window = day_span(window)[0]
        within_d = _ascending(draw, first=None, low=1, high=shortest_window - 1, size=n_r)
        within = tuple(relativedelta(days=d) for d in within_d)
    r_scores = sorted(_ascending(draw, first=None, low=1, high=20, size=n_r + 1), reverse=True)
    n_f = draw(st.integers(min_value=1, max_value=max_bins))
    f_edges = _ascending(draw, first=1, low=2, high=30, size=n_f)
    f_scores = _ascending(draw, first=None, low=1, high=20, size=n_f)
    # At least two M bins so that the total spans enough for three grade cut-offs.
    n_m = draw(st.integers(min_value=2, max_value=max_bins))
    m_edges = _ascending(draw, first=0, low=1, high=10_000_000, size=n_m)
    m_scores = _ascending(draw, first=None, low=1, high=20, size=n_m)
    w_r, w_f, w_m = (draw(st.integers(min_value=1, max_value=9)) for _ in range(3))
    lo = w_r * r_scores[-1] + w_f * f_scores[0] + w_m * m_scores[0]
    hi = w_r * r_scores[0] + w_f * f_scores[-1] + w_m * m_scores[-1]
    if hi - lo < 3:
        # Widen the M weight instead of filtering: the M scores differ by at least 1.
        w_m += 3
        lo = w_r * r_scores[-1] + w_f * f_scores[0] + w_m * m_scores[0]
        hi = w_r * r_scores[0] + w_f * f_scores[-1] + w_m * m_scores[-1]
    cuts = draw(st.lists(st.integers(min_value=lo + 1, max_value=hi), min_size=3, max_size=3,
                         unique=True))
    p, g, s = sorted(cuts, reverse=True)
    return RfmScheme(
        recency=RecencyBins(within, r_scores),
        frequency=Bins(edges=f_edges, scores=f_scores),
        monetary=Bins(edges=m_edges, scores=m_scores),
        grade_cutoffs=(p, g, s),
        weights=(w_r, w_f, w_m),
        lookback=window,
        min_customers=(
            draw(st.integers(min_value=0, max_value=200_000))
            if min_customers is None else min_customers
        ),
        name=draw(st.sampled_from(["custom", "test-scheme", "店铺方案"])),
    )


def rfm_schemes(
    *, max_bins: int = 6, min_customers: int | None = 0
) -> st.SearchStrategy[RfmScheme]:
    """Valid :class:`~ecrm.rfm.RfmScheme` s with random bins, weights, windows and cut-offs.

    Built directly (never filtered): recency bins in months or days shorter than the window
    (6–24 months), 1..``max_bins`` frequency bins starting at 1 order, 2..``max_bins``
    monetary bins starting at 0 fen, weights 1–12, and three cut-offs inside the total range.

    Args:
        max_bins: the most bins per component (>= 2).
        min_customers: the scheme's ``min_customers``; ``None`` draws it (0–200,000). The
            default 0 keeps :func:`ecrm.rfm.score` from warning about shop size.
    """
    if max_bins < 2:
        raise ValueError(f"max_bins must be >= 2, got {max_bins}")
    return _rfm_schemes(max_bins=max_bins, min_customers=min_customers)
