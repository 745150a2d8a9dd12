"""Behaviour leaves: browse / cart / favourite events and orders inside a half-open range.

Each class registers its kind (the JSON ``field``), evaluates itself over the logs
(``_mask``), writes and reads its JSON node (the range keys are shared, in
:class:`_Behaviour`) and says itself in words.
"""

from __future__ import annotations

import datetime as dt
import functools
import warnings
from collections.abc import Callable, Mapping
from typing import Any, Self, TypeAlias

import attrs
import numpy as np

from ecrm._deprecate import RENAMED_IN
from ecrm._events import EventKind
from ecrm._window import Window
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.segments._context import BoolArray, Cache, _Shop, order_days
from ecrm.segments._predicates import Predicate
from ecrm.segments._schema import bool_key, build, opt_int, shown, window_keys

__all__ = [
    "Bound",
    "Carted",
    "Favorited",
    "FavoritedNotBought",
    "Ordered",
    "Repurchased",
    "Visited",
]

#: A deprecated ``start=``/``end=`` bound: a date (the local midnight in the audience's
#: zone), an aware datetime, or ``None`` (open).
Bound: TypeAlias = dt.date | dt.datetime | None


def _bound(value: object) -> Bound:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidValueError("window", "bounds must be dates or aware datetimes", value)
        return value
    if isinstance(value, dt.date):
        return value
    raise InvalidTypeError(
        f"window bound must be a date or an aware datetime, got {type(value).__name__} "
        f"{shown(value)}"
    )


def _window(value: Window | None) -> Window | None:
    if value is None or isinstance(value, Window):
        return value
    raise InvalidTypeError(
        f"window must be an ecrm.Window, got {type(value).__name__} {shown(value)}"
    )


