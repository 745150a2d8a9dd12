"""Beyond one log in memory: per-customer summaries that merge exactly, out-of-core runs
over Parquet and CSV, and Dask.

:func:`summarize` turns some orders into a :class:`CustomerSummary`; :func:`merge` combines
two (associative, commutative, exact); :func:`score_summary` and :func:`tiers_from_summary`
give the usual :class:`~ecrm.rfm.RfmResult` and :class:`~ecrm.tiers.TierResult`, equal to
the in-memory path. :func:`score_parquet` and :func:`score_dask` do it chunk by chunk and
over a dask DataFrame. See docs/scale.md.
"""

from ecrm.scale._categories import (
    CategorySummary,
    cycles_from_summary,
    merge_categories,
    summarize_categories,
)
from ecrm.scale._dask import score_dask, score_parquet_dask, summarize_csv_dask, summarize_dask
from ecrm.scale._dask_fold import (
    cycles_by_category_dask,
    fold_csv_dask,
    fold_dask,
    member_metrics_dask,
    sku_cycles_dask,
    store_metrics_dask,
    summaries_dask,
)
from ecrm.scale._dask_rows import rows_dask, to_dask
from ecrm.scale._lines import sku_cycles_parquet
from ecrm.scale._members import (
    MemberSummary,
    member_metrics_from_summary,
    member_metrics_parquet,
    merge_members,
    summarize_members,
)
from ecrm.scale._ooc import (
    DEFAULT_BATCH_ROWS,
    fold_csv,
    fold_parquet,
    score_parquet,
    summarize_csv,
    summarize_parquet,
    write_parquet,
)
from ecrm.scale._predict import (
    PredictionSummary,
    merge_predict,
    predict_summary,
    summarize_for_predict,
)
from ecrm.scale._results import (
    cycle_from_summary,
    score_summary,
    stages_from_summary,
    tiers_from_summary,
)
from ecrm.scale._skus import SkuSummary, merge_skus, sku_cycles_from_summary, summarize_skus
from ecrm.scale._store import (
    PeriodSummary,
    merge_periods,
    store_metrics_from_summary,
    summarize_periods,
)
from ecrm.scale._summary import (
    NO_DAY,
    NO_INSTANT_US,
    UNKNOWN_DAYS,
    CustomerSummary,
    SummaryAccumulator,
    empty_summary,
    merge,
    merge_all,
    summarize,
)

__all__ = [
    "DEFAULT_BATCH_ROWS",
    "NO_DAY",
    "NO_INSTANT_US",
    "UNKNOWN_DAYS",
    "CategorySummary",
    "CustomerSummary",
    "MemberSummary",
    "PeriodSummary",
    "PredictionSummary",
    "SkuSummary",
    "SummaryAccumulator",
    "cycle_from_summary",
    "cycles_by_category_dask",
    "cycles_from_summary",
    "empty_summary",
    "fold_csv",
    "fold_csv_dask",
    "fold_dask",
    "fold_parquet",
    "member_metrics_dask",
    "member_metrics_from_summary",
    "member_metrics_parquet",
    "merge",
    "merge_all",
    "merge_categories",
    "merge_members",
    "merge_periods",
    "merge_predict",
    "merge_skus",
    "predict_summary",
    "rows_dask",
    "score_dask",
    "score_parquet",
    "score_parquet_dask",
    "score_summary",
    "sku_cycles_dask",
    "sku_cycles_from_summary",
    "sku_cycles_parquet",
    "stages_from_summary",
    "store_metrics_dask",
    "store_metrics_from_summary",
    "summaries_dask",
    "summarize",
    "summarize_categories",
    "summarize_csv",
    "summarize_csv_dask",
    "summarize_dask",
    "summarize_for_predict",
    "summarize_members",
    "summarize_parquet",
    "summarize_periods",
    "summarize_skus",
    "tiers_from_summary",
    "to_dask",
    "write_parquet",
]
