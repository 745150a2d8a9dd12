"""Recommendations: item-to-item associations, per-customer top-k and a holdout evaluation.

``associations`` counts rules ``A → B`` from order lines (one order, or within N days) and
behaviour events, with support, confidence, lift and a shrunk score; ``recommend`` gives
each customer's top-k with a category fallback and repurchase-aware ownership; and
``evaluate_holdout`` measures hit rate@k and recall@k against popularity and same-category
baselines on a time split; ``strongest_associations`` lists a shop's strongest rules (the
report's "strongest product associations" section).
"""

from ecrm.recommend._associations import Associations, Basis, associations
from ecrm.recommend._evaluate import HoldoutResult, evaluate_holdout
from ecrm.recommend._recommend import Recommendations, recommend
from ecrm.recommend._strongest import StrongestAssociations, strongest_associations

__all__ = [
    "Associations",
    "Basis",
    "HoldoutResult",
    "Recommendations",
    "StrongestAssociations",
    "associations",
    "evaluate_holdout",
    "recommend",
    "strongest_associations",
]
