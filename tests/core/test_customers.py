"""Customer profiles: validation, masking, the columnar table and its CSV reader."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ecrm
from ecrm import (
    Birthday,
    Customer,
    CustomerTable,
    DataFormatErrorGroup,
    Gender,
    InvalidTypeError,
    InvalidValueError,
    UnknownCustomerError,
)
from ecrm.testing import birthdays, customer_tables, customers

SH = ZoneInfo("Asia/Shanghai")
NAT = np.iinfo(np.int64).min


# -- contact data ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("0086-13800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("(199) 0000-1111", "19900001111"),
    ],
)
def test_phone_is_normalised_to_eleven_digits(raw: str, expected: str) -> None:
    assert ecrm.normalize_phone(raw) == expected
    assert Customer(1, phone=raw).phone == expected


@pytest.mark.parametrize(
    "raw",
    [
        "1380013800",
        "138001380001",
        "12800138000",
        "23800138000",
        "1380013800a",
        "",
        "+1 13800138000",
    ],
)
def test_bad_phone_is_refused_without_showing_it(raw: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        ecrm.normalize_phone(raw)
    assert info.value.field == "phone"
    if len(raw) > 7:
        assert raw not in str(info.value)


def test_empty_phone_means_unknown() -> None:
    assert Customer(1, phone="").phone is None
    assert Customer(1, phone="  ").phone is None


@pytest.mark.parametrize(
    "raw", ["plain", "a@b", "a b@example.com", "a@@example.com", "@example.com", "a@.com"]
)
def test_bad_email_is_refused(raw: str) -> None:
    with pytest.raises(InvalidValueError) as info:
        Customer(1, email=raw)
    assert info.value.field == "email"


def test_email_domain_is_lower_cased_and_local_part_kept() -> None:
    assert Customer(1, email=" Li.Na@Example.COM ").email == "Li.Na@example.com"


def test_masks() -> None:
    assert ecrm.mask_phone("13800138000") == "138****8000"
    assert ecrm.mask_email("alice@example.com") == "a***@example.com"
    assert ecrm.mask_phone(None) == ""
    assert ecrm.mask_email("") == ""


def test_repr_masks_phone_and_email() -> None:
    c = Customer("c1", name="王芳", phone="13912345678", email="wangfang@example.com")
    text = repr(c)
    assert "13912345678" not in text
    assert "wangfang" not in text
    assert "139****5678" in text
    assert "w***@example.com" in text


@given(customers())
def test_repr_never_shows_full_contact_data(c: Customer) -> None:
    text = repr(c)
    if c.phone:
        assert c.phone not in text
    if c.email:
        local = c.email.split("@")[0]
        assert f"{local}@" not in text or len(local) <= 1


def test_fake_phone_range() -> None:
    assert ecrm.FAKE_PHONE_PREFIX == "1540"
    assert ecrm.is_fake_phone("15400000000")
    assert ecrm.is_fake_phone("+86 154 0999 9999")
    assert not ecrm.is_fake_phone("15410000000")
    assert not ecrm.is_fake_phone("13800138000")
    assert not ecrm.is_fake_phone("not a phone")
    assert not ecrm.is_fake_phone(None)


# -- other fields -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "field"),
    [
        ({"customer_id": ""}, InvalidValueError, None),
        ({"customer_id": True}, InvalidTypeError, None),
        ({"customer_id": 1.5}, InvalidTypeError, None),
        ({"gender": "robot"}, InvalidValueError, "gender"),
        ({"tz": "Mars/Olympus"}, InvalidValueError, "tz"),
        ({"tz": 8}, InvalidTypeError, None),
        ({"member_since": dt.datetime(2025, 1, 1)}, InvalidValueError, "member_since"),
        ({"member_since": dt.date(2025, 1, 1)}, InvalidTypeError, None),
        ({"tags": "vip"}, InvalidTypeError, None),
        ({"tags": {""}}, InvalidValueError, "tags"),
        ({"blocked": 1}, InvalidTypeError, None),
        ({"marketing_opt_in": "yes"}, InvalidTypeError, None),
        ({"birthday": "13-01"}, InvalidValueError, "birthday"),
        ({"birthday": 19900101}, InvalidTypeError, None),
        ({"name": 5}, InvalidTypeError, None),
    ],
)
def test_each_bad_field_is_named(
    kwargs: dict[str, object], error: type[Exception], field: str | None
) -> None:
    args: dict[str, object] = {"customer_id": 1, **kwargs}
    with pytest.raises(error) as info:
        Customer(**args)  # type: ignore[arg-type]
    if field is not None:
        assert isinstance(info.value, InvalidValueError)
        assert info.value.field == field


@pytest.mark.parametrize(
    ("text", "gender"),
    [
        ("女", Gender.FEMALE),
        ("M", Gender.MALE),
        ("", Gender.UNKNOWN),
        ("female", Gender.FEMALE),
        (None, Gender.UNKNOWN),
    ],
)
def test_gender_aliases(text: str | None, gender: Gender) -> None:
    assert Customer(1, gender=text).gender is gender


def test_birthday_rules() -> None:
    assert Birthday(2, 29).year is None
    assert Birthday(2, 29, 2000) == Birthday.parse("2000-02-29")
    assert Birthday.parse("--02-29") == Birthday.parse("02-29") == Birthday(2, 29)
    for bad in [
        (2, 29, 1900),
        (2, 30, None),
        (4, 31, None),
        (13, 1, None),
        (0, 1, None),
        (1, 0, None),
    ]:
        with pytest.raises(InvalidValueError):
            Birthday(*bad)
    with pytest.raises(InvalidValueError):
        Birthday.parse("1990/01/01")
    assert str(Birthday(3, 5)) == "--03-05"
    assert str(Birthday(3, 5, 1999)) == "1999-03-05"
    assert Customer(1, birthday=dt.date(1990, 5, 17)).birthday == Birthday(5, 17, 1990)


def test_feb_29_is_celebrated_on_feb_28_in_common_years_only() -> None:
    b = Birthday(2, 29)
    assert b.falls_on(dt.date(2025, 2, 28))
    assert not b.falls_on(dt.date(2024, 2, 28))
    assert b.falls_on(dt.date(2024, 2, 29))
    assert not b.falls_on(dt.date(2025, 3, 1))
    assert not Birthday(2, 28).falls_on(dt.date(2024, 2, 29))


def test_age() -> None:
    assert Birthday(5, 17, 1990).age_on(dt.date(2025, 5, 16)) == 34
    assert Birthday(5, 17, 1990).age_on(dt.date(2025, 5, 17)) == 35
    assert Birthday(2, 29, 2000).age_on(dt.date(2025, 2, 28)) == 24
    assert Birthday(2, 29, 2000).age_on(dt.date(2025, 3, 1)) == 25
    assert Birthday(5, 17).age_on(dt.date(2025, 5, 17)) is None


def test_is_member_is_half_open() -> None:
    joined = dt.datetime(2025, 3, 1, 10, tzinfo=SH)
    c = Customer(1, member_since=joined)
    assert not c.is_member(joined)
    assert c.is_member(joined + dt.timedelta(microseconds=1))
    assert not Customer(1).is_member(joined)


# -- CustomerTable ------------------------------------------------------------------------
def _sample_rows() -> list[Customer]:
    return [
        Customer(
            "c3",
            name="张伟",
            gender="m",
            birthday=Birthday(2, 29, 1992),
            tags={"vip", "茶友"},
            province="浙江省",
            member_since=dt.datetime(2025, 1, 1, 9, tzinfo=SH),
        ),
        Customer(
            "c1",
            phone="13800138000",
            email="a@example.com",
            birthday="12-31",
            occupation="医生",
            tz="Asia/Tokyo",
            blocked=True,
        ),
        Customer("c2", marketing_opt_in=False, tags={"vip"}),
    ]


def test_table_is_sorted_by_id_and_round_trips() -> None:
    rows = _sample_rows()
    table = CustomerTable.from_customers(rows)
    assert list(table.customer_ids) == ["c1", "c2", "c3"]
    assert len(table) == 3
    assert list(table) == sorted(rows, key=lambda c: str(c.customer_id))
    assert table.row("c3") == rows[0]
    assert "c2" in table
    assert "c9" not in table
    with pytest.raises(UnknownCustomerError):
        table.row("c9")
    with pytest.raises(UnknownCustomerError):
        table.row(3)


def test_table_accessors_by_hand() -> None:
    table = CustomerTable.from_customers(_sample_rows())
    assert table.birth_months.tolist() == [12, 0, 2]
    assert table.birth_days.tolist() == [31, 0, 29]
    assert table.birth_years.tolist() == [0, 0, 1992]
    assert table.ages_on(dt.date(2025, 3, 1)).tolist() == [-1, -1, 33]
    assert table.ages_on(dt.date(2025, 2, 28)).tolist() == [-1, -1, 32]
    assert table.has_tag("vip").tolist() == [False, True, True]
    assert table.has_tag("nobody").tolist() == [False, False, False]
    assert table.gender_codes.tolist() == [0, 0, Gender.MALE.code]
    assert table.blocked.tolist() == [True, False, False]
    assert table.marketing_opt_in.tolist() == [True, False, True]
    assert table.zones.tolist() == ["Asia/Tokyo", "", ""]
    assert table.occupations.tolist() == ["医生", "", ""]
    assert table.birthday_on(dt.date(2025, 2, 28)).tolist() == [False, False, True]
    assert table.birthday_on(dt.date(2024, 2, 28)).tolist() == [False, False, False]
    assert table.member_since_us[0] == NAT
    assert table.members(dt.datetime(2025, 1, 1, 9, tzinfo=SH)).tolist() == [False, False, False]
    assert table.members(dt.datetime(2025, 1, 2, tzinfo=SH)).tolist() == [False, False, True]
    assert table.index_of(["c2", "zz", "c1", "c3"]).tolist() == [1, -1, 0, 2]
    assert table.index_of([1, 2]).tolist() == [-1, -1]


def test_table_repr_has_no_contact_data() -> None:
    table = CustomerTable.from_customers(_sample_rows())
    assert "13800138000" not in repr(table)
    assert repr(table) == "CustomerTable(3 customers, 1 members, tz='Asia/Shanghai')"


def test_duplicate_ids_are_reported() -> None:
    with pytest.raises(DataFormatErrorGroup) as info:
        CustomerTable.from_customers([Customer(1), Customer(2), Customer(1)])
    assert [e.line for e in info.value.problems] == [2]  # type: ignore[attr-defined]
    with pytest.raises(DataFormatErrorGroup) as info:
        CustomerTable.from_arrays(["a", "b", "a", "b"])
    assert sorted(e.line for e in info.value.problems) == [2, 3]  # type: ignore[attr-defined]


def test_from_arrays_reports_every_bad_cell_at_once() -> None:
    with pytest.raises(DataFormatErrorGroup) as info:
        CustomerTable.from_arrays(
            ["a", "b", "a"],
            phones=["123", "13800138000", None],
            emails=["x", "", None],
            genders=["f", "x", "m"],
            birthdays=["02-30", None, "1990-02-29"],
            zones=["Mars/X", "", None],
        )
    found = {(e.field, e.line) for e in info.value.problems}  # type: ignore[attr-defined]
    assert found == {
        ("phones", 0),
        ("emails", 0),
        ("genders", 1),
        ("birthdays", 0),
        ("birthdays", 2),
        ("zones", 0),
        ("customer_ids", 2),
    }
    assert "13800138000" not in str(info.value)


def test_from_arrays_vectorised_birthdays_and_member_since() -> None:
    table = CustomerTable.from_arrays(
        np.array([3, 1, 2]),
        birth_years=[2000, 0, 0],
        birth_months=[2, 0, 7],
        birth_days=[29, 0, 1],
        member_since=np.array(["2025-01-01T08:00", "NaT", "NaT"], dtype="datetime64[us]"),
        genders=np.array([1, 2, 0]),
        tags=[["vip"], [], None],
    )
    assert table.customer_ids.tolist() == [1, 2, 3]
    assert table.row(3).birthday == Birthday(2, 29, 2000)
    assert table.row(3).member_since == dt.datetime(2025, 1, 1, 8, tzinfo=SH)
    assert table.row(3).gender is Gender.FEMALE
    assert table.row(3).tags == {"vip"}
    assert table.row(2).birthday == Birthday(7, 1)
    with pytest.raises(DataFormatErrorGroup) as info:
        CustomerTable.from_arrays(
            [1, 2, 3, 4],
            birth_years=[1999, 0, 0, 1900],
            birth_months=[2, 13, 0, 2],
            birth_days=[29, 1, 5, 29],
        )
    assert {(e.field, e.line) for e in info.value.problems} == {  # type: ignore[attr-defined]
        ("birth_years", 0),
        ("birth_months", 1),
        ("birth_months", 2),
        ("birth_years", 3),
    }


def test_from_arrays_length_mismatch() -> None:
    with pytest.raises(InvalidValueError, match="same length"):
        CustomerTable.from_arrays([1, 2], phones=["13800138000"])


def test_empty_table() -> None:
    table = CustomerTable.from_customers([])
    assert len(table) == 0
    assert table.index_of([1]).tolist() == [-1]
    assert CustomerTable.from_arrays([]).customer_ids.size == 0


def test_select() -> None:
    table = CustomerTable.from_customers(_sample_rows())
    sub = table.select(np.array([True, False, True]))
    assert list(sub.customer_ids) == ["c1", "c3"]
    assert sub.row("c3") == table.row("c3")
    with pytest.raises(InvalidValueError):
        table.select(np.array([True]))


@given(customer_tables(max_size=12))
def test_vectorised_accessors_match_plain_python(table: CustomerTable) -> None:
    day = dt.date(2025, 2, 28)
    rows = list(table)
    ages = [
        (-1 if c.birthday is None or c.birthday.year is None else c.birthday.age_on(day))
        for c in rows
    ]
    assert table.ages_on(day).tolist() == ages
    assert table.birthday_on(day).tolist() == [
        c.birthday is not None and c.birthday.falls_on(day) for c in rows
    ]
    assert table.birth_months.tolist() == [c.birthday.month if c.birthday else 0 for c in rows]
    assert table.gender_codes.tolist() == [list(Gender).index(c.gender) for c in rows]
    for tag in ("vip", "茶友", "absent"):
        assert table.has_tag(tag).tolist() == [tag in c.tags for c in rows]
    as_of = dt.datetime(2024, 1, 1, tzinfo=SH)
    assert table.members(as_of).tolist() == [c.is_member(as_of) for c in rows]
    ids = list(table.customer_ids)
    assert ids == sorted(ids)
    assert table.index_of(ids).tolist() == list(range(len(ids)))


@given(st.lists(customers(), max_size=10, unique_by=lambda c: c.customer_id))
def test_from_customers_round_trips_and_ignores_input_order(rows: list[Customer]) -> None:
    table = CustomerTable.from_customers(rows)
    # The table answers member_since in the store zone: compare instants in that zone (a
    # DST-gap time in another zone never compares equal across zones, PEP 495).
    expected = [
        attrs.evolve(c, member_since=c.member_since and c.member_since.astimezone(SH))
        for c in sorted(rows, key=lambda c: str(c.customer_id))
    ]
    assert list(table) == expected
    again = CustomerTable.from_customers(list(reversed(rows)))
    assert list(again) == list(table)


@given(birthdays())
def test_birthday_text_round_trip(b: Birthday) -> None:
    assert Birthday.parse(str(b)) == b


def test_from_type_draws_registered_strategies() -> None:
    @settings(max_examples=5)
    @given(st.from_type(Customer), st.from_type(CustomerTable))
    def check(c: Customer, t: CustomerTable) -> None:
        assert isinstance(c, Customer)
        assert isinstance(t, CustomerTable)

    check()


# -- CSV ----------------------------------------------------------------------------------
def test_from_csv(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer_id,name,phone,email,gender,birthday,occupation,province,tags,member_since,blocked,extra\n"
        "c1,王芳,138 0013 8000,a@example.com,女,1990-05-17,教师,浙江省,vip;茶友,"
        "2025-01-01 10:00,否,x\n"
        "\n"
        "c2,,,,,--02-29,,,,,,\n",
        encoding="utf-8",
    )
    table = CustomerTable.from_csv(path)
    assert table.row("c1") == Customer(
        "c1",
        name="王芳",
        phone="13800138000",
        email="a@example.com",
        gender=Gender.FEMALE,
        birthday=Birthday(5, 17, 1990),
        occupation="教师",
        province="浙江省",
        tags={"vip", "茶友"},
        member_since=dt.datetime(2025, 1, 1, 10, tzinfo=SH),
    )
    assert table.row("c2") == Customer("c2", birthday=Birthday(2, 29))


def test_from_csv_reports_every_bad_cell_with_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "customer_id,phone,email,gender,birthday,tz,member_since,blocked\n"
        "c1,13800138000,,,,,,\n"
        "c2,12345,nope,robot,02-30,Mars/X,yesterday,maybe\n"
        ",,,,,,,\n"
        "c1,,,,,,,\n"
        ",13800138001,,,,,,\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFormatErrorGroup) as info:
        CustomerTable.from_csv(path)
    problems = info.value.problems
    got = {(e.line, e.column) for e in problems}  # type: ignore[attr-defined]
    assert got == {
        (3, "phone"),
        (3, "email"),
        (3, "gender"),
        (3, "birthday"),
        (3, "tz"),
        (3, "member_since"),
        (3, "blocked"),
        (5, "customer_id"),
        (6, "customer_id"),
    }
    text = str(info.value)
    assert str(path) in text
    assert "13800138001" not in text
    assert "12345" not in text  # masked: phone cells never appear in full


def test_from_csv_column_mapping_and_missing_id_column(tmp_path: Path) -> None:
    path = tmp_path / "mapped.csv"
    path.write_text("买家,手机\nc1,13800138000\n", encoding="utf-8")
    table = CustomerTable.from_csv(path, columns={"customer_id": "买家", "phone": "手机"})
    assert table.row("c1").phone == "13800138000"
    with pytest.raises(DataFormatErrorGroup) as info:
        CustomerTable.from_csv(path)
    assert [(e.line, e.column) for e in info.value.problems] == [(1, "customer_id")]  # type: ignore[attr-defined]
    with pytest.raises(InvalidValueError):
        CustomerTable.from_csv(path, columns={"nickname": "买家"})


def test_from_pandas() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(
        {
            "customer_id": [2, 1],
            "phone": ["13800138000", None],
            "gender": ["m", None],
            "member_since": pd.to_datetime(["2025-01-01 10:00", None]).tz_localize("Asia/Shanghai"),
        }
    )
    table = CustomerTable.from_pandas(frame)
    assert table.customer_ids.tolist() == [1, 2]
    assert table.row(2) == Customer(
        2,
        phone="13800138000",
        gender=Gender.MALE,
        member_since=dt.datetime(2025, 1, 1, 10, tzinfo=SH),
    )
    assert table.row(1) == Customer(1)


def test_public_names_are_exported() -> None:
    import ecrm.testing

    mine = {
        "FAKE_PHONE_PREFIX",
        "Birthday",
        "Customer",
        "CustomerTable",
        "Event",
        "EventKind",
        "EventLog",
        "Gender",
        "is_fake_phone",
        "mask_email",
        "mask_phone",
        "normalize_email",
        "normalize_phone",
    }
    assert mine <= set(ecrm.__all__)
    assert all(hasattr(ecrm, name) for name in mine)
    strategies = {"birthdays", "customer_tables", "customers", "event_logs", "events"}
    assert strategies <= set(ecrm.testing.__all__)


def test_contact_errors_in_bulk_are_masked_and_capped() -> None:
    phones = ["12345678901"] * 50 + ["13800138000"] * 50
    with pytest.raises(DataFormatErrorGroup) as info:
        CustomerTable.from_arrays(list(range(100)), phones=phones)
    problems = info.value.problems
    assert len(problems) == 21  # 20 listed, then "... and 30 more rows"
    assert "12345678901" not in str(info.value)
    assert problems[0].value == "123****8901"


def test_columns_are_read_only_but_callers_arrays_are_untouched() -> None:
    names = np.array(["王芳", "李娜"])
    ids = np.array([1, 2])
    table = CustomerTable.from_arrays(ids, names=names)
    assert names.flags.writeable
    assert ids.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        table.names[0] = "x"
    names[0] = "张伟"  # the caller may still change their own array


# -- vectorised parsing agrees with the one-value parsers ---------------------------------
_BIRTHDAY_TEXTS = st.one_of(
    st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", st.integers(1850, 2150),
              st.integers(0, 13), st.integers(0, 32)),
    st.builds(lambda m, d: f"--{m:02d}-{d:02d}", st.integers(0, 13), st.integers(0, 32)),
    st.builds(lambda m, d: f"{m}-{d}", st.integers(0, 13), st.integers(0, 32)),
    st.builds(lambda m, d: f"{m:02d}-{d:02d}", st.integers(0, 13), st.integers(0, 32)),
    st.sampled_from(["", " ", " 1990-05-17 ", "1990-5-7", "1990/05/17", "19900517", "--2-29",
                     "2024-02-29", "2023-02-29", "１９９０-０５-１７", "05-17x", "1990-05-17T00",
                     "-05-17", "---05-17", "1990--05", "a-b"]),
    st.text(alphabet="0123456789- ", max_size=12),
)


def _scalar_birthday(text: str) -> tuple[int, int, int] | str | None:
    """The reference: Birthday.parse on one value (None for empty, the rule when bad)."""
    if not text.strip():
        return None
    try:
        b = Birthday.parse(text)
    except InvalidValueError as exc:
        return exc.rule
    return (b.year or 0, b.month, b.day)


@settings(max_examples=150, deadline=None)
@given(st.lists(_BIRTHDAY_TEXTS, min_size=1, max_size=30))
def test_vectorised_birthdays_match_birthday_parse_row_by_row(texts: list[str]) -> None:
    ids = [f"c{i:03d}" for i in range(len(texts))]
    expected = [_scalar_birthday(t) for t in texts]
    bad = {i: rule for i, rule in enumerate(expected) if isinstance(rule, str)}
    for given_as in (texts, np.asarray(texts, dtype=str)):
        if bad:
            with pytest.raises(DataFormatErrorGroup) as info:
                CustomerTable.from_arrays(ids, birthdays=given_as)
            got = {e.line: e.rule for e in info.value.exceptions}  # type: ignore[attr-defined]
            assert got == dict(list(bad.items())[: len(got)]) or got == bad
            continue
        table = CustomerTable.from_arrays(ids, birthdays=given_as)
        for i, want in enumerate(expected):
            got_b = (int(table.birth_years[i]), int(table.birth_months[i]), int(table.birth_days[i]))
            assert got_b == (want if want is not None else (0, 0, 0))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(
    ["女", "男", "f", "M", " female ", "MALE", "unknown", "未知", "", "x", "女士", "u"])),
    min_size=1, max_size=20))
def test_vectorised_genders_match_parse_gender_row_by_row(values: list[str | None]) -> None:
    ids = [f"c{i:03d}" for i in range(len(values))]
    expected: list[int | None] = []
    for v in values:
        try:
            expected.append(Customer(1, gender=v).gender.code)  # type: ignore[arg-type]
        except InvalidValueError:
            expected.append(None)
    if None in expected:
        with pytest.raises(DataFormatErrorGroup) as info:
            CustomerTable.from_arrays(ids, genders=values)
        rows = [e.line for e in info.value.exceptions]  # type: ignore[attr-defined]
        assert rows == [i for i, c in enumerate(expected) if c is None]
    else:
        table = CustomerTable.from_arrays(ids, genders=values)
        assert table.gender_codes.tolist() == expected


_TAG_SETS = st.lists(st.frozensets(st.sampled_from(["vip", "茶友", "学生", "新客", "宝妈"]), max_size=4),
                     min_size=0, max_size=25)


@settings(max_examples=80, deadline=None)
@given(_TAG_SETS, st.data())
def test_tags_are_sparse_rows_that_answer_like_the_sets(sets: list[frozenset[str]], data: st.DataObject) -> None:
    n = len(sets)
    ids = [f"c{i:03d}" for i in range(n)]
    order = data.draw(st.permutations(range(n)))  # rows come in any order; the table sorts
    table = CustomerTable.from_arrays([ids[k] for k in order], tags=[sets[k] for k in order])
    vocab = sorted(set().union(*sets)) if sets else []
    assert table.tag_names == tuple(vocab)
    # CSR shape: n + 1 offsets from 0, one code per (customer, tag) pair, ascending per row
    assert table.tag_indptr.tolist()[0] == 0
    assert np.diff(table.tag_indptr).tolist() == [len(s) for s in sets]
    assert table.tag_codes.tolist() == [vocab.index(t) for s in sets for t in sorted(s)]
    assert [table.tags_of(i) for i in range(n)] == sets
    for tag in [*vocab, "nobody"]:
        assert table.has_tag(tag).tolist() == [tag in s for s in sets]
    dense = [[t in s for t in vocab] for s in sets]
    assert table.tag_matrix.tolist() == dense or (n == 0 or not vocab)
    keep = np.asarray(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    sub = table.select(keep)
    assert [sub.tags_of(i) for i in range(len(sub))] == [s for s, k in zip(sets, keep, strict=True) if k]
    rows = [Customer(ids[k], tags=sets[k]) for k in order]
    again = CustomerTable.from_customers(rows)
    assert again.tag_indptr.tolist() == table.tag_indptr.tolist()
    assert again.tag_codes.tolist() == table.tag_codes.tolist()


def test_csv_cells_parse_like_the_one_value_parsers(tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(
        "customer_id,gender,birthday,tags,tz,member_since,blocked,marketing_opt_in,occupation\n"
        "c2, 女 ,1990-5-7, vip ;; 茶友 ,Asia/Tokyo,2025-03-01T10:00:00+09:00,是,no, 教师 \n"
        "c1,M,--02-29,,,2025-03-01,,,\n"
        "c3,,12-31,学生,,2025-03-01 10:30,TRUE,1,医生\n",
        encoding="utf-8",
    )
    table = CustomerTable.from_csv(path)
    assert table.customer_ids.tolist() == ["c1", "c2", "c3"]
    assert table.gender_codes.tolist() == [Gender.MALE.code, Gender.FEMALE.code, Gender.UNKNOWN.code]
    assert table.birth_years.tolist() == [0, 1990, 0]
    assert table.birth_months.tolist() == [2, 5, 12]
    assert table.birth_days.tolist() == [29, 7, 31]
    assert [table.tags_of(i) for i in range(3)] == [frozenset(), {"vip", "茶友"}, {"学生"}]
    assert table.zones.tolist() == ["", "Asia/Tokyo", ""]
    # 2025-03-01 00:00 and 10:30 in Shanghai (+08:00); 10:00+09:00 is 01:00 UTC
    utc = [dt.datetime(2025, 2, 28, 16), dt.datetime(2025, 3, 1, 1), dt.datetime(2025, 3, 1, 2, 30)]
    assert table.member_since_us.tolist() == [
        int((u - dt.datetime(1970, 1, 1)).total_seconds()) * 1_000_000 for u in utc
    ]
    assert table.blocked.tolist() == [False, True, True]
    assert table.marketing_opt_in.tolist() == [True, False, True]
    assert table.occupations.tolist() == ["", "教师", "医生"]


def test_occupation_is_trimmed_like_predicate_values() -> None:
    from ecrm.segments import OccupationIn

    assert Customer(1, occupation=" 教师 ").occupation == "教师"
    assert Customer(1, occupation="  ").occupation is None
    table = CustomerTable.from_arrays(["a", "b"], occupations=[" 教师 ", "医生\t"])
    assert table.occupations.tolist() == ["教师", "医生"]
    assert OccupationIn([" 教师"]).values == ("教师",)
    assert table.row("a").occupation == "教师"


def test_a_long_zone_name_is_a_clear_error_everywhere(tmp_path: Path) -> None:
    """300 characters made zoneinfo raise OSError (File name too long) mid-load."""
    long_name = "Asia/" + "x" * 295
    with pytest.raises(InvalidValueError, match="tz must name an IANA time zone"):
        ecrm.read_orders_csv(tmp_path / "never-opened.csv", tz=long_name)
    with pytest.raises(InvalidValueError, match="at most 64 characters, got 300"):
        CustomerTable.from_csv(tmp_path / "never-opened.csv", tz=long_name)
    with pytest.raises(InvalidValueError, match="tz must name an IANA time zone"):
        Customer(1, tz=long_name)
    path = tmp_path / "customers.csv"
    path.write_text(f"customer_id,tz\nc1,Asia/Shanghai\nc2,{long_name}\nc3,Mars/Olympus\n",
                    encoding="utf-8")
    with pytest.raises(DataFormatErrorGroup) as info:
        CustomerTable.from_csv(path)
    found = [(e.line, e.column) for e in info.value.exceptions]  # type: ignore[attr-defined]
    assert found == [(3, "tz"), (4, "tz")]
    assert "must name an IANA time zone" in str(info.value)


_PHONES = st.one_of(
    st.from_regex(r"1[0-9]{10}", fullmatch=True),
    st.sampled_from(["+86 138 0013 8000", "0086-13800138000", "(199) 0000-1111", "12800138000",
                     "1380013800", "１３８００１３８０００", " 13800138000 ", "", "138001380001"]),
)
_EMAILS = st.one_of(
    st.from_regex(r"[a-zA-Z0-9._+-]{1,8}@[a-zA-Z0-9-]{1,6}(\.[a-zA-Z]{1,4}){1,2}", fullmatch=True),
    st.sampled_from(["a@b", "a@@b.cn", "a@.cn", "a@b..cn", "a@b.cn.", " Li.Na@Example.COM ",
                     "李@例子.中国", "a b@c.cn", "", "@b.cn"]),
)


def _normalised(normalize: object, text: str) -> str | None:
    if not text.strip():
        return ""
    try:
        return normalize(text)  # type: ignore[operator, no-any-return]
    except InvalidValueError:
        return None


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(_PHONES, _EMAILS), min_size=1, max_size=20))
def test_vectorised_contacts_match_normalize_row_by_row(rows: list[tuple[str, str]]) -> None:
    ids = [f"c{i:03d}" for i in range(len(rows))]
    phones = [p for p, _ in rows]
    emails = [e for _, e in rows]
    want_p = [_normalised(ecrm.normalize_phone, p) for p in phones]
    want_e = [_normalised(ecrm.normalize_email, e) for e in emails]
    if None in want_p or None in want_e:
        with pytest.raises(DataFormatErrorGroup) as info:
            CustomerTable.from_arrays(ids, phones=phones, emails=emails)
        found = sorted((e.line, e.column) for e in info.value.exceptions)  # type: ignore[attr-defined]
        expected = sorted([(i, "phones") for i, w in enumerate(want_p) if w is None]
                          + [(i, "emails") for i, w in enumerate(want_e) if w is None])
        assert found == expected
    else:
        table = CustomerTable.from_arrays(ids, phones=phones, emails=emails)
        assert table.phones.tolist() == want_p
        assert table.emails.tolist() == want_e
