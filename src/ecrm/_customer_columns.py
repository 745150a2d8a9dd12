"""Validated column arrays of a :class:`~ecrm.CustomerTable`, from arrays or CSV cells.

Every parser looks at a whole column at once: numpy string operations for the common
shapes, and the exact per-value parser (which also words the errors) only for distinct
values or for the few cells the fast path does not settle. Every bad cell is reported
(row or line, column, value, rule) before anything is built.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ecrm._birthday import DAYS_IN_MONTH, Birthday
from ecrm._columns import check_lengths, distinct_values, ids_column, instants_column
from ecrm._contact import mask_email, mask_phone, normalize_email, normalize_phone
from ecrm._customer_tags import tag_columns, tags_from_texts
from ecrm._gender import GENDER_ALIASES, GENDER_RULE, Gender, parse_gender
from ecrm._load._problems import Problems
from ecrm._time import ISO_RULE, NAT_US, as_zone, parse_iso_instants
from ecrm.errors import InvalidTypeError, InvalidValueError, RowError

__all__ = ["columns_from_arrays", "columns_from_cells", "frozen"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
StrArray = npt.NDArray[np.str_]

_TRUE: Final = frozenset({"1", "true", "t", "yes", "y", "是"})
_FALSE: Final = frozenset({"0", "false", "f", "no", "n", "否", ""})


class _LineProblems(Problems):
    """Problems of a file's cells: row ``r`` is reported on physical line ``lines[r]``."""

    def __init__(self, source: str, lines: IntArray) -> None:
        super().__init__(source)
        self.lines = lines

    def add_rows(
        self,
        rows: npt.NDArray[np.intp] | Sequence[int],
        column: str,
        values: Any,
        rule: str,
        *,
        lines: npt.NDArray[np.int64] | None = None,
    ) -> None:
        super().add_rows(rows, column, values, rule, lines=self.lines if lines is None else lines)


def frozen(value: Any) -> Any:
    """A read-only view of an array (other values unchanged)."""
    if isinstance(value, np.ndarray):
        view = value.view()
        view.flags.writeable = False
        return view
    return value


def _text_column(values: Any, n: int, *, strip: bool = False) -> StrArray:
    if values is None:
        return np.full(n, "", dtype="U1")
    arr = np.asarray(values)
    if arr.size == 0:
        return np.zeros(0, dtype="U1")
    if arr.dtype.kind in "OS":
        arr = np.asarray(["" if v is None else str(v) for v in arr.tolist()], dtype=str).reshape(n)
    elif arr.dtype.kind != "U":
        raise InvalidTypeError(f"text columns must hold strings, got dtype {arr.dtype}")
    return np.strings.strip(arr) if strip else arr


def _ascii_printable(texts: StrArray) -> BoolArray:
    """bool per cell: every character is printable ASCII without spaces (33..126)."""
    width = texts.dtype.itemsize // 4
    if width == 0 or len(texts) == 0:
        return np.ones(len(texts), dtype=bool)
    cp = np.ascontiguousarray(texts).view(np.uint32).reshape(len(texts), width)
    return np.asarray((((cp > 32) & (cp < 127)) | (cp == 0)).all(axis=1))


def _str_array(values: Sequence[str]) -> StrArray:
    """A numpy str array of Python strings (sized first: numpy then skips its own scan)."""
    width = max(map(len, values), default=1) or 1
    return np.fromiter(values, dtype=f"U{width}", count=len(values))


class _Masked:
    """Indexable view of contact texts that hands out masked values only (for error reports)."""

    def __init__(self, texts: StrArray, mask: Any) -> None:
        self._texts = texts
        self._mask = mask

    def __getitem__(self, i: int) -> str:
        return str(self._mask(str(self._texts[i])))


