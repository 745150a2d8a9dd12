"""Province normalisation: every spelling kind of every region, vectorised = scalar."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import ecrm.analytics
from ecrm import InvalidTypeError, InvalidValueError
from ecrm.analytics import PROVINCES, normalize_province, normalize_provinces

# Written out by hand (not derived from the module's table): full name, short name, a
# Latin spelling, GB/T 2260 prefix.
EXPECTED = [
    ("北京市", "北京", "Beijing", 11), ("天津市", "天津", "Tianjin", 12),
    ("河北省", "河北", "Hebei", 13), ("山西省", "山西", "Shanxi", 14),
    ("内蒙古自治区", "内蒙古", "Inner Mongolia", 15), ("辽宁省", "辽宁", "Liaoning", 21),
    ("吉林省", "吉林", "Jilin", 22), ("黑龙江省", "黑龙江", "Heilongjiang", 23),
    ("上海市", "上海", "Shanghai", 31), ("江苏省", "江苏", "Jiangsu", 32),
    ("浙江省", "浙江", "Zhejiang", 33), ("安徽省", "安徽", "Anhui", 34),
    ("福建省", "福建", "Fujian", 35), ("江西省", "江西", "Jiangxi", 36),
    ("山东省", "山东", "Shandong", 37), ("河南省", "河南", "Henan", 41),
    ("湖北省", "湖北", "Hubei", 42), ("湖南省", "湖南", "Hunan", 43),
    ("广东省", "广东", "Guangdong", 44), ("广西壮族自治区", "广西", "Guangxi", 45),
    ("海南省", "海南", "Hainan", 46), ("重庆市", "重庆", "Chongqing", 50),
    ("四川省", "四川", "Sichuan", 51), ("贵州省", "贵州", "Guizhou", 52),
    ("云南省", "云南", "Yunnan", 53), ("西藏自治区", "西藏", "Tibet", 54),
    ("陕西省", "陕西", "Shaanxi", 61), ("甘肃省", "甘肃", "Gansu", 62),
    ("青海省", "青海", "Qinghai", 63), ("宁夏回族自治区", "宁夏", "Ningxia", 64),
    ("新疆维吾尔自治区", "新疆", "Xinjiang", 65), ("台湾省", "台湾", "Taiwan", 71),
    ("香港特别行政区", "香港", "Hong Kong", 81), ("澳门特别行政区", "澳门", "Macau", 82),
]


def test_the_table_has_the_34_regions() -> None:
    assert len(PROVINCES) == 34
    assert [(p.name, p.short, p.code) for p in PROVINCES] == [
        (n, s, c) for n, s, _, c in EXPECTED]


@pytest.mark.parametrize(("full", "short", "latin", "code"), EXPECTED, ids=[e[0] for e in EXPECTED])
def test_every_spelling_kind(full: str, short: str, latin: str, code: int) -> None:
    spellings = [
        full, short, f" {full} ", latin, latin.upper(), latin.lower().replace(" ", ""),
        f"{latin} Province", str(code), code, f"{code}0000", code * 10_000,
        f"{code}0102", code * 10_000 + 106,
    ]
    for s in spellings:
        assert normalize_province(s) == full, s
    assert list(normalize_provinces(np.asarray([str(s) for s in spellings]))) == [full] * len(
        spellings)


@pytest.mark.parametrize(
    ("text", "name"),
    [("广西自治区", "广西壮族自治区"), ("新疆自治区", "新疆维吾尔自治区"), ("香港特区", "香港特别行政区"),
     ("Xizang", "西藏自治区"), ("Nei Mongol", "内蒙古自治区"), ("Macao SAR", "澳门特别行政区"),
     ("shanghai shi", "上海市"), ("Shaanxi", "陕西省"), ("Shanxi", "山西省")],
)
def test_variants(text: str, name: str) -> None:
    assert normalize_province(text) == name


@pytest.mark.parametrize("text", ["", "  ", None, "火星", "Atlantis", "99", 99, "990000", "1",
                                  "浙", "省", "1234567"])
def test_unknown_is_none(text: object) -> None:
    assert normalize_province(text) is None


def test_legacy_codes_are_empty_by_default_and_replaceable() -> None:
    assert dict(ecrm.analytics.TAOBAO_LEGACY_PROVINCE_CODES) == {}
    assert normalize_province(1) is None
    table = {1: "北京市", 2: "天津市", 33: "广东省"}
    assert normalize_province(1, legacy_codes=table) == "北京市"
    assert normalize_province("2", legacy_codes=table) == "天津市"
    # A caller's legacy table wins over the GB/T 2260 prefix.
    assert normalize_province(33, legacy_codes=table) == "广东省"
    assert normalize_province(33) == "浙江省"
    assert list(normalize_provinces(["1", "x", "33"], legacy_codes=table)) == [
        "北京市", "", "广东省"]
    with pytest.raises(InvalidValueError, match="full region name") as info:
        normalize_province(1, legacy_codes={1: "北京"})
    assert info.value.field == "legacy_codes[1]"


def test_bad_types() -> None:
    with pytest.raises(InvalidTypeError):
        normalize_province(3.5)
    with pytest.raises(InvalidTypeError):
        normalize_province(True)
    with pytest.raises(InvalidValueError, match="one-dimensional"):
        normalize_provinces(np.zeros((2, 2)))


def test_vectorised_handles_objects_and_empties() -> None:
    assert list(normalize_provinces(np.asarray(["浙江", None, 44], dtype=object))) == [
        "浙江省", "", "广东省"]
    assert normalize_provinces([]).shape == (0,)


SPELLINGS = st.sampled_from(
    [e[0] for e in EXPECTED] + [e[1] for e in EXPECTED] + [e[2] for e in EXPECTED]
    + [str(e[3]) for e in EXPECTED] + ["", "未知", "xyz", "1"])


@given(st.lists(SPELLINGS, max_size=40))
def test_vectorised_equals_scalar(values: list[str]) -> None:
    expected = [normalize_province(v) or "" for v in values]
    assert normalize_provinces(np.asarray(values, dtype=str)).tolist() == expected
