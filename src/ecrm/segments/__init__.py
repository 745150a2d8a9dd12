"""Custom audiences (自定义人群): typed predicates over customer attributes and behaviour.

Build a predicate from leaves (``OccupationIn(["医生", "教师"])``, ``Carted(last_days=30)``)
and ``&`` / ``|`` / ``~``; store it as JSON with ``predicate.to_json()``; evaluate it over a
whole shop with :func:`audience`. See docs/segments.md.
"""

import warnings as _warnings

from ecrm.segments import _json as _json_codec
from ecrm.segments._attributes import (
    AgeBetween,
    BirthdayBetween,
    Blocked,
    GenderIn,
    HasTags,
    OccupationIn,
    ProvinceIn,
)
from ecrm.segments._audience import Audience, Clause, Explanation, audience
from ecrm.segments._behaviour import (
    Carted,
    Favorited,
    FavoritedNotBought,
    Ordered,
    Repurchased,
    Visited,
)
from ecrm.segments._builtins import (
    blocked_customers,
    carted_618_not_bought,
    carted_not_bought,
    favorited_not_bought,
    high_potential_returning,
    lapsed_customers,
    no_sale_customers,
    non_ordering_visitors,
)
from ecrm.segments._context import AudienceContext
from ecrm.segments._derived import (
    MemberLevelIn,
    PredictedClvBetween,
    ProbabilityAliveBetween,
    RfmGradeIn,
    StageIn,
)
from ecrm.segments._json import PredicateFormatError
from ecrm.segments._predicates import And, Not, Or, Predicate
from ecrm.segments._schema import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "AgeBetween",
    "And",
    "Audience",
    "AudienceContext",
    "BirthdayBetween",
    "Blocked",
    "Carted",
    "Clause",
    "Explanation",
    "Favorited",
    "FavoritedNotBought",
    "GenderIn",
    "HasTags",
    "MemberLevelIn",
    "Not",
    "OccupationIn",
    "Or",
    "Ordered",
    "Predicate",
    "PredicateFormatError",
    "PredictedClvBetween",
    "ProbabilityAliveBetween",
    "ProvinceIn",
    "Repurchased",
    "RfmGradeIn",
    "StageIn",
    "Visited",
    "audience",
    "blocked_customers",
    "carted_618_not_bought",
    "carted_not_bought",
    "favorited_not_bought",
    "high_potential_returning",
    "lapsed_customers",
    "no_sale_customers",
    "non_ordering_visitors",
]


# -- deprecated serialiser names (0.1.0): one convention, to_dict/from_dict + to_json/from_json
_OLD_SERIALISERS = {
    "predicate_to_json": "Predicate.to_dict()", "predicate_from_json": "Predicate.from_dict(doc)",
    "predicate_to_str": "Predicate.to_json()", "predicate_from_str": "Predicate.from_json(text)",
}


def __getattr__(name: str) -> object:
    new = _OLD_SERIALISERS.get(name)
    if new is None:
        raise AttributeError(f"module 'ecrm.segments' has no attribute {name!r}")
    _warnings.warn(
        f"ecrm.segments.{name} is deprecated since 0.1.0 and will be removed in the next "
        f"release; use {new}", DeprecationWarning, stacklevel=2,
    )
    return getattr(_json_codec, name)
