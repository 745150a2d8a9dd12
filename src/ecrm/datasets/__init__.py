"""Sample data: :func:`sample_shop`, a deterministic synthetic Taobao shop (小林茶铺).

The demo, the docs, the examples and ecrm's own tests use it. See docs/datasets.md.
"""

from ecrm.datasets._sample import SampleShop, sample_shop
from ecrm.datasets._sample_data import (
    CATALOGUE,
    CATEGORY_CYCLE_DAYS,
    DEFAULT_AS_OF,
    MEMBER_ENTRY_MIN_ORDERS,
    MEMBER_ENTRY_MIN_SPEND_FEN,
    STORE_NAME,
    CatalogueItem,
)

__all__ = [
    "CATALOGUE",
    "CATEGORY_CYCLE_DAYS",
    "DEFAULT_AS_OF",
    "MEMBER_ENTRY_MIN_ORDERS",
    "MEMBER_ENTRY_MIN_SPEND_FEN",
    "STORE_NAME",
    "CatalogueItem",
    "SampleShop",
    "sample_shop",
]
