"""The columnar, validated, customer-indexed store of orders: :class:`OrderLog`."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, Any, NamedTuple

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._columns import (
    MAX_ORDER_FEN,
    ORDER_FEN_RULE,
    check_lengths,
    check_total_fen,
    customer_time_order,
    fen_column,
    ids_column,
    instants_column,
    text_column,
)
from ecrm._compact import OffsetCodes, SparseFen
from ecrm._ids import customer_code_in, customer_rows_in
from ecrm._load._csv import DEFAULT_CHUNK_ROWS
from ecrm._load._frames import orders_from_frame
from ecrm._load._orders import OrderColumns, read_order_columns
from ecrm._load._parquet import read_parquet_table
from ecrm._load._problems import Problems
from ecrm._load._spec import (
    AmountUnit,
    CsvColumns,
    Engine,
    LoadInfo,
    Progress,
    check_amount_unit,
    coerce_columns,
)
from ecrm._money import DEFAULT_CURRENCY, Money
from ecrm._order import (
    DEFAULT_VALID_STATUSES,
    STATUS_BY_CODE,
    Order,
    OrderItem,
    OrderStatus,
    parse_status,
)
from ecrm._ordercolumns import (
    BuildJobs,
    check_refunds,
    check_unique,
    coded_ids,
    non_decreasing,
    own,
    own_amounts,
    placed_instants,
    refund_rows,
    status_column,
    status_table,
)
from ecrm._orderitems import OrderItems, attach_items
from ecrm._pages import small_pages
from ecrm._threads import Background
from ecrm._time import NAT_US, as_zone, datetime_to_us, local_days, us_to_datetime, zone_name
from ecrm.errors import InvalidTypeError, InvalidValueError, _short_repr

__all__ = ["OrderItems", "OrderLog"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@attrs.frozen(eq=False, repr=False)
class OrderLog:
    """Orders as validated numpy columns, indexed by customer once at construction.

    Build it with a named constructor (:meth:`from_orders`, :meth:`from_arrays`,
    :meth:`from_csv`, :meth:`from_parquet`, :meth:`from_pandas`, :meth:`from_polars`,
    :meth:`from_arrow`). Rows
    are sorted by customer, then by ``placed_at`` (ties keep input order), so that
    ``customer_starts[c]:customer_starts[c + 1]`` are the rows of customer code ``c`` in
    time order. That layout is made once, on first use of a row column (a sort of the
    rows); functions that need no layout, such as :func:`ecrm.rfm.score`, read the rows in
    their input order and never pay for it.

    Attributes:
        tz: the store's time zone; "days" are calendar days in it.
        currency: the ISO 4217 code of every amount in the log.
        customer_ids: shape (n_customers,), the distinct customer ids, sorted (int64 or str).
        customer_starts: int64, shape (n_customers + 1,), row offsets per customer code.
        customer_codes: int32/int64, shape (n,), the customer code of each row.
        placed_at_us: int64, shape (n,), epoch microseconds (UTC).
        amount_fen: int64, shape (n,), order amounts in fen.
        refunded_fen: int64, shape (n,), refunded fen (0 <= refunded <= amount).
        status_codes: int8, shape (n,), ``OrderStatus.code`` of each row.
        paid_at_us: int64, shape (n,), epoch microseconds or ``NAT_US``; ``None`` if unknown.
        order_ids: shape (n,), or ``None`` when the source had no order ids.
        provinces, channels: str, shape (n,) (``""`` when missing), or ``None``.
        items: the order lines, or ``None``.
        load_info: what the loader read and decided (encoding, money units, engine) for a
            log read from a file or frame; ``None`` otherwise.
    """

    tz: dt.tzinfo
    currency: str
    customer_ids: npt.NDArray[Any]
    # The row columns. ``customer_starts=None`` means they are in input order and the
    # customer/time layout is made on first use (``_laid_out``); the public names below are
    # properties that always give the laid-out columns.
    _customer_starts: IntArray | None = attrs.field(alias="customer_starts")
    # (in input order compact integer ids may be kept as offsets; laid out, codes)
    _customer_codes: npt.NDArray[np.integer[Any]] | OffsetCodes = attrs.field(alias="customer_codes")
    _placed_at_us: IntArray = attrs.field(alias="placed_at_us")
    # (a log built from arrays in input order keeps amounts below 2^31 fen as int32)
    _amount_fen: npt.NDArray[np.signedinteger[Any]] = attrs.field(alias="amount_fen")
    # (in input order the refunds are kept as their non-zero rows; laid out, dense)
    _refunded_fen: IntArray | SparseFen = attrs.field(alias="refunded_fen")
    _status_codes: npt.NDArray[np.int8] = attrs.field(alias="status_codes")
    _paid_at_us: IntArray | None = attrs.field(default=None, alias="paid_at_us")
    _order_ids: npt.NDArray[Any] | None = attrs.field(default=None, alias="order_ids")
    _provinces: npt.NDArray[np.str_] | None = attrs.field(default=None, alias="provinces")
    _channels: npt.NDArray[np.str_] | None = attrs.field(default=None, alias="channels")
    _items: OrderItems | None = attrs.field(default=None, alias="items")
    load_info: LoadInfo | None = attrs.field(default=None, kw_only=True)
    _cache: dict[Any, Any] = attrs.field(factory=dict, init=False, alias="_cache")

    # -- constructors ---------------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        customer_ids: Sequence[Any] | npt.NDArray[Any],
        placed_at: Sequence[dt.datetime] | npt.NDArray[Any],
        amounts: Sequence[int] | npt.NDArray[Any],
        *,
        tz: str | dt.tzinfo | None = None,
        statuses: Sequence[Any] | npt.NDArray[Any] | None = None,
        order_ids: Sequence[Any] | npt.NDArray[Any] | None = None,
        refunded: Sequence[int] | npt.NDArray[Any] | None = None,
        paid_at: Sequence[dt.datetime | None] | npt.NDArray[Any] | None = None,
        provinces: Sequence[str | None] | npt.NDArray[Any] | None = None,
        channels: Sequence[str | None] | npt.NDArray[Any] | None = None,
        items: OrderItems | None = None,
        currency: str = DEFAULT_CURRENCY,
        source: str = "<arrays>",
    ) -> OrderLog:
        """Build a log from equal-length columns.

        Args:
            customer_ids: str or int ids, shape (n,).
            placed_at: numpy ``datetime64`` holding wall-clock times in ``tz``, or a sequence
                of aware datetimes (naive ones need ``tz``).
            amounts: integer fen, shape (n,), 0 <= amount <= 10^15 (``MAX_ORDER_FEN``).
                Floats are refused.
            tz: the store's time zone (also the zone of naive inputs); default
                ``Asia/Shanghai`` for aware inputs, required for naive ones.
            statuses: ``OrderStatus`` members or their names, shape (n,); default all PAID.
            order_ids: unique order ids, shape (n,).
            refunded: refunded integer fen, 0 <= refunded <= amount.
            paid_at: like ``placed_at``; missing (NaT / None) means not paid.
            provinces, channels: optional text columns.
            items: order lines linked by ``order_ids``.
            currency: the currency of every amount.
            source: a name for error messages.

        Raises:
            InvalidValueError: columns of different lengths; amounts that sum past int64 fen.
            InvalidTypeError: float money, non-datetime times.
            DataFormatErrorGroup: every bad cell (row, column, value, rule) at once.
        """
        n = check_lengths(
            source,
            {"customer_ids": customer_ids, "placed_at": placed_at, "amounts": amounts,
             "statuses": statuses, "order_ids": order_ids, "refunded": refunded,
             "paid_at": paid_at, "provinces": provinces, "channels": channels},
        )
        zone = as_zone(tz) if tz is not None else None
        problems = Problems(source)
        ids = ids_column(customer_ids, "customer_ids", problems)
        with small_pages():  # (see ecrm._pages)
            # Coding the ids is the longest single step of a large build: it runs in a
            # thread while the other columns are checked (numpy releases the GIL in its
            # loops); so does the conversion of the times (a pass writing its own column).
            big = not problems and n >= _THREAD_ROWS
            jobs = BuildJobs(
                coding=Background(coded_ids, ids) if big else None,
                timing=(Background(placed_instants, placed_at, zone, source)
                        if big and zone is not None and isinstance(placed_at, np.ndarray)
                        and placed_at.dtype.kind == "M" else None),
                refunding=(Background(refund_rows, refunded, n, source)
                           if big and refunded is not None else None),
            )
            try:
                log = cls._checked(
                    n, zone, currency, ids, placed_at, amounts, statuses, order_ids,
                    refunded, paid_at, provinces, channels, items, source, problems, jobs,
                )
            finally:
                for job in jobs:
                    if job is not None:
                        job.join()
        return log

    @classmethod
    def _checked(
        cls,
        n: int,
        zone: dt.tzinfo | None,
        currency: str,
        ids: npt.NDArray[Any],
        placed_at: Any,
        amounts: Any,
        statuses: Any,
        order_ids: Any,
        refunded: Any,
        paid_at: Any,
        provinces: Any,
        channels: Any,
        items: OrderItems | None,
        source: str,
        problems: Problems,
        jobs: BuildJobs,
    ) -> OrderLog:
        """The rest of :meth:`from_arrays`: check the other columns, raise every problem,
        build (with what the ``jobs`` that run make)."""
        coding, timing = jobs.coding, jobs.timing
        if timing is None:
            placed = instants_column(placed_at, "placed_at", zone, problems)
        amount = fen_column(amounts, "amounts", problems, max_fen=MAX_ORDER_FEN)
        status = status_column(statuses, n, problems)
        if not problems:
            # The log keeps its columns: never the caller's buffers, so changing them later
            # cannot change the log. (Copied now, while the threads still work: as int32
            # when every amount fits, half the fresh memory of an int64 copy.)
            amount = own_amounts(amount, amounts)
        refund, refunds, refund_problems = (
            refund_rows(refunded, n, source) if jobs.refunding is None
            else jobs.refunding.result())
        problems.extend(refund_problems)
        check_refunds(refund, refunds, amount, problems)
        paid = None if paid_at is None else instants_column(paid_at, "paid_at", zone, problems, allow_missing=True)
        oids = None if order_ids is None else ids_column(order_ids, "order_ids", problems)
        if oids is not None and len(oids) == n:
            check_unique(oids, "order_ids", problems)
        prov = None if provinces is None else text_column(provinces, "provinces")
        chan = None if channels is None else text_column(channels, "channels")
        time_sorted = None
        if timing is not None:
            placed, timing_problems, time_sorted = timing.result()
            problems.extend(timing_problems)
        problems.raise_if_any("orders")
        uniq, codes = coding.result() if coding is not None else (ids, None)
        log = cls._build(
            zone or as_zone(None), currency, uniq, placed, amount, refunds, status, paid,
            own(oids, order_ids), own(prov, provinces), own(chan, channels), items, source,
            codes=codes,
        )
        if time_sorted is not None and log._customer_starts is None:
            log._cache["time_sorted"] = time_sorted  # (for _input_rows: a pass saved)
        return log

    @classmethod
    def from_orders(cls, orders: Iterable[Order], *, tz: str | dt.tzinfo | None = None) -> OrderLog:
        """Build a log from :class:`Order` values.

        Args:
            orders: the orders; all in one currency.
            tz: the store's time zone (default ``Asia/Shanghai``).

        Raises:
            InvalidTypeError: an element is not an ``Order``.
            InvalidValueError: mixed currencies, duplicate order ids, an amount over 10^15
                fen (``MAX_ORDER_FEN``) or amounts that sum past int64 fen.
        """
        zone = as_zone(tz)
        rows = list(orders)
        if rows and not isinstance(rows[0], Order):  # read below before the loop checks it
            raise InvalidTypeError(f"orders[0] must be an Order, got {type(rows[0]).__name__} "
                                   f"{_short_repr(rows[0])}")
        currency = rows[0].amount.currency if rows else DEFAULT_CURRENCY
        customer: list[Any] = []
        placed: list[int] = []
        amount: list[int] = []
        refunded: list[int] = []
        status: list[int] = []
        paid: list[int] = []
        oids: list[str] = []
        prov: list[str] = []
        chan: list[str] = []
        item_oid: list[str] = []
        item_sku: list[str] = []
        item_cat: list[str] = []
        item_qty: list[int] = []
        item_price: list[int] = []
        for i, o in enumerate(rows):
            if not isinstance(o, Order):
                raise InvalidTypeError(
                    f"orders[{i}] must be an Order, got {type(o).__name__} {_short_repr(o)}")
            if o.amount.currency != currency:
                raise InvalidValueError(
                    f"orders[{i}].amount.currency", f"must be {currency} like the first order", o.amount.currency
                )
            customer.append(o.customer_id)
            placed.append(datetime_to_us(o.placed_at))
            amount.append(o.amount.fen)
            refunded.append(o.refunded_amount.fen)
            status.append(o.status.code)
            paid.append(NAT_US if o.paid_at is None else datetime_to_us(o.paid_at))
            oids.append(o.order_id)
            prov.append(o.province or "")
            chan.append(o.channel or "")
            for it in o.items:
                item_oid.append(o.order_id)
                item_sku.append(it.sku)
                item_cat.append(it.category or "")
                item_qty.append(it.quantity)
                item_price.append(it.unit_price.fen)
        problems = Problems("<orders>")
        over = [i for i, fen in enumerate(amount) if fen > MAX_ORDER_FEN]
        if over:
            problems.add_rows(np.asarray(over), "amount", amount, ORDER_FEN_RULE)
            amount = [0] * len(amount)  # only the errors are raised below
        kinds = {type(c) for c in customer}
        if len(kinds) > 1:
            raise InvalidTypeError("customer_id values must be all str or all int, got a mix of str and int")
        ids = np.asarray(customer, dtype=np.int64 if kinds == {int} else str)
        oid_arr = np.asarray(oids, dtype=str)
        check_unique(oid_arr, "order_id", problems)
        problems.raise_if_any("orders")
        items = None
        if item_oid:
            items = OrderItems(
                np.asarray(item_oid, dtype=str), np.asarray(item_sku, dtype=str),
                np.asarray(item_cat, dtype=str), np.asarray(item_qty, dtype=np.int64),
                np.asarray(item_price, dtype=np.int64),
            )
        paid_arr = np.asarray(paid, dtype=np.int64)
        return cls._build(
            zone, currency, ids,
            np.asarray(placed, dtype=np.int64), np.asarray(amount, dtype=np.int64),
            np.asarray(refunded, dtype=np.int64), np.asarray(status, dtype=np.int8),
            paid_arr, oid_arr,
            np.asarray(prov, dtype=str) if any(prov) else None,
            np.asarray(chan, dtype=str) if any(chan) else None,
            items, "<orders>",
        )

    # The file and frame constructors are thin forwards: a loader (ecrm._load, which never
    # imports this module) returns plain columns and this class builds itself from them.
    @classmethod
    def from_csv(
        cls,
        path: str | os.PathLike[str] | IO[bytes],
        *,
        columns: CsvColumns | Mapping[str, Any] | None = None,
        tz: str | dt.tzinfo | None = None,
        currency: str = DEFAULT_CURRENCY,
        encoding: str = "auto",
        amount_unit: AmountUnit | None = None,
        engine: Engine = "auto",
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        progress: Progress | None = None,
    ) -> OrderLog:
        """Stream a CSV file of orders in chunks; see :func:`ecrm.read_orders_csv`."""
        cols = coerce_columns(columns)
        unit = cols.amount_unit if amount_unit is None else check_amount_unit(amount_unit)
        zone = as_zone(tz)
        Money(0, currency)  # validates the currency code before any work
        with small_pages():  # (see ecrm._pages)
            read = read_order_columns(
                path, columns=cols, zone=zone, amount_unit=unit, encoding=encoding,
                engine=engine, chunk_rows=chunk_rows, progress=progress,
            )
        return cls._from_loaded(read, zone, currency)

    @classmethod
    def _from_loaded(cls, read: OrderColumns, zone: dt.tzinfo, currency: str) -> OrderLog:
        items = None if read.items is None else OrderItems(*read.items)
        ids = read.customer_ids  # already coded by the reader: nothing to factorise
        log = cls._build(
            zone, currency, ids.ids, read.placed_at_us, read.amount_fen,
            read.refunded_fen, read.status_codes, read.paid_at_us, read.order_ids,
            read.provinces, read.channels, items, read.info.source, codes=ids.codes,
        )
        return attrs.evolve(log, load_info=read.info)

    @classmethod
    def from_parquet(
        cls,
        path: str | os.PathLike[str],
        *,
        columns: CsvColumns | Mapping[str, Any] | None = None,
        tz: str | dt.tzinfo | None = None,
        currency: str = DEFAULT_CURRENCY,
        amount_unit: AmountUnit | None = None,
    ) -> OrderLog:
        """Read a Parquet file, or a directory of them (hive-partitioned too); one row per
        order, columns as :meth:`from_arrow` (needs the ``arrow`` extra).

        Raises:
            MissingDependencyError: pyarrow is not installed.
            DataFormatErrorGroup: every bad cell (0-based row, column, value, rule).
        """
        table = read_parquet_table(path, "OrderLog.from_parquet")
        return orders_from_frame(
            "arrow", table, build=cls.from_arrays, columns=columns, tz=tz, currency=currency,
            amount_unit=amount_unit, source=os.fspath(path),
        )

    @classmethod
    def from_pandas(
        cls,
        frame: Any,
        *,
        columns: CsvColumns | Mapping[str, Any] | None = None,
        tz: str | dt.tzinfo | None = None,
        currency: str = DEFAULT_CURRENCY,
        amount_unit: AmountUnit | None = None,
    ) -> OrderLog:
        """Build from a pandas DataFrame, one row per order (needs the ``pandas`` extra).

        Args:
            frame: the orders; column names as in ``columns`` (canonical names by default).
            columns: which frame column holds each field (:class:`~ecrm.CsvColumns` or a
                mapping ``{field: column}``).
            tz: the store's time zone; required when a time column is naive, which is then
                wall time in ``tz``. Zone-aware columns are converted exactly.
            currency: the currency of every amount.
            amount_unit: ``"auto"`` / ``"fen"`` / ``"yuan"`` for text, ``Decimal`` and
                integer money columns (default: ``columns``'s, ``"auto"``).

        Raises:
            MissingDependencyError: pandas is not installed.
            InvalidValueError: a required column is missing; naive times without ``tz``.
            InvalidTypeError: not a pandas DataFrame; float money columns.
            DataFormatErrorGroup: every bad cell (0-based row, frame column, value, rule).
        """
        return orders_from_frame("pandas", frame, build=cls.from_arrays, columns=columns,
                                 tz=tz, currency=currency, amount_unit=amount_unit)

    @classmethod
    def from_polars(
        cls,
        frame: Any,
        *,
        columns: CsvColumns | Mapping[str, Any] | None = None,
        tz: str | dt.tzinfo | None = None,
        currency: str = DEFAULT_CURRENCY,
        amount_unit: AmountUnit | None = None,
    ) -> OrderLog:
        """Build from a polars DataFrame (needs the ``polars`` extra); as :meth:`from_pandas`."""
        return orders_from_frame("polars", frame, build=cls.from_arrays, columns=columns,
                                 tz=tz, currency=currency, amount_unit=amount_unit)

    @classmethod
    def from_arrow(
        cls,
        table: Any,
        *,
        columns: CsvColumns | Mapping[str, Any] | None = None,
        tz: str | dt.tzinfo | None = None,
        currency: str = DEFAULT_CURRENCY,
        amount_unit: AmountUnit | None = None,
    ) -> OrderLog:
        """Build from a pyarrow Table or RecordBatch (needs the ``arrow`` extra); as
        :meth:`from_pandas`."""
        return orders_from_frame("arrow", table, build=cls.from_arrays, columns=columns,
                                 tz=tz, currency=currency, amount_unit=amount_unit)

    @classmethod
    def _build(
        cls,
        tz: dt.tzinfo,
        currency: str,
        ids: npt.NDArray[Any],
        placed: IntArray,
        amount: IntArray,
        refunded: IntArray | SparseFen,
        status: npt.NDArray[np.int8],
        paid: IntArray | None,
        order_ids: npt.NDArray[Any] | None,
        provinces: npt.NDArray[np.str_] | None,
        channels: npt.NDArray[np.str_] | None,
        items: OrderItems | None,
        source: str,
        *,
        codes: npt.NDArray[np.integer[Any]] | OffsetCodes | None = None,
    ) -> OrderLog:
        """The log of checked columns; ``ids`` is the id of each row, or with ``codes`` the
        sorted distinct ids that ``codes`` (one per row) index."""
        Money(0, currency)  # validates the currency code
        check_total_fen(amount, "amount", source)
        uniq, codes = coded_ids(ids) if codes is None else (ids, codes)
        # Rows stay in input order; the customer/time layout waits for its first use. The
        # columns are the log's own (the callers pass fresh arrays or copies).
        log = cls(
            tz=tz,
            currency=currency,
            customer_ids=uniq,
            customer_starts=None,
            customer_codes=codes,
            placed_at_us=placed,
            amount_fen=amount,
            refunded_fen=refunded if isinstance(refunded, SparseFen) else SparseFen.of(refunded),
            status_codes=status.astype(np.int8, copy=False),
            paid_at_us=paid,
            order_ids=order_ids,
            provinces=provinces,
            channels=channels,
            items=items,
        )
        log._freeze_columns()
        # Order lines are linked (and checked) against the laid-out rows now: a bad line is
        # an error of the constructor.
        return log if items is None else log._laid_out(source)

    def _laid_out(self, source: str = "<arrays>") -> OrderLog:
        """This log with its rows in the customer/time layout (itself when they are)."""
        if self._customer_starts is not None:
            return self
        twin: OrderLog | None = self._cache.get("layout")
        if twin is None:
            twin = self._lay_out(source)
            self._cache["layout"] = twin
        return twin

    def _lay_out(self, source: str) -> OrderLog:
        codes = _codes(self._customer_codes)
        n_customers = len(self.customer_ids)
        perm = customer_time_order(codes, self._placed_at_us, n_customers)
        take: Callable[[Any], Any] = (lambda a: a) if perm is None else (lambda a: a[perm])
        counts = np.bincount(codes, minlength=n_customers)
        starts = np.zeros(n_customers + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        # Sorted codes are runs of each code: a sequential repeat, not a random gather.
        codes_s: npt.NDArray[np.integer[Any]] = (
            codes if perm is None
            else np.repeat(np.arange(n_customers, dtype=codes.dtype), counts)
        )
        refunded = _dense(self._refunded_fen)
        oids_s = None if self._order_ids is None else take(self._order_ids)
        items = self._items
        if items is not None and items.order_rows is None:
            items = attach_items(items, oids_s, source)
        twin = OrderLog(
            tz=self.tz,
            currency=self.currency,
            customer_ids=self.customer_ids,
            customer_starts=starts,
            customer_codes=codes_s,
            placed_at_us=take(self._placed_at_us),
            amount_fen=take(self._amount_fen).astype(np.int64, copy=False),
            refunded_fen=take(refunded) if refunded.any() else refunded,
            status_codes=take(self._status_codes),
            paid_at_us=None if self._paid_at_us is None else take(self._paid_at_us),
            order_ids=oids_s,
            provinces=None if self._provinces is None else take(self._provinces),
            channels=None if self._channels is None else take(self._channels),
            items=items,
        )
        twin._freeze_columns()
        return twin

    def _input_rows(self) -> InputColumns | None:
        """The row columns in input order while the layout is not made yet, else ``None``.

        For kernels that need no customer layout (:func:`ecrm.rfm.score`).
        """
        if self._customer_starts is not None or "layout" in self._cache:
            return None
        rows: InputColumns | None = self._cache.get("input")
        if rows is None:
            placed = self._placed_at_us
            codes = self._customer_codes
            rows = InputColumns(
                customer_codes=codes.offsets if isinstance(codes, OffsetCodes) else codes,
                n_buckets=codes.span if isinstance(codes, OffsetCodes) else len(self.customer_ids),
                buckets=codes.buckets if isinstance(codes, OffsetCodes) else None,
                placed_at_us=placed,
                amount_fen=self._amount_fen,
                refunds=(self._refunded_fen if isinstance(self._refunded_fen, SparseFen)
                         else SparseFen.of(self._refunded_fen)),  # (a log pickled dense)
                status_codes=self._status_codes,
                time_sorted=(non_decreasing(placed) if self._cache.get("time_sorted") is None
                             else bool(self._cache["time_sorted"])),
            )
            self._cache["input"] = rows
        return rows

    # -- pickling: the columns, not the caches ------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        """The fields without the cache (a layout or a row view is made again on first use:
        the layout is a second copy of every column)."""
        return {f.name: getattr(self, f.name) for f in attrs.fields(type(self))
                if f.name != "_cache"}

    def __setstate__(self, state: dict[str, Any] | tuple[Any, ...]) -> None:
        """Restore the fields (a dict, or the tuple of an older attrs); a cache that a
        pickle of an earlier version holds is dropped."""
        names = [f.name for f in attrs.fields(type(self))]
        items = state.items() if isinstance(state, dict) else zip(names, state, strict=False)
        for name, value in items:
            if name != "_cache":
                object.__setattr__(self, name, value)
        object.__setattr__(self, "_cache", {})

    # -- the row columns, in the customer/time layout -----------------------------------------
    @property
    def customer_starts(self) -> IntArray:
        """int64, shape (n_customers + 1,): row offsets per customer code."""
        starts = self._laid_out()._customer_starts
        assert starts is not None
        return starts

    @property
    def customer_codes(self) -> npt.NDArray[np.integer[Any]]:
        """int32/int64, shape (n,): the customer code of each row."""
        return _codes(self._laid_out()._customer_codes)

    @property
    def placed_at_us(self) -> IntArray:
        """int64, shape (n,): epoch microseconds (UTC)."""
        return self._laid_out()._placed_at_us

    @property
    def amount_fen(self) -> IntArray:
        """int64, shape (n,): order amounts in fen."""
        return self._laid_out()._amount_fen.astype(np.int64, copy=False)

    @property
    def refunded_fen(self) -> IntArray:
        """int64, shape (n,): refunded fen (0 <= refunded <= amount)."""
        return _dense(self._laid_out()._refunded_fen)

    @property
    def status_codes(self) -> npt.NDArray[np.int8]:
        """int8, shape (n,): ``OrderStatus.code`` of each row."""
        return self._laid_out()._status_codes

    @property
    def paid_at_us(self) -> IntArray | None:
        """int64, shape (n,): epoch microseconds or ``NAT_US``; ``None`` if unknown."""
        return self._laid_out()._paid_at_us

    @property
    def order_ids(self) -> npt.NDArray[Any] | None:
        """Shape (n,), or ``None`` when the source had no order ids."""
        return self._laid_out()._order_ids

    @property
    def provinces(self) -> npt.NDArray[np.str_] | None:
        """str, shape (n,) (``""`` when missing), or ``None``."""
        return self._laid_out()._provinces

    @property
    def channels(self) -> npt.NDArray[np.str_] | None:
        """str, shape (n,) (``""`` when missing), or ``None``."""
        return self._laid_out()._channels

    @property
    def items(self) -> OrderItems | None:
        """The order lines (``order_rows`` in the laid-out rows), or ``None``."""
        return self._laid_out()._items

    def _freeze_columns(self) -> None:
        """Make every column read-only: the log is a value, shared freely between results."""
        for value in attrs.astuple(self, recurse=False):
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
        if self._items is not None:
            for value in attrs.astuple(self._items, recurse=False):
                if isinstance(value, np.ndarray):
                    value.flags.writeable = False

    # -- sizes and lookups ----------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._placed_at_us)

    @property
    def n_customers(self) -> int:
        """Number of distinct customers with at least one order (of any status)."""
        return len(self.customer_ids)

    def __repr__(self) -> str:
        span = ""
        if len(self):
            lo = us_to_datetime(int(self._placed_at_us.min()), self.tz).date()
            hi = us_to_datetime(int(self._placed_at_us.max()), self.tz).date()
            span = f", from {lo} to {hi}"
        return (
            f"OrderLog({len(self):,} orders, {self.n_customers:,} customers{span}, "
            f"tz={zone_name(self.tz)!r}, currency={self.currency!r})"
        )

    def customer_code(self, customer_id: Any) -> int:
        """The dense code of ``customer_id``.

        Raises:
            UnknownCustomerError: the customer has no order in the log.
        """
        return customer_code_in(self.customer_ids, customer_id)

    def customer_rows(self, customer_id: Any) -> slice:
        """The rows of one customer, in time order."""
        return customer_rows_in(self.customer_ids, self.customer_starts, customer_id)

    # -- derived columns ------------------------------------------------------------------
    def valid_mask(self, statuses: Iterable[OrderStatus] | None = None) -> BoolArray:
        """Which rows are valid orders: status in ``statuses`` and not fully refunded.

        ``statuses`` defaults to :data:`DEFAULT_VALID_STATUSES`. The default mask is cached.
        """
        wanted = DEFAULT_VALID_STATUSES if statuses is None else frozenset(parse_status(s) for s in statuses)
        key = ("valid", wanted)
        cached = self._cache.get(key)
        if cached is None:
            # A lookup table by status code: one pass, ~4x faster than np.isin.
            wanted_code = status_table(wanted)
            fully_refunded = (self.refunded_fen > 0) & (self.refunded_fen >= self.amount_fen)
            cached = wanted_code[self.status_codes.view(np.uint8)] & ~fully_refunded
            cached.flags.writeable = False
            self._cache[key] = cached
        return cached

    @property
    def net_fen(self) -> IntArray:
        """``amount_fen − refunded_fen`` per row (cached)."""
        cached = self._cache.get("net")
        if cached is None:
            cached = self.amount_fen - self.refunded_fen
            cached.flags.writeable = False
            self._cache["net"] = cached
        return cached

    @property
    def placed_day(self) -> IntArray:
        """Local calendar day (days since 1970-01-01 in ``tz``) of each row (cached)."""
        cached = self._cache.get("day")
        if cached is None:
            cached = local_days(self.placed_at_us, self.tz)
            cached.flags.writeable = False
            self._cache["day"] = cached
        return cached

    @property
    def statuses(self) -> tuple[OrderStatus, ...]:
        """The status enum of each row code (index with ``status_codes``)."""
        return STATUS_BY_CODE

    def instant_us(self, when: dt.datetime, field: str = "as_of") -> int:
        """Epoch microseconds of an aware datetime (validated)."""
        from ecrm._time import require_aware

        return datetime_to_us(require_aware(when, field))

    # -- selection and rows ---------------------------------------------------------------
    def select(self, mask: BoolArray) -> OrderLog:
        """A new log with the rows where ``mask`` is true (customers left without rows drop out).

        Args:
            mask: bool, shape (n,).
        """
        mask = np.asarray(mask)
        if mask.dtype != np.bool_ or mask.shape != (len(self),):
            raise InvalidValueError("mask", f"must be a bool array of shape ({len(self)},)", f"{mask.dtype} {mask.shape}")
        rows = np.flatnonzero(mask)
        kept_codes = self.customer_codes[rows]
        present = np.zeros(self.n_customers, dtype=bool)
        present[kept_codes] = True
        remap = np.cumsum(present) - 1
        new_codes = remap[kept_codes].astype(self.customer_codes.dtype, copy=False)
        n_new = int(present.sum())
        starts = np.zeros(n_new + 1, dtype=np.int64)
        np.cumsum(np.bincount(new_codes, minlength=n_new), out=starts[1:])
        items = None
        if self.items is not None and self.items.order_rows is not None:
            row_map = np.full(len(self), -1, dtype=np.int64)
            row_map[rows] = np.arange(len(rows))
            new_rows = row_map[self.items.order_rows]
            keep = new_rows >= 0
            it = self.items
            items = OrderItems(it.order_ids[keep], it.skus[keep], it.categories[keep],
                               it.quantities[keep], it.unit_price_fen[keep], new_rows[keep])
        sub = OrderLog(
            tz=self.tz, currency=self.currency,
            customer_ids=self.customer_ids[present], customer_starts=starts,
            customer_codes=new_codes, placed_at_us=self.placed_at_us[rows],
            amount_fen=self.amount_fen[rows], refunded_fen=self.refunded_fen[rows],
            status_codes=self.status_codes[rows],
            paid_at_us=None if self.paid_at_us is None else self.paid_at_us[rows],
            order_ids=None if self.order_ids is None else self.order_ids[rows],
            provinces=None if self.provinces is None else self.provinces[rows],
            channels=None if self.channels is None else self.channels[rows],
            items=items,
        )
        sub._freeze_columns()
        return sub

    def order_at(self, row: int) -> Order:
        """The :class:`Order` value of one row (for display and tests; slow in bulk)."""
        cid = self.customer_ids[int(self.customer_codes[row])]
        oid = str(self.order_ids[row]) if self.order_ids is not None else f"row-{row}"
        items: tuple[OrderItem, ...] = ()
        if self.items is not None and self.items.order_rows is not None:
            lo, hi = np.searchsorted(self.items.order_rows, [row, row + 1])
            it = self.items
            items = tuple(
                OrderItem(
                    sku=str(it.skus[k]),
                    unit_price=Money(int(it.unit_price_fen[k]), self.currency),
                    quantity=int(it.quantities[k]),
                    category=str(it.categories[k]) or None,
                )
                for k in range(int(lo), int(hi))
            )
        paid = None
        if self.paid_at_us is not None and self.paid_at_us[row] != NAT_US:
            paid = us_to_datetime(int(self.paid_at_us[row]), self.tz)
        refunded = int(self.refunded_fen[row])
        return Order(
            order_id=oid,
            customer_id=cid.item() if isinstance(cid, np.generic) else cid,
            placed_at=us_to_datetime(int(self.placed_at_us[row]), self.tz),
            amount=Money(int(self.amount_fen[row]), self.currency),
            status=STATUS_BY_CODE[int(self.status_codes[row])],
            paid_at=paid,
            refunded=Money(refunded, self.currency) if refunded else None,
            items=items,
            province=(str(self.provinces[row]) or None) if self.provinces is not None else None,
            channel=(str(self.channels[row]) or None) if self.channels is not None else None,
        )

    def __iter__(self) -> Iterator[Order]:
        """Iterate the orders as :class:`Order` values, by customer then time."""
        for row in range(len(self)):
            yield self.order_at(row)


#: Rows from which :meth:`OrderLog.from_arrays` codes the ids and converts the times in
#: threads of their own.
_THREAD_ROWS = 1_000_000


class InputColumns(NamedTuple):
    """The row columns of an :class:`OrderLog` in input order (see ``OrderLog._input_rows``).

    ``customer_codes`` index ``n_buckets`` per-customer slots: the customer codes
    (``buckets`` is ``None``), or the offsets of :class:`~ecrm._compact.OffsetCodes`, whose
    slots taken at ``buckets`` are the customer codes' (unused slots hold nothing).
    ``refunds``: the refunded fen, kept as its non-zero rows; ``time_sorted``:
    ``placed_at_us`` is non-decreasing.
    """

    customer_codes: npt.NDArray[np.integer[Any]]
    n_buckets: int
    buckets: npt.NDArray[np.intp] | None
    placed_at_us: IntArray
    amount_fen: npt.NDArray[np.signedinteger[Any]]
    refunds: SparseFen
    status_codes: npt.NDArray[np.int8]
    time_sorted: bool


class InputRows(NamedTuple):
    """What earlier versions cached as a log's input-order rows. A log pickled by them
    holds one; it is read back (and then dropped with the rest of the cache) so that the
    pickle loads. Nothing makes one now: see :class:`InputColumns`."""

    customer_codes: npt.NDArray[np.integer[Any]]
    placed_at_us: IntArray
    amount_fen: IntArray
    refunded_fen: IntArray
    status_codes: npt.NDArray[np.int8]
    time_sorted: bool
    any_refund: bool


def _codes(codes: npt.NDArray[np.integer[Any]] | OffsetCodes) -> npt.NDArray[np.integer[Any]]:
    return codes.codes() if isinstance(codes, OffsetCodes) else codes


def _dense(column: IntArray | SparseFen) -> IntArray:
    return column.dense() if isinstance(column, SparseFen) else column
