"""Recommend refuses ragged results, absurd windows and wrong types with ecrm
errors naming the field (issue 17; found by tests/core/test_fuzz_public_api.py)."""

from __future__ import annotations

import time

import attrs
import numpy as np
import pytest
from recommend_helpers import day, shop

from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.recommend import associations, evaluate_holdout, strongest_associations

LOG = shop([("c1", 0, ["咖啡豆", "糖包"]), ("c2", 0, ["咖啡豆", "糖包"]),
            ("c1", 3, ["杯子"]), ("c2", 4, ["杯子"])])


def test_associations_with_a_count_column_of_another_length_names_both() -> None:
    rules = associations(LOG, as_of=day(10), basis="order")
    assert len(rules) == 2  # 咖啡豆 → 糖包 and back, in two orders each
    with pytest.raises(InvalidValueError, match=r"^Associations.n_pair must have the length of "
                                                r"antecedents \(2\), got 'length 6'$") as info:
        attrs.evolve(rules, n_pair=np.ones(6, np.int64))
    assert info.value.field == "Associations.n_pair"


def test_strongest_associations_of_a_two_dimensional_column_is_refused() -> None:
    top = strongest_associations(associations(LOG, as_of=day(10), basis="order"))
    with pytest.raises(InvalidValueError, match=r"^StrongestAssociations.lift must be a "
                                                r"one-dimensional array"):
        attrs.evolve(top, lift=np.ones((len(top), 3)))


def test_associations_within_days_past_a_century_is_refused_naming_it() -> None:
    with pytest.raises(InvalidValueError, match=r"^within_days must be an integer <= 36,500, "
                                                r"got 18446744073709551616$"):
        associations(LOG, as_of=day(10), within_days=2**64)


def test_evaluate_holdout_refuses_a_huge_horizon_at_once_naming_it() -> None:
    """3,412,433,469,154 days reached C's int in timedelta (OverflowError)."""
    started = time.perf_counter()
    with pytest.raises(InvalidValueError, match=r"^horizon_days must be an integer <= 36,500"):
        evaluate_holdout(LOG, split=day(2), horizon_days=3_412_433_469_154)
    assert time.perf_counter() - started < 0.5


def test_evaluate_holdout_with_a_split_that_is_not_a_moment_names_split() -> None:
    with pytest.raises(InvalidTypeError, match=r"^split must be"):
        evaluate_holdout(LOG, split=day(2).date())  # type: ignore[arg-type]
