"""Behaviour events (browse / cart / favorite): :class:`Event` and :class:`EventLog`."""

from __future__ import annotations

import datetime as dt
import enum
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm._columns import (
    check_lengths,
    factorize,
    ids_column,
    instants_column,
    text_column,
)
from ecrm._enums import parse_alias
from ecrm._ids import check_customer_id, customer_code_in, customer_rows_in
from ecrm._load._cells import enum_column
from ecrm._load._csv import DEFAULT_CHUNK_ROWS
from ecrm._load._frames import events_from_frame
from ecrm._load._parquet import read_parquet_table
from ecrm._load._problems import Problems
from ecrm._load._spec import Engine, LoadInfo, Progress
from ecrm._load._tables import read_event_columns
from ecrm._time import as_zone, datetime_to_us, require_aware, us_to_datetime, zone_name
from ecrm._window import Window, open_window_arg
from ecrm.errors import (
    InvalidTypeError,
    InvalidValueError,
)

__all__ = ["Event", "EventKind", "EventLog"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class EventKind(enum.Enum):
    """What a customer did without (necessarily) ordering. The value is the name in files."""

    BROWSE = "browse"  # visited the shop or an item page (浏览)
    CART = "cart"  # added an item to the cart (加购)
    FAVORITE = "favorite"  # favourited an item or the shop (收藏)

    @property
    def code(self) -> int:
        """The small integer stored in :attr:`EventLog.kind_codes` (0, 1, 2)."""
        return _KIND_CODES[self]


_KIND_CODES: Final = {k: i for i, k in enumerate(EventKind)}
KIND_BY_CODE: Final = tuple(EventKind)
_KIND_ALIASES: Final = {
    **{k.value: k for k in EventKind},
    "visit": EventKind.BROWSE,
    "view": EventKind.BROWSE,
    "pv": EventKind.BROWSE,
    "浏览": EventKind.BROWSE,
    "访问": EventKind.BROWSE,
    "add_to_cart": EventKind.CART,
    "加购": EventKind.CART,
    "加入购物车": EventKind.CART,
    "favourite": EventKind.FAVORITE,
    "fav": EventKind.FAVORITE,
    "收藏": EventKind.FAVORITE,
}


def parse_event_kind(value: object, field: str = "kind") -> EventKind:
    """An :class:`EventKind` from a member, its value/name or a Chinese label (``加购``).

    Raises:
        InvalidValueError: the text names no kind.
    """
    rule = "must be browse, cart or favorite (or 浏览 / 加购 / 收藏)"
    return parse_alias(EventKind, _KIND_ALIASES, value, field, rule)


def _check_sku(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str):
        raise InvalidTypeError(
            f"sku must be a string ('' for the shop itself), got {type(value).__name__}"
        )


@attrs.frozen
class Event:
    """One behaviour event.

    Args:
        customer_id: who (str or int).
        at: when (timezone-aware).
        kind: an :class:`EventKind` (or its name / Chinese label).
        sku: the item concerned, ``""`` for the shop itself (a shop visit or follow).
    """

    customer_id: str | int = attrs.field(validator=check_customer_id)
    at: dt.datetime = attrs.field()
    kind: EventKind = attrs.field(converter=parse_event_kind)
    sku: str = attrs.field(default="", validator=_check_sku)

    @at.validator
    def _check_at(self, attribute: attrs.Attribute[Any], value: object) -> None:
        require_aware(value, "at")


@attrs.frozen(eq=False, repr=False)
class EventLog:
    """Behaviour events as validated numpy columns, sorted by customer then time.

    ``customer_starts[c]:customer_starts[c + 1]`` are the rows of customer code ``c`` in
    time order, like :class:`ecrm.OrderLog`.

    Attributes:
        tz: the store's time zone.
        customer_ids: shape (n_customers,), sorted unique ids (int64 or str).
        customer_starts: int64, shape (n_customers + 1,), CSR row offsets per customer.
        customer_codes: int32/int64, shape (n,).
        at_us: int64, shape (n,), epoch microseconds (UTC).
        kind_codes: int8, shape (n,), :attr:`EventKind.code`.
        skus: str, shape (n,), ``""`` for shop-level events.
        load_info: what the loader read and decided, for a log read from a file.
    """

    tz: dt.tzinfo
    customer_ids: npt.NDArray[Any]
    customer_starts: IntArray
    customer_codes: npt.NDArray[np.integer[Any]]
    at_us: IntArray
    kind_codes: npt.NDArray[np.int8]
    skus: npt.NDArray[np.str_]
    load_info: LoadInfo | None = attrs.field(default=None, kw_only=True)

    # -- constructors -----------------------------------------------------------------
    @classmethod
    def from_events(cls, events: Iterable[Event], *, tz: str | dt.tzinfo | None = None) -> EventLog:
        """Build a log from :class:`Event` values.

        Raises:
            InvalidTypeError: an element is not an ``Event``, or ids mix str and int.
        """
        rows: list[Event] = _v.check_items("events", events, Event)
        kinds = {type(e.customer_id) for e in rows}
        if len(kinds) > 1:
            raise InvalidTypeError(
                "customer_id values must be all str or all int, got a mix of str and int"
            )
        ids = np.asarray([e.customer_id for e in rows], dtype=np.int64 if kinds == {int} else str)
        return cls._build(
            as_zone(tz),
            ids.reshape(len(rows)),
            np.asarray([datetime_to_us(e.at) for e in rows], dtype=np.int64),
            np.asarray([e.kind.code for e in rows], dtype=np.int8),
            np.asarray([e.sku for e in rows], dtype=str).reshape(len(rows)),
        )

    @classmethod
    def from_arrays(
        cls,
        customer_ids: Sequence[Any] | npt.NDArray[Any],
        at: Sequence[dt.datetime] | npt.NDArray[Any],
        kinds: Sequence[Any] | npt.NDArray[Any],
        *,
        skus: Sequence[str | None] | npt.NDArray[Any] | None = None,
        tz: str | dt.tzinfo | None = None,
        source: str = "<arrays>",
    ) -> EventLog:
        """Validate and build a log from equal-length columns.

        Args:
            customer_ids: str or int ids, shape (n,).
            at: numpy ``datetime64`` wall-clock times in ``tz``, or aware datetimes.
            kinds: :class:`EventKind` members, their names / labels, or int codes 0–2.
            skus: item SKUs (``None`` / ``""`` for shop-level events).
            tz: the store's zone (default ``Asia/Shanghai``; required for naive times).
            source: a name for error messages.

        Raises:
            InvalidValueError: columns of different lengths.
            DataFormatErrorGroup: every bad cell (row, column, value, rule) at once.
        """
        n = check_lengths(
            source, {"customer_ids": customer_ids, "at": at, "kinds": kinds, "skus": skus}
        )
        zone = as_zone(tz) if tz is not None else None
        problems = Problems(source)
        ids = (
            ids_column(customer_ids, "customer_ids", problems) if n else np.zeros(0, dtype=np.int64)
        )
        times = instants_column(at, "at", zone, problems)
        codes = _kind_column(kinds, n, problems)
        sku = np.full(n, "", dtype="U1") if skus is None or n == 0 else text_column(skus, "skus")
        problems.raise_if_any("events")
        return cls._build(zone or as_zone(None), ids, times, codes, sku)

    # The file and frame constructors are thin forwards: a loader (ecrm._load, which never
    # imports this module) returns plain columns and this class builds itself from them.
    @classmethod
    def from_pandas(
        cls,
        frame: Any,
        *,
        columns: Mapping[str, str] | None = None,
        tz: str | dt.tzinfo | None = None,
    ) -> EventLog:
        """Build from a pandas ``DataFrame`` with columns ``customer_id``, ``at``, ``kind``
        and optionally ``sku`` (``columns`` maps a field to another column name).

        ``at`` may be zone-aware (converted exactly) or naive (wall time in ``tz``, which is
        then required). Needs the optional ``pandas`` package; it is imported only here.

        Raises:
            MissingDependencyError: pandas is not installed.
            InvalidValueError: a required column is missing; naive times without ``tz``.
            DataFormatErrorGroup: every bad cell (0-based row, frame column, value, rule).
        """
        return events_from_frame("pandas", frame, build=cls.from_arrays, columns=columns, tz=tz)

    @classmethod
    def from_polars(
        cls,
        frame: Any,
        *,
        columns: Mapping[str, str] | None = None,
        tz: str | dt.tzinfo | None = None,
    ) -> EventLog:
        """Build from a polars ``DataFrame``; arguments and errors as :meth:`from_pandas`."""
        return events_from_frame("polars", frame, build=cls.from_arrays, columns=columns, tz=tz)

    @classmethod
    def from_arrow(
        cls,
        table: Any,
        *,
        columns: Mapping[str, str] | None = None,
        tz: str | dt.tzinfo | None = None,
    ) -> EventLog:
        """Build from a pyarrow ``Table``; arguments and errors as :meth:`from_pandas`."""
        return events_from_frame("arrow", table, build=cls.from_arrays, columns=columns, tz=tz)

    @classmethod
    def from_parquet(
        cls,
        path: str | os.PathLike[str],
        *,
        columns: Mapping[str, str] | None = None,
        tz: str | dt.tzinfo | None = None,
    ) -> EventLog:
        """Read a Parquet file or a directory of them (hive-partitioned too); columns and
        errors as :meth:`from_arrow` (needs the ``arrow`` extra)."""
        table = read_parquet_table(path, "EventLog.from_parquet")
        return events_from_frame("arrow", table, build=cls.from_arrays, columns=columns, tz=tz,
                                 source=os.fspath(path))

    @classmethod
    def from_csv(
        cls,
        path: str | os.PathLike[str] | IO[bytes],
        *,
        columns: Mapping[str, str] | None = None,
        tz: str | dt.tzinfo | None = None,
        encoding: str = "auto",
        engine: Engine = "auto",
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        progress: Progress | None = None,
    ) -> EventLog:
        """Read events from a CSV file with a header, streaming it (the loading layer of
        :func:`ecrm.read_orders_csv`: encodings, ``.gz`` / ``.zip``, ``-`` for stdin, both
        engines, every problem at once).

        Columns (``columns`` maps a field to another header): ``customer_id``, ``at`` (a
        date-time as in orders files; naive times are in ``tz``), ``kind`` (browse / cart /
        favorite, or 浏览 / 加购 / 收藏) and optionally ``sku``. Ids are kept as text.

        Raises:
            DataFormatErrorGroup: every bad cell with file, physical line (header = line 1),
                column, value and rule; ragged rows, undecodable bytes, a quote not closed,
                duplicate or missing headers. No log is returned.
        """
        zone = as_zone(tz)
        read = read_event_columns(
            path, kind_code=_kind_code, zone=zone, columns=columns, encoding=encoding,
            engine=engine, chunk_rows=chunk_rows, progress=progress,
        )
        log = cls._build(zone, read.customer_ids, read.at_us, read.kind_codes, read.skus)
        return attrs.evolve(log, load_info=read.info)

    @classmethod
    def _build(
        cls,
        tz: dt.tzinfo,
        ids: npt.NDArray[Any],
        at_us: IntArray,
        kind_codes: npt.NDArray[np.int8],
        skus: npt.NDArray[np.str_],
    ) -> EventLog:
        uniq, codes = factorize(ids)
        if len(codes) > 1 and not _in_customer_time_order(codes, at_us):
            perm = np.lexsort((at_us, codes))
            codes, at_us, kind_codes, skus = codes[perm], at_us[perm], kind_codes[perm], skus[perm]
        starts = np.zeros(len(uniq) + 1, dtype=np.int64)
        np.cumsum(np.bincount(codes, minlength=len(uniq)), out=starts[1:])
        if skus.dtype.kind != "U":
            skus = skus.astype(str)
        # Read-only views: the caller's own arrays (kept without a copy) stay writeable.
        return cls(
            tz,
            _frozen(uniq),
            _frozen(starts),
            _frozen(codes),
            _frozen(at_us),
            _frozen(kind_codes.astype(np.int8, copy=False)),
            _frozen(skus),
        )

    # -- sizes and lookups ------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.at_us)

    @property
    def n_customers(self) -> int:
        """Number of distinct customers with at least one event."""
        return len(self.customer_ids)

    @property
    def kinds(self) -> tuple[EventKind, ...]:
        """The :class:`EventKind` of each code (index with :attr:`kind_codes`)."""
        return KIND_BY_CODE

    def __repr__(self) -> str:
        counts = np.bincount(self.kind_codes, minlength=len(EventKind)) if len(self) else [0, 0, 0]
        detail = ", ".join(f"{int(c):,} {k.value}" for k, c in zip(EventKind, counts, strict=True))
        return (
            f"EventLog({len(self):,} events ({detail}), {self.n_customers:,} customers, "
            f"tz={zone_name(self.tz)!r})"
        )

    def customer_code(self, customer_id: Any) -> int:
        """The dense code of ``customer_id``.

        Raises:
            UnknownCustomerError: the customer has no event in the log.
        """
        return customer_code_in(self.customer_ids, customer_id)

    def customer_rows(self, customer_id: Any) -> slice:
        """The rows of one customer, in time order."""
        return customer_rows_in(self.customer_ids, self.customer_starts, customer_id)

    def event_at(self, row: int) -> Event:
        """The :class:`Event` of one row."""
        cid = self.customer_ids[int(self.customer_codes[row])]
        return Event(
            customer_id=cid.item() if isinstance(cid, np.generic) else cid,
            at=us_to_datetime(int(self.at_us[row]), self.tz),
            kind=KIND_BY_CODE[int(self.kind_codes[row])],
            sku=str(self.skus[row]),
        )

    def __iter__(self) -> Iterator[Event]:
        """The events as :class:`Event` values, by customer then time."""
        for row in range(len(self)):
            yield self.event_at(row)

    # -- queries ----------------------------------------------------------------------
    def window_mask(
        self,
        kind: EventKind | str | None = None,
        *,
        window: Window | None = None,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> BoolArray:
        """bool, shape (n,): events of ``kind`` (any kind when ``None``) in ``window``
        (every event when ``None``). ``start=``/``end=`` are deprecated bounds (either may
        be omitted); use ``window=``."""
        start, end = open_window_arg(window, start, end, where="EventLog.window_mask")
        return self._mask(kind, start, end)

    def _mask(
        self, kind: EventKind | str | None, start: dt.datetime | None, end: dt.datetime | None
    ) -> BoolArray:
        mask = np.ones(len(self), dtype=bool)
        if kind is not None:
            mask &= self.kind_codes == parse_event_kind(kind).code
        if start is not None:
            mask &= self.at_us >= datetime_to_us(require_aware(start, "start"))
        if end is not None:
            mask &= self.at_us < datetime_to_us(require_aware(end, "end"))
        return mask

    def customers_with(
        self,
        kind: EventKind | str | None = None,
        *,
        window: Window | None = None,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> npt.NDArray[Any]:
        """The sorted ids of customers with at least one ``kind`` event in ``window``
        (anywhere in the log when ``None``; ``start=``/``end=`` are deprecated bounds).

        Returns:
            shape (k,), the dtype of :attr:`customer_ids`.
        """
        start, end = open_window_arg(window, start, end, where="EventLog.customers_with")
        rows = self._mask(kind, start, end)
        present = np.zeros(self.n_customers, dtype=bool)
        present[self.customer_codes[rows]] = True
        return self.customer_ids[present]

    def select(self, mask: BoolArray) -> EventLog:
        """A new log with the rows where ``mask`` (bool, shape (n,)) is true."""
        mask = np.asarray(mask)
        if mask.dtype != np.bool_ or mask.shape != (len(self),):
            raise InvalidValueError(
                "mask",
                f"must be a bool array of shape ({len(self)},)",
                f"{mask.dtype} {mask.shape}",
            )
        ids = self.customer_ids[self.customer_codes[mask]]
        return EventLog._build(
            self.tz, ids, self.at_us[mask], self.kind_codes[mask], self.skus[mask]
        )


def _frozen(column: npt.NDArray[Any]) -> npt.NDArray[Any]:
    view = column.view()
    view.flags.writeable = False
    return view


def _in_customer_time_order(codes: npt.NDArray[np.integer[Any]], at_us: IntArray) -> bool:
    if not bool(np.all(codes[1:] >= codes[:-1])):
        return False
    same = codes[1:] == codes[:-1]
    return bool(np.all(at_us[1:][same] >= at_us[:-1][same]))


def _kind_code(text: str) -> int:
    return parse_event_kind(text).code


def _kind_column(values: Any, n: int, problems: Problems) -> npt.NDArray[np.int8]:
    return enum_column(values, n, EventKind, "kinds", "an event kind", _kind_code, problems)