def _contact_column(
    values: Any, n: int, column: str, normalize: Any, mask: Any, problems: Problems
) -> StrArray:
    if values is None:
        return np.full(n, "", dtype="U1")
    texts = _text_column(values, n, strip=True)
    if n == 0:
        return texts
    # Fast path: cells already in normal form (11-digit mobiles; e-mails with one @, a
    # dotted domain and no spaces, domain lower-cased below); the rest value by value.
    printable = _ascii_printable(texts)
    if normalize is normalize_phone:
        second = np.strings.slice(texts, 1, 2)
        ok = (
            printable & (np.strings.str_len(texts) == 11) & np.strings.isdecimal(texts)
            & np.strings.startswith(texts, "1") & (second >= "3") & (second <= "9")
        )
        out = np.where(ok, texts, "")
    else:
        local, _at, domain = np.strings.partition(texts, "@")
        ok = (
            printable & (np.strings.count(texts, "@") == 1) & (np.strings.str_len(local) > 0)
            & (np.strings.count(domain, ".") >= 1) & ~np.strings.startswith(domain, ".")
            & ~np.strings.endswith(domain, ".") & (np.strings.find(domain, "..") < 0)
        )
        out = np.where(ok, np.strings.add(np.strings.add(local, "@"), np.strings.lower(domain)), "")
    rest = np.flatnonzero(~ok & (texts != ""))
    if rest.size:
        uniq, inverse = distinct_values(texts[rest])
        fixed = np.empty(len(uniq), dtype=object)
        bad: dict[str, list[int]] = {}  # rule -> codes of the distinct values that break it
        for k, text in enumerate(uniq):
            try:
                fixed[k] = normalize(text, column)
            except InvalidValueError as exc:
                bad.setdefault(exc.rule, []).append(k)
                fixed[k] = ""
        for rule, codes in bad.items():
            problems.add_rows(rest[np.isin(inverse, codes)], column, _Masked(texts, mask), rule)
        out = out.astype(object)
        out[rest] = fixed[inverse]
        out = out.astype(str)
    return np.asarray(out, dtype=str).reshape(n)


def _gender_column(
    values: Any, n: int, problems: Problems, column: str = "genders", shown: Any = None
) -> npt.NDArray[np.int8]:
    """Gender codes from int codes 0..2, or members / aliases / ``None`` per row."""
    if values is None:
        return np.zeros(n, dtype=np.int8)
    arr = values if isinstance(values, np.ndarray) else np.asarray(list(values), dtype=object)
    if arr.dtype.kind in "iu":
        bad = np.flatnonzero((arr < 0) | (arr > 2))
        if bad.size:
            problems.add_rows(bad, column, arr, "must be a gender code 0..2")
        return arr.astype(np.int8)
    shown = arr if shown is None else shown
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    try:
        uniq, inverse = distinct_values(arr)
        out = np.asarray([_gender_code(v) for v in uniq], dtype=np.int8)[inverse]
    except TypeError:  # unhashable cells: one by one
        out = np.asarray([_gender_code(v) for v in arr.tolist()], dtype=np.int8)
    bad = np.flatnonzero(out < 0)
    if bad.size:
        problems.add_rows(bad, column, shown, GENDER_RULE)
    return np.where(out < 0, 0, out).astype(np.int8)


def _gender_code(value: object) -> int:
    """The code of a Gender, an alias text or ``None``; -1 for anything else."""
    if value is None or isinstance(value, Gender):
        return parse_gender(value).code
    if isinstance(value, str):
        found = GENDER_ALIASES.get(value.strip().lower())
        return -1 if found is None else found.code
    return -1


def _codepoints(texts: StrArray, width: int) -> npt.NDArray[np.int32]:
    """int32, shape (n, width): the code points of each cell, 0-padded (and cut) to ``width``."""
    n = len(texts)
    have = texts.dtype.itemsize // 4
    cp = np.zeros((n, width), dtype=np.int32)
    if n and have:
        cp[:, : min(have, width)] = (
            np.ascontiguousarray(texts).view(np.uint32).reshape(n, have)[:, :width]
        )
    return cp


