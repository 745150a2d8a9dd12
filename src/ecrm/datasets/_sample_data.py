"""What the sample shop 小林茶铺 is made of: its name, calendar, catalogue, membership rule
and the fixed tables (provinces, names, zones, tags, channels, hours) it draws from."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

import attrs

from ecrm._time import DEFAULT_TZ, as_zone

__all__ = [
    "CATALOGUE",
    "CATEGORY_CYCLE_DAYS",
    "DEFAULT_AS_OF",
    "MEMBER_ENTRY_MIN_ORDERS",
    "MEMBER_ENTRY_MIN_SPEND_FEN",
    "STORE_NAME",
    "CatalogueItem",
]

#: The sample store's name (its SMS signature is 【小林茶铺】).
STORE_NAME: Final = "小林茶铺"

#: The default evaluation moment: 2025-12-01 00:00 in Asia/Shanghai (keeps docs stable).
DEFAULT_AS_OF: Final = dt.datetime(2025, 12, 1, tzinfo=as_zone(DEFAULT_TZ))

#: Typical repurchase cycle of each category, in days: repeat orders of a customer whose
#: main category this is are spaced around it (log-normal noise, some irregular gaps).
CATEGORY_CYCLE_DAYS: Final[Mapping[str, int]] = MappingProxyType(
    {"snacks": 14, "tea": 30, "skincare": 45, "teaware": 180, "appliances": 365}
)

#: The membership entry rule the sample's members met when they joined (the lowest level
#: of the Taobao store VIP ladder): cumulative valid spend >= ¥100 OR >= 3 valid orders.
MEMBER_ENTRY_MIN_SPEND_FEN: Final = 10_000
MEMBER_ENTRY_MIN_ORDERS: Final = 3
_HISTORY_DAYS: Final = 730
_MAX_CUSTOMERS: Final = 10_000_000  # the fake phone block holds 10**7 numbers


@attrs.frozen
class CatalogueItem:
    """One product of the sample catalogue.

    Attributes:
        sku: the stock-keeping unit code (``"TEA-LJ"``).
        name: the product name in Chinese.
        category: one of :data:`CATEGORY_CYCLE_DAYS`.
        price_fen: list price in fen.
        cycle_days: the typical repurchase cycle of the item, in days.
    """

    sku: str
    name: str
    category: str
    price_fen: int
    cycle_days: int


def _item(sku: str, name: str, category: str, price_fen: int) -> CatalogueItem:
    return CatalogueItem(sku, name, category, price_fen, CATEGORY_CYCLE_DAYS[category])


#: The sample shop's catalogue, in a fixed order (the index is the SKU code used internally).
CATALOGUE: Final = (
    _item("TEA-LJ", "西湖龙井 250g", "tea", 16_800),
    _item("TEA-BLC", "洞庭碧螺春 250g", "tea", 12_800),
    _item("TEA-PE", "云南普洱熟茶饼 357g", "tea", 9_800),
    _item("TEA-BC", "福鼎白茶 200g", "tea", 13_800),
    _item("TEA-HC", "花草茶组合 10 袋", "tea", 5_900),
    _item("SNK-TS", "手工桃酥", "snacks", 2_990),
    _item("SNK-LDG", "绿豆糕", "snacks", 1_990),
    _item("SNK-JG", "每日坚果礼包", "snacks", 4_900),
    _item("SNK-BG", "抹茶饼干", "snacks", 1_590),
    _item("SKN-JM", "茶籽洁面乳", "skincare", 7_900),
    _item("SKN-MM", "绿茶补水面膜 10 片", "skincare", 9_900),
    _item("SKN-JH", "茶树精华液", "skincare", 19_900),
    _item("WARE-BL", "双层玻璃茶杯", "teaware", 3_900),
    _item("WARE-GF", "功夫茶具套装", "teaware", 26_800),
    _item("WARE-CP", "实木茶盘", "teaware", 15_800),
    _item("APP-HK", "恒温电热水壶", "appliances", 19_900),
    _item("APP-ZC", "蒸汽煮茶器", "appliances", 39_900),
    _item("APP-LC", "茶叶冷藏柜", "appliances", 89_900),
)

_CATEGORIES: Final = tuple(CATEGORY_CYCLE_DAYS)
_CATEGORY_WEIGHTS: Final = (
    0.25,
    0.40,
    0.15,
    0.12,
    0.08,
)  # snacks, tea, skincare, teaware, appliances
_SKU_POPULARITY: Final = (5, 4, 3, 3, 2, 4, 3, 3, 2, 3, 3, 1, 3, 1, 1, 2, 1, 0.4)

# (full name, short name, pinyin, capital city, weight): a realistic skew toward the coast.
_PROVINCES: Final = (
    ("广东省", "广东", "Guangdong", "广州市", 14.0),
    ("浙江省", "浙江", "Zhejiang", "杭州市", 12.0),
    ("江苏省", "江苏", "Jiangsu", "南京市", 11.0),
    ("上海市", "上海", "Shanghai", "上海市", 8.0),
    ("北京市", "北京", "Beijing", "北京市", 7.0),
    ("山东省", "山东", "Shandong", "济南市", 6.0),
    ("福建省", "福建", "Fujian", "福州市", 5.0),
    ("四川省", "四川", "Sichuan", "成都市", 5.0),
    ("河南省", "河南", "Henan", "郑州市", 4.0),
    ("湖北省", "湖北", "Hubei", "武汉市", 4.0),
    ("湖南省", "湖南", "Hunan", "长沙市", 3.5),
    ("安徽省", "安徽", "Anhui", "合肥市", 3.0),
    ("河北省", "河北", "Hebei", "石家庄市", 3.0),
    ("重庆市", "重庆", "Chongqing", "重庆市", 2.5),
    ("天津市", "天津", "Tianjin", "天津市", 2.0),
    ("陕西省", "陕西", "Shaanxi", "西安市", 2.0),
    ("辽宁省", "辽宁", "Liaoning", "沈阳市", 2.0),
    ("江西省", "江西", "Jiangxi", "南昌市", 1.5),
    ("云南省", "云南", "Yunnan", "昆明市", 1.5),
    ("广西壮族自治区", "广西", "Guangxi", "南宁市", 1.5),
    ("山西省", "山西", "Shanxi", "太原市", 1.2),
    ("贵州省", "贵州", "Guizhou", "贵阳市", 1.0),
    ("黑龙江省", "黑龙江", "Heilongjiang", "哈尔滨市", 1.0),
    ("吉林省", "吉林", "Jilin", "长春市", 0.8),
    ("内蒙古自治区", "内蒙古", "Inner Mongolia", "呼和浩特市", 0.6),
    ("新疆维吾尔自治区", "新疆", "Xinjiang", "乌鲁木齐市", 0.5),
    ("甘肃省", "甘肃", "Gansu", "兰州市", 0.5),
    ("海南省", "海南", "Hainan", "海口市", 0.5),
    ("宁夏回族自治区", "宁夏", "Ningxia", "银川市", 0.2),
    ("青海省", "青海", "Qinghai", "西宁市", 0.15),
    ("西藏自治区", "西藏", "Tibet", "拉萨市", 0.1),
)
_SURNAMES: Final = tuple("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹")
_GIVEN: Final = (
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀英",
    "桂英",
    "晓燕",
    "子涵",
    "雨轩",
    "浩然",
    "欣怡",
    "梓萱",
    "思远",
    "佳琪",
    "一鸣",
    "若汐",
)
_OCCUPATIONS: Final = (
    ("", 30.0),
    ("企业职员", 14.0),
    ("学生", 10.0),
    ("教师", 6.0),
    ("医生", 4.0),
    ("护士", 3.0),
    ("工程师", 6.0),
    ("程序员", 5.0),
    ("设计师", 3.0),
    ("会计", 3.0),
    ("销售", 4.0),
    ("公务员", 3.0),
    ("自由职业", 4.0),
    ("个体经营", 3.0),
    ("退休", 2.0),
)
_ZONES: Final = (
    "Asia/Tokyo",
    "Asia/Singapore",
    "Europe/London",
    "America/Los_Angeles",
    "Australia/Sydney",
)
_TAGS: Final = (
    ("企业采购", 0.01),
    ("学生党", 0.06),
    ("敏感肌", 0.04),
    ("直播粉丝", 0.12),
    ("礼品客户", 0.05),
    ("茶友", 0.10),
)
_CHANNELS: Final = (("taobao", 0.50), ("tmall", 0.28), ("app", 0.14), ("flash_sale", 0.08))
_HOUR_WEIGHTS: Final = (
    1.0,
    0.6,
    0.3,
    0.2,
    0.2,
    0.3,
    0.8,
    1.5,
    2.5,
    3.5,
    4.5,
    4.5,
    4.0,
    4.0,
    4.5,
    4.5,
    4.0,
    3.5,
    3.5,
    4.5,
    6.0,
    7.0,
    6.5,
    3.0,
)


def sale_618(local_as_of: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The last 6.18 sale before ``local_as_of``: ``[June 1, June 19)`` in its zone."""
    tz = local_as_of.tzinfo
    year = local_as_of.year
    if local_as_of < dt.datetime(year, 6, 19, tzinfo=tz):
        year -= 1
    return dt.datetime(year, 6, 1, tzinfo=tz), dt.datetime(year, 6, 19, tzinfo=tz)
