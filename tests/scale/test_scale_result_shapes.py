"""Result values whose fields are parallel arrays refuse rows that do not line up (issue 17).

``RfmResult``, ``CustomerSummary`` and ``PredictionSummary`` built field by field
(``attrs.evolve``, hypothesis' ``st.builds``) with arrays of different lengths, of two
dimensions or of the wrong dtype once reached ``classic_segments``, ``score_summary`` and
``predict_summary`` and escaped there as numpy's broadcast ``ValueError`` or an
``IndexError``. Now the value itself refuses them, naming the field and both lengths.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import attrs
import numpy as np
import pytest

from ecrm import OrderLog
from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.rfm import score
from ecrm.scale import summarize, summarize_for_predict

SH = ZoneInfo("Asia/Shanghai")
AS_OF = dt.datetime(2024, 6, 1, tzinfo=SH)


def _log() -> OrderLog:
    t1 = dt.datetime(2024, 4, 1, tzinfo=SH)
    t2 = dt.datetime(2024, 5, 1, tzinfo=SH)
    return OrderLog.from_arrays(["a", "b", "a"], [t1, t1, t2], [100, 200, 300], tz=SH)


def test_rfm_result_with_a_short_score_column_names_it_and_both_lengths() -> None:
    result = score(_log(), as_of=AS_OF, warn_undersized=False)
    with pytest.raises(InvalidValueError, match=r"^RfmResult.r must have the length of "
                                                r"customer_ids \(2\), got 'length 1'$") as info:
        attrs.evolve(result, r=result.r[:1])
    assert info.value.field == "RfmResult.r"


def test_rfm_result_with_a_two_dimensional_or_text_column_is_refused() -> None:
    result = score(_log(), as_of=AS_OF, warn_undersized=False)
    with pytest.raises(InvalidValueError, match=r"^RfmResult.m must be a one-dimensional array, "
                                                r"got 'shape \(2, 1\)'$"):
        attrs.evolve(result, m=result.m.reshape(2, 1))
    with pytest.raises(InvalidTypeError, match=r"^RfmResult.total must hold integers, got dtype <U1$"):
        attrs.evolve(result, total=np.asarray(["x", "y"]))
    with pytest.raises(InvalidValueError, match=r"^RfmResult.unscored_customer_ids must be a "
                                                r"one-dimensional array"):
        attrs.evolve(result, unscored_customer_ids=np.zeros((1, 1), "U1"))


def test_customer_summary_with_columns_of_different_lengths_names_them() -> None:
    s = summarize(_log(), as_of=AS_OF)
    with pytest.raises(InvalidValueError, match=r"^CustomerSummary.rfm_count must have the "
                                                r"length of customer_ids \(2\), got 'length 3'$"):
        attrs.evolve(s, rfm_count=np.zeros(3, np.int64))
    with pytest.raises(InvalidTypeError, match=r"^CustomerSummary.known must hold bools, "
                                               r"got dtype int64$"):
        attrs.evolve(s, known=np.zeros(2, np.int64))


def test_prediction_summary_with_a_two_dimensional_column_names_it() -> None:
    s = summarize_for_predict(_log(), as_of=AS_OF, calibration_start=AS_OF - dt.timedelta(days=90))
    with pytest.raises(InvalidValueError, match=r"^PredictionSummary.n_days must be a "
                                                r"one-dimensional array, got 'shape \(2, 6\)'$"):
        attrs.evolve(s, n_days=np.zeros((2, 6), np.int64))