def _birthday_texts(
    texts: StrArray, column: str, problems: Problems, shown: Any = None
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int8], npt.NDArray[np.int8]]:
    """``YYYY-MM-DD`` / ``MM-DD`` / ``--MM-DD`` cells (stripped; ``""`` = unknown) as
    (years, months, days), 0 where unknown; every bad cell reported with its rule.

    The zero-padded shapes are read from the cells' code points; other cells (one-digit
    fields, impossible dates) go to :meth:`Birthday.parse`, which also words the errors.
    """
    n = len(texts)
    years = np.zeros(n, dtype=np.int64)
    months = np.zeros(n, dtype=np.int64)
    days = np.zeros(n, dtype=np.int64)
    if n == 0:
        return years.astype(np.int16), months.astype(np.int8), days.astype(np.int8)
    shown = texts if shown is None else shown
    given = np.flatnonzero(texts != "")
    y, m, d, ok = _birthday_fast(texts[given])
    years[given], months[given], days[given] = y, m, d
    slow = given[~ok]
    bad: dict[str, list[int]] = {}
    for i in slow.tolist():
        try:
            bday = Birthday.parse(str(texts[i]), column)
        except InvalidValueError as exc:
            bad.setdefault(exc.rule, []).append(i)
            years[i] = months[i] = days[i] = 0
            continue
        years[i], months[i], days[i] = bday.year or 0, bday.month, bday.day
    for rule, rows in bad.items():
        problems.add_rows(np.asarray(rows), column, shown, rule)
    return years.astype(np.int16), months.astype(np.int8), days.astype(np.int8)


def _birthday_fast(texts: StrArray) -> tuple[IntArray, IntArray, IntArray, BoolArray]:
    """(years, months, days, ok) of the zero-padded valid birthdays among non-empty cells."""
    # One row per character position (contiguous), one past the longest shape: longer
    # cells differ there. Small ints and no division keep it to a few passes over memory.
    cp = np.ascontiguousarray(_codepoints(texts, 11).T)
    d = cp - 48
    isd = d.view(np.uint32) < 10
    dash = cp == 45
    end = cp == 0
    full = (isd[0] & isd[1] & isd[2] & isd[3] & dash[4] & isd[5] & isd[6] & dash[7] & isd[8]
            & isd[9] & end[10])  # YYYY-MM-DD
    nodash = dash[0] & dash[1] & isd[2] & isd[3] & dash[4] & isd[5] & isd[6] & end[7]  # --MM-DD
    short = isd[0] & isd[1] & dash[2] & isd[3] & isd[4] & end[5]  # MM-DD
    years = np.where(full, d[0] * 1000 + d[1] * 100 + d[2] * 10 + d[3], 0).astype(np.int64)
    months = np.where(
        full, d[5] * 10 + d[6], np.where(nodash, d[2] * 10 + d[3], np.where(short, d[0] * 10 + d[1], 0))
    ).astype(np.int64)
    days = np.where(
        full, d[8] * 10 + d[9], np.where(nodash, d[5] * 10 + d[6], np.where(short, d[3] * 10 + d[4], 0))
    ).astype(np.int64)
    # the rules of Birthday, vectorised; a cell breaking one goes to the exact parser
    dim = np.asarray(DAYS_IN_MONTH, dtype=np.int64)[np.clip(months, 0, 12)]
    ok = (full | nodash | short) & (months >= 1) & (months <= 12) & (days >= 1) & (days <= dim)
    ok &= (years == 0) | ((years >= 1900) & (years <= 2100))
    feb29 = np.flatnonzero((years != 0) & (months == 2) & (days == 29))
    if feb29.size:
        y = years[feb29]
        ok[feb29] &= (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    return years, months, days, ok


def _birthday_objects(
    values: Sequence[Any], problems: Problems
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int8], npt.NDArray[np.int8]]:
    """Birthdays given per row as text (vectorised), ``Birthday``, ``date`` or ``None``."""
    if isinstance(values, np.ndarray) and values.dtype.kind == "U":
        return _birthday_texts(np.strings.strip(values), "birthdays", problems, values)
    vals = values.tolist() if isinstance(values, np.ndarray) else list(values)
    n = len(vals)
    # The type of each cell, and every cell as text, at C speed: text cells are parsed
    # together; None is unknown; Birthday / date / anything else go one by one below.
    kinds = np.fromiter(map(type, vals), dtype=object, count=n)
    text = np.equal(kinds, np.asarray([str], dtype=object))
    texts = np.asarray(vals, dtype=str).reshape(n) if n else np.zeros(0, dtype="U1")
    texts[~text] = ""
    years, months, days = _birthday_texts(np.strings.strip(texts), "birthdays", problems, vals)
    others = np.flatnonzero(~text & np.not_equal(kinds, np.asarray([type(None)], dtype=object))).tolist()
    for i in others:
        v = vals[i]
        if isinstance(v, dt.date) and not isinstance(v, dt.datetime):
            try:
                v = Birthday.from_date(v)
            except InvalidValueError as exc:
                problems.add_rows(np.asarray([i]), "birthdays", vals, exc.rule)
                continue
        if not isinstance(v, Birthday):
            problems.add_rows(
                np.asarray([i]), "birthdays", vals, "must be a Birthday, date or MM-DD text"
            )
            continue
        years[i], months[i], days[i] = v.year or 0, v.month, v.day
    return years, months, days


