"""The prediction API refuses wrong types, ragged summaries and absurd sizes with ecrm errors
(issue 17; each once let an AttributeError, a numpy ValueError or an endless loop escape,
found by tests/core/test_fuzz_public_api.py)."""

from __future__ import annotations

import time

import attrs
import numpy as np
import pytest

from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.predict import (
    SpendModel,
    Summary,
    TransactionModel,
    fit_bgnbd,
    fit_by_cohort,
    fit_gammagamma,
    p_alive_matrix,
    predict,
    summaries,
)

MODEL = TransactionModel("bgnbd", (0.24, 4.4, 0.79, 2.4))


def _summary() -> Summary:
    return Summary.from_arrays(["a", "b"], [1, 0], [3.0, 0.0], [10.0, 5.0], [500, 0])


def test_summary_with_columns_of_different_lengths_names_the_field_and_both_lengths() -> None:
    s = _summary()
    with pytest.raises(InvalidValueError,
                       match=r"^Summary.x must have the length of customer_ids \(2\), "
                             r"got 'length 3'$") as info:
        attrs.evolve(s, x=np.zeros(3, np.int64))
    assert info.value.field == "Summary.x"


def test_summary_with_a_list_or_float_column_is_refused_naming_it() -> None:
    s = _summary()
    with pytest.raises(InvalidValueError, match=r"^Summary.T_days must be a one-dimensional array"):
        attrs.evolve(s, T_days=[10, 5])
    with pytest.raises(InvalidTypeError, match=r"^Summary.x must hold integers, got dtype float64$"):
        attrs.evolve(s, x=np.zeros(2))


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"x": ""}, "x"),
    ({"x": ["a", "b"]}, "x"),
    ({"t_x": [1j, 0]}, "t_x"),
    ({"T": [[1.0], [2.0, 3.0]]}, "T"),
    ({"customer_ids": (((("a",),),),)}, "customer_ids"),
])
def test_summary_from_arrays_of_text_complex_or_nested_input_names_the_array(
    kwargs: dict[str, object], field: str
) -> None:
    args: dict[str, object] = {"customer_ids": ["a", "b"], "x": [1, 0], "t_x": [3.0, 0.0],
                               "T": [10.0, 5.0]}
    args.update(kwargs)
    with pytest.raises((InvalidTypeError, InvalidValueError), match=rf"^{field} must "):
        Summary.from_arrays(**args)  # type: ignore[arg-type]


def test_summary_from_arrays_of_an_infinite_repeat_count_is_an_invalid_value() -> None:
    with pytest.raises(InvalidValueError, match=r"^x must hold repeat counts below 2\*\*63"):
        Summary.from_arrays(["a"], [np.inf], [0.0], [1.0])


@pytest.mark.parametrize("params", [(1.0, 2.0), (1.0, 2.0, 3.0, 4.0, 5.0)])
def test_models_with_the_wrong_number_of_params_name_params_and_the_names(
    params: tuple[float, ...]
) -> None:
    with pytest.raises(InvalidValueError, match=r"^params must be 4 numbers \(r, alpha, a, b\)"):
        TransactionModel("bgnbd", params)
    with pytest.raises(InvalidValueError, match=r"^params must be 3 numbers \(p, q, v\)"):
        SpendModel("gammagamma", params)


def test_transaction_model_in_an_unknown_unit_names_unit() -> None:
    with pytest.raises(InvalidValueError, match=r"^unit must be 'days' or 'weeks', got 'months'$"):
        TransactionModel("bgnbd", (1.0, 1.0, 1.0, 1.0), unit="months")


@pytest.mark.parametrize("fit", [fit_bgnbd, fit_gammagamma])
def test_fits_of_something_not_a_summary_name_summary(fit: object) -> None:
    with pytest.raises(InvalidTypeError, match=r"^summary must be Summary, got NoneType None$"):
        fit(None)  # type: ignore[operator]


def test_fit_by_cohort_and_summaries_name_their_wrong_argument() -> None:
    with pytest.raises(InvalidTypeError, match=r"^summary must be Summary, got float 1.5$"):
        fit_by_cohort(1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^log must be OrderLog, got str 'x'$"):
        summaries("x", as_of=None, calibration_start=None)  # type: ignore[arg-type]


def test_predict_names_a_wrong_model_summary_spend_or_bands() -> None:
    s = _summary()
    with pytest.raises(InvalidTypeError, match=r"^model must be TransactionModel, got int"):
        predict(10**100, s)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^summary must be Summary, got str 'x'$"):
        predict(MODEL, "x")  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match=r"^spend must be SpendModel, got TransactionModel"):
        predict(MODEL, s, spend=MODEL)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match=r"^risk_bands must be two cut-offs"):
        predict(MODEL, s, risk_bands=(0.1, 0.2, 0.3))  # type: ignore[arg-type]


def test_predict_refuses_an_absurd_clv_horizon_at_once() -> None:
    """10**100 days in 1-day steps was an endless loop; now it is refused before any work."""
    s = _summary()
    started = time.perf_counter()
    with pytest.raises(InvalidValueError, match=r"^clv_horizon_days must be 1..36,500 days"):
        predict(MODEL, s, clv_horizon_days=10**100, step_days=1)
    assert time.perf_counter() - started < 0.5


def test_p_alive_matrix_names_a_wrong_model_and_refuses_a_huge_grid() -> None:
    with pytest.raises(InvalidTypeError, match=r"^model must be TransactionModel, got object"):
        p_alive_matrix(object(), age_days=10, max_repeats=3)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError, match=r"^max_repeats and age_days=43,283 must make a "
                                                r"grid of at most 10,000,000 cells, got 3627$"):
        p_alive_matrix(MODEL, age_days=43_283, max_repeats=3627)
