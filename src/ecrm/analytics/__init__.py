"""Shop analytics (DESIGN 3.7): store, member, product and province metrics, CRM
attribution, campaign effect.

Also the deterministic hash holdout of a campaign (:func:`split_audience`), the
treated-vs-holdout report (:func:`campaign_effect`) and the dry-run :func:`backtest` of
the care flows through the send policy.

Every definition is a parameter: who is a new customer, the repurchase-rate denominator,
the ladder, the periods. Results are frozen values with ``table()`` (rows as dicts, for a
report to render) and ``format_table()`` (text). See docs/analytics.md.
"""

import typing as _typing

from ecrm.analytics._attribution import (
    Attribution,
    AttributionCredits,
    AttributionModel,
    AttributionSeries,
    Touches,
    attribute_sales,
)
from ecrm.analytics._campaign import (
    CampaignReport,
    campaign_effect,
    holdout_mask,
    holdout_score,
    split_audience,
)
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
    from ecrm.analytics._backtest import (
        BacktestDay,
        BacktestReport,
        Flow,
        backtest,
        standard_flows,
    )

__all__ = [
    "METRICS",
    "PROVINCES",
    "TAOBAO_LEGACY_PROVINCE_CODES",
    "UNKNOWN_PROVINCE",
    "Attribution",
    "AttributionCredits",
    "AttributionModel",
    "AttributionSeries",
    "BacktestDay",
    "BacktestReport",
    "CampaignReport",
    "Change",
    "Flow",
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
    "Touches",
    "attribute_sales",
    "backtest",
    "campaign_effect",
    "change",
    "holdout_mask",
    "holdout_score",
    "member_metrics",
    "normalize_province",
    "normalize_provinces",
    "periods",
    "product_preference",
    "province_distribution",
    "split_audience",
    "standard_flows",
    "store_metrics",
]

# The backtest replays ecrm.touch's flows through its send policy, so it imports touch;
# it is re-exported here lazily: importing analytics (and segments, which uses its
# province table) must not import touch's channel adapters.
_BACKTEST: _typing.Final = ("BacktestDay", "BacktestReport", "Flow", "backtest", "standard_flows")


def __getattr__(name: str) -> _typing.Any:
    if name in _BACKTEST:
        from ecrm.analytics import _backtest

        return getattr(_backtest, name)
    raise AttributeError(f"module 'ecrm.analytics' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_BACKTEST))
