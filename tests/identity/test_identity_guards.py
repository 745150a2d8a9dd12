"""Identity resolution refuses wrong types and columns that do not line up with ecrm errors
naming the field (issue 17; found by tests/core/test_fuzz_public_api.py)."""

from __future__ import annotations

import attrs
import numpy as np
import pytest

from ecrm.errors import InvalidTypeError, InvalidValueError
from ecrm.identity import SourceRecords, resolve_identities


def test_resolve_identities_of_something_not_records_names_the_item() -> None:
    with pytest.raises(InvalidTypeError, match=r"^records\[0\] must be SourceRecords, got int 1$"):
        resolve_identities([1, "a", None])  # type: ignore[list-item]


def test_source_records_from_nested_or_single_string_columns_name_the_column() -> None:
    with pytest.raises(InvalidTypeError, match=r"^record_ids must be a flat sequence"):
        SourceRecords.from_arrays("crm", [["a"], ["b", "c"]])
    with pytest.raises(InvalidTypeError, match=r"^phone must be a sequence or array of values, "
                                               r"one per row, got a single str"):
        SourceRecords.from_arrays("crm", ["a"], phone="13800138000")


def test_source_records_built_with_identifiers_of_another_length_names_the_kind() -> None:
    records = SourceRecords.from_arrays("crm", ["a", "b"], phone=["13800138000", None])
    with pytest.raises(InvalidValueError, match=r"^SourceRecords.identifiers\['phone'\] must have "
                                                r"the length of record_ids \(2\), got 'length 1'$"):
        attrs.evolve(records, identifiers={"phone": np.asarray(["13800138000"])})
    with pytest.raises(InvalidValueError, match=r"^identifiers must be among buyer_id, phone"):
        attrs.evolve(records, identifiers={"fax": np.asarray(["1", "2"])})
