"""Shop analytics (DESIGN 3.7): store, member, product and province metrics, campaign effect.

Every definition is a parameter: who is a new customer, the repurchase-rate denominator,
the ladder, the periods. Results are frozen values with ``table()`` (rows as dicts, for a
report to render) and ``format_table()`` (text). See docs/analytics.md.
"""

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

# Campaign effect (response rate and ROI against a holdout) lives with the campaigns in
# ecrm.touch; it is re-exported here so that the report finds every metric in one place.
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
