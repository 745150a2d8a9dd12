"""Recommendations: item-to-item associations, per-customer top-k and a holdout evaluation.

``associations`` counts rules ``A → B`` from order lines (one order, or within N days) and
behaviour events, with support, confidence, lift and a shrunk score; ``recommend`` gives
each customer's top-k with a category fallback and repurchase-aware ownership; and
``evaluate_holdout`` measures hit rate@k and recall@k against popularity and same-category
baselines on a time split.
"""

from ecrm.recommend._associations import Associations, Basis, associations
from ecrm.recommend._evaluate import HoldoutResult, evaluate_holdout
from ecrm.recommend._recommend import Recommendations, recommend

__all__ = [
    "Associations",
    "Basis",
    "HoldoutResult",
    "Recommendations",
    "associations",
    "evaluate_holdout",
    "recommend",
]