def _birthday_columns(
    years: Any, months: Any, days: Any, n: int, problems: Problems
) -> tuple[Any, Any, Any]:
    if (months is None) != (days is None):
        raise InvalidValueError(
            "birth_months", "and birth_days must be given together", None, show_value=False
        )
    if months is None:
        if years is not None:
            raise InvalidValueError(
                "birth_years", "need birth_months and birth_days", None, show_value=False
            )
        z = np.zeros(n, dtype=np.int8)
        return np.zeros(n, dtype=np.int16), z, z.copy()
    m = _int_column(months, "birth_months")
    d = _int_column(days, "birth_days")
    y = np.zeros(n, dtype=np.int64) if years is None else _int_column(years, "birth_years")
    dim = np.asarray(DAYS_IN_MONTH, dtype=np.int64)
    known = m != 0
    bad_m = np.flatnonzero((m < 0) | (m > 12))
    if bad_m.size:
        problems.add_rows(bad_m, "birth_months", m, "must be 1..12 (0 = unknown)")
    mm = np.clip(m, 0, 12)
    bad_d = np.flatnonzero(known & (m >= 1) & (m <= 12) & ((d < 1) | (d > dim[mm])))
    if bad_d.size:
        problems.add_rows(bad_d, "birth_days", d, "must be a day of the birth month")
    bad_unknown = np.flatnonzero(~known & ((d != 0) | (y != 0)))
    if bad_unknown.size:
        problems.add_rows(
            bad_unknown, "birth_months", m, "must be given when a birth day or year is"
        )
    has_y = y != 0
    bad_y = np.flatnonzero(has_y & ((y < 1900) | (y > 2100)))
    if bad_y.size:
        problems.add_rows(bad_y, "birth_years", y, "must be 1900..2100 (0 = unknown)")
    leap = (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))
    bad_29 = np.flatnonzero(has_y & (m == 2) & (d == 29) & ~leap)
    if bad_29.size:
        problems.add_rows(bad_29, "birth_years", y, "must be a leap year for a Feb 29 birthday")
    return y.astype(np.int16), m.astype(np.int8), d.astype(np.int8)


def _int_column(values: Any, column: str) -> IntArray:
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise InvalidTypeError(f"{column} must hold integers, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _zone_column(
    values: Any, n: int, problems: Problems, column: str = "zones", *, strip: bool = False
) -> StrArray:
    """IANA zone names (``""`` = the store's zone), each distinct name checked once."""
    if values is None or n == 0:
        return _text_column(values, n)
    if isinstance(values, np.ndarray) and values.dtype.kind not in "UO":
        raise InvalidTypeError(f"text columns must hold strings, got dtype {values.dtype}")
    uniq, inverse = distinct_values(values)
    names = ["" if v is None else str(v) for v in uniq]
    if strip:
        names = [v.strip() for v in names]
    for k, name in enumerate(names):
        if not name:
            continue
        try:
            as_zone(name, column)
        except InvalidValueError as exc:
            problems.add_rows(np.flatnonzero(inverse == k), column, values, exc.rule)
    return _str_array(names)[inverse] if names else np.full(n, "", dtype="U1")



