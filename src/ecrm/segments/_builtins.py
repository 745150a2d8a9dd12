"""Built-in audiences: the customer classes of the source documents and common campaign lists.

Each is a function returning an ordinary :class:`Predicate`, so it can be combined,
serialised and edited like any other.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable
from typing import Any

from ecrm._deprecate import RENAMED_IN
from ecrm._window import Window
from ecrm.errors import InvalidValueError
from ecrm.lifecycle import Stage
from ecrm.rfm import Grade
from ecrm.segments._attributes import Blocked
from ecrm.segments._behaviour import Carted, FavoritedNotBought, Ordered, Repurchased, Visited
from ecrm.segments._derived import RfmGradeIn, StageIn
from ecrm.segments._predicates import Not, Predicate

__all__ = [
    "blocked_customers",
    "carted_618_not_bought",
    "carted_not_bought",
    "favorited_not_bought",
    "high_potential_returning",
    "lapsed_customers",
    "no_sale_customers",
    "non_ordering_visitors",
]


def non_ordering_visitors() -> Predicate:
    """非订购客户: visited the shop (a BROWSE event) but never *successfully* ordered.

    The source: 访问后从未成功下单过商品的客户. An order that was closed or never paid was
    no success, so a visitor whose only orders are such is here; a valid (paid, shipped
    or completed) order takes a customer out. A carted visitor without a sale is also a
    无销售客户 (:func:`no_sale_customers`): both of the source's definitions hold.

    >>> print(non_ordering_visitors().describe())
    (visited ever) and (not (placed a valid order ever))
    """
    return Visited() & Not(Ordered())


def no_sale_customers() -> Predicate:
    """无销售客户: added to the cart but never made a sale (no *valid* order ever).

    Unlike :func:`non_ordering_visitors`, an unpaid or closed order does not take a
    customer out: it was no sale.
    """
    return Carted() & Not(Ordered())


def lapsed_customers(days: int = 365) -> Predicate:
    """无订购客户: old customers with a valid order, but none in the last ``days`` days.

    Raises:
        InvalidValueError: ``days`` is not an int >= 1.
    """
    return Ordered() & Not(Ordered(last_days=days))


def blocked_customers() -> Predicate:
    """恶意客户: customers on the shop's block list (``CustomerTable.blocked``)."""
    return Blocked()


def carted_not_bought(
    window: Window | None = None, *args: Any, last_days: int | None = None
) -> Predicate:
    """Carted in a range without a valid order placed in that same range.

    The range is ``window`` (an :class:`ecrm.Window` of instants; for local calendar days
    ``Window.of_dates(first_day, end_day, tz)`` states the zone) or ``last_days`` (the
    last N calendar days before the audience's ``as_of``, on its local clock): exactly one.

    >>> import datetime as dt
    >>> from ecrm import Window
    >>> june = Window.of_dates(dt.date(2025, 6, 1), dt.date(2025, 6, 19), "Asia/Shanghai")
    >>> print(carted_not_bought(june).describe())
    (carted in [2025-06-01T00:00:00+08:00, 2025-06-19T00:00:00+08:00)) and (not (placed a valid order in [2025-06-01T00:00:00+08:00, 2025-06-19T00:00:00+08:00)))

    The old form ``carted_not_bought(start, end)`` (dates are local midnights in the
    audience's zone) still works for one release with a :class:`DeprecationWarning`.

    Raises:
        InvalidValueError: both or neither of ``window`` and ``last_days``.
        InvalidTypeError: ``window`` is not a :class:`ecrm.Window`.
    """
    if isinstance(window, dt.date):  # the deprecated carted_not_bought(start, end)
        if len(args) != 1 or last_days is not None:
            raise TypeError("carted_not_bought() takes a window (or the deprecated start, end)")
        start, end = window, args[0]
        warnings.warn(
            f"carted_not_bought(start, end) is deprecated since {RENAMED_IN} and will be "
            "removed in the next release; pass an ecrm.Window (Window.of_dates(first_day, "
            "end_day, tz) for local days)", DeprecationWarning, stacklevel=2,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return Carted(start=start, end=end) & Not(Ordered(start=start, end=end))
    if args:
        raise TypeError(f"carted_not_bought() takes one window, got {len(args) + 1} positionals")
    if (window is None) == (last_days is None):
        raise InvalidValueError(
            "window", "needs exactly one of window and last_days", None, show_value=False
        )
    return (Carted(window=window, last_days=last_days)
            & Not(Ordered(window=window, last_days=last_days)))


def carted_618_not_bought(year: int, tz: str | dt.tzinfo | None = None) -> Predicate:
    """Carted during the 6.18 sale of ``year`` — the local days June 1 up to June 19 in
    ``tz`` — without a valid order in that window.

    ``year`` names which year's sale (a calendar label, as in ``dt.date(year, 6, 1)``), not
    a moment or a range; the range is built from it in ``tz`` (default Asia/Shanghai: pass
    the shop's zone, ``orders.tz``).

    >>> print(carted_618_not_bought(2025).describe())
    (carted in [2025-06-01T00:00:00+08:00, 2025-06-19T00:00:00+08:00)) and (not (placed a valid order in [2025-06-01T00:00:00+08:00, 2025-06-19T00:00:00+08:00)))

    Raises:
        InvalidValueError: ``year`` is not an int in 2000..2100, or a bad zone.
    """
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise InvalidValueError("year", "must be an int in 2000..2100", year)
    return carted_not_bought(Window.of_dates(dt.date(year, 6, 1), dt.date(year, 6, 19), tz))


def favorited_not_bought(last_days: int | None = None) -> Predicate:
    """Favourited an item they never bought (that SKU), or the shop without any valid order.

    Args:
        last_days: only favourites of the last ``last_days`` days (default: all history).
    """
    return FavoritedNotBought(last_days=last_days)


def high_potential_returning(
    *,
    lookback_days: int = 365,
    stages: Iterable[Stage | str] = (Stage.ACTIVE, Stage.SILENT),
    grades: Iterable[Grade | str] = (Grade.P, Grade.G, Grade.S),
) -> Predicate:
    """High-potential returning customers: worth a repurchase nudge now.

    The rule, every part a parameter: at least 2 purchase days in the last
    ``lookback_days`` days (a returning customer), lifecycle stage in ``stages`` (default
    ACTIVE or SILENT: within P70 of the last purchase, not yet sleeping), RFM grade in
    ``grades`` (default S or better), and not blocked.

    >>> print(high_potential_returning().describe())
    (>= 2 purchase days in the last 365 days) and (stage in {active, silent}) and (RFM grade in {P, G, S}) and (not (blocked))
    """
    return (
        Repurchased(last_days=lookback_days)
        & StageIn(tuple(stages))
        & RfmGradeIn(tuple(grades))
        & Not(Blocked())
    )
