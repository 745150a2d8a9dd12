"""Customer profiles as columns: :class:`CustomerTable`, one row per customer.

One customer is a :class:`~ecrm.Customer` (``ecrm._customer``); the columns are validated
by ``ecrm._customer_columns`` and the tags kept as compressed sparse rows
(``ecrm._customer_tags``). Contact data is personal data: the table keeps phones and
e-mails normalised, and its ``repr`` shows none.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, Any, Final

import attrs
import numpy as np
import numpy.typing as npt

# Birthday, Customer, Gender and the contact functions lived here before the module was
# split, and pickles written then name this module: it re-exports them (see __all__).
from ecrm._birthday import Birthday, is_leap
from ecrm._contact import (
    FAKE_PHONE_PREFIX,
    is_fake_phone,
    mask_email,
    mask_phone,
    normalize_email,
    normalize_phone,
)
from ecrm._customer import Customer
from ecrm._customer_columns import columns_from_arrays, columns_from_cells, frozen
from ecrm._customer_tags import csr_from_dense, csr_from_sets, csr_take
from ecrm._gender import GENDER_BY_CODE, Gender
from ecrm._load._csv import DEFAULT_CHUNK_ROWS
from ecrm._load._frames import customer_columns
from ecrm._load._parquet import read_parquet_table
from ecrm._load._problems import Problems
from ecrm._load._spec import CUSTOMERS, Engine, LoadInfo, Progress
from ecrm._load._tables import read_customer_cells
from ecrm._time import NAT_US, as_zone, datetime_to_us, require_aware, us_to_datetime, zone_name
from ecrm.errors import InvalidTypeError, InvalidValueError, _short_repr

__all__ = [
    "FAKE_PHONE_PREFIX",
    "Birthday",
    "Customer",
    "CustomerTable",
    "Gender",
    "is_fake_phone",
    "mask_email",
    "mask_phone",
    "normalize_email",
    "normalize_phone",
]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Columns of :meth:`CustomerTable.from_csv` (the header names unless ``columns`` maps them).
CSV_FIELDS: Final = CUSTOMERS.fields


_FRAME_COLUMNS: Final = {
    "customer_id": "customer_ids",
    "name": "names",
    "phone": "phones",
    "email": "emails",
    "gender": "genders",
    "birthday": "birthdays",
    "occupation": "occupations",
    "province": "provinces",
    "city": "cities",
    "tz": "zones",
    "zone": "zones",
    "member_since": "member_since",
    "blocked": "blocked",
    "marketing_opt_in": "marketing_opt_in",
    "tags": "tags",
}
"""Frame column name -> :meth:`CustomerTable.from_arrays` argument (singular names too)."""
_TIMES: Final = ("member_since",)
_NOT_PER_ROW: Final = frozenset({"tag_names", "tag_indptr", "tag_codes"})
"""Frame columns read as instants (naive ones are wall time in ``tz``)."""


@attrs.frozen(eq=False, repr=False)
class CustomerTable:
    """Customer profiles as validated numpy columns, one row per customer, sorted by id.

    Build it with :meth:`from_customers`, :meth:`from_arrays`, :meth:`from_csv`,
    :meth:`from_pandas`, :meth:`from_polars` or :meth:`from_arrow`. Text columns hold ``""``
    for unknown values.

    Attributes:
        tz: the store's time zone (used for naive inputs and for dates of instants).
        customer_ids: shape (n,), sorted and unique (int64 or str).
        names, phones, emails, occupations, provinces, cities: str, shape (n,).
        zones: str, shape (n,), the customer's IANA zone or ``""`` for the store zone.
        gender_codes: int8, shape (n,), :attr:`Gender.code` (0 unknown, 1 female, 2 male).
        birth_years: int16, shape (n,), 0 when unknown.
        birth_months, birth_days: int8, shape (n,), 0 when the birthday is unknown.
        tag_names: the distinct tags, sorted.
        tag_indptr: int64, shape (n + 1,): row i's tags are
            ``tag_codes[tag_indptr[i]:tag_indptr[i + 1]]`` (compressed sparse rows).
        tag_codes: int32, shape (number of (customer, tag) pairs,): indices into
            ``tag_names``, ascending within each row.
        member_since_us: int64 epoch microseconds of joining, ``NAT_US`` for non-members.
        blocked: bool, shape (n,), on the block list (恶意客户).
        marketing_opt_in: bool, shape (n,).
        load_info: what the loader read and decided, for a table read from a file.
    """

    tz: dt.tzinfo
    customer_ids: npt.NDArray[Any]
    names: npt.NDArray[np.str_]
    phones: npt.NDArray[np.str_]
    emails: npt.NDArray[np.str_]
    gender_codes: npt.NDArray[np.int8]
    birth_years: npt.NDArray[np.int16]
    birth_months: npt.NDArray[np.int8]
    birth_days: npt.NDArray[np.int8]
    occupations: npt.NDArray[np.str_]
    provinces: npt.NDArray[np.str_]
    cities: npt.NDArray[np.str_]
    zones: npt.NDArray[np.str_]
    tag_names: tuple[str, ...]
    tag_indptr: IntArray
    tag_codes: npt.NDArray[np.int32]
    member_since_us: IntArray
    blocked: BoolArray
    marketing_opt_in: BoolArray
    load_info: LoadInfo | None = attrs.field(default=None, kw_only=True)

    # -- constructors -----------------------------------------------------------------
    @classmethod
    def from_customers(
        cls, customers: Iterable[Customer], *, tz: str | dt.tzinfo | None = None
    ) -> CustomerTable:
        """Build a table from :class:`Customer` values.

        Raises:
            InvalidTypeError: an element is not a ``Customer``, or ids mix str and int.
            DataFormatErrorGroup: duplicate customer ids (each repeat listed).
        """
        rows = list(customers)
        for i, c in enumerate(rows):
            if not isinstance(c, Customer):
                raise InvalidTypeError(
                    f"customers[{i}] must be a Customer, got {type(c).__name__} {_short_repr(c)}"
                )
        kinds = {type(c.customer_id) for c in rows}
        if len(kinds) > 1:
            raise InvalidTypeError(
                "customer_id values must be all str or all int, got a mix of str and int"
            )
        ids = np.asarray([c.customer_id for c in rows], dtype=np.int64 if kinds == {int} else str)
        tag_sets: dict[frozenset[str], int] = {}
        set_of_row = np.asarray(
            [tag_sets.setdefault(c.tags, len(tag_sets)) for c in rows], dtype=np.intp
        )
        vocab, tag_indptr, tag_codes = csr_from_sets(list(tag_sets), set_of_row)

        def text(values: Iterable[str | None]) -> npt.NDArray[np.str_]:
            return np.asarray([v or "" for v in values], dtype=str).reshape(len(rows))

        bdays = [c.birthday for c in rows]
        return cls._build(
            as_zone(tz),
            ids,
            "<customers>",
            names=text(c.name for c in rows),
            phones=text(c.phone for c in rows),
            emails=text(c.email for c in rows),
            gender_codes=np.asarray([c.gender.code for c in rows], dtype=np.int8),
            birth_years=np.asarray([(b.year or 0) if b else 0 for b in bdays], dtype=np.int16),
            birth_months=np.asarray([b.month if b else 0 for b in bdays], dtype=np.int8),
            birth_days=np.asarray([b.day if b else 0 for b in bdays], dtype=np.int8),
            occupations=text(c.occupation for c in rows),
            provinces=text(c.province for c in rows),
            cities=text(c.city for c in rows),
            zones=text(c.tz for c in rows),
            tag_names=vocab,
            tag_indptr=tag_indptr,
            tag_codes=tag_codes,
            member_since_us=np.asarray(
                [
                    NAT_US if c.member_since is None else datetime_to_us(c.member_since)
                    for c in rows
                ],
                dtype=np.int64,
            ),
            blocked=np.asarray([c.blocked for c in rows], dtype=bool),
            marketing_opt_in=np.asarray([c.marketing_opt_in for c in rows], dtype=bool),
        )

    @classmethod
    def from_arrays(
        cls,
        customer_ids: Sequence[Any] | npt.NDArray[Any],
        *,
        names: Sequence[str | None] | npt.NDArray[Any] | None = None,
        phones: Sequence[str | None] | npt.NDArray[Any] | None = None,
        emails: Sequence[str | None] | npt.NDArray[Any] | None = None,
        genders: Sequence[Any] | npt.NDArray[Any] | None = None,
        birthdays: Sequence[Birthday | dt.date | str | None] | None = None,
        birth_years: Sequence[int] | npt.NDArray[Any] | None = None,
        birth_months: Sequence[int] | npt.NDArray[Any] | None = None,
        birth_days: Sequence[int] | npt.NDArray[Any] | None = None,
        occupations: Sequence[str | None] | npt.NDArray[Any] | None = None,
        provinces: Sequence[str | None] | npt.NDArray[Any] | None = None,
        cities: Sequence[str | None] | npt.NDArray[Any] | None = None,
        zones: Sequence[str | None] | npt.NDArray[Any] | None = None,
        tags: Sequence[Iterable[str] | None] | None = None,
        member_since: Sequence[dt.datetime | None] | npt.NDArray[Any] | None = None,
        blocked: Sequence[bool] | npt.NDArray[Any] | None = None,
        marketing_opt_in: Sequence[bool] | npt.NDArray[Any] | None = None,
        tz: str | dt.tzinfo | None = None,
        source: str = "<arrays>",
    ) -> CustomerTable:
        """Validate and build a table from equal-length columns.

        Args:
            customer_ids: str or int ids, shape (n,), unique.
            names, occupations, provinces, cities: text (``None`` / ``""`` unknown);
                occupations are trimmed.
            phones: mainland mobiles (normalised to 11 digits); ``None`` / ``""`` unknown.
            emails: e-mail addresses; ``None`` / ``""`` unknown.
            genders: :class:`Gender` members, their names, ``f`` / ``m`` / ``女`` / ``男``, or
                int codes 0–2.
            birthdays: :class:`Birthday` / ``date`` / ``"MM-DD"`` text / ``None`` per row; or
                instead ``birth_months`` and ``birth_days`` (0 = unknown) with optional
                ``birth_years`` (0 = unknown), vectorised.
            zones: IANA zone names, ``""`` / ``None`` for the store zone.
            tags: one collection of tag strings per row.
            member_since: opt-in times: aware datetimes or ``None``, or numpy ``datetime64``
                wall-clock times in ``tz`` (NaT = not a member).
            blocked, marketing_opt_in: bools (defaults false / true).
            tz: the store's zone (default ``Asia/Shanghai``).
            source: a name for error messages.

        Raises:
            InvalidValueError: columns of different lengths.
            DataFormatErrorGroup: every bad cell (row, column, value, rule), duplicates included.
        """
        arrays = {
            "customer_ids": customer_ids,
            "names": names,
            "phones": phones,
            "emails": emails,
            "genders": genders,
            "birthdays": birthdays,
            "birth_years": birth_years,
            "birth_months": birth_months,
            "birth_days": birth_days,
            "occupations": occupations,
            "provinces": provinces,
            "cities": cities,
            "zones": zones,
            "tags": tags,
            "member_since": member_since,
            "blocked": blocked,
            "marketing_opt_in": marketing_opt_in,
        }
        zone, ids, columns = columns_from_arrays(arrays, tz=tz, source=source)
        return cls._build(zone, ids, source, **columns)

    # The file and frame constructors are thin forwards: a loader (ecrm._load, which never
    # imports this module) returns plain columns and this class builds itself from them.
    @classmethod
    def from_csv(
        cls,
        path: str | os.PathLike[str] | IO[bytes],
        *,
        columns: Mapping[str, str] | None = None,
        tz: str | dt.tzinfo | None = None,
        tag_separator: str = ";",
        encoding: str = "auto",
        engine: Engine = "auto",
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        progress: Progress | None = None,
    ) -> CustomerTable:
        """Read customers from a CSV file with a header row, streaming it (the loading layer
        of :func:`ecrm.read_orders_csv`: encodings, ``.gz`` / ``.zip``, ``-`` for stdin,
        both engines, every problem at once).

        Columns (header names; ``columns`` maps a field to another header): ``customer_id``
        (required), ``name``, ``phone``, ``email``, ``gender``, ``birthday``
        (``YYYY-MM-DD``, ``MM-DD`` or ``--MM-DD``), ``occupation``, ``province``, ``city``,
        ``tz``, ``tags`` (separated by ``tag_separator``), ``member_since`` (ISO 8601; naive
        times are in ``tz``), ``blocked`` and ``marketing_opt_in`` (``true`` / ``false`` /
        ``1`` / ``0`` / ``yes`` / ``no`` / ``是`` / ``否``). Other columns are ignored. Ids
        are kept as text.

        Raises:
            DataFormatErrorGroup: every bad cell with file, physical line (header = line 1),
                column, value and rule; ragged rows, undecodable bytes, a quote not closed,
                duplicate or missing headers; duplicate ids. No table is returned.
        """
        zone = as_zone(tz)
        read = read_customer_cells(
            path, columns=columns, encoding=encoding, engine=engine, chunk_rows=chunk_rows,
            progress=progress,
        )
        ids, columns = columns_from_cells(read.cells, read.lines, read.headers, zone,
                                          read.info.source, tag_separator)
        table = cls._build(zone, ids, read.info.source, **columns)
        return attrs.evolve(table, load_info=read.info)

    @classmethod
    def from_parquet(
        cls,
        path: str | os.PathLike[str],
        *,
        columns: Mapping[str, str] | None = None,
        tz: str | dt.tzinfo | None = None,
    ) -> CustomerTable:
        """Read a Parquet file or a directory of them (hive-partitioned too); columns and
        errors as :meth:`from_arrow` (needs the ``arrow`` extra)."""
        table = read_parquet_table(path, "CustomerTable.from_parquet")
        read = customer_columns("arrow", table, "CustomerTable.from_parquet",
                                times=_frame_times(columns))
        return cls._from_frame_columns(read, tz, os.fspath(path), columns)

    @classmethod
    def from_pandas(
        cls,
        frame: Any,
        *,
        columns: Mapping[str, str] | None = None,
        tz: str | dt.tzinfo | None = None,
    ) -> CustomerTable:
        """Build from a pandas DataFrame whose columns are named like :meth:`from_arrays`'s
        arguments (``customer_id`` or ``customer_ids``, ``name`` or ``names``, …), or as
        ``columns`` maps the fields of :meth:`from_csv` (``{"customer_id": "会员"}``).

        ``member_since`` may be zone-aware (converted exactly) or naive (wall time in
        ``tz``). Needs the optional ``pandas`` package; it is imported only here.

        Raises:
            MissingDependencyError: pandas is not installed.
            InvalidTypeError: ``frame`` is not a pandas DataFrame, or ``columns`` is not a
                mapping.
            InvalidValueError: there is no customer id column.
            DataFormatErrorGroup: every bad cell (0-based row, column, value, rule) at once.
        """
        read = customer_columns("pandas", frame, "CustomerTable.from_pandas",
                                times=_frame_times(columns))
        return cls._from_frame_columns(read, tz, "<pandas>", columns)

    @classmethod
    def from_polars(
        cls,
        frame: Any,
        *,
        columns: Mapping[str, str] | None = None,
        tz: str | dt.tzinfo | None = None,
    ) -> CustomerTable:
        """Build from a polars DataFrame; columns, arguments and errors as :meth:`from_pandas`.

        Raises:
            MissingDependencyError: polars is not installed.
        """
        read = customer_columns("polars", frame, "CustomerTable.from_polars",
                                times=_frame_times(columns))
        return cls._from_frame_columns(read, tz, "<polars>", columns)

    @classmethod
    def from_arrow(
        cls,
        table: Any,
        *,
        columns: Mapping[str, str] | None = None,
        tz: str | dt.tzinfo | None = None,
    ) -> CustomerTable:
        """Build from a pyarrow Table; columns, arguments and errors as :meth:`from_pandas`.

        Raises:
            MissingDependencyError: pyarrow is not installed.
        """
        read = customer_columns("arrow", table, "CustomerTable.from_arrow",
                                times=_frame_times(columns))
        return cls._from_frame_columns(read, tz, "<arrow>", columns)

    @classmethod
    def _from_frame_columns(
        cls,
        columns: dict[str, Any],
        tz: str | dt.tzinfo | None,
        source: str,
        mapping: Mapping[str, str] | None = None,
    ) -> CustomerTable:
        renamed = {h: f for f, h in CUSTOMERS.headers(mapping).items()} if mapping else {}
        kwargs = {
            _FRAME_COLUMNS.get(renamed.get(name, name), renamed.get(name, name)): values
            for name, values in columns.items()
        }
        if "customer_ids" not in kwargs:
            raise InvalidValueError("frame", "needs a customer_id column", list(columns))
        ids = kwargs.pop("customer_ids")
        return cls.from_arrays(ids, tz=tz, source=source, **kwargs)

    @classmethod
    def _build(
        cls, tz: dt.tzinfo, ids: npt.NDArray[Any], source: str, **columns: Any
    ) -> CustomerTable:
        if "tag_matrix" in columns:  # a dense (n, tags) bool matrix: store it sparsely
            columns["tag_indptr"], columns["tag_codes"] = csr_from_dense(
                np.asarray(columns.pop("tag_matrix"), dtype=bool)
            )
        problems = Problems(source)
        if len(ids) > 1 and not np.all(ids[1:] > ids[:-1]):
            order = np.argsort(ids, kind="stable")
            s = ids[order]
            dup = np.flatnonzero(s[1:] == s[:-1])
            if dup.size:
                problems.add_rows(
                    np.sort(order[dup + 1]),
                    "customer_ids",
                    ids,
                    "must be unique (this id appears earlier)",
                )
                problems.raise_if_any("customers")
            ids = s
            indptr, codes = csr_take(columns["tag_indptr"], columns["tag_codes"], order)
            columns = {
                k: (v if k in _NOT_PER_ROW else v[order]) for k, v in columns.items()
            }
            columns["tag_indptr"], columns["tag_codes"] = indptr, codes
        for key in ("names", "phones", "emails", "occupations", "provinces", "cities", "zones"):
            if columns[key].dtype.kind != "U":
                columns[key] = columns[key].astype(str)
        # Read-only views: the table cannot be changed through its columns, and the
        # caller's own arrays (kept without a copy where possible) stay writeable.
        return cls(tz=tz, customer_ids=frozen(ids), **{k: frozen(v) for k, v in columns.items()})

    # -- sizes and lookups ------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.customer_ids)

    def __repr__(self) -> str:
        members = int(np.count_nonzero(self.member_since_us != NAT_US))
        return (
            f"CustomerTable({len(self):,} customers, {members:,} members, "
            f"tz={zone_name(self.tz)!r})"
        )

    def index_of(self, customer_ids: Any) -> IntArray:
        """Row of each id (vectorised), ``-1`` for ids not in the table.

        Args:
            customer_ids: ids of the table's kind (int or str), shape (k,).

        Returns:
            int64, shape (k,).
        """
        ids = self.customer_ids
        keys = np.asarray(customer_ids)
        if keys.ndim == 0:
            keys = keys.reshape(1)
        if len(ids) == 0 or len(keys) == 0:
            return np.full(len(keys), -1, dtype=np.int64)
        if (ids.dtype.kind == "U") != (keys.dtype.kind == "U"):
            return np.full(len(keys), -1, dtype=np.int64)
        pos = np.searchsorted(ids, keys)
        clipped = np.minimum(pos, len(ids) - 1)
        found = ids[clipped] == keys
        return np.where(found, clipped, -1).astype(np.int64)

    def _code(self, customer_id: Any) -> int:
        from ecrm.errors import UnknownCustomerError

        if isinstance(customer_id, bool) or not isinstance(
            customer_id, str | int | np.integer | np.str_
        ):
            raise UnknownCustomerError(f"customer {customer_id!r} is not in this table")
        pos = int(self.index_of(np.asarray([customer_id]))[0])
        if pos < 0:
            raise UnknownCustomerError(f"customer {customer_id!r} is not in this table")
        return pos

    def __contains__(self, customer_id: object) -> bool:
        try:
            self._code(customer_id)
        except KeyError:
            return False
        return True

    def row(self, customer_id: Any) -> Customer:
        """The :class:`Customer` with this id.

        Raises:
            UnknownCustomerError: the id is not in the table.
        """
        return self.customer_at(self._code(customer_id))

    def customer_at(self, i: int) -> Customer:
        """The :class:`Customer` of row ``i`` (for display and tests; slow in bulk)."""
        cid = self.customer_ids[i]
        month = int(self.birth_months[i])
        year = int(self.birth_years[i])
        since = int(self.member_since_us[i])
        return Customer(
            customer_id=cid.item() if isinstance(cid, np.generic) else cid,
            name=str(self.names[i]) or None,
            phone=str(self.phones[i]) or None,
            email=str(self.emails[i]) or None,
            gender=GENDER_BY_CODE[int(self.gender_codes[i])],
            birthday=Birthday(month, int(self.birth_days[i]), year or None) if month else None,
            occupation=str(self.occupations[i]) or None,
            province=str(self.provinces[i]) or None,
            city=str(self.cities[i]) or None,
            tz=str(self.zones[i]) or None,
            tags=self.tags_of(i),
            member_since=None if since == NAT_US else us_to_datetime(since, self.tz),
            blocked=bool(self.blocked[i]),
            marketing_opt_in=bool(self.marketing_opt_in[i]),
        )

    def __iter__(self) -> Iterator[Customer]:
        """The customers as :class:`Customer` values, in id order."""
        for i in range(len(self)):
            yield self.customer_at(i)

    def tags_of(self, i: int) -> frozenset[str]:
        """The tags of row ``i``."""
        codes = self.tag_codes[self.tag_indptr[i] : self.tag_indptr[i + 1]]
        return frozenset(self.tag_names[k] for k in codes.tolist())

    @property
    def tag_matrix(self) -> npt.NDArray[np.bool_]:
        """bool, shape (n, len(tag_names)): row i has tag j. Built on access from the sparse
        :attr:`tag_indptr` / :attr:`tag_codes` (it takes n × tags bytes)."""
        matrix = np.zeros((len(self), len(self.tag_names)), dtype=bool)
        matrix[self._tag_rows(), self.tag_codes] = True
        return matrix

    def _tag_rows(self) -> npt.NDArray[np.intp]:
        """The row of each entry of :attr:`tag_codes`."""
        return np.repeat(np.arange(len(self)), np.diff(self.tag_indptr))

    # -- vectorised accessors ---------------------------------------------------------
    @property
    def genders(self) -> tuple[Gender, ...]:
        """The :class:`Gender` of each code (index with :attr:`gender_codes`)."""
        return GENDER_BY_CODE

    def has_tag(self, tag: str) -> BoolArray:
        """bool, shape (n,): which customers carry ``tag`` (all false for an unknown tag)."""
        out = np.zeros(len(self), dtype=bool)
        if tag in self.tag_names:
            out[self._tag_rows()[self.tag_codes == self.tag_names.index(tag)]] = True
        return out

    def ages_on(self, day: dt.date) -> IntArray:
        """Whole years of age on ``day``; int64, shape (n,), ``-1`` when the year is unknown.

        Like :meth:`Birthday.age_on`: a Feb 29 birthday adds a year on Mar 1 in common years.
        """
        if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
            raise InvalidTypeError(f"day must be a date, got {type(day).__name__} {day!r}")
        years = self.birth_years.astype(np.int64)
        before = (
            self.birth_months.astype(np.int64) * 100 + self.birth_days
        ) > day.month * 100 + day.day
        age = day.year - years - before
        return np.where(years > 0, age, -1)

    def birthday_on(self, day: dt.date) -> BoolArray:
        """bool, shape (n,): whose birthday is celebrated on ``day`` (year ignored; Feb 29
        birthdays on Feb 28 in common years)."""
        if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
            raise InvalidTypeError(f"day must be a date, got {type(day).__name__} {day!r}")
        hit = (self.birth_months == day.month) & (self.birth_days == day.day)
        if (day.month, day.day) == (2, 28) and not is_leap(day.year):
            hit |= (self.birth_months == 2) & (self.birth_days == 29)
        return hit  # type: ignore[no-any-return]

    def members(self, as_of: dt.datetime) -> BoolArray:
        """bool, shape (n,): who had joined the membership before ``as_of`` (half-open)."""
        at = datetime_to_us(require_aware(as_of, "as_of"))
        return (self.member_since_us != NAT_US) & (self.member_since_us < at)  # type: ignore[no-any-return]

    def select(self, mask: BoolArray) -> CustomerTable:
        """A new table with the rows where ``mask`` (bool, shape (n,)) is true."""
        mask = np.asarray(mask)
        if mask.dtype != np.bool_ or mask.shape != (len(self),):
            raise InvalidValueError(
                "mask",
                f"must be a bool array of shape ({len(self)},)",
                f"{mask.dtype} {mask.shape}",
            )
        columns = {
            f.name: (getattr(self, f.name) if f.name in _NOT_PER_ROW else getattr(self, f.name)[mask])
            for f in attrs.fields(CustomerTable)
            if f.name not in ("tz", "customer_ids", "load_info")
        }
        columns["tag_indptr"], columns["tag_codes"] = csr_take(
            self.tag_indptr, self.tag_codes, np.flatnonzero(mask)
        )
        return CustomerTable._build(self.tz, self.customer_ids[mask], "<select>", **columns)


# -- column helpers -----------------------------------------------------------------------
# Every parser looks at a whole column at once: numpy string operations for the common
# shapes, and the exact per-value parser (which also words the errors) only for distinct


def _frame_times(mapping: Mapping[str, str] | None) -> tuple[str, ...]:
    """The frame columns read as instants: ``member_since``, or the column ``mapping`` names.

    Raises:
        InvalidTypeError: ``mapping`` (the ``columns`` argument) is not a mapping or ``None``.
    """
    if mapping is not None and not isinstance(mapping, Mapping):
        raise InvalidTypeError(
            f"columns must be a mapping of field to header, got {type(mapping).__name__}"
        )
    return (*_TIMES, (mapping or {}).get("member_since", "member_since"))
