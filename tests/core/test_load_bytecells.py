"""``ByteCells.matrix`` (the first ``width`` bytes of each cell, 0-padded) and
``bytes_text`` (the cells as text) against plain Python slicing and decoding."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ecrm._load._cells import ByteCells, as_text, bytes_text


@st.composite
def cells_in_a_block(draw: st.DrawFn) -> tuple[bytes, list[tuple[int, int]]]:
    """Some byte strings laid out in one buffer with gaps (other columns) between them."""
    texts = draw(st.lists(st.text(alphabet=st.sampled_from("a9-: 店é"), max_size=12),
                          min_size=1, max_size=30))
    buf = bytearray(draw(st.binary(max_size=3)))
    spans = []
    for text in texts:
        raw = text.encode("utf-8")
        spans.append((len(buf), len(raw)))
        buf += raw + draw(st.binary(min_size=0, max_size=4))
    return bytes(buf), spans


@settings(max_examples=150, deadline=None)
@given(block=cells_in_a_block(), extra=st.integers(-3, 4))
def test_matrix_is_each_cells_first_bytes_zero_padded(
    block: tuple[bytes, list[tuple[int, int]]], extra: int
) -> None:
    raw, spans = block
    cells = ByteCells(np.frombuffer(raw, dtype=np.uint8),
                      np.asarray([s for s, _ in spans], dtype=np.int64),
                      np.asarray([k for _, k in spans], dtype=np.int64))
    width = max(max(k for _, k in spans) + extra, 0)
    want = [list(raw[s:s + min(k, width)]) + [0] * (width - min(k, width)) for s, k in spans]
    assert cells.matrix(width).tolist() == want


@settings(max_examples=100, deadline=None)
@given(block=cells_in_a_block())
def test_bytes_text_is_as_text_of_the_decoded_cells(
    block: tuple[bytes, list[tuple[int, int]]],
) -> None:
    raw, spans = block
    cells = ByteCells(np.frombuffer(raw, dtype=np.uint8),
                      np.asarray([s for s, _ in spans], dtype=np.int64),
                      np.asarray([k for _, k in spans], dtype=np.int64))
    texts = [raw[s:s + k].decode("utf-8") for s, k in spans]
    got = bytes_text(cells)
    assert got.tolist() == texts
    assert got.dtype == as_text(texts).dtype


def test_wide_cells_are_decoded_one_by_one() -> None:
    texts = ["店" * 300, "x", ""]
    raw = ",".join(texts).encode("utf-8")
    starts, at = [], 0
    for t in texts:
        starts.append(at)
        at += len(t.encode("utf-8")) + 1
    cells = ByteCells(np.frombuffer(raw, dtype=np.uint8), np.asarray(starts, dtype=np.int64),
                      np.asarray([len(t.encode("utf-8")) for t in texts], dtype=np.int64))
    got = bytes_text(cells)
    assert got.tolist() == texts
    assert got.dtype == np.dtype("U300")
