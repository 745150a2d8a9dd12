"""Province names: normalise full / short / pinyin names and GB/T 2260 codes to one spelling.

Delivery addresses name the same province in many ways (``浙江省``, ``浙江``, ``Zhejiang``,
``330000``, ``33``). :func:`normalize_province` maps each to the region's full official name
(``浙江省``), ``None`` when the text names no region. :func:`normalize_provinces` does it for
an array, looking each *distinct* spelling up once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import attrs
import numpy as np
import numpy.typing as npt

from ecrm import _validators as _v
from ecrm.analytics._text import factorize_text
from ecrm.errors import InvalidTypeError, InvalidValueError

__all__ = [
    "PROVINCES",
    "TAOBAO_LEGACY_PROVINCE_CODES",
    "UNKNOWN_PROVINCE",
    "Province",
    "normalize_province",
    "normalize_provinces",
]

#: The label distributions use for spellings that name no region (counted apart).
UNKNOWN_PROVINCE: Final = "未知"


@attrs.frozen
class Province:
    """One provincial-level region of China.

    Attributes:
        name: the full official name (``浙江省``, ``广西壮族自治区``, ``香港特别行政区``).
        short: the common short name (``浙江``, ``广西``, ``香港``).
        code: the two-digit GB/T 2260 prefix (``33``); the six-digit code is ``code * 10000``.
        aliases: lower-case Latin spellings (pinyin and English), without spaces.
    """

    name: str
    short: str
    code: int
    aliases: tuple[str, ...]


def _p(name: str, short: str, code: int, *aliases: str) -> Province:
    return Province(name, short, code, aliases)


#: The 34 provincial-level regions: 23 provinces (incl. 台湾省), 5 autonomous regions,
#: 4 municipalities and 2 special administrative regions, with GB/T 2260 prefixes.
PROVINCES: Final = (
    _p("北京市", "北京", 11, "beijing", "peking"),
    _p("天津市", "天津", 12, "tianjin"),
    _p("河北省", "河北", 13, "hebei"),
    _p("山西省", "山西", 14, "shanxi"),
    _p("内蒙古自治区", "内蒙古", 15, "neimenggu", "innermongolia", "neimongol"),
    _p("辽宁省", "辽宁", 21, "liaoning"),
    _p("吉林省", "吉林", 22, "jilin"),
    _p("黑龙江省", "黑龙江", 23, "heilongjiang"),
    _p("上海市", "上海", 31, "shanghai"),
    _p("江苏省", "江苏", 32, "jiangsu"),
    _p("浙江省", "浙江", 33, "zhejiang"),
    _p("安徽省", "安徽", 34, "anhui"),
    _p("福建省", "福建", 35, "fujian"),
    _p("江西省", "江西", 36, "jiangxi"),
    _p("山东省", "山东", 37, "shandong"),
    _p("河南省", "河南", 41, "henan"),
    _p("湖北省", "湖北", 42, "hubei"),
    _p("湖南省", "湖南", 43, "hunan"),
    _p("广东省", "广东", 44, "guangdong"),
    _p("广西壮族自治区", "广西", 45, "guangxi"),
    _p("海南省", "海南", 46, "hainan"),
    _p("重庆市", "重庆", 50, "chongqing"),
    _p("四川省", "四川", 51, "sichuan"),
    _p("贵州省", "贵州", 52, "guizhou"),
    _p("云南省", "云南", 53, "yunnan"),
    _p("西藏自治区", "西藏", 54, "xizang", "tibet"),
    _p("陕西省", "陕西", 61, "shaanxi"),
    _p("甘肃省", "甘肃", 62, "gansu"),
    _p("青海省", "青海", 63, "qinghai"),
    _p("宁夏回族自治区", "宁夏", 64, "ningxia"),
    _p("新疆维吾尔自治区", "新疆", 65, "xinjiang"),
    _p("台湾省", "台湾", 71, "taiwan"),
    _p("香港特别行政区", "香港", 81, "hongkong", "xianggang"),
    _p("澳门特别行政区", "澳门", 82, "macao", "macau", "aomen"),
)

#: Taobao's legacy numeric province codes (1–35) → full names. EMPTY ON PURPOSE: no
#: authoritative published mapping could be found while this module was written, and a
#: guessed table would silently misplace customers. Pass your own mapping as
#: ``legacy_codes=`` (it is looked up before the GB/T 2260 codes, for numbers 1–35).
TAOBAO_LEGACY_PROVINCE_CODES: Final[Mapping[int, str]] = MappingProxyType({})

_BY_NAME: Final = {p.name: p.name for p in PROVINCES}
_BY_SHORT: Final = {p.short: p.name for p in PROVINCES}
_BY_ALIAS: Final = {a: p.name for p in PROVINCES for a in p.aliases}
_BY_CODE: Final = {p.code: p.name for p in PROVINCES}
# Suffixes written without the ethnic part or with the generic word (广西自治区, 香港特区).
_SUFFIXES: Final = ("特别行政区", "特区", "自治区", "省", "市")
_LATIN_NOISE: Final = re.compile(r"[\s\-_'’.]")
_LATIN_SUFFIX: Final = re.compile(r"(province|municipality|autonomousregion|sar|shi|sheng)$")


def normalize_province(
    text: object, *, legacy_codes: Mapping[int, str] | None = None
) -> str | None:
    """The full official name of the region ``text`` names, or ``None``.

    Understood spellings: the full name (``浙江省``), the short name (``浙江``), the
    short name with a generic suffix (``广西自治区``, ``香港特区``), pinyin or English in
    any case with or without spaces and suffixes (``Zhejiang``, ``Inner Mongolia``,
    ``Hong Kong SAR``; ``Shanxi`` is 山西 and ``Shaanxi`` 陕西), GB/T 2260 codes (``33``,
    ``330000``, or any six-digit area code ``330106`` by its first two digits), and
    Taobao legacy codes 1–35 from ``legacy_codes`` (default
    :data:`TAOBAO_LEGACY_PROVINCE_CODES`, which is empty: see its note).

    >>> normalize_province("浙江"), normalize_province("Zhejiang"), normalize_province(330000)
    ('浙江省', '浙江省', '浙江省')
    >>> normalize_province("Inner Mongolia"), normalize_province("45")
    ('内蒙古自治区', '广西壮族自治区')
    >>> normalize_province("火星") is None
    True

    Args:
        text: a string or an int (``None`` and ``""`` give ``None``).
        legacy_codes: Taobao legacy code → full name, replacing the default table.

    Raises:
        InvalidTypeError: ``text`` is neither a string, an int nor ``None``.
        InvalidValueError: ``legacy_codes`` maps to a name that is not a full region name.
    """
    legacy = _check_legacy(legacy_codes)
    return _normalize(text, legacy)


def _check_legacy(legacy_codes: Mapping[int, str] | None) -> Mapping[int, str]:
    if legacy_codes is None:
        return TAOBAO_LEGACY_PROVINCE_CODES
    if not isinstance(legacy_codes, Mapping):
        raise InvalidTypeError(
            f"legacy_codes must be a mapping of int to name, got {type(legacy_codes).__name__}"
        )
    for code, name in legacy_codes.items():
        if name not in _BY_NAME:
            raise InvalidValueError(
                f"legacy_codes[{code!r}]", "must be a full region name such as 浙江省", name
            )
    return legacy_codes


def _normalize(text: object, legacy: Mapping[int, str]) -> str | None:
    if text is None:
        return None
    if isinstance(text, bool) or not isinstance(text, str | int | np.integer | np.str_):
        raise InvalidTypeError(
            f"province must be a string or an int, got {type(text).__name__} {text!r}"
        )
    if isinstance(text, int | np.integer):
        return _from_number(int(text), legacy)
    s = str(text).strip()
    if not s:
        return None
    if s.isdigit():
        return _from_number(int(s), legacy)
    found = _BY_NAME.get(s) or _BY_SHORT.get(s)
    if found is not None:
        return found
    for suffix in _SUFFIXES:
        if s.endswith(suffix) and len(s) > len(suffix):
            found = _BY_SHORT.get(s[: -len(suffix)])
            if found is not None:
                return found
    latin = _LATIN_NOISE.sub("", s.lower())
    found = _BY_ALIAS.get(latin)
    if found is None:
        found = _BY_ALIAS.get(_LATIN_SUFFIX.sub("", latin))
    return found


def _from_number(n: int, legacy: Mapping[int, str]) -> str | None:
    # The caller's legacy table wins: giving it says the data uses Taobao's numbering.
    if n in legacy:
        return legacy[n]
    if n in _BY_CODE:
        return _BY_CODE[n]
    if 100_000 <= n <= 999_999:
        return _BY_CODE.get(n // 10_000)
    return None


def normalize_provinces(
    values: Any, *, legacy_codes: Mapping[int, str] | None = None
) -> npt.NDArray[np.str_]:
    """:func:`normalize_province` over an array; ``""`` where a value names no region.

    Each distinct value is looked up once, so a million rows with a few hundred spellings
    cost one ``np.unique`` and a gather.

    Args:
        values: any 1-d array-like of strings or ints, shape (n,).
        legacy_codes: as for :func:`normalize_province`.

    Returns:
        str array, shape (n,): full names, ``""`` for unknown or empty values.

    Raises:
        InvalidValueError: ``values`` is not one-dimensional.
        InvalidTypeError: ``values`` is a single string or a nested list.
    """
    legacy = _check_legacy(legacy_codes)
    arr = _v.flat_array("values", values)
    if len(arr) == 0:
        return np.zeros(0, dtype="<U8")
    if arr.dtype == object:
        arr = np.asarray(["" if v is None else str(v) for v in arr.tolist()])
    if arr.dtype.kind in "iu":
        uniq_num, inverse = np.unique(arr, return_inverse=True)
        names = [_normalize(int(v), legacy) or "" for v in uniq_num]
        return np.asarray(names, dtype="<U8")[inverse.reshape(-1)]
    uniq, codes = factorize_text(arr)
    names = [_normalize(str(v), legacy) or "" for v in uniq]
    return np.asarray(names, dtype="<U8")[codes]
