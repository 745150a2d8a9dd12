"""Shop analytics (DESIGN 3.7): store, member, product and province metrics, campaign effect.

Every definition is a parameter: who is a new customer, the repurchase-rate denominator,
the ladder, the periods. Results are frozen values with ``table()`` (rows as dicts, for a
report to render) and ``format_table()`` (text). See docs/analytics.md.
"""

import typing as _typing

from ecrm.analytics._distribution import ProvinceDistribution, ProvinceRow, province_distribution
from ecrm.analytics._members import MemberMetrics, MemberPeriod, member_metrics
from ecrm.analytics._periods import Change, Freq, Period, change, periods
from ecrm.analytics._products import (
    PreferenceRow,
    PreferenceTable,
    ProductPreference,
    product_preference,
)
from ecrm.analytics._province import (
    PROVINCES,
    TAOBAO_LEGACY_PROVINCE_CODES,
    UNKNOWN_PROVINCE,
    Province,
    normalize_province,
    normalize_provinces,
)
from ecrm.analytics._store import (
    METRICS,
    NewCustomerDefinition,
    PeriodMetrics,
    RepurchaseBase,
    StoreMetrics,
    store_metrics,
)

if _typing.TYPE_CHECKING:
    from ecrm.touch import CampaignReport, campaign_effect

__all__ = [
    "METRICS",
    "PROVINCES",
    "TAOBAO_LEGACY_PROVINCE_CODES",
    "UNKNOWN_PROVINCE",
    "CampaignReport",
    "Change",
    "Freq",
    "MemberMetrics",
    "MemberPeriod",
    "NewCustomerDefinition",
    "Period",
    "PeriodMetrics",
    "PreferenceRow",
    "PreferenceTable",
    "ProductPreference",
    "Province",
    "ProvinceDistribution",
    "ProvinceRow",
    "RepurchaseBase",
    "StoreMetrics",
    "campaign_effect",
    "change",
    "member_metrics",
    "normalize_province",
    "normalize_provinces",
    "periods",
    "product_preference",
    "province_distribution",
    "store_metrics",
]

# Campaign effect (response rate and ROI against a holdout) lives with the campaigns in
# ecrm.touch; it is re-exported here, lazily: importing analytics (and segments, which
# uses its province table) must not import touch's channel adapters, nor depend on touch
# importing first.
_FROM_TOUCH = ("CampaignReport", "campaign_effect")


def __getattr__(name: str) -> _typing.Any:
    if name in _FROM_TOUCH:
        import ecrm.touch

        return getattr(ecrm.touch, name)
    raise AttributeError(f"module 'ecrm.analytics' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_FROM_TOUCH))