# -- flags and instants -------------------------------------------------------------------
_BOOL_RULE: Final = "must be true/false, 1/0, yes/no or 是/否"


def _bool_column(values: Any, n: int, default: bool, column: str) -> BoolArray:
    if values is None:
        return np.full(n, default, dtype=bool)
    arr = np.asarray(values)
    if arr.dtype.kind != "b":
        if arr.dtype.kind == "O" and all(isinstance(v, bool) for v in arr.tolist()):
            return arr.astype(bool)
        raise InvalidTypeError(f"{column} must hold bools, got dtype {arr.dtype}")
    return arr


def _bool_texts(
    texts: Sequence[str], default: bool, column: str, problems: Problems, shown: Any
) -> BoolArray:
    """``true``/``1``/``yes``/``是`` … cells (stripped; ``""`` gives ``default``)."""
    n = len(texts)
    if n == 0:
        return np.zeros(0, dtype=bool)
    uniq, inverse = distinct_values(texts)
    parsed = [default if not u.strip() else _parse_bool(u) for u in uniq]
    values = np.asarray([bool(p) for p in parsed], dtype=bool)[inverse]
    bad_codes = [k for k, p in enumerate(parsed) if p is None]
    if bad_codes:
        problems.add_rows(np.flatnonzero(np.isin(inverse, bad_codes)), column, shown, _BOOL_RULE)
    return values


def _parse_bool(text: str) -> bool | None:
    key = text.strip().lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    return None


def columns_from_arrays(
    arrays: dict[str, Any], *, tz: str | dt.tzinfo | None, source: str
) -> tuple[dt.tzinfo, npt.NDArray[Any], dict[str, Any]]:
    """Validate the columns of :meth:`CustomerTable.from_arrays`: the store's zone, the ids
    and the other columns (the keyword arguments of ``CustomerTable._build``).

    Args:
        arrays: each column argument of ``from_arrays`` (``customer_ids``, ``names``,
            …, ``marketing_opt_in``) to its column or ``None``, in the order to check them.
        tz: the store's zone (default ``Asia/Shanghai``).
        source: a name for error messages.

    Raises:
        InvalidValueError: columns of different lengths.
        DataFormatErrorGroup: every bad cell (row, column, value, rule), duplicates included.
    """
    customer_ids, names, phones, emails = (
        arrays["customer_ids"], arrays["names"], arrays["phones"], arrays["emails"])
    genders, birthdays, zones, tags = (
        arrays["genders"], arrays["birthdays"], arrays["zones"], arrays["tags"])
    birth_years, birth_months, birth_days = (
        arrays["birth_years"], arrays["birth_months"], arrays["birth_days"])
    occupations, provinces, cities = arrays["occupations"], arrays["provinces"], arrays["cities"]
    member_since, blocked, marketing_opt_in = (
        arrays["member_since"], arrays["blocked"], arrays["marketing_opt_in"])
    n = check_lengths(source, arrays)
    if birthdays is not None and (birth_months is not None or birth_days is not None):
        raise InvalidValueError(
            "birthdays",
            "give either birthdays or birth_months/birth_days, not both",
            None,
            show_value=False,
        )
    zone = as_zone(tz)
    problems = Problems(source)
    ids = (
        ids_column(customer_ids, "customer_ids", problems)
        if n
        else np.zeros(0, dtype=np.int64)
    )
    phone = _contact_column(phones, n, "phones", normalize_phone, mask_phone, problems)
    email = _contact_column(emails, n, "emails", normalize_email, mask_email, problems)
    gender = _gender_column(genders, n, problems)
    if birthdays is not None:
        years, months, days = _birthday_objects(birthdays, problems)
    else:
        years, months, days = _birthday_columns(
            birth_years, birth_months, birth_days, n, problems
        )
    zcol = _zone_column(zones, n, problems)
    vocab, tag_indptr, tag_codes = tag_columns(tags, n, problems)
    since = (
        np.full(n, NAT_US, dtype=np.int64)
        if member_since is None
        else instants_column(member_since, "member_since", zone, problems, allow_missing=True)
    )
    if len(ids) == n and n > 1:
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
    return zone, ids, {
        "names": _text_column(names, n),
        "phones": phone,
        "emails": email,
        "gender_codes": gender,
        "birth_years": years,
        "birth_months": months,
        "birth_days": days,
        "occupations": _text_column(occupations, n, strip=True),
        "provinces": _text_column(provinces, n),
        "cities": _text_column(cities, n),
        "zones": zcol,
        "tag_names": vocab,
        "tag_indptr": tag_indptr,
        "tag_codes": tag_codes,
        "member_since_us": since,
        "blocked": _bool_column(blocked, n, False, "blocked"),
        "marketing_opt_in": _bool_column(marketing_opt_in, n, True, "marketing_opt_in"),
    }


