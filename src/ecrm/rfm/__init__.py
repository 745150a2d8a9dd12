"""RFM scoring with the Taobao P/G/S/B grades, custom and quantile schemes, and segments.

>>> from ecrm.rfm import TAOBAO_PGSB
>>> TAOBAO_PGSB.weights, TAOBAO_PGSB.grade_cutoffs
((1, 3, 4), (36, 26, 17))

See docs/rfm.md for a walk-through.
"""

from typing import Any as _Any

from ecrm._deprecate import moved_name as _moved_name
from ecrm.rfm._grade import Grade
from ecrm.rfm._quantile import quantile_scheme
from ecrm.rfm._scheme import TAOBAO_PGSB, Bins, RecencyBins, RfmScheme, SchemeErrorGroup
from ecrm.rfm._score import RfmResult, RfmRow, UndersizedShopWarning, score
from ecrm.rfm._segments import Segment, SegmentResult, SegmentRow, classic_segments

__all__ = [
    "TAOBAO_PGSB",
    "Bins",
    "Grade",
    "RecencyBins",
    "RfmResult",
    "RfmRow",
    "RfmScheme",
    "SchemeErrorGroup",
    "Segment",
    "SegmentResult",
    "SegmentRow",
    "UndersizedShopWarning",
    "classic_segments",
    "quantile_scheme",
    "score",
]

#: Old names kept one release as deprecated aliases (0.1.0): ``rfm.segments`` shadowed
#: the ``ecrm.segments`` package.
_RENAMED = {"segments": "ecrm.rfm.classic_segments"}


def __getattr__(name: str) -> _Any:
    return _moved_name(__name__, name, _RENAMED)