def _last_days(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidValueError("last_days", "must be an int >= 1", value)
    return value


def _check_legacy(start: Bound, end: Bound) -> None:
    if start is not None and end is not None and type(start) is type(end) and not start < end:
        raise InvalidValueError("window", "start must be before end", (str(start), str(end)))


@attrs.frozen
class _Behaviour(Predicate):
    """A behaviour inside a half-open range of instants, always cut at ``as_of``.

    Give ``window`` (an :class:`ecrm.Window` ``[start, end)`` of instants; for local
    calendar days build it with ``Window.of_dates(first_day, end_day, tz)``, which states
    the zone) or ``last_days`` (as_of plus a duration: ``[as_of − N days, as_of)`` in
    calendar days on the audience's local clock). With neither the range is all history
    before ``as_of``. ``start=``/``end=`` are deprecated: two aware datetimes become a
    window; dates (local midnights in the audience's zone) or an open bound are kept as
    given for this release.
    """

    window: Window | None = attrs.field(default=None, converter=_window, kw_only=True)
    last_days: int | None = attrs.field(default=None, converter=_last_days, kw_only=True)
    _legacy: tuple[Bound, Bound] | None = attrs.field(default=None, init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.last_days is not None and self.window is not None:
            raise InvalidValueError(
                "window", "takes either last_days or a window, not both", None,
                show_value=False,
            )

    @property
    def legacy_bounds(self) -> tuple[Bound, Bound] | None:
        """The deprecated ``start``/``end`` bounds this leaf was built with, if any."""
        return self._legacy

    def _window_text(self) -> str:
        if self.last_days is not None:
            return f" in the last {self.last_days} days"
        if self.window is not None:
            return f" in [{self.window.start.isoformat()}, {self.window.end.isoformat()})"
        if self._legacy is None:
            return " ever"
        start, end = self._legacy
        lo = "-∞" if start is None else start.isoformat()
        hi = "as_of" if end is None else end.isoformat()
        return f" in [{lo}, {hi})"

    def _fields(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.window is not None:
            out["window"] = {"start": self.window.start.isoformat(),
                             "end": self.window.end.isoformat()}
        if self._legacy is not None:  # deprecated bounds are written back as they came
            start, end = self._legacy
            if start is not None:
                out["start"] = start.isoformat()
            if end is not None:
                out["end"] = end.isoformat()
        if self.last_days is not None:
            out["last_days"] = self.last_days
        return out

    @classmethod
    def _from_fields(cls, node: Mapping[str, Any], path: str) -> Self:
        return _read(cls, node, path)  # type: ignore[no-any-return]


def _read(
    cls: type[_Behaviour], node: Mapping[str, Any], path: str,
    extra: Callable[[], dict[str, Any]] | None = None, extra_keys: frozenset[str] = frozenset(),
) -> Any:
    """A behaviour leaf of a node: its range keys read, then ``extra()`` (the keywords of
    the leaf's own keys ``extra_keys``), then the leaf built.

    The range reader already warned about deprecated keys, so the constructor's own
    warning for them is silenced.
    """
    window = window_keys(node, path, extra_keys)
    more = {} if extra is None else extra()
    with warnings.catch_warnings():
        if "start" in window:
            warnings.simplefilter("ignore", DeprecationWarning)
        return build(lambda: cls(**window, **more), path)


def _legacy_init(cls: type[_Behaviour]) -> type[_Behaviour]:
    """Let ``cls(start=..., end=...)`` work for one release, with a DeprecationWarning."""
    init = cls.__init__

    @functools.wraps(init)
    def init_with_bounds(self: _Behaviour, *args: Any, **kwargs: Any) -> None:
        if "start" not in kwargs and "end" not in kwargs:
            init(self, *args, **kwargs)
            return
        start, end = _bound(kwargs.pop("start", None)), _bound(kwargs.pop("end", None))
        if kwargs.get("window") is not None:
            raise TypeError(f"{cls.__name__}() got window= and its deprecated start=/end=; "
                            "pass only window=")
        if kwargs.get("last_days") is not None and (start is not None or end is not None):
            raise InvalidValueError(
                "window", "takes either last_days or start/end, not both", None,
                show_value=False,
            )
        _check_legacy(start, end)
        both = isinstance(start, dt.datetime) and isinstance(end, dt.datetime)
        window = Window(start, end) if both else None  # type: ignore[arg-type]
        warnings.warn(
            f"{cls.__name__}(): the keywords start=/end= are deprecated since {RENAMED_IN} "
            "and will be removed in the next release; use window=ecrm.Window(start, end) or "
            "window=ecrm.Window.of_dates(first_day, end_day, tz) for local days",
            DeprecationWarning, stacklevel=2,
        )
        if window is not None:
            init(self, *args, window=window, **kwargs)
            return
        init(self, *args, **kwargs)
        if start is not None or end is not None:
            object.__setattr__(self, "_legacy", (start, end))

    setattr(cls, "__init__", init_with_bounds)  # noqa: B010
    return cls


@_legacy_init
@attrs.frozen
class Visited(_Behaviour, kind="visited"):
    """At least one BROWSE event (浏览) in the window."""

    def describe(self) -> str:
        return "visited" + self._window_text()

    def _mask(self, shop: _Shop, cache: Cache) -> BoolArray:
        return shop.events_of(EventKind.BROWSE, self)


@_legacy_init
@attrs.frozen
class Carted(_Behaviour, kind="carted"):
    """At least one CART event (加购) in the window."""

    def describe(self) -> str:
        return "carted" + self._window_text()

    def _mask(self, shop: _Shop, cache: Cache) -> BoolArray:
        return shop.events_of(EventKind.CART, self)


@_legacy_init
@attrs.frozen
class Favorited(_Behaviour, kind="favorited"):
    """At least one FAVORITE event (收藏) in the window."""

    def describe(self) -> str:
        return "favorited" + self._window_text()

    def _mask(self, shop: _Shop, cache: Cache) -> BoolArray:
        return shop.events_of(EventKind.FAVORITE, self)


@_legacy_init
@attrs.frozen
class FavoritedNotBought(_Behaviour, kind="favorited_not_bought"):
    """Favourited something in the window that they never bought before ``as_of``.

    An item favourite (non-empty SKU) counts when the customer has no valid order line of
    that SKU before ``as_of``; a shop favourite (empty SKU) counts when the customer has
    no valid order at all. Needs the log's order lines (``OrderLog.items``).
    """

    def describe(self) -> str:
        return "favorited an item never bought" + self._window_text()

    def _mask(self, shop: _Shop, cache: Cache) -> BoolArray:
        items = shop.orders.items
        if items is not None and items.order_rows is not None:
            line_rows = np.asarray(items.order_rows, dtype=np.int64)
            line_skus = np.asarray(items.skus)
        elif len(shop.orders) == 0:  # nothing was bought, so no lines are needed to tell
            line_rows, line_skus = np.zeros(0, dtype=np.int64), np.zeros(0, dtype="<U1")
        else:
            raise InvalidValueError(
                "orders.items", "are needed to tell which favourited items were bought", None,
                show_value=False,
            )
        ev, event_cust = shop.need_events(self)
        lo, hi = shop.window(self)
        rows = (ev.kind_codes == EventKind.FAVORITE.code) & (ev.at_us >= lo) & (ev.at_us < hi)
        fav_u = event_cust[rows]
        fav_sku = ev.skus[rows]
        keep = fav_u >= 0
        fav_u, fav_sku = fav_u[keep], fav_sku[keep]
        # Only the lines of customers who favourited something can matter: select them with
        # integer indexing first, so the string work is on a small subset.
        faved = np.zeros(shop.n, dtype=bool)
        faved[fav_u] = True
        line_u_all = shop.order_cust[line_rows]
        line_ok = shop.valid[line_rows] & (line_u_all >= 0)
        line_ok[line_ok] = faved[line_u_all[line_ok]]
        line_u = line_u_all[line_ok]
        line_sku = line_skus[line_ok]
        all_skus = np.concatenate([fav_sku.astype(str), line_sku.astype(str)])
        _, codes = np.unique(all_skus, return_inverse=True)
        codes = codes.reshape(-1).astype(np.int64)
        k = int(codes.max()) + 1 if len(codes) else 1
        fav_key = fav_u * k + codes[: len(fav_u)]
        line_key = line_u * k + codes[len(fav_u):]
        bought_item = np.isin(fav_key, line_key)
        has_valid = shop.mark(shop.order_cust, shop.valid)
        shop_level = fav_sku == ""
        hit_rows = np.where(shop_level, ~has_valid[fav_u], ~bought_item)
        out = np.zeros(shop.n, dtype=bool)
        out[fav_u[hit_rows]] = True
        return out


@_legacy_init
@attrs.frozen
class Ordered(_Behaviour, kind="ordered"):
    """Placed at least one order in the window: a valid one (default) or any status."""

    valid_only: bool = attrs.field(
        default=True, validator=attrs.validators.instance_of(bool), kw_only=True
    )

    def describe(self) -> str:
        kind = "a valid order" if self.valid_only else "an order (any status)"
        return f"placed {kind}" + self._window_text()

    def _mask(self, shop: _Shop, cache: Cache) -> BoolArray:
        return shop.mark(shop.order_cust, shop.order_rows(self, self.valid_only))

    def _fields(self) -> dict[str, Any]:
        return {**super()._fields(), "valid": self.valid_only}

    @classmethod
    def _from_fields(cls, node: Mapping[str, Any], path: str) -> Self:
        return _read(  # type: ignore[no-any-return]
            cls, node, path, lambda: {"valid_only": bool_key(node, "valid", path, True)},
            frozenset({"valid"}),
        )


def _min_days(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise InvalidValueError("min_days", "must be an int >= 2", value)
    return value


@_legacy_init
@attrs.frozen
class Repurchased(_Behaviour, kind="repurchased"):
    """At least ``min_days`` (default 2) distinct purchase days (valid orders) in the window."""

    min_days: int = attrs.field(default=2, converter=_min_days, kw_only=True)

    def describe(self) -> str:
        return f">= {self.min_days} purchase days" + self._window_text()

    def _mask(self, shop: _Shop, cache: Cache) -> BoolArray:
        rows = np.flatnonzero(shop.order_rows(self, True))
        u = shop.order_cust[rows]
        d = order_days(shop, cache)[rows]
        # Rows are sorted by customer then time, so a new purchase day starts wherever the
        # customer or the local day changes.
        new_day = np.ones(len(rows), dtype=bool)
        if len(rows) > 1:
            new_day[1:] = (u[1:] != u[:-1]) | (d[1:] != d[:-1])
        keep = new_day & (u >= 0)
        counts = np.bincount(u[keep], minlength=shop.n)
        enough: BoolArray = counts >= self.min_days
        return enough

    def _fields(self) -> dict[str, Any]:
        return {**super()._fields(), "min_days": self.min_days}

    @classmethod
    def _from_fields(cls, node: Mapping[str, Any], path: str) -> Self:
        def more() -> dict[str, Any]:
            min_days = opt_int(node, "min_days", path)
            return {"min_days": 2 if min_days is None else min_days}

        return _read(cls, node, path, more, frozenset({"min_days"}))  # type: ignore[no-any-return]