def columns_from_cells(
    cells: dict[str, list[str]],
    lines: list[int],
    mapping: Mapping[str, str],
    zone: dt.tzinfo,
    source: str,
    tag_separator: str,
) -> tuple[StrArray, dict[str, Any]]:
    """Validate the text cells of a CSV, a column at a time: the ids and the other columns
    of the table (the keyword arguments of ``CustomerTable._build``).

    Every bad cell is reported with its physical line (capped per column and rule), in
    line order; nothing is returned then.

    Raises:
        DataFormatErrorGroup: every bad cell, with its line.
    """
    n = len(lines)
    problems = _LineProblems(source, np.asarray(lines, dtype=np.int64))

    stripped: dict[str, StrArray] = {}

    def raw(field: str) -> Sequence[str]:
        return cells.get(field) or [""] * n

    def col(field: str) -> StrArray:
        if field not in stripped:
            values = cells.get(field)
            arr = _str_array(values) if values else np.full(n, "", dtype="U1")
            stripped[field] = np.strings.strip(arr) if n else arr
        return stripped[field]

    ids = col("customer_id")
    problems.add_rows(np.flatnonzero(ids == ""), mapping["customer_id"], ids, "must not be empty")
    if n > 1:
        order = np.argsort(ids, kind="stable")
        s = ids[order]
        starts = np.ones(n, dtype=bool)
        starts[1:] = s[1:] != s[:-1]
        first_row = order[np.flatnonzero(starts)][np.cumsum(starts) - 1]
        for k in np.flatnonzero(~starts & (s != "")).tolist():
            i, j = int(order[k]), int(first_row[k])
            problems.add(RowError(source, lines[i], mapping["customer_id"], str(ids[i]),
                                  f"must be unique (also on line {lines[j]})"))
    phones = _contact_column(col("phone"), n, mapping["phone"], normalize_phone, mask_phone, problems)
    emails = _contact_column(col("email"), n, mapping["email"], normalize_email, mask_email, problems)
    genders = _gender_column(raw("gender"), n, problems, mapping["gender"])
    years, months, days = _birthday_texts(col("birthday"), mapping["birthday"], problems, raw("birthday"))
    zones = _zone_column(raw("tz"), n, problems, mapping["tz"], strip=True)
    since, bad_since = parse_iso_instants(col("member_since"), zone)
    problems.add_rows(bad_since, mapping["member_since"], raw("member_since"), ISO_RULE)
    flags = {
        field: _bool_texts(raw(field), default, mapping[field], problems, raw(field))
        for field, default in (("blocked", False), ("marketing_opt_in", True))
    }
    problems.raise_if_any("customers")  # errors come out in line order
    vocab, tag_indptr, tag_codes = tags_from_texts(raw("tags"), tag_separator)
    return ids, {
        "names": col("name"),
        "phones": phones,
        "emails": emails,
        "gender_codes": genders,
        "birth_years": years,
        "birth_months": months,
        "birth_days": days,
        "occupations": col("occupation"),
        "provinces": col("province"),
        "cities": col("city"),
        "zones": zones,
        "tag_names": vocab,
        "tag_indptr": tag_indptr,
        "tag_codes": tag_codes,
        "member_since_us": since,
        "blocked": flags["blocked"],
        "marketing_opt_in": flags["marketing_opt_in"],
    }
