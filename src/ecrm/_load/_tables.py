"""Customer and event files: the same reader, collector and cell parsers as orders.

:func:`read_customer_cells` returns the text cells of a customers file (the table parses its
own fields: birthdays, genders, tags …); :func:`read_event_columns` returns parsed event
columns. Neither imports the model: the tables call these from their ``from_csv`` and pass
the result to their own builders (``kind_code`` comes in from :mod:`ecrm._events`).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from typing import IO, Any

import attrs
import numpy as np
import numpy.typing as npt

from ecrm._load._cells import (
    TS_RULE,
    _strip,
    as_text,
    coded_column,
    parse_ids,
    parse_instants,
)
from ecrm._load._csv import DEFAULT_CHUNK_ROWS, Chunk, Layout, read_csv, resolve_header
from ecrm._load._problems import Problems
from ecrm._load._spec import CUSTOMERS, EVENTS, Engine, LoadInfo, Progress, TableSpec

__all__ = ["CustomerCells", "EventColumns", "read_customer_cells", "read_event_columns"]

IntArray = npt.NDArray[np.int64]


@attrs.frozen
class CustomerCells:
    """The text cells of a customers file.

    Attributes:
        cells: field -> its cells (only the fields whose header is present).
        lines: the physical line of each row.
        headers: field -> the header that holds it (errors name it).
        info: what the read decided.
    """

    cells: dict[str, list[str]]
    lines: list[int]
    headers: dict[str, str]
    info: LoadInfo


@attrs.frozen
class EventColumns:
    """The parsed columns of an events file (ids and SKUs as text, times in UTC us)."""

    customer_ids: npt.NDArray[np.str_]
    at_us: IntArray
    kind_codes: npt.NDArray[np.int8]
    skus: npt.NDArray[np.str_]
    info: LoadInfo


def _resolver(spec: TableSpec, headers: Mapping[str, str]) -> Callable[[list[str], str], Layout]:
    def resolve(header_row: list[str], source: str) -> Layout:
        candidates = {f: (headers[f],) for f in spec.fields}
        required = {f: f"is required (for {f})" for f in spec.required}
        return resolve_header(header_row, candidates, required, source)

    return resolve


def read_customer_cells(
    path: str | os.PathLike[str] | IO[bytes],
    *,
    columns: Mapping[str, str] | None = None,
    encoding: str = "auto",
    engine: Engine | str = "auto",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
) -> CustomerCells:
    """Read the cells of a customers CSV file (structure checked; cells not yet parsed).

    Raises:
        DataFormatErrorGroup: every structural problem (undecodable bytes, ragged rows, a quote
            not closed, duplicate or missing headers) with file, line, column, value, rule.
    """
    headers = CUSTOMERS.headers(columns)

    class Sink:
        def __init__(self, layout: Layout, problems: Problems) -> None:
            self.layout = layout
            self.cells: dict[str, list[str]] = {f: [] for f in layout.index}
            self.lines: list[int] = []

        def add(self, chunk: Chunk) -> None:
            for f, col in chunk.cells.items():
                self.cells[f].extend(col.tolist() if isinstance(col, np.ndarray) else col)
            self.lines.extend(chunk.lines.tolist())

        def finish(self) -> CustomerCells:
            used = {f: self.layout.header[f] for f in self.layout.index}
            return CustomerCells(self.cells, self.lines, {**headers, **used},
                                 LoadInfo(source="", engine=""))

    result, info = read_csv(
        path, what="customers", resolve=_resolver(CUSTOMERS, headers), sink=Sink,
        encoding=encoding, engine=engine, chunk_rows=chunk_rows, progress=progress,
    )
    return attrs.evolve(result, info=info)


def read_event_columns(
    path: str | os.PathLike[str] | IO[bytes],
    *,
    kind_code: Callable[[str], int],
    zone: dt.tzinfo,
    columns: Mapping[str, str] | None = None,
    encoding: str = "auto",
    engine: Engine | str = "auto",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
) -> EventColumns:
    """Read and check an events CSV file.

    Args:
        kind_code: text -> event kind code (raises ``InvalidValueError`` for other text).
        zone: the zone of times written without an offset.

    Raises:
        DataFormatErrorGroup: every problem of the file at once.
    """
    headers = EVENTS.headers(columns)

    class Sink:
        def __init__(self, layout: Layout, problems: Problems) -> None:
            self.layout = layout
            self.problems = problems
            self.parts: dict[str, list[npt.NDArray[Any]]] = {
                "customer_id": [], "at": [], "kind": [], "sku": []
            }

        def add(self, chunk: Chunk) -> None:
            lines = chunk.lines
            n = len(lines)
            problems = self.problems
            header = self.layout.header
            for field, column in chunk.cells.items():
                name = header[field]
                if field == "kind":
                    codes, bad = coded_column(column, kind_code)
                    for i, rule in bad:
                        problems.add_cell(int(lines[i]), name, str(column[i]), rule)
                    self.parts[field].append(codes)
                    continue
                cells = (column if isinstance(column, np.ndarray) else as_text(column)) if n \
                    else np.zeros(0, dtype="U1")
                if field == "customer_id":
                    ids = parse_ids(cells)
                    problems.add_rows(np.flatnonzero(ids == ""), name, cells,
                                      "must not be empty", lines=lines)
                    self.parts[field].append(ids)
                elif field == "at":
                    us, bad_at = parse_instants(cells, zone)
                    for i in bad_at:
                        problems.add_cell(int(lines[i]), name, str(cells[i]), TS_RULE)
                    problems.add_rows(np.flatnonzero(_strip(cells) == ""), name, cells,
                                      "must not be empty", lines=lines)
                    self.parts[field].append(us)
                else:
                    self.parts[field].append(_strip(cells))

        def finish(self) -> EventColumns:
            def get(field: str, dtype: Any) -> npt.NDArray[Any]:
                parts = self.parts[field]
                return np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)

            ids = get("customer_id", "U1")
            skus = get("sku", "U1") if "sku" in self.layout.index else np.full(len(ids), "", "U1")
            return EventColumns(ids, get("at", np.int64), get("kind", np.int8), skus,
                                LoadInfo(source="", engine=""))

    result, info = read_csv(
        path, what="events", resolve=_resolver(EVENTS, headers), sink=Sink,
        encoding=encoding, engine=engine, chunk_rows=chunk_rows, progress=progress,
    )
    return attrs.evolve(result, info=info)
