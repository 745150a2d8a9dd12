"""Customer ids coded chunk by chunk (``ecrm._load._idcodes``): the same ids and codes as
cleaning every cell and sorting the distinct ids, whatever the chunks and the engine."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm._load._idcodes import IdCoder

pa = pytest.importorskip("pyarrow")


def coded(chunks: list[list[str]], *, arrow: bool) -> tuple[list[str], list[int], list[list[int]]]:
    coder = IdCoder()
    empties = []
    for cells in chunks:
        found = coder.add_arrow(pa.array(cells, pa.string())) if arrow else coder.add_cells(cells)
        empties.append(found.tolist())
    out = coder.finish()
    return out.ids.tolist(), out.codes.tolist(), empties


def reference(chunks: list[list[str]]) -> tuple[list[str], list[int], list[list[int]]]:
    """Clean each cell as the loader documents (strip; unwrap ``="…"`` and a leading ``'``),
    then the sorted distinct ids and each row's position among them."""

    def clean(cell: str) -> str:
        v = cell.strip()
        if v.startswith('="') and v.endswith('"') and len(v) >= 3:
            return v[2:-1].strip()
        if v.startswith("'"):
            return v[1:].strip()
        return v

    rows = [clean(c) for cells in chunks for c in cells]
    ids = sorted(set(rows))
    at = {v: i for i, v in enumerate(ids)}
    empties = [[i for i, c in enumerate(cells) if clean(c) == ""] for cells in chunks]
    return ids, [at[v] for v in rows], empties


@pytest.mark.parametrize("arrow", [False, True], ids=["python", "arrow"])
def test_digit_ids_keep_their_leading_zeros(arrow: bool) -> None:
    ids, codes, empties = coded([["007", "010"], ["007", "100"]], arrow=arrow)
    assert ids == ["007", "010", "100"]
    assert codes == [0, 1, 0, 2]
    assert empties == [[], []]


@pytest.mark.parametrize("arrow", [False, True], ids=["python", "arrow"])
def test_a_chunk_of_other_ids_turns_the_earlier_digits_into_text(arrow: bool) -> None:
    # "5" has another width and " 12 " needs cleaning: the ids sort as text ("5" after "34")
    ids, codes, _ = coded([["34", "12"], ["5", " 12 "], ["34"]], arrow=arrow)
    assert ids == ["12", "34", "5"]
    assert codes == [1, 0, 2, 0, 1]


@pytest.mark.parametrize("arrow", [False, True], ids=["python", "arrow"])
def test_empty_ids_are_found_in_their_chunk(arrow: bool) -> None:
    chunks = [["a", "  ", "b"], ['=""', "a", "'"], ["c"]]
    _, _, empties = coded(chunks, arrow=arrow)
    assert empties == [[1], [0, 2], []]


@pytest.mark.parametrize("arrow", [False, True], ids=["python", "arrow"])
def test_no_rows(arrow: bool) -> None:
    ids, codes, _ = coded([[]], arrow=arrow)
    assert ids == []
    assert codes == []


def test_codes_are_small_integers() -> None:
    coder = IdCoder()
    coder.add_cells(["b", "a", "b"])
    assert coder.finish().codes.dtype == np.int32


_cells = st.one_of(
    st.text(alphabet="0123456789", min_size=3, max_size=3),  # digit ids of one width
    st.text(alphabet="0123456789", min_size=1, max_size=19),
    st.text(alphabet=" \t'=\"ab1买家", max_size=6),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_cells, max_size=8), min_size=1, max_size=5))
def test_both_engines_give_the_ids_and_codes_of_a_plain_reference(
    chunks: list[list[str]],
) -> None:
    expected = reference(chunks)
    assert coded(chunks, arrow=False) == expected
    assert coded(chunks, arrow=True) == expected


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.text(alphabet="0123456789", min_size=4, max_size=4), max_size=8),
                min_size=1, max_size=5))
def test_digit_ids_of_one_width_match_the_reference(chunks: list[list[str]]) -> None:
    expected = reference(chunks)
    assert coded(chunks, arrow=False) == expected
    assert coded(chunks, arrow=True) == expected
