"""The argument guards in ecrm._validators: one of each, used by every public function that
checks an argument's type or shape (issue 17)."""

from __future__ import annotations

import attrs
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecrm._validators import check_instance, check_items, check_same_length, flat_array, in_
from ecrm.errors import InvalidTypeError, InvalidValueError


def test_check_instance_returns_the_value_or_names_parameter_type_and_value() -> None:
    assert check_instance("n", 3, int) == 3
    with pytest.raises(InvalidTypeError, match=r"^n must be int or float, got str 'x'$"):
        check_instance("n", "x", (int, float))


def test_check_items_reads_a_generator_once_and_names_the_bad_index() -> None:
    assert check_items("xs", (i for i in range(3)), int) == [0, 1, 2]
    with pytest.raises(InvalidTypeError, match=r"^xs\[2\] must be int, got NoneType None$"):
        check_items("xs", [0, 1, None], int)


@pytest.mark.parametrize("whole", ["abc", b"abc", {"a": 1}, 5, None])
def test_check_items_refuses_text_mappings_and_non_iterables_as_a_whole(whole: object) -> None:
    with pytest.raises(InvalidTypeError, match=r"^xs must be an iterable of str, got "):
        check_items("xs", whole, str)  # type: ignore[arg-type]


@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=20))
def test_flat_array_of_a_flat_list_keeps_every_value(values: list[int]) -> None:
    arr = flat_array("xs", values, np.int64)
    assert arr.ndim == 1
    assert arr.tolist() == values


def test_flat_array_refuses_nested_ragged_text_and_overflowing_input_naming_the_parameter() -> None:
    deep: list[object] = []
    for _ in range(100):
        deep = [deep]
    with pytest.raises(InvalidTypeError, match=r"^xs must be a flat sequence or array"):
        flat_array("xs", deep)
    with pytest.raises(InvalidTypeError, match=r"^xs must be a flat sequence or array"):
        flat_array("xs", [[1], [1, 2]])
    with pytest.raises(InvalidTypeError, match=r"of values of dtype float64"):
        flat_array("xs", ["a"], np.float64)
    with pytest.raises(InvalidTypeError, match=r"of values of dtype int64"):
        flat_array("xs", [2**64], np.int64)
    with pytest.raises(InvalidTypeError, match=r"of values of dtype float64"):
        flat_array("xs", [1 + 2j], np.float64)
    with pytest.raises(InvalidTypeError, match=r"^xs must be a sequence or array of values, one "
                                               r"per row, got a single str 'ab'$"):
        flat_array("xs", "ab")
    with pytest.raises(InvalidValueError, match=r"^xs must be one-dimensional \(one value per "
                                                r"row\), got 'shape \(2, 2\)'$") as info:
        flat_array("xs", [[1, 2], [3, 4]])
    assert info.value.field == "xs"


def test_check_same_length_names_the_owner_both_fields_and_the_lengths() -> None:
    assert check_same_length("R", {"a": np.zeros(3), "b": np.zeros(3)}) == 3
    with pytest.raises(InvalidValueError, match=r"^R.b must have the length of a \(3\), "
                                                r"got 'length 2'$") as info:
        check_same_length("R", {"a": np.zeros(3), "b": np.zeros(2)})
    assert info.value.field == "R.b"
    with pytest.raises(InvalidValueError, match=r"^R.b must be a one-dimensional array, "
                                                r"got 'shape \(3, 1\)'$"):
        check_same_length("R", {"a": np.zeros(3), "b": np.zeros((3, 1))})
    with pytest.raises(InvalidValueError, match=r"^R.a must be a one-dimensional array, got 'x'$"):
        check_same_length("R", {"a": "x"})


def test_in_validator_refuses_an_array_instead_of_an_ambiguous_truth_value() -> None:
    @attrs.frozen
    class Kind:
        kind: str = attrs.field(validator=in_(("a", "b")))

    with pytest.raises(InvalidValueError, match=r"^kind must be one of \('a', 'b'\), got array"):
        Kind(np.array(["a", "b"]))  # type: ignore[arg-type]
